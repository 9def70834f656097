//! Transfers: forwarding a room to another agent or department (livechat/room.forward)
//! and a room's transfer history (livechat/transfer.history).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use crate::domain::ids::meteor_id;
use crate::domain::page::parse_sort;
use crate::domain::permissions::{ROLE_AGENT, TRANSFER_LIVECHAT_GUEST, VIEW_LIVECHAT_ROOMS};
use crate::domain::settings::AcceptChatsWithNoAgents;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, NoFilter, PageParams, Paged, Path, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted};
use crate::http::shapes::{Done, rc_page};
use crate::store::{
    AuthUser, Department, DepartmentRef, Forward, ForwardOutcome, ForwardTarget, Party, Room, RoomGuard,
    TransferSortField, User,
};

const TRANSFER_SORT_FIELDS: [(&str, TransferSortField); 1] = [("ts", TransferSortField::Ts)];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(forward)).routes(routes!(history))
}

permission_set!(TransferGuests = [TRANSFER_LIVECHAT_GUEST]);
permission_set!(ViewRooms = [VIEW_LIVECHAT_ROOMS]);

/// `{roomId, userId?, departmentId?, comment?, clientAction?}`: to an agent (`userId`),
/// to a department (`departmentId`), or to an agent of a department (both).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ForwardBody {
    #[schema(max_length = 256)]
    room_id: String,
    #[schema(max_length = 256)]
    user_id: Option<String>,
    #[schema(max_length = 256)]
    department_id: Option<String>,
    #[schema(max_length = 5000)]
    comment: Option<String>,
    /// Sent by an agent's client: an agent over its chat limit is then refused in
    /// those words rather than as a failed forward.
    client_action: Option<bool>,
}

/// A user as a transfer names it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferParty {
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: String,
    #[schema(max_length = 256)]
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 256)]
    name: Option<String>,
    /// `agent` when the serving agent forwarded, else `user`; only on `transferredBy`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 256)]
    kind: Option<String>,
}

/// A department as a transfer names it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferDepartment {
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: String,
    #[schema(max_length = 256)]
    name: String,
}

/// One transfer, Rocket.Chat's `transferData` of a `livechat_transfer_history` message.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TransferView {
    transferred_by: TransferParty,
    /// When, ISO 8601.
    #[schema(max_length = 256)]
    ts: String,
    /// `agent`, `department` or `queue` (back to the queue of no department).
    #[schema(max_length = 256)]
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 5000)]
    comment: Option<String>,
    /// The id of the department the room was in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 256)]
    previous_department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    next_department: Option<TransferDepartment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    transferred_to: Option<TransferParty>,
}

rc_page!(TransferHistory { history: TransferView });

/// Which rooms the caller may forward: those it serves, and with view-livechat-rooms
/// others' too (within its departments for a confined monitor).
fn forward_guard(caller: &AuthUser) -> RoomGuard<'_> {
    RoomGuard { user_id: Some(&caller.id), others: caller.holds(VIEW_LIVECHAT_ROOMS), bound: caller.department_bound() }
}

fn failed() -> ApiError {
    ApiError::bad_request("error-forwarding-chat")
}

fn agent_offline() -> ApiError {
    ApiError::bad_request("error-user-is-offline")
}

fn no_agents_online() -> ApiError {
    ApiError::bad_request("error-no-agents-online-in-department")
}

/// Forwards an open room to another agent, or back to the queue of another department
/// (then routed at once under an automatic routing method), with a
/// `livechat_transfer_history` message. Takes transfer-livechat-guest; the caller must
/// serve the room or hold view-livechat-rooms (a confined monitor: a room of its
/// departments or of none).
#[utoipa::path(post, path = "/api/v1/livechat/room.forward", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = ForwardBody,
    responses((status = 200, description = "Forwarded", body = Done), RcPermitted, RcJsonBody))]
async fn forward(
    State(state): State<AppState>,
    caller: Caller<TransferGuests>,
    Body(body): Body<ForwardBody>,
) -> ApiResult<Json<Done>> {
    let room =
        state.store.room_by_id(&body.room_id).await?.ok_or_else(|| ApiError::bad_request("error-invalid-room"))?;
    if !room.open {
        return Err(closed());
    }
    let guard = forward_guard(&caller);
    if !state.store.may_act_on_room(&room.id, guard).await? {
        return Err(ApiError::unauthorized_object());
    }
    let user_id = body.user_id.as_deref().filter(|id| !id.is_empty());
    let department_id = body.department_id.as_deref().filter(|id| !id.is_empty());
    let by = Party { id: &caller.id, username: &caller.username, name: Some(&caller.name) };
    let department = match department_id {
        Some(id) => Some(
            state.store.department_by_id(id).await?.ok_or_else(|| ApiError::bad_request("error-invalid-department"))?,
        ),
        None => None,
    };
    let target = match (department, user_id) {
        (None, None) => return Err(failed()),
        (None, Some(user_id)) => {
            let agent = online_agent(&state, user_id).await?;
            if room.served_by.as_deref() == Some(agent.id.as_str()) {
                return Err(ApiError::bad_request("error-selected-agent-room-agent-are-same"));
            }
            Target::Agent(agent, None)
        }
        (Some(department), user_id) => {
            let source = match room.department_id.as_deref() {
                Some(id) => state.store.department_by_id(id).await?,
                None => None,
            };
            check_department(&room, source.as_ref(), &department)?;
            match user_id {
                Some(user_id) => {
                    let agent = online_agent(&state, user_id).await?;
                    if !state.store.is_department_agent(&department.id, &agent.id).await? {
                        return Err(ApiError::bad_request("error-user-not-belong-to-department"));
                    }
                    Target::Agent(agent, Some(department))
                }
                None => Target::Department(receiving_department(&state, &room, source.as_ref(), &department).await?),
            }
        }
    };
    let forward_target = match &target {
        Target::Agent(agent, department) => ForwardTarget::Agent {
            agent: Party { id: &agent.id, username: &agent.username, name: Some(&agent.name) },
            department: department.as_ref().map(department_ref),
        },
        Target::Department(department) => ForwardTarget::Department(Some(department_ref(department))),
    };
    let message_id = meteor_id();
    let forward = Forward {
        room_id: &room.id,
        seen_served_by: room.served_by.as_deref(),
        seen_department: room.department_id.as_deref(),
        target: forward_target,
        by,
        guard,
        comment: body.comment.as_deref(),
        message_id: &message_id,
        now: state.now(),
    };
    match state.store.forward_room(&forward).await? {
        ForwardOutcome::Forwarded => {
            // The previous agent has room for another chat; the room may be queued.
            state.route_queue().await;
            Ok(Done::ANSWER)
        }
        ForwardOutcome::AgentUnavailable => Err(agent_offline()),
        ForwardOutcome::OverLimit if body.client_action == Some(true) => {
            Err(ApiError::coded("error-max-number-simultaneous-chats-reached", "Not allowed"))
        }
        ForwardOutcome::OverLimit => Err(failed()),
        // Closed, served by another or moved since it was read: say which.
        ForwardOutcome::RoomChanged => Err(match state.store.room_by_id(&room.id).await? {
            Some(now) if !now.open => closed(),
            Some(_) if !state.store.may_act_on_room(&room.id, guard).await? => ApiError::unauthorized_object(),
            _ => failed(),
        }),
    }
}

/// Where a forward sends the room, as resolved before the change.
enum Target {
    Agent(User, Option<Department>),
    Department(Department),
}

fn department_ref(department: &Department) -> DepartmentRef<'_> {
    DepartmentRef { id: &department.id, name: &department.name }
}

fn closed() -> ApiError {
    ApiError::bad_request("This_conversation_is_already_closed")
}

/// The agent `id` when it is an active livechat agent available for chats; Rocket.Chat
/// refuses an unknown user, a user who is not an agent and an unavailable agent alike.
async fn online_agent(state: &AppState, id: &str) -> ApiResult<User> {
    match state.store.livechat_user(ROLE_AGENT, id).await? {
        Some(agent) if agent.user.active && agent.user.livechat_status == "available" => Ok(agent.user),
        _ => Err(agent_offline()),
    }
}

/// Refuses a department the room's department may not forward to
/// (`departmentsAllowedToForward`, when set), and the room's own department.
fn check_department(room: &Room, source: Option<&Department>, target: &Department) -> ApiResult<()> {
    let allowed: Vec<String> = source
        .and_then(|source| source.departments_allowed_to_forward.as_deref())
        .and_then(|list| serde_json::from_str::<Value>(list).ok())
        .and_then(|list| serde_json::from_value(list).ok())
        .unwrap_or_default();
    if !allowed.is_empty() && !allowed.contains(&target.id) {
        return Err(ApiError::coded(
            "error-forwarding-department-target-not-allowed",
            "The forwarding to the target department is not allowed.",
        ));
    }
    if room.department_id.as_deref() == Some(target.id.as_str()) {
        return Err(ApiError::bad_request("error-forwarding-chat-same-department"));
    }
    Ok(())
}

/// The department that receives the room: the target when an agent there is
/// available, it accepts forwards with none (`allowReceiveForwardOffline`) or chats
/// are accepted without agents; else the first of its fallback chain that does, each
/// checked as the target was. A chain that ends, or comes back on itself, refuses.
async fn receiving_department(
    state: &AppState,
    room: &Room,
    source: Option<&Department>,
    target: &Department,
) -> ApiResult<Department> {
    if state.store.setting::<AcceptChatsWithNoAgents>().await? {
        return Ok(target.clone());
    }
    let mut candidate = target.clone();
    let mut tried = Vec::new();
    loop {
        if candidate.allow_receive_forward_offline == Some(true)
            || state.store.department_has_online_agent(&candidate.id).await?
        {
            return Ok(candidate);
        }
        tried.push(candidate.id.clone());
        let next = candidate
            .fallback_forward_department
            .as_deref()
            .filter(|id| !id.is_empty() && !tried.iter().any(|tried| tried == id));
        let Some(next) = next else { return Err(no_agents_online()) };
        let Some(fallback) = state.store.department_by_id(next).await? else { return Err(no_agents_online()) };
        check_department(room, source, &fallback)?;
        candidate = fallback;
    }
}

/// A room's transfers, oldest first by default (sort field: ts).
#[utoipa::path(get, path = "/api/v1/livechat/transfer.history/{rid}", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room's id", max_length = 256), PageParams),
    responses(
        (status = 200, description = "A page of transfers", body = TransferHistory),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn history(
    State(state): State<AppState>,
    caller: Caller<ViewRooms>,
    Path(rid): Path<String>,
    query: Paged<NoFilter>,
) -> ApiResult<Json<TransferHistory>> {
    let sort = match query.sort.as_deref() {
        Some(raw) => parse_sort(raw, &TRANSFER_SORT_FIELDS)?,
        None => Vec::new(),
    };
    match state.store.room_state(&rid, room_access(&caller)).await? {
        None => return Err(ApiError::bad_request("invalid-room")),
        Some(room) if !room.accessible => return Err(ApiError::bad_request("error-not-allowed")),
        Some(_) => {}
    }
    let (messages, total) = state.store.transfer_history(&rid, &sort, query.page).await?;
    let history = messages
        .iter()
        .map(|message| {
            let extra: Value = serde_json::from_str(message.extra.as_deref().unwrap_or("{}"))
                .map_err(|error| ApiError::internal(format!("a transfer message holds bad JSON: {error}")))?;
            serde_json::from_value(extra["transferData"].clone())
                .map_err(|error| ApiError::internal(format!("a transfer message holds bad transferData: {error}")))
        })
        .collect::<ApiResult<Vec<TransferView>>>()?;
    Ok(Json(TransferHistory::new(history, query.page, total)))
}
