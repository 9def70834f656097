//! Request extractors. Authentication runs first, then the handler checks the
//! permission, and only then is the body or query validated: a user without the
//! permission gets 403 even when the parameters are bad, as in Rocket.Chat.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::validate::object_has_nul;
use crate::domain::ids::token_digest;
use crate::store::AuthUser;

/// `X-User-Id` and `X-Auth-Token`, present but not yet checked.
pub struct Credentials {
    pub user_id: String,
    pub token_digest: String,
}

impl FromRequestParts<AppState> for Credentials {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<Self> {
        Self::from_headers(&parts.headers).ok_or_else(ApiError::not_logged_in)
    }
}

impl Credentials {
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let header =
            |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).filter(|value| !value.is_empty());
        Some(Self { user_id: header("x-user-id")?.to_owned(), token_digest: token_digest(header("x-auth-token")?) })
    }

    /// The caller, who must hold at least one of `permissions`: 401 when the token and
    /// user id do not belong together, 403 when no permission matches.
    pub async fn authorize(&self, state: &AppState, permissions: &[&str]) -> ApiResult<AuthUser> {
        let user = self.authenticate(state).await?;
        if user.holds_any(permissions) { Ok(user) } else { Err(ApiError::no_permission()) }
    }

    /// The caller, whatever its permissions.
    pub async fn authenticate(&self, state: &AppState) -> ApiResult<AuthUser> {
        state.store.authenticate(&self.user_id, &self.token_digest).await?.ok_or_else(ApiError::not_logged_in)
    }
}

/// A request body kept as bytes until the handler has checked permissions.
pub struct JsonBody {
    bytes: Bytes,
    is_json: bool,
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        let is_json = has_json_content_type(request.headers());
        let bytes = Bytes::from_request(request, state).await.map_err(body_rejection)?;
        Ok(Self { bytes, is_json })
    }
}

/// Whether the `Content-Type` is `application/json` or a `+json` type.
pub fn has_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
        })
}

pub fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::coded_with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "error-payload-too-large",
            "Request body is larger than 1 MiB",
        )
    } else {
        ApiError::coded("error-invalid-body", "Request body could not be read")
    }
}

impl JsonBody {
    /// The body as a JSON object. An empty body is an empty object, so missing fields
    /// are reported by name.
    pub fn object(&self) -> ApiResult<Map<String, Value>> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        if !self.is_json {
            return Err(ApiError::coded_with_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "error-unsupported-media-type",
                "Content-Type must be application/json",
            ));
        }
        match serde_json::from_slice::<Value>(&self.bytes) {
            Ok(Value::Object(object)) if object_has_nul(&object) => {
                Err(ApiError::invalid_params("strings must not contain NUL characters"))
            }
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(ApiError::invalid_params("must be object")),
            Err(error) => Err(ApiError::coded("error-invalid-json", format!("Body is not valid JSON: {error}"))),
        }
    }
}

/// The query string as name/value pairs, percent-decoded.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Self(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()))
    }
}

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every value of a repeated key.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// 400 `must NOT have additional properties` when a key is not in `allowed`.
    pub fn deny_unknown(&self, allowed: &[&str]) -> ApiResult<()> {
        if self.0.iter().all(|(key, _)| allowed.contains(&key.as_str())) {
            Ok(())
        } else {
            Err(ApiError::invalid_params("must NOT have additional properties"))
        }
    }

    pub fn required(&self, name: &str) -> ApiResult<&str> {
        self.get(name).ok_or_else(|| ApiError::invalid_params(format!("must have required property '{name}'")))
    }
}
