//! The login block: attempts are reserved before the password is checked, so it holds
//! under concurrency; they count against the account however it is named, never
//! store the typed name; and the password checks shed load past their bound.

use std::num::NonZeroUsize;

use futures::future::join_all;
use livechat_server::config::AppSettings;
use livechat_server::domain::ids::token_digest;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN_PASSWORD, START, TestApp, both_backends, send};

fn blocked_for_user() -> Value {
    json!({
        "success": false, "status": "error",
        "error": "Login has been temporarily blocked for this user [error-login-blocked-for-user]",
        "errorType": "error-login-blocked-for-user",
        "message": "Login has been temporarily blocked for this user",
    })
}

fn blocked_for_ip() -> Value {
    json!({
        "success": false, "status": "error",
        "error": "Login has been temporarily blocked for this IP [error-login-blocked-for-ip]",
        "errorType": "error-login-blocked-for-ip",
        "message": "Login has been temporarily blocked for this IP",
    })
}

fn unauthorized() -> Value {
    json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
}

fn unavailable() -> Value {
    json!({"success": false, "error": "Service unavailable [error-service-unavailable]", "errorType": "error-service-unavailable"})
}

/// A login from the test's own address.
async fn login(app: &TestApp, user: &str, password: &str) -> (StatusCode, Value) {
    app.post("/api/v1/login", None, json!({"user": user, "password": password})).await
}

/// A login as if from `address`, for servers that trust X-Forwarded-For.
async fn login_from(app: &TestApp, address: &str, user: &str, password: &str) -> (StatusCode, Value) {
    let request = app
        .client
        .post(app.url("/api/v1/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"user": user, "password": password}));
    send(request).await
}

/// How many answers equal `expected`.
fn count(answers: &[(StatusCode, Value)], expected: &(StatusCode, Value)) -> usize {
    answers.iter().filter(|answer| *answer == expected).count()
}

/// The password checks logins have run, from the metrics listener.
async fn password_checks(app: &TestApp) -> u64 {
    let text = reqwest::get(format!("{}/metrics", app.metrics_base)).await.unwrap().text().await.unwrap();
    let line = text.lines().find_map(|line| line.strip_prefix("livechat_login_password_checks_total "));
    line.expect("the password check counter is served").trim().parse().unwrap()
}

/// Every row of the attempts table as `kind key attempts`, sorted.
async fn attempt_rows(app: &TestApp) -> Vec<String> {
    let mut rows = app
        .column_strings("SELECT kind || ' ' || attempt_key || ' ' || CAST(attempts AS TEXT) FROM login_attempts")
        .await;
    rows.sort();
    rows
}

both_backends!(concurrent_guesses_for_one_account_verify_at_most_the_limit, |app| {
    let checks_before = password_checks(&app).await;
    let guesses = (0..100).map(|index| login(&app, "admin", if index == 0 { "wrong" } else { "also-wrong" }));
    let answers = join_all(guesses).await;
    // Exactly ten reservations fit the window; every other guess is refused unchecked.
    assert_eq!(count(&answers, &(StatusCode::UNAUTHORIZED, unauthorized())), 10, "{answers:?}");
    assert_eq!(count(&answers, &(StatusCode::TOO_MANY_REQUESTS, blocked_for_user())), 90, "{answers:?}");
    assert_eq!(password_checks(&app).await - checks_before, 10);
    // The right password is refused while the block lasts.
    assert_eq!(login(&app, "admin", ADMIN_PASSWORD).await, (StatusCode::TOO_MANY_REQUESTS, blocked_for_user()));
    // Two rows: the account and the address, each at the limit.
    assert_eq!(
        attempt_rows(&app).await,
        vec!["address 127.0.0.1 10".to_owned(), format!("user {} 10", app.admin.user_id)]
    );
    // Existing sessions keep working.
    assert_eq!(app.get("/api/v1/me", Some(&app.admin)).await.0, StatusCode::OK);
});

both_backends!(concurrent_guesses_from_one_address_block_the_address, |app| {
    let names: Vec<String> = (0..100).map(|index| format!("nobody-{index}")).collect();
    let answers = join_all(names.iter().map(|name| login(&app, name, "wrong"))).await;
    assert_eq!(count(&answers, &(StatusCode::UNAUTHORIZED, unauthorized())), 10, "{answers:?}");
    assert_eq!(count(&answers, &(StatusCode::TOO_MANY_REQUESTS, blocked_for_ip())), 90, "{answers:?}");
    assert_eq!(login(&app, "admin", ADMIN_PASSWORD).await, (StatusCode::TOO_MANY_REQUESTS, blocked_for_ip()));
    // A refused attempt counts against neither key: ten names hold one attempt each,
    // and the administrator's window holds none (its logins succeeded or were refused).
    let rows = attempt_rows(&app).await;
    assert_eq!(rows.iter().filter(|row| row.starts_with("user ") && row.ends_with(" 1")).count(), 10, "{rows:?}");
    assert!(rows.contains(&"address 127.0.0.1 10".to_owned()), "{rows:?}");
    assert!(rows.contains(&format!("user {} 0", app.admin.user_id)), "{rows:?}");
    assert_eq!(rows.len(), 12, "{rows:?}");
});

both_backends!(
    failures_count_against_the_account_whether_named_by_username_or_email,
    settings = AppSettings { trust_forwarded_for: true, ..Default::default() },
    |app| {
        for name in ["locked", "other"] {
            let created = app
                .post(
                    "/api/v1/users.create",
                    Some(&app.admin),
                    json!({"username": name, "password": format!("{name}-password"), "email": format!("{name}@example.com"), "name": name}),
                )
                .await;
            assert_eq!(created.0, StatusCode::OK, "{created:?}");
        }
        // Each attempt from another address, so that only the account's count can block.
        let mut next_address = (1..).map(|index: u32| format!("198.51.100.{index}"));

        for _ in 0..10 {
            let answer = login_from(&app, &next_address.next().unwrap(), "locked", "wrong").await;
            assert_eq!(answer, (StatusCode::UNAUTHORIZED, unauthorized()));
        }
        for name in ["locked@example.com", "LOCKED@Example.COM", "Locked"] {
            let answer = login_from(&app, &next_address.next().unwrap(), name, "locked-password").await;
            assert_eq!(answer, (StatusCode::TOO_MANY_REQUESTS, blocked_for_user()), "{name}");
        }

        for _ in 0..10 {
            let answer = login_from(&app, &next_address.next().unwrap(), "Other@Example.com", "wrong").await;
            assert_eq!(answer, (StatusCode::UNAUTHORIZED, unauthorized()));
        }
        let answer = login_from(&app, &next_address.next().unwrap(), "other", "other-password").await;
        assert_eq!(answer, (StatusCode::TOO_MANY_REQUESTS, blocked_for_user()));

        // A name no account has counts as itself, in any case.
        for _ in 0..10 {
            let answer = login_from(&app, &next_address.next().unwrap(), "ghost", "wrong").await;
            assert_eq!(answer, (StatusCode::UNAUTHORIZED, unauthorized()));
        }
        let answer = login_from(&app, &next_address.next().unwrap(), "GHOST", "wrong").await;
        assert_eq!(answer, (StatusCode::TOO_MANY_REQUESTS, blocked_for_user()));

        // Other accounts are not affected.
        let answer = login_from(&app, &next_address.next().unwrap(), "admin@example.com", ADMIN_PASSWORD).await;
        assert_eq!(answer.0, StatusCode::OK, "{answer:?}");
    }
);

both_backends!(typed_names_are_stored_only_as_digests, |app| {
    // What a user typing their password into the username field would send.
    let secret = "Correct-Horse-Battery-Staple-42";
    for _ in 0..3 {
        assert_eq!(login(&app, secret, "wrong").await, (StatusCode::UNAUTHORIZED, unauthorized()));
    }
    // The longest name accepted (256 characters) costs one bounded key, like any other
    // name; a longer one is refused before the store (see input_lengths).
    let huge = "x".repeat(256);
    assert_eq!(login(&app, &huge, "wrong").await, (StatusCode::UNAUTHORIZED, unauthorized()));

    let mut expected = vec![
        "address 127.0.0.1 4".to_owned(),
        format!("user {} 0", app.admin.user_id),
        format!("user {} 3", token_digest(&secret.to_lowercase())),
        format!("user {} 1", token_digest(&huge)),
    ];
    expected.sort();
    let rows = attempt_rows(&app).await;
    assert_eq!(rows, expected);
    for row in &rows {
        assert!(!row.to_lowercase().contains("horse"), "{row}");
        assert!(row.len() < 100, "{row}");
    }
});

/// A stored hash made with 15 times the default argon2 time cost (a deployment that
/// raised its cost would hold such hashes): checking a password against it keeps a
/// password thread busy for a long while. The hash part is not the password's, so the
/// check fails.
const SLOW_HASH: &str = "UPDATE users SET password_hash = \
    '$argon2id$v=19$m=19456,t=30,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
    WHERE username = 'slow'";

both_backends!(
    a_full_password_queue_answers_503_with_retry_after,
    settings = AppSettings {
        max_pending_password_checks: NonZeroUsize::new(1).unwrap(),
        trust_forwarded_for: true,
        // However loaded the machine, the slow check is answered by the check itself.
        request_timeout_secs: 0,
        ..Default::default()
    },
    |app| {
        let created = app
            .post(
                "/api/v1/users.create",
                Some(&app.admin),
                json!({"username": "slow", "password": "slow-password", "email": "slow@example.com", "name": "slow"}),
            )
            .await;
        assert_eq!(created.0, StatusCode::OK, "{created:?}");
        app.execute(SLOW_HASH).await;

        /// A login's status, body and Retry-After header.
        async fn attempt(
            app: &TestApp,
            address: String,
            user: String,
            password: &str,
        ) -> (StatusCode, Value, Option<String>) {
            let response = app
                .client
                .post(app.url("/api/v1/login"))
                .header("x-forwarded-for", address)
                .json(&json!({"user": user, "password": password}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let retry_after = response.headers().get("retry-after").map(|value| value.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap();
            crate::openapi::assert_documented(&reqwest::Method::POST, "/api/v1/login", status, &body);
            (status, body, retry_after)
        }

        // The slow check holds the only slot for seconds, or finds it taken and is
        // refused itself; probes keep arriving until it has been answered, so at least
        // one answer is a 503 whatever the timing.
        let slow = tokio::spawn({
            let client = app.client.clone();
            let url = app.url("/api/v1/login");
            async move {
                let response = client
                    .post(url)
                    .header("x-forwarded-for", "192.0.2.1")
                    .json(&json!({"user": "slow", "password": "wrong"}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let retry_after = response.headers().get("retry-after").map(|value| value.to_str().unwrap().to_owned());
                (status, response.json::<Value>().await.unwrap(), retry_after)
            }
        });
        let mut answers = Vec::new();
        let mut probe = 0;
        while !slow.is_finished() {
            let batch = (0..8).map(|_| {
                probe += 1;
                let address = format!("203.0.113.{}", probe % 250 + 1);
                if probe % 2 == 0 {
                    attempt(&app, address, format!("probe-{probe}"), "wrong")
                } else {
                    attempt(&app, address, "admin".to_owned(), ADMIN_PASSWORD)
                }
            });
            answers.extend(join_all(batch.collect::<Vec<_>>()).await);
            if answers.iter().any(|(status, _, _)| *status == StatusCode::SERVICE_UNAVAILABLE) {
                break;
            }
        }
        answers.push(slow.await.unwrap());

        for (status, body, retry_after) in &answers {
            match *status {
                StatusCode::OK => assert_eq!(retry_after, &None),
                StatusCode::UNAUTHORIZED => assert_eq!((body, retry_after), (&unauthorized(), &None)),
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!((body, retry_after.as_deref()), (&unavailable(), Some("1")))
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert!(answers.iter().any(|(status, _, _)| *status == StatusCode::SERVICE_UNAVAILABLE), "{answers:?}");

        // Refused logins were never checked, so they count as no failure, and every
        // slot was released before its check answered: the administrator logs in.
        let after = attempt(&app, "192.0.2.2".to_owned(), "admin".to_owned(), ADMIN_PASSWORD).await;
        assert_eq!((after.0, after.2), (StatusCode::OK, None));
    }
);

both_backends!(a_block_lifts_when_its_window_ends_and_expired_windows_are_dropped, clock = START, |app| {
    for _ in 0..10 {
        assert_eq!(login(&app, "ghost", "wrong").await, (StatusCode::UNAUTHORIZED, unauthorized()));
    }
    assert_eq!(login(&app, "ghost", "wrong").await, (StatusCode::TOO_MANY_REQUESTS, blocked_for_user()));
    app.clock.advance(5 * 60 * 1000 - 1);
    assert_eq!(login(&app, "admin", ADMIN_PASSWORD).await, (StatusCode::TOO_MANY_REQUESTS, blocked_for_ip()));

    app.clock.advance(1);
    assert_eq!(login(&app, "admin", ADMIN_PASSWORD).await.0, StatusCode::OK);
    // Opening the address's new window dropped the expired one of the unknown name.
    assert_eq!(
        attempt_rows(&app).await,
        vec!["address 127.0.0.1 0".to_owned(), format!("user {} 0", app.admin.user_id)]
    );
    assert_eq!(login(&app, "ghost", "wrong").await, (StatusCode::UNAUTHORIZED, unauthorized()));
});
