//! livechat-bench: how fast the server is against the limits of this machine.
//!
//! Seeds a database in bulk, starts the release server as a child process (or uses
//! `--server-url`), and drives closed-loop HTTP load for a fixed time per scenario.
//! Each scenario is compared with two ceilings measured the same way in the same run:
//! a route that touches no database (the HTTP ceiling) and the scenario's own store
//! calls made straight from this process (the database ceiling).

mod hostile;
mod load;
mod realtime;
mod report;
mod routing;
mod scenarios;
mod seed;
mod server;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use livechat_server::accounts;
use livechat_server::config::DatabaseUrl;
use livechat_server::domain::time::now_millis;
use livechat_server::store::{Store, StoreOptions};

use load::{Tally, closed_loop};
use report::{Row, Setting};
use scenarios::{Fixture, QueuedRoom, Scenario, Session, TakeLedger};
use seed::Database;
use serde_json::json;
use server::{Launch, Server};

#[derive(Parser)]
#[command(about = "Load-test livechat-server against the HTTP and database ceilings of this machine")]
struct Cli {
    /// Database to seed and serve: sqlite://PATH or postgres://... (a database of its own).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,

    /// Scenarios to run (comma-separated: get-one, list, list-department, sla-cycle,
    /// take, chat-status, login, list-at-peak, hostile-bodies, auto-routing,
    /// routing-full-queue, sla-breaches, sweep-cost, realtime-latency, realtime-idle), or
    /// `all` (every one but sla-breaches, sweep-cost and the realtime ones).
    #[arg(long, value_delimiter = ',', default_value = "all", value_parser = parse_scenarios)]
    scenario: Vec<Vec<Scenario>>,

    /// Queued inquiries to seed.
    #[arg(long, default_value_t = 10_000)]
    queued: usize,

    /// Closed rooms, with one message each, to seed.
    #[arg(long, default_value_t = 1_000_000)]
    history: usize,

    /// Time per scenario and per ceiling, e.g. `10s` or `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,

    /// Concurrent keep-alive connections (closed-loop users).
    #[arg(long, default_value_t = 64)]
    connections: usize,

    /// Connections of the peak-memory scenario.
    #[arg(long, default_value_t = 256)]
    peak_connections: usize,

    /// Clients sending 1 MiB hostile bodies in the hostile-bodies scenario.
    #[arg(long, default_value_t = 128)]
    hostile_clients: usize,

    /// Rooms opened per second in the routing scenarios.
    #[arg(long, default_value_t = 50.0)]
    arrival_rate: f64,

    /// Available agents in the routing scenarios (at most 50, the seeded agents).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=50))]
    routing_agents: u64,

    /// Each agent's chat limit in the routing scenarios.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..))]
    chat_limit: i64,

    /// How long auto-routing's closer leaves a served chat open, e.g. `1s`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    hold: Duration,

    /// WebSocket connections of realtime-latency: one agent per 19 visitors, each
    /// visitor subscribed to its room and each agent to the rooms it serves.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(2..=5_000))]
    subscribers: u64,

    /// chat.sendMessage requests per second in realtime-latency.
    #[arg(long, default_value_t = 100.0)]
    message_rate: f64,

    /// Idle WebSocket connections of realtime-idle.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=25_000))]
    idle_connections: u64,

    /// How long realtime-idle holds its connections once all are open, e.g. `35s`
    /// (the server pings a client silent for 25 s).
    #[arg(long, default_value = "35s", value_parser = parse_duration)]
    idle_hold: Duration,

    /// Database pool size, of the server and of the database ceiling alike.
    #[arg(long, default_value_t = 16)]
    db_max_connections: u32,

    /// Target a server already running instead of starting one.
    #[arg(long)]
    server_url: Option<String>,

    /// Process id of that server, to report its peak RSS.
    #[arg(long, requires = "server_url")]
    server_pid: Option<u32>,

    /// Folder for the JSON and markdown results.
    #[arg(long, default_value = "bench/results")]
    results_dir: PathBuf,
}

/// `all`, or one scenario by its name.
fn parse_scenarios(raw: &str) -> Result<Vec<Scenario>, String> {
    if raw == "all" {
        return Ok(Scenario::ALL.to_vec());
    }
    <Scenario as clap::ValueEnum>::from_str(raw, false).map(|scenario| vec![scenario])
}

/// `10s`, `1.5s`, `500ms`.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    let (number, unit) = match raw.strip_suffix("ms") {
        Some(number) => (number, 0.001),
        None => (raw.strip_suffix('s').unwrap_or(raw), 1.0),
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("not a duration: {raw:?} (try 10s or 500ms)"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("a duration must be positive: {raw:?}"));
    }
    Ok(Duration::from_secs_f64(value * unit))
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().collect();
    if arguments.get(1).map(String::as_str) == Some(hostile::FLOOD_COMMAND) {
        return hostile::flood_command(&arguments[2..]);
    }
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&cli.database_url).map_err(anyhow::Error::msg)?;
    let mut scenarios: Vec<Scenario> = Vec::new();
    for &scenario in cli.scenario.iter().flatten() {
        if !scenarios.contains(&scenario) {
            scenarios.push(scenario);
        }
    }
    let options = StoreOptions {
        url: url.clone(),
        max_connections: cli.db_max_connections,
        acquire_timeout: Duration::from_secs(30),
        statement_timeout: Duration::from_secs(30),
        tcp_keepalive: Duration::from_secs(30),
    };
    // Every WebSocket of the realtime scenarios is a descriptor here and in the server.
    let descriptors_needed = cli.idle_connections.max(cli.subscribers) + DESCRIPTOR_MARGIN;
    let (open_files, _) = livechat_server::server::raise_open_file_limit().context("raising the open-file limit")?;
    if scenarios.iter().any(|scenario| matches!(scenario, Scenario::RealtimeIdle | Scenario::RealtimeLatency))
        && open_files < descriptors_needed
    {
        bail!("the open-file limit is {open_files}, the realtime scenarios need {descriptors_needed} (ulimit -Hn)");
    }
    let store = Store::open(&options).await.with_context(|| format!("opening {}", url.redacted()))?;
    store.migrate().await.context("applying migrations")?;
    let database = Database::connect(&url).await?;
    let dataset = database.ensure_seeded(cli.queued, cli.history).await?;
    // Before the server starts: under the default automatic routing it would begin
    // assigning the seeded queue to the bench agents.
    database.reset_queue().await?;
    if dataset.queued == 0 {
        bail!("--queued must be at least 1: every scenario works on queued inquiries");
    }
    let server = match &cli.server_url {
        Some(server_url) => Server::attach(server_url, cli.server_pid).await?,
        None => {
            Server::launch(Launch {
                database_url: &cli.database_url,
                db_max_connections: cli.db_max_connections,
                max_connections: descriptors_needed as usize,
            })
            .await?
        }
    };
    let api_key = accounts::issue_api_key(&store, &format!("bench-{}", uuid::Uuid::new_v4().simple()), now_millis())
        .await
        .context("issuing the bench API key")?
        .key;
    let rooms = database
        .queued_rooms()
        .await?
        .into_iter()
        .map(|(id, inquiry_id, num_id)| QueuedRoom { id, inquiry_id, num_id })
        .collect();
    let agents: Vec<Session> =
        (0..seed::AGENT_COUNT).map(|index| Session::new(seed::agent_id(index), seed::agent_username(index))).collect();
    let mut agent_num_ids = Vec::with_capacity(agents.len());
    for agent in &agents {
        let user = store.user_by_id(&agent.user_id).await?.context("a seeded agent is missing")?;
        agent_num_ids.push(user.num_id);
    }
    let fixture = Arc::new(Fixture {
        base_url: server.base_url.clone(),
        store: store.clone(),
        admin: Session::new(seed::admin_id(), seed::ADMIN_USERNAME.to_owned()),
        agents,
        agent_num_ids,
        rooms,
        api_key,
    });

    let bench = Bench { cli: &cli, fixture, server: &server, database: &database, http_ceilings: HashMap::new() };
    let rows = bench.run_all(&scenarios).await?;
    let table = report::markdown_table(&rows);
    println!("\n{table}");
    let setting = Setting {
        backend: store.backend_name(),
        queued: dataset.queued,
        history: dataset.history,
        duration_secs: cli.duration.as_secs_f64(),
        db_max_connections: cli.db_max_connections,
    };
    let written = report::write(&cli.results_dir, &setting, &rows)?;
    println!("results written to {} (and .md)", written.display());
    drop(server);
    database.close().await;
    store.close().await;
    let double_takes: Vec<&Row> = rows.iter().filter(|row| row.note.contains("DOUBLE TAKE")).collect();
    if !double_takes.is_empty() {
        bail!("an inquiry was taken twice");
    }
    if rows.iter().any(|row| row.note.contains("LIMIT BROKEN")) {
        bail!("routing broke a chat limit or moved a room to another agent");
    }
    Ok(())
}

struct Bench<'a> {
    cli: &'a Cli,
    fixture: Arc<Fixture>,
    server: &'a Server,
    database: &'a Database,
    /// Health-route requests per second, by connection count.
    http_ceilings: HashMap<usize, f64>,
}

impl Bench<'_> {
    async fn run_all(mut self, scenarios: &[Scenario]) -> anyhow::Result<Vec<Row>> {
        let mut rows = Vec::new();
        for &scenario in scenarios {
            if scenario == Scenario::HostileBodies {
                let connections = self.cli.connections.div_ceil(4);
                let http_ceiling = self.http_ceiling(connections).await;
                eprintln!(
                    "running {} with {connections} ordinary connections and {} hostile clients",
                    scenario.name(),
                    self.cli.hostile_clients
                );
                rows.extend(self.hostile_bodies(connections, http_ceiling).await?);
                continue;
            }
            if scenario == Scenario::SlaBreaches {
                eprintln!("running {}: deadlines over the next minute", scenario.name());
                rows.push(self.sla_breaches().await?);
                continue;
            }
            if scenario == Scenario::SweepCost {
                let http_ceiling = self.http_ceiling(self.cli.connections).await;
                eprintln!("running {}: the queue without due times, then with them falling due", scenario.name());
                rows.extend(self.sweep_cost(http_ceiling).await?);
                continue;
            }
            if scenario == Scenario::RealtimeLatency {
                eprintln!("running {} with {} subscribers", scenario.name(), self.cli.subscribers);
                let plan = realtime::LatencyPlan {
                    subscribers: self.cli.subscribers as usize,
                    rate: self.cli.message_rate,
                    duration: self.cli.duration,
                };
                let queued = self.fixture.rooms.len();
                rows.extend(realtime::latency(&self.fixture.base_url, self.database, self.server, queued, plan).await?);
                continue;
            }
            if scenario == Scenario::RealtimeIdle {
                eprintln!("running {} with {} connections", scenario.name(), self.cli.idle_connections);
                let plan =
                    realtime::IdlePlan { connections: self.cli.idle_connections as usize, hold: self.cli.idle_hold };
                let queued = self.fixture.rooms.len();
                rows.push(realtime::idle(&self.fixture.base_url, self.server, queued, plan).await?);
                continue;
            }
            if matches!(scenario, Scenario::AutoRouting | Scenario::RoutingFullQueue) {
                let http_ceiling = self.http_ceiling(self.cli.connections).await;
                eprintln!("running {} at {} rooms/s", scenario.name(), self.cli.arrival_rate);
                rows.extend(self.routing(scenario, http_ceiling).await?);
                continue;
            }
            let connections =
                if scenario == Scenario::ListAtPeak { self.cli.peak_connections } else { self.cli.connections };
            let http_ceiling = self.http_ceiling(connections).await;
            eprintln!("running {} with {connections} connections", scenario.name());
            rows.push(self.run(scenario, connections, http_ceiling).await?);
        }
        Ok(rows)
    }

    /// The health route's rate at `connections`, measured once per connection count.
    async fn http_ceiling(&mut self, connections: usize) -> f64 {
        if let Some(&rate) = self.http_ceilings.get(&connections) {
            return rate;
        }
        eprintln!("measuring the HTTP ceiling (/health/live) with {connections} connections");
        let fixture = Arc::clone(&self.fixture);
        let steps = (0..connections).map(|_| scenarios::health_step(&fixture)).collect();
        let tally = closed_loop(self.cli.duration, steps).await;
        let rate = tally.per_second();
        self.http_ceilings.insert(connections, rate);
        rate
    }

    async fn run(&self, scenario: Scenario, connections: usize, http_ceiling: f64) -> anyhow::Result<Row> {
        let duration = self.cli.duration;
        if scenario.mutates() {
            self.database.reset_queue().await?;
        }
        let ledger = Arc::new(TakeLedger::default());
        self.server.reset_peak_rss();
        let steps =
            (0..connections).map(|worker| scenarios::http_step(scenario, &self.fixture, &ledger, worker)).collect();
        let http = closed_loop(duration, steps).await;
        let peak_rss_bytes = self.server.peak_rss_bytes();
        let mut notes = Vec::new();
        if let Some(error) = &http.first_error {
            notes.push(format!("first error: {}", shorten(error)));
        }
        if scenario == Scenario::Take {
            notes.push(self.check_takes(&ledger, &http).await?);
        }
        if http.all_skipped() {
            notes.push("skipped: the server has no such route".to_owned());
            return Ok(Row {
                scenario: scenario.name(),
                connections,
                http: None,
                http_ceiling,
                database: None,
                peak_rss_bytes,
                note: notes.join("; "),
                figures: None,
            });
        }

        if scenario.mutates() {
            self.database.reset_queue().await?;
        }
        let steps = (0..connections).map(|worker| scenarios::store_step(scenario, &self.fixture, worker)).collect();
        let database = Some(closed_loop(duration, steps).await);
        if let Some(error) = database.as_ref().and_then(|tally| tally.first_error.as_ref()) {
            notes.push(format!("database ceiling error: {}", shorten(error)));
        }
        Ok(Row {
            scenario: scenario.name(),
            connections,
            http: Some(http),
            http_ceiling,
            database,
            peak_rss_bytes,
            note: notes.join("; "),
            figures: None,
        })
    }

    /// The ordinary requests alone, then the same while hostile clients send 1 MiB bodies;
    /// the second row's figures are the server's peak RSS against [`RSS_CEILING`] and its
    /// p99 against twice the quiet p99, both measured in this run.
    async fn hostile_bodies(&self, connections: usize, http_ceiling: f64) -> anyhow::Result<Vec<Row>> {
        let duration = self.cli.duration;
        self.database.reset_queue().await?;
        let ledger = Arc::new(TakeLedger::default());
        let ordinary = || {
            (0..connections)
                .map(|worker| scenarios::http_step(Scenario::HostileBodies, &self.fixture, &ledger, worker))
                .collect()
        };
        self.server.reset_peak_rss();
        let quiet = closed_loop(duration, ordinary()).await;
        let quiet_peak = self.server.peak_rss_bytes();
        self.server.reset_peak_rss();
        let clients = self.cli.hostile_clients;
        let (attacked, hostile) = tokio::join!(
            closed_loop(duration, ordinary()),
            hostile::flood_in_child(&self.fixture.base_url, clients, duration)
        );
        let hostile = hostile?;
        let peak = self.server.peak_rss_bytes();
        // What the server keeps once the flood is over.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_after = self.server.rss_bytes();

        let (quiet_p99, p99) = (quiet.millis_at(0.99), attacked.millis_at(0.99));
        let rss_ratio = peak.map(|peak| peak as f64 / RSS_CEILING as f64);
        let p99_ratio = p99 / (2.0 * quiet_p99);
        let mut notes = vec![
            format!(
                "{clients} hostile clients at nice 19, {} bodies ({:.0}/s): {}",
                hostile.total(),
                hostile.total() as f64 / duration.as_secs_f64(),
                hostile.summary()
            ),
            format!(
                "peak RSS {} of the {} MB ceiling; p99 {p99:.2} ms = {:.0} % of the ceiling 2 x {quiet_p99:.2} ms",
                rss_ratio.map_or("n/a".to_owned(), |ratio| format!("{:.0} %", ratio * 100.0)),
                RSS_CEILING / (1024 * 1024),
                p99_ratio * 100.0
            ),
        ];
        if let Some(rss_after) = rss_after {
            notes.push(format!("RSS 2 s after: {:.1} MB", rss_after as f64 / (1024.0 * 1024.0)));
        }
        if let Some(error) = &attacked.first_error {
            notes.push(format!("first error: {}", shorten(error)));
        }
        let figures = json!({
            "hostile_clients": clients,
            "hostile_answers": hostile.answers,
            "peak_rss_ceiling_bytes": RSS_CEILING,
            "ratio_to_rss_ceiling": rss_ratio,
            "quiet_p99_ms": quiet_p99,
            "p99_ms": p99,
            "ratio_to_p99_ceiling": p99_ratio,
            "rss_after_bytes": rss_after,
        });
        let quiet_note = quiet.first_error.as_ref().map(|error| format!("first error: {}", shorten(error)));
        Ok(vec![
            Row {
                scenario: "hostile-bodies (quiet)",
                connections,
                http: Some(quiet),
                http_ceiling,
                database: None,
                peak_rss_bytes: quiet_peak,
                note: quiet_note.unwrap_or_default(),
                figures: None,
            },
            Row {
                scenario: "hostile-bodies (under attack)",
                connections,
                http: Some(attacked),
                http_ceiling,
                database: None,
                peak_rss_bytes: peak,
                note: notes.join("; "),
                figures: Some(figures),
            },
        ])
    }

    /// An open-loop routing scenario: a row for the open requests and, for auto-routing,
    /// one for the waits from open to assignment (its rate: assignments per second).
    async fn routing(&self, scenario: Scenario, http_ceiling: f64) -> anyhow::Result<Vec<Row>> {
        let plan = routing::Plan {
            rate: self.cli.arrival_rate,
            agents: self.cli.routing_agents as usize,
            chat_limit: self.cli.chat_limit,
            hold: self.cli.hold,
            duration: self.cli.duration,
        };
        self.server.reset_peak_rss();
        let measured = if scenario == Scenario::AutoRouting {
            routing::auto_routing(&self.fixture, self.database, plan).await?
        } else {
            routing::full_queue(&self.fixture, self.database, plan).await?
        };
        let peak_rss_bytes = self.server.peak_rss_bytes();
        let mut notes = vec![measured.note];
        if let Some(error) = &measured.opens.first_error {
            notes.push(format!("first error: {}", shorten(error)));
        }
        let (opens_name, waits_name) = match scenario {
            Scenario::AutoRouting => ("auto-routing (open request)", "auto-routing (open to assignment)"),
            _ => ("routing-full-queue (open request)", ""),
        };
        let row = |name, tally, note, figures| Row {
            scenario: name,
            connections: 0,
            http: Some(tally),
            http_ceiling,
            database: None,
            peak_rss_bytes,
            note,
            figures,
        };
        let mut rows = vec![row(opens_name, measured.opens, notes.join("; "), Some(measured.figures))];
        if let Some(waits) = measured.waits {
            rows.push(row(waits_name, waits, String::new(), None));
        }
        Ok(rows)
    }

    /// Gives every queued inquiry a due time within the next minute, waits until the
    /// server has recorded each breach (at most two minutes past the last deadline),
    /// and reports the delays from due time to record as the row's latencies.
    async fn sla_breaches(&self) -> anyhow::Result<Row> {
        const LEAD_MS: i64 = 5_000;
        self.database.reset_queue().await?;
        self.server.reset_peak_rss();
        let started = std::time::Instant::now();
        let staged = self.database.stage_sla_deadlines(0, now_millis(), LEAD_MS, 60_000).await?;
        let give_up = started + Duration::from_millis(LEAD_MS as u64 + 60_000) + Duration::from_secs(120);
        let delays = loop {
            let delays = self.database.sla_breach_delays().await?;
            if delays.len() as u64 >= staged || std::time::Instant::now() > give_up {
                break delays;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let mut tally = load::Tally::new();
        for &delay in &delays {
            tally.record(load::Outcome::Ok, Duration::from_millis(delay.max(0) as u64));
        }
        tally.elapsed = started.elapsed();
        let note = format!("{} of {staged} inquiries breached; latencies are due time to record", delays.len());
        let row = Row {
            scenario: Scenario::SlaBreaches.name(),
            connections: 0,
            http: Some(tally),
            http_ceiling: 0.0,
            database: None,
            peak_rss_bytes: self.server.peak_rss_bytes(),
            note,
            figures: None,
        };
        self.database.reset_queue().await?;
        Ok(row)
    }

    /// GET inquiries.queuedForUser, then POST inquiries.take, each from a reset queue:
    /// first with no due times, then with every queued inquiry's due time falling
    /// within the run, so that the sweep records breaches (and takes record the ones it
    /// had not reached) while the requests are measured.
    async fn sweep_cost(&self, http_ceiling: f64) -> anyhow::Result<Vec<Row>> {
        const PHASES: [(&str, bool, bool); 4] = [
            ("sweep-cost: queuedForUser, no due times", false, false),
            ("sweep-cost: take, no due times", true, false),
            ("sweep-cost: queuedForUser, due during the run", false, true),
            ("sweep-cost: take, due during the run", true, true),
        ];
        let (duration, connections) = (self.cli.duration, self.cli.connections);
        let spread = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1);
        let mut rows = Vec::new();
        for (name, takes, due) in PHASES {
            self.database.reset_queue().await?;
            let staged = if due { self.database.stage_sla_deadlines(0, now_millis(), 0, spread).await? } else { 0 };
            let ledger = Arc::new(TakeLedger::default());
            self.server.reset_peak_rss();
            let steps = (0..connections)
                .map(|worker| {
                    if takes {
                        scenarios::http_step(Scenario::Take, &self.fixture, &ledger, worker)
                    } else {
                        scenarios::queued_for_user_step(&self.fixture, worker)
                    }
                })
                .collect();
            let http = closed_loop(duration, steps).await;
            let mut notes = vec![if due {
                let mut delays = self.database.sla_breach_delays().await?;
                delays.sort_unstable();
                let percentile = |p: usize| delays.get((delays.len() * p / 100).min(delays.len().saturating_sub(1)));
                format!(
                    "{staged} due times over the run, {} breaches recorded by its end, due time to record p50 {} ms, p99 {} ms",
                    delays.len(),
                    percentile(50).map_or("-".to_owned(), i64::to_string),
                    percentile(99).map_or("-".to_owned(), i64::to_string),
                )
            } else {
                "no due times".to_owned()
            }];
            if let Some(error) = &http.first_error {
                notes.push(format!("first error: {}", shorten(error)));
            }
            rows.push(Row {
                scenario: name,
                connections,
                http: Some(http),
                http_ceiling,
                database: None,
                peak_rss_bytes: self.server.peak_rss_bytes(),
                note: notes.join("; "),
                figures: None,
            });
        }
        self.database.reset_queue().await?;
        Ok(rows)
    }

    /// Exactly-once: no inquiry answered "taken" twice, and the rows agree.
    async fn check_takes(&self, ledger: &TakeLedger, http: &Tally) -> anyhow::Result<String> {
        let taken_rows = self.database.taken_inquiries().await?;
        let double_takes = ledger.double_takes();
        Ok(if double_takes == 0 && taken_rows as u64 == http.ok {
            format!("exactly once: {} takes succeeded, {taken_rows} rows taken, 0 double takes", ledger.takes())
        } else {
            format!("DOUBLE TAKE: {double_takes} repeated successes, {} successes for {taken_rows} taken rows", http.ok)
        })
    }
}

/// Descriptors beyond the realtime scenarios' WebSockets: the database pools, the HTTP
/// clients, the server's listener and files. The child server's connection limit is the
/// WebSockets plus this margin.
const DESCRIPTOR_MARGIN: u64 = 1_000;

/// The hostile-bodies scenario's ceiling of the server's peak RSS.
const RSS_CEILING: u64 = 256 * 1024 * 1024;

fn shorten(text: &str) -> String {
    text.chars().take(160).collect()
}
