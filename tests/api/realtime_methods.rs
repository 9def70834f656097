//! The realtime API's queue places and visitor changes on `stream-livechat-room`, the
//! `livechat:*` DDP methods (over a socket and over `method.call` / `method.callAnon`),
//! and subscriptions checked again when the user's access changes; real WebSocket
//! clients, both backends.

use std::time::Duration;

use livechat_server::config::AppSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_messages::{send, served_room};
use crate::harness::{Backend, START, Session, TestApp, both_backends, open_store};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};
use crate::realtime::{
    Ddp, changed, ejson, message_over_rest, method_frame, not_allowed, ready, take, visitor_options,
};

/// A Meteor error as DDP carries it; `method` adds Rocket.Chat's `details`.
pub(crate) fn meteor(error: Value, reason: Option<&str>, method: Option<&str>) -> Value {
    let code = match &error {
        Value::String(code) => code.clone(),
        other => other.to_string(),
    };
    let mut shown = json!({"isClientSafe": true, "error": error, "errorType": "Meteor.Error"});
    match reason {
        Some(reason) => {
            shown["reason"] = json!(reason);
            shown["message"] = json!(format!("{reason} [{code}]"));
        }
        None => shown["message"] = json!(format!("[{code}]")),
    }
    if let Some(method) = method {
        shown["details"] = json!({"method": method});
    }
    shown
}

pub(crate) fn match_failed() -> Value {
    meteor(json!(400), Some("Match failed"), None)
}

pub(crate) fn failed(id: &str, error: Value) -> Value {
    json!({"msg": "result", "id": id, "error": error})
}

/// `stream-livechat-room`'s queue data for place `spot`.
fn queue_data(room_id: &str, spot: i64) -> Value {
    let data = json!({"spot": spot, "message": {"text": "", "user": {"_id": "rocket.cat", "username": "rocket.cat"}}});
    changed("livechat-room", room_id, json!([{"type": "queueData", "data": data}]))
}

/// Calls a method over `method.call` (with a session) or `method.callAnon`: the result frame.
pub(crate) async fn call_over_rest(
    app: &TestApp,
    session: Option<&Session>,
    id: &str,
    method: &str,
    params: Value,
) -> Value {
    let path = match session {
        Some(_) => format!("/api/v1/method.call/{method}"),
        None => format!("/api/v1/method.callAnon/{method}"),
    };
    let (status, body) = app.post(&path, session, method_frame(id, method, params)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true));
    serde_json::from_str(body["message"].as_str().unwrap()).unwrap()
}

both_backends!(a_queued_visitor_hears_its_place_when_the_one_ahead_is_taken, |app| {
    let agent = available_agent(&app, "agent").await;
    let (_, first) = visitor_with_room(&app, "tok-1", None).await;
    let (_, second) = visitor_with_room(&app, "tok-2", None).await;
    let mut first_widget = Ddp::connect(&app.base).await;
    assert_eq!(first_widget.sub("stream-livechat-room", json!([first, visitor_options("tok-1")])).await, ready("1"));
    let mut second_widget = Ddp::connect(&app.base).await;
    assert_eq!(second_widget.sub("stream-livechat-room", json!([second, visitor_options("tok-2")])).await, ready("1"));

    // The one ahead is taken: the second visitor moves to the first place, as
    // queue.position says; the taken visitor hears of its agent only.
    take(&app, &agent, &first).await;
    assert_eq!(second_widget.recv().await, queue_data(&second, 1));
    let (status, body) = app.get(&format!("/api/v1/livechat/queue.position?token=tok-2&rid={second}"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"queueInfo": {"spot": 1}, "success": true})));
    assert_eq!(first_widget.recv().await["fields"]["args"][0]["type"], json!("agentData"));

    // A visitor queued behind changes nobody's place ahead: the next frame the second
    // widget gets is its own take.
    visitor_with_room(&app, "tok-3", None).await;
    take(&app, &agent, &second).await;
    assert_eq!(second_widget.recv().await["fields"]["args"][0]["type"], json!("agentData"));
});

both_backends!(places_count_within_the_rooms_department, |app| {
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let (_, public) = visitor_with_room(&app, "tok-1", None).await;
    let (_, first_sale) = visitor_with_room(&app, "tok-2", Some(&sales)).await;
    let (_, second_sale) = visitor_with_room(&app, "tok-3", Some(&sales)).await;
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-livechat-room", json!([second_sale, visitor_options("tok-3")])).await, ready("1"));
    let mut public_widget = Ddp::connect(&app.base).await;
    assert_eq!(public_widget.sub("stream-livechat-room", json!([public, visitor_options("tok-1")])).await, ready("1"));

    // A room of no department waits behind every queued inquiry, one of a department
    // behind its department's: the public inquiry leaving moves no Sales room.
    take(&app, &agent, &public).await;
    take(&app, &agent, &first_sale).await;
    assert_eq!(widget.recv().await, queue_data(&second_sale, 1));
});

both_backends!(a_widget_hears_its_visitor_change, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-livechat-room", json!([room_id, visitor_options("tok-1")])).await, ready("1"));
    let visitor_data = |visitor: Value| {
        changed("livechat-room", &room_id, json!([{"type": "visitorData", "visitor": ejson(visitor)}]))
    };
    let visitor = || async { app.get("/api/v1/livechat/visitor/tok-1", None).await.1["visitor"].clone() };

    // Registering again with the same data changes nothing and tells nothing; a new
    // name is told.
    let same = json!({"visitor": {"token": "tok-1", "name": "Visitor tok-1", "email": "tok-1@example.com"}});
    assert_eq!(app.post("/api/v1/livechat/visitor", None, same).await.0, StatusCode::OK);
    app.clock.advance(1_000);
    let renamed = json!({"visitor": {"token": "tok-1", "name": "Ada"}});
    assert_eq!(app.post("/api/v1/livechat/visitor", None, renamed).await.0, StatusCode::OK);
    let shown = visitor().await;
    assert_eq!(shown["name"], json!("Ada"));
    assert_eq!(widget.recv().await, visitor_data(shown));

    // Its status, and the guest data an agent saves.
    app.clock.advance(1_000);
    let away = json!({"token": "tok-1", "status": "away"});
    assert_eq!(app.post("/api/v1/livechat/visitor.status", None, away).await.0, StatusCode::OK);
    let shown = visitor().await;
    assert_eq!(shown["status"], json!("away"));
    assert_eq!(widget.recv().await, visitor_data(shown.clone()));
    app.clock.advance(1_000);
    let info = json!({"guestData": {"_id": shown["_id"], "name": "Ada Lovelace"}, "roomData": {"_id": room_id}});
    let (status, body) = app.post("/api/v1/livechat/room.saveInfo", Some(&agent), info).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = visitor().await;
    assert_eq!(shown["name"], json!("Ada Lovelace"));
    assert_eq!(widget.recv().await, visitor_data(shown));
});

both_backends!(visitors_register_and_write_over_ddp_and_method_call_anon, clock = START, |app| {
    let mut widget = Ddp::connect(&app.base).await;
    let registered = widget
        .call("livechat:registerGuest", json!([{"token": "tok-1", "name": "Grace", "email": "grace@example.com"}]))
        .await;
    let (status, body) = app.get("/api/v1/livechat/visitor/tok-1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let visitor = &body["visitor"];
    assert_eq!(
        registered,
        json!({"msg": "result", "id": "1", "result": {"userId": visitor["_id"], "visitor": {
            "_id": visitor["_id"], "token": "tok-1", "username": visitor["username"], "name": "Grace",
            "visitorEmails": [{"address": "grace@example.com"}]}}})
    );
    let registered =
        call_over_rest(&app, None, "r1", "livechat:registerGuest", json!([{"token": "tok-2", "department": ""}])).await;
    let (_, body) = app.get("/api/v1/livechat/visitor/tok-2", None).await;
    assert_eq!(
        registered,
        json!({"msg": "result", "id": "r1", "result": {"userId": body["visitor"]["_id"], "visitor": {
            "_id": body["visitor"]["_id"], "token": "tok-2", "username": body["visitor"]["username"]}}})
    );
    const REGISTER: Option<&str> = Some("livechat:registerGuest");
    let invalid_token = meteor(json!("error-invalid-token"), Some("Invalid token"), REGISTER);
    assert_eq!(widget.call("livechat:registerGuest", json!([{}])).await, failed("2", invalid_token.clone()));
    assert_eq!(widget.call("livechat:registerGuest", json!([])).await, failed("3", invalid_token));
    assert_eq!(widget.call("livechat:registerGuest", json!([{"token": 1}])).await, failed("4", match_failed()));
    let long_name = json!([{"token": "tok-3", "name": "x".repeat(257)}]);
    assert_eq!(widget.call("livechat:registerGuest", long_name).await, failed("5", match_failed()));
    assert_eq!(
        widget.call("livechat:registerGuest", json!([{"token": "tok-3", "department": "nowhere"}])).await,
        failed("6", meteor(json!("error-invalid-department"), Some("The provided department is invalid"), REGISTER))
    );

    // The visitor writes into its open room, as over REST.
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    app.clock.advance(1_000);
    let sent = widget
        .call("livechat:sendMessageLivechat", json!([{"_id": "v-1", "rid": room_id, "msg": "Hi", "token": "tok-1"}]))
        .await;
    let mut stored = ejson(message_over_rest(&app, &app.admin, "v-1").await);
    assert_eq!((stored["msg"].clone(), stored["token"].clone()), (json!("Hi"), json!("tok-1")));
    stored["newRoom"] = json!(false);
    stored["showConnecting"] = json!(true);
    assert_eq!(sent, json!({"msg": "result", "id": "7", "result": stored}));
    let agent = json!({"agentId": "someone", "username": "someone"});
    let params = json!([{"_id": "v-2", "rid": room_id, "msg": "Again", "token": "tok-1"}, agent]);
    let sent = call_over_rest(&app, None, "s1", "livechat:sendMessageLivechat", params).await;
    assert_eq!(sent["result"]["_id"], json!("v-2"));
    assert_eq!(message_over_rest(&app, &app.admin, "v-2").await["msg"], json!("Again"));

    const SEND: Option<&str> = Some("livechat:sendMessageLivechat");
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    for (id, message, error) in [
        (
            "8",
            json!({"_id": "v-3", "rid": room_id, "msg": "Hi", "token": "tok-9"}),
            meteor(json!("invalid-token"), None, SEND),
        ),
        (
            "9",
            json!({"_id": "v-3", "rid": other_room, "msg": "Hi", "token": "tok-1"}),
            meteor(json!("invalid-room"), None, SEND),
        ),
        (
            "10",
            json!({"_id": "v-1", "rid": room_id, "msg": "Hi", "token": "tok-1"}),
            meteor(json!("error-duplicated-message-id"), Some("A message with this _id already exists"), SEND),
        ),
        ("11", json!({"_id": "v-3", "rid": room_id, "token": "tok-1"}), match_failed()),
        ("12", json!({"_id": "v-3", "rid": room_id, "msg": "x".repeat(5001), "token": "tok-1"}), match_failed()),
        ("13", json!({"_id": "v-3", "rid": room_id, "msg": "Hi", "token": "tok-1", "pinned": true}), match_failed()),
    ] {
        assert_eq!(widget.call("livechat:sendMessageLivechat", json!([message])).await, failed(id, error));
    }
    let bad_agent = json!([{"_id": "v-3", "rid": room_id, "msg": "Hi", "token": "tok-1"}, {"agentId": 1}]);
    assert_eq!(widget.call("livechat:sendMessageLivechat", bad_agent).await, failed("14", match_failed()));
    // A closed room.
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": "tok-1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let late = json!([{"_id": "v-4", "rid": room_id, "msg": "Hello?", "token": "tok-1"}]);
    assert_eq!(
        widget.call("livechat:sendMessageLivechat", late).await,
        failed("15", meteor(json!("room-closed"), None, SEND))
    );
});

/// The department of `id` as REST shows it.
async fn department_over_rest(app: &TestApp, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/livechat/department/{id}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["department"].clone()
}

both_backends!(managers_save_departments_by_method, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&app.admin).await;
    let fields = json!({"enabled": true, "name": "Support", "email": "support@example.com",
                        "showOnRegistration": true, "showOnOfflineForm": false});
    let saved = console.call("livechat:saveDepartment", json!([null, fields, [{"agentId": agent.user_id}]])).await;
    let id = saved["result"]["_id"].as_str().unwrap().to_owned();
    let shown = department_over_rest(&app, &id).await;
    assert_eq!(shown["numAgents"], json!(1));
    assert_eq!(saved, json!({"msg": "result", "id": "2", "result": ejson(shown)}));

    // Over method.call: the same department, renamed.
    app.clock.advance(1_000);
    let mut renamed = fields.clone();
    renamed["name"] = json!("Help");
    let saved = call_over_rest(&app, Some(&app.admin), "d1", "livechat:saveDepartment", json!([id, renamed])).await;
    let shown = department_over_rest(&app, &id).await;
    assert_eq!(shown["name"], json!("Help"));
    assert_eq!(saved, json!({"msg": "result", "id": "d1", "result": ejson(shown)}));

    const SAVE: Option<&str> = Some("livechat:saveDepartment");
    let not_allowed = meteor(json!("error-not-allowed"), Some("Not allowed"), SAVE);
    let mut agent_console = Ddp::connect(&app.base).await;
    agent_console.login(&agent).await;
    assert_eq!(
        agent_console.call("livechat:saveDepartment", json!([null, fields])).await,
        failed("2", not_allowed.clone())
    );
    assert_eq!(
        call_over_rest(&app, None, "d2", "livechat:saveDepartment", json!([null, fields])).await,
        failed("d2", not_allowed)
    );
    let mut nameless = fields.clone();
    nameless.as_object_mut().unwrap().remove("name");
    assert_eq!(console.call("livechat:saveDepartment", json!([null, nameless])).await, failed("3", match_failed()));
    let mut long = fields.clone();
    long["name"] = json!("x".repeat(257));
    assert_eq!(console.call("livechat:saveDepartment", json!([null, long])).await, failed("4", match_failed()));
    assert_eq!(console.call("livechat:saveDepartment", json!([7, fields])).await, failed("5", match_failed()));
    assert_eq!(
        console.call("livechat:saveDepartment", json!(["nowhere", fields])).await,
        failed("6", meteor(json!("error-department-not-found"), Some("Department not found"), SAVE))
    );
});

both_backends!(agents_return_rooms_to_the_queue_by_method, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;
    assert_eq!(
        console.call("livechat:returnAsInquiry", json!([room_id])).await,
        json!({"msg": "result", "id": "2", "result": true})
    );
    assert_eq!(inquiry_of(&app, &room_id).await["status"], json!("queued"));
    assert_eq!(
        console.call("livechat:returnAsInquiry", json!([room_id])).await,
        json!({"msg": "result", "id": "3", "result": false})
    );

    const RETURN: Option<&str> = Some("livechat:returnAsInquiry");
    take(&app, &other_agent, &room_id).await;
    let not_allowed = meteor(json!("error-not-allowed"), Some("Not allowed"), RETURN);
    // Another agent's room, without transfer-livechat-guest; no login.
    assert_eq!(console.call("livechat:returnAsInquiry", json!([room_id])).await, failed("4", not_allowed.clone()));
    assert_eq!(
        call_over_rest(&app, None, "q1", "livechat:returnAsInquiry", json!([room_id])).await,
        failed("q1", not_allowed)
    );
    assert_eq!(
        console.call("livechat:returnAsInquiry", json!(["nowhere"])).await,
        failed("5", meteor(json!("error-invalid-room"), Some("Invalid room"), RETURN))
    );
    assert_eq!(console.call("livechat:returnAsInquiry", json!([])).await, failed("6", match_failed()));
    assert_eq!(console.call("livechat:returnAsInquiry", json!(["x".repeat(257)])).await, failed("7", match_failed()));
    // The serving agent over method.call; then a closed room.
    assert_eq!(
        call_over_rest(&app, Some(&other_agent), "q2", "livechat:returnAsInquiry", json!([room_id])).await,
        json!({"msg": "result", "id": "q2", "result": true})
    );
    let served = served_room(&app, &agent, "tok-2", None).await;
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": served})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        console.call("livechat:returnAsInquiry", json!([served])).await,
        failed("8", meteor(json!("room-closed"), Some("Room closed"), RETURN))
    );
});

both_backends!(managers_remove_closed_rooms_by_method, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&app.admin).await;
    const REMOVE: Option<&str> = Some("livechat:removeRoom");
    assert_eq!(
        console.call("livechat:removeRoom", json!([room_id])).await,
        failed("2", meteor(json!("error-room-is-not-closed"), Some("Room is not closed"), REMOVE))
    );
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An agent lacks remove-closed-livechat-room; so does nobody.
    let not_allowed = meteor(json!("error-not-allowed"), Some("Not allowed"), REMOVE);
    let mut agent_console = Ddp::connect(&app.base).await;
    agent_console.login(&agent).await;
    assert_eq!(agent_console.call("livechat:removeRoom", json!([room_id])).await, failed("2", not_allowed.clone()));
    assert_eq!(
        call_over_rest(&app, None, "x1", "livechat:removeRoom", json!([room_id])).await,
        failed("x1", not_allowed)
    );

    assert_eq!(console.call("livechat:removeRoom", json!([room_id])).await, json!({"msg": "result", "id": "3"}));
    // Its messages went with it.
    assert_eq!(
        app.get("/api/v1/chat.getMessage?msgId=tok-1-hello", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );
    let invalid_room = meteor(json!("error-invalid-room"), Some("Invalid room"), REMOVE);
    assert_eq!(console.call("livechat:removeRoom", json!([room_id])).await, failed("4", invalid_room.clone()));
    assert_eq!(console.call("livechat:removeRoom", json!([1])).await, failed("5", match_failed()));
    // Over method.call.
    let other = served_room(&app, &agent, "tok-2", None).await;
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": other})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        call_over_rest(&app, Some(&app.admin), "x2", "livechat:removeRoom", json!([other])).await,
        json!({"msg": "result", "id": "x2"})
    );
    assert_eq!(
        call_over_rest(&app, Some(&app.admin), "x3", "livechat:removeRoom", json!([other])).await,
        failed("x3", invalid_room)
    );
});

both_backends!(an_agent_stops_hearing_a_room_transferred_away_and_a_department_it_left, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let kept_room = served_room(&app, &agent, "tok-2", None).await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;
    assert_eq!(console.sub("stream-room-messages", json!([room_id, false])).await, ready("2"));
    assert_eq!(console.sub("stream-room-messages", json!([kept_room, false])).await, ready("3"));

    // Transferred to another agent: the transfer's message is the last it hears there.
    let forward = json!({"roomId": room_id, "userId": other_agent.user_id});
    let (status, body) = app.post("/api/v1/livechat/room.forward", Some(&app.admin), forward).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let transfer = console.recv().await;
    assert_eq!(transfer["fields"]["args"][0]["t"], json!("livechat_transfer_history"), "{transfer}");
    assert_eq!(send(&app, &other_agent, &room_id, "gone-1", "Not for you").await.0, StatusCode::OK);
    assert_eq!(send(&app, &agent, &kept_room, "kept-1", "Still mine").await.0, StatusCode::OK);
    let kept = ejson(message_over_rest(&app, &agent, "kept-1").await);
    assert_eq!(console.recv().await, changed("room-messages", &kept_room, json!([kept])));

    // Back to it: heard again from the take on (the transfer's message, written before
    // it, is read over REST).
    let back = json!({"roomId": room_id, "userId": agent.user_id});
    let (status, body) = app.post("/api/v1/livechat/room.forward", Some(&app.admin), back).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    assert_eq!(send(&app, &agent, &room_id, "back-1", "I am back").await.0, StatusCode::OK);
    let back = ejson(message_over_rest(&app, &agent, "back-1").await);
    assert_eq!(console.recv().await, changed("room-messages", &room_id, json!([back])));

    // A department's queue, until the agent leaves the department.
    let sales = department(&app, "Sales", &[&agent]).await;
    let queue_name = format!("department/{sales}");
    assert_eq!(console.sub("stream-livechat-inquiry-queue-observer", json!([queue_name])).await, ready("4"));
    assert_eq!(console.sub("stream-livechat-inquiry-queue-observer", json!(["public"])).await, ready("5"));
    let leave = json!({"upsert": [], "remove": [{"agentId": agent.user_id}]});
    let (status, body) =
        app.post(&format!("/api/v1/livechat/department/{sales}/agents"), Some(&app.admin), leave).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    visitor_with_room(&app, "tok-3", Some(&sales)).await;
    let (_, public_room) = visitor_with_room(&app, "tok-4", None).await;
    let heard = console.recv().await;
    assert_eq!(heard["fields"]["eventName"], json!("public"), "{heard}");
    assert_eq!(heard["fields"]["args"][0]["rid"], json!(public_room));
    // A new subscription to it is refused.
    assert_eq!(
        console.sub("stream-livechat-inquiry-queue-observer", json!([format!("department/{sales}")])).await,
        not_allowed("6")
    );
});

both_backends!(registered_guests_keep_the_values_of_visitor_custom_fields, |app| {
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, created_at) VALUES \
         ('company', 'Company', 'visitor', 0), ('topic', 'Topic', 'room', 0)",
    )
    .await;
    let mut widget = Ddp::connect(&app.base).await;
    let fields = json!([
        {"key": "company", "value": "Acme", "overwrite": false},
        {"key": "company", "value": "Globex", "overwrite": false},
        {"key": "topic", "value": "Billing", "overwrite": true, "scope": "room"},
        {"key": "nothing", "value": "x", "overwrite": true},
    ]);
    let registered = widget.call("livechat:registerGuest", json!([{"token": "tok-1", "customFields": fields}])).await;
    let visitor = app.get("/api/v1/livechat/visitor/tok-1", None).await.1["visitor"].clone();
    let answer = json!({"userId": visitor["_id"], "visitor": {"_id": visitor["_id"], "token": "tok-1",
                                                             "username": visitor["username"]}});
    assert_eq!(registered, json!({"msg": "result", "id": "1", "result": answer}));
    let stored = || app.column_strings("SELECT field_id || '=' || value FROM visitor_custom_fields ORDER BY field_id");
    assert_eq!(stored().await, vec!["company=Acme".to_owned()]);
    let overwrite =
        json!([{"token": "tok-1", "customFields": [{"key": "company", "value": "Globex", "overwrite": true}]}]);
    assert_eq!(
        widget.call("livechat:registerGuest", overwrite).await,
        json!({"msg": "result", "id": "2", "result": answer})
    );
    assert_eq!(stored().await, vec!["company=Globex".to_owned()]);
    let bad = json!([{"token": "tok-1", "customFields": [{"key": "company", "value": "x", "overwrite": "yes"}]}]);
    assert_eq!(widget.call("livechat:registerGuest", bad).await, failed("3", match_failed()));
    assert_eq!(stored().await, vec!["company=Globex".to_owned()]);
});

/// With PostgreSQL, two servers on one database: a visitor queued behind another,
/// watching its room on instance A, hears its new place when an agent takes the one
/// ahead through instance B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn a_take_on_one_instance_moves_a_queued_visitor_on_another() {
    let app = TestApp::spawn_on(Backend::Postgres, AppSettings::default(), None).await;
    let agent = available_agent(&app, "agent").await;
    let (_, first) = visitor_with_room(&app, "tok-1", None).await;
    let (_, second) = visitor_with_room(&app, "tok-2", None).await;
    let inquiry_id = inquiry_of(&app, &first).await["_id"].clone();
    let other = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (other_base, _stop) = app.start_another_server(other, AppSettings::default()).await;

    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-livechat-room", json!([second, visitor_options("tok-2")])).await, ready("1"));
    let response = app
        .client
        .post(format!("{other_base}/api/v1/livechat/inquiries.take"))
        .header("X-User-Id", &agent.user_id)
        .header("X-Auth-Token", &agent.token)
        .json(&json!({"inquiryId": inquiry_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(widget.recv().await, queue_data(&second, 1));
}
