//! Routing: agents' chat limits (`agents.saveInfo`), the queue metrics
//! (`livechat/queue`), the agent a visitor would get next (`agent.next`) and a waiting
//! visitor's place in the queue (`queue.position`).
//! The routing itself is `crate::routing`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::visitor::{known_visitor, match_error, own_room};
use super::widget::ServingAgent;
use crate::domain::agents::LivechatRole;
use crate::domain::page::{Direction, SortKey, parse_sort};
use crate::domain::permissions::{MANAGE_LIVECHAT_AGENTS, VIEW_L_ROOM};
use crate::domain::settings::{RoutingMethodSetting, SortingMechanism};
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{
    Body, Caller, KeyText, PageParams, Paged, Path, Query, WordedQuery, Wording, ajv_refusal, permission_set,
};
use crate::http::openapi::{RcBadRequest, RcPermitted, RcSmallJsonBody, RcUnavailable};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Done, Success, rc_page};
use crate::store::{QueueMetric, QueueMetricFilter, QueueMetricSortField, StoreError};

const QUEUE_SORT_FIELDS: [(&str, QueueMetricSortField); 3] = [
    ("chats", QueueMetricSortField::Chats),
    ("user.username", QueueMetricSortField::Username),
    ("department.name", QueueMetricSortField::DepartmentName),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(save_info))
        .routes(routes!(queue))
        .routes(routes!(next_agent))
        .routes(routes!(queue_position))
}

permission_set!(ManageAgents = [MANAGE_LIVECHAT_AGENTS]);
permission_set!(ServeChats = [VIEW_L_ROOM]);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SaveInfoBody {
    #[schema(max_length = 256)]
    agent_id: String,
    agent_data: AgentData,
    /// The agent's whole department list (ids); absent: unchanged.
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    agent_departments: Option<Vec<String>>,
}

/// An agent's livechat data; other keys are accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AgentData {
    /// The most chats the agent serves at once; 0: no limit of its own.
    #[schema(minimum = 0)]
    max_number_simultaneous_chat: Option<i64>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct QueueFilter {
    /// Only this agent's lines
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    agent_id: Option<String>,
    /// Also agents that are not available
    include_offline_agents: Option<bool>,
    /// Only this department's lines
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueueUser {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    status: String,
}

/// The department; empty for chats of no department.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueueDepartment {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    name: Option<String>,
}

/// The open chats one agent serves in one department.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueueLine {
    user: QueueUser,
    department: QueueDepartment,
    #[schema(minimum = 1)]
    chats: i64,
}

impl From<QueueMetric> for QueueLine {
    fn from(metric: QueueMetric) -> Self {
        Self {
            user: QueueUser { id: metric.user_id, username: metric.username, status: metric.status },
            department: QueueDepartment { id: metric.department_id, name: metric.department_name },
            chats: metric.chats,
        }
    }
}

rc_page!(QueuePage { queue: QueueLine });

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NextAgentQuery {
    /// A department's id or name
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department: Option<String>,
}

/// The agent the visitor would get; none when it has an open room already.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NextAgent {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    agent: Option<ServingAgent>,
    success: Success,
}

fn invalid_department() -> ApiError {
    ApiError::coded("error-invalid-department", "The provided department is invalid")
}

/// Sets an agent's own chat limit (`agentData.maxNumberSimultaneousChat`, 0: none) and,
/// with `agentDepartments`, its whole department list. A confined monitor changes only
/// agents all of whose departments, old and new, are its own.
#[utoipa::path(post, path = "/api/v1/livechat/agents.saveInfo", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    request_body = SaveInfoBody,
    responses((status = 200, description = "Saved", body = Done), RcPermitted, RcSmallJsonBody))]
async fn save_info(
    State(state): State<AppState>,
    caller: Caller<ManageAgents>,
    Body(body): Body<SaveInfoBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Done>> {
    let not_agent = || ApiError::bad_request("error-user-is-not-agent");
    let agent = state.store.livechat_user(LivechatRole::Agent.role(), &body.agent_id).await?.ok_or_else(not_agent)?;
    if caller.is_confined_monitor() {
        for department_id in agent.department_ids.iter().chain(body.agent_departments.iter().flatten()) {
            if !state.store.is_department_agent(department_id, &caller.id).await? {
                return Err(ApiError::unauthorized_object());
            }
        }
    }
    let saved = state
        .store
        .save_agent_info(
            &agent.user.id,
            body.agent_data.max_number_simultaneous_chat,
            body.agent_departments.as_deref(),
            state.now(),
        )
        .await;
    match saved {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(not_agent()),
        Err(error) if error.is_conflict_on("department") => return Err(invalid_department()),
        Err(error) => return Err(error.into()),
    }
    state.route_queue().await;
    Ok(Done::ANSWER)
}

/// Open chats per serving agent and department, most first by default. By default only
/// available agents count (`includeOfflineAgents=true`: all). A caller bound to its
/// departments sees the chats of those and of none.
///
/// Sort fields: chats, user.username, department.name (e.g. `{"chats":-1}`).
#[utoipa::path(get, path = "/api/v1/livechat/queue", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(QueueFilter, PageParams),
    responses((status = 200, description = "A page of queue lines", body = QueuePage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn queue(
    State(state): State<AppState>,
    caller: Caller<ServeChats>,
    query: Paged<QueueFilter>,
) -> ApiResult<Json<QueuePage>> {
    let sort = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &QUEUE_SORT_FIELDS)?,
        None => vec![SortKey { field: QueueMetricSortField::Chats, direction: Direction::Desc }],
    };
    let filter = QueueMetricFilter {
        agent_id: query.filter.agent_id.as_deref().filter(|id| !id.is_empty()),
        department_id: query.filter.department_id.as_deref().filter(|id| !id.is_empty()),
        include_offline: query.filter.include_offline_agents.unwrap_or(false),
        bound: caller.department_bound(),
    };
    let (lines, total) = state.store.queue_metrics(&filter, &sort, query.page).await?;
    Ok(Json(QueuePage::new(lines.into_iter().map(QueueLine::from).collect(), query.page, total)))
}

/// The agent the routing method would give the visitor now, in `department` (id or
/// name) or any; `{"success": true}` alone when the visitor has an open room.
#[utoipa::path(get, path = "/api/v1/livechat/agent.next/{token}", tag = "visitor",
    params(("token" = String, Path, description = "The visitor's token", max_length = 256), NextAgentQuery),
    responses(
        (status = 200, description = "The next agent", body = NextAgent),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn next_agent(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<NextAgentQuery>,
) -> ApiResult<Json<NextAgent>> {
    let visitor = known_visitor(&state, &token).await?;
    if state.store.open_room_of_visitor(&visitor.id).await?.is_some() {
        return Ok(Json(NextAgent { agent: None, success: Success }));
    }
    let agent_not_found = || ApiError::bad_request("agent-not-found");
    let department_id = match query.department.as_deref().filter(|department| !department.is_empty()) {
        Some(department) => {
            Some(state.store.department_by_id_or_name(department).await?.ok_or_else(agent_not_found)?.id)
        }
        None => None,
    };
    let method = state.store.setting::<RoutingMethodSetting>().await?;
    let agent_id = state.store.next_agent(method, department_id.as_deref()).await?.ok_or_else(agent_not_found)?;
    let agent = state.store.user_by_id(&agent_id).await?.ok_or_else(|| ApiError::bad_request("invalid-agent"))?;
    let agent = ServingAgent::shown_to_visitors(&state, agent).await?;
    Ok(Json(NextAgent { agent: Some(agent), success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QueuePositionQuery {
    /// The visitor's token
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    token: String,
    /// The visitor's room
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    rid: String,
}

/// Worded as the visitor's other routes word a missing key.
impl Wording for QueuePositionQuery {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::Missing { name, .. } => match_error(format!("Missing key '{name}'")),
            other => ajv_refusal(other),
        }
    }
}

/// What Rocket.Chat's widget shows a waiting visitor (its `queueInfo`).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueueInfo {
    /// 1 for the inquiry routing takes next among those of the room's department (all
    /// of them when the room has none)
    spot: i64,
}

/// The room's place in the queue; none once it is served or closed.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct QueuePosition {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    queue_info: Option<QueueInfo>,
    success: Success,
}

/// Where the visitor's room waits in the queue, in the order routing takes inquiries
/// (`Omnichannel_sorting_mechanism`); `{"success": true}` alone when it is not queued.
#[utoipa::path(get, path = "/api/v1/livechat/queue.position", tag = "visitor",
    params(QueuePositionQuery),
    responses(
        (status = 200, description = "The room's place in the queue", body = QueuePosition),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn queue_position(
    State(state): State<AppState>,
    WordedQuery(query): WordedQuery<QueuePositionQuery>,
) -> ApiResult<Json<QueuePosition>> {
    let visitor = known_visitor(&state, &query.token).await?;
    let room = own_room(&state, &visitor, &query.rid).await?;
    let sort = state.store.setting::<SortingMechanism>().await?;
    let spot = state.store.queue_spot(&room.id, sort).await?;
    Ok(Json(QueuePosition { queue_info: spot.map(|spot| QueueInfo { spot }), success: Success }))
}
