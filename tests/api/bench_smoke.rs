//! The bench binary end to end on tiny data: it seeds, drives every scenario for a
//! second and writes a result for each, then the realtime scenarios (not in `all`) with
//! a few connections. Timings are not asserted: CI machines vary.
//!
//! The bench is a crate of its own (crates/livechat-bench), so this test builds it with
//! the profile of this test run, next to the `livechat-server` binary it starts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::harness::postgres_admin_url;

const SCENARIOS: [&str; 13] = [
    "inquiries.getOne",
    "inquiries.list",
    "inquiries.list?department",
    "setSLA+take+returnAsInquiry",
    "inquiries.take",
    "PUT /v1/chats/status",
    "inquiries.list (peak conns)",
    "hostile-bodies (quiet)",
    "hostile-bodies (under attack)",
    "auto-routing (open request)",
    "auto-routing (open to assignment)",
    "routing-full-queue (open request)",
    "login",
];

/// The bench binary, built once per test run in the folder of the server binary.
fn bench_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let server = Path::new(env!("CARGO_BIN_EXE_livechat-server"));
        let profile_dir = server.parent().expect("the server binary is in a profile folder");
        // `target/debug` is the dev profile; any other profile names its own folder.
        let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
            Some("debug") | None => "dev",
            Some(name) => name,
        };
        let target_dir = profile_dir.parent().expect("the profile folder is in the target folder");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--package", "livechat-bench", "--bin", "livechat-bench", "--profile", profile])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building livechat-bench failed");
        let binary = server.with_file_name(format!("livechat-bench{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "{} was not built", binary.display());
        binary
    })
}

/// The realtime scenarios with 40 subscribers (2 agents, 38 visitors) and 60 idle
/// connections on the same tiny data.
const REALTIME: [&str; 10] = [
    "--scenario",
    "realtime-latency,realtime-idle",
    "--subscribers",
    "40",
    "--message-rate",
    "40",
    "--idle-connections",
    "60",
    "--idle-hold",
    "1s",
];

const REALTIME_SCENARIOS: [&str; 4] = [
    "realtime-latency (sendMessage alone)",
    "realtime-latency (sendMessage, subscribed)",
    "realtime-latency (send to frame)",
    "realtime-idle (connect + subscribe)",
];

fn run_bench(database_url: &str, results: &Path, scenario: &[&str]) -> Value {
    let output = Command::new(bench_binary())
        .args(["--database-url", database_url, "--queued", "200", "--history", "500"])
        .args(scenario)
        .args(["--duration", "1s", "--connections", "8", "--peak-connections", "16", "--hostile-clients", "12"])
        .arg("--results-dir")
        .arg(results)
        .output()
        .expect("the bench binary runs");
    assert!(
        output.status.success(),
        "the bench failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read_dir(results)
        .expect("the results folder exists")
        .map(|entry| entry.expect("a folder entry").path())
        .find(|path| path.extension().is_some_and(|extension| extension == "json"))
        .expect("a JSON result was written");
    serde_json::from_str(&std::fs::read_to_string(json).expect("the result is readable")).expect("the result is JSON")
}

/// The rows are the named scenarios', in order, and every one measured without error.
fn assert_rows(result: &Value, backend: &str, scenarios: &[&str]) {
    assert_eq!(result["backend"], backend);
    assert_eq!(result["queued"], 200);
    assert_eq!(result["history"], 500);
    let names: Vec<&str> = result["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|row| row["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(names, scenarios);
    for row in result["scenarios"].as_array().unwrap() {
        if row["skipped"] == true {
            continue;
        }
        assert!(row["http"]["requests"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(row["http"]["errors"], 0, "{row}");
    }
}

fn assert_every_scenario_reported(result: &Value, backend: &str) {
    assert_rows(result, backend, &SCENARIOS);
    // The hostile bodies were sent and answered, and the figures are ratios to ceilings.
    let attacked = &result["scenarios"][8]["figures"];
    assert_eq!(attacked["hostile_clients"], 12, "{attacked}");
    assert!(attacked["hostile_answers"].as_object().is_some_and(|answers| !answers.is_empty()), "{attacked}");
    assert!(attacked["ratio_to_rss_ceiling"].as_f64().is_some(), "{attacked}");
    assert!(attacked["ratio_to_p99_ceiling"].as_f64().is_some(), "{attacked}");
    // Routing assigned rooms within every limit, and assigned none while agents were full.
    let routed = &result["scenarios"][9]["figures"];
    assert!(routed["assigned"].as_u64().unwrap() > 0, "{routed}");
    assert_eq!((&routed["agents_over_limit"], &routed["rooms_that_changed_agents"]), (&json!(0), &json!(0)));
    assert_eq!(result["scenarios"][11]["figures"]["assigned"], 0, "{result}");
}

fn assert_realtime_reported(result: &Value, backend: &str) {
    assert_rows(result, backend, &REALTIME_SCENARIOS);
    // Every message sent reached its visitor and its agent.
    let latency = &result["scenarios"][2]["figures"];
    assert_eq!((&latency["agents"], &latency["visitors"]), (&json!(2), &json!(38)), "{latency}");
    assert!(latency["messages_sent"].as_u64().unwrap() > 0, "{latency}");
    assert_eq!(latency["frames_received"], latency["frames_expected"], "{latency}");
    assert!(latency["ratio_to_target"].as_f64().is_some(), "{latency}");
    assert!(latency["ratio_to_rest_alone_p99"].as_f64().is_some(), "{latency}");
    // Every idle connection opened, subscribed and stayed open, and memory was read.
    let idle = &result["scenarios"][3]["figures"];
    assert_eq!((&idle["open"], &idle["failed"], &idle["dropped_during_hold"]), (&json!(60), &json!(0), &json!(0)));
    assert!(idle["ratio_to_rss_target"].as_f64().is_some(), "{idle}");
}

#[test]
fn bench_runs_every_scenario_on_sqlite() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/bench.db", folder.path().display());
    let result = run_bench(&url, &folder.path().join("results"), &["--scenario", "all"]);
    assert_every_scenario_reported(&result, "sqlite");
}

#[test]
fn bench_runs_the_realtime_scenarios_on_sqlite() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/bench.db", folder.path().display());
    let result = run_bench(&url, &folder.path().join("results"), &REALTIME);
    assert_realtime_reported(&result, "sqlite");
}

/// Runs the bench with `scenario` on a PostgreSQL database of its own, dropped after.
fn run_bench_on_postgres(scenario: &[&str]) -> Value {
    let admin_url = postgres_admin_url();
    let name = format!("livechat_bench_{}", uuid::Uuid::new_v4().simple());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let admin = |sql: String| {
        runtime.block_on(async {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut connection).await.expect("administer the database");
        })
    };
    admin(format!("CREATE DATABASE \"{name}\""));
    let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    let folder = tempfile::tempdir().expect("temporary folder");
    let result = std::panic::catch_unwind(|| run_bench(url.as_str(), folder.path(), scenario));
    admin(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    result.expect("the bench ran")
}

#[test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
fn bench_runs_every_scenario_on_postgres() {
    assert_every_scenario_reported(&run_bench_on_postgres(&["--scenario", "all"]), "postgres");
}

#[test]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
fn bench_runs_the_realtime_scenarios_on_postgres() {
    assert_realtime_reported(&run_bench_on_postgres(&REALTIME), "postgres");
}
