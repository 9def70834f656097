//! HelpCrunch API keys (HTTP administration and CLI), bearer authentication, the
//! per-key rate limit and the HelpCrunch error envelope.

use std::time::Duration;

use livechat_server::config::AppSettings;
use livechat_server::domain::ids::token_digest;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{MINUTE_START, START, TestApp, both_backends, open_store};

/// A HelpCrunch answer: status, the rate-limit headers that were present, and the body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    rate: Vec<(&'static str, String)>,
    body: Value,
}

const RATE_HEADERS: [&str; 4] = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"];

fn rate_headers(headers: &HeaderMap) -> Vec<(&'static str, String)> {
    RATE_HEADERS
        .iter()
        .filter_map(|&name| headers.get(name).map(|value| (name, value.to_str().unwrap().to_owned())))
        .collect()
}

async fn call_v1(base: &str, method: Method, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().request(method.clone(), format!("{base}{path}"));
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.expect("request is answered");
    let status = response.status();
    let rate = rate_headers(response.headers());
    let text = response.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
    crate::openapi::assert_documented(&method, path, status, &body);
    Answer { status, rate, body }
}

async fn departments(app: &TestApp, key: &str) -> Answer {
    call_v1(&app.base, Method::GET, "/v1/departments", Some(&format!("Bearer {key}"))).await
}

fn errors(entries: &[(&str, &str)]) -> Value {
    json!({"errors": entries.iter().map(|(code, message)| json!({"code": code, "message": message})).collect::<Vec<_>>()})
}

fn unauthorized() -> Value {
    errors(&[("invalid_request", "Invalid request"), ("unauthorized", "Unauthorized")])
}

fn invalid_token() -> Value {
    errors(&[("invalid_request", "Invalid request"), ("invalid_token", "Invalid token")])
}

fn no_departments() -> Value {
    json!({"data": [], "meta": {"total": 0}})
}

/// The end of the rate window holding `START` and `MINUTE_START`, 2026-01-02T03:05:00Z,
/// in UNIX seconds as `X-RateLimit-Reset` shows it.
const MINUTE_END: &str = "1767323100";

/// Creates a key over HTTP as the admin and returns it.
async fn create_key(app: &TestApp, name: &str) -> String {
    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": name})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

/// The rate headers of an accepted request: all but `Retry-After`.
fn rate(limit: i64, remaining: i64, reset: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_owned()),
    ]
}

both_backends!(missing_or_malformed_authorization_is_401_unauthorized, |app| {
    for authorization in [None, Some("Basic YWRtaW46cGFzc3dvcmQ="), Some("Bearer"), Some("Bearer "), Some("lck_x")] {
        assert_eq!(
            call_v1(&app.base, Method::GET, "/v1/departments", authorization).await,
            Answer { status: StatusCode::UNAUTHORIZED, rate: vec![], body: unauthorized() },
            "{authorization:?}"
        );
    }
});

both_backends!(unknown_key_is_401_invalid_token, |app| {
    assert_eq!(
        departments(&app, "lck_not-a-key-anyone-was-given").await,
        Answer { status: StatusCode::UNAUTHORIZED, rate: vec![], body: invalid_token() }
    );
});

both_backends!(a_valid_key_lists_departments_with_rate_headers, clock = START, |app| {
    let key = create_key(&app, "ci").await;
    // Windows end on the minute: the one holding 03:04:05.678 ends at 03:05:00.
    assert_eq!(
        departments(&app, &key).await,
        Answer { status: StatusCode::OK, rate: rate(120, 119, MINUTE_END), body: no_departments() }
    );

    app.execute(
        "INSERT INTO departments (id, name, enabled, created_at, updated_at) VALUES ('dep1', 'Sales', TRUE, 1, 1)",
    )
    .await;
    app.execute(
        "INSERT INTO departments (id, name, enabled, created_at, updated_at) VALUES ('dep2', 'Support', TRUE, 2, 2)",
    )
    .await;
    let answer = departments(&app, &key).await;
    let body = answer.body.clone();
    let first_id = body["data"][0]["id"].as_i64().expect("numeric department id");
    assert_eq!(
        answer,
        Answer {
            status: StatusCode::OK,
            rate: rate(120, 118, MINUTE_END),
            body: json!({
                "data": [{"id": first_id, "name": "Sales"}, {"id": first_id + 1, "name": "Support"}],
                "meta": {"total": 2},
            }),
        }
    );
});

both_backends!(revoked_key_is_refused_on_the_next_request, |app| {
    let key = create_key(&app, "ci").await;
    assert_eq!(departments(&app, &key).await.status, StatusCode::OK);
    assert_eq!(
        app.delete("/api/v1/livechat/api-keys/ci", Some(&app.admin)).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(
        departments(&app, &key).await,
        Answer { status: StatusCode::UNAUTHORIZED, rate: vec![], body: invalid_token() }
    );
});

both_backends!(admins_create_list_and_revoke_keys_stored_only_as_digests, clock = START, |app| {
    let (status, created) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "zapier"})).await;
    assert_eq!(status, StatusCode::OK);
    let key = created["key"].as_str().unwrap().to_owned();
    let created_at = "2026-01-02T03:04:05.678Z";
    assert!(key.starts_with("lck_") && key.len() == 47, "{key}");
    let listed_fresh =
        json!({"name": "zapier", "prefix": &key[..12], "createdAt": created_at, "lastUsedAt": null, "revokedAt": null});
    assert_eq!(created, json!({"apiKey": listed_fresh, "key": key, "success": true}));
    assert_eq!(app.column_strings("SELECT digest FROM api_keys").await, vec![token_digest(&key)]);
    assert_eq!(app.column_strings("SELECT prefix FROM api_keys").await, vec![key[..12].to_owned()]);

    assert_eq!(
        app.get("/api/v1/livechat/api-keys", Some(&app.admin)).await,
        (StatusCode::OK, json!({"apiKeys": [listed_fresh], "success": true}))
    );

    app.clock.advance(1_000);
    assert_eq!(departments(&app, &key).await.status, StatusCode::OK);
    let used = json!({"name": "zapier", "prefix": &key[..12], "createdAt": created_at, "lastUsedAt": "2026-01-02T03:04:06.678Z", "revokedAt": null});
    assert_eq!(
        app.get("/api/v1/livechat/api-keys", Some(&app.admin)).await,
        (StatusCode::OK, json!({"apiKeys": [used], "success": true}))
    );

    app.clock.advance(1_000);
    assert_eq!(
        app.delete("/api/v1/livechat/api-keys/zapier", Some(&app.admin)).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let revoked = json!({"name": "zapier", "prefix": &key[..12], "createdAt": created_at, "lastUsedAt": "2026-01-02T03:04:06.678Z", "revokedAt": "2026-01-02T03:04:07.678Z"});
    assert_eq!(
        app.get("/api/v1/livechat/api-keys", Some(&app.admin)).await,
        (StatusCode::OK, json!({"apiKeys": [revoked.clone()], "success": true}))
    );

    // Revoking again succeeds and keeps the first revocation time.
    app.clock.advance(1_000);
    assert_eq!(
        app.delete("/api/v1/livechat/api-keys/zapier", Some(&app.admin)).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(
        app.get("/api/v1/livechat/api-keys", Some(&app.admin)).await,
        (StatusCode::OK, json!({"apiKeys": [revoked], "success": true}))
    );
});

both_backends!(key_administration_checks_permission_and_input, |app| {
    let not_logged_in = json!({"success": false, "status": "error", "error": "You must be logged in to do this.", "message": "You must be logged in to do this."});
    let no_permission = json!({"success": false, "error": "User does not have the permissions required for this action [error-unauthorized]"});
    let invalid_params = |message: &str| json!({"success": false, "error": format!("{message} [invalid-params]"), "errorType": "invalid-params"});
    assert_eq!(app.get("/api/v1/livechat/api-keys", None).await, (StatusCode::UNAUTHORIZED, not_logged_in.clone()));
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", None, json!({"name": "x"})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in.clone())
    );
    assert_eq!(app.delete("/api/v1/livechat/api-keys/x", None).await, (StatusCode::UNAUTHORIZED, not_logged_in));

    let manager = app.user_with_roles("manager.one", &["livechat-manager"]).await;
    assert_eq!(
        app.get("/api/v1/livechat/api-keys", Some(&manager)).await,
        (StatusCode::FORBIDDEN, no_permission.clone())
    );
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", Some(&manager), json!({"name": "x"})).await,
        (StatusCode::FORBIDDEN, no_permission.clone())
    );
    assert_eq!(app.delete("/api/v1/livechat/api-keys/x", Some(&manager)).await, (StatusCode::FORBIDDEN, no_permission));

    let admin = Some(&app.admin);
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", admin, json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'name'"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", admin, json!({"name": 7})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/name must be string"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", admin, json!({"name": "   "})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/name must NOT be blank"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", admin, json!({"name": "x", "scope": "all"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );

    create_key(&app, "zapier").await;
    assert_eq!(
        app.post("/api/v1/livechat/api-keys", admin, json!({"name": "zapier"})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "An API key named zapier already exists [error-duplicated-api-key]", "errorType": "error-duplicated-api-key"})
        )
    );
    assert_eq!(
        app.delete("/api/v1/livechat/api-keys/unknown", admin).await,
        (
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "API key not found [error-api-key-not-found]", "errorType": "error-api-key-not-found"})
        )
    );
    assert_eq!(app.column_strings("SELECT name FROM api_keys").await, vec!["zapier".to_owned()]);
});

/// Runs the built binary against the test's database.
async fn cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_livechat-server"))
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the binary runs");
    (output.status.success(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
}

both_backends!(cli_creates_lists_and_revokes_keys_that_work_over_http, |app| {
    let (succeeded, stdout, stderr) = cli(&app, &["api-key", "create", "--name", "from-cli"]).await;
    assert!(succeeded, "{stdout}{stderr}");
    let key = stdout.lines().last().unwrap().to_owned();
    assert!(key.starts_with("lck_") && key.len() == 47, "{stdout}");
    assert_eq!(departments(&app, &key).await.body, no_departments());

    let (succeeded, stdout, _) = cli(&app, &["api-key", "list"]).await;
    assert!(succeeded);
    let lines: Vec<Vec<&str>> =
        stdout.lines().map(|line| line.split("  ").map(str::trim).filter(|cell| !cell.is_empty()).collect()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], ["NAME", "PREFIX", "CREATED", "LAST USED", "REVOKED"]);
    assert_eq!(&lines[1][..2], ["from-cli", &key[..12]]);
    assert!(lines[1][2].ends_with('Z') && lines[1][3].ends_with('Z'), "created and last used are ISO: {stdout}");
    assert_eq!(lines[1][4], "-");

    let (succeeded, _, stderr) = cli(&app, &["api-key", "create", "--name", "from-cli"]).await;
    assert!(!succeeded);
    assert!(stderr.contains("an API key named \"from-cli\" already exists"), "{stderr}");

    let (succeeded, stdout, _) = cli(&app, &["api-key", "revoke", "--name", "from-cli"]).await;
    assert!(succeeded);
    assert_eq!(stdout, "revoked API key from-cli\n");
    assert_eq!(
        departments(&app, &key).await,
        Answer { status: StatusCode::UNAUTHORIZED, rate: vec![], body: invalid_token() }
    );

    let (succeeded, _, stderr) = cli(&app, &["api-key", "revoke", "--name", "nobody"]).await;
    assert!(!succeeded);
    assert!(stderr.contains("no API key is named \"nobody\""), "{stderr}");
});

both_backends!(
    requests_over_the_limit_are_429_until_the_window_ends,
    settings = AppSettings { hc_rate_limit_per_minute: 5, ..Default::default() },
    clock = MINUTE_START,
    |app| {
        let key = create_key(&app, "ci").await;
        for remaining in (0..5).rev() {
            assert_eq!(
                departments(&app, &key).await,
                Answer { status: StatusCode::OK, rate: rate(5, remaining, MINUTE_END), body: no_departments() }
            );
        }
        // 45.5 seconds into the window, 14.5 are left: Retry-After rounds up.
        app.clock.advance(45_500);
        let mut expected_rate = rate(5, 0, MINUTE_END);
        expected_rate.push(("retry-after", "15".to_owned()));
        assert_eq!(
            departments(&app, &key).await,
            Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                rate: expected_rate,
                body: errors(&[("invalid_request", "Invalid request"), ("too_many_requests", "Too many requests")]),
            }
        );

        // Another key has its own budget.
        let other = create_key(&app, "other").await;
        assert_eq!(departments(&app, &other).await.status, StatusCode::OK);

        // The next window starts a fresh budget.
        app.clock.set(MINUTE_START + 60_000);
        assert_eq!(
            departments(&app, &key).await,
            Answer { status: StatusCode::OK, rate: rate(5, 4, "1767323160"), body: no_departments() }
        );
    }
);

both_backends!(
    concurrent_requests_on_two_instances_never_lose_a_count,
    settings = AppSettings { hc_rate_limit_per_minute: 25, ..Default::default() },
    clock = MINUTE_START,
    |app| {
        let key = create_key(&app, "ci").await;
        // A second server on the same database and clock, as another instance would be.
        let settings = AppSettings { hc_rate_limit_per_minute: 25, ..Default::default() };
        let (second_base, _stop_second) =
            app.start_another_server(open_store(&app.database_url, Duration::from_secs(10)).await, settings).await;
        let authorization = format!("Bearer {key}");
        let requests = (0..40).map(|index| {
            let base = if index % 2 == 0 { app.base.clone() } else { second_base.clone() };
            let authorization = authorization.clone();
            async move { call_v1(&base, Method::GET, "/v1/departments", Some(&authorization)).await.status }
        });
        let statuses = futures::future::join_all(requests.map(tokio::spawn)).await;
        let accepted = statuses.iter().filter(|status| *status.as_ref().unwrap() == StatusCode::OK).count();
        let refused =
            statuses.iter().filter(|status| *status.as_ref().unwrap() == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((accepted, refused), (25, 15));
    }
);

both_backends!(framework_errors_on_v1_use_the_helpcrunch_envelope, clock = MINUTE_START, |app| {
    let key = create_key(&app, "ci").await;
    let bearer = format!("Bearer {key}");
    assert_eq!(
        call_v1(&app.base, Method::GET, "/v1/nothing-here", Some(&bearer)).await,
        Answer {
            status: StatusCode::NOT_FOUND,
            rate: rate(120, 119, MINUTE_END),
            body: errors(&[("not_found", "Not found")])
        }
    );
    assert_eq!(
        call_v1(&app.base, Method::DELETE, "/v1/departments", Some(&bearer)).await,
        Answer {
            status: StatusCode::METHOD_NOT_ALLOWED,
            rate: rate(120, 118, MINUTE_END),
            body: errors(&[("method_not_allowed", "Method not allowed")]),
        }
    );
    // Every /v1 path is authenticated before it is routed.
    assert_eq!(
        call_v1(&app.base, Method::GET, "/v1/nothing-here", None).await,
        Answer { status: StatusCode::UNAUTHORIZED, rate: vec![], body: unauthorized() }
    );
    // The Rocket.Chat face keeps its own envelope.
    assert_eq!(
        app.get("/api/v1/nothing-here", None).await,
        (StatusCode::NOT_FOUND, json!({"success": false, "error": "Endpoint not found"}))
    );
});
