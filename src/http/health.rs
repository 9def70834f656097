//! Liveness, readiness and version.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::shapes::Success;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(live)).routes(routes!(info))
}

/// `{"status": "ok"}`, or `"unavailable"` when the database does not answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HealthStatus {
    status: Readiness,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Readiness {
    Ok,
    Unavailable,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ServerInfo {
    version: &'static str,
    success: Success,
}

/// Liveness: 200 while the process serves HTTP. It never touches the database, so it
/// also measures the HTTP stack alone.
#[utoipa::path(get, path = "/health/live", tag = "health", responses(
    (status = 200, description = "The process serves HTTP", body = HealthStatus),
))]
async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: Readiness::Ok })
}

/// Readiness: 200 when the database answers, 503 when it does not.
#[utoipa::path(get, path = "/health", tag = "health", responses(
    (status = 200, description = "The database answers", body = HealthStatus),
    (status = 503, description = "The database does not answer", body = HealthStatus),
))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthStatus>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(HealthStatus { status: Readiness::Ok })),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(HealthStatus { status: Readiness::Unavailable }))
        }
    }
}

/// The server's version.
#[utoipa::path(get, path = "/api/info", tag = "health", responses(
    (status = 200, description = "The version", body = ServerInfo),
))]
async fn info() -> Json<ServerInfo> {
    Json(ServerInfo { version: env!("CARGO_PKG_VERSION"), success: Success })
}
