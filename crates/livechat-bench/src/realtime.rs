//! The realtime scenarios, over real WebSocket (DDP) connections to `/websocket`.
//!
//! `realtime-latency` gives agents rooms of the seeded queue, connects each room's
//! visitor (subscribed to its room's `stream-room-messages` with its token) and each
//! agent (logged in with `{resume: token}`, subscribed to every room it serves), then
//! has the agents send `chat.sendMessage` at a steady rate (open loop) and times each
//! message from the moment its REST request is sent to the `changed` frame carrying it
//! on every subscriber. Its ceiling is the same sends at the same rate with no
//! subscriber connected, measured first in the same run: the REST round trip alone.
//!
//! `realtime-idle` opens many connections that `connect`, subscribe once each (a
//! visitor to its room) and then only answer the server's pings, and reads the server's
//! memory while they are held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::load::{Outcome, Tally};
use crate::report::Row;
use crate::scenarios::Session;
use crate::seed::{self, Database};
use crate::server::Server;

/// The latency target: p99 from send to frame.
pub const LATENCY_TARGET_MS: f64 = 50.0;

/// The memory target of the server holding the idle connections.
pub const IDLE_RSS_TARGET: u64 = 300 * 1024 * 1024;

/// Connections opened at once while the subscribers or idle clients connect.
const CONNECTING_AT_ONCE: usize = 64;

/// How long the latency scenario waits for frames still owed after its last send.
const LAST_FRAMES_WAIT: Duration = Duration::from_secs(5);

/// Rooms one agent serves (and so subscribes to) in the latency scenario.
const ROOMS_PER_AGENT: usize = 19;

/// A DDP client over a real WebSocket.
struct Ddp {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Ddp {
    /// Opens `/websocket` and speaks DDP version 1.
    async fn connect(base_url: &str) -> anyhow::Result<Self> {
        let url = format!("{}/websocket", base_url.replacen("http", "ws", 1));
        let (socket, _) = connect_async(url).await.context("opening the WebSocket")?;
        let mut ddp = Self { socket, next_id: 0 };
        ddp.send(json!({"msg": "connect", "version": "1", "support": ["1"]})).await?;
        ddp.expect("connected").await?;
        Ok(ddp)
    }

    async fn send(&mut self, frame: Value) -> anyhow::Result<()> {
        self.socket.send(Message::Text(frame.to_string().into())).await.context("sending a DDP frame")
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Reads frames until one of kind `msg` (answering pings on the way); a refusal
    /// or a closed connection is an error.
    async fn expect(&mut self, msg: &str) -> anyhow::Result<Value> {
        loop {
            let frame = match self.socket.next().await {
                Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text)?,
                Some(Ok(Message::Close(close))) => bail!("the server closed the connection: {close:?}"),
                Some(Ok(_)) => continue,
                Some(Err(error)) => bail!("the connection broke: {error}"),
                None => bail!("the connection ended"),
            };
            match frame["msg"].as_str() {
                Some(kind) if kind == msg => {
                    if frame.get("error").is_some() {
                        bail!("refused: {frame}");
                    }
                    return Ok(frame);
                }
                Some("ping") => self.send(json!({"msg": "pong"})).await?,
                Some("nosub" | "error" | "failed") => bail!("refused: {frame}"),
                _ => {}
            }
        }
    }

    async fn login(&mut self, session: &Session) -> anyhow::Result<()> {
        let id = self.id();
        self.send(json!({"msg": "method", "id": id, "method": "login", "params": [{"resume": session.token}]})).await?;
        self.expect("result").await.map(drop)
    }

    /// Subscribes to a room's messages, as the room's visitor when `visitor_token` is
    /// given, else as the logged-in user.
    async fn subscribe_room(&mut self, room_id: &str, visitor_token: Option<&str>) -> anyhow::Result<()> {
        let id = self.id();
        let options = match visitor_token {
            Some(token) => json!({"useCollection": false, "args": [{"token": token, "visitorToken": token}]}),
            None => json!(false),
        };
        self.send(json!({"msg": "sub", "id": id, "name": "stream-room-messages", "params": [room_id, options]}))
            .await?;
        self.expect("ready").await.map(drop)
    }
}

/// When each message was sent, by its id.
type SentLog = Mutex<HashMap<String, Instant>>;

/// A subscriber's life after its subscriptions: it times every message frame it is
/// sent, answers pings, and stops when told.
async fn listen(mut ddp: Ddp, sent: Arc<SentLog>, frames: Arc<Mutex<Tally>>, mut stop: watch::Receiver<bool>) {
    loop {
        let message = tokio::select! {
            message = ddp.socket.next() => message,
            _ = stop.changed() => break,
        };
        let received = Instant::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                frames.lock().unwrap().record(Outcome::Error("a subscriber was disconnected".into()), Duration::ZERO);
                break;
            }
            Some(Ok(_)) => continue,
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
        match frame["msg"].as_str() {
            Some("ping") => {
                let _ = ddp.send(json!({"msg": "pong"})).await;
            }
            Some("changed") if frame["collection"] == "stream-room-messages" => {
                let Some(id) = frame["fields"]["args"][0]["_id"].as_str() else { continue };
                let sent_at = sent.lock().unwrap().get(id).copied();
                if let Some(sent_at) = sent_at {
                    frames.lock().unwrap().record(Outcome::Ok, received.duration_since(sent_at));
                }
            }
            _ => {}
        }
    }
}

/// How the latency scenario loads the server.
#[derive(Clone, Copy)]
pub struct LatencyPlan {
    /// WebSocket connections: the agents' and their rooms' visitors'.
    pub subscribers: usize,
    /// Messages sent per second.
    pub rate: f64,
    pub duration: Duration,
}

/// A room of the scenario and the agent serving it.
struct ServedRoom {
    id: String,
    visitor_token: String,
    agent: usize,
}

/// `realtime-latency`: the REST sends alone (the ceiling), then the same sends with
/// every subscriber connected, timed to each subscriber's frame.
pub async fn latency(
    base_url: &str,
    database: &Database,
    server: &Server,
    queued: usize,
    plan: LatencyPlan,
) -> anyhow::Result<Vec<Row>> {
    let agent_count = (plan.subscribers / (ROOMS_PER_AGENT + 1)).clamp(1, seed::AGENT_COUNT);
    let rooms_per_agent = (plan.subscribers - agent_count) / agent_count;
    if rooms_per_agent == 0 || agent_count * rooms_per_agent > queued {
        bail!(
            "--subscribers {} needs between 2 and {} connections (one agent per {ROOMS_PER_AGENT} visitors, \
             one queued room per visitor)",
            plan.subscribers,
            queued + queued.div_ceil(ROOMS_PER_AGENT)
        );
    }
    database.reset_queue().await?;
    database.fill_agents(agent_count, rooms_per_agent).await?;
    let agents: Vec<Session> =
        (0..agent_count).map(|index| Session::new(seed::agent_id(index), seed::agent_username(index))).collect();
    let rooms: Vec<ServedRoom> = (0..agent_count * rooms_per_agent)
        .map(|row| ServedRoom {
            id: seed::queued_room_id(row),
            visitor_token: seed::visitor_token(row),
            agent: row / rooms_per_agent,
        })
        .collect();
    let run = format!("{}{:x}", seed::REALTIME_MESSAGE_PREFIX, livechat_server::domain::time::now_millis());
    let outcome = measure_latency(base_url, server, plan, &agents, &rooms, &run).await;
    database.remove_realtime_messages().await?;
    database.reset_queue().await?;
    outcome
}

async fn measure_latency(
    base_url: &str,
    server: &Server,
    plan: LatencyPlan,
    agents: &[Session],
    rooms: &[ServedRoom],
    run: &str,
) -> anyhow::Result<Vec<Row>> {
    let targets: Arc<[(String, Session)]> =
        rooms.iter().map(|room| (room.id.clone(), agents[room.agent].clone())).collect();
    eprintln!("  the ceiling: chat.sendMessage at {}/s with no subscriber", plan.rate);
    server.reset_peak_rss();
    let (alone, _) = send_messages(base_url, &targets, plan, &format!("{run}a"), None).await;
    let alone_peak_rss_bytes = server.peak_rss_bytes();

    eprintln!("  connecting {} agents and {} visitors", agents.len(), rooms.len());
    server.reset_peak_rss();
    let sent: Arc<SentLog> = Arc::default();
    let frames = Arc::new(Mutex::new(Tally::new()));
    let (stop, stopped) = watch::channel(false);
    let mut listeners = JoinSet::new();
    let mut connections = futures::stream::iter(
        agents
            .iter()
            .enumerate()
            .map(|(index, agent)| {
                let served: Vec<String> =
                    rooms.iter().filter(|room| room.agent == index).map(|room| room.id.clone()).collect();
                let agent = agent.clone();
                let base_url = base_url.to_owned();
                futures::future::Either::Left(async move {
                    let mut ddp = Ddp::connect(&base_url).await?;
                    ddp.login(&agent).await?;
                    for room in &served {
                        ddp.subscribe_room(room, None).await?;
                    }
                    anyhow::Ok(ddp)
                })
            })
            .chain(rooms.iter().map(|room| {
                let (room_id, token, base_url) = (room.id.clone(), room.visitor_token.clone(), base_url.to_owned());
                futures::future::Either::Right(async move {
                    let mut ddp = Ddp::connect(&base_url).await?;
                    ddp.subscribe_room(&room_id, Some(&token)).await?;
                    anyhow::Ok(ddp)
                })
            })),
    )
    .buffer_unordered(CONNECTING_AT_ONCE);
    while let Some(ddp) = connections.next().await {
        let ddp = ddp.context("a subscriber could not connect and subscribe")?;
        listeners.spawn(listen(ddp, Arc::clone(&sent), Arc::clone(&frames), stopped.clone()));
    }
    drop(connections);

    eprintln!("  chat.sendMessage at {}/s to {} subscribers", plan.rate, plan.subscribers);
    let (loaded, delivered_ok) = send_messages(base_url, &targets, plan, &format!("{run}b"), Some(&sent)).await;
    // Each message is owed to its room's visitor and to the agent serving the room.
    let expected = 2 * delivered_ok;
    let waiting_since = Instant::now();
    while frames.lock().unwrap().ok < expected && waiting_since.elapsed() < LAST_FRAMES_WAIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    while listeners.join_next().await.is_some() {}
    let peak_rss_bytes = server.peak_rss_bytes();
    let mut frames = Arc::try_unwrap(frames).ok().context("a listener outlived the run")?.into_inner().unwrap();
    frames.elapsed = loaded.elapsed;

    let (p50, p99) = (frames.millis_at(0.5), frames.millis_at(0.99));
    let alone_p99 = alone.millis_at(0.99);
    let figures = json!({
        "subscribers": plan.subscribers,
        "agents": agents.len(),
        "visitors": rooms.len(),
        "rooms_per_agent": rooms.len() / agents.len(),
        "messages_per_second": plan.rate,
        "messages_sent": delivered_ok,
        "frames_expected": expected,
        "frames_received": frames.ok,
        "p50_ms": p50,
        "p99_ms": p99,
        "target_p99_ms": LATENCY_TARGET_MS,
        "ratio_to_target": p99 / LATENCY_TARGET_MS,
        "rest_alone_p50_ms": alone.millis_at(0.5),
        "rest_alone_p99_ms": alone_p99,
        "ratio_to_rest_alone_p99": p99 / alone_p99,
        "rest_with_subscribers_p99_ms": loaded.millis_at(0.99),
    });
    let mut notes = vec![
        format!(
            "{} agents (each subscribed to its {} rooms) and {} visitors (each to its room); \
             {delivered_ok} messages at {}/s, {} of {expected} frames received",
            agents.len(),
            rooms.len() / agents.len(),
            rooms.len(),
            plan.rate,
            frames.ok
        ),
        format!(
            "send to frame p99 {p99:.2} ms = {:.0} % of the {LATENCY_TARGET_MS} ms target, {:.2} x the p99 of \
             chat.sendMessage alone ({alone_p99:.2} ms)",
            100.0 * p99 / LATENCY_TARGET_MS,
            p99 / alone_p99
        ),
    ];
    if let Some(error) = &frames.first_error {
        notes.push(format!("first error: {error}"));
    }
    let row = |scenario, connections, tally: Tally, note: String, figures| Row {
        scenario,
        connections,
        http: Some(tally),
        http_ceiling: 0.0,
        database: None,
        peak_rss_bytes: if connections == 0 { alone_peak_rss_bytes } else { peak_rss_bytes },
        note,
        figures,
    };
    let note_of =
        |tally: &Tally| tally.first_error.as_ref().map(|error| format!("first error: {error}")).unwrap_or_default();
    let alone_note = note_of(&alone);
    let loaded_note = note_of(&loaded);
    Ok(vec![
        row("realtime-latency (sendMessage alone)", 0, alone, alone_note, None),
        row("realtime-latency (sendMessage, subscribed)", plan.subscribers, loaded, loaded_note, None),
        row("realtime-latency (send to frame)", plan.subscribers, frames, notes.join("; "), Some(figures)),
    ])
}

/// `chat.sendMessage` at the plan's rate for its duration, whatever the answers take,
/// to the rooms in turn, each by the agent serving it; each id's send time goes to
/// `sent`. Returns the requests' tally and how many succeeded.
async fn send_messages(
    base_url: &str,
    rooms: &Arc<[(String, Session)]>,
    plan: LatencyPlan,
    run: &str,
    sent: Option<&Arc<SentLog>>,
) -> (Tally, u64) {
    let client = reqwest::Client::builder().tcp_nodelay(true).build().expect("the HTTP client builds");
    let url = format!("{base_url}/api/v1/chat.sendMessage");
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / plan.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut requests = JoinSet::new();
    let mut index = 0;
    while started.elapsed() < plan.duration {
        ticks.tick().await;
        let (room_id, agent) = &rooms[index % rooms.len()];
        let id = format!("{run}{index:08}");
        let request = client
            .post(&url)
            .header("X-User-Id", &agent.user_id)
            .header("X-Auth-Token", &agent.token)
            .json(&json!({"message": {"rid": room_id, "msg": format!("Bench message {index}"), "_id": id}}));
        let sent_at = Instant::now();
        if let Some(sent) = sent {
            sent.lock().unwrap().insert(id, sent_at);
        }
        requests.spawn(async move {
            let outcome = match request.send().await {
                Ok(response) if response.status().is_success() => Outcome::Ok,
                Ok(response) => {
                    let status = response.status();
                    Outcome::Error(format!("{status} {}", response.text().await.unwrap_or_default()))
                }
                Err(error) => Outcome::Error(format!("request failed: {error}")),
            };
            (outcome, sent_at.elapsed())
        });
        index += 1;
    }
    let mut tally = Tally::new();
    while let Some(answer) = requests.join_next().await {
        let (outcome, latency) = answer.expect("a send panicked");
        tally.record(outcome, latency);
    }
    tally.elapsed = started.elapsed();
    let ok = tally.ok;
    (tally, ok)
}

/// How the idle scenario loads the server.
#[derive(Clone, Copy)]
pub struct IdlePlan {
    pub connections: usize,
    /// How long the connections are held once all are open.
    pub hold: Duration,
}

/// `realtime-idle`: opens the connections (each `connect`ed and subscribed to one
/// room as its visitor), holds them while they answer pings, and reads the server's
/// memory before, at the end of the hold, at its peak and after they closed.
pub async fn idle(base_url: &str, server: &Server, queued: usize, plan: IdlePlan) -> anyhow::Result<Row> {
    let rss_before = server.rss_bytes();
    server.reset_peak_rss();
    let pings = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let mut holders = JoinSet::new();
    let mut handshakes = Tally::new();
    let started = Instant::now();
    let mut connections = futures::stream::iter((0..plan.connections).map(|index| {
        let base_url = base_url.to_owned();
        async move {
            let opened = Instant::now();
            let row = index % queued;
            let outcome = async {
                let mut ddp = Ddp::connect(&base_url).await?;
                ddp.subscribe_room(&seed::queued_room_id(row), Some(&seed::visitor_token(row))).await?;
                anyhow::Ok(ddp)
            }
            .await;
            (outcome, opened.elapsed())
        }
    }))
    .buffer_unordered(CONNECTING_AT_ONCE);
    while let Some((outcome, latency)) = connections.next().await {
        match outcome {
            Ok(ddp) => {
                handshakes.record(Outcome::Ok, latency);
                holders.spawn(hold(ddp, Arc::clone(&pings), stopped.clone()));
            }
            Err(error) => handshakes.record(Outcome::Error(format!("{error:#}")), latency),
        }
    }
    drop(connections);
    handshakes.elapsed = started.elapsed();
    eprintln!("  {} connections open in {:.1?}, holding them {:.0?}", handshakes.ok, handshakes.elapsed, plan.hold);
    tokio::time::sleep(plan.hold).await;
    let rss_held = server.rss_bytes();
    let peak = server.peak_rss_bytes();
    let _ = stop.send(true);
    let mut dropped = 0;
    while let Some(held) = holders.join_next().await {
        if !held.expect("a holder panicked") {
            dropped += 1;
        }
    }
    // What the server keeps once the connections are gone.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss_bytes();

    let open = handshakes.ok;
    let per_connection = match (rss_held, rss_before) {
        (Some(held), Some(before)) if open > 0 => Some(held.saturating_sub(before) as f64 / open as f64),
        _ => None,
    };
    let ratio = peak.map(|peak| peak as f64 / IDLE_RSS_TARGET as f64);
    let megabytes = |bytes: Option<u64>| bytes.map_or("n/a".to_owned(), |bytes| format!("{:.1} MB", mb(bytes)));
    let mut notes = vec![
        format!(
            "{open} of {} connections open (connect + one subscription each), held {:.0?}; {} DDP pings answered; \
             {dropped} dropped by the server during the hold",
            plan.connections,
            plan.hold,
            pings.load(Ordering::Relaxed)
        ),
        format!(
            "RSS {} before, {} held, {} peak ({} of the {} MB target), {} 2 s after closing; {} per connection",
            megabytes(rss_before),
            megabytes(rss_held),
            megabytes(peak),
            ratio.map_or("n/a".to_owned(), |ratio| format!("{:.0} %", ratio * 100.0)),
            IDLE_RSS_TARGET / (1024 * 1024),
            megabytes(rss_after),
            per_connection.map_or("n/a".to_owned(), |bytes| format!("{:.1} KiB", bytes / 1024.0)),
        ),
    ];
    if let Some(error) = &handshakes.first_error {
        notes.push(format!("first error: {error}"));
    }
    let figures = json!({
        "connections": plan.connections,
        "open": open,
        "failed": handshakes.errors,
        "dropped_during_hold": dropped,
        "hold_secs": plan.hold.as_secs_f64(),
        "pings_answered": pings.load(Ordering::Relaxed),
        "rss_before_bytes": rss_before,
        "rss_held_bytes": rss_held,
        "peak_rss_bytes": peak,
        "rss_after_close_bytes": rss_after,
        "rss_per_connection_bytes": per_connection,
        "target_rss_bytes": IDLE_RSS_TARGET,
        "ratio_to_rss_target": ratio,
    });
    Ok(Row {
        scenario: "realtime-idle (connect + subscribe)",
        connections: plan.connections,
        http: Some(handshakes),
        http_ceiling: 0.0,
        database: None,
        peak_rss_bytes: peak,
        note: notes.join("; "),
        figures: Some(figures),
    })
}

/// An idle client: answers the server's pings until told to stop; false when the
/// server closed the connection first.
async fn hold(mut ddp: Ddp, pings: Arc<AtomicU64>, mut stop: watch::Receiver<bool>) -> bool {
    loop {
        let message = tokio::select! {
            message = ddp.socket.next() => message,
            _ = stop.changed() => return true,
        };
        match message {
            Some(Ok(Message::Text(text))) if text.contains("\"ping\"") => {
                pings.fetch_add(1, Ordering::Relaxed);
                if ddp.send(json!({"msg": "pong"})).await.is_err() {
                    return false;
                }
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return false,
            Some(Ok(_)) => {}
        }
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
