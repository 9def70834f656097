//! Rocket.Chat's settings API, and the behaviours the settings change, on one instance
//! and across two instances sharing a database.

use std::time::Duration;

use livechat_server::config::AppSettings;
use livechat_server::domain::queue::QueueSort;
use livechat_server::domain::routing::RoutingMethod;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends, open_store, send};
use crate::lifecycle::{available_agent, department, visitor_with_room};

const PUBLIC: &str = "/api/v1/settings.public";
const SETTINGS: &str = "/api/v1/settings";

fn success() -> Value {
    json!({"success": true})
}

fn bare_failure() -> Value {
    json!({"success": false})
}

/// Sets a setting as the administrator and checks that it was accepted.
pub async fn set_setting(app: &TestApp, id: &str, value: Value) {
    let answer = app.post(&format!("{SETTINGS}/{id}"), Some(&app.admin), json!({"value": value})).await;
    assert_eq!(answer, (StatusCode::OK, success()), "setting {id}");
}

/// Lets `DELETE livechat/department/{id}` delete (Rocket.Chat's default is false).
pub async fn allow_department_removal(app: &TestApp) {
    set_setting(app, "Omnichannel_enable_department_removal", json!(true)).await;
}

/// A request to another instance, with the same checks as the harness's.
async fn call_on(
    base: &str,
    method: Method,
    path: &str,
    session: Option<&Session>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(session) = session {
        request = request.header("X-User-Id", &session.user_id).header("X-Auth-Token", &session.token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

fn enterprise(id: &str, value: Value, invalid: Value) -> Value {
    json!({"_id": id, "value": value, "enterprise": true, "invalidValue": invalid, "modules": ["livechat-enterprise"]})
}

/// The harness stores Manual_Selection at spawn; tests that read the seeded settings
/// keep Rocket.Chat's default routing method instead.
fn seeded_routing() -> AppSettings {
    AppSettings { routing_method: Some(RoutingMethod::AutoSelection), ..AppSettings::default() }
}

// ---- settings.public ----

both_backends!(public_settings_need_no_login_and_list_only_public_ones, settings = seeded_routing(), |app| {
    assert_eq!(
        app.get(&format!("{PUBLIC}?count=5"), None).await,
        (
            StatusCode::OK,
            json!({
                "settings": [
                    {"_id": "FileUpload_Enabled", "value": true},
                    {"_id": "FileUpload_MaxFileSize", "value": 104857600},
                    {"_id": "FileUpload_MediaTypeBlackList", "value": "image/svg+xml"},
                    {"_id": "FileUpload_MediaTypeWhiteList", "value": ""},
                    {"_id": "Language", "value": ""},
                ],
                "count": 5, "offset": 0, "total": 47, "success": true,
            })
        )
    );
    // Ids that are not public (the secret token, the webhook URL) are left out.
    let ids = "Livechat_title, Livechat_secret_token,Livechat_webhookUrl,Omnichannel_sorting_mechanism";
    assert_eq!(
        app.get(&format!("{PUBLIC}?_id={ids}"), None).await,
        (
            StatusCode::OK,
            json!({
                "settings": [
                    {"_id": "Livechat_title", "value": "Rocket.Chat"},
                    enterprise("Omnichannel_sorting_mechanism", json!("Timestamp"), json!("")),
                ],
                "count": 2, "offset": 0, "total": 2, "success": true,
            })
        )
    );
    assert_eq!(
        app.get(&format!("{PUBLIC}?_id=10"), None).await,
        (StatusCode::OK, json!({"settings": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
});

both_backends!(public_settings_take_the_query_and_fields_clients_send, |app| {
    let query = r#"{"_id":{"$in":["Livechat_enabled","Livechat_offline_email","Livechat_hide_system_messages"]}}"#;
    let fields = r#"{"type":1,"public":1,"packageValue":1,"section":1,"i18nLabel":1,"value":0}"#;
    assert_eq!(
        app.get(&format!("{PUBLIC}?query={query}&fields={fields}&sort={{\"_id\":-1}}"), None).await,
        (
            StatusCode::OK,
            json!({
                "settings": [
                    {"_id": "Livechat_hide_system_messages", "value": ["uj", "ul", "livechat-close"], "enterprise": true,
                     "invalidValue": [], "modules": ["livechat-enterprise"], "packageValue": ["uj", "ul", "livechat-close"],
                     "type": "multiSelect", "public": true, "section": "Livechat"},
                    {"_id": "Livechat_enabled", "value": true, "packageValue": true, "type": "boolean", "public": true},
                ],
                "count": 2, "offset": 0, "total": 2, "success": true,
            })
        )
    );
    assert_eq!(
        app.get(&format!("{PUBLIC}?query={{\"_id\":\"Livechat_title\"}}"), None).await,
        (
            StatusCode::OK,
            json!({"settings": [{"_id": "Livechat_title", "value": "Rocket.Chat"}], "count": 1, "offset": 0, "total": 1, "success": true})
        )
    );
    let other_query = r#"{"public":true}"#;
    assert_eq!(
        app.get(&format!("{PUBLIC}?query={other_query}"), None).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-query", &format!("Invalid query parameter provided: \"{other_query}\""))
        )
    );
    assert_eq!(
        app.get(&format!("{PUBLIC}?fields={{\"type\":true}}"), None).await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-fields", "Invalid fields parameter provided: \"{\"type\":true}\"")
        )
    );
    assert_eq!(
        app.get(&format!("{PUBLIC}?sort={{\"value\":1}}"), None).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"value\":1}\""))
    );
    assert_eq!(
        app.get(&format!("{PUBLIC}?includeDefaults=true"), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
});

// ---- settings ----

both_backends!(the_settings_list_shows_privileged_users_every_setting, clock = START, |app| {
    set_setting(&app, "Livechat_secret_token", json!("s3cret")).await;
    let query = r#"{"_id":{"$in":["Livechat_secret_token","Livechat_title"]}}"#;
    let path = format!("{SETTINGS}?query={query}&includeDefaults=true&fields={{\"_updatedAt\":1}}");
    assert_eq!(
        app.get(&path, Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({
                "settings": [
                    {"_id": "Livechat_secret_token", "value": "s3cret", "packageValue": "", "_updatedAt": "2026-01-02T03:04:05.678Z"},
                    {"_id": "Livechat_title", "value": "Rocket.Chat", "packageValue": "Rocket.Chat", "_updatedAt": "1970-01-01T00:00:00.000Z"},
                ],
                "count": 2, "offset": 0, "total": 2, "success": true,
            })
        )
    );
    // Without view-privileged-setting, only public settings.
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    assert_eq!(
        app.get(&path, Some(&agent)).await,
        (
            StatusCode::OK,
            json!({
                "settings": [{"_id": "Livechat_title", "value": "Rocket.Chat", "packageValue": "Rocket.Chat", "_updatedAt": "1970-01-01T00:00:00.000Z"}],
                "count": 1, "offset": 0, "total": 1, "success": true,
            })
        )
    );
    let (status, body) = app.get(&format!("{SETTINGS}?count=100"), Some(&app.admin)).await;
    assert_eq!((status, &body["count"], &body["total"]), (StatusCode::OK, &json!(67), &json!(67)));
    assert_eq!(app.get(SETTINGS, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(
        app.get(&format!("{SETTINGS}?includeDefaults=maybe"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/includeDefaults must be boolean"))
    );
});

both_backends!(one_setting_is_read_by_privileged_users_only, settings = seeded_routing(), |app| {
    assert_eq!(
        app.get(&format!("{SETTINGS}/Livechat_Routing_Method"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"_id": "Livechat_Routing_Method", "value": "Auto_Selection", "success": true}))
    );
    assert_eq!(
        app.get(&format!("{SETTINGS}/No_such_setting"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare_failure())
    );
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    assert_eq!(
        app.get(&format!("{SETTINGS}/Livechat_Routing_Method"), Some(&manager)).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    assert_eq!(
        app.get(&format!("{SETTINGS}/Livechat_Routing_Method"), None).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

both_backends!(a_new_value_is_checked_against_the_setting_type, |app| {
    let post = |id: &'static str, body: Value| {
        let app = &app;
        async move { app.post(&format!("{SETTINGS}/{id}"), Some(&app.admin), body).await }
    };
    let match_error = |message: &str| bare(&format!("Match error: {message}"));
    assert_eq!(
        post("Livechat_enabled", json!({"value": "false"})).await,
        (StatusCode::BAD_REQUEST, match_error("Expected boolean, got string"))
    );
    assert_eq!(
        post("Livechat_title", json!({"value": null})).await,
        (StatusCode::BAD_REQUEST, match_error("Expected string, got null"))
    );
    assert_eq!(
        post("Livechat_message_character_limit", json!({"value": 1.5})).await,
        (StatusCode::BAD_REQUEST, match_error("Expected Integer, got 1.5"))
    );
    assert_eq!(
        post("Livechat_hide_system_messages", json!({"value": "uj"})).await,
        (StatusCode::BAD_REQUEST, match_error("Expected array, got string"))
    );
    assert_eq!(
        post("Omnichannel_sorting_mechanism", json!({"value": "sla"})).await,
        (
            StatusCode::BAD_REQUEST,
            coded(
                "error-invalid-setting-value",
                "Invalid value for Omnichannel_sorting_mechanism: one of Timestamp, Priority, SLAs expected"
            )
        )
    );
    assert_eq!(post("Livechat_enabled", json!({})).await, (StatusCode::BAD_REQUEST, bare_failure()));
    assert_eq!(post("No_such_setting", json!({"value": true})).await, (StatusCode::BAD_REQUEST, bare_failure()));
    assert_eq!(
        post("Livechat_enabled", json!({"value": true, "editor": "color"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    assert_eq!(
        app.post(&format!("{SETTINGS}/Livechat_title"), Some(&manager), json!({"value": "Help"})).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    assert_eq!(
        app.post(&format!("{SETTINGS}/Livechat_title"), None, json!({"value": "Help"})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );

    // Nothing above changed a value; good values are stored as given.
    for (id, value) in [
        ("Livechat_title", json!("Help")),
        ("Livechat_message_character_limit", json!(280)),
        ("Livechat_hide_system_messages", json!(["livechat-started"])),
        ("Livechat_Routing_Method", json!("Manual_Selection")),
        ("Livechat_title_color", json!("#000000")),
    ] {
        set_setting(&app, id, value).await;
    }
    let query = r#"{"_id":{"$in":["Livechat_enabled","Livechat_title","Livechat_message_character_limit","Livechat_hide_system_messages","Livechat_Routing_Method","Livechat_title_color"]}}"#;
    assert_eq!(
        app.get(&format!("{SETTINGS}?query={query}"), Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({
                "settings": [
                    {"_id": "Livechat_Routing_Method", "value": "Manual_Selection"},
                    {"_id": "Livechat_enabled", "value": true},
                    enterprise("Livechat_hide_system_messages", json!(["livechat-started"]), json!([])),
                    {"_id": "Livechat_message_character_limit", "value": 280},
                    {"_id": "Livechat_title", "value": "Help"},
                    {"_id": "Livechat_title_color", "value": "#000000"},
                ],
                "count": 6, "offset": 0, "total": 6, "success": true,
            })
        )
    );
});

// ---- Defaults from the environment ----

both_backends!(
    an_environment_default_applies_until_the_setting_is_changed,
    settings = AppSettings { queue_sort: Some(QueueSort::Sla), ..Default::default() },
    |app| {
        let path = format!("{SETTINGS}?query={{\"_id\":\"Omnichannel_sorting_mechanism\"}}&includeDefaults=true");
        let sorting = |value: &str, default: &str| {
            json!({"settings": [{"_id": "Omnichannel_sorting_mechanism", "value": value, "packageValue": default,
                                 "enterprise": true, "invalidValue": "", "modules": ["livechat-enterprise"]}],
                   "count": 1, "offset": 0, "total": 1, "success": true})
        };
        assert_eq!(app.get(&path, Some(&app.admin)).await, (StatusCode::OK, sorting("SLAs", "SLAs")));

        // Changed through the API, the setting keeps its value when an instance starts
        // with another default.
        set_setting(&app, "Omnichannel_sorting_mechanism", json!("Priority")).await;
        let settings = AppSettings { queue_sort: Some(QueueSort::Timestamp), ..Default::default() };
        let (second, _stop) =
            app.start_another_server(open_store(&app.database_url, Duration::from_secs(10)).await, settings).await;
        assert_eq!(
            call_on(&second, Method::GET, &path, Some(&app.admin), None).await,
            (StatusCode::OK, sorting("Priority", "Timestamp"))
        );
    }
);

// ---- Behaviour that follows the settings ----

/// The room ids of the agent's queue, in order.
async fn queue_of(base: &str, agent: &Session) -> Vec<String> {
    let (status, body) =
        call_on(base, Method::GET, "/api/v1/livechat/inquiries.queuedForUser", Some(agent), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["inquiries"].as_array().unwrap().iter().map(|inquiry| inquiry["rid"].as_str().unwrap().to_owned()).collect()
}

both_backends!(a_change_on_one_instance_applies_on_the_next_request_of_another, |app| {
    let (second, _stop) = app
        .start_another_server(open_store(&app.database_url, Duration::from_secs(10)).await, AppSettings::default())
        .await;
    let agent = available_agent(&app, "agent").await;
    let (_, first_room) = visitor_with_room(&app, "first", None).await;
    let (_, urgent_room) = visitor_with_room(&app, "urgent", None).await;
    let (status, _) = app
        .post(
            "/api/v1/livechat/sla",
            Some(&app.admin),
            json!({"name": "Fast", "description": "", "dueTimeInMinutes": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer = app
        .put("/api/v1/livechat/inquiry.setSLA", Some(&app.admin), json!({"roomId": urgent_room, "sla": "Fast"}))
        .await;
    assert_eq!(answer, (StatusCode::OK, success()));

    assert_eq!(queue_of(&second, &agent).await, [first_room.clone(), urgent_room.clone()]);
    set_setting(&app, "Omnichannel_sorting_mechanism", json!("SLAs")).await;
    assert_eq!(queue_of(&second, &agent).await, [urgent_room.clone(), first_room.clone()]);
    assert_eq!(
        call_on(&second, Method::GET, &format!("{SETTINGS}/Omnichannel_sorting_mechanism"), Some(&app.admin), None)
            .await,
        (StatusCode::OK, json!({"_id": "Omnichannel_sorting_mechanism", "value": "SLAs", "success": true}))
    );

    // Changed back on the second instance, the first one follows.
    let answer = call_on(
        &second,
        Method::POST,
        &format!("{SETTINGS}/Omnichannel_sorting_mechanism"),
        Some(&app.admin),
        Some(json!({"value": "Timestamp"})),
    )
    .await;
    assert_eq!(answer, (StatusCode::OK, success()));
    assert_eq!(queue_of(&app.base, &agent).await, [first_room, urgent_room]);
});

fn omnichannel_disabled() -> Value {
    json!({"success": false, "error": "[error-omnichannel-is-disabled]", "errorType": "error-omnichannel-is-disabled"})
}

both_backends!(with_livechat_disabled_visitors_open_no_room_and_send_nothing, |app| {
    let (token, room_id) = visitor_with_room(&app, "known", None).await;
    let (status, open_room) = app.get(&format!("/api/v1/livechat/room?token={token}"), None).await;
    assert_eq!((status, &open_room["newRoom"]), (StatusCode::OK, &json!(false)));
    let (status, _) =
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "new", "name": "New"}})).await;
    assert_eq!(status, StatusCode::OK);
    let (second, _stop) = app
        .start_another_server(open_store(&app.database_url, Duration::from_secs(10)).await, AppSettings::default())
        .await;

    set_setting(&app, "Livechat_enabled", json!(false)).await;
    // On the other instance too, at once: the open room is still found, no room is opened.
    let get_room = |token: &str| format!("/api/v1/livechat/room?token={token}");
    assert_eq!(call_on(&second, Method::GET, &get_room(&token), None, None).await, (StatusCode::OK, open_room.clone()));
    assert_eq!(
        call_on(&second, Method::GET, &get_room("new"), None, None).await,
        (StatusCode::BAD_REQUEST, omnichannel_disabled())
    );
    let message = json!({"token": token, "rid": room_id, "msg": "Anyone there?"});
    assert_eq!(
        call_on(&second, Method::POST, "/api/v1/livechat/message", None, Some(message.clone())).await,
        (StatusCode::BAD_REQUEST, omnichannel_disabled())
    );
    // The room's checks still come first.
    let elsewhere = json!({"token": token, "rid": "no-such-room", "msg": "Hello"});
    assert_eq!(
        app.post("/api/v1/livechat/message", None, elsewhere).await,
        (StatusCode::BAD_REQUEST, bare("invalid-room"))
    );

    set_setting(&app, "Livechat_enabled", json!(true)).await;
    let (status, body) = call_on(&second, Method::POST, "/api/v1/livechat/message", None, Some(message)).await;
    assert_eq!((status, &body["message"]["msg"]), (StatusCode::OK, &json!("Anyone there?")));
    let (status, body) = call_on(&second, Method::GET, &get_room("new"), None, None).await;
    assert_eq!((status, &body["newRoom"]), (StatusCode::OK, &json!(true)));
});

both_backends!(departments_are_deleted_only_when_the_setting_allows, |app| {
    let sales = department(&app, "Sales", &[]).await;
    let path = format!("/api/v1/livechat/department/{sales}");
    assert_eq!(
        app.delete(&path, Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare("error-department-removal-disabled"))
    );
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    assert_eq!(
        app.delete(&path, Some(&manager)).await,
        (StatusCode::BAD_REQUEST, bare("error-department-removal-disabled"))
    );
    let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
    assert_eq!(app.delete(&path, Some(&agent)).await, (StatusCode::FORBIDDEN, no_permission()));

    allow_department_removal(&app).await;
    assert_eq!(app.delete(&path, Some(&app.admin)).await, (StatusCode::OK, success()));
    let (status, body) = app.get(&format!("{PUBLIC}?_id=Omnichannel_enable_department_removal"), None).await;
    assert_eq!(
        (status, &body["settings"]),
        (StatusCode::OK, &json!([{"_id": "Omnichannel_enable_department_removal", "value": true}]))
    );
});
