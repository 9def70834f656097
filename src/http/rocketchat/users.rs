//! POST /api/v1/users.create and personal access tokens.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserView;
use crate::accounts::{CreateUserError, UserRequest, create_user};
use crate::domain::ids::{secret_token, token_digest};
use crate::domain::permissions::CREATE_USER;
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, KeyText, LoggedIn, permission_set};
use crate::http::openapi::{RcJsonBody, RcPermitted, RcSignedIn, RcSmallJsonBody};
use crate::http::shapes::{Done, Success};
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(generate_personal_access_token))
        .routes(routes!(remove_personal_access_token))
}

permission_set!(CreateUsers = [CREATE_USER]);

/// Rocket.Chat's fields; those after `roles` are accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewUserBody {
    #[schema(max_length = 256)]
    email: String,
    #[schema(max_length = 256)]
    name: String,
    #[schema(max_length = 1024)]
    password: String,
    #[schema(max_length = 256)]
    username: String,
    /// Default true.
    active: Option<bool>,
    /// Default `["user"]`.
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    roles: Option<Vec<String>>,
    #[allow(dead_code)]
    verified: Option<Value>,
    #[allow(dead_code)]
    join_default_channels: Option<Value>,
    #[allow(dead_code)]
    require_password_change: Option<Value>,
    #[allow(dead_code)]
    send_welcome_email: Option<Value>,
    #[allow(dead_code)]
    custom_fields: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreatedUser {
    user: UserView,
    success: Success,
}

/// `bypassTwoFactor` is accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewTokenBody {
    #[schema(max_length = 256)]
    token_name: String,
    #[allow(dead_code)]
    bypass_two_factor: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TokenName {
    #[schema(max_length = 256)]
    token_name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GeneratedToken {
    token: String,
    success: Success,
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users.create", tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = NewUserBody,
    responses((status = 200, description = "The new user", body = CreatedUser), RcPermitted, RcJsonBody))]
async fn create(
    State(state): State<AppState>,
    _: Caller<CreateUsers>,
    Body(body): Body<NewUserBody>,
) -> ApiResult<Json<CreatedUser>> {
    if body.username.trim().is_empty() || body.password.is_empty() || !body.email.contains('@') {
        return Err(ApiError::invalid_params("username, password and a valid email are required"));
    }
    let request = UserRequest {
        username: body.username,
        password: body.password,
        email: Some(body.email),
        name: body.name,
        roles: body.roles.unwrap_or_else(|| vec!["user".to_owned()]),
        active: body.active.unwrap_or(true),
    };
    let user = create_user(&state.store, request, state.now()).await.map_err(|error| match error {
        CreateUserError::UsernameTaken(taken) | CreateUserError::EmailTaken(taken) => {
            ApiError::coded("error-field-unavailable", format!("{taken} is already in use :("))
        }
        CreateUserError::UnknownRole => ApiError::coded("error-invalid-role", "Invalid role"),
        CreateUserError::Store(error) => error.into(),
    })?;
    let roles = state.store.user_roles(&user.id).await?;
    Ok(Json(CreatedUser { user: UserView::new(&user, roles), success: Success }))
}

/// Issues a named personal access token for the caller.
#[utoipa::path(post, path = "/api/v1/users.generatePersonalAccessToken", tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = NewTokenBody,
    responses((status = 200, description = "The token, shown this once", body = GeneratedToken), RcSignedIn, RcSmallJsonBody))]
async fn generate_personal_access_token(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Body(body): Body<NewTokenBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<GeneratedToken>> {
    let token = secret_token();
    let name = Some(body.token_name.as_str());
    match state.store.store_token(&caller.id, &token_digest(&token), "personal", name, state.now()).await {
        Ok(()) => Ok(Json(GeneratedToken { token, success: Success })),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::coded("error-token-already-exists", "A token with this name already exists"))
        }
        Err(error) => Err(error.into()),
    }
}

/// Removes one of the caller's personal access tokens.
#[utoipa::path(post, path = "/api/v1/users.removePersonalAccessToken", tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = TokenName,
    responses((status = 200, description = "Removed", body = Done), RcSignedIn, RcSmallJsonBody))]
async fn remove_personal_access_token(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Body(body): Body<TokenName, SMALL_BODY_BYTES>,
) -> ApiResult<Json<Done>> {
    match state.store.delete_personal_token(&caller.id, &body.token_name).await {
        Ok(()) => Ok(Done::ANSWER),
        Err(StoreError::NotFound) => Err(ApiError::coded("error-token-does-not-exists", "Token does not exist")),
        Err(error) => Err(error.into()),
    }
}
