//! CORS for the livechat widget, which runs in the pages of another site and calls
//! /api and /avatar from the visitor's browser. Only the origins configured in
//! `LIVECHAT_CORS_ALLOWED_ORIGINS` get CORS headers; /v1 (server-to-server, with API
//! keys) never does.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, Response};
use axum::middleware::Next;
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The paths a browser page of an allowed origin may call.
fn serves(path: &str) -> bool {
    ["/api/", "/avatar/"].iter().any(|prefix| path.starts_with(prefix))
}

/// The CORS rules of `origins`; none when no origin is allowed (or none parses as a
/// header value, which the configuration reports at start).
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .filter_map(|origin| {
            HeaderValue::from_str(origin).map_err(|_| tracing::warn!(origin, "ignored an unusable CORS origin")).ok()
        })
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                HeaderName::from_static("content-type"),
                HeaderName::from_static("x-auth-token"),
                HeaderName::from_static("x-user-id"),
                HeaderName::from_static("x-visitor-token"),
                HeaderName::from_static("authorization"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// Applies `cors` to requests for /api and /avatar: preflights are answered here,
/// other answers get the headers when their origin is allowed.
pub async fn apply(State(cors): State<CorsLayer>, request: Request, next: Next) -> Response<Body> {
    if !serves(request.uri().path()) {
        return next.run(request).await;
    }
    let answer: Result<Response<Body>, Infallible> = cors.layer(next).oneshot(request).await;
    match answer {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
