//! POST /api/v1/users.create and personal access tokens.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{user_json, user_schema};
use crate::accounts::{CreateUserError, UserRequest, create_user};
use crate::domain::ids::{secret_token, token_digest};
use crate::domain::permissions::CREATE_USER;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody};
use crate::http::openapi::{
    RcJsonBody, RcPermitted, RcSignedIn, RcSuccess, closed_object, closed_object_with_optional, ignored, rc_wrapped,
    schema_component,
};
use crate::http::validate::{Fields, wrong_type};
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(generate_personal_access_token))
        .routes(routes!(remove_personal_access_token))
}

const CREATE_FIELDS: [&str; 11] = [
    "email",
    "name",
    "password",
    "username",
    "active",
    "roles",
    "verified",
    "joinDefaultChannels",
    "requirePasswordChange",
    "sendWelcomeEmail",
    "customFields",
];

schema_component!(
    /// Rocket.Chat's fields; those after `roles` are accepted and ignored.
    NewUserBody => closed_object_with_optional(
        json!({
            "email": {"type": "string"},
            "name": {"type": "string"},
            "password": {"type": "string"},
            "username": {"type": "string"},
            "active": {"type": "boolean"},
            "roles": {"type": "array", "items": {"type": "string"}},
            "verified": ignored(),
            "joinDefaultChannels": ignored(),
            "requirePasswordChange": ignored(),
            "sendWelcomeEmail": ignored(),
            "customFields": ignored(),
        }),
        &["active", "roles", "verified", "joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail", "customFields"],
    )
);
schema_component!(CreatedUser => rc_wrapped("user", user_schema()));
schema_component!(NewTokenBody => closed_object_with_optional(
    json!({"tokenName": {"type": "string"}, "bypassTwoFactor": ignored()}),
    &["bypassTwoFactor"],
));
schema_component!(TokenName => closed_object(json!({"tokenName": {"type": "string"}})));
schema_component!(GeneratedToken => rc_wrapped("token", json!({"type": "string"})));

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users.create", tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = NewUserBody,
    responses((status = 200, description = "The new user", body = CreatedUser), RcPermitted, RcJsonBody))]
async fn create(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[CREATE_USER]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&CREATE_FIELDS)?;
    let email = fields.required_str("email")?;
    let name = fields.required_str("name")?;
    let password = fields.required_str("password")?;
    let username = fields.required_str("username")?;
    let active = fields.optional_bool("active")?.unwrap_or(true);
    let roles = match fields.optional_array("roles")? {
        Some(roles) => roles
            .iter()
            .map(|role| role.as_str().map(str::to_owned).ok_or_else(|| wrong_type("roles", "array of strings")))
            .collect::<ApiResult<Vec<_>>>()?,
        None => vec!["user".to_owned()],
    };
    if username.trim().is_empty() || password.is_empty() || !email.contains('@') {
        return Err(ApiError::invalid_params("username, password and a valid email are required"));
    }
    let request = UserRequest {
        username: username.to_owned(),
        password: password.to_owned(),
        email: Some(email.to_owned()),
        name: name.to_owned(),
        roles,
        active,
    };
    let user = create_user(&state.store, request, state.now()).await.map_err(|error| match error {
        CreateUserError::UsernameTaken(taken) | CreateUserError::EmailTaken(taken) => {
            ApiError::coded("error-field-unavailable", format!("{taken} is already in use :("))
        }
        CreateUserError::UnknownRole => ApiError::coded("error-invalid-role", "Invalid role"),
        CreateUserError::Store(error) => error.into(),
    })?;
    let roles = state.store.user_roles(&user.id).await?;
    Ok(Json(json!({"user": user_json(&user, &roles), "success": true})))
}

/// Issues a named personal access token for the caller.
#[utoipa::path(post, path = "/api/v1/users.generatePersonalAccessToken", tag = "users",
    security(("userId" = [], "authToken" = [])),
    request_body = NewTokenBody,
    responses((status = 200, description = "The token, shown this once", body = GeneratedToken), RcSignedIn, RcJsonBody))]
async fn generate_personal_access_token(
    State(state): State<AppState>,
    credentials: Credentials,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let caller = credentials.authenticate(&state).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["tokenName", "bypassTwoFactor"])?;
    let name = fields.required_str("tokenName")?;
    let token = secret_token();
    let stored = state.store.store_token(&caller.id, &token_digest(&token), "personal", Some(name), state.now()).await;
    match stored {
        Ok(()) => Ok(Json(json!({"token": token, "success": true}))),
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
    responses((status = 200, description = "Removed", body = RcSuccess), RcSignedIn, RcJsonBody))]
async fn remove_personal_access_token(
    State(state): State<AppState>,
    credentials: Credentials,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let caller = credentials.authenticate(&state).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["tokenName"])?;
    let name = fields.required_str("tokenName")?;
    match state.store.delete_personal_token(&caller.id, name).await {
        Ok(()) => Ok(Json(json!({"success": true}))),
        Err(StoreError::NotFound) => Err(ApiError::coded("error-token-does-not-exists", "Token does not exist")),
        Err(error) => Err(error.into()),
    }
}
