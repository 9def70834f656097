//! HelpCrunch's chat object, rendered from the room row both faces share, and the
//! small types it is built from.

use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::chat::ChatStatus;
use crate::domain::time::{Millis, unix_seconds};
use crate::store::Room;

/// An instant as HelpCrunch sends it: UNIX seconds, as a string of digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnixSeconds(pub Millis);

impl Serialize for UnixSeconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&unix_seconds(self.0))
    }
}

impl PartialSchema for UnixSeconds {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]+$")).into()
    }
}

impl ToSchema for UnixSeconds {}

/// A field HelpCrunch has and this server never fills (rating, snoozing,
/// applications): always `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nothing;

impl Serialize for Nothing {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

impl PartialSchema for Nothing {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Nothing {}

/// A chat status as stored, which is always one of the statuses' wire names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusText(pub String);

impl Serialize for StatusText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl PartialSchema for StatusText {
    fn schema() -> RefOr<Schema> {
        let names = ChatStatus::ALL.map(ChatStatus::as_str);
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).into()
    }
}

impl ToSchema for StatusText {}

/// Who closed a chat, as stored: "agent" or "customer".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloserText(pub String);

impl Serialize for CloserText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl PartialSchema for CloserText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["agent", "customer"])).into()
    }
}

impl ToSchema for CloserText {}

/// A HelpCrunch chat. Keys are in the order of HelpCrunch's documentation; fields
/// without a value are `null`, never missing (hence `required` on each `Option`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Chat {
    id: i64,
    #[schema(required = true)]
    closed_by: Option<CloserText>,
    #[schema(required = true)]
    last_customer_message_at: Option<UnixSeconds>,
    status: StatusText,
    #[schema(required = true)]
    closed_at: Option<UnixSeconds>,
    rating: Nothing,
    created_at: UnixSeconds,
    #[schema(required = true)]
    last_message_at: Option<UnixSeconds>,
    created_with: String,
    snoozed_until: Nothing,
    #[schema(required = true)]
    last_message_text: Option<String>,
    #[schema(required = true)]
    last_message_id: Option<i64>,
    application_id: Nothing,
    #[schema(required = true)]
    last_communicated_agent_id: Option<i64>,
    agents: Vec<ChatAgent>,
    customer: ChatCustomer,
    #[schema(required = true)]
    assignee: Option<ChatAgent>,
    #[schema(required = true)]
    department: Option<ChatDepartment>,
    /// An addition of this server (HelpCrunch has none): when the chat's inquiry is due
    /// under its SLA policy (the Rocket.Chat face's `slaDueAt`); null without a policy.
    #[schema(required = true)]
    sla_due_at: Option<UnixSeconds>,
    /// An addition of this server: when the chat's inquiry was recorded as still
    /// waiting at that due time; null while it is not.
    #[schema(required = true)]
    sla_breached_at: Option<UnixSeconds>,
}

/// An agent of a chat.
#[derive(Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatAgent {
    id: i64,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    role: AgentRole,
}

/// Agents are "agent" on this face; Rocket.Chat's finer roles do not map to HelpCrunch's.
#[derive(Clone, Copy, Serialize, ToSchema)]
pub enum AgentRole {
    #[serde(rename = "agent")]
    Agent,
}

/// The customer of a chat: the Rocket.Chat visitor.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChatCustomer {
    id: i64,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    user_id: String,
}

/// The department of a chat.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatDepartment {
    id: i64,
    #[schema(required = true)]
    name: Option<String>,
}

impl From<&Room> for Chat {
    fn from(room: &Room) -> Self {
        let assignee = room.served_by_num_id.map(|id| ChatAgent {
            id,
            name: room.served_by_name.clone(),
            email: room.served_by_email.clone(),
            role: AgentRole::Agent,
        });
        let last_message = room.last_message();
        Self {
            id: room.num_id,
            closed_by: room.closed_by.clone().map(CloserText),
            last_customer_message_at: room.last_customer_message_at.map(UnixSeconds),
            status: StatusText(room.chat_status.clone()),
            closed_at: room.closed_at.map(UnixSeconds),
            rating: Nothing,
            created_at: UnixSeconds(room.ts),
            last_message_at: room.last_message_at.map(UnixSeconds),
            created_with: room.source_type.clone(),
            snoozed_until: Nothing,
            last_message_text: last_message.as_ref().map(|message| message.msg.clone()),
            last_message_id: last_message.as_ref().map(|message| message.num_id),
            application_id: Nothing,
            last_communicated_agent_id: room.served_by_num_id,
            agents: assignee.iter().cloned().collect(),
            customer: ChatCustomer {
                id: room.visitor_num_id,
                name: room.visitor_name.clone(),
                email: room.visitor_email.clone(),
                user_id: room.visitor_id.clone(),
            },
            assignee,
            department: room.department_num_id.map(|id| ChatDepartment { id, name: room.department_name.clone() }),
            sla_due_at: room.sla_due_at.map(UnixSeconds),
            sla_breached_at: room.sla_breached_at.map(UnixSeconds),
        }
    }
}

/// A page of chats.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatPage {
    data: Vec<Chat>,
    meta: PageMeta,
}

impl ChatPage {
    pub fn new(rooms: &[Room], total: i64) -> Self {
        Self { data: rooms.iter().map(Chat::from).collect(), meta: PageMeta { total } }
    }
}

/// What a HelpCrunch list says about itself.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageMeta {
    #[schema(minimum = 0)]
    pub total: i64,
}
