//! Agents reply, edit and delete (chat.sendMessage, chat.update, chat.delete,
//! chat.getMessage); visitors read, edit and delete their own messages; integrations
//! write batches in a visitor's name. Also who may do each, and a reply racing the
//! room's close.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

const START_TEXT: &str = "2026-01-02T03:04:05.678Z";
const LATER_TEXT: &str = "2026-01-02T03:04:06.678Z";

/// A plain message as Rocket.Chat renders it, written at `ts` by `u`.
fn plain(id: &str, room_id: &str, msg: &str, ts: &str, u: Value) -> Value {
    json!({
        "_id": id, "rid": room_id, "msg": msg, "ts": ts, "u": u, "_updatedAt": ts,
        "urls": [], "mentions": [], "channels": [],
        "md": [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": msg}]}],
    })
}

/// How a message names the agent `username` (created with that name).
fn agent_author(session: &Session, username: &str) -> Value {
    json!({"_id": session.user_id, "username": username, "name": username})
}

/// A visitor's plain message, as it carries the visitor's token and name.
fn visitor_message(id: &str, room_id: &str, msg: &str, ts: &str, visitor: &Value, token: &str) -> Value {
    let mut message = plain(id, room_id, msg, ts, visitor.clone());
    message["token"] = json!(token);
    message["alias"] = visitor["name"].clone();
    message
}

/// The visitor of `token` as its messages name it.
async fn visitor_author(app: &TestApp, token: &str) -> Value {
    let (_, body) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    let visitor = &body["visitor"];
    json!({"_id": visitor["_id"], "username": visitor["username"], "name": visitor["name"]})
}

/// A room of `token` served by `agent`, with one visitor message `{token}-hello`.
pub async fn served_room(app: &TestApp, agent: &Session, token: &str, department: Option<&str>) -> String {
    let (_, room_id) = visitor_with_room(app, token, department).await;
    let (status, body) = app
        .post(
            "/api/v1/livechat/message",
            None,
            json!({"token": token, "rid": room_id, "msg": "Hello", "_id": format!("{token}-hello")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inquiry_id = inquiry_of(app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    // Realtime tests subscribe to the room next: its events so far are behind them.
    app.events_published().await;
    room_id
}

pub async fn send(app: &TestApp, session: &Session, room_id: &str, id: &str, msg: &str) -> (StatusCode, Value) {
    app.post("/api/v1/chat.sendMessage", Some(session), json!({"message": {"rid": room_id, "msg": msg, "_id": id}}))
        .await
}

pub async fn set_setting(app: &TestApp, id: &str, value: Value) {
    let answer = app.post(&format!("/api/v1/settings/{id}"), Some(&app.admin), json!({"value": value})).await;
    assert_eq!(answer, (StatusCode::OK, json!({"success": true})));
}

/// The room as the visitor's widget reads it.
pub async fn room_of(app: &TestApp, token: &str, room_id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/livechat/room?token={token}&rid={room_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["room"].clone()
}

both_backends!(the_serving_agent_replies_edits_and_deletes, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let visitor = visitor_author(&app, "tok-1").await;
    let hello = visitor_message("tok-1-hello", &room_id, "Hello", START_TEXT, &visitor, "tok-1");

    app.clock.advance(1_000);
    let reply = plain("reply-1", &room_id, "Hi, how can I help?", LATER_TEXT, agent_author(&agent, "agent"));
    assert_eq!(
        send(&app, &agent, &room_id, "reply-1", "Hi, how can I help?").await,
        (StatusCode::OK, json!({"message": reply, "success": true}))
    );
    // The reply is the room's (and so the inquiry's) last message; the chat status and
    // the visitor's last message time stay.
    let room = room_of(&app, "tok-1", &room_id).await;
    assert_eq!((&room["lastMessage"], &room["msgs"], &room["lm"]), (&reply, &json!(2), &json!(LATER_TEXT)));
    assert_eq!(inquiry_of(&app, &room_id).await["lastMessage"], reply);

    // Both sides read it.
    assert_eq!(
        app.get("/api/v1/chat.getMessage?msgId=reply-1", Some(&agent)).await,
        (StatusCode::OK, json!({"message": reply, "success": true}))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/message/reply-1?token=tok-1&rid={room_id}"), None).await,
        (StatusCode::OK, json!({"message": reply, "success": true}))
    );
    assert_eq!(
        app.get("/api/v1/chat.getMessage?msgId=tok-1-hello", Some(&agent)).await,
        (StatusCode::OK, json!({"message": hello, "success": true}))
    );

    // The author edits; the same text again changes nothing.
    app.clock.advance(1_000);
    let edit_time = "2026-01-02T03:04:07.678Z";
    let mut edited = plain("reply-1", &room_id, "Hi! How can I help?", LATER_TEXT, agent_author(&agent, "agent"));
    edited["_updatedAt"] = json!(edit_time);
    edited["editedAt"] = json!(edit_time);
    edited["editedBy"] = json!({"_id": agent.user_id, "username": "agent"});
    let edit = json!({"roomId": room_id, "msgId": "reply-1", "text": "Hi! How can I help?"});
    assert_eq!(
        app.post("/api/v1/chat.update", Some(&agent), edit.clone()).await,
        (StatusCode::OK, json!({"message": edited, "success": true}))
    );
    app.clock.advance(1_000);
    assert_eq!(
        app.post("/api/v1/chat.update", Some(&agent), edit).await,
        (StatusCode::OK, json!({"message": edited, "success": true}))
    );
    assert_eq!(room_of(&app, "tok-1", &room_id).await["lastMessage"], edited);

    // Deleting the last message makes the one before it the last.
    let deleted_at = START + 3_000;
    assert_eq!(
        app.post("/api/v1/chat.delete", Some(&agent), json!({"roomId": room_id, "msgId": "reply-1"})).await,
        (
            StatusCode::OK,
            json!({"_id": "reply-1", "ts": deleted_at.to_string(),
                   "message": {"_id": "reply-1", "rid": room_id, "u": agent_author(&agent, "agent")}, "success": true})
        )
    );
    assert_eq!(
        app.get("/api/v1/chat.getMessage?msgId=reply-1", Some(&agent)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );
    let room = room_of(&app, "tok-1", &room_id).await;
    assert_eq!((&room["lastMessage"], &room["msgs"], &room["lm"]), (&hello, &json!(1), &json!(START_TEXT)));

    // The agent syncs the room's history: what changed and what was deleted since.
    let deleted = json!([{"_id": "reply-1", "_deletedAt": "2026-01-02T03:04:08.678Z"}]);
    assert_eq!(
        app.get(
            &format!("/api/v1/chat.syncMessages?roomId={room_id}&lastUpdate=2026-01-01T00:00:00.000Z"),
            Some(&agent)
        )
        .await,
        (StatusCode::OK, json!({"result": {"updated": [hello], "deleted": deleted}, "success": true}))
    );
    assert_eq!(
        app.get(&format!("/api/v1/chat.syncMessages?roomId={room_id}&lastUpdate={START_TEXT}"), Some(&agent)).await,
        (StatusCode::OK, json!({"result": {"updated": [], "deleted": deleted}, "success": true}))
    );
});

/// The one chat as HelpCrunch's face shows it: status, last message text and time,
/// and the customer's last message time.
async fn helpcrunch_chat(app: &TestApp, key: &str) -> (i64, Value) {
    let request = app.client.get(app.url("/v1/chats")).header("Authorization", format!("Bearer {key}"));
    let (status, body) = crate::harness::send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chat = &body["data"][0];
    let fields = ["status", "lastMessageText", "lastMessageAt", "lastCustomerMessageAt"];
    (chat["id"].as_i64().unwrap(), fields.iter().map(|field| chat[*field].clone()).collect())
}

// HelpCrunch's face sees the reply as the last message; only a customer's message moves
// a pending chat back to opened.
both_backends!(an_agent_reply_leaves_the_chat_status, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "helpcrunch"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();

    app.clock.advance(1_000);
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "On it").await.0, StatusCode::OK);
    let (chat_id, chat) = helpcrunch_chat(&app, &key).await;
    assert_eq!(chat, json!(["opened", "On it", "1767323046", "1767323045"]));

    let request = app
        .client
        .put(app.url("/v1/chats/status"))
        .header("Authorization", format!("Bearer {key}"))
        .json(&json!({"id": chat_id, "status": "pending"}));
    assert_eq!(crate::harness::send(request).await.0, StatusCode::OK);
    app.clock.advance(1_000);
    assert_eq!(send(&app, &agent, &room_id, "reply-2", "Any news?").await.0, StatusCode::OK);
    assert_eq!(helpcrunch_chat(&app, &key).await.1, json!(["pending", "Any news?", "1767323047", "1767323045"]));

    app.clock.advance(1_000);
    let (status, _) =
        app.post("/api/v1/livechat/message", None, json!({"token": "tok-1", "rid": room_id, "msg": "Yes"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(helpcrunch_chat(&app, &key).await.1, json!(["opened", "Yes", "1767323048", "1767323048"]));
});

both_backends!(who_may_write_into_a_room, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let colleague = available_agent(&app, "colleague").await;
    let outsider = available_agent(&app, "outsider").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let plain_user = app.user_with_roles("someone", &["user"]).await;
    let monitor_a = app.user_with_roles("monitor-a", &["user", "livechat-monitor", "livechat-agent"]).await;
    let monitor_b = app.user_with_roles("monitor-b", &["user", "livechat-monitor", "livechat-agent"]).await;
    let sales = department(&app, "Sales", &[&agent, &colleague, &monitor_a]).await;
    department(&app, "Billing", &[&outsider, &monitor_b]).await;
    let room_id = served_room(&app, &agent, "tok-1", Some(&sales)).await;

    // Others of the department, of another department, a plain user and a monitor of
    // another department may not; a manager (view-livechat-rooms), the administrator and
    // a monitor of the department may.
    let not_allowed = (StatusCode::BAD_REQUEST, bare("error-not-allowed"));
    for (session, name) in
        [(&colleague, "colleague"), (&outsider, "outsider"), (&plain_user, "someone"), (&monitor_b, "monitor-b")]
    {
        assert_eq!(send(&app, session, &room_id, &format!("by-{name}"), "hi").await, not_allowed, "{name}");
        assert_eq!(
            app.get("/api/v1/chat.getMessage?msgId=tok-1-hello", Some(session)).await,
            (StatusCode::BAD_REQUEST, coded("error-action-not-allowed", "Not allowed")),
            "{name}"
        );
    }
    let by_manager = plain("by-manager", &room_id, "hi", START_TEXT, agent_author(&manager, "manager"));
    assert_eq!(
        send(&app, &manager, &room_id, "by-manager", "hi").await,
        (StatusCode::OK, json!({"message": by_manager, "success": true}))
    );
    assert_eq!(send(&app, &app.admin, &room_id, "by-admin", "hi").await.0, StatusCode::OK);
    // A monitor of the room's department reaches it.
    assert_eq!(send(&app, &monitor_a, &room_id, "by-monitor-a", "hi").await.0, StatusCode::OK);

    // Unknown room, taken id, too long a text (schema's 5000, then the setting's).
    assert_eq!(
        send(&app, &agent, "no-such-room", "x-1", "hi").await,
        (StatusCode::BAD_REQUEST, bare("error-invalid-room"))
    );
    assert_eq!(
        send(&app, &agent, &room_id, "by-manager", "again").await,
        (StatusCode::BAD_REQUEST, coded("error-duplicated-message-id", "A message with this _id already exists"))
    );
    let too_long =
        (StatusCode::BAD_REQUEST, coded("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize"));
    assert_eq!(send(&app, &agent, &room_id, "x-2", &"a".repeat(5001)).await, too_long);
    set_setting(&app, "Message_MaxAllowedSize", json!(10)).await;
    assert_eq!(send(&app, &agent, &room_id, "x-3", "eleven char").await, too_long);
    assert_eq!(send(&app, &agent, &room_id, "x-4", "ten chars!").await.0, StatusCode::OK);

    // A closed room takes no message, from its agent or anyone.
    let closed = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(closed, (StatusCode::OK, json!({"success": true})));
    assert_eq!(send(&app, &agent, &room_id, "late", "hi").await, (StatusCode::BAD_REQUEST, bare("room-closed")));
    assert_eq!(send(&app, &manager, &room_id, "late", "hi").await, (StatusCode::BAD_REQUEST, bare("room-closed")));
    // The closed room's history stays readable by its agent, not by a colleague
    // without view-livechat-room-closed-same-department.
    assert_eq!(app.get("/api/v1/chat.getMessage?msgId=x-4", Some(&agent)).await.0, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/chat.getMessage?msgId=x-4", Some(&colleague)).await,
        (StatusCode::BAD_REQUEST, coded("error-action-not-allowed", "Not allowed"))
    );
});

both_backends!(edits_and_deletions_follow_permissions_and_settings, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "one").await.0, StatusCode::OK);
    assert_eq!(send(&app, &manager, &room_id, "by-manager", "two").await.0, StatusCode::OK);
    let editing_refused = (StatusCode::BAD_REQUEST, coded("error-action-not-allowed", "Message editing not allowed"));
    let deleting_refused = (StatusCode::BAD_REQUEST, coded("error-action-not-allowed", "Not allowed"));
    let update = |id: &str, text: &str| json!({"roomId": room_id, "msgId": id, "text": text});
    let delete = |id: &str| json!({"roomId": room_id, "msgId": id});

    // Another's message: neither the agent nor the manager may edit or delete it; the
    // administrator may (edit-message, force-delete-message).
    assert_eq!(app.post("/api/v1/chat.update", Some(&agent), update("tok-1-hello", "x")).await, editing_refused);
    assert_eq!(app.post("/api/v1/chat.update", Some(&manager), update("reply-1", "x")).await, editing_refused);
    assert_eq!(app.post("/api/v1/chat.delete", Some(&agent), delete("by-manager")).await, deleting_refused);
    assert_eq!(app.post("/api/v1/chat.delete", Some(&manager), delete("tok-1-hello")).await, deleting_refused);
    let (status, body) = app.post("/api/v1/chat.update", Some(&app.admin), update("tok-1-hello", "Hello!")).await;
    assert_eq!(
        (status, &body["message"]["msg"], &body["message"]["editedBy"]["username"]),
        (StatusCode::OK, &json!("Hello!"), &json!("admin"))
    );
    assert_eq!(app.post("/api/v1/chat.delete", Some(&app.admin), delete("tok-1-hello")).await.0, StatusCode::OK);

    // asUser on another's message takes force-delete-message.
    assert_eq!(
        app.post(
            "/api/v1/chat.delete",
            Some(&agent),
            json!({"roomId": room_id, "msgId": "by-manager", "asUser": true})
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            bare(
                "Unauthorized. You must have the permission \"force-delete-message\" to delete other's message as them."
            )
        )
    );

    // With editing and deleting switched off, authors may not; force-delete still may.
    set_setting(&app, "Message_AllowEditing", json!(false)).await;
    set_setting(&app, "Message_AllowDeleting", json!(false)).await;
    assert_eq!(app.post("/api/v1/chat.update", Some(&agent), update("reply-1", "x")).await, editing_refused);
    assert_eq!(app.post("/api/v1/chat.delete", Some(&agent), delete("reply-1")).await, deleting_refused);
    set_setting(&app, "Message_AllowEditing", json!(true)).await;
    set_setting(&app, "Message_AllowDeleting", json!(true)).await;
    assert_eq!(app.post("/api/v1/chat.update", Some(&agent), update("reply-1", "uno")).await.0, StatusCode::OK);
    assert_eq!(app.post("/api/v1/chat.delete", Some(&agent), delete("reply-1")).await.0, StatusCode::OK);

    // Unknown message, message of another room, system messages.
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    assert_eq!(
        app.post("/api/v1/chat.update", Some(&agent), update("nope", "x")).await,
        (StatusCode::BAD_REQUEST, bare("No message found with the id of \"nope\"."))
    );
    assert_eq!(
        app.post("/api/v1/chat.delete", Some(&agent), delete("nope")).await,
        (StatusCode::BAD_REQUEST, bare("No message found with the id of \"nope\"."))
    );
    let mismatch = (StatusCode::BAD_REQUEST, bare("The room id provided does not match where the message is from."));
    assert_eq!(
        app.post(
            "/api/v1/chat.update",
            Some(&manager),
            json!({"roomId": other_room, "msgId": "by-manager", "text": "x"})
        )
        .await,
        mismatch
    );
    assert_eq!(
        app.post("/api/v1/chat.delete", Some(&manager), json!({"roomId": other_room, "msgId": "by-manager"})).await,
        mismatch
    );

    // In a closed room an author edits nothing; deleting stays possible for who may see it.
    let closed = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(closed, (StatusCode::OK, json!({"success": true})));
    assert_eq!(
        app.post("/api/v1/chat.update", Some(&manager), update("by-manager", "x")).await,
        (StatusCode::BAD_REQUEST, bare("room-closed"))
    );
    assert_eq!(app.post("/api/v1/chat.delete", Some(&manager), delete("by-manager")).await.0, StatusCode::OK);
});

both_backends!(a_visitor_reads_edits_and_deletes_only_its_own, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    let visitor = visitor_author(&app, "tok-1").await;
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "Hi").await.0, StatusCode::OK);
    let path = "/api/v1/livechat/message/tok-1-hello";

    app.clock.advance(1_000);
    let mut edited = visitor_message("tok-1-hello", &room_id, "Hello there", START_TEXT, &visitor, "tok-1");
    edited["_updatedAt"] = json!(LATER_TEXT);
    edited["editedAt"] = json!(LATER_TEXT);
    edited["editedBy"] = json!({"_id": visitor["_id"], "username": visitor["username"]});
    assert_eq!(
        app.put(path, None, json!({"token": "tok-1", "rid": room_id, "msg": "Hello there"})).await,
        (StatusCode::OK, json!({"message": edited, "success": true}))
    );
    assert_eq!(
        app.get(&format!("{path}?token=tok-1&rid={room_id}"), None).await,
        (StatusCode::OK, json!({"message": edited, "success": true}))
    );

    // Not its room, not in the room, not its message, another visitor's token.
    let refused = |error: &str| (StatusCode::BAD_REQUEST, bare(error));
    assert_eq!(app.get(&format!("{path}?token=tok-2&rid={room_id}"), None).await, refused("invalid-room"));
    assert_eq!(app.get(&format!("{path}?token=nobody&rid={room_id}"), None).await, refused("invalid-token"));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/message/nope?token=tok-1&rid={room_id}"), None).await,
        refused("invalid-message")
    );
    assert_eq!(app.get(&format!("{path}?token=tok-2&rid={other_room}"), None).await, refused("invalid-message"));
    assert_eq!(
        app.put("/api/v1/livechat/message/reply-1", None, json!({"token": "tok-1", "rid": room_id, "msg": "x"})).await,
        refused("error-action-not-allowed")
    );
    assert_eq!(
        app.call(
            Method::DELETE,
            "/api/v1/livechat/message/reply-1",
            None,
            Some(json!({"token": "tok-1", "rid": room_id}))
        )
        .await,
        refused("error-action-not-allowed")
    );
    assert_eq!(
        app.put(path, None, json!({"token": "tok-2", "rid": room_id, "msg": "x"})).await,
        refused("invalid-room")
    );

    // Deleting.
    assert_eq!(
        app.call(Method::DELETE, path, None, Some(json!({"token": "tok-1", "rid": room_id}))).await,
        (StatusCode::OK, json!({"message": {"_id": "tok-1-hello", "ts": LATER_TEXT}, "success": true}))
    );
    assert_eq!(app.get(&format!("{path}?token=tok-1&rid={room_id}"), None).await, refused("invalid-message"));

    // A closed room is not the visitor's to change any more.
    let (status, _) = app
        .post("/api/v1/livechat/message", None, json!({"token": "tok-1", "rid": room_id, "msg": "Bye", "_id": "bye"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let closed = app.post("/api/v1/livechat/room.close", None, json!({"token": "tok-1", "rid": room_id})).await;
    assert_eq!(closed.0, StatusCode::OK);
    assert_eq!(
        app.put("/api/v1/livechat/message/bye", None, json!({"token": "tok-1", "rid": room_id, "msg": "x"})).await,
        refused("room-closed")
    );
    assert_eq!(
        app.call(Method::DELETE, "/api/v1/livechat/message/bye", None, Some(json!({"token": "tok-1", "rid": room_id})))
            .await,
        refused("room-closed")
    );
});

both_backends!(an_integration_writes_a_batch_for_a_visitor, clock = START, |app| {
    let integration = app.user_with_roles("integration", &["user"]).await;
    app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "tok-1", "name": "Ada"}})).await;
    let (status, body) = app
        .post(
            "/api/v1/livechat/messages",
            Some(&integration),
            json!({"visitor": {"token": "tok-1"}, "messages": [{"msg": "one"}, {"msg": "two"}]}),
        )
        .await;
    let username = visitor_author(&app, "tok-1").await["username"].clone();
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"messages": [
            {"username": username, "msg": "one", "ts": START_TEXT},
            {"username": username, "msg": "two", "ts": START_TEXT},
        ], "success": true})
        )
    );
    // The room was opened for them and holds both.
    let (_, opened) = app.get("/api/v1/livechat/room?token=tok-1", None).await;
    assert_eq!(
        (&opened["newRoom"], &opened["room"]["msgs"], &opened["room"]["lastMessage"]["msg"]),
        (&json!(false), &json!(2), &json!("two"))
    );

    let post = |body: Value| app.post("/api/v1/livechat/messages", Some(&integration), body);
    assert_eq!(
        post(json!({"visitor": {"token": "nobody"}, "messages": [{"msg": "x"}]})).await,
        (StatusCode::BAD_REQUEST, bare("error-invalid-token"))
    );
    assert_eq!(
        post(json!({"visitor": {"token": "tok-1"}, "messages": []})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/messages must NOT have fewer than 1 items"))
    );
    let many: Vec<Value> = (0..101).map(|_| json!({"msg": "x"})).collect();
    assert_eq!(
        post(json!({"visitor": {"token": "tok-1"}, "messages": many})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/messages must NOT have more than 100 items"))
    );
    assert_eq!(
        post(json!({"visitor": {"token": "tok-1"}, "messages": [{"msg": 1}]})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/messages/0/msg must be string"))
    );
    assert_eq!(
        post(json!({"messages": [{"msg": "x"}]})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'visitor'"))
    );
    assert_eq!(
        post(json!({"visitor": {"token": "t".repeat(257)}, "messages": [{"msg": "x"}]})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/visitor/token must NOT have more than 256 characters"))
    );
    assert_eq!(
        post(json!({"visitor": {"token": "tok-1"}, "messages": [{"msg": "a".repeat(5001)}]})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/messages/0/msg must NOT have more than 5000 characters"))
    );
    let (status, body) =
        app.send_raw_json(Method::POST, "/api/v1/livechat/messages", &integration, "{\"visitor\"").await;
    assert_eq!((status, &body["errorType"]), (StatusCode::BAD_REQUEST, &json!("error-invalid-json")));
    assert_eq!(
        app.post("/api/v1/livechat/messages", None, json!({"visitor": {"token": "tok-1"}, "messages": [{"msg": "x"}]}))
            .await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

both_backends!(every_route_refuses_bad_input, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let bad = |message: &str| (StatusCode::BAD_REQUEST, invalid_params(message));
    let long_id = "i".repeat(257);

    // chat.sendMessage
    let path = "/api/v1/chat.sendMessage";
    assert_eq!(
        app.post(path, None, json!({"message": {"rid": room_id, "msg": "x"}})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(app.post(path, Some(&agent), json!({})).await, bad("must have required property 'message'"));
    assert_eq!(
        app.post(path, Some(&agent), json!({"message": {"msg": "x"}})).await,
        bad("must have required property 'rid'")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"message": {"rid": room_id, "msg": 5}})).await,
        bad("/message/msg must be string")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"message": {"rid": room_id, "msg": "x", "t": "x"}})).await,
        bad("must NOT have additional properties")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"message": {"rid": long_id, "msg": "x"}})).await,
        bad("/message/rid must NOT have more than 256 characters")
    );
    let (status, body) = app.send_raw_json(Method::POST, path, &agent, "{\"message\":").await;
    assert_eq!((status, &body["errorType"]), (StatusCode::BAD_REQUEST, &json!("error-invalid-json")));

    // chat.update
    let path = "/api/v1/chat.update";
    assert_eq!(
        app.post(path, None, json!({"roomId": room_id, "msgId": "x", "text": "x"})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"roomId": room_id, "msgId": "x"})).await,
        bad("must have required property 'text'")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"roomId": room_id, "msgId": true, "text": "x"})).await,
        bad("/msgId must be string")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"roomId": room_id, "msgId": "tok-1-hello", "text": "a".repeat(5001)}))
            .await,
        (StatusCode::BAD_REQUEST, coded("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize"))
    );
    let (status, body) = app.send_raw_json(Method::POST, path, &agent, "not json").await;
    assert_eq!((status, &body["errorType"]), (StatusCode::BAD_REQUEST, &json!("error-invalid-json")));

    // chat.delete
    let path = "/api/v1/chat.delete";
    assert_eq!(
        app.post(path, None, json!({"roomId": room_id, "msgId": "x"})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"roomId": room_id})).await,
        bad("must have required property 'msgId'")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"roomId": room_id, "msgId": "x", "asUser": "yes"})).await,
        bad("/asUser must be boolean")
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"roomId": long_id, "msgId": "x"})).await,
        bad("/roomId must NOT have more than 256 characters")
    );

    // chat.getMessage
    assert_eq!(app.get("/api/v1/chat.getMessage?msgId=x", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get("/api/v1/chat.getMessage", Some(&agent)).await, bad("must have required property 'msgId'"));
    assert_eq!(
        app.get(&format!("/api/v1/chat.getMessage?msgId={long_id}"), Some(&agent)).await,
        bad("/msgId must NOT have more than 256 characters")
    );

    // chat.syncMessages
    let sync = "/api/v1/chat.syncMessages";
    assert_eq!(
        app.get(&format!("{sync}?roomId={room_id}&lastUpdate={START_TEXT}"), None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(
        app.get(&format!("{sync}?lastUpdate={START_TEXT}"), Some(&agent)).await,
        bad("must have required property 'roomId'")
    );
    assert_eq!(
        app.get(&format!("{sync}?roomId={room_id}"), Some(&agent)).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-param-required", "The \"type\" or \"lastUpdate\" parameters must be provided")
        )
    );
    assert_eq!(
        app.get(&format!("{sync}?roomId={room_id}&lastUpdate=yesterday"), Some(&agent)).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-lastUpdate-param-invalid", "The \"lastUpdate\" query parameter must be a valid date")
        )
    );
    assert_eq!(
        app.get(&format!("{sync}?roomId={room_id}&lastUpdate={START_TEXT}&count=x"), Some(&agent)).await,
        bad("/count must be number")
    );
    let colleague = available_agent(&app, "colleague").await;
    assert_eq!(
        app.get(&format!("{sync}?roomId={room_id}&lastUpdate={START_TEXT}"), Some(&colleague)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );
    assert_eq!(
        app.get(&format!("{sync}?roomId=nope&lastUpdate={START_TEXT}"), Some(&agent)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );

    // The visitor's message routes.
    let path = "/api/v1/livechat/message/tok-1-hello";
    assert_eq!(app.get(&format!("{path}?token=tok-1"), None).await, bad("must have required property 'rid'"));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/message/{long_id}?token=tok-1&rid={room_id}"), None).await,
        bad("/_id must NOT have more than 256 characters")
    );
    assert_eq!(
        app.put(path, None, json!({"token": "tok-1", "rid": room_id})).await,
        bad("must have required property 'msg'")
    );
    assert_eq!(
        app.put(path, None, json!({"token": "tok-1", "rid": room_id, "msg": ["x"]})).await,
        bad("/msg must be string")
    );
    assert_eq!(
        app.put(path, None, json!({"token": "tok-1", "rid": room_id, "msg": "a".repeat(5001)})).await,
        bad("/msg must NOT have more than 5000 characters")
    );
    assert_eq!(
        app.call(Method::DELETE, path, None, Some(json!({"token": "tok-1"}))).await,
        bad("must have required property 'rid'")
    );
    assert_eq!(app.call(Method::DELETE, path, None, None).await, bad("must have required property 'token'"));
    for method in [Method::PUT, Method::DELETE] {
        let (status, body) = app.send_raw_json(method, path, &agent, "[1,").await;
        assert_eq!((status, &body["errorType"]), (StatusCode::BAD_REQUEST, &json!("error-invalid-json")));
    }
});

// An agent's reply racing the room's close: either it is stored before the close (and
// so before the closing message) or it is refused; never a message after the close.
both_backends!(a_reply_racing_the_close_lands_before_it_or_is_refused, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let app = Arc::new(app);
    for round in 0..10 {
        let token = format!("race-{round}");
        let room_id = served_room(&app, &agent, &token, None).await;
        let reply = {
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            tokio::spawn(async move { send(&app, &agent, &room_id, &format!("reply-{round}"), "Still there?").await })
        };
        let close = {
            let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
            tokio::spawn(async move {
                app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await
            })
        };
        let (reply, close) = (reply.await.unwrap(), close.await.unwrap());
        assert_eq!(close, (StatusCode::OK, json!({"success": true})));
        // The history, newest first (one clock instant: in the order stored).
        let (_, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token={token}"), None).await;
        let kinds: Vec<&str> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["t"].as_str().unwrap_or(message["msg"].as_str().unwrap()))
            .collect();
        match reply.0 {
            StatusCode::OK => assert_eq!(kinds, ["livechat-close", "Still there?", "Hello"], "{reply:?}"),
            _ => {
                assert_eq!(reply, (StatusCode::BAD_REQUEST, bare("room-closed")));
                assert_eq!(kinds, ["livechat-close", "Hello"]);
            }
        }
    }
});

// Concurrent deletions of a room's latest messages leave the latest remaining one as the
// room's last message and the count right.
both_backends!(concurrent_deletions_leave_the_right_last_message, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    for index in 0..6 {
        app.clock.advance(1_000);
        assert_eq!(send(&app, &agent, &room_id, &format!("m{index}"), &format!("m{index}")).await.0, StatusCode::OK);
    }
    let app = Arc::new(app);
    let deletions = (1..6).map(|index| {
        let (app, agent, room_id) = (app.clone(), agent.clone(), room_id.clone());
        tokio::spawn(async move {
            app.post("/api/v1/chat.delete", Some(&agent), json!({"roomId": room_id, "msgId": format!("m{index}")}))
                .await
        })
    });
    let results: Vec<(StatusCode, Value)> =
        futures::future::join_all(deletions).await.into_iter().map(Result::unwrap).collect();
    assert!(results.iter().all(|(status, _)| *status == StatusCode::OK), "{results:?}");
    let room = room_of(&app, "tok-1", &room_id).await;
    let m0 = plain("m0", &room_id, "m0", LATER_TEXT, agent_author(&agent, "agent"));
    assert_eq!((&room["lastMessage"], &room["msgs"], &room["lm"]), (&m0, &json!(2), &json!(LATER_TEXT)));
});
