//! The HTTP application: one router assembled from one `router()` per resource,
//! the shared layers, and the fallbacks that keep every error in an envelope.

mod avatar;
pub mod body;
mod cors;
pub mod error;
pub mod extract;
mod health;
pub mod helpcrunch;
mod json_guard;
pub mod metrics;
mod openapi;
mod realtime;
mod rocketchat;
pub mod schema_check;
pub mod shapes;

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, StatusCode, Uri};
use axum::http::{Request, Response};
use axum::middleware::Next;
use axum::response::IntoResponse;
use futures::FutureExt;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::accounts::PasswordChecks;
use crate::config::AppSettings;
use crate::domain::page::PageLimits;
use crate::domain::time::{Clock, Millis, SystemClock};
use crate::events::EventBus;
use crate::files::FileStorage;
use crate::routing::PassGate;
use crate::store::Store;
use error::ApiError;
use helpcrunch::error::HelpCrunchError;
use metrics::Metrics;

pub use body::{MAX_BODY_BYTES, SMALL_BODY_BYTES};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<AppSettings>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub password_checks: Arc<PasswordChecks>,
    pub routing: Arc<PassGate>,
    /// This instance's fan-out of the store's events to realtime connections.
    pub events: Arc<EventBus>,
    /// Where uploaded files' bytes live.
    pub files: FileStorage,
}

impl AppState {
    pub fn new(store: Store, settings: AppSettings) -> Self {
        Self::with_clock(store, settings, Arc::new(SystemClock))
    }

    /// The state of a server whose file storage was set up from `settings`.
    pub fn with_files(store: Store, settings: AppSettings, files: FileStorage) -> Self {
        Self { files, ..Self::new(store, settings) }
    }

    /// The state on `clock`. The settings' file storage must be usable (the server's
    /// start checks it with [`FileStorage::from_settings`] first).
    pub fn with_clock(store: Store, settings: AppSettings, clock: Arc<dyn Clock>) -> Self {
        let password_checks = Arc::new(PasswordChecks::new(settings.max_pending_password_checks.get()));
        let files = FileStorage::from_settings(&settings).expect("the file storage settings were checked at start");
        Self {
            files,
            store,
            settings: Arc::new(settings),
            metrics: Arc::default(),
            clock,
            password_checks,
            routing: Arc::default(),
            events: Arc::default(),
        }
    }

    /// The time of the request's changes, from the application's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Routes the queue after a change that may let an inquiry reach an agent (see
    /// [`crate::routing`]). The change itself is already stored, so a failure here is
    /// logged rather than answered: the inquiries wait for the next change.
    pub async fn route_queue(&self) {
        if let Err(error) = self.routing.route_after_change(&self.store, || self.now()).await {
            tracing::warn!(%error, "routing the queue failed");
        }
    }

    /// Routes a visitor's new inquiry: to its contact's manager when it may take it
    /// (see [`crate::routing::offer_to_contact_manager`]), then the queue. Failures
    /// are logged as in [`Self::route_queue`].
    pub async fn route_new_inquiry(&self, visitor: &crate::store::Visitor, inquiry_id: &str) {
        let offered = crate::routing::offer_to_contact_manager(&self.store, visitor, inquiry_id, self.now()).await;
        if let Err(error) = offered {
            tracing::warn!(%error, "offering an inquiry to the contact manager failed");
        }
        self.route_queue().await;
    }

    pub fn page_limits(&self) -> PageLimits {
        PageLimits { default_count: self.settings.default_count, max_count: self.settings.max_count }
    }
}

/// The address a request came from, as the TCP peer.
pub type ClientAddress = axum::extract::ConnectInfo<SocketAddr>;

/// Every route of both faces, each with its documentation.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(openapi::router())
        .merge(rocketchat::router())
        .merge(realtime::method_call::router())
        .merge(avatar::router())
        .merge(helpcrunch::router())
}

/// The OpenAPI document of every route `router` serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = documented_routes().split_for_parts().1;
    openapi::name_operations(&mut document);
    document
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let (routes, _) = documented_routes().split_for_parts();
    let cors = cors::layer(&state.settings.cors_allowed_origins);
    // The widget's files, outside the API and its document, as Rocket.Chat serves them.
    let routes = match &state.settings.widget_dir {
        Some(folder) => routes.nest_service("/livechat", ServeDir::new(folder)),
        None => routes,
    };
    let routes = routes
        .merge(realtime::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), helpcrunch::require_api_key))
        .layer(axum::middleware::from_fn(refuse_malformed_url))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record));
    // Outside the routes' own answers, so errors carry the CORS headers too.
    let routes = match cors {
        Some(cors) => routes.layer(axum::middleware::from_fn_with_state(cors, cors::apply)),
        None => routes,
    };
    routes
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(record_response)
                        .on_failure(()),
                )
                .layer(axum::middleware::from_fn(answer_panics)),
        )
        .with_state(state)
}

fn request_span<B>(request: &Request<B>) -> Span {
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("(unmatched)");
    let request_id = request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn record_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    tracing::info!("finished");
}

/// A handler that panics answers 500 in the envelope of the face its path belongs to.
async fn answer_panics(request: axum::extract::Request, next: Next) -> Response<Body> {
    let helpcrunch = helpcrunch::serves(request.uri().path());
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) if helpcrunch => HelpCrunchError::internal("handler panicked").into_response(),
        Err(_) => ApiError::internal("handler panicked").into_response(),
    }
}

/// Refuses, before routing, a URL whose path does not decode to UTF-8 (so no path
/// parameter is rejected in the framework's plain text) or whose path or query holds a
/// NUL character (part of no id, token or filter, and PostgreSQL cannot compare text
/// holding one).
async fn refuse_malformed_url(request: axum::extract::Request, next: axum::middleware::Next) -> Response<Body> {
    let uri = request.uri();
    let path = percent_encoding::percent_decode_str(uri.path()).decode_utf8();
    let path_is_bad = path.as_ref().map_or(true, |path| path.contains('\0'));
    let query_has_nul = uri.query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(key, value)| key.contains('\0') || value.contains('\0'))
    });
    if !(path_is_bad || query_has_nul) {
        return next.run(request).await;
    }
    if helpcrunch::serves(uri.path()) {
        HelpCrunchError::invalid_field("url", "This value should be valid UTF-8 without NUL characters.")
            .into_response()
    } else {
        ApiError::invalid_params("the URL must be valid UTF-8 without NUL characters").into_response()
    }
}

/// Each face answers its own unknown paths in its own envelope.
async fn unknown_route(uri: Uri) -> Response<Body> {
    if helpcrunch::serves(uri.path()) {
        HelpCrunchError::route_not_found().into_response()
    } else {
        ApiError::not_found("Endpoint not found").into_response()
    }
}

async fn method_not_allowed(uri: Uri) -> Response<Body> {
    if helpcrunch::serves(uri.path()) {
        HelpCrunchError::method_not_allowed().into_response()
    } else {
        ApiError::coded_with_status(StatusCode::METHOD_NOT_ALLOWED, "error-method-not-allowed", "Method not allowed")
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::routing::get;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;

    async fn panicking(path: &str) -> (StatusCode, Value) {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = Router::new()
            .route("/v1/boom", get(boom))
            .route("/api/v1/boom", get(boom))
            .layer(axum::middleware::from_fn(answer_panics));
        let response = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_panic_answers_500_in_the_envelope_of_its_face() {
        assert_eq!(
            panicking("/v1/boom").await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"errors": [{"code": "internal_error", "message": "Internal server error"}]})
            )
        );
        assert_eq!(
            panicking("/api/v1/boom").await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"success": false, "error": "Internal server error [error-internal]", "errorType": "error-internal"})
            )
        );
    }
}
