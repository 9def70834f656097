//! /api/v1/livechat/api-keys: administering the keys of the HelpCrunch face.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{IssueApiKeyError, issue_api_key};
use crate::domain::permissions::MANAGE_LIVECHAT_API_KEYS;
use crate::domain::time::iso;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody};
use crate::http::openapi::{
    RcBadRequest, RcJsonBody, RcNotFound, RcPermitted, RcSuccess, closed_object, nullable_timestamp, rc_wrapped,
    schema_component, timestamp,
};
use crate::http::validate::Fields;
use crate::store::{ApiKey, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

fn api_key_schema() -> Value {
    closed_object(json!({
        "name": {"type": "string"},
        "prefix": {"type": "string"},
        "createdAt": timestamp(),
        "lastUsedAt": nullable_timestamp(),
        "revokedAt": nullable_timestamp(),
    }))
}

schema_component!(NewApiKeyBody => closed_object(json!({"name": {"type": "string"}})));
schema_component!(IssuedApiKey => closed_object(json!({
    "apiKey": api_key_schema(),
    "key": {"type": "string", "description": "The key itself, shown this once"},
    "success": {"type": "boolean", "enum": [true]},
})));
schema_component!(ApiKeyList => rc_wrapped("apiKeys", json!({"type": "array", "items": api_key_schema()})));

fn api_key_json(api_key: &ApiKey) -> Value {
    json!({
        "name": api_key.name,
        "prefix": api_key.prefix,
        "createdAt": iso(api_key.created_at),
        "lastUsedAt": api_key.last_used_at.map(iso),
        "revokedAt": api_key.revoked_at.map(iso),
    })
}

/// Issues an API key for the HelpCrunch face.
#[utoipa::path(post, path = "/api/v1/livechat/api-keys", tag = "api keys",
    security(("userId" = [], "authToken" = [])),
    request_body = NewApiKeyBody,
    responses((status = 200, description = "The key, shown this once", body = IssuedApiKey), RcPermitted, RcJsonBody))]
async fn create(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_API_KEYS]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["name"])?;
    let name = fields.required_str("name")?;
    let issued = issue_api_key(&state.store, name, state.now()).await.map_err(|error| match error {
        IssueApiKeyError::BlankName => ApiError::invalid_params("/name must NOT be blank"),
        IssueApiKeyError::NameTaken(name) => {
            ApiError::coded("error-duplicated-api-key", format!("An API key named {name} already exists"))
        }
        IssueApiKeyError::Store(error) => error.into(),
    })?;
    Ok(Json(json!({"apiKey": api_key_json(&issued.api_key), "key": issued.key, "success": true})))
}

/// Every API key, revoked ones included; never the keys themselves.
#[utoipa::path(get, path = "/api/v1/livechat/api-keys", tag = "api keys",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The keys", body = ApiKeyList), RcPermitted))]
async fn list(State(state): State<AppState>, credentials: Credentials) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_API_KEYS]).await?;
    let api_keys = state.store.api_keys().await?;
    Ok(Json(json!({"apiKeys": api_keys.iter().map(api_key_json).collect::<Vec<_>>(), "success": true})))
}

/// Revokes an API key.
#[utoipa::path(delete, path = "/api/v1/livechat/api-keys/{name}", tag = "api keys",
    security(("userId" = [], "authToken" = [])),
    params(("name" = String, Path, description = "The key's name")),
    responses(
        (status = 200, description = "Revoked (again, if it already was)", body = RcSuccess),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn revoke(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_API_KEYS]).await?;
    match state.store.revoke_api_key(&name, state.now()).await {
        Ok(_) => Ok(Json(json!({"success": true}))),
        Err(StoreError::NotFound) => {
            Err(ApiError::coded_with_status(StatusCode::NOT_FOUND, "error-api-key-not-found", "API key not found"))
        }
        Err(error) => Err(error.into()),
    }
}
