//! Rocket.Chat's error envelope. Every failure of a /api route, including the
//! framework's own rejections, leaves through `ApiError`.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::shapes::Failure;
use crate::domain::page::PageError;
use crate::store::StoreError;

pub const NOT_LOGGED_IN: &str = "You must be logged in to do this.";
pub const NO_PERMISSION: &str = "User does not have the permissions required for this action [error-unauthorized]";

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: RcErrorBody,
    /// Seconds for a `Retry-After` header, when the answer carries one.
    retry_after: Option<u32>,
}

/// Rocket.Chat's error envelope. Most errors are `{success: false, error, errorType?}`;
/// a missing login adds `status` and `message`, a failed login has no `success`, and a
/// bare `API.v1.failure()` is `{success: false}` alone.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RcErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    success: Option<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(inline)]
    status: Option<ErrorStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// The code of a failure Rocket.Chat answers as `{reason, success: false}`
    /// (`error-type-not-allowed` of a visitor's upload).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `"status": "error"`.
#[derive(Debug, Serialize, ToSchema)]
enum ErrorStatus {
    #[serde(rename = "error")]
    Error,
}

impl RcErrorBody {
    fn failure(error: String) -> Self {
        Self { success: Some(Failure), status: None, error: Some(error), error_type: None, message: None, reason: None }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, body: RcErrorBody) -> Self {
        Self { status, body, retry_after: None }
    }

    /// The answer, with `Retry-After: seconds`.
    pub fn retry_after(self, seconds: u32) -> Self {
        Self { retry_after: Some(seconds), ..self }
    }

    /// 401: no credentials, or credentials that do not match.
    pub fn not_logged_in() -> Self {
        let body = RcErrorBody {
            status: Some(ErrorStatus::Error),
            message: Some(NOT_LOGGED_IN.to_owned()),
            ..RcErrorBody::failure(NOT_LOGGED_IN.to_owned())
        };
        Self::new(StatusCode::UNAUTHORIZED, body)
    }

    /// 401 of a failed login.
    pub fn login_failed() -> Self {
        let body = RcErrorBody {
            success: None,
            status: Some(ErrorStatus::Error),
            error: Some("Unauthorized".to_owned()),
            error_type: None,
            message: Some("Unauthorized".to_owned()),
            reason: None,
        };
        Self::new(StatusCode::UNAUTHORIZED, body)
    }

    /// 403: the user lacks the permission the route requires.
    pub fn no_permission() -> Self {
        Self::new(StatusCode::FORBIDDEN, RcErrorBody::failure(NO_PERMISSION.to_owned()))
    }

    /// 403: the user may use the route but not on this object.
    pub fn unauthorized_object() -> Self {
        Self::new(StatusCode::FORBIDDEN, RcErrorBody::failure("unauthorized".to_owned()))
    }

    /// 400 schema validation failure, ajv style: `must have required property 'x'`.
    pub fn invalid_params(message: impl std::fmt::Display) -> Self {
        Self::coded_with_status(StatusCode::BAD_REQUEST, "invalid-params", message)
    }

    /// 400 with a bare error string: `error-invalid-inquiry`, `The 'sla' param is required`.
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, RcErrorBody::failure(error.into()))
    }

    /// 400 with a reason and a code: `"<reason> [<code>]"` plus `errorType`.
    pub fn coded(code: &str, reason: impl std::fmt::Display) -> Self {
        Self::coded_with_status(StatusCode::BAD_REQUEST, code, reason)
    }

    /// 400 of a Meteor error without a reason: `"[<code>]"` plus `errorType`.
    pub fn meteor(code: &str) -> Self {
        let body = RcErrorBody { error_type: Some(code.to_owned()), ..RcErrorBody::failure(format!("[{code}]")) };
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    pub fn coded_with_status(status: StatusCode, code: &str, reason: impl std::fmt::Display) -> Self {
        let body =
            RcErrorBody { error_type: Some(code.to_owned()), ..RcErrorBody::failure(format!("{reason} [{code}]")) };
        Self::new(status, body)
    }

    /// The error as a DDP method answers it, a `Meteor.Error`'s `error` and `reason`:
    /// `"<reason> [<code>]"` is the code and the reason, `"[<code>]"` or a bare error the
    /// code alone; a server failure is `500` `Internal server error`.
    pub fn meteor_parts(&self) -> (serde_json::Value, Option<String>) {
        if self.status.is_server_error() {
            return (serde_json::json!(500), Some("Internal server error".to_owned()));
        }
        let error = self.body.error.clone().unwrap_or_default();
        if let Some(code) = &self.body.error_type {
            let reason =
                error.strip_suffix(&format!("[{code}]")).map(str::trim_end).filter(|reason| !reason.is_empty());
            return (serde_json::Value::String(code.clone()), reason.map(str::to_owned));
        }
        (serde_json::Value::String(error), None)
    }

    /// 400 `{"success": false}`: Rocket.Chat's `API.v1.failure()` without a reason.
    pub fn bare_failure() -> Self {
        Self::new(StatusCode::BAD_REQUEST, RcErrorBody { error: None, ..RcErrorBody::failure(String::new()) })
    }

    /// 400 `{"success": false, "error": ..., "errorType": ...}`: Rocket.Chat's
    /// `API.v1.failure(error, errorType)`.
    pub fn failure_typed(error: &str, error_type: &str) -> Self {
        let body = RcErrorBody { error_type: Some(error_type.to_owned()), ..RcErrorBody::failure(error.to_owned()) };
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 400 `{"success": false, "message": ...}`: Rocket.Chat's `API.v1.failure({ message })`.
    pub fn failure_message(message: impl Into<String>) -> Self {
        let body = RcErrorBody { error: None, message: Some(message.into()), ..RcErrorBody::failure(String::new()) };
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 400 of a Meteor error thrown with a code and no reason: `"[<code>]"` plus `errorType`.
    pub fn code_only(code: &str) -> Self {
        let body = RcErrorBody { error_type: Some(code.to_owned()), ..RcErrorBody::failure(format!("[{code}]")) };
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 400 `{"reason": <code>, "success": false}`: Rocket.Chat's `API.v1.failure({reason})`.
    pub fn reason(code: &str) -> Self {
        let body = RcErrorBody { error: None, reason: Some(code.to_owned()), ..RcErrorBody::failure(String::new()) };
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, RcErrorBody::failure(message.into()))
    }

    /// 429 of a login blocked after too many failures.
    pub fn login_blocked(code: &'static str, reason: &str) -> Self {
        let body = RcErrorBody {
            status: Some(ErrorStatus::Error),
            error_type: Some(code.to_owned()),
            message: Some(reason.to_owned()),
            ..RcErrorBody::failure(format!("{reason} [{code}]"))
        };
        Self::new(StatusCode::TOO_MANY_REQUESTS, body)
    }

    /// 429 of Rocket.Chat's per-route rate limit, with `Retry-After: seconds`.
    pub fn too_many_requests(seconds: u32) -> Self {
        let reason = format!(
            "Error, too many requests. Please slow down. You must wait {seconds} seconds before trying again. \
             [error-too-many-requests]"
        );
        Self::new(StatusCode::TOO_MANY_REQUESTS, RcErrorBody::failure(reason)).retry_after(seconds)
    }

    pub fn unavailable() -> Self {
        Self::coded_with_status(StatusCode::SERVICE_UNAVAILABLE, "error-service-unavailable", "Service unavailable")
    }

    /// 503 of a server shedding load: the unavailable answer, with `Retry-After`.
    pub fn busy(retry_after_secs: u32) -> Self {
        Self { retry_after: Some(retry_after_secs), ..Self::unavailable() }
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
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::unavailable()
            }
            StoreError::OutOfReach => Self::unauthorized_object(),
            StoreError::ChannelBlocked => Self::bad_request("error-contact-channel-blocked"),
            other => Self::internal(other),
        }
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        match error {
            PageError::InvalidSort(raw) => {
                Self::coded("error-invalid-sort", format!("Invalid sort parameter provided: \"{raw}\""))
            }
        }
    }
}
