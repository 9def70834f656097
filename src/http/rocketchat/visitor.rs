//! The visitor (widget) side: no user login; the visitor's own token is the credential,
//! and a token never reads or changes another visitor's rooms.
//!
//! Deviations from Rocket.Chat: unknown keys beside `visitor` in the registration body
//! are ignored, and the other routes refuse unknown keys in ajv's wording.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{MessageView, RoomView, VisitorView};
use crate::domain::ids::{meteor_id, object_id};
use crate::domain::page::Page;
use crate::domain::settings::{AcceptChatsWithNoAgents, CollectHttpHeaders, LivechatEnabled};
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Path, Query, WordedBody, WordedQuery, Wording, ajv_refusal, whole_number};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcSmallJsonBody, RcUnavailable};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Success, Timestamp};
use crate::http::{AppState, ClientAddress};
use crate::store::{
    AutomaticResume, CloseRoom, Closer, Erasure, HttpHeaderInfo, Message, NewMessage, NewRoom, NewUpload, Room,
    RoomGuard, StoreError, StoreResult, Visitor, VisitorDetails,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_visitor))
        .routes(routes!(visitor_by_token, erase_visitor))
        .routes(routes!(open_room))
        .routes(routes!(send_message))
        .routes(routes!(message_history))
        .routes(routes!(close_room))
}

/// The body of a visitor's registration; keys beside `visitor` are ignored.
#[derive(Deserialize, ToSchema)]
struct VisitorBody {
    visitor: VisitorFields,
}

/// The visitor's own fields; keys it does not list are ignored.
#[derive(Deserialize, ToSchema)]
struct VisitorFields {
    #[schema(min_length = 1, max_length = 256)]
    token: String,
    #[schema(max_length = 256)]
    name: Option<String>,
    #[schema(max_length = 256)]
    email: Option<String>,
    #[schema(max_length = 256)]
    phone: Option<String>,
    /// Accepted and not used: the server names visitors `guest-<n>`.
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    username: Option<String>,
    /// A department's id or name.
    #[schema(max_length = 256)]
    department: Option<String>,
}

/// Rocket.Chat checks this body with Meteor's `check()`, and words it so:
/// `Match error: Missing key 'token' in field visitor`.
impl Wording for VisitorBody {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::Missing { at, name } => match_error(format!("Missing key '{name}'{}", in_field(at))),
            Violation::WrongType { at, found: "null", .. } | Violation::TooShort { at, .. }
                if at == "/visitor/token" =>
            {
                match_error("Missing key 'token' in field visitor".into())
            }
            // The visitor itself is named by no field: `Expected object, got number`.
            Violation::WrongType { at, expected, found } if at == "/visitor" => {
                match_error(format!("Expected {expected}, got {found}"))
            }
            Violation::WrongType { at, expected, found } => {
                match_error(format!("Expected {expected}, got {found}{}", in_field(at)))
            }
            other => ajv_refusal(other),
        }
    }
}

/// Meteor's ` in field visitor.name` for the place `/visitor/name`; nothing for the root.
pub(super) fn in_field(at: &str) -> String {
    let path: Vec<&str> = at.split('/').filter(|part| !part.is_empty()).collect();
    if path.is_empty() { String::new() } else { format!(" in field {}", path.join(".")) }
}

/// `{visitor, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneVisitor {
    visitor: VisitorView,
    success: Success,
}

impl OneVisitor {
    fn of(visitor: &Visitor) -> Json<Self> {
        Json(Self { visitor: visitor.into(), success: Success })
    }
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct OpenRoomQuery {
    /// The visitor's token
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    token: String,
    /// The room's id, chosen by the widget
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    rid: Option<String>,
    /// A department's id or name
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department: Option<String>,
    /// Accepted and ignored
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    agent_id: Option<String>,
}

/// Rocket.Chat words a missing token as Meteor's `check()` does.
impl Wording for OpenRoomQuery {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::Missing { name, .. } => match_error(format!("Missing key '{name}'")),
            other => ajv_refusal(other),
        }
    }
}

/// The visitor's room, and whether this request opened it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OpenedRoom {
    room: RoomView,
    new_room: bool,
    success: Success,
}

/// A visitor's message; `agent` is accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorMessageBody {
    #[schema(max_length = 256)]
    token: String,
    #[schema(max_length = 256)]
    rid: String,
    #[schema(min_length = 1, max_length = 5000)]
    msg: String,
    /// The message's id, chosen by the widget.
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: Option<String>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    agent: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SentMessage {
    message: MessageView,
    success: Success,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// The visitor's token
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    token: String,
    #[schema(minimum = 0)]
    #[param(value_type = Option<u32>)]
    offset: Option<f64>,
    #[schema(minimum = 0)]
    #[param(value_type = Option<u32>)]
    count: Option<f64>,
    /// Another name of count
    #[schema(minimum = 0)]
    #[param(value_type = Option<u32>)]
    limit: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MessageHistory {
    messages: Vec<MessageView>,
    /// Always 0.
    unread_not_loaded: i64,
    #[schema(minimum = 0)]
    offset: i64,
    #[schema(minimum = 0)]
    count: usize,
    #[schema(minimum = 0)]
    total: i64,
    success: Success,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorCloseBody {
    #[schema(max_length = 256)]
    rid: String,
    #[schema(max_length = 256)]
    token: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorClosedRoom {
    rid: String,
    comment: String,
    success: Success,
}

/// Rocket.Chat's visitor routes still answer with Meteor `check()` messages.
pub(super) fn match_error(message: String) -> ApiError {
    ApiError::bad_request(format!("Match error: {message}"))
}

pub(super) fn invalid_token() -> ApiError {
    ApiError::bad_request("invalid-token")
}

fn invalid_department() -> ApiError {
    ApiError::coded("error-invalid-department", "The provided department is invalid")
}

/// The id of a department named by id or name.
async fn department_id(state: &AppState, department: &str) -> ApiResult<String> {
    let department = state.store.department_by_id_or_name(department).await?;
    department.map(|department| department.id).ok_or_else(invalid_department)
}

/// Registers the visitor of a token, or updates it.
#[utoipa::path(post, path = "/api/v1/livechat/visitor", tag = "visitor",
    request_body = VisitorBody,
    responses(
        (status = 200, description = "The visitor", body = OneVisitor),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn register_visitor(
    State(state): State<AppState>,
    ConnectInfo(peer): ClientAddress,
    headers: HeaderMap,
    WordedBody(body): WordedBody<VisitorBody>,
) -> ApiResult<Json<OneVisitor>> {
    let visitor = body.visitor;
    let peer = peer.ip().to_canonical().to_string();
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(bounded_header);
    let registration = Registration {
        token: &visitor.token,
        name: visitor.name.as_deref(),
        email: visitor.email.as_deref(),
        phone: visitor.phone.as_deref(),
        department: visitor.department.as_deref(),
        // As Rocket.Chat: the proxy's headers first, taken as they come.
        headers: Some(HttpHeaderInfo {
            ip: header("x-real-ip").or_else(|| header("x-forwarded-for")).or(Some(&peer)),
            user_agent: header("user-agent"),
            host: header("host"),
        }),
    };
    Ok(OneVisitor::of(&register(&state, registration).await?))
}

/// What a visitor's registration gives: REST `livechat/visitor` and the DDP method
/// `livechat:registerGuest`.
pub(crate) struct Registration<'a> {
    pub token: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// A department's id or name.
    pub department: Option<&'a str>,
    /// The request's headers, kept when `Livechat_Allow_collect_and_store_HTTP_header_informations` is on.
    pub headers: Option<HttpHeaderInfo<'a>>,
}

/// Registers the visitor of a token, or updates it; an unknown department is refused.
pub(crate) async fn register(state: &AppState, registration: Registration<'_>) -> ApiResult<Visitor> {
    let department_id = match registration.department {
        Some(department) => Some(department_id(state, department).await?),
        None => None,
    };
    let collect_headers = state.store.setting::<CollectHttpHeaders>().await?;
    let visitor = state
        .store
        .upsert_visitor(VisitorDetails {
            id: &meteor_id(),
            token: registration.token,
            name: registration.name,
            email: registration.email,
            phone: registration.phone,
            department_id: department_id.as_deref(),
            headers: registration.headers.filter(|_| collect_headers),
            livechat_data: None,
            contact_manager: None,
            name_conflicts: true,
            now: state.now(),
        })
        .await?;
    Ok(visitor)
}

/// The most characters of a header value a visitor keeps.
const MAX_HEADER_CHARS: usize = 1024;

/// A header's value as stored: at most [`MAX_HEADER_CHARS`] characters.
fn bounded_header(value: &str) -> &str {
    value.char_indices().nth(MAX_HEADER_CHARS).map_or(value, |(end, _)| &value[..end])
}

/// The visitor of a token.
#[utoipa::path(get, path = "/api/v1/livechat/visitor/{token}", tag = "visitor",
    params(("token" = String, Path, description = "The visitor's token", max_length = 256)),
    responses(
        (status = 200, description = "The visitor", body = OneVisitor),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn visitor_by_token(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<OneVisitor>> {
    // Rocket.Chat throws a Meteor error here, unlike the plain `invalid-token` elsewhere.
    let visitor = state.store.visitor_by_token(&token).await?.ok_or_else(|| ApiError::meteor("invalid-token"))?;
    Ok(OneVisitor::of(&visitor))
}

/// `{visitor: {_id, ts}, success}` of an erased visitor.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ErasedVisitor {
    visitor: ErasedVisitorId,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ErasedVisitorId {
    #[serde(rename = "_id")]
    id: String,
    /// When it was erased.
    ts: Timestamp,
}

/// Erases the visitor of a token with its rooms, their messages and its custom field
/// values; refused while it has an open room. The token is the credential, as for the
/// other visitor routes.
#[utoipa::path(delete, path = "/api/v1/livechat/visitor/{token}", tag = "visitor",
    params(("token" = String, Path, description = "The visitor's token", max_length = 256)),
    responses(
        (status = 200, description = "The erased visitor's id and the time", body = ErasedVisitor),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn erase_visitor(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<ErasedVisitor>> {
    let now = state.now();
    // A token no widget holds: the visitor is unreachable while the erasure runs.
    let detached_token = format!("erased-{}", meteor_id());
    match state.store.erase_visitor(&token, &detached_token, now).await? {
        // The rows of its files went with its rooms; the file sweep deletes their objects.
        Erasure::Erased { visitor_id } => Ok(Json(ErasedVisitor {
            visitor: ErasedVisitorId { id: visitor_id, ts: Timestamp(now) },
            success: Success,
        })),
        Erasure::UnknownToken => Err(ApiError::meteor("invalid-token")),
        Erasure::OpenRoom => Err(ApiError::coded("visitor-has-open-rooms", "Cannot remove visitors with opened rooms")),
    }
}

pub(super) async fn known_visitor(state: &AppState, token: &str) -> ApiResult<Visitor> {
    state.store.visitor_by_token(token).await?.ok_or_else(invalid_token)
}

/// A room the visitor owns; another visitor's room is as unknown as a missing one.
pub(super) async fn own_room(state: &AppState, visitor: &Visitor, room_id: &str) -> ApiResult<Room> {
    match state.store.room_by_id(room_id).await? {
        Some(room) if room.visitor_id == visitor.id => Ok(room),
        _ => Err(invalid_room()),
    }
}

pub(super) fn invalid_room() -> ApiError {
    ApiError::bad_request("invalid-room")
}

/// The visitor's open room with that id; without `rid`, its open room or a new one
/// (queued as an inquiry), whose source the widget's cookies mark `widget`.
#[utoipa::path(get, path = "/api/v1/livechat/room", tag = "visitor",
    params(OpenRoomQuery),
    responses(
        (status = 200, description = "The room, and whether it was opened now", body = OpenedRoom),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn open_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    WordedQuery(query): WordedQuery<OpenRoomQuery>,
) -> ApiResult<Json<OpenedRoom>> {
    let visitor = known_visitor(&state, &query.token).await?;
    let department_id = match query.department.as_deref().filter(|department| !department.is_empty()) {
        Some(department) => Some(department_id(&state, department).await?),
        None => visitor.department_id.clone(),
    };
    // A `rid` only names an existing room: one that is open and the visitor's own.
    if let Some(rid) = query.rid.as_deref().filter(|rid| !rid.is_empty()) {
        return match state.store.room_by_id(rid).await? {
            Some(room) if room.visitor_id == visitor.id && room.open => {
                Ok(Json(OpenedRoom { room: (&room).into(), new_room: false, success: Success }))
            }
            _ => Err(invalid_room()),
        };
    }
    if !state.store.setting::<LivechatEnabled>().await? {
        // Disabled, a visitor still finds its open room but cannot open one.
        let room = state.store.open_room_of_visitor(&visitor.id).await?.ok_or_else(omnichannel_disabled)?;
        return Ok(Json(OpenedRoom { room: (&room).into(), new_room: false, success: Success }));
    }
    let opened = state
        .store
        .open_room(NewRoom {
            id: &meteor_id(),
            inquiry_id: &object_id(),
            visitor: &visitor,
            department_id: department_id.as_deref(),
            source_type: super::widget::room_source(&headers),
            without_agents: state.store.setting::<AcceptChatsWithNoAgents>().await?,
            now: state.now(),
        })
        .await;
    let (room, created) = match opened {
        Ok(opened) => opened.ok_or_else(no_agent_online)?,
        // Erased since its token was read.
        Err(StoreError::NotFound) => return Err(invalid_token()),
        Err(error) => return Err(error.into()),
    };
    if !created {
        return Ok(Json(OpenedRoom { room: (&room).into(), new_room: false, success: Success }));
    }
    // A new inquiry may go to an agent at once; answer the room as routing left it.
    if let Some(inquiry_id) = &room.inquiry_id {
        state.route_new_inquiry(&visitor, inquiry_id).await;
    }
    let room = state.store.room_by_id(&room.id).await?.unwrap_or(room);
    Ok(Json(OpenedRoom { room: (&room).into(), new_room: true, success: Success }))
}

/// A room refused under `Livechat_accept_chats_with_no_agents` = false.
pub(super) fn no_agent_online() -> ApiError {
    ApiError::coded("no-agent-online", "Sorry, no online agents")
}

/// A visitor's message in its open room.
#[utoipa::path(post, path = "/api/v1/livechat/message", tag = "visitor",
    request_body = VisitorMessageBody,
    responses(
        (status = 200, description = "The stored message", body = SentMessage),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn send_message(
    State(state): State<AppState>,
    Body(body): Body<VisitorMessageBody>,
) -> ApiResult<Json<SentMessage>> {
    let (message, visitor) =
        send_visitor_message(&state, &body.token, &body.rid, &body.msg, body.id.as_deref()).await?;
    Ok(Json(SentMessage { message: MessageView::new(&message, Some(&visitor.token)), success: Success }))
}

/// A visitor's message in its open room, with the visitor: REST `livechat/message` and
/// the DDP method `livechat:sendMessageLivechat`.
pub(crate) async fn send_visitor_message(
    state: &AppState,
    token: &str,
    room_id: &str,
    msg: &str,
    message_id: Option<&str>,
) -> ApiResult<(Message, Visitor)> {
    let message_id = message_id.map_or_else(meteor_id, str::to_owned);
    let visitor = known_visitor(state, token).await?;
    if !state.store.setting::<LivechatEnabled>().await? {
        // Rocket.Chat checks the room before the setting.
        let room = own_room(state, &visitor, room_id).await?;
        return Err(if room.open { omnichannel_disabled() } else { room_closed() });
    }
    let name = visitor.display_name();
    let username = visitor.username();
    let message = NewMessage {
        id: &message_id,
        room_id,
        msg,
        kind: None,
        author_id: &visitor.id,
        author_username: &username,
        author_name: Some(&name),
        extra: None,
        now: state.now(),
    };
    match store_visitor_message(state, &visitor, message).await {
        Ok(stored) => Ok((stored, visitor)),
        Err(StoreError::NotFound) => {
            let room = own_room(state, &visitor, room_id).await?;
            Err(if room.open { ApiError::internal("open room refused a message") } else { room_closed() })
        }
        Err(StoreError::Conflict(_)) => Err(duplicated_message_id()),
        Err(error) => Err(error.into()),
    }
}

/// Stores a visitor's message; a chat on hold it resumes back into the queue (its
/// agent being at its chat limit) is routed at once.
pub(crate) async fn store_visitor_message(
    state: &AppState,
    visitor: &Visitor,
    message: NewMessage<'_>,
) -> StoreResult<Message> {
    store_visitor_file_message(state, visitor, message, None).await
}

/// [`store_visitor_message`] of a message showing `upload`, recorded with it.
pub(super) async fn store_visitor_file_message(
    state: &AppState,
    visitor: &Visitor,
    message: NewMessage<'_>,
    upload: Option<&NewUpload<'_>>,
) -> StoreResult<Message> {
    let comment = format!(
        "The chat was automatically resumed from On Hold upon receiving a new message from {}",
        visitor.display_name()
    );
    let resume = AutomaticResume { message_id: &meteor_id(), comment: &comment };
    let sent = state.store.add_visitor_message_with_upload(&visitor.id, message, resume, upload).await?;
    if sent.requeued {
        state.route_queue().await;
    }
    Ok(sent.message)
}

/// Livechat_enabled is false.
pub(super) fn omnichannel_disabled() -> ApiError {
    ApiError::code_only("error-omnichannel-is-disabled")
}

pub(super) fn room_closed() -> ApiError {
    ApiError::bad_request("room-closed")
}

pub(super) fn duplicated_message_id() -> ApiError {
    ApiError::coded("error-duplicated-message-id", "A message with this _id already exists")
}

/// A page of a visitor's room's messages, newest first.
#[utoipa::path(get, path = "/api/v1/livechat/messages.history/{rid}", tag = "visitor",
    params(("rid" = String, Path, description = "The room's id", max_length = 256), HistoryQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessageHistory),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn message_history(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<Json<MessageHistory>> {
    let count = match query.count {
        Some(_) => whole_number(query.count, "count")?,
        None => whole_number(query.limit, "limit")?,
    };
    let page = Page::new(whole_number(query.offset, "offset")?, count, state.page_limits());
    let visitor = known_visitor(&state, &query.token).await?;
    own_room(&state, &visitor, &room_id).await?;
    let (messages, total) = state.store.room_messages(&room_id, page).await?;
    let messages: Vec<MessageView> =
        messages.iter().map(|message| MessageView::new(message, Some(&visitor.token))).collect();
    Ok(Json(MessageHistory {
        count: messages.len(),
        messages,
        unread_not_loaded: 0,
        offset: page.offset,
        total,
        success: Success,
    }))
}

/// The visitor closes its room.
#[utoipa::path(post, path = "/api/v1/livechat/room.close", tag = "visitor",
    request_body = VisitorCloseBody,
    responses(
        (status = 200, description = "Closed", body = VisitorClosedRoom),
        RcSmallJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn close_room(
    State(state): State<AppState>,
    Body(body): Body<VisitorCloseBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<VisitorClosedRoom>> {
    const COMMENT: &str = "Closed by visitor";
    let visitor = known_visitor(&state, &body.token).await?;
    let username = visitor.username();
    let name = visitor.display_name();
    let closer = Closer::Visitor { visitor_id: &visitor.id, username: &username, name: &name };
    let close = CloseRoom {
        room_id: &body.rid,
        closer,
        guard: RoomGuard::ANYONE,
        comment: Some(COMMENT),
        tags: &[],
        client_action: false,
        message_id: &meteor_id(),
        now: state.now(),
    };
    match state.store.close_room(close).await {
        Ok(()) => {
            state.route_queue().await;
            super::transcripts::after_close(&state, &body.rid);
            Ok(Json(VisitorClosedRoom { rid: body.rid, comment: COMMENT.to_owned(), success: Success }))
        }
        Err(StoreError::NotFound) => {
            own_room(&state, &visitor, &body.rid).await?;
            Err(room_closed())
        }
        Err(error) => Err(error.into()),
    }
}
