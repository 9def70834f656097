//! Omnichannel agents and managers: /api/v1/livechat/users/{type} and
//! POST /api/v1/livechat/agent.status.
//!
//! Deviations from Rocket.Chat: the list rejects `onlyAvailable`, `showIdleAgents`
//! and `excludeId` instead of ignoring them; adding an agent leaves its
//! `statusLivechat` as it was.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::emails_json;
use crate::domain::agents::{LivechatRole, LivechatStatus};
use crate::domain::page::{Page, parse_sort};
use crate::domain::permissions::{
    MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_MANAGERS, VIEW_L_ROOM, VIEW_LIVECHAT_MANAGER,
};
use crate::domain::time::now_millis;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::validate::Fields;
use crate::store::{LivechatUser, LivechatUserSort, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/livechat/users/{kind}", get(list).post(add))
        .route("/api/v1/livechat/users/{kind}/{id}", get(one).delete(remove))
        .route("/api/v1/livechat/agent.status", post(set_status))
}

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
        .add_role_by_username(username, role.role(), now_millis())
        .await?
        .ok_or_else(|| ApiError::coded("error-invalid-user", "User not found"))?;
    Ok(Json(json!({"user": user_summary_json(&user), "success": true})))
}

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

async fn one(
    State(state): State<AppState>,
    credentials: Credentials,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let role = authorize_kind(&state, &credentials, &kind, Some(VIEW_LIVECHAT_MANAGER)).await?;
    let user = state.store.livechat_user(role.role(), &id).await?;
    Ok(Json(json!({"user": user.as_ref().map(livechat_user_json), "success": true})))
}

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
    if agent_id != caller.id && !state.store.user_has_permission(&caller.id, MANAGE_LIVECHAT_AGENTS).await? {
        return Err(ApiError::unauthorized_object());
    }
    let status = state
        .store
        .set_livechat_status(agent_id, status, now_millis())
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
