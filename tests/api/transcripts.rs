//! Transcripts mailed through a real SMTP relay (a sink on a loopback socket, see
//! `smtp_sink`): the visitor's `livechat/transcript`, the agents' request to mail one
//! on close (`livechat/transcript/{rid}`), and what happens when the relay is down or
//! refuses.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_messages::{room_of, send, served_room, set_setting};
use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, TestApp, both_backends};
use crate::lifecycle::{available_agent, visitor_with_room};
use crate::realtime_methods::{call_over_rest, failed, match_failed, meteor};
use crate::smtp_sink::{Behaviour, SmtpSink, closed_port};

/// How the transcript shows START.
const START_LLL: &str = "January 2, 2026 3:04 AM";

/// Points the server's SMTP settings at `port` on the loopback.
async fn relay_at(app: &TestApp, port: u16) {
    set_setting(app, "SMTP_Host", json!("127.0.0.1")).await;
    set_setting(app, "SMTP_Port", json!(port.to_string())).await;
    set_setting(app, "From_Email", json!("Support <support@example.com>")).await;
}

async fn mail_transcript(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/transcript", None, body).await
}

fn sent() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"message": "Omnichannel transcript sent", "success": true}))
}

fn not_sent() -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, json!({"success": false, "message": "Error sending Omnichannel transcript"}))
}

fn refused(error: &str) -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, bare(error))
}

/// One transcript entry as the mail's body lays it out.
fn entry(author: &str, msg: &str) -> String {
    format!("\n<p><strong>{author}</strong>  <em>{START_LLL}</em></p>\n<p>{msg}</p>\n")
}

/// The `requestData` of the room's transcript notes (`livechat_transcript_history`).
async fn transcript_notes(app: &TestApp) -> Vec<Value> {
    app.column_strings(
        "SELECT author_username || '|' || extra FROM messages WHERE kind = 'livechat_transcript_history' ORDER BY num_id",
    )
    .await
    .into_iter()
    .map(|row| {
        let (author, extra) = row.split_once('|').unwrap();
        json!({"author": author, "extra": serde_json::from_str::<Value>(extra).unwrap()})
    })
    .collect()
}

/// The visitor of `token` as a transcript note names it.
async fn noted_visitor(app: &TestApp, token: &str) -> Value {
    let (_, body) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    let visitor = &body["visitor"];
    json!({"_id": visitor["_id"], "token": token, "username": visitor["username"], "name": visitor["name"]})
}

fn rocket_cat() -> Value {
    json!({"_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat"})
}

both_backends!(the_visitor_mails_its_rooms_transcript_through_the_relay, clock = START, |app| {
    let sink = SmtpSink::start(Behaviour::Accept).await;
    relay_at(&app, sink.port).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "One moment <b>& more</b>").await.0, StatusCode::OK);

    assert_eq!(
        mail_transcript(
            &app,
            json!({"token": "tok-1", "rid": room_id, "email": "marcos@example.com", "subject": "Your chat"})
        )
        .await,
        sent()
    );
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!((mail.from.as_str(), mail.to.clone()), ("support@example.com", vec!["marcos@example.com".to_owned()]));
    assert_eq!(mail.header("Subject").as_deref(), Some("Your chat"));
    assert_eq!(mail.header("To").as_deref(), Some("marcos@example.com"));
    assert_eq!(mail.header("From").as_deref(), Some("Support <support@example.com>"));
    assert_eq!(mail.header("Reply-To").as_deref(), Some("Support <support@example.com>"));
    assert_eq!(mail.header("Content-Type").as_deref(), Some("text/html; charset=utf-8"));
    // Only plain messages, oldest first; the text is escaped.
    assert_eq!(
        mail.body(),
        format!(
            "<div> <hr>{}{}</div>",
            entry("You", "Hello"),
            entry("agent", "One moment &lt;b&gt;&amp; more&lt;/b&gt;")
        )
    );
    assert_eq!(
        transcript_notes(&app).await,
        vec![json!({"author": "rocket.cat", "extra": {"requestData": {
            "type": "visitor", "visitor": noted_visitor(&app, "tok-1").await, "user": rocket_cat()}}})]
    );

    // A closed room's transcript is mailed as well.
    let (status, _) = app.post("/api/v1/livechat/room.close", None, json!({"token": "tok-1", "rid": room_id})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": room_id, "email": "other@example.com"})).await,
        sent()
    );
    let mails = sink.wait_for(2).await;
    assert_eq!(mails[1].to, vec!["other@example.com".to_owned()]);
    assert_eq!(mails[1].header("Subject").as_deref(), Some("Transcript of your livechat conversation"));
});

both_backends!(the_subject_and_the_authors_follow_the_settings, clock = START, |app| {
    let sink = SmtpSink::start(Behaviour::Accept).await;
    relay_at(&app, sink.port).await;
    set_setting(&app, "Livechat_transcript_email_subject", json!("Our conversation")).await;
    set_setting(&app, "Livechat_show_agent_info", json!(false)).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "Hi").await.0, StatusCode::OK);

    // A blank subject falls back to the setting.
    let body = json!({"token": "tok-1", "rid": room_id, "email": "marcos@example.com", "subject": " "});
    assert_eq!(mail_transcript(&app, body).await, sent());
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.header("Subject").as_deref(), Some("Our conversation"));
    assert_eq!(mail.body(), format!("<div> <hr>{}{}</div>", entry("You", "Hello"), entry("Agent", "Hi")));
});

both_backends!(transcript_requests_are_refused_as_rocket_chat_refuses_them, |app| {
    let sink = SmtpSink::start(Behaviour::Accept).await;
    relay_at(&app, sink.port).await;
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    let email = "marcos@example.com";

    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": room_id})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'email'"))
    );
    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": room_id, "email": 7})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/email must be string"))
    );
    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": room_id, "email": "e".repeat(257)})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/email must NOT have more than 256 characters"))
    );
    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": room_id, "email": email, "cc": email})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(
        mail_transcript(&app, json!({"token": "no-such-token", "rid": room_id, "email": email})).await,
        refused("error-invalid-token")
    );
    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": "no-such-room", "email": email})).await,
        refused("error-invalid-room")
    );
    // Another visitor's room.
    assert_eq!(
        mail_transcript(&app, json!({"token": "tok-1", "rid": other_room, "email": email})).await,
        refused("error-invalid-room")
    );
    assert_eq!(sink.received().await.len(), 0);
    assert_eq!(transcript_notes(&app).await, Vec::<Value>::new());
});

both_backends!(a_relay_down_refusing_or_missing_sends_nothing_and_records_nothing, |app| {
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let body = json!({"token": "tok-1", "rid": room_id, "email": "marcos@example.com"});

    // No relay configured.
    assert_eq!(mail_transcript(&app, body.clone()).await, not_sent());
    // Nothing listens on the relay's port.
    relay_at(&app, closed_port().await).await;
    assert_eq!(mail_transcript(&app, body.clone()).await, not_sent());
    // The relay refuses the message.
    let refusing = SmtpSink::start(Behaviour::Refuse).await;
    relay_at(&app, refusing.port).await;
    assert_eq!(mail_transcript(&app, body.clone()).await, not_sent());
    // An address the relay cannot take.
    let sink = SmtpSink::start(Behaviour::Accept).await;
    relay_at(&app, sink.port).await;
    let bad_address = json!({"token": "tok-1", "rid": room_id, "email": "not an address"});
    assert_eq!(mail_transcript(&app, bad_address).await, not_sent());

    assert_eq!(refusing.received().await.len(), 0);
    assert_eq!(sink.received().await.len(), 0);
    assert_eq!(transcript_notes(&app).await, Vec::<Value>::new());
});

both_backends!(an_agents_transcript_request_is_mailed_when_the_room_closes, clock = START, |app| {
    let sink = SmtpSink::start(Behaviour::Accept).await;
    relay_at(&app, sink.port).await;
    let agent = available_agent(&app, "agent").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let path = format!("/api/v1/livechat/transcript/{room_id}");
    let request = json!({"email": "marcos@example.com", "subject": "Your transcript"});

    assert_eq!(app.post(&path, Some(&manager), request.clone()).await, (StatusCode::OK, json!({"success": true})));
    let mut room = room_of(&app, "tok-1", &room_id).await;
    assert_eq!(
        room["transcriptRequest"],
        json!({
            "requestedAt": "2026-01-02T03:04:05.678Z",
            "requestedBy": {"_id": manager.user_id, "username": "manager", "name": "manager", "utcOffset": 0},
            "email": "marcos@example.com", "subject": "Your transcript",
        })
    );
    // rooms.info shows the same room, request included.
    assert_eq!(
        app.get(&format!("/api/v1/rooms.info?roomId={room_id}"), Some(&manager)).await,
        (StatusCode::OK, json!({"room": room.clone(), "success": true}))
    );
    assert_eq!(
        app.post(&path, Some(&manager), request.clone()).await,
        (StatusCode::BAD_REQUEST, coded("error-transcript-already-requested", "Transcript already requested"))
    );

    // Withdrawn, then asked again.
    assert_eq!(app.delete(&path, Some(&manager)).await, (StatusCode::OK, json!({"success": true})));
    room.as_object_mut().unwrap().remove("transcriptRequest");
    assert_eq!(room_of(&app, "tok-1", &room_id).await, room);
    assert_eq!(app.delete(&path, Some(&manager)).await, refused("error-transcript-not-requested"));
    assert_eq!(app.post(&path, Some(&manager), request.clone()).await, (StatusCode::OK, json!({"success": true})));

    // Closing mails it, in the manager's name, and clears the request.
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["marcos@example.com".to_owned()]);
    assert_eq!(mail.header("Subject").as_deref(), Some("Your transcript"));
    assert_eq!(mail.body(), format!("<div> <hr>{}</div>", entry("You", "Hello")));
    let manager_note = json!({"_id": manager.user_id, "username": "manager", "name": "manager"});
    let expected = vec![json!({"author": "rocket.cat", "extra": {"requestData": {
        "type": "user", "visitor": noted_visitor(&app, "tok-1").await, "user": manager_note}}})];
    // The note follows the mail by a moment.
    for _ in 0..50 {
        if transcript_notes(&app).await == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(transcript_notes(&app).await, expected);
    assert_eq!(
        app.column_strings("SELECT id FROM rooms WHERE transcript_request IS NOT NULL").await,
        Vec::<String>::new()
    );
    // A closed room takes no request.
    assert_eq!(
        app.post(&path, Some(&manager), request.clone()).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-room", "Invalid room"))
    );
    assert_eq!(app.delete(&path, Some(&manager)).await, refused("error-invalid-room"));
});

both_backends!(transcript_requests_need_the_permission_and_the_room, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let path = format!("/api/v1/livechat/transcript/{room_id}");
    let request = json!({"email": "marcos@example.com", "subject": "Your transcript"});

    assert_eq!(app.post(&path, None, request.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // Agents lack send-omnichannel-chat-transcript by default.
    assert_eq!(app.post(&path, Some(&agent), request.clone()).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.delete(&path, Some(&agent)).await, (StatusCode::FORBIDDEN, no_permission()));
    let (status, body) = app
        .post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": "send-omnichannel-chat-transcript", "roles": ["admin", "livechat-agent"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An agent who may not see the room.
    assert_eq!(
        app.post(&path, Some(&other), request.clone()).await,
        (StatusCode::BAD_REQUEST, coded("error-not-allowed", "Not allowed"))
    );
    assert_eq!(
        app.delete(&path, Some(&other)).await,
        (StatusCode::BAD_REQUEST, coded("error-not-allowed", "Not allowed"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/transcript/no-such-room", Some(&agent), request.clone()).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-room", "Invalid room"))
    );
    assert_eq!(
        app.post(&path, Some(&agent), json!({"email": "marcos@example.com"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'subject'"))
    );
    assert_eq!(
        app.post(&path, Some(&agent), json!({"email": "marcos@example.com", "subject": "s".repeat(1025)})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/subject must NOT have more than 1024 characters"))
    );
    assert_eq!(app.post(&path, Some(&agent), request).await, (StatusCode::OK, json!({"success": true})));
});

both_backends!(an_agent_mails_a_transcript_over_the_livechat_send_transcript_method, clock = START, |app| {
    const METHOD: &str = "livechat:sendTranscript";
    let sink = SmtpSink::start(Behaviour::Accept).await;
    relay_at(&app, sink.port).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;

    // Agents lack send-omnichannel-chat-transcript by default, as in Rocket.Chat.
    let not_allowed = meteor(json!("error-not-allowed"), Some("Not allowed"), Some(METHOD));
    let params = json!(["tok-1", room_id, "marcos@example.com", "Your chat"]);
    assert_eq!(call_over_rest(&app, Some(&agent), "1", METHOD, params.clone()).await, failed("1", not_allowed.clone()));
    assert_eq!(call_over_rest(&app, None, "2", METHOD, params.clone()).await, failed("2", not_allowed));
    let invalid_room = meteor(json!("error-invalid-room"), Some("Invalid room"), Some(METHOD));
    assert_eq!(
        call_over_rest(&app, Some(&app.admin), "3", METHOD, json!(["tok-1", "nope", "marcos@example.com"])).await,
        failed("3", invalid_room)
    );
    assert_eq!(
        call_over_rest(&app, Some(&app.admin), "4", METHOD, json!(["tok-1", room_id, 5])).await,
        failed("4", match_failed())
    );
    assert_eq!(sink.received().await.len(), 0);

    assert_eq!(
        call_over_rest(&app, Some(&app.admin), "5", METHOD, params).await,
        json!({"msg": "result", "id": "5", "result": true})
    );
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, vec!["marcos@example.com".to_owned()]);
    assert_eq!(mail.header("Subject").as_deref(), Some("Your chat"));
    assert_eq!(mail.body(), format!("<div> <hr>{}</div>", entry("You", "Hello")));
});
