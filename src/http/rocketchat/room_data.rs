//! Reading livechat rooms the way Rocket.Chat clients and suites check them
//! (`rooms.info`, `rooms.get`, `subscriptions.getOne`, `channels.info`, `groups.info`),
//! searching a room's messages (`chat.search`), the sources rooms came from
//! (`livechat/rooms/filters`) and the visitor's survey answers (`livechat/room.survey`).
//!
//! A user's subscriptions are derived, not stored: a user is subscribed to the open
//! rooms it serves or joined (room.join), as Rocket.Chat subscribes the serving agent
//! and removes subscriptions on close.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use super::visitor::{invalid_room, known_visitor};
use super::widget_config::SURVEY;
use super::wire::{MessageView, RoomView};
use crate::domain::page::{Direction, Page, parse_sort};
use crate::domain::permissions::VIEW_L_ROOM;
use crate::domain::time::parse_instant;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, LoggedIn, PageParams, Paged, Path, Query, permission_set, whole_number};
use crate::http::openapi::{RcBadRequest, RcPermitted, RcSignedIn, RcSmallJsonBody, RcUnavailable};
use crate::http::shapes::rc_page;
use crate::http::shapes::{Success, Timestamp};
use crate::http::{AppState, SMALL_BODY_BYTES};
use crate::store::{AuthUser, Room};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(answer_survey))
        .routes(routes!(room_filters))
        .routes(routes!(room_info))
        .routes(routes!(subscribed_rooms))
        .routes(routes!(one_subscription))
        .routes(routes!(channel_info))
        .routes(routes!(group_info))
        .routes(routes!(search_messages))
        .routes(routes!(livechat_room_messages))
}

permission_set!(ServeRooms = [VIEW_L_ROOM]);

/// The survey item Rocket.Chat takes whatever its value.
const ADDITIONAL_FEEDBACK: &str = "additionalFeedback";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SurveyBody {
    #[schema(max_length = 256)]
    token: String,
    #[schema(max_length = 256)]
    rid: String,
    #[schema(max_items = 20)]
    data: Vec<SurveyAnswer>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SurveyAnswer {
    /// A survey item (`satisfaction`, `agentKnowledge`, `agentResposiveness`,
    /// `agentFriendliness`) or `additionalFeedback`.
    #[schema(max_length = 256)]
    name: String,
    /// `1` to `5`; any text for `additionalFeedback`.
    #[schema(max_length = 5000)]
    value: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SurveyAnswers {
    rid: String,
    /// The answers taken, by item.
    #[schema(value_type = Object)]
    data: Map<String, Value>,
    success: Success,
}

/// The visitor answers the satisfaction survey of its room (open or closed): answers
/// naming a survey item with a value of 1 to 5, and `additionalFeedback`, are kept as
/// the room's `surveyFeedback` (replacing earlier answers); others are ignored, and
/// none taken is `invalid-data`.
#[utoipa::path(post, path = "/api/v1/livechat/room.survey", tag = "visitor",
    request_body = SurveyBody,
    responses(
        (status = 200, description = "The answers taken", body = SurveyAnswers),
        RcSmallJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn answer_survey(
    State(state): State<AppState>,
    Body(body): Body<SurveyBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<SurveyAnswers>> {
    let visitor = known_visitor(&state, &body.token).await?;
    let room = state.store.room_by_id(&body.rid).await?.filter(|room| room.visitor_id == visitor.id);
    if room.is_none() {
        return Err(invalid_room());
    }
    let mut taken = Map::new();
    for answer in body.data {
        let surveyed = SURVEY.items.contains(&answer.name.as_str()) && SURVEY.values.contains(&answer.value.as_str());
        if surveyed || answer.name == ADDITIONAL_FEEDBACK {
            taken.insert(answer.name, Value::String(answer.value));
        }
    }
    if taken.is_empty() {
        return Err(ApiError::bad_request("invalid-data"));
    }
    let feedback = Value::Object(taken.clone()).to_string();
    if !state.store.save_survey_feedback(&body.rid, &visitor.id, &feedback, state.now()).await? {
        // The room went away since it was read.
        return Err(invalid_room());
    }
    Ok(Json(SurveyAnswers { rid: body.rid, data: taken, success: Success }))
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoomFilters {
    filters: Vec<SourceFilter>,
    success: Success,
}

/// A source rooms came from.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SourceFilter {
    #[serde(rename = "type")]
    kind: String,
}

/// The sources the rooms came from (`api`, `widget`, ...), each once.
#[utoipa::path(get, path = "/api/v1/livechat/rooms/filters", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The sources", body = RoomFilters), RcPermitted))]
async fn room_filters(State(state): State<AppState>, _: Caller<ServeRooms>) -> ApiResult<Json<RoomFilters>> {
    let filters = state.store.room_source_types().await?.into_iter().map(|kind| SourceFilter { kind }).collect();
    Ok(Json(RoomFilters { filters, success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RoomLookup {
    /// The room's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_id: Option<String>,
    /// The room's name (livechat rooms have none, so it finds none)
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_name: Option<String>,
    /// Accepted and ignored: the room is shown whole
    #[allow(dead_code)]
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    fields: Option<String>,
}

impl RoomLookup {
    /// The room id asked for; `None` when only a name is given. Neither (or both blank)
    /// is Rocket.Chat's `error-roomid-param-not-provided`.
    fn room_id(&self) -> ApiResult<Option<&str>> {
        let id = self.room_id.as_deref().filter(|id| !id.is_empty());
        let name = self.room_name.as_deref().filter(|name| !name.is_empty());
        if id.is_none() && name.is_none() {
            return Err(ApiError::coded(
                "error-roomid-param-not-provided",
                "The parameter \"roomId\" or \"roomName\" is required",
            ));
        }
        Ok(id)
    }
}

/// `{room, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneRoom {
    room: RoomView,
    success: Success,
}

/// `{channel, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneChannel {
    channel: RoomView,
    success: Success,
}

fn no_such_room(kind: &str) -> ApiError {
    ApiError::coded(
        "error-room-not-found",
        format!("The required \"roomId\" or \"roomName\" param provided does not match any {kind}"),
    )
}

/// The livechat room asked for, and whether `caller` may see it.
async fn looked_up(state: &AppState, caller: &AuthUser, lookup: &RoomLookup, kind: &str) -> ApiResult<(Room, bool)> {
    let Some(room_id) = lookup.room_id()? else { return Err(no_such_room(kind)) };
    let Some(room) = state.store.room_by_id(room_id).await? else { return Err(no_such_room(kind)) };
    let visible = state.store.room_state(room_id, room_access(caller)).await?.is_some_and(|state| state.accessible);
    Ok((room, visible))
}

/// A livechat room by id, to a user who may see it (as for chat.*); one it may not see
/// is Rocket.Chat's `not-allowed`.
#[utoipa::path(get, path = "/api/v1/rooms.info", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(RoomLookup),
    responses((status = 200, description = "The room", body = OneRoom), RcSignedIn, (status = 400, response = RcBadRequest)))]
async fn room_info(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(lookup): Query<RoomLookup>,
) -> ApiResult<Json<OneRoom>> {
    let (room, visible) = looked_up(&state, &caller, &lookup, "channel").await?;
    if !visible {
        return Err(ApiError::failure_typed("not-allowed", "Not Allowed"));
    }
    Ok(Json(OneRoom { room: RoomView::from(&room), success: Success }))
}

/// A livechat room by id, as channels.info shows rooms of type `c` and `l`: to a user
/// who may see it; one it may not see is 403.
#[utoipa::path(get, path = "/api/v1/channels.info", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(RoomLookup),
    responses((status = 200, description = "The room", body = OneChannel), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn channel_info(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(lookup): Query<RoomLookup>,
) -> ApiResult<Json<OneChannel>> {
    let (room, visible) = looked_up(&state, &caller, &lookup, "channel").await?;
    if !visible {
        return Err(ApiError::unauthorized_object());
    }
    Ok(Json(OneChannel { channel: RoomView::from(&room), success: Success }))
}

/// groups.info serves private groups (type `p`), which this server has none of: a
/// livechat room, or any id, is Rocket.Chat's `error-room-not-found`.
#[utoipa::path(get, path = "/api/v1/groups.info", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(RoomLookup),
    responses(
        (status = 200, description = "Never: there are no private groups", body = OneRoom),
        RcSignedIn,
        (status = 400, response = RcBadRequest),
    ))]
async fn group_info(_: Caller<LoggedIn>, Query(lookup): Query<RoomLookup>) -> ApiResult<Json<OneRoom>> {
    lookup.room_id()?;
    Err(no_such_room("group"))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RoomsSince {
    /// An RFC 3339 instant: only rooms changed after it
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    updated_since: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoomChanges {
    /// The open rooms the caller serves or joined.
    update: Vec<RoomView>,
    /// Always empty: rooms leave the list when they close.
    remove: Vec<RoomView>,
    success: Success,
}

/// The open livechat rooms the caller serves or joined (its subscriptions), changed
/// after `updatedSince` when given, most recently changed first.
#[utoipa::path(get, path = "/api/v1/rooms.get", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(RoomsSince),
    responses((status = 200, description = "The rooms", body = RoomChanges), RcSignedIn, (status = 400, response = RcBadRequest)))]
async fn subscribed_rooms(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(query): Query<RoomsSince>,
) -> ApiResult<Json<RoomChanges>> {
    let since = match query.updated_since.as_deref().filter(|since| !since.is_empty()) {
        None => None,
        Some(raw) => Some(parse_instant(raw).ok_or_else(|| {
            ApiError::coded(
                "error-updatedSince-param-invalid",
                "The \"updatedSince\" query parameter must be a valid date.",
            )
        })?),
    };
    let rooms = state.store.subscribed_rooms(&caller.id, since).await?;
    Ok(Json(RoomChanges { update: rooms.iter().map(RoomView::from).collect(), remove: Vec::new(), success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SubscriptionQuery {
    /// The room's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneSubscription {
    /// `null` when the caller is not in the room.
    subscription: Option<SubscriptionView>,
    success: Success,
}

/// A user's subscription to a livechat room, as Rocket.Chat shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SubscriptionView {
    /// The room's id and the user's, joined by `-` (derived, not stored).
    #[serde(rename = "_id")]
    id: String,
    rid: String,
    name: String,
    fname: String,
    t: String,
    u: SubscriptionUser,
    v: SubscriptionVisitor,
    /// The room's department.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    department: Option<String>,
    open: bool,
    alert: bool,
    unread: i64,
    user_mentions: i64,
    group_mentions: i64,
    /// When the user came into the room: served since, or joined.
    ts: Timestamp,
    ls: Timestamp,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SubscriptionUser {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SubscriptionVisitor {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    token: String,
    status: String,
}

/// The caller's subscription to a room: present while the room is open and the caller
/// serves or joined it, `null` otherwise (a room it cannot see included).
#[utoipa::path(get, path = "/api/v1/subscriptions.getOne", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(SubscriptionQuery),
    responses((status = 200, description = "The subscription", body = OneSubscription), RcSignedIn, (status = 400, response = RcBadRequest)))]
async fn one_subscription(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(query): Query<SubscriptionQuery>,
) -> ApiResult<Json<OneSubscription>> {
    if query.room_id.is_empty() {
        return Err(ApiError::bad_request("The 'roomId' param is required"));
    }
    let subscription =
        state.store.subscription(&caller.id, &query.room_id).await?.map(|(room, since)| SubscriptionView {
            id: format!("{}-{}", room.id, caller.id),
            rid: room.id.clone(),
            name: room.fname.clone(),
            fname: room.fname.clone(),
            t: "l".to_owned(),
            u: SubscriptionUser { id: caller.id.clone(), username: caller.username.clone(), name: caller.name.clone() },
            v: SubscriptionVisitor {
                id: room.visitor_id.clone(),
                username: room.visitor_username(),
                token: room.visitor_token.clone(),
                status: room.visitor_status.clone(),
            },
            department: room.department_id.clone(),
            open: true,
            alert: false,
            unread: 0,
            user_mentions: 0,
            group_mentions: 0,
            ts: Timestamp(since),
            ls: Timestamp(since),
            updated_at: Timestamp(room.updated_at),
        });
    Ok(Json(OneSubscription { subscription, success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// The room's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_id: String,
    /// Text the messages contain, in any case; blank finds none
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    search_text: String,
    #[schema(minimum = 0)]
    #[param(value_type = Option<u32>)]
    count: Option<f64>,
    #[schema(minimum = 0)]
    #[param(value_type = Option<u32>)]
    offset: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FoundMessages {
    messages: Vec<MessageView>,
    success: Success,
}

/// The plain messages of a room the caller may see whose text contains `searchText`,
/// newest first; a room it may not see, or none, is Rocket.Chat's bare failure.
#[utoipa::path(get, path = "/api/v1/chat.search", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    params(SearchQuery),
    responses((status = 200, description = "The messages found", body = FoundMessages), RcSignedIn, (status = 400, response = RcBadRequest)))]
async fn search_messages(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json<FoundMessages>> {
    let page =
        Page::new(whole_number(query.offset, "offset")?, whole_number(query.count, "count")?, state.page_limits());
    let room = match state.store.room_state(&query.room_id, room_access(&caller)).await? {
        Some(room) if room.accessible => room,
        _ => return Err(ApiError::bare_failure()),
    };
    let text = query.search_text.trim();
    let found =
        if text.is_empty() { Vec::new() } else { state.store.search_room_messages(&query.room_id, text, page).await? };
    let messages = found.iter().map(|message| MessageView::new(message, Some(&room.visitor_token))).collect();
    Ok(Json(FoundMessages { messages, success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RoomMessagesFilter {
    /// Text the messages contain, in any case; absent or empty: every message
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    search_term: Option<String>,
}

/// The sort field of livechat/{rid}/messages.
#[derive(Clone, Copy)]
struct ByTime;

rc_page!(RoomMessagePage { messages: MessageView });

/// A page of a livechat room's plain messages and its closing message, for agents who
/// may see the room, with those containing `searchTerm` (any case) when given. Sort:
/// `{"ts":-1}` (the default) or `{"ts":1}`.
#[utoipa::path(get, path = "/api/v1/livechat/{rid}/messages", tag = "messages",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room's id", max_length = 256), RoomMessagesFilter, PageParams),
    responses((status = 200, description = "A page of messages", body = RoomMessagePage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn livechat_room_messages(
    State(state): State<AppState>,
    caller: Caller<ServeRooms>,
    Path(room_id): Path<String>,
    query: Paged<RoomMessagesFilter>,
) -> ApiResult<Json<RoomMessagePage>> {
    let newest_first = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &[("ts", ByTime)])?.first().is_none_or(|key| key.direction == Direction::Desc),
        None => true,
    };
    let room = match state.store.room_state(&room_id, room_access(&caller)).await? {
        None => return Err(ApiError::bad_request("invalid-room")),
        Some(room) if !room.accessible => return Err(ApiError::bad_request("not-allowed")),
        Some(room) => room,
    };
    let text = query.filter.search_term.as_deref().filter(|text| !text.is_empty());
    let (messages, total) = state.store.room_messages_matching(&room_id, text, newest_first, query.page).await?;
    let messages = messages.iter().map(|message| MessageView::new(message, Some(&room.visitor_token))).collect();
    Ok(Json(RoomMessagePage::new(messages, query.page, total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_lookup_needs_an_id_or_a_name() {
        let lookup = |room_id: Option<&str>, room_name: Option<&str>| RoomLookup {
            room_id: room_id.map(str::to_owned),
            room_name: room_name.map(str::to_owned),
            fields: None,
        };
        assert_eq!(lookup(Some("r1"), None).room_id().ok().flatten(), Some("r1"));
        assert_eq!(lookup(Some(""), Some("general")).room_id().ok().flatten(), None);
        assert!(lookup(None, None).room_id().is_err());
        assert!(lookup(Some(""), Some("")).room_id().is_err());
    }
}
