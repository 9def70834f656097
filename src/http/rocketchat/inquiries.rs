//! The inquiry queue: the manager's listing, one inquiry, SLAs on queued inquiries,
//! and the agent's side: take, the agent's queue, return to the queue.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{inquiry_json, inquiry_schema};
use crate::domain::ids::meteor_id;
use crate::domain::page::{Direction, Page, SortKey, parse_sort};
use crate::domain::permissions::{
    MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_DEPARTMENTS, MANAGE_LIVECHAT_SLA, ROLE_AGENT, VIEW_L_ROOM,
    VIEW_LIVECHAT_MANAGER, VIEW_LIVECHAT_ROOMS,
};
use crate::domain::time::iso;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::openapi::{
    RcBadRequest, RcJsonBody, RcPermitted, RcSuccess, closed_object, closed_object_with_optional, ignored, rc_page,
    rc_wrapped, schema_component, timestamp,
};
use crate::http::validate::{Fields, wrong_type};
use crate::store::{AuthUser, Inquiry, InquirySortField, ReturnOutcome, SetSlaOutcome, SlaActor, TakeOutcome};

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

schema_component!(QueuedInquiryPage => rc_page("inquiries", closed_object_with_optional(
    json!({
        "_id": {"type": "string"},
        "rid": {"type": "string"},
        "name": {"type": "string"},
        "ts": timestamp(),
        "status": {"type": "string"},
        "department": {"type": "string"},
    }),
    &["department"],
)));
schema_component!(OneInquiry => rc_wrapped("inquiry", {
    let mut inquiry = inquiry_schema();
    inquiry["type"] = json!(["object", "null"]);
    inquiry
}));
schema_component!(InquirySlaBody => json!({
    "type": "object",
    "properties": {
        "roomId": {"type": "string", "minLength": 1},
        "sla": {"type": "string", "minLength": 1, "description": "The policy's id or name"},
    },
}));
schema_component!(TakeBody => closed_object_with_optional(
    json!({
        "inquiryId": {"type": "string"},
        "userId": {"type": ["string", "null"], "description": "The agent to take it for; the caller when absent"},
        "options": ignored(),
    }),
    &["userId", "options"],
));
schema_component!(AgentInquiryPage => rc_page("inquiries", inquiry_schema()));
schema_component!(ReturnBody => closed_object_with_optional(
    json!({
        "roomId": {"type": "string"},
        "departmentId": {"type": ["string", "null"], "description": "A department's id or name"},
    }),
    &["departmentId"],
));
schema_component!(Returned => closed_object(json!({
    "result": {"type": "boolean", "description": "false when the room was already queued"},
    "success": {"type": "boolean", "enum": [true]},
})));

/// The queued inquiries, newest first by default.
#[utoipa::path(get, path = "/api/v1/livechat/inquiries.list", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(
        ("department" = Option<String>, Query, description = "A department's id or name"),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = r#"JSON, e.g. `{"ts":-1}`; fields: ts, name, priorityWeight, estimatedWaitingTimeQueue, status, queuedAt, _id"#),
    ),
    responses((status = 200, description = "A page of inquiries", body = QueuedInquiryPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(State(state): State<AppState>, credentials: Credentials, query: QueryParams) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_LIVECHAT_MANAGER]).await?;
    query.deny_unknown(&["department", "offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let sort = match query.get("sort") {
        Some(raw) => parse_sort(raw, &INQUIRY_SORT_FIELDS)?,
        None => vec![SortKey { field: InquirySortField::Ts, direction: Direction::Desc }],
    };
    let department_id = match query.get("department").filter(|department| !department.is_empty()) {
        Some(department) => match state.store.department_by_id_or_name(department).await? {
            Some(department) => {
                // Those who do not manage departments (monitors) list their own only.
                if !caller.holds(MANAGE_LIVECHAT_DEPARTMENTS)
                    && !state.store.is_department_agent(&department.id, &caller.id).await?
                {
                    return Err(ApiError::unauthorized_object());
                }
                Some(department.id)
            }
            // An unknown department has no inquiries (Rocket.Chat ignores the filter).
            None => return Ok(Json(page_json(Vec::new(), page, 0))),
        },
        None => None,
    };
    let (entries, total) = state.store.queued_inquiries(department_id.as_deref(), &sort, page).await?;
    let inquiries = entries
        .into_iter()
        .map(|entry| {
            let mut item = json!({
                "_id": entry.id, "rid": entry.room_id, "name": entry.name, "ts": iso(entry.ts), "status": entry.status,
            });
            if let Some(department) = entry.department_id {
                item["department"] = json!(department);
            }
            item
        })
        .collect();
    Ok(Json(page_json(inquiries, page, total)))
}

fn page_json(inquiries: Vec<Value>, page: Page, total: i64) -> Value {
    json!({"inquiries": inquiries, "offset": page.offset, "count": inquiries.len(), "total": total, "success": true})
}

/// The room's inquiry while it is open, `null` otherwise.
#[utoipa::path(get, path = "/api/v1/livechat/inquiries.getOne", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(("roomId" = String, Query, description = "The room's id")),
    responses((status = 200, description = "The inquiry or null", body = OneInquiry), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn get_one(
    State(state): State<AppState>,
    credentials: Credentials,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_L_ROOM]).await?;
    query.deny_unknown(&["roomId"])?;
    let room_id = query.required("roomId")?;
    let inquiry = state.store.inquiry_of_room(room_id).await?;
    if let Some(inquiry) = &inquiry
        && !can_access_inquiry(&state, &caller, inquiry).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    Ok(Json(json!({"inquiry": inquiry.as_ref().map(inquiry_json), "success": true})))
}

/// Whether the caller may see or change this inquiry: room supervisors may reach any;
/// an agent reaches those it serves, those of its departments and those of none.
async fn can_access_inquiry(state: &AppState, caller: &AuthUser, inquiry: &Inquiry) -> ApiResult<bool> {
    if inquiry.served_by.as_deref() == Some(caller.id.as_str()) {
        return Ok(true);
    }
    if caller.holds(VIEW_LIVECHAT_ROOMS) {
        return Ok(true);
    }
    Ok(match &inquiry.department_id {
        None => true,
        Some(department_id) => state.store.is_department_agent(department_id, &caller.id).await?,
    })
}

/// Sets a policy (by id or name) on a queued inquiry.
#[utoipa::path(put, path = "/api/v1/livechat/inquiry.setSLA", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    request_body = InquirySlaBody,
    responses((status = 200, description = "Set", body = RcSuccess), RcPermitted, RcJsonBody))]
async fn set_sla(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_L_ROOM, MANAGE_LIVECHAT_SLA]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    let room_id = required_param(&fields, "roomId")?;
    let sla = required_param(&fields, "sla")?;
    // Without the SLA permission, the inquiry must be one the agent can reach.
    if !caller.holds(MANAGE_LIVECHAT_SLA)
        && let Some(inquiry) = state.store.inquiry_of_room(room_id).await?
        && !can_access_inquiry(&state, &caller, &inquiry).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    let actor = SlaActor { user_id: &caller.id, username: &caller.username, name: &caller.name };
    match state.store.set_inquiry_sla(room_id, sla, actor, &meteor_id(), state.now()).await? {
        SetSlaOutcome::Set(_) => Ok(Json(json!({"success": true}))),
        SetSlaOutcome::InvalidInquiry => Err(ApiError::bad_request("error-invalid-inquiry")),
        SetSlaOutcome::InvalidSla => Err(ApiError::bad_request("error-invalid-sla")),
    }
}

/// setSLA's own wording for a missing parameter: `The 'roomId' param is required`.
fn required_param<'a>(fields: &Fields<'a>, name: &str) -> ApiResult<&'a str> {
    match fields.value(name) {
        None | Some(Value::Null) => Err(ApiError::bad_request(format!("The '{name}' param is required"))),
        Some(Value::String(value)) if value.is_empty() => {
            Err(ApiError::bad_request(format!("The '{name}' param is required")))
        }
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(wrong_type(name, "string")),
    }
}

fn agent_offline() -> ApiError {
    ApiError::coded(
        "error-agent-status-service-offline",
        "Agent status is offline or Omnichannel service is not active",
    )
}

/// An agent takes a queued inquiry; a manager may take it for another agent.
#[utoipa::path(post, path = "/api/v1/livechat/inquiries.take", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    request_body = TakeBody,
    responses((status = 200, description = "Taken", body = RcSuccess), RcPermitted, RcJsonBody))]
async fn take(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_L_ROOM]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["inquiryId", "userId", "options"])?;
    let inquiry_id = fields.required_str("inquiryId")?;
    let agent_id = match fields.optional_str("userId")? {
        Some(user_id) if user_id != caller.id => {
            // Taking on behalf of another agent is a manager's move.
            if !caller.holds(MANAGE_LIVECHAT_AGENTS) {
                return Err(ApiError::unauthorized_object());
            }
            user_id.to_owned()
        }
        _ => caller.id.clone(),
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
    match state.store.take_inquiry(inquiry_id, &agent.id, state.now()).await? {
        TakeOutcome::Taken => Ok(Json(json!({"success": true}))),
        TakeOutcome::NotFound => Err(ApiError::coded("error-not-found", "Inquiry not found")),
        TakeOutcome::AlreadyTaken => Err(ApiError::coded("error-inquiry-taken", "Inquiry already taken")),
        TakeOutcome::AgentUnavailable => Err(agent_offline()),
    }
}

/// The inquiries queued for the caller's departments and for none.
#[utoipa::path(get, path = "/api/v1/livechat/inquiries.queuedForUser", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    params(
        ("department" = Option<String>, Query, description = "One of the caller's departments"),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = "Accepted; the server's queue order applies"),
    ),
    responses((status = 200, description = "A page of inquiries", body = AgentInquiryPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn queued_for_user(
    State(state): State<AppState>,
    credentials: Credentials,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_L_ROOM]).await?;
    query.deny_unknown(&["department", "offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let department = query.get("department").filter(|department| !department.is_empty());
    if let Some(department) = department
        && !state.store.is_department_agent(department, &caller.id).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    let (inquiries, total) =
        state.store.queued_for_agent(&caller.id, department, state.settings.queue_sort, page).await?;
    let inquiries: Vec<Value> = inquiries.iter().map(inquiry_json).collect();
    Ok(Json(json!({
        "inquiries": inquiries,
        "count": inquiries.len(),
        "offset": page.offset,
        "total": total,
        "success": true,
    })))
}

/// Puts a served room back in the queue.
#[utoipa::path(post, path = "/api/v1/livechat/inquiries.returnAsInquiry", tag = "inquiries",
    security(("userId" = [], "authToken" = [])),
    request_body = ReturnBody,
    responses((status = 200, description = "Returned, or already queued", body = Returned), RcPermitted, RcJsonBody))]
async fn return_as_inquiry(
    State(state): State<AppState>,
    credentials: Credentials,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[VIEW_L_ROOM]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["roomId", "departmentId"])?;
    let room_id = fields.required_str("roomId")?;
    let department_id = match fields.optional_str("departmentId")?.filter(|department| !department.is_empty()) {
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
    match state.store.return_to_queue(room_id, department_id.as_deref(), state.now()).await? {
        ReturnOutcome::Returned => Ok(Json(json!({"result": true, "success": true}))),
        ReturnOutcome::AlreadyQueued => Ok(Json(json!({"result": false, "success": true}))),
        ReturnOutcome::Closed => Err(ApiError::bad_request("room-closed")),
        ReturnOutcome::NotFound => Err(ApiError::coded("error-invalid-room", "Invalid room")),
    }
}
