//! Omnichannel priorities (Rocket.Chat enterprise): the five levels, renaming and
//! resetting them, and `inquiry.prioritize`, which sets one on an open room.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::meteor_id;
use crate::domain::page::{Direction, SortKey, parse_sort};
use crate::domain::permissions::{MANAGE_LIVECHAT_PRIORITIES, VIEW_L_ROOM};
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, PageParams, Paged, Path, WordedBody, Wording, ajv_refusal, permission_set};
use crate::http::openapi::{RcBadRequest, RcNotFound, RcPermitted, RcSmallJsonBody};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Done, Success, Timestamp, rc_page};
use crate::store::{HistoryActor, PrioritizeOutcome, Priority, PriorityChange, PrioritySortField, StoreError};

const PRIORITY_SORT_FIELDS: [(&str, PrioritySortField); 6] = [
    ("name", PrioritySortField::Name),
    ("i18n", PrioritySortField::I18n),
    ("sortItem", PrioritySortField::SortItem),
    ("dirty", PrioritySortField::Dirty),
    ("_id", PrioritySortField::Id),
    ("_updatedAt", PrioritySortField::UpdatedAt),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one, update))
        .routes(routes!(can_reset, reset_all))
        .routes(routes!(prioritize))
}

permission_set!(ReadPriorities = [MANAGE_LIVECHAT_PRIORITIES, VIEW_L_ROOM]);
permission_set!(ManagePriorities = [MANAGE_LIVECHAT_PRIORITIES]);
permission_set!(Prioritize = [MANAGE_LIVECHAT_PRIORITIES, VIEW_L_ROOM]);

/// A priority as Rocket.Chat shows it: `name` only once a manager named it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PriorityView {
    #[serde(rename = "_id")]
    id: String,
    /// The key of the level's translated name: Lowest, Low, Medium, High or Highest.
    i18n: String,
    /// The level's weight in the queue, 1 (Highest) to 5 (Lowest).
    #[schema(minimum = 1, maximum = 5)]
    sort_item: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    name: Option<String>,
    /// Whether the level was renamed since its last reset.
    dirty: bool,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
}

impl From<Priority> for PriorityView {
    fn from(priority: Priority) -> Self {
        Self {
            id: priority.id,
            i18n: priority.i18n,
            sort_item: priority.sort_item,
            name: priority.name,
            dirty: priority.dirty,
            updated_at: Timestamp(priority.updated_at),
        }
    }
}

rc_page!(PriorityPage { priorities: PriorityView });

/// One priority's fields beside `success`, as Rocket.Chat answers GET.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OnePriority {
    #[serde(rename = "_id")]
    id: String,
    i18n: String,
    #[schema(minimum = 1, maximum = 5)]
    sort_item: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    name: Option<String>,
    dirty: bool,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    success: Success,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PriorityListFilter {
    /// Part of the name, in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    text: Option<String>,
}

/// `{name}` renames a priority, `{reset: true}` gives it back its default name; one
/// of the two, nothing else.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum PriorityChangeBody {
    Rename(RenameBody),
    Reset(ResetBody),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    /// Trimmed; unique among the priorities whatever its case.
    #[schema(max_length = 256)]
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    /// true resets the name; false only marks the priority renamed, as in Rocket.Chat.
    reset: bool,
}

/// Whether some priority was renamed since its last reset.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetState {
    reset: bool,
    success: Success,
}

/// The body of inquiry.prioritize; other keys are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PrioritizeBody {
    /// The open room whose priority changes.
    #[schema(min_length = 1, max_length = 256)]
    room_id: String,
    /// The priority's id or name.
    #[schema(max_length = 256)]
    priority: Option<String>,
}

/// Rocket.Chat words a missing, null or empty room id its own way.
impl Wording for PrioritizeBody {
    fn refusal(violation: &Violation) -> ApiError {
        let room_id_required = || ApiError::bad_request("The 'roomId' param is required");
        match violation {
            Violation::Missing { name, .. } if name == "roomId" => room_id_required(),
            Violation::WrongType { at, found: "null", .. } | Violation::TooShort { at, .. } if at == "/roomId" => {
                room_id_required()
            }
            other => ajv_refusal(other),
        }
    }
}

fn priority_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Priority with id {id} not found"))
}

/// The priorities, by name unless sorted otherwise (unnamed ones first, lowest level
/// first among equals).
///
/// Sort fields: name, i18n, sortItem, dirty, _id, _updatedAt (e.g. `{"sortItem":1}`).
#[utoipa::path(get, path = "/api/v1/livechat/priorities", tag = "priorities",
    security(("userId" = [], "authToken" = [])),
    params(PriorityListFilter, PageParams),
    responses((status = 200, description = "A page of priorities", body = PriorityPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(
    State(state): State<AppState>,
    _: Caller<ReadPriorities>,
    query: Paged<PriorityListFilter>,
) -> ApiResult<Json<PriorityPage>> {
    let sort = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &PRIORITY_SORT_FIELDS)?,
        None => vec![SortKey { field: PrioritySortField::Name, direction: Direction::Asc }],
    };
    let text = query.filter.text.as_deref().filter(|text| !text.is_empty());
    let (priorities, total) = state.store.list_priorities(text, &sort, query.page).await?;
    Ok(Json(PriorityPage::new(priorities.into_iter().map(PriorityView::from).collect(), query.page, total)))
}

/// One priority.
#[utoipa::path(get, path = "/api/v1/livechat/priorities/{priority_id}", tag = "priorities",
    security(("userId" = [], "authToken" = [])),
    params(("priority_id" = String, Path, description = "The priority's id", max_length = 256)),
    responses(
        (status = 200, description = "The priority", body = OnePriority),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn get_one(
    State(state): State<AppState>,
    _: Caller<ReadPriorities>,
    Path(priority_id): Path<String>,
) -> ApiResult<Json<OnePriority>> {
    let priority = state.store.priority_by_id(&priority_id).await?.ok_or_else(|| priority_not_found(&priority_id))?;
    Ok(Json(OnePriority {
        id: priority.id,
        i18n: priority.i18n,
        sort_item: priority.sort_item,
        name: priority.name,
        dirty: priority.dirty,
        updated_at: Timestamp(priority.updated_at),
        success: Success,
    }))
}

/// Renames a priority (`{name}`) or resets it (`{reset: true}`).
#[utoipa::path(put, path = "/api/v1/livechat/priorities/{priority_id}", tag = "priorities",
    security(("userId" = [], "authToken" = [])),
    params(("priority_id" = String, Path, description = "The priority's id", max_length = 256)),
    request_body = PriorityChangeBody,
    responses((status = 200, description = "Changed", body = Done), RcPermitted, RcSmallJsonBody))]
async fn update(
    State(state): State<AppState>,
    _: Caller<ManagePriorities>,
    Path(priority_id): Path<String>,
    Body(body): Body<PriorityChangeBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Done>> {
    let change = match &body {
        PriorityChangeBody::Rename(RenameBody { name }) => PriorityChange::Rename(name.trim()),
        PriorityChangeBody::Reset(ResetBody { reset: true }) => PriorityChange::Reset,
        PriorityChangeBody::Reset(ResetBody { reset: false }) => PriorityChange::MarkDirty,
    };
    match state.store.change_priority(&priority_id, change, state.now()).await {
        Ok(()) => Ok(Done::ANSWER),
        Err(StoreError::NotFound) => Err(ApiError::bad_request("error-unable-to-update-priority")),
        Err(error) if error.is_conflict_on("name_key") => Err(ApiError::bad_request("error-duplicate-priority-name")),
        Err(error) => Err(error.into()),
    }
}

/// Whether any priority was renamed since its last reset.
#[utoipa::path(get, path = "/api/v1/livechat/priorities.reset", tag = "priorities",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "Whether a reset would change anything", body = ResetState), RcPermitted))]
async fn can_reset(State(state): State<AppState>, _: Caller<ManagePriorities>) -> ApiResult<Json<ResetState>> {
    Ok(Json(ResetState { reset: state.store.priorities_can_reset().await?, success: Success }))
}

/// Gives every renamed priority back its default name; `{"success": false}` when none
/// was renamed.
#[utoipa::path(post, path = "/api/v1/livechat/priorities.reset", tag = "priorities",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "Reset", body = Done), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn reset_all(State(state): State<AppState>, _: Caller<ManagePriorities>) -> ApiResult<Json<Done>> {
    match state.store.reset_priorities(state.now()).await? {
        0 => Err(ApiError::bare_failure()),
        _ => Ok(Done::ANSWER),
    }
}

/// Sets a priority (by id or name) on an open room and its inquiry, queued or
/// served: the queue orders by its weight under the Priority sorting mechanism. The
/// room's history records the change.
#[utoipa::path(put, path = "/api/v1/livechat/inquiry.prioritize", tag = "priorities",
    security(("userId" = [], "authToken" = [])),
    request_body = PrioritizeBody,
    responses((status = 200, description = "Set", body = Done), RcPermitted, RcSmallJsonBody))]
async fn prioritize(
    State(state): State<AppState>,
    caller: Caller<Prioritize>,
    WordedBody(body): WordedBody<PrioritizeBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Done>> {
    // Without the priorities permission, the room must be one the agent can reach.
    let reach_bound = if caller.holds(MANAGE_LIVECHAT_PRIORITIES) { None } else { caller.department_bound() };
    let actor = HistoryActor { user_id: &caller.id, username: &caller.username, name: &caller.name };
    let priority = body.priority.as_deref().unwrap_or_default();
    match state.store.prioritize_room(&body.room_id, priority, actor, reach_bound, &meteor_id(), state.now()).await? {
        PrioritizeOutcome::Set => Ok(Done::ANSWER),
        PrioritizeOutcome::Unreachable => Err(ApiError::unauthorized_object()),
        PrioritizeOutcome::InvalidInquiry => Err(ApiError::bad_request("error-invalid-inquiry")),
        PrioritizeOutcome::InvalidPriority => Err(ApiError::bad_request("error-invalid-priority")),
    }
}
