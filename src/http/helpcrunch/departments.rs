//! GET /v1/departments.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::HelpCrunchResult;
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/departments", get(list))
}

async fn list(State(state): State<AppState>) -> HelpCrunchResult<Json<Value>> {
    let departments = state.store.department_summaries().await?;
    let data: Vec<Value> =
        departments.iter().map(|department| json!({"id": department.num_id, "name": department.name})).collect();
    Ok(Json(json!({"data": data, "meta": {"total": departments.len()}})))
}
