//! Transfers: livechat/room.forward to an agent and to a department (with the fallback
//! chain), its refusals, its races with a close and a take, the transfer history, and
//! HelpCrunch's department change forwarding the chat the same way.

use std::sync::Arc;

use livechat_server::config::AppSettings;
use livechat_server::domain::routing::RoutingMethod;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends, send};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

const FORWARD: &str = "/api/v1/livechat/room.forward";
const AT_START: &str = "2026-01-02T03:04:05.678Z";

fn done() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"success": true}))
}

fn refused(error: &str) -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, bare(error))
}

async fn forward(app: &TestApp, caller: &Session, body: Value) -> (StatusCode, Value) {
    app.post(FORWARD, Some(caller), body).await
}

async fn take(app: &TestApp, agent: &Session, room_id: &str) {
    let inquiry_id = inquiry_of(app, room_id).await["_id"].clone();
    let answer = app.post("/api/v1/livechat/inquiries.take", Some(agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(answer, done());
}

async fn history(app: &TestApp, caller: &Session, room_id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/livechat/transfer.history/{room_id}"), Some(caller)).await
}

fn history_page(entries: Vec<Value>) -> (StatusCode, Value) {
    let count = entries.len();
    (StatusCode::OK, json!({"history": entries, "count": count, "offset": 0, "total": count, "success": true}))
}

/// `username open_chats` of every agent, and `room served_by department` of every room,
/// straight from the database.
async fn snapshot(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let counters = app
        .column_strings(
            "SELECT username || ' ' || CAST(open_chats AS TEXT) FROM users WHERE username <> 'admin' ORDER BY username",
        )
        .await;
    let rooms = app
        .column_strings(
            "SELECT r.fname || ' ' || CASE WHEN r.open THEN 'open' ELSE 'closed' END || ' ' || \
               COALESCE(u.username, '-') || ' ' || COALESCE(d.name, '-') || ' ' || COALESCE(r.inquiry_status, '-') \
             FROM rooms r LEFT JOIN users u ON u.id = r.served_by LEFT JOIN departments d ON d.id = r.department_id \
             ORDER BY r.fname",
        )
        .await;
    (counters, rooms)
}

fn lines(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|line| (*line).to_owned()).collect()
}

fn party(session: &Session, username: &str) -> Value {
    json!({"_id": session.user_id, "username": username, "name": username})
}

fn by(session: &Session, username: &str, kind: &str) -> Value {
    let mut party = party(session, username);
    party["type"] = json!(kind);
    party
}

async fn set_setting(app: &TestApp, id: &str, value: Value) {
    let answer = app.post(&format!("/api/v1/settings/{id}"), Some(&app.admin), json!({"value": value})).await;
    assert_eq!(answer, done(), "{id}");
}

/// Creates (`id` None) or replaces a department with these agents and extra fields;
/// returns its id.
async fn save_department(app: &TestApp, id: Option<&str>, name: &str, agents: &[&Session], fields: Value) -> String {
    let mut department = json!({"name": name, "enabled": true, "email": "support@example.com",
        "showOnRegistration": true, "showOnOfflineForm": true});
    department.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    let agents: Vec<Value> = agents.iter().map(|agent| json!({"agentId": agent.user_id})).collect();
    let body = json!({"department": department, "agents": agents});
    let (status, answer) = match id {
        Some(id) => app.put(&format!("/api/v1/livechat/department/{id}"), Some(&app.admin), body).await,
        None => app.post("/api/v1/livechat/department", Some(&app.admin), body).await,
    };
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["department"]["_id"].as_str().unwrap().to_owned()
}

both_backends!(forwarding_to_an_agent_hands_the_room_over_with_its_history, clock = START, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let (_, room_id) = visitor_with_room(&app, "v1", None).await;
    take(&app, &alice, &room_id).await;

    let body = json!({"roomId": room_id, "userId": bob.user_id, "comment": "over to you"});
    assert_eq!(forward(&app, &manager, body).await, done());
    assert_eq!(
        snapshot(&app).await,
        (lines(&["alice 0", "bob 1", "manager 0"]), lines(&["Visitor v1 open bob - taken"]))
    );
    assert_eq!(
        history(&app, &manager, &room_id).await,
        history_page(vec![json!({"transferredBy": by(&manager, "manager", "user"), "ts": AT_START,
            "scope": "agent", "comment": "over to you", "transferredTo": party(&bob, "bob")})])
    );
    // The room shows the message as Rocket.Chat's system message.
    let (status, body) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=v1"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let message = body["messages"].as_array().unwrap().iter().find(|m| m["t"] == "livechat_transfer_history").unwrap();
    assert_eq!(message["u"], json!({"_id": manager.user_id, "username": "manager", "name": "manager"}));
    assert_eq!(message["msg"], json!(""));

    // A queued room goes straight to the agent: it is taken.
    let (_, queued) = visitor_with_room(&app, "v2", None).await;
    assert_eq!(forward(&app, &manager, json!({"roomId": queued, "userId": alice.user_id})).await, done());
    assert_eq!(
        snapshot(&app).await,
        (
            lines(&["alice 1", "bob 1", "manager 0"]),
            lines(&["Visitor v1 open bob - taken", "Visitor v2 open alice - taken"])
        )
    );
});

both_backends!(forwarding_to_an_agent_refuses_as_rocket_chat, clock = START, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let away = app.user_with_roles("away", &["user", "livechat-agent"]).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let (_, room_id) = visitor_with_room(&app, "v1", None).await;
    take(&app, &alice, &room_id).await;
    let to = |user: &str| json!({"roomId": room_id, "userId": user});

    assert_eq!(forward(&app, &manager, to(&alice.user_id)).await, refused("error-selected-agent-room-agent-are-same"));
    assert_eq!(forward(&app, &manager, to("nobody")).await, refused("error-user-is-offline"));
    assert_eq!(forward(&app, &manager, to(&plain.user_id)).await, refused("error-user-is-offline"));
    assert_eq!(forward(&app, &manager, to(&away.user_id)).await, refused("error-user-is-offline"));
    assert_eq!(forward(&app, &manager, json!({"roomId": room_id})).await, refused("error-forwarding-chat"));

    // Bob already serves as many chats as his limit allows.
    let limit = json!({"agentId": bob.user_id, "agentData": {"maxNumberSimultaneousChat": 1}});
    assert_eq!(app.post("/api/v1/livechat/agents.saveInfo", Some(&app.admin), limit).await, done());
    let (_, bobs) = visitor_with_room(&app, "v2", None).await;
    take(&app, &bob, &bobs).await;
    assert_eq!(forward(&app, &manager, to(&bob.user_id)).await, refused("error-forwarding-chat"));
    let mut by_client = to(&bob.user_id);
    by_client["clientAction"] = json!(true);
    assert_eq!(
        forward(&app, &manager, by_client).await,
        (StatusCode::BAD_REQUEST, coded("error-max-number-simultaneous-chats-reached", "Not allowed"))
    );
    assert_eq!(
        snapshot(&app).await,
        (
            lines(&["alice 1", "away 0", "bob 1", "manager 0", "plain 0"]),
            lines(&["Visitor v1 open alice - taken", "Visitor v2 open bob - taken"])
        )
    );
    assert_eq!(history(&app, &manager, &room_id).await, history_page(vec![]));
});

both_backends!(forward_refuses_bad_input_unknown_rooms_and_callers, clock = START, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let (_, room_id) = visitor_with_room(&app, "v1", None).await;
    take(&app, &alice, &room_id).await;

    assert_eq!(app.post(FORWARD, None, json!({"roomId": room_id})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // Agents do not hold transfer-livechat-guest by default.
    assert_eq!(
        forward(&app, &alice, json!({"roomId": room_id, "userId": bob.user_id})).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    let bad = |message: &str| (StatusCode::BAD_REQUEST, invalid_params(message));
    assert_eq!(
        forward(&app, &manager, json!({"userId": bob.user_id})).await,
        bad("must have required property 'roomId'")
    );
    assert_eq!(forward(&app, &manager, json!({"roomId": 5})).await, bad("/roomId must be string"));
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "clientAction": "yes"})).await,
        bad("/clientAction must be boolean")
    );
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "other": 1})).await,
        bad("must NOT have additional properties")
    );
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "userId": bob.user_id, "comment": "x".repeat(5001)})).await,
        bad("/comment must NOT have more than 5000 characters")
    );
    assert_eq!(
        forward(&app, &manager, json!({"roomId": "r".repeat(257)})).await,
        bad("/roomId must NOT have more than 256 characters")
    );
    let (status, body) = app.send_raw_json(Method::POST, FORWARD, &manager, "{\"roomId\":").await;
    assert_eq!((status, &body["errorType"]), (StatusCode::BAD_REQUEST, &json!("error-invalid-json")));
    assert_eq!(body["success"], json!(false));
    assert_eq!(
        forward(&app, &manager, json!({"roomId": "nope", "userId": bob.user_id})).await,
        refused("error-invalid-room")
    );
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "departmentId": "nope"})).await,
        refused("error-invalid-department")
    );

    // A closed room is not forwarded.
    let close = app.post("/api/v1/livechat/room.closeByUser", Some(&alice), json!({"rid": room_id})).await;
    assert_eq!(close, done());
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "userId": bob.user_id})).await,
        refused("This_conversation_is_already_closed")
    );
    assert_eq!(snapshot(&app).await.0, lines(&["alice 0", "bob 0", "manager 0"]));
});

both_backends!(only_the_serving_agent_or_a_room_viewer_within_reach_forwards, clock = START, |app| {
    // Agents may transfer here, so that the room's own agent is tried too.
    let grant = json!({"permissions": [{"_id": "transfer-livechat-guest",
        "roles": ["admin", "livechat-manager", "livechat-monitor", "livechat-agent"]}]});
    let (status, body) = app.post("/api/v1/permissions.update", Some(&app.admin), grant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let carol = available_agent(&app, "carol").await;
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor", "livechat-agent"]).await;
    let sales = department(&app, "Sales", &[&alice, &bob, &carol]).await;
    department(&app, "Support", &[&monitor]).await;
    let (_, room_id) = visitor_with_room(&app, "v1", Some(&sales)).await;
    take(&app, &alice, &room_id).await;
    let unauthorized = (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}));

    // Bob is of the room's department but does not serve it; the monitor is of another.
    assert_eq!(forward(&app, &bob, json!({"roomId": room_id, "userId": carol.user_id})).await, unauthorized);
    assert_eq!(forward(&app, &monitor, json!({"roomId": room_id, "userId": carol.user_id})).await, unauthorized);
    // Alice forwards the room she serves.
    assert_eq!(forward(&app, &alice, json!({"roomId": room_id, "userId": bob.user_id})).await, done());
    assert_eq!(
        history(&app, &app.admin, &room_id).await,
        history_page(vec![json!({"transferredBy": by(&alice, "alice", "agent"), "ts": AT_START, "scope": "agent",
            "previousDepartment": sales, "transferredTo": party(&bob, "bob")})])
    );
    // The history takes view-livechat-rooms, and a room within reach.
    assert_eq!(history(&app, &alice, &room_id).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(history(&app, &monitor, &room_id).await, refused("error-not-allowed"));
    assert_eq!(history(&app, &app.admin, "nope").await, refused("invalid-room"));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/transfer.history/{room_id}"), None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/transfer.history/{room_id}?sort={{\"msg\":1}}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"msg\":1}\""))
    );
});

both_backends!(forwarding_to_a_department_queues_the_room_there, clock = START, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let sales = department(&app, "Sales", &[&alice]).await;
    let support = department(&app, "Support", &[&bob]).await;
    let (_, room_id) = visitor_with_room(&app, "v1", Some(&sales)).await;
    take(&app, &alice, &room_id).await;

    // Under Manual_Selection the room waits in the new department's queue.
    let body = json!({"roomId": room_id, "departmentId": support, "comment": "billing"});
    assert_eq!(forward(&app, &manager, body).await, done());
    assert_eq!(
        snapshot(&app).await,
        (lines(&["alice 0", "bob 0", "manager 0"]), lines(&["Visitor v1 open - Support queued"]))
    );
    assert_eq!(inquiry_of(&app, &room_id).await["department"], json!(support));
    assert_eq!(
        history(&app, &manager, &room_id).await,
        history_page(vec![json!({"transferredBy": by(&manager, "manager", "user"), "ts": AT_START,
            "scope": "department", "comment": "billing", "previousDepartment": sales,
            "nextDepartment": {"_id": support, "name": "Support"}})])
    );
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "departmentId": support})).await,
        refused("error-forwarding-chat-same-department")
    );
    // To an agent of a department: both at once.
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "departmentId": sales, "userId": bob.user_id})).await,
        refused("error-user-not-belong-to-department")
    );
    assert_eq!(
        forward(&app, &manager, json!({"roomId": room_id, "departmentId": sales, "userId": alice.user_id})).await,
        done()
    );
    assert_eq!(
        snapshot(&app).await,
        (lines(&["alice 1", "bob 0", "manager 0"]), lines(&["Visitor v1 open alice Sales taken"]))
    );
    let (_, body) = history(&app, &manager, &room_id).await;
    assert_eq!(
        body["history"][1],
        json!({"transferredBy": by(&manager, "manager", "user"), "ts": AT_START, "scope": "department",
            "previousDepartment": support, "nextDepartment": {"_id": sales, "name": "Sales"},
            "transferredTo": party(&alice, "alice")})
    );
});

both_backends!(
    under_auto_selection_a_department_forward_is_assigned_at_once,
    settings = AppSettings { routing_method: Some(RoutingMethod::AutoSelection), ..AppSettings::default() },
    clock = START,
    |app| {
        let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
        let alice = available_agent(&app, "alice").await;
        let sales = department(&app, "Sales", &[&alice]).await;
        let (_, room_id) = visitor_with_room(&app, "v1", Some(&sales)).await;
        let bob = available_agent(&app, "bob").await;
        let support = department(&app, "Support", &[&bob]).await;
        assert_eq!(snapshot(&app).await.1, lines(&["Visitor v1 open alice Sales taken"]));

        assert_eq!(forward(&app, &manager, json!({"roomId": room_id, "departmentId": support})).await, done());
        assert_eq!(
            snapshot(&app).await,
            (lines(&["alice 0", "bob 1", "manager 0"]), lines(&["Visitor v1 open bob Support taken"]))
        );
    }
);

both_backends!(department_forwards_follow_the_departments_rules_and_fallback_chain, clock = START, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let away = app.user_with_roles("away", &["user", "livechat-agent"]).await;
    set_setting(&app, "Livechat_accept_chats_with_no_agents", json!(false)).await;
    let online = save_department(&app, None, "Online", &[&alice], json!({})).await;
    let offline_ok =
        save_department(&app, None, "OfflineOk", &[&away], json!({"allowReceiveForwardOffline": true})).await;
    // FallsToOnline -> Empty -> Online, where Alice is available.
    let empty = save_department(&app, None, "Empty", &[&away], json!({"fallbackForwardDepartment": online})).await;
    let falls_to_online =
        save_department(&app, None, "FallsToOnline", &[&away], json!({"fallbackForwardDepartment": empty})).await;
    // LoopA -> LoopB -> LoopA, no one available.
    let elsewhere = save_department(&app, None, "Elsewhere", &[&alice], json!({})).await;
    let loop_a = save_department(&app, None, "LoopA", &[&away], json!({})).await;
    let loop_b = save_department(&app, None, "LoopB", &[&away], json!({"fallbackForwardDepartment": loop_a})).await;
    save_department(&app, Some(&loop_a), "LoopA", &[&away], json!({"fallbackForwardDepartment": loop_b})).await;
    let source = save_department(
        &app,
        None,
        "Source",
        &[&alice],
        json!({"departmentsAllowedToForward": [online, offline_ok, empty, falls_to_online, loop_a, loop_b]}),
    )
    .await;
    let (_, room_id) = visitor_with_room(&app, "v1", Some(&source)).await;
    let to = |department: &str| json!({"roomId": room_id, "departmentId": department});

    // Elsewhere is not in Source's list.
    assert_eq!(
        forward(&app, &manager, to(&elsewhere)).await,
        (
            StatusCode::BAD_REQUEST,
            coded(
                "error-forwarding-department-target-not-allowed",
                "The forwarding to the target department is not allowed."
            )
        )
    );
    // LoopA and LoopB fall back on each other and no one there is available.
    assert_eq!(forward(&app, &manager, to(&loop_a)).await, refused("error-no-agents-online-in-department"));
    assert_eq!(snapshot(&app).await.1, lines(&["Visitor v1 open - Source queued"]));

    // FallsToOnline has no one available; its chain ends in Online, where Alice is.
    assert_eq!(forward(&app, &manager, to(&falls_to_online)).await, done());
    assert_eq!(snapshot(&app).await.1, lines(&["Visitor v1 open - Online queued"]));
    let (_, body) = history(&app, &manager, &room_id).await;
    assert_eq!(body["history"][0]["nextDepartment"], json!({"_id": online, "name": "Online"}));

    // OfflineOk takes forwards with no one available; it is not in Online's (empty) list.
    assert_eq!(forward(&app, &manager, to(&offline_ok)).await, done());
    assert_eq!(snapshot(&app).await.1, lines(&["Visitor v1 open - OfflineOk queued"]));
    // With chats accepted without agents, any department receives.
    set_setting(&app, "Livechat_accept_chats_with_no_agents", json!(true)).await;
    app.clock.advance(1_000);
    assert_eq!(forward(&app, &manager, to(&empty)).await, done());
    assert_eq!(snapshot(&app).await.1, lines(&["Visitor v1 open - Empty queued"]));
    // Paged, oldest first unless sorted otherwise.
    let page = |query: &str| format!("/api/v1/livechat/transfer.history/{room_id}?{query}");
    let (status, body) = app.get(&page("offset=1&count=1"), Some(&manager)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"history": [{"transferredBy": by(&manager, "manager", "user"), "ts": AT_START,
                "scope": "department", "previousDepartment": online,
                "nextDepartment": {"_id": offline_ok, "name": "OfflineOk"}}],
                "count": 1, "offset": 1, "total": 3, "success": true})
        )
    );
    let (status, body) = app.get(&page("count=1&sort={\"ts\":-1}"), Some(&manager)).await;
    assert_eq!((status, &body["history"][0]["nextDepartment"]["name"]), (StatusCode::OK, &json!("Empty")));
});

both_backends!(a_forward_racing_a_close_has_one_outcome, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let app = Arc::new(app);
    for round in 0..8 {
        let token = format!("v{round}");
        let (_, room_id) = visitor_with_room(&app, &token, None).await;
        take(&app, &alice, &room_id).await;
        let forwarding = {
            let request = app
                .client
                .post(app.url(FORWARD))
                .header("X-User-Id", &manager.user_id)
                .header("X-Auth-Token", &manager.token)
                .json(&json!({"roomId": room_id, "userId": bob.user_id}));
            tokio::spawn(send(request))
        };
        let closing = {
            let request = app
                .client
                .post(app.url("/api/v1/livechat/room.closeByUser"))
                .header("X-User-Id", &alice.user_id)
                .header("X-Auth-Token", &alice.token)
                .json(&json!({"rid": room_id}));
            tokio::spawn(send(request))
        };
        let (forwarded, closed) = (forwarding.await.unwrap(), closing.await.unwrap());
        let (counters, _) = snapshot(&app).await;
        if forwarded == done() {
            // Alice no longer serves the room: her close is refused.
            assert_eq!(closed, (StatusCode::BAD_REQUEST, json!({"success": false, "error": "error-not-authorized"})));
            assert_eq!(counters, lines(&["alice 0", "bob 1", "manager 0"]));
            let close = app.post("/api/v1/livechat/room.closeByUser", Some(&bob), json!({"rid": room_id})).await;
            assert_eq!(close, done());
        } else {
            assert_eq!((forwarded, closed), (refused("This_conversation_is_already_closed"), done()));
            assert_eq!(counters, lines(&["alice 0", "bob 0", "manager 0"]));
        }
    }
    assert_eq!(snapshot(&app).await.0, lines(&["alice 0", "bob 0", "manager 0"]));
});

both_backends!(a_forward_racing_a_take_leaves_one_consistent_owner, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let app = Arc::new(app);
    let (mut forwards_won, mut takes_won) = (0, 0);
    for round in 0..8 {
        let (_, room_id) = visitor_with_room(&app, &format!("v{round}"), None).await;
        let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
        let forwarding = {
            let request = app
                .client
                .post(app.url(FORWARD))
                .header("X-User-Id", &manager.user_id)
                .header("X-Auth-Token", &manager.token)
                .json(&json!({"roomId": room_id, "userId": bob.user_id}));
            tokio::spawn(send(request))
        };
        let taking = {
            let request = app
                .client
                .post(app.url("/api/v1/livechat/inquiries.take"))
                .header("X-User-Id", &alice.user_id)
                .header("X-Auth-Token", &alice.token)
                .json(&json!({"inquiryId": inquiry_id}));
            tokio::spawn(send(request))
        };
        let (forwarded, taken) = (forwarding.await.unwrap(), taking.await.unwrap());
        let forward_won = forwarded == done();
        if forward_won {
            // The take lost the race, or came first and the forward then moved the room
            // from Alice to Bob: either way the room is Bob's.
            let lost = (StatusCode::BAD_REQUEST, coded("error-inquiry-taken", "Inquiry already taken"));
            assert!(taken == lost || taken == done(), "{taken:?}");
            forwards_won += 1;
        } else {
            // The forward saw the room queued and the take changed it first.
            assert_eq!((forwarded, taken), (refused("error-forwarding-chat"), done()));
            takes_won += 1;
        }
        let (counters, rooms) = snapshot(&app).await;
        assert_eq!(counters, vec![format!("alice {takes_won}"), format!("bob {forwards_won}"), "manager 0".into()]);
        let serving = if forward_won { "bob" } else { "alice" };
        assert_eq!(rooms[round], format!("Visitor v{round} open {serving} - taken"));
    }
    assert_eq!(forwards_won + takes_won, 8);
});

both_backends!(a_helpcrunch_department_change_forwards_the_chat, clock = START, |app| {
    let alice = available_agent(&app, "alice").await;
    let sales = department(&app, "Sales", &[&alice]).await;
    department(&app, "Support", &[]).await;
    let (_, room_id) = visitor_with_room(&app, "v1", Some(&sales)).await;
    take(&app, &alice, &room_id).await;
    let (status, key) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "crm"})).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let bearer = format!("Bearer {}", key["key"].as_str().unwrap());
    let hc = |method: Method, path: &str, body: Value| {
        send(app.client.request(method, app.url(path)).header("Authorization", &bearer).json(&body))
    };
    let (status, departments) = hc(Method::GET, "/v1/departments", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{departments}");
    let support =
        departments["data"].as_array().unwrap().iter().find(|d| d["name"] == "Support").unwrap()["id"].clone();
    let chat = app.column_strings("SELECT CAST(num_id AS TEXT) FROM rooms").await[0].parse::<i64>().unwrap();

    let (status, body) = hc(Method::PUT, "/v1/chats/department", json!({"id": chat, "department": support})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["status"], &body["assignee"], &body["department"]["name"]),
        (&json!("new"), &Value::Null, &json!("Support"))
    );
    assert_eq!(snapshot(&app).await, (lines(&["alice 0"]), lines(&["Visitor v1 open - Support queued"])));
    let key_id = app.column_strings("SELECT 'api-key-' || CAST(num_id AS TEXT) FROM api_keys").await[0].clone();
    let (_, body) = history(&app, &app.admin, &room_id).await;
    assert_eq!(
        body["history"],
        json!([{"transferredBy": {"_id": key_id, "username": "crm", "name": "crm", "type": "user"}, "ts": AT_START,
            "scope": "department", "previousDepartment": sales, "nextDepartment": {"_id": body["history"][0]["nextDepartment"]["_id"], "name": "Support"}}])
    );
    // Out of any department: back to the general queue.
    let (status, _) = hc(Method::PUT, "/v1/chats/department", json!({"id": chat, "department": null})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = history(&app, &app.admin, &room_id).await;
    assert_eq!(body["history"][1]["scope"], json!("queue"));
    // A closed chat is not moved.
    app.post("/api/v1/livechat/room.closeByUser", Some(&app.admin), json!({"rid": room_id})).await;
    assert_eq!(
        hc(Method::PUT, "/v1/chats/department", json!({"id": chat, "department": support})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"code": "invalid_request", "message": "Invalid request"}, {"code": "id", "message": "Chat is closed"}]})
        )
    );
});
