//! HelpCrunch's chat object, rendered from the room row both faces share.

use serde_json::{Value, json};

use crate::domain::time::unix_seconds;
use crate::http::openapi::{closed_object, schema_component};
use crate::store::Room;

/// UNIX seconds as a string, or `null`.
fn nullable_seconds() -> Value {
    json!({"type": ["string", "null"], "pattern": "^[0-9]+$"})
}

fn agent_schema() -> Value {
    closed_object(json!({
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "role": {"type": "string"},
    }))
}

/// The schema of [`chat_json`].
pub fn chat_schema() -> Value {
    closed_object(json!({
        "id": {"type": "integer"},
        "closedBy": {"type": ["string", "null"], "enum": ["agent", "customer", null]},
        "lastCustomerMessageAt": nullable_seconds(),
        "status": {"type": "string", "enum": ["new", "opened", "pending", "on hold", "no communication", "closed"]},
        "closedAt": nullable_seconds(),
        "rating": {"type": "null"},
        "createdAt": {"type": "string", "pattern": "^[0-9]+$"},
        "lastMessageAt": nullable_seconds(),
        "createdWith": {"type": "string"},
        "snoozedUntil": {"type": "null"},
        "lastMessageText": {"type": ["string", "null"]},
        "lastMessageId": {"type": ["integer", "null"]},
        "applicationId": {"type": "null"},
        "lastCommunicatedAgentId": {"type": ["integer", "null"]},
        "agents": {"type": "array", "items": agent_schema()},
        "customer": closed_object(json!({
            "id": {"type": "integer"},
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "userId": {"type": "string"},
        })),
        "assignee": {"oneOf": [agent_schema(), {"type": "null"}]},
        "department": {"oneOf": [
            closed_object(json!({"id": {"type": "integer"}, "name": {"type": ["string", "null"]}})),
            {"type": "null"},
        ]},
    }))
}

schema_component!(
    /// A HelpCrunch chat.
    Chat => chat_schema()
);
schema_component!(
    /// A page of chats.
    ChatPage => closed_object(json!({
        "data": {"type": "array", "items": chat_schema()},
        "meta": closed_object(json!({"total": {"type": "integer", "minimum": 0}})),
    }))
);

/// Agents are "agent" on this face; Rocket.Chat's finer roles do not map to HelpCrunch's.
const AGENT_ROLE: &str = "agent";

/// The chat object, keys in the order of HelpCrunch's documentation; fields without a
/// value are `null`, never missing. Rating, snoozing and applications do not exist here.
pub fn chat_json(room: &Room) -> Value {
    let assignee = room
        .served_by_num_id
        .map(|id| json!({"id": id, "name": room.served_by_name, "email": room.served_by_email, "role": AGENT_ROLE}));
    let department = room.department_num_id.map(|id| json!({"id": id, "name": room.department_name}));
    let last_message = room.last_message();
    json!({
        "id": room.num_id,
        "closedBy": room.closed_by,
        "lastCustomerMessageAt": room.last_customer_message_at.map(unix_seconds),
        "status": room.chat_status,
        "closedAt": room.closed_at.map(unix_seconds),
        "rating": null,
        "createdAt": unix_seconds(room.ts),
        "lastMessageAt": room.last_message_at.map(unix_seconds),
        "createdWith": room.source_type,
        "snoozedUntil": null,
        "lastMessageText": last_message.as_ref().map(|message| message.msg.clone()),
        "lastMessageId": last_message.as_ref().map(|message| message.num_id),
        "applicationId": null,
        "lastCommunicatedAgentId": room.served_by_num_id,
        "agents": assignee.iter().cloned().collect::<Vec<_>>(),
        "customer": {
            "id": room.visitor_num_id,
            "name": room.visitor_name,
            "email": room.visitor_email,
            "userId": room.visitor_id,
        },
        "assignee": assignee,
        "department": department,
    })
}
