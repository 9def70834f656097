//! POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me.

use std::net::IpAddr;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Profile;
use crate::accounts::check_password;
use crate::domain::ids::{secret_token, token_digest};
use crate::domain::password::hash_password;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult, RcErrorBody};
use crate::http::extract::{Body, Caller, LoggedIn};
use crate::http::metrics::Rejection;
use crate::http::openapi::{RcSignedIn, RcSmallJsonBody, RcUnavailable};
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

/// `user` (a username or an email address; `username` is accepted in its place) and
/// `password`, or `resume` with a login token, which wins over the others. Other
/// fields are accepted and ignored.
#[derive(Deserialize, ToSchema)]
struct LoginBody {
    resume: Option<String>,
    user: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// What a login body asks for.
enum Login {
    Resume(String),
    Password { login: String, password: String },
}

impl LoginBody {
    /// Without `resume`, `user` (or `username`) is required, then `password`.
    fn login(self) -> ApiResult<Login> {
        if let Some(token) = self.resume {
            return Ok(Login::Resume(token));
        }
        let missing = |name: &str| ApiError::invalid_params(format!("must have required property '{name}'"));
        let login = self.user.or(self.username).ok_or_else(|| missing("user"))?;
        let password = self.password.ok_or_else(|| missing("password"))?;
        Ok(Login::Password { login, password })
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginSuccess {
    status: SuccessStatus,
    data: LoginData,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoginData {
    user_id: String,
    auth_token: String,
    me: Profile,
}

#[derive(Serialize, ToSchema)]
enum SuccessStatus {
    #[serde(rename = "success")]
    Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LogoutSuccess {
    status: SuccessStatus,
    data: LogoutMessage,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LogoutMessage {
    message: String,
}

/// Logs in with a password or resumes a login token.
#[utoipa::path(post, path = "/api/v1/login", tag = "authentication", request_body = LoginBody, responses(
    (status = 200, description = "Logged in: the user id and token to send as X-User-Id and X-Auth-Token", body = LoginSuccess),
    RcSmallJsonBody,
    (status = 401, description = "Wrong username, password or token", body = RcErrorBody),
    (status = 429, description = "Too many failed logins for this user or address", body = RcErrorBody),
    (status = 503, response = RcUnavailable),
))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ClientAddress,
    headers: HeaderMap,
    Body(body): Body<LoginBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<LoginSuccess>> {
    let (login, password) = match body.login()? {
        Login::Resume(token) => {
            let user = state.store.user_for_token(&token_digest(&token)).await?.ok_or_else(ApiError::login_failed)?;
            return login_success(&state, user, token).await;
        }
        Login::Password { login, password } => (login, password),
    };
    let login = login.as_str();
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
async fn login_success(state: &AppState, user: User, token: String) -> ApiResult<Json<LoginSuccess>> {
    let digest = token_digest(&token);
    if state.store.user_for_token(&digest).await?.is_none() {
        state.store.store_token(&user.id, &digest, "login", None, state.now()).await?;
    }
    let roles = state.store.user_roles(&user.id).await?;
    let me = Profile::new(&user, roles);
    Ok(Json(LoginSuccess {
        status: SuccessStatus::Success,
        data: LoginData { user_id: user.id, auth_token: token, me },
    }))
}

/// Ends the session of the token sent.
#[utoipa::path(post, path = "/api/v1/logout", tag = "authentication",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "Logged out", body = LogoutSuccess), RcSignedIn))]
async fn logout(State(state): State<AppState>, caller: Caller<LoggedIn>) -> ApiResult<Json<LogoutSuccess>> {
    state.store.delete_login_token(&caller.token_digest).await?;
    let data = LogoutMessage { message: "You've been logged out!".to_owned() };
    Ok(Json(LogoutSuccess { status: SuccessStatus::Success, data }))
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "authentication",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The caller's profile", body = Profile), RcSignedIn))]
async fn me(State(state): State<AppState>, caller: Caller<LoggedIn>) -> ApiResult<Json<Profile>> {
    let user = state.store.user_by_id(&caller.id).await?.ok_or_else(ApiError::not_logged_in)?;
    let roles = state.store.user_roles(&user.id).await?;
    Ok(Json(Profile::new(&user, roles).with_success()))
}
