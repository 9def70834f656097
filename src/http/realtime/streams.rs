//! The streams a connection may subscribe to, who may, and which frames an event
//! becomes for a subscription.

use serde::Serialize;
use serde_json::{Value, json};

use super::frames::{ServerFrame, ejson_date, stream_event, with_ejson_dates};
use crate::events::{BusEvent, RoomAgent};
use crate::http::rocketchat::widget::ServingAgent;
use crate::http::rocketchat::wire::{InquiryView, MessageView, RoomView, VisitorView};
use crate::store::events::{
    AGENT_STATUS, INQUIRY_QUEUED, INQUIRY_TAKEN, MESSAGE_DELETED, MESSAGE_SENT, MESSAGE_UPDATED, ROOM_CLOSED,
    USER_ACTIVITY, VISITOR_CHANGED,
};
use crate::store::{Message, Room};

pub const ROOM_MESSAGES: &str = "room-messages";
pub const NOTIFY_ROOM: &str = "notify-room";
pub const INQUIRY_QUEUE: &str = "livechat-inquiry-queue-observer";
pub const LIVECHAT_ROOM: &str = "livechat-room";
pub const NOTIFY_USER: &str = "notify-user";

/// The events of `stream-notify-user` sent here, after `<uid>/`.
const ROOMS_CHANGED: &str = "rooms-changed";
const SUBSCRIPTIONS_CHANGED: &str = "subscriptions-changed";

/// The events of `stream-notify-room` served here, after `<rid>/`.
pub const DELETE_MESSAGE: &str = "deleteMessage";
pub const ACTIVITY_EVENTS: [&str; 2] = ["typing", "user-activity"];

/// What one subscription receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    /// `stream-room-messages` of a room: its new and edited messages.
    RoomMessages { room_id: String },
    /// `stream-notify-room` `<rid>/deleteMessage`.
    RoomDeletions { room_id: String },
    /// `stream-notify-room` `<rid>/typing` or `<rid>/user-activity`.
    RoomActivity { room_id: String, event: String },
    /// `stream-livechat-room` of a room: what its visitor's widget shows of it (here
    /// `agentData`, the agent serving it, whenever an agent takes it; `agentStatus`,
    /// that agent's livechat status, whenever it sets it; `queueData`, the room's place
    /// in the queue, whenever it changes while queued; `visitorData`, the visitor,
    /// whenever its data changes).
    LivechatRoom { room_id: String },
    /// `stream-notify-user` `<uid>/<event>` of a user: its rooms and subscriptions as
    /// rooms are taken by it, routed or transferred to it, and closed (other events
    /// are accepted and never sent).
    User { user_id: String, event: String },
    /// `stream-livechat-inquiry-queue-observer` with its event name: `public`,
    /// `department/<id>` or `agent/<id>`.
    Queue { event_name: String },
}

/// The queue observer event name an inquiry of this department is published under.
fn queue_event_name(department_id: Option<&str>) -> String {
    match department_id {
        Some(department) => format!("department/{department}"),
        None => "public".to_owned(),
    }
}

/// An inquiry as the queue observer sends it: Rocket.Chat's inquiry with its `type`.
fn queue_args(kind: &str, inquiry: Value) -> Vec<Value> {
    let mut inquiry = with_ejson_dates(inquiry);
    if let Value::Object(fields) = &mut inquiry {
        fields.insert("type".into(), Value::String(kind.to_owned()));
    }
    vec![inquiry]
}

/// Who sends the waiting visitor Rocket.Chat's queue message.
const QUEUE_MESSAGE_AUTHOR: &str = "rocket.cat";

impl Stream {
    /// The room the subscription is about, for the streams of one room.
    pub fn room_id(&self) -> Option<&str> {
        match self {
            Self::RoomMessages { room_id }
            | Self::RoomDeletions { room_id }
            | Self::RoomActivity { room_id, .. }
            | Self::LivechatRoom { room_id } => Some(room_id),
            Self::User { .. } | Self::Queue { .. } => None,
        }
    }

    /// The frame `event` becomes for this subscription, if any. `session` is the
    /// receiving connection's id: a connection does not hear its own typing.
    pub fn frame_for(&self, published: &BusEvent, session: &str) -> Option<ServerFrame> {
        let event = &published.event;
        let room_of_event = event.room_id.as_deref();
        match self {
            Self::RoomMessages { room_id } => {
                if room_of_event != Some(room_id) || !matches!(event.kind.as_str(), MESSAGE_SENT | MESSAGE_UPDATED) {
                    return None;
                }
                let message: Message = serde_json::from_str(&event.payload).ok()?;
                let view = MessageView::new(&message, event.visitor_token.as_deref());
                let message = with_ejson_dates(serde_json::to_value(view).ok()?);
                Some(stream_event(ROOM_MESSAGES, room_id, vec![message]))
            }
            Self::RoomDeletions { room_id } => {
                if room_of_event != Some(room_id) || event.kind != MESSAGE_DELETED {
                    return None;
                }
                let message: Message = serde_json::from_str(&event.payload).ok()?;
                let event_name = format!("{room_id}/{DELETE_MESSAGE}");
                Some(stream_event(NOTIFY_ROOM, &event_name, vec![json!({"_id": message.id})]))
            }
            Self::RoomActivity { room_id, event: activity } => {
                if room_of_event != Some(room_id) || event.kind != USER_ACTIVITY {
                    return None;
                }
                let payload: Value = serde_json::from_str(&event.payload).ok()?;
                if payload["event"].as_str() != Some(activity) || payload["origin"].as_str() == Some(session) {
                    return None;
                }
                let args = payload["args"].as_array().cloned().unwrap_or_default();
                Some(stream_event(NOTIFY_ROOM, &format!("{room_id}/{activity}"), args))
            }
            Self::LivechatRoom { room_id } => {
                if let Some((_, spot)) = published.queue_places.iter().find(|(queued, _)| queued == room_id) {
                    // Rocket.Chat's queue data: the place, and the waiting message (none is
                    // configured here) from rocket.cat; no estimated wait.
                    let author = json!({"_id": QUEUE_MESSAGE_AUTHOR, "username": QUEUE_MESSAGE_AUTHOR});
                    let data = json!({"spot": spot, "message": {"text": "", "user": author}});
                    return Some(stream_event(
                        LIVECHAT_ROOM,
                        room_id,
                        vec![json!({"type": "queueData", "data": data})],
                    ));
                }
                if room_of_event != Some(room_id) {
                    return None;
                }
                let change = match event.kind.as_str() {
                    INQUIRY_TAKEN => {
                        let RoomAgent { agent, show_info, show_email } = published.serving_agent.as_ref()?;
                        let data = ServingAgent::new(agent.clone(), *show_info, *show_email);
                        json!({"type": "agentData", "data": data})
                    }
                    AGENT_STATUS => {
                        let payload: Value = serde_json::from_str(&event.payload).ok()?;
                        json!({"type": "agentStatus", "status": payload["status"]})
                    }
                    VISITOR_CHANGED => {
                        let visitor = serde_json::to_value(VisitorView::from(published.visitor.as_ref()?)).ok()?;
                        json!({"type": "visitorData", "visitor": with_ejson_dates(visitor)})
                    }
                    _ => return None,
                };
                Some(stream_event(LIVECHAT_ROOM, room_id, vec![change]))
            }
            Self::User { user_id, event: user_event } => {
                let room = published.room.as_ref().filter(|room| room.served_by.as_ref() == Some(user_id))?;
                let (room_change, subscription_change) = match event.kind.as_str() {
                    INQUIRY_TAKEN if room.open => ("inserted", "inserted"),
                    ROOM_CLOSED if !room.open => ("updated", "removed"),
                    _ => return None,
                };
                let (change, shape) = match user_event.as_str() {
                    ROOMS_CHANGED => (room_change, serde_json::to_value(RoomView::from(room)).ok()?),
                    SUBSCRIPTIONS_CHANGED => (subscription_change, serde_json::to_value(Subscription::of(room)?).ok()?),
                    _ => return None,
                };
                let event_name = format!("{user_id}/{user_event}");
                Some(stream_event(NOTIFY_USER, &event_name, vec![json!(change), with_ejson_dates(shape)]))
            }
            Self::Queue { event_name } => {
                let (department, args) = match (event.kind.as_str(), &published.inquiry) {
                    (INQUIRY_QUEUED | INQUIRY_TAKEN, Some(inquiry)) => {
                        // Queued and still queued when read: it entered the queue; otherwise
                        // it changed, and a client drops an inquiry no longer queued.
                        let kind = if event.kind == INQUIRY_QUEUED && inquiry.status == "queued" {
                            "added"
                        } else {
                            "changed"
                        };
                        let view = serde_json::to_value(InquiryView::from(inquiry)).ok()?;
                        (inquiry.department_id.clone(), queue_args(kind, view))
                    }
                    (ROOM_CLOSED, None) => {
                        let closed: Value = serde_json::from_str(&event.payload).ok()?;
                        let inquiry_id = closed["inquiryId"].as_str()?;
                        let department = closed["departmentId"].as_str().map(str::to_owned);
                        let removed = json!({"_id": inquiry_id, "rid": room_of_event, "department": department});
                        (department, queue_args("removed", removed))
                    }
                    _ => return None,
                };
                (queue_event_name(department.as_deref()) == *event_name)
                    .then(|| stream_event(INQUIRY_QUEUE, event_name, args))
            }
        }
    }
}

/// The serving agent's subscription to a livechat room, as Rocket.Chat's
/// `subscriptions-changed` carries it. This server keeps no subscription rows: the
/// subscription is the room seen by the agent serving it, its id made of both ids.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    #[serde(rename = "_id")]
    id: String,
    rid: String,
    u: SubscribedUser,
    /// The visitor's username, as Rocket.Chat names a livechat subscription.
    name: String,
    fname: String,
    t: &'static str,
    open: bool,
    v: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    department: Option<String>,
    ts: Value,
    #[serde(rename = "_updatedAt")]
    updated_at: Value,
}

#[derive(Serialize)]
struct SubscribedUser {
    #[serde(rename = "_id")]
    id: String,
    username: String,
}

impl Subscription {
    fn of(room: &Room) -> Option<Self> {
        let (Some(user_id), Some(username)) = (&room.served_by, &room.served_by_username) else { return None };
        Some(Self {
            id: format!("{}{}", room.id, user_id),
            rid: room.id.clone(),
            u: SubscribedUser { id: user_id.clone(), username: username.clone() },
            name: room.visitor_username(),
            fname: room.fname.clone(),
            t: "l",
            open: room.open,
            v: json!({"_id": room.visitor_id, "username": room.visitor_username(), "token": room.visitor_token,
                      "status": room.visitor_status}),
            department: room.department_id.clone(),
            ts: ejson_date(room.served_at.unwrap_or(room.ts)),
            updated_at: ejson_date(room.updated_at),
        })
    }
}
