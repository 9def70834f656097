//! SLA policies: /api/v1/livechat/sla and /api/v1/livechat/sla/{slaId}.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::object_id;
use crate::domain::page::{Direction, SortKey, parse_sort};
use crate::domain::permissions::{MANAGE_LIVECHAT_SLA, VIEW_L_ROOM};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, PageParams, Paged, Path, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcNotFound, RcPermitted};
use crate::http::shapes::{Done, Success, rc_page};
use crate::store::{SlaPolicy, SlaSortField, StoreError};

const SLA_SORT_FIELDS: [(&str, SlaSortField); 4] = [
    ("name", SlaSortField::Name),
    ("description", SlaSortField::Description),
    ("dueTimeInMinutes", SlaSortField::DueTimeInMinutes),
    ("_id", SlaSortField::Id),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, remove))
}

permission_set!(ReadSla = [MANAGE_LIVECHAT_SLA, VIEW_L_ROOM]);
permission_set!(ManageSla = [MANAGE_LIVECHAT_SLA]);

/// An SLA policy as Rocket.Chat shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SlaView {
    name: String,
    description: String,
    #[schema(minimum = 1)]
    due_time_in_minutes: i64,
    #[serde(rename = "_id")]
    id: String,
}

impl From<SlaPolicy> for SlaView {
    fn from(policy: SlaPolicy) -> Self {
        Self {
            name: policy.name,
            description: policy.description,
            due_time_in_minutes: policy.due_time_in_minutes,
            id: policy.id,
        }
    }
}

/// The body of create and update.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SlaBody {
    #[schema(min_length = 1, max_length = 256)]
    name: String,
    #[schema(max_length = 5000)]
    description: Option<String>,
    #[schema(minimum = 1)]
    due_time_in_minutes: i64,
}

impl SlaBody {
    /// The policy of this body, with the id `id`.
    fn policy(self, id: String) -> ApiResult<SlaPolicy> {
        if self.name.trim().is_empty() {
            return Err(ApiError::invalid_params("/name must NOT have fewer than 1 characters"));
        }
        Ok(SlaPolicy {
            id,
            name: self.name,
            description: self.description.unwrap_or_default(),
            due_time_in_minutes: self.due_time_in_minutes,
        })
    }
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SlaListFilter {
    /// Part of the name
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    text: Option<String>,
}

/// `{sla, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneSlaWrapped {
    sla: SlaView,
    success: Success,
}

impl OneSlaWrapped {
    fn of(policy: SlaPolicy) -> Json<Self> {
        Json(Self { sla: policy.into(), success: Success })
    }
}

rc_page!(SlaPage { sla: SlaView });

/// One policy's fields beside `success`, as Rocket.Chat answers GET.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OneSla {
    name: String,
    description: String,
    #[schema(minimum = 1)]
    due_time_in_minutes: i64,
    #[serde(rename = "_id")]
    id: String,
    success: Success,
}

fn sla_not_found(id: &str) -> String {
    format!("SLA with id {id} not found")
}

fn duplicated() -> ApiError {
    ApiError::bad_request("error-duplicated-sla")
}

/// Creates an SLA policy.
#[utoipa::path(post, path = "/api/v1/livechat/sla", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    request_body = SlaBody,
    responses((status = 200, description = "The policy", body = OneSlaWrapped), RcPermitted, RcJsonBody))]
async fn create(
    State(state): State<AppState>,
    _: Caller<ManageSla>,
    Body(body): Body<SlaBody>,
) -> ApiResult<Json<OneSlaWrapped>> {
    let policy = body.policy(object_id())?;
    match state.store.create_sla(&policy, state.now()).await {
        Ok(()) => Ok(OneSlaWrapped::of(policy)),
        Err(StoreError::Conflict(_)) => Err(duplicated()),
        Err(error) => Err(error.into()),
    }
}

/// The SLA policies, by name unless sorted otherwise.
///
/// Sort fields: name, description, dueTimeInMinutes, _id (e.g. `{"name":1}`).
#[utoipa::path(get, path = "/api/v1/livechat/sla", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(SlaListFilter, PageParams),
    responses((status = 200, description = "A page of policies", body = SlaPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(
    State(state): State<AppState>,
    _: Caller<ReadSla>,
    query: Paged<SlaListFilter>,
) -> ApiResult<Json<SlaPage>> {
    let sort = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &SLA_SORT_FIELDS)?,
        None => vec![SortKey { field: SlaSortField::Name, direction: Direction::Asc }],
    };
    let text = query.filter.text.as_deref().filter(|text| !text.is_empty());
    let (policies, total) = state.store.list_slas(text, &sort, query.page).await?;
    Ok(Json(SlaPage::new(policies.into_iter().map(SlaView::from).collect(), query.page, total)))
}

/// One SLA policy.
#[utoipa::path(get, path = "/api/v1/livechat/sla/{sla_id}", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(("sla_id" = String, Path, description = "The policy's id", max_length = 256)),
    responses(
        (status = 200, description = "The policy", body = OneSla),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn get_one(
    State(state): State<AppState>,
    _: Caller<ReadSla>,
    Path(sla_id): Path<String>,
) -> ApiResult<Json<OneSla>> {
    let policy = state.store.sla_by_id(&sla_id).await?.ok_or_else(|| ApiError::not_found(sla_not_found(&sla_id)))?;
    Ok(Json(OneSla {
        name: policy.name,
        description: policy.description,
        due_time_in_minutes: policy.due_time_in_minutes,
        id: policy.id,
        success: Success,
    }))
}

/// Replaces an SLA policy.
#[utoipa::path(put, path = "/api/v1/livechat/sla/{sla_id}", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(("sla_id" = String, Path, description = "The policy's id", max_length = 256)),
    request_body = SlaBody,
    responses(
        (status = 200, description = "The policy", body = OneSlaWrapped),
        RcPermitted,
        RcJsonBody,
        (status = 404, response = RcNotFound),
    ))]
async fn update(
    State(state): State<AppState>,
    _: Caller<ManageSla>,
    Path(sla_id): Path<String>,
    Body(body): Body<SlaBody>,
) -> ApiResult<Json<OneSlaWrapped>> {
    let policy = body.policy(sla_id)?;
    match state.store.update_sla(&policy, state.now()).await {
        Ok(()) => Ok(OneSlaWrapped::of(policy)),
        Err(StoreError::NotFound) => Err(ApiError::not_found(sla_not_found(&policy.id))),
        Err(StoreError::Conflict(_)) => Err(duplicated()),
        Err(error) => Err(error.into()),
    }
}

/// Deletes an SLA policy.
#[utoipa::path(delete, path = "/api/v1/livechat/sla/{sla_id}", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(("sla_id" = String, Path, description = "The policy's id", max_length = 256)),
    responses((status = 200, description = "Deleted", body = Done), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn remove(
    State(state): State<AppState>,
    _: Caller<ManageSla>,
    Path(sla_id): Path<String>,
) -> ApiResult<Json<Done>> {
    match state.store.delete_sla(&sla_id, state.now()).await {
        Ok(()) => Ok(Done::ANSWER),
        Err(StoreError::NotFound) => Err(ApiError::bad_request(sla_not_found(&sla_id))),
        Err(error) => Err(error.into()),
    }
}
