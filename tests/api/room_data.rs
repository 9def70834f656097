//! Reading livechat rooms as Rocket.Chat clients check them (rooms.info, rooms.get,
//! subscriptions.getOne, channels.info, groups.info), searching a room's messages
//! (chat.search), the rooms' sources (livechat/rooms/filters) and the visitor's survey
//! (livechat/room.survey): whole answers, and who may see what.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_messages::{room_of, send, served_room};
use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, visitor_with_room};

const START_TEXT: &str = "2026-01-02T03:04:05.678Z";

fn refused(error: &str) -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, bare(error))
}

fn no_such_room(kind: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        coded(
            "error-room-not-found",
            &format!("The required \"roomId\" or \"roomName\" param provided does not match any {kind}"),
        ),
    )
}

fn no_room_param() -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        coded("error-roomid-param-not-provided", "The parameter \"roomId\" or \"roomName\" is required"),
    )
}

async fn survey(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/livechat/room.survey", None, body).await
}

async fn info(app: &TestApp, session: Option<&Session>, query: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/rooms.info?{query}"), session).await
}

async fn search(app: &TestApp, session: Option<&Session>, query: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/chat.search?{query}"), session).await
}

/// A plain message of the agent `username`, written at START.
fn agent_message(id: &str, room_id: &str, msg: &str, agent: &Session, username: &str) -> Value {
    json!({
        "_id": id, "rid": room_id, "msg": msg, "ts": START_TEXT,
        "u": {"_id": agent.user_id, "username": username, "name": username}, "_updatedAt": START_TEXT,
        "urls": [], "mentions": [], "channels": [],
        "md": [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": msg}]}],
    })
}

both_backends!(the_visitors_survey_answers_are_kept_on_the_room, |app| {
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let answers = json!([
        {"name": "satisfaction", "value": "5"},
        {"name": "agentKnowledge", "value": "3"},
        {"name": "question", "value": "answer"},
        {"name": "agentFriendliness", "value": "9"},
        {"name": "additionalFeedback", "value": "Quick and kind"},
    ]);
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id, "data": answers})).await,
        (
            StatusCode::OK,
            json!({"rid": room_id, "data": {"satisfaction": "5", "agentKnowledge": "3",
                   "additionalFeedback": "Quick and kind"}, "success": true})
        )
    );
    let room = room_of(&app, "tok-1", &room_id).await;
    assert_eq!(
        room["surveyFeedback"],
        json!({"satisfaction": "5", "agentKnowledge": "3", "additionalFeedback": "Quick and kind"})
    );

    // New answers replace the earlier ones, also once the room is closed.
    let (status, _) = app.post("/api/v1/livechat/room.close", None, json!({"token": "tok-1", "rid": room_id})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id, "data": [{"name": "satisfaction", "value": "4"}]})).await,
        (StatusCode::OK, json!({"rid": room_id, "data": {"satisfaction": "4"}, "success": true}))
    );
    assert_eq!(
        app.column_strings("SELECT survey_feedback FROM rooms").await,
        vec![r#"{"satisfaction":"4"}"#.to_owned()]
    );
});

both_backends!(survey_answers_are_refused_as_rocket_chat_refuses_them, |app| {
    let (_, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    let good = json!([{"name": "satisfaction", "value": "5"}]);

    assert_eq!(
        survey(&app, json!({"token": "no-such-token", "rid": room_id, "data": good})).await,
        refused("invalid-token")
    );
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": "no-such-room", "data": good})).await,
        refused("invalid-room")
    );
    assert_eq!(survey(&app, json!({"token": "tok-1", "rid": other_room, "data": good})).await, refused("invalid-room"));
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id, "data": [{"name": "question", "value": "answer"}]}))
            .await,
        refused("invalid-data")
    );
    assert_eq!(survey(&app, json!({"token": "tok-1", "rid": room_id, "data": []})).await, refused("invalid-data"));
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'data'"))
    );
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id, "data": {"satisfaction": "5"}})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/data must be array"))
    );
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id, "data": [{"name": "satisfaction"}]})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'value'"))
    );
    let long = json!([{"name": "additionalFeedback", "value": "x".repeat(5001)}]);
    assert_eq!(
        survey(&app, json!({"token": "tok-1", "rid": room_id, "data": long})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/data/0/value must NOT have more than 5000 characters"))
    );
    assert_eq!(
        app.column_strings("SELECT survey_feedback FROM rooms WHERE survey_feedback IS NOT NULL").await,
        Vec::<String>::new()
    );
});

both_backends!(room_filters_list_the_sources_of_the_rooms, |app| {
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(
        app.get("/api/v1/livechat/rooms/filters", Some(&app.admin)).await,
        (StatusCode::OK, json!({"filters": [], "success": true}))
    );
    visitor_with_room(&app, "tok-1", None).await;
    visitor_with_room(&app, "tok-2", None).await;
    assert_eq!(
        app.get("/api/v1/livechat/rooms/filters", Some(&app.admin)).await,
        (StatusCode::OK, json!({"filters": [{"type": "api"}], "success": true}))
    );
    assert_eq!(app.get("/api/v1/livechat/rooms/filters", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get("/api/v1/livechat/rooms/filters", Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
});

both_backends!(rooms_info_and_channels_info_show_a_room_to_those_who_may_see_it, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let room = room_of(&app, "tok-1", &room_id).await;
    let query = format!("roomId={room_id}");

    assert_eq!(
        info(&app, Some(&agent), &query).await,
        (StatusCode::OK, json!({"room": room.clone(), "success": true}))
    );
    assert_eq!(info(&app, Some(&app.admin), &format!("{query}&fields=%7B%22fname%22%3A1%7D")).await.0, StatusCode::OK);
    assert_eq!(
        app.get(&format!("/api/v1/channels.info?{query}"), Some(&agent)).await,
        (StatusCode::OK, json!({"channel": room, "success": true}))
    );
    // An agent who neither serves nor joined the room.
    assert_eq!(
        info(&app, Some(&other), &query).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "not-allowed", "errorType": "Not Allowed"}))
    );
    assert_eq!(
        app.get(&format!("/api/v1/channels.info?{query}"), Some(&other)).await,
        (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    );
    assert_eq!(info(&app, Some(&agent), "roomId=no-such-room").await, no_such_room("channel"));
    assert_eq!(info(&app, Some(&agent), "roomName=general").await, no_such_room("channel"));
    assert_eq!(info(&app, Some(&agent), "").await, no_room_param());
    assert_eq!(info(&app, Some(&agent), "roomId=&roomName=").await, no_room_param());
    assert_eq!(
        info(&app, Some(&agent), &format!("roomId={}", "r".repeat(257))).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must NOT have more than 256 characters"))
    );
    assert_eq!(info(&app, None, &query).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get("/api/v1/channels.info?roomId=no-such-room", Some(&agent)).await, no_such_room("channel"));
    // groups.info serves private groups, which a livechat room is not.
    assert_eq!(app.get(&format!("/api/v1/groups.info?{query}"), Some(&agent)).await, no_such_room("group"));
    assert_eq!(app.get("/api/v1/groups.info", Some(&agent)).await, no_room_param());
    assert_eq!(
        app.get(&format!("/api/v1/groups.info?{query}"), None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

both_backends!(subscriptions_follow_serving_and_joining, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let room = room_of(&app, "tok-1", &room_id).await;
    let subscription = |user: &Session, username: &str| {
        json!({
            "_id": format!("{room_id}-{}", user.user_id), "rid": room_id, "name": "Visitor tok-1",
            "fname": "Visitor tok-1", "t": "l",
            "u": {"_id": user.user_id, "username": username, "name": username},
            "v": room["v"], "open": true, "alert": false, "unread": 0, "userMentions": 0, "groupMentions": 0,
            "ts": START_TEXT, "ls": START_TEXT, "_updatedAt": room["_updatedAt"],
        })
    };
    let get_one = |session: &Session, room_id: &str| {
        let path = format!("/api/v1/subscriptions.getOne?roomId={room_id}");
        let session = session.clone();
        let app = &app;
        async move { app.get(&path, Some(&session)).await }
    };

    assert_eq!(
        get_one(&agent, &room_id).await,
        (StatusCode::OK, json!({"subscription": subscription(&agent, "agent"), "success": true}))
    );
    assert_eq!(get_one(&manager, &room_id).await, (StatusCode::OK, json!({"subscription": null, "success": true})));
    assert_eq!(
        get_one(&manager, "no-such-room").await,
        (StatusCode::OK, json!({"subscription": null, "success": true}))
    );
    assert_eq!(
        app.get("/api/v1/rooms.get", Some(&agent)).await,
        (StatusCode::OK, json!({"update": [room.clone()], "remove": [], "success": true}))
    );
    assert_eq!(
        app.get("/api/v1/rooms.get", Some(&manager)).await,
        (StatusCode::OK, json!({"update": [], "remove": [], "success": true}))
    );
    assert_eq!(
        app.get("/api/v1/rooms.get?updatedSince=2026-01-02T03:04:05.678Z", Some(&agent)).await,
        (StatusCode::OK, json!({"update": [], "remove": [], "success": true}))
    );
    assert_eq!(
        app.get("/api/v1/rooms.get?updatedSince=2026-01-01T00:00:00Z", Some(&agent)).await,
        (StatusCode::OK, json!({"update": [room.clone()], "remove": [], "success": true}))
    );
    assert_eq!(
        app.get("/api/v1/rooms.get?updatedSince=yesterday", Some(&agent)).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-updatedSince-param-invalid", "The \"updatedSince\" query parameter must be a valid date.")
        )
    );

    // Joining subscribes, from the time of the join.
    app.clock.advance(1_000);
    let (status, _) = app.get(&format!("/api/v1/livechat/room.join?roomId={room_id}"), Some(&manager)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get_one(&manager, &room_id).await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = subscription(&manager, "manager");
    expected["ts"] = json!("2026-01-02T03:04:06.678Z");
    expected["ls"] = json!("2026-01-02T03:04:06.678Z");
    expected["_updatedAt"] = body["subscription"]["_updatedAt"].clone();
    assert_eq!(body, json!({"subscription": expected, "success": true}));

    // Closing ends every subscription.
    let (status, _) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(get_one(&agent, &room_id).await, (StatusCode::OK, json!({"subscription": null, "success": true})));
    assert_eq!(get_one(&manager, &room_id).await, (StatusCode::OK, json!({"subscription": null, "success": true})));
    assert_eq!(
        app.get("/api/v1/rooms.get", Some(&agent)).await,
        (StatusCode::OK, json!({"update": [], "remove": [], "success": true}))
    );

    assert_eq!(
        app.get("/api/v1/subscriptions.getOne", Some(&agent)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'roomId'"))
    );
    assert_eq!(
        app.get("/api/v1/subscriptions.getOne?roomId=", Some(&agent)).await,
        refused("The 'roomId' param is required")
    );
    assert_eq!(
        app.get(&format!("/api/v1/subscriptions.getOne?roomId={room_id}"), None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(app.get("/api/v1/rooms.get", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
});

both_backends!(chat_search_finds_a_rooms_messages_by_text, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let (_, other_room) = visitor_with_room(&app, "tok-2", None).await;
    for (id, msg) in [("m-1", "Random thought"), ("m-2", "100% random_ness"), ("m-3", "Nothing here")] {
        assert_eq!(send(&app, &agent, &room_id, id, msg).await.0, StatusCode::OK);
    }
    let found = |ids: &[(&str, &str)]| {
        let messages: Vec<Value> =
            ids.iter().map(|(id, msg)| agent_message(id, &room_id, msg, &agent, "agent")).collect();
        (StatusCode::OK, json!({"messages": messages, "success": true}))
    };

    // Newest first (same time: the later written first), any case.
    assert_eq!(
        search(&app, Some(&agent), &format!("roomId={room_id}&searchText=RANDOM")).await,
        found(&[("m-2", "100% random_ness"), ("m-1", "Random thought")])
    );
    // LIKE's wildcards are taken literally.
    assert_eq!(
        search(&app, Some(&agent), &format!("roomId={room_id}&searchText=%25")).await,
        found(&[("m-2", "100% random_ness")])
    );
    assert_eq!(search(&app, Some(&agent), &format!("roomId={room_id}&searchText=m_t")).await, found(&[]));
    assert_eq!(
        search(&app, Some(&agent), &format!("roomId={room_id}&searchText=random&count=1&offset=1")).await,
        found(&[("m-1", "Random thought")])
    );
    assert_eq!(search(&app, Some(&agent), &format!("roomId={room_id}&searchText=%20")).await, found(&[]));
    // The visitor's messages are found too.
    let (status, body) = search(&app, Some(&agent), &format!("roomId={room_id}&searchText=hello")).await;
    assert_eq!((status, body["messages"][0]["_id"].clone()), (StatusCode::OK, json!("tok-1-hello")));
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);

    // A room the caller may not see, or none.
    assert_eq!(
        search(&app, Some(&other), &format!("roomId={room_id}&searchText=random")).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );
    assert_eq!(
        search(&app, Some(&agent), &format!("roomId={other_room}&searchText=random")).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );
    assert_eq!(
        search(&app, Some(&agent), "roomId=no-such-room&searchText=random").await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );
    assert_eq!(
        search(&app, Some(&agent), &format!("roomId={room_id}")).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'searchText'"))
    );
    assert_eq!(
        search(&app, Some(&agent), &format!("roomId={room_id}&searchText={}", "s".repeat(1025))).await,
        (StatusCode::BAD_REQUEST, invalid_params("/searchText must NOT have more than 1024 characters"))
    );
    assert_eq!(
        search(&app, None, &format!("roomId={room_id}&searchText=random")).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

both_backends!(a_livechat_rooms_messages_are_paged_and_searched_for_agents, clock = START, |app| {
    let agent = available_agent(&app, "agent").await;
    let other = available_agent(&app, "other").await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    for (id, msg) in [("m-1", "Random thought"), ("m-2", "Nothing here")] {
        assert_eq!(send(&app, &agent, &room_id, id, msg).await.0, StatusCode::OK);
    }
    let path = format!("/api/v1/livechat/{room_id}/messages");
    let ids = |body: &Value| -> Vec<Value> {
        body["messages"].as_array().unwrap().iter().map(|message| message["_id"].clone()).collect()
    };

    assert_eq!(
        app.get(&format!("{path}?searchTerm=RAN"), Some(&agent)).await,
        (
            StatusCode::OK,
            json!({"messages": [agent_message("m-1", &room_id, "Random thought", &agent, "agent")],
                   "count": 1, "offset": 0, "total": 1, "success": true})
        )
    );
    let (status, body) = app.get(&path, Some(&agent)).await;
    assert_eq!(
        (status, ids(&body), &body["total"]),
        (StatusCode::OK, vec![json!("m-2"), json!("m-1"), json!("tok-1-hello")], &json!(3))
    );
    let (status, body) = app.get(&format!("{path}?sort=%7B%22ts%22%3A1%7D&count=2&offset=1"), Some(&agent)).await;
    assert_eq!(
        (status, ids(&body), &body["count"], &body["offset"], &body["total"]),
        (StatusCode::OK, vec![json!("m-1"), json!("m-2")], &json!(2), &json!(1), &json!(3))
    );

    // The closing message is listed; other system messages are not.
    let (status, _) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.get(&path, Some(&agent)).await;
    assert_eq!((status, &body["total"]), (StatusCode::OK, &json!(4)));
    assert_eq!(body["messages"][0]["t"], json!("livechat-close"));

    assert_eq!(app.get(&path, Some(&other)).await, refused("not-allowed"));
    assert_eq!(app.get("/api/v1/livechat/no-such-room/messages", Some(&agent)).await, refused("invalid-room"));
    assert_eq!(app.get(&path, Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.get(&path, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(
        app.get(&format!("{path}?sort=%7B%22msg%22%3A1%7D"), Some(&agent)).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"msg\":1}\""))
    );
    assert_eq!(
        app.get(&format!("{path}?searchTerm={}", "s".repeat(1025)), Some(&agent)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/searchTerm must NOT have more than 1024 characters"))
    );
});
