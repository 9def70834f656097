//! The routes the livechat widget calls beside registering and writing, the avatar,
//! CORS for the widget's site, roles.list and users.info.

use livechat_server::config::AppSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, invalid_params, not_logged_in};
use crate::harness::{TestApp, both_backends, send};
use crate::lifecycle::{available_agent, inquiry_of, visitor_with_room};

const PAGE: fn() -> Value =
    || json!({"change": "url", "title": "Pricing", "location": {"href": "https://shop.example/pricing"}});

both_backends!(a_page_visit_is_kept_as_a_hidden_message_of_the_room, |app| {
    let (token, room_id) = visitor_with_room(&app, "tok-page", None).await;
    let expected = json!({
        "page": {"msg": "Pricing - https://shop.example/pricing", "navigation": {"page": PAGE(), "token": "tok-page"}},
        "success": true,
    });
    let body = json!({"token": token, "rid": room_id, "pageInfo": PAGE()});
    assert_eq!(app.post("/api/v1/livechat/page.visited", None, body).await, (StatusCode::OK, expected.clone()));
    assert_eq!(
        app.column_strings("SELECT kind FROM messages WHERE hidden").await,
        vec!["livechat_navigation_history".to_owned()]
    );
    // The room's history does not show it.
    let (status, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=tok-page"), None).await;
    assert_eq!((status, &history["messages"], &history["total"]), (StatusCode::OK, &json!([]), &json!(0)));

    // Without a room the visit is answered, and nothing is stored.
    let body = json!({"token": "tok-page", "pageInfo": PAGE()});
    assert_eq!(app.post("/api/v1/livechat/page.visited", None, body).await, (StatusCode::OK, expected));
    // Changes other than a new address are not recorded.
    let body = json!({"token": "tok-page", "rid": room_id,
                      "pageInfo": {"change": "title", "title": "Cart", "location": {"href": "https://shop.example/cart"}}});
    assert_eq!(app.post("/api/v1/livechat/page.visited", None, body).await, (StatusCode::OK, json!({"success": true})));
    assert_eq!(app.column_strings("SELECT msg FROM messages WHERE hidden").await.len(), 1);
});

both_backends!(page_visited_refuses_bad_bodies_unknown_tokens_and_other_rooms, |app| {
    let (_, room_id) = visitor_with_room(&app, "tok-owner", None).await;
    visitor_with_room(&app, "tok-other", None).await;
    let cases = [
        (json!({"token": "tok-other"}), invalid_params("must have required property 'pageInfo'")),
        (json!({"token": 5, "pageInfo": PAGE()}), invalid_params("/token must be string")),
        (
            json!({"token": "tok-other", "pageInfo": {"change": "url", "title": "x"}}),
            invalid_params("must have required property 'location'"),
        ),
        (
            json!({"token": "tok-other", "pageInfo": PAGE(), "extra": 1}),
            invalid_params("must NOT have additional properties"),
        ),
        (json!({"token": "nobody", "pageInfo": PAGE()}), bare("invalid-token")),
        (json!({"token": "tok-other", "rid": room_id, "pageInfo": PAGE()}), bare("invalid-room")),
        (json!({"token": "tok-other", "rid": "no-such-room", "pageInfo": PAGE()}), bare("invalid-room")),
    ];
    for (body, expected) in cases {
        assert_eq!(
            app.post("/api/v1/livechat/page.visited", None, body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    assert_eq!(app.column_strings("SELECT msg FROM messages WHERE hidden").await, Vec::<String>::new());
});

both_backends!(agent_info_shows_the_agent_serving_the_visitors_room, |app| {
    let agent = available_agent(&app, "serving.agent").await;
    let (token, room_id) = visitor_with_room(&app, "tok-agent", None).await;
    let path = format!("/api/v1/livechat/agent.info/{room_id}/{token}");
    assert_eq!(app.get(&path, None).await, (StatusCode::BAD_REQUEST, bare("invalid-agent")));

    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get(&path, None).await,
        (
            StatusCode::OK,
            json!({"agent": {"_id": agent.user_id, "username": "serving.agent", "name": "serving.agent", "status": "offline",
                             "emails": [{"address": "serving.agent@example.com", "verified": false}]},
                   "success": true})
        )
    );
});

both_backends!(agent_info_refuses_unknown_tokens_and_rooms_of_others, |app| {
    let (_, room_id) = visitor_with_room(&app, "tok-a", None).await;
    visitor_with_room(&app, "tok-b", None).await;
    let cases = [
        (format!("/api/v1/livechat/agent.info/{room_id}/nobody"), bare("invalid-token")),
        ("/api/v1/livechat/agent.info/no-such-room/tok-a".to_owned(), bare("invalid-room")),
        (format!("/api/v1/livechat/agent.info/{room_id}/tok-b"), bare("invalid-room")),
    ];
    for (path, expected) in cases {
        assert_eq!(app.get(&path, None).await, (StatusCode::BAD_REQUEST, expected), "{path}");
    }
});

both_backends!(visitor_status_sets_the_status_the_visitor_and_its_room_show, |app| {
    let (token, room_id) = visitor_with_room(&app, "tok-status", None).await;
    assert_eq!(
        app.post("/api/v1/livechat/visitor.status", None, json!({"token": token, "status": "away"})).await,
        (StatusCode::OK, json!({"token": "tok-status", "status": "away", "success": true}))
    );
    let (_, visitor) = app.get("/api/v1/livechat/visitor/tok-status", None).await;
    assert_eq!(visitor["visitor"]["status"], json!("away"));
    assert_eq!(inquiry_of(&app, &room_id).await["v"]["status"], json!("away"));
});

both_backends!(visitor_status_refuses_bad_bodies_in_meteors_words_and_unknown_tokens, |app| {
    visitor_with_room(&app, "tok-s", None).await;
    let cases = [
        (json!({"token": "tok-s"}), bare("Match error: Missing key 'status'")),
        (json!({"token": "tok-s", "status": 5}), bare("Match error: Expected string, got number in field status")),
        (json!({"token": "tok-s", "status": "away", "mood": "ok"}), bare("Match error: Unknown key 'mood'")),
        (
            json!({"token": "tok-s", "status": "sleepy"}),
            invalid_params("/status must be equal to one of the allowed values"),
        ),
        (json!({"token": "nobody", "status": "away"}), bare("invalid-token")),
    ];
    for (body, expected) in cases {
        assert_eq!(
            app.post("/api/v1/livechat/visitor.status", None, body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
});

async fn define_custom_fields(app: &TestApp) {
    app.execute(
        "INSERT INTO livechat_custom_fields (id, label, scope, created_at) VALUES \
         ('company', 'Company', 'visitor', 0), ('plan', 'Plan', 'visitor', 0), ('topic', 'Topic', 'room', 0)",
    )
    .await;
}

both_backends!(custom_field_sets_a_visitor_value_and_overwrite_decides_on_a_second, |app| {
    define_custom_fields(&app).await;
    visitor_with_room(&app, "tok-cf", None).await;
    let set = |value: &str, overwrite: bool| json!({"token": "tok-cf", "key": "company", "value": value, "overwrite": overwrite});
    assert_eq!(
        app.post("/api/v1/livechat/custom.field", None, set("Acme", false)).await,
        (StatusCode::OK, json!({"field": {"key": "company", "value": "Acme", "overwrite": false}, "success": true}))
    );
    assert_eq!(
        app.post("/api/v1/livechat/custom.field", None, set("Globex", false)).await,
        (StatusCode::OK, json!({"field": {"key": "company", "value": "Globex", "overwrite": false}, "success": true}))
    );
    assert_eq!(app.column_strings("SELECT value FROM visitor_custom_fields").await, vec!["Acme".to_owned()]);
    app.post("/api/v1/livechat/custom.field", None, set("Globex", true)).await;
    assert_eq!(app.column_strings("SELECT value FROM visitor_custom_fields").await, vec!["Globex".to_owned()]);
});

both_backends!(custom_field_refuses_bad_bodies_unknown_tokens_and_undefined_fields, |app| {
    define_custom_fields(&app).await;
    visitor_with_room(&app, "tok-cf", None).await;
    let cases = [
        (
            json!({"token": "tok-cf", "key": "company", "value": "x"}),
            invalid_params("must have required property 'overwrite'"),
        ),
        (
            json!({"token": "tok-cf", "key": "company", "value": "x", "overwrite": "yes"}),
            invalid_params("/overwrite must be boolean"),
        ),
        (json!({"token": "nobody", "key": "company", "value": "x", "overwrite": true}), bare("invalid-token")),
        (json!({"token": "tok-cf", "key": "nothing", "value": "x", "overwrite": true}), bare("invalid-custom-field")),
        (json!({"token": "tok-cf", "key": "topic", "value": "x", "overwrite": true}), bare("invalid-custom-field")),
    ];
    for (body, expected) in cases {
        assert_eq!(
            app.post("/api/v1/livechat/custom.field", None, body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
    assert_eq!(app.column_strings("SELECT value FROM visitor_custom_fields").await, Vec::<String>::new());
});

both_backends!(custom_fields_sets_all_or_none, |app| {
    define_custom_fields(&app).await;
    visitor_with_room(&app, "tok-cfs", None).await;
    let body = json!({"token": "tok-cfs", "customFields": [
        {"key": "company", "value": "Acme", "overwrite": true},
        {"key": "nothing", "value": "x", "overwrite": true},
    ]});
    assert_eq!(
        app.post("/api/v1/livechat/custom.fields", None, body).await,
        (StatusCode::BAD_REQUEST, bare("invalid-custom-field"))
    );
    assert_eq!(app.column_strings("SELECT value FROM visitor_custom_fields").await, Vec::<String>::new());

    let body = json!({"token": "tok-cfs", "customFields": [
        {"key": "company", "value": "Acme", "overwrite": true},
        {"key": "plan", "value": "Gold", "overwrite": false},
    ]});
    assert_eq!(
        app.post("/api/v1/livechat/custom.fields", None, body).await,
        (
            StatusCode::OK,
            json!({"fields": [{"Key": "company", "value": "Acme", "overwrite": true}, {"Key": "plan", "value": "Gold", "overwrite": false}],
                   "success": true})
        )
    );
    assert_eq!(
        app.column_strings("SELECT value FROM visitor_custom_fields ORDER BY field_id").await,
        vec!["Acme".to_owned(), "Gold".to_owned()]
    );
    let cases = [
        (json!({"token": "tok-cfs"}), invalid_params("must have required property 'customFields'")),
        (
            json!({"token": "tok-cfs", "customFields": [{"key": "plan", "value": 1, "overwrite": true}]}),
            invalid_params("/customFields/0/value must be string"),
        ),
        (json!({"token": "nobody", "customFields": []}), bare("invalid-token")),
    ];
    for (body, expected) in cases {
        assert_eq!(
            app.post("/api/v1/livechat/custom.fields", None, body.clone()).await,
            (StatusCode::BAD_REQUEST, expected),
            "{body}"
        );
    }
});

both_backends!(the_widgets_cookies_mark_a_new_room_as_from_the_widget, |app| {
    for token in ["tok-widget", "tok-api"] {
        let (status, body) = app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": token}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let request = app
        .client
        .get(app.url("/api/v1/livechat/room?token=tok-widget"))
        .header("Cookie", "rc_room_type=l; rc_is_widget=t");
    let (status, body) = send(request).await;
    assert_eq!((status, &body["room"]["source"]), (StatusCode::OK, &json!({"type": "widget"})));
    let room_id = body["room"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(inquiry_of(&app, &room_id).await["source"], json!({"type": "widget"}));

    // One cookie alone is not the widget.
    let request = app.client.get(app.url("/api/v1/livechat/room?token=tok-api")).header("Cookie", "rc_is_widget=t");
    let (status, body) = send(request).await;
    assert_eq!((status, &body["room"]["source"]), (StatusCode::OK, &json!({"type": "api"})));
});

both_backends!(an_avatar_is_an_svg_of_the_initials_for_any_name, |app| {
    for (username, initials, colour) in [("marcos.defendi", "MD", "#9C27B0"), ("nobody-here", "NH", "#FFC107")] {
        let response = app.client.get(app.url(&format!("/avatar/{username}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
        assert_eq!(
            response.text().await.unwrap(),
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" pointer-events=\"none\" width=\"200\" height=\"200\">\
                 <rect height=\"200\" width=\"200\" fill=\"{colour}\"/>\
                 <text x=\"50%\" y=\"50%\" dy=\"0.36em\" text-anchor=\"middle\" pointer-events=\"none\" fill=\"#ffffff\" \
                 font-family=\"Helvetica, Arial, sans-serif\" font-size=\"100\">{initials}</text></svg>"
            )
        );
    }
});

fn cors_settings() -> AppSettings {
    AppSettings { cors_allowed_origins: vec!["https://shop.example".to_owned()], ..AppSettings::default() }
}

both_backends!(cors_answers_preflights_and_marks_answers_for_allowed_origins_only, settings = cors_settings(), |app| {
    let preflight = |origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/livechat/visitor"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type, x-visitor-token")
    };
    let response = preflight("https://shop.example").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://shop.example");
    assert_eq!(headers["access-control-allow-methods"], "GET,POST,PUT,DELETE,OPTIONS");
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type,x-auth-token,x-user-id,x-visitor-token,authorization"
    );
    assert_eq!(headers["access-control-max-age"], "600");
    assert!(headers.get_all("vary").iter().any(|value| value.to_str().unwrap().contains("origin")), "{headers:?}");

    let response = preflight("https://evil.example").send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{:?}", response.headers());

    let get = |path: &str, origin: &str| app.client.get(app.url(path)).header("Origin", origin);
    let response = get("/api/v1/livechat/visitor/nobody", "https://shop.example").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["access-control-allow-origin"], "https://shop.example");
    let response = get("/avatar/ada", "https://shop.example").send().await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "https://shop.example");
    let response = get("/api/v1/livechat/visitor/nobody", "https://evil.example").send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{:?}", response.headers());
    // The HelpCrunch API is for servers, never for pages.
    let response = get("/v1/chats", "https://shop.example").send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{:?}", response.headers());
});

both_backends!(without_allowed_origins_no_answer_carries_cors_headers, |app| {
    let response = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/livechat/visitor"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{:?}", response.headers());
    let response = app.client.get(app.url("/api/info")).header("Origin", "https://shop.example").send().await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "{:?}", response.headers());
});

both_backends!(roles_list_shows_every_role_to_a_logged_in_user, |app| {
    let user = app.user_with_roles("plain", &["user"]).await;
    let role = |id: &str, description: &str| json!({"_id": id, "name": id, "description": description, "protected": true, "scope": "Users", "mandatory2fa": false});
    assert_eq!(
        app.get("/api/v1/roles.list", Some(&user)).await,
        (
            StatusCode::OK,
            json!({"roles": [
                role("admin", "Administrator"),
                role("livechat-agent", "Livechat agent"),
                role("livechat-manager", "Livechat manager"),
                role("livechat-monitor", "Livechat monitor"),
                role("user", "User"),
            ], "success": true})
        )
    );
    assert_eq!(app.get("/api/v1/roles.list", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
});

both_backends!(users_info_shows_emails_to_the_user_itself_and_to_holders_of_full_info, |app| {
    let agent = app.user_with_roles("info.agent", &["user", "livechat-agent"]).await;
    let view = |emails: bool| {
        let mut user = json!({"_id": agent.user_id, "type": "user", "username": "info.agent", "name": "info.agent",
                              "status": "offline", "statusLivechat": "not-available", "active": true,
                              "roles": ["livechat-agent", "user"], "utcOffset": 0});
        if emails {
            user["emails"] = json!([{"address": "info.agent@example.com", "verified": false}]);
        }
        (StatusCode::OK, json!({"user": user, "success": true}))
    };
    let by_id = format!("/api/v1/users.info?userId={}", agent.user_id);
    assert_eq!(app.get(&by_id, Some(&app.admin)).await, view(true));
    assert_eq!(app.get("/api/v1/users.info?username=INFO.AGENT", Some(&agent)).await, view(true));
    let other = app.user_with_roles("info.other", &["user"]).await;
    assert_eq!(app.get(&by_id, Some(&other)).await, view(false));
});

both_backends!(users_info_refuses_unknown_users_missing_parameters_and_anonymous_callers, |app| {
    let cases = [
        ("/api/v1/users.info?userId=nobody", StatusCode::BAD_REQUEST, bare("User not found.")),
        ("/api/v1/users.info", StatusCode::BAD_REQUEST, invalid_params("must have required property 'userId'")),
        ("/api/v1/users.info?id=1", StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties")),
    ];
    for (path, status, expected) in cases {
        assert_eq!(app.get(path, Some(&app.admin)).await, (status, expected), "{path}");
    }
    assert_eq!(app.get("/api/v1/users.info?username=admin", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
});

fn widget_build() -> Option<std::path::PathBuf> {
    Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/widget-build"))
}

/// Status, content type and text of a plain GET.
async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let content_type = response.headers().get("content-type").map_or("", |value| value.to_str().unwrap()).to_owned();
    (response.status(), content_type, response.text().await.unwrap())
}

// The widget's page is at /livechat and its scripts under it, as Rocket.Chat serves them.
both_backends!(
    the_widget_build_is_served_at_livechat,
    settings = AppSettings { widget_dir: widget_build(), ..Default::default() },
    |app| {
        let page = std::fs::read_to_string(widget_build().unwrap().join("index.html")).unwrap();
        assert_eq!(fetch(&app, "/livechat").await, (StatusCode::OK, "text/html".to_owned(), page.clone()));
        assert_eq!(fetch(&app, "/livechat?serverUrl=http://example.com").await.2, page);
        assert_eq!(
            fetch(&app, "/livechat/bundle.js").await,
            (StatusCode::OK, "text/javascript".to_owned(), "window.widgetLoaded = true;\n".to_owned())
        );
        assert_eq!(fetch(&app, "/livechat/missing.js").await.0, StatusCode::NOT_FOUND);
        // Nothing outside the folder is reachable.
        assert_eq!(fetch(&app, "/livechat/..%2f..%2fREADME.md").await.0, StatusCode::NOT_FOUND);
        assert_eq!(fetch(&app, "/livechat/../../Cargo.toml").await.0, StatusCode::NOT_FOUND);
    }
);

// Without a widget folder, /livechat is an unknown route like any other.
both_backends!(without_a_widget_folder_livechat_is_not_served, |app| {
    let (status, body) = app.get("/livechat", None).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"success": false, "error": "Endpoint not found"})));
});
