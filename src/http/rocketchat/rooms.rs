//! Rooms as agents and managers see them: closing and listing.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::RoomView;
use crate::domain::ids::meteor_id;
use crate::domain::page::parse_sort;
use crate::domain::permissions::{CLOSE_LIVECHAT_ROOM, CLOSE_OTHERS_LIVECHAT_ROOM, VIEW_L_ROOM, VIEW_LIVECHAT_ROOMS};
use crate::domain::time::parse_instant;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, KeyText, LoggedIn, PageParams, Paged, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted};
use crate::http::shapes::{Done, rc_page};
use crate::store::{CloseRoom, Closer, InstantRange, RoomFilter, RoomGuard, RoomSortField, StoreError};

const ROOM_SORT_FIELDS: [(&str, RoomSortField); 9] = [
    ("_id", RoomSortField::Id),
    ("ts", RoomSortField::Ts),
    ("_updatedAt", RoomSortField::UpdatedAt),
    ("fname", RoomSortField::Fname),
    ("lm", RoomSortField::LastMessageAt),
    ("closedAt", RoomSortField::ClosedAt),
    ("open", RoomSortField::Open),
    ("departmentId", RoomSortField::DepartmentId),
    ("servedBy._id", RoomSortField::ServedBy),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(close_by_user)).routes(routes!(list_rooms))
}

permission_set!(CloseRooms = [CLOSE_LIVECHAT_ROOM]);

/// `generateTranscriptPdf` and `transcriptEmail` are accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CloseByUserBody {
    #[schema(max_length = 256)]
    rid: String,
    #[schema(max_length = 5000)]
    comment: Option<String>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    force_close: Option<bool>,
    /// Tags the room keeps, besides its own and its department's closing tags.
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    tags: Option<Vec<String>>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    generate_transcript_pdf: Option<Value>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    transcript_email: Option<Value>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RoomListFilter {
    open: Option<bool>,
    /// Serving agents' ids; also sent as agents[]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(value_type = Option<Vec<KeyText>>, inline)]
    agents: Option<Vec<String>>,
    /// Serving agents' ids, as `agents`.
    #[serde(rename = "agents[]")]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(ignore)]
    bracketed_agents: Option<Vec<String>>,
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department_id: Option<String>,
    /// Part of the room's name, in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_name: Option<String>,
    /// JSON `{"start": <date>, "end": <date>}`, each optional: rooms opened within
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    created_at: Option<String>,
    /// JSON `{"start": <date>, "end": <date>}`, each optional: rooms closed within
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    closed_at: Option<String>,
    /// `t`, `true` or `1`: only open rooms no agent serves yet
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    queued: Option<String>,
    /// `t`, `true` or `1`: only rooms on hold
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    onhold: Option<String>,
    /// Rooms with any of these tags; also sent as tags[]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(value_type = Option<Vec<KeyText>>, inline)]
    tags: Option<Vec<String>>,
    #[serde(rename = "tags[]")]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(ignore)]
    bracketed_tags: Option<Vec<String>>,
    /// Rooms of these monitor units (there are no units here); also sent as units[]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(value_type = Option<Vec<KeyText>>, inline)]
    units: Option<Vec<String>>,
    #[serde(rename = "units[]")]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(ignore)]
    bracketed_units: Option<Vec<String>>,
    /// JSON object of room custom field to value (rooms carry no custom fields here)
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    custom_fields: Option<String>,
    /// JSON of field to 0 or 1, checked as Rocket.Chat checks it; as Rocket.Chat's room
    /// query, the rooms are shown whole
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    fields: Option<String>,
}

/// Rocket.Chat's truthy spellings of `queued` and `onhold`.
fn truthy(flag: Option<&str>) -> bool {
    matches!(flag, Some("t" | "true" | "1"))
}

/// A `{"start", "end"}` date filter named `property`, refused in Rocket.Chat's words
/// when a bound is not a date.
fn instant_range(property: &str, raw: Option<&str>) -> ApiResult<Option<InstantRange>> {
    let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    let Ok(Value::Object(bounds)) = serde_json::from_str::<Value>(raw) else {
        return Err(ApiError::bad_request(format!("The \"{property}\" query parameter must be a valid JSON.")));
    };
    let bound = |name: &str| {
        match bounds.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => parse_instant(text).map(Some).ok_or(()),
            Some(_) => Err(()),
        }
        .map_err(|()| ApiError::bad_request(format!("The \"{property}.{name}\" query parameter must be a valid date.")))
    };
    Ok(Some(InstantRange { start: bound("start")?, end: bound("end")? }))
}

/// Whether `fields` is JSON of field to 0 or 1, as Rocket.Chat's parseJsonQuery checks.
fn check_fields(raw: Option<&str>) -> ApiResult<()> {
    let Some(raw) = raw else { return Ok(()) };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(fields))
            if fields.values().all(|value| value.as_i64().is_some_and(|flag| flag == 0 || flag == 1)) =>
        {
            Ok(())
        }
        _ => Err(ApiError::coded("error-invalid-fields", format!("Invalid fields parameter provided: \"{raw}\""))),
    }
}

/// Whether `customFields` asks for any field; refused unless it is a JSON object.
fn asks_custom_fields(raw: Option<&str>) -> ApiResult<bool> {
    let Some(raw) = raw.filter(|raw| !raw.is_empty()) else { return Ok(false) };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(fields)) => Ok(!fields.is_empty()),
        _ => Err(ApiError::bad_request("The \"customFields\" query parameter must be a valid JSON.")),
    }
}

rc_page!(RoomPage { rooms: RoomView });

/// An agent closes a room it serves or joined; closing another's takes
/// close-others-livechat-room (within its departments for a confined monitor). A room
/// of a department that asks for tags before closing needs tags, its own or given.
#[utoipa::path(post, path = "/api/v1/livechat/room.closeByUser", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = CloseByUserBody,
    responses((status = 200, description = "Closed", body = Done), RcPermitted, RcJsonBody))]
async fn close_by_user(
    State(state): State<AppState>,
    caller: Caller<CloseRooms>,
    Body(body): Body<CloseByUserBody>,
) -> ApiResult<Json<Done>> {
    let guard = RoomGuard {
        user_id: Some(&caller.id),
        others: caller.holds(CLOSE_OTHERS_LIVECHAT_ROOM),
        bound: caller.department_bound(),
    };
    let close = CloseRoom {
        room_id: &body.rid,
        closer: Closer::Agent { user_id: &caller.id, username: &caller.username, name: &caller.name },
        guard,
        comment: body.comment.as_deref(),
        tags: body.tags.as_deref().unwrap_or_default(),
        client_action: true,
        message_id: &meteor_id(),
        now: state.now(),
    };
    match state.store.close_room(close).await {
        Ok(()) => {
            state.route_queue().await;
            super::transcripts::after_close(&state, &body.rid);
            Ok(Done::ANSWER)
        }
        // Nothing closed: say why from the room as it is now, in Rocket.Chat's order.
        Err(StoreError::NotFound) => Err(match state.store.room_by_id(&body.rid).await? {
            None => ApiError::coded("error-invalid-room", "Invalid room"),
            Some(room) if !room.open => ApiError::bad_request("error-room-already-closed"),
            Some(_) => ApiError::bad_request("error-not-authorized"),
        }),
        Err(StoreError::TagsRequired) => Err(ApiError::coded(
            "error-tags-must-be-assigned-before-closing-chat",
            "Tag(s) must be assigned before closing the chat",
        )),
        Err(error) => Err(error.into()),
    }
}

/// The livechat rooms: all of them with view-livechat-rooms; with view-l-room alone,
/// only when `agents` names the caller and no one else. A confined monitor sees those
/// it serves and those of its departments and of none.
///
/// Rooms carry no custom fields or units here, so asking for any of them lists none. Sort fields: _id, ts, _updatedAt, fname, lm, closedAt,
/// open, departmentId, servedBy._id (default `{"ts":-1}`).
#[utoipa::path(get, path = "/api/v1/livechat/rooms", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(RoomListFilter, PageParams),
    responses((status = 200, description = "A page of rooms", body = RoomPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list_rooms(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    query: Paged<RoomListFilter>,
) -> ApiResult<Json<RoomPage>> {
    let sort = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &ROOM_SORT_FIELDS)?,
        None => Vec::new(),
    };
    let filter = query.filter;
    check_fields(filter.fields.as_deref())?;
    let created = instant_range("createdAt", filter.created_at.as_deref())?;
    let closed = instant_range("closedAt", filter.closed_at.as_deref())?;
    let agent_ids: Vec<String> =
        filter.agents.into_iter().flatten().chain(filter.bracketed_agents.into_iter().flatten()).collect();
    // Rocket.Chat checks this after the query is read, and answers a bare `unauthorized`.
    let own_rooms_only = agent_ids.len() == 1 && agent_ids[0] == caller.id && caller.holds(VIEW_L_ROOM);
    if !caller.holds(VIEW_LIVECHAT_ROOMS) && !own_rooms_only {
        return Err(ApiError::unauthorized_object());
    }
    let tags: Vec<String> =
        filter.tags.into_iter().flatten().chain(filter.bracketed_tags.into_iter().flatten()).collect();
    let asks_units = filter.units.iter().chain(&filter.bracketed_units).any(|units| !units.is_empty());
    let unmatchable = asks_custom_fields(filter.custom_fields.as_deref())? || asks_units;
    let room_filter = RoomFilter {
        open: filter.open,
        agent_ids: &agent_ids,
        department_id: filter.department_id.as_deref(),
        bound: caller.department_bound(),
        room_name: filter.room_name.as_deref().filter(|name| !name.is_empty()),
        created: created.unwrap_or_default(),
        closed,
        queued: truthy(filter.queued.as_deref()),
        on_hold: truthy(filter.onhold.as_deref()),
        tags: &tags,
        unmatchable,
    };
    let (rooms, total) = state.store.list_rooms(room_filter, &sort, query.page).await?;
    Ok(Json(RoomPage::new(rooms.iter().map(RoomView::from).collect(), query.page, total)))
}
