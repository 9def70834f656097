//! HelpCrunch's chat object, rendered from the room row both faces share.

use serde_json::{Value, json};

use crate::domain::time::unix_seconds;
use crate::store::Room;

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
