//! Rocket.Chat's newer contacts family (`omnichannel/contacts`, `.update`, `.get`,
//! `.search`, `.checkExistence`, `.history`, `.channels`), served over the visitors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, TestApp, both_backends};
use crate::lifecycle::available_agent;

const CONTACTS: &str = "/api/v1/omnichannel/contacts";
const UPDATE: &str = "/api/v1/omnichannel/contacts.update";
const AT_START: &str = "2026-01-02T03:04:05.678Z";
const A_SECOND_LATER: &str = "2026-01-02T03:04:06.678Z";

/// Creates a contact as the admin and returns its id.
async fn create(app: &TestApp, body: Value) -> String {
    let (status, answer) = app.post(CONTACTS, Some(&app.admin), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["contactId"].as_str().unwrap().to_owned();
    assert_eq!(answer, json!({"contactId": id, "success": true}));
    id
}

async fn contact(app: &TestApp, id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/omnichannel/contacts.get?contactId={id}"), Some(&app.admin)).await
}

/// A visitor-scoped custom field `plan` of lowercase letters.
async fn plan_field(app: &TestApp) {
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, regexp, created_at) \
         VALUES ('plan', 'Plan', 'visitor', '^[a-z]+$', 0)",
    )
    .await;
}

/// A known contact without rooms, as contacts.get shows it.
fn fresh(id: &str, name: &str, email: &str, phone: &str) -> Value {
    json!({
        "_id": id, "name": name, "emails": [{"address": email}], "phones": [{"phoneNumber": phone}],
        "unknown": false, "customFields": {}, "channels": [], "createdAt": AT_START, "_updatedAt": AT_START,
    })
}

both_backends!(a_contact_is_created_read_and_updated, clock = START, |app| {
    plan_field(&app).await;
    let manager = available_agent(&app, "manager").await;
    let id = create(
        &app,
        json!({"name": "Ada", "emails": ["ada@example.com"], "phones": ["+1 555 0100"],
               "customFields": {"plan": " gold "}, "contactManager": manager.user_id}),
    )
    .await;
    let mut ada = fresh(&id, "Ada", "ada@example.com", "+1 555 0100");
    ada["customFields"] = json!({"plan": "gold"});
    ada["contactManager"] = json!(manager.user_id);
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": ada, "success": true})));

    // Given fields change; an empty list removes the address; null and empty are kept.
    app.clock.advance(1_000);
    let (status, body) = app
        .post(
            UPDATE,
            Some(&app.admin),
            json!({"contactId": id, "name": "Ada L.", "emails": [], "phones": ["+1 555 0199"],
                   "customFields": {"plan": "silver"}, "contactManager": "", "wipeConflicts": true}),
        )
        .await;
    let mut changed = ada.clone();
    changed["name"] = json!("Ada L.");
    changed["emails"] = json!([]);
    changed["phones"] = json!([{"phoneNumber": "+1 555 0199"}]);
    changed["customFields"] = json!({"plan": "silver"});
    changed["_updatedAt"] = json!(A_SECOND_LATER);
    assert_eq!((status, body), (StatusCode::OK, json!({"contact": changed, "success": true})));
    let (status, body) =
        app.post(UPDATE, Some(&app.admin), json!({"contactId": id, "name": null, "emails": null})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"contact": changed, "success": true})));
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": changed, "success": true})));

    // A widget visitor is an unknown contact until it is updated as a contact.
    let (status, body) =
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t-w", "name": "Walt"}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let walt = body["visitor"]["_id"].as_str().unwrap().to_owned();
    let mut unknown = json!({
        "_id": walt, "name": "Walt", "emails": [], "phones": [], "unknown": true, "customFields": {},
        "channels": [], "createdAt": A_SECOND_LATER, "_updatedAt": A_SECOND_LATER,
    });
    assert_eq!(contact(&app, &walt).await, (StatusCode::OK, json!({"contact": unknown, "success": true})));
    let (status, body) = app.post(UPDATE, Some(&app.admin), json!({"contactId": walt})).await;
    unknown["unknown"] = json!(false);
    assert_eq!((status, body), (StatusCode::OK, json!({"contact": unknown, "success": true})));
});

both_backends!(contact_writes_refuse_what_rocket_chat_refuses, clock = START, |app| {
    plan_field(&app).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let id = create(&app, json!({"name": "Ada", "emails": ["ada@example.com"], "phones": ["+1 555 0100"]})).await;
    let long = "n".repeat(257);
    let ada = |extra: Value| {
        let mut body = json!({"name": "Bo", "emails": [], "phones": []});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let refused = [
        (json!({"emails": [], "phones": []}), invalid_params("must have required property 'name'")),
        (json!({"name": "Bo", "phones": []}), invalid_params("must have required property 'emails'")),
        (json!({"name": "Bo", "emails": []}), invalid_params("must have required property 'phones'")),
        (ada(json!({"age": 5})), invalid_params("must NOT have additional properties")),
        (ada(json!({"name": 5})), invalid_params("/name must be string")),
        (ada(json!({"emails": "bo@example.com"})), invalid_params("/emails must be array")),
        (ada(json!({"emails": [{"invalid": true}]})), invalid_params("/emails/0 must be string")),
        (ada(json!({"emails": ["a@x", "b@x"]})), invalid_params("/emails must NOT have more than 1 items")),
        (ada(json!({"name": long})), invalid_params("/name must NOT have more than 256 characters")),
        (ada(json!({"phones": [long]})), invalid_params("/phones/0 must NOT have more than 256 characters")),
        (
            ada(json!({"customFields": {"plan": long}})),
            invalid_params("/customFields/plan must NOT have more than 256 characters"),
        ),
        (ada(json!({"customFields": {"plan": "GOLD"}})), bare("Invalid value for Plan field")),
        (ada(json!({"customFields": {"tier": "gold"}})), bare("Custom field tier is not allowed")),
        (ada(json!({"contactManager": "nobody"})), bare("error-contact-manager-not-found")),
        (ada(json!({"contactManager": plain.user_id})), bare("error-contact-manager-not-found")),
        // The address and the number are a contact's keys here.
        (ada(json!({"emails": ["ADA@example.com"]})), bare("error-contact-already-exists")),
        (ada(json!({"phones": ["+1-555-0100"]})), bare("error-contact-already-exists")),
    ];
    for (body, expected) in refused {
        assert_eq!(
            app.post(CONTACTS, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    // A required field needs a value.
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, required, created_at) \
         VALUES ('tier', 'Tier', 'visitor', TRUE, 0)",
    )
    .await;
    assert_eq!(
        app.post(CONTACTS, Some(&app.admin), ada(json!({}))).await,
        (StatusCode::BAD_REQUEST, bare("Invalid value for Tier field"))
    );
    assert_eq!(app.column_strings("SELECT name FROM visitors").await, vec!["Ada".to_owned()]);

    let bo = create(&app, ada(json!({"phones": ["+1 555 0200"], "customFields": {"tier": "gold"}}))).await;
    let refused = [
        (json!({"name": "Ada"}), invalid_params("must have required property 'contactId'")),
        (json!({"contactId": "nobody", "name": "X"}), bare("error-contact-not-found")),
        (json!({"contactId": id, "unknown": true}), invalid_params("must NOT have additional properties")),
        (json!({"contactId": id, "phones": "x"}), invalid_params("/phones must be array")),
        (json!({"contactId": id, "contactManager": "nobody"}), bare("error-contact-manager-not-found")),
        (json!({"contactId": id, "customFields": {"plan": "x1"}}), bare("Invalid value for Plan field")),
        (json!({"contactId": bo, "phones": ["+15550100"]}), bare("error-contact-already-exists")),
        (json!({"contactId": long}), invalid_params("/contactId must NOT have more than 256 characters")),
    ];
    for (body, expected) in refused {
        assert_eq!(
            app.post(UPDATE, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    assert_eq!(
        app.send_raw_json(Method::POST, CONTACTS, &app.admin, "{").await.0,
        StatusCode::BAD_REQUEST,
        "malformed JSON"
    );
    for (path, body) in [(CONTACTS, ada(json!({}))), (UPDATE, json!({"contactId": id}))] {
        assert_eq!(app.post(path, None, body.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()), "{path}");
        assert_eq!(app.post(path, Some(&plain), body).await, (StatusCode::FORBIDDEN, no_permission()), "{path}");
    }
});

/// Every room as the admin's room list shows it, by id.
async fn room_view(app: &TestApp, room_id: &str) -> Value {
    let (status, body) = app.get("/api/v1/livechat/rooms?count=100", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"].as_array().unwrap().iter().find(|room| room["_id"] == json!(room_id)).unwrap().clone()
}

both_backends!(a_visitor_with_the_contacts_number_takes_it_over_and_its_rooms_are_its_channels, clock = START, |app| {
    let id = create(&app, json!({"name": "Ada", "emails": ["ada@example.com"], "phones": ["+1 555 0100"]})).await;
    // The first visitor with the number takes the contact over with its own token.
    let (status, body) =
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t-1", "phone": "+1-555-0100"}})).await;
    assert_eq!(
        (status, &body["visitor"]["_id"], &body["visitor"]["token"]),
        (StatusCode::OK, &json!(id), &json!("t-1"))
    );
    // Later ones join it and leave it its token.
    let (status, body) = app
        .post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t-2", "email": "ADA@example.com"}}))
        .await;
    assert_eq!(
        (status, &body["visitor"]["_id"], &body["visitor"]["token"]),
        (StatusCode::OK, &json!(id), &json!("t-1"))
    );

    let (status, body) = app.get("/api/v1/livechat/room?token=t-1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let room_id = body["room"]["_id"].as_str().unwrap().to_owned();
    let history = |query: &str| format!("/api/v1/omnichannel/contacts.history?contactId={id}{query}");
    let empty = json!({"history": [], "count": 0, "offset": 0, "total": 0, "success": true});
    // Open rooms are not history.
    assert_eq!(app.get(&history(""), Some(&app.admin)).await, (StatusCode::OK, empty.clone()));
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": "t-1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let last_chat = json!({"_id": room_id, "ts": AT_START});
    let channel = json!({
        "name": "api", "verified": false, "visitor": {"visitorId": id, "source": {"type": "api"}},
        "blocked": false, "details": {"type": "api"}, "lastChat": last_chat,
    });
    // The address and the number are kept as the visitors last wrote them.
    let mut ada = fresh(&id, "Ada", "ADA@example.com", "+1-555-0100");
    ada["channels"] = json!([channel]);
    ada["lastChat"] = last_chat;
    assert_eq!(contact(&app, &id).await, (StatusCode::OK, json!({"contact": ada, "success": true})));
    assert_eq!(
        app.get(&format!("/api/v1/omnichannel/contacts.channels?contactId={id}"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"channels": [channel], "success": true}))
    );
    let room = room_view(&app, &room_id).await;
    let listed = json!({"history": [room], "count": 1, "offset": 0, "total": 1, "success": true});
    for query in ["", "&source=API", "&sort=%7B%22ts%22%3A1%7D&count=5"] {
        assert_eq!(app.get(&history(query), Some(&app.admin)).await, (StatusCode::OK, listed.clone()), "{query}");
    }
    assert_eq!(app.get(&history("&source=widget"), Some(&app.admin)).await, (StatusCode::OK, empty.clone()));
    // An agent who never served the room does not see it.
    let agent = available_agent(&app, "agent").await;
    assert_eq!(app.get(&history(""), Some(&agent)).await, (StatusCode::OK, empty));
});

both_backends!(contacts_are_searched_and_checked, clock = START, |app| {
    let manager = available_agent(&app, "manager").await;
    let bob = create(
        &app,
        json!({"name": "Bob", "emails": ["bob@example.com"], "phones": ["+1 555 0200"], "contactManager": manager.user_id}),
    )
    .await;
    let ada = create(&app, json!({"name": "Ada", "emails": ["ada@example.com"], "phones": ["+1 555 0100"]})).await;
    let (status, body) =
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t-w", "name": "Walt"}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let walt = body["visitor"]["_id"].as_str().unwrap().to_owned();

    let ada_view = fresh(&ada, "Ada", "ada@example.com", "+1 555 0100");
    let mut bob_view = fresh(&bob, "Bob", "bob@example.com", "+1 555 0200");
    bob_view["contactManager"] = json!({"_id": manager.user_id, "name": "manager", "username": "manager"});
    let walt_view = json!({
        "_id": walt, "name": "Walt", "emails": [], "phones": [], "unknown": true, "customFields": {},
        "channels": [], "createdAt": AT_START, "_updatedAt": AT_START,
    });
    let page = |contacts: Vec<&Value>, total: i64| json!({"contacts": contacts, "count": contacts.len(), "offset": 0, "total": total, "success": true});
    let search = "/api/v1/omnichannel/contacts.search";
    for (query, expected) in [
        ("", page(vec![&ada_view, &bob_view], 2)),
        ("?sort=%7B%22name%22%3A-1%7D", page(vec![&bob_view, &ada_view], 2)),
        ("?count=1", page(vec![&ada_view], 2)),
        ("?searchText=ADA%40", page(vec![&ada_view], 1)),
        ("?searchText=555%200200", page(vec![&bob_view], 1)),
        ("?searchText=b", page(vec![&bob_view], 1)),
        ("?searchText=nobody", page(vec![], 0)),
        ("?unknown=true", page(vec![&walt_view], 1)),
        ("?unknown=false&searchText=", page(vec![&ada_view, &bob_view], 2)),
    ] {
        assert_eq!(app.get(&format!("{search}{query}"), Some(&app.admin)).await, (StatusCode::OK, expected), "{query}");
    }
    let long = "s".repeat(257);
    for (query, expected) in [
        (format!("?searchText={long}"), invalid_params("/searchText must NOT have more than 256 characters")),
        ("?unknown=maybe".to_owned(), invalid_params("/unknown must be boolean")),
        ("?name=Ada".to_owned(), invalid_params("must NOT have additional properties")),
    ] {
        assert_eq!(
            app.get(&format!("{search}{query}"), Some(&app.admin)).await,
            (StatusCode::BAD_REQUEST, expected),
            "{query}"
        );
    }

    let check = "/api/v1/omnichannel/contacts.checkExistence";
    for (query, exists) in [
        (format!("contactId={ada}"), true),
        (format!("contactId={walt}"), true),
        ("contactId=nobody".to_owned(), false),
        ("email=ADA%40example.com".to_owned(), true),
        ("email=carol%40example.com".to_owned(), false),
        ("phone=%2B1-555-0200".to_owned(), true),
        ("phone=invalid-phone".to_owned(), false),
    ] {
        assert_eq!(
            app.get(&format!("{check}?{query}"), Some(&app.admin)).await,
            (StatusCode::OK, json!({"exists": exists, "success": true})),
            "{query}"
        );
    }
    for (query, expected) in [
        (
            String::new(),
            "must have required property 'contactId'\nmust have required property 'email'\n\
             must have required property 'phone'\nmust match exactly one schema in oneOf",
        ),
        (
            format!("contactId={ada}&email=a%40b"),
            "must NOT have additional properties\nmust NOT have additional properties\n\
             must have required property 'phone'\nmust match exactly one schema in oneOf",
        ),
        (format!("email={long}"), "/email must NOT have more than 256 characters"),
    ] {
        assert_eq!(
            app.get(&format!("{check}?{query}"), Some(&app.admin)).await,
            (StatusCode::BAD_REQUEST, invalid_params(expected)),
            "{query}"
        );
    }
});

both_backends!(contact_reads_refuse_bad_input_and_callers, |app| {
    let plain = app.user_with_roles("plain", &["user"]).await;
    let long = "c".repeat(257);
    let get = "/api/v1/omnichannel/contacts.get";
    let channels = "/api/v1/omnichannel/contacts.channels";
    let history = "/api/v1/omnichannel/contacts.history";
    let cases = [
        (
            format!("{get}?contactId=nobody"),
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "Resource not found"}),
        ),
        (get.to_owned(), StatusCode::BAD_REQUEST, invalid_params("must have required property 'contactId'")),
        (
            format!("{get}?contactId={long}"),
            StatusCode::BAD_REQUEST,
            invalid_params("/contactId must NOT have more than 256 characters"),
        ),
        (format!("{channels}?contactId=nobody"), StatusCode::OK, json!({"channels": [], "success": true})),
        (channels.to_owned(), StatusCode::BAD_REQUEST, invalid_params("must have required property 'contactId'")),
        (format!("{history}?contactId=nobody"), StatusCode::BAD_REQUEST, bare("error-contact-not-found")),
        (history.to_owned(), StatusCode::BAD_REQUEST, invalid_params("must have required property 'contactId'")),
        (
            format!("{history}?contactId=x&sort=%7B%22msgs%22%3A1%7D"),
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Invalid sort parameter provided: \"{\"msgs\":1}\" [error-invalid-sort]",
                   "errorType": "error-invalid-sort"}),
        ),
    ];
    for (path, status, body) in cases {
        assert_eq!(app.get(&path, Some(&app.admin)).await, (status, body), "{path}");
    }
    for path in [
        format!("{get}?contactId=x"),
        format!("{channels}?contactId=x"),
        format!("{history}?contactId=x"),
        "/api/v1/omnichannel/contacts.search".to_owned(),
        "/api/v1/omnichannel/contacts.checkExistence?contactId=x".to_owned(),
    ] {
        assert_eq!(app.get(&path, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()), "{path}");
        assert_eq!(app.get(&path, Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()), "{path}");
    }
});

both_backends!(concurrent_creations_with_one_address_make_one_contact, |app| {
    let app = std::sync::Arc::new(app);
    let creations = (0..8).map(|n| {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            let body = json!({"name": format!("Ada {n}"), "emails": ["ada@example.com"], "phones": []});
            app.post(CONTACTS, Some(&app.admin), body).await
        })
    });
    let mut created = 0;
    for creation in creations.collect::<Vec<_>>() {
        match creation.await.unwrap() {
            (StatusCode::OK, body) => {
                assert_eq!(body, json!({"contactId": body["contactId"], "success": true}));
                created += 1;
            }
            answer => assert_eq!(answer, (StatusCode::BAD_REQUEST, bare("error-contact-already-exists"))),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.column_strings("SELECT email FROM visitors").await, vec!["ada@example.com".to_owned()]);
});
