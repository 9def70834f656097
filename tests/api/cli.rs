//! The binary itself: configuration errors, migrate, user create, the bootstrap
//! administrator and graceful shutdown on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::harness::both_backends;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_livechat-server"));
    command.env_remove("LIVECHAT_ADMIN_PASSWORD").env("LIVECHAT_LOG_FORMAT", "json").env("RUST_LOG", "info");
    command
}

#[tokio::test]
async fn unknown_database_scheme_exits_2_with_one_line() {
    let output = binary().env("DATABASE_URL", "mysql://root:hunter2@db/livechat").output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: DATABASE_URL must start with sqlite://, postgres:// or postgresql:// (got mysql://root:***@db/livechat)\n"
    );
}

both_backends!(migrate_and_user_create_work_from_the_command_line, |app| {
    let output = binary().arg("migrate").env("DATABASE_URL", &app.database_url).output().await.unwrap();
    assert!(output.status.success(), "{output:?}");
    let output = binary()
        .args(["user", "create", "--username", "cli.agent", "--password", "pw-cli-1", "--email", "cli@example.com"])
        .args(["--name", "Cli Agent", "--role", "user", "--role", "livechat-agent"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let user_id = stdout.lines().last().unwrap();
    assert_eq!(user_id.len(), 17, "{stdout}");
    let session = app.login("cli.agent", "pw-cli-1").await;
    assert_eq!(session.user_id, user_id);
    let (status, me) = app.get("/api/v1/me", Some(&session)).await;
    assert_eq!((status, me["roles"].clone()), (StatusCode::OK, json!(["livechat-agent", "user"])));
});

/// Reads the server's JSON log lines until one satisfies `wanted`.
async fn wait_for_log(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
                && wanted(&entry)
            {
                return entry;
            }
        }
        panic!("the server stopped logging");
    };
    tokio::time::timeout(Duration::from_secs(60), read).await.expect("log line in time")
}

#[tokio::test]
async fn serve_bootstraps_an_admin_once_and_stops_cleanly_on_sigterm() {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/livechat.db", folder.path().display());
    for run in 0..2 {
        // Empty, as docker-compose passes an unset variable: a password is generated.
        let mut server = binary()
            .env("LIVECHAT_ADMIN_PASSWORD", "")
            .env("DATABASE_URL", &url)
            .env("LIVECHAT_LISTEN", "127.0.0.1:0")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
        let mut generated_password = None;
        let listening = wait_for_log(&mut lines, |entry| {
            entry["message"] == "livechat-server listening"
                || entry["message"] == "created the administrator with a generated password, shown only this once"
        })
        .await;
        let listening = if listening["message"] == "livechat-server listening" {
            listening
        } else {
            generated_password = listening["password"].as_str().map(str::to_owned);
            wait_for_log(&mut lines, |entry| entry["message"] == "livechat-server listening").await
        };
        // The first start prints a password once; the second finds the admin and prints none.
        assert_eq!(generated_password.is_some(), run == 0, "run {run}");
        let base = format!("http://{}", listening["address"].as_str().unwrap());
        assert_eq!(reqwest::get(format!("{base}/health")).await.unwrap().status(), StatusCode::OK);
        if let Some(password) = generated_password {
            let login = reqwest::Client::new()
                .post(format!("{base}/api/v1/login"))
                .json(&json!({"user": "admin", "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(login.status(), StatusCode::OK);
        }
        let killed =
            std::process::Command::new("kill").args(["-TERM", &server.id().unwrap().to_string()]).status().unwrap();
        assert!(killed.success());
        let status =
            tokio::time::timeout(Duration::from_secs(30), server.wait()).await.expect("exits in time").unwrap();
        assert_eq!(status.code(), Some(0));
    }
}
