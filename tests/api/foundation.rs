//! Health, authentication, users, permissions and the error envelopes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::envelopes::{invalid_params, no_permission, not_logged_in};
use crate::harness::{Backend, START, Session, TestApp, both_backends, send};

both_backends!(health_and_info_answer, |app| {
    assert_eq!(app.get("/health", None).await, (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(
        app.get("/api/info", None).await,
        (StatusCode::OK, json!({"version": env!("CARGO_PKG_VERSION"), "success": true}))
    );
});

both_backends!(liveness_answers_ok_without_credentials, |app| {
    assert_eq!(app.get("/health/live", None).await, (StatusCode::OK, json!({"status": "ok"})));
});

both_backends!(login_returns_token_and_profile_and_me_uses_it, |app| {
    let (status, body) =
        app.post("/api/v1/login", None, json!({"user": "admin", "password": crate::harness::ADMIN_PASSWORD})).await;
    assert_eq!(status, StatusCode::OK);
    let user_id = body["data"]["userId"].as_str().unwrap().to_owned();
    let token = body["data"]["authToken"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43, "256 bits of randomness, base64url");
    let profile = json!({
        "_id": user_id,
        "name": "Administrator",
        "emails": [{"address": "admin@example.com", "verified": false}],
        "status": "offline",
        "statusConnection": "offline",
        "username": "admin",
        "utcOffset": 0,
        "active": true,
        "roles": ["admin", "user"],
        "settings": {"preferences": {}},
        "statusLivechat": "not-available",
    });
    assert_eq!(body, json!({"status": "success", "data": {"userId": user_id, "authToken": token, "me": profile}}));

    let session = Session { user_id, token };
    let mut expected_me = profile.clone();
    expected_me["success"] = json!(true);
    assert_eq!(app.get("/api/v1/me", Some(&session)).await, (StatusCode::OK, expected_me));

    // `username` is accepted in place of `user`, and so is the email address.
    let (status, _) =
        app.post("/api/v1/login", None, json!({"username": "admin", "password": crate::harness::ADMIN_PASSWORD})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post("/api/v1/login", None, json!({"user": "admin@example.com", "password": crate::harness::ADMIN_PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::OK);
});

both_backends!(resume_login_reuses_a_valid_token, |app| {
    let (status, body) = app.post("/api/v1/login", None, json!({"resume": app.admin.token})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["authToken"], json!(app.admin.token));
    assert_eq!(body["data"]["userId"], json!(app.admin.user_id));
    assert_eq!(
        app.post("/api/v1/login", None, json!({"resume": "not-a-token"})).await,
        (StatusCode::UNAUTHORIZED, json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"}))
    );
});

both_backends!(wrong_credentials_are_401, |app| {
    let unauthorized = json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"});
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": "admin", "password": "wrong"})).await,
        (StatusCode::UNAUTHORIZED, unauthorized.clone())
    );
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": "nobody", "password": "wrong"})).await,
        (StatusCode::UNAUTHORIZED, unauthorized)
    );
});

both_backends!(login_validates_its_body, |app| {
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": "admin"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'password'"))
    );
    assert_eq!(
        app.post("/api/v1/login", None, json!({"password": "x"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'user'"))
    );
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": 5, "password": "x"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/user must be string"))
    );
});

both_backends!(logout_revokes_the_token, |app| {
    let session = app.login("admin", crate::harness::ADMIN_PASSWORD).await;
    assert_eq!(
        app.post("/api/v1/logout", Some(&session), json!({})).await,
        (StatusCode::OK, json!({"status": "success", "data": {"message": "You've been logged out!"}}))
    );
    assert_eq!(app.get("/api/v1/me", Some(&session)).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // Other sessions of the same user are untouched.
    assert_eq!(app.get("/api/v1/me", Some(&app.admin)).await.0, StatusCode::OK);
    // Logging out with a personal access token does not revoke it.
    let (_, body) =
        app.post("/api/v1/users.generatePersonalAccessToken", Some(&app.admin), json!({"tokenName": "ci"})).await;
    let personal = Session { user_id: app.admin.user_id.clone(), token: body["token"].as_str().unwrap().to_owned() };
    assert_eq!(app.post("/api/v1/logout", Some(&personal), json!({})).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", Some(&personal)).await.0, StatusCode::OK);
});

both_backends!(missing_or_mismatched_credentials_are_401, |app| {
    assert_eq!(app.get("/api/v1/me", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let wrong_token = Session { user_id: app.admin.user_id.clone(), token: "forged".into() };
    assert_eq!(app.get("/api/v1/me", Some(&wrong_token)).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // A valid token paired with another user's id.
    let agent = app.user_with_roles("agent.one", &["livechat-agent"]).await;
    let paired = Session { user_id: agent.user_id.clone(), token: app.admin.token.clone() };
    assert_eq!(app.get("/api/v1/me", Some(&paired)).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post("/api/v1/logout", None, json!({})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
});

both_backends!(tokens_are_stored_only_as_digests, |app| {
    let personal = app
        .post("/api/v1/users.generatePersonalAccessToken", Some(&app.admin), json!({"tokenName": "ci"}))
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let digests = app.column_strings("SELECT digest FROM auth_tokens").await;
    assert_eq!(digests.len(), 2, "the login token and the personal access token");
    for raw in [&app.admin.token, &personal] {
        assert!(!digests.contains(raw), "raw token stored");
        assert!(digests.contains(&livechat_server::domain::ids::token_digest(raw)));
    }
    let hashes = app.column_strings("SELECT password_hash FROM users").await;
    assert!(hashes.iter().all(|hash| hash.starts_with("$argon2id$")));
});

both_backends!(users_create_checks_permission_and_input, clock = START, |app| {
    let body = json!({"username": "jane", "password": "pw-jane-1", "email": "jane@example.com", "name": "Jane"});
    assert_eq!(app.post("/api/v1/users.create", None, body.clone()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let agent = app.user_with_roles("agent.two", &["livechat-agent"]).await;
    // Permission is checked before the body: bad input from an agent is still 403.
    assert_eq!(
        app.post("/api/v1/users.create", Some(&agent), json!({})).await,
        (StatusCode::FORBIDDEN, no_permission())
    );

    let (status, created) = app.post("/api/v1/users.create", Some(&app.admin), body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let user = &created["user"];
    assert_eq!(
        created,
        json!({"user": {
            "_id": user["_id"], "createdAt": "2026-01-02T03:04:05.678Z", "username": "jane",
            "emails": [{"address": "jane@example.com", "verified": false}], "type": "user",
            "status": "offline", "active": true, "roles": ["user"], "name": "Jane",
            "statusLivechat": "not-available", "_updatedAt": "2026-01-02T03:04:05.678Z", "settings": {},
        }, "success": true})
    );
    assert_eq!(user["_id"].as_str().unwrap().len(), 17);

    let mut same_username = body.clone();
    same_username["email"] = json!("other.jane@example.com");
    assert_eq!(
        app.post("/api/v1/users.create", Some(&app.admin), same_username).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "jane is already in use :( [error-field-unavailable]", "errorType": "error-field-unavailable"})
        )
    );
    let mut same_email = body.clone();
    same_email["username"] = json!("jane2");
    assert_eq!(
        app.post("/api/v1/users.create", Some(&app.admin), same_email).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "jane@example.com is already in use :( [error-field-unavailable]", "errorType": "error-field-unavailable"})
        )
    );
    assert_eq!(
        app.post("/api/v1/users.create", Some(&app.admin), json!({"username": "x", "password": "y", "name": "X"}))
            .await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'email'"))
    );
    assert_eq!(
        app.post(
            "/api/v1/users.create",
            Some(&app.admin),
            json!({"username": "x", "password": "y", "name": "X", "email": "x@example.com", "roles": ["wizard"]})
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Invalid role [error-invalid-role]", "errorType": "error-invalid-role"})
        )
    );
    assert_eq!(
        app.post(
            "/api/v1/users.create",
            Some(&app.admin),
            json!({"username": "x", "password": "y", "name": "X", "email": "x@example.com", "shoeSize": 9})
        )
        .await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(
        app.post(
            "/api/v1/users.create",
            Some(&app.admin),
            json!({"username": 7, "password": "y", "name": "X", "email": "x@example.com"})
        )
        .await,
        (StatusCode::BAD_REQUEST, invalid_params("/username must be string"))
    );
});

both_backends!(personal_access_tokens_authenticate_until_removed, |app| {
    let (status, body) =
        app.post("/api/v1/users.generatePersonalAccessToken", Some(&app.admin), json!({"tokenName": "ci"})).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body, json!({"token": token, "success": true}));
    let personal = Session { user_id: app.admin.user_id.clone(), token };
    assert_eq!(app.get("/api/v1/me", Some(&personal)).await.0, StatusCode::OK);

    assert_eq!(
        app.post("/api/v1/users.generatePersonalAccessToken", Some(&app.admin), json!({"tokenName": "ci"})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "A token with this name already exists [error-token-already-exists]", "errorType": "error-token-already-exists"})
        )
    );
    assert_eq!(
        app.post("/api/v1/users.generatePersonalAccessToken", Some(&app.admin), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'tokenName'"))
    );
    assert_eq!(
        app.post("/api/v1/users.removePersonalAccessToken", Some(&app.admin), json!({"tokenName": "ci"})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(app.get("/api/v1/me", Some(&personal)).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(
        app.post("/api/v1/users.removePersonalAccessToken", Some(&app.admin), json!({"tokenName": "ci"})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Token does not exist [error-token-does-not-exists]", "errorType": "error-token-does-not-exists"})
        )
    );
    assert_eq!(
        app.post("/api/v1/users.generatePersonalAccessToken", None, json!({"tokenName": "x"})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
});

both_backends!(permission_changes_apply_on_the_next_request, |app| {
    let (status, listed) = app.get("/api/v1/permissions.listAll", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let create_user = listed["update"].as_array().unwrap().iter().find(|grant| grant["_id"] == "create-user").unwrap();
    assert_eq!(
        create_user,
        &json!({"_id": "create-user", "roles": ["admin"], "_updatedAt": "1970-01-01T00:00:00.000Z"})
    );
    assert_eq!(listed["remove"], json!([]));
    assert_eq!(listed["success"], json!(true));

    let agent = app.user_with_roles("agent.three", &["livechat-agent"]).await;
    let new_user = json!({"username": "made.by.agent", "password": "pw", "email": "made@example.com", "name": "M"});
    assert_eq!(
        app.post("/api/v1/users.create", Some(&agent), new_user.clone()).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    assert_eq!(
        app.post(
            "/api/v1/permissions.update",
            Some(&agent),
            json!({"permissions": [{"_id": "create-user", "roles": ["admin", "livechat-agent"]}]})
        )
        .await,
        (StatusCode::FORBIDDEN, no_permission())
    );

    let (status, updated) = app
        .post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": "create-user", "roles": ["admin", "livechat-agent"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let grant = updated["permissions"].as_array().unwrap().iter().find(|grant| grant["_id"] == "create-user").unwrap();
    assert_eq!(grant["roles"], json!(["admin", "livechat-agent"]));
    assert_eq!(app.post("/api/v1/users.create", Some(&agent), new_user).await.0, StatusCode::OK);

    assert_eq!(
        app.post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": "fly", "roles": ["admin"]}]})
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Invalid permission [error-invalid-permission]", "errorType": "error-invalid-permission"})
        )
    );
    assert_eq!(
        app.post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": "create-user", "roles": ["wizard"]}]})
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Invalid role [error-invalid-role]", "errorType": "error-invalid-role"})
        )
    );
    assert_eq!(
        app.post("/api/v1/permissions.update", Some(&app.admin), json!({"permissions": [{"_id": "create-user"}]}))
            .await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'roles'"))
    );
    assert_eq!(
        app.post("/api/v1/permissions.update", Some(&app.admin), json!({"permissions": "all"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/permissions must be array"))
    );
    // A failed update changed nothing.
    let (_, listed) = app.get("/api/v1/permissions.listAll", Some(&app.admin)).await;
    let grant = listed["update"].as_array().unwrap().iter().find(|grant| grant["_id"] == "create-user").unwrap();
    assert_eq!(grant["roles"], json!(["admin", "livechat-agent"]));
});

both_backends!(repeated_failed_logins_are_blocked_per_user_and_per_address, |app| {
    for _ in 0..10 {
        assert_eq!(
            app.post("/api/v1/login", None, json!({"user": "admin", "password": "nope"})).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let blocked_user = json!({
        "success": false, "status": "error",
        "error": "Login has been temporarily blocked for this user [error-login-blocked-for-user]",
        "errorType": "error-login-blocked-for-user",
        "message": "Login has been temporarily blocked for this user",
    });
    // Even the right password is refused while the block lasts.
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": "admin", "password": crate::harness::ADMIN_PASSWORD})).await,
        (StatusCode::TOO_MANY_REQUESTS, blocked_user)
    );
    // The address has 10 failures too, so another username from it is blocked as well.
    assert_eq!(
        app.post("/api/v1/login", None, json!({"user": "someone.else", "password": "x"})).await,
        (
            StatusCode::TOO_MANY_REQUESTS,
            json!({
                "success": false, "status": "error",
                "error": "Login has been temporarily blocked for this IP [error-login-blocked-for-ip]",
                "errorType": "error-login-blocked-for-ip",
                "message": "Login has been temporarily blocked for this IP",
            })
        )
    );
    // Existing sessions keep working.
    assert_eq!(app.get("/api/v1/me", Some(&app.admin)).await.0, StatusCode::OK);
});

both_backends!(framework_errors_use_the_envelope, |app| {
    assert_eq!(
        app.get("/api/v1/nothing-here", None).await,
        (StatusCode::NOT_FOUND, json!({"success": false, "error": "Endpoint not found"}))
    );
    assert_eq!(
        app.delete("/api/v1/login", None).await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"success": false, "error": "Method not allowed [error-method-not-allowed]", "errorType": "error-method-not-allowed"})
        )
    );
    let bad_json =
        app.client.post(app.url("/api/v1/login")).header("content-type", "application/json").body("{\"user\":");
    assert_eq!(
        send(bad_json).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "Body is not valid JSON: EOF while parsing a value at line 1 column 8 [error-invalid-json]", "errorType": "error-invalid-json"})
        )
    );
    let not_json = app.client.post(app.url("/api/v1/login")).header("content-type", "text/plain").body("user=admin");
    assert_eq!(
        send(not_json).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"success": false, "error": "Content-Type must be application/json [error-unsupported-media-type]", "errorType": "error-unsupported-media-type"})
        )
    );
    let array = app.client.post(app.url("/api/v1/login")).json(&json!([1, 2]));
    assert_eq!(send(array).await, (StatusCode::BAD_REQUEST, invalid_params("must be object")));
    let huge = app
        .client
        .post(app.url("/api/v1/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"user\":\"{}\"}}", "x".repeat(1024 * 1024 + 1)));
    assert_eq!(
        send(huge).await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"success": false, "error": "Request body is larger than 1 MiB [error-payload-too-large]", "errorType": "error-payload-too-large"})
        )
    );
});

both_backends!(request_ids_are_echoed_or_generated, |app| {
    let response = app.client.get(app.url("/health")).header("x-request-id", "req-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-42");
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"].len(), 36);
});

/// The database going away answers 503 (never a hang or a crash), and service
/// resumes by itself when it returns. PostgreSQL only: the test cuts a TCP proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn database_outage_is_503_and_recovers() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let proxy = crate::proxy::TcpProxy::start("127.0.0.1:5432").await;
    let mut url = url::Url::parse(&app.database_url).unwrap();
    url.set_port(Some(proxy.port())).unwrap();
    let store = crate::harness::open_store(url.as_str(), Duration::from_secs(1)).await;
    let (base, _shutdown) = crate::harness::start_server(store, Default::default()).await;
    let me = |base: String, session: Session| async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        send(
            client
                .get(format!("{base}/api/v1/me"))
                .header("X-User-Id", session.user_id)
                .header("X-Auth-Token", session.token),
        )
        .await
    };
    let health = |base: String| async move { send(reqwest::Client::new().get(format!("{base}/health"))).await };

    assert_eq!(me(base.clone(), app.admin.clone()).await.0, StatusCode::OK);
    proxy.set_up(false);
    let unavailable = json!({"success": false, "error": "Service unavailable [error-service-unavailable]", "errorType": "error-service-unavailable"});
    assert_eq!(me(base.clone(), app.admin.clone()).await, (StatusCode::SERVICE_UNAVAILABLE, unavailable));
    assert_eq!(health(base.clone()).await, (StatusCode::SERVICE_UNAVAILABLE, json!({"status": "unavailable"})));
    proxy.set_up(true);
    let mut recovered = false;
    for _ in 0..50 {
        if me(base.clone(), app.admin.clone()).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "service resumes once the database is back");
    assert_eq!(health(base).await, (StatusCode::OK, json!({"status": "ok"})));
}

both_backends!(
    forwarded_addresses_count_only_when_trusted,
    settings = livechat_server::config::AppSettings { trust_forwarded_for: true, ..Default::default() },
    |app| {
        let attempt = |address: &'static str| {
            let request = app
                .client
                .post(app.url("/api/v1/login"))
                .header("x-forwarded-for", format!("{address}, 10.0.0.1"))
                .json(&json!({"user": format!("user-from-{address}"), "password": "wrong"}));
            send(request)
        };
        for _ in 0..10 {
            assert_eq!(attempt("203.0.113.7").await.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(attempt("203.0.113.7").await.0, StatusCode::TOO_MANY_REQUESTS);
        // Another client behind the same proxy is not blocked.
        assert_eq!(attempt("198.51.100.2").await.0, StatusCode::UNAUTHORIZED);
    }
);

both_backends!(nul_characters_and_broken_urls_are_refused_on_both_faces, |app| {
    let refused_body = invalid_params("strings must not contain NUL characters");
    assert_eq!(
        app.post("/api/v1/livechat/sla", Some(&app.admin), json!({"name": "a\u{0}b", "dueTimeInMinutes": 3})).await,
        (StatusCode::BAD_REQUEST, refused_body.clone())
    );
    assert_eq!(
        app.post("/api/v1/livechat/visitor", None, json!({"visitor": {"token": "t", "name": {"nested\u{0}": 1}}}))
            .await,
        (StatusCode::BAD_REQUEST, refused_body)
    );
    let refused_url = invalid_params("the URL must be valid UTF-8 without NUL characters");
    for path in
        ["/api/v1/livechat/inquiries.getOne?roomId=a%00b", "/api/v1/livechat/sla/a%00b", "/api/v1/livechat/visitor/%FF"]
    {
        assert_eq!(app.get(path, Some(&app.admin)).await, (StatusCode::BAD_REQUEST, refused_url.clone()), "{path}");
    }

    let (_, created) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "nul"})).await;
    let key = created["key"].as_str().unwrap().to_owned();
    let helpcrunch = |field: &str, message: &str| json!({"errors": [{"code": "invalid_request", "message": "Invalid request"}, {"code": field, "message": message}]});
    let body =
        app.client.put(app.url("/v1/chats/status")).bearer_auth(&key).json(&json!({"id": 1, "status": "new\u{0}"}));
    assert_eq!(
        send(body).await,
        (StatusCode::BAD_REQUEST, helpcrunch("body", "This value should not contain NUL characters."))
    );
    let bad_url = helpcrunch("url", "This value should be valid UTF-8 without NUL characters.");
    for path in ["/v1/chats?sort=a%00", "/v1/chats/%FF"] {
        let request = app.client.get(app.url(path)).bearer_auth(&key);
        assert_eq!(send(request).await, (StatusCode::BAD_REQUEST, bad_url.clone()), "{path}");
    }
});
