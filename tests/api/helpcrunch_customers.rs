//! HelpCrunch customers (/v1/customers) over the visitors, and chat messages
//! (/v1/chats/{id}/messages, /v1/messages) over the same message rows as the
//! Rocket.Chat face.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::agent_messages::served_room;
use crate::harness::{START, TestApp, both_backends};
use crate::lifecycle::available_agent;

/// `START` in UNIX seconds, and a second later.
const AT: &str = "1767323045";
const A_SECOND_LATER: &str = "1767323046";

/// Calls /v1 with one API key.
struct HelpCrunch<'a> {
    app: &'a TestApp,
    key: String,
}

impl<'a> HelpCrunch<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let (status, body) =
            app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "customers"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Self { app, key: body["key"].as_str().unwrap().to_owned() }
    }

    async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.app.client.request(method, self.app.url(path));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        crate::harness::send(request).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&self.key), None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&self.key), Some(body)).await
    }
}

fn errors(entries: &[(&str, &str)]) -> Value {
    json!({"errors": entries.iter().map(|(code, message)| json!({"code": code, "message": message})).collect::<Vec<_>>()})
}

/// A 400 naming the bad fields.
fn invalid(fields: &[(&str, &str)]) -> Value {
    let mut entries = vec![("invalid_request", "Invalid request")];
    entries.extend_from_slice(fields);
    errors(&entries)
}

const NOT_NUMERIC: &str = "This value should be of type numeric.";
const NOT_VALID: &str = "This value is not valid.";
const BLANK: &str = "This value should not be blank.";

/// Registers a widget visitor and answers its `_id`.
async fn visitor(app: &TestApp, body: Value) -> String {
    let (status, answer) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": body})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["visitor"]["_id"].as_str().unwrap().to_owned()
}

/// A customer as HelpCrunch shows it, with what Rocket.Chat does not keep null.
fn customer(id: i64, user_id: &str, name: &str, email: Value, phone: Value, seen: &str) -> Value {
    json!({
        "id": id, "name": name, "email": email, "userId": user_id, "company": null, "phone": phone,
        "firstSeen": seen, "lastSeen": seen, "location": null, "device": null, "unsubscribed": false,
        "blocked": false, "source": null, "referer": null, "lastPage": null, "locale": null, "notes": null,
        "tags": [], "customData": {},
    })
}

both_backends!(customers_are_the_visitors, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada_id =
        visitor(&app, json!({"token": "t-1", "name": "Ada", "email": "ada@example.com", "phone": "+1 555"})).await;
    app.clock.advance(1_000);
    let bob_id = visitor(&app, json!({"token": "t-2", "name": "Bob"})).await;
    let ada = customer(1, &ada_id, "Ada", json!("ada@example.com"), json!("+1 555"), AT);
    let bob = customer(2, &bob_id, "Bob", Value::Null, Value::Null, A_SECOND_LATER);
    for (query, expected) in [
        ("", json!({"data": [bob, ada], "total": 2})),
        ("?sort=customers.firstSeen&order=asc", json!({"data": [ada, bob], "total": 2})),
        ("?sort=customers.lastSeen&order=DESC&limit=1", json!({"data": [bob], "total": 2})),
        ("?offset=1&limit=1", json!({"data": [ada], "total": 2})),
        ("?offset=5", json!({"data": [], "total": 2})),
    ] {
        assert_eq!(hc.get(&format!("/v1/customers{query}")).await, (StatusCode::OK, expected), "{query}");
    }
    assert_eq!(hc.get("/v1/customers/1").await, (StatusCode::OK, ada.clone()));
    let condition =
        |field: &str, operator: &str, value: Value| json!({"field": field, "operator": operator, "value": value});
    for (body, expected) in [
        (json!({}), json!({"data": [bob, ada], "total": 2})),
        (json!({"filter": [condition("customers.email", "~", json!("EXAMPLE"))]}), json!({"data": [ada], "total": 1})),
        (json!({"filter": [condition("customers.name", "=", json!("bob"))]}), json!({"data": [bob], "total": 1})),
        (
            json!({"filter": [condition("customers.email", "!=", json!("ada@example.com"))]}),
            json!({"data": [bob], "total": 1}),
        ),
        (json!({"filter": [condition("customers.id", ">", json!("1"))]}), json!({"data": [bob], "total": 1})),
        (json!({"filter": [condition("customers.userId", "=", json!(ada_id))]}), json!({"data": [ada], "total": 1})),
        (
            json!({"filter": [condition("customers.firstSeen", "<", json!(A_SECOND_LATER))]}),
            json!({"data": [ada], "total": 1}),
        ),
        (
            json!({"comparison": "or", "filter": [condition("customers.phone", "~", json!("555")), condition("customers.lastSeen", ">=", json!(1_767_323_046))],
                   "sort": "customers.firstSeen", "order": "asc", "offset": 0, "limit": 10, "unknown": true}),
            json!({"data": [ada, bob], "total": 2}),
        ),
        (
            json!({"filter": [condition("customers.phone", "~", json!("555")), condition("customers.name", "=", json!("Bob"))]}),
            json!({"data": [], "total": 0}),
        ),
    ] {
        assert_eq!(hc.post("/v1/customers/search", body.clone()).await, (StatusCode::OK, expected), "{body}");
    }
    let long = "n".repeat(257);
    for (body, expected) in [
        (
            json!({"filter": [{"operator": "=", "value": "x"}, condition("customers.company", "=", json!("x"))]}),
            invalid(&[("filter[0].field", BLANK), ("filter[1].field", NOT_VALID)]),
        ),
        (
            json!({"filter": [condition("customers.name", ">", json!("x")), condition("customers.lastSeen", "~", json!(1))]}),
            invalid(&[("filter[0].operator", NOT_VALID), ("filter[1].operator", NOT_VALID)]),
        ),
        (
            json!({"filter": [condition("customers.id", "=", json!("abc")), condition("customers.name", "=", json!(5)),
                              condition("customers.email", "=", Value::Null), condition("customers.name", "~", json!(long))]}),
            invalid(&[
                ("filter[0].value", NOT_NUMERIC),
                ("filter[1].value", "This value should be of type string."),
                ("filter[2].value", BLANK),
                ("filter[3].value", "This value is too long. It should have 256 characters or less."),
            ]),
        ),
        (
            json!({"comparison": "XOR", "limit": 0}),
            invalid(&[("comparison", NOT_VALID), ("limit", "This value should be between 1 and 100.")]),
        ),
    ] {
        assert_eq!(hc.post("/v1/customers/search", body.clone()).await, (StatusCode::BAD_REQUEST, expected), "{body}");
    }

    // A contact's custom fields are the customer's custom data.
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, created_at) VALUES ('plan', 'Plan', 'visitor', 0)",
    )
    .await;
    let (status, body) = app
        .post(
            "/api/v1/omnichannel/contacts.update",
            Some(&app.admin),
            json!({"contactId": ada_id, "customFields": {"plan": "gold"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut gold = ada.clone();
    gold["customData"] = json!({"plan": "gold"});
    gold["lastSeen"] = json!(A_SECOND_LATER);
    assert_eq!(hc.get("/v1/customers/1").await, (StatusCode::OK, gold));

    for (path, status, expected) in [
        ("/v1/customers/abc", StatusCode::BAD_REQUEST, invalid(&[("id", NOT_NUMERIC)])),
        ("/v1/customers/99", StatusCode::NOT_FOUND, errors(&[("entity_not_found", "Customer not found")])),
        (
            "/v1/customers?sort=customers.name&order=up&offset=-1&limit=101",
            StatusCode::BAD_REQUEST,
            invalid(&[
                ("sort", NOT_VALID),
                ("order", NOT_VALID),
                ("offset", "This value should be greater than or equal to 0."),
                ("limit", "This value should be between 1 and 100."),
            ]),
        ),
        ("/v1/customers?limit=many", StatusCode::BAD_REQUEST, invalid(&[("limit", NOT_NUMERIC)])),
    ] {
        assert_eq!(hc.get(path).await, (status, expected), "{path}");
    }
    assert_eq!(
        hc.call(Method::POST, "/v1/customers/search", None, Some(json!({}))).await,
        (StatusCode::UNAUTHORIZED, invalid(&[("unauthorized", "Unauthorized")]))
    );
    for path in ["/v1/customers", "/v1/customers/1"] {
        assert_eq!(
            hc.call(Method::GET, path, None, None).await,
            (StatusCode::UNAUTHORIZED, invalid(&[("unauthorized", "Unauthorized")])),
            "{path}"
        );
        assert_eq!(
            hc.call(Method::GET, path, Some("lck_unknown"), None).await,
            (StatusCode::UNAUTHORIZED, invalid(&[("invalid_token", "Invalid token")])),
            "{path}"
        );
    }
});

/// The chat of a room as HelpCrunch shows it.
async fn chat_of(hc: &HelpCrunch<'_>) -> Value {
    let (status, body) = hc.get("/v1/chats").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"][0].clone()
}

both_backends!(messages_posted_through_helpcrunch_are_the_rooms_messages, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let chat = chat_of(&hc).await;
    let (chat_id, assignee) = (chat["id"].as_i64().unwrap(), chat["assignee"].clone());

    let (status, body) = hc
        .post(
            "/v1/messages",
            json!({"chat": chat_id, "text": "Hi from the API", "agent": assignee["id"], "type": "message"}),
        )
        .await;
    let from_agent = json!({
        "id": body["id"], "agent": assignee, "type": "message", "text": "Hi from the API", "read": false,
        "createdAt": AT, "updatedAt": null, "edited": false, "broadcastType": null, "chat": chat_id, "from": "agent",
    });
    assert_eq!((status, &body), (StatusCode::OK, &from_agent));
    // Without an agent the chat's customer writes; markdownText is what is stored.
    let (status, body) = hc
        .post(
            "/v1/messages",
            json!({"chat": chat_id.to_string(), "text": "Thanks", "markdownText": "**Thanks**", "type": "message", "extra": 1}),
        )
        .await;
    let from_customer = json!({
        "id": body["id"], "agent": null, "type": "message", "text": "**Thanks**", "read": false,
        "createdAt": AT, "updatedAt": null, "edited": false, "broadcastType": null, "chat": chat_id, "from": "customer",
    });
    assert_eq!((status, &body), (StatusCode::OK, &from_customer));

    // The same rows through both faces: the chat's last message, the room's history.
    let chat = chat_of(&hc).await;
    assert_eq!((&chat["lastMessageText"], &chat["lastMessageId"]), (&json!("**Thanks**"), &from_customer["id"]));
    let (status, body) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=tok-1"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let texts: Vec<&Value> = body["messages"].as_array().unwrap().iter().map(|message| &message["msg"]).collect();
    assert_eq!(texts, vec![&json!("**Thanks**"), &json!("Hi from the API"), &json!("Hello")]);

    // Each went through the one event path the realtime streams publish from.
    let sent: Vec<Value> = app
        .column_strings("SELECT payload FROM events WHERE kind = 'message.sent' ORDER BY id")
        .await
        .iter()
        .map(|payload| serde_json::from_str::<Value>(payload).unwrap()["msg"].clone())
        .collect();
    assert_eq!(sent, vec![json!("Hello"), json!("Hi from the API"), json!("**Thanks**")]);

    let (status, body) = hc.get(&format!("/v1/chats/{chat_id}/messages")).await;
    let hello = json!({
        "id": body["data"][2]["id"], "agent": null, "type": "message", "text": "Hello", "read": false,
        "createdAt": AT, "updatedAt": null, "edited": false, "broadcastType": null, "chat": chat_id, "from": "customer",
    });
    assert_eq!((status, body), (StatusCode::OK, json!({"data": [from_customer, from_agent, hello], "total": 3})));
    assert_eq!(
        hc.get(&format!("/v1/chats/{chat_id}/messages?offset=1&limit=1")).await,
        (StatusCode::OK, json!({"data": [from_agent], "total": 3}))
    );
});

both_backends!(messages_refuse_bad_input_unknown_chats_and_closed_chats, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let chat_id = chat_of(&hc).await["id"].as_i64().unwrap();
    let (status, body) =
        app.post("/api/v1/settings/Message_MaxAllowedSize", Some(&app.admin), json!({"value": 10})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let long = "x".repeat(5_001);
    for (body, status, expected) in [
        (json!({}), StatusCode::BAD_REQUEST, invalid(&[("chat", BLANK), ("text", BLANK), ("type", BLANK)])),
        (
            json!({"chat": "abc", "text": 5, "agent": "x", "type": "private"}),
            StatusCode::BAD_REQUEST,
            invalid(&[
                ("chat", NOT_NUMERIC),
                ("text", "This value should be of type string."),
                ("agent", NOT_NUMERIC),
                ("type", NOT_VALID),
            ]),
        ),
        (json!({"chat": chat_id, "text": "", "type": "message"}), StatusCode::BAD_REQUEST, invalid(&[("text", BLANK)])),
        (
            json!({"chat": chat_id, "text": "  ", "type": "message"}),
            StatusCode::BAD_REQUEST,
            invalid(&[("text", BLANK)]),
        ),
        (
            json!({"chat": chat_id, "text": "eleven char", "type": "message"}),
            StatusCode::BAD_REQUEST,
            invalid(&[("text", "This value is too long. It should have 10 characters or less.")]),
        ),
        (
            json!({"chat": chat_id, "text": long, "type": "message"}),
            StatusCode::BAD_REQUEST,
            invalid(&[("text", "This value is too long. It should have 5000 characters or less.")]),
        ),
        (
            json!({"chat": 999, "text": "Hi", "type": "message"}),
            StatusCode::NOT_FOUND,
            errors(&[("chat_not_found", "Chat not found")]),
        ),
        (
            json!({"chat": chat_id, "text": "Hi", "agent": 999, "type": "message"}),
            StatusCode::NOT_FOUND,
            errors(&[("entity_not_found", "Agent not found")]),
        ),
    ] {
        assert_eq!(hc.post("/v1/messages", body.clone()).await, (status, expected), "{body}");
    }
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": "tok-1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let agent_num_id = chat_of(&hc).await["assignee"]["id"].clone();
    for body in [
        json!({"chat": chat_id, "text": "Hi", "type": "message"}),
        json!({"chat": chat_id, "text": "Hi", "agent": agent_num_id, "type": "message"}),
    ] {
        assert_eq!(
            hc.post("/v1/messages", body.clone()).await,
            (StatusCode::BAD_REQUEST, invalid(&[("chat", "Chat is closed")])),
            "{body}"
        );
    }
    // Nothing was written by the refusals: the visitor's first message and the close.
    let (_, body) = hc.get(&format!("/v1/chats/{chat_id}/messages")).await;
    assert_eq!(body["total"], json!(2), "{body}");

    for (path, status, expected) in [
        ("/v1/chats/abc/messages", StatusCode::BAD_REQUEST, invalid(&[("id", NOT_NUMERIC)])),
        ("/v1/chats/999/messages", StatusCode::NOT_FOUND, errors(&[("chat_not_found", "Chat not found")])),
        (
            "/v1/chats/1/messages?limit=0&offset=x",
            StatusCode::BAD_REQUEST,
            invalid(&[("offset", NOT_NUMERIC), ("limit", "This value should be between 1 and 100.")]),
        ),
    ] {
        assert_eq!(hc.get(path).await, (status, expected), "{path}");
    }
    assert_eq!(
        hc.call(Method::POST, "/v1/messages", None, Some(json!({"chat": chat_id, "text": "Hi", "type": "message"})))
            .await,
        (StatusCode::UNAUTHORIZED, invalid(&[("unauthorized", "Unauthorized")]))
    );
    assert_eq!(
        hc.call(Method::GET, "/v1/chats/1/messages", Some("lck_unknown"), None).await,
        (StatusCode::UNAUTHORIZED, invalid(&[("invalid_token", "Invalid token")]))
    );
});

both_backends!(bodies_that_are_not_json_are_refused_on_the_new_routes, |app| {
    let hc = HelpCrunch::new(&app).await;
    for path in ["/v1/customers/search", "/v1/messages"] {
        let raw = app
            .client
            .post(app.url(path))
            .header("Authorization", format!("Bearer {}", hc.key))
            .header("content-type", "application/json")
            .body("{\"filter\": [");
        assert_eq!(
            crate::harness::send(raw).await,
            (StatusCode::BAD_REQUEST, invalid(&[("body", "This value should be valid JSON.")])),
            "{path}"
        );
    }
    let bad_json = (
        StatusCode::BAD_REQUEST,
        crate::envelopes::coded(
            "error-invalid-json",
            "Body is not valid JSON: EOF while parsing an object at line 1 column 1",
        ),
    );
    for path in [
        "/api/v1/livechat/transcript",
        "/api/v1/livechat/room.survey",
        "/api/v1/omnichannel/contacts",
        "/api/v1/omnichannel/contacts.update",
        "/api/v1/omnichannel/contacts.delete",
        "/api/v1/omnichannel/contacts.block",
        "/api/v1/omnichannel/contacts.unblock",
        "/api/v1/omnichannel/contacts.conflicts",
        "/api/v1/rooms.mediaConfirm/room/file",
    ] {
        assert_eq!(app.send_raw_json(Method::POST, path, &app.admin, "{").await, bad_json, "{path}");
    }
});
