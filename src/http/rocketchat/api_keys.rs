//! /api/v1/livechat/api-keys: administering the keys of the HelpCrunch face.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{IssueApiKeyError, issue_api_key};
use crate::domain::permissions::MANAGE_LIVECHAT_API_KEYS;
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, Path, permission_set};
use crate::http::openapi::{RcBadRequest, RcNotFound, RcPermitted, RcSmallJsonBody};
use crate::http::shapes::{Done, Success, Timestamp};
use crate::store::{ApiKey, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

permission_set!(ManageApiKeys = [MANAGE_LIVECHAT_API_KEYS]);

/// An API key as administrators see it: never the key itself.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ApiKeyView {
    name: String,
    prefix: String,
    created_at: Timestamp,
    #[schema(required = true)]
    last_used_at: Option<Timestamp>,
    #[schema(required = true)]
    revoked_at: Option<Timestamp>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(api_key: &ApiKey) -> Self {
        Self {
            name: api_key.name.clone(),
            prefix: api_key.prefix.clone(),
            created_at: Timestamp(api_key.created_at),
            last_used_at: api_key.last_used_at.map(Timestamp),
            revoked_at: api_key.revoked_at.map(Timestamp),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewApiKeyBody {
    #[schema(max_length = 256)]
    name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IssuedApiKey {
    api_key: ApiKeyView,
    /// The key itself, shown this once.
    key: String,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
    success: Success,
}

/// Issues an API key for the HelpCrunch face.
#[utoipa::path(post, path = "/api/v1/livechat/api-keys", tag = "api keys",
    security(("userId" = [], "authToken" = [])),
    request_body = NewApiKeyBody,
    responses((status = 200, description = "The key, shown this once", body = IssuedApiKey), RcPermitted, RcSmallJsonBody))]
async fn create(
    State(state): State<AppState>,
    _: Caller<ManageApiKeys>,
    Body(body): Body<NewApiKeyBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<IssuedApiKey>> {
    let issued = issue_api_key(&state.store, &body.name, state.now()).await.map_err(|error| match error {
        IssueApiKeyError::BlankName => ApiError::invalid_params("/name must NOT be blank"),
        IssueApiKeyError::NameTaken(name) => {
            ApiError::coded("error-duplicated-api-key", format!("An API key named {name} already exists"))
        }
        IssueApiKeyError::Store(error) => error.into(),
    })?;
    Ok(Json(IssuedApiKey { api_key: (&issued.api_key).into(), key: issued.key, success: Success }))
}

/// Every API key, revoked ones included; never the keys themselves.
#[utoipa::path(get, path = "/api/v1/livechat/api-keys", tag = "api keys",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The keys", body = ApiKeyList), RcPermitted))]
async fn list(State(state): State<AppState>, _: Caller<ManageApiKeys>) -> ApiResult<Json<ApiKeyList>> {
    let api_keys = state.store.api_keys().await?;
    Ok(Json(ApiKeyList { api_keys: api_keys.iter().map(ApiKeyView::from).collect(), success: Success }))
}

/// Revokes an API key.
#[utoipa::path(delete, path = "/api/v1/livechat/api-keys/{name}", tag = "api keys",
    security(("userId" = [], "authToken" = [])),
    params(("name" = String, Path, description = "The key's name", max_length = 256)),
    responses(
        (status = 200, description = "Revoked (again, if it already was)", body = Done),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn revoke(
    State(state): State<AppState>,
    _: Caller<ManageApiKeys>,
    Path(name): Path<String>,
) -> ApiResult<Json<Done>> {
    match state.store.revoke_api_key(&name, state.now()).await {
        Ok(_) => Ok(Done::ANSWER),
        Err(StoreError::NotFound) => {
            Err(ApiError::coded_with_status(StatusCode::NOT_FOUND, "error-api-key-not-found", "API key not found"))
        }
        Err(error) => Err(error.into()),
    }
}
