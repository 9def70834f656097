//! Rooms as agents and managers see them: closing and listing.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{room_json, room_schema};
use crate::domain::ids::meteor_id;
use crate::domain::page::{Page, parse_sort};
use crate::domain::permissions::{VIEW_L_ROOM, VIEW_LIVECHAT_ROOMS};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::openapi::{
    RcBadRequest, RcJsonBody, RcPermitted, RcSuccess, closed_object_with_optional, ignored, rc_page, schema_component,
};
use crate::http::validate::Fields;
use crate::store::{Closer, RoomFilter, RoomSortField, StoreError};

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

schema_component!(
    /// `tags`, `generateTranscriptPdf` and `transcriptEmail` are accepted and ignored.
    CloseByUserBody => closed_object_with_optional(
        json!({
            "rid": {"type": "string"},
            "comment": {"type": ["string", "null"]},
            "forceClose": {"type": ["boolean", "null"]},
            "tags": ignored(),
            "generateTranscriptPdf": ignored(),
            "transcriptEmail": ignored(),
        }),
        &["comment", "forceClose", "tags", "generateTranscriptPdf", "transcriptEmail"],
    )
);
schema_component!(RoomPage => rc_page("rooms", room_schema()));

/// An agent closes a room it serves; a manager closes any.
#[utoipa::path(post, path = "/api/v1/livechat/room.closeByUser", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = CloseByUserBody,
    responses((status = 200, description = "Closed", body = RcSuccess), RcPermitted, RcJsonBody))]
async fn close_by_user(
    State(state): State<AppState>,
    credentials: Credentials,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_L_ROOM]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["rid", "comment", "forceClose", "tags", "generateTranscriptPdf", "transcriptEmail"])?;
    let room_id = fields.required_str("rid")?;
    let comment = fields.optional_str("comment")?;
    fields.optional_bool("forceClose")?;
    let room =
        state.store.room_by_id(room_id).await?.ok_or_else(|| ApiError::coded("error-invalid-room", "Invalid room"))?;
    // Closing another agent's room takes a manager's permission.
    if room.served_by.as_deref() != Some(caller.id.as_str()) && !caller.holds(VIEW_LIVECHAT_ROOMS) {
        return Err(ApiError::unauthorized_object());
    }
    let closer = Closer::Agent { user_id: &caller.id, username: &caller.username, name: &caller.name };
    match state.store.close_room(room_id, closer, comment, &meteor_id(), state.now()).await {
        Ok(()) => Ok(Json(json!({"success": true}))),
        Err(StoreError::NotFound) => Err(ApiError::bad_request("error-room-already-closed")),
        Err(error) => Err(error.into()),
    }
}

/// The livechat rooms.
#[utoipa::path(get, path = "/api/v1/livechat/rooms", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(
        ("open" = Option<bool>, Query),
        ("agents" = Option<Vec<String>>, Query, description = "Serving agents' ids; also sent as agents[]"),
        ("departmentId" = Option<String>, Query),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = r#"JSON, e.g. `{"ts":-1}`; fields: ts, _updatedAt, fname, lm, closedAt"#),
    ),
    responses((status = 200, description = "A page of rooms", body = RoomPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list_rooms(
    State(state): State<AppState>,
    credentials: Credentials,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[VIEW_LIVECHAT_ROOMS]).await?;
    query.deny_unknown(&["open", "agents", "agents[]", "departmentId", "offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let sort = match query.get("sort") {
        Some(raw) => parse_sort(raw, &ROOM_SORT_FIELDS)?,
        None => Vec::new(),
    };
    let open = match query.get("open") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::invalid_params("/open must be boolean")),
    };
    let agent_ids: Vec<String> = query.all("agents").chain(query.all("agents[]")).map(str::to_owned).collect();
    let filter = RoomFilter { open, agent_ids: &agent_ids, department_id: query.get("departmentId") };
    let (rooms, total) = state.store.list_rooms(filter, &sort, page).await?;
    let rooms: Vec<Value> = rooms.iter().map(room_json).collect();
    Ok(Json(json!({"rooms": rooms, "count": rooms.len(), "offset": page.offset, "total": total, "success": true})))
}
