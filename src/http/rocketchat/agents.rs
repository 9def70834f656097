//! Omnichannel agents and managers: /api/v1/livechat/users/{type} and
//! POST /api/v1/livechat/agent.status.
//!
//! Deviations from Rocket.Chat: the list rejects `onlyAvailable`, `showIdleAgents`
//! and `excludeId` instead of ignoring them; adding an agent leaves its
//! `statusLivechat` as it was.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{emails_json, emails_schema};
use crate::domain::agents::{LivechatRole, LivechatStatus};
use crate::domain::page::{Page, parse_sort};
use crate::domain::permissions::{
    MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_MANAGERS, VIEW_L_ROOM, VIEW_LIVECHAT_MANAGER,
};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::openapi::{
    RcBadRequest, RcJsonBody, RcPermitted, RcSuccess, closed_object, closed_object_with_optional, rc_page, rc_wrapped,
    schema_component,
};
use crate::http::validate::Fields;
use crate::store::{LivechatUser, LivechatUserSort, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(one, remove)).routes(routes!(set_status))
}

/// The schema of [`user_summary_json`], plus the fields in `extra`.
fn user_summary_schema(extra: Value) -> Value {
    let mut properties = json!({
        "_id": {"type": "string"},
        "username": {"type": "string"},
        "name": {"type": "string"},
        "status": {"type": "string"},
        "statusLivechat": {"type": "string"},
        "emails": emails_schema(),
    });
    properties.as_object_mut().expect("an object").extend(extra.as_object().cloned().unwrap_or_default());
    closed_object(properties)
}

fn livechat_user_schema() -> Value {
    user_summary_schema(json!({"departments": {"type": "array", "items": {"type": "string"}}}))
}

schema_component!(LivechatKind => json!({"type": "string", "enum": ["agent", "manager"]}));
schema_component!(UsernameBody => closed_object(json!({"username": {"type": "string"}})));
schema_component!(AddedLivechatUser => rc_wrapped("user", user_summary_schema(json!({}))));
schema_component!(LivechatUserPage => rc_page("users", livechat_user_schema()));
schema_component!(OneLivechatUser => rc_wrapped("user", {
    let mut user = livechat_user_schema();
    user["type"] = json!(["object", "null"]);
    user
}));
schema_component!(AgentStatusBody => closed_object_with_optional(
    json!({
        "status": {"type": "string", "enum": ["available", "not-available"]},
        "agentId": {"type": "string"},
    }),
    &["status", "agentId"],
));
schema_component!(AgentStatus => rc_wrapped("status", json!({"type": "string"})));

const SORT_FIELDS: [(&str, LivechatUserSort); 4] = [
    ("username", LivechatUserSort::Username),
    ("name", LivechatUserSort::Name),
    ("status", LivechatUserSort::Status),
    ("statusLivechat", LivechatUserSort::LivechatStatus),
];

/// Checks the caller may manage users of `kind`, then parses it. An unknown kind
/// still needs one of the manage permissions before it is reported.
async fn authorize_kind(
    state: &AppState,
    credentials: &Credentials,
    kind: &str,
    also_allowed: Option<&str>,
) -> ApiResult<LivechatRole> {
    let role = LivechatRole::parse(kind);
    let permissions = match role {
        Some(role) => {
            let manage = match role {
                LivechatRole::Agent => MANAGE_LIVECHAT_AGENTS,
                LivechatRole::Manager => MANAGE_LIVECHAT_MANAGERS,
            };
            [manage, also_allowed.unwrap_or(manage)]
        }
        None => [MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_MANAGERS],
    };
    credentials.authorize(state, &permissions).await?;
    role.ok_or_else(|| ApiError::coded("error-invalid-type", "Invalid type"))
}

/// Gives a user the livechat-agent or livechat-manager role.
#[utoipa::path(post, path = "/api/v1/livechat/users/{kind}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path)),
    request_body = UsernameBody,
    responses((status = 200, description = "The user", body = AddedLivechatUser), RcPermitted, RcJsonBody))]
async fn add(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(kind): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let role = authorize_kind(&state, &credentials, &kind, None).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["username"])?;
    let username = fields.required_str("username")?;
    let user = state
        .store
        .add_role_by_username(username, role.role(), state.now())
        .await?
        .ok_or_else(|| ApiError::coded("error-invalid-user", "User not found"))?;
    Ok(Json(json!({"user": user_summary_json(&user), "success": true})))
}

/// The agents or the managers.
#[utoipa::path(get, path = "/api/v1/livechat/users/{kind}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(
        ("kind" = inline(LivechatKind), Path),
        ("text" = Option<String>, Query, description = "Part of the username or name"),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = r#"JSON, e.g. `{"username":1}`; fields: username, name, status, statusLivechat"#),
    ),
    responses((status = 200, description = "A page of users", body = LivechatUserPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(kind): Path<String>,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let role = authorize_kind(&state, &credentials, &kind, Some(VIEW_LIVECHAT_MANAGER)).await?;
    query.deny_unknown(&["text", "offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let sort = parse_sort(query.get("sort").unwrap_or(r#"{"username":1}"#), &SORT_FIELDS)?;
    let text = query.get("text").filter(|text| !text.is_empty());
    let (users, total) = state.store.livechat_users(role.role(), text, page, &sort).await?;
    Ok(Json(json!({
        "users": users.iter().map(livechat_user_json).collect::<Vec<_>>(),
        "count": users.len(),
        "offset": page.offset,
        "total": total,
        "success": true,
    })))
}

/// One agent or manager; `null` when the user does not have the role.
#[utoipa::path(get, path = "/api/v1/livechat/users/{kind}/{id}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path), ("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user or null", body = OneLivechatUser), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn one(
    State(state): State<AppState>,
    credentials: Credentials,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let role = authorize_kind(&state, &credentials, &kind, Some(VIEW_LIVECHAT_MANAGER)).await?;
    let user = state.store.livechat_user(role.role(), &id).await?;
    Ok(Json(json!({"user": user.as_ref().map(livechat_user_json), "success": true})))
}

/// Takes the livechat-agent or livechat-manager role away.
#[utoipa::path(delete, path = "/api/v1/livechat/users/{kind}/{id}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path), ("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "Removed", body = RcSuccess), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn remove(
    State(state): State<AppState>,
    credentials: Credentials,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let role = authorize_kind(&state, &credentials, &kind, None).await?;
    if state.store.remove_role(&id, role.role()).await? {
        Ok(Json(json!({"success": true})))
    } else {
        Err(ApiError::bad_request(match role {
            LivechatRole::Agent => "error-removing-agent",
            LivechatRole::Manager => "error-removing-manager",
        }))
    }
}

/// Sets an agent's livechat status, or toggles it when no status is given.
#[utoipa::path(post, path = "/api/v1/livechat/agent.status", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    request_body = AgentStatusBody,
    responses((status = 200, description = "The new status", body = AgentStatus), RcPermitted, RcJsonBody))]
async fn set_status(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    let caller = credentials.authorize(&state, &[VIEW_L_ROOM]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["status", "agentId"])?;
    let status = match fields.optional_str("status")? {
        Some(raw) => Some(
            LivechatStatus::parse(raw)
                .ok_or_else(|| ApiError::invalid_params("/status must be equal to one of the allowed values"))?,
        ),
        None => None,
    };
    let agent_id = fields.optional_str("agentId")?.unwrap_or(&caller.id);
    if agent_id != caller.id && !caller.holds(MANAGE_LIVECHAT_AGENTS) {
        return Err(ApiError::unauthorized_object());
    }
    let status = state
        .store
        .set_livechat_status(agent_id, status, state.now())
        .await?
        .ok_or_else(|| ApiError::bad_request("Invalid Agent"))?;
    Ok(Json(json!({"status": status, "success": true})))
}

/// The user as the add route answers.
fn user_summary_json(user: &User) -> Value {
    json!({
        "_id": user.id,
        "username": user.username,
        "name": user.name,
        "status": user.status,
        "statusLivechat": user.livechat_status,
        "emails": emails_json(user),
    })
}

/// An agent or manager as the list and get routes answer.
fn livechat_user_json(livechat_user: &LivechatUser) -> Value {
    let mut user = user_summary_json(&livechat_user.user);
    user["departments"] = json!(livechat_user.department_ids);
    user
}
