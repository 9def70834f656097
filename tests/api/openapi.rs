//! The OpenAPI document at /api/openapi.json and the page at /api/docs: the document
//! lists exactly the routes the router serves, and every answer of every test in this
//! binary conforms to it (see [`assert_documented`], called on each answer).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{both_backends, send};

/// Every route of both faces. A route added to the router must be added here, and
/// documented, or `the_document_lists_exactly_the_expected_routes` fails.
const EXPECTED_ROUTES: [(&str, &str); 149] = [
    ("get", "/health"),
    ("get", "/health/live"),
    ("get", "/api/info"),
    ("get", "/api/openapi.json"),
    ("get", "/api/docs"),
    ("post", "/api/v1/login"),
    ("post", "/api/v1/logout"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/livechat/api-keys"),
    ("post", "/api/v1/livechat/api-keys"),
    ("delete", "/api/v1/livechat/api-keys/{name}"),
    ("post", "/api/v1/users.create"),
    ("post", "/api/v1/users.generatePersonalAccessToken"),
    ("post", "/api/v1/users.removePersonalAccessToken"),
    ("get", "/api/v1/permissions.listAll"),
    ("post", "/api/v1/permissions.update"),
    ("get", "/api/v1/livechat/users/{kind}"),
    ("post", "/api/v1/livechat/users/{kind}"),
    ("get", "/api/v1/livechat/users/{kind}/{id}"),
    ("delete", "/api/v1/livechat/users/{kind}/{id}"),
    ("post", "/api/v1/livechat/agent.status"),
    ("get", "/api/v1/livechat/department"),
    ("post", "/api/v1/livechat/department"),
    ("get", "/api/v1/livechat/department/{id}"),
    ("put", "/api/v1/livechat/department/{id}"),
    ("delete", "/api/v1/livechat/department/{id}"),
    ("get", "/api/v1/livechat/department/{id}/agents"),
    ("post", "/api/v1/livechat/department/{id}/agents"),
    ("post", "/api/v1/livechat/department/{id}/archive"),
    ("post", "/api/v1/livechat/department/{id}/unarchive"),
    ("get", "/api/v1/livechat/departments/archived"),
    ("get", "/api/v1/livechat/department.autocomplete"),
    ("get", "/api/v1/livechat/department.listByIds"),
    ("get", "/api/v1/livechat/agents/{agentId}/departments"),
    ("post", "/api/v1/livechat/visitor"),
    ("post", "/api/v1/omnichannel/contact"),
    ("get", "/api/v1/omnichannel/contact"),
    ("get", "/api/v1/omnichannel/contact.search"),
    ("post", "/api/v1/omnichannel/contacts"),
    ("post", "/api/v1/omnichannel/contacts.update"),
    ("get", "/api/v1/omnichannel/contacts.get"),
    ("get", "/api/v1/omnichannel/contacts.search"),
    ("get", "/api/v1/omnichannel/contacts.checkExistence"),
    ("get", "/api/v1/omnichannel/contacts.history"),
    ("get", "/api/v1/omnichannel/contacts.channels"),
    ("post", "/api/v1/omnichannel/contacts.delete"),
    ("post", "/api/v1/omnichannel/contacts.block"),
    ("post", "/api/v1/omnichannel/contacts.unblock"),
    ("post", "/api/v1/omnichannel/contacts.conflicts"),
    ("get", "/api/v1/livechat/visitor/{token}"),
    ("delete", "/api/v1/livechat/visitor/{token}"),
    ("get", "/api/v1/livechat/visitors.info"),
    ("get", "/api/v1/livechat/visitors.search"),
    ("get", "/api/v1/livechat/visitors.autocomplete"),
    ("get", "/api/v1/livechat/visitors.pagesVisited/{roomId}"),
    ("get", "/api/v1/livechat/visitors.chatHistory/room/{roomId}/visitor/{visitorId}"),
    ("get", "/api/v1/livechat/visitors.searchChats/room/{roomId}/visitor/{visitorId}"),
    ("get", "/api/v1/livechat/room"),
    ("post", "/api/v1/livechat/message"),
    ("get", "/api/v1/livechat/messages.history/{rid}"),
    ("post", "/api/v1/livechat/room.close"),
    ("get", "/api/v1/livechat/message/{_id}"),
    ("put", "/api/v1/livechat/message/{_id}"),
    ("delete", "/api/v1/livechat/message/{_id}"),
    ("post", "/api/v1/livechat/messages"),
    ("post", "/api/v1/chat.sendMessage"),
    ("post", "/api/v1/chat.update"),
    ("post", "/api/v1/chat.delete"),
    ("get", "/api/v1/chat.getMessage"),
    ("get", "/api/v1/chat.syncMessages"),
    ("get", "/api/v1/livechat/inquiries.list"),
    ("get", "/api/v1/livechat/inquiries.getOne"),
    ("put", "/api/v1/livechat/inquiry.setSLA"),
    ("post", "/api/v1/livechat/inquiries.take"),
    ("get", "/api/v1/livechat/inquiries.queuedForUser"),
    ("post", "/api/v1/livechat/inquiries.returnAsInquiry"),
    ("post", "/api/v1/livechat/room.closeByUser"),
    ("post", "/api/v1/livechat/room.forward"),
    ("get", "/api/v1/livechat/transfer.history/{rid}"),
    ("get", "/api/v1/livechat/room.join"),
    ("post", "/api/v1/livechat/room.saveInfo"),
    ("post", "/api/v1/livechat/room.survey"),
    ("get", "/api/v1/livechat/rooms/filters"),
    ("get", "/api/v1/rooms.info"),
    ("get", "/api/v1/rooms.get"),
    ("get", "/api/v1/subscriptions.getOne"),
    ("get", "/api/v1/channels.info"),
    ("get", "/api/v1/groups.info"),
    ("get", "/api/v1/chat.search"),
    ("get", "/api/v1/livechat/{rid}/messages"),
    ("post", "/api/v1/livechat/transcript"),
    ("post", "/api/v1/livechat/transcript/{rid}"),
    ("delete", "/api/v1/livechat/transcript/{rid}"),
    ("post", "/api/v1/livechat/room.onHold"),
    ("post", "/api/v1/livechat/room.resumeOnHold"),
    ("get", "/api/v1/livechat/rooms"),
    ("get", "/api/v1/livechat/sla"),
    ("post", "/api/v1/livechat/sla"),
    ("get", "/api/v1/livechat/sla/{sla_id}"),
    ("put", "/api/v1/livechat/sla/{sla_id}"),
    ("delete", "/api/v1/livechat/sla/{sla_id}"),
    ("get", "/api/v1/livechat/priorities"),
    ("get", "/api/v1/livechat/priorities/{priority_id}"),
    ("put", "/api/v1/livechat/priorities/{priority_id}"),
    ("get", "/api/v1/livechat/priorities.reset"),
    ("post", "/api/v1/livechat/priorities.reset"),
    ("put", "/api/v1/livechat/inquiry.prioritize"),
    ("get", "/api/v1/livechat/sla.breaches"),
    ("get", "/api/v1/livechat/sla.stats"),
    ("get", "/api/v1/settings.public"),
    ("get", "/api/v1/settings"),
    ("get", "/api/v1/settings/{_id}"),
    ("post", "/api/v1/settings/{_id}"),
    ("post", "/api/v1/livechat/page.visited"),
    ("get", "/api/v1/livechat/agent.info/{rid}/{token}"),
    ("post", "/api/v1/livechat/visitor.status"),
    ("post", "/api/v1/livechat/custom.field"),
    ("post", "/api/v1/livechat/custom.fields"),
    ("get", "/api/v1/livechat/config"),
    ("post", "/api/v1/livechat/offline.message"),
    ("get", "/api/v1/livechat/custom-fields"),
    ("get", "/api/v1/livechat/custom-fields/{_id}"),
    ("post", "/api/v1/livechat/custom-fields.save"),
    ("post", "/api/v1/livechat/custom-fields.delete"),
    ("post", "/api/v1/livechat/agents.saveInfo"),
    ("get", "/api/v1/livechat/queue"),
    ("get", "/api/v1/livechat/agent.next/{token}"),
    ("get", "/api/v1/livechat/queue.position"),
    ("get", "/api/v1/roles.list"),
    ("get", "/api/v1/users.info"),
    ("get", "/avatar/{username}"),
    ("post", "/api/v1/livechat/upload/{rid}"),
    ("post", "/api/v1/rooms.media/{rid}"),
    ("post", "/api/v1/rooms.mediaConfirm/{rid}/{fileId}"),
    ("get", "/file-upload/{id}/{name}"),
    ("get", "/v1/departments"),
    ("get", "/v1/chats"),
    ("post", "/api/v1/method.call/{method}"),
    ("post", "/api/v1/method.callAnon/{method}"),
    ("get", "/v1/chats/{id}"),
    ("post", "/v1/chats/search"),
    ("put", "/v1/chats/status"),
    ("put", "/v1/chats/assignee"),
    ("put", "/v1/chats/department"),
    ("get", "/v1/customers"),
    ("get", "/v1/customers/{id}"),
    ("post", "/v1/customers/search"),
    ("get", "/v1/chats/{id}/messages"),
    ("post", "/v1/messages"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The document as the server builds it.
pub static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(livechat_server::http::openapi_document()).expect("the document serializes"));

/// Every (method, path template, operation) of `document`.
pub fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |method| {
                item.get(*method).map(|operation| (method.to_string(), path.clone(), operation.clone()))
            })
        })
        .collect()
}

/// Follows a local `$ref` such as `#/components/responses/RcNotFound`.
pub fn resolve<'a>(document: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap_or_else(|| panic!("unresolved {reference}")))
        }
        None => node,
    }
}

/// Whether a concrete path matches a template such as `/api/v1/livechat/sla/{sla_id}`.
fn matches_template(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template.iter().zip(&path).all(|(expected, actual)| {
            (expected.starts_with('{') && expected.ends_with('}') && !actual.is_empty()) || expected == actual
        })
}

/// Panics unless the document states `status` for `method path` and `body` conforms to
/// its schema. Paths and methods no route serves are left to the fallback tests.
pub fn assert_documented(method: &Method, path: &str, status: StatusCode, body: &Value) {
    let document = &*DOCUMENT;
    let method = method.as_str().to_ascii_lowercase();
    let paths = document["paths"].as_object().expect("paths");
    // A literal path wins over a template (`/department/{id}` against `/department`).
    let Some(operation) = paths
        .get(path)
        .or_else(|| paths.iter().find(|(template, _)| matches_template(template, path)).map(|(_, item)| item))
        .and_then(|item| item.get(&method))
    else {
        return;
    };
    let response = operation["responses"]
        .get(status.as_str())
        .unwrap_or_else(|| panic!("{method} {path} answered {status}, which the document does not state: {body}"));
    let response = resolve(document, response);
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    // The schema's `$ref`s point into the document's components, so they travel with it.
    let mut schema = resolve(document, schema).clone();
    schema["components"] = document["components"].clone();
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(body).map(|error| format!("{error} at {}", error.instance_path)).collect();
    assert!(errors.is_empty(), "{method} {path} {status} does not match the document: {errors:?}\nbody: {body}");
}

both_backends!(the_document_is_openapi_3_1_with_both_security_schemes, |app| {
    let response = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, *DOCUMENT);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"), "{}", served["openapi"]);
    assert_eq!(
        served["components"]["securitySchemes"],
        json!({
            "userId": {"type": "apiKey", "name": "X-User-Id", "in": "header", "description": "The user id login answered with"},
            "authToken": {"type": "apiKey", "name": "X-Auth-Token", "in": "header", "description": "The token login answered with"},
            "bearerApiKey": {"type": "http", "scheme": "bearer", "description": "An API key issued at /api/v1/livechat/api-keys"},
        })
    );
});

#[test]
fn the_document_lists_exactly_the_expected_routes() {
    let documented: BTreeSet<(String, String)> =
        operations(&DOCUMENT).into_iter().map(|(method, path, _)| (method, path)).collect();
    let expected: BTreeSet<(String, String)> =
        EXPECTED_ROUTES.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
    assert_eq!(documented.difference(&expected).collect::<Vec<_>>(), Vec::<&(String, String)>::new(), "unexpected");
    assert_eq!(expected.difference(&documented).collect::<Vec<_>>(), Vec::<&(String, String)>::new(), "undocumented");
}

/// The responses every operation must state, by what it checks.
#[test]
fn every_operation_states_its_success_and_the_errors_it_can_produce() {
    let document = &*DOCUMENT;
    for (method, path, operation) in operations(document) {
        let statuses: BTreeSet<&str> = operation["responses"].as_object().unwrap().keys().map(String::as_str).collect();
        let name = format!("{method} {path}");
        assert!(statuses.iter().any(|status| status.starts_with('2')), "{name} states no success");
        let security = &operation["security"];
        let mut required: Vec<&str> = Vec::new();
        if path.starts_with("/v1/") {
            assert_eq!(security, &json!([{"bearerApiKey": []}]), "{name}");
            required.extend(["401", "429", "503"]);
        } else if security.is_array() {
            assert_eq!(security, &json!([{"userId": [], "authToken": []}]), "{name}");
            required.extend(["401", "503"]);
        }
        if operation.get("requestBody").is_some() {
            required.extend(["400", "413", "415"]);
        }
        // A path or query parameter may hold what no parameter may (a NUL character).
        if operation["parameters"].as_array().is_some_and(|parameters| !parameters.is_empty()) {
            required.push("400");
        }
        for status in required {
            assert!(statuses.contains(status), "{name} does not state {status}: {statuses:?}");
        }
        for response in operation["responses"].as_object().unwrap().values() {
            let response = resolve(document, response);
            assert!(response["description"].as_str().is_some_and(|text| !text.is_empty()), "{name}: {response}");
        }
    }
}

#[test]
fn only_login_visitor_and_public_routes_go_without_credentials() {
    let open: BTreeSet<(String, String)> = operations(&DOCUMENT)
        .into_iter()
        .filter(|(_, _, operation)| operation.get("security").is_none())
        .map(|(method, path, _)| (method, path))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("get", "/health"),
        ("get", "/health/live"),
        ("get", "/api/info"),
        ("get", "/api/openapi.json"),
        ("get", "/api/docs"),
        ("post", "/api/v1/login"),
        ("post", "/api/v1/livechat/visitor"),
        ("get", "/api/v1/livechat/visitor/{token}"),
        ("delete", "/api/v1/livechat/visitor/{token}"),
        ("get", "/api/v1/livechat/room"),
        ("post", "/api/v1/livechat/message"),
        ("get", "/api/v1/livechat/messages.history/{rid}"),
        ("post", "/api/v1/livechat/room.close"),
        ("post", "/api/v1/livechat/room.survey"),
        ("post", "/api/v1/livechat/transcript"),
        ("get", "/api/v1/livechat/message/{_id}"),
        ("put", "/api/v1/livechat/message/{_id}"),
        ("delete", "/api/v1/livechat/message/{_id}"),
        ("get", "/api/v1/settings.public"),
        ("post", "/api/v1/livechat/page.visited"),
        ("get", "/api/v1/livechat/agent.info/{rid}/{token}"),
        ("get", "/api/v1/livechat/queue.position"),
        ("post", "/api/v1/livechat/visitor.status"),
        ("post", "/api/v1/livechat/custom.field"),
        ("post", "/api/v1/livechat/custom.fields"),
        ("get", "/api/v1/livechat/config"),
        ("post", "/api/v1/livechat/offline.message"),
        ("get", "/api/v1/livechat/agent.next/{token}"),
        ("post", "/api/v1/method.callAnon/{method}"),
        ("get", "/avatar/{username}"),
        ("post", "/api/v1/livechat/upload/{rid}"),
        ("get", "/file-upload/{id}/{name}"),
    ]
    .iter()
    .map(|(method, path)| (method.to_string(), path.to_string()))
    .collect();
    assert_eq!(open, expected);
}

/// A concrete path for a template: `{kind}` is a real kind so the handler runs; other
/// parameters name nothing that exists.
fn concrete(template: &str) -> String {
    template.replace("{kind}", "agent").replace(['{', '}'], "")
}

/// Whether an answer is one of the router's fallbacks rather than a route's.
fn is_fallback(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::METHOD_NOT_ALLOWED
        || (status == StatusCode::NOT_FOUND
            && (body == &json!({"success": false, "error": "Endpoint not found"})
                || body == &json!({"errors": [{"code": "not_found", "message": "Not found"}]})))
}

both_backends!(every_documented_operation_is_served_by_a_route, |app| {
    let (status, created) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "openapi"})).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let bearer = format!("Bearer {}", created["key"].as_str().unwrap());
    let mut operations = operations(&DOCUMENT);
    // Logging out ends the admin's session, so it goes last.
    operations.sort_by_key(|(_, path, _)| path == "/api/v1/logout");
    for (method, template, _) in operations {
        let path = concrete(&template);
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let mut request = app
            .client
            .request(method.clone(), app.url(&path))
            .header("X-User-Id", &app.admin.user_id)
            .header("X-Auth-Token", &app.admin.token)
            .header("Authorization", &bearer);
        if method != Method::GET && method != Method::DELETE {
            request = request.json(&json!({}));
        }
        let (status, body) = send(request).await;
        assert!(!is_fallback(status, &body), "{method} {path} reached the fallback: {status} {body}");
    }
});

both_backends!(the_docs_page_renders_the_document_without_the_internet, |app| {
    let response = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let page = response.text().await.unwrap();
    assert!(page.contains("fetch(\"/api/openapi.json\")"), "the page loads the document");
    for remote in ["src=\"http", "href=\"http", "src='http", "href='http", "@import", "url(http"] {
        assert!(!page.contains(remote), "the page loads {remote}…");
    }
    assert!(!page.contains("https://") && !page.contains("http://"), "the page names no remote address");
});

#[test]
#[should_panic(expected = "does not match the document")]
fn an_answer_that_breaks_its_schema_is_caught() {
    assert_documented(&Method::GET, "/api/v1/me", StatusCode::OK, &json!({"success": true}));
}

#[test]
#[should_panic(expected = "which the document does not state")]
fn an_undocumented_status_is_caught() {
    assert_documented(&Method::GET, "/health", StatusCode::IM_A_TEAPOT, &json!({}));
}
