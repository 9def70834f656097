//! The routing scenarios: visitors open rooms at a steady rate (open loop: arrivals
//! do not wait for answers) while the server routes them under `Auto_Selection`.
//!
//! `auto-routing` parks the seeded queue and lets a closer close each served chat
//! after a hold, so capacity frees; it measures how long a room waits from its open
//! request to its assignment (the times the server stored), the assignments per second,
//! and checks from the rows, every 20 ms, that no agent holds more chats than its
//! limit, and at the end that no room changed agents. `routing-full-queue` keeps the seeded queue and gives every
//! agent its limit first: each open then runs a routing pass that assigns nothing,
//! over the whole queue, and the open requests' latency shows what that pass costs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use livechat_server::domain::time::now_millis;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::load::{Outcome, Tally};
use crate::scenarios::{Fixture, Session};
use crate::seed::{self, Database};

/// How the routing scenarios load the server.
#[derive(Clone, Copy)]
pub struct Plan {
    /// Rooms opened per second.
    pub rate: f64,
    /// Available agents, each in every department.
    pub agents: usize,
    /// Each agent's chat limit.
    pub chat_limit: i64,
    /// How long a served chat stays open before the closer closes it.
    pub hold: Duration,
    pub duration: Duration,
}

/// What one routing scenario measured.
pub struct Measured {
    /// The open requests (`GET livechat/room`), client-side latency.
    pub opens: Tally,
    /// From each room's open to its assignment, as the server stored them (ms
    /// resolution); `ok` counts the assignments.
    pub waits: Option<Tally>,
    pub note: String,
    pub figures: Value,
}

/// Opens rooms at the plan's rate for its duration, with a closer freeing capacity.
pub async fn auto_routing(fixture: &Arc<Fixture>, database: &Database, plan: Plan) -> anyhow::Result<Measured> {
    database.reset_queue().await?;
    database.stage_routing(plan.agents, plan.chat_limit, true).await?;
    let run = visitors_for(database, plan).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let closer = tokio::spawn(close_served_rooms(Arc::clone(fixture), database.clone(), plan.hold, Arc::clone(&stop)));
    let (opens, opened) = open_rooms(&fixture.base_url, &run, plan).await;
    stop.store(true, Ordering::Relaxed);
    let closer = closer.await.expect("the closer panicked")?;
    let rooms = database.routing_rooms().await?;
    restore(database).await?;

    let mut waits = Tally::new();
    for room in &rooms {
        if let Some(served_at) = room.served_at {
            waits.record(Outcome::Ok, Duration::from_millis((served_at - room.ts).max(0) as u64));
        }
    }
    waits.elapsed = plan.duration;
    let over_limit = closer.most_held.values().filter(|&&held| held > plan.chat_limit as usize).count();
    let final_agent: HashMap<&str, Option<&str>> =
        rooms.iter().map(|room| (room.id.as_str(), room.served_by.as_deref())).collect();
    let reassigned = closer
        .first_agent
        .iter()
        .filter(|(room, agent)| final_agent.get(room.as_str()).is_some_and(|last| *last != Some(agent.as_str())))
        .count();
    let served = waits.requests();
    let peak = closer.most_held.values().copied().max().unwrap_or(0);
    let mut notes = vec![
        format!(
            "open loop at {}/s for {:.0?}; {} agents with a limit of {}; chats closed {:.0?} after their assignment",
            plan.rate, plan.duration, plan.agents, plan.chat_limit, plan.hold
        ),
        format!(
            "{} rooms opened ({} served in the open answer), {served} assigned ({:.1}/s), {} still queued, {} closed",
            rooms.len(),
            opened.served_at_open,
            served as f64 / plan.duration.as_secs_f64(),
            rooms.iter().filter(|room| room.served_at.is_none()).count(),
            closer.closed
        ),
        if over_limit == 0 && reassigned == 0 {
            format!(
                "limits held: at most {peak} chats per agent in {} snapshots of the open rooms; 0 rooms changed agents",
                closer.snapshots
            )
        } else {
            format!(
                "LIMIT BROKEN: {over_limit} agents over their limit (peak {peak}), {reassigned} rooms changed agents"
            )
        },
    ];
    if let Some(error) = closer.first_error {
        notes.push(format!("closer error: {error}"));
    }
    let figures = json!({
        "arrival_rate_per_second": plan.rate,
        "agents": plan.agents,
        "chat_limit": plan.chat_limit,
        "hold_ms": plan.hold.as_millis() as u64,
        "rooms_opened": rooms.len(),
        "served_in_open_answer": opened.served_at_open,
        "assigned": served,
        "assignments_per_second": served as f64 / plan.duration.as_secs_f64(),
        "wait_p50_ms": waits.millis_at(0.5),
        "wait_p99_ms": waits.millis_at(0.99),
        "wait_max_ms": waits.latencies.max() as f64 / 1000.0,
        "most_chats_at_once": peak,
        "agents_over_limit": over_limit,
        "rooms_that_changed_agents": reassigned,
        "chats_closed": closer.closed,
    });
    Ok(Measured { opens, waits: Some(waits), note: notes.join("; "), figures })
}

/// Opens rooms at the plan's rate while every agent is at its limit and the seeded
/// queue waits: no open can be served, and each runs a routing pass.
pub async fn full_queue(fixture: &Arc<Fixture>, database: &Database, plan: Plan) -> anyhow::Result<Measured> {
    database.reset_queue().await?;
    let queued = fixture.rooms.len();
    let filled = plan.agents * plan.chat_limit as usize;
    anyhow::ensure!(filled < queued, "--queued must exceed agents x chat limit ({filled}) for routing-full-queue");
    database.fill_agents(plan.agents, plan.chat_limit as usize).await?;
    database.stage_routing(plan.agents, plan.chat_limit, false).await?;
    let run = visitors_for(database, plan).await?;
    let (opens, opened) = open_rooms(&fixture.base_url, &run, plan).await;
    let rooms = database.routing_rooms().await?;
    restore(database).await?;
    let served = rooms.iter().filter(|room| room.served_at.is_some()).count();
    let note = format!(
        "open loop at {}/s for {:.0?}; {} agents each at its limit of {}, {} seeded inquiries queued; \
         {} rooms opened, {served} assigned{}",
        plan.rate,
        plan.duration,
        plan.agents,
        plan.chat_limit,
        queued - filled,
        rooms.len(),
        if served + opened.served_at_open == 0 { "" } else { " (EXPECTED NONE)" }
    );
    let figures = json!({
        "arrival_rate_per_second": plan.rate,
        "agents": plan.agents,
        "chat_limit": plan.chat_limit,
        "queued": queued - filled,
        "rooms_opened": rooms.len(),
        "assigned": served,
    });
    Ok(Measured { opens, waits: None, note, figures })
}

/// The database as the other scenarios expect it: no routing visitors, agents as
/// seeded, the seeded queue back and manual routing.
async fn restore(database: &Database) -> anyhow::Result<()> {
    database.remove_routing_data().await?;
    database.reset_queue().await
}

/// Inserts enough visitors for the plan under a fresh run name.
async fn visitors_for(database: &Database, plan: Plan) -> anyhow::Result<String> {
    let run = format!("{:x}", now_millis());
    let count = (plan.rate * plan.duration.as_secs_f64() * 1.2).ceil() as usize + 10;
    database.insert_routing_visitors(&run, count).await?;
    Ok(run)
}

/// What the opener saw in the open answers.
struct Opened {
    served_at_open: usize,
}

/// One `GET livechat/room` per arrival, arrivals at the plan's rate whatever the
/// answers take; rooms go to the departments in turn.
async fn open_rooms(base_url: &str, run: &str, plan: Plan) -> (Tally, Opened) {
    let client = reqwest::Client::builder().tcp_nodelay(true).build().expect("the HTTP client builds");
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / plan.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut requests = JoinSet::new();
    let mut index = 0;
    while started.elapsed() < plan.duration {
        ticks.tick().await;
        let url = format!(
            "{base_url}/api/v1/livechat/room?token={}&department={}",
            seed::routing_token(run, index),
            seed::department_id(index % seed::DEPARTMENT_COUNT)
        );
        let request = client.get(url);
        requests.spawn(async move {
            let sent = Instant::now();
            let outcome = open_room(request).await;
            (outcome, sent.elapsed())
        });
        index += 1;
    }
    let mut tally = Tally::new();
    let mut opened = Opened { served_at_open: 0 };
    while let Some(result) = requests.join_next().await {
        let ((outcome, served), latency) = result.expect("an open request panicked");
        opened.served_at_open += usize::from(served);
        tally.record(outcome, latency);
    }
    tally.elapsed = started.elapsed();
    (tally, opened)
}

/// The open's outcome, and whether the answer already named the serving agent.
async fn open_room(request: reqwest::RequestBuilder) -> (Outcome, bool) {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return (Outcome::Error(format!("request failed: {error}")), false),
    };
    let status = response.status();
    match response.json::<Value>().await {
        Ok(body) if status.is_success() => (Outcome::Ok, body["room"]["servedBy"].is_object()),
        Ok(body) => (Outcome::Error(format!("{status} {body}")), false),
        Err(error) => (Outcome::Error(format!("{status}, reading the answer failed: {error}")), false),
    }
}

/// What the closer did and saw.
struct Closed {
    closed: usize,
    /// Snapshots of the open served rooms taken (one statement each).
    snapshots: usize,
    /// The most open rooms each agent served in one snapshot.
    most_held: HashMap<String, usize>,
    /// The agent each room was first seen served by.
    first_agent: HashMap<String, String>,
    first_error: Option<String>,
}

/// Every 20 ms, reads the routing rooms agents serve (one statement, so one moment:
/// no agent may hold more than its limit in it) and closes (as its agent,
/// `room.closeByUser`) each served for at least `hold`, until `stop`; closing lets
/// the server route the next inquiry.
async fn close_served_rooms(
    fixture: Arc<Fixture>,
    database: Database,
    hold: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Closed> {
    let sessions: HashMap<&str, &Session> =
        fixture.agents.iter().map(|agent| (agent.user_id.as_str(), agent)).collect();
    let client = reqwest::Client::builder().tcp_nodelay(true).build().expect("the HTTP client builds");
    let url = format!("{}/api/v1/livechat/room.closeByUser", fixture.base_url);
    let mut closed =
        Closed { closed: 0, snapshots: 0, most_held: HashMap::new(), first_agent: HashMap::new(), first_error: None };
    let mut closing = JoinSet::new();
    let mut requested = HashSet::new();
    let hold_ms = hold.as_millis() as i64;
    while !stop.load(Ordering::Relaxed) {
        let now = now_millis();
        let served = database.served_routing_rooms().await?;
        closed.snapshots += 1;
        let mut held: HashMap<&str, usize> = HashMap::new();
        for (_, agent_id, _) in &served {
            *held.entry(agent_id.as_str()).or_default() += 1;
        }
        for (agent_id, count) in held {
            let most = closed.most_held.entry(agent_id.to_owned()).or_default();
            *most = (*most).max(count);
        }
        for (room_id, agent_id, served_at) in served {
            closed.first_agent.entry(room_id.clone()).or_insert_with(|| agent_id.clone());
            // A room still listed while its close is in flight is closed once.
            if served_at + hold_ms > now || !requested.insert(room_id.clone()) {
                continue;
            }
            let Some(session) = sessions.get(agent_id.as_str()) else { continue };
            let request = client
                .post(&url)
                .header("X-User-Id", &session.user_id)
                .header("X-Auth-Token", &session.token)
                .json(&json!({"rid": room_id}));
            closing.spawn(async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => None,
                    Ok(response) => {
                        Some(format!("{} {}", response.status(), response.text().await.unwrap_or_default()))
                    }
                    Err(error) => Some(error.to_string()),
                }
            });
        }
        while let Some(result) = closing.try_join_next() {
            record_close(&mut closed, result.expect("a close panicked"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Some(result) = closing.join_next().await {
        record_close(&mut closed, result.expect("a close panicked"));
    }
    Ok(closed)
}

fn record_close(closed: &mut Closed, error: Option<String>) {
    match error {
        None => closed.closed += 1,
        Some(error) => {
            closed.first_error.get_or_insert(error);
        }
    }
}
