//! GET /api/v1/permissions.listAll and POST /api/v1/permissions.update.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::permissions::ACCESS_PERMISSIONS;
use crate::domain::time::iso;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody};
use crate::http::openapi::{
    RcJsonBody, RcPermitted, RcSignedIn, closed_object, rc_wrapped, schema_component, timestamp,
};
use crate::http::validate::{Fields, missing, wrong_type};
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_all)).routes(routes!(update))
}

fn grants_schema() -> Value {
    json!({"type": "array", "items": closed_object(json!({
        "_id": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "_updatedAt": timestamp(),
    }))})
}

schema_component!(PermissionList => closed_object(json!({
    "update": grants_schema(),
    "remove": {"type": "array", "items": {"type": "object"}, "maxItems": 0},
    "success": {"type": "boolean", "enum": [true]},
})));
schema_component!(PermissionChanges => closed_object(json!({
    "permissions": {"type": "array", "items": closed_object(json!({
        "_id": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
    }))},
})));
schema_component!(UpdatedPermissions => rc_wrapped("permissions", grants_schema()));

/// Every permission and the roles granted it.
#[utoipa::path(get, path = "/api/v1/permissions.listAll", tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The permissions", body = PermissionList), RcSignedIn))]
async fn list_all(State(state): State<AppState>, credentials: Credentials) -> ApiResult<Json<Value>> {
    credentials.authenticate(&state).await?;
    let grants = permissions_json(&state).await?;
    Ok(Json(json!({"update": grants, "remove": [], "success": true})))
}

/// Sets the roles of the listed permissions.
#[utoipa::path(post, path = "/api/v1/permissions.update", tag = "permissions",
    security(("userId" = [], "authToken" = [])),
    request_body = PermissionChanges,
    responses((status = 200, description = "Every permission after the change", body = UpdatedPermissions), RcPermitted, RcJsonBody))]
async fn update(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[ACCESS_PERMISSIONS]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["permissions"])?;
    let entries = fields.required_value("permissions")?.as_array().ok_or_else(|| wrong_type("permissions", "array"))?;
    let mut changes = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("permissions/{index}");
        let entry = entry.as_object().ok_or_else(|| wrong_type(&path, "object"))?;
        let entry = Fields::new(entry);
        entry.deny_unknown(&["_id", "roles"])?;
        let id = entry.required_str("_id").map_err(|_| entry_error(&entry, "_id", &path, "string"))?;
        let roles = entry
            .required_value("roles")
            .map_err(|_| missing("roles"))?
            .as_array()
            .ok_or_else(|| wrong_type(&format!("{path}/roles"), "array"))?;
        let mut distinct = HashSet::new();
        let mut role_names = Vec::with_capacity(roles.len());
        for role in roles {
            let role = role.as_str().ok_or_else(|| wrong_type(&format!("{path}/roles"), "array of strings"))?;
            if !distinct.insert(role) {
                return Err(ApiError::invalid_params(format!("/{path}/roles must NOT have duplicate items")));
            }
            role_names.push(role.to_owned());
        }
        changes.push((id.to_owned(), role_names));
    }
    match state.store.update_permissions(&changes, state.now()).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::coded("error-invalid-permission", "Invalid permission")),
        Err(StoreError::Conflict(_)) => return Err(ApiError::coded("error-invalid-role", "Invalid role")),
        Err(error) => return Err(error.into()),
    }
    let grants = permissions_json(&state).await?;
    Ok(Json(json!({"permissions": grants, "success": true})))
}

fn entry_error(entry: &Fields, name: &str, path: &str, expected: &str) -> ApiError {
    if entry.has(name) { wrong_type(&format!("{path}/{name}"), expected) } else { missing(name) }
}

async fn permissions_json(state: &AppState) -> ApiResult<Vec<Value>> {
    let grants = state.store.list_permissions().await?;
    Ok(grants
        .into_iter()
        .map(|grant| json!({"_id": grant.id, "roles": grant.roles, "_updatedAt": iso(grant.updated_at)}))
        .collect())
}
