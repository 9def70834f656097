//! Every string a client sends has a documented maximum length, checked before any
//! database work, with the same answer on both backends: 400 in the face's envelope.
//! (PostgreSQL refuses to index a string of more than about 2,700 bytes, so a long
//! visitor token, room id, message id or username used to answer 500 there.)

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{invalid_params, not_logged_in};
use crate::harness::{Session, TestApp, both_backends, send};
use crate::openapi::{DOCUMENT, operations, resolve};

/// The length classes of the README's Security section.
const CLASSES: [u64; 3] = [256, 1024, 5000];

/// The places in `schema` (reached at `at`) where a string has no maximum, or one
/// outside the documented classes. A string limited to an `enum` needs none.
fn unbounded_strings(schema: &Value, at: &str, seen: &mut BTreeSet<String>, found: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if seen.insert(reference.to_owned()) {
            unbounded_strings(resolve(&DOCUMENT, schema), at, seen, found);
            seen.remove(reference);
        }
        return;
    }
    let types = match schema.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"string") && schema.get("enum").is_none() {
        match schema.get("maxLength").and_then(Value::as_u64) {
            Some(limit) if CLASSES.contains(&limit) => {}
            limit => found.push(format!("{at}: maxLength {limit:?}")),
        }
    }
    for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        unbounded_strings(property, &format!("{at}/{name}"), seen, found);
    }
    if let Some(items) = schema.get("items") {
        unbounded_strings(items, &format!("{at}/items"), seen, found);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for branch in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            unbounded_strings(branch, at, seen, found);
        }
    }
}

#[test]
fn every_string_a_request_carries_has_a_documented_maximum() {
    let mut found = Vec::new();
    for (method, path, operation) in operations(&DOCUMENT) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let parameter = resolve(&DOCUMENT, parameter);
            let at = format!("{method} {path} {} {}", parameter["in"], parameter["name"]);
            unbounded_strings(&parameter["schema"], &at, &mut BTreeSet::new(), &mut found);
        }
        if let Some(body) = operation.pointer("/requestBody/content/application~1json/schema") {
            unbounded_strings(body, &format!("{method} {path} body"), &mut BTreeSet::new(), &mut found);
        }
    }
    assert!(found.is_empty(), "strings without a documented maximum:\n{}", found.join("\n"));
}

/// A string of `length` characters.
fn text(length: usize) -> String {
    "x".repeat(length)
}

/// Sizes over every limit: 9 KB (over PostgreSQL's index row) and 300 KB (within the
/// 1 MiB body limit).
const OVER: [usize; 2] = [9 * 1024, 300 * 1024];
/// Over every maximum but inside the 8 KiB body of the small routes (login, HelpCrunch
/// changes), whose larger bodies are refused whole with 413.
const OVER_ON_SMALL_ROUTES: [usize; 2] = [2 * 1024, 7 * 1024];

/// URLs are cut off by the HTTP layer at 64 KiB (414), so path and query strings are
/// tried at 9 KB and 60 KB.
const OVER_IN_URL: [usize; 2] = [9 * 1024, 60 * 1024];

fn too_long(at: &str, limit: usize) -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, invalid_params(&format!("{at} must NOT have more than {limit} characters")))
}

/// Registers the visitor of `token` and opens its room; the room's id.
async fn visitor_room(app: &TestApp, token: &str) -> String {
    let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get(&format!("/api/v1/livechat/room?token={token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["room"]["_id"].as_str().unwrap().to_owned()
}

both_backends!(visitor_tokens_over_256_characters_are_refused_and_256_work, |app| {
    for length in OVER {
        assert_eq!(
            app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": text(length)}})).await,
            too_long("/visitor/token", 256)
        );
    }
    for length in OVER_IN_URL {
        assert_eq!(app.get(&format!("/api/v1/livechat/visitor/{}", text(length)), None).await, too_long("/token", 256));
        assert_eq!(
            app.get(&format!("/api/v1/livechat/room?token={}", text(length)), None).await,
            too_long("/token", 256)
        );
    }
    let token = text(256);
    let (status, registered) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token}})).await;
    assert_eq!((status, &registered["visitor"]["token"]), (StatusCode::OK, &json!(token)), "{registered}");
    assert_eq!(
        app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await,
        (StatusCode::OK, json!({"visitor": registered["visitor"], "success": true}))
    );
});

both_backends!(room_ids_chosen_by_the_widget_are_at_most_256_characters, |app| {
    let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "lengths"}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for length in OVER_IN_URL {
        assert_eq!(
            app.get(&format!("/api/v1/livechat/room?token=lengths&rid={}", text(length)), None).await,
            too_long("/rid", 256)
        );
    }
    // At the limit the id is looked up: no room has it.
    assert_eq!(
        app.get(&format!("/api/v1/livechat/room?token=lengths&rid={}", text(256)), None).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "invalid-room"}))
    );
    for length in OVER_IN_URL {
        assert_eq!(
            app.get(&format!("/api/v1/livechat/messages.history/{}?token=lengths", text(length)), None).await,
            too_long("/rid", 256)
        );
    }
});

both_backends!(message_ids_and_texts_have_their_maximum, |app| {
    let rid = visitor_room(&app, "lengths").await;
    let message = |id: String, msg: String| json!({"token": "lengths", "rid": rid, "msg": msg, "_id": id});
    for length in OVER {
        assert_eq!(
            app.post("/api/v1/livechat/message", None, message(text(length), "hello".into())).await,
            too_long("/_id", 256)
        );
        assert_eq!(
            app.post("/api/v1/livechat/message", None, message("m1".into(), text(length))).await,
            too_long("/msg", 5000)
        );
    }
    let (status, body) = app.post("/api/v1/livechat/message", None, message(text(256), text(5000))).await;
    assert_eq!(
        (status, &body["message"]["_id"], &body["message"]["msg"]),
        (StatusCode::OK, &json!(text(256)), &json!(text(5000))),
        "{body}"
    );
});

both_backends!(login_names_over_256_characters_are_refused_before_any_lookup, |app| {
    for length in OVER_ON_SMALL_ROUTES {
        for field in ["user", "username"] {
            assert_eq!(
                app.post("/api/v1/login", None, json!({field: text(length), "password": "secret"})).await,
                too_long(&format!("/{field}"), 256)
            );
        }
        assert_eq!(app.post("/api/v1/login", None, json!({"resume": text(length)})).await, too_long("/resume", 256));
        assert_eq!(
            app.post("/api/v1/login", None, json!({"user": "admin", "password": text(length)})).await,
            too_long("/password", 1024)
        );
    }
    // At the limit, the name is looked up and its failure counted like any other.
    let unauthorized = json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"});
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": text(256), "password": text(1024)})).await,
        (StatusCode::UNAUTHORIZED, unauthorized)
    );
});

both_backends!(over_long_credentials_in_headers_authenticate_nobody, |app| {
    for length in [257, 9 * 1024] {
        for (user_id, token) in [(text(length), app.admin.token.clone()), (app.admin.user_id.clone(), text(length))] {
            let session = Session { user_id, token };
            assert_eq!(app.get("/api/v1/me", Some(&session)).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
        }
        let request = app.client.get(app.url("/v1/chats")).header("Authorization", format!("Bearer {}", text(length)));
        assert_eq!(
            send(request).await,
            (
                StatusCode::UNAUTHORIZED,
                json!({"errors": [
                    {"code": "invalid_request", "message": "Invalid request"},
                    {"code": "unauthorized", "message": "Unauthorized"},
                ]})
            )
        );
    }
});

both_backends!(path_ids_of_logged_in_routes_are_checked_after_the_login, |app| {
    let long = text(9 * 1024);
    assert_eq!(
        app.get(&format!("/api/v1/livechat/department/{long}"), None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(app.get(&format!("/api/v1/livechat/department/{long}"), Some(&app.admin)).await, too_long("/id", 256));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/department/{}", text(256)), Some(&app.admin)).await,
        (StatusCode::OK, json!({"department": null, "agents": [], "success": true}))
    );
});

/// HelpCrunch's 400 naming each field with its message.
fn hc_invalid(fields: &[(&str, &str)]) -> (StatusCode, Value) {
    let entries = std::iter::once(("invalid_request", "Invalid request")).chain(fields.iter().copied());
    let errors: Vec<Value> = entries.map(|(code, message)| json!({"code": code, "message": message})).collect();
    (StatusCode::BAD_REQUEST, json!({ "errors": errors }))
}

const HC_TOO_LONG: &str = "This value is too long. It should have 256 characters or less.";
const HC_NOT_NUMERIC: &str = "This value should be of type numeric.";

both_backends!(helpcrunch_strings_over_their_maximum_are_named_in_its_envelope, |app| {
    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "lengths"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();
    let call = |method: Method, path: String, body: Option<Value>| {
        let mut request = app.client.request(method, app.url(&path)).header("Authorization", format!("Bearer {key}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request)
    };
    visitor_room(&app, "lengths").await;
    let (status, page) = call(Method::GET, "/v1/chats".into(), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let chat = page["data"][0].clone();
    let id = chat["id"].as_i64().unwrap();

    for length in OVER_ON_SMALL_ROUTES {
        let digits = "1".repeat(length);
        assert_eq!(
            call(Method::PUT, "/v1/chats/status".into(), Some(json!({"id": digits, "status": "closed"}))).await,
            hc_invalid(&[("id", HC_TOO_LONG)])
        );
        assert_eq!(
            call(Method::PUT, "/v1/chats/assignee".into(), Some(json!({"id": id, "assignee": digits}))).await,
            hc_invalid(&[("assignee", HC_TOO_LONG)])
        );
        assert_eq!(
            call(Method::PUT, "/v1/chats/department".into(), Some(json!({"id": id, "department": digits}))).await,
            hc_invalid(&[("department", HC_TOO_LONG)])
        );
        let search =
            json!({"filter": [{"field": "chats.customer", "operator": "=", "value": digits}], "limit": digits});
        assert_eq!(
            call(Method::POST, "/v1/chats/search".into(), Some(search)).await,
            hc_invalid(&[("filter[0].value", HC_NOT_NUMERIC), ("limit", HC_TOO_LONG)])
        );
    }
    for length in OVER_IN_URL {
        let digits = "1".repeat(length);
        assert_eq!(
            call(Method::GET, format!("/v1/chats?offset={digits}"), None).await,
            hc_invalid(&[("offset", HC_TOO_LONG)])
        );
        assert_eq!(call(Method::GET, format!("/v1/chats/{digits}"), None).await, hc_invalid(&[("id", HC_NOT_NUMERIC)]));
    }
    // At the limit the id is read as the number it spells.
    let padded = format!("{id:0>256}");
    assert_eq!(call(Method::GET, format!("/v1/chats/{padded}"), None).await, (StatusCode::OK, chat.clone()));
    let (status, body) =
        call(Method::PUT, "/v1/chats/department".into(), Some(json!({"id": padded, "department": null}))).await;
    assert_eq!((status, &body["id"]), (StatusCode::OK, &json!(id)), "{body}");
});

// The query parameters' maxima the document states are the ones the server checks:
// each one, one character over, is refused naming it (the document's parameters and
// the checked schema are derived from two attributes of the same field).
both_backends!(every_documented_query_maximum_is_enforced, |app| {
    let mut checked = 0;
    for (method, path, operation) in operations(&DOCUMENT) {
        if method != "get" || path.starts_with("/v1/") || path.contains('{') {
            continue;
        }
        let parameters: Vec<Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|parameter| resolve(&DOCUMENT, parameter).clone())
            .filter(|parameter| parameter["in"] == "query")
            .collect();
        for parameter in &parameters {
            let Some(limit) = parameter["schema"]["maxLength"].as_u64() else { continue };
            let name = parameter["name"].as_str().unwrap();
            let mut query = vec![format!("{name}={}", text(limit as usize + 1))];
            // The other required parameters are given, so that the length is what is refused.
            for other in parameters.iter().filter(|other| other["required"] == true && other["name"] != name) {
                query.push(format!("{}=x", other["name"].as_str().unwrap()));
            }
            let (status, body) = app.get(&format!("{path}?{}", query.join("&")), Some(&app.admin)).await;
            assert_eq!(
                (status, body),
                too_long(&format!("/{name}"), limit as usize),
                "GET {path} with {name} of {} characters",
                limit + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} query parameters were checked");
});
