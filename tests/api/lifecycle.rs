//! The livechat lifecycle: visitor registers, opens a room, writes; agents take,
//! return and close; each step through the real HTTP API.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};

/// An agent who is available to take chats.
pub async fn available_agent(app: &TestApp, username: &str) -> Session {
    let agent = app.user_with_roles(username, &["user", "livechat-agent"]).await;
    let (status, body) = app.post("/api/v1/livechat/agent.status", Some(&agent), json!({"status": "available"})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "available", "success": true})));
    agent
}

/// Creates a department with the given agents and returns its id.
pub async fn department(app: &TestApp, name: &str, agents: &[&Session]) -> String {
    let agents: Vec<Value> = agents.iter().map(|agent| json!({"agentId": agent.user_id})).collect();
    let (status, body) = app
        .post(
            "/api/v1/livechat/department",
            Some(&app.admin),
            json!({
                "department": {"name": name, "enabled": true, "email": "support@example.com",
                               "showOnRegistration": true, "showOnOfflineForm": true},
                "agents": agents,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["department"]["_id"].as_str().unwrap().to_owned()
}

/// A visitor with an open room; returns (token, room id, inquiry id).
pub async fn visitor_with_room(app: &TestApp, token: &str, department: Option<&str>) -> (String, String) {
    let mut visitor =
        json!({"token": token, "name": format!("Visitor {token}"), "email": format!("{token}@example.com")});
    if let Some(department) = department {
        visitor["department"] = json!(department);
    }
    let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": visitor})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get(&format!("/api/v1/livechat/room?token={token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let room_id = body["room"]["_id"].as_str().unwrap().to_owned();
    (token.to_owned(), room_id)
}

pub async fn inquiry_of(app: &TestApp, room_id: &str) -> Value {
    let (status, body) =
        app.get(&format!("/api/v1/livechat/inquiries.getOne?roomId={room_id}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["inquiry"].clone()
}

both_backends!(whole_life_of_a_conversation, clock = START, |app| {
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let agent_user = app.user_with_roles("agent", &["user"]).await;
    let (status, body) = app.post("/api/v1/livechat/users/agent", Some(&manager), json!({"username": "agent"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["_id"], json!(agent_user.user_id));
    let agent = agent_user;
    let department_id = department(&app, "Sales", &[&agent]).await;

    // The visitor registers into the department by name, opens a room and writes.
    let (status, body) = app
        .post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "tok-1", "name": "Ada", "email": "ada@example.com", "phone": "+1 555", "department": "Sales"}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let visitor = &body["visitor"];
    let visitor_id = visitor["_id"].as_str().unwrap().to_owned();
    let username = visitor["username"].as_str().unwrap().to_owned();
    assert!(username.starts_with("guest-"));
    assert_eq!(
        body,
        json!({"visitor": {
            "_id": visitor_id, "username": username, "status": "online", "ts": "2026-01-02T03:04:05.678Z",
            "_updatedAt": "2026-01-02T03:04:05.678Z", "token": "tok-1", "name": "Ada",
            "phone": [{"phoneNumber": "+1 555"}], "visitorEmails": [{"address": "ada@example.com"}],
            "department": department_id,
        }, "success": true})
    );
    assert_eq!(app.get("/api/v1/livechat/visitor/tok-1", None).await, (StatusCode::OK, body.clone()));

    // Each later step a second after the one before.
    app.clock.advance(1_000);
    let (status, body) = app.get("/api/v1/livechat/room?token=tok-1", None).await;
    assert_eq!(status, StatusCode::OK);
    let room = &body["room"];
    let room_id = room["_id"].as_str().unwrap().to_owned();
    assert_eq!(room_id.len(), 17);
    let v = json!({"_id": visitor_id, "username": username, "token": "tok-1", "status": "online"});
    assert_eq!(
        body,
        json!({"room": {
            "_id": room_id, "fname": "Ada", "t": "l", "v": v, "departmentId": department_id, "cl": false,
            "open": true, "msgs": 0, "usersCount": 1, "ts": "2026-01-02T03:04:06.678Z",
            "_updatedAt": "2026-01-02T03:04:06.678Z",
            "source": {"type": "api"},
        }, "newRoom": true, "success": true})
    );
    // Asking again returns the same open room.
    let (_, again) = app.get("/api/v1/livechat/room?token=tok-1", None).await;
    assert_eq!((again["room"]["_id"].clone(), again["newRoom"].clone()), (json!(room_id), json!(false)));

    app.clock.advance(1_000);
    let (status, body) = app
        .post("/api/v1/livechat/message", None, json!({"token": "tok-1", "rid": room_id, "msg": "Hello, I need help"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let message = &body["message"];
    let first_message = json!({
        "_id": message["_id"], "rid": room_id, "msg": "Hello, I need help", "token": "tok-1", "alias": "Ada",
        "ts": "2026-01-02T03:04:07.678Z", "u": {"_id": visitor_id, "username": username, "name": "Ada"},
        "_updatedAt": "2026-01-02T03:04:07.678Z", "urls": [], "mentions": [], "channels": [],
        "md": [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "Hello, I need help"}]}],
    });
    assert_eq!(body, json!({"message": first_message, "success": true}));
    app.clock.advance(1_000);
    app.post(
        "/api/v1/livechat/message",
        None,
        json!({"token": "tok-1", "rid": room_id, "msg": "Anyone?", "_id": "client-msg-2"}),
    )
    .await;

    // The inquiry is queued, carries the first message, and the agent sees it.
    let inquiry = inquiry_of(&app, &room_id).await;
    let inquiry_id = inquiry["_id"].as_str().unwrap().to_owned();
    assert_eq!(inquiry_id.len(), 24);
    assert_eq!((inquiry["status"].clone(), inquiry["message"].clone()), (json!("queued"), json!("Hello, I need help")));
    assert_eq!(inquiry["lastMessage"]["_id"], json!("client-msg-2"));
    let (status, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&agent)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue, json!({"inquiries": [inquiry.clone()], "count": 1, "offset": 0, "total": 1, "success": true}));

    // Not available yet: the take is refused; then the agent goes available and takes it.
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-agent-status-service-offline", "Agent status is offline or Omnichannel service is not active")
        )
    );
    assert_eq!(
        app.post("/api/v1/livechat/agent.status", Some(&agent), json!({"status": "available"})).await,
        (StatusCode::OK, json!({"status": "available", "success": true}))
    );
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let taken = inquiry_of(&app, &room_id).await;
    assert_eq!(taken["status"], json!("taken"));
    assert!(taken["takenAt"].is_string());
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&agent)).await;
    assert_eq!(queue, json!({"inquiries": [], "count": 0, "offset": 0, "total": 0, "success": true}));

    // It is served: the manager sees the room with its agent.
    let (status, rooms) =
        app.get(&format!("/api/v1/livechat/rooms?open=true&agents[]={}", agent.user_id), Some(&manager)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((rooms["total"].clone(), rooms["rooms"][0]["_id"].clone()), (json!(1), json!(room_id)));
    assert_eq!(rooms["rooms"][0]["servedBy"]["_id"], json!(agent.user_id));
    assert_eq!(rooms["rooms"][0]["msgs"], json!(2));

    // Returned to the queue, then taken again.
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&agent), json!({"roomId": room_id})).await,
        (StatusCode::OK, json!({"result": true, "success": true}))
    );
    assert_eq!(inquiry_of(&app, &room_id).await["status"], json!("queued"));
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&agent), json!({"roomId": room_id})).await,
        (StatusCode::OK, json!({"result": false, "success": true}))
    );
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await,
        (StatusCode::OK, json!({"success": true}))
    );

    // Closed by the agent: the room is history, the inquiry is gone.
    app.clock.advance(1_000);
    assert_eq!(
        app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id, "comment": "solved"})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(inquiry_of(&app, &room_id).await, Value::Null);
    let (_, rooms) = app.get("/api/v1/livechat/rooms?open=false", Some(&manager)).await;
    assert_eq!(rooms["rooms"][0]["_id"], json!(room_id));
    assert_eq!(rooms["rooms"][0]["open"], json!(false));
    assert_eq!(rooms["rooms"][0]["closer"], json!("user"));
    let (status, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=tok-1"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((history["total"].clone(), history["messages"][0]["t"].clone()), (json!(3), json!("livechat-close")));
    assert_eq!(history["messages"][0]["msg"], json!("solved"));
    assert_eq!(history["messages"][2], first_message);
    assert_eq!(
        app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await,
        (StatusCode::BAD_REQUEST, bare("error-room-already-closed"))
    );
    // A new request for a room opens a fresh conversation.
    let (_, reopened) = app.get("/api/v1/livechat/room?token=tok-1", None).await;
    assert_eq!(reopened["newRoom"], json!(true));
    assert_ne!(reopened["room"]["_id"], json!(room_id));
});

both_backends!(exactly_one_of_many_concurrent_takes_wins, |app| {
    let mut agents = Vec::new();
    for index in 0..20 {
        agents.push(available_agent(&app, &format!("racer{index}")).await);
    }
    let (_, room_id) = visitor_with_room(&app, "race", None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let app = Arc::new(app);
    let takes = agents.into_iter().map(|agent| {
        let app = app.clone();
        let inquiry_id = inquiry_id.clone();
        tokio::spawn(async move {
            app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await
        })
    });
    let results: Vec<(StatusCode, Value)> =
        futures::future::join_all(takes).await.into_iter().map(Result::unwrap).collect();
    let winners = results.iter().filter(|result| **result == (StatusCode::OK, json!({"success": true}))).count();
    let losers = results
        .iter()
        .filter(|result| **result == (StatusCode::BAD_REQUEST, coded("error-inquiry-taken", "Inquiry already taken")))
        .count();
    assert_eq!((winners, losers), (1, 19), "{results:?}");
});

both_backends!(concurrent_room_requests_open_one_room, |app| {
    app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "twin"}})).await;
    let app = Arc::new(app);
    let requests = (0..10).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { app.get("/api/v1/livechat/room?token=twin", None).await })
    });
    let results: Vec<(StatusCode, Value)> =
        futures::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
    assert!(results.iter().all(|(status, _)| *status == StatusCode::OK), "{results:?}");
    let first = results[0].1["room"]["_id"].clone();
    assert!(results.iter().all(|(_, body)| body["room"]["_id"] == first));
    assert_eq!(results.iter().filter(|(_, body)| body["newRoom"] == json!(true)).count(), 1);
});

both_backends!(visitor_routes_reject_bad_input_and_foreign_tokens, |app| {
    assert_eq!(
        app.post("/api/v1/livechat/visitor", None, json!({})).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Missing key 'visitor'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"name": "x"}})).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Missing key 'token' in field visitor"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t", "name": 5}})).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Expected string, got number in field visitor.name"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t", "department": "Nowhere"}})).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-department", "The provided department is invalid"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/visitor/unknown", None).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "[invalid-token]", "errorType": "invalid-token"}))
    );
    assert_eq!(
        app.get("/api/v1/livechat/room", None).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Missing key 'token'"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/room?token=unknown", None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-token"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/room?token=x&color=red", None).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );

    let (_, alice_room) = visitor_with_room(&app, "alice", None).await;
    let (_, _bob_room) = visitor_with_room(&app, "bob", None).await;
    // Bob's token never reaches Alice's room: to Bob it is as unknown as a missing one.
    assert_eq!(
        app.get(&format!("/api/v1/livechat/room?token=bob&rid={alice_room}"), None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/message", None, json!({"token": "bob", "rid": alice_room, "msg": "hi"})).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/messages.history/{alice_room}?token=bob"), None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.close", None, json!({"rid": alice_room, "token": "bob"})).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    // A `rid` never opens a room: an unknown one is refused and creates nothing.
    assert_eq!(
        app.get("/api/v1/livechat/room?token=bob&rid=chosen-by-client", None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/messages.history/chosen-by-client?token=bob", None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/messages.history/{alice_room}?token=alice"), None).await.1["total"],
        json!(0)
    );

    assert_eq!(
        app.post("/api/v1/livechat/message", None, json!({"rid": alice_room, "msg": "hi"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'token'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/message", None, json!({"token": "alice", "rid": alice_room, "msg": 42})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/msg must be string"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/message", None, json!({"token": "alice", "rid": "nope", "msg": "hi"})).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/messages.history/{alice_room}"), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'token'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.close", None, json!({"token": "alice"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'rid'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.close", None, json!({"rid": alice_room, "token": "alice"})).await,
        (StatusCode::OK, json!({"rid": alice_room, "comment": "Closed by visitor", "success": true}))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.close", None, json!({"rid": alice_room, "token": "alice"})).await,
        (StatusCode::BAD_REQUEST, bare("room-closed"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/message", None, json!({"token": "alice", "rid": alice_room, "msg": "still there?"}))
            .await,
        (StatusCode::BAD_REQUEST, bare("room-closed"))
    );
    // GET room names only open rooms: a closed one is unknown to it.
    assert_eq!(
        app.get(&format!("/api/v1/livechat/room?token=alice&rid={alice_room}"), None).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );
    // The closed room stays as history and was closed by the visitor.
    let (_, rooms) = app.get("/api/v1/livechat/rooms?open=false", Some(&app.admin)).await;
    assert_eq!((rooms["total"].clone(), rooms["rooms"][0]["closer"].clone()), (json!(1), json!("visitor")));
});

both_backends!(agent_routes_check_auth_permission_and_input, |app| {
    let agent = available_agent(&app, "worker").await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let (_, room_id) = visitor_with_room(&app, "v1", None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();

    for (path, body) in [
        ("/api/v1/livechat/inquiries.take", json!({"inquiryId": inquiry_id})),
        ("/api/v1/livechat/inquiries.returnAsInquiry", json!({"roomId": room_id})),
        ("/api/v1/livechat/room.closeByUser", json!({"rid": room_id})),
    ] {
        assert_eq!(app.post(path, None, body.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()), "{path}");
        assert_eq!(app.post(path, Some(&plain), json!({})).await, (StatusCode::FORBIDDEN, no_permission()), "{path}");
    }
    for path in ["/api/v1/livechat/inquiries.queuedForUser", "/api/v1/livechat/rooms"] {
        assert_eq!(app.get(path, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()), "{path}");
    }
    assert_eq!(
        app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&plain)).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    // The room list words its refusal as Rocket.Chat's handler does: a bare `unauthorized`.
    assert_eq!(app.get("/api/v1/livechat/rooms", Some(&plain)).await, (StatusCode::FORBIDDEN, bare("unauthorized")));
    // Agents work the queue but do not list every room: only their own, named alone.
    assert_eq!(app.get("/api/v1/livechat/rooms", Some(&agent)).await, (StatusCode::FORBIDDEN, bare("unauthorized")));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/rooms?agents[]={}&agents[]=someone", agent.user_id), Some(&agent)).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/rooms?agents[]={}", plain.user_id), Some(&plain)).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/rooms?agents[]={}", agent.user_id), Some(&agent)).await,
        (StatusCode::OK, json!({"rooms": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );

    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'inquiryId'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": 7})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/inquiryId must be string"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": "000000000000000000000000"}))
            .await,
        (StatusCode::BAD_REQUEST, coded("error-not-found", "Inquiry not found"))
    );
    let other = available_agent(&app, "other").await;
    assert_eq!(
        app.post(
            "/api/v1/livechat/inquiries.take",
            Some(&agent),
            json!({"inquiryId": inquiry_id, "userId": other.user_id})
        )
        .await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&agent), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'roomId'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&agent), json!({"roomId": "nope"})).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-room", "Invalid room"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": "nope"})).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-room", "Invalid room"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'rid'"))
    );
    // A manager may take on behalf of an agent; the other agent may not close it then.
    assert_eq!(
        app.post(
            "/api/v1/livechat/inquiries.take",
            Some(&app.admin),
            json!({"inquiryId": inquiry_id, "userId": other.user_id})
        )
        .await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(
        app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await,
        (StatusCode::BAD_REQUEST, bare("error-not-authorized"))
    );

    let sales = department(&app, "Sales", &[&other]).await;
    assert_eq!(
        app.get(&format!("/api/v1/livechat/inquiries.queuedForUser?department={sales}"), Some(&agent)).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/inquiries.queuedForUser?count=x", Some(&agent)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/count must be number"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/inquiries.queuedForUser?color=red", Some(&agent)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/rooms?open=maybe", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/open must be boolean"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/rooms?sort={\"password\":1}", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"password\":1}\""))
    );
    let bad_json = app
        .client
        .post(app.url("/api/v1/livechat/inquiries.take"))
        .header("X-User-Id", &agent.user_id)
        .header("X-Auth-Token", &agent.token)
        .header("content-type", "application/json")
        .body("{");
    assert_eq!(
        crate::harness::send(bad_json).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-json", "Body is not valid JSON: EOF while parsing an object at line 1 column 1")
        )
    );
});

both_backends!(agents_see_their_departments_and_unassigned_inquiries_only, |app| {
    let sales_agent = available_agent(&app, "seller").await;
    let support_agent = available_agent(&app, "helper").await;
    let sales = department(&app, "Sales", &[&sales_agent]).await;
    let support = department(&app, "Support", &[&support_agent]).await;
    let (_, sales_room) = visitor_with_room(&app, "s1", Some(&sales)).await;
    let (_, support_room) = visitor_with_room(&app, "s2", Some(&support)).await;
    let (_, open_room) = visitor_with_room(&app, "s3", None).await;

    let rooms_of = |body: &Value| -> Vec<String> {
        body["inquiries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|inquiry| inquiry["rid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&sales_agent)).await;
    assert_eq!(rooms_of(&queue), vec![sales_room.clone(), open_room.clone()]);
    assert_eq!(queue["total"], json!(2));
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&support_agent)).await;
    assert_eq!(rooms_of(&queue), vec![support_room.clone(), open_room.clone()]);
    let (_, queue) =
        app.get(&format!("/api/v1/livechat/inquiries.queuedForUser?department={sales}"), Some(&sales_agent)).await;
    assert_eq!(rooms_of(&queue), vec![sales_room.clone()]);
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser?count=1&offset=1", Some(&sales_agent)).await;
    assert_eq!(
        (rooms_of(&queue), queue["total"].clone(), queue["offset"].clone()),
        (vec![open_room.clone()], json!(2), json!(1))
    );

    // Returned into another department (a transfer: the administrator's move), it moves
    // to that department's agents.
    app.post(
        "/api/v1/livechat/inquiries.take",
        Some(&sales_agent),
        json!({"inquiryId": inquiry_of(&app, &sales_room).await["_id"]}),
    )
    .await;
    assert_eq!(
        app.post(
            "/api/v1/livechat/inquiries.returnAsInquiry",
            Some(&app.admin),
            json!({"roomId": sales_room, "departmentId": support})
        )
        .await,
        (StatusCode::OK, json!({"result": true, "success": true}))
    );
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&support_agent)).await;
    assert_eq!(rooms_of(&queue), vec![support_room, open_room, sales_room]);
});
