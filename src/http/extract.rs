//! Request extractors of the Rocket.Chat face, and the body reader both faces share.
//!
//! A handler states its permissions with a [`Caller`] argument placed before its
//! [`Query`] and [`Body`]: axum runs extractors in argument order, so 401 (no or bad
//! token), then 403 (no permission), then 400 (bad parameters) follow by construction,
//! as in Rocket.Chat. A body or query string is one `Deserialize + ToSchema` type,
//! checked against its own derived schema with ajv's wording ([`schema_check`]) and
//! then read into the type.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::OwnedSemaphorePermit;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::AppState;
use super::body::{self, MAX_BODY_BYTES, ReadBody, Unread};
use super::error::{ApiError, ApiResult};
use super::json_guard::{self, JsonGuard};
use super::schema_check::{Report, Violation, check, query_object, resolved_schema};
use crate::domain::ids::token_digest;
use crate::domain::page::Page;
use crate::store::AuthUser;

/// The most characters of an id, a token, a username, a name or an email address, in
/// a body, a query, a path or a header (the README's Security section lists every
/// class). Fields state it as `#[schema(max_length = 256)]`; paths and headers here.
pub const MAX_KEY_CHARS: usize = 256;

/// The schema of one id or name in a list (`roles`, `agents`), where no field attribute
/// reaches: `#[schema(value_type = Option<Vec<KeyText>>, inline)]`.
pub struct KeyText;

impl PartialSchema for KeyText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_KEY_CHARS)).into()
    }
}

impl ToSchema for KeyText {}

/// Whether the `Content-Type` is `application/json` or a `+json` type.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
        })
}

/// The permissions a route requires: the caller must hold at least one; an empty set
/// asks only that the caller be logged in. Declared with [`permission_set!`].
pub trait PermissionSet {
    const ANY_OF: &'static [&'static str];
}

/// Declares a [`PermissionSet`]: `permission_set!(ManageSla = [MANAGE_LIVECHAT_SLA]);`.
macro_rules! permission_set {
    ($(#[$doc:meta])* $name:ident = [$($permission:expr),* $(,)?]) => {
        $(#[$doc])*
        pub enum $name {}

        impl $crate::http::extract::PermissionSet for $name {
            const ANY_OF: &'static [&'static str] = &[$($permission),*];
        }
    };
}
pub(crate) use permission_set;

permission_set!(
    /// Any logged-in user.
    LoggedIn = []
);

/// The logged-in caller, holding one of `P`'s permissions: 401 when the token and user
/// id do not belong together, 403 when no permission matches.
pub struct Caller<P> {
    pub user: AuthUser,
    /// The digest of the token the caller sent (logout ends that session).
    pub token_digest: String,
    permissions: PhantomData<P>,
}

impl<P> Deref for Caller<P> {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl<P: PermissionSet> FromRequestParts<AppState> for Caller<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        // A value longer than any id or token belongs to nobody: no lookup is made.
        let header = |name: &str| {
            let value = parts.headers.get(name).and_then(|value| value.to_str().ok());
            value.filter(|value| !value.is_empty() && value.len() <= MAX_KEY_CHARS)
        };
        let (Some(user_id), Some(token)) = (header("x-user-id"), header("x-auth-token")) else {
            return Err(ApiError::not_logged_in());
        };
        let token_digest = token_digest(token);
        let user = state.store.authenticate(user_id, &token_digest).await?.ok_or_else(ApiError::not_logged_in)?;
        if !P::ANY_OF.is_empty() && !user.holds_any(P::ANY_OF) {
            return Err(ApiError::no_permission());
        }
        Ok(Self { user, token_digest, permissions: PhantomData })
    }
}

/// How a face refuses a body it cannot read as a JSON object.
pub trait BodyRefusal {
    /// Larger than the route's `limit` (413).
    fn too_large(limit: usize) -> Self;
    /// Not received within the body read timeout (408).
    fn late() -> Self;
    /// No room in the budget of bodies being read (503, with `Retry-After`).
    fn busy() -> Self;
    fn unreadable() -> Self;
    fn not_json() -> Self;
    fn malformed(error: &serde_json::Error) -> Self;
    fn not_an_object() -> Self;
    fn holds_nul() -> Self;
    /// Nested deeper, or holding more values, than [`json_guard`] allows.
    fn too_complex() -> Self;
}

/// A body read as a JSON object, with its room in the body budget: held until the
/// object has been read into its type.
pub struct JsonObject {
    pub object: Map<String, Value>,
    _reservation: Option<OwnedSemaphorePermit>,
}

/// Reads a request body of at most `limit` bytes as a JSON object, refusing in the face's
/// envelope `E`. An empty body is an empty object, so missing fields are reported by name.
pub async fn read_json_object<E: BodyRefusal>(request: Request, limit: usize) -> Result<JsonObject, E> {
    let is_json = has_json_content_type(request.headers());
    // A body that is not declared JSON is read whole, to be refused as such.
    let guard = is_json.then(JsonGuard::default);
    let ReadBody { bytes, reservation } = body::read(request, limit, guard).await.map_err(|unread| match unread {
        Unread::TooLarge => E::too_large(limit),
        Unread::Late => E::late(),
        Unread::Busy => E::busy(),
        Unread::Failed => E::unreadable(),
        Unread::TooComplex => E::too_complex(),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(JsonObject { object: Map::new(), _reservation: reservation });
    }
    if !is_json {
        return Err(E::not_json());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) if json_guard::object_has_nul(&object) => Err(E::holds_nul()),
        Ok(Value::Object(object)) => Ok(JsonObject { object, _reservation: reservation }),
        Ok(_) => Err(E::not_an_object()),
        Err(error) => Err(E::malformed(&error)),
    }
}

impl BodyRefusal for ApiError {
    fn too_large(limit: usize) -> Self {
        ApiError::coded_with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "error-payload-too-large",
            format!("Request body is larger than {}", body::size_name(limit)),
        )
    }

    fn late() -> Self {
        ApiError::coded_with_status(
            StatusCode::REQUEST_TIMEOUT,
            "error-request-timeout",
            "Request body was not received in time",
        )
    }

    fn busy() -> Self {
        ApiError::coded_with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            "error-server-busy",
            "Too many request bodies are being read, try again shortly",
        )
        .retry_after(1)
    }

    fn unreadable() -> Self {
        ApiError::coded("error-invalid-body", "Request body could not be read")
    }

    fn not_json() -> Self {
        ApiError::coded_with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "error-unsupported-media-type",
            "Content-Type must be application/json",
        )
    }

    fn malformed(error: &serde_json::Error) -> Self {
        ApiError::coded("error-invalid-json", format!("Body is not valid JSON: {error}"))
    }

    fn not_an_object() -> Self {
        ApiError::invalid_params("must be object")
    }

    fn holds_nul() -> Self {
        ApiError::invalid_params("strings must not contain NUL characters")
    }

    fn too_complex() -> Self {
        ApiError::coded(
            "error-body-too-complex",
            format!(
                "Request body nests deeper than {} levels or holds more than {} values",
                json_guard::MAX_DEPTH,
                json_guard::MAX_VALUES
            ),
        )
    }
}

/// A route whose Rocket.Chat answer to a bad body or query is not ajv's wording
/// (`The 'roomId' param is required`, Meteor's `Match error: ...`) words it here.
pub trait Wording {
    fn refusal(violation: &Violation) -> ApiError;
}

/// ajv's wording, `invalid-params`.
pub fn ajv_refusal(violation: &Violation) -> ApiError {
    ApiError::invalid_params(violation.ajv_message())
}

/// Checks `value` against `T`'s schema, then reads it into `T`.
pub(crate) fn checked<T: DeserializeOwned + ToSchema + 'static>(
    value: Value,
    refusal: fn(&Violation) -> ApiError,
) -> ApiResult<T> {
    if let Some(violation) = check(resolved_schema::<T>(), &value, Report::First).first() {
        return Err(refusal(violation));
    }
    serde_json::from_value(value).map_err(ApiError::invalid_params)
}

/// A JSON body of at most `LIMIT` bytes read into `T` after the checks of `T`'s schema,
/// in ajv's wording. A route with a body of a few fields says `Body<T, SMALL_BODY_BYTES>`
/// and documents its 413 with `RcSmallJsonBody`.
pub struct Body<T, const LIMIT: usize = MAX_BODY_BYTES>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + ToSchema + 'static, const LIMIT: usize> FromRequest<S> for Body<T, LIMIT> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> ApiResult<Self> {
        let body = read_json_object::<ApiError>(request, LIMIT).await?;
        checked(Value::Object(body.object), ajv_refusal).map(Self)
    }
}

/// [`Body`] refused in `T`'s own [`Wording`].
pub struct WordedBody<T, const LIMIT: usize = MAX_BODY_BYTES>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + ToSchema + Wording + 'static, const LIMIT: usize> FromRequest<S>
    for WordedBody<T, LIMIT>
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> ApiResult<Self> {
        let body = read_json_object::<ApiError>(request, LIMIT).await?;
        checked(Value::Object(body.object), T::refusal).map(Self)
    }
}

/// The query string read into `T` (which also derives `IntoParams` for the document):
/// text converted to the property types `T` declares, then checked as a body is.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + ToSchema + 'static> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        checked(query_value::<T>(parts), ajv_refusal).map(Self)
    }
}

/// [`Query`] refused in `T`'s own [`Wording`].
pub struct WordedQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + ToSchema + Wording + 'static> FromRequestParts<S> for WordedQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        checked(query_value::<T>(parts), T::refusal).map(Self)
    }
}

fn query_value<T: ToSchema + 'static>(parts: &Parts) -> Value {
    query_object(resolved_schema::<T>(), query_pairs(parts).collect())
}

/// The query string as percent-decoded name/value pairs.
fn query_pairs(parts: &Parts) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned()
}

/// The path's parameters read into `T`, as axum's `Path` reads them, after each is
/// checked against [`MAX_KEY_CHARS`] (`/token must NOT have more than 256
/// characters`), so no over-long id reaches the store. Like [`Query`], it is placed
/// after [`Caller`].
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let unreadable = |rejection: &dyn std::fmt::Display| ApiError::invalid_params(rejection.to_string());
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|error| unreadable(&error))?;
        if let Some((name, _)) = params.iter().find(|(_, value)| value.chars().count() > MAX_KEY_CHARS) {
            return Err(ajv_refusal(&Violation::TooLong { at: format!("/{name}"), limit: MAX_KEY_CHARS as u64 }));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await.map_err(|error| unreadable(&error))?;
        Ok(Self(value))
    }
}

/// `offset`, `count` and `sort` of a Rocket.Chat list route.
#[derive(Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items to skip; a negative number is refused in MongoDB's words, as Rocket.Chat
    /// passes them on.
    #[param(value_type = Option<i64>)]
    offset: Option<f64>,
    /// Items to return; absent or 0 means the configured default, a negative count its
    /// size, and more than the configured maximum is cut to it.
    #[param(value_type = Option<i64>)]
    count: Option<f64>,
    /// JSON of field to 1 or -1 in priority order, e.g. `{"name":1}`; the route's
    /// description lists its fields.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    sort: Option<String>,
}

const PAGE_KEYS: [&str; 3] = ["offset", "count", "sort"];

/// A list route's query string: the page and sort, and the route's own filter `F`
/// (an empty struct when it has none).
pub struct Paged<F> {
    pub page: Page,
    pub sort: Option<String>,
    pub filter: F,
}

impl<F: DeserializeOwned + ToSchema + 'static> FromRequestParts<AppState> for Paged<F> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let (paging, filter): (Vec<_>, Vec<_>) =
            query_pairs(parts).partition(|(key, _)| PAGE_KEYS.contains(&key.as_str()));
        let filter = checked(query_object(resolved_schema::<F>(), filter), ajv_refusal)?;
        let paging: PageParams = checked(query_object(resolved_schema::<PageParams>(), paging), ajv_refusal)?;
        let (offset, count) = (whole_number(paging.offset, "offset")?, whole_number(paging.count, "count")?);
        if let Some(offset) = offset.filter(|offset| *offset < 0) {
            return Err(ApiError::bad_request(format!(
                "BSON field 'skip' value must be >= 0, actual value '{offset}'"
            )));
        }
        let page = Page::new(offset, count, state.page_limits());
        Ok(Self { page, sort: paging.sort, filter })
    }
}

/// A page number, which the schema types as a number (ajv's `must be number`): refused
/// in that wording unless it is whole, as `1.5` is.
pub fn whole_number(number: Option<f64>, name: &str) -> ApiResult<Option<i64>> {
    match number {
        Some(number) if number.fract() != 0.0 || number.abs() >= i64::MAX as f64 => {
            Err(ApiError::invalid_params(format!("/{name} must be number")))
        }
        number => Ok(number.map(|number| number as i64)),
    }
}

/// The filter of a list route that has none.
#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}
