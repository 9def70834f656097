//! What each scenario sends over HTTP, and the same work done straight through the
//! store from the bench process: the store calls the route's handler makes, in the
//! same order, which is the database ceiling of that route.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use livechat_server::domain::chat::ChatStatus;
use livechat_server::domain::ids::{meteor_id, object_id, secret_token, token_digest};
use livechat_server::domain::page::{Direction, Page, SortKey};
use livechat_server::domain::permissions::ROLE_AGENT;
use livechat_server::domain::time::now_millis;
use livechat_server::store::{
    AssigneeOutcome, AttemptLimit, AuthUser, Closer, HistoryActor, InquirySortField, Reservation, RoomGuard,
    SetSlaOutcome, StatusChange, StatusOutcome, Store, StoreError, TakeOutcome,
};
use rand::Rng;
use serde_json::json;

use crate::load::Outcome;
use crate::seed;

/// One step of a worker: each call starts one request.
pub type Step = Box<dyn FnMut() -> BoxFuture<'static, Outcome> + Send>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// GET inquiries.getOne of a random queued room.
    GetOne,
    /// GET inquiries.list?count=25, default sort.
    List,
    /// GET inquiries.list?count=25 of a random department.
    ListDepartment,
    /// PUT inquiry.setSLA, then take and returnAsInquiry, on random queued inquiries.
    SlaCycle,
    /// POST inquiries.take of random queued inquiries by 50 agents.
    Take,
    /// HelpCrunch chats cycling new -> opened -> closed -> new: PUT /v1/chats/status
    /// "new", PUT /v1/chats/assignee (a chat is "opened" by getting an agent), PUT
    /// /v1/chats/status "closed". Starting with "new" makes the cycle legal from any state.
    ChatStatus,
    /// POST /api/v1/login with username and password.
    Login,
    /// inquiries.list again at the peak connection count, for the server's memory.
    ListAtPeak,
    /// Ordinary requests (getOne, and the chat status cycle) alone, then again while
    /// hostile clients keep sending 1 MiB bodies (see `hostile.rs`).
    HostileBodies,
    /// Rooms opened at a steady rate under Auto_Selection, served chats closed after a
    /// hold (see `routing.rs`).
    AutoRouting,
    /// Rooms opened at a steady rate while every agent is at its limit and the seeded
    /// queue waits (see `routing.rs`).
    RoutingFullQueue,
    /// Every seeded inquiry given an SLA due time within the next minute; how long after
    /// its due time the server records each breach. Not part of `all`: it waits for
    /// the deadlines.
    SlaBreaches,
    /// What the breach sweep costs the queue: GET inquiries.queuedForUser, then POST
    /// inquiries.take, each without SLA due times and then with every queued inquiry
    /// falling due during the run. Not part of `all`: it runs four times the duration.
    SweepCost,
    /// Agents send chat.sendMessage at a steady rate to rooms whose visitors and agents
    /// are subscribed over WebSocket; the time from each send to each subscriber's frame
    /// (see `realtime.rs`). Not part of `all`: it opens a thousand connections.
    RealtimeLatency,
    /// Ten thousand idle WebSocket connections, subscribed once each; the server's
    /// memory (see `realtime.rs`). Not part of `all`: it holds them for a while.
    RealtimeIdle,
}

impl Scenario {
    /// Login runs last: its argon2 hashes raise the server's memory for good, which
    /// would hide the peak of whatever ran after it.
    pub const ALL: [Scenario; 11] = [
        Self::GetOne,
        Self::List,
        Self::ListDepartment,
        Self::SlaCycle,
        Self::Take,
        Self::ChatStatus,
        Self::ListAtPeak,
        Self::HostileBodies,
        Self::AutoRouting,
        Self::RoutingFullQueue,
        Self::Login,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::GetOne => "inquiries.getOne",
            Self::List => "inquiries.list",
            Self::ListDepartment => "inquiries.list?department",
            Self::SlaCycle => "setSLA+take+returnAsInquiry",
            Self::Take => "inquiries.take",
            Self::ChatStatus => "PUT /v1/chats/status",
            Self::Login => "login",
            Self::ListAtPeak => "inquiries.list (peak conns)",
            Self::HostileBodies => "hostile-bodies",
            Self::AutoRouting => "auto-routing",
            Self::RoutingFullQueue => "routing-full-queue",
            Self::SlaBreaches => "sla-breaches (due to recorded)",
            Self::SweepCost => "sweep-cost",
            Self::RealtimeLatency => "realtime-latency",
            Self::RealtimeIdle => "realtime-idle",
        }
    }

    /// Whether the scenario changes the queue, so it starts from a reset one.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Self::SlaCycle
                | Self::Take
                | Self::ChatStatus
                | Self::Login
                | Self::HostileBodies
                | Self::AutoRouting
                | Self::RoutingFullQueue
                | Self::SlaBreaches
                | Self::SweepCost
                | Self::RealtimeLatency
        )
    }
}

/// Someone the bench acts as.
#[derive(Clone)]
pub struct Session {
    pub user_id: String,
    pub username: String,
    pub token: String,
    pub digest: String,
}

impl Session {
    pub fn new(user_id: String, username: String) -> Self {
        let token = seed::login_token(&user_id);
        Self { digest: token_digest(&token), user_id, username, token }
    }
}

pub struct QueuedRoom {
    pub id: String,
    pub inquiry_id: String,
    pub num_id: i64,
}

/// Which inquiries were taken in one run, to catch an inquiry taken twice.
#[derive(Default)]
pub struct TakeLedger {
    taken: Mutex<HashSet<String>>,
    double_takes: AtomicU64,
}

impl TakeLedger {
    fn record(&self, inquiry_id: &str) {
        if !self.taken.lock().expect("ledger lock").insert(inquiry_id.to_owned()) {
            self.double_takes.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn double_takes(&self) -> u64 {
        self.double_takes.load(Ordering::Relaxed)
    }

    pub fn takes(&self) -> usize {
        self.taken.lock().expect("ledger lock").len()
    }
}

/// What every scenario draws from.
pub struct Fixture {
    pub base_url: String,
    pub store: Store,
    pub admin: Session,
    pub agents: Vec<Session>,
    /// The agents' HelpCrunch (integer) ids, in the order of `agents`.
    pub agent_num_ids: Vec<i64>,
    pub rooms: Vec<QueuedRoom>,
    pub api_key: String,
}

/// A keep-alive HTTP client owning exactly one connection, as one closed-loop user.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base_url: Arc<str>,
}

impl Client {
    fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .build()
            .expect("the HTTP client builds");
        Self { http, base_url: base_url.into() }
    }

    fn request(&self, method: reqwest::Method, path: &str, session: Option<&Session>) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base_url));
        match session {
            Some(session) => request.header("X-User-Id", &session.user_id).header("X-Auth-Token", &session.token),
            None => request,
        }
    }
}

/// Sends and classifies: 2xx is success; a body naming one of `conflicts` is a
/// documented lost race; a HelpCrunch "no such route" 404 means the route is absent.
async fn send(request: reqwest::RequestBuilder, conflicts: &'static [&'static str]) -> Outcome {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Outcome::Error(format!("request failed: {error}")),
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(error) => return Outcome::Error(format!("reading the answer failed: {error}")),
    };
    if status.is_success() {
        return Outcome::Ok;
    }
    let text = String::from_utf8_lossy(&body);
    if conflicts.iter().any(|code| text.contains(code)) {
        Outcome::Conflict
    } else if status == reqwest::StatusCode::NOT_FOUND && text.contains("\"code\":\"not_found\"") {
        Outcome::Skipped
    } else {
        Outcome::Error(format!("{status} {text}"))
    }
}

fn random_index(len: usize) -> usize {
    rand::thread_rng().gen_range(0..len)
}

const TAKE_CONFLICTS: &[&str] = &["error-inquiry-taken"];
const SLA_CONFLICTS: &[&str] = &["error-invalid-inquiry"];
const LIST_SORT: [SortKey<InquirySortField>; 1] = [SortKey { field: InquirySortField::Ts, direction: Direction::Desc }];
const LIST_PAGE: Page = Page { offset: 0, count: 25 };

/// The HTTP ceiling: a route that never touches the database.
pub fn health_step(fixture: &Fixture) -> Step {
    let client = Client::new(&fixture.base_url);
    Box::new(move || {
        let request = client.request(reqwest::Method::GET, "/health/live", None);
        Box::pin(send(request, &[]))
    })
}

/// The ordinary requests of the hostile-bodies scenario: getOne on even workers, the chat
/// status cycle on odd ones.
fn ordinary_step(worker: usize) -> Scenario {
    if worker.is_multiple_of(2) { Scenario::GetOne } else { Scenario::ChatStatus }
}

/// GET inquiries.queuedForUser?count=25 as worker `worker`'s agent, whose departments
/// are all of them.
pub fn queued_for_user_step(fixture: &Fixture, worker: usize) -> Step {
    let client = Client::new(&fixture.base_url);
    let agent = fixture.agents[worker % fixture.agents.len()].clone();
    Box::new(move || {
        let request =
            client.request(reqwest::Method::GET, "/api/v1/livechat/inquiries.queuedForUser?count=25", Some(&agent));
        Box::pin(send(request, &[]))
    })
}

/// Worker `worker`'s HTTP step for `scenario`.
pub fn http_step(scenario: Scenario, fixture: &Arc<Fixture>, ledger: &Arc<TakeLedger>, worker: usize) -> Step {
    let client = Client::new(&fixture.base_url);
    let fixture = Arc::clone(fixture);
    let agent = fixture.agents[worker % fixture.agents.len()].clone();
    match scenario {
        Scenario::GetOne => Box::new(move || {
            let room = &fixture.rooms[random_index(fixture.rooms.len())];
            let path = format!("/api/v1/livechat/inquiries.getOne?roomId={}", room.id);
            Box::pin(send(client.request(reqwest::Method::GET, &path, Some(&fixture.admin)), &[]))
        }),
        Scenario::List | Scenario::ListAtPeak => Box::new(move || {
            let request =
                client.request(reqwest::Method::GET, "/api/v1/livechat/inquiries.list?count=25", Some(&fixture.admin));
            Box::pin(send(request, &[]))
        }),
        Scenario::ListDepartment => Box::new(move || {
            let department = seed::department_id(random_index(seed::DEPARTMENT_COUNT));
            let path = format!("/api/v1/livechat/inquiries.list?count=25&department={department}");
            Box::pin(send(client.request(reqwest::Method::GET, &path, Some(&fixture.admin)), &[]))
        }),
        Scenario::SlaCycle => {
            let mut step = 0_usize;
            let mut room = 0_usize;
            Box::new(move || {
                if step.is_multiple_of(3) {
                    room = random_index(fixture.rooms.len());
                }
                step += 1;
                let target = &fixture.rooms[room];
                let request = match step % 3 {
                    1 => client
                        .request(reqwest::Method::PUT, "/api/v1/livechat/inquiry.setSLA", Some(&fixture.admin))
                        .json(&json!({"roomId": target.id, "sla": seed::sla_id(random_index(3))})),
                    2 => client
                        .request(reqwest::Method::POST, "/api/v1/livechat/inquiries.take", Some(&agent))
                        .json(&json!({"inquiryId": target.inquiry_id})),
                    _ => client
                        .request(
                            reqwest::Method::POST,
                            "/api/v1/livechat/inquiries.returnAsInquiry",
                            Some(&fixture.admin),
                        )
                        .json(&json!({"roomId": target.id})),
                };
                let conflicts = if step % 3 == 1 { SLA_CONFLICTS } else { TAKE_CONFLICTS };
                Box::pin(send(request, conflicts))
            })
        }
        Scenario::Take => {
            let ledger = Arc::clone(ledger);
            Box::new(move || {
                let inquiry_id = fixture.rooms[random_index(fixture.rooms.len())].inquiry_id.clone();
                let request = client
                    .request(reqwest::Method::POST, "/api/v1/livechat/inquiries.take", Some(&agent))
                    .json(&json!({"inquiryId": inquiry_id}));
                let ledger = Arc::clone(&ledger);
                Box::pin(async move {
                    let outcome = send(request, TAKE_CONFLICTS).await;
                    if matches!(outcome, Outcome::Ok) {
                        ledger.record(&inquiry_id);
                    }
                    outcome
                })
            })
        }
        Scenario::ChatStatus => {
            // Each worker cycles a room of its own, so every transition is a legal one.
            let room_num_id = fixture.rooms[worker % fixture.rooms.len()].num_id;
            let agent_num_id = fixture.agent_num_ids[worker % fixture.agent_num_ids.len()];
            let mut step = 0_usize;
            Box::new(move || {
                let (path, body) = match step % 3 {
                    0 => ("/v1/chats/status", json!({"id": room_num_id, "status": "new"})),
                    1 => ("/v1/chats/assignee", json!({"id": room_num_id, "assignee": agent_num_id})),
                    _ => ("/v1/chats/status", json!({"id": room_num_id, "status": "closed"})),
                };
                step += 1;
                let request =
                    client.request(reqwest::Method::PUT, path, None).bearer_auth(&fixture.api_key).json(&body);
                Box::pin(send(request, &[]))
            })
        }
        Scenario::HostileBodies => http_step(ordinary_step(worker), &fixture, ledger, worker),
        Scenario::AutoRouting | Scenario::RoutingFullQueue => unreachable!("open-loop scenarios run in routing.rs"),
        Scenario::SlaBreaches => unreachable!("the breach scenario waits for deadlines, it sends no load"),
        Scenario::SweepCost => unreachable!("the sweep-cost scenario runs its own phases"),
        Scenario::RealtimeLatency | Scenario::RealtimeIdle => unreachable!("the realtime scenarios run in realtime.rs"),
        Scenario::Login => {
            // One client address per connection, as logins from many people arrive: the
            // server counts attempts in flight per address and refuses past ten.
            let address = format!("10.0.{}.{}", worker / 256 % 256, worker % 256);
            Box::new(move || {
                let request = client
                    .request(reqwest::Method::POST, "/api/v1/login", None)
                    .header("x-forwarded-for", &address)
                    .json(&json!({"user": agent.username, "password": seed::PASSWORD}));
                Box::pin(send(request, &[]))
            })
        }
    }
}

/// Worker `worker`'s database-ceiling step for `scenario`: the handler's store calls
/// without HTTP.
pub fn store_step(scenario: Scenario, fixture: &Arc<Fixture>, worker: usize) -> Step {
    let fixture = Arc::clone(fixture);
    let agent = fixture.agents[worker % fixture.agents.len()].clone();
    match scenario {
        Scenario::GetOne => Box::new(move || {
            let fixture = Arc::clone(&fixture);
            Box::pin(async move {
                let room = &fixture.rooms[random_index(fixture.rooms.len())];
                settle(get_one(&fixture.store, &fixture.admin, &room.id).await)
            })
        }),
        Scenario::List | Scenario::ListAtPeak => Box::new(move || {
            let fixture = Arc::clone(&fixture);
            Box::pin(async move { settle(list(&fixture.store, &fixture.admin, None).await) })
        }),
        Scenario::ListDepartment => Box::new(move || {
            let fixture = Arc::clone(&fixture);
            Box::pin(async move {
                let department = seed::department_id(random_index(seed::DEPARTMENT_COUNT));
                settle(list(&fixture.store, &fixture.admin, Some(&department)).await)
            })
        }),
        Scenario::SlaCycle => {
            let mut step = 0_usize;
            let mut room = 0_usize;
            Box::new(move || {
                if step.is_multiple_of(3) {
                    room = random_index(fixture.rooms.len());
                }
                step += 1;
                let (fixture, agent, phase) = (Arc::clone(&fixture), agent.clone(), step % 3);
                Box::pin(async move {
                    let target = &fixture.rooms[room];
                    settle(match phase {
                        1 => set_sla(&fixture.store, &fixture.admin, &target.id).await,
                        2 => take(&fixture.store, &agent, &target.inquiry_id).await,
                        _ => return_as_inquiry(&fixture.store, &fixture.admin, &target.id).await,
                    })
                })
            })
        }
        Scenario::Take => Box::new(move || {
            let (fixture, agent) = (Arc::clone(&fixture), agent.clone());
            Box::pin(async move {
                let room = &fixture.rooms[random_index(fixture.rooms.len())];
                settle(take(&fixture.store, &agent, &room.inquiry_id).await)
            })
        }),
        Scenario::ChatStatus => {
            let room_num_id = fixture.rooms[worker % fixture.rooms.len()].num_id;
            let agent_id = fixture.agents[worker % fixture.agents.len()].user_id.clone();
            let mut step = 0_usize;
            Box::new(move || {
                let (fixture, agent_id, phase) = (Arc::clone(&fixture), agent_id.clone(), step % 3);
                step += 1;
                Box::pin(async move { settle(chat_cycle(&fixture, room_num_id, &agent_id, phase).await) })
            })
        }
        Scenario::HostileBodies => store_step(ordinary_step(worker), &fixture, worker),
        Scenario::AutoRouting | Scenario::RoutingFullQueue => unreachable!("open-loop scenarios run in routing.rs"),
        Scenario::SlaBreaches => unreachable!("the breach scenario waits for deadlines, it sends no load"),
        Scenario::SweepCost => unreachable!("the sweep-cost scenario runs its own phases"),
        Scenario::RealtimeLatency | Scenario::RealtimeIdle => unreachable!("the realtime scenarios run in realtime.rs"),
        Scenario::Login => Box::new(move || {
            let (fixture, agent) = (Arc::clone(&fixture), agent.clone());
            Box::pin(async move { settle(login(&fixture.store, &agent.username).await) })
        }),
    }
}

fn settle(result: Result<Outcome, StoreError>) -> Outcome {
    result.unwrap_or_else(|error| Outcome::Error(error.to_string()))
}

/// The caller with its permissions, as every signed-in route starts; the bench users
/// hold what their scenarios need, so only authentication costs a query.
async fn authenticate(store: &Store, session: &Session) -> Result<AuthUser, StoreError> {
    store.authenticate(&session.user_id, &session.digest).await?.ok_or(StoreError::NotFound)
}

async fn get_one(store: &Store, admin: &Session, room_id: &str) -> Result<Outcome, StoreError> {
    authenticate(store, admin).await?;
    store.inquiry_of_room(room_id).await?;
    Ok(Outcome::Ok)
}

async fn list(store: &Store, admin: &Session, department: Option<&str>) -> Result<Outcome, StoreError> {
    authenticate(store, admin).await?;
    let department_id = match department {
        Some(department) => Some(store.department_by_id_or_name(department).await?.ok_or(StoreError::NotFound)?.id),
        None => None,
    };
    store.queued_inquiries(department_id.as_deref(), None, &LIST_SORT, LIST_PAGE).await?;
    Ok(Outcome::Ok)
}

async fn set_sla(store: &Store, admin: &Session, room_id: &str) -> Result<Outcome, StoreError> {
    let caller = authenticate(store, admin).await?;
    let actor = HistoryActor { user_id: &caller.id, username: &caller.username, name: &caller.name };
    let sla = seed::sla_id(random_index(3));
    // The administrator's reach is unbounded, as the route gives it.
    Ok(match store.set_inquiry_sla(room_id, &sla, actor, None, &meteor_id(), now_millis()).await? {
        SetSlaOutcome::Set(_) => Outcome::Ok,
        SetSlaOutcome::InvalidInquiry => Outcome::Conflict,
        SetSlaOutcome::InvalidSla => Outcome::Error("invalid SLA".to_owned()),
        SetSlaOutcome::Unreachable => Outcome::Error("out of reach".to_owned()),
    })
}

async fn take(store: &Store, agent: &Session, inquiry_id: &str) -> Result<Outcome, StoreError> {
    authenticate(store, agent).await?;
    let user = store.user_by_id(&agent.user_id).await?.ok_or(StoreError::NotFound)?;
    store.user_has_role(&user.id, ROLE_AGENT).await?;
    Ok(match store.take_inquiry(inquiry_id, &user.id, None, now_millis()).await? {
        TakeOutcome::Taken => Outcome::Ok,
        TakeOutcome::AlreadyTaken => Outcome::Conflict,
        other => Outcome::Error(format!("take answered {other:?}")),
    })
}

async fn return_as_inquiry(store: &Store, admin: &Session, room_id: &str) -> Result<Outcome, StoreError> {
    authenticate(store, admin).await?;
    store.return_to_queue(room_id, None, RoomGuard::ANYONE, now_millis()).await?;
    Ok(Outcome::Ok)
}

/// One step of the chat cycle with the store calls of the HelpCrunch routes: the API
/// key and rate window of the middleware, the change, and the chat read back.
async fn chat_cycle(fixture: &Fixture, chat: i64, agent_id: &str, phase: usize) -> Result<Outcome, StoreError> {
    let now = now_millis();
    let key =
        fixture.store.authenticate_api_key(&token_digest(&fixture.api_key), now).await?.ok_or(StoreError::NotFound)?;
    fixture.store.count_api_request(key.num_id, now - now.rem_euclid(60_000)).await?;
    let changed = if phase == 1 {
        matches!(fixture.store.assign_chat(chat, agent_id, now).await?, AssigneeOutcome::Changed)
    } else {
        let closer_id = format!("api-key-{}", key.num_id);
        let change = StatusChange {
            chat,
            status: if phase == 0 { ChatStatus::New } else { ChatStatus::Closed },
            closer: Closer::Agent { user_id: &closer_id, username: &key.name, name: &key.name },
            close_message_id: &meteor_id(),
            inquiry_id: &object_id(),
            now,
        };
        matches!(fixture.store.set_chat_status(change).await?, StatusOutcome::Changed | StatusOutcome::Unchanged)
    };
    fixture.store.room_by_num_id(chat).await?;
    Ok(if changed { Outcome::Ok } else { Outcome::Error(format!("chat step {phase} changed nothing")) })
}

/// Login's SQL without the password check: the hash costs CPU, not database time.
async fn login(store: &Store, username: &str) -> Result<Outcome, StoreError> {
    let now = now_millis();
    let (user, _) = store.user_for_login(username).await?.ok_or(StoreError::NotFound)?;
    let limit = AttemptLimit { attempts: 10, length: 5 * 60 * 1000 };
    // Each agent's logins come from an address of their own, as in the HTTP scenario.
    let address = format!("agent-{}", user.num_id);
    let Reservation::Reserved(reserved) = store.reserve_login_attempt(&user.id, &address, limit, now).await? else {
        return Ok(Outcome::Error("login blocked".to_owned()));
    };
    store.refund_login_attempt(&reserved).await?;
    let digest = token_digest(&secret_token());
    store.user_for_token(&digest).await?;
    store.store_token(&user.id, &digest, "login", None, now).await?;
    store.user_roles(&user.id).await?;
    Ok(Outcome::Ok)
}
