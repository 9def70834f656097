//! GET /v1/departments.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::HelpCrunchResult;
use crate::http::AppState;
use crate::http::openapi::{HcKeyed, closed_object, schema_component};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

schema_component!(HelpCrunchDepartments => closed_object(json!({
    "data": {"type": "array", "items": closed_object(json!({
        "id": {"type": "integer"},
        "name": {"type": "string"},
    }))},
    "meta": closed_object(json!({"total": {"type": "integer", "minimum": 0}})),
})));

/// Every department.
#[utoipa::path(get, path = "/v1/departments", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    responses(
        (status = 200, description = "The departments", body = HelpCrunchDepartments, headers(
            ("X-RateLimit-Limit" = u32, description = "Requests allowed per minute"),
            ("X-RateLimit-Remaining" = u32, description = "Requests left this minute"),
            ("X-RateLimit-Reset" = u64, description = "When the minute ends, in UNIX seconds"),
        )),
        HcKeyed,
    ))]
async fn list(State(state): State<AppState>) -> HelpCrunchResult<Json<Value>> {
    let departments = state.store.department_summaries().await?;
    let data: Vec<Value> =
        departments.iter().map(|department| json!({"id": department.num_id, "name": department.name})).collect();
    Ok(Json(json!({"data": data, "meta": {"total": departments.len()}})))
}
