//! HelpCrunch's error envelope: `{"errors":[{"code","message"},...]}`. Errors the
//! request itself caused (400, 401, 413, 415, 429) list `invalid_request` first, then
//! what was wrong; a missing resource, a wrong method, a conflict and server failures
//! list one entry.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

const INVALID_REQUEST: (&str, &str) = ("invalid_request", "Invalid request");

/// One entry of `errors`: `code` is a field path (`"status"`, `"filter[0].field"`) for
/// a bad field, otherwise a fixed code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorEntry {
    pub code: String,
    pub message: String,
}

impl ErrorEntry {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }
}

/// Every error of the HelpCrunch face, as sent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpCrunchErrors {
    #[schema(inline, min_items = 1)]
    pub errors: Vec<ErrorEntry>,
}

#[derive(Debug)]
pub struct HelpCrunchError {
    status: StatusCode,
    errors: Vec<ErrorEntry>,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u32>,
}

pub type HelpCrunchResult<T> = Result<T, HelpCrunchError>;

impl HelpCrunchError {
    fn single(status: StatusCode, code: &str, message: &str) -> Self {
        Self { status, errors: vec![ErrorEntry::new(code, message)], retry_after: None }
    }

    fn invalid_request(status: StatusCode, reasons: impl IntoIterator<Item = ErrorEntry>) -> Self {
        let (code, message) = INVALID_REQUEST;
        let errors = std::iter::once(ErrorEntry::new(code, message)).chain(reasons).collect();
        Self { status, errors, retry_after: None }
    }

    /// The answer, with `Retry-After: seconds`.
    pub fn retry_after(self, seconds: u32) -> Self {
        Self { retry_after: Some(seconds), ..self }
    }

    /// 400 naming every bad field, e.g. `("id", "This value should be of type numeric.")`.
    pub fn invalid_fields(fields: impl IntoIterator<Item = ErrorEntry>) -> Self {
        Self::invalid_request(StatusCode::BAD_REQUEST, fields)
    }

    /// 400 naming one bad field.
    pub fn invalid_field(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_fields([ErrorEntry::new(code, message)])
    }

    /// 401: no `Authorization: Bearer <key>` header.
    pub fn unauthorized() -> Self {
        Self::invalid_request(StatusCode::UNAUTHORIZED, [ErrorEntry::new("unauthorized", "Unauthorized")])
    }

    /// 401: the key is unknown or revoked.
    pub fn invalid_token() -> Self {
        Self::invalid_request(StatusCode::UNAUTHORIZED, [ErrorEntry::new("invalid_token", "Invalid token")])
    }

    /// 429: the key used up its requests for this minute.
    pub fn too_many_requests() -> Self {
        Self::invalid_request(
            StatusCode::TOO_MANY_REQUESTS,
            [ErrorEntry::new("too_many_requests", "Too many requests")],
        )
    }

    pub fn chat_not_found() -> Self {
        Self::single(StatusCode::NOT_FOUND, "chat_not_found", "Chat not found")
    }

    /// 404: an entity a request names (agent, department) does not exist.
    pub fn entity_not_found(message: &str) -> Self {
        Self::single(StatusCode::NOT_FOUND, "entity_not_found", message)
    }

    /// 404 of a path no route serves.
    pub fn route_not_found() -> Self {
        Self::single(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    pub fn method_not_allowed() -> Self {
        Self::single(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed")
    }

    /// 409: the chat kept changing underneath the change, which was given up; the
    /// same request may succeed when tried again.
    pub fn conflict() -> Self {
        Self::single(StatusCode::CONFLICT, "conflict", "The chat changed while it was being updated, try again")
    }

    /// 400: the body is not JSON, or not a JSON object.
    pub fn invalid_body(message: &str) -> Self {
        Self::invalid_field("body", message)
    }

    pub fn unsupported_media_type() -> Self {
        Self::invalid_request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [ErrorEntry::new("content_type", "Content-Type must be application/json")],
        )
    }

    /// 413: the body is larger than the route's limit, named like `8 KiB`.
    pub fn payload_too_large(limit: &str) -> Self {
        Self::invalid_request(
            StatusCode::PAYLOAD_TOO_LARGE,
            [ErrorEntry::new("body", format!("Request body is larger than {limit}"))],
        )
    }

    /// 408: the body did not arrive within the body read timeout.
    pub fn body_late() -> Self {
        Self::invalid_request(
            StatusCode::REQUEST_TIMEOUT,
            [ErrorEntry::new("body", "Request body was not received in time.")],
        )
    }

    /// 503: no room in the budget of request bodies being read.
    pub fn busy() -> Self {
        Self::single(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "Too many request bodies are being read, try again shortly",
        )
        .retry_after(1)
    }

    pub fn unavailable() -> Self {
        Self::single(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service unavailable")
    }

    /// 500; the cause is logged here and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::single(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error")
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for HelpCrunchError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after.map(|seconds| [(RETRY_AFTER, seconds.to_string())]);
        (self.status, retry_after, Json(HelpCrunchErrors { errors: self.errors })).into_response()
    }
}

impl From<StoreError> for HelpCrunchError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::unavailable()
            }
            StoreError::Contention => {
                tracing::warn!("a chat change was given up after repeated concurrent changes");
                Self::conflict()
            }
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use serde_json::{Value, json};

    use super::*;

    async fn sent(error: HelpCrunchError) -> (StatusCode, Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_change_given_up_under_contention_is_409_conflict() {
        assert_eq!(
            sent(StoreError::Contention.into()).await,
            (
                StatusCode::CONFLICT,
                json!({"errors": [{"code": "conflict", "message": "The chat changed while it was being updated, try again"}]})
            )
        );
    }

    #[tokio::test]
    async fn other_store_failures_keep_their_answers() {
        assert_eq!(sent(StoreError::NotFound.into()).await.0, StatusCode::INTERNAL_SERVER_ERROR);
        let (status, body) = sent(HelpCrunchError::invalid_field("id", "This value should not be blank.")).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"errors": [
                    {"code": "invalid_request", "message": "Invalid request"},
                    {"code": "id", "message": "This value should not be blank."},
                ]})
            )
        );
    }
}
