//! SLA due times and breaches: the due time on inquiries, rooms and chats as policies
//! are set, edited and removed; breaches recorded exactly once by the sweep, on one
//! instance, on two, and at start after a restart; and the figures that show them.

use std::time::Duration;

use livechat_server::config::AppSettings;
use livechat_server::domain::ids::meteor_id;
use livechat_server::domain::time::{Millis, iso, unix_seconds};
use livechat_server::store::{AssigneeOutcome, TakeOutcome};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_messages::room_of;
use crate::envelopes::{bare, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, TestApp, both_backends, open_store};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

const SLA: &str = "/api/v1/livechat/sla";
const SET_SLA: &str = "/api/v1/livechat/inquiry.setSLA";
const BREACHES: &str = "/api/v1/livechat/sla.breaches";
const STATS: &str = "/api/v1/livechat/sla.stats";

const MINUTE: Millis = 60_000;

pub async fn create_sla(app: &TestApp, name: &str, minutes: i64) -> String {
    let (status, body) =
        app.post(SLA, Some(&app.admin), json!({"name": name, "description": "", "dueTimeInMinutes": minutes})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["sla"]["_id"].as_str().unwrap().to_owned()
}

async fn set_sla(app: &TestApp, room_id: &str, sla: &str) {
    let answer = app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": sla})).await;
    assert_eq!(answer, (StatusCode::OK, json!({"success": true})));
}

/// A queued room under the policy `sla`, opened at the clock's time.
async fn room_with_sla(app: &TestApp, token: &str, sla: &str, department: Option<&str>) -> String {
    let (_, room_id) = visitor_with_room(app, token, department).await;
    set_sla(app, &room_id, sla).await;
    room_id
}

/// A HelpCrunch API key of the admin's making.
async fn api_key(app: &TestApp) -> String {
    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "sla"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

/// POST /v1/chats/search with `filter`.
async fn search_chats(app: &TestApp, key: &str, filter: Value) -> (StatusCode, Value) {
    let request = app.client.post(app.url("/v1/chats/search")).bearer_auth(key).json(&json!({"filter": filter}));
    crate::harness::send(request).await
}

/// The chat of a room, as the HelpCrunch face shows it.
async fn chat_of(app: &TestApp, key: &str, room_id: &str) -> Value {
    let (status, body) = search_chats(app, key, json!([])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inquiry = inquiry_of(app, room_id).await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|chat| chat["customer"]["userId"] == inquiry["v"]["_id"])
        .cloned()
        .expect("the room's chat")
}

/// GET sla.breaches on `base` as the admin, until it lists `total` breaches (at most
/// 5 seconds: the sweep runs every second).
async fn breaches_once_total(app: &TestApp, base: &str, total: i64) -> Value {
    for _ in 0..50 {
        let request = app
            .client
            .get(format!("{base}{BREACHES}"))
            .header("X-User-Id", &app.admin.user_id)
            .header("X-Auth-Token", &app.admin.token);
        let (status, body) = crate::harness::send(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The page and its total are two reads: a breach recorded between them shows in
        // the total only. Both must show it.
        let listed = body["breaches"].as_array().map_or(0, Vec::len);
        if body["total"] == json!(total) && listed as i64 == total {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{total} breaches were not listed within 5 seconds");
}

async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.metrics_base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of the series whose line starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

both_backends!(due_times_follow_the_policy_as_it_is_set_edited_changed_and_removed, clock = START, |app| {
    let key = api_key(&app).await;
    let ten = create_sla(&app, "Ten", 10).await;
    let five = create_sla(&app, "Five", 5).await;
    let (_, room_id) = visitor_with_room(&app, "due", None).await;
    let due_of = |room: &Value| room.get("slaDueAt").cloned();

    // No policy: no due time anywhere.
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), None);
    assert_eq!(due_of(&room_of(&app, "due", &room_id).await), None);
    assert_eq!(chat_of(&app, &key, &room_id).await["slaDueAt"], Value::Null);

    // Set later than queued: the due time counts from when it was queued.
    app.clock.advance(MINUTE);
    set_sla(&app, &room_id, &ten).await;
    let due = START + 10 * MINUTE;
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), Some(json!(iso(due))));
    assert_eq!(due_of(&room_of(&app, "due", &room_id).await), Some(json!(iso(due))));
    let chat = chat_of(&app, &key, &room_id).await;
    assert_eq!((chat["slaDueAt"].clone(), chat["slaBreachedAt"].clone()), (json!(unix_seconds(due)), Value::Null));

    // The policy's minutes are edited: the due time moves with them.
    let answer =
        app.put(&format!("{SLA}/{ten}"), Some(&app.admin), json!({"name": "Ten", "dueTimeInMinutes": 30})).await;
    assert_eq!(answer.0, StatusCode::OK, "{answer:?}");
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), Some(json!(iso(START + 30 * MINUTE))));

    // Another policy: its minutes.
    set_sla(&app, &room_id, "Five").await;
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), Some(json!(iso(START + 5 * MINUTE))));
    assert_eq!(chat_of(&app, &key, &room_id).await["slaDueAt"], json!(unix_seconds(START + 5 * MINUTE)));

    // Taken, then returned to the queue later: the due time counts from the return.
    let agent = available_agent(&app, "agent").await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
    let taken = app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(taken, (StatusCode::OK, json!({"success": true})));
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), Some(json!(iso(START + 5 * MINUTE))));
    app.clock.set(START + 20 * MINUTE);
    let returned =
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&agent), json!({"roomId": room_id})).await;
    assert_eq!(returned, (StatusCode::OK, json!({"result": true, "success": true})));
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), Some(json!(iso(START + 25 * MINUTE))));

    // The policy is removed: no due time.
    assert_eq!(
        app.delete(&format!("{SLA}/{five}"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(due_of(&inquiry_of(&app, &room_id).await), None);
    assert_eq!(due_of(&room_of(&app, "due", &room_id).await), None);
    assert_eq!(chat_of(&app, &key, &room_id).await["slaDueAt"], Value::Null);
});

both_backends!(a_queued_inquiry_past_its_due_time_is_breached_once_and_ended_by_its_take, clock = START, |app| {
    let key = api_key(&app).await;
    let policy = create_sla(&app, "Quick", 1).await;
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let room_id = room_with_sla(&app, "late", &policy, Some(&sales)).await;
    let waiting = room_with_sla(&app, "waiting", &policy, None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let due = START + MINUTE;

    // A second before the due time, nothing is breached; the gauge counts down.
    app.clock.set(due - 1_000);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        app.get(BREACHES, Some(&app.admin)).await,
        (StatusCode::OK, json!({"breaches": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
    let metrics = scrape(&app).await;
    assert_eq!(value(&metrics, &format!("livechat_sla_due_seconds{{policy=\"{policy}\"}}")), Some(1.0));
    assert_eq!(value(&metrics, &format!("livechat_sla_breaches_total{{policy=\"{policy}\"}}")), None);

    // Past it: both queued inquiries are breached within seconds, once each.
    app.clock.set(due + 500);
    let breach = |room: &str, inquiry: &str, department: Option<&str>| {
        let mut breach = json!({"inquiryId": inquiry, "rid": room, "slaId": policy, "dueAt": iso(due),
                                "breachedAt": iso(due + 500)});
        if let Some(department) = department {
            breach["departmentId"] = json!(department);
        }
        breach
    };
    let waiting_inquiry = inquiry_of(&app, &waiting).await["_id"].as_str().unwrap().to_owned();
    let listed = breaches_once_total(&app, &app.base, 2).await;
    let mut expected = vec![breach(&room_id, &inquiry_id, Some(&sales)), breach(&waiting, &waiting_inquiry, None)];
    let first_listed = listed["breaches"][0]["rid"].clone();
    if first_listed != json!(room_id) {
        expected.reverse();
    }
    assert_eq!(listed, json!({"breaches": expected, "count": 2, "offset": 0, "total": 2, "success": true}));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(app.get(BREACHES, Some(&app.admin)).await, (StatusCode::OK, listed.clone()));

    // The room says so, once, in the name of the bot.
    let (_, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=late"), None).await;
    let notes: Vec<&Value> =
        history["messages"].as_array().unwrap().iter().filter(|m| m["t"] == "omnichannel_sla_breach").collect();
    assert_eq!(notes.len(), 1, "{history}");
    assert_eq!(notes[0]["u"], json!({"_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat"}));
    assert_eq!(notes[0]["slaBreach"], json!({"slaId": policy, "dueAt": iso(due), "breachedAt": iso(due + 500)}));
    assert_eq!(chat_of(&app, &key, &room_id).await["slaBreachedAt"], json!(unix_seconds(due + 500)));

    // The figures equal the rows.
    let metrics = scrape(&app).await;
    assert_eq!(value(&metrics, &format!("livechat_sla_breaches_total{{policy=\"{policy}\"}}")), Some(2.0));
    assert_eq!(value(&metrics, &format!("livechat_sla_due_seconds{{policy=\"{policy}\"}}")), Some(-0.5));
    let rows = app.column_strings("SELECT policy_id FROM sla_breaches").await;
    assert_eq!(rows, vec![policy.clone(), policy.clone()]);

    // Each breach is an `sla.breached` event for the webhooks and realtime clients.
    let event = |room: &str, inquiry: &str, department: Option<&str>| {
        json!({"inquiryId": inquiry, "roomId": room, "slaId": policy, "slaName": "Quick", "departmentId": department,
               "dueAt": iso(due), "breachedAt": iso(due + 500)})
    };
    let mut expected = vec![event(&room_id, &inquiry_id, Some(&sales)), event(&waiting, &waiting_inquiry, None)];
    let recorded = breach_events(&app).await;
    if recorded[0]["roomId"] != json!(room_id) {
        expected.reverse();
    }
    assert_eq!(recorded, expected);

    // Taking the inquiry ends its breach, in the take itself.
    app.clock.set(due + 10_000);
    let taken = app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(taken, (StatusCode::OK, json!({"success": true})));
    let mut ended = breach(&room_id, &inquiry_id, Some(&sales));
    ended["takenAt"] = json!(iso(due + 10_000));
    let page = |breaches: Vec<Value>| {
        let total = breaches.len();
        json!({"breaches": breaches, "count": total, "offset": 0, "total": total, "success": true})
    };
    assert_eq!(
        app.get(&format!("{BREACHES}?state=taken"), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![ended.clone()]))
    );
    let open = breach(&waiting, &waiting_inquiry, None);
    assert_eq!(
        app.get(&format!("{BREACHES}?state=open"), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![open.clone()]))
    );
    assert_eq!(
        app.get(&format!("{BREACHES}?department={sales}"), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![ended.clone()]))
    );
    assert_eq!(
        app.get(&format!("{BREACHES}?policy={policy}&from={}&to={}", iso(due), iso(due + 500)), Some(&app.admin))
            .await
            .1["total"],
        json!(2)
    );
    assert_eq!(
        app.get(&format!("{BREACHES}?from={}", iso(due + 501)), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![]))
    );
    assert_eq!(app.get(&format!("{BREACHES}?policy=other"), Some(&app.admin)).await, (StatusCode::OK, page(vec![])));
    let (status, paged) = app.get(&format!("{BREACHES}?count=1&offset=1"), Some(&app.admin)).await;
    assert_eq!(
        (status, paged["count"].clone(), paged["offset"].clone(), paged["total"].clone()),
        (StatusCode::OK, json!(1), json!(1), json!(2))
    );

    // Stats: two inquiries of the policy, none met, both breached, one taken after 70 s.
    let other = create_sla(&app, "Other", 60).await;
    assert_eq!(
        app.get(STATS, Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"stats": [
                {"slaId": other, "name": "Other", "inquiries": 0, "met": 0, "breached": 0},
                {"slaId": policy, "name": "Quick", "inquiries": 2, "met": 0, "breached": 2, "medianWaitSeconds": 70.0},
            ], "success": true})
        )
    );

    // The visitor still waiting leaves: the breach stays, closed, and is no longer open.
    app.clock.set(due + 20_000);
    let closed = app.post("/api/v1/livechat/room.close", None, json!({"token": "waiting", "rid": waiting})).await;
    assert_eq!(closed, (StatusCode::OK, json!({"rid": waiting, "comment": "Closed by visitor", "success": true})));
    let mut closed = open;
    closed["closedAt"] = json!(iso(due + 20_000));
    assert_eq!(
        app.get(&format!("{BREACHES}?state=closed"), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![closed]))
    );
    assert_eq!(app.get(&format!("{BREACHES}?state=open"), Some(&app.admin)).await, (StatusCode::OK, page(vec![])));
    assert_eq!(
        app.get(&format!("{BREACHES}?state=taken"), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![ended]))
    );
});

/// The payloads of the `sla.breached` events, oldest first.
async fn breach_events(app: &TestApp) -> Vec<Value> {
    let payloads = app.column_strings("SELECT payload FROM events WHERE kind = 'sla.breached' ORDER BY id").await;
    payloads.iter().map(|payload| serde_json::from_str(payload).unwrap()).collect()
}

both_backends!(a_take_after_the_due_time_before_any_sweep_records_the_breach_once, clock = START, |app| {
    let key = api_key(&app).await;
    let policy = create_sla(&app, "Quick", 1).await;
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let taken_late = room_with_sla(&app, "taken", &policy, Some(&sales)).await;
    let assigned_late = room_with_sla(&app, "assigned", &policy, None).await;
    let on_time = room_with_sla(&app, "on-time", &policy, None).await;
    let inquiry = |room: String| {
        let app = &app;
        async move { inquiry_of(app, &room).await["_id"].as_str().unwrap().to_owned() }
    };
    let (taken_inquiry, assigned_inquiry, on_time_inquiry) =
        (inquiry(taken_late.clone()).await, inquiry(assigned_late.clone()).await, inquiry(on_time.clone()).await);
    let assigned_chat = chat_of(&app, &key, &assigned_late).await["id"].as_i64().unwrap();
    let due = START + MINUTE;

    // The server's clock stays before the due time, so its sweep never sees these
    // inquiries due: the takes, made later on the same database, find no breach.
    let store = open_store(&app.database_url, Duration::from_secs(10)).await;
    assert_eq!(store.take_inquiry(&on_time_inquiry, &agent.user_id, None, due).await.unwrap(), TakeOutcome::Taken);
    assert_eq!(store.take_inquiry(&taken_inquiry, &agent.user_id, None, due + 300).await.unwrap(), TakeOutcome::Taken);
    assert_eq!(store.assign_chat(assigned_chat, &agent.user_id, due + 400).await.unwrap(), AssigneeOutcome::Changed);
    // A sweep after the takes has nothing left to record.
    assert_eq!(store.record_due_breaches(due + 10 * MINUTE, meteor_id).await.unwrap(), vec![]);

    let assigned = json!({"inquiryId": assigned_inquiry, "rid": assigned_late, "slaId": policy, "dueAt": iso(due),
                          "breachedAt": iso(due + 400), "takenAt": iso(due + 400)});
    let taken = json!({"inquiryId": taken_inquiry, "rid": taken_late, "slaId": policy, "departmentId": sales,
                       "dueAt": iso(due), "breachedAt": iso(due + 300), "takenAt": iso(due + 300)});
    assert_eq!(
        app.get(BREACHES, Some(&app.admin)).await,
        (StatusCode::OK, json!({"breaches": [assigned, taken], "count": 2, "offset": 0, "total": 2, "success": true}))
    );
    let mut notes = app.column_strings("SELECT room_id FROM messages WHERE kind = 'omnichannel_sla_breach'").await;
    notes.sort();
    let mut late_rooms = vec![taken_late.clone(), assigned_late.clone()];
    late_rooms.sort();
    assert_eq!(notes, late_rooms);
    assert_eq!(
        breach_events(&app).await,
        vec![
            json!({"inquiryId": taken_inquiry, "roomId": taken_late, "slaId": policy, "slaName": "Quick",
                   "departmentId": sales, "dueAt": iso(due), "breachedAt": iso(due + 300)}),
            json!({"inquiryId": assigned_inquiry, "roomId": assigned_late, "slaId": policy, "slaName": "Quick",
                   "departmentId": null, "dueAt": iso(due), "breachedAt": iso(due + 400)}),
        ]
    );
    // Taken exactly at its due time, the third met it.
    assert_eq!(
        app.get(STATS, Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"stats": [{"slaId": policy, "name": "Quick", "inquiries": 3, "met": 1, "breached": 2,
                              "medianWaitSeconds": 60.3}], "success": true})
        )
    );
});

both_backends!(two_instances_record_each_breach_exactly_once, clock = START, |app| {
    const ROOMS: usize = 12;
    let policy = create_sla(&app, "Quick", 1).await;
    for index in 0..ROOMS {
        room_with_sla(&app, &format!("v{index}"), &policy, None).await;
    }
    let other = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (other_base, _stop) = app.start_another_server(other, AppSettings::default()).await;
    // Besides the two servers' sweeps, sweeps of two more stores at the same instant.
    let (first, second) = (
        open_store(&app.database_url, Duration::from_secs(10)).await,
        open_store(&app.database_url, Duration::from_secs(10)).await,
    );
    app.clock.set(START + MINUTE);
    let sweeps = [first.clone(), second.clone(), first, second].map(|store| {
        tokio::spawn(async move { store.record_due_breaches(START + MINUTE, meteor_id).await.unwrap().len() })
    });
    let swept: usize = futures::future::join_all(sweeps).await.into_iter().map(Result::unwrap).sum();
    assert!(swept <= ROOMS, "{swept} breaches recorded for {ROOMS} inquiries");
    breaches_once_total(&app, &other_base, ROOMS as i64).await;
    // Both instances sweep a few more times: nothing more is recorded.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let listed = breaches_once_total(&app, &app.base, ROOMS as i64).await;
    assert_eq!(listed["breaches"].as_array().unwrap().len(), ROOMS);
    assert_eq!(app.column_strings("SELECT inquiry_id FROM sla_breaches").await.len(), ROOMS);
    let notes = app.column_strings("SELECT room_id FROM messages WHERE kind = 'omnichannel_sla_breach'").await;
    assert_eq!(notes.len(), ROOMS);
    let metrics = scrape(&app).await;
    assert_eq!(value(&metrics, &format!("livechat_sla_breaches_total{{policy=\"{policy}\"}}")), Some(ROOMS as f64));
});

both_backends!(a_due_time_passed_while_the_server_was_down_is_breached_at_start, clock = START, |app| {
    let mut app = app;
    let policy = create_sla(&app, "Quick", 1).await;
    let room_id = room_with_sla(&app, "down", &policy, None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    app.stop_server().await;
    app.clock.set(START + 5 * MINUTE);
    let store = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (base, _stop) = app.start_another_server(store, AppSettings::default()).await;
    let listed = breaches_once_total(&app, &base, 1).await;
    assert_eq!(
        listed,
        json!({"breaches": [{"inquiryId": inquiry_id, "rid": room_id, "slaId": policy, "dueAt": iso(START + MINUTE),
                             "breachedAt": iso(START + 5 * MINUTE)}],
               "count": 1, "offset": 0, "total": 1, "success": true})
    );
});

both_backends!(chat_searches_filter_on_due_and_breach_times, clock = START, |app| {
    let key = api_key(&app).await;
    let quick = create_sla(&app, "Quick", 1).await;
    let slow = create_sla(&app, "Slow", 60).await;
    room_with_sla(&app, "quick", &quick, None).await;
    room_with_sla(&app, "slow", &slow, None).await;
    visitor_with_room(&app, "none", None).await;
    app.clock.set(START + 2 * MINUTE);
    breaches_once_total(&app, &app.base, 1).await;
    let customer_names = |body: &Value| -> Vec<String> {
        let mut names: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|chat| chat["customer"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let search = |filter: Value| {
        let (app, key) = (&app, &key);
        async move {
            let (status, body) = search_chats(app, key, filter).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            customer_names(&body)
        }
    };
    let before = (START + 30 * MINUTE) / 1000;
    assert_eq!(
        search(json!([{"field": "chats.slaDueAt", "operator": "<", "value": before}])).await,
        vec!["Visitor quick"]
    );
    assert_eq!(
        search(json!([{"field": "chats.slaDueAt", "operator": ">=", "value": before.to_string()}])).await,
        vec!["Visitor slow"]
    );
    assert_eq!(
        search(json!([{"field": "chats.slaDueAt", "operator": "=", "value": null}])).await,
        vec!["Visitor none"]
    );
    assert_eq!(
        search(json!([{"field": "chats.slaBreachedAt", "operator": "!=", "value": null}])).await,
        vec!["Visitor quick"]
    );
    assert_eq!(
        search(json!([{"field": "chats.slaBreachedAt", "operator": ">", "value": (START + 2 * MINUTE) / 1000}])).await,
        Vec::<String>::new()
    );
    // A bad value is refused in HelpCrunch's words.
    assert_eq!(
        search_chats(&app, &key, json!([{"field": "chats.slaBreachedAt", "operator": "<", "value": "soon"}])).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "filter[0].value", "message": "This value should be of type numeric."},
            ]})
        )
    );
});

both_backends!(breach_routes_refuse_bad_input, |app| {
    let agent = available_agent(&app, "agent").await;
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    for path in [BREACHES, STATS] {
        assert_eq!(app.get(path, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
        assert_eq!(app.get(path, Some(&agent)).await, (StatusCode::FORBIDDEN, no_permission()));
        assert_eq!(
            app.get(&format!("{path}?color=red"), Some(&app.admin)).await,
            (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
        );
    }
    let refused = |query: &'static str| {
        let app = &app;
        async move { app.get(&format!("{BREACHES}?{query}"), Some(&app.admin)).await }
    };
    assert_eq!(
        refused("from=yesterday").await,
        (StatusCode::BAD_REQUEST, bare("The \"from\" query parameter must be a valid date."))
    );
    assert_eq!(
        refused("to=2026-13-45").await,
        (StatusCode::BAD_REQUEST, bare("The \"to\" query parameter must be a valid date."))
    );
    assert_eq!(
        refused("state=gone").await,
        (StatusCode::BAD_REQUEST, invalid_params("/state must be equal to one of the allowed values"))
    );
    assert_eq!(
        refused("sort={\"breachedAt\":1}").await,
        (StatusCode::BAD_REQUEST, invalid_params("sort is not supported: breaches are listed newest first"))
    );
    assert_eq!(refused("count=1.5").await, (StatusCode::BAD_REQUEST, invalid_params("/count must be number")));
    let long = "x".repeat(257);
    assert_eq!(
        app.get(&format!("{BREACHES}?policy={long}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/policy must NOT have more than 256 characters"))
    );
    // A monitor confined to its departments may not ask for another's.
    assert_eq!(
        app.get(&format!("{BREACHES}?department={sales}"), Some(&monitor)).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(
        app.get(BREACHES, Some(&monitor)).await,
        (StatusCode::OK, json!({"breaches": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
});
