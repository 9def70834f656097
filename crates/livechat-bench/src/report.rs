//! The result table on the terminal, and the same results as JSON and markdown in
//! the results folder, with the machine and the commit they were measured on.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde_json::{Value, json};

use crate::load::Tally;

/// One scenario's measurements.
pub struct Row {
    pub scenario: &'static str,
    pub connections: usize,
    /// `None` when the server lacks the route.
    pub http: Option<Tally>,
    /// The HTTP ceiling at the same concurrency, requests per second; 0 when the
    /// scenario sends no load to compare with it.
    pub http_ceiling: f64,
    /// The scenario's store calls from the bench process; `None` when not measurable.
    pub database: Option<Tally>,
    pub peak_rss_bytes: Option<u64>,
    pub note: String,
    /// A scenario's own figures, such as hostile-bodies' ratios to its ceilings.
    pub figures: Option<Value>,
}

impl Row {
    fn ratio_to_http(&self) -> Option<f64> {
        let ceiling = Some(self.http_ceiling).filter(|ceiling| *ceiling > 0.0)?;
        Some(self.http.as_ref()?.per_second() / ceiling)
    }

    fn ratio_to_database(&self) -> Option<f64> {
        Some(self.http.as_ref()?.per_second() / self.database.as_ref()?.per_second())
    }
}

/// What the run was measured on.
pub struct Setting {
    pub backend: &'static str,
    pub queued: usize,
    pub history: usize,
    pub duration_secs: f64,
    pub db_max_connections: u32,
}

fn cell(value: Option<String>) -> String {
    value.unwrap_or_else(|| "n/a".to_owned())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

const HEADER: [&str; 13] = [
    "scenario",
    "conns",
    "req/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "ok",
    "conflicts",
    "errors",
    "vs HTTP ceiling",
    "vs DB ceiling",
    "DB ceiling req/s",
    "peak RSS MB",
];

fn cells(row: &Row) -> [String; 13] {
    let http = row.http.as_ref();
    let quantile = |q: f64| cell(http.map(|tally| format!("{:.2}", tally.millis_at(q))));
    [
        row.scenario.to_owned(),
        row.connections.to_string(),
        cell(http.map(|tally| format!("{:.0}", tally.per_second()))),
        quantile(0.5),
        quantile(0.99),
        quantile(0.999),
        cell(http.map(|tally| tally.ok.to_string())),
        cell(http.map(|tally| tally.conflicts.to_string())),
        cell(http.map(|tally| tally.errors.to_string())),
        cell(row.ratio_to_http().map(|ratio| format!("{:.0} %", ratio * 100.0))),
        cell(row.ratio_to_database().map(|ratio| format!("{:.0} %", ratio * 100.0))),
        cell(row.database.as_ref().map(|tally| format!("{:.0}", tally.per_second()))),
        cell(row.peak_rss_bytes.map(megabytes)),
    ]
}

/// The rows as a markdown table (which also reads well on a terminal).
pub fn markdown_table(rows: &[Row]) -> String {
    let lines: Vec<[String; 13]> = std::iter::once(HEADER.map(str::to_owned)).chain(rows.iter().map(cells)).collect();
    let widths: Vec<usize> =
        (0..HEADER.len()).map(|column| lines.iter().map(|line| line[column].len()).max().unwrap_or(0)).collect();
    let format_line = |line: &[String; 13]| {
        let padded: Vec<String> = line.iter().zip(&widths).map(|(text, width)| format!("{text:<width$}")).collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut table = format_line(&lines[0]);
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    table.push_str(&format!("|-{}-|\n", rule.join("-|-")));
    for line in &lines[1..] {
        table.push_str(&format_line(line));
    }
    let notes: Vec<String> = rows
        .iter()
        .filter(|row| !row.note.is_empty())
        .map(|row| format!("- {}: {}\n", row.scenario, row.note))
        .collect();
    if !notes.is_empty() {
        table.push('\n');
        table.push_str(&notes.concat());
    }
    table
}

fn tally_json(tally: &Tally) -> Value {
    json!({
        "requests": tally.requests(),
        "requests_per_second": tally.per_second(),
        "p50_ms": tally.millis_at(0.5),
        "p99_ms": tally.millis_at(0.99),
        "p999_ms": tally.millis_at(0.999),
        "max_ms": tally.latencies.max() as f64 / 1000.0,
        "ok": tally.ok,
        "conflicts": tally.conflicts,
        "errors": tally.errors,
        "first_error": tally.first_error,
    })
}

/// The machine: logical cores and memory.
fn machine() -> Value {
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(0);
    let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
        let kilobytes: u64 = line.trim_start_matches("MemTotal:").trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kilobytes * 1024)
    });
    json!({"cores": cores, "memory_bytes": memory_bytes, "os": std::env::consts::OS, "arch": std::env::consts::ARCH})
}

/// The commit the bench was built from, `-dirty` when the tree had changes.
fn git_commit() -> String {
    let run = |arguments: &[&str]| {
        Command::new("git")
            .args(arguments)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) if run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) => {
            format!("{commit}-dirty")
        }
        Some(commit) => commit,
        None => "unknown".to_owned(),
    }
}

/// Writes `<backend>-<timestamp>.json` and `.md` into `folder`; returns the JSON path.
pub fn write(folder: &Path, setting: &Setting, rows: &[Row]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let machine = machine();
    let commit = git_commit();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let scenarios: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "scenario": row.scenario,
                "connections": row.connections,
                "skipped": row.http.is_none(),
                "http": row.http.as_ref().map(tally_json),
                "http_ceiling_requests_per_second": row.http_ceiling,
                "database_ceiling": row.database.as_ref().map(tally_json),
                "ratio_to_http_ceiling": row.ratio_to_http(),
                "ratio_to_database_ceiling": row.ratio_to_database(),
                "server_peak_rss_bytes": row.peak_rss_bytes,
                "note": row.note,
                "figures": row.figures,
            })
        })
        .collect();
    let document = json!({
        "measured_at": chrono::Utc::now().to_rfc3339(),
        "git_commit": commit,
        "machine": machine,
        "backend": setting.backend,
        "queued": setting.queued,
        "history": setting.history,
        "duration_secs_per_scenario": setting.duration_secs,
        "db_max_connections": setting.db_max_connections,
        "scenarios": scenarios,
    });
    let base = folder.join(format!("{}-{stamp}", setting.backend));
    let json_path = base.with_extension("json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&document)?)?;
    let markdown = format!(
        "# livechat-bench, {} ({} queued, {} closed rooms)\n\nCommit {commit}; {} cores, {} MB memory; \
         {}s per scenario; database pool {}.\n\n{}",
        setting.backend,
        setting.queued,
        setting.history,
        machine["cores"],
        machine["memory_bytes"].as_u64().map(|bytes| bytes / (1024 * 1024)).unwrap_or(0),
        setting.duration_secs,
        setting.db_max_connections,
        markdown_table(rows)
    );
    std::fs::write(base.with_extension("md"), markdown)?;
    Ok(json_path)
}
