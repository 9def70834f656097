//! How Rocket.Chat shows conversations: visitors, rooms, inquiries and messages.
//! Optional fields are left out when empty, as Rocket.Chat's documents omit them.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::http::shapes::Timestamp;
use crate::store::{Inquiry, Message, Room, Visitor};

/// A visitor as Rocket.Chat shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorView {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    status: String,
    ts: Timestamp,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    phone: Option<[VisitorPhone; 1]>,
    #[serde(rename = "visitorEmails", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    visitor_emails: Option<[VisitorEmail; 1]>,
    /// The department's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    department: Option<String>,
    /// Of the registration, when Livechat_Allow_collect_and_store_HTTP_header_informations was on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ip: Option<String>,
    #[serde(rename = "userAgent", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    host: Option<String>,
    /// The contact's custom fields, once registered as a contact.
    #[serde(rename = "livechatData", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Object>)]
    livechat_data: Option<Value>,
    #[serde(rename = "contactManager", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    contact_manager: Option<ContactManager>,
}

/// The agent who manages a contact.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactManager {
    username: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorPhone {
    #[serde(rename = "phoneNumber")]
    phone_number: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorEmail {
    address: String,
}

impl From<&Visitor> for VisitorView {
    fn from(visitor: &Visitor) -> Self {
        Self {
            id: visitor.id.clone(),
            username: visitor.username(),
            status: visitor.status.clone(),
            ts: Timestamp(visitor.created_at),
            updated_at: Timestamp(visitor.updated_at),
            token: visitor.token.clone(),
            name: visitor.name.clone(),
            phone: visitor.phone.clone().map(|phone_number| [VisitorPhone { phone_number }]),
            visitor_emails: visitor.email.clone().map(|address| [VisitorEmail { address }]),
            department: visitor.department_id.clone(),
            ip: visitor.ip.clone(),
            user_agent: visitor.user_agent.clone(),
            host: visitor.host.clone(),
            livechat_data: visitor.livechat_data.as_deref().and_then(|data| serde_json::from_str(data).ok()),
            contact_manager: visitor.contact_manager.clone().map(|username| ContactManager { username }),
        }
    }
}

/// A message as Rocket.Chat shows it. System messages (`t`) carry further fields of
/// their kind, so the object stays open to them.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    #[serde(rename = "_id")]
    id: String,
    rid: String,
    msg: String,
    /// The kind of a system message (`livechat-close`, `omnichannel_sla_change_history`);
    /// absent on a plain text message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    t: Option<String>,
    /// The visitor's token, on the visitor's messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    token: Option<String>,
    /// The visitor's name, on the visitor's messages when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    alias: Option<String>,
    ts: Timestamp,
    u: MessageAuthor,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    /// When the text was last edited; absent on a message never edited.
    #[serde(rename = "editedAt", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    edited_at: Option<Timestamp>,
    /// Who last edited the text; present with `editedAt`.
    #[serde(rename = "editedBy", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    edited_by: Option<MessageEditor>,
    /// Always empty: links are not extracted.
    #[schema(value_type = Vec<Object>)]
    urls: Vec<Value>,
    /// Always empty: mentions are not extracted.
    #[schema(value_type = Vec<Object>)]
    mentions: Vec<Value>,
    /// Always empty: channels are not extracted.
    #[schema(value_type = Vec<Object>)]
    channels: Vec<Value>,
    /// The parsed text of a plain text message; absent on system messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    md: Option<[MarkdownParagraph; 1]>,
    /// The system message's own fields, e.g. `slaData` of an SLA change; never one of
    /// the fields above.
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Who wrote a message.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageAuthor {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    #[schema(required = true)]
    name: Option<String>,
}

/// Who edited a message.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageEditor {
    #[serde(rename = "_id")]
    id: String,
    username: String,
}

/// A paragraph of Rocket.Chat's parsed message text (`md`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MarkdownParagraph {
    #[serde(rename = "type")]
    kind: MarkdownParagraphKind,
    value: [MarkdownText; 1],
}

#[derive(Serialize, ToSchema)]
enum MarkdownParagraphKind {
    #[serde(rename = "PARAGRAPH")]
    Paragraph,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MarkdownText {
    #[serde(rename = "type")]
    kind: MarkdownTextKind,
    value: String,
}

#[derive(Serialize, ToSchema)]
enum MarkdownTextKind {
    #[serde(rename = "PLAIN_TEXT")]
    PlainText,
}

impl MessageView {
    /// The message; `visitor_token` is the token of the room's visitor, shown on the
    /// visitor's own messages.
    pub fn new(message: &Message, visitor_token: Option<&str>) -> Self {
        let (token, alias) = match visitor_token.filter(|_| message.from_visitor) {
            Some(token) => (Some(token.to_owned()), message.author_name.clone()),
            None => (None, None),
        };
        let md = match message.kind {
            None => Some([MarkdownParagraph {
                kind: MarkdownParagraphKind::Paragraph,
                value: [MarkdownText { kind: MarkdownTextKind::PlainText, value: message.msg.clone() }],
            }]),
            Some(_) => None,
        };
        let extra = match message.extra.as_deref().and_then(|extra| serde_json::from_str(extra).ok()) {
            Some(Value::Object(extra)) => extra,
            _ => Map::new(),
        };
        Self {
            id: message.id.clone(),
            rid: message.room_id.clone(),
            msg: message.msg.clone(),
            t: message.kind.clone(),
            token,
            alias,
            ts: Timestamp(message.ts),
            u: MessageAuthor {
                id: message.author_id.clone(),
                username: message.author_username.clone(),
                name: message.author_name.clone(),
            },
            updated_at: Timestamp(message.updated_at),
            edited_at: message.edited_at.map(Timestamp),
            edited_by: match (&message.edited_by_id, &message.edited_by_username) {
                (Some(id), Some(username)) => Some(MessageEditor { id: id.clone(), username: username.clone() }),
                _ => None,
            },
            urls: Vec::new(),
            mentions: Vec::new(),
            channels: Vec::new(),
            md,
            extra,
        }
    }
}

/// The visitor as a room or an inquiry names it (`v`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoomVisitor {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    token: String,
    status: String,
}

/// Where a conversation came from.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoomSource {
    #[serde(rename = "type")]
    kind: String,
}

/// Rocket.Chat's room type of a livechat room and its inquiry: `l`.
#[derive(Serialize, ToSchema)]
enum LivechatKind {
    #[serde(rename = "l")]
    Livechat,
}

/// An inquiry as inquiries.getOne and inquiries.queuedForUser return it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InquiryView {
    #[serde(rename = "_id")]
    id: String,
    rid: String,
    name: String,
    ts: Timestamp,
    message: String,
    status: String,
    v: RoomVisitor,
    t: LivechatKind,
    /// The department's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    department: Option<String>,
    /// The priority's `sortItem` (1 the highest) while it has one; 99 without.
    priority_weight: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    priority_id: Option<String>,
    estimated_waiting_time_queue: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sla_id: Option<String>,
    /// An addition of this server (Rocket.Chat has none): when the inquiry is due under
    /// its SLA policy, queued time plus the policy's minutes. Present with `slaId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sla_due_at: Option<Timestamp>,
    source: RoomSource,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_message: Option<MessageView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    queued_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    taken_at: Option<Timestamp>,
}

impl From<&Inquiry> for InquiryView {
    fn from(inquiry: &Inquiry) -> Self {
        Self {
            id: inquiry.id.clone(),
            rid: inquiry.room_id.clone(),
            name: inquiry.name.clone(),
            ts: Timestamp(inquiry.ts),
            message: inquiry.message.clone(),
            status: inquiry.status.clone(),
            v: RoomVisitor {
                id: inquiry.visitor_id.clone(),
                username: inquiry.visitor_username(),
                token: inquiry.visitor_token.clone(),
                status: inquiry.visitor_status.clone(),
            },
            t: LivechatKind::Livechat,
            department: inquiry.department_id.clone(),
            priority_weight: inquiry.priority_weight,
            priority_id: inquiry.priority_id.clone(),
            estimated_waiting_time_queue: inquiry.estimated_waiting_time_queue,
            sla_id: inquiry.sla_id.clone(),
            sla_due_at: inquiry.sla_due_at.map(Timestamp),
            source: RoomSource { kind: inquiry.source_type.clone() },
            updated_at: Timestamp(inquiry.updated_at),
            last_message: inquiry
                .last_message()
                .map(|message| MessageView::new(&message, Some(&inquiry.visitor_token))),
            queued_at: inquiry.queued_at.map(Timestamp),
            taken_at: inquiry.taken_at.map(Timestamp),
        }
    }
}

/// A livechat room as Rocket.Chat shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoomView {
    #[serde(rename = "_id")]
    id: String,
    fname: String,
    t: LivechatKind,
    v: RoomVisitor,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    department_id: Option<String>,
    /// Always false.
    cl: bool,
    open: bool,
    #[schema(minimum = 0)]
    msgs: i64,
    /// 1, or 2 while an agent serves the room.
    #[schema(minimum = 1)]
    users_count: i64,
    ts: Timestamp,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    /// When the last message was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    lm: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_message: Option<MessageView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    served_by: Option<ServedBy>,
    source: RoomSource,
    /// Present, and true, while the chat is on hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    on_hold: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    topic: Option<String>,
    /// Present while the room has tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    /// The values of room-scoped custom fields; present while there are any.
    #[serde(rename = "livechatData", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Object>)]
    livechat_data: Option<Value>,
    /// The visitor's survey answers (livechat/room.survey); present once given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Object>)]
    survey_feedback: Option<Value>,
    /// The transcript an agent asked to be emailed when the room closes
    /// (`POST livechat/transcript/{rid}`); present while asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Object>)]
    transcript_request: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sla_id: Option<String>,
    /// Present with `slaId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    estimated_waiting_time_queue: Option<i64>,
    /// An addition of this server (Rocket.Chat has none): when the inquiry is due under
    /// its SLA policy, queued time plus the policy's minutes. Present with `slaId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sla_due_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    priority_id: Option<String>,
    /// The priority's `sortItem` (1 the highest); present with `priorityId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    priority_weight: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    closed_at: Option<Timestamp>,
    /// Present with `closedAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    closer: Option<RoomCloser>,
}

/// The agent serving a room, and since when.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ServedBy {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ts: Option<Timestamp>,
}

/// Who closed a room.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum RoomCloser {
    Visitor,
    User,
}

impl From<&Room> for RoomView {
    fn from(room: &Room) -> Self {
        let served_by = match (&room.served_by, &room.served_by_username) {
            (Some(agent_id), Some(username)) => {
                Some(ServedBy { id: agent_id.clone(), username: username.clone(), ts: room.served_at.map(Timestamp) })
            }
            _ => None,
        };
        let closer = match room.closed_by.as_deref() {
            Some("customer") => RoomCloser::Visitor,
            _ => RoomCloser::User,
        };
        Self {
            id: room.id.clone(),
            fname: room.fname.clone(),
            t: LivechatKind::Livechat,
            v: RoomVisitor {
                id: room.visitor_id.clone(),
                username: room.visitor_username(),
                token: room.visitor_token.clone(),
                status: room.visitor_status.clone(),
            },
            department_id: room.department_id.clone(),
            cl: false,
            open: room.open,
            msgs: room.message_count,
            users_count: if room.served_by.is_some() { 2 } else { 1 },
            ts: Timestamp(room.ts),
            updated_at: Timestamp(room.updated_at),
            lm: room.last_message_at.map(Timestamp),
            last_message: room.last_message().map(|message| MessageView::new(&message, Some(&room.visitor_token))),
            served_by,
            source: RoomSource { kind: room.source_type.clone() },
            on_hold: room.on_hold().then_some(true),
            topic: room.topic.clone(),
            tags: room.tags(),
            livechat_data: room.livechat_data.as_deref().and_then(|data| serde_json::from_str(data).ok()),
            survey_feedback: room.survey_feedback.as_deref().and_then(|data| serde_json::from_str(data).ok()),
            transcript_request: room.transcript_request.as_deref().and_then(|data| serde_json::from_str(data).ok()),
            sla_id: room.sla_id.clone(),
            estimated_waiting_time_queue: room.sla_id.as_ref().map(|_| room.estimated_waiting_time_queue),
            priority_id: room.priority_id.clone(),
            priority_weight: room.priority_id.as_ref().map(|_| room.priority_weight),
            sla_due_at: room.sla_due_at.map(Timestamp),
            closed_at: room.closed_at.map(Timestamp),
            closer: room.closed_at.map(|_| closer),
        }
    }
}
