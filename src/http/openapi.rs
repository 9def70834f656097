//! The OpenAPI 3.1 document. Each handler carries its own `#[utoipa::path]`, and each
//! `router()` registers handlers with `OpenApiRouter::routes(routes!(..))`, which adds
//! the route to the router and the operation to the document in one step: a route
//! cannot be served undocumented, nor documented unserved.
//!
//! Requests and answers are types that derive `ToSchema` next to their handlers (see
//! `src/http/extract.rs`), so the document is generated from the same types the
//! server reads and writes; the envelopes every route shares are the response
//! components declared here, from the error types of the two faces.
//!
//! A new route: write its body, query and answer as structs, put
//! `#[utoipa::path(method, path = "..", tag = "..", security(..), params(..),
//! request_body = .., responses((status = 200, body = ..), RcPermitted, RcJsonBody, ..))]`
//! on the handler, register it with `.routes(routes!(handler))`, and add it to the
//! expected routes of tests/api/openapi.rs. Every answer the tests receive is checked
//! against the document, so a status or field the annotation misses fails a test.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use serde_json::Value;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder, response::Response};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToResponse, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::RcErrorBody;
use super::helpcrunch::error::HelpCrunchErrors;

/// Declares a response component: a JSON body of the type `$body`, and the integer
/// headers it carries, if any.
macro_rules! response_component {
    (
        $(#[$doc:meta])* $name:ident, $description:expr, $body:ty
        $(, headers { $($header:literal => $header_description:literal),+ $(,)? })? $(,)?
    ) => {
        $(#[$doc])*
        pub enum $name {}

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let content = Content::new(Some(<$body as PartialSchema>::schema()));
                let response = ResponseBuilder::new().description($description).content("application/json", content);
                $($(let response = response.header($header, integer_header($header_description));)+)?
                (stringify!($name), response.into())
            }
        }
    };
}

fn integer_header(description: &str) -> Header {
    HeaderBuilder::new().schema(Object::with_type(Type::Integer)).description(Some(description)).build()
}

response_component!(
    /// 400 of Rocket.Chat: `error` says what was wrong; validation failures add `errorType`.
    RcBadRequest,
    "The parameters or the body are invalid, or the action is refused",
    RcErrorBody
);
response_component!(RcNotLoggedIn, "X-User-Id and X-Auth-Token are missing or do not belong together", RcErrorBody);
response_component!(RcForbidden, "The user lacks the permission, or may not act on this object", RcErrorBody);
response_component!(RcNotFound, "Not found", RcErrorBody);
response_component!(RcPayloadTooLarge, "The body is larger than 1 MiB", RcErrorBody);
response_component!(RcSmallPayloadTooLarge, "The body is larger than 8 KiB, this route's limit", RcErrorBody);
response_component!(RcUnsupportedMediaType, "The body is not application/json", RcErrorBody);
response_component!(
    RcRequestTimeout,
    "The body did not arrive within LIVECHAT_BODY_READ_TIMEOUT_SECS; the connection is closed",
    RcErrorBody
);
response_component!(
    RcUnavailable,
    "The database does not answer in time, the server is at its connection limit, or (with Retry-After) too many request bodies are being read",
    RcErrorBody
);
response_component!(
    RcLoginUnavailable,
    "The database does not answer, or too many password checks are waiting (then with Retry-After)",
    RcErrorBody,
    headers { "Retry-After" => "Seconds to wait before trying again, when the password checks are full" },
);
response_component!(HcBadRequest, "The request is invalid", HelpCrunchErrors);
response_component!(HcUnauthorized, "The bearer API key is missing, unknown or revoked", HelpCrunchErrors);
response_component!(HcNotFound, "Not found", HelpCrunchErrors);
response_component!(
    HcConflict,
    "The chat kept changing while it was being updated; the request may be tried again",
    HelpCrunchErrors
);
response_component!(HcPayloadTooLarge, "The body is larger than 1 MiB", HelpCrunchErrors);
response_component!(HcSmallPayloadTooLarge, "The body is larger than 8 KiB, this route's limit", HelpCrunchErrors);
response_component!(HcUnsupportedMediaType, "The body is not application/json", HelpCrunchErrors);
response_component!(
    HcRequestTimeout,
    "The body did not arrive within LIVECHAT_BODY_READ_TIMEOUT_SECS; the connection is closed",
    HelpCrunchErrors
);
response_component!(
    HcTooManyRequests,
    "The API key used up its requests for this minute",
    HelpCrunchErrors,
    headers {
        "Retry-After" => "Seconds until the next minute",
        "X-RateLimit-Limit" => "Requests allowed per minute",
        "X-RateLimit-Remaining" => "Requests left this minute: 0",
        "X-RateLimit-Reset" => "When the minute ends, in UNIX seconds",
    },
);
response_component!(
    HcUnavailable,
    "The database does not answer in time, the server is at its connection limit, or (with Retry-After) too many request bodies are being read",
    HelpCrunchErrors
);

/// Declares a set of responses a route can answer besides its own, by reference to
/// the response components.
macro_rules! response_set {
    ($(#[$doc:meta])* $name:ident { $($status:literal => $response:ty),+ $(,)? }) => {
        $(#[$doc])*
        pub enum $name {}

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$(
                    ($status.to_string(), Ref::from_response_name(<$response as ToResponse>::response().0).into()),
                )+])
            }
        }
    };
}

response_set!(
    /// Any route that checks X-User-Id and X-Auth-Token.
    RcSignedIn {
        "401" => RcNotLoggedIn,
        "503" => RcUnavailable,
    }
);
response_set!(
    /// Any route that checks X-User-Id and X-Auth-Token and a permission, or whether
    /// the user may act on the object.
    RcPermitted {
        "401" => RcNotLoggedIn,
        "403" => RcForbidden,
        "503" => RcUnavailable,
    }
);
response_set!(
    /// Any Rocket.Chat route that reads a JSON body of up to 1 MiB.
    RcJsonBody {
        "400" => RcBadRequest,
        "408" => RcRequestTimeout,
        "413" => RcPayloadTooLarge,
        "415" => RcUnsupportedMediaType,
        "503" => RcUnavailable,
    }
);
response_set!(
    /// A Rocket.Chat route that reads a body of up to 8 KiB (`Body<T, SMALL_BODY_BYTES>`).
    RcSmallJsonBody {
        "400" => RcBadRequest,
        "408" => RcRequestTimeout,
        "413" => RcSmallPayloadTooLarge,
        "415" => RcUnsupportedMediaType,
        "503" => RcUnavailable,
    }
);
response_set!(
    /// Any /v1 route that reads a JSON body of up to 1 MiB.
    HcJsonBody {
        "400" => HcBadRequest,
        "408" => HcRequestTimeout,
        "413" => HcPayloadTooLarge,
        "415" => HcUnsupportedMediaType,
        "503" => HcUnavailable,
    }
);
response_set!(
    /// A /v1 route that reads a body of up to 8 KiB (`HcBody<T, SMALL_BODY_BYTES>`).
    HcSmallJsonBody {
        "400" => HcBadRequest,
        "408" => HcRequestTimeout,
        "413" => HcSmallPayloadTooLarge,
        "415" => HcUnsupportedMediaType,
        "503" => HcUnavailable,
    }
);
response_set!(
    /// Every /v1 route: the API key and the rate limit are checked before the handler.
    HcKeyed {
        "401" => HcUnauthorized,
        "429" => HcTooManyRequests,
        "503" => HcUnavailable,
    }
);

/// The parts of the document no handler states: metadata, the security schemes and
/// the shared response components.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "livechat-server",
        description = "A Rocket.Chat-compatible livechat API (/api) and a HelpCrunch-compatible API (/v1)."
    ),
    modifiers(&SecuritySchemes),
    components(responses(
        RcBadRequest,
        RcNotLoggedIn,
        RcForbidden,
        RcNotFound,
        RcRequestTimeout,
        RcPayloadTooLarge,
        RcSmallPayloadTooLarge,
        RcUnsupportedMediaType,
        RcUnavailable,
        RcLoginUnavailable,
        HcBadRequest,
        HcUnauthorized,
        HcNotFound,
        HcConflict,
        HcRequestTimeout,
        HcPayloadTooLarge,
        HcSmallPayloadTooLarge,
        HcUnsupportedMediaType,
        HcTooManyRequests,
        HcUnavailable,
    ))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, description)))
        };
        components.add_security_scheme("userId", header("X-User-Id", "The user id login answered with"));
        components.add_security_scheme("authToken", header("X-Auth-Token", "The token login answered with"));
        components.add_security_scheme(
            "bearerApiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key issued at /api/v1/livechat/api-keys"))
                    .build(),
            ),
        );
    }
}

/// Handlers of different resources share names (`list`, `one`), and utoipa names an
/// operation after its handler; ids are made from the method and the path instead,
/// which are unique: `get_api_v1_livechat_department_id`.
pub fn name_operations(document: &mut utoipa::openapi::OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                let words = path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty());
                operation.operation_id = Some(std::iter::once(method).chain(words).collect::<Vec<_>>().join("_"));
            }
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json)).routes(routes!(docs_page))
}

/// The document, serialized once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&super::openapi_document()).expect("the document serializes"));

/// The outline of an OpenAPI document, for its own operation.
#[derive(ToSchema)]
#[allow(dead_code)]
struct OpenApiDocument {
    openapi: String,
    info: Value,
    paths: Value,
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "documentation",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server", body = OpenApiDocument)))]
async fn openapi_json() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

/// The document rendered for a person, with no resources from elsewhere.
#[utoipa::path(get, path = "/api/docs", tag = "documentation",
    responses((status = 200, description = "An HTML page that renders /api/openapi.json", content_type = "text/html", body = String)))]
async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `node`, with where it was found.
    fn references<'a>(node: &'a Value, found: &mut Vec<&'a str>) {
        match node {
            Value::Object(object) => {
                if let Some(Value::String(reference)) = object.get("$ref") {
                    found.push(reference);
                }
                object.values().for_each(|value| references(value, found));
            }
            Value::Array(items) => items.iter().for_each(|item| references(item, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_of_the_document_resolves() {
        let document: Value = serde_json::from_str(&DOCUMENT).unwrap();
        let mut found = Vec::new();
        references(&document, &mut found);
        assert!(!found.is_empty());
        for reference in found {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference} is not local"));
            assert!(document.pointer(pointer).is_some(), "{reference} does not resolve");
        }
    }
}
