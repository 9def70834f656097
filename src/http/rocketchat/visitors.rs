//! What agents read about visitors: a visitor's details, the visitor directory (search
//! and autocomplete), and a visitor's conversations and visited pages. Reading takes
//! view-l-room; a room's history and pages are read only where the caller may see the
//! room (see `sql::room_access`), and a visitor's history lists only such rooms.
//!
//! Deviations from Rocket.Chat: visitors.search answers whole visitors, and
//! visitors.searchChats whole rooms; the room routes check that the caller may see the
//! room (Rocket.Chat checks it for the history routes only) and leave out the rooms it
//! may not see; the search text and the source match in any case; an autocomplete
//! selector's `conditions` are accepted and ignored.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use super::wire::{MessageView, RoomView, VisitorView};
use crate::domain::page::{Direction, parse_sort};
use crate::domain::permissions::VIEW_L_ROOM;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, KeyText, NoFilter, PageParams, Paged, Path, Query, permission_set};
use crate::http::openapi::{RcBadRequest, RcPermitted};
use crate::http::schema_check::{Report, check, resolved_schema};
use crate::http::shapes::{Success, rc_page};
use crate::store::{AuthUser, VisitorRoomFilter, VisitorRoomSort, VisitorSort};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(info))
        .routes(routes!(search))
        .routes(routes!(autocomplete))
        .routes(routes!(pages_visited))
        .routes(routes!(chat_history))
        .routes(routes!(search_chats))
}

permission_set!(ViewRooms = [VIEW_L_ROOM]);

const VISITOR_SORT_FIELDS: [(&str, VisitorSort); 5] = [
    ("ts", VisitorSort::Ts),
    ("_updatedAt", VisitorSort::UpdatedAt),
    ("_id", VisitorSort::Id),
    ("name", VisitorSort::Name),
    ("username", VisitorSort::Username),
];

const ROOM_SORT_FIELDS: [(&str, VisitorRoomSort); 5] = [
    ("ts", VisitorRoomSort::Ts),
    ("_updatedAt", VisitorRoomSort::UpdatedAt),
    ("closedAt", VisitorRoomSort::ClosedAt),
    ("fname", VisitorRoomSort::Fname),
    ("_id", VisitorRoomSort::Id),
];

/// An autocomplete's `selector`, a JSON object: the start of the name and the ids to
/// leave out. Other keys (Rocket.Chat's `conditions`) are accepted and ignored.
#[derive(Deserialize, ToSchema)]
pub(super) struct Selector {
    #[schema(max_length = 256)]
    pub term: String,
    #[serde(default)]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    pub exceptions: Vec<String>,
}

/// Reads an autocomplete's `selector`: 400 when it is not JSON, `invalid-params` in
/// ajv's words when it is not such an object or a string in it holds a NUL.
pub(super) fn parse_selector(raw: &str) -> ApiResult<Selector> {
    let value: Value = serde_json::from_str(raw)
        .map_err(|error| ApiError::bad_request(format!("The 'selector' param is not valid JSON: {error}")))?;
    if let Some(violation) = check(resolved_schema::<Selector>(), &value, Report::First).first() {
        return Err(ApiError::invalid_params(format!("selector: {}", violation.ajv_message())));
    }
    let selector: Selector = serde_json::from_value(value).map_err(ApiError::invalid_params)?;
    // A JSON escape can carry what the URL could not: no id or name holds a NUL.
    if selector.exceptions.iter().chain([&selector.term]).any(|text| text.contains('\0')) {
        return Err(ApiError::invalid_params("selector: strings must not contain NUL characters"));
    }
    Ok(selector)
}

/// Whether the caller may see the room: 400 `invalid-room` when there is none,
/// `error-not-allowed` when it may not.
async fn visible_room(state: &AppState, caller: &AuthUser, room_id: &str) -> ApiResult<()> {
    match state.store.room_state(room_id, room_access(caller)).await? {
        None => Err(ApiError::bad_request("invalid-room")),
        Some(room) if !room.accessible => Err(ApiError::bad_request("error-not-allowed")),
        Some(_) => Ok(()),
    }
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct InfoQuery {
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    visitor_id: String,
}

/// `{visitor, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorInfo {
    visitor: VisitorView,
    success: Success,
}

/// A visitor by id.
#[utoipa::path(get, path = "/api/v1/livechat/visitors.info", tag = "visitors",
    security(("userId" = [], "authToken" = [])),
    params(InfoQuery),
    responses((status = 200, description = "The visitor", body = VisitorInfo), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn info(
    State(state): State<AppState>,
    _: Caller<ViewRooms>,
    Query(query): Query<InfoQuery>,
) -> ApiResult<Json<VisitorInfo>> {
    let visitor = state
        .store
        .visitor_by_id(&query.visitor_id)
        .await?
        .ok_or_else(|| ApiError::bad_request("visitor-not-found"))?;
    Ok(Json(VisitorInfo { visitor: (&visitor).into(), success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SearchFilter {
    /// An email address or phone number (exactly), or part of a name, a username or a
    /// searchable visitor custom field's value (in any case); empty: every visitor
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    term: String,
}

rc_page!(VisitorPage { visitors: VisitorView });

/// The visitors a term finds. Sort fields: ts, _updatedAt, _id, name, username
/// (default `{"ts":-1}`).
#[utoipa::path(get, path = "/api/v1/livechat/visitors.search", tag = "visitors",
    security(("userId" = [], "authToken" = [])),
    params(SearchFilter, PageParams),
    responses((status = 200, description = "A page of visitors", body = VisitorPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn search(
    State(state): State<AppState>,
    _: Caller<ViewRooms>,
    query: Paged<SearchFilter>,
) -> ApiResult<Json<VisitorPage>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"ts":-1}"#), &VISITOR_SORT_FIELDS)?;
    let term = Some(query.filter.term.as_str()).filter(|term| !term.is_empty());
    let (visitors, total) = state.store.search_visitors(term, &sort, query.page).await?;
    Ok(Json(VisitorPage::new(visitors.iter().map(VisitorView::from).collect(), query.page, total)))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AutocompleteQuery {
    /// JSON `{"term": <start of the name>, "exceptions": [<ids to leave out>]}`
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    selector: String,
}

/// `{items, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorItems {
    items: Vec<VisitorItem>,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorItem {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    username: String,
    /// `<username> - <name>`.
    custom_name: String,
}

/// The first ten visitors, by name, whose name starts with the selector's term.
#[utoipa::path(get, path = "/api/v1/livechat/visitors.autocomplete", tag = "visitors",
    security(("userId" = [], "authToken" = [])),
    params(AutocompleteQuery),
    responses((status = 200, description = "The matching visitors", body = VisitorItems), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn autocomplete(
    State(state): State<AppState>,
    _: Caller<ViewRooms>,
    Query(query): Query<AutocompleteQuery>,
) -> ApiResult<Json<VisitorItems>> {
    let selector = parse_selector(&query.selector)?;
    let visitors = state.store.visitors_named_like(selector.term.trim(), &selector.exceptions).await?;
    let items = visitors
        .iter()
        .map(|visitor| {
            let name = visitor.name.clone().unwrap_or_default();
            let username = visitor.username();
            VisitorItem { id: visitor.id.clone(), custom_name: format!("{username} - {name}"), name, username }
        })
        .collect();
    Ok(Json(VisitorItems { items, success: Success }))
}

rc_page!(VisitedPages { pages: MessageView });

/// The pages the visitor visited while in the room, newest first (`sort` may be
/// `{"ts":1}`).
#[utoipa::path(get, path = "/api/v1/livechat/visitors.pagesVisited/{roomId}", tag = "visitors",
    security(("userId" = [], "authToken" = [])),
    params(("roomId" = String, Path, description = "The room's id", max_length = 256), PageParams),
    responses((status = 200, description = "A page of visited pages", body = VisitedPages), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn pages_visited(
    State(state): State<AppState>,
    caller: Caller<ViewRooms>,
    Path(room_id): Path<String>,
    query: Paged<NoFilter>,
) -> ApiResult<Json<VisitedPages>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"ts":-1}"#), &[("ts", ())])?;
    let oldest_first = sort.first().is_some_and(|key| key.direction == Direction::Asc);
    visible_room(&state, &caller, &room_id).await?;
    let (pages, total) = state.store.visited_pages(&room_id, oldest_first, query.page).await?;
    let pages = pages.iter().map(|page| MessageView::new(page, None)).collect();
    Ok(Json(VisitedPages::new(pages, query.page, total)))
}

rc_page!(ChatHistory { history: RoomView });

/// The visitor's rooms the caller may see, asked from a room the caller may see.
/// Sort fields: ts, _updatedAt, closedAt, fname, _id (default `{"ts":-1}`).
#[utoipa::path(get, path = "/api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}", tag = "visitors",
    security(("userId" = [], "authToken" = [])),
    params(
        ("roomId" = String, Path, description = "A room the caller may see", max_length = 256),
        ("visitorId" = String, Path, description = "The visitor's id", max_length = 256),
        PageParams,
    ),
    responses((status = 200, description = "A page of rooms", body = ChatHistory), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn chat_history(
    State(state): State<AppState>,
    caller: Caller<ViewRooms>,
    Path((room_id, visitor_id)): Path<(String, String)>,
    query: Paged<NoFilter>,
) -> ApiResult<Json<ChatHistory>> {
    visitor_chats(&state, &caller, &room_id, &visitor_id, VisitorRoomFilter::default(), query).await
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SearchChatsFilter {
    /// Only rooms with a message holding this text, in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    search_text: Option<String>,
    /// `true`: only closed rooms
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    closed_chats_only: Option<String>,
    /// `true`: only rooms an agent served
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    served_chats_only: Option<String>,
    /// Only rooms whose source type holds this text, in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    source: Option<String>,
}

/// The visitor's rooms the caller may see that the filters find, asked from a room the
/// caller may see. Sort fields as chatHistory.
#[utoipa::path(get, path = "/api/v1/livechat/visitors.searchChats/room/{roomId}/visitor/{visitorId}", tag = "visitors",
    security(("userId" = [], "authToken" = [])),
    params(
        ("roomId" = String, Path, description = "A room the caller may see", max_length = 256),
        ("visitorId" = String, Path, description = "The visitor's id", max_length = 256),
        SearchChatsFilter,
        PageParams,
    ),
    responses((status = 200, description = "A page of rooms", body = ChatHistory), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn search_chats(
    State(state): State<AppState>,
    caller: Caller<ViewRooms>,
    Path((room_id, visitor_id)): Path<(String, String)>,
    query: Paged<SearchChatsFilter>,
) -> ApiResult<Json<ChatHistory>> {
    let filter = &query.filter;
    let non_empty = |text: &Option<String>| text.as_deref().filter(|text| !text.is_empty()).map(str::to_owned);
    let (text, source) = (non_empty(&filter.search_text), non_empty(&filter.source));
    let room_filter = VisitorRoomFilter {
        closed_only: filter.closed_chats_only.as_deref() == Some("true"),
        served_only: filter.served_chats_only.as_deref() == Some("true"),
        source: source.as_deref(),
        text: text.as_deref(),
    };
    visitor_chats(&state, &caller, &room_id, &visitor_id, room_filter, query).await
}

/// A page of the visitor's rooms for chatHistory and searchChats.
async fn visitor_chats<F>(
    state: &AppState,
    caller: &AuthUser,
    room_id: &str,
    visitor_id: &str,
    filter: VisitorRoomFilter<'_>,
    query: Paged<F>,
) -> ApiResult<Json<ChatHistory>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"ts":-1}"#), &ROOM_SORT_FIELDS)?;
    visible_room(state, caller, room_id).await?;
    let (rooms, total) = state.store.visitor_rooms(visitor_id, room_access(caller), filter, &sort, query.page).await?;
    Ok(Json(ChatHistory::new(rooms.iter().map(RoomView::from).collect(), query.page, total)))
}
