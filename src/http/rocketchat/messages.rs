//! Agents' messages in livechat rooms: send, edit, delete, read one (Rocket.Chat's
//! chat.* routes). Who may see a room follows Rocket.Chat's livechat room access
//! validators (see `sql::room_access`); every change carries that check, the room's
//! state and the caller's right to the message in its one statement.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::visitor::{duplicated_message_id, room_closed};
use super::wire::MessageView;
use crate::domain::ids::meteor_id;
use crate::domain::page::Page;
use crate::domain::permissions::{
    DELETE_MESSAGE, DELETE_OWN_MESSAGE, EDIT_MESSAGE, FORCE_DELETE_MESSAGE, VIEW_LIVECHAT_ROOM_CLOSED_BY_ANOTHER_AGENT,
    VIEW_LIVECHAT_ROOM_CLOSED_SAME_DEPARTMENT, VIEW_LIVECHAT_ROOMS,
};
use crate::domain::settings::{MessageAllowDeleting, MessageAllowEditing, MessageMaxAllowedSize};
use crate::domain::time::parse_instant;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::whole_number;
use crate::http::extract::{Body, Caller, LoggedIn, Query, WordedBody, Wording, ajv_refusal};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcSignedIn};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Success, Timestamp};
use crate::store::{AuthUser, Message, MessageActor, NewMessage, RoomAccess, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(update_message))
        .routes(routes!(delete_message))
        .routes(routes!(get_message))
        .routes(routes!(sync_messages))
}

/// The rooms `caller` may see, from its permissions.
pub(crate) fn room_access(caller: &AuthUser) -> RoomAccess<'_> {
    RoomAccess {
        user_id: &caller.id,
        any_room: caller.holds(VIEW_LIVECHAT_ROOMS),
        closed_rooms: caller.holds(VIEW_LIVECHAT_ROOM_CLOSED_BY_ANOTHER_AGENT),
        closed_department_rooms: caller.holds(VIEW_LIVECHAT_ROOM_CLOSED_SAME_DEPARTMENT),
        bound: caller.department_bound(),
    }
}

/// `{message: {rid, msg, _id?}}`; `previewUrls` is accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SendMessageBody {
    message: OutgoingMessage,
    /// Accepted and ignored.
    #[allow(dead_code)]
    preview_urls: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OutgoingMessage {
    /// The room's id.
    #[schema(max_length = 256)]
    rid: String,
    /// At most Message_MaxAllowedSize characters, and never more than 5000.
    #[schema(min_length = 1, max_length = 5000)]
    msg: String,
    /// The message's id, chosen by the client.
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: Option<String>,
}

/// Rocket.Chat refuses a text longer than Message_MaxAllowedSize with its own error.
impl Wording for SendMessageBody {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::TooLong { at, .. } if at == "/message/msg" => size_exceeded(),
            other => ajv_refusal(other),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateMessageBody {
    #[schema(max_length = 256)]
    room_id: String,
    #[schema(max_length = 256)]
    msg_id: String,
    /// The new text: at most Message_MaxAllowedSize characters, and never more than 5000.
    #[schema(max_length = 5000)]
    text: String,
    /// Accepted and ignored.
    #[allow(dead_code)]
    preview_urls: Option<Value>,
}

impl Wording for UpdateMessageBody {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::TooLong { at, .. } if at == "/text" => size_exceeded(),
            other => ajv_refusal(other),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeleteMessageBody {
    #[schema(max_length = 256)]
    room_id: String,
    #[schema(max_length = 256)]
    msg_id: String,
    /// Delete another's message in its author's name (needs force-delete-message).
    as_user: Option<bool>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct GetMessageQuery {
    /// The message's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    msg_id: String,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SyncMessagesQuery {
    /// The room's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_id: String,
    /// An RFC 3339 instant: messages changed or deleted after it are listed
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    last_update: Option<String>,
    /// At most this many of each list (the configured default when absent)
    #[schema(minimum = 0)]
    #[param(value_type = Option<u32>)]
    count: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SyncedMessages {
    result: SyncResult,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SyncResult {
    /// Messages written or edited since `lastUpdate`, newest first.
    updated: Vec<MessageView>,
    /// Messages deleted since `lastUpdate`.
    deleted: Vec<DeletedSince>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeletedSince {
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_deletedAt")]
    deleted_at: Timestamp,
}

/// `{message, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneMessage {
    message: MessageView,
    success: Success,
}

impl OneMessage {
    fn of(message: &Message, visitor_token: Option<&str>) -> Json<Self> {
        Json(Self { message: MessageView::new(message, visitor_token), success: Success })
    }
}

/// What chat.delete answers: the id, the time as milliseconds in a string, and the
/// message's id, room and author.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeletedMessage {
    #[serde(rename = "_id")]
    id: String,
    /// Milliseconds since the epoch, as a string.
    ts: String,
    message: DeletedMessageRef,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeletedMessageRef {
    #[serde(rename = "_id")]
    id: String,
    rid: String,
    u: DeletedMessageAuthor,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeletedMessageAuthor {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    #[schema(required = true)]
    name: Option<String>,
}

fn size_exceeded() -> ApiError {
    ApiError::coded("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize")
}

fn action_not_allowed(reason: &str) -> ApiError {
    ApiError::coded("error-action-not-allowed", reason)
}

fn no_such_message(message_id: &str) -> ApiError {
    ApiError::bad_request(format!("No message found with the id of \"{message_id}\"."))
}

/// Refuses a text longer than Message_MaxAllowedSize.
async fn check_size(state: &AppState, text: &str) -> ApiResult<()> {
    let limit = state.store.setting::<MessageMaxAllowedSize>().await?;
    if text.chars().count() as u64 > limit { Err(size_exceeded()) } else { Ok(()) }
}

/// The message, which must be of room `room_id`, in chat.update's and chat.delete's words.
async fn message_of_room(state: &AppState, room_id: &str, message_id: &str) -> ApiResult<Message> {
    let message = state.store.message_by_id(message_id).await?.ok_or_else(|| no_such_message(message_id))?;
    if message.room_id != room_id {
        return Err(ApiError::bad_request("The room id provided does not match where the message is from."));
    }
    Ok(message)
}

/// Why a change of an open room's content was refused, from the room as it is now:
/// unknown, not the caller's to see, or closed.
async fn room_refusal(state: &AppState, caller: &AuthUser, room_id: &str) -> ApiError {
    match state.store.room_state(room_id, room_access(caller)).await {
        Ok(None) => ApiError::bad_request("error-invalid-room"),
        Ok(Some(room)) if !room.accessible => ApiError::bad_request("error-not-allowed"),
        Ok(Some(room)) if !room.open => room_closed(),
        Ok(Some(_)) => ApiError::internal("an open, accessible room refused a change"),
        Err(error) => error.into(),
    }
}

/// An agent (or anyone who may see the room) writes into an open livechat room. The
/// room's last message follows; the chat's status and the visitor's last message time
/// do not change.
#[utoipa::path(post, path = "/api/v1/chat.sendMessage", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    request_body = SendMessageBody,
    responses((status = 200, description = "The stored message", body = OneMessage), RcSignedIn, RcJsonBody))]
async fn send_message(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    WordedBody(body): WordedBody<SendMessageBody>,
) -> ApiResult<Json<OneMessage>> {
    let outgoing = body.message;
    check_size(&state, &outgoing.msg).await?;
    let message_id = outgoing.id.unwrap_or_else(meteor_id);
    let message = NewMessage {
        id: &message_id,
        room_id: &outgoing.rid,
        msg: &outgoing.msg,
        kind: None,
        author_id: &caller.id,
        author_username: &caller.username,
        author_name: Some(&caller.name),
        extra: None,
        now: state.now(),
    };
    match state.store.add_agent_message(room_access(&caller), message).await {
        Ok(stored) => Ok(OneMessage::of(&stored, None)),
        Err(StoreError::NotFound) => Err(room_refusal(&state, &caller, &outgoing.rid).await),
        Err(StoreError::Conflict(_)) => Err(duplicated_message_id()),
        Err(error) => Err(error.into()),
    }
}

/// The author edits its own message (while Message_AllowEditing); edit-message edits
/// anyone's. Only plain messages of open rooms the caller may see; `editedAt` and
/// `editedBy` record the edit, and the same text changes nothing.
#[utoipa::path(post, path = "/api/v1/chat.update", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    request_body = UpdateMessageBody,
    responses((status = 200, description = "The edited message", body = OneMessage), RcSignedIn, RcJsonBody))]
async fn update_message(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    WordedBody(body): WordedBody<UpdateMessageBody>,
) -> ApiResult<Json<OneMessage>> {
    message_of_room(&state, &body.room_id, &body.msg_id).await?;
    check_size(&state, &body.text).await?;
    let any = caller.holds(EDIT_MESSAGE);
    let own = state.store.setting::<MessageAllowEditing>().await?;
    let actor = MessageActor::Agent { access: room_access(&caller), username: &caller.username, any, own };
    if let Some(edited) = state.store.edit_message(&body.room_id, &body.msg_id, &body.text, actor, state.now()).await? {
        let room = state.store.room_state(&edited.room_id, room_access(&caller)).await?;
        return Ok(OneMessage::of(&edited, room.as_ref().map(|room| room.visitor_token.as_str())));
    }
    // Refused: say why from the message and the room as they are now.
    let message = message_of_room(&state, &body.room_id, &body.msg_id).await?;
    let is_own = message.author_id == caller.id && !message.from_visitor;
    if message.kind.is_some() || !(any || (own && is_own)) {
        return Err(action_not_allowed("Message editing not allowed"));
    }
    Err(room_refusal(&state, &caller, &body.room_id).await)
}

/// Deletes a plain message of a room the caller may see, open or closed:
/// force-delete-message deletes any; otherwise, while Message_AllowDeleting,
/// delete-message any and delete-own-message the caller's own.
#[utoipa::path(post, path = "/api/v1/chat.delete", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    request_body = DeleteMessageBody,
    responses((status = 200, description = "Deleted", body = DeletedMessage), RcSignedIn, RcJsonBody))]
async fn delete_message(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Body(body): Body<DeleteMessageBody>,
) -> ApiResult<Json<DeletedMessage>> {
    let message = message_of_room(&state, &body.room_id, &body.msg_id).await?;
    let force = caller.holds(FORCE_DELETE_MESSAGE);
    if body.as_user == Some(true) && message.author_id != caller.id && !force {
        return Err(ApiError::bad_request(
            "Unauthorized. You must have the permission \"force-delete-message\" to delete other's message as them.",
        ));
    }
    let allowed = state.store.setting::<MessageAllowDeleting>().await?;
    let any = force || (allowed && caller.holds(DELETE_MESSAGE));
    let own = allowed && caller.holds(DELETE_OWN_MESSAGE);
    let actor = MessageActor::Agent { access: room_access(&caller), username: &caller.username, any, own };
    let now = state.now();
    match state.store.delete_message(&body.room_id, &body.msg_id, actor, now).await? {
        Some(deleted) => Ok(Json(DeletedMessage {
            id: deleted.id.clone(),
            ts: now.to_string(),
            message: DeletedMessageRef {
                id: deleted.id,
                rid: deleted.room_id,
                u: DeletedMessageAuthor {
                    id: deleted.author_id,
                    username: deleted.author_username,
                    name: deleted.author_name,
                },
            },
            success: Success,
        })),
        None => Err(action_not_allowed("Not allowed")),
    }
}

/// One message of a room the caller may see.
#[utoipa::path(get, path = "/api/v1/chat.getMessage", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    params(GetMessageQuery),
    responses((status = 200, description = "The message", body = OneMessage), RcSignedIn, (status = 400, response = RcBadRequest)))]
async fn get_message(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(query): Query<GetMessageQuery>,
) -> ApiResult<Json<OneMessage>> {
    // Rocket.Chat answers an unknown message with a bare failure.
    let message = state.store.message_by_id(&query.msg_id).await?.ok_or_else(ApiError::bare_failure)?;
    match state.store.room_state(&message.room_id, room_access(&caller)).await? {
        Some(room) if room.accessible => Ok(OneMessage::of(&message, Some(&room.visitor_token))),
        _ => Err(action_not_allowed("Not allowed")),
    }
}

/// What changed in a room the caller may see since `lastUpdate`: messages written or
/// edited, and ids of messages deleted. This is how an agent reads a livechat room's
/// history over REST (Rocket.Chat's cursor mode, `type`/`next`/`previous`, is not served).
#[utoipa::path(get, path = "/api/v1/chat.syncMessages", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    params(SyncMessagesQuery),
    responses((status = 200, description = "The changes", body = SyncedMessages), RcSignedIn, (status = 400, response = RcBadRequest)))]
async fn sync_messages(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(query): Query<SyncMessagesQuery>,
) -> ApiResult<Json<SyncedMessages>> {
    let page = Page::new(None, whole_number(query.count, "count")?, state.page_limits());
    let Some(last_update) = query.last_update else {
        return Err(ApiError::coded(
            "error-param-required",
            "The \"type\" or \"lastUpdate\" parameters must be provided",
        ));
    };
    let since = parse_instant(&last_update).ok_or_else(|| {
        ApiError::coded("error-lastUpdate-param-invalid", "The \"lastUpdate\" query parameter must be a valid date")
    })?;
    // Rocket.Chat answers a room the caller may not see with a bare failure.
    let room = match state.store.room_state(&query.room_id, room_access(&caller)).await? {
        Some(room) if room.accessible => room,
        _ => return Err(ApiError::bare_failure()),
    };
    let (updated, deleted) = state.store.messages_changed_since(&query.room_id, since, page).await?;
    Ok(Json(SyncedMessages {
        result: SyncResult {
            updated: updated.iter().map(|message| MessageView::new(message, Some(&room.visitor_token))).collect(),
            deleted: deleted
                .into_iter()
                .map(|(id, deleted_at)| DeletedSince { id, deleted_at: Timestamp(deleted_at) })
                .collect(),
        },
        success: Success,
    }))
}
