//! Rocket.Chat's error envelope. Every failure of a /api route, including the
//! framework's own rejections, leaves through `ApiError`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::page::PageError;
use crate::store::StoreError;

pub const NOT_LOGGED_IN: &str = "You must be logged in to do this.";
pub const NO_PERMISSION: &str = "User does not have the permissions required for this action [error-unauthorized]";

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }

    /// 401: no credentials, or credentials that do not match.
    pub fn not_logged_in() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "status": "error", "error": NOT_LOGGED_IN, "message": NOT_LOGGED_IN}),
        )
    }

    /// 401 of a failed login.
    pub fn login_failed() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"}),
        )
    }

    /// 403: the user lacks the permission the route requires.
    pub fn no_permission() -> Self {
        Self::new(StatusCode::FORBIDDEN, json!({"success": false, "error": NO_PERMISSION}))
    }

    /// 403: the user may use the route but not on this object.
    pub fn unauthorized_object() -> Self {
        Self::new(StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    }

    /// 400 schema validation failure, ajv style: `must have required property 'x'`.
    pub fn invalid_params(message: impl std::fmt::Display) -> Self {
        Self::coded_with_status(StatusCode::BAD_REQUEST, "invalid-params", message)
    }

    /// 400 with a bare error string: `error-invalid-inquiry`, `The 'sla' param is required`.
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!({"success": false, "error": error.into()}))
    }

    /// 400 with a reason and a code: `"<reason> [<code>]"` plus `errorType`.
    pub fn coded(code: &str, reason: impl std::fmt::Display) -> Self {
        Self::coded_with_status(StatusCode::BAD_REQUEST, code, reason)
    }

    pub fn coded_with_status(status: StatusCode, code: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(status, json!({"success": false, "error": format!("{reason} [{code}]"), "errorType": code}))
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, json!({"success": false, "error": message.into()}))
    }

    /// 429 of a login blocked after too many failures.
    pub fn login_blocked(code: &'static str, reason: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"success": false, "status": "error", "error": format!("{reason} [{code}]"), "errorType": code, "message": reason}),
        )
    }

    pub fn unavailable() -> Self {
        Self::coded_with_status(StatusCode::SERVICE_UNAVAILABLE, "error-service-unavailable", "Service unavailable")
    }

    /// 500; the cause is logged here and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::coded_with_status(StatusCode::INTERNAL_SERVER_ERROR, "error-internal", "Internal server error")
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::unavailable()
            }
            other => Self::internal(other),
        }
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        match error {
            PageError::InvalidParams(message) => Self::invalid_params(message),
            PageError::InvalidSort(raw) => {
                Self::coded("error-invalid-sort", format!("Invalid sort parameter provided: \"{raw}\""))
            }
        }
    }
}
