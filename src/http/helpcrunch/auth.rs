//! Bearer API keys and the per-key rate limit, as one middleware in front of every
//! /v1 request. Counts live in the database so that they hold across instances.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{HelpCrunchError, HelpCrunchResult};
use super::extract::AuthenticatedApiKey;
use crate::domain::api_keys::{RateStatus, RateWindow};
use crate::domain::ids::token_digest;
use crate::http::AppState;
use crate::http::extract::MAX_KEY_CHARS;
use crate::http::metrics::Rejection;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Whether a path belongs to the HelpCrunch face.
pub fn serves(path: &str) -> bool {
    path.starts_with("/v1/")
}

/// Layered on the whole application, not only on the /v1 routes, so that unknown /v1
/// paths and wrong methods are authenticated and counted like any other request. Other
/// paths pass straight through. A handler reads the key with [`AuthenticatedApiKey`].
pub async fn require_api_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !serves(request.uri().path()) {
        return next.run(request).await;
    }
    authenticate_and_count(&state, request, next).await.unwrap_or_else(IntoResponse::into_response)
}

async fn authenticate_and_count(state: &AppState, mut request: Request, next: Next) -> HelpCrunchResult<Response> {
    let key = bearer_key(request.headers()).ok_or_else(HelpCrunchError::unauthorized)?;
    let now = state.now();
    let api_key =
        state.store.authenticate_api_key(&token_digest(key), now).await?.ok_or_else(HelpCrunchError::invalid_token)?;
    let window = RateWindow::containing(now);
    let hits = state.store.count_api_request(api_key.num_id, window.start).await?;
    let status = RateStatus::after(hits, state.settings.hc_rate_limit_per_minute, window, now);
    let mut response = if status.exceeded {
        state.metrics.reject(Rejection::HelpCrunchRateLimit);
        let mut refused = HelpCrunchError::too_many_requests().into_response();
        refused.headers_mut().insert(RETRY_AFTER, HeaderValue::from(status.retry_after));
        refused
    } else {
        request.extensions_mut().insert(AuthenticatedApiKey(api_key));
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(LIMIT, HeaderValue::from(status.limit));
    headers.insert(REMAINING, HeaderValue::from(status.remaining));
    headers.insert(RESET, HeaderValue::from(status.reset_at));
    Ok(response)
}

/// The key of `Authorization: Bearer <key>`; `None` when the header is missing or
/// has another shape, or the key is longer than any key (so it is never looked up).
fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    let plausible = !key.is_empty() && key.len() <= MAX_KEY_CHARS && !key.contains(char::is_whitespace);
    (scheme.eq_ignore_ascii_case("bearer") && plausible).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(authorization: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        bearer_key(&headers).map(str::to_owned)
    }

    #[test]
    fn only_bearer_headers_carry_a_key() {
        assert_eq!(key_of("Bearer lck_abc"), Some("lck_abc".into()));
        assert_eq!(key_of("bearer lck_abc"), Some("lck_abc".into()));
        assert_eq!(key_of("Bearer"), None);
        assert_eq!(key_of("Bearer "), None);
        assert_eq!(key_of("Basic bGNrOmFiYw=="), None);
        assert_eq!(key_of("Bearer two words"), None);
        assert_eq!(key_of("lck_abc"), None);
        assert_eq!(key_of(&format!("Bearer {}", "k".repeat(MAX_KEY_CHARS))), Some("k".repeat(MAX_KEY_CHARS)));
        assert_eq!(key_of(&format!("Bearer {}", "k".repeat(MAX_KEY_CHARS + 1))), None);
        assert_eq!(bearer_key(&HeaderMap::new()), None);
    }
}
