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
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, KeyText, LoggedIn, PageParams, Paged, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted};
use crate::http::shapes::{Done, rc_page};
use crate::store::{Closer, RoomFilter, RoomGuard, RoomSortField, StoreError};

const ROOM_SORT_FIELDS: [(&str, RoomSortField); 5] = [
    ("ts", RoomSortField::Ts),
    ("_updatedAt", RoomSortField::UpdatedAt),
    ("fname", RoomSortField::Fname),
    ("lm", RoomSortField::LastMessageAt),
    ("closedAt", RoomSortField::ClosedAt),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(close_by_user)).routes(routes!(list_rooms))
}

permission_set!(CloseRooms = [CLOSE_LIVECHAT_ROOM]);

/// `tags`, `generateTranscriptPdf` and `transcriptEmail` are accepted and ignored.
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
    /// Accepted and ignored.
    #[allow(dead_code)]
    tags: Option<Value>,
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
}

rc_page!(RoomPage { rooms: RoomView });

/// An agent closes a room it serves; closing another's takes close-others-livechat-room
/// (within its departments for a confined monitor).
#[utoipa::path(post, path = "/api/v1/livechat/room.closeByUser", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = CloseByUserBody,
    responses((status = 200, description = "Closed", body = Done), RcPermitted, RcJsonBody))]
async fn close_by_user(
    State(state): State<AppState>,
    caller: Caller<CloseRooms>,
    Body(body): Body<CloseByUserBody>,
) -> ApiResult<Json<Done>> {
    let closer = Closer::Agent { user_id: &caller.id, username: &caller.username, name: &caller.name };
    let guard = RoomGuard {
        user_id: Some(&caller.id),
        others: caller.holds(CLOSE_OTHERS_LIVECHAT_ROOM),
        bound: caller.department_bound(),
    };
    match state.store.close_room(&body.rid, closer, guard, body.comment.as_deref(), &meteor_id(), state.now()).await {
        Ok(()) => {
            state.route_queue().await;
            Ok(Done::ANSWER)
        }
        // Nothing closed: say why from the room as it is now.
        Err(StoreError::NotFound) => Err(match state.store.room_by_id(&body.rid).await? {
            None => ApiError::coded("error-invalid-room", "Invalid room"),
            Some(room) if room.open => ApiError::unauthorized_object(),
            Some(_) => ApiError::bad_request("error-room-already-closed"),
        }),
        Err(error) => Err(error.into()),
    }
}

/// The livechat rooms: all of them with view-livechat-rooms; with view-l-room alone,
/// only when `agents` names the caller and no one else. A confined monitor sees those
/// it serves and those of its departments and of none.
///
/// Sort fields: ts, _updatedAt, fname, lm, closedAt (e.g. `{"ts":-1}`).
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
    let agent_ids: Vec<String> =
        filter.agents.into_iter().flatten().chain(filter.bracketed_agents.into_iter().flatten()).collect();
    // Rocket.Chat checks this after the query is read, and answers a bare `unauthorized`.
    let own_rooms_only = agent_ids.len() == 1 && agent_ids[0] == caller.id && caller.holds(VIEW_L_ROOM);
    if !caller.holds(VIEW_LIVECHAT_ROOMS) && !own_rooms_only {
        return Err(ApiError::unauthorized_object());
    }
    let room_filter = RoomFilter {
        open: filter.open,
        agent_ids: &agent_ids,
        department_id: filter.department_id.as_deref(),
        bound: caller.department_bound(),
    };
    let (rooms, total) = state.store.list_rooms(room_filter, &sort, query.page).await?;
    Ok(Json(RoomPage::new(rooms.iter().map(RoomView::from).collect(), query.page, total)))
}
