//! Omnichannel contacts (`omnichannel/contact`, `omnichannel/contact.search`): a
//! contact is a visitor, found by token, email or phone; and contact-manager routing.

use std::sync::Arc;

use livechat_server::config::AppSettings;
use livechat_server::domain::routing::RoutingMethod;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department};

const CONTACT: &str = "/api/v1/omnichannel/contact";
const SEARCH: &str = "/api/v1/omnichannel/contact.search";
const AT_START: &str = "2026-01-02T03:04:05.678Z";

/// Registers a contact as the admin and returns its id.
async fn register(app: &TestApp, body: Value) -> String {
    let (status, answer) = app.post(CONTACT, Some(&app.admin), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["contact"].as_str().unwrap().to_owned();
    assert_eq!(answer, json!({"contact": id, "success": true}));
    id
}

async fn contact(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.get(&format!("{CONTACT}?contactId={id}"), Some(&app.admin)).await
}

async fn set_setting(app: &TestApp, id: &str, value: Value) {
    let (status, body) = app.post(&format!("/api/v1/settings/{id}"), Some(&app.admin), json!({"value": value})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})), "{id}");
}

both_backends!(a_contact_is_registered_read_and_updated_by_token, clock = START, |app| {
    let (status, body) = app
        .post(
            "/api/v1/livechat/custom-fields.save",
            Some(&app.admin),
            json!({"customFieldId": null, "customFieldData": {"field": "plan", "label": "Plan", "scope": "visitor", "visibility": "visible"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    available_agent(&app, "manager").await;

    // Unknown custom fields and empty values are left out; the address is lowercased.
    let id = register(
        &app,
        json!({"token": "t-1", "name": "Ada", "email": " Ada@Example.com ", "phone": "+1 555 0100",
               "customFields": {"plan": "gold", "unknown": "x"}, "contactManager": {"username": "manager"}}),
    )
    .await;
    let ada = json!({
        "_id": id, "username": "guest-1", "status": "online", "ts": AT_START, "_updatedAt": AT_START,
        "token": "t-1", "name": "Ada", "phone": [{"phoneNumber": "+1 555 0100"}],
        "visitorEmails": [{"address": "ada@example.com"}], "livechatData": {"plan": "gold"},
        "contactManager": {"username": "manager"},
    });
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": ada, "success": true})));

    // The same token updates the same contact; what is not given is kept.
    assert_eq!(register(&app, json!({"token": "t-1", "name": "Ada L."})).await, id);
    let mut renamed = ada.clone();
    renamed["name"] = json!("Ada L.");
    renamed["livechatData"] = json!({});
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": renamed, "success": true})));

    // Another token with the contact's address reaches the same contact.
    assert_eq!(register(&app, json!({"token": "t-2", "name": "Ada", "email": "ADA@example.com"})).await, id);

    // A visitor registering with the address or the number joins the contact.
    for (token, field, value) in [("t-3", "email", "ada@EXAMPLE.com"), ("t-4", "phone", "+1-555-0100")] {
        let (status, body) =
            app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token, field: value}})).await;
        assert_eq!((status, body["visitor"]["_id"].clone()), (StatusCode::OK, json!(id)), "{body}");
    }
    // Meteor's `Match.Maybe` takes null for the optional fields.
    let nulls = json!({"token": "t-5", "name": "Bo", "email": null, "phone": null, "username": null,
                       "customFields": null, "contactManager": null, "_id": null});
    assert_ne!(register(&app, nulls).await, id);
    // An unknown id is no contact.
    assert_eq!(contact(&app, "nobody").await, (StatusCode::OK, json!({"contact": null, "success": true})));
});

both_backends!(contacts_are_found_by_email_and_phone, clock = START, |app| {
    let ada =
        register(&app, json!({"token": "t-1", "name": "Ada", "email": "ada@example.com", "phone": "+1 555"})).await;
    register(&app, json!({"token": "t-2", "name": "Bob", "email": "bob@example.com"})).await;
    let (_, body) = contact(&app, &ada).await;
    let found = json!({"contact": body["contact"], "success": true});
    let none = json!({"contact": null, "success": true});
    for (query, expected) in [
        ("email=ADA@example.com", &found),
        ("phone=%2B1-555", &found),
        ("email=ada@example.com&phone=%2B1%20555", &found),
        ("email=bob@example.com&phone=%2B1%20555", &none),
        ("email=carol@example.com", &none),
        ("email=ada@example.com&custom=%7B%7D", &found),
    ] {
        assert_eq!(
            app.get(&format!("{SEARCH}?{query}"), Some(&app.admin)).await,
            (StatusCode::OK, expected.clone()),
            "{query}"
        );
    }
    for (query, expected) in [
        ("", coded_only("error-invalid-params")),
        ("email=", coded_only("error-invalid-params")),
        ("custom=%7B%7D", coded_only("error-invalid-params")),
        ("email=ada@example.com&custom=%7Bnot", coded_only("error-invalid-params-custom")),
        ("nickname=ada", bare("Match error: Unknown key 'nickname'")),
    ] {
        assert_eq!(
            app.get(&format!("{SEARCH}?{query}"), Some(&app.admin)).await,
            (StatusCode::BAD_REQUEST, expected),
            "{query}"
        );
    }
    let long = "a".repeat(257);
    assert_eq!(
        app.get(&format!("{SEARCH}?email={long}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/email must NOT have more than 256 characters"))
    );
});

/// Rocket.Chat's Meteor error without a reason: `[code]`.
fn coded_only(code: &str) -> Value {
    json!({"success": false, "error": format!("[{code}]"), "errorType": code})
}

both_backends!(contact_routes_refuse_bad_input_and_callers, |app| {
    let plain = app.user_with_roles("plain", &["user"]).await;
    app.user_with_roles("not-agent", &["user"]).await;
    let long = "n".repeat(257);
    for (body, expected) in [
        (json!({"name": "Ada"}), bare("Match error: Missing key 'token'")),
        (json!({"token": "t"}), bare("Match error: Missing key 'name'")),
        // A visitor without a token could never be reached by the token routes.
        (json!({"token": " ", "name": "Ada"}), coded("error-invalid-contact-data", "Invalid visitor token")),
        (json!({"token": "t", "name": 5}), bare("Match error: Expected string, got number in field name")),
        (
            json!({"token": "t", "name": "Ada", "contactManager": {"username": 5}}),
            bare("Match error: Expected string, got number in field contactManager.username"),
        ),
        (json!({"token": "t", "name": "Ada", "age": 5}), bare("Match error: Unknown key 'age'")),
        (json!({"token": "t", "name": long}), invalid_params("/name must NOT have more than 256 characters")),
        (
            json!({"token": "t", "name": "Ada", "contactManager": {"username": "ghost"}}),
            coded("error-contact-manager-not-found", "No user found with username ghost"),
        ),
        (
            json!({"token": "t", "name": "Ada", "contactManager": {"username": "not-agent"}}),
            coded("error-invalid-contact-manager", "The contact manager must have the role \"livechat-agent\""),
        ),
    ] {
        assert_eq!(
            app.post(CONTACT, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    assert_eq!(
        app.send_raw_json(Method::POST, CONTACT, &app.admin, "{").await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-json", "Body is not valid JSON: EOF while parsing an object at line 1 column 1")
        )
    );
    // Nothing was registered by the refusals.
    assert_eq!(app.column_strings("SELECT id FROM visitors").await, Vec::<String>::new());

    assert_eq!(
        app.get(CONTACT, Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Missing key 'contactId'"))
    );
    assert_eq!(
        app.get(&format!("{CONTACT}?contactId={long}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/contactId must NOT have more than 256 characters"))
    );
    let ada = json!({"token": "t", "name": "Ada"});
    for (method, path) in [
        (Method::POST, CONTACT),
        (Method::GET, "/api/v1/omnichannel/contact?contactId=x"),
        (Method::GET, "/api/v1/omnichannel/contact.search?email=a"),
    ] {
        let body = (method == Method::POST).then(|| ada.clone());
        assert_eq!(
            app.call(method.clone(), path, None, body.clone()).await,
            (StatusCode::UNAUTHORIZED, not_logged_in()),
            "{path}"
        );
        assert_eq!(
            app.call(method, path, Some(&plain), body).await,
            (StatusCode::FORBIDDEN, no_permission()),
            "{path}"
        );
    }
});

both_backends!(concurrent_registrations_with_one_email_yield_one_contact, |app| {
    // Half register a contact, half a widget visitor; all with new tokens.
    let app = Arc::new(app);
    let registrations = (0..8).map(|n| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let token = format!("t-{n}");
            let (status, answer) = if n % 2 == 0 {
                let body = json!({"token": token, "name": "Ada", "email": "ada@example.com"});
                app.post(CONTACT, Some(&app.admin), body).await
            } else {
                let body = json!({"visitor": {"token": token, "email": "ADA@example.com"}});
                app.post("/api/v1/livechat/visitor", None, body).await
            };
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer.get("contact").unwrap_or(&answer["visitor"]["_id"]).as_str().unwrap().to_owned()
        })
    });
    let mut ids = Vec::new();
    for registration in registrations.collect::<Vec<_>>() {
        ids.push(registration.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.column_strings("SELECT id FROM visitors").await, ids);
});

/// Registers a contact managed by `manager`, opens its room (in `department`, an id,
/// when given) and checks the whole answer; returns the room's serving username (null
/// while queued).
async fn open_managed_room(app: &TestApp, token: &str, manager: &str, department: Option<&str>) -> Value {
    register(app, json!({"token": token, "name": "Ada", "contactManager": {"username": manager}})).await;
    let query = match department {
        Some(department) => format!("/api/v1/livechat/room?token={token}&department={department}"),
        None => format!("/api/v1/livechat/room?token={token}"),
    };
    let (status, body) = app.get(&query, None).await;
    let room = &body["room"];
    let served_by = &room["servedBy"];
    let mut expected = json!({
        "_id": room["_id"], "fname": "Ada", "t": "l", "v": room["v"], "cl": false, "open": true, "msgs": 0,
        "usersCount": 1, "ts": AT_START, "_updatedAt": AT_START, "source": {"type": "api"},
    });
    if let Some(department) = department {
        expected["departmentId"] = json!(department);
    }
    if !served_by.is_null() {
        expected["usersCount"] = json!(2);
        expected["servedBy"] = json!({"_id": served_by["_id"], "username": served_by["username"], "ts": AT_START});
    }
    assert_eq!((status, &body), (StatusCode::OK, &json!({"room": expected, "newRoom": true, "success": true})));
    assert_eq!(room["v"]["token"], json!(token));
    served_by["username"].clone()
}

fn routed_by(method: RoutingMethod) -> AppSettings {
    AppSettings { routing_method: Some(method), ..AppSettings::default() }
}

both_backends!(a_new_room_goes_to_the_available_contact_manager_whatever_the_method, clock = START, |app| {
    // Manual_Selection assigns nothing by itself, yet the manager gets the room.
    available_agent(&app, "manager").await;
    assert_eq!(open_managed_room(&app, "t-1", "manager", None).await, json!("manager"));
});

both_backends!(
    contact_manager_routing_goes_before_the_routing_method,
    settings = routed_by(RoutingMethod::AutoSelection),
    clock = START,
    |app| {
        // The method would pick `idle` each time: first by name, then by load.
        let manager = available_agent(&app, "manager").await;
        available_agent(&app, "idle").await;
        let sales = department(&app, "Sales", &[&manager]).await;
        assert_eq!(open_managed_room(&app, "t-1", "manager", None).await, json!("manager"));
        assert_eq!(open_managed_room(&app, "t-2", "manager", Some(&sales)).await, json!("manager"));
    }
);

both_backends!(
    without_the_setting_or_a_free_manager_the_method_routes,
    settings = routed_by(RoutingMethod::AutoSelection),
    clock = START,
    |app| {
        let manager = available_agent(&app, "manager").await;
        let other = available_agent(&app, "other").await;
        let support = department(&app, "Support", &[&other]).await;
        // Setting off: the method picks, first `manager` (the first of equals), then
        // `other` for the manager's own contact.
        set_setting(&app, "Omnichannel_contact_manager_routing", json!(false)).await;
        assert_eq!(open_managed_room(&app, "t-0", "other", None).await, json!("manager"));
        assert_eq!(open_managed_room(&app, "t-1", "manager", None).await, json!("other"));
        set_setting(&app, "Omnichannel_contact_manager_routing", json!(true)).await;

        // Not of the room's department: the department's agent gets it.
        assert_eq!(open_managed_room(&app, "t-2", "manager", Some(&support)).await, json!("other"));

        // The manager at its limit of one chat: the least loaded agent gets it.
        set_setting(&app, "Livechat_maximum_chats_per_agent", json!(1)).await;
        let third = available_agent(&app, "third").await;
        assert_eq!(open_managed_room(&app, "t-3", "manager", None).await, json!("third"));

        // The manager not available: the method's pick gets it.
        unavailable(&app, &manager).await;
        set_setting(&app, "Livechat_maximum_chats_per_agent", json!(0)).await;
        unavailable(&app, &third).await;
        assert_eq!(open_managed_room(&app, "t-4", "manager", None).await, json!("other"));
    }
);

async fn unavailable(app: &TestApp, agent: &Session) {
    let (status, body) =
        app.post("/api/v1/livechat/agent.status", Some(agent), json!({"status": "not-available"})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "not-available", "success": true})));
}

both_backends!(an_unavailable_manager_leaves_the_room_queued, clock = START, |app| {
    let manager = available_agent(&app, "manager").await;
    unavailable(&app, &manager).await;
    assert_eq!(open_managed_room(&app, "t-1", "manager", None).await, Value::Null);
    // At its limit under Manual_Selection: queued as well.
    available_agent(&app, "second").await;
    set_setting(&app, "Livechat_maximum_chats_per_agent", json!(1)).await;
    assert_eq!(open_managed_room(&app, "t-2", "second", None).await, json!("second"));
    assert_eq!(open_managed_room(&app, "t-3", "second", None).await, Value::Null);
});

both_backends!(a_room_opened_by_an_integration_message_goes_to_the_contact_manager, clock = START, |app| {
    let manager = available_agent(&app, "manager").await;
    register(&app, json!({"token": "t-1", "name": "Ada", "contactManager": {"username": "manager"}})).await;
    let (status, body) = app
        .post(
            "/api/v1/livechat/messages",
            Some(&app.admin),
            json!({"visitor": {"token": "t-1"}, "messages": [{"msg": "Hi"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get("/api/v1/livechat/room?token=t-1", None).await;
    let room = &body["room"];
    assert_eq!(
        (status, &body),
        (
            StatusCode::OK,
            &json!({"room": {
                "_id": room["_id"], "fname": "Ada", "t": "l", "v": room["v"], "cl": false, "open": true,
                "msgs": 1, "usersCount": 2, "ts": AT_START, "_updatedAt": AT_START, "source": {"type": "api"},
                "servedBy": {"_id": manager.user_id, "username": "manager", "ts": AT_START},
                "lm": AT_START, "lastMessage": room["lastMessage"],
            }, "newRoom": false, "success": true})
        )
    );
});
