//! A chat's messages: GET /v1/chats/{id}/messages and POST /v1/messages, over the same
//! message rows the Rocket.Chat face serves.
//!
//! A message posted here is stored as Rocket.Chat's `chat.sendMessage` (with `agent`)
//! or `livechat/message` (without) stores it: in one transaction with the room's last
//! message and the event the realtime streams publish, so it is at once in the room's
//! history, the chat's `lastMessageText` and the subscribers' streams. Where
//! HelpCrunch's documentation is silent, this face decides:
//! - Only `"type": "message"` is posted; HelpCrunch's private notes are not served.
//! - A closed chat takes no message: 400 `{"code":"chat","message":"Chat is closed"}`.
//! - The agent need not serve the chat: the API key acts as a manager.
//! - Messages are "tech" when they are Rocket.Chat's system messages (closing,
//!   transfers...); `read` is always false and `broadcastType` null.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{HelpCrunchError, HelpCrunchResult};
use super::extract::{HcBody, HcQuery, HcRequest};
use super::fields::{BLANK, ChatId, ChatLimit, ChatOffset, MessageTypeName, NOT_NUMERIC, NumericId};
use super::wire::{AgentRole, Nothing, UnixSeconds};
use crate::domain::chat_search::MAX_CHATS_PER_PAGE;
use crate::domain::ids::meteor_id;
use crate::domain::settings::MessageMaxAllowedSize;
use crate::http::AppState;
use crate::http::openapi::{HcBadRequest, HcJsonBody, HcKeyed, HcNotFound};
use crate::http::rocketchat::visitor::store_visitor_message;
use crate::store::{ChatMessage, Message, NewMessage, RoomAccess, StoreError, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(create))
}

/// A HelpCrunch message. Keys are in the order of HelpCrunch's documentation; fields
/// without a value are `null`, never missing.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HelpCrunchMessage {
    id: i64,
    /// The author, when it is an agent (a user of the server).
    #[schema(required = true)]
    agent: Option<MessageAgent>,
    #[serde(rename = "type")]
    kind: MessageKind,
    text: String,
    /// Always false.
    read: bool,
    created_at: UnixSeconds,
    /// When the message was last edited.
    #[schema(required = true)]
    updated_at: Option<UnixSeconds>,
    edited: bool,
    broadcast_type: Nothing,
    /// The chat's integer id.
    chat: i64,
    from: MessageFrom,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageAgent {
    id: i64,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    role: AgentRole,
}

/// `message`, or `tech` for Rocket.Chat's system messages.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum MessageKind {
    Message,
    Tech,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum MessageFrom {
    Agent,
    Customer,
}

impl HelpCrunchMessage {
    fn new(message: &Message, chat: i64, agent: Option<MessageAgent>) -> Self {
        Self {
            id: message.num_id,
            agent,
            kind: if message.kind.is_some() { MessageKind::Tech } else { MessageKind::Message },
            text: message.msg.clone(),
            read: false,
            created_at: UnixSeconds(message.ts),
            updated_at: message.edited_at.map(UnixSeconds),
            edited: message.edited_at.is_some(),
            broadcast_type: Nothing,
            chat,
            from: if message.from_visitor { MessageFrom::Customer } else { MessageFrom::Agent },
        }
    }

    fn of_row(row: &ChatMessage, chat: i64) -> Self {
        let agent = row.agent_num_id.map(|id| MessageAgent {
            id,
            name: row.message.author_name.clone(),
            email: row.agent_email.clone(),
            role: AgentRole::Agent,
        });
        Self::new(&row.message, chat, agent)
    }
}

/// A page of a chat's messages: `{"data": [...], "total": N}`, as HelpCrunch lists them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessagePage {
    data: Vec<HelpCrunchMessage>,
    #[schema(minimum = 0)]
    total: i64,
}

/// The query of GET /v1/chats/{id}/messages.
#[derive(Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct MessageListQuery {
    /// Messages to skip
    offset: Option<ChatOffset>,
    /// Messages per page, at most 100
    limit: Option<ChatLimit>,
}

impl HcRequest for MessageListQuery {}

/// A chat's messages, newest first.
#[utoipa::path(get, path = "/v1/chats/{id}/messages", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    params(("id" = i64, Path, description = "The chat's integer id"), MessageListQuery),
    responses(
        (status = 200, description = "A page of the chat's messages", body = MessagePage),
        (status = 400, response = HcBadRequest),
        (status = 404, response = HcNotFound),
        HcKeyed,
    ))]
async fn list(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    HcQuery(query): HcQuery<MessageListQuery>,
) -> HelpCrunchResult<Json<MessagePage>> {
    let chat = raw_id.parse::<i64>().map_err(|_| HelpCrunchError::invalid_field("id", NOT_NUMERIC))?;
    let room = state.store.room_by_num_id(chat).await?.ok_or_else(HelpCrunchError::chat_not_found)?;
    let offset = query.offset.map_or(0, |ChatOffset(offset)| offset);
    let limit = query.limit.map_or(MAX_CHATS_PER_PAGE, |ChatLimit(limit)| limit);
    let (rows, total) = state.store.chat_messages(&room.id, offset, limit).await?;
    Ok(Json(MessagePage { data: rows.iter().map(|row| HelpCrunchMessage::of_row(row, chat)).collect(), total }))
}

/// POST /v1/messages: a message of the chat's customer, or of `agent`. Unknown
/// properties are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NewMessageRequest {
    chat: ChatId,
    #[schema(min_length = 1, max_length = 5000)]
    text: String,
    /// Stored (and answered as `text`) instead of `text` when given.
    #[schema(max_length = 5000)]
    markdown_text: Option<String>,
    /// The agent writing; without it the chat's customer writes.
    agent: Option<NumericId>,
    /// Only `message`: checked when read, and so never needed after.
    #[allow(dead_code)]
    #[serde(rename = "type")]
    kind: MessageTypeName,
}

impl HcRequest for NewMessageRequest {}

/// Posts a message to an open chat.
#[utoipa::path(post, path = "/v1/messages", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = NewMessageRequest,
    responses(
        (status = 200, description = "The stored message", body = HelpCrunchMessage),
        (status = 404, response = HcNotFound),
        HcJsonBody,
        HcKeyed,
    ))]
async fn create(
    State(state): State<AppState>,
    HcBody(body): HcBody<NewMessageRequest>,
) -> HelpCrunchResult<Json<HelpCrunchMessage>> {
    let ChatId(chat) = body.chat;
    let text = body.markdown_text.as_deref().filter(|text| !text.trim().is_empty()).unwrap_or(&body.text);
    if text.trim().is_empty() {
        return Err(HelpCrunchError::invalid_field("text", BLANK));
    }
    let limit = state.store.setting::<MessageMaxAllowedSize>().await?;
    if text.chars().count() as u64 > limit {
        return Err(HelpCrunchError::invalid_field(
            "text",
            format!("This value is too long. It should have {limit} characters or less."),
        ));
    }
    let room = state.store.room_by_num_id(chat).await?.ok_or_else(HelpCrunchError::chat_not_found)?;
    let closed = || HelpCrunchError::invalid_field("chat", "Chat is closed");
    let message_id = meteor_id();
    let now = state.now();
    match body.agent {
        Some(NumericId(agent)) => {
            let agent = agent_user(&state, agent).await?;
            let message = NewMessage {
                id: &message_id,
                room_id: &room.id,
                msg: text,
                kind: None,
                author_id: &agent.id,
                author_username: &agent.username,
                author_name: Some(&agent.name),
                extra: None,
                now,
            };
            // The key acts as a manager: every room is within its reach.
            let access = RoomAccess {
                user_id: &agent.id,
                any_room: true,
                closed_rooms: true,
                closed_department_rooms: true,
                bound: None,
            };
            let stored = match state.store.add_agent_message(access, message).await {
                Err(StoreError::NotFound) => return Err(closed()),
                other => other?,
            };
            let author = MessageAgent {
                id: agent.num_id,
                name: Some(agent.name.clone()),
                email: agent.email.clone(),
                role: AgentRole::Agent,
            };
            Ok(Json(HelpCrunchMessage::new(&stored, chat, Some(author))))
        }
        None => {
            let visitor = state
                .store
                .visitor_by_id(&room.visitor_id)
                .await?
                .ok_or_else(|| HelpCrunchError::internal("a chat without its customer"))?;
            let (name, username) = (visitor.display_name(), visitor.username());
            let message = NewMessage {
                id: &message_id,
                room_id: &room.id,
                msg: text,
                kind: None,
                author_id: &visitor.id,
                author_username: &username,
                author_name: Some(&name),
                extra: None,
                now,
            };
            let stored = match store_visitor_message(&state, &visitor, message).await {
                Err(StoreError::NotFound) => return Err(closed()),
                other => other?,
            };
            Ok(Json(HelpCrunchMessage::new(&stored, chat, None)))
        }
    }
}

/// The livechat agent with this integer id; 404 "Agent not found" otherwise.
async fn agent_user(state: &AppState, num_id: i64) -> HelpCrunchResult<User> {
    let not_found = || HelpCrunchError::entity_not_found("Agent not found");
    let agent_id = state.store.agent_id_by_num_id(num_id).await?.ok_or_else(not_found)?;
    state.store.user_by_id(&agent_id).await?.ok_or_else(not_found)
}
