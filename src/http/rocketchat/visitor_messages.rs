//! The visitor's own messages: read one, edit or delete one of its own in its open
//! room, and a logged-in user's batch of messages in a visitor's name.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::visitor::{
    invalid_room, known_visitor, no_agent_online, omnichannel_disabled, own_room, room_closed, store_visitor_message,
};
use super::wire::MessageView;
use crate::domain::ids::{meteor_id, object_id};
use crate::domain::settings::{AcceptChatsWithNoAgents, LivechatEnabled, MessageAllowDeleting, MessageAllowEditing};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, LoggedIn, Path, Query};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcSignedIn, RcUnavailable};
use crate::http::shapes::{Success, Timestamp};
use crate::store::{Message, MessageActor, NewMessage, NewRoom, StoreError, Visitor};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_message, edit_message, delete_message)).routes(routes!(send_messages))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct VisitorRoomQuery {
    /// The visitor's token
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    token: String,
    /// The visitor's room
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    rid: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorEditBody {
    #[schema(max_length = 256)]
    token: String,
    #[schema(max_length = 256)]
    rid: String,
    /// The new text.
    #[schema(min_length = 1, max_length = 5000)]
    msg: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorDeleteBody {
    #[schema(max_length = 256)]
    token: String,
    #[schema(max_length = 256)]
    rid: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorMessage {
    message: MessageView,
    success: Success,
}

impl VisitorMessage {
    fn of(message: &Message, visitor: &Visitor) -> Json<Self> {
        Json(Self { message: MessageView::new(message, Some(&visitor.token)), success: Success })
    }
}

/// The deleted message's id and the time of its deletion.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorDeleted {
    message: DeletedAt,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeletedAt {
    #[serde(rename = "_id")]
    id: String,
    ts: Timestamp,
}

/// A batch of messages in a visitor's name, into its open room or a new one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorBatchBody {
    visitor: BatchVisitor,
    #[schema(min_items = 1, max_items = 100)]
    messages: Vec<BatchMessage>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BatchVisitor {
    #[schema(max_length = 256)]
    token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BatchMessage {
    #[schema(min_length = 1, max_length = 5000)]
    msg: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SentBatch {
    messages: Vec<SentLine>,
    success: Success,
}

/// One stored message of a batch.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SentLine {
    username: String,
    msg: String,
    ts: Timestamp,
}

fn invalid_message() -> ApiError {
    ApiError::bad_request("invalid-message")
}

/// The message `message_id` of the visitor's room `room_id`.
async fn message_in_own_room(
    state: &AppState,
    visitor: &Visitor,
    room_id: &str,
    message_id: &str,
) -> ApiResult<Message> {
    own_room(state, visitor, room_id).await?;
    match state.store.message_by_id(message_id).await? {
        Some(message) if message.room_id == room_id => Ok(message),
        _ => Err(invalid_message()),
    }
}

/// Why a visitor's edit or deletion was refused, from the room and the message as they
/// are now: not its room, no such message, not its own (or the setting forbids), or
/// the room is closed.
async fn change_refusal(
    state: &AppState,
    visitor: &Visitor,
    room_id: &str,
    message_id: &str,
    allowed: bool,
) -> ApiError {
    let message = match message_in_own_room(state, visitor, room_id, message_id).await {
        Ok(message) => message,
        Err(error) => return error,
    };
    let is_own = message.from_visitor && message.author_id == visitor.id && message.kind.is_none();
    if !allowed || !is_own {
        return ApiError::bad_request("error-action-not-allowed");
    }
    match state.store.room_by_id(room_id).await {
        Ok(Some(room)) if !room.open => room_closed(),
        Ok(Some(_)) => ApiError::internal("an open room refused the visitor's change"),
        Ok(None) => invalid_room(),
        Err(error) => error.into(),
    }
}

/// A message of the visitor's room.
#[utoipa::path(get, path = "/api/v1/livechat/message/{_id}", tag = "visitor",
    params(("_id" = String, Path, description = "The message's id", max_length = 256), VisitorRoomQuery),
    responses(
        (status = 200, description = "The message", body = VisitorMessage),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn get_message(
    State(state): State<AppState>,
    Path(message_id): Path<String>,
    Query(query): Query<VisitorRoomQuery>,
) -> ApiResult<Json<VisitorMessage>> {
    let visitor = known_visitor(&state, &query.token).await?;
    let message = message_in_own_room(&state, &visitor, &query.rid, &message_id).await?;
    Ok(VisitorMessage::of(&message, &visitor))
}

/// The visitor edits one of its own messages in its open room (while
/// Message_AllowEditing).
#[utoipa::path(put, path = "/api/v1/livechat/message/{_id}", tag = "visitor",
    params(("_id" = String, Path, description = "The message's id", max_length = 256)),
    request_body = VisitorEditBody,
    responses(
        (status = 200, description = "The edited message", body = VisitorMessage),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn edit_message(
    State(state): State<AppState>,
    Path(message_id): Path<String>,
    Body(body): Body<VisitorEditBody>,
) -> ApiResult<Json<VisitorMessage>> {
    let visitor = known_visitor(&state, &body.token).await?;
    let allowed = state.store.setting::<MessageAllowEditing>().await?;
    if allowed {
        let username = visitor.username();
        let actor = MessageActor::Visitor { visitor_id: &visitor.id, username: &username };
        if let Some(edited) = state.store.edit_message(&body.rid, &message_id, &body.msg, actor, state.now()).await? {
            return Ok(VisitorMessage::of(&edited, &visitor));
        }
    }
    Err(change_refusal(&state, &visitor, &body.rid, &message_id, allowed).await)
}

/// The visitor deletes one of its own messages in its open room (while
/// Message_AllowDeleting).
#[utoipa::path(delete, path = "/api/v1/livechat/message/{_id}", tag = "visitor",
    params(("_id" = String, Path, description = "The message's id", max_length = 256)),
    request_body = VisitorDeleteBody,
    responses(
        (status = 200, description = "Deleted", body = VisitorDeleted),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn delete_message(
    State(state): State<AppState>,
    Path(message_id): Path<String>,
    Body(body): Body<VisitorDeleteBody>,
) -> ApiResult<Json<VisitorDeleted>> {
    let visitor = known_visitor(&state, &body.token).await?;
    let allowed = state.store.setting::<MessageAllowDeleting>().await?;
    if allowed {
        let username = visitor.username();
        let actor = MessageActor::Visitor { visitor_id: &visitor.id, username: &username };
        let now = state.now();
        if state.store.delete_message(&body.rid, &message_id, actor, now).await?.is_some() {
            return Ok(Json(VisitorDeleted {
                message: DeletedAt { id: message_id, ts: Timestamp(now) },
                success: Success,
            }));
        }
    }
    Err(change_refusal(&state, &visitor, &body.rid, &message_id, allowed).await)
}

/// A logged-in user (an integration) writes messages in the name of the visitor of a
/// token, into its open room or, when it has none, a new one; at most 100 at once.
#[utoipa::path(post, path = "/api/v1/livechat/messages", tag = "visitor",
    security(("userId" = [], "authToken" = [])),
    request_body = VisitorBatchBody,
    responses((status = 200, description = "The stored messages", body = SentBatch), RcSignedIn, RcJsonBody))]
async fn send_messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    _: Caller<LoggedIn>,
    Body(body): Body<VisitorBatchBody>,
) -> ApiResult<Json<SentBatch>> {
    let visitor = state
        .store
        .visitor_by_token(&body.visitor.token)
        .await?
        .ok_or_else(|| ApiError::bad_request("error-invalid-token"))?;
    let room = match state.store.open_room_of_visitor(&visitor.id).await? {
        Some(room) => room,
        None if !state.store.setting::<LivechatEnabled>().await? => return Err(omnichannel_disabled()),
        None => {
            let inquiry_id = object_id();
            let new_room = NewRoom {
                id: &meteor_id(),
                inquiry_id: &inquiry_id,
                visitor: &visitor,
                department_id: visitor.department_id.as_deref(),
                source_type: super::widget::room_source(&headers),
                without_agents: state.store.setting::<AcceptChatsWithNoAgents>().await?,
                now: state.now(),
            };
            let (room, _) = match state.store.open_room(new_room).await {
                Ok(opened) => opened.ok_or_else(no_agent_online)?,
                Err(StoreError::NotFound) => return Err(ApiError::bad_request("error-invalid-token")),
                Err(error) => return Err(error.into()),
            };
            // Its inquiry may go to an agent at once, as a room the widget opens.
            state.route_new_inquiry(&visitor, &inquiry_id).await;
            room
        }
    };
    let name = visitor.display_name();
    let username = visitor.username();
    let mut sent = Vec::with_capacity(body.messages.len());
    for line in &body.messages {
        let message = NewMessage {
            id: &meteor_id(),
            room_id: &room.id,
            msg: &line.msg,
            kind: None,
            author_id: &visitor.id,
            author_username: &username,
            author_name: Some(&name),
            extra: None,
            now: state.now(),
        };
        let stored = match store_visitor_message(&state, &visitor, message).await {
            Ok(stored) => stored,
            // Closed while the batch was being written.
            Err(StoreError::NotFound) => return Err(room_closed()),
            Err(error) => return Err(error.into()),
        };
        sent.push(SentLine { username: stored.author_username, msg: stored.msg, ts: Timestamp(stored.ts) });
    }
    Ok(Json(SentBatch { messages: sent, success: Success }))
}
