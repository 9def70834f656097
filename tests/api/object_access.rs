//! Object-level access on every inquiry and room route: who may read or change which
//! conversation, cell by cell, for agents and monitors of the department and of another
//! one, a manager, the administrator and an anonymous caller. Also Rocket.Chat's default
//! grants of the omnichannel permissions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

/// How `1970-01-01` and the fixed test clock are written.
const NEVER: &str = "1970-01-01T00:00:00.000Z";
const START_TEXT: &str = "2026-01-02T03:04:05.678Z";

/// The callers of the matrix and the two departments.
struct Cast {
    agent_a: Session,
    /// A second agent of department A, serving nothing.
    agent_a2: Session,
    agent_b: Session,
    monitor_a: Session,
    monitor_b: Session,
    manager: Session,
    department_a: String,
    department_b: String,
    rooms: AtomicUsize,
}

/// Who calls: a session, or nobody.
#[derive(Clone, Copy)]
enum Who<'a> {
    As(&'a Session),
    Anonymous,
}

impl<'a> Who<'a> {
    fn session(self) -> Option<&'a Session> {
        match self {
            Who::As(session) => Some(session),
            Who::Anonymous => None,
        }
    }
}

/// An available monitor that is also an agent, so that it can belong to a department.
async fn available_monitor(app: &TestApp, username: &str) -> Session {
    let monitor = app.user_with_roles(username, &["user", "livechat-monitor", "livechat-agent"]).await;
    let (status, body) =
        app.post("/api/v1/livechat/agent.status", Some(&monitor), json!({"status": "available"})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "available", "success": true})));
    monitor
}

async fn cast(app: &TestApp) -> Cast {
    let agent_a = available_agent(app, "agent-a").await;
    let agent_a2 = available_agent(app, "agent-a2").await;
    let agent_b = available_agent(app, "agent-b").await;
    let monitor_a = available_monitor(app, "monitor-a").await;
    let monitor_b = available_monitor(app, "monitor-b").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let department_a = department(app, "Department A", &[&agent_a, &agent_a2, &monitor_a]).await;
    let department_b = department(app, "Department B", &[&agent_b, &monitor_b]).await;
    Cast { agent_a, agent_a2, agent_b, monitor_a, monitor_b, manager, department_a, department_b, rooms: 0.into() }
}

impl Cast {
    /// A new queued room of the department (or of none): (room id, inquiry id).
    async fn queued_room(&self, app: &TestApp, department: Option<&str>) -> (String, String) {
        let number = self.rooms.fetch_add(1, Ordering::SeqCst);
        let (_, room_id) = visitor_with_room(app, &format!("visitor-{number}"), department).await;
        let inquiry_id = inquiry_of(app, &room_id).await["_id"].as_str().unwrap().to_owned();
        (room_id, inquiry_id)
    }

    /// A new room of department A served by agent A.
    async fn served_room(&self, app: &TestApp) -> String {
        let (room_id, inquiry_id) = self.queued_room(app, Some(&self.department_a)).await;
        let (status, body) =
            app.post("/api/v1/livechat/inquiries.take", Some(&self.agent_a), json!({"inquiryId": inquiry_id})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
        room_id
    }
}

fn unauthorized() -> Value {
    bare("unauthorized")
}

fn done() -> Value {
    json!({"success": true})
}

/// One line of `inquiries.list`.
fn listed(room_id: &str, inquiry_id: &str, token_number: usize, department: Option<&str>) -> Value {
    let mut line = json!({
        "_id": inquiry_id, "rid": room_id, "name": format!("Visitor visitor-{token_number}"),
        "ts": START_TEXT, "status": "queued",
    });
    if let Some(department) = department {
        line["department"] = json!(department);
    }
    line
}

fn page(key: &str, items: Vec<Value>) -> Value {
    let count = items.len();
    json!({key: items, "offset": 0, "count": count, "total": count, "success": true})
}

both_backends!(inquiry_reads_follow_the_callers_departments, clock = START, |app| {
    let cast = cast(&app).await;
    let (room_a, inquiry_a) = cast.queued_room(&app, Some(&cast.department_a)).await;
    let (room_b, inquiry_b) = cast.queued_room(&app, Some(&cast.department_b)).await;
    let (room_n, inquiry_n) = cast.queued_room(&app, None).await;
    let line_a = listed(&room_a, &inquiry_a, 0, Some(&cast.department_a));
    let line_b = listed(&room_b, &inquiry_b, 1, Some(&cast.department_b));
    let line_n = listed(&room_n, &inquiry_n, 2, None);
    let everything = page("inquiries", vec![line_n.clone(), line_b.clone(), line_a.clone()]);

    // inquiries.list: managers list everything, a monitor its departments and none.
    let list = "/api/v1/livechat/inquiries.list";
    let cells = [
        (Who::As(&cast.agent_a), StatusCode::FORBIDDEN, no_permission()),
        (Who::As(&cast.agent_b), StatusCode::FORBIDDEN, no_permission()),
        (Who::As(&cast.monitor_a), StatusCode::OK, page("inquiries", vec![line_n.clone(), line_a.clone()])),
        (Who::As(&cast.monitor_b), StatusCode::OK, page("inquiries", vec![line_n.clone(), line_b.clone()])),
        (Who::As(&cast.manager), StatusCode::OK, everything.clone()),
        (Who::As(&app.admin), StatusCode::OK, everything.clone()),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        assert_eq!(app.get(list, who.session()).await, (status, body), "inquiries.list cell {index}");
    }

    // inquiries.list?department=A
    let filtered = format!("{list}?department={}", cast.department_a);
    let only_a = page("inquiries", vec![line_a.clone()]);
    let cells = [
        (Who::As(&cast.agent_a), StatusCode::FORBIDDEN, no_permission()),
        (Who::As(&cast.monitor_a), StatusCode::OK, only_a.clone()),
        (Who::As(&cast.monitor_b), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.manager), StatusCode::OK, only_a.clone()),
        (Who::As(&app.admin), StatusCode::OK, only_a.clone()),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        assert_eq!(app.get(&filtered, who.session()).await, (status, body), "filtered list cell {index}");
    }

    // inquiries.getOne of department A's inquiry.
    let one = format!("/api/v1/livechat/inquiries.getOne?roomId={room_a}");
    let (status, seen) = app.get(&one, Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((&seen["inquiry"]["_id"], &seen["inquiry"]["rid"]), (&json!(inquiry_a), &json!(room_a)));
    let cells = [
        (Who::As(&cast.agent_a), StatusCode::OK, seen.clone()),
        (Who::As(&cast.agent_b), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_a), StatusCode::OK, seen.clone()),
        (Who::As(&cast.monitor_b), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.manager), StatusCode::OK, seen.clone()),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        assert_eq!(app.get(&one, who.session()).await, (status, body), "getOne cell {index}");
    }

    // inquiries.queuedForUser: the caller's departments and none, in queue order.
    let inquiry_a_view = inquiry_of(&app, &room_a).await;
    let inquiry_b_view = inquiry_of(&app, &room_b).await;
    let inquiry_n_view = inquiry_of(&app, &room_n).await;
    let queued = "/api/v1/livechat/inquiries.queuedForUser";
    let cells = [
        (
            Who::As(&cast.agent_a),
            StatusCode::OK,
            page("inquiries", vec![inquiry_a_view.clone(), inquiry_n_view.clone()]),
        ),
        (
            Who::As(&cast.agent_b),
            StatusCode::OK,
            page("inquiries", vec![inquiry_b_view.clone(), inquiry_n_view.clone()]),
        ),
        (
            Who::As(&cast.monitor_a),
            StatusCode::OK,
            page("inquiries", vec![inquiry_a_view.clone(), inquiry_n_view.clone()]),
        ),
        (Who::As(&cast.manager), StatusCode::OK, page("inquiries", vec![inquiry_n_view.clone()])),
        (Who::As(&app.admin), StatusCode::OK, page("inquiries", vec![inquiry_n_view.clone()])),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        assert_eq!(app.get(queued, who.session()).await, (status, body), "queuedForUser cell {index}");
    }
    let other_department = format!("{queued}?department={}", cast.department_b);
    assert_eq!(app.get(&other_department, Some(&cast.agent_a)).await, (StatusCode::FORBIDDEN, unauthorized()));

    // livechat/rooms: supervisors list every room, a monitor its departments' and none.
    let rooms = "/api/v1/livechat/rooms";
    let (status, all_rooms) = app.get(rooms, Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&Value> = all_rooms["rooms"].as_array().unwrap().iter().map(|room| &room["_id"]).collect();
    assert_eq!(ids, [&json!(room_n), &json!(room_b), &json!(room_a)]);
    let rooms_of = |kept: &[&str]| {
        let kept: Vec<Value> = all_rooms["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|room| kept.contains(&room["_id"].as_str().unwrap()))
            .cloned()
            .collect();
        page("rooms", kept)
    };
    let cells = [
        (Who::As(&cast.agent_a), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_a), StatusCode::OK, rooms_of(&[&room_a, &room_n])),
        (Who::As(&cast.monitor_b), StatusCode::OK, rooms_of(&[&room_b, &room_n])),
        (Who::As(&cast.manager), StatusCode::OK, all_rooms.clone()),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        assert_eq!(app.get(rooms, who.session()).await, (status, body), "rooms cell {index}");
    }
});

both_backends!(take_is_bounded_by_the_agents_departments, clock = START, |app| {
    let cast = cast(&app).await;
    let take = "/api/v1/livechat/inquiries.take";
    let not_an_agent = coded("error-invalid-agent", "The user is not an agent");
    // (caller, taking for, status, body); every cell on a fresh inquiry of department A.
    let cells = [
        (Who::As(&cast.agent_b), None, StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_b), None, StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_b), Some(&cast.agent_a), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&app.admin), Some(&cast.agent_b), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.agent_a2), Some(&cast.agent_a), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.manager), None, StatusCode::BAD_REQUEST, not_an_agent.clone()),
        (Who::As(&app.admin), None, StatusCode::BAD_REQUEST, not_an_agent),
        (Who::Anonymous, None, StatusCode::UNAUTHORIZED, not_logged_in()),
        (Who::As(&cast.agent_a), None, StatusCode::OK, done()),
        (Who::As(&cast.monitor_a), None, StatusCode::OK, done()),
        (Who::As(&cast.monitor_a), Some(&cast.agent_a2), StatusCode::OK, done()),
        (Who::As(&cast.manager), Some(&cast.agent_a), StatusCode::OK, done()),
        (Who::As(&app.admin), Some(&cast.agent_a), StatusCode::OK, done()),
    ];
    for (index, (who, taker, status, body)) in cells.into_iter().enumerate() {
        let (room_id, inquiry_id) = cast.queued_room(&app, Some(&cast.department_a)).await;
        let mut request = json!({"inquiryId": inquiry_id});
        if let Some(taker) = taker {
            request["userId"] = json!(taker.user_id);
        }
        assert_eq!(app.post(take, who.session(), request).await, (status, body.clone()), "take cell {index}");
        let expected = if body == done() { "taken" } else { "queued" };
        assert_eq!(inquiry_of(&app, &room_id).await["status"], json!(expected), "take cell {index}");
    }
});

both_backends!(only_the_serving_agent_or_a_transferrer_returns_a_room, clock = START, |app| {
    let cast = cast(&app).await;
    let give_back = "/api/v1/livechat/inquiries.returnAsInquiry";
    let returned = json!({"result": true, "success": true});
    // (caller, to department B?, status, body); every cell on a fresh room agent A serves.
    let cells = [
        (Who::As(&cast.agent_a2), false, StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.agent_b), false, StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_b), false, StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.agent_a), true, StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_a), true, StatusCode::FORBIDDEN, unauthorized()),
        (Who::Anonymous, false, StatusCode::UNAUTHORIZED, not_logged_in()),
        (Who::As(&cast.agent_a), false, StatusCode::OK, returned.clone()),
        (Who::As(&cast.monitor_a), false, StatusCode::OK, returned.clone()),
        (Who::As(&cast.manager), false, StatusCode::OK, returned.clone()),
        (Who::As(&cast.manager), true, StatusCode::OK, returned.clone()),
        (Who::As(&app.admin), false, StatusCode::OK, returned.clone()),
    ];
    for (index, (who, to_b, status, body)) in cells.into_iter().enumerate() {
        let room_id = cast.served_room(&app).await;
        let mut request = json!({"roomId": room_id});
        if to_b {
            request["departmentId"] = json!(cast.department_b);
        }
        assert_eq!(app.post(give_back, who.session(), request).await, (status, body.clone()), "return cell {index}");
        let inquiry = inquiry_of(&app, &room_id).await;
        let (expected_status, expected_department) = match (body == returned, to_b) {
            (true, true) => ("queued", &cast.department_b),
            (true, false) => ("queued", &cast.department_a),
            (false, _) => ("taken", &cast.department_a),
        };
        assert_eq!(
            (&inquiry["status"], &inquiry["department"]),
            (&json!(expected_status), &json!(expected_department))
        );
    }
});

both_backends!(returns_by_another_agent_never_land_while_the_room_changes_hands, clock = START, |app| {
    let cast = Arc::new(cast(&app).await);
    let app = Arc::new(app);
    let room_id = cast.served_room(&app).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let intruder = {
        let (app, cast, room_id) = (app.clone(), cast.clone(), room_id.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..40 {
                let request = json!({"roomId": room_id});
                answers
                    .push(app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&cast.agent_b), request).await);
            }
            answers
        })
    };
    // Meanwhile agent A keeps giving the room back and taking it again.
    for _ in 0..20 {
        let request = json!({"roomId": room_id});
        let answer = app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&cast.agent_a), request).await;
        assert_eq!(answer, (StatusCode::OK, json!({"result": true, "success": true})));
        let request = json!({"inquiryId": inquiry_id});
        assert_eq!(
            app.post("/api/v1/livechat/inquiries.take", Some(&cast.agent_a), request).await,
            (StatusCode::OK, done())
        );
    }
    for answer in intruder.await.unwrap() {
        // Refused while taken; a no-op while queued.
        let refused = (StatusCode::FORBIDDEN, unauthorized());
        let no_op = (StatusCode::OK, json!({"result": false, "success": true}));
        assert!(answer == refused || answer == no_op, "{answer:?}");
    }
    let inquiry = inquiry_of(&app, &room_id).await;
    assert_eq!(inquiry["status"], json!("taken"));
});

both_backends!(closing_another_agents_room_takes_close_others, clock = START, |app| {
    let cast = cast(&app).await;
    let close = "/api/v1/livechat/room.closeByUser";
    let cells = [
        // Rocket.Chat refuses a room the caller is not in with a 400.
        (Who::As(&cast.agent_a2), StatusCode::BAD_REQUEST, bare("error-not-authorized")),
        (Who::As(&cast.agent_b), StatusCode::BAD_REQUEST, bare("error-not-authorized")),
        (Who::As(&cast.monitor_b), StatusCode::BAD_REQUEST, bare("error-not-authorized")),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
        (Who::As(&cast.agent_a), StatusCode::OK, done()),
        (Who::As(&cast.monitor_a), StatusCode::OK, done()),
        (Who::As(&cast.manager), StatusCode::OK, done()),
        (Who::As(&app.admin), StatusCode::OK, done()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        let room_id = cast.served_room(&app).await;
        let closed = body == done();
        assert_eq!(app.post(close, who.session(), json!({"rid": room_id})).await, (status, body), "close cell {index}");
        let expected = if closed { Value::Null } else { json!("taken") };
        assert_eq!(inquiry_of(&app, &room_id).await["status"], expected, "close cell {index}");
    }
    let room_id = cast.served_room(&app).await;
    assert_eq!(app.post(close, Some(&cast.agent_a), json!({"rid": room_id})).await, (StatusCode::OK, done()));
    assert_eq!(
        app.post(close, Some(&cast.agent_a), json!({"rid": room_id})).await,
        (StatusCode::BAD_REQUEST, bare("error-room-already-closed"))
    );
    assert_eq!(
        app.post(close, Some(&cast.agent_a), json!({"rid": "no-such-room"})).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-room", "Invalid room"))
    );
});

both_backends!(setting_an_sla_follows_the_callers_departments, clock = START, |app| {
    let cast = cast(&app).await;
    let policy = json!({"name": "Fast", "description": "Fast lane", "dueTimeInMinutes": 5});
    let (status, body) = app.post("/api/v1/livechat/sla", Some(&app.admin), policy).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set_sla = "/api/v1/livechat/inquiry.setSLA";
    let cells = [
        (Who::As(&cast.agent_b), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_b), StatusCode::FORBIDDEN, unauthorized()),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
        (Who::As(&cast.agent_a), StatusCode::OK, done()),
        (Who::As(&cast.monitor_a), StatusCode::OK, done()),
        (Who::As(&cast.manager), StatusCode::OK, done()),
        (Who::As(&app.admin), StatusCode::OK, done()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        let (room_id, _) = cast.queued_room(&app, Some(&cast.department_a)).await;
        let set = body == done();
        let request = json!({"roomId": room_id, "sla": "Fast"});
        assert_eq!(app.put(set_sla, who.session(), request).await, (status, body), "setSLA cell {index}");
        assert_eq!(inquiry_of(&app, &room_id).await["slaId"].is_string(), set, "setSLA cell {index}");
    }
});

both_backends!(a_monitor_reads_and_changes_only_its_departments, clock = START, |app| {
    let cast = cast(&app).await;
    let of = |id: &str| format!("/api/v1/livechat/department/{id}?includeAgents=false");
    let (status, department_b) = app.get(&of(&cast.department_b), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(department_b["department"]["_id"], json!(cast.department_b));
    let cells = [
        (Who::As(&cast.agent_a), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.agent_b), StatusCode::OK, department_b.clone()),
        (Who::As(&cast.monitor_a), StatusCode::FORBIDDEN, unauthorized()),
        (Who::As(&cast.monitor_b), StatusCode::OK, department_b.clone()),
        (Who::As(&cast.manager), StatusCode::OK, department_b.clone()),
        (Who::Anonymous, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (index, (who, status, body)) in cells.into_iter().enumerate() {
        assert_eq!(app.get(&of(&cast.department_b), who.session()).await, (status, body), "department cell {index}");
    }
    let agents = format!("/api/v1/livechat/department/{}/agents", cast.department_b);
    let change = json!({"upsert": [{"agentId": cast.monitor_a.user_id, "username": "monitor-a"}], "remove": []});
    assert_eq!(app.post(&agents, Some(&cast.monitor_a), change).await, (StatusCode::FORBIDDEN, unauthorized()));
    let path = format!("/api/v1/livechat/department/{}", cast.department_b);
    crate::settings::allow_department_removal(&app).await;
    assert_eq!(app.delete(&path, Some(&cast.monitor_a)).await, (StatusCode::FORBIDDEN, unauthorized()));
    assert_eq!(app.delete(&path, Some(&cast.agent_b)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.delete(&path, Some(&cast.monitor_b)).await, (StatusCode::OK, done()));
});

/// The expected default grants: `tests/fixtures/omnichannel-permissions.tsv` plus the
/// three permissions of this server that are not omnichannel ones.
fn default_grants() -> BTreeMap<String, Vec<String>> {
    let table = include_str!("../fixtures/omnichannel-permissions.tsv");
    let mut grants: BTreeMap<String, Vec<String>> = table
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (id, roles) = line.split_once('\t').unwrap();
            (id.to_owned(), roles.split(',').map(str::to_owned).collect())
        })
        .collect();
    for id in [
        "access-permissions",
        "create-user",
        "manage-livechat-api-keys",
        "view-privileged-setting",
        "edit-privileged-setting",
        "view-full-other-user-info",
        "edit-message",
        "delete-message",
        "force-delete-message",
    ] {
        grants.insert(id.to_owned(), vec!["admin".to_owned()]);
    }
    grants.insert("delete-own-message".to_owned(), vec!["admin".to_owned(), "user".to_owned()]);
    grants
}

/// The permissions of an answer, by id (the backends' collations order ids differently).
fn by_id(permissions: &Value) -> BTreeMap<String, Value> {
    permissions
        .as_array()
        .unwrap()
        .iter()
        .map(|grant| (grant["_id"].as_str().unwrap().to_owned(), grant.clone()))
        .collect()
}

both_backends!(default_grants_are_rocket_chats, clock = START, |app| {
    let expected: BTreeMap<String, Value> = default_grants()
        .into_iter()
        .map(|(id, roles)| (id.clone(), json!({"_id": id, "roles": roles, "_updatedAt": NEVER})))
        .collect();
    let (status, body) = app.get("/api/v1/permissions.listAll", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id(&body["update"]), expected);
    assert_eq!((&body["remove"], &body["success"]), (&json!([]), &json!(true)));
    assert_eq!(body.as_object().unwrap().len(), 3);

    // Every omnichannel id is one permissions.update accepts.
    let change = json!({"permissions": [{"_id": "close-others-livechat-room", "roles": ["admin"]}]});
    let (status, body) = app.post("/api/v1/permissions.update", Some(&app.admin), change).await;
    assert_eq!(status, StatusCode::OK);
    let mut changed = expected.clone();
    changed.insert(
        "close-others-livechat-room".to_owned(),
        json!({"_id": "close-others-livechat-room", "roles": ["admin"], "_updatedAt": START_TEXT}),
    );
    assert_eq!(by_id(&body["permissions"]), changed);
    assert_eq!(body["success"], json!(true));
    assert_eq!(body.as_object().unwrap().len(), 2);
});

// A confined monitor's membership is checked inside its change's transaction: when an
// administrator removes it from the department while it re-adds itself, it either
// wrote first (and is removed after) or is refused; it never ends up back in.
both_backends!(a_monitor_removed_concurrently_never_writes_itself_back, |app| {
    let monitor = available_monitor(&app, "racing-monitor").await;
    let department = department(&app, "Raced", &[&monitor]).await;
    let path = format!("/api/v1/livechat/department/{department}/agents");
    let agents_path = format!("/api/v1/livechat/department/{department}/agents?count=100");
    for _ in 0..20 {
        let upsert = json!({"upsert": [{"agentId": monitor.user_id, "username": "racing-monitor"}], "remove": []});
        let (status, body) = app.post(&path, Some(&app.admin), upsert.clone()).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
        let remove = json!({"upsert": [], "remove": [{"agentId": monitor.user_id, "username": "racing-monitor"}]});
        let (by_monitor, by_admin) =
            tokio::join!(app.post(&path, Some(&monitor), upsert), app.post(&path, Some(&app.admin), remove));
        assert_eq!(by_admin, (StatusCode::OK, json!({"success": true})));
        match by_monitor {
            (StatusCode::OK, body) => assert_eq!(body, json!({"success": true})),
            answer => assert_eq!(answer, (StatusCode::FORBIDDEN, unauthorized())),
        }
        let (status, body) = app.get(&agents_path, Some(&app.admin)).await;
        assert_eq!((status, &body["agents"]), (StatusCode::OK, &json!([])), "the monitor wrote itself back");
    }
});
