//! The room routes agents use while serving: room.join, room.saveInfo, room.onHold,
//! room.resumeOnHold, and the closing-tags rule of room.closeByUser; who may use each,
//! every refusal, and the races that matter (on-hold against a visitor's message and
//! against a close, two saves at once).

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_messages::{room_of, send, served_room, set_setting};
use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of};
use crate::priorities::priority_id;
use crate::sla_breaches::create_sla;

fn done() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"success": true}))
}

fn refused(error: &str) -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, bare(error))
}

async fn join(app: &TestApp, session: Option<&Session>, room_id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/livechat/room.join?roomId={room_id}"), session).await
}

async fn on_hold(app: &TestApp, session: &Session, room_id: &str) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/room.onHold", Some(session), json!({"roomId": room_id})).await
}

async fn resume(app: &TestApp, session: &Session, room_id: &str) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/room.resumeOnHold", Some(session), json!({"roomId": room_id})).await
}

async fn close(app: &TestApp, session: &Session, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/room.closeByUser", Some(session), body).await
}

async fn save_info(app: &TestApp, session: Option<&Session>, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/room.saveInfo", session, body).await
}

/// The ids of the rooms `livechat/rooms?<query>` lists to the admin.
async fn listed(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/v1/livechat/rooms?{query}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"].as_array().unwrap().iter().map(|room| room["_id"].clone()).collect()
}

/// One room as `livechat/rooms` shows it to the admin.
async fn listed_room(app: &TestApp, room_id: &str) -> Value {
    let (status, body) = app.get("/api/v1/livechat/rooms?count=100", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"].as_array().unwrap().iter().find(|room| room["_id"] == json!(room_id)).unwrap().clone()
}

/// The system messages of every room, oldest first: `kind|msg|extra`.
async fn system_messages(app: &TestApp) -> Vec<String> {
    app.column_strings(
        "SELECT kind || '|' || author_username || '|' || msg || '|' || COALESCE(extra, '') FROM messages \
         WHERE kind IS NOT NULL ORDER BY num_id",
    )
    .await
}

/// The open chats each agent is counted for, by username.
async fn open_chats(app: &TestApp) -> Vec<String> {
    app.column_strings(
        "SELECT username || '=' || CAST(open_chats AS TEXT) FROM users WHERE open_chats <> 0 ORDER BY username",
    )
    .await
}

/// Grants `permission` to exactly these roles.
async fn grant(app: &TestApp, permission: &str, roles: &[&str]) {
    let (status, body) = app
        .post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": permission, "roles": roles}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A served room whose last message is the agent's, so it may be put on hold.
async fn answered_room(app: &TestApp, agent: &Session, token: &str, department: Option<&str>) -> String {
    let room_id = served_room(app, agent, token, department).await;
    let (status, body) = send(app, agent, &room_id, &format!("{token}-reply"), "One moment").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    room_id
}

both_backends!(joining_a_room_is_recorded_once_and_counts_as_being_in_it, |app| {
    let agent = available_agent(&app, "agent").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    // Managers close only rooms they are in.
    grant(&app, "close-others-livechat-room", &["admin"]).await;
    assert_eq!(close(&app, &manager, json!({"rid": room_id})).await, refused("error-not-authorized"));

    assert_eq!(join(&app, Some(&manager), &room_id).await, done());
    assert_eq!(join(&app, Some(&manager), &room_id).await, done());
    // The serving agent is in the room already.
    assert_eq!(join(&app, Some(&agent), &room_id).await, done());
    assert_eq!(system_messages(&app).await, vec!["uj|manager|manager|".to_owned()]);
    assert_eq!(app.column_strings("SELECT user_id FROM room_members").await, vec![manager.user_id.clone()]);

    assert_eq!(close(&app, &manager, json!({"rid": room_id})).await, done());
    // Closing empties the room.
    assert_eq!(app.column_strings("SELECT user_id FROM room_members").await, Vec::<String>::new());
    assert_eq!(join(&app, Some(&manager), &room_id).await, refused("room-closed"));
});

both_backends!(joining_is_refused_as_rocket_chat_refuses_it, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let room_id = served_room(&app, &agent, "tok-1", Some(&sales)).await;

    assert_eq!(join(&app, None, &room_id).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(join(&app, Some(&plain), &room_id).await, (StatusCode::FORBIDDEN, no_permission()));
    // An agent who neither serves the room nor may see all rooms.
    assert_eq!(join(&app, Some(&other), &room_id).await, refused("error-not-allowed"));
    assert_eq!(join(&app, Some(&other), "no-such-room").await, refused("error-invalid-room"));
    assert_eq!(
        app.get("/api/v1/livechat/room.join", Some(&other)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'roomId'"))
    );
    assert_eq!(
        join(&app, Some(&other), &"r".repeat(257)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must NOT have more than 256 characters"))
    );
    assert_eq!(system_messages(&app).await, Vec::<String>::new());
});

both_backends!(saving_room_info_keeps_topic_tags_and_the_visitors_details, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let other_room = served_room(&app, &agent, "tok-2", None).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();
    let body = json!({
        "guestData": {"_id": visitor_id, "name": " Ann Lee ", "email": "ann@example.com", "phone": "+1 (555) 010-20",
                      "livechatData": {}},
        "roomData": {"_id": room_id, "topic": " Billing ", "tags": ["vip", "billing"], "livechatData": {}},
    });
    assert_eq!(save_info(&app, Some(&agent), body).await, done());

    let room = listed_room(&app, &room_id).await;
    assert_eq!((room["topic"].clone(), room["tags"].clone()), (json!("Billing"), json!(["vip", "billing"])));
    let (status, visitor) = app.get("/api/v1/livechat/visitor/tok-1", None).await;
    assert_eq!(status, StatusCode::OK, "{visitor}");
    assert_eq!(visitor["visitor"]["name"], json!("Ann Lee"));
    assert_eq!(
        app.column_strings("SELECT email || ' ' || phone || ' ' || phone_key FROM visitors WHERE name = 'Ann Lee'")
            .await,
        vec!["ann@example.com +1 (555) 010-20 +155501020".to_owned()]
    );
    // The tags filter of the room list.
    assert_eq!(listed(&app, "tags[]=billing").await, vec![json!(room_id)]);
    assert_eq!(listed(&app, "tags=vip&tags=other").await, vec![json!(room_id)]);
    assert_eq!(listed(&app, "tags[]=other").await, Vec::<Value>::new());
    assert_eq!(listed(&app, "open=true").await.len(), 2);

    // A blank topic removes it; absent tags remove them; blank guest fields keep theirs.
    let body = json!({"guestData": {"_id": visitor_id, "name": "  "}, "roomData": {"_id": room_id, "topic": " "}});
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    let room = listed_room(&app, &room_id).await;
    assert_eq!((room.get("topic"), room.get("tags")), (None, None));
    assert_eq!(app.get("/api/v1/livechat/visitor/tok-1", None).await.1["visitor"]["name"], json!("Ann Lee"));

    // Another visitor may not take the number (spelled differently, the same key).
    let other_visitor = room_of(&app, "tok-2", &other_room).await["v"]["_id"].as_str().unwrap().to_owned();
    let body = json!({"guestData": {"_id": other_visitor, "phone": "+1 555 01020", "name": "Bob"},
                      "roomData": {"_id": other_room, "topic": "Kept?"}});
    assert_eq!(
        save_info(&app, Some(&agent), body).await,
        (StatusCode::BAD_REQUEST, coded("error-phone-already-in-use", "Another visitor has this phone number"))
    );
    // Nothing of the refused save stays.
    assert_eq!(listed_room(&app, &other_room).await.get("topic"), None);
    assert_eq!(app.get("/api/v1/livechat/visitor/tok-2", None).await.1["visitor"]["name"], json!("Visitor tok-2"));

    // A closed room is edited as an open one.
    assert_eq!(close(&app, &agent, json!({"rid": room_id})).await, done());
    let body = json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": room_id, "tags": ["after"]}});
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(listed_room(&app, &room_id).await["tags"], json!(["after"]));
});

both_backends!(saving_room_info_is_refused_as_rocket_chat_refuses_it, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    department(&app, "Support", &[&monitor]).await;
    let room_id = served_room(&app, &agent, "tok-1", Some(&sales)).await;
    let other_room = served_room(&app, &agent, "tok-2", Some(&sales)).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();
    let valid = json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": room_id, "topic": "t"}});
    let unauthorized = (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}));

    assert_eq!(save_info(&app, None, valid.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(save_info(&app, Some(&plain), valid.clone()).await, (StatusCode::FORBIDDEN, no_permission()));
    // Not serving the room, without save-others-livechat-room-info.
    assert_eq!(save_info(&app, Some(&other), valid.clone()).await, unauthorized.clone());
    // A monitor may save others' rooms only within its departments.
    assert_eq!(save_info(&app, Some(&monitor), valid.clone()).await, unauthorized);
    let missing =
        |field: &str| (StatusCode::BAD_REQUEST, invalid_params(&format!("must have required property '{field}'")));
    assert_eq!(save_info(&app, Some(&agent), json!({"roomData": {"_id": room_id}})).await, missing("guestData"));
    assert_eq!(save_info(&app, Some(&agent), json!({"guestData": {"_id": visitor_id}})).await, missing("roomData"));
    assert_eq!(
        save_info(&app, Some(&agent), json!({"guestData": {"_id": visitor_id}, "roomData": "room"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData must be object"))
    );
    assert_eq!(
        save_info(
            &app,
            Some(&agent),
            json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": room_id, "tags": "vip"}})
        )
        .await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData/tags must be array"))
    );
    assert_eq!(
        save_info(
            &app,
            Some(&agent),
            json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": room_id, "topic": "t".repeat(1025)}})
        )
        .await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData/topic must NOT have more than 1024 characters"))
    );
    assert_eq!(
        app.send_raw_json(reqwest::Method::POST, "/api/v1/livechat/room.saveInfo", &agent, "{").await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-json", "Body is not valid JSON: EOF while parsing an object at line 1 column 1")
        )
    );
    assert_eq!(
        save_info(&app, Some(&agent), json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": "nope"}})).await,
        refused("error-invalid-room")
    );
    assert_eq!(
        save_info(&app, Some(&agent), json!({"guestData": {"_id": "nobody"}, "roomData": {"_id": room_id}})).await,
        refused("error-invalid-visitor")
    );
    // The visitor of another room.
    assert_eq!(
        save_info(&app, Some(&agent), json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": other_room}})).await,
        refused("invalid-room-visitor")
    );
    assert_eq!(listed_room(&app, &room_id).await.get("topic"), None);
});

both_backends!(saving_room_info_sets_and_removes_priority_and_sla_with_their_history, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();
    let high = priority_id(&app, 2).await;
    let sla = create_sla(&app, "Gold", 5).await;
    let with = |room_data: Value| json!({"guestData": {"_id": visitor_id}, "roomData": room_data});
    const HISTORY: &str = "SELECT kind || '|' || author_username || '|' || extra FROM messages \
         WHERE kind LIKE 'omnichannel_%_change_history' ORDER BY num_id";
    const LEVELS: &str = "SELECT COALESCE(priority_id, '-') || ' ' || CAST(priority_weight AS TEXT) || ' ' \
         || COALESCE(sla_id, '-') || ' ' || CAST(estimated_waiting_time_queue AS TEXT) FROM rooms";

    let body = with(json!({"_id": room_id, "priorityId": high, "slaId": sla}));
    assert_eq!(save_info(&app, Some(&agent), body.clone()).await, done());
    assert_eq!(app.column_strings(LEVELS).await, vec![format!("{high} 2 {sla} 5")]);
    let room = listed_room(&app, &room_id).await;
    assert_eq!((&room["priorityId"], &room["priorityWeight"], &room["slaId"]), (&json!(high), &json!(2), &json!(sla)));
    let stored = app.column_strings(HISTORY).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    let priority_data: Value = serde_json::from_str(stored[0].split_once("|agent|").unwrap().1).unwrap();
    assert_eq!(priority_data["priorityData"]["definedBy"], json!({"_id": agent.user_id, "username": "agent"}));
    assert_eq!(priority_data["priorityData"]["priority"]["_id"], json!(high));
    assert!(stored[0].starts_with("omnichannel_priority_change_history|agent|"), "{stored:?}");
    let sla_data: Value = serde_json::from_str(stored[1].split_once("|agent|").unwrap().1).unwrap();
    assert_eq!(
        sla_data,
        json!({"slaData": {"definedBy": {"_id": agent.user_id, "username": "agent"},
               "sla": {"_id": sla, "name": "Gold", "description": "", "dueTimeInMinutes": 5}}})
    );

    // The same values again change nothing and write no history.
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(app.column_strings(HISTORY).await.len(), 2);

    // Empty removes each, with a history message naming no level or policy.
    let body = with(json!({"_id": room_id, "priorityId": "", "slaId": ""}));
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(app.column_strings(LEVELS).await, vec!["- 99 - 9999999".to_owned()]);
    let stored = app.column_strings(HISTORY).await;
    let by = json!({"_id": agent.user_id, "username": "agent"});
    assert_eq!(
        stored[2..],
        [
            format!("omnichannel_priority_change_history|agent|{}", json!({"priorityData": {"definedBy": by}})),
            format!("omnichannel_sla_change_history|agent|{}", json!({"slaData": {"definedBy": by}})),
        ]
    );

    // An unknown level or policy saves nothing, not even the topic.
    let body = with(json!({"_id": room_id, "topic": "Kept?", "priorityId": "nope"}));
    assert_eq!(save_info(&app, Some(&agent), body).await, refused("error-invalid-priority"));
    let body = with(json!({"_id": room_id, "topic": "Kept?", "priorityId": high, "slaId": "nope"}));
    assert_eq!(save_info(&app, Some(&agent), body).await, refused("SLA not found with id: nope"));
    assert_eq!(app.column_strings(LEVELS).await, vec!["- 99 - 9999999".to_owned()]);
    assert_eq!(listed_room(&app, &room_id).await.get("topic"), None);
    assert_eq!(app.column_strings(HISTORY).await.len(), 4);
    // An unknown room is refused first.
    let body = json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": "gone", "priorityId": "nope"}});
    assert_eq!(save_info(&app, Some(&agent), body).await, refused("error-invalid-room"));
    let body = with(json!({"_id": room_id, "slaId": "x".repeat(257)}));
    assert_eq!(
        save_info(&app, Some(&agent), body).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData/slaId must NOT have more than 256 characters"))
    );
    let body = with(json!({"_id": room_id, "priorityId": 2}));
    assert_eq!(
        save_info(&app, Some(&agent), body).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData/priorityId must be string"))
    );
});

/// Defines a custom field of `scope` with an optional regexp.
async fn define_field(app: &TestApp, field: &str, label: &str, scope: &str, regexp: Option<&str>) {
    let mut data = json!({"field": field, "label": label, "scope": scope, "visibility": "visible"});
    if let Some(regexp) = regexp {
        data["regexp"] = json!(regexp);
    }
    let (status, body) = app
        .post(
            "/api/v1/livechat/custom-fields.save",
            Some(&app.admin),
            json!({"customFieldId": null, "customFieldData": data}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The visitor's `livechatData` as the widget reads it.
async fn visitor_fields(app: &TestApp, token: &str) -> Option<Value> {
    let (status, body) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["visitor"].get("livechatData").cloned()
}

both_backends!(saving_room_info_keeps_the_custom_fields_of_room_and_visitor, |app| {
    define_field(&app, "order", "Order number", "room", Some("^[0-9]+$")).await;
    define_field(&app, "note", "Note", "room", None).await;
    define_field(&app, "plan", "Plan", "visitor", Some("^(gold|silver)$")).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();
    // Values are trimmed; keys of no field of the scope are left out.
    let body = json!({
        "guestData": {"_id": visitor_id, "livechatData": {"plan": " gold ", "order": "7"}},
        "roomData": {"_id": room_id, "livechatData": {"order": " 42 ", "note": "Call back", "unknown": "x"}},
    });
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(listed_room(&app, &room_id).await["livechatData"], json!({"note": "Call back", "order": "42"}));
    assert_eq!(visitor_fields(&app, "tok-1").await, Some(json!({"plan": "gold"})));

    // A blank value removes its field; the others stay; the visitor's stay untouched.
    let body = json!({
        "guestData": {"_id": visitor_id},
        "roomData": {"_id": room_id, "livechatData": {"note": " ", "order": "43"}},
    });
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(listed_room(&app, &room_id).await["livechatData"], json!({"order": "43"}));
    assert_eq!(visitor_fields(&app, "tok-1").await, Some(json!({"plan": "gold"})));
    let body = json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": room_id, "livechatData": {"order": ""}}});
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(listed_room(&app, &room_id).await.get("livechatData"), None);
});

both_backends!(saving_custom_fields_is_refused_as_rocket_chat_refuses_it, |app| {
    define_field(&app, "order", "Order number", "room", Some("^[0-9]+$")).await;
    define_field(&app, "plan", "Plan", "visitor", Some("^(gold|silver)$")).await;
    let agent = available_agent(&app, "agent").await;
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    department(&app, "Support", &[&monitor]).await;
    let room_id = served_room(&app, &agent, "tok-1", Some(&sales)).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();
    let with = |room_fields: Value, guest_fields: Value| {
        json!({"guestData": {"_id": visitor_id, "name": "Changed", "livechatData": guest_fields},
               "roomData": {"_id": room_id, "topic": "Changed", "livechatData": room_fields}})
    };

    assert_eq!(
        save_info(&app, Some(&agent), with(json!({"order": "4x2"}), json!({}))).await,
        refused("Invalid value for Order number field")
    );
    assert_eq!(
        save_info(&app, Some(&agent), with(json!({"order": "42"}), json!({"plan": "bronze"}))).await,
        refused("Invalid value for Plan field")
    );
    assert_eq!(
        save_info(&app, Some(&agent), with(json!({"order": 42}), json!({}))).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData/livechatData/order must be string"))
    );
    assert_eq!(
        save_info(&app, Some(&agent), with(json!("42"), json!({}))).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomData/livechatData must be object"))
    );
    assert_eq!(
        save_info(&app, Some(&agent), with(json!({}), json!({"plan": ["gold"]}))).await,
        (StatusCode::BAD_REQUEST, invalid_params("/guestData/livechatData/plan must be string"))
    );
    assert_eq!(
        save_info(&app, Some(&agent), with(json!({"order": "1".repeat(5001)}), json!({}))).await,
        (
            StatusCode::BAD_REQUEST,
            invalid_params("/roomData/livechatData/order must NOT have more than 5000 characters")
        )
    );
    // The room's errors come before the values'.
    let unknown_room = json!({"guestData": {"_id": visitor_id},
                              "roomData": {"_id": "nope", "livechatData": {"order": "x"}}});
    assert_eq!(save_info(&app, Some(&agent), unknown_room).await, refused("error-invalid-room"));
    // A monitor bound to another department.
    assert_eq!(
        save_info(&app, Some(&monitor), with(json!({"order": "x"}), json!({}))).await,
        (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    );
    assert_eq!(
        save_info(&app, Some(&monitor), with(json!({"order": "42"}), json!({}))).await,
        (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    );
    // Nothing of the refused saves stays.
    let room = listed_room(&app, &room_id).await;
    assert_eq!((room.get("topic"), room.get("livechatData")), (None, None));
    assert_eq!(visitor_fields(&app, "tok-1").await, None);
    assert_eq!(app.get("/api/v1/livechat/visitor/tok-1", None).await.1["visitor"]["name"], json!("Visitor tok-1"));
});

both_backends!(two_saves_at_once_leave_one_of_them_whole, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();
    let app = Arc::new(app);
    let agent = Arc::new(agent);
    let saves = ["a", "b"].map(|side| {
        let (app, agent, room_id, visitor_id) = (app.clone(), agent.clone(), room_id.clone(), visitor_id.clone());
        tokio::spawn(async move {
            let body = json!({"guestData": {"_id": visitor_id, "name": format!("name-{side}")},
                              "roomData": {"_id": room_id, "topic": format!("topic-{side}"), "tags": [format!("tag-{side}")]}});
            save_info(&app, Some(&agent), body).await
        })
    });
    for save in saves {
        assert_eq!(save.await.unwrap(), done());
    }
    let room = listed_room(&app, &room_id).await;
    let side = room["topic"].as_str().unwrap().trim_start_matches("topic-").to_owned();
    assert!(side == "a" || side == "b", "{room}");
    assert_eq!(room["tags"], json!([format!("tag-{side}")]));
});

both_backends!(a_chat_goes_on_hold_and_back_in_both_faces, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    // The visitor wrote last.
    assert_eq!(
        on_hold(&app, &agent, &room_id).await,
        refused("error-contact-sent-last-message-so-cannot-place-on-hold")
    );
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "One moment").await.0, StatusCode::OK);
    assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned()]);

    assert_eq!(on_hold(&app, &agent, &room_id).await, done());
    assert_eq!(on_hold(&app, &agent, &room_id).await, refused("error-room-is-already-on-hold"));
    assert_eq!(room_of(&app, "tok-1", &room_id).await["onHold"], json!(true));
    assert_eq!(listed(&app, "onhold=true").await, vec![json!(room_id)]);
    assert_eq!(app.column_strings("SELECT chat_status FROM rooms").await, vec!["on hold".to_owned()]);
    // A chat on hold does not count against the agent's limit.
    assert_eq!(open_chats(&app).await, Vec::<String>::new());

    assert_eq!(resume(&app, &agent, &room_id).await, done());
    assert_eq!(resume(&app, &agent, &room_id).await, refused("error-room-not-on-hold"));
    assert_eq!(room_of(&app, "tok-1", &room_id).await.get("onHold"), None);
    assert_eq!(listed(&app, "onhold=true").await, Vec::<Value>::new());
    assert_eq!(app.column_strings("SELECT chat_status FROM rooms").await, vec!["opened".to_owned()]);
    assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned()]);
    assert_eq!(
        system_messages(&app).await,
        vec![
            "omnichannel_placed_chat_on_hold|agent||{\"comment\":\"The chat was manually placed On Hold by agent\"}"
                .to_owned(),
            "omnichannel_on_hold_chat_resumed|agent||{\"comment\":\"The chat was manually resumed from On Hold by agent\"}"
                .to_owned(),
        ]
    );

    // HelpCrunch's "on hold" is the same state.
    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "helpcrunch"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();
    let chat_id: i64 = app.column_strings("SELECT CAST(num_id AS TEXT) FROM rooms").await[0].parse().unwrap();
    let set_status = |status: &'static str| {
        let request = app
            .client
            .put(app.url("/v1/chats/status"))
            .header("Authorization", format!("Bearer {key}"))
            .json(&json!({"id": chat_id, "status": status}));
        crate::harness::send(request)
    };
    assert_eq!(set_status("on hold").await.0, StatusCode::OK);
    assert_eq!(room_of(&app, "tok-1", &room_id).await["onHold"], json!(true));
    assert_eq!(open_chats(&app).await, Vec::<String>::new());
    assert_eq!(resume(&app, &agent, &room_id).await, done());
    assert_eq!(on_hold(&app, &agent, &room_id).await, done());
    assert_eq!(set_status("opened").await.0, StatusCode::OK);
    assert_eq!(resume(&app, &agent, &room_id).await, refused("error-room-not-on-hold"));

    // The visitor's message resumes a chat on hold.
    assert_eq!(on_hold(&app, &agent, &room_id).await, done());
    let (status, body) = app
        .post("/api/v1/livechat/message", None, json!({"token": "tok-1", "rid": room_id, "msg": "Still there?"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(room_of(&app, "tok-1", &room_id).await.get("onHold"), None);
    assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned()]);
});

/// Every message of every room, oldest first: `author|kind|msg|extra`.
async fn every_message(app: &TestApp) -> Vec<String> {
    app.column_strings(
        "SELECT author_username || '|' || COALESCE(kind, '') || '|' || msg || '|' || COALESCE(extra, '') \
         FROM messages ORDER BY num_id",
    )
    .await
}

/// Each room's inquiry, chat status and agent, oldest room first.
async fn room_states(app: &TestApp) -> Vec<String> {
    app.column_strings(
        "SELECT COALESCE(inquiry_status, '-') || ' ' || chat_status || ' ' || COALESCE(served_by, '-') \
         FROM rooms ORDER BY num_id",
    )
    .await
}

async fn visitor_writes(app: &TestApp, token: &str, room_id: &str, id: &str) {
    let body = json!({"token": token, "rid": room_id, "msg": "Still there?", "_id": id});
    let (status, body) = app.post("/api/v1/livechat/message", None, body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

const RESUMED_BY_VISITOR: &str = "rocket.cat|omnichannel_on_hold_chat_resumed||{\"comment\":\"The chat was \
     automatically resumed from On Hold upon receiving a new message from Visitor tok-1\"}";

both_backends!(a_visitors_message_resumes_the_chat_with_rocket_chats_note, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = answered_room(&app, &agent, "tok-1", None).await;
    assert_eq!(on_hold(&app, &agent, &room_id).await, done());

    visitor_writes(&app, "tok-1", &room_id, "again-1").await;
    assert_eq!(room_of(&app, "tok-1", &room_id).await.get("onHold"), None);
    assert_eq!(room_states(&app).await, vec![format!("taken opened {}", agent.user_id)]);
    assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned()]);
    assert_eq!(
        every_message(&app).await,
        vec![
            "guest-1||Hello|".to_owned(),
            "agent||One moment|".to_owned(),
            "agent|omnichannel_placed_chat_on_hold||{\"comment\":\"The chat was manually placed On Hold by agent\"}"
                .to_owned(),
            "guest-1||Still there?|".to_owned(),
            RESUMED_BY_VISITOR.to_owned(),
        ]
    );
    // A chat not on hold gets no note.
    visitor_writes(&app, "tok-1", &room_id, "again-2").await;
    assert_eq!(every_message(&app).await.len(), 6);
});

both_backends!(a_visitors_message_queues_a_chat_on_hold_whose_agent_is_at_its_limit, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    set_setting(&app, "Livechat_maximum_chats_per_agent", json!(1)).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = answered_room(&app, &agent, "tok-1", None).await;
    assert_eq!(on_hold(&app, &agent, &room_id).await, done());
    // The chat on hold does not count: the agent takes another, up to its limit.
    answered_room(&app, &agent, "tok-2", None).await;

    visitor_writes(&app, "tok-1", &room_id, "again-1").await;
    // Back in the queue without an agent (the tests route by hand), resumed.
    assert_eq!(room_states(&app).await, vec!["queued new -".to_owned(), format!("taken opened {}", agent.user_id)]);
    assert_eq!(room_of(&app, "tok-1", &room_id).await.get("onHold"), None);
    assert_eq!(inquiry_of(&app, &room_id).await["status"], json!("queued"));
    assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned()]);
    assert_eq!(every_message(&app).await.last().unwrap(), RESUMED_BY_VISITOR);
});

both_backends!(a_visitors_message_at_the_limit_goes_to_a_free_agent_under_auto_selection, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    set_setting(&app, "Livechat_maximum_chats_per_agent", json!(1)).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = answered_room(&app, &agent, "tok-1", None).await;
    assert_eq!(on_hold(&app, &agent, &room_id).await, done());
    answered_room(&app, &agent, "tok-2", None).await;
    set_setting(&app, "Livechat_Routing_Method", json!("Auto_Selection")).await;
    let other = available_agent(&app, "other").await;

    visitor_writes(&app, "tok-1", &room_id, "again-1").await;
    assert_eq!(
        room_states(&app).await,
        vec![format!("taken opened {}", other.user_id), format!("taken opened {}", agent.user_id)]
    );
    assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned(), "other=1".to_owned()]);
});

both_backends!(a_visitors_message_racing_a_manual_resume_resumes_once, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let app = Arc::new(app);
    let agent = Arc::new(agent);
    for round in 0..6 {
        let token = format!("tok-{round}");
        let room_id = answered_room(&app, &agent, &token, None).await;
        assert_eq!(on_hold(&app, &agent, &room_id).await, done());
        let resumed = tokio::spawn({
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            async move { resume(&app, &agent, &room_id).await }
        });
        let message = tokio::spawn({
            let (app, room_id, token) = (app.clone(), room_id.clone(), token.clone());
            async move {
                app.post("/api/v1/livechat/message", None, json!({"token": token, "rid": room_id, "msg": "Hi?"})).await
            }
        });
        let resumed = resumed.await.unwrap();
        assert_eq!(message.await.unwrap().0, StatusCode::OK);
        assert!(resumed == done() || resumed == refused("error-room-not-on-hold"), "{resumed:?}");
        assert_eq!(open_chats(&app).await, vec!["agent=1".to_owned()]);
        assert_eq!(close(&app, &agent, json!({"rid": room_id})).await, done());
    }
    // One resume note a round, by whichever came first.
    let resumes = system_messages(&app).await;
    assert_eq!(resumes.iter().filter(|note| note.starts_with("omnichannel_on_hold_chat_resumed|")).count(), 6);
});

both_backends!(putting_on_hold_is_refused_as_rocket_chat_refuses_it, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    department(&app, "Support", &[&monitor]).await;
    let room_id = answered_room(&app, &agent, "tok-1", Some(&sales)).await;

    // The setting is off by default, as in Rocket.Chat.
    assert_eq!(
        on_hold(&app, &agent, &room_id).await,
        (StatusCode::BAD_REQUEST, coded("error-not-allowed", "Placing chats on hold is disabled"))
    );
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let (status, body) = app.post("/api/v1/livechat/room.onHold", None, json!({"roomId": room_id})).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(on_hold(&app, &plain, &room_id).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(on_hold(&app, &other, &room_id).await, refused("Not_authorized"));
    // A monitor holds on-hold-others-livechat-room, but only within its departments.
    assert_eq!(on_hold(&app, &monitor, &room_id).await, refused("Not_authorized"));
    assert_eq!(on_hold(&app, &agent, "nope").await, refused("error-invalid-room"));
    assert_eq!(on_hold(&app, &agent, "   ").await, refused("error-invalid-room"));
    assert_eq!(
        app.post("/api/v1/livechat/room.onHold", Some(&agent), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'roomId'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.onHold", Some(&agent), json!({"roomId": 7})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must be string"))
    );
    assert_eq!(
        on_hold(&app, &agent, &"r".repeat(257)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must NOT have more than 256 characters"))
    );
    // A queued room has no agent to hold it for (the admin may act on others' rooms).
    let (_, queued) = crate::lifecycle::visitor_with_room(&app, "tok-2", None).await;
    assert_eq!(on_hold(&app, &app.admin, &queued).await, refused("error-unserved-rooms-cannot-be-placed-onhold"));
    assert_eq!(close(&app, &agent, json!({"rid": room_id})).await, done());
    assert_eq!(on_hold(&app, &agent, &room_id).await, refused("error-room-already-closed"));
    assert_eq!(system_messages(&app).await.len(), 1);
});

both_backends!(resuming_is_refused_as_rocket_chat_refuses_it, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let room_id = answered_room(&app, &agent, "tok-1", None).await;
    assert_eq!(on_hold(&app, &agent, &room_id).await, done());

    assert_eq!(resume(&app, &plain, &room_id).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(resume(&app, &other, &room_id).await, refused("Not_authorized"));
    assert_eq!(resume(&app, &agent, "nope").await, refused("error-invalid-room"));
    assert_eq!(resume(&app, &agent, " ").await, refused("invalid-param"));
    assert_eq!(
        app.post("/api/v1/livechat/room.resumeOnHold", Some(&agent), json!({"roomId": room_id, "extra": 1})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );

    // Back from hold only under the agent's chat limit.
    set_setting(&app, "Livechat_maximum_chats_per_agent", json!(1)).await;
    let second = answered_room(&app, &agent, "tok-2", None).await;
    assert_eq!(resume(&app, &agent, &room_id).await, refused("error-max-number-simultaneous-chats-reached"));
    assert_eq!(close(&app, &agent, json!({"rid": second})).await, done());
    assert_eq!(resume(&app, &agent, &room_id).await, done());

    assert_eq!(on_hold(&app, &agent, &room_id).await, done());
    assert_eq!(close(&app, &agent, json!({"rid": room_id})).await, done());
    assert_eq!(resume(&app, &agent, &room_id).await, refused("This_conversation_is_already_closed"));
    assert_eq!(open_chats(&app).await, Vec::<String>::new());
});

both_backends!(on_hold_racing_the_visitors_message_never_holds_a_waiting_visitor, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let app = Arc::new(app);
    let agent = Arc::new(agent);
    for round in 0..6 {
        let token = format!("tok-{round}");
        let room_id = answered_room(&app, &agent, &token, None).await;
        let hold = tokio::spawn({
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            async move { on_hold(&app, &agent, &room_id).await }
        });
        let message = tokio::spawn({
            let (app, room_id) = (app.clone(), room_id.clone());
            async move {
                app.post("/api/v1/livechat/message", None, json!({"token": token, "rid": room_id, "msg": "Hi?"})).await
            }
        });
        let held = hold.await.unwrap();
        assert_eq!(message.await.unwrap().0, StatusCode::OK);
        assert!(
            held == done() || held == refused("error-contact-sent-last-message-so-cannot-place-on-hold"),
            "{held:?}"
        );
        // Either way the visitor, who wrote last, is not left on hold.
        assert_eq!(room_of(&app, &format!("tok-{round}"), &room_id).await.get("onHold"), None);
        assert_eq!(close(&app, &agent, json!({"rid": room_id})).await, done());
    }
    assert_eq!(open_chats(&app).await, Vec::<String>::new());
});

both_backends!(on_hold_racing_a_close_leaves_a_closed_room_and_no_count, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let app = Arc::new(app);
    let agent = Arc::new(agent);
    for round in 0..6 {
        let room_id = answered_room(&app, &agent, &format!("tok-{round}"), None).await;
        let hold = tokio::spawn({
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            async move { on_hold(&app, &agent, &room_id).await }
        });
        let closed = tokio::spawn({
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            async move { close(&app, &agent, json!({"rid": room_id})).await }
        });
        let held = hold.await.unwrap();
        assert_eq!(closed.await.unwrap(), done());
        assert!(held == done() || held == refused("error-room-already-closed"), "{held:?}");
        assert_eq!(open_chats(&app).await, Vec::<String>::new());
    }
    assert_eq!(app.column_strings("SELECT DISTINCT chat_status FROM rooms").await, vec!["closed".to_owned()]);
});

both_backends!(a_department_asking_for_tags_gets_them_before_closing, |app| {
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let (status, body) = app
        .put(
            &format!("/api/v1/livechat/department/{sales}"),
            Some(&app.admin),
            json!({"department": {"name": "Sales", "enabled": true, "email": "desk@example.com",
                                  "showOnRegistration": true, "showOnOfflineForm": true,
                                  "requestTagBeforeClosingChat": true, "chatClosingTags": ["won", "lost"]},
                   "agents": [{"agentId": agent.user_id}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = served_room(&app, &agent, "tok-1", Some(&sales)).await;
    let second = served_room(&app, &agent, "tok-2", Some(&sales)).await;
    let third = served_room(&app, &agent, "tok-3", None).await;
    let tags_needed = (
        StatusCode::BAD_REQUEST,
        coded("error-tags-must-be-assigned-before-closing-chat", "Tag(s) must be assigned before closing the chat"),
    );

    assert_eq!(close(&app, &agent, json!({"rid": first})).await, tags_needed.clone());
    assert_eq!(close(&app, &agent, json!({"rid": first, "tags": []})).await, tags_needed);
    assert_eq!(
        close(&app, &agent, json!({"rid": first, "tags": "won"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/tags must be array"))
    );
    assert_eq!(close(&app, &agent, json!({"rid": first, "tags": ["lost", "late"]})).await, done());
    assert_eq!(listed_room(&app, &first).await["tags"], json!(["lost", "late", "won"]));

    // Tags the room was given before count.
    let visitor_id = room_of(&app, "tok-2", &second).await["v"]["_id"].as_str().unwrap().to_owned();
    let body = json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": second, "tags": ["vip"]}});
    assert_eq!(save_info(&app, Some(&agent), body).await, done());
    assert_eq!(close(&app, &agent, json!({"rid": second})).await, done());
    assert_eq!(listed_room(&app, &second).await["tags"], json!(["vip", "won", "lost"]));

    // A room of no department keeps the tags given, and needs none.
    assert_eq!(close(&app, &agent, json!({"rid": third})).await, done());
    assert_eq!(listed_room(&app, &third).await.get("tags"), None);
    assert_eq!(listed(&app, "tags[]=won").await.len(), 2);
});

both_backends!(supervisors_and_monitors_of_the_department_work_others_rooms, |app| {
    set_setting(&app, "Livechat_allow_manual_on_hold", json!(true)).await;
    let agent = available_agent(&app, "agent").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor"]).await;
    let outsider = app.user_with_roles("outsider", &["user", "livechat-monitor"]).await;
    let sales = department(&app, "Sales", &[&agent, &monitor]).await;
    department(&app, "Support", &[&outsider]).await;
    let room_id = answered_room(&app, &agent, "tok-1", Some(&sales)).await;
    let visitor_id = room_of(&app, "tok-1", &room_id).await["v"]["_id"].as_str().unwrap().to_owned();

    for (session, topic) in [(&manager, "by manager"), (&monitor, "by monitor")] {
        let body = json!({"guestData": {"_id": visitor_id}, "roomData": {"_id": room_id, "topic": topic}});
        assert_eq!(save_info(&app, Some(session), body).await, done());
        assert_eq!(listed_room(&app, &room_id).await["topic"], json!(topic));
    }
    assert_eq!(on_hold(&app, &monitor, &room_id).await, done());
    assert_eq!(resume(&app, &outsider, &room_id).await, refused("Not_authorized"));
    assert_eq!(resume(&app, &manager, &room_id).await, done());
    // A confined monitor sees, and so joins, only rooms of its departments.
    assert_eq!(join(&app, Some(&outsider), &room_id).await, refused("error-not-allowed"));
    assert_eq!(join(&app, Some(&monitor), &room_id).await, done());
    assert_eq!(
        system_messages(&app)
            .await
            .iter()
            .map(|line| line.split('|').take(2).collect::<Vec<_>>().join("|"))
            .collect::<Vec<_>>(),
        vec!["omnichannel_placed_chat_on_hold|monitor", "omnichannel_on_hold_chat_resumed|manager", "uj|monitor"]
    );
});

both_backends!(a_join_racing_the_close_never_leaves_a_member_in_a_closed_room, |app| {
    let agent = available_agent(&app, "agent").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let app = Arc::new(app);
    let (agent, manager) = (Arc::new(agent), Arc::new(manager));
    for round in 0..6 {
        let room_id = served_room(&app, &agent, &format!("tok-{round}"), None).await;
        let joined = tokio::spawn({
            let (app, manager, room_id) = (app.clone(), manager.clone(), room_id.clone());
            async move { join(&app, Some(&manager), &room_id).await }
        });
        let closed = tokio::spawn({
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            async move { close(&app, &agent, json!({"rid": room_id})).await }
        });
        let joined = joined.await.unwrap();
        assert_eq!(closed.await.unwrap(), done());
        assert!(joined == done() || joined == refused("room-closed"), "{joined:?}");
        assert_eq!(app.column_strings("SELECT user_id FROM room_members").await, Vec::<String>::new());
    }
});
