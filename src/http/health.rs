//! Liveness, readiness and version.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::openapi::{closed_object, schema_component};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(live)).routes(routes!(info))
}

/// Liveness: 200 while the process serves HTTP. It never touches the database, so it
/// also measures the HTTP stack alone.
#[utoipa::path(get, path = "/health/live", tag = "health", responses(
    (status = 200, description = "The process serves HTTP", body = HealthOk),
))]
async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

schema_component!(HealthOk => closed_object(json!({"status": {"type": "string", "enum": ["ok"]}})));
schema_component!(HealthUnavailable => closed_object(json!({"status": {"type": "string", "enum": ["unavailable"]}})));
schema_component!(ServerInfo => closed_object(json!({
    "version": {"type": "string"},
    "success": {"type": "boolean", "enum": [true]},
})));

/// Readiness: 200 when the database answers, 503 when it does not.
#[utoipa::path(get, path = "/health", tag = "health", responses(
    (status = 200, description = "The database answers", body = HealthOk),
    (status = 503, description = "The database does not answer", body = HealthUnavailable),
))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"})))
        }
    }
}

/// The server's version.
#[utoipa::path(get, path = "/api/info", tag = "health", responses(
    (status = 200, description = "The version", body = ServerInfo),
))]
async fn info() -> Json<Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION"), "success": true}))
}
