//! GET /api/v1/permissions.listAll and POST /api/v1/permissions.update.

use std::collections::HashSet;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::domain::permissions::ACCESS_PERMISSIONS;
use crate::domain::time::{iso, now_millis};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody};
use crate::http::validate::{Fields, missing, wrong_type};
use crate::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/permissions.listAll", get(list_all)).route("/api/v1/permissions.update", post(update))
}

async fn list_all(State(state): State<AppState>, credentials: Credentials) -> ApiResult<Json<Value>> {
    credentials.authenticate(&state).await?;
    let grants = permissions_json(&state).await?;
    Ok(Json(json!({"update": grants, "remove": [], "success": true})))
}

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
    match state.store.update_permissions(&changes, now_millis()).await {
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
