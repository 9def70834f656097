//! One DDP connection's state: whether it connected, who logged in on it, its
//! subscriptions; its methods and the rules of its streams.
//!
//! Stream rules, as Rocket.Chat's: `stream-room-messages` `<rid>` and
//! `stream-notify-room` `<rid>/deleteMessage`, `<rid>/typing`, `<rid>/user-activity` are
//! open to the room's visitor (logged in with `livechat:setUpConnection`, or naming its
//! token in the subscription's `args`: `{token}` or `{visitorToken}`) and to users who
//! may see the room (the room access rules of the REST routes);
//! `stream-livechat-room` `<rid>` follows the same rules; `stream-notify-user`
//! `<uid>/<event>` is open to that user alone;
//! `stream-livechat-inquiry-queue-observer` is open to users holding `view-l-room`,
//! for `public`, for `department/<id>` of a department they belong to (any department
//! for users reaching all rooms) and for `agent/<their id>`.
//!
//! A subscription granted to the logged-in user is checked again when its access may
//! have changed: those of a room when the room's inquiry is queued or taken (a take,
//! a transfer, a return) or the room closes, and all of them when the user leaves a
//! department. Until a check grants it again, it receives nothing. A subscription of
//! the room's visitor is never checked again: the room stays the visitor's.

use std::collections::HashMap;

use axum::extract::ws::close_code;
use serde_json::{Value, json};

use super::frames::{self, ClientFrame, meteor_error, with_ejson_dates};
use super::methods;
use super::streams::{
    ACTIVITY_EVENTS, DELETE_MESSAGE, INQUIRY_QUEUE, LIVECHAT_ROOM, NOTIFY_ROOM, NOTIFY_USER, ROOM_MESSAGES, Stream,
};
use super::{MAX_SUBSCRIPTIONS, Outbox, TooSlow};
use crate::domain::ids::{meteor_id, token_digest};
use crate::domain::permissions::VIEW_L_ROOM;
use crate::domain::settings::{MessageMaxAllowedSize, SortingMechanism};
use crate::events::{BusEvent, PlaceWatch};
use crate::http::AppState;
use crate::http::rocketchat::messages::room_access;
use crate::http::rocketchat::wire::MessageView;
use crate::store::events::{DEPARTMENT_AGENT_REMOVED, INQUIRY_QUEUED, INQUIRY_TAKEN, ROOM_CLOSED};
use crate::store::{AuthUser, NewMessage, StoreError};

/// How long a resumed login token is announced as valid (`tokenExpires`), as
/// Rocket.Chat's default login expiration: 90 days.
const TOKEN_LIFETIME_MILLIS: i64 = 90 * 24 * 60 * 60 * 1000;

/// What the connection does after a frame.
pub enum Flow {
    Continue,
    Close(u16, &'static str),
    TooSlow,
}

impl From<Result<(), TooSlow>> for Flow {
    fn from(sent: Result<(), TooSlow>) -> Self {
        match sent {
            Ok(()) => Self::Continue,
            Err(TooSlow) => Self::TooSlow,
        }
    }
}

/// Why a method or a subscription was refused: the error DDP carries.
pub(super) struct Refusal(pub(super) Value);

impl Refusal {
    pub(super) fn new(error: Value, reason: Option<&str>) -> Self {
        Self(meteor_error(error, reason))
    }

    fn not_allowed() -> Self {
        Self::new(json!("not-allowed"), None)
    }

    pub(super) fn match_failed() -> Self {
        Self::new(json!(400), Some("Match failed"))
    }

    pub(super) fn internal() -> Self {
        Self::new(json!(500), Some("Internal server error"))
    }

    /// The error with the `details` Rocket.Chat's methods add: `{method}`.
    pub(super) fn of_method(self, method: &str) -> Self {
        let mut error = self.0;
        if let Value::Object(fields) = &mut error {
            fields.insert("details".into(), json!({"method": method}));
        }
        Self(error)
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "a realtime request failed in the store");
        Self::internal()
    }
}

/// Who speaks on a connection (or in one `method.call` request): the user or visitor it
/// logged in as, and the methods it calls.
pub struct Identity {
    /// The connection's DDP session id.
    pub(super) id: String,
    pub(super) state: AppState,
    pub(super) user: Option<AuthUser>,
    /// The token `livechat:setUpConnection` named: the visitor it belongs to (now or
    /// once registered) owns the connection.
    pub(super) visitor_token: Option<String>,
}

/// Through whom a subscription was granted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// The room's visitor: never checked again.
    Visitor,
    /// The logged-in user: checked again when its access may have changed.
    User,
}

/// One subscription of the connection.
struct Subscribed {
    stream: Stream,
    grant: Grant,
    /// Whether events reach it now (false once a check found the user may no longer see it).
    allowed: bool,
    /// For `stream-livechat-room`: the watch on the room's queue place.
    _place: Option<PlaceWatch>,
}

pub struct Session {
    identity: Identity,
    outbox: Outbox,
    connected: bool,
    subscriptions: HashMap<String, Subscribed>,
}

impl Session {
    pub fn new(state: AppState, outbox: Outbox) -> Self {
        Self { identity: Identity::new(state, None), outbox, connected: false, subscriptions: HashMap::new() }
    }

    pub fn ping(&self) -> Result<(), TooSlow> {
        self.outbox.send(frames::ping())
    }

    /// Sends the frames `event` becomes for this connection's subscriptions, after
    /// checking again those whose access the event may change.
    pub async fn deliver(&mut self, event: &BusEvent) -> Result<(), TooSlow> {
        self.check_access_again(event).await;
        for subscribed in self.subscriptions.values().filter(|subscribed| subscribed.allowed) {
            if let Some(frame) = subscribed.stream.frame_for(event, &self.identity.id) {
                self.outbox.send(frame)?;
            }
        }
        Ok(())
    }

    /// Checks again the user's subscriptions whose access `published` may change: those
    /// of its room for a queue change or a close; all of them (rooms and the
    /// department's queue) when the user left a department. Costs a read per affected
    /// subscription, only on such events; a failed read withholds events.
    async fn check_access_again(&mut self, published: &BusEvent) {
        let Some(user_id) = self.identity.user.as_ref().map(|user| user.id.clone()) else { return };
        let event = &published.event;
        let (room, left_department) = match event.kind.as_str() {
            INQUIRY_QUEUED | INQUIRY_TAKEN | ROOM_CLOSED => match &event.room_id {
                Some(room_id) => (Some(room_id.as_str()), None),
                None => return,
            },
            DEPARTMENT_AGENT_REMOVED => {
                let payload: Value = serde_json::from_str(&event.payload).unwrap_or_default();
                if payload["agentId"].as_str() != Some(user_id.as_str()) {
                    return;
                }
                (None, payload["departmentId"].as_str().map(|department| format!("department/{department}")))
            }
            _ => return,
        };
        let Self { identity, subscriptions, .. } = self;
        for subscribed in subscriptions.values_mut().filter(|subscribed| subscribed.grant == Grant::User) {
            let checked = match (&subscribed.stream, room) {
                (Stream::Queue { event_name }, None) if left_department.as_ref() == Some(event_name) => {
                    identity.may_observe_queue(event_name).await
                }
                (stream, None) => match stream.room_id() {
                    Some(room_id) => identity.user_may_see_room(room_id).await,
                    None => continue,
                },
                (stream, Some(room)) if stream.room_id() == Some(room) => identity.user_may_see_room(room).await,
                _ => continue,
            };
            subscribed.allowed = checked.unwrap_or(false);
        }
    }

    pub async fn handle(&mut self, frame: ClientFrame) -> Flow {
        match frame {
            ClientFrame::Connect { version } => {
                if version == "1" {
                    self.connected = true;
                    self.outbox.send(frames::connected(&self.identity.id)).into()
                } else {
                    match self.outbox.send(frames::failed()) {
                        Ok(()) => Flow::Close(close_code::NORMAL, "unsupported DDP version"),
                        Err(TooSlow) => Flow::TooSlow,
                    }
                }
            }
            _ if !self.connected => self.outbox.send(frames::error("Must connect first", None)).into(),
            ClientFrame::Ping { id } => self.outbox.send(frames::pong(id)).into(),
            ClientFrame::Pong => Flow::Continue,
            ClientFrame::Method { id, method, params } => {
                let outcome = self.identity.call(&method, params).await;
                match self.outbox.send(frames::result(&id, outcome)) {
                    Ok(()) => self.outbox.send(frames::updated(&id)).into(),
                    Err(TooSlow) => Flow::TooSlow,
                }
            }
            ClientFrame::Sub { id, name, params } => {
                let answer = match self.subscribe(&name, &params).await {
                    Ok(subscribed)
                        if self.subscriptions.len() < MAX_SUBSCRIPTIONS || self.subscriptions.contains_key(&id) =>
                    {
                        self.subscriptions.insert(id.clone(), subscribed);
                        frames::ready(&id)
                    }
                    Ok(_) => frames::nosub(&id, Some(meteor_error(json!("too-many-subscriptions"), None))),
                    Err(refusal) => frames::nosub(&id, Some(refusal.0)),
                };
                self.outbox.send(answer).into()
            }
            ClientFrame::Unsub { id } => {
                self.subscriptions.remove(&id);
                self.outbox.send(frames::nosub(&id, None)).into()
            }
            ClientFrame::Invalid { reason, frame } => self.outbox.send(frames::error(reason, Some(frame))).into(),
            ClientFrame::Unknown { frame } => self.outbox.send(frames::error("Bad request", Some(frame))).into(),
        }
    }

    async fn subscribe(&self, name: &str, params: &[Value]) -> Result<Subscribed, Refusal> {
        let event_name = match params.first() {
            Some(Value::String(event_name)) if !event_name.is_empty() => event_name.as_str(),
            _ => return Err(Refusal::new(json!("invalid-event-name"), None)),
        };
        // The streamer's options: `{useCollection, args: [...]}`, or a bare boolean.
        let token = params
            .get(1)
            .and_then(|options| options["args"].get(0))
            .and_then(|credentials| credentials["token"].as_str().or(credentials["visitorToken"].as_str()));
        let (stream, room_id) = match name.strip_prefix("stream-") {
            Some(ROOM_MESSAGES) => (Stream::RoomMessages { room_id: event_name.to_owned() }, event_name),
            Some(LIVECHAT_ROOM) => (Stream::LivechatRoom { room_id: event_name.to_owned() }, event_name),
            Some(NOTIFY_ROOM) => match event_name.split_once('/') {
                Some((room_id, DELETE_MESSAGE)) => (Stream::RoomDeletions { room_id: room_id.to_owned() }, room_id),
                Some((room_id, event)) if ACTIVITY_EVENTS.contains(&event) => {
                    (Stream::RoomActivity { room_id: room_id.to_owned(), event: event.to_owned() }, room_id)
                }
                _ => return Err(Refusal::not_allowed()),
            },
            Some(NOTIFY_USER) => {
                let own_user = self.identity.user.as_ref().map(|user| user.id.as_str());
                return match event_name.split_once('/') {
                    Some((user_id, event)) if Some(user_id) == own_user && !event.is_empty() => {
                        Ok(Self::granted(Stream::User { user_id: user_id.to_owned(), event: event.to_owned() }))
                    }
                    _ => Err(Refusal::not_allowed()),
                };
            }
            Some(INQUIRY_QUEUE) => {
                return if self.identity.may_observe_queue(event_name).await? {
                    Ok(Self::granted(Stream::Queue { event_name: event_name.to_owned() }))
                } else {
                    Err(Refusal::not_allowed())
                };
            }
            _ => return Err(Refusal::new(json!(404), Some(&format!("Subscription '{name}' not found")))),
        };
        let Some(grant) = self.identity.room_grant(room_id, token).await? else { return Err(Refusal::not_allowed()) };
        let place = match &stream {
            Stream::LivechatRoom { .. } => {
                let state = &self.identity.state;
                let sort = state.store.setting::<SortingMechanism>().await?;
                let place = state.store.queue_spot(room_id, sort).await?;
                Some(state.events.watch_queue_place(room_id, place))
            }
            _ => None,
        };
        Ok(Subscribed { stream, grant, allowed: true, _place: place })
    }

    /// A subscription the logged-in user was granted, on no room.
    fn granted(stream: Stream) -> Subscribed {
        Subscribed { stream, grant: Grant::User, allowed: true, _place: None }
    }
}

impl Identity {
    /// The identity of a connection, or of a REST caller (`user`).
    pub fn new(state: AppState, user: Option<AuthUser>) -> Self {
        Self { id: meteor_id(), state, user, visitor_token: None }
    }

    /// Calls a method: its result (none for methods that return nothing) or the error
    /// DDP carries.
    pub async fn call(&mut self, method: &str, params: Vec<Value>) -> Result<Option<Value>, Value> {
        self.dispatch(method, params).await.map_err(|refusal| refusal.0)
    }

    async fn dispatch(&mut self, method: &str, params: Vec<Value>) -> Result<Option<Value>, Refusal> {
        match methods::handler(method) {
            Some(handler) => handler(self, params).await,
            None => Err(Refusal::new(json!(404), Some(&format!("Method '{method}' not found")))),
        }
    }

    /// Presence is not kept here: a logged-in caller is told nothing changed.
    pub(super) fn presence(&self) -> Option<Value> {
        self.user.as_ref().map(|_| Value::Bool(false))
    }

    /// `login` with `{resume: <auth token>}`: the token of a REST login or a personal
    /// access token.
    pub(super) async fn login(&mut self, params: Vec<Value>) -> Result<Value, Refusal> {
        let Some(token) = params.first().and_then(|credentials| credentials["resume"].as_str()) else {
            return Err(Refusal::new(json!(400), Some("Unrecognized options for login request")));
        };
        let digest = token_digest(token);
        let logged_out =
            || Refusal::new(json!(403), Some("You've been logged out by the server. Please log in again."));
        let user = self.state.store.user_for_token(&digest).await?.ok_or_else(logged_out)?;
        let user = self.state.store.authenticate(&user.id, &digest).await?.ok_or_else(logged_out)?;
        let answer = json!({
            "id": user.id,
            "token": token,
            "tokenExpires": frames::ejson_date(self.state.now().saturating_add(TOKEN_LIFETIME_MILLIS)),
            "type": "resume",
        });
        self.user = Some(user);
        Ok(answer)
    }

    /// `livechat:setUpConnection` with `{token}` and nothing else: the visitor of that
    /// token owns this connection. As Rocket.Chat, any token is taken, a visitor not
    /// registered yet included (the widget calls this before it registers), and only
    /// the first call of a connection counts.
    pub(super) fn set_up_connection(&mut self, params: &[Value]) -> Result<(), Refusal> {
        let token = match params {
            [Value::Object(data)] if data.len() == 1 => data.get("token").and_then(Value::as_str),
            _ => None,
        };
        let Some(token) = token else { return Err(Refusal::match_failed()) };
        self.visitor_token.get_or_insert_with(|| token.to_owned());
        Ok(())
    }

    /// `sendMessage` with `{rid, msg, _id?}`: the logged-in user writes into a room, with
    /// the store call and room rules of REST `chat.sendMessage`. As Rocket.Chat's
    /// method, only a room the caller may not write to is an error; an unknown or closed
    /// room, an empty text or one over `Message_MaxAllowedSize`, or a message id taken
    /// answer no result and write nothing.
    pub(super) async fn send_message(&self, params: Vec<Value>) -> Result<Option<Value>, Refusal> {
        let Some(Value::Object(fields)) = params.first() else { return Err(Refusal::match_failed()) };
        let text = |key: &str| match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(Refusal::match_failed()),
        };
        if fields.keys().any(|key| !["_id", "rid", "msg"].contains(&key.as_str())) {
            return Err(Refusal::match_failed());
        }
        let (id, room_id, msg) = (text("_id")?, text("rid")?, text("msg")?);
        let Some(user) = &self.user else {
            return Err(Refusal::new(json!("error-invalid-user"), Some("Invalid user")));
        };
        let (Some(room_id), Some(msg)) = (room_id, msg.filter(|msg| !msg.is_empty())) else { return Ok(None) };
        let limit = self.state.store.setting::<MessageMaxAllowedSize>().await?;
        if msg.chars().count() as u64 > limit {
            return Ok(None);
        }
        let id = id.map_or_else(meteor_id, str::to_owned);
        let message = NewMessage {
            id: &id,
            room_id,
            msg,
            kind: None,
            author_id: &user.id,
            author_username: &user.username,
            author_name: Some(&user.name),
            extra: None,
            now: self.state.now(),
        };
        match self.state.store.add_agent_message(room_access(user), message).await {
            Ok(stored) => {
                let view = serde_json::to_value(MessageView::new(&stored, None)).map_err(|_| Refusal::internal())?;
                Ok(Some(with_ejson_dates(view)))
            }
            Err(StoreError::NotFound) => match self.state.store.room_state(room_id, room_access(user)).await? {
                Some(room) if !room.accessible => Err(Refusal::new(json!("error-not-allowed"), None)),
                _ => Ok(None),
            },
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// `stream-notify-room` `<rid>/typing` or `<rid>/user-activity` with the event's
    /// arguments (a visitor may add `{token}` last). Published to the room's other
    /// subscribers; refused silently when the caller may not write there, as
    /// Rocket.Chat's streamer does.
    pub(super) async fn notify_room(&mut self, params: Vec<Value>) -> Result<(), Refusal> {
        let Some((event_name, mut args)) = params.split_first().map(|(name, args)| (name.clone(), args.to_vec()))
        else {
            return Err(Refusal::match_failed());
        };
        let Some((room_id, event)) = event_name.as_str().and_then(|name| name.split_once('/')) else {
            return Err(Refusal::match_failed());
        };
        if !ACTIVITY_EVENTS.contains(&event) {
            return Ok(());
        }
        let named_token = match args.last() {
            Some(Value::Object(credentials)) if credentials.contains_key("token") => {
                let token = credentials["token"].as_str().map(str::to_owned);
                args.pop();
                token
            }
            _ => None,
        };
        if self.room_grant(room_id, named_token.as_deref()).await?.is_none() {
            return Ok(());
        }
        let payload = json!({"event": event, "args": args, "origin": self.id}).to_string();
        self.state.store.record_user_activity(room_id, &payload, self.state.now()).await?;
        Ok(())
    }

    /// Through whom the room may be seen: the connection's visitor or the visitor of
    /// `token` (the room's own), else the logged-in user; none when nobody may.
    async fn room_grant(&self, room_id: &str, token: Option<&str>) -> Result<Option<Grant>, Refusal> {
        let visitor_token = token.or(self.visitor_token.as_deref());
        if let Some(visitor_token) = visitor_token
            && let Some(room) = self.state.store.room_by_id(room_id).await?
            && room.visitor_token == visitor_token
        {
            return Ok(Some(Grant::Visitor));
        }
        Ok(self.user_may_see_room(room_id).await?.then_some(Grant::User))
    }

    /// Whether the logged-in user may see the room, by the REST routes' rules.
    async fn user_may_see_room(&self, room_id: &str) -> Result<bool, Refusal> {
        let Some(user) = &self.user else { return Ok(false) };
        let state = self.state.store.room_state(room_id, room_access(user)).await?;
        Ok(state.is_some_and(|state| state.accessible))
    }

    async fn may_observe_queue(&self, event_name: &str) -> Result<bool, Refusal> {
        let Some(user) = self.user.as_ref().filter(|user| user.holds(VIEW_L_ROOM)) else { return Ok(false) };
        if event_name == "public" {
            return Ok(true);
        }
        if let Some(agent) = event_name.strip_prefix("agent/") {
            return Ok(agent == user.id);
        }
        let Some(department) = event_name.strip_prefix("department/") else { return Ok(false) };
        if user.department_bound().is_none() {
            return Ok(true);
        }
        Ok(self.state.store.is_department_agent(department, &user.id).await?)
    }
}
