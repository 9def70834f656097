//! GET /api/v1/permissions.listAll and POST /api/v1/permissions.update.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::permissions::ACCESS_PERMISSIONS;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, KeyText, LoggedIn, permission_set};
use crate::http::openapi::{RcJsonBody, RcPermitted, RcSignedIn};
use crate::http::shapes::{Success, Timestamp};
use crate::store::{PermissionGrant, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_all)).routes(routes!(update))
}

permission_set!(ChangePermissions = [ACCESS_PERMISSIONS]);

/// A permission and the roles granted it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Grant {
    #[serde(rename = "_id")]
    id: String,
    roles: Vec<String>,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
}

impl From<PermissionGrant> for Grant {
    fn from(grant: PermissionGrant) -> Self {
        Self { id: grant.id, roles: grant.roles, updated_at: Timestamp(grant.updated_at) }
    }
}

/// Every permission; nothing is ever listed as removed.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PermissionList {
    update: Vec<Grant>,
    /// Always empty.
    #[schema(max_items = 0)]
    remove: Vec<Grant>,
    success: Success,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PermissionChanges {
    permissions: Vec<PermissionChange>,
}

/// The roles to grant a permission, each once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PermissionChange {
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: String,
    #[schema(value_type = HashSet<KeyText>, inline)]
    roles: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdatedPermissions {
    permissions: Vec<Grant>,
    success: Success,
}

/// Every permission and the roles granted it.
#[utoipa::path(get, path = "/api/v1/permissions.listAll", tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The permissions", body = PermissionList), RcSignedIn))]
async fn list_all(State(state): State<AppState>, _: Caller<LoggedIn>) -> ApiResult<Json<PermissionList>> {
    Ok(Json(PermissionList { update: grants(&state).await?, remove: Vec::new(), success: Success }))
}

/// Sets the roles of the listed permissions.
#[utoipa::path(post, path = "/api/v1/permissions.update", tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = PermissionChanges,
    responses((status = 200, description = "Every permission after the change", body = UpdatedPermissions), RcPermitted, RcJsonBody))]
async fn update(
    State(state): State<AppState>,
    _: Caller<ChangePermissions>,
    Body(body): Body<PermissionChanges>,
) -> ApiResult<Json<UpdatedPermissions>> {
    for (index, change) in body.permissions.iter().enumerate() {
        let mut distinct = HashSet::new();
        if !change.roles.iter().all(|role| distinct.insert(role)) {
            return Err(ApiError::invalid_params(format!("/permissions/{index}/roles must NOT have duplicate items")));
        }
    }
    let changes: Vec<(String, Vec<String>)> =
        body.permissions.into_iter().map(|change| (change.id, change.roles)).collect();
    match state.store.update_permissions(&changes, state.now()).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::coded("error-invalid-permission", "Invalid permission")),
        Err(StoreError::Conflict(_)) => return Err(ApiError::coded("error-invalid-role", "Invalid role")),
        Err(error) => return Err(error.into()),
    }
    Ok(Json(UpdatedPermissions { permissions: grants(&state).await?, success: Success }))
}

async fn grants(state: &AppState) -> ApiResult<Vec<Grant>> {
    Ok(state.store.list_permissions().await?.into_iter().map(Grant::from).collect())
}
