//! The realtime API: DDP over a WebSocket at `/websocket`, with real WebSocket clients
//! on real sockets. Visitors and agents log in, subscribe, and receive what others do
//! over REST; subscriptions outside the caller's reach are refused; malformed frames
//! close the connection; with PostgreSQL, an event written through one instance reaches
//! subscribers of another.

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use livechat_server::config::AppSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async, connect_async};

use crate::agent_messages::{send, served_room};
use crate::envelopes::{invalid_params, not_logged_in};
use crate::harness::{Backend, START, Session, TestApp, both_backends, open_store};
use crate::lifecycle::{available_agent, inquiry_of, visitor_with_room};

/// How long a test waits for a frame the server owes it.
pub(crate) const FRAME_WAIT: Duration = Duration::from_secs(10);

/// A DDP client over a real WebSocket.
pub(crate) struct Ddp {
    pub(crate) socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u32,
}

impl Ddp {
    /// Opens `/websocket` of the server at `base` without sending `connect`.
    pub(crate) async fn open(base: &str) -> Self {
        let url = format!("{}/websocket", base.replacen("http", "ws", 1));
        let (socket, _) = connect_async(url).await.expect("the WebSocket opens");
        Self { socket, next_id: 0 }
    }

    /// Opens `/websocket` and speaks DDP version 1.
    pub(crate) async fn connect(base: &str) -> Self {
        let mut ddp = Self::open(base).await;
        ddp.send(json!({"msg": "connect", "version": "1", "support": ["1"]})).await;
        let connected = ddp.recv().await;
        assert_eq!(connected["msg"], json!("connected"), "{connected}");
        assert_eq!(connected["session"].as_str().map(str::len), Some(17), "{connected}");
        ddp
    }

    pub(crate) async fn send(&mut self, frame: Value) {
        self.socket.send(Message::Text(frame.to_string().into())).await.expect("the frame is sent");
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// The next frame other than a WebSocket ping or pong.
    async fn next_message(&mut self) -> Message {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.socket.next())
                .await
                .expect("a frame arrives in time")
                .expect("the connection is open")
                .expect("the frame is readable");
            if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
                return message;
            }
        }
    }

    /// The next DDP frame.
    pub(crate) async fn recv(&mut self) -> Value {
        match self.next_message().await {
            Message::Text(text) => serde_json::from_str(&text).expect("a DDP frame is JSON"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The close frame the server ends the connection with.
    async fn closed(&mut self) -> Option<CloseFrame> {
        match self.next_message().await {
            Message::Close(frame) => frame,
            other => panic!("expected the connection to close, got {other:?}"),
        }
    }

    /// Calls a method: returns its `result` frame, after checking the `updated` after it.
    pub(crate) async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.id();
        self.send(json!({"msg": "method", "id": id, "method": method, "params": params})).await;
        let result = self.recv().await;
        assert_eq!(self.recv().await, json!({"msg": "updated", "methods": [id]}));
        result
    }

    /// Subscribes: returns the `ready` or `nosub` frame.
    pub(crate) async fn sub(&mut self, name: &str, params: Value) -> Value {
        let id = self.id();
        self.send(json!({"msg": "sub", "id": id, "name": name, "params": params})).await;
        self.recv().await
    }

    /// Logs a user in with its REST token.
    pub(crate) async fn login(&mut self, session: &Session) {
        let result = self.call("login", json!([{"resume": session.token}])).await;
        assert_eq!(result["result"]["id"], json!(session.user_id), "{result}");
    }
}

pub(crate) fn ready(id: &str) -> Value {
    json!({"msg": "ready", "subs": [id]})
}

pub(crate) fn not_allowed(id: &str) -> Value {
    json!({"msg": "nosub", "id": id, "error": {
        "isClientSafe": true, "error": "not-allowed", "message": "[not-allowed]", "errorType": "Meteor.Error"}})
}

/// The subscription options a visitor's widget sends with its token.
pub(crate) fn visitor_options(token: &str) -> Value {
    json!({"useCollection": false, "args": [{"token": token, "visitorToken": token}]})
}

/// A streamer event frame.
pub(crate) fn changed(stream: &str, event_name: &str, args: Value) -> Value {
    json!({"msg": "changed", "collection": format!("stream-{stream}"), "id": "id",
           "fields": {"eventName": event_name, "args": args}})
}

/// A REST shape as DDP carries it: instants as EJSON dates.
pub(crate) fn ejson(value: Value) -> Value {
    const DATES: [&str; 7] = ["ts", "_updatedAt", "editedAt", "queuedAt", "takenAt", "lastMessageTs", "closedAt"];
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| match (&value, DATES.contains(&key.as_str())) {
                    (Value::String(text), true) => {
                        let millis = chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis();
                        (key, json!({"$date": millis}))
                    }
                    _ => (key, ejson(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(ejson).collect()),
        other => other,
    }
}

/// The message `id` as REST returns it.
pub(crate) async fn message_over_rest(app: &TestApp, agent: &Session, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/chat.getMessage?msgId={id}"), Some(agent)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["message"].clone()
}

both_backends!(a_visitor_receives_the_agent_reply_sent_over_rest, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(
        widget.call("livechat:setUpConnection", json!([{"token": "tok-1"}])).await,
        json!({"msg": "result", "id": "1"})
    );
    assert_eq!(widget.sub("stream-room-messages", json!([room_id, visitor_options("tok-1")])).await, ready("2"));

    app.clock.advance(1_000);
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "Hi, how can I help?").await.0, StatusCode::OK);
    let reply = message_over_rest(&app, &agent, "reply-1").await;
    assert_eq!(reply["ts"], json!("2026-01-02T03:04:06.678Z"));
    assert_eq!(widget.recv().await, changed("room-messages", &room_id, json!([ejson(reply)])));

    // The visitor's own messages come back with its token, as REST shows them.
    let (status, body) = app
        .post("/api/v1/livechat/message", None, json!({"token": "tok-1", "rid": room_id, "msg": "Thanks", "_id": "m2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let thanks = message_over_rest(&app, &agent, "m2").await;
    assert_eq!(thanks["token"], json!("tok-1"));
    assert_eq!(widget.recv().await, changed("room-messages", &room_id, json!([ejson(thanks)])));

    // Pings are answered with their id.
    widget.send(json!({"msg": "ping", "id": "p1"})).await;
    assert_eq!(widget.recv().await, json!({"msg": "pong", "id": "p1"}));
});

both_backends!(a_widget_subscribes_with_its_token_alone_and_sees_edits_deletions_and_typing, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    // The widget names its token in the subscriptions only.
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-room-messages", json!([room_id, visitor_options("tok-1")])).await, ready("1"));
    let deletions = format!("{room_id}/deleteMessage");
    assert_eq!(widget.sub("stream-notify-room", json!([deletions, visitor_options("tok-1")])).await, ready("2"));
    let activity = format!("{room_id}/user-activity");
    assert_eq!(widget.sub("stream-notify-room", json!([activity, visitor_options("tok-1")])).await, ready("3"));
    // The agent's console.
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;
    assert_eq!(
        console.sub("stream-notify-room", json!([activity, {"useCollection": false, "args": []}])).await,
        ready("2")
    );

    // The visitor types: the agent hears it; the visitor's own connection does not (its
    // next frame is the reply written after).
    let typing = json!([activity, "guest-1", ["user-typing"], {"token": "tok-1"}]);
    assert_eq!(widget.call("stream-notify-room", typing).await, json!({"msg": "result", "id": "4"}));
    assert_eq!(console.recv().await, changed("notify-room", &activity, json!(["guest-1", ["user-typing"]])));

    app.clock.advance(1_000);
    assert_eq!(send(&app, &agent, &room_id, "reply-1", "Hi").await.0, StatusCode::OK);
    let reply = message_over_rest(&app, &agent, "reply-1").await;
    assert_eq!(widget.recv().await, changed("room-messages", &room_id, json!([ejson(reply)])));

    app.clock.advance(1_000);
    let edit = json!({"roomId": room_id, "msgId": "reply-1", "text": "Hi there"});
    assert_eq!(app.post("/api/v1/chat.update", Some(&agent), edit).await.0, StatusCode::OK);
    let edited = message_over_rest(&app, &agent, "reply-1").await;
    assert_eq!(edited["editedAt"], json!("2026-01-02T03:04:07.678Z"));
    assert_eq!(widget.recv().await, changed("room-messages", &room_id, json!([ejson(edited)])));

    let delete = json!({"roomId": room_id, "msgId": "reply-1"});
    assert_eq!(app.post("/api/v1/chat.delete", Some(&agent), delete).await.0, StatusCode::OK);
    assert_eq!(widget.recv().await, changed("notify-room", &deletions, json!([{"_id": "reply-1"}])));

    // After unsub, the room's messages no longer come: the deletion after the next
    // message is the next frame (a connection receives events in the order written).
    widget.send(json!({"msg": "unsub", "id": "1"})).await;
    assert_eq!(widget.recv().await, json!({"msg": "nosub", "id": "1"}));
    assert_eq!(send(&app, &agent, &room_id, "reply-2", "Anyone?").await.0, StatusCode::OK);
    let delete = json!({"roomId": room_id, "msgId": "reply-2"});
    assert_eq!(app.post("/api/v1/chat.delete", Some(&agent), delete).await.0, StatusCode::OK);
    assert_eq!(widget.recv().await, changed("notify-room", &deletions, json!([{"_id": "reply-2"}])));
});

both_backends!(the_queue_observer_sees_an_inquiry_enter_and_leave, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let mut console = Ddp::connect(&app.base).await;
    let result = console.call("login", json!([{"resume": agent.token}])).await;
    assert_eq!(
        result,
        json!({"msg": "result", "id": "1", "result": {
            "id": agent.user_id, "token": agent.token,
            "tokenExpires": {"$date": START + 90 * 24 * 60 * 60 * 1000}, "type": "resume"}})
    );
    assert_eq!(console.sub("stream-livechat-inquiry-queue-observer", json!(["public"])).await, ready("2"));
    let own = format!("agent/{}", agent.user_id);
    assert_eq!(console.sub("stream-livechat-inquiry-queue-observer", json!([own])).await, ready("3"));

    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let mut queued = ejson(inquiry_of(&app, &room_id).await);
    assert_eq!(queued["status"], json!("queued"));
    queued["type"] = json!("added");
    assert_eq!(console.recv().await, changed("livechat-inquiry-queue-observer", "public", json!([queued])));

    app.clock.advance(1_000);
    let inquiry_id = queued["_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let mut taken = ejson(inquiry_of(&app, &room_id).await);
    assert_eq!(taken["status"], json!("taken"));
    taken["type"] = json!("changed");
    assert_eq!(console.recv().await, changed("livechat-inquiry-queue-observer", "public", json!([taken])));

    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let removed = json!({"_id": inquiry_id, "rid": room_id, "department": null, "type": "removed"});
    assert_eq!(console.recv().await, changed("livechat-inquiry-queue-observer", "public", json!([removed])));
});

both_backends!(subscriptions_outside_the_callers_reach_are_refused, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    visitor_with_room(&app, "tok-2", None).await;

    // Another visitor, by its token or by its connection.
    let mut stranger = Ddp::connect(&app.base).await;
    assert_eq!(
        stranger.sub("stream-room-messages", json!([room_id, visitor_options("tok-2")])).await,
        not_allowed("1")
    );
    assert_eq!(
        stranger.call("livechat:setUpConnection", json!([{"token": "tok-2"}])).await,
        json!({"msg": "result", "id": "2"})
    );
    let deletions = format!("{room_id}/deleteMessage");
    assert_eq!(
        stranger.sub("stream-notify-room", json!([deletions, {"useCollection": false}])).await,
        not_allowed("3")
    );
    // An agent who neither serves the room nor may see every room.
    let mut console = Ddp::connect(&app.base).await;
    console.login(&other_agent).await;
    assert_eq!(console.sub("stream-room-messages", json!([room_id, false])).await, not_allowed("2"));
    assert_eq!(
        console.sub("stream-livechat-inquiry-queue-observer", json!(["department/nowhere"])).await,
        not_allowed("3")
    );
    let someone_else = format!("agent/{}", agent.user_id);
    assert_eq!(console.sub("stream-livechat-inquiry-queue-observer", json!([someone_else])).await, not_allowed("4"));
    // Nobody logged in.
    let mut anonymous = Ddp::connect(&app.base).await;
    assert_eq!(anonymous.sub("stream-livechat-inquiry-queue-observer", json!(["public"])).await, not_allowed("1"));
    assert_eq!(anonymous.sub("stream-room-messages", json!([room_id])).await, not_allowed("2"));
    assert_eq!(
        anonymous.sub("stream-room-messages", json!([])).await,
        json!({"msg": "nosub", "id": "3", "error": {"isClientSafe": true, "error": "invalid-event-name",
            "message": "[invalid-event-name]", "errorType": "Meteor.Error"}})
    );
    assert_eq!(
        anonymous.sub("stream-everything", json!(["x"])).await,
        json!({"msg": "nosub", "id": "4", "error": {"isClientSafe": true, "error": 404,
            "reason": "Subscription 'stream-everything' not found",
            "message": "Subscription 'stream-everything' not found [404]", "errorType": "Meteor.Error"}})
    );
});

/// The serving agent of `room_id` as `livechat/agent.info` shows it to the visitor.
pub(crate) async fn agent_info(app: &TestApp, room_id: &str, token: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/livechat/agent.info/{room_id}/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["agent"].clone()
}

both_backends!(a_widget_sets_up_its_connection_before_registering_and_hears_agents_take_the_room, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    // The widget names its token before the visitor exists.
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(
        widget.call("livechat:setUpConnection", json!([{"token": "tok-new"}])).await,
        json!({"msg": "result", "id": "1"})
    );
    // A second call does not change whose connection it is.
    assert_eq!(
        widget.call("livechat:setUpConnection", json!([{"token": "tok-2"}])).await,
        json!({"msg": "result", "id": "2"})
    );
    let (_, room_id) = visitor_with_room(&app, "tok-new", None).await;
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    // Subscriptions naming no token are the connection's visitor's.
    let no_token = json!({"useCollection": false, "args": []});
    assert_eq!(widget.sub("stream-livechat-room", json!([room_id, no_token])).await, ready("3"));
    assert_eq!(widget.sub("stream-room-messages", json!([room_id])).await, ready("4"));
    assert_eq!(widget.sub("stream-livechat-room", json!([other_room, no_token])).await, not_allowed("5"));

    take(&app, &agent, &room_id).await;
    let data = agent_info(&app, &room_id, "tok-new").await;
    assert_eq!(
        data,
        json!({"_id": agent.user_id, "username": "agent", "name": "agent", "status": "offline",
               "emails": [{"address": "agent@example.com", "verified": false}]})
    );
    let agent_data = json!([{"type": "agentData", "data": data}]);
    assert_eq!(widget.recv().await, changed("livechat-room", &room_id, agent_data));

    // A transfer to another agent names the new one.
    let forward = json!({"roomId": room_id, "userId": other_agent.user_id});
    let (status, body) = app.post("/api/v1/livechat/room.forward", Some(&app.admin), forward).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    // The transfer's system message comes first, on the room's messages.
    assert_eq!(widget.recv().await["collection"], json!("stream-room-messages"));
    let data = agent_info(&app, &room_id, "tok-new").await;
    assert_eq!(data["_id"], json!(other_agent.user_id));
    let agent_data = json!([{"type": "agentData", "data": data}]);
    assert_eq!(widget.recv().await, changed("livechat-room", &room_id, agent_data));

    // The serving agent's livechat status reaches the widget; an agent who no longer
    // serves the room is not heard (the next frame is the serving one's).
    for serving in [&agent, &other_agent] {
        let away = json!({"status": "not-available"});
        let (status, body) = app.post("/api/v1/livechat/agent.status", Some(serving), away).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "not-available", "success": true})));
    }
    let agent_status = json!([{"type": "agentStatus", "status": "not-available"}]);
    assert_eq!(widget.recv().await, changed("livechat-room", &room_id, agent_status));
});

both_backends!(the_agent_data_follows_the_agent_info_settings, |app| {
    let agent = available_agent(&app, "agent").await;
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-livechat-room", json!([room_id, visitor_options("tok-1")])).await, ready("1"));
    let hide = json!({"value": false});
    let (status, body) = app.post("/api/v1/settings/Livechat_show_agent_info", Some(&app.admin), hide).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));

    take(&app, &agent, &room_id).await;
    let agent_data = json!([{"type": "agentData", "data": {"hiddenInfo": true}}]);
    assert_eq!(widget.recv().await, changed("livechat-room", &room_id, agent_data));
});

/// Takes the room's inquiry as `agent`.
pub(crate) async fn take(app: &TestApp, agent: &Session, room_id: &str) {
    let inquiry_id = inquiry_of(app, room_id).await["_id"].clone();
    let answer = app.post("/api/v1/livechat/inquiries.take", Some(agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(answer, (StatusCode::OK, json!({"success": true})));
}

both_backends!(livechat_room_subscriptions_outside_the_callers_reach_are_refused, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    visitor_with_room(&app, "tok-2", None).await;

    let mut stranger = Ddp::connect(&app.base).await;
    assert_eq!(
        stranger.sub("stream-livechat-room", json!([room_id, visitor_options("tok-2")])).await,
        not_allowed("1")
    );
    assert_eq!(
        stranger.sub("stream-livechat-room", json!(["no-such-room", visitor_options("tok-2")])).await,
        not_allowed("2")
    );
    let mut console = Ddp::connect(&app.base).await;
    console.login(&other_agent).await;
    assert_eq!(console.sub("stream-livechat-room", json!([room_id, false])).await, not_allowed("2"));
    let mut anonymous = Ddp::connect(&app.base).await;
    assert_eq!(anonymous.sub("stream-livechat-room", json!([room_id])).await, not_allowed("1"));
    // The serving agent and an administrator may.
    let mut serving = Ddp::connect(&app.base).await;
    serving.login(&agent).await;
    assert_eq!(serving.sub("stream-livechat-room", json!([room_id, false])).await, ready("2"));
    let mut admin = Ddp::connect(&app.base).await;
    admin.login(&app.admin).await;
    assert_eq!(admin.sub("stream-livechat-room", json!([room_id, false])).await, ready("2"));
});

/// Room `room_id` as `livechat/rooms` lists it.
async fn listed_room(app: &TestApp, room_id: &str) -> Value {
    let (status, body) = app.get("/api/v1/livechat/rooms?count=100", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"].as_array().unwrap().iter().find(|room| room["_id"] == json!(room_id)).unwrap().clone()
}

/// The next `count` frames, ordered by event name (the frames of one event come in no
/// set order across subscriptions).
async fn frames_by_event_name(ddp: &mut Ddp, count: usize) -> Vec<Value> {
    let mut frames = Vec::new();
    for _ in 0..count {
        frames.push(ddp.recv().await);
    }
    frames.sort_by_key(|frame| frame["fields"]["eventName"].as_str().map(str::to_owned));
    frames
}

both_backends!(an_agent_hears_of_its_rooms_as_they_are_taken_and_closed, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;
    let rooms_changed = format!("{}/rooms-changed", agent.user_id);
    let subscriptions_changed = format!("{}/subscriptions-changed", agent.user_id);
    assert_eq!(console.sub("stream-notify-user", json!([rooms_changed, false])).await, ready("2"));
    assert_eq!(console.sub("stream-notify-user", json!([subscriptions_changed, false])).await, ready("3"));

    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    take(&app, &agent, &room_id).await;
    let room = listed_room(&app, &room_id).await;
    let (visitor, served_at) = (room["v"].clone(), ejson(json!({"ts": room["servedBy"]["ts"]}))["ts"].clone());
    let subscription = |open: bool| {
        json!({"_id": format!("{room_id}{}", agent.user_id), "rid": room_id,
               "u": {"_id": agent.user_id, "username": "agent"}, "name": visitor["username"],
               "fname": "Visitor tok-1", "t": "l", "open": open, "v": visitor, "ts": served_at})
    };
    let mut inserted = subscription(true);
    inserted["_updatedAt"] = ejson(room.clone())["_updatedAt"].clone();
    assert_eq!(
        frames_by_event_name(&mut console, 2).await,
        vec![
            changed("notify-user", &rooms_changed, json!(["inserted", ejson(room)])),
            changed("notify-user", &subscriptions_changed, json!(["inserted", inserted])),
        ]
    );

    // Another agent's room is not heard; the close of this one is.
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    take(&app, &other_agent, &other_room).await;
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let room = listed_room(&app, &room_id).await;
    let mut removed = subscription(false);
    removed["_updatedAt"] = ejson(room.clone())["_updatedAt"].clone();
    assert_eq!(
        frames_by_event_name(&mut console, 2).await,
        vec![
            changed("notify-user", &rooms_changed, json!(["updated", ejson(room)])),
            changed("notify-user", &subscriptions_changed, json!(["removed", removed])),
        ]
    );
});

both_backends!(only_the_user_itself_subscribes_to_its_notifications, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let rooms_changed = format!("{}/rooms-changed", agent.user_id);
    let mut console = Ddp::connect(&app.base).await;
    console.login(&other_agent).await;
    assert_eq!(console.sub("stream-notify-user", json!([rooms_changed, false])).await, not_allowed("2"));
    assert_eq!(console.sub("stream-notify-user", json!([other_agent.user_id, false])).await, not_allowed("3"));
    // Its own events other than these two are accepted (and never sent).
    let own = format!("{}/notification", other_agent.user_id);
    assert_eq!(console.sub("stream-notify-user", json!([own, false])).await, ready("4"));
    let mut anonymous = Ddp::connect(&app.base).await;
    assert_eq!(anonymous.sub("stream-notify-user", json!([rooms_changed, false])).await, not_allowed("1"));
    let mut widget = Ddp::connect(&app.base).await;
    visitor_with_room(&app, "tok-1", None).await;
    assert_eq!(
        widget.call("livechat:setUpConnection", json!([{"token": "tok-1"}])).await,
        json!({"msg": "result", "id": "1"})
    );
    assert_eq!(widget.sub("stream-notify-user", json!([rooms_changed, false])).await, not_allowed("2"));
});

both_backends!(agents_send_messages_over_ddp_as_over_rest, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let other_agent = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-room-messages", json!([room_id, visitor_options("tok-1")])).await, ready("1"));
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;

    app.clock.advance(1_000);
    let sent = console.call("sendMessage", json!([{"rid": room_id, "msg": "Hi over DDP", "_id": "ddp-1"}])).await;
    let stored = ejson(message_over_rest(&app, &agent, "ddp-1").await);
    assert_eq!(stored["msg"], json!("Hi over DDP"));
    assert_eq!(sent, json!({"msg": "result", "id": "2", "result": stored}));
    assert_eq!(widget.recv().await, changed("room-messages", &room_id, json!([stored])));

    // Only a room the caller may not write to is an error, as Rocket.Chat's method; an
    // unknown room, a taken id or a text over the limit answer nothing and write nothing.
    let mut other = Ddp::connect(&app.base).await;
    other.login(&other_agent).await;
    assert_eq!(
        other.call("sendMessage", json!([{"rid": room_id, "msg": "Not mine"}])).await,
        json!({"msg": "result", "id": "2", "error": {"isClientSafe": true, "error": "error-not-allowed",
            "message": "[error-not-allowed]", "errorType": "Meteor.Error"}})
    );
    for (id, message) in [
        ("3", json!({"rid": "no-such-room", "msg": "Hello?"})),
        ("4", json!({"rid": room_id, "msg": "Again", "_id": "ddp-1"})),
        ("5", json!({"rid": room_id, "msg": "x".repeat(5001)})),
        ("6", json!({"rid": room_id, "msg": ""})),
    ] {
        assert_eq!(console.call("sendMessage", json!([message])).await, json!({"msg": "result", "id": id}));
    }
    let match_failed = json!({"isClientSafe": true, "error": 400, "reason": "Match failed",
        "message": "Match failed [400]", "errorType": "Meteor.Error"});
    assert_eq!(
        console.call("sendMessage", json!([])).await,
        json!({"msg": "result", "id": "7", "error": match_failed})
    );
    assert_eq!(
        console.call("sendMessage", json!([{"rid": 1, "msg": "x"}])).await,
        json!({"msg": "result", "id": "8", "error": match_failed})
    );
    assert_eq!(
        console.call("sendMessage", json!([{"rid": room_id, "msg": "x", "pinned": true}])).await,
        json!({"msg": "result", "id": "9", "error": match_failed})
    );
    assert_eq!(message_over_rest(&app, &agent, "ddp-1").await["msg"], json!("Hi over DDP"));

    // A visitor's connection is no user.
    assert_eq!(
        widget.call("sendMessage", json!([{"rid": room_id, "msg": "Me too"}])).await,
        json!({"msg": "result", "id": "2", "error": {"isClientSafe": true, "error": "error-invalid-user",
            "reason": "Invalid user", "message": "Invalid user [error-invalid-user]", "errorType": "Meteor.Error"}})
    );

    // The same over method.call.
    app.clock.advance(1_000);
    let frame = method_frame("m1", "sendMessage", json!([{"rid": room_id, "msg": "Over REST", "_id": "rest-1"}]));
    let (status, body) = app.post("/api/v1/method.call/sendMessage", Some(&agent), frame).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = ejson(message_over_rest(&app, &agent, "rest-1").await);
    let result: Value = serde_json::from_str(body["message"].as_str().unwrap()).unwrap();
    assert_eq!(result, json!({"msg": "result", "id": "m1", "result": stored}));
    assert_eq!(body["success"], json!(true));
});

both_backends!(presence_methods_are_accepted_and_change_nothing, |app| {
    let agent = available_agent(&app, "agent").await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;
    assert_eq!(
        console.call("UserPresence:setDefaultStatus", json!(["away"])).await,
        json!({"msg": "result", "id": "2", "result": false})
    );
    assert_eq!(
        console.call("UserPresence:online", json!([])).await,
        json!({"msg": "result", "id": "3", "result": false})
    );
    assert_eq!(
        console.call("UserPresence:away", json!([])).await,
        json!({"msg": "result", "id": "4", "result": false})
    );
    // Without a login, nothing.
    let mut anonymous = Ddp::connect(&app.base).await;
    assert_eq!(anonymous.call("UserPresence:online", json!([])).await, json!({"msg": "result", "id": "1"}));
    let frame = method_frame("p1", "UserPresence:away", json!([]));
    assert_eq!(
        app.post("/api/v1/method.call/UserPresence:away", Some(&agent), frame).await,
        (StatusCode::OK, json!({"message": r#"{"msg":"result","id":"p1","result":false}"#, "success": true}))
    );
});

both_backends!(authentication_failures_answer_ddp_errors, |app| {
    let mut ddp = Ddp::connect(&app.base).await;
    let logged_out = "You've been logged out by the server. Please log in again.";
    assert_eq!(
        ddp.call("login", json!([{"resume": "not-a-token"}])).await,
        json!({"msg": "result", "id": "1", "error": {"isClientSafe": true, "error": 403, "reason": logged_out,
            "message": format!("{logged_out} [403]"), "errorType": "Meteor.Error"}})
    );
    assert_eq!(
        ddp.call("login", json!([{"user": "admin"}])).await,
        json!({"msg": "result", "id": "2", "error": {"isClientSafe": true, "error": 400,
            "reason": "Unrecognized options for login request",
            "message": "Unrecognized options for login request [400]", "errorType": "Meteor.Error"}})
    );
    let match_failed = json!({"isClientSafe": true, "error": 400, "reason": "Match failed",
        "message": "Match failed [400]", "errorType": "Meteor.Error"});
    for (id, params) in [
        ("3", json!([])),
        ("4", json!([{"token": 1}])),
        ("5", json!([{"token": "tok-1", "name": "Ada"}])),
        ("6", json!(["tok-1"])),
    ] {
        assert_eq!(
            ddp.call("livechat:setUpConnection", params).await,
            json!({"msg": "result", "id": id, "error": match_failed})
        );
    }
    assert_eq!(
        ddp.call("livechat:doEverything", json!([])).await,
        json!({"msg": "result", "id": "7", "error": {"isClientSafe": true, "error": 404,
            "reason": "Method 'livechat:doEverything' not found",
            "message": "Method 'livechat:doEverything' not found [404]", "errorType": "Meteor.Error"}})
    );
});

both_backends!(frames_out_of_protocol_are_answered_or_close_the_connection, |app| {
    // Plain HTTP is refused in Rocket.Chat's envelope.
    let response = app.client.get(app.url("/websocket")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"success": false, "error": "This path speaks DDP over a WebSocket only [error-websocket-required]",
               "errorType": "error-websocket-required"})
    );

    // Before `connect`, nothing else is served.
    let mut early = Ddp::open(&app.base).await;
    early.send(json!({"msg": "method", "id": "1", "method": "login", "params": []})).await;
    assert_eq!(early.recv().await, json!({"msg": "error", "reason": "Must connect first"}));
    // Another DDP version is declined, and the connection closed.
    early.send(json!({"msg": "connect", "version": "pre2", "support": ["pre2"]})).await;
    assert_eq!(early.recv().await, json!({"msg": "failed", "version": "1"}));
    let closed = early.closed().await.expect("a close frame");
    assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1000, "unsupported DDP version"));

    // Known frames missing fields and unknown ones are answered with an error.
    let mut ddp = Ddp::connect(&app.base).await;
    ddp.send(json!({"msg": "method", "id": 7, "method": "login"})).await;
    assert_eq!(
        ddp.recv().await,
        json!({"msg": "error", "reason": "Malformed method invocation",
               "offendingMessage": {"msg": "method", "id": 7, "method": "login"}})
    );
    ddp.send(json!({"msg": "sub", "id": "1", "name": "stream-room-messages", "params": "x"})).await;
    assert_eq!(
        ddp.recv().await,
        json!({"msg": "error", "reason": "Malformed subscription",
               "offendingMessage": {"msg": "sub", "id": "1", "name": "stream-room-messages", "params": "x"}})
    );
    ddp.send(json!({"msg": "teleport"})).await;
    assert_eq!(
        ddp.recv().await,
        json!({"msg": "error", "reason": "Bad request", "offendingMessage": {"msg": "teleport"}})
    );

    // A frame that is not DDP at all closes the connection with the reason.
    ddp.socket.send(Message::Text("{not json".into())).await.unwrap();
    let closed = ddp.closed().await.expect("a close frame");
    assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1007, "the frame is not JSON"));
    let mut ddp = Ddp::connect(&app.base).await;
    ddp.send(json!(["connect"])).await;
    let closed = ddp.closed().await.expect("a close frame");
    assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1007, "the frame is not a JSON object"));
    let mut ddp = Ddp::connect(&app.base).await;
    ddp.send(json!({"msg": "ping", "id": "x".repeat(70 * 1024)})).await;
    let closed = ddp.closed().await.expect("a close frame");
    assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1009, "frame too large"));
    let mut ddp = Ddp::connect(&app.base).await;
    ddp.send(json!({"msg": "ping", "id": "x".repeat(300 * 1024)})).await;
    let closed = ddp.closed().await.expect("a close frame");
    assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1002, "unreadable frame"));
    let mut ddp = Ddp::connect(&app.base).await;
    ddp.socket.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    let closed = ddp.closed().await.expect("a close frame");
    assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1003, "DDP frames are text"));
});

both_backends!(
    a_silent_client_is_pinged_then_disconnected,
    settings = AppSettings { realtime_heartbeat_secs: NonZeroU64::new(1).unwrap(), ..Default::default() },
    |app| {
        let mut ddp = Ddp::connect(&app.base).await;
        // Answering the server's ping keeps the connection.
        assert_eq!(ddp.recv().await, json!({"msg": "ping"}));
        ddp.send(json!({"msg": "pong"})).await;
        assert_eq!(ddp.recv().await, json!({"msg": "ping"}));
        // Silence past twice the heartbeat ends it.
        let closed = ddp.closed().await.expect("a close frame");
        assert_eq!((u16::from(closed.code), closed.reason.as_str()), (1001, "heartbeat timeout"));
    }
);

both_backends!(
    a_client_too_slow_to_read_its_frames_is_disconnected,
    settings = AppSettings { realtime_send_queue_frames: NonZeroUsize::new(2).unwrap(), ..Default::default() },
    |app| {
        const MESSAGES: usize = 600;
        let agent = available_agent(&app, "agent").await;
        let room_id = served_room(&app, &agent, "tok-1", None).await;
        // A client reading nothing, with a small receive buffer.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let address = app.base.trim_start_matches("http://").parse().unwrap();
        let stream = MaybeTlsStream::Plain(socket.connect(address).await.unwrap());
        let url = format!("{}/websocket", app.base.replacen("http", "ws", 1));
        let (socket, _) = client_async(url, stream).await.unwrap();
        let mut slow = Ddp { socket, next_id: 0 };
        slow.send(json!({"msg": "connect", "version": "1"})).await;
        slow.send(json!({"msg": "sub", "id": "1", "name": "stream-room-messages",
                         "params": [room_id, visitor_options("tok-1")]}))
            .await;
        let text = "x".repeat(5000);
        for index in 0..MESSAGES {
            assert_eq!(send(&app, &agent, &room_id, &format!("m{index}"), &text).await.0, StatusCode::OK);
        }
        // What reached the client before the server gave up on it, then the end.
        let mut received = 0;
        loop {
            match tokio::time::timeout(FRAME_WAIT, slow.socket.next()).await.expect("the connection ends in time") {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["msg"] == json!("changed") {
                        received += 1;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
        assert!(received < MESSAGES, "the slow client received all {received} messages");
    }
);

/// A DDP method frame as `method.call` carries it.
pub(crate) fn method_frame(id: &str, method: &str, params: Value) -> Value {
    json!({"message": json!({"msg": "method", "id": id, "method": method, "params": params}).to_string()})
}

both_backends!(methods_are_called_over_rest_too, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let mut console = Ddp::connect(&app.base).await;
    console.login(&agent).await;
    let activity = format!("{room_id}/user-activity");
    assert_eq!(console.sub("stream-notify-room", json!([activity, false])).await, ready("2"));

    // A visitor types through method.callAnon, naming its token.
    let typing =
        method_frame("7", "stream-notify-room", json!([activity, "guest-1", ["user-typing"], {"token": "tok-1"}]));
    assert_eq!(
        app.post("/api/v1/method.callAnon/stream-notify-room", None, typing).await,
        (StatusCode::OK, json!({"message": r#"{"msg":"result","id":"7"}"#, "success": true}))
    );
    assert_eq!(console.recv().await, changed("notify-room", &activity, json!(["guest-1", ["user-typing"]])));

    // Logged-in calls; a refusing method answers its error in the frame.
    let login = method_frame("8", "login", json!([{"resume": agent.token}]));
    let (status, body) = app.post("/api/v1/method.call/login", Some(&agent), login).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result: Value = serde_json::from_str(body["message"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({"msg": "result", "id": "8", "result": {"id": agent.user_id, "token": agent.token,
            "tokenExpires": {"$date": START + 90 * 24 * 60 * 60 * 1000}, "type": "resume"}})
    );
    let unknown = method_frame("9", "livechat:doEverything", json!([]));
    let (status, body) = app.post("/api/v1/method.call/livechat:doEverything", Some(&agent), unknown).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result: Value = serde_json::from_str(body["message"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({"msg": "result", "id": "9", "error": {"isClientSafe": true, "error": 404,
            "reason": "Method 'livechat:doEverything' not found",
            "message": "Method 'livechat:doEverything' not found [404]", "errorType": "Meteor.Error"}})
    );

    // Bad input.
    let invalid = (StatusCode::BAD_REQUEST, json!({"success": false, "error": "Invalid method call"}));
    for message in ["{not json", r#"{"msg":"sub","id":"1","name":"x"}"#, r#"{"msg":"method","id":1,"method":"login"}"#]
    {
        assert_eq!(app.post("/api/v1/method.callAnon/login", None, json!({"message": message})).await, invalid);
    }
    let refused = |message: &str| (StatusCode::BAD_REQUEST, invalid_params(message));
    assert_eq!(
        app.post("/api/v1/method.callAnon/login", None, json!({})).await,
        refused("must have required property 'message'")
    );
    assert_eq!(
        app.post("/api/v1/method.callAnon/login", None, json!({"message": 1})).await,
        refused("/message must be string")
    );
    assert_eq!(
        app.post("/api/v1/method.callAnon/login", None, json!({"message": "x".repeat(5001)})).await,
        refused("/message must NOT have more than 5000 characters")
    );
    let long_name = format!("/api/v1/method.callAnon/{}", "x".repeat(257));
    assert_eq!(
        app.post(&long_name, None, method_frame("1", "login", json!([]))).await,
        refused("/method must NOT have more than 256 characters")
    );
    assert_eq!(
        app.post("/api/v1/method.call/login", None, method_frame("1", "login", json!([]))).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

/// Opens `/websocket` as a browser page of `origin` would; the handshake's status and,
/// when refused, its body.
async fn handshake_from(base: &str, origin: &str) -> (u16, Value) {
    let url = format!("{}/websocket", base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("origin", origin.parse().unwrap());
    match connect_async(request).await {
        Ok((_, response)) => (response.status().as_u16(), Value::Null),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().map(|body| serde_json::from_slice(body).unwrap());
            (response.status().as_u16(), body.unwrap_or(Value::Null))
        }
        Err(error) => panic!("the handshake failed: {error}"),
    }
}

both_backends!(
    browser_pages_open_the_socket_from_this_origin_or_an_allowed_one,
    settings = AppSettings { cors_allowed_origins: vec!["https://www.example.com".into()], ..Default::default() },
    |app| {
        let own = app.base.clone();
        assert_eq!(handshake_from(&app.base, &own).await, (101, Value::Null));
        assert_eq!(handshake_from(&app.base, "https://www.example.com").await, (101, Value::Null));
        let refused = json!({"success": false, "error": "Origin not allowed [error-origin-not-allowed]",
                             "errorType": "error-origin-not-allowed"});
        assert_eq!(handshake_from(&app.base, "https://evil.example").await, (403, refused.clone()));
        assert_eq!(handshake_from(&app.base, "null").await, (403, refused));
    }
);

/// With PostgreSQL, two servers on one database: a visitor subscribed on instance A
/// receives the message an agent sends through instance B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn a_message_sent_through_one_instance_reaches_a_subscriber_of_another() {
    let app = TestApp::spawn_on(Backend::Postgres, AppSettings::default(), None).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let other = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (other_base, _stop) = app.start_another_server(other, AppSettings::default()).await;

    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-room-messages", json!([room_id, visitor_options("tok-1")])).await, ready("1"));
    let (status, body) = app
        .client
        .post(format!("{other_base}/api/v1/chat.sendMessage"))
        .header("X-User-Id", &agent.user_id)
        .header("X-Auth-Token", &agent.token)
        .json(&json!({"message": {"rid": room_id, "msg": "From B", "_id": "from-b"}}))
        .send()
        .await
        .map(|response| (response.status(), response))
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{:?}", body.text().await);
    let reply = message_over_rest(&app, &agent, "from-b").await;
    assert_eq!(widget.recv().await, changed("room-messages", &room_id, json!([ejson(reply)])));
}

/// With PostgreSQL, two servers on one database: a visitor subscribed on instance A
/// hears of the agent who takes its room through instance B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn an_agent_taking_a_room_on_one_instance_reaches_the_widget_on_another() {
    let app = TestApp::spawn_on(Backend::Postgres, AppSettings::default(), None).await;
    let agent = available_agent(&app, "agent").await;
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
    let other = open_store(&app.database_url, Duration::from_secs(10)).await;
    let (other_base, _stop) = app.start_another_server(other, AppSettings::default()).await;

    let mut widget = Ddp::connect(&app.base).await;
    assert_eq!(widget.sub("stream-livechat-room", json!([room_id, visitor_options("tok-1")])).await, ready("1"));
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
    let agent_data = json!([{"type": "agentData", "data": agent_info(&app, &room_id, "tok-1").await}]);
    assert_eq!(widget.recv().await, changed("livechat-room", &room_id, agent_data));
}
