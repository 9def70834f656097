//! HelpCrunch chats (/v1/chats...): the chat object, lists and searches, status,
//! assignee and department changes, and how each is seen through the Rocket.Chat face.

use std::sync::Arc;

use livechat_server::config::AppSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{MINUTE_START, START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

/// The chat object's keys, in the order of the seed page.
const CHAT_KEYS: [&str; 20] = [
    "id",
    "closedBy",
    "lastCustomerMessageAt",
    "status",
    "closedAt",
    "rating",
    "createdAt",
    "lastMessageAt",
    "createdWith",
    "snoozedUntil",
    "lastMessageText",
    "lastMessageId",
    "applicationId",
    "lastCommunicatedAgentId",
    "agents",
    "customer",
    "assignee",
    "department",
    "slaDueAt",
    "slaBreachedAt",
];

/// `START` (2026-01-02T03:04:05.678Z) in UNIX seconds, as chats show instants. The tests
/// that compare whole chats fix the server's clock at `START`.
const AT: &str = "1767323045";
/// In an expected chat: "an integer id here".
const SOME_ID: &str = "<integer id>";

/// Calls /v1 with one API key.
struct HelpCrunch<'a> {
    app: &'a TestApp,
    key: String,
}

impl<'a> HelpCrunch<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "chats"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Self { app, key: body["key"].as_str().unwrap().to_owned() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request =
            self.app.client.request(method, self.app.url(path)).header("Authorization", format!("Bearer {}", self.key));
        if let Some(body) = body {
            request = request.json(&body);
        }
        crate::harness::send(request).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn set_status(&self, chat: &Chat, status: &str) -> (StatusCode, Value) {
        self.put("/v1/chats/status", json!({"id": chat.id, "status": status})).await
    }

    async fn assign(&self, chat: &Chat, agent: Option<&Agent>) -> (StatusCode, Value) {
        self.put("/v1/chats/assignee", json!({"id": chat.id, "assignee": agent.map(|agent| agent.num_id)})).await
    }
}

/// A conversation as HelpCrunch sees it, with its Rocket.Chat room.
struct Chat {
    id: i64,
    room_id: String,
    token: String,
    customer: Value,
}

struct Agent {
    session: Session,
    num_id: i64,
    username: String,
}

impl Agent {
    fn json(&self) -> Value {
        json!({"id": self.num_id, "name": self.username, "email": format!("{}@example.com", self.username), "role": "agent"})
    }
}

/// The integer id of the row whose `key` column is `key`, from `"<key> <num_id>"` lines.
async fn num_id_of(app: &TestApp, sql: &'static str, key: &str) -> i64 {
    let rows = app.column_strings(sql).await;
    let row = rows.iter().find_map(|row| row.strip_prefix(&format!("{key} "))).expect("row exists");
    row.split(' ').next().unwrap().parse().unwrap()
}

async fn agent(app: &TestApp, username: &str) -> Agent {
    let session = available_agent(app, username).await;
    let num_id = num_id_of(app, "SELECT username || ' ' || CAST(num_id AS TEXT) FROM users", username).await;
    Agent { session, num_id, username: username.to_owned() }
}

/// A visitor opens a room; the chat is the newest one.
async fn open_chat(hc: &HelpCrunch<'_>, token: &str, department_id: Option<&str>) -> Chat {
    let app = hc.app;
    let (_, room_id) = visitor_with_room(app, token, department_id).await;
    let (status, page) = hc.get("/v1/chats?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let id = page["data"][0]["id"].as_i64().unwrap();
    let rows = app.column_strings("SELECT token || ' ' || CAST(num_id AS TEXT) || ' ' || id FROM visitors").await;
    let row = rows.iter().find_map(|row| row.strip_prefix(&format!("{token} "))).unwrap();
    let (visitor_num_id, visitor_id) = row.split_once(' ').unwrap();
    let customer = json!({
        "id": visitor_num_id.parse::<i64>().unwrap(),
        "name": format!("Visitor {token}"),
        "email": format!("{token}@example.com"),
        "userId": visitor_id,
    });
    Chat { id, room_id, token: token.to_owned(), customer }
}

/// The chat object of a chat nobody has answered yet.
fn chat_object(chat: &Chat, status: &str) -> Value {
    json!({
        "id": chat.id, "closedBy": null, "lastCustomerMessageAt": null, "status": status, "closedAt": null,
        "rating": null, "createdAt": AT, "lastMessageAt": null, "createdWith": "api", "snoozedUntil": null,
        "lastMessageText": null, "lastMessageId": null, "applicationId": null, "lastCommunicatedAgentId": null,
        "agents": [], "customer": chat.customer, "assignee": null, "department": null,
        "slaDueAt": null, "slaBreachedAt": null,
    })
}

fn assigned_to(mut chat: Value, agent: &Agent) -> Value {
    chat["lastCommunicatedAgentId"] = json!(agent.num_id);
    chat["agents"] = json!([agent.json()]);
    chat["assignee"] = agent.json();
    chat
}

fn closed(mut chat: Value) -> Value {
    chat["status"] = json!("closed");
    chat["closedBy"] = json!("agent");
    chat["closedAt"] = json!(AT);
    chat
}

/// Fills the id placeholders of `expected` from `actual` after checking them, then
/// compares the whole chat object, key order included.
fn settle(actual: &Value, mut expected: Value) -> Value {
    for (key, value) in expected.as_object_mut().unwrap() {
        if value == SOME_ID {
            assert!(actual[key].is_i64(), "{key} is an integer");
            *value = actual[key].clone();
        }
    }
    if let Some(object) = actual.as_object() {
        assert_eq!(object.keys().map(String::as_str).collect::<Vec<_>>(), CHAT_KEYS);
    }
    expected
}

#[track_caller]
fn assert_chat(answer: (StatusCode, Value), expected: Value) {
    let (status, body) = answer;
    let expected = settle(&body, expected);
    assert_eq!((status, body), (StatusCode::OK, expected));
}

fn errors(entries: &[(&str, &str)]) -> Value {
    json!({"errors": entries.iter().map(|(code, message)| json!({"code": code, "message": message})).collect::<Vec<_>>()})
}

/// A 400 naming the given fields.
fn invalid(fields: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut entries = vec![("invalid_request", "Invalid request")];
    entries.extend_from_slice(fields);
    (StatusCode::BAD_REQUEST, errors(&entries))
}

fn chat_not_found() -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, errors(&[("chat_not_found", "Chat not found")]))
}

async fn say(app: &TestApp, chat: &Chat, text: &str) {
    let (status, body) = app
        .post("/api/v1/livechat/message", None, json!({"token": chat.token, "rid": chat.room_id, "msg": text}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn take(app: &TestApp, chat: &Chat, agent: &Agent) {
    let inquiry_id = inquiry_of(app, &chat.room_id).await["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent.session), json!({"inquiryId": inquiry_id})).await,
        (StatusCode::OK, json!({"success": true}))
    );
}

async fn queued_inquiry_rooms(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/livechat/inquiries.list", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["inquiries"].as_array().unwrap().iter().map(|inquiry| inquiry["rid"].clone()).collect()
}

both_backends!(the_seed_request_answers_the_whole_chat_object, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada = agent(&app, "ada").await;
    let sales = department(&app, "Sales", &[&ada.session]).await;
    let (_, departments) = hc.get("/v1/departments").await;
    let sales_num_id = departments["data"][0]["id"].as_i64().unwrap();
    let chat = open_chat(&hc, "seed", Some(&sales)).await;
    app.clock.advance(1_000);
    say(&app, &chat, "Hello, I need help").await;
    take(&app, &chat, &ada).await;

    let mut expected = assigned_to(chat_object(&chat, "new"), &ada);
    expected["department"] = json!({"id": sales_num_id, "name": "Sales"});
    expected["lastCustomerMessageAt"] = json!("1767323046");
    expected["lastMessageAt"] = json!("1767323046");
    expected["lastMessageText"] = json!("Hello, I need help");
    expected["lastMessageId"] = json!(SOME_ID);
    assert_chat(hc.get(&format!("/v1/chats/{}", chat.id)).await, {
        let mut opened = expected.clone();
        opened["status"] = json!("opened");
        opened
    });

    // Back to "new": the assignee is gone and the inquiry is queued again.
    let mut requeued = expected.clone();
    for key in ["assignee", "lastCommunicatedAgentId"] {
        requeued[key] = Value::Null;
    }
    requeued["agents"] = json!([]);
    assert_chat(hc.put("/v1/chats/status", json!({"id": chat.id, "status": "new"})).await, requeued);
    assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("queued"));
});

both_backends!(status_requests_name_every_bad_field, |app| {
    let hc = HelpCrunch::new(&app).await;
    assert_eq!(
        hc.put("/v1/chats/status", json!({})).await,
        invalid(&[("id", "This value should not be blank."), ("status", "This value should not be blank.")])
    );
    assert_eq!(
        hc.put("/v1/chats/status", json!({"id": "abc", "status": "archived"})).await,
        invalid(&[("id", "This value should be of type numeric."), ("status", "This value is not valid.")])
    );
    assert_eq!(
        hc.put("/v1/chats/status", json!({"id": 1.5, "status": 3})).await,
        invalid(&[("id", "This value should be of type numeric."), ("status", "This value should be of type string.")])
    );
    assert_eq!(
        hc.put("/v1/chats/status", json!({"id": 542335, "status": ""})).await,
        invalid(&[("status", "This value should not be blank.")])
    );
    let raw = hc
        .app
        .client
        .put(app.url("/v1/chats/status"))
        .header("Authorization", format!("Bearer {}", hc.key))
        .header("content-type", "application/json")
        .body("{\"id\": 1,");
    assert_eq!(crate::harness::send(raw).await, invalid(&[("body", "This value should be valid JSON.")]));
    assert_eq!(hc.put("/v1/chats/status", json!({"id": 542335, "status": "new"})).await, chat_not_found());
    assert_eq!(hc.put("/v1/chats/status", json!({"id": "542335", "status": "closed"})).await, chat_not_found());
    let (status, body) = app.put("/v1/chats/status", None, json!({"id": 542335, "status": "new"})).await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, errors(&[("invalid_request", "Invalid request"), ("unauthorized", "Unauthorized")]))
    );
});

both_backends!(
    status_requests_over_the_rate_limit_are_429,
    settings = AppSettings { hc_rate_limit_per_minute: 2, ..Default::default() },
    clock = MINUTE_START,
    |app| {
        let hc = HelpCrunch::new(&app).await;
        let request = json!({"id": 542335, "status": "new"});
        assert_eq!(hc.put("/v1/chats/status", request.clone()).await, chat_not_found());
        assert_eq!(hc.put("/v1/chats/status", request.clone()).await, chat_not_found());
        assert_eq!(
            hc.put("/v1/chats/status", request).await,
            (
                StatusCode::TOO_MANY_REQUESTS,
                errors(&[("invalid_request", "Invalid request"), ("too_many_requests", "Too many requests")])
            )
        );
    }
);

both_backends!(a_new_chat_moves_through_every_transition_of_the_table, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada = agent(&app, "ada").await;
    let chat = open_chat(&hc, "walk", None).await;
    let new = chat_object(&chat, "new");
    let no_assignee = invalid(&[("status", "Chat has no assignee")]);

    // new: the same status changes nothing; working statuses need an assignee.
    assert_chat(hc.set_status(&chat, "new").await, new.clone());
    for status in ["opened", "pending", "on hold", "no communication"] {
        assert_eq!(hc.set_status(&chat, status).await, no_assignee, "{status}");
    }

    // new -> closed -> (closed again: nothing changes) -> new.
    assert_chat(hc.set_status(&chat, "closed").await, closed(new.clone()));
    assert!(!queued_inquiry_rooms(&app).await.contains(&json!(chat.room_id)));
    assert_eq!(inquiry_of(&app, &chat.room_id).await, Value::Null);
    assert_chat(hc.set_status(&chat, "closed").await, closed(new.clone()));
    assert_eq!(hc.set_status(&chat, "opened").await, no_assignee);
    assert_chat(hc.set_status(&chat, "new").await, new.clone());
    assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("queued"));
    assert!(queued_inquiry_rooms(&app).await.contains(&json!(chat.room_id)));

    // Assigned: every working status, in turn, then back to the queue.
    take(&app, &chat, &ada).await;
    let assigned = assigned_to(new.clone(), &ada);
    for status in ["pending", "on hold", "no communication", "opened", "onhold", "on-hold"] {
        let mut expected = assigned.clone();
        expected["status"] = json!(match status {
            "onhold" | "on-hold" => "on hold",
            other => other,
        });
        assert_chat(hc.set_status(&chat, status).await, expected);
        assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("taken"));
    }
    let (_, room) = app.get(&format!("/api/v1/livechat/room?token=walk&rid={}", chat.room_id), None).await;
    assert_eq!(room["room"]["onHold"], json!(true));
    assert_chat(hc.set_status(&chat, "new").await, new.clone());
    assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("queued"));

    // A closed chat keeps its assignee and reopens with it in a working status.
    take(&app, &chat, &ada).await;
    assert_chat(hc.set_status(&chat, "closed").await, closed(assigned.clone()));
    let mut pending = assigned.clone();
    pending["status"] = json!("pending");
    assert_chat(hc.set_status(&chat, "pending").await, pending);
    assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("taken"));
    assert_chat(hc.get(&format!("/v1/chats/{}", chat.id)).await, {
        let mut pending = assigned.clone();
        pending["status"] = json!("pending");
        pending
    });
});

both_backends!(a_closed_chat_does_not_reopen_beside_another_open_chat, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let first = open_chat(&hc, "twice", None).await;
    assert_chat(hc.set_status(&first, "closed").await, closed(chat_object(&first, "new")));
    // The visitor comes back: a second conversation opens.
    let second = open_chat(&hc, "twice", None).await;
    assert_ne!(first.id, second.id);
    let refusal = invalid(&[("status", "Customer already has an open chat")]);
    assert_eq!(hc.set_status(&first, "new").await, refusal);
    // With an assignee kept from before, reopening to a working status is refused too.
    let ada = agent(&app, "ada").await;
    take(&app, &second, &ada).await;
    assert_chat(hc.set_status(&second, "closed").await, closed(assigned_to(chat_object(&second, "new"), &ada)));
    let third = open_chat(&hc, "twice", None).await;
    assert_eq!(hc.set_status(&second, "opened").await, refusal);
    assert_chat(hc.get(&format!("/v1/chats/{}", third.id)).await, chat_object(&third, "new"));
});

both_backends!(chats_list_in_pages_and_orders, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    // A second apart, so that each order is decided by the instants themselves.
    let first = open_chat(&hc, "one", None).await;
    app.clock.advance(1_000);
    let second = open_chat(&hc, "two", None).await;
    app.clock.advance(1_000);
    let third = open_chat(&hc, "three", None).await;
    app.clock.advance(1_000);
    say(&app, &second, "late words").await;
    hc.set_status(&first, "closed").await;

    let ids = |page: &Value| page["data"].as_array().unwrap().iter().map(|chat| chat["id"].clone()).collect::<Vec<_>>();
    let (status, page) = hc.get("/v1/chats").await;
    assert_eq!(
        (status, ids(&page), page["meta"].clone()),
        (StatusCode::OK, vec![json!(third.id), json!(second.id), json!(first.id)], json!({"total": 3}))
    );
    let mut newest = chat_object(&third, "new");
    newest["createdAt"] = json!("1767323047");
    assert_chat((StatusCode::OK, page["data"][0].clone()), newest);
    let (_, page) = hc.get("/v1/chats?sort=chats.createdAt&order=asc&offset=1&limit=1").await;
    assert_eq!((ids(&page), page["meta"].clone()), (vec![json!(second.id)], json!({"total": 3})));
    // Chats without the instant come last in either direction.
    let (_, page) = hc.get("/v1/chats?sort=chats.lastCustomerMessageAt&order=asc").await;
    assert_eq!(ids(&page), vec![json!(second.id), json!(first.id), json!(third.id)]);
    let (_, page) = hc.get("/v1/chats?sort=chats.closedAt&order=desc").await;
    assert_eq!(ids(&page)[0], json!(first.id));
    let (_, page) = hc.get("/v1/chats?sort=chats.lastMessageAt").await;
    assert_eq!(ids(&page)[0], json!(second.id));

    assert_eq!(
        hc.get("/v1/chats?sort=chats.rating&order=up&offset=-1&limit=101").await,
        invalid(&[
            ("sort", "This value is not valid."),
            ("order", "This value is not valid."),
            ("offset", "This value should be greater than or equal to 0."),
            ("limit", "This value should be between 1 and 100."),
        ])
    );
    assert_eq!(
        hc.get("/v1/chats?offset=x&limit=0").await,
        invalid(&[
            ("offset", "This value should be of type numeric."),
            ("limit", "This value should be between 1 and 100.")
        ])
    );
    assert_eq!(hc.get("/v1/chats/abc").await, invalid(&[("id", "This value should be of type numeric.")]));
    assert_eq!(hc.get("/v1/chats/999999").await, chat_not_found());
});

both_backends!(assigning_past_the_agents_chat_limit_is_refused, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada = agent(&app, "ada").await;
    let (status, body) = app
        .post(
            "/api/v1/livechat/agents.saveInfo",
            Some(&app.admin),
            json!({"agentId": ada.session.user_id, "agentData": {"maxNumberSimultaneousChat": 1}}),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let first = open_chat(&hc, "limit1", None).await;
    let second = open_chat(&hc, "limit2", None).await;
    assert_eq!(hc.assign(&first, Some(&ada)).await.0, StatusCode::OK);
    assert_eq!(
        hc.assign(&second, Some(&ada)).await,
        invalid(&[("assignee", "Agent has reached the maximum number of simultaneous chats")])
    );
    // Her own chat is still hers; unassigning it makes room for the other.
    assert_eq!(hc.assign(&first, Some(&ada)).await.0, StatusCode::OK);
    assert_eq!(hc.assign(&first, None).await.0, StatusCode::OK);
    assert_eq!(hc.assign(&second, Some(&ada)).await.0, StatusCode::OK);
    assert_eq!(inquiry_of(&app, &second.room_id).await["status"], json!("taken"));
});

both_backends!(assigning_takes_reassigns_only_after_unassigning_and_checks_the_agent, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada = agent(&app, "ada").await;
    let bob = agent(&app, "bob").await;
    let chat = open_chat(&hc, "assign", None).await;
    let new = chat_object(&chat, "new");
    let mut opened_by_ada = assigned_to(new.clone(), &ada);
    opened_by_ada["status"] = json!("opened");

    assert_chat(hc.assign(&chat, Some(&ada)).await, opened_by_ada.clone());
    assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("taken"));
    assert_chat(hc.assign(&chat, Some(&ada)).await, opened_by_ada.clone());
    assert_eq!(hc.assign(&chat, Some(&bob)).await, invalid(&[("assignee", "Chat is already assigned")]));
    assert_chat(hc.assign(&chat, None).await, new.clone());
    assert_eq!(inquiry_of(&app, &chat.room_id).await["status"], json!("queued"));
    assert_chat(hc.assign(&chat, None).await, new.clone());
    let mut opened_by_bob = assigned_to(new.clone(), &bob);
    opened_by_bob["status"] = json!("opened");
    assert_chat(
        hc.put("/v1/chats/assignee", json!({"id": chat.id.to_string(), "assignee": bob.num_id})).await,
        opened_by_bob,
    );

    // Only livechat agents can be assigned.
    let agent_not_found = (StatusCode::NOT_FOUND, errors(&[("entity_not_found", "Agent not found")]));
    assert_eq!(hc.put("/v1/chats/assignee", json!({"id": chat.id, "assignee": 999999})).await, agent_not_found);
    app.user_with_roles("plain", &["user"]).await;
    let plain = num_id_of(&app, "SELECT username || ' ' || CAST(num_id AS TEXT) FROM users", "plain").await;
    assert_eq!(hc.put("/v1/chats/assignee", json!({"id": chat.id, "assignee": plain})).await, agent_not_found);
    assert_eq!(hc.put("/v1/chats/assignee", json!({"id": 999999, "assignee": ada.num_id})).await, chat_not_found());
    assert_eq!(
        hc.put("/v1/chats/assignee", json!({"id": "x"})).await,
        invalid(&[("id", "This value should be of type numeric."), ("assignee", "This field is missing.")])
    );
    assert_eq!(
        hc.put("/v1/chats/assignee", json!({"id": chat.id, "assignee": "ada"})).await,
        invalid(&[("assignee", "This value should be of type numeric.")])
    );

    // A closed chat is neither assigned nor unassigned.
    hc.set_status(&chat, "closed").await;
    let closed_chat = invalid(&[("id", "Chat is closed")]);
    assert_eq!(hc.assign(&chat, Some(&ada)).await, closed_chat);
    assert_eq!(hc.assign(&chat, None).await, closed_chat);
});

both_backends!(chats_move_between_departments, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    department(&app, "Sales", &[]).await;
    let (_, departments) = hc.get("/v1/departments").await;
    let sales = departments["data"][0]["id"].as_i64().unwrap();
    let chat = open_chat(&hc, "move", None).await;
    let mut in_sales = chat_object(&chat, "new");
    in_sales["department"] = json!({"id": sales, "name": "Sales"});

    assert_chat(hc.put("/v1/chats/department", json!({"id": chat.id, "department": sales})).await, in_sales);
    assert!(inquiry_of(&app, &chat.room_id).await["department"].is_string());
    assert_chat(
        hc.put("/v1/chats/department", json!({"id": chat.id, "department": null})).await,
        chat_object(&chat, "new"),
    );
    assert_eq!(
        hc.put("/v1/chats/department", json!({"id": chat.id, "department": 999999})).await,
        (StatusCode::NOT_FOUND, errors(&[("entity_not_found", "Department not found")]))
    );
    assert_eq!(hc.put("/v1/chats/department", json!({"id": 999999, "department": sales})).await, chat_not_found());
    assert_eq!(
        hc.put("/v1/chats/department", json!({"department": "x"})).await,
        invalid(&[("id", "This value should not be blank."), ("department", "This value should be of type numeric.")])
    );
});

both_backends!(searches_combine_whitelisted_conditions, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada = agent(&app, "ada").await;
    let waiting = open_chat(&hc, "waiting", None).await;
    let served = open_chat(&hc, "served", None).await;
    let done = open_chat(&hc, "done", None).await;
    hc.assign(&served, Some(&ada)).await;
    hc.set_status(&done, "closed").await;

    let ids = |answer: (StatusCode, Value)| {
        assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
        let ids: Vec<i64> =
            answer.1["data"].as_array().unwrap().iter().map(|chat| chat["id"].as_i64().unwrap()).collect();
        assert_eq!(answer.1["meta"]["total"], json!(ids.len()));
        ids
    };
    let search = |filter: Value, comparison: &str| {
        hc.post("/v1/chats/search", json!({"comparison": comparison, "filter": filter, "order": "asc"}))
    };
    let condition =
        |field: &str, operator: &str, value: Value| json!({"field": field, "operator": operator, "value": value});

    assert_eq!(ids(search(json!([]), "AND").await), vec![waiting.id, served.id, done.id]);
    assert_eq!(ids(search(json!([condition("chats.status", "=", json!("new"))]), "AND").await), vec![waiting.id]);
    assert_eq!(
        ids(search(json!([condition("chats.status", "!=", json!("new"))]), "AND").await),
        vec![served.id, done.id]
    );
    assert_eq!(ids(search(json!([condition("chats.assignee", "=", json!(ada.num_id))]), "AND").await), vec![served.id]);
    assert_eq!(
        ids(search(json!([condition("chats.assignee", "=", Value::Null)]), "AND").await),
        vec![waiting.id, done.id]
    );
    assert_eq!(
        ids(search(json!([condition("chats.assignee", "!=", json!(ada.num_id))]), "AND").await),
        vec![waiting.id, done.id]
    );
    assert_eq!(ids(search(json!([condition("chats.department", "!=", Value::Null)]), "AND").await), Vec::<i64>::new());
    assert_eq!(
        ids(search(json!([condition("chats.customer", "=", waiting.customer["id"].clone())]), "AND").await),
        vec![waiting.id]
    );
    let now = START / 1000;
    assert_eq!(
        ids(search(json!([condition("chats.createdAt", ">=", json!((now - 300).to_string() + ".5"))]), "AND").await),
        vec![waiting.id, served.id, done.id]
    );
    assert_eq!(
        ids(search(json!([condition("chats.createdAt", ">", json!(now + 300))]), "AND").await),
        Vec::<i64>::new()
    );
    assert_eq!(ids(search(json!([condition("chats.closedAt", "<=", json!(now + 300))]), "AND").await), vec![done.id]);
    let either =
        json!([condition("chats.status", "=", json!("closed")), condition("chats.assignee", "=", json!(ada.num_id))]);
    assert_eq!(ids(search(either.clone(), "OR").await), vec![served.id, done.id]);
    assert_eq!(ids(search(either, "AND").await), Vec::<i64>::new());
    let (_, page) =
        hc.post("/v1/chats/search", json!({"limit": 1, "offset": 1, "sort": "chats.createdAt", "order": "desc"})).await;
    assert_eq!((page["data"][0]["id"].clone(), page["meta"].clone()), (json!(served.id), json!({"total": 3})));

    // Every bad entry is named by its position and part.
    assert_eq!(
        hc.post(
            "/v1/chats/search",
            json!({
                "comparison": "XOR",
                "filter": [
                    {"operator": "="},
                    {"field": "chats.customer", "operator": "=", "value": "abc"},
                    {"field": "chats.password", "operator": "~", "value": 1},
                    {"field": "chats.status", "operator": ">", "value": "archived"},
                    {"field": "chats.createdAt", "operator": "<"},
                    "chats.status",
                ],
                "limit": "many",
            })
        )
        .await,
        invalid(&[
            ("comparison", "This value is not valid."),
            ("filter[0].field", "This value should not be blank."),
            ("filter[1].value", "This value should be of type numeric."),
            ("filter[2].field", "This value is not valid."),
            ("filter[2].operator", "This value is not valid."),
            ("filter[3].operator", "This value is not valid."),
            ("filter[3].value", "This value is not valid."),
            ("filter[4].value", "This value should not be blank."),
            ("filter[5]", "This value should be of type object."),
            ("limit", "This value should be of type numeric."),
        ])
    );
    assert_eq!(
        hc.post("/v1/chats/search", json!({"filter": {"field": "chats.status"}})).await,
        invalid(&[("filter", "This value should be of type array.")])
    );
    let many = vec![condition("chats.status", "=", json!("new")); 51];
    assert_eq!(
        hc.post("/v1/chats/search", json!({"filter": many})).await,
        invalid(&[("filter", "This collection should contain 50 elements or less.")])
    );
});

both_backends!(both_faces_see_each_change_at_once, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let ada = agent(&app, "ada").await;

    // Closed through HelpCrunch: gone from the Rocket.Chat queue on the next request.
    let closing = open_chat(&hc, "closing", None).await;
    assert!(queued_inquiry_rooms(&app).await.contains(&json!(closing.room_id)));
    assert_chat(hc.set_status(&closing, "closed").await, closed(chat_object(&closing, "new")));
    assert!(!queued_inquiry_rooms(&app).await.contains(&json!(closing.room_id)));

    // Taken through Rocket.Chat: "opened" through HelpCrunch.
    let taken = open_chat(&hc, "taken", None).await;
    take(&app, &taken, &ada).await;
    let mut opened = assigned_to(chat_object(&taken, "new"), &ada);
    opened["status"] = json!("opened");
    assert_chat(hc.get(&format!("/v1/chats/{}", taken.id)).await, opened);

    // Assigned through HelpCrunch: no longer queued for the agent.
    let assigned = open_chat(&hc, "assigned", None).await;
    let queued_for_ada = || async {
        let (status, body) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&ada.session)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["inquiries"].as_array().unwrap().iter().map(|inquiry| inquiry["rid"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(queued_for_ada().await, vec![json!(assigned.room_id)]);
    hc.assign(&assigned, Some(&ada)).await;
    assert_eq!(queued_for_ada().await, Vec::<Value>::new());
    let (_, rooms) =
        app.get(&format!("/api/v1/livechat/rooms?open=true&agents[]={}", ada.session.user_id), Some(&app.admin)).await;
    assert_eq!(rooms["total"], json!(2));
});

both_backends!(exactly_one_of_many_concurrent_assignments_wins, clock = START, |app| {
    let hc = HelpCrunch::new(&app).await;
    let mut agents = Vec::new();
    for index in 0..20 {
        agents.push(agent(&app, &format!("racer{index}")).await);
    }
    let chat = open_chat(&hc, "race", None).await;
    let (key, chat_id) = (hc.key.clone(), chat.id);
    let app = Arc::new(app);
    let requests = agents.iter().map(|agent| {
        let app = app.clone();
        let key = key.clone();
        let body = json!({"id": chat_id, "assignee": agent.num_id});
        tokio::spawn(async move {
            let request = app
                .client
                .put(app.url("/v1/chats/assignee"))
                .header("Authorization", format!("Bearer {key}"))
                .json(&body);
            crate::harness::send(request).await
        })
    });
    let results: Vec<(StatusCode, Value)> =
        futures::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
    let winners: Vec<&Value> =
        results.iter().filter(|(status, _)| *status == StatusCode::OK).map(|(_, body)| body).collect();
    let losers =
        results.iter().filter(|result| **result == invalid(&[("assignee", "Chat is already assigned")])).count();
    assert_eq!((winners.len(), losers), (1, 19), "{results:?}");
    let winner = agents.iter().find(|agent| winners[0]["assignee"]["id"] == json!(agent.num_id)).unwrap();
    let hc = HelpCrunch { app: &app, key };
    let mut opened = assigned_to(chat_object(&chat, "new"), winner);
    opened["status"] = json!("opened");
    assert_chat(hc.get(&format!("/v1/chats/{}", chat.id)).await, opened);
});
