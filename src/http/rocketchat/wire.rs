//! How Rocket.Chat shows conversations: visitors, rooms, inquiries and messages.
//! Optional fields are left out when empty, as Rocket.Chat's documents omit them.

use serde_json::{Map, Value, json};

use crate::domain::time::iso;
use crate::http::openapi::{closed_object, closed_object_with_optional, open_object_with_optional, timestamp};
use crate::store::{Inquiry, Message, Room, Visitor};

/// The schema of [`visitor_json`].
pub fn visitor_schema() -> Value {
    closed_object_with_optional(
        json!({
            "_id": {"type": "string"},
            "username": {"type": "string"},
            "status": {"type": "string"},
            "ts": timestamp(),
            "_updatedAt": timestamp(),
            "token": {"type": "string"},
            "name": {"type": "string"},
            "phone": {"type": "array", "items": closed_object(json!({"phoneNumber": {"type": "string"}}))},
            "visitorEmails": {"type": "array", "items": closed_object(json!({"address": {"type": "string"}}))},
            "department": {"type": "string"},
        }),
        &["name", "phone", "visitorEmails", "department"],
    )
}

/// The schema of [`message_json`]. System messages carry further fields of their kind.
pub fn message_schema() -> Value {
    open_object_with_optional(
        json!({
            "_id": {"type": "string"},
            "rid": {"type": "string"},
            "msg": {"type": "string"},
            "t": {"type": "string"},
            "token": {"type": "string"},
            "alias": {"type": "string"},
            "ts": timestamp(),
            "u": closed_object(json!({
                "_id": {"type": "string"},
                "username": {"type": "string"},
                "name": {"type": ["string", "null"]},
            })),
            "_updatedAt": timestamp(),
            "urls": {"type": "array", "items": {"type": "object"}},
            "mentions": {"type": "array", "items": {"type": "object"}},
            "channels": {"type": "array", "items": {"type": "object"}},
            "md": {"type": "array", "items": {"type": "object"}},
        }),
        &["t", "token", "alias", "md"],
    )
}

/// The visitor as a room or an inquiry names it (`v`).
fn room_visitor_schema() -> Value {
    closed_object(json!({
        "_id": {"type": "string"},
        "username": {"type": "string"},
        "token": {"type": "string"},
        "status": {"type": "string"},
    }))
}

fn source_schema() -> Value {
    closed_object(json!({"type": {"type": "string"}}))
}

/// The schema of [`inquiry_json`].
pub fn inquiry_schema() -> Value {
    closed_object_with_optional(
        json!({
            "_id": {"type": "string"},
            "rid": {"type": "string"},
            "name": {"type": "string"},
            "ts": timestamp(),
            "message": {"type": "string"},
            "status": {"type": "string"},
            "v": room_visitor_schema(),
            "t": {"type": "string", "enum": ["l"]},
            "department": {"type": "string"},
            "priorityWeight": {"type": "integer"},
            "estimatedWaitingTimeQueue": {"type": "integer"},
            "slaId": {"type": "string"},
            "source": source_schema(),
            "_updatedAt": timestamp(),
            "lastMessage": message_schema(),
            "queuedAt": timestamp(),
            "takenAt": timestamp(),
        }),
        &["department", "slaId", "lastMessage", "queuedAt", "takenAt"],
    )
}

/// The schema of [`room_json`].
pub fn room_schema() -> Value {
    closed_object_with_optional(
        json!({
            "_id": {"type": "string"},
            "fname": {"type": "string"},
            "t": {"type": "string", "enum": ["l"]},
            "v": room_visitor_schema(),
            "departmentId": {"type": "string"},
            "cl": {"type": "boolean"},
            "open": {"type": "boolean"},
            "msgs": {"type": "integer", "minimum": 0},
            "usersCount": {"type": "integer", "minimum": 1},
            "ts": timestamp(),
            "_updatedAt": timestamp(),
            "lm": timestamp(),
            "lastMessage": message_schema(),
            "servedBy": closed_object_with_optional(
                json!({"_id": {"type": "string"}, "username": {"type": "string"}, "ts": timestamp()}),
                &["ts"],
            ),
            "source": source_schema(),
            "onHold": {"type": "boolean", "enum": [true]},
            "slaId": {"type": "string"},
            "estimatedWaitingTimeQueue": {"type": "integer"},
            "closedAt": timestamp(),
            "closer": {"type": "string", "enum": ["visitor", "user"]},
        }),
        &[
            "departmentId",
            "lm",
            "lastMessage",
            "servedBy",
            "onHold",
            "slaId",
            "estimatedWaitingTimeQueue",
            "closedAt",
            "closer",
        ],
    )
}

pub fn visitor_json(visitor: &Visitor) -> Value {
    let mut object = Map::new();
    object.insert("_id".into(), json!(visitor.id));
    object.insert("username".into(), json!(visitor.username()));
    object.insert("status".into(), json!(visitor.status));
    object.insert("ts".into(), json!(iso(visitor.created_at)));
    object.insert("_updatedAt".into(), json!(iso(visitor.updated_at)));
    object.insert("token".into(), json!(visitor.token));
    if let Some(name) = &visitor.name {
        object.insert("name".into(), json!(name));
    }
    if let Some(phone) = &visitor.phone {
        object.insert("phone".into(), json!([{"phoneNumber": phone}]));
    }
    if let Some(email) = &visitor.email {
        object.insert("visitorEmails".into(), json!([{"address": email}]));
    }
    if let Some(department) = &visitor.department_id {
        object.insert("department".into(), json!(department));
    }
    Value::Object(object)
}

pub fn message_json(message: &Message, visitor_token: Option<&str>) -> Value {
    let mut object = Map::new();
    object.insert("_id".into(), json!(message.id));
    object.insert("rid".into(), json!(message.room_id));
    object.insert("msg".into(), json!(message.msg));
    if let Some(kind) = &message.kind {
        object.insert("t".into(), json!(kind));
    }
    if message.from_visitor
        && let Some(token) = visitor_token
    {
        object.insert("token".into(), json!(token));
        if let Some(name) = &message.author_name {
            object.insert("alias".into(), json!(name));
        }
    }
    object.insert("ts".into(), json!(iso(message.ts)));
    object.insert(
        "u".into(),
        json!({"_id": message.author_id, "username": message.author_username, "name": message.author_name}),
    );
    object.insert("_updatedAt".into(), json!(iso(message.updated_at)));
    object.insert("urls".into(), json!([]));
    object.insert("mentions".into(), json!([]));
    object.insert("channels".into(), json!([]));
    if message.kind.is_none() {
        object.insert(
            "md".into(),
            json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": message.msg}]}]),
        );
    }
    if let Some(Value::Object(extra)) = message.extra.as_deref().and_then(|extra| serde_json::from_str(extra).ok()) {
        object.extend(extra);
    }
    Value::Object(object)
}

/// The full inquiry document, as inquiries.getOne and inquiries.queuedForUser return it.
pub fn inquiry_json(inquiry: &Inquiry) -> Value {
    let mut object = Map::new();
    object.insert("_id".into(), json!(inquiry.id));
    object.insert("rid".into(), json!(inquiry.room_id));
    object.insert("name".into(), json!(inquiry.name));
    object.insert("ts".into(), json!(iso(inquiry.ts)));
    object.insert("message".into(), json!(inquiry.message));
    object.insert("status".into(), json!(inquiry.status));
    object.insert(
        "v".into(),
        json!({
            "_id": inquiry.visitor_id,
            "username": inquiry.visitor_username(),
            "token": inquiry.visitor_token,
            "status": inquiry.visitor_status,
        }),
    );
    object.insert("t".into(), json!("l"));
    if let Some(department) = &inquiry.department_id {
        object.insert("department".into(), json!(department));
    }
    object.insert("priorityWeight".into(), json!(inquiry.priority_weight));
    object.insert("estimatedWaitingTimeQueue".into(), json!(inquiry.estimated_waiting_time_queue));
    if let Some(sla) = &inquiry.sla_id {
        object.insert("slaId".into(), json!(sla));
    }
    object.insert("source".into(), json!({"type": inquiry.source_type}));
    object.insert("_updatedAt".into(), json!(iso(inquiry.updated_at)));
    if let Some(message) = inquiry.last_message() {
        object.insert("lastMessage".into(), message_json(&message, Some(&inquiry.visitor_token)));
    }
    if let Some(queued_at) = inquiry.queued_at {
        object.insert("queuedAt".into(), json!(iso(queued_at)));
    }
    if let Some(taken_at) = inquiry.taken_at {
        object.insert("takenAt".into(), json!(iso(taken_at)));
    }
    Value::Object(object)
}

pub fn room_json(room: &Room) -> Value {
    let mut object = Map::new();
    object.insert("_id".into(), json!(room.id));
    object.insert("fname".into(), json!(room.fname));
    object.insert("t".into(), json!("l"));
    object.insert(
        "v".into(),
        json!({
            "_id": room.visitor_id,
            "username": room.visitor_username(),
            "token": room.visitor_token,
            "status": room.visitor_status,
        }),
    );
    if let Some(department) = &room.department_id {
        object.insert("departmentId".into(), json!(department));
    }
    object.insert("cl".into(), json!(false));
    object.insert("open".into(), json!(room.open));
    object.insert("msgs".into(), json!(room.message_count));
    object.insert("usersCount".into(), json!(if room.served_by.is_some() { 2 } else { 1 }));
    object.insert("ts".into(), json!(iso(room.ts)));
    object.insert("_updatedAt".into(), json!(iso(room.updated_at)));
    if let Some(at) = room.last_message_at {
        object.insert("lm".into(), json!(iso(at)));
    }
    if let Some(message) = room.last_message() {
        object.insert("lastMessage".into(), message_json(&message, Some(&room.visitor_token)));
    }
    if let (Some(agent_id), Some(username)) = (&room.served_by, &room.served_by_username) {
        let mut served_by = json!({"_id": agent_id, "username": username});
        if let Some(at) = room.served_at {
            served_by["ts"] = json!(iso(at));
        }
        object.insert("servedBy".into(), served_by);
    }
    object.insert("source".into(), json!({"type": room.source_type}));
    if room.chat_status == "on hold" {
        object.insert("onHold".into(), json!(true));
    }
    if let Some(sla) = &room.sla_id {
        object.insert("slaId".into(), json!(sla));
        object.insert("estimatedWaitingTimeQueue".into(), json!(room.estimated_waiting_time_queue));
    }
    if let Some(closed_at) = room.closed_at {
        object.insert("closedAt".into(), json!(iso(closed_at)));
        object.insert(
            "closer".into(),
            json!(if room.closed_by.as_deref() == Some("customer") { "visitor" } else { "user" }),
        );
    }
    Value::Object(object)
}
