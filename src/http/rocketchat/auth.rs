//! POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me.

use std::net::IpAddr;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{profile_json, profile_schema};
use crate::accounts::check_password;
use crate::domain::ids::{secret_token, token_digest};
use crate::domain::password::hash_password;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody};
use crate::http::metrics::Rejection;
use crate::http::openapi::{RcJsonBody, RcSignedIn, RcUnavailable, closed_object, schema_component};
use crate::http::validate::Fields;
use crate::http::{AppState, ClientAddress};
use crate::store::User;

/// Failed logins allowed per username and per address within the window.
const MAX_FAILED_LOGINS: i64 = 10;
const FAILED_LOGIN_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A hash of a random password, verified against when the user does not exist so
/// that an unknown username takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password(&secret_token()));

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
}

schema_component!(
    /// `user` (or `username`) and `password`, or `resume` with a token.
    LoginBody => json!({
        "type": "object",
        "properties": {
            "user": {"type": "string"},
            "username": {"type": "string"},
            "password": {"type": "string"},
            "resume": {"type": "string"},
        },
    })
);
schema_component!(LoginSuccess => closed_object(json!({
    "status": {"type": "string", "enum": ["success"]},
    "data": closed_object(json!({
        "userId": {"type": "string"},
        "authToken": {"type": "string"},
        "me": profile_schema(json!({})),
    })),
})));
schema_component!(LoginFailed => closed_object(json!({
    "status": {"type": "string", "enum": ["error"]},
    "error": {"type": "string"},
    "message": {"type": "string"},
})));
schema_component!(LoginBlocked => closed_object(json!({
    "success": {"type": "boolean", "enum": [false]},
    "status": {"type": "string", "enum": ["error"]},
    "error": {"type": "string"},
    "errorType": {"type": "string"},
    "message": {"type": "string"},
})));
schema_component!(LogoutSuccess => closed_object(json!({
    "status": {"type": "string", "enum": ["success"]},
    "data": closed_object(json!({"message": {"type": "string"}})),
})));
schema_component!(Me => profile_schema(json!({"success": {"type": "boolean", "enum": [true]}})));

/// Logs in with a password or resumes a login token.
#[utoipa::path(post, path = "/api/v1/login", tag = "authentication", request_body = LoginBody, responses(
    (status = 200, description = "Logged in: the user id and token to send as X-User-Id and X-Auth-Token", body = LoginSuccess),
    RcJsonBody,
    (status = 401, description = "Wrong username, password or token", body = LoginFailed),
    (status = 429, description = "Too many failed logins for this user or address", body = LoginBlocked),
    (status = 503, response = RcUnavailable),
))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ClientAddress,
    headers: HeaderMap,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let fields = Fields::new(&body);
    if let Some(resume) = fields.optional_str("resume")? {
        let digest = token_digest(resume);
        let user = state.store.user_for_token(&digest).await?.ok_or_else(ApiError::login_failed)?;
        return login_success(&state, user, resume.to_owned()).await;
    }
    let login = match fields.optional_str("user")? {
        Some(user) => user,
        None => fields.optional_str("username")?.ok_or_else(|| crate::http::validate::missing("user"))?,
    };
    let password = fields.required_str("password")?.to_owned();
    let address = client_address(&state, &headers, peer.ip());

    let now = state.now();
    let failures = state.store.login_failures_since(login, &address, now - FAILED_LOGIN_WINDOW_MS).await?;
    if failures.for_username >= MAX_FAILED_LOGINS {
        state.metrics.reject(Rejection::LoginBlockedForUser);
        return Err(ApiError::login_blocked(
            "error-login-blocked-for-user",
            "Login has been temporarily blocked for this user",
        ));
    }
    if failures.for_address >= MAX_FAILED_LOGINS {
        state.metrics.reject(Rejection::LoginBlockedForAddress);
        return Err(ApiError::login_blocked(
            "error-login-blocked-for-ip",
            "Login has been temporarily blocked for this IP",
        ));
    }

    let found = state.store.user_for_login(login).await?;
    let hash = found.as_ref().and_then(|(_, hash)| hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = check_password(password, hash).await;
    match found {
        Some((user, _)) if matches && user.active => login_success(&state, user, secret_token()).await,
        _ => {
            state.store.record_login_failure(login, &address, now, now - FAILED_LOGIN_WINDOW_MS).await?;
            Err(ApiError::login_failed())
        }
    }
}

/// The address failed logins are counted against: the TCP peer, or the first
/// X-Forwarded-For entry when the deployment says a trusted proxy sets it.
fn client_address(state: &AppState, headers: &HeaderMap, peer: IpAddr) -> String {
    let forwarded = state
        .settings
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next().map(str::trim))
        .flatten()
        .filter(|first| !first.is_empty());
    forwarded.map_or_else(|| peer.to_string(), str::to_owned)
}

/// Stores a new login token (a resumed one is already stored) and answers with it.
async fn login_success(state: &AppState, user: User, token: String) -> ApiResult<Json<Value>> {
    let digest = token_digest(&token);
    if state.store.user_for_token(&digest).await?.is_none() {
        state.store.store_token(&user.id, &digest, "login", None, state.now()).await?;
    }
    let roles = state.store.user_roles(&user.id).await?;
    Ok(Json(json!({
        "status": "success",
        "data": {"userId": user.id, "authToken": token, "me": profile_json(&user, &roles)},
    })))
}

/// Ends the session of the token sent.
#[utoipa::path(post, path = "/api/v1/logout", tag = "authentication",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "Logged out", body = LogoutSuccess), RcSignedIn))]
async fn logout(State(state): State<AppState>, credentials: Credentials) -> ApiResult<Json<Value>> {
    credentials.authenticate(&state).await?;
    state.store.delete_login_token(&credentials.token_digest).await?;
    Ok(Json(json!({"status": "success", "data": {"message": "You've been logged out!"}})))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "authentication",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The caller's profile", body = Me), RcSignedIn))]
async fn me(State(state): State<AppState>, credentials: Credentials) -> ApiResult<Json<Value>> {
    let caller = credentials.authenticate(&state).await?;
    let user = state.store.user_by_id(&caller.id).await?.ok_or_else(ApiError::not_logged_in)?;
    let roles = state.store.user_roles(&user.id).await?;
    let mut profile = profile_json(&user, &roles);
    profile["success"] = json!(true);
    Ok(Json(profile))
}
