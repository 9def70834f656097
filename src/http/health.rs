//! Liveness, readiness and version.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/health/live", get(live)).route("/api/info", get(info))
}

/// 200 while the process serves HTTP; never touches the database, so it also
/// measures the HTTP stack alone.
async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when the database answers, 503 when it does not.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"})))
        }
    }
}

async fn info() -> Json<Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION"), "success": true}))
}
