//! HelpCrunch request extractors: the authenticated API key and JSON bodies, each
//! rejecting in HelpCrunch's envelope.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value};

use super::error::{HelpCrunchError, HelpCrunchResult};
use crate::http::extract::{BodyRefusal, read_json_object};
use crate::store::ApiKey;

/// The API key the request was authenticated with. The /v1 middleware puts it in the
/// request's extensions before any handler runs.
#[derive(Clone, Debug)]
pub struct AuthenticatedApiKey(pub ApiKey);

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedApiKey {
    type Rejection = HelpCrunchError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> HelpCrunchResult<Self> {
        parts.extensions.get::<Self>().cloned().ok_or_else(HelpCrunchError::unauthorized)
    }
}

/// A JSON object body. An empty body is an empty object, so missing fields are
/// reported by name.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = HelpCrunchError;

    async fn from_request(request: Request, _: &S) -> HelpCrunchResult<Self> {
        read_json_object::<HelpCrunchError>(request).await.map(Self)
    }
}

impl BodyRefusal for HelpCrunchError {
    fn too_large() -> Self {
        HelpCrunchError::payload_too_large()
    }

    fn unreadable() -> Self {
        HelpCrunchError::invalid_body("Request body could not be read.")
    }

    fn not_json() -> Self {
        HelpCrunchError::unsupported_media_type()
    }

    fn malformed(_: &serde_json::Error) -> Self {
        HelpCrunchError::invalid_body("This value should be valid JSON.")
    }

    fn not_an_object() -> Self {
        HelpCrunchError::invalid_body("This value should be of type object.")
    }

    fn holds_nul() -> Self {
        HelpCrunchError::invalid_body("This value should not contain NUL characters.")
    }

    fn too_complex() -> Self {
        HelpCrunchError::invalid_body("This value is nested too deeply or holds too many values.")
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::extract::DefaultBodyLimit;
    use axum::http::StatusCode;
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::post;
    use serde_json::json;
    use tower::ServiceExt;

    use super::*;

    async fn answer(content_type: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        let app = Router::new()
            .route("/echo", post(|JsonObject(object): JsonObject| async move { axum::Json(Value::Object(object)) }))
            .layer(DefaultBodyLimit::max(16));
        let mut request = Request::post("/echo");
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = app.oneshot(request.body(body.into()).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn invalid(status: StatusCode, code: &str, message: &str) -> (StatusCode, Value) {
        (
            status,
            json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": code, "message": message},
            ]}),
        )
    }

    #[tokio::test]
    async fn objects_pass_and_an_empty_body_is_an_empty_object() {
        assert_eq!(answer(Some("application/json"), r#"{"id":1}"#).await, (StatusCode::OK, json!({"id": 1})));
        assert_eq!(answer(None, "").await, (StatusCode::OK, json!({})));
    }

    #[tokio::test]
    async fn malformed_bodies_answer_in_the_helpcrunch_envelope() {
        assert_eq!(
            answer(Some("application/json"), "{\"id\":").await,
            invalid(StatusCode::BAD_REQUEST, "body", "This value should be valid JSON.")
        );
        assert_eq!(
            answer(Some("application/json"), "[1]").await,
            invalid(StatusCode::BAD_REQUEST, "body", "This value should be of type object.")
        );
        assert_eq!(
            answer(Some("text/plain"), "{}").await,
            invalid(StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type", "Content-Type must be application/json")
        );
        assert_eq!(
            answer(Some("application/json"), r#"{"text":"longer than sixteen bytes"}"#).await,
            invalid(StatusCode::PAYLOAD_TOO_LARGE, "body", "Request body is larger than 1 MiB")
        );
    }
}
