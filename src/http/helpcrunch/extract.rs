//! HelpCrunch request extractors: the authenticated API key, JSON bodies and query
//! strings, each rejecting in HelpCrunch's envelope.
//!
//! A body or query string is one `Deserialize + ToSchema` type ([`HcRequest`]), read
//! with [`HcBody`] or [`HcQuery`]. Like HelpCrunch, the reading names every bad field
//! at once, in the order of the type's fields, once each:
//! 1. the type's schema finds the values of the wrong JSON type, the missing ones and
//!    those out of range or outside a list, worded as HelpCrunch words them;
//! 2. what the schema refused is taken out, and the rest is read into the type, whose
//!    field types (`fields.rs`) refuse what no schema states (an id that is text but
//!    not a number), with their own message;
//! 3. [`HcRequest::problems`] adds the rules between fields.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;
use utoipa::ToSchema;

use super::error::{ErrorEntry, HelpCrunchError, HelpCrunchResult};
use super::fields::{BLANK, MISSING, NOT_NUMERIC, NOT_VALID, range_message};
use crate::http::MAX_BODY_BYTES;
use crate::http::body::size_name;
use crate::http::extract::{BodyRefusal, read_json_object};
use crate::http::schema_check::{Report, Violation, check, query_object, resolved_schema};
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

/// A body or query string of the HelpCrunch face.
pub trait HcRequest: DeserializeOwned + ToSchema + 'static {
    /// What no field's type sees alone: the rules between fields. None by default.
    /// Asked only of a request that could be read, which a missing required field
    /// prevents: such a request is refused for that field alone.
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}

/// The condition of each entry of a search's `filter`, or the problems of the bad ones,
/// each at `filter[N].<part>` (the part `condition` names: `field`, `operator`, ...).
pub fn filter_conditions<'a, E: 'a, C>(
    entries: impl IntoIterator<Item = &'a E>,
    condition: impl Fn(&E) -> Result<C, Vec<(&'static str, String)>>,
) -> Result<Vec<C>, Vec<Problem>> {
    let mut conditions = Vec::new();
    let mut problems = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        match condition(entry) {
            Ok(condition) => conditions.push(condition),
            Err(parts) => problems.extend(
                parts.into_iter().map(|(part, message)| Problem::new(&["filter", &index.to_string(), part], message)),
            ),
        }
    }
    if problems.is_empty() { Ok(conditions) } else { Err(problems) }
}

/// A bad part of a request: where (`["filter", "0", "field"]`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub location: Vec<String>,
    pub message: String,
}

impl Problem {
    pub fn new(location: &[&str], message: impl Into<String>) -> Self {
        Self { location: location.iter().map(|part| (*part).to_owned()).collect(), message: message.into() }
    }

    /// Whether `self` and a problem at `location` are about the same place: one
    /// contains the other.
    fn overlaps(&self, location: &[String]) -> bool {
        self.location.starts_with(location) || location.starts_with(&self.location)
    }

    /// HelpCrunch's name of the place: `filter[0].field`.
    fn code(&self) -> String {
        let mut code = String::new();
        for part in &self.location {
            match part.parse::<usize>() {
                Ok(index) => code.push_str(&format!("[{index}]")),
                Err(_) if code.is_empty() => code.push_str(part),
                Err(_) => code.push_str(&format!(".{part}")),
            }
        }
        code
    }
}

/// A JSON body of at most `LIMIT` bytes read into `T`, or 400 naming every bad field.
/// A route with a body of a few fields says `HcBody<T, SMALL_BODY_BYTES>` and documents
/// its 413 with `HcSmallJsonBody`.
pub struct HcBody<T, const LIMIT: usize = MAX_BODY_BYTES>(pub T);

impl<S: Send + Sync, T: HcRequest, const LIMIT: usize> FromRequest<S> for HcBody<T, LIMIT> {
    type Rejection = HelpCrunchError;

    async fn from_request(request: Request, _: &S) -> HelpCrunchResult<Self> {
        let body = read_json_object::<HelpCrunchError>(request, LIMIT).await?;
        read(Value::Object(body.object)).map(Self)
    }
}

/// The query string read into `T` (which also derives `IntoParams` for the document),
/// or 400 naming every bad parameter. A repeated key counts once, with its first value.
pub struct HcQuery<T>(pub T);

impl<S: Send + Sync, T: HcRequest> FromRequestParts<S> for HcQuery<T> {
    type Rejection = HelpCrunchError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> HelpCrunchResult<Self> {
        let pairs = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
        read(query_object(resolved_schema::<T>(), pairs)).map(Self)
    }
}

/// Reads `value` into `T`, or names every problem of it (see the module's description).
fn read<T: HcRequest>(value: Value) -> HelpCrunchResult<T> {
    let schema = resolved_schema::<T>();
    let mut problems: Vec<Problem> = Vec::new();
    let mut readable = value.clone();
    for violation in check(schema, &value, Report::All) {
        let location = violation.location();
        if !problems.iter().any(|problem| problem.overlaps(&location)) {
            problems.push(Problem { message: wording(schema, &value, &violation), location: location.clone() });
        }
        take_out(&mut readable, &location);
    }
    let read = loop {
        match serde_path_to_error::deserialize::<_, T>(readable.clone()) {
            Ok(read) => break Some(read),
            Err(error) => {
                let location = path_location(error.path());
                // A missing field, or a value the schema refused, is already named.
                if !problems.iter().any(|problem| problem.overlaps(&location)) {
                    problems.push(Problem { location: location.clone(), message: error.into_inner().to_string() });
                }
                if !take_out(&mut readable, &location) {
                    break None;
                }
            }
        }
    };
    for problem in read.iter().flat_map(T::problems) {
        if !problems.iter().any(|found| found.overlaps(&problem.location)) {
            problems.push(problem);
        }
    }
    match read {
        Some(read) if problems.is_empty() => Ok(read),
        _ => {
            problems.sort_by_cached_key(|problem| field_order(schema, &problem.location));
            Err(HelpCrunchError::invalid_fields(
                problems.iter().map(|problem| ErrorEntry::new(problem.code(), &problem.message)),
            ))
        }
    }
}

/// A serde path as a location: `filter[1].value` is `["filter", "1", "value"]`.
fn path_location(path: &serde_path_to_error::Path) -> Vec<String> {
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } | Segment::Enum { variant: key } => key.clone(),
            Segment::Unknown => "?".to_owned(),
        })
        .collect()
}

/// Takes the value at `location` out of `value` so that the rest can be read: a
/// property is removed, an array item becomes `{}` (so later items keep their place).
/// False when there was nothing to take out.
fn take_out(value: &mut Value, location: &[String]) -> bool {
    let Some((last, parent)) = location.split_last() else { return false };
    let parent = parent.iter().try_fold(value, |value, part| match value {
        Value::Object(object) => object.get_mut(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|index| items.get_mut(index)),
        _ => None,
    });
    match parent {
        Some(Value::Object(object)) => object.remove(last).is_some(),
        Some(Value::Array(items)) => match last.parse::<usize>().ok().and_then(|index| items.get_mut(index)) {
            Some(item) if *item != Value::Object(Map::new()) => {
                *item = Value::Object(Map::new());
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// The value at `location`, if there is one.
fn value_at<'a>(value: &'a Value, location: &[String]) -> Option<&'a Value> {
    location.iter().try_fold(value, |value, part| match value {
        Value::Object(object) => object.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|index| items.get(index)),
        _ => None,
    })
}

/// A schema without its `null` alternative (`Option<T>` derives `oneOf: [null, T]`).
fn without_null(schema: &Value) -> &Value {
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array);
    branches.and_then(|branches| branches.iter().find(|branch| !is_null_type(branch))).unwrap_or(schema)
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// Whether a schema takes `null`.
fn allows_null(schema: &Value) -> bool {
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array);
    let types = schema.get("type").and_then(Value::as_array);
    is_null_type(schema)
        || branches.is_some_and(|branches| branches.iter().any(is_null_type))
        || types.is_some_and(|types| types.iter().any(|name| name == "null"))
}

/// The schema of the value at `location`, and each step's position among its
/// siblings: a property's place in its object, an item's index.
fn schema_at<'a>(schema: &'a Value, location: &[String]) -> (Option<&'a Value>, Vec<usize>) {
    let mut order = Vec::new();
    let mut current = Some(schema);
    for part in location {
        let here = current.map(without_null);
        let properties = here.and_then(|here| here.get("properties")).and_then(Value::as_object);
        current = match (properties, part.parse::<usize>()) {
            (Some(properties), _) => {
                order.push(properties.keys().position(|name| name == part).unwrap_or(usize::MAX));
                properties.get(part)
            }
            (None, Ok(index)) => {
                order.push(index);
                here.and_then(|here| here.get("items"))
            }
            (None, Err(_)) => {
                order.push(usize::MAX);
                None
            }
        };
    }
    (current, order)
}

/// Where a problem sorts: by the place of each step of its location in the type.
fn field_order(schema: &Value, location: &[String]) -> Vec<usize> {
    schema_at(schema, location).1
}

/// HelpCrunch's words for what the schema found at the place of `violation`.
fn wording(schema: &Value, value: &Value, violation: &Violation) -> String {
    let location = violation.location();
    let place = schema_at(schema, &location).0.unwrap_or(&Value::Null);
    let parent = location.split_last().map_or(&[][..], |(_, parent)| parent);
    let is_property = value_at(value, parent).is_some_and(Value::is_object);
    let is_null = value_at(value, &location).is_some_and(Value::is_null);
    let bound = |name: &str| without_null(place).get(name).and_then(Value::as_i64);
    match violation {
        // A required field that may be null is "missing"; one that may not is "blank".
        Violation::Missing { .. } if allows_null(place) => MISSING.to_owned(),
        Violation::Missing { .. } => BLANK.to_owned(),
        _ if is_property && is_null => BLANK.to_owned(),
        Violation::TooShort { .. } => BLANK.to_owned(),
        Violation::NotAllowed { .. } => NOT_VALID.to_owned(),
        Violation::WrongType { expected: "integer" | "number", .. } => NOT_NUMERIC.to_owned(),
        Violation::WrongType { expected, .. } => format!("This value should be of type {expected}."),
        Violation::TooManyItems { limit, .. } => format!("This collection should contain {limit} elements or less."),
        Violation::TooFewItems { limit, .. } => format!("This collection should contain {limit} elements or more."),
        // An integer beyond 64 bits is no number this server reads, whatever its bounds.
        Violation::TooSmall { .. } | Violation::TooLarge { .. }
            if value_at(value, &location).and_then(Value::as_i64).is_none() =>
        {
            NOT_NUMERIC.to_owned()
        }
        Violation::TooSmall { .. } | Violation::TooLarge { .. } => range_message(bound("minimum"), bound("maximum")),
        Violation::TooLong { limit, .. } => {
            format!("This value is too long. It should have {limit} characters or less.")
        }
        Violation::Unknown { .. } => "This field was not expected.".to_owned(),
    }
}

impl BodyRefusal for HelpCrunchError {
    fn too_large(limit: usize) -> Self {
        HelpCrunchError::payload_too_large(&size_name(limit))
    }

    fn late() -> Self {
        HelpCrunchError::body_late()
    }

    fn busy() -> Self {
        HelpCrunchError::busy()
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
    use axum::http::StatusCode;
    use axum::http::header::CONTENT_TYPE;
    use axum::routing::{get, post};
    use serde::Deserialize;
    use serde_json::json;
    use tower::ServiceExt;

    use super::super::fields::{ChatId, ChatLimit, NumericId};
    use super::*;

    /// A request with each kind of field: required, required but nullable, optional,
    /// and a list of objects with a rule between their fields.
    #[derive(Deserialize, ToSchema)]
    #[allow(dead_code)]
    struct Probe {
        id: ChatId,
        #[schema(required = true)]
        owner: Option<NumericId>,
        limit: Option<ChatLimit>,
        #[schema(max_items = 2)]
        pairs: Option<Vec<Pair>>,
    }

    #[derive(Deserialize, ToSchema)]
    #[allow(dead_code)]
    struct Pair {
        low: Option<i64>,
        high: Option<i64>,
    }

    impl HcRequest for Probe {
        fn problems(&self) -> Vec<Problem> {
            let pairs = self.pairs.iter().flatten().enumerate();
            pairs
                .filter(|(_, pair)| pair.low > pair.high)
                .map(|(index, _)| Problem::new(&["pairs", &index.to_string(), "high"], "This value is too low."))
                .collect()
        }
    }

    async fn answer(app: Router, request: axum::http::request::Builder, body: impl Into<Body>) -> (StatusCode, Value) {
        let response = app.oneshot(request.body(body.into()).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn posted(content_type: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        let echo = |HcBody(probe): HcBody<Probe, 256>| async move { axum::Json(json!({"id": probe.id.0})) };
        let app = Router::new().route("/echo", post(echo));
        let mut request = Request::post("/echo");
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        answer(app, request, body).await
    }

    fn invalid(status: StatusCode, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let entries = std::iter::once(("invalid_request", "Invalid request")).chain(fields.iter().copied());
        let errors: Vec<Value> = entries.map(|(code, message)| json!({"code": code, "message": message})).collect();
        (status, json!({ "errors": errors }))
    }

    #[tokio::test]
    async fn good_bodies_are_read_into_the_type() {
        assert_eq!(
            posted(Some("application/json"), r#"{"id":"7","owner":null}"#).await,
            (StatusCode::OK, json!({"id": 7}))
        );
    }

    #[tokio::test]
    async fn every_bad_field_is_named_once_in_field_order() {
        let body = json!({
            "pairs": [{"low": 2, "high": 1}, 5, {"low": "x"}],
            "limit": "many",
            "id": "abc",
        });
        assert_eq!(
            posted(Some("application/json"), body.to_string()).await,
            invalid(
                StatusCode::BAD_REQUEST,
                &[
                    ("id", "This value should be of type numeric."),
                    ("owner", "This field is missing."),
                    ("limit", "This value should be of type numeric."),
                    ("pairs", "This collection should contain 2 elements or less."),
                ]
            )
        );
        let body = json!({"id": 1, "owner": "x", "limit": 0, "pairs": [{"low": 2, "high": 1}, 5]});
        assert_eq!(
            posted(Some("application/json"), body.to_string()).await,
            invalid(
                StatusCode::BAD_REQUEST,
                &[
                    ("owner", "This value should be of type numeric."),
                    ("limit", "This value should be between 1 and 100."),
                    ("pairs[0].high", "This value is too low."),
                    ("pairs[1]", "This value should be of type object."),
                ]
            )
        );
        assert_eq!(
            posted(Some("application/json"), r#"{"id":null,"owner":null}"#).await,
            invalid(StatusCode::BAD_REQUEST, &[("id", "This value should not be blank.")])
        );
        assert_eq!(
            posted(None, "").await,
            invalid(
                StatusCode::BAD_REQUEST,
                &[("id", "This value should not be blank."), ("owner", "This field is missing.")]
            )
        );
    }

    #[tokio::test]
    async fn query_strings_are_read_like_bodies() {
        #[derive(Deserialize, ToSchema)]
        struct Paging {
            limit: Option<ChatLimit>,
        }
        impl HcRequest for Paging {}
        let app = Router::new().route(
            "/list",
            get(|HcQuery(paging): HcQuery<Paging>| async move { axum::Json(json!(paging.limit.map(|limit| limit.0))) }),
        );
        assert_eq!(answer(app.clone(), Request::get("/list?limit=5&other=x"), "").await, (StatusCode::OK, json!(5)));
        assert_eq!(
            answer(app, Request::get("/list?limit=0"), "").await,
            invalid(StatusCode::BAD_REQUEST, &[("limit", "This value should be between 1 and 100.")])
        );
    }

    #[tokio::test]
    async fn malformed_bodies_answer_in_the_helpcrunch_envelope() {
        assert_eq!(
            posted(Some("application/json"), "{\"id\":").await,
            invalid(StatusCode::BAD_REQUEST, &[("body", "This value should be valid JSON.")])
        );
        assert_eq!(
            posted(Some("application/json"), "[1]").await,
            invalid(StatusCode::BAD_REQUEST, &[("body", "This value should be of type object.")])
        );
        assert_eq!(
            posted(Some("text/plain"), "{}").await,
            invalid(StatusCode::UNSUPPORTED_MEDIA_TYPE, &[("content_type", "Content-Type must be application/json")])
        );
        assert_eq!(
            posted(Some("application/json"), format!(r#"{{"text":"{}"}}"#, "x".repeat(256))).await,
            invalid(StatusCode::PAYLOAD_TOO_LARGE, &[("body", "Request body is larger than 256 bytes")])
        );
    }
}
