//! Routing: inquiries reaching agents by themselves under Auto_Selection,
//! Load_Balancing and Load_Rotation, chat limits (setting, agent, department),
//! `agents.saveInfo`, `livechat/queue` and `agent.next`, and exactly-once assignment
//! under concurrent load on one or two server instances.
//!
//! The harness starts servers under Manual_Selection; every test here names its method.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use livechat_server::config::AppSettings;
use livechat_server::domain::routing::RoutingMethod;
use livechat_server::routing::PERIODIC_PASS_INTERVAL;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends, open_store};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

fn routed_by(method: RoutingMethod) -> AppSettings {
    AppSettings { routing_method: Some(method), ..AppSettings::default() }
}

async fn set_setting(app: &TestApp, id: &str, value: Value) {
    let (status, body) = app.post(&format!("/api/v1/settings/{id}"), Some(&app.admin), json!({"value": value})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})), "{id}");
}

/// The agent serving the open room (its `servedBy._id`), `Value::Null` while queued.
async fn server_of(app: &TestApp, room_id: &str) -> Value {
    for offset in (0..).step_by(100) {
        let (status, body) =
            app.get(&format!("/api/v1/livechat/rooms?open=true&count=100&offset={offset}"), Some(&app.admin)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rooms = body["rooms"].as_array().unwrap();
        assert!(!rooms.is_empty(), "room {room_id} is not open");
        if let Some(room) = rooms.iter().find(|room| room["_id"] == json!(room_id)) {
            return room["servedBy"]["_id"].clone();
        }
    }
    unreachable!("the offsets never end")
}

async fn close(app: &TestApp, agent: &Session, room_id: &str) {
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(agent), json!({"rid": room_id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
}

fn queue_page(queue: &[&Value], offset: i64, total: i64) -> Value {
    json!({"queue": queue, "count": queue.len(), "offset": offset, "total": total, "success": true})
}

async fn save_info(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/agents.saveInfo", Some(&app.admin), body).await
}

both_backends!(
    auto_selection_gives_a_new_room_to_the_least_loaded_agent,
    settings = routed_by(RoutingMethod::AutoSelection),
    clock = START,
    |app| {
        let alice = available_agent(&app, "alice").await;
        let bob = available_agent(&app, "bob").await;

        // The room is answered as routing left it: served already.
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "v1", "name": "Ada"}})).await;
        let (status, body) = app.get("/api/v1/livechat/room?token=v1", None).await;
        let room_id = body["room"]["_id"].as_str().unwrap().to_owned();
        let v = body["room"]["v"].clone();
        assert_eq!(
            (status, body),
            (
                StatusCode::OK,
                json!({"room": {
                "_id": room_id, "fname": "Ada", "t": "l", "v": v, "cl": false, "open": true, "msgs": 0,
                "usersCount": 2, "ts": "2026-01-02T03:04:05.678Z", "_updatedAt": "2026-01-02T03:04:05.678Z",
                "servedBy": {"_id": alice.user_id, "username": "alice", "ts": "2026-01-02T03:04:05.678Z"},
                "source": {"type": "api"},
            }, "newRoom": true, "success": true})
            )
        );
        assert_eq!(inquiry_of(&app, &room_id).await["status"], json!("taken"));

        // Bob has fewer chats; then both have one and Alice got hers longer ago.
        let (_, second) = visitor_with_room(&app, "v2", None).await;
        assert_eq!(server_of(&app, &second).await, json!(bob.user_id));
        let (_, third) = visitor_with_room(&app, "v3", None).await;
        assert_eq!(server_of(&app, &third).await, json!(alice.user_id));
        // Bob closes his: the fourth goes to him, the least loaded.
        close(&app, &bob, &second).await;
        let (_, fourth) = visitor_with_room(&app, "v4", None).await;
        assert_eq!(server_of(&app, &fourth).await, json!(bob.user_id));
    }
);

both_backends!(load_rotation_goes_round_whatever_the_load, settings = routed_by(RoutingMethod::LoadRotation), |app| {
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let (_, first) = visitor_with_room(&app, "v1", None).await;
    let (_, second) = visitor_with_room(&app, "v2", None).await;
    assert_eq!(
        (server_of(&app, &first).await, server_of(&app, &second).await),
        (json!(alice.user_id), json!(bob.user_id))
    );
    // Bob is free again, yet Alice's turn comes first.
    close(&app, &bob, &second).await;
    let (_, third) = visitor_with_room(&app, "v3", None).await;
    assert_eq!(server_of(&app, &third).await, json!(alice.user_id));
    let (_, fourth) = visitor_with_room(&app, "v4", None).await;
    assert_eq!(server_of(&app, &fourth).await, json!(bob.user_id));
});

both_backends!(load_balancing_weighs_the_departments_chats_before_the_total, |app| {
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let sales = department(&app, "Sales", &[&alice, &bob]).await;
    let support = department(&app, "Support", &[&bob]).await;
    // Under manual selection: Alice takes one Sales chat, Bob two Support chats.
    for (token, department, agent) in [("s1", &sales, &alice), ("p1", &support, &bob), ("p2", &support, &bob)] {
        let (_, room_id) = visitor_with_room(&app, token, Some(department)).await;
        let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
        let (status, body) =
            app.post("/api/v1/livechat/inquiries.take", Some(agent), json!({"inquiryId": inquiry_id})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    }
    // Bob has no Sales chat: Load_Balancing gives him the next one despite his total.
    set_setting(&app, "Livechat_Routing_Method", json!("Load_Balancing")).await;
    let (_, balanced) = visitor_with_room(&app, "s2", Some(&sales)).await;
    assert_eq!(server_of(&app, &balanced).await, json!(bob.user_id));
    // Auto_Selection counts all chats: Alice (1) before Bob (3).
    set_setting(&app, "Livechat_Routing_Method", json!("Auto_Selection")).await;
    let (_, auto) = visitor_with_room(&app, "s3", Some(&sales)).await;
    assert_eq!(server_of(&app, &auto).await, json!(alice.user_id));
});

both_backends!(
    queued_inquiries_go_in_queue_order_as_capacity_frees,
    settings = routed_by(RoutingMethod::AutoSelection),
    |app| {
        set_setting(&app, "Livechat_maximum_chats_per_agent", json!(1)).await;
        let alice = available_agent(&app, "alice").await;
        let (_, first) = visitor_with_room(&app, "v1", None).await;
        let (_, second) = visitor_with_room(&app, "v2", None).await;
        let (_, third) = visitor_with_room(&app, "v3", None).await;
        assert_eq!(server_of(&app, &first).await, json!(alice.user_id));
        assert_eq!((server_of(&app, &second).await, server_of(&app, &third).await), (Value::Null, Value::Null));

        // Closing frees Alice: the oldest queued inquiry comes to her.
        close(&app, &alice, &first).await;
        assert_eq!(
            (server_of(&app, &second).await, server_of(&app, &third).await),
            (json!(alice.user_id), Value::Null)
        );
        // Returned, the second queues behind the third, which goes to her at once.
        let (status, body) =
            app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&alice), json!({"roomId": second})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"result": true, "success": true})));
        assert_eq!(
            (server_of(&app, &second).await, server_of(&app, &third).await),
            (Value::Null, json!(alice.user_id))
        );
        // An agent going available takes what waits.
        let bob = app.user_with_roles("bob", &["user", "livechat-agent"]).await;
        assert_eq!(server_of(&app, &second).await, Value::Null);
        let (status, body) =
            app.post("/api/v1/livechat/agent.status", Some(&bob), json!({"status": "available"})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "available", "success": true})));
        assert_eq!(server_of(&app, &second).await, json!(bob.user_id));
        // Raising the limit lets Alice take more.
        let (_, fourth) = visitor_with_room(&app, "v4", None).await;
        assert_eq!(server_of(&app, &fourth).await, Value::Null);
        set_setting(&app, "Livechat_maximum_chats_per_agent", json!(0)).await;
        assert_eq!(server_of(&app, &fourth).await, json!(alice.user_id));
    }
);

both_backends!(
    department_inquiries_wait_for_an_agent_of_the_department,
    settings = routed_by(RoutingMethod::AutoSelection),
    |app| {
        let outsider = available_agent(&app, "outsider").await;
        let sales = department(&app, "Sales", &[]).await;
        let (_, room_id) = visitor_with_room(&app, "v1", Some(&sales)).await;
        assert_eq!(server_of(&app, &room_id).await, Value::Null);
        // A room of no department goes to any available agent.
        let (_, anyone) = visitor_with_room(&app, "v2", None).await;
        assert_eq!(server_of(&app, &anyone).await, json!(outsider.user_id));
        // Adding an agent to the department routes its queue.
        let seller = available_agent(&app, "seller").await;
        assert_eq!(server_of(&app, &room_id).await, Value::Null);
        let (status, body) = app
            .post(
                &format!("/api/v1/livechat/department/{sales}/agents"),
                Some(&app.admin),
                json!({"upsert": [{"agentId": seller.user_id, "username": "seller"}], "remove": []}),
            )
            .await;
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
        assert_eq!(server_of(&app, &room_id).await, json!(seller.user_id));
    }
);

both_backends!(
    an_inquiry_whose_department_is_at_its_limit_lets_later_ones_through,
    settings = routed_by(RoutingMethod::AutoSelection),
    |app| {
        let alice = available_agent(&app, "alice").await;
        let sales = department(&app, "Sales", &[&alice]).await;
        let support = department(&app, "Support", &[&alice]).await;
        let (status, body) = app
            .put(
                &format!("/api/v1/livechat/department/{sales}"),
                Some(&app.admin),
                json!({"department": {"name": "Sales", "enabled": true, "email": "support@example.com",
                       "showOnRegistration": true, "showOnOfflineForm": true, "maxNumberSimultaneousChat": 1}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, sales_one) = visitor_with_room(&app, "s1", Some(&sales)).await;
        let (_, sales_two) = visitor_with_room(&app, "s2", Some(&sales)).await;
        // Sales is at its limit for Alice: its second inquiry waits, and those queued
        // after it, of Support and of no department, still reach her.
        let (_, support_one) = visitor_with_room(&app, "p1", Some(&support)).await;
        let (_, anyone) = visitor_with_room(&app, "n1", None).await;
        assert_eq!(
            (
                server_of(&app, &sales_one).await,
                server_of(&app, &sales_two).await,
                server_of(&app, &support_one).await,
                server_of(&app, &anyone).await
            ),
            (json!(alice.user_id), Value::Null, json!(alice.user_id), json!(alice.user_id))
        );
        // The department's limit counts all her open chats: it lets the waiting one
        // through once she has none.
        close(&app, &alice, &support_one).await;
        close(&app, &alice, &anyone).await;
        assert_eq!(server_of(&app, &sales_two).await, Value::Null);
        close(&app, &alice, &sales_one).await;
        assert_eq!(server_of(&app, &sales_two).await, json!(alice.user_id));
    }
);

both_backends!(manual_selection_assigns_nothing_by_itself, |app| {
    let _alice = available_agent(&app, "alice").await;
    let (_, room_id) = visitor_with_room(&app, "v1", None).await;
    assert_eq!(server_of(&app, &room_id).await, Value::Null);
    assert_eq!(inquiry_of(&app, &room_id).await["status"], json!("queued"));
});

both_backends!(a_backlog_longer_than_one_pass_is_routed_by_the_passes_after_it, |app| {
    // A pass makes 25 assignments at most: the request that switches the method waits
    // for one pass, and the passes after it route the rest without another change.
    const ROOMS: usize = 30;
    let alice = available_agent(&app, "alice").await;
    for index in 0..ROOMS {
        visitor_with_room(&app, &format!("backlog{index}"), None).await;
    }
    const SERVED: &str = "SELECT COALESCE(served_by, '-') FROM rooms";
    assert_eq!(app.column_strings(SERVED).await, vec!["-".to_owned(); ROOMS]);
    set_setting(&app, "Livechat_Routing_Method", json!("Auto_Selection")).await;
    let served_now = app.column_strings(SERVED).await.iter().filter(|server| **server == alice.user_id).count();
    assert!(served_now >= 25, "one pass has run before the answer: {served_now} served");
    let deadline = tokio::time::Instant::now() + PERIODIC_PASS_INTERVAL * 3;
    while app.column_strings(SERVED).await != vec![alice.user_id.clone(); ROOMS] {
        assert!(tokio::time::Instant::now() < deadline, "still queued: {:?}", app.column_strings(SERVED).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
});

both_backends!(the_lowest_chat_limit_applies_to_takes, |app| {
    let alice = available_agent(&app, "alice").await;
    let sales = department(&app, "Sales", &[&alice]).await;
    set_setting(&app, "Livechat_maximum_chats_per_agent", json!(3)).await;
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": 2}})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let (status, body) = app
        .put(
            &format!("/api/v1/livechat/department/{sales}"),
            Some(&app.admin),
            json!({"department": {"name": "Sales", "enabled": true, "email": "support@example.com",
                   "showOnRegistration": true, "showOnOfflineForm": true, "maxNumberSimultaneousChat": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["department"]["maxNumberSimultaneousChat"], json!(1));
    let take = |room_id: String| {
        let app = &app;
        let alice = &alice;
        async move {
            let inquiry_id = inquiry_of(app, &room_id).await["_id"].clone();
            app.post("/api/v1/livechat/inquiries.take", Some(alice), json!({"inquiryId": inquiry_id})).await
        }
    };
    let over_limit = (StatusCode::BAD_REQUEST, coded("error-max-number-simultaneous-chats-reached", "Not allowed"));
    // A Sales chat takes her to the department's limit of one...
    let (_, sales_one) = visitor_with_room(&app, "s1", Some(&sales)).await;
    let (_, sales_two) = visitor_with_room(&app, "s2", Some(&sales)).await;
    assert_eq!(take(sales_one).await, (StatusCode::OK, json!({"success": true})));
    assert_eq!(take(sales_two.clone()).await, over_limit);
    // ...and chats of no department to her own limit of two.
    let (_, other_one) = visitor_with_room(&app, "o1", None).await;
    let (_, other_two) = visitor_with_room(&app, "o2", None).await;
    assert_eq!(take(other_one).await, (StatusCode::OK, json!({"success": true})));
    assert_eq!(take(other_two).await, over_limit);
    assert_eq!(inquiry_of(&app, &sales_two).await["status"], json!("queued"));
    // 0 removes her own limit; the setting's 3 remains.
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": 0}})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let (_, other_three) = visitor_with_room(&app, "o3", None).await;
    let (_, other_four) = visitor_with_room(&app, "o4", None).await;
    assert_eq!(take(other_three).await, (StatusCode::OK, json!({"success": true})));
    assert_eq!(take(other_four).await, over_limit);
});

both_backends!(save_info_sets_departments_and_refuses_bad_input, |app| {
    let alice = available_agent(&app, "alice").await;
    let sales = department(&app, "Sales", &[&alice]).await;
    let support = department(&app, "Support", &[]).await;
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {}, "agentDepartments": [support]})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let (status, body) = app.get(&format!("/api/v1/livechat/users/agent/{}", alice.user_id), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["departments"], json!([support]));

    let path = "/api/v1/livechat/agents.saveInfo";
    let valid = json!({"agentId": alice.user_id, "agentData": {}});
    assert_eq!(app.post(path, None, valid.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(path, Some(&alice), valid.clone()).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(
        app.send_raw_json(Method::POST, path, &app.admin, "{").await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-json", "Body is not valid JSON: EOF while parsing an object at line 1 column 1")
        )
    );
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {}, "agentDepartments": "Sales"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/agentDepartments must be array"))
    );
    assert_eq!(
        save_info(&app, json!({"agentData": {}})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'agentId'"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'agentData'"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": "2"}})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/agentData/maxNumberSimultaneousChat must be integer"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": -1}})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/agentData/maxNumberSimultaneousChat must be >= 0"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": "x".repeat(257), "agentData": {}})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/agentId must NOT have more than 256 characters"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {}, "agentDepartments": ["x".repeat(257)]}))
            .await,
        (StatusCode::BAD_REQUEST, invalid_params("/agentDepartments/0 must NOT have more than 256 characters"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": "nobody", "agentData": {}})).await,
        (StatusCode::BAD_REQUEST, bare("error-user-is-not-agent"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": app.admin.user_id, "agentData": {}})).await,
        (StatusCode::BAD_REQUEST, bare("error-user-is-not-agent"))
    );
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {}, "agentDepartments": ["nowhere"]})).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-department", "The provided department is invalid"))
    );
    // A monitor confined to Support may not move the agent into Sales.
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor", "livechat-agent"]).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/livechat/department/{support}/agents"),
            Some(&app.admin),
            json!({"upsert": [{"agentId": monitor.user_id, "username": "monitor"}], "remove": []}),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    assert_eq!(
        app.post(path, Some(&monitor), json!({"agentId": alice.user_id, "agentData": {}, "agentDepartments": [sales]}))
            .await,
        (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    );
    assert_eq!(
        app.post(
            path,
            Some(&monitor),
            json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": 4}})
        )
        .await,
        (StatusCode::OK, json!({"success": true}))
    );
});

both_backends!(queue_lists_open_chats_per_agent_and_department, |app| {
    let alice = available_agent(&app, "alice").await;
    let bob = available_agent(&app, "bob").await;
    let sales = department(&app, "Sales", &[&alice]).await;
    for (token, department, agent) in [("s1", Some(&sales), &alice), ("s2", Some(&sales), &alice), ("n1", None, &bob)] {
        let (_, room_id) = visitor_with_room(&app, token, department.map(String::as_str)).await;
        let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
        let (status, body) =
            app.post("/api/v1/livechat/inquiries.take", Some(agent), json!({"inquiryId": inquiry_id})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    }
    let alice_line = json!({"user": {"_id": alice.user_id, "username": "alice", "status": "offline"},
                            "department": {"_id": sales, "name": "Sales"}, "chats": 2});
    let bob_line =
        json!({"user": {"_id": bob.user_id, "username": "bob", "status": "offline"}, "department": {}, "chats": 1});
    let page = |queue: Vec<&Value>, total: i64| queue_page(&queue, 0, total);
    assert_eq!(
        app.get("/api/v1/livechat/queue", Some(&app.admin)).await,
        (StatusCode::OK, page(vec![&alice_line, &bob_line], 2))
    );
    assert_eq!(
        app.get("/api/v1/livechat/queue?sort={\"chats\":1}", Some(&app.admin)).await,
        (StatusCode::OK, page(vec![&bob_line, &alice_line], 2))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue?departmentId={sales}"), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![&alice_line], 1))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue?agentId={}", bob.user_id), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![&bob_line], 1))
    );
    assert_eq!(
        app.get("/api/v1/livechat/queue?count=1&offset=1", Some(&app.admin)).await,
        (StatusCode::OK, queue_page(&[&bob_line], 1, 2))
    );
    // Agents not available count only on request.
    let (status, _) = app.post("/api/v1/livechat/agent.status", Some(&bob), json!({"status": "not-available"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/livechat/queue", Some(&app.admin)).await, (StatusCode::OK, page(vec![&alice_line], 1)));
    assert_eq!(
        app.get("/api/v1/livechat/queue?includeOfflineAgents=true", Some(&app.admin)).await,
        (StatusCode::OK, page(vec![&alice_line, &bob_line], 2))
    );
    // An agent outside Sales sees only chats of no department and of its own.
    assert_eq!(
        app.get("/api/v1/livechat/queue?includeOfflineAgents=true", Some(&bob)).await,
        (StatusCode::OK, page(vec![&bob_line], 1))
    );
    assert_eq!(
        app.get("/api/v1/livechat/queue?agentId=nobody&departmentId=nowhere", Some(&app.admin)).await,
        (StatusCode::OK, page(vec![], 0))
    );

    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(app.get("/api/v1/livechat/queue", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get("/api/v1/livechat/queue", Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue?agentId={}", "x".repeat(257)), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/agentId must NOT have more than 256 characters"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/queue?includeOfflineAgents=maybe", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/includeOfflineAgents must be boolean"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/queue?agent=x", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    let (status, body) = app.get("/api/v1/livechat/queue?sort={\"secret\":1}", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
});

both_backends!(agent_next_names_the_agent_routing_would_pick, |app| {
    app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "v1"}})).await;
    let path = "/api/v1/livechat/agent.next/v1";
    // Under manual selection nobody is picked.
    let _alice = available_agent(&app, "alice").await;
    assert_eq!(app.get(path, None).await, (StatusCode::BAD_REQUEST, bare("agent-not-found")));
    set_setting(&app, "Livechat_Routing_Method", json!("Auto_Selection")).await;
    let (status, body) = app.get(path, None).await;
    let alice_id = body["agent"]["_id"].clone();
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"agent": {"_id": alice_id, "username": "alice", "name": "alice", "status": "offline",
                                          "emails": [{"address": "alice@example.com", "verified": false}]},
                                "success": true})
        )
    );
    // A department without available agents has nobody; unknown departments neither.
    let sales = department(&app, "Sales", &[]).await;
    assert_eq!(
        app.get(&format!("{path}?department={sales}"), None).await,
        (StatusCode::BAD_REQUEST, bare("agent-not-found"))
    );
    assert_eq!(
        app.get(&format!("{path}?department=nowhere"), None).await,
        (StatusCode::BAD_REQUEST, bare("agent-not-found"))
    );
    // With an open room, the answer is success alone.
    let (_, _room) = visitor_with_room(&app, "v2", None).await;
    assert_eq!(app.get("/api/v1/livechat/agent.next/v2", None).await, (StatusCode::OK, json!({"success": true})));

    assert_eq!(
        app.get("/api/v1/livechat/agent.next/unknown", None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-token"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/agent.next/{}", "x".repeat(257)), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("/token must NOT have more than 256 characters"))
    );
    assert_eq!(
        app.get(&format!("{path}?department={}", "x".repeat(257)), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("/department must NOT have more than 256 characters"))
    );
    assert_eq!(
        app.get(&format!("{path}?agent=x"), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
});

/// Opens `rooms` rooms at once, half through each base URL, with `agents` agents of
/// limit `limit` available; then checks every agent holds exactly its limit and each
/// assigned room has one agent, and that closing pulls queued inquiries in queue order.
async fn many_rooms_at_once(app: TestApp, bases: Vec<String>) {
    const AGENTS: usize = 5;
    const LIMIT: usize = 3;
    const ROOMS: usize = 200;
    let mut agents = Vec::new();
    for index in 0..AGENTS {
        let agent = available_agent(&app, &format!("agent{index}")).await;
        assert_eq!(
            save_info(&app, json!({"agentId": agent.user_id, "agentData": {"maxNumberSimultaneousChat": LIMIT}})).await,
            (StatusCode::OK, json!({"success": true}))
        );
        agents.push(agent);
    }
    for index in 0..ROOMS {
        let (status, body) =
            app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": format!("crowd{index}")}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    set_setting(&app, "Livechat_Routing_Method", json!("Auto_Selection")).await;
    let app = Arc::new(app);
    let opens = (0..ROOMS).map(|index| {
        let app = app.clone();
        let base = bases[index % bases.len()].clone();
        tokio::spawn(async move {
            let request = app.client.get(format!("{base}/api/v1/livechat/room?token=crowd{index}"));
            crate::harness::send(request).await
        })
    });
    for result in futures::future::join_all(opens).await {
        let (status, body) = result.unwrap();
        assert_eq!((status, body["newRoom"].clone()), (StatusCode::OK, json!(true)), "{body}");
    }

    let served =
        app.column_strings("SELECT id || ' ' || served_by FROM rooms WHERE open AND served_by IS NOT NULL").await;
    let mut per_agent: HashMap<String, usize> = HashMap::new();
    for line in &served {
        *per_agent.entry(line.split_once(' ').unwrap().1.to_owned()).or_default() += 1;
    }
    assert_eq!(served.len(), AGENTS * LIMIT, "{served:?}");
    assert!(agents.iter().all(|agent| per_agent.get(&agent.user_id) == Some(&LIMIT)), "{per_agent:?}");
    let queued =
        app.column_strings("SELECT id FROM rooms WHERE inquiry_status = 'queued' ORDER BY queued_at, ts, num_id").await;
    assert_eq!(queued.len(), ROOMS - AGENTS * LIMIT);
    const COUNTERS: &str = "SELECT username || ' ' || CAST(open_chats AS TEXT) FROM users \
         WHERE username LIKE 'agent%' ORDER BY username";
    let counters = app.column_strings(COUNTERS).await;
    assert_eq!(counters, (0..AGENTS).map(|index| format!("agent{index} {LIMIT}")).collect::<Vec<_>>());

    // Each close pulls the oldest queued inquiry to the agent who closed.
    let first = &agents[0];
    let first_rooms: Vec<String> = served
        .iter()
        .filter_map(|line| {
            line.split_once(' ').filter(|(_, agent)| *agent == first.user_id).map(|(room, _)| room.to_owned())
        })
        .collect();
    for (closed, next) in first_rooms.iter().zip(&queued) {
        close(&app, first, closed).await;
        assert_eq!(server_of(&app, next).await, json!(first.user_id));
    }
    let still_queued =
        app.column_strings("SELECT id FROM rooms WHERE inquiry_status = 'queued' ORDER BY queued_at, ts, num_id").await;
    assert_eq!(still_queued, queued[LIMIT..].to_vec());
}

both_backends!(many_rooms_at_once_fill_every_agent_to_its_limit_and_no_further, |app| {
    let base = app.base.clone();
    many_rooms_at_once(app, vec![base]).await;
});

both_backends!(two_instances_share_the_limits_exactly, |app| {
    let other = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (other_base, _stop) = app.start_another_server(other, AppSettings::default()).await;
    let base = app.base.clone();
    many_rooms_at_once(app, vec![base, other_base]).await;
});

both_backends!(concurrent_takes_of_one_agent_stop_at_its_limit, |app| {
    const INQUIRIES: usize = 20;
    const LIMIT: usize = 3;
    let alice = available_agent(&app, "alice").await;
    assert_eq!(
        save_info(&app, json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": LIMIT}})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let mut inquiry_ids = Vec::new();
    for index in 0..INQUIRIES {
        let (_, room_id) = visitor_with_room(&app, &format!("v{index}"), None).await;
        inquiry_ids.push(inquiry_of(&app, &room_id).await["_id"].clone());
    }
    let other = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (other_base, _stop) = app.start_another_server(other, AppSettings::default()).await;
    let app = Arc::new(app);
    let alice = Arc::new(alice);
    let takes = inquiry_ids.into_iter().enumerate().map(|(index, inquiry_id)| {
        let (app, alice) = (app.clone(), alice.clone());
        let base = if index % 2 == 0 { app.base.clone() } else { other_base.clone() };
        tokio::spawn(async move {
            let request = app
                .client
                .post(format!("{base}/api/v1/livechat/inquiries.take"))
                .header("X-User-Id", &alice.user_id)
                .header("X-Auth-Token", &alice.token)
                .json(&json!({"inquiryId": inquiry_id}));
            crate::harness::send(request).await
        })
    });
    let results: Vec<(StatusCode, Value)> =
        futures::future::join_all(takes).await.into_iter().map(Result::unwrap).collect();
    let taken = results.iter().filter(|result| **result == (StatusCode::OK, json!({"success": true}))).count();
    let refused = results
        .iter()
        .filter(|result| {
            **result == (StatusCode::BAD_REQUEST, coded("error-max-number-simultaneous-chats-reached", "Not allowed"))
        })
        .count();
    assert_eq!((taken, refused), (LIMIT, INQUIRIES - LIMIT), "{results:?}");
    let served = app.column_strings("SELECT served_by FROM rooms WHERE open AND served_by IS NOT NULL").await;
    assert_eq!(served, vec![alice.user_id.clone(); LIMIT]);
});

both_backends!(
    the_environment_names_the_default_method_until_the_setting_is_changed,
    settings = routed_by(RoutingMethod::LoadRotation),
    |app| {
        let path = "/api/v1/settings?query={\"_id\":\"Livechat_Routing_Method\"}&includeDefaults=true";
        let method = |value: &str| {
            json!({"settings": [{"_id": "Livechat_Routing_Method", "value": value, "packageValue": "Load_Rotation"}],
               "count": 1, "offset": 0, "total": 1, "success": true})
        };
        assert_eq!(app.get(path, Some(&app.admin)).await, (StatusCode::OK, method("Load_Rotation")));
        set_setting(&app, "Livechat_Routing_Method", json!("Manual_Selection")).await;
        assert_eq!(app.get(path, Some(&app.admin)).await, (StatusCode::OK, method("Manual_Selection")));
    }
);

both_backends!(
    a_lost_wake_up_is_caught_up_by_the_periodic_pass_of_any_instance,
    settings = routed_by(RoutingMethod::AutoSelection),
    |app| {
        let alice = available_agent(&app, "alice").await;
        assert_eq!(
            save_info(&app, json!({"agentId": alice.user_id, "agentData": {"maxNumberSimultaneousChat": 1}})).await,
            (StatusCode::OK, json!({"success": true}))
        );
        let (_, first) = visitor_with_room(&app, "v1", None).await;
        let (_, second) = visitor_with_room(&app, "v2", None).await;
        assert_eq!(
            (server_of(&app, &first).await, server_of(&app, &second).await),
            (json!(alice.user_id), Value::Null)
        );
        let other = open_store(&app.database_url, Duration::from_secs(10)).await;
        let (_other_base, _stop) = app.start_another_server(other, routed_by(RoutingMethod::AutoSelection)).await;

        // Another instance raises Alice's limit and stops before routing after it: the
        // change is in the database and no instance was told.
        app.execute("UPDATE users SET max_chats = 2 WHERE username = 'alice'").await;
        const SERVED: &str = "SELECT COALESCE(served_by, '-') FROM rooms ORDER BY num_id";
        let deadline = tokio::time::Instant::now() + PERIODIC_PASS_INTERVAL * 3;
        let expected = vec![alice.user_id.clone(), alice.user_id.clone()];
        while app.column_strings(SERVED).await != expected {
            assert!(tokio::time::Instant::now() < deadline, "still queued: {:?}", app.column_strings(SERVED).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            app.column_strings("SELECT username || '=' || CAST(open_chats AS TEXT) FROM users WHERE open_chats <> 0")
                .await,
            vec!["alice=2".to_owned()]
        );
    }
);
