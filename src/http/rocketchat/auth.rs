//! POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me.

use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Profile;
use crate::domain::ids::{secret_token, token_digest};
use crate::domain::password::hash_password;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult, RcErrorBody};
use crate::http::extract::{Body, Caller, LoggedIn};
use crate::http::metrics::Rejection;
use crate::http::openapi::{RcLoginUnavailable, RcSignedIn, RcSmallJsonBody};
use crate::http::{AppState, ClientAddress};
use crate::store::{AttemptLimit, Reservation, User};

/// Login attempts verified per account and per address within a window (Rocket.Chat's
/// defaults: 10, blocked for 5 minutes).
const MAX_LOGIN_ATTEMPTS: i64 = 10;
const LOGIN_ATTEMPT_WINDOW_MS: i64 = 5 * 60 * 1000;

/// What a login refused because the password checks are full is told to wait: the
/// queue drains within a second at the default bound.
const PASSWORD_CHECKS_RETRY_AFTER_SECS: u32 = 1;

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
    #[schema(max_length = 256)]
    resume: Option<String>,
    #[schema(max_length = 256)]
    user: Option<String>,
    #[schema(max_length = 256)]
    username: Option<String>,
    #[schema(max_length = 1024)]
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
    (status = 503, response = RcLoginUnavailable),
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
    let address = client_address(&state, &headers, peer.ip());

    // Failures count against the account the name resolves to, however it was typed
    // (username or email, any case); a name no account has counts by its digest, so
    // the typed text (perhaps a password typed in the wrong field) is never stored.
    let found = state.store.user_for_login(&login).await?;
    let user_key = match &found {
        Some((user, _)) => user.id.clone(),
        None => token_digest(&login.to_lowercase()),
    };
    let limit = AttemptLimit { attempts: MAX_LOGIN_ATTEMPTS, length: LOGIN_ATTEMPT_WINDOW_MS };
    let reserved = match state.store.reserve_login_attempt(&user_key, &address, limit, state.now()).await? {
        Reservation::Reserved(reserved) => reserved,
        Reservation::UserBlocked => {
            state.metrics.reject(Rejection::LoginBlockedForUser);
            return Err(ApiError::login_blocked(
                "error-login-blocked-for-user",
                "Login has been temporarily blocked for this user",
            ));
        }
        Reservation::AddressBlocked => {
            state.metrics.reject(Rejection::LoginBlockedForAddress);
            return Err(ApiError::login_blocked(
                "error-login-blocked-for-ip",
                "Login has been temporarily blocked for this IP",
            ));
        }
    };

    // An unknown name is checked against a dummy hash, so it takes as long as a wrong password.
    let hash = found.as_ref().and_then(|(_, hash)| hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let Ok(matches) = state.password_checks.check(password, hash).await else {
        // Never checked, so never a failure: the attempt is given back.
        state.store.refund_login_attempt(&reserved).await?;
        state.metrics.reject(Rejection::PasswordChecksFull);
        return Err(ApiError::busy(PASSWORD_CHECKS_RETRY_AFTER_SECS));
    };
    state.metrics.password_checked();
    match found {
        Some((user, _)) if matches && user.active => {
            // The limit counts failures, as Rocket.Chat's does; a success gives its
            // attempt back (it does not wipe earlier failures, so one known password
            // cannot reset an address's count between guesses at others).
            state.store.refund_login_attempt(&reserved).await?;
            login_success(&state, user, secret_token()).await
        }
        _ => Err(ApiError::login_failed()),
    }
}

/// The address login attempts are counted against: the TCP peer, or the first
/// X-Forwarded-For entry when the deployment says a trusted proxy sets it. Kept in its
/// canonical form (an IPv4 address mapped into IPv6 counts as itself), so one client
/// has one key; an entry that is not an address counts as the peer.
pub(super) fn client_address(state: &AppState, headers: &HeaderMap, peer: IpAddr) -> String {
    let forwarded = state
        .settings
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next().map(str::trim))
        .flatten()
        .and_then(|first| {
            first.parse::<IpAddr>().ok().or_else(|| first.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        });
    forwarded.unwrap_or(peer).to_canonical().to_string()
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
