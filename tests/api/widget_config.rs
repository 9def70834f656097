//! What the official livechat widget loads (livechat/config), its offline form
//! (livechat/offline.message), the custom field management routes, and the settings
//! agent.info and page.visited honour.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends, send};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};
use crate::settings::set_setting;

const CONFIG: &str = "/api/v1/livechat/config";
const OFFLINE: &str = "/api/v1/livechat/offline.message";
const FIELDS: &str = "/api/v1/livechat/custom-fields";
const SAVE: &str = "/api/v1/livechat/custom-fields.save";
const DELETE: &str = "/api/v1/livechat/custom-fields.delete";

fn bad_json() -> Value {
    coded("error-invalid-json", "Body is not valid JSON: EOF while parsing an object at line 1 column 1")
}

/// The config a fresh server answers, with the departments, custom fields, `online`
/// and the chime's address given.
fn default_config(app: &TestApp, departments: Value, custom_fields: Value, online: bool) -> Value {
    json!({
        "enabled": true,
        "settings": {
            "registrationForm": true,
            "allowSwitchingDepartments": true,
            "nameFieldRegistrationForm": true,
            "emailFieldRegistrationForm": true,
            "displayOfflineForm": true,
            "videoCall": false,
            "fileUpload": true,
            "language": "",
            "transcript": false,
            "historyMonitorType": "url",
            "forceAcceptDataProcessingConsent": false,
            "showConnecting": true,  // the harness runs under Manual_Selection
            "agentHiddenInfo": false,
            "clearLocalStorageWhenChatEnded": false,
            "limitTextLength": false,
            "hiddenSystemMessages": ["uj", "ul", "livechat-close"],
            "livechatLogo": {},
            "hideWatermark": false,
            "visitorsCanCloseChat": true,
        },
        "theme": {
            "title": "Rocket.Chat",
            "color": "#C1272D",
            "offlineTitle": "Leave a message",
            "offlineColor": "#666666",
            "position": "right",
            "background": "",
            "actionLinks": {
                "webrtc": [
                    {"actionLinksAlignment": "flex-start", "i18nLabel": "Join_call", "label": "Join call",
                     "method_id": "joinLivechatWebRTCCall"},
                    {"i18nLabel": "End_call", "label": "End call", "method_id": "endLivechatWebRTCCall", "danger": true},
                ],
                "jitsi": [{"icon": "icon-videocam", "i18nLabel": "Accept"}, {"icon": "icon-cancel", "i18nLabel": "Decline"}],
            },
        },
        "messages": {
            "offlineMessage": "",
            "offlineSuccessMessage": "",
            "offlineUnavailableMessage": "",
            "conversationFinishedMessage": "",
            "conversationFinishedText": "",
            "transcriptMessage": "",
            "registrationFormMessage": "",
            "dataProcessingConsentText": "",
        },
        "survey": {
            "items": ["satisfaction", "agentKnowledge", "agentResposiveness", "agentFriendliness"],
            "values": ["1", "2", "3", "4", "5"],
        },
        "triggers": [],
        "departments": departments,
        "resources": {"sound": format!("{}/sounds/chime.mp3", app.base), "emojis": []},
        "online": online,
        "customFields": custom_fields,
    })
}

async fn config(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("{CONFIG}{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true));
    body["config"].clone()
}

async fn save_field(app: &TestApp, data: Value) -> Value {
    let (status, body) =
        app.post(SAVE, Some(&app.admin), json!({"customFieldId": null, "customFieldData": data})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["customField"].clone()
}

/// A department with these registration and offline-form flags.
async fn flagged_department(
    app: &TestApp,
    name: &str,
    enabled: bool,
    on_registration: bool,
    agent: &Session,
) -> String {
    let (status, body) = app
        .post(
            "/api/v1/livechat/department",
            Some(&app.admin),
            json!({
                "department": {"name": name, "enabled": enabled, "email": "", "showOnRegistration": on_registration,
                               "showOnOfflineForm": false},
                "agents": [{"agentId": agent.user_id}],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["department"]["_id"].as_str().expect("a department id").to_owned()
}

both_backends!(config_answers_everything_the_widget_reads_with_and_without_a_token, |app| {
    let agent = available_agent(&app, "widget.agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    // Not listed: disabled or without agents. Off the registration form is listed: the
    // widget's offline form may show it.
    flagged_department(&app, "Archive", false, true, &agent).await;
    let internal = flagged_department(&app, "Internal", true, false, &agent).await;
    department(&app, "Empty", &[]).await;
    save_field(
        &app,
        json!({"field": "company", "label": "Company", "scope": "visitor", "visibility": "visible",
                            "type": "select", "regexp": "^[A-Z]", "required": true, "defaultValue": "Acme",
                            "options": "Acme,Globex", "public": true}),
    )
    .await;
    save_field(
        &app,
        json!({"field": "nickname", "label": "Nickname", "scope": "visitor", "visibility": "visible",
                            "public": true}),
    )
    .await;
    // Not listed: private, hidden, or of the room.
    save_field(&app, json!({"field": "score", "label": "Score", "scope": "visitor", "visibility": "visible"})).await;
    save_field(
        &app,
        json!({"field": "secret", "label": "Secret", "scope": "visitor", "visibility": "hidden",
                            "public": true}),
    )
    .await;
    save_field(
        &app,
        json!({"field": "topic", "label": "Topic", "scope": "room", "visibility": "visible", "public": true}),
    )
    .await;

    let departments = json!([
        {"_id": internal, "name": "Internal", "showOnRegistration": false, "showOnOfflineForm": false},
        {"_id": sales, "name": "Sales", "showOnRegistration": true, "showOnOfflineForm": true},
    ]);
    let custom_fields = json!([
        {"_id": "company", "label": "Company", "regexp": "^[A-Z]", "required": true, "type": "select",
         "defaultValue": "Acme", "options": ["Acme", "Globex"]},
        {"_id": "nickname", "label": "Nickname", "required": false, "defaultValue": null},
    ]);
    let expected = default_config(&app, departments, custom_fields, true);
    assert_eq!(app.get(CONFIG, None).await, (StatusCode::OK, json!({"config": expected, "success": true})));
    // An unknown token adds nothing; nor does an empty one.
    assert_eq!(config(&app, "?token=nobody").await, expected);
    assert_eq!(config(&app, "?token=&department=&businessUnit=unit-1").await, expected);

    // A known visitor without a room: the guest alone.
    let (status, registered) =
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "tok-roomless", "name": "Ann"}})).await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let mut with_guest = expected.clone();
    with_guest["guest"] = registered["visitor"].clone();
    assert_eq!(config(&app, "?token=tok-roomless").await, with_guest);

    // A visitor whose open room an agent serves: guest, room and agent.
    let (token, room_id) = visitor_with_room(&app, "tok-served", None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, visitor) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    let (_, room) = app.get(&format!("/api/v1/livechat/room?token={token}"), None).await;
    let mut served = expected.clone();
    served["guest"] = visitor["visitor"].clone();
    served["room"] = room["room"].clone();
    served["agent"] = json!({"_id": agent.user_id, "username": "widget.agent", "name": "widget.agent",
                             "status": "offline", "emails": [{"address": "widget.agent@example.com", "verified": false}]});
    assert_eq!(config(&app, &format!("?token={token}")).await, served);

    // Agent details follow Livechat_show_agent_email and Livechat_show_agent_info.
    set_setting(&app, "Livechat_show_agent_email", json!(false)).await;
    served["agent"].as_object_mut().unwrap().remove("emails");
    assert_eq!(config(&app, &format!("?token={token}")).await, served);
    set_setting(&app, "Livechat_show_agent_info", json!(false)).await;
    served["agent"] = json!({"hiddenInfo": true});
    served["settings"]["agentHiddenInfo"] = json!(true);
    assert_eq!(config(&app, &format!("?token={token}")).await, served);

    // A closed room is no longer the visitor's.
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"token": token, "rid": room_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, visitor) = app.get(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    let mut closed = expected.clone();
    closed["guest"] = visitor["visitor"].clone();
    closed["settings"]["agentHiddenInfo"] = json!(true);
    assert_eq!(config(&app, &format!("?token={token}")).await, closed);
});

both_backends!(config_follows_the_settings_it_reads, |app| {
    let changes = [
        ("Livechat_registration_form", json!(false)),
        ("Livechat_allow_switching_departments", json!(false)),
        ("Livechat_name_field_registration_form", json!(false)),
        ("Livechat_email_field_registration_form", json!(false)),
        ("Livechat_display_offline_form", json!(false)),
        ("Omnichannel_call_provider", json!("default-provider")),
        ("FileUpload_Enabled", json!(false)),
        ("Language", json!("pt-BR")),
        ("Livechat_enable_transcript", json!(true)),
        ("Livechat_history_monitor_type", json!("title")),
        ("Livechat_force_accept_data_processing_consent", json!(true)),
        ("Livechat_Routing_Method", json!("Auto_Selection")),
        ("Livechat_clear_local_storage_when_chat_ended", json!(true)),
        ("Livechat_enable_message_character_limit", json!(true)),
        ("Message_MaxAllowedSize", json!(800)),
        ("Livechat_hide_system_messages", json!(["livechat-started"])),
        ("Livechat_hide_watermark", json!(true)),
        ("Omnichannel_allow_visitors_to_close_conversation", json!(false)),
        ("Livechat_title", json!("Acme support")),
        ("Livechat_title_color", json!("#112233")),
        ("Livechat_offline_title", json!("We are away")),
        ("Livechat_offline_title_color", json!("#445566")),
        ("Livechat_widget_position", json!("left")),
        ("Livechat_background", json!("red")),
        ("Livechat_offline_message", json!("Leave us a note")),
        ("Livechat_offline_success_message", json!("Thanks")),
        ("Livechat_offline_form_unavailable", json!("Closed")),
        ("Livechat_conversation_finished_message", json!("Bye")),
        ("Livechat_conversation_finished_text", json!("Finished")),
        ("Livechat_transcript_message", json!("Want a transcript?")),
        ("Livechat_registration_form_message", json!("Tell us who you are")),
        ("Livechat_data_processing_consent_text", json!("We keep your data")),
        ("Livechat_accept_chats_with_no_agents", json!(true)),
    ];
    for (id, value) in changes {
        set_setting(&app, id, value).await;
    }
    let mut expected = default_config(&app, json!([]), json!([]), true);
    expected["settings"] = json!({
        "registrationForm": false,
        "allowSwitchingDepartments": false,
        "nameFieldRegistrationForm": false,
        "emailFieldRegistrationForm": false,
        "displayOfflineForm": false,
        "videoCall": true,
        "fileUpload": false,
        "language": "pt-BR",
        "transcript": true,
        "historyMonitorType": "title",
        "forceAcceptDataProcessingConsent": true,
        "showConnecting": false,
        "agentHiddenInfo": false,
        "clearLocalStorageWhenChatEnded": true,
        "limitTextLength": 800,
        "hiddenSystemMessages": ["livechat-started"],
        "livechatLogo": {},
        "hideWatermark": true,
        "visitorsCanCloseChat": false,
    });
    for (key, value) in [
        ("title", "Acme support"),
        ("color", "#112233"),
        ("offlineTitle", "We are away"),
        ("offlineColor", "#445566"),
        ("position", "left"),
        ("background", "red"),
    ] {
        expected["theme"][key] = json!(value);
    }
    expected["messages"] = json!({
        "offlineMessage": "Leave us a note",
        "offlineSuccessMessage": "Thanks",
        "offlineUnavailableMessage": "Closed",
        "conversationFinishedMessage": "Bye",
        "conversationFinishedText": "Finished",
        "transcriptMessage": "Want a transcript?",
        "registrationFormMessage": "Tell us who you are",
        "dataProcessingConsentText": "We keep your data",
    });
    // No agent is available, but chats are accepted without one.
    assert_eq!(config(&app, "").await, expected);

    // The widget's own limit wins over the message size.
    set_setting(&app, "Livechat_message_character_limit", json!(140)).await;
    expected["settings"]["limitTextLength"] = json!(140);
    assert_eq!(config(&app, "").await, expected);

    set_setting(&app, "Livechat_enabled", json!(false)).await;
    assert_eq!(
        app.get(&format!("{CONFIG}?token=anyone"), None).await,
        (StatusCode::OK, json!({"config": {"enabled": false}, "success": true}))
    );
});

both_backends!(config_is_online_while_an_agent_of_the_department_is_available, |app| {
    // The harness accepts chats with no agents, which makes the widget always online.
    set_setting(&app, "Livechat_accept_chats_with_no_agents", json!(false)).await;
    let online = |config: Value| config["online"].clone();
    assert_eq!(online(config(&app, "").await), json!(false));
    let agent = available_agent(&app, "online.agent").await;
    let idle = app.user_with_roles("idle.agent", &["user", "livechat-agent"]).await;
    let staffed = department(&app, "Staffed", &[&agent]).await;
    let idle_department = department(&app, "Idle", &[&idle]).await;
    assert_eq!(online(config(&app, "").await), json!(true));
    assert_eq!(online(config(&app, &format!("?department={staffed}")).await), json!(true));
    assert_eq!(online(config(&app, &format!("?department={idle_department}")).await), json!(false));
    assert_eq!(online(config(&app, "?department=no-such-department").await), json!(false));

    // The agent going unavailable takes the widget offline.
    let (status, body) =
        app.post("/api/v1/livechat/agent.status", Some(&agent), json!({"status": "not-available"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(online(config(&app, "").await), json!(false));
});

both_backends!(config_refuses_unknown_and_over_long_parameters, |app| {
    let long = "t".repeat(257);
    let cases = [
        ("?visitor=1".to_owned(), invalid_params("must NOT have additional properties")),
        (format!("?token={long}"), invalid_params("/token must NOT have more than 256 characters")),
        (format!("?department={long}"), invalid_params("/department must NOT have more than 256 characters")),
    ];
    for (query, expected) in cases {
        assert_eq!(app.get(&format!("{CONFIG}{query}"), None).await, (StatusCode::BAD_REQUEST, expected), "{query}");
    }
});

fn offline(email: &str) -> Value {
    json!({"name": "Marcos", "email": email, "message": "Call me back\nplease", "host": "https://shop.example/"})
}

fn sent() -> Value {
    json!({"message": "Livechat offline message sent", "success": true})
}

fn refused() -> Value {
    bare("Error sending Omnichannel offline message")
}

/// The stored offline messages: name, email, message, department, host, recipient.
async fn stored_offline_messages(app: &TestApp) -> Vec<String> {
    app.column_strings(
        "SELECT name || '|' || email || '|' || message || '|' || COALESCE(department_id, '-') || '|' || \
         COALESCE(host, '-') || '|' || recipient FROM offline_messages ORDER BY created_at",
    )
    .await
}

/// The interval between two offline messages of one address, in milliseconds.
const INTERVAL: i64 = 5_000;

both_backends!(offline_message_is_kept_for_its_department_or_the_offline_address, clock = START, |app| {
    // Rocket.Chat cannot send it while Livechat_offline_email names no address.
    assert_eq!(app.post(OFFLINE, None, offline("marcos@example.com")).await, (StatusCode::BAD_REQUEST, refused()));
    set_setting(&app, "Livechat_offline_email", json!("support@example.com")).await;
    app.clock.advance(INTERVAL);
    assert_eq!(app.post(OFFLINE, None, offline("marcos@example.com")).await, (StatusCode::OK, sent()));

    // A department with an address receives its messages; named by id or name.
    let sales = department(&app, "Sales", &[]).await;
    app.execute("UPDATE departments SET email = 'sales@example.com' WHERE name = 'Sales'").await;
    app.clock.advance(INTERVAL);
    let mut body = offline("ann@example.com");
    body["department"] = json!("Sales");
    assert_eq!(app.post(OFFLINE, None, body).await, (StatusCode::OK, sent()));
    // Unknown departments, and messages without a host, go to the offline address.
    app.clock.advance(INTERVAL);
    let body = json!({"name": "Bo", "email": "bo@example.com", "message": "Hi", "department": "nowhere"});
    assert_eq!(app.post(OFFLINE, None, body).await, (StatusCode::OK, sent()));
    assert_eq!(
        stored_offline_messages(&app).await,
        vec![
            "Marcos|marcos@example.com|Call me back\nplease|-|https://shop.example/|support@example.com".to_owned(),
            format!("Marcos|ann@example.com|Call me back\nplease|{sales}|https://shop.example/|sales@example.com"),
            "Bo|bo@example.com|Hi|-|-|support@example.com".to_owned(),
        ]
    );

    // Livechat_display_offline_form false: refused, nothing kept.
    set_setting(&app, "Livechat_display_offline_form", json!(false)).await;
    app.clock.advance(INTERVAL);
    assert_eq!(app.post(OFFLINE, None, offline("marcos@example.com")).await, (StatusCode::BAD_REQUEST, refused()));
    assert_eq!(stored_offline_messages(&app).await.len(), 3);
});

both_backends!(offline_message_refuses_bad_bodies_and_addresses, clock = START, |app| {
    set_setting(&app, "Livechat_offline_email", json!("support@example.com")).await;
    let long = "x".repeat(5001);
    let cases = [
        (json!({}), invalid_params("must have required property 'name'")),
        (json!({"name": "Marcos"}), invalid_params("must have required property 'email'")),
        (json!({"name": "Marcos", "email": "m@example.com"}), invalid_params("must have required property 'message'")),
        (json!({"name": 5, "email": "m@example.com", "message": "Hi"}), invalid_params("/name must be string")),
        (
            json!({"name": "M", "email": "m@example.com", "message": "Hi", "phone": "1"}),
            invalid_params("must NOT have additional properties"),
        ),
        (
            json!({"name": "M", "email": "m@example.com", "message": long}),
            invalid_params("/message must NOT have more than 5000 characters"),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(app.post(OFFLINE, None, body.clone()).await, (StatusCode::BAD_REQUEST, expected), "{body}");
    }
    assert_eq!(app.send_raw_json(Method::POST, OFFLINE, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
    for email in ["", "marcos", "marcos@example", "mar cos@example.com", "@example.com"] {
        app.clock.advance(INTERVAL);
        assert_eq!(app.post(OFFLINE, None, offline(email)).await, (StatusCode::BAD_REQUEST, refused()), "{email}");
    }
    assert_eq!(stored_offline_messages(&app).await, Vec::<String>::new());
});

both_backends!(offline_message_takes_one_message_per_address_every_five_seconds, clock = START, |app| {
    set_setting(&app, "Livechat_offline_email", json!("support@example.com")).await;
    assert_eq!(app.post(OFFLINE, None, offline("marcos@example.com")).await, (StatusCode::OK, sent()));
    let too_many = |seconds: u32| {
        bare(&format!(
            "Error, too many requests. Please slow down. You must wait {seconds} seconds before trying again. \
             [error-too-many-requests]"
        ))
    };
    app.clock.advance(1_500);
    let response = app.client.post(app.url(OFFLINE)).json(&offline("marcos@example.com")).send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "4");
    assert_eq!(
        send(app.client.post(app.url(OFFLINE)).json(&offline("x@example.com"))).await,
        (StatusCode::TOO_MANY_REQUESTS, too_many(4))
    );
    app.clock.advance(3_499);
    assert_eq!(
        app.post(OFFLINE, None, offline("marcos@example.com")).await,
        (StatusCode::TOO_MANY_REQUESTS, too_many(1))
    );
    app.clock.advance(1);
    assert_eq!(app.post(OFFLINE, None, offline("marcos@example.com")).await, (StatusCode::OK, sent()));

    // Of many at once from one address, one is kept.
    app.clock.advance(INTERVAL);
    let app = Arc::new(app);
    let posts = (0..10).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { app.post(OFFLINE, None, offline("burst@example.com")).await })
    });
    let answers: Vec<(StatusCode, Value)> =
        futures::future::join_all(posts).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers.iter().filter(|answer| **answer == (StatusCode::OK, sent())).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(status, _)| [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS].contains(status)));
    assert_eq!(stored_offline_messages(&app).await.len(), 3);
});

fn minimal_field(field: &str, label: &str) -> Value {
    json!({"field": field, "label": label, "scope": "visitor", "visibility": "visible"})
}

both_backends!(custom_fields_are_created_listed_changed_and_deleted, clock = START, |app| {
    let updated_at = "2026-01-02T03:04:05.678Z";
    assert_eq!(
        app.post(SAVE, Some(&app.admin), json!({"customFieldData": minimal_field("address", "Address")})).await,
        (
            StatusCode::OK,
            json!({"customField": {"_id": "address", "label": "Address", "scope": "visitor", "visibility": "visible",
                                   "_updatedAt": updated_at}, "success": true})
        )
    );
    let full = json!({"field": "plan", "label": "Plan", "scope": "room", "visibility": "hidden", "type": "select",
                      "regexp": "^[a-z]+$", "searchable": true, "required": true, "defaultValue": "basic",
                      "options": "basic,pro", "public": false});
    let mut stored_plan = full.clone();
    stored_plan.as_object_mut().unwrap().remove("field");
    stored_plan["_id"] = json!("plan");
    stored_plan["_updatedAt"] = json!(updated_at);
    assert_eq!(
        app.post(SAVE, Some(&app.admin), json!({"customFieldId": null, "customFieldData": full})).await,
        (StatusCode::OK, json!({"customField": stored_plan, "success": true}))
    );
    let address = json!({"_id": "address", "label": "Address", "scope": "visitor", "visibility": "visible",
                         "_updatedAt": updated_at});
    save_field(&app, minimal_field("zone", "Customer zone")).await;
    let zone = json!({"_id": "zone", "label": "Customer zone", "scope": "visitor", "visibility": "visible",
                      "_updatedAt": updated_at});

    let page = |fields: Value, offset: i64, total: i64| {
        json!({"customFields": fields, "count": fields.as_array().unwrap().len(), "offset": offset, "total": total,
               "success": true})
    };
    assert_eq!(
        app.get(FIELDS, Some(&app.admin)).await,
        (StatusCode::OK, page(json!([address, zone, stored_plan]), 0, 3))
    );
    assert_eq!(
        app.get(&format!("{FIELDS}?count=1&offset=1&sort={{\"_id\":-1}}"), Some(&app.admin)).await,
        (StatusCode::OK, page(json!([stored_plan]), 1, 3))
    );
    // `text` matches the id or the label, in any case.
    assert_eq!(
        app.get(&format!("{FIELDS}?text=ZON"), Some(&app.admin)).await,
        (StatusCode::OK, page(json!([zone]), 0, 1))
    );
    assert_eq!(
        app.get(&format!("{FIELDS}?text=customer"), Some(&app.admin)).await,
        (StatusCode::OK, page(json!([zone]), 0, 1))
    );
    assert_eq!(app.get(&format!("{FIELDS}?text=%25"), Some(&app.admin)).await, (StatusCode::OK, page(json!([]), 0, 0)));
    assert_eq!(
        app.get(&format!("{FIELDS}/plan"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"customField": stored_plan, "success": true}))
    );

    // An update sets what it is given and keeps the rest; the id does not change.
    app.clock.advance(1_000);
    let changed = json!({"customFieldId": "plan",
                         "customFieldData": {"field": "ignored", "label": "Plan name", "scope": "visitor",
                                             "visibility": "visible", "required": false}});
    let mut changed_plan = stored_plan.clone();
    for (key, value) in [
        ("label", json!("Plan name")),
        ("scope", json!("visitor")),
        ("visibility", json!("visible")),
        ("required", json!(false)),
        ("_updatedAt", json!("2026-01-02T03:04:06.678Z")),
    ] {
        changed_plan[key] = value;
    }
    assert_eq!(
        app.post(SAVE, Some(&app.admin), changed).await,
        (StatusCode::OK, json!({"customField": changed_plan, "success": true}))
    );
    assert_eq!(
        app.get(&format!("{FIELDS}/plan"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"customField": changed_plan, "success": true}))
    );

    // Deleting takes the visitors' values with it.
    visitor_with_room(&app, "tok-fields", None).await;
    let value = json!({"token": "tok-fields", "key": "plan", "value": "pro", "overwrite": true});
    assert_eq!(app.post("/api/v1/livechat/custom.field", None, value.clone()).await.0, StatusCode::OK);
    assert_eq!(
        app.post(DELETE, Some(&app.admin), json!({"customFieldId": "plan"})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(app.column_strings("SELECT field_id FROM visitor_custom_fields").await, Vec::<String>::new());
    assert_eq!(
        app.get(&format!("{FIELDS}/plan"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"customField": null, "success": true}))
    );
    assert_eq!(
        app.post("/api/v1/livechat/custom.field", None, value).await,
        (StatusCode::BAD_REQUEST, bare("invalid-custom-field"))
    );
});

both_backends!(custom_field_routes_refuse_bad_inputs_and_callers_without_permission, |app| {
    save_field(&app, minimal_field("address", "Address")).await;
    let agent = app.user_with_roles("fields.agent", &["user", "livechat-agent"]).await;
    let user = app.user_with_roles("fields.user", &["user"]).await;
    let save = json!({"customFieldData": minimal_field("other", "Other")});
    let delete = json!({"customFieldId": "address"});

    // No login, then the permission: agents read (view-l-room) but do not manage.
    assert_eq!(app.get(FIELDS, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get(&format!("{FIELDS}/address"), None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(SAVE, None, save.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(DELETE, None, delete.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get(FIELDS, Some(&user)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.get(&format!("{FIELDS}/address"), Some(&user)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.get(FIELDS, Some(&agent)).await.0, StatusCode::OK);
    assert_eq!(app.post(SAVE, Some(&agent), save.clone()).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.post(DELETE, Some(&agent), delete.clone()).await, (StatusCode::FORBIDDEN, no_permission()));

    let long = "f".repeat(257);
    let with_data = |data: Value| json!({"customFieldId": null, "customFieldData": data});
    let save_cases = [
        (json!({}), invalid_params("must have required property 'customFieldData'")),
        (
            with_data(json!({"field": "x", "label": "X", "scope": "visitor"})),
            invalid_params("must have required property 'visibility'"),
        ),
        (
            with_data(json!({"field": "x", "label": "X", "scope": "page", "visibility": "visible"})),
            invalid_params("/customFieldData/scope must be equal to one of the allowed values"),
        ),
        (
            with_data(
                json!({"field": "x", "label": "X", "scope": "visitor", "visibility": "visible", "required": "yes"}),
            ),
            invalid_params("/customFieldData/required must be boolean"),
        ),
        (
            json!({"customFieldId": 5, "customFieldData": minimal_field("x", "X")}),
            invalid_params("/customFieldId must be string"),
        ),
        (
            with_data(json!({"field": "x", "label": long, "scope": "visitor", "visibility": "visible"})),
            invalid_params("/customFieldData/label must NOT have more than 256 characters"),
        ),
        (
            with_data(json!({"field": "x", "label": "X", "scope": "visitor", "visibility": "visible", "color": "red"})),
            invalid_params("must NOT have additional properties"),
        ),
        (
            with_data(minimal_field("bad name!", "Bad")),
            coded(
                "error-invalid-custom-field-name",
                "Invalid custom field name. Use only letters, numbers, hyphens and underscores.",
            ),
        ),
        (with_data(minimal_field("address", "Again")), bare("Custom Field already exists")),
        (
            json!({"customFieldId": "nowhere", "customFieldData": minimal_field("x", "X")}),
            bare("Custom Field Not found"),
        ),
    ];
    for (body, expected) in save_cases {
        assert_eq!(app.post(SAVE, Some(&app.admin), body.clone()).await, (StatusCode::BAD_REQUEST, expected), "{body}");
    }
    let delete_cases = [
        (json!({}), invalid_params("must have required property 'customFieldId'")),
        (json!({"customFieldId": 1}), invalid_params("/customFieldId must be string")),
        (json!({"customFieldId": long}), invalid_params("/customFieldId must NOT have more than 256 characters")),
        (json!({"customFieldId": "nowhere"}), bare("Custom field not found")),
    ];
    for (body, expected) in delete_cases {
        assert_eq!(
            app.post(DELETE, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    assert_eq!(app.send_raw_json(Method::POST, SAVE, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
    assert_eq!(app.send_raw_json(Method::POST, DELETE, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
    let list_cases = [
        ("?sort={\"color\":1}", coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"color\":1}\"")),
        ("?field=x", invalid_params("must NOT have additional properties")),
    ];
    for (query, expected) in list_cases {
        assert_eq!(
            app.get(&format!("{FIELDS}{query}"), Some(&app.admin)).await,
            (StatusCode::BAD_REQUEST, expected),
            "{query}"
        );
    }
    assert_eq!(
        app.get(&format!("{FIELDS}/{long}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/_id must NOT have more than 256 characters"))
    );
    // Nothing changed.
    assert_eq!(app.column_strings("SELECT id FROM livechat_custom_fields").await, vec!["address".to_owned()]);
});

both_backends!(a_deleted_custom_field_keeps_no_value_written_while_it_was_deleted, |app| {
    for round in 0..5 {
        let field = format!("field{round}");
        save_field(&app, minimal_field(&field, "Racing")).await;
        let app_ref = &app;
        let writes = (0..8).map(|writer| {
            let field = field.clone();
            async move {
                let token = format!("tok-race-{round}-{writer}");
                app_ref.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token}})).await;
                app_ref
                    .post(
                        "/api/v1/livechat/custom.field",
                        None,
                        json!({"token": token, "key": field, "value": "v", "overwrite": true}),
                    )
                    .await
            }
        });
        let delete = app.post(DELETE, Some(&app.admin), json!({"customFieldId": field}));
        let (answers, deleted) = futures::future::join(futures::future::join_all(writes), delete).await;
        assert_eq!(deleted, (StatusCode::OK, json!({"success": true})));
        for answer in answers {
            let written = json!({"field": {"key": field, "value": "v", "overwrite": true}, "success": true});
            assert!(
                answer == (StatusCode::OK, written)
                    || answer == (StatusCode::BAD_REQUEST, bare("invalid-custom-field")),
                "{answer:?}"
            );
        }
        assert_eq!(app.column_strings("SELECT field_id FROM visitor_custom_fields").await, Vec::<String>::new());
    }
});

both_backends!(agent_info_follows_the_agent_visibility_settings, |app| {
    let agent = available_agent(&app, "shy.agent").await;
    let (token, room_id) = visitor_with_room(&app, "tok-shy", None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/api/v1/livechat/agent.info/{room_id}/{token}");
    set_setting(&app, "Livechat_show_agent_email", json!(false)).await;
    assert_eq!(
        app.get(&path, None).await,
        (
            StatusCode::OK,
            json!({"agent": {"_id": agent.user_id, "username": "shy.agent", "name": "shy.agent", "status": "offline"},
                   "success": true})
        )
    );
    set_setting(&app, "Livechat_show_agent_info", json!(false)).await;
    assert_eq!(app.get(&path, None).await, (StatusCode::OK, json!({"agent": {"hiddenInfo": true}, "success": true})));
});

both_backends!(page_visited_records_the_change_livechat_history_monitor_type_names, |app| {
    let (token, room_id) = visitor_with_room(&app, "tok-title", None).await;
    set_setting(&app, "Livechat_history_monitor_type", json!("title")).await;
    let page =
        |change: &str| json!({"change": change, "title": "Cart", "location": {"href": "https://shop.example/cart"}});
    let body = json!({"token": token, "rid": room_id, "pageInfo": page("url")});
    assert_eq!(app.post("/api/v1/livechat/page.visited", None, body).await, (StatusCode::OK, json!({"success": true})));
    let body = json!({"token": token, "rid": room_id, "pageInfo": page("title")});
    assert_eq!(
        app.post("/api/v1/livechat/page.visited", None, body).await,
        (
            StatusCode::OK,
            json!({"page": {"msg": "Cart - https://shop.example/cart",
                            "navigation": {"page": page("title"), "token": "tok-title"}},
                   "success": true})
        )
    );
    assert_eq!(
        app.column_strings("SELECT msg FROM messages WHERE hidden").await,
        vec!["Cart - https://shop.example/cart".to_owned()]
    );
});

both_backends!(of_concurrent_creations_of_one_custom_field_one_wins, |app| {
    let body = json!({"customFieldData": minimal_field("contested", "Contested")});
    let saves = (0..10).map(|_| app.post(SAVE, Some(&app.admin), body.clone()));
    let answers = futures::future::join_all(saves).await;
    let created = answers.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    let refused =
        answers.iter().filter(|answer| **answer == (StatusCode::BAD_REQUEST, bare("Custom Field already exists")));
    assert_eq!((created, refused.count()), (1, 9), "{answers:?}");
    assert_eq!(app.column_strings("SELECT id FROM livechat_custom_fields").await, vec!["contested".to_owned()]);
});
