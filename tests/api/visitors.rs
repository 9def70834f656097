//! Visitors as agents read them (visitors.info, .search, .autocomplete, .pagesVisited,
//! .chatHistory, .searchChats), a visitor's erasure, and the department extras
//! (archive, archived list, autocomplete, listByIds, an agent's departments).

use std::collections::HashMap;
use std::sync::Arc;

use livechat_server::config::AppSettings;
use livechat_server::domain::routing::RoutingMethod;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_messages::served_room;
use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, visitor_with_room};

const START_TEXT: &str = "2026-01-02T03:04:05.678Z";

fn auto_routing() -> AppSettings {
    AppSettings { routing_method: Some(RoutingMethod::AutoSelection), ..AppSettings::default() }
}

fn invalid_token() -> Value {
    json!({"success": false, "error": "[invalid-token]", "errorType": "invalid-token"})
}

/// The visitor of `token` as the visitor routes show it.
async fn visitor_of(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["visitor"].clone()
}

/// Every room as the admin's room list shows it, by id.
async fn rooms_by_id(app: &TestApp) -> HashMap<String, Value> {
    let (status, body) = app.get("/api/v1/livechat/rooms?count=100", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| (room["_id"].as_str().unwrap().to_owned(), room.clone()))
        .collect()
}

async fn visit_page(app: &TestApp, token: &str, room_id: &str, title: &str) -> Value {
    let page = json!({"change": "url", "title": title, "location": {"href": format!("https://shop.example/{title}")}});
    let (status, body) = app
        .post("/api/v1/livechat/page.visited", None, json!({"token": token, "rid": room_id, "pageInfo": page}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    page
}

async fn close_by_visitor(app: &TestApp, token: &str, room_id: &str) {
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": token})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

both_backends!(erasing_a_visitor_takes_its_rooms_messages_members_and_custom_values, clock = START, |app| {
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, created_at) VALUES ('company', 'Company', 'visitor', 0)",
    )
    .await;
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let visitor_id = visitor_of(&app, "tok-1").await["_id"].as_str().unwrap().to_owned();
    visit_page(&app, "tok-1", &room_id, "pricing").await;
    let field = json!({"token": "tok-1", "key": "company", "value": "Acme", "overwrite": true});
    assert_eq!(app.post("/api/v1/livechat/custom.field", None, field).await.0, StatusCode::OK);
    let (status, body) = app.get(&format!("/api/v1/livechat/room.join?roomId={room_id}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let message = json!({"message": {"rid": room_id, "msg": "Hi", "_id": "reply-1"}});
    assert_eq!(app.post("/api/v1/chat.sendMessage", Some(&agent), message).await.0, StatusCode::OK);
    let delete = json!({"roomId": room_id, "msgId": "reply-1"});
    assert_eq!(app.post("/api/v1/chat.delete", Some(&agent), delete).await.0, StatusCode::OK);
    close_by_visitor(&app, "tok-1", &room_id).await;
    // Another visitor keeps everything.
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    let other_id = visitor_of(&app, "tok-2").await["_id"].as_str().unwrap().to_owned();

    assert_eq!(
        app.delete("/api/v1/livechat/visitor/tok-1", None).await,
        (StatusCode::OK, json!({"visitor": {"_id": visitor_id, "ts": START_TEXT}, "success": true}))
    );
    assert_eq!(app.column_strings("SELECT id FROM visitors").await, vec![other_id.clone()]);
    assert_eq!(app.column_strings("SELECT id FROM rooms").await, vec![other_room]);
    assert_eq!(app.column_strings("SELECT room_id FROM messages").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT room_id FROM room_members").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT room_id FROM deleted_messages").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT visitor_id FROM visitor_custom_fields").await, Vec::<String>::new());
    // The token reaches nobody now.
    assert_eq!(app.get("/api/v1/livechat/visitor/tok-1", None).await, (StatusCode::BAD_REQUEST, invalid_token()));
    assert_eq!(app.delete("/api/v1/livechat/visitor/tok-1", None).await, (StatusCode::BAD_REQUEST, invalid_token()));
    let (status, body) = app.get("/api/v1/livechat/room?token=tok-1", None).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, bare("invalid-token")));
});

both_backends!(a_visitor_with_an_open_room_is_not_erased, |app| {
    let (_, room_id) = visitor_with_room(&app, "tok-open", None).await;
    let visitor = visitor_of(&app, "tok-open").await;
    assert_eq!(
        app.delete("/api/v1/livechat/visitor/tok-open", None).await,
        (StatusCode::BAD_REQUEST, coded("visitor-has-open-rooms", "Cannot remove visitors with opened rooms"))
    );
    // Nothing changed, the token included.
    assert_eq!(visitor_of(&app, "tok-open").await, visitor);
    assert_eq!(app.column_strings("SELECT id FROM rooms").await, vec![room_id.clone()]);
    // Once the room is closed, the visitor goes.
    close_by_visitor(&app, "tok-open", &room_id).await;
    assert_eq!(app.delete("/api/v1/livechat/visitor/tok-open", None).await.0, StatusCode::OK);
    assert_eq!(app.column_strings("SELECT id FROM rooms").await, Vec::<String>::new());
});

both_backends!(erasing_refuses_bad_tokens, |app| {
    let long = "t".repeat(257);
    assert_eq!(
        app.delete(&format!("/api/v1/livechat/visitor/{long}"), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("/token must NOT have more than 256 characters"))
    );
    assert_eq!(app.delete("/api/v1/livechat/visitor/nobody", None).await, (StatusCode::BAD_REQUEST, invalid_token()));
});

both_backends!(erasure_and_room_opening_racing_end_in_one_of_them, |app| {
    let app = Arc::new(app);
    let tokens: Vec<String> = (0..8).map(|index| format!("race-{index}")).collect();
    for token in &tokens {
        let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let races = tokens.iter().map(|token| {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move {
            let (erase_path, open_path) =
                (format!("/api/v1/livechat/visitor/{token}"), format!("/api/v1/livechat/room?token={token}"));
            let (erased, opened) = tokio::join!(app.delete(&erase_path, None), app.get(&open_path, None));
            (token, erased, opened)
        })
    });
    let mut kept = Vec::new();
    for race in races.collect::<Vec<_>>() {
        let (token, erased, opened) = race.await.unwrap();
        match (erased.0, opened.0) {
            // The room came first: the erasure is refused and the visitor keeps it.
            (StatusCode::BAD_REQUEST, StatusCode::OK) => {
                assert_eq!(erased.1, coded("visitor-has-open-rooms", "Cannot remove visitors with opened rooms"));
                kept.push(token);
            }
            // The erasure came first: the room is never opened.
            (StatusCode::OK, StatusCode::BAD_REQUEST) => assert_eq!(opened.1, bare("invalid-token")),
            other => panic!("{token}: {other:?} {erased:?} {opened:?}"),
        }
    }
    only_these_visitors_remain_with_open_rooms(&app, kept).await;
});

/// After erasures raced room openings: the visitors left are exactly those whose
/// room won (`kept`), and each has its open room.
pub(crate) async fn only_these_visitors_remain_with_open_rooms(app: &TestApp, mut kept: Vec<String>) {
    kept.sort();
    let mut remaining = app.column_strings("SELECT token FROM visitors").await;
    remaining.sort();
    assert_eq!(remaining, kept);
    let mut with_rooms =
        app.column_strings("SELECT v.token FROM rooms r JOIN visitors v ON v.id = r.visitor_id WHERE r.open").await;
    with_rooms.sort();
    assert_eq!(with_rooms, kept);
}

both_backends!(visitors_info_shows_a_visitor_by_id, |app| {
    visitor_with_room(&app, "tok-info", None).await;
    let visitor = visitor_of(&app, "tok-info").await;
    let id = visitor["_id"].as_str().unwrap();
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    assert_eq!(
        app.get(&format!("/api/v1/livechat/visitors.info?visitorId={id}"), Some(&agent)).await,
        (StatusCode::OK, json!({"visitor": visitor, "success": true}))
    );
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "v".repeat(257);
    let cases = [
        ("visitorId=nobody", Some(&agent), StatusCode::BAD_REQUEST, bare("visitor-not-found")),
        ("", Some(&agent), StatusCode::BAD_REQUEST, invalid_params("must have required property 'visitorId'")),
        (
            &format!("visitorId={long}")[..],
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("/visitorId must NOT have more than 256 characters"),
        ),
        (
            "visitorId=x&extra=1",
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("must NOT have additional properties"),
        ),
        ("visitorId=x", Some(&plain), StatusCode::FORBIDDEN, no_permission()),
        ("visitorId=x", None, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (query, session, status, body) in cases {
        assert_eq!(
            app.get(&format!("/api/v1/livechat/visitors.info?{query}"), session).await,
            (status, body),
            "{query}"
        );
    }
});

both_backends!(visitors_search_finds_by_email_phone_name_username_and_searchable_fields, |app| {
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, created_at, searchable) VALUES \
         ('company', 'Company', 'visitor', 0, TRUE), ('secret', 'Secret', 'visitor', 0, FALSE)",
    )
    .await;
    let register = async |visitor: Value| {
        let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": visitor})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["visitor"].clone()
    };
    let ada =
        register(json!({"token": "t-ada", "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+1 555 0100"}))
            .await;
    let bob = register(json!({"token": "t-bob", "name": "Bob", "email": "bob@example.com"})).await;
    register(json!({"token": "t-eve"})).await;
    for (key, value) in [("company", "Globex Corp"), ("secret", "lovelace")] {
        let field = json!({"token": "t-eve", "key": key, "value": value, "overwrite": true});
        assert_eq!(app.post("/api/v1/livechat/custom.field", None, field).await.0, StatusCode::OK);
    }
    let eve = visitor_of(&app, "t-eve").await;
    let page = |visitors: Vec<&Value>, offset: i64, total: i64| json!({"visitors": visitors, "count": visitors.len(), "offset": offset, "total": total, "success": true});
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let search = |query: String| {
        let (app, agent) = (&app, &agent);
        async move { app.get(&format!("/api/v1/livechat/visitors.search?{query}"), Some(agent)).await }
    };
    let cases = [
        ("term=ADA%40example.com", page(vec![&ada], 0, 1)),
        ("term=%2B1%20555%200100", page(vec![&ada], 0, 1)),
        ("term=love", page(vec![&ada], 0, 1)),
        (&format!("term={}", bob["username"].as_str().unwrap())[..], page(vec![&bob], 0, 1)),
        ("term=globex", page(vec![&eve], 0, 1)),
        ("term=nobody", page(vec![], 0, 0)),
        // No term: everyone, newest first.
        ("term=", page(vec![&eve, &bob, &ada], 0, 3)),
        ("term=&sort=%7B%22username%22%3A1%7D&count=1&offset=1", page(vec![&bob], 1, 3)),
    ];
    for (query, expected) in cases {
        assert_eq!(search(query.to_owned()).await, (StatusCode::OK, expected), "{query}");
    }
    let long = "x".repeat(257);
    let refused = [
        ("", invalid_params("must have required property 'term'")),
        (&format!("term={long}")[..], invalid_params("/term must NOT have more than 256 characters")),
        (
            "term=a&sort=%7B%22token%22%3A1%7D",
            coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"token\":1}\""),
        ),
        ("term=a&offset=-1", bare("BSON field 'skip' value must be >= 0, actual value '-1'")),
        ("term=a&count=x", invalid_params("/count must be number")),
    ];
    for (query, expected) in refused {
        assert_eq!(search(query.to_owned()).await, (StatusCode::BAD_REQUEST, expected), "{query}");
    }
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(
        app.get("/api/v1/livechat/visitors.search?term=a", Some(&plain)).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    assert_eq!(
        app.get("/api/v1/livechat/visitors.search?term=a", None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

both_backends!(visitors_autocomplete_lists_names_starting_with_the_term, |app| {
    let mut ids = HashMap::new();
    for (token, name) in [("t-1", "Maria Silva"), ("t-2", "mario Rossi"), ("t-3", "Anna"), ("t-4", "Marta")] {
        let (status, body) =
            app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token, "name": name}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.insert(name, (body["visitor"]["_id"].clone(), body["visitor"]["username"].as_str().unwrap().to_owned()));
    }
    let item = |name: &str| {
        let (id, username) = &ids[name];
        json!({"_id": id, "name": name, "username": username, "custom_name": format!("{username} - {name}")})
    };
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let autocomplete = |selector: &str| {
        let query: String = url::form_urlencoded::byte_serialize(selector.as_bytes()).collect();
        let (app, agent) = (&app, &agent);
        async move { app.get(&format!("/api/v1/livechat/visitors.autocomplete?selector={query}"), Some(agent)).await }
    };
    // Names are compared in byte order, as Rocket.Chat's MongoDB sorts.
    assert_eq!(
        autocomplete(r#"{"term": " mar "}"#).await,
        (StatusCode::OK, json!({"items": [item("Maria Silva"), item("Marta"), item("mario Rossi")], "success": true}))
    );
    let maria = ids["Maria Silva"].0.as_str().unwrap();
    assert_eq!(
        autocomplete(&format!(r#"{{"term": "MAR", "exceptions": ["{maria}"], "conditions": {{"x": 1}}}}"#)).await,
        (StatusCode::OK, json!({"items": [item("Marta"), item("mario Rossi")], "success": true}))
    );
    let refused = [
        ("{invalid", bare("The 'selector' param is not valid JSON: key must be a string at line 1 column 2")),
        ("{}", invalid_params("selector: must have required property 'term'")),
        (r#"{"term": 5}"#, invalid_params("selector: /term must be string")),
        (r#"{"term": "a", "exceptions": "x"}"#, invalid_params("selector: /exceptions must be array")),
        ("[]", invalid_params("selector: must be object")),
        (r#"{"term": "\u0000"}"#, invalid_params("selector: strings must not contain NUL characters")),
        (
            r#"{"term": "a", "exceptions": ["\u0000"]}"#,
            invalid_params("selector: strings must not contain NUL characters"),
        ),
    ];
    for (selector, expected) in refused {
        assert_eq!(autocomplete(selector).await, (StatusCode::BAD_REQUEST, expected), "{selector}");
    }
    assert_eq!(
        app.get("/api/v1/livechat/visitors.autocomplete", Some(&agent)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'selector'"))
    );
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(
        app.get("/api/v1/livechat/visitors.autocomplete?selector=%7B%7D", Some(&plain)).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
});

both_backends!(pages_visited_lists_a_rooms_navigation_to_those_who_may_see_it, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-nav", None).await;
    let first = visit_page(&app, "tok-nav", &room_id, "home").await;
    app.clock.advance(1_000);
    let second = visit_page(&app, "tok-nav", &room_id, "pricing").await;
    let ids = app.column_strings("SELECT id FROM messages WHERE hidden ORDER BY ts").await;
    let page_message = |id: &str, page: &Value, ts: &str| {
        json!({
            "_id": id, "rid": room_id, "msg": format!("{} - {}", page["title"].as_str().unwrap(), page["location"]["href"].as_str().unwrap()),
            "t": "livechat_navigation_history", "ts": ts, "_updatedAt": ts,
            "u": {"_id": "rocket.cat", "username": "rocket.cat", "name": "Rocket.Cat"},
            "urls": [], "mentions": [], "channels": [], "navigation": {"page": page, "token": "tok-nav"},
        })
    };
    let (home, pricing) =
        (page_message(&ids[0], &first, START_TEXT), page_message(&ids[1], &second, "2026-01-02T03:04:06.678Z"));
    let path = format!("/api/v1/livechat/visitors.pagesVisited/{room_id}");
    assert_eq!(
        app.get(&path, Some(&agent)).await,
        (StatusCode::OK, json!({"pages": [pricing, home], "count": 2, "offset": 0, "total": 2, "success": true}))
    );
    assert_eq!(
        app.get(&format!("{path}?sort=%7B%22ts%22%3A1%7D&count=1"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"pages": [home], "count": 1, "offset": 0, "total": 2, "success": true}))
    );
    // Another agent neither serves nor joined the room.
    let other = app.user_with_roles("other", &["user", "livechat-agent"]).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let cases = [
        (path.clone(), Some(&other), StatusCode::BAD_REQUEST, bare("error-not-allowed")),
        (
            "/api/v1/livechat/visitors.pagesVisited/nowhere".to_owned(),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            bare("invalid-room"),
        ),
        (
            format!("/api/v1/livechat/visitors.pagesVisited/{}", "r".repeat(257)),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("/roomId must NOT have more than 256 characters"),
        ),
        (
            format!("{path}?sort=%7B%22msg%22%3A1%7D"),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"msg\":1}\""),
        ),
        (
            format!("{path}?extra=1"),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("must NOT have additional properties"),
        ),
        (path.clone(), Some(&plain), StatusCode::FORBIDDEN, no_permission()),
        (path.clone(), None, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (path, session, status, body) in cases {
        assert_eq!(app.get(&path, session).await, (status, body), "{path}");
    }
});

both_backends!(chat_history_and_search_list_the_visitors_rooms_the_caller_may_see, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let first = served_room(&app, &agent, "tok-h", None).await;
    close_by_visitor(&app, "tok-h", &first).await;
    app.clock.advance(1_000);
    // The second room stays queued: the agent neither serves nor joined it.
    let (_, second) = visitor_with_room(&app, "tok-h", None).await;
    let (status, body) = app
        .post("/api/v1/livechat/message", None, json!({"token": "tok-h", "rid": second, "msg": "Where is my ORDER?"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let visitor_id = visitor_of(&app, "tok-h").await["_id"].as_str().unwrap().to_owned();
    // Another visitor's room is never listed.
    visitor_with_room(&app, "tok-x", None).await;
    let rooms = rooms_by_id(&app).await;
    let page = |listed: Vec<&str>, total: usize| {
        let history: Vec<&Value> = listed.iter().map(|id| &rooms[*id]).collect();
        json!({"history": history, "count": history.len(), "offset": 0, "total": total, "success": true})
    };
    let history = |room: &str| format!("/api/v1/livechat/visitors.chatHistory/room/{room}/visitor/{visitor_id}");
    let search = |room: &str, query: &str| {
        format!("/api/v1/livechat/visitors.searchChats/room/{room}/visitor/{visitor_id}?{query}")
    };
    let cases = [
        (history(&second), &app.admin, page(vec![&second, &first], 2)),
        (format!("{}?sort=%7B%22ts%22%3A1%7D", history(&first)), &app.admin, page(vec![&first, &second], 2)),
        // The agent sees the room it served, and only that one.
        (history(&first), &agent, page(vec![&first], 1)),
        (search(&first, "closedChatsOnly=true"), &app.admin, page(vec![&first], 1)),
        (search(&first, "servedChatsOnly=true"), &app.admin, page(vec![&first], 1)),
        (search(&first, "closedChatsOnly=false&servedChatsOnly=false"), &app.admin, page(vec![&second, &first], 2)),
        (search(&first, "searchText=order"), &app.admin, page(vec![&second], 1)),
        (search(&first, "searchText=hello"), &app.admin, page(vec![&first], 1)),
        (search(&first, "source=API"), &app.admin, page(vec![&second, &first], 2)),
        (search(&first, "source=widget"), &app.admin, page(vec![], 0)),
        (search(&first, "searchText=order"), &agent, page(vec![], 0)),
    ];
    for (path, session, expected) in cases {
        assert_eq!(app.get(&path, Some(session)).await, (StatusCode::OK, expected), "{path}");
    }
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "s".repeat(257);
    let refused = [
        (history(&second), Some(&agent), StatusCode::BAD_REQUEST, bare("error-not-allowed")),
        (search(&second, ""), Some(&agent), StatusCode::BAD_REQUEST, bare("error-not-allowed")),
        (history("nowhere"), Some(&agent), StatusCode::BAD_REQUEST, bare("invalid-room")),
        (search("nowhere", ""), Some(&agent), StatusCode::BAD_REQUEST, bare("invalid-room")),
        (
            search(&first, &format!("searchText={long}")),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("/searchText must NOT have more than 256 characters"),
        ),
        (
            search(&first, "closed=true"),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("must NOT have additional properties"),
        ),
        (
            format!("{}?sort=%7B%22open%22%3A1%7D", history(&first)),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"open\":1}\""),
        ),
        (
            format!("{}?offset=-2", history(&first)),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            bare("BSON field 'skip' value must be >= 0, actual value '-2'"),
        ),
        (history(&first), Some(&plain), StatusCode::FORBIDDEN, no_permission()),
        (search(&first, ""), None, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (path, session, status, body) in refused {
        assert_eq!(app.get(&path, session).await, (status, body), "{path}");
    }
});

/// The department of `id` as the department routes show it.
async fn department_view(app: &TestApp, id: &str) -> Value {
    let (status, body) =
        app.get(&format!("/api/v1/livechat/department/{id}?includeAgents=false"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["department"].clone()
}

both_backends!(an_archived_department_leaves_the_list_and_autocomplete_until_unarchived, |app| {
    let sales = department(&app, "Sales", &[]).await;
    let support = department(&app, "Support", &[]).await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let archive = format!("/api/v1/livechat/department/{sales}/archive");
    assert_eq!(app.post(&archive, Some(&manager), json!({})).await, (StatusCode::OK, json!({"success": true})));
    // Archiving again changes nothing.
    assert_eq!(app.post(&archive, Some(&manager), json!({})).await, (StatusCode::OK, json!({"success": true})));
    let archived = department_view(&app, &sales).await;
    assert_eq!((&archived["archived"], &archived["enabled"]), (&json!(true), &json!(false)));
    let support_view = department_view(&app, &support).await;
    let listed = |departments: Vec<&Value>| json!({"departments": departments, "count": departments.len(), "offset": 0, "total": departments.len(), "success": true});
    let cases = [
        ("/api/v1/livechat/department", listed(vec![&support_view])),
        ("/api/v1/livechat/department?showArchived=true", listed(vec![&archived, &support_view])),
        ("/api/v1/livechat/departments/archived", listed(vec![&archived])),
        ("/api/v1/livechat/departments/archived?text=sup", listed(vec![])),
        (
            "/api/v1/livechat/department.autocomplete?selector=%7B%22term%22%3A%22s%22%7D",
            json!({"items": [{"_id": support, "name": "Support"}], "success": true}),
        ),
        (
            "/api/v1/livechat/department.autocomplete?selector=%7B%22term%22%3A%22s%22%7D&showArchived=true",
            json!({"items": [{"_id": sales, "name": "Sales"}], "success": true}),
        ),
    ];
    for (path, expected) in cases {
        assert_eq!(app.get(path, Some(&manager)).await, (StatusCode::OK, expected), "{path}");
    }
    let unarchive = format!("/api/v1/livechat/department/{sales}/unarchive");
    assert_eq!(app.post(&unarchive, Some(&manager), json!({})).await, (StatusCode::OK, json!({"success": true})));
    let restored = department_view(&app, &sales).await;
    // Back in the list, still disabled.
    assert_eq!((restored.get("archived"), &restored["enabled"]), (None, &json!(false)));
    assert_eq!(
        app.get("/api/v1/livechat/department", Some(&manager)).await,
        (StatusCode::OK, listed(vec![&restored, &support_view]))
    );
});

both_backends!(archiving_refuses_unknown_departments_and_callers_without_the_permission, |app| {
    let sales = department(&app, "Sales", &[]).await;
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let long = "d".repeat(257);
    let cases = [
        (
            "/api/v1/livechat/department/nowhere/archive".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            bare("department-not-found"),
        ),
        (
            "/api/v1/livechat/department/nowhere/unarchive".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "[department-not-found]", "errorType": "department-not-found"}),
        ),
        (
            format!("/api/v1/livechat/department/{long}/archive"),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            invalid_params("/id must NOT have more than 256 characters"),
        ),
        (format!("/api/v1/livechat/department/{sales}/archive"), Some(&agent), StatusCode::FORBIDDEN, no_permission()),
        (format!("/api/v1/livechat/department/{sales}/unarchive"), None, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (path, session, status, body) in cases {
        assert_eq!(app.post(&path, session, json!({})).await, (status, body), "{path}");
    }
    assert_eq!(department_view(&app, &sales).await.get("archived"), None);
});

both_backends!(an_archived_departments_inquiries_are_not_routed, settings = auto_routing(), |app| {
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let archive = format!("/api/v1/livechat/department/{sales}/archive");
    assert_eq!(app.post(&archive, Some(&app.admin), json!({})).await.0, StatusCode::OK);
    let (_, room_id) = visitor_with_room(&app, "tok-archived", Some(&sales)).await;
    assert_eq!(rooms_by_id(&app).await[&room_id].get("servedBy"), None);
    // A room of no department still reaches the agent.
    let (_, routed) = visitor_with_room(&app, "tok-routed", None).await;
    assert_eq!(rooms_by_id(&app).await[&routed]["servedBy"]["_id"], json!(agent.user_id));
});

both_backends!(department_autocomplete_and_list_by_ids_show_readers_only_their_departments, |app| {
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let service = department(&app, "Service", &[]).await;
    let (sales_view, service_view) = (department_view(&app, &sales).await, department_view(&app, &service).await);
    let selector = |term: &str, exceptions: &[&str]| -> String {
        let selector = json!({"term": term, "exceptions": exceptions}).to_string();
        url::form_urlencoded::byte_serialize(selector.as_bytes()).collect()
    };
    let items = |departments: &[(&str, &str)]| {
        let items: Vec<Value> = departments.iter().map(|(id, name)| json!({"_id": id, "name": name})).collect();
        json!({"items": items, "success": true})
    };
    let by_ids = |departments: Vec<&Value>| json!({"departments": departments, "success": true});
    let cases = [
        (
            format!("department.autocomplete?selector={}", selector("S", &[])),
            &app.admin,
            items(&[(&sales, "Sales"), (&service, "Service")]),
        ),
        (
            format!("department.autocomplete?selector={}", selector("se", &[])),
            &app.admin,
            items(&[(&service, "Service")]),
        ),
        (
            format!("department.autocomplete?selector={}", selector("s", &[&sales])),
            &app.admin,
            items(&[(&service, "Service")]),
        ),
        // The agent reads through view-l-room: only its own department.
        (
            format!("department.autocomplete?selector={}&onlyMyDepartments=false", selector("s", &[])),
            &agent,
            items(&[(&sales, "Sales")]),
        ),
        (
            format!("department.listByIds?ids[]={service}&ids[]={sales}&ids[]=nowhere"),
            &app.admin,
            by_ids(vec![&sales_view, &service_view]),
        ),
        (format!("department.listByIds?ids={service}"), &app.admin, by_ids(vec![&service_view])),
        (format!("department.listByIds?ids[]={service}&ids[]={sales}"), &agent, by_ids(vec![&sales_view])),
    ];
    for (path, session, expected) in cases {
        assert_eq!(
            app.get(&format!("/api/v1/livechat/{path}"), Some(session)).await,
            (StatusCode::OK, expected),
            "{path}"
        );
    }
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "i".repeat(257);
    let refused = [
        (
            "department.autocomplete".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            bare("The 'selector' param is required"),
        ),
        (
            "department.autocomplete?selector=".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            bare("The 'selector' param is required"),
        ),
        (
            "department.autocomplete?selector=%7B%7D".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            invalid_params("selector: must have required property 'term'"),
        ),
        (
            "department.autocomplete?selector=x".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            bare("The 'selector' param is not valid JSON: expected value at line 1 column 1"),
        ),
        (
            format!("department.autocomplete?selector={}&showArchived=maybe", selector("s", &[])),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            invalid_params("/showArchived must be boolean"),
        ),
        (
            "department.listByIds".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            bare("The 'ids' param is required"),
        ),
        (
            format!("department.listByIds?ids[]={long}"),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            invalid_params("/ids[]/0 must NOT have more than 256 characters"),
        ),
        (
            "department.listByIds?ids[]=x&fields=1".to_owned(),
            Some(&app.admin),
            StatusCode::BAD_REQUEST,
            invalid_params("must NOT have additional properties"),
        ),
        ("department.listByIds?ids[]=x".to_owned(), Some(&plain), StatusCode::FORBIDDEN, no_permission()),
        ("department.autocomplete?selector=%7B%7D".to_owned(), None, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (path, session, status, body) in refused {
        assert_eq!(app.get(&format!("/api/v1/livechat/{path}"), session).await, (status, body), "{path}");
    }
});

both_backends!(an_agents_departments_are_listed_with_their_names, clock = START, |app| {
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let colleague = app.user_with_roles("colleague", &["user", "livechat-agent"]).await;
    let sales = department(&app, "Sales", &[&agent, &colleague]).await;
    let service = department(&app, "Service", &[&colleague]).await;
    let archive = format!("/api/v1/livechat/department/{service}/archive");
    assert_eq!(app.post(&archive, Some(&app.admin), json!({})).await.0, StatusCode::OK);
    let entry = |department_id: &str, name: &str, enabled: bool| {
        json!({
            "_id": format!("{department_id}-{}", colleague.user_id), "agentId": colleague.user_id,
            "departmentId": department_id, "departmentName": name, "username": "colleague", "count": 0, "order": 0,
            "departmentEnabled": enabled, "_updatedAt": START_TEXT,
        })
    };
    let path = format!("/api/v1/livechat/agents/{}/departments", colleague.user_id);
    let answer = async |session: &Session, query: &str| app.get(&format!("{path}{query}"), Some(session)).await;
    let departments = |entries: Vec<Value>| json!({"departments": entries, "success": true});
    assert_eq!(
        answer(&app.admin, "").await,
        (StatusCode::OK, departments(vec![entry(&sales, "Sales", true), entry(&service, "Service", false)]))
    );
    assert_eq!(
        answer(&app.admin, "?enabledDepartmentsOnly=true").await,
        (StatusCode::OK, departments(vec![entry(&sales, "Sales", true)]))
    );
    // The agent reads through view-l-room: only the departments it serves in too.
    assert_eq!(answer(&agent, "").await, (StatusCode::OK, departments(vec![entry(&sales, "Sales", true)])));
    assert_eq!(
        app.get("/api/v1/livechat/agents/nobody/departments", Some(&app.admin)).await,
        (StatusCode::OK, departments(vec![]))
    );
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "a".repeat(257);
    let refused = [
        (
            format!("{path}?enabledDepartmentsOnly=sure"),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("/enabledDepartmentsOnly must be boolean"),
        ),
        (
            format!("{path}?extra=1"),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("must NOT have additional properties"),
        ),
        (
            format!("/api/v1/livechat/agents/{long}/departments"),
            Some(&agent),
            StatusCode::BAD_REQUEST,
            invalid_params("/agentId must NOT have more than 256 characters"),
        ),
        (path.clone(), Some(&plain), StatusCode::FORBIDDEN, no_permission()),
        (path.clone(), None, StatusCode::UNAUTHORIZED, not_logged_in()),
    ];
    for (path, session, status, body) in refused {
        assert_eq!(app.get(&path, session).await, (status, body), "{path}");
    }
});
