//! The last routes of Rocket.Chat's contacts family: `omnichannel/contacts.delete`,
//! `.block`, `.unblock` and `.conflicts`, and a blocked channel refusing to open rooms.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::envelopes::{bare, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, TestApp, both_backends};
use crate::lifecycle::visitor_with_room;

const DELETE: &str = "/api/v1/omnichannel/contacts.delete";
const BLOCK: &str = "/api/v1/omnichannel/contacts.block";
const UNBLOCK: &str = "/api/v1/omnichannel/contacts.unblock";
const CONFLICTS: &str = "/api/v1/omnichannel/contacts.conflicts";
const AT_START: &str = "2026-01-02T03:04:05.678Z";
const A_SECOND_LATER: &str = "2026-01-02T03:04:06.678Z";

fn done() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"success": true}))
}

/// Registers a widget visitor and answers its id.
async fn register(app: &TestApp, visitor: Value) -> String {
    let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": visitor})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["visitor"]["_id"].as_str().unwrap().to_owned()
}

async fn visitor_id(app: &TestApp, token: &str) -> String {
    let (status, body) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["visitor"]["_id"].as_str().unwrap().to_owned()
}

async fn close_by_visitor(app: &TestApp, token: &str, room_id: &str) {
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": token})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn contact(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/omnichannel/contacts.get?contactId={id}"), Some(&app.admin)).await
}

async fn channels(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/omnichannel/contacts.channels?contactId={id}"), Some(&app.admin)).await
}

/// The association of the visitor's `api` channel (the rooms livechat/room opens).
fn api_channel(visitor_id: &str) -> Value {
    json!({"visitor": {"visitorId": visitor_id, "source": {"type": "api"}}})
}

both_backends!(a_contact_is_deleted_with_its_rooms_once_none_is_open, |app| {
    let (token, room_id) = visitor_with_room(&app, "t-del", None).await;
    let id = visitor_id(&app, &token).await;
    let (status, body) =
        app.post("/api/v1/livechat/message", None, json!({"token": token, "rid": room_id, "msg": "hi"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Rocket.Chat refuses a contact with an open room.
    assert_eq!(
        app.post(DELETE, Some(&app.admin), json!({"contactId": id})).await,
        (StatusCode::BAD_REQUEST, bare("error-invalid-contact"))
    );
    assert_eq!(contact(&app, &id).await.0, StatusCode::OK);

    close_by_visitor(&app, &token, &room_id).await;
    assert_eq!(app.post(DELETE, Some(&app.admin), json!({"contactId": id})).await, done());
    assert_eq!(
        contact(&app, &id).await,
        (StatusCode::NOT_FOUND, json!({"success": false, "error": "Resource not found"}))
    );
    assert_eq!(app.column_strings("SELECT id FROM visitors").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT id FROM rooms").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT id FROM messages").await, Vec::<String>::new());
    // The token no longer reaches anyone.
    assert_eq!(app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await.0, StatusCode::BAD_REQUEST);

    // Gone is not found; so is a contact that never was.
    for id in [id.as_str(), "nobody"] {
        assert_eq!(
            app.post(DELETE, Some(&app.admin), json!({"contactId": id})).await,
            (StatusCode::NOT_FOUND, bare("error-contact-not-found")),
            "{id}"
        );
    }

    // A contact created through the family, with no room, goes at once.
    let (status, body) = app
        .post(
            "/api/v1/omnichannel/contacts",
            Some(&app.admin),
            json!({"name": "Ada", "emails": ["ada@example.com"], "phones": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ada = body["contactId"].as_str().unwrap().to_owned();
    assert_eq!(app.post(DELETE, Some(&app.admin), json!({"contactId": ada})).await, done());
    assert_eq!(
        app.get("/api/v1/omnichannel/contacts.checkExistence?email=ada%40example.com", Some(&app.admin)).await,
        (StatusCode::OK, json!({"exists": false, "success": true}))
    );
});

both_backends!(contact_deletion_refuses_bad_input_and_callers, |app| {
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "c".repeat(257);
    for (body, expected) in [
        (json!({}), invalid_params("must have required property 'contactId'")),
        (json!({"contactId": 5}), invalid_params("/contactId must be string")),
        (json!({"contactId": "x", "force": true}), invalid_params("must NOT have additional properties")),
        (json!({"contactId": long}), invalid_params("/contactId must NOT have more than 256 characters")),
    ] {
        assert_eq!(
            app.post(DELETE, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    let body = json!({"contactId": "x"});
    assert_eq!(app.post(DELETE, None, body.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(DELETE, Some(&plain), body.clone()).await, (StatusCode::FORBIDDEN, no_permission()));
    // Rocket.Chat grants delete-livechat-contact to admins and managers, not to agents.
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    assert_eq!(app.post(DELETE, Some(&agent), body.clone()).await, (StatusCode::FORBIDDEN, no_permission()));
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    assert_eq!(app.post(DELETE, Some(&manager), body).await, (StatusCode::NOT_FOUND, bare("error-contact-not-found")));
});

both_backends!(a_blocked_channel_has_its_room_closed_and_opens_none_until_unblocked, clock = START, |app| {
    let (token, room_id) = visitor_with_room(&app, "t-blk", None).await;
    let id = visitor_id(&app, &token).await;
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;

    // Rocket.Chat grants block-livechat-contact to agents too.
    app.clock.advance(1_000);
    assert_eq!(app.post(BLOCK, Some(&agent), api_channel(&id)).await, done());
    // The open room is closed by the blocking user, with Rocket.Chat's comment.
    assert_eq!(
        app.column_strings(
            "SELECT CASE WHEN open THEN 'open' ELSE 'closed' END || ' ' || closed_by || ' ' || closer_id || ' ' \
             || close_comment FROM rooms"
        )
        .await,
        vec![format!("closed agent {} This channel has been blocked", agent.user_id)]
    );
    assert_eq!(
        app.column_strings("SELECT msg FROM messages WHERE kind = 'livechat-close'").await,
        vec!["This channel has been blocked".to_owned()]
    );
    assert_eq!(app.column_strings("SELECT kind FROM events WHERE kind = 'room.closed'").await, vec!["room.closed"]);

    let blocked = |blocked: bool| {
        json!({
            "name": "api", "verified": false, "visitor": {"visitorId": id, "source": {"type": "api"}},
            "blocked": blocked, "details": {"type": "api"}, "lastChat": {"_id": room_id, "ts": AT_START},
        })
    };
    assert_eq!(channels(&app, &id).await, (StatusCode::OK, json!({"channels": [blocked(true)], "success": true})));
    let (status, body) = contact(&app, &id).await;
    assert_eq!((status, &body["contact"]["channels"]), (StatusCode::OK, &json!([blocked(true)])));

    // The channel opens no room, through livechat/room or a first message.
    let refused = (StatusCode::BAD_REQUEST, bare("error-contact-channel-blocked"));
    assert_eq!(app.get(&format!("/api/v1/livechat/room?token={token}"), None).await, refused);
    assert_eq!(
        app.post(
            "/api/v1/livechat/messages",
            Some(&app.admin),
            json!({"visitor": {"token": token}, "messages": [{"msg": "hi"}]})
        )
        .await,
        refused
    );
    assert_eq!(app.column_strings("SELECT id FROM rooms WHERE open").await, Vec::<String>::new());

    // Blocking again is no error; unblocking reopens the channel, and again is no error.
    assert_eq!(app.post(BLOCK, Some(&app.admin), api_channel(&id)).await, done());
    assert_eq!(app.post(UNBLOCK, Some(&agent), api_channel(&id)).await, done());
    assert_eq!(app.post(UNBLOCK, Some(&agent), api_channel(&id)).await, done());
    assert_eq!(channels(&app, &id).await, (StatusCode::OK, json!({"channels": [blocked(false)], "success": true})));
    let (status, body) = app.get(&format!("/api/v1/livechat/room?token={token}"), None).await;
    assert_eq!((status, &body["newRoom"]), (StatusCode::OK, &json!(true)), "{body}");
});

both_backends!(blocking_refuses_unknown_channels_bad_input_and_callers, |app| {
    let (token, _) = visitor_with_room(&app, "t-bad", None).await;
    let id = visitor_id(&app, &token).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "v".repeat(257);
    for path in [BLOCK, UNBLOCK] {
        for body in [
            api_channel("nobody"),
            json!({"visitor": {"visitorId": id, "source": {"type": "sms"}}}),
            // Rooms here carry no source id.
            json!({"visitor": {"visitorId": id, "source": {"type": "api", "id": "src-1"}}}),
        ] {
            assert_eq!(
                app.post(path, Some(&app.admin), body.clone()).await,
                (StatusCode::BAD_REQUEST, bare("error-contact-not-found")),
                "{path} {body}"
            );
        }
        for (body, expected) in [
            (json!({}), invalid_params("must have required property 'visitor'")),
            (
                json!({"visitor": {"source": {"type": "api"}}}),
                invalid_params("must have required property 'visitorId'"),
            ),
            (json!({"visitor": {"visitorId": id}}), invalid_params("must have required property 'source'")),
            (
                json!({"visitor": {"visitorId": id, "source": {"id": "x"}}}),
                invalid_params("must have required property 'type'"),
            ),
            (
                json!({"visitor": {"visitorId": 5, "source": {"type": "api"}}}),
                invalid_params("/visitor/visitorId must be string"),
            ),
            (
                json!({"visitor": {"visitorId": long, "source": {"type": "api"}}}),
                invalid_params("/visitor/visitorId must NOT have more than 256 characters"),
            ),
            (
                json!({"visitor": {"visitorId": id, "source": {"type": "api"}, "blocked": true}}),
                invalid_params("must NOT have additional properties"),
            ),
        ] {
            assert_eq!(
                app.post(path, Some(&app.admin), body.clone()).await,
                (StatusCode::BAD_REQUEST, expected),
                "{path} {body}"
            );
        }
        assert_eq!(app.post(path, None, api_channel(&id)).await, (StatusCode::UNAUTHORIZED, not_logged_in()), "{path}");
        assert_eq!(
            app.post(path, Some(&plain), api_channel(&id)).await,
            (StatusCode::FORBIDDEN, no_permission()),
            "{path}"
        );
    }
    // Nothing was blocked or closed.
    assert_eq!(app.column_strings("SELECT visitor_id FROM contact_channel_blocks").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT id FROM rooms WHERE open").await.len(), 1);
});

/// A known contact created through the family; answers its id.
async fn known_contact(app: &TestApp, name: &str, email: &str) -> String {
    let (status, body) = app
        .post("/api/v1/omnichannel/contacts", Some(&app.admin), json!({"name": name, "emails": [email], "phones": []}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["contactId"].as_str().unwrap().to_owned()
}

both_backends!(a_known_contact_keeps_its_name_and_the_other_waits_as_a_conflict, clock = START, |app| {
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, created_at) VALUES ('plan', 'Plan', 'visitor', 0)",
    )
    .await;
    let id = known_contact(&app, "Ada", "ada@example.com").await;
    // A visitor with its address takes it over under another name: the contact keeps its own.
    app.clock.advance(1_000);
    assert_eq!(register(&app, json!({"token": "t-ada", "name": "Ada Lovelace", "email": "ada@example.com"})).await, id);
    // Given again, the latest other name is the conflict.
    assert_eq!(register(&app, json!({"token": "t-ada", "name": "Ada King"})).await, id);
    let base = json!({
        "_id": id, "name": "Ada", "emails": [{"address": "ada@example.com"}], "phones": [], "unknown": false,
        "customFields": {}, "channels": [], "createdAt": AT_START, "_updatedAt": A_SECOND_LATER,
    });
    let mut conflicted = base.clone();
    conflicted["conflictingFields"] = json!([{"field": "name", "value": "Ada King"}]);
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": conflicted, "success": true})));

    // Custom fields settle no name conflict.
    let (status, body) =
        app.post(CONFLICTS, Some(&app.admin), json!({"contactId": id, "customFields": {"plan": "gold"}})).await;
    conflicted["customFields"] = json!({"plan": "gold"});
    assert_eq!((status, body), (StatusCode::OK, json!({"result": conflicted, "success": true})));

    // The name chosen settles it.
    app.clock.advance(1_000);
    let (status, body) = app.post(CONFLICTS, Some(&app.admin), json!({"contactId": id, "name": "Ada King"})).await;
    let mut resolved = base.clone();
    resolved["name"] = json!("Ada King");
    resolved["customFields"] = json!({"plan": "gold"});
    resolved["_updatedAt"] = json!("2026-01-02T03:04:07.678Z");
    assert_eq!((status, body), (StatusCode::OK, json!({"result": resolved, "success": true})));
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": resolved, "success": true})));
    assert_eq!(
        app.post(CONFLICTS, Some(&app.admin), json!({"contactId": id, "name": "X"})).await,
        (StatusCode::BAD_REQUEST, bare("error-contact-has-no-conflicts"))
    );

    // wipeConflicts drops the conflict and keeps the name, here and in contacts.update.
    register(&app, json!({"token": "t-ada", "name": "Countess"})).await;
    let (status, body) = app.post(CONFLICTS, Some(&app.admin), json!({"contactId": id, "wipeConflicts": true})).await;
    assert_eq!(
        (status, &body["result"]["name"], body["result"].get("conflictingFields")),
        (StatusCode::OK, &json!("Ada King"), None)
    );
    register(&app, json!({"token": "t-ada", "name": "Countess"})).await;
    let (status, body) = app
        .post("/api/v1/omnichannel/contacts.update", Some(&app.admin), json!({"contactId": id, "wipeConflicts": true}))
        .await;
    assert_eq!(
        (status, &body["contact"]["name"], body["contact"].get("conflictingFields")),
        (StatusCode::OK, &json!("Ada King"), None)
    );

    // An unknown contact (a widget visitor) takes every name it is given.
    let walt = register(&app, json!({"token": "t-walt", "name": "Walt"})).await;
    register(&app, json!({"token": "t-walt", "name": "Walter"})).await;
    let (status, body) = contact(&app, &walt).await;
    assert_eq!(
        (status, &body["contact"]["name"], body["contact"].get("conflictingFields")),
        (StatusCode::OK, &json!("Walter"), None)
    );
    assert_eq!(
        app.post(CONFLICTS, Some(&app.admin), json!({"contactId": walt, "name": "W"})).await,
        (StatusCode::BAD_REQUEST, bare("error-contact-has-no-conflicts"))
    );
});

both_backends!(resolving_conflicts_refuses_bad_input_and_callers, |app| {
    let plain = app.user_with_roles("plain", &["user"]).await;
    let id = known_contact(&app, "Ada", "ada@example.com").await;
    register(&app, json!({"token": "t-ada", "name": "Ada Lovelace", "email": "ada@example.com"})).await;
    let long = "c".repeat(257);
    for (body, expected) in [
        (json!({"name": "X"}), invalid_params("must have required property 'contactId'")),
        (json!({"contactId": id, "name": 5}), invalid_params("/name must be string")),
        (json!({"contactId": id, "wipeConflicts": "yes"}), invalid_params("/wipeConflicts must be boolean")),
        (json!({"contactId": id, "customFields": {"plan": 5}}), invalid_params("/customFields/plan must be string")),
        (
            json!({"contactId": id, "customFields": {"plan": long}}),
            invalid_params("/customFields/plan must NOT have more than 256 characters"),
        ),
        (json!({"contactId": id, "emails": []}), invalid_params("must NOT have additional properties")),
        (json!({"contactId": long}), invalid_params("/contactId must NOT have more than 256 characters")),
    ] {
        assert_eq!(
            app.post(CONFLICTS, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    for (body, expected) in [
        (json!({"contactId": "nobody", "name": "X"}), "error-contact-not-found"),
        (json!({"contactId": id, "contactManager": "nobody"}), "error-contact-manager-not-found"),
        (json!({"contactId": id, "contactManager": plain.user_id}), "error-contact-manager-not-found"),
        (json!({"contactId": id, "customFields": {"unknown": "x"}}), "Custom field unknown is not allowed"),
    ] {
        assert_eq!(
            app.post(CONFLICTS, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, bare(expected)),
            "{body}"
        );
    }
    let body = json!({"contactId": id, "name": "X"});
    assert_eq!(app.post(CONFLICTS, None, body.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(CONFLICTS, Some(&plain), body).await, (StatusCode::FORBIDDEN, no_permission()));
    // Nothing was resolved.
    let (status, body) = contact(&app, &id).await;
    assert_eq!(
        (status, &body["contact"]["name"], &body["contact"]["conflictingFields"]),
        (StatusCode::OK, &json!("Ada"), &json!([{"field": "name", "value": "Ada Lovelace"}]))
    );
});

both_backends!(deletion_and_room_opening_racing_end_in_one_of_them, |app| {
    let app = Arc::new(app);
    let mut contacts = Vec::new();
    for index in 0..8 {
        let token = format!("race-{index}");
        contacts.push((register(&app, json!({"token": token})).await, token));
    }
    let races = contacts.into_iter().map(|(id, token)| {
        let app = app.clone();
        tokio::spawn(async move {
            let open_path = format!("/api/v1/livechat/room?token={token}");
            let (deleted, opened) =
                tokio::join!(app.post(DELETE, Some(&app.admin), json!({"contactId": id})), app.get(&open_path, None));
            (token, deleted, opened)
        })
    });
    let mut kept = Vec::new();
    for race in races.collect::<Vec<_>>() {
        let (token, deleted, opened) = race.await.unwrap();
        match (deleted.0, opened.0) {
            // The room came first: the deletion is refused and the contact keeps it.
            (StatusCode::BAD_REQUEST, StatusCode::OK) => {
                assert_eq!(deleted.1, bare("error-invalid-contact"));
                kept.push(token);
            }
            // The deletion came first: the room is never opened.
            (StatusCode::OK, StatusCode::BAD_REQUEST) => assert_eq!(opened.1, bare("invalid-token")),
            other => panic!("{token}: {other:?} {deleted:?} {opened:?}"),
        }
    }
    crate::visitors::only_these_visitors_remain_with_open_rooms(&app, kept).await;
});

both_backends!(blocking_and_room_opening_racing_leave_no_room_open, |app| {
    let app = Arc::new(app);
    let mut visitors = Vec::new();
    for index in 0..8 {
        let (token, room_id) = visitor_with_room(&app, &format!("race-{index}"), None).await;
        close_by_visitor(&app, &token, &room_id).await;
        visitors.push((visitor_id(&app, &token).await, token));
    }
    let races = visitors.into_iter().map(|(id, token)| {
        let app = app.clone();
        tokio::spawn(async move {
            let open_path = format!("/api/v1/livechat/room?token={token}");
            let (blocked, opened) =
                tokio::join!(app.post(BLOCK, Some(&app.admin), api_channel(&id)), app.get(&open_path, None));
            (token, blocked, opened)
        })
    });
    for race in races.collect::<Vec<_>>() {
        let (token, blocked, opened) = race.await.unwrap();
        assert_eq!(blocked, done(), "{token}");
        match opened.0 {
            // Opened first: the block closed it.
            StatusCode::OK => assert_eq!(opened.1["newRoom"], json!(true), "{token}"),
            // Blocked first: never opened.
            _ => assert_eq!(opened, (StatusCode::BAD_REQUEST, bare("error-contact-channel-blocked")), "{token}"),
        }
    }
    assert_eq!(app.column_strings("SELECT id FROM rooms WHERE open").await, Vec::<String>::new());
    assert_eq!(app.column_strings("SELECT visitor_id FROM contact_channel_blocks").await.len(), 8);
});
