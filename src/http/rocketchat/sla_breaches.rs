//! SLA breaches and per-policy figures: /api/v1/livechat/sla.breaches and
//! /api/v1/livechat/sla.stats. Additions of this server: Rocket.Chat keeps no record of
//! an inquiry that waited past its due time.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::permissions::{MANAGE_LIVECHAT_SLA, VIEW_LIVECHAT_MANAGER};
use crate::domain::time::parse_instant;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, PageParams, Paged, Query, permission_set};
use crate::http::openapi::{RcBadRequest, RcPermitted};
use crate::http::shapes::{Success, Timestamp, rc_page};
use crate::store::{InstantRange, SlaBreach, SlaBreachFilter, SlaBreachState, SlaPolicyStats};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(breaches)).routes(routes!(stats))
}

permission_set!(ReadBreaches = [MANAGE_LIVECHAT_SLA, VIEW_LIVECHAT_MANAGER]);

/// Where a breach's inquiry stands.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum BreachState {
    /// Still waiting for an agent.
    Open,
    /// Taken by an agent since.
    Taken,
    /// Closed without being taken.
    Closed,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BreachFilter {
    /// A policy's id (breaches of deleted policies keep it)
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    policy: Option<String>,
    /// A department's id: breaches of inquiries of that department when they breached
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department: Option<String>,
    /// Breached at or after this date (ISO 8601)
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    from: Option<String>,
    /// Breached at or before this date (ISO 8601)
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    to: Option<String>,
    /// open (still queued), taken or closed (closed without being taken)
    #[param(inline)]
    state: Option<BreachState>,
}

/// A breach: an inquiry still queued at its due time.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BreachView {
    inquiry_id: String,
    rid: String,
    sla_id: String,
    /// The inquiry's department when it breached.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    department_id: Option<String>,
    due_at: Timestamp,
    breached_at: Timestamp,
    /// When the inquiry was taken; absent while it waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    taken_at: Option<Timestamp>,
    /// When the room was closed with its inquiry never taken; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    closed_at: Option<Timestamp>,
}

impl From<SlaBreach> for BreachView {
    fn from(breach: SlaBreach) -> Self {
        Self {
            inquiry_id: breach.inquiry_id,
            rid: breach.room_id,
            sla_id: breach.policy_id,
            department_id: breach.department_id,
            due_at: Timestamp(breach.due_at),
            breached_at: Timestamp(breach.breached_at),
            taken_at: breach.taken_at.map(Timestamp),
            closed_at: breach.closed_at.map(Timestamp),
        }
    }
}

rc_page!(BreachPage { breaches: BreachView });

/// A date of the filter, refused in Rocket.Chat's words for a query date.
fn instant(property: &str, raw: Option<&str>) -> ApiResult<Option<i64>> {
    match raw.filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => parse_instant(raw)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("The \"{property}\" query parameter must be a valid date."))),
    }
}

/// The SLA breaches, newest first: inquiries still queued at their due time, with when
/// they were taken since. A caller bounded to its departments (see `inquiries.list`)
/// sees those of its departments and of none.
#[utoipa::path(get, path = "/api/v1/livechat/sla.breaches", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(BreachFilter, PageParams),
    responses((status = 200, description = "A page of breaches", body = BreachPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn breaches(
    State(state): State<AppState>,
    caller: Caller<ReadBreaches>,
    query: Paged<BreachFilter>,
) -> ApiResult<Json<BreachPage>> {
    if query.sort.is_some() {
        return Err(ApiError::invalid_params("sort is not supported: breaches are listed newest first"));
    }
    let bound = caller.department_bound();
    let filter = &query.filter;
    let department = filter.department.as_deref().filter(|department| !department.is_empty());
    if let (Some(department), Some(user_id)) = (department, bound)
        && !state.store.is_department_agent(department, user_id).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    let filter = SlaBreachFilter {
        policy_id: filter.policy.as_deref().filter(|policy| !policy.is_empty()),
        department_id: department,
        breached: InstantRange {
            start: instant("from", filter.from.as_deref())?,
            end: instant("to", filter.to.as_deref())?,
        },
        state: filter.state.map(|state| match state {
            BreachState::Open => SlaBreachState::Open,
            BreachState::Taken => SlaBreachState::Taken,
            BreachState::Closed => SlaBreachState::Closed,
        }),
        bound,
    };
    let (breaches, total) = state.store.sla_breaches(&filter, query.page).await?;
    Ok(Json(BreachPage::new(breaches.into_iter().map(BreachView::from).collect(), query.page, total)))
}

/// No parameters.
#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NoFilter {}

/// One policy's figures.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyStatsView {
    sla_id: String,
    name: String,
    /// Inquiries carrying the policy, open or closed.
    #[schema(minimum = 0)]
    inquiries: i64,
    /// Of those, taken at or before their due time.
    #[schema(minimum = 0)]
    met: i64,
    /// Of those, recorded as breached at their current due time.
    #[schema(minimum = 0)]
    breached: i64,
    /// The median time from queued to taken of those taken, in seconds; absent when
    /// none was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    median_wait_seconds: Option<f64>,
}

impl From<SlaPolicyStats> for PolicyStatsView {
    fn from(stats: SlaPolicyStats) -> Self {
        Self {
            sla_id: stats.policy_id,
            name: stats.name,
            inquiries: stats.inquiries,
            met: stats.met,
            breached: stats.breached,
            median_wait_seconds: stats.median_wait.map(|millis| millis as f64 / 1000.0),
        }
    }
}

/// `{stats, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatsAnswer {
    stats: Vec<PolicyStatsView>,
    success: Success,
}

/// Figures per SLA policy, by name: inquiries, met, breached, median wait. A caller
/// bounded to its departments counts the inquiries of its departments and of none.
#[utoipa::path(get, path = "/api/v1/livechat/sla.stats", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(NoFilter),
    responses((status = 200, description = "Figures per policy", body = StatsAnswer), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn stats(
    State(state): State<AppState>,
    caller: Caller<ReadBreaches>,
    _: Query<NoFilter>,
) -> ApiResult<Json<StatsAnswer>> {
    let stats = state.store.sla_stats(caller.department_bound()).await?;
    Ok(Json(StatsAnswer { stats: stats.into_iter().map(PolicyStatsView::from).collect(), success: Success }))
}
