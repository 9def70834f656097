//! Rocket.Chat's own answers where this server once answered otherwise: visitor rooms,
//! the room, agent and department lists and their filters, agent status, departments'
//! closing tags and fallback, visitors found by phone, and the settings
//! Livechat_accept_chats_with_no_agents and
//! Livechat_Allow_collect_and_store_HTTP_header_informations.

use std::collections::HashSet;

use livechat_server::domain::time::iso;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission};
use crate::harness::{START, TestApp, both_backends, send};
use crate::lifecycle::{available_agent, department, visitor_with_room};
use crate::settings::{allow_department_removal, set_setting};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// Registers a visitor with these fields; returns the whole answer.
async fn register(app: &TestApp, visitor: Value) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/visitor", None, json!({ "visitor": visitor })).await
}

/// The visitor as GET livechat/visitor/{token} shows it.
async fn visitor_view(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["visitor"].clone()
}

/// Every room as the administrator lists it, by id.
async fn rooms_by_id(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/livechat/rooms", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"].as_array().unwrap().clone()
}

/// A page of the room list holding exactly `rooms`.
fn room_page(rooms: &[&Value]) -> Value {
    json!({"rooms": rooms, "count": rooms.len(), "offset": 0, "total": rooms.len(), "success": true})
}

fn room_with_id<'a>(rooms: &'a [Value], id: &str) -> &'a Value {
    rooms.iter().find(|room| room["_id"] == json!(id)).expect("the room is listed")
}

fn department_body(name: &str, extra: Value) -> Value {
    let mut fields = json!({"name": name, "enabled": true, "email": "desk@example.com",
                            "showOnRegistration": true, "showOnOfflineForm": true});
    fields.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({ "department": fields })
}

both_backends!(a_room_id_never_opens_a_room_and_another_visitors_room_is_invalid, |app| {
    let (token, room_id) = visitor_with_room(&app, "owner-token", None).await;
    assert_eq!(register(&app, json!({"token": "other-token"})).await.0, StatusCode::OK);
    let invalid_room = (StatusCode::BAD_REQUEST, bare("invalid-room"));

    // An unknown rid is refused and opens nothing: the visitor's next plain request still
    // opens its first room.
    assert_eq!(app.get("/api/v1/livechat/room?token=other-token&rid=no-such-room", None).await, invalid_room);
    let (status, opened) = app.get("/api/v1/livechat/room?token=other-token", None).await;
    assert_eq!((status, opened["newRoom"].clone()), (StatusCode::OK, json!(true)));

    // The owner's room, named by another visitor's token, is as unknown.
    assert_eq!(app.get(&format!("/api/v1/livechat/room?token=other-token&rid={room_id}"), None).await, invalid_room);
    assert_eq!(
        app.post("/api/v1/livechat/message", None, json!({"token": "other-token", "rid": room_id, "msg": "hi"})).await,
        invalid_room
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=other-token"), None).await,
        invalid_room
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.close", None, json!({"token": "other-token", "rid": room_id})).await,
        invalid_room
    );
    // The owner's room is untouched.
    let (status, own) = app.get(&format!("/api/v1/livechat/room?token={token}&rid={room_id}"), None).await;
    assert_eq!(
        (status, own["room"]["open"].clone(), own["newRoom"].clone()),
        (StatusCode::OK, json!(true), json!(false))
    );
});

both_backends!(room_list_without_view_livechat_rooms_is_forbidden_unauthorized, |app| {
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let unauthorized = (StatusCode::FORBIDDEN, bare("unauthorized"));
    assert_eq!(app.get("/api/v1/livechat/rooms", Some(&plain)).await, unauthorized);
    assert_eq!(app.get("/api/v1/livechat/rooms", Some(&agent)).await, unauthorized);
    assert_eq!(app.get("/api/v1/livechat/rooms?agents[]=someone-else", Some(&agent)).await, unauthorized);
    // Its own rooms only, an agent may list.
    assert_eq!(
        app.get(&format!("/api/v1/livechat/rooms?agents[]={}", agent.user_id), Some(&agent)).await,
        (StatusCode::OK, room_page(&[]))
    );
});

both_backends!(users_of_an_unknown_type_are_an_invalid_type, |app| {
    for path in ["/api/v1/livechat/users/bots", "/api/v1/livechat/users/bots/some-id"] {
        assert_eq!(app.get(path, Some(&app.admin)).await, (StatusCode::BAD_REQUEST, bare("Invalid type")));
    }
});

both_backends!(agent_list_takes_rocket_chats_filters, |app| {
    let ann = available_agent(&app, "ann").await;
    let bob = app.user_with_roles("bob", &["user", "livechat-agent"]).await;
    let (_, all) = app.get("/api/v1/livechat/users/agent", Some(&app.admin)).await;
    let user =
        |id: &str| all["users"].as_array().unwrap().iter().find(|user| user["_id"] == json!(id)).unwrap().clone();
    let page = |users: Vec<Value>| json!({"users": users, "count": users.len(), "offset": 0, "total": users.len(), "success": true});
    assert_eq!(
        app.get("/api/v1/livechat/users/agent?onlyAvailable=true&showIdleAgents=true", Some(&app.admin)).await,
        (StatusCode::OK, page(vec![user(&ann.user_id)]))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/users/agent?excludeId={}", ann.user_id), Some(&app.admin)).await,
        (StatusCode::OK, page(vec![user(&bob.user_id)]))
    );
});

both_backends!(agent_status_of_a_non_agent_is_agent_not_found_before_the_permission_check, |app| {
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    let other = app.user_with_roles("other", &["user", "livechat-agent"]).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let not_found = (StatusCode::NOT_FOUND, bare("Agent not found"));
    for agent_id in ["no-such-user", plain.user_id.as_str()] {
        // Not permitted to set another agent's status, the caller still hears 404 first.
        assert_eq!(
            app.post("/api/v1/livechat/agent.status", Some(&agent), json!({"agentId": agent_id})).await,
            not_found
        );
        assert_eq!(
            app.post("/api/v1/livechat/agent.status", Some(&app.admin), json!({"agentId": agent_id})).await,
            not_found
        );
    }
    assert_eq!(
        app.post("/api/v1/livechat/agent.status", Some(&agent), json!({"agentId": other.user_id})).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    // A status the other agent already has is answered before the permission check.
    assert_eq!(
        app.post(
            "/api/v1/livechat/agent.status",
            Some(&agent),
            json!({"agentId": other.user_id, "status": "not-available"})
        )
        .await,
        (StatusCode::OK, json!({"status": "not-available", "success": true}))
    );
    // The administrator is no agent itself.
    assert_eq!(app.post("/api/v1/livechat/agent.status", Some(&app.admin), json!({})).await, not_found);
    // A deactivated agent (no route deactivates users yet) keeps its status.
    app.execute("UPDATE users SET active = FALSE WHERE username = 'other'").await;
    assert_eq!(
        app.post("/api/v1/livechat/agent.status", Some(&app.admin), json!({"agentId": other.user_id})).await,
        (StatusCode::BAD_REQUEST, bare("error-user-deactivated"))
    );
});

both_backends!(unknown_visitor_token_is_a_meteor_invalid_token, |app| {
    assert_eq!(
        app.get("/api/v1/livechat/visitor/no-such-token", None).await,
        (StatusCode::BAD_REQUEST, coded_without_reason("invalid-token"))
    );
});

fn coded_without_reason(code: &str) -> Value {
    json!({"success": false, "error": format!("[{code}]"), "errorType": code})
}

both_backends!(department_names_order_bytewise_then_by_id, |app| {
    let mut created = Vec::new();
    for name in ["beta", "Alpha", "alpha", "BETA", "_alpha"] {
        let (status, body) =
            app.post("/api/v1/livechat/department", Some(&app.admin), department_body(name, json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        created.push(body["department"].clone());
    }
    let named = |name: &str| created.iter().find(|department| department["name"] == json!(name)).unwrap().clone();
    let page = |names: &[&str]| {
        let departments: Vec<Value> = names.iter().map(|name| named(name)).collect();
        json!({"departments": departments, "count": names.len(), "offset": 0, "total": names.len(), "success": true})
    };
    assert_eq!(
        app.get("/api/v1/livechat/department?text=ALPHA", Some(&app.admin)).await,
        (StatusCode::OK, page(&["Alpha", "_alpha", "alpha"]))
    );
    assert_eq!(
        app.get("/api/v1/livechat/department?text=", Some(&app.admin)).await,
        (StatusCode::OK, page(&["Alpha", "BETA", "_alpha", "alpha", "beta"]))
    );
    // A negative count asks for that many, as MongoDB's negative limit; a negative
    // offset is refused in MongoDB's words.
    assert_eq!(
        app.get("/api/v1/livechat/department?count=-2", Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"departments": [named("Alpha"), named("BETA")], "count": 2, "offset": 0, "total": 5, "success": true})
        )
    );
    assert_eq!(
        app.get("/api/v1/livechat/department/no-such-id/agents?offset=-4", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare("BSON field 'skip' value must be >= 0, actual value '-4'"))
    );
    let alpha = named("alpha")["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(
            &format!("/api/v1/livechat/department?text=alpha&showArchived=true&onlyMyDepartments=true&excludeDepartmentId={alpha}"),
            Some(&app.admin)
        )
        .await,
        (StatusCode::OK, page(&["Alpha", "_alpha"]))
    );
});

both_backends!(departments_keep_closing_tags_and_a_fallback, |app| {
    let create = "/api/v1/livechat/department";
    let no_tags = coded(
        "error-validating-department-chat-closing-tags",
        "At least one closing tag is required when the department requires tag(s) on closing conversations.",
    );
    let without_tags = department_body("Sales", json!({"requestTagBeforeClosingChat": true}));
    assert_eq!(app.post(create, Some(&app.admin), without_tags).await, (StatusCode::BAD_REQUEST, no_tags.clone()));
    let empty_tags = department_body("Sales", json!({"requestTagBeforeClosingChat": true, "chatClosingTags": []}));
    assert_eq!(app.post(create, Some(&app.admin), empty_tags).await, (StatusCode::BAD_REQUEST, no_tags));
    let text_tags = department_body("Sales", json!({"requestTagBeforeClosingChat": true, "chatClosingTags": "won"}));
    assert_eq!(
        app.post(create, Some(&app.admin), text_tags).await,
        (StatusCode::BAD_REQUEST, invalid_params("/department/chatClosingTags must be array"))
    );
    let (_, fallback) = app.post(create, Some(&app.admin), department_body("Fallback", json!({}))).await;
    let fallback_id = fallback["department"]["_id"].as_str().unwrap().to_owned();
    let (status, sales) = app
        .post(
            create,
            Some(&app.admin),
            department_body(
                "Sales",
                json!({"requestTagBeforeClosingChat": true, "chatClosingTags": ["won", "lost"],
                       "fallbackForwardDepartment": fallback_id, "departmentsAllowedToForward": [fallback_id],
                       "allowReceiveForwardOffline": false}),
            ),
        )
        .await;
    let sales_id = sales["department"]["_id"].as_str().unwrap().to_owned();
    let updated_at = sales["department"]["_updatedAt"].clone();
    assert_eq!(
        (status, sales),
        (
            StatusCode::OK,
            json!({
                "department": {
                    "_id": sales_id, "enabled": true, "name": "Sales", "description": "",
                    "email": "desk@example.com", "showOnRegistration": true, "showOnOfflineForm": true,
                    "numAgents": 0, "_updatedAt": updated_at, "type": "d",
                    "requestTagBeforeClosingChat": true, "chatClosingTags": ["won", "lost"],
                    "fallbackForwardDepartment": fallback_id, "departmentsAllowedToForward": [fallback_id],
                    "allowReceiveForwardOffline": false,
                },
                "agents": [],
                "success": true,
            })
        )
    );
    let path = format!("{create}/{sales_id}");
    assert_eq!(
        app.put(&path, Some(&app.admin), department_body("Sales", json!({"fallbackForwardDepartment": sales_id})))
            .await,
        (
            StatusCode::BAD_REQUEST,
            coded(
                "error-fallback-department-circular",
                "Cannot save department. Circular reference between fallback department and department"
            )
        )
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), department_body("Sales", json!({"fallbackForwardDepartment": "no-such-id"})))
            .await,
        (StatusCode::BAD_REQUEST, coded("error-fallback-department-not-found", "Fallback department not found"))
    );
    // A change without the tag fields keeps them.
    let (status, updated) = app.put(&path, Some(&app.admin), department_body("Sales desk", json!({}))).await;
    assert_eq!(
        (
            status,
            updated["department"]["chatClosingTags"].clone(),
            updated["department"]["fallbackForwardDepartment"].clone()
        ),
        (StatusCode::OK, json!(["won", "lost"]), json!(fallback_id))
    );
});

both_backends!(unknown_departments_answer_as_rocket_chat, |app| {
    let path = "/api/v1/livechat/department/no-such-id";
    let not_found = (StatusCode::BAD_REQUEST, coded("error-department-not-found", "Department not found"));
    assert_eq!(app.put(path, Some(&app.admin), department_body("Sales", json!({}))).await, not_found);
    assert_eq!(
        app.post(&format!("{path}/agents"), Some(&app.admin), json!({"upsert": [], "remove": []})).await,
        not_found
    );
    assert_eq!(
        app.get(path, Some(&app.admin)).await,
        (StatusCode::OK, json!({"department": null, "agents": [], "success": true}))
    );
    assert_eq!(
        app.get(&format!("{path}/agents"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"agents": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
    allow_department_removal(&app).await;
    assert_eq!(app.delete(path, Some(&app.admin)).await, (StatusCode::BAD_REQUEST, bare("error-department-not-found")));
});

both_backends!(a_user_who_is_no_longer_an_agent_can_still_join_a_department, |app| {
    let former = app.user_with_roles("former", &["user", "livechat-agent"]).await;
    assert_eq!(
        app.delete(&format!("/api/v1/livechat/users/agent/{}", former.user_id), Some(&app.admin)).await.0,
        StatusCode::OK
    );
    let id = department(&app, "Sales", &[]).await;
    assert_eq!(
        app.post(
            &format!("/api/v1/livechat/department/{id}/agents"),
            Some(&app.admin),
            json!({"upsert": [{"agentId": former.user_id, "username": "former"}], "remove": []})
        )
        .await,
        (StatusCode::OK, json!({"success": true}))
    );
    let (status, agents) = app.get(&format!("/api/v1/livechat/department/{id}/agents"), Some(&app.admin)).await;
    assert_eq!(
        (status, agents["agents"][0]["agentId"].clone(), agents["total"].clone()),
        (StatusCode::OK, json!(former.user_id), json!(1))
    );
    // No user at all still cannot.
    assert_eq!(
        app.post(
            &format!("/api/v1/livechat/department/{id}/agents"),
            Some(&app.admin),
            json!({"upsert": [{"agentId": "no-such-user", "username": "ghost"}], "remove": []})
        )
        .await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-agent", "Invalid agent"))
    );
});

both_backends!(a_new_token_with_a_known_phone_reaches_that_visitor, clock = START, |app| {
    let (status, first) =
        register(&app, json!({"token": "first-token", "phone": "+55 51 5555-1234", "name": "Marcos"})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let id = first["visitor"]["_id"].clone();
    let expected = json!({
        "visitor": {
            "_id": id, "username": "guest-1", "status": "online", "ts": iso(START), "_updatedAt": iso(START),
            "token": "first-token", "name": "Marcos", "phone": [{"phoneNumber": "+55 51 5555-1234"}],
        },
        "success": true,
    });
    assert_eq!((status, first), (StatusCode::OK, expected.clone()));
    // Spaces, dashes, dots and brackets aside, the number is the same: the visitor keeps
    // its token and takes the number as now written, as Rocket.Chat's.
    let mut rewritten = expected;
    rewritten["visitor"]["phone"] = json!([{"phoneNumber": "+55 (51) 5555.1234"}]);
    assert_eq!(
        register(&app, json!({"token": "second-token", "phone": "+55 (51) 5555.1234"})).await,
        (StatusCode::OK, rewritten)
    );
    assert_eq!(
        app.get("/api/v1/livechat/visitor/second-token", None).await,
        (StatusCode::BAD_REQUEST, coded_without_reason("invalid-token"))
    );
    // A known token whose new number another visitor has keeps its own number.
    let (_, other) = register(&app, json!({"token": "other-token", "phone": "+1 555 0100"})).await;
    let (status, kept) = register(&app, json!({"token": "other-token", "phone": "+55 51 5555-1234"})).await;
    assert_eq!((status, kept), (StatusCode::OK, other));
});

both_backends!(concurrent_registrations_with_one_phone_make_one_visitor, clock = START, |app| {
    let tokens: Vec<String> = (0..8).map(|n| format!("token-{n}")).collect();
    let answers = futures::future::join_all(
        tokens.iter().map(|token| register(&app, json!({"token": token, "phone": "+49 30 1234567"}))),
    )
    .await;
    let (status, first) = answers[0].clone();
    assert_eq!(status, StatusCode::OK, "{first}");
    for answer in &answers {
        assert_eq!(answer, &(StatusCode::OK, first.clone()));
    }
    let winner = first["visitor"]["token"].as_str().unwrap();
    assert!(tokens.iter().any(|token| token == winner));
    let mut found = HashSet::new();
    for token in &tokens {
        let (status, _) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
        if status == StatusCode::OK {
            found.insert(token.clone());
        }
    }
    assert_eq!(found, HashSet::from([winner.to_owned()]));
});

both_backends!(http_headers_are_kept_only_while_the_setting_allows, clock = START, |app| {
    let register_with_headers = |token: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/livechat/visitor"))
            .header("user-agent", "widget-test/1.0")
            .header("x-real-ip", "203.0.113.7")
            .json(&json!({"visitor": {"token": token}}));
        send(request)
    };
    let (status, plain) = register_with_headers("plain-token").await;
    assert_eq!(
        (status, plain),
        (
            StatusCode::OK,
            json!({"visitor": {"_id": visitor_view(&app, "plain-token").await["_id"], "username": "guest-1",
                   "status": "online", "ts": iso(START), "_updatedAt": iso(START), "token": "plain-token"},
                   "success": true})
        )
    );
    set_setting(&app, "Livechat_Allow_collect_and_store_HTTP_header_informations", json!(true)).await;
    let (status, kept) = register_with_headers("kept-token").await;
    let host = app.base.trim_start_matches("http://").to_owned();
    assert_eq!(
        (status, kept),
        (
            StatusCode::OK,
            json!({"visitor": {"_id": visitor_view(&app, "kept-token").await["_id"], "username": "guest-2",
                   "status": "online", "ts": iso(START), "_updatedAt": iso(START), "token": "kept-token",
                   "ip": "203.0.113.7", "userAgent": "widget-test/1.0", "host": host},
                   "success": true})
        )
    );
    // Only a new visitor's headers are kept: the first visitor stays without.
    let (_, again) = register_with_headers("plain-token").await;
    assert_eq!(again["visitor"].get("ip"), None);
});

both_backends!(without_accepting_chats_with_no_agents_a_room_needs_an_available_agent, |app| {
    set_setting(&app, "Livechat_accept_chats_with_no_agents", json!(false)).await;
    let no_agent = (StatusCode::BAD_REQUEST, coded("no-agent-online", "Sorry, no online agents"));
    assert_eq!(register(&app, json!({"token": "visitor-token"})).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/livechat/room?token=visitor-token", None).await, no_agent);
    // An agent who is not available does not count.
    let ann = app.user_with_roles("ann", &["user", "livechat-agent"]).await;
    assert_eq!(app.get("/api/v1/livechat/room?token=visitor-token", None).await, no_agent);

    // A department counts only its own agents and those of the departments its fallback
    // chain leads to.
    let sales = department(&app, "Sales", &[&ann]).await;
    let bob = available_agent(&app, "bob").await;
    let support = department(&app, "Support", &[&bob]).await;
    let empty = department(&app, "Empty", &[]).await;
    assert_eq!(app.get(&format!("/api/v1/livechat/room?token=visitor-token&department={sales}"), None).await, no_agent);
    // Sales -> Empty -> Sales is a circle without an available agent; Empty -> Support ends it.
    for (from, to) in [(&sales, &empty), (&empty, &sales)] {
        let name = if from == &sales { "Sales" } else { "Empty" };
        let body = department_body(name, json!({"fallbackForwardDepartment": to}));
        let (status, _) = app.put(&format!("/api/v1/livechat/department/{from}"), Some(&app.admin), body).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(app.get(&format!("/api/v1/livechat/room?token=visitor-token&department={sales}"), None).await, no_agent);
    let body = department_body("Empty", json!({"fallbackForwardDepartment": support}));
    let (status, _) = app.put(&format!("/api/v1/livechat/department/{empty}"), Some(&app.admin), body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, opened) =
        app.get(&format!("/api/v1/livechat/room?token=visitor-token&department={sales}"), None).await;
    assert_eq!(
        (status, opened["newRoom"].clone(), opened["room"]["departmentId"].clone()),
        (StatusCode::OK, json!(true), json!(sales))
    );

    // Without a department, any available agent will do; an open room is found as before.
    assert_eq!(register(&app, json!({"token": "second-token"})).await.0, StatusCode::OK);
    let (status, second) = app.get("/api/v1/livechat/room?token=second-token", None).await;
    assert_eq!((status, second["newRoom"].clone()), (StatusCode::OK, json!(true)));
    let (status, again) = app.get("/api/v1/livechat/room?token=second-token", None).await;
    assert_eq!(
        (status, again["newRoom"].clone(), again["room"]["_id"].clone()),
        (StatusCode::OK, json!(false), second["room"]["_id"].clone())
    );
});

both_backends!(room_list_applies_rocket_chats_filters, clock = START, |app| {
    let (_, alice) = visitor_with_room(&app, "alice-token", None).await;
    app.clock.advance(DAY);
    let (_, bob) = visitor_with_room(&app, "bob-token", None).await;
    app.clock.advance(DAY);
    let (status, _) =
        app.post("/api/v1/livechat/room.close", None, json!({"token": "alice-token", "rid": alice})).await;
    assert_eq!(status, StatusCode::OK);
    let all = rooms_by_id(&app).await;
    let (alice_room, bob_room) = (room_with_id(&all, &alice), room_with_id(&all, &bob));
    let list = |query: String| {
        let app = &app;
        async move { app.get(&format!("/api/v1/livechat/rooms?{query}"), Some(&app.admin)).await }
    };
    let encoded = |value: Value| url::form_urlencoded::byte_serialize(value.to_string().as_bytes()).collect::<String>();

    assert_eq!(
        list(format!("createdAt={}", encoded(json!({"start": iso(START + DAY)})))).await,
        (StatusCode::OK, room_page(&[bob_room]))
    );
    assert_eq!(
        list(format!("createdAt={}", encoded(json!({"end": iso(START)})))).await,
        (StatusCode::OK, room_page(&[alice_room]))
    );
    assert_eq!(
        list(format!("createdAt={}", encoded(json!({"start": "2026-01-01", "end": iso(START + 2 * DAY)})))).await,
        (StatusCode::OK, room_page(&[bob_room, alice_room]))
    );
    assert_eq!(
        list(format!("closedAt={}", encoded(json!({"start": iso(START)})))).await,
        (StatusCode::OK, room_page(&[alice_room]))
    );
    assert_eq!(list("roomName=ALICE".into()).await, (StatusCode::OK, room_page(&[alice_room])));
    assert_eq!(list("queued=true".into()).await, (StatusCode::OK, room_page(&[bob_room])));
    assert_eq!(list("queued=false".into()).await, (StatusCode::OK, room_page(&[bob_room, alice_room])));
    for unmatchable in
        ["tags=vip", "tags[]=vip", "units[]=north", "onhold=true", "customFields=%7B%22plan%22%3A%22gold%22%7D"]
    {
        assert_eq!(list(unmatchable.into()).await, (StatusCode::OK, room_page(&[])), "{unmatchable}");
    }
    assert_eq!(
        list("customFields=%7B%7D&onhold=false".into()).await,
        (StatusCode::OK, room_page(&[bob_room, alice_room]))
    );
    assert_eq!(list("fields=%7B%22fname%22%3A1%7D".into()).await, (StatusCode::OK, room_page(&[bob_room, alice_room])));
    let mut by_id = [alice_room, bob_room];
    by_id.sort_by(|a, b| a["_id"].as_str().unwrap().as_bytes().cmp(b["_id"].as_str().unwrap().as_bytes()));
    assert_eq!(list("sort=%7B%22_id%22%3A1%7D".into()).await, (StatusCode::OK, room_page(&by_id)));

    assert_eq!(
        list(format!("createdAt={}", encoded(json!({"start": "not a date"})))).await,
        (StatusCode::BAD_REQUEST, bare("The \"createdAt.start\" query parameter must be a valid date."))
    );
    assert_eq!(
        list(format!("closedAt={}", encoded(json!({"end": 5})))).await,
        (StatusCode::BAD_REQUEST, bare("The \"closedAt.end\" query parameter must be a valid date."))
    );
    assert_eq!(
        list("customFields=plan".into()).await,
        (StatusCode::BAD_REQUEST, bare("The \"customFields\" query parameter must be a valid JSON."))
    );
    assert_eq!(
        list("fields=%7B%22fname%22%3A2%7D".into()).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-fields", "Invalid fields parameter provided: \"{\"fname\":2}\"")
        )
    );
    assert_eq!(
        list("sort=%7B%22v.token%22%3A1%7D".into()).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"v.token\":1}\""))
    );
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(
        app.get("/api/v1/livechat/rooms?queued=true", Some(&plain)).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(app.get("/api/v1/livechat/users/agent", Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
});
