//! The inquiry queue: the manager's listing, one inquiry, SLAs on queued inquiries,
//! and the agent's side: take, the agent's queue, return to the queue.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::InquiryView;
use crate::domain::ids::meteor_id;
use crate::domain::page::{Direction, SortKey, parse_sort};
use crate::domain::permissions::{
    MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_SLA, ROLE_AGENT, TRANSFER_LIVECHAT_GUEST, VIEW_L_ROOM,
    VIEW_LIVECHAT_MANAGER,
};
use crate::domain::settings::SortingMechanism;
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, PageParams, Paged, Query, WordedBody, Wording, ajv_refusal, permission_set};
use crate::http::openapi::{RcBadRequest, RcPermitted, RcSmallJsonBody};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Done, Success, Timestamp, rc_page};
use crate::store::{
    AuthUser, HistoryActor, Inquiry, InquirySortField, QueueEntry, ReturnOutcome, RoomGuard, SetSlaOutcome, TakeOutcome,
};

const INQUIRY_SORT_FIELDS: [(&str, InquirySortField); 7] = [
    ("ts", InquirySortField::Ts),
    ("name", InquirySortField::Name),
    ("priorityWeight", InquirySortField::PriorityWeight),
    ("estimatedWaitingTimeQueue", InquirySortField::EstimatedWaitingTimeQueue),
    ("status", InquirySortField::Status),
    ("queuedAt", InquirySortField::QueuedAt),
    ("_id", InquirySortField::Id),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(set_sla))
        .routes(routes!(take))
        .routes(routes!(queued_for_user))
        .routes(routes!(return_as_inquiry))
}

permission_set!(ManageQueue = [VIEW_LIVECHAT_MANAGER]);
permission_set!(WorkQueue = [VIEW_L_ROOM]);
permission_set!(SetSla = [VIEW_L_ROOM, MANAGE_LIVECHAT_SLA]);

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct InquiryListFilter {
    /// A department's id or name
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department: Option<String>,
}

/// One line of the manager's queue listing.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueuedInquiry {
    #[serde(rename = "_id")]
    id: String,
    rid: String,
    name: String,
    ts: Timestamp,
    status: String,
    /// The department's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    department: Option<String>,
}

impl From<QueueEntry> for QueuedInquiry {
    fn from(entry: QueueEntry) -> Self {
        Self {
            id: entry.id,
            rid: entry.room_id,
            name: entry.name,
            ts: Timestamp(entry.ts),
            status: entry.status,
            department: entry.department_id,
        }
    }
}

rc_page!(QueuedInquiryPage { inquiries: QueuedInquiry });

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct OneInquiryQuery {
    /// The room's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_id: String,
}

/// The room's inquiry, `null` when it has none.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneInquiry {
    #[schema(required = true)]
    inquiry: Option<InquiryView>,
    success: Success,
}

/// The body of setSLA; other keys are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct InquirySlaBody {
    #[schema(min_length = 1, max_length = 256)]
    room_id: String,
    /// The policy's id or name.
    #[schema(min_length = 1, max_length = 256)]
    sla: String,
}

/// Rocket.Chat's setSLA words a missing, null or empty parameter its own way:
/// `The 'roomId' param is required`.
impl Wording for InquirySlaBody {
    fn refusal(violation: &Violation) -> ApiError {
        let param = |at: &str| at.trim_start_matches('/').to_owned();
        let required = |name: String| ApiError::bad_request(format!("The '{name}' param is required"));
        match violation {
            Violation::Missing { name, .. } => required(name.clone()),
            Violation::WrongType { at, found: "null", .. } | Violation::TooShort { at, .. } => required(param(at)),
            other => ajv_refusal(other),
        }
    }
}

/// `options` is accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TakeBody {
    #[schema(max_length = 256)]
    inquiry_id: String,
    /// The agent to take it for; the caller when absent.
    #[schema(max_length = 256)]
    user_id: Option<String>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    options: Option<Value>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AgentQueueFilter {
    /// One of the caller's departments
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department: Option<String>,
}

rc_page!(AgentInquiryPage { inquiries: InquiryView });

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReturnBody {
    #[schema(max_length = 256)]
    room_id: String,
    /// A department's id or name.
    #[schema(max_length = 256)]
    department_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Returned {
    /// false when the room was already queued.
    result: bool,
    success: Success,
}

/// The queued inquiries, newest first by default. A monitor that is neither
/// administrator nor manager sees those of its departments and of none.
///
/// Sort fields: ts, name, priorityWeight, estimatedWaitingTimeQueue, status, queuedAt, _id
/// (e.g. `{"ts":-1}`).
#[utoipa::path(get, path = "/api/v1/livechat/inquiries.list", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(InquiryListFilter, PageParams),
    responses((status = 200, description = "A page of inquiries", body = QueuedInquiryPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller<ManageQueue>,
    query: Paged<InquiryListFilter>,
) -> ApiResult<Json<QueuedInquiryPage>> {
    let sort = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &INQUIRY_SORT_FIELDS)?,
        None => vec![SortKey { field: InquirySortField::Ts, direction: Direction::Desc }],
    };
    let bound = caller.department_bound();
    let department_id = match query.filter.department.as_deref().filter(|department| !department.is_empty()) {
        Some(department) => match state.store.department_by_id_or_name(department).await? {
            Some(department) => {
                if let Some(user_id) = bound
                    && !state.store.is_department_agent(&department.id, user_id).await?
                {
                    return Err(ApiError::unauthorized_object());
                }
                Some(department.id)
            }
            // An unknown department has no inquiries (Rocket.Chat ignores the filter).
            None => return Ok(Json(QueuedInquiryPage::new(Vec::new(), query.page, 0))),
        },
        None => None,
    };
    let (entries, total) = state.store.queued_inquiries(department_id.as_deref(), bound, &sort, query.page).await?;
    Ok(Json(QueuedInquiryPage::new(entries.into_iter().map(QueuedInquiry::from).collect(), query.page, total)))
}

/// The room's inquiry while it is open, `null` otherwise.
#[utoipa::path(get, path = "/api/v1/livechat/inquiries.getOne", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(OneInquiryQuery),
    responses((status = 200, description = "The inquiry or null", body = OneInquiry), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn get_one(
    State(state): State<AppState>,
    caller: Caller<WorkQueue>,
    Query(query): Query<OneInquiryQuery>,
) -> ApiResult<Json<OneInquiry>> {
    let inquiry = state.store.inquiry_of_room(&query.room_id).await?;
    if let Some(inquiry) = &inquiry
        && !can_access_inquiry(&state, &caller, inquiry).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    Ok(Json(OneInquiry { inquiry: inquiry.as_ref().map(InquiryView::from), success: Success }))
}

/// Whether the caller may see or change this inquiry: supervisors reach any; agents
/// and confined monitors (see `AuthUser::department_bound`) reach those they serve,
/// those of their departments and those of none.
async fn can_access_inquiry(state: &AppState, caller: &AuthUser, inquiry: &Inquiry) -> ApiResult<bool> {
    if inquiry.served_by.as_deref() == Some(caller.id.as_str()) {
        return Ok(true);
    }
    let Some(user_id) = caller.department_bound() else { return Ok(true) };
    Ok(match &inquiry.department_id {
        None => true,
        Some(department_id) => state.store.is_department_agent(department_id, user_id).await?,
    })
}

/// Sets a policy (by id or name) on a queued inquiry.
#[utoipa::path(put, path = "/api/v1/livechat/inquiry.setSLA", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    request_body = InquirySlaBody,
    responses((status = 200, description = "Set", body = Done), RcPermitted, RcSmallJsonBody))]
async fn set_sla(
    State(state): State<AppState>,
    caller: Caller<SetSla>,
    WordedBody(body): WordedBody<InquirySlaBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Done>> {
    // Without the SLA permission, the inquiry must be one the agent can reach.
    let reach_bound = if caller.holds(MANAGE_LIVECHAT_SLA) { None } else { caller.department_bound() };
    let actor = HistoryActor { user_id: &caller.id, username: &caller.username, name: &caller.name };
    match state.store.set_inquiry_sla(&body.room_id, &body.sla, actor, reach_bound, &meteor_id(), state.now()).await? {
        SetSlaOutcome::Set(_) => Ok(Done::ANSWER),
        SetSlaOutcome::Unreachable => Err(ApiError::unauthorized_object()),
        SetSlaOutcome::InvalidInquiry => Err(ApiError::bad_request("error-invalid-inquiry")),
        SetSlaOutcome::InvalidSla => Err(ApiError::bad_request("error-invalid-sla")),
    }
}

fn agent_offline() -> ApiError {
    ApiError::coded(
        "error-agent-status-service-offline",
        "Agent status is offline or Omnichannel service is not active",
    )
}

/// An agent takes a queued inquiry of its departments or of none; a manager may take it
/// for another agent (a confined monitor only within its own departments).
#[utoipa::path(post, path = "/api/v1/livechat/inquiries.take", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    request_body = TakeBody,
    responses((status = 200, description = "Taken", body = Done), RcPermitted, RcSmallJsonBody))]
async fn take(
    State(state): State<AppState>,
    caller: Caller<WorkQueue>,
    Body(body): Body<TakeBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Done>> {
    let (agent_id, caller_bound) = match body.user_id {
        Some(user_id) if user_id != caller.id => {
            // Taking on behalf of another agent is a manager's move.
            if !caller.holds(MANAGE_LIVECHAT_AGENTS) {
                return Err(ApiError::unauthorized_object());
            }
            (user_id, caller.department_bound())
        }
        _ => (caller.id.clone(), None),
    };
    let agent = state
        .store
        .user_by_id(&agent_id)
        .await?
        .ok_or_else(|| ApiError::coded("error-invalid-user", "Invalid user"))?;
    if !state.store.user_has_role(&agent.id, ROLE_AGENT).await? {
        return Err(ApiError::coded("error-invalid-agent", "The user is not an agent"));
    }
    if agent.livechat_status != "available" {
        return Err(agent_offline());
    }
    match state.store.take_inquiry(&body.inquiry_id, &agent.id, caller_bound, state.now()).await? {
        TakeOutcome::Taken => Ok(Done::ANSWER),
        TakeOutcome::Unreachable => Err(ApiError::unauthorized_object()),
        TakeOutcome::NotFound => Err(ApiError::coded("error-not-found", "Inquiry not found")),
        TakeOutcome::AlreadyTaken => Err(ApiError::coded("error-inquiry-taken", "Inquiry already taken")),
        TakeOutcome::AgentUnavailable => Err(agent_offline()),
        TakeOutcome::OverLimit => Err(ApiError::coded("error-max-number-simultaneous-chats-reached", "Not allowed")),
    }
}

/// The inquiries queued for the caller's departments and for none.
///
/// `sort` is accepted; the setting `Omnichannel_sorting_mechanism` orders the queue.
#[utoipa::path(get, path = "/api/v1/livechat/inquiries.queuedForUser", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(AgentQueueFilter, PageParams),
    responses((status = 200, description = "A page of inquiries", body = AgentInquiryPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn queued_for_user(
    State(state): State<AppState>,
    caller: Caller<WorkQueue>,
    query: Paged<AgentQueueFilter>,
) -> ApiResult<Json<AgentInquiryPage>> {
    let department = query.filter.department.as_deref().filter(|department| !department.is_empty());
    if let Some(department) = department
        && !state.store.is_department_agent(department, &caller.id).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    let sort = state.store.setting::<SortingMechanism>().await?;
    let (inquiries, total) = state.store.queued_for_agent(&caller.id, department, sort, query.page).await?;
    Ok(Json(AgentInquiryPage::new(inquiries.iter().map(InquiryView::from).collect(), query.page, total)))
}

/// Puts a served room back in the queue, into department `department` (id or name; none
/// or empty: its own) and routes the queue: `inquiries.returnAsInquiry` and the DDP
/// method `livechat:returnAsInquiry`. The serving agent may; returning another agent's
/// room, or into another department, takes transfer-livechat-guest (`NotPermitted`
/// otherwise; within the caller's departments for a confined monitor). An unknown
/// department is refused.
pub(crate) async fn return_room(
    state: &AppState,
    caller: &AuthUser,
    room_id: &str,
    department: Option<&str>,
) -> ApiResult<ReturnOutcome> {
    let may_transfer = caller.holds(TRANSFER_LIVECHAT_GUEST);
    let department_id = match department.filter(|department| !department.is_empty()) {
        Some(_) if !may_transfer => return Ok(ReturnOutcome::NotPermitted),
        Some(department) => Some(
            state
                .store
                .department_by_id_or_name(department)
                .await?
                .map(|department| department.id)
                .ok_or_else(|| ApiError::coded("error-invalid-department", "The provided department is invalid"))?,
        ),
        None => None,
    };
    let guard = RoomGuard { user_id: Some(&caller.id), others: may_transfer, bound: caller.department_bound() };
    let outcome = state.store.return_to_queue(room_id, department_id.as_deref(), guard, state.now()).await?;
    if outcome == ReturnOutcome::Returned {
        state.route_queue().await;
    }
    Ok(outcome)
}

/// Puts a served room back in the queue. The serving agent may; returning another
/// agent's room, or into another department, takes transfer-livechat-guest (within the
/// caller's departments for a confined monitor).
#[utoipa::path(post, path = "/api/v1/livechat/inquiries.returnAsInquiry", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    request_body = ReturnBody,
    responses((status = 200, description = "Returned, or already queued", body = Returned), RcPermitted, RcSmallJsonBody))]
async fn return_as_inquiry(
    State(state): State<AppState>,
    caller: Caller<WorkQueue>,
    Body(body): Body<ReturnBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Returned>> {
    let result = match return_room(&state, &caller, &body.room_id, body.department_id.as_deref()).await? {
        ReturnOutcome::Returned => true,
        ReturnOutcome::NotPermitted => return Err(ApiError::unauthorized_object()),
        ReturnOutcome::AlreadyQueued => false,
        ReturnOutcome::Closed => return Err(ApiError::bad_request("room-closed")),
        ReturnOutcome::NotFound => return Err(ApiError::coded("error-invalid-room", "Invalid room")),
    };
    Ok(Json(Returned { result, success: Success }))
}
