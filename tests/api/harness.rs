//! Starts the real server on port 0 over a fresh database and talks to it over HTTP.
//!
//! `both_backends!` turns one async test body into a SQLite test and a PostgreSQL test.
//! The PostgreSQL one is ignored by default (`cargo test` lists it as ignored); run it
//! with `cargo test -- --include-ignored` and `TEST_DATABASE_URL` naming a server where
//! databases can be created (a fresh database per test, dropped afterwards). Run
//! without `TEST_DATABASE_URL`, it fails: it never passes without PostgreSQL.
//!
//! An optional `settings = <AppSettings>` before the body starts the server with those
//! settings; an optional `clock = <millis>` after it starts the server on a
//! [`ManualClock`] standing at that instant, which the test reaches as `app.clock`.
//! Without it the server runs on the system clock.
//!
//! Servers start under manual routing: unless the test's settings name a
//! `routing_method`, the setting `Livechat_Routing_Method` is stored as
//! `Manual_Selection` at spawn (Rocket.Chat's default, Auto_Selection, would assign
//! inquiries the tests mean to take). Routing tests name their method.
//!
//! Every server starts with the setting `Livechat_accept_chats_with_no_agents` on, so
//! that visitors open rooms without an available agent; tests of the refusal turn it off.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use livechat_server::accounts::{BootstrapAdmin, ensure_admin};
use livechat_server::config::{AppSettings, DatabaseUrl};
use livechat_server::domain::routing::RoutingMethod;
use livechat_server::domain::settings::{AcceptChatsWithNoAgents, TypedSetting};
use livechat_server::domain::time::{Clock, ManualClock, Millis, SystemClock};
use livechat_server::events::BusEvent;
use livechat_server::files::FileStorage;
use livechat_server::store::{Store, StoreOptions};
use livechat_server::{AppState, serve, serve_metrics};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{Mutex, broadcast, oneshot};
use tokio::task::JoinHandle;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// Where tests with a fixed clock start: 2026-01-02T03:04:05.678Z.
pub const START: Millis = 1_767_323_045_678;

/// The start of a minute, for tests of the per-minute rate window: 2026-01-02T03:04:00.000Z.
pub const MINUTE_START: Millis = 1_767_323_040_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A logged-in user's headers.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub token: String,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub database_url: String,
    pub admin: Session,
    /// The metrics listener of this server.
    pub metrics_base: String,
    /// The server's clock, when the test fixed it.
    pub clock: TestClock,
    server_clock: Arc<dyn Clock>,
    /// Stops this server; its task ends once it has stopped.
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    shutdown: Vec<oneshot::Sender<()>>,
    database: TestDatabase,
    /// What this server's event bus published, and the last event id seen of it.
    published: Mutex<(broadcast::Receiver<Arc<BusEvent>>, i64)>,
    /// Where this server stores uploaded files.
    pub files: FileStorage,
    /// The uploads folder of this server, unless its settings name one or a bucket.
    _uploads: Option<tempfile::TempDir>,
}

/// The clock a test fixed for its server (`app.clock.set(..)`, `app.clock.advance(..)`).
/// Reaching it on a server that runs on the system clock fails the test.
pub struct TestClock(Option<Arc<ManualClock>>);

impl Deref for TestClock {
    type Target = ManualClock;

    fn deref(&self) -> &ManualClock {
        self.0.as_deref().expect("this server runs on the system clock: start it with `clock = ...`")
    }
}

/// The PostgreSQL server tests create their databases on. Panics without
/// `TEST_DATABASE_URL`, so that a PostgreSQL test never passes without PostgreSQL.
pub fn postgres_admin_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TEST_DATABASE_URL is not set: this PostgreSQL test needs a server where it may create databases, \
             e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -- --include-ignored"
        ),
    }
}

macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        $crate::harness::both_backends!(
            @pair $name,
            livechat_server::config::AppSettings::default(),
            None,
            |$app| $body
        );
    };
    ($name:ident, settings = $settings:expr, |$app:ident| $body:block) => {
        $crate::harness::both_backends!(@pair $name, $settings, None, |$app| $body);
    };
    ($name:ident, clock = $start:expr, |$app:ident| $body:block) => {
        $crate::harness::both_backends!(
            @pair $name,
            livechat_server::config::AppSettings::default(),
            Some($start),
            |$app| $body
        );
    };
    ($name:ident, settings = $settings:expr, clock = $start:expr, |$app:ident| $body:block) => {
        $crate::harness::both_backends!(@pair $name, $settings, Some($start), |$app| $body);
    };
    (@pair $name:ident, $settings:expr, $start:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::harness::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let app =
                    $crate::harness::TestApp::spawn_on($crate::harness::Backend::Sqlite, $settings, $start).await;
                run(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            #[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
            async fn postgres() {
                let app =
                    $crate::harness::TestApp::spawn_on($crate::harness::Backend::Postgres, $settings, $start).await;
                run(app).await;
            }
        }
    };
}
pub(crate) use both_backends;

enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a thread of its own may block.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut connection) = sqlx::PgConnection::connect(&admin_url).await {
                        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut connection).await;
                    }
                });
            })
            .join();
        }
    }
}

async fn fresh_database(backend: Backend) -> (String, TestDatabase) {
    match backend {
        Backend::Sqlite => {
            let folder = tempfile::tempdir().expect("temporary folder");
            let url = format!("sqlite://{}/livechat.db", folder.path().display());
            (url, TestDatabase::Sqlite(folder))
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let admin_url = postgres_admin_url();
            let name = format!("livechat_test_{}", uuid::Uuid::new_v4().simple());
            let mut connection = sqlx::PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut connection)
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&name);
            (url.to_string(), TestDatabase::Postgres { admin_url, name })
        }
    }
}

pub fn database_url(raw: &str) -> DatabaseUrl {
    DatabaseUrl::parse(raw).expect("test database URL")
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_on(backend, AppSettings::default(), None).await
    }

    /// A server on a [`ManualClock`] standing at `start`, or on the system clock.
    pub async fn spawn_on(backend: Backend, mut settings: AppSettings, start: Option<Millis>) -> Self {
        settings.routing_method.get_or_insert(RoutingMethod::ManualSelection);
        // Uploaded files go to a folder of the test's own, unless it names a bucket.
        let uploads = match (&settings.uploads_dir, &settings.s3.bucket) {
            (None, None) => {
                let folder = tempfile::tempdir().expect("temporary uploads folder");
                settings.uploads_dir = Some(folder.path().to_owned());
                Some(folder)
            }
            _ => None,
        };
        let manual = start.map(|start| Arc::new(ManualClock::new(start)));
        let server_clock: Arc<dyn Clock> = match &manual {
            Some(manual) => manual.clone(),
            None => Arc::new(SystemClock),
        };
        let (database_url, database) = fresh_database(backend).await;
        let store = open_store(&database_url, Duration::from_secs(5)).await;
        store.migrate().await.expect("migrations apply");
        ensure_admin(
            &store,
            BootstrapAdmin {
                username: Some("admin".into()),
                password: Some(ADMIN_PASSWORD.into()),
                email: Some("admin@example.com".into()),
            },
        )
        .await
        .expect("bootstrap admin");
        store.apply_setting_defaults(&settings.setting_defaults(), server_clock.now()).await.expect("setting defaults");
        // Rocket.Chat opens no room while no agent is available, unless
        // Livechat_accept_chats_with_no_agents; most tests open rooms without agents, so
        // every test starts with it on, and the tests of the refusal turn it off.
        store
            .update_setting_value(AcceptChatsWithNoAgents::ID, "boolean", "true", server_clock.now())
            .await
            .expect("accept chats with no agents");
        let state = AppState::with_clock(store, settings, server_clock.clone());
        let published = Mutex::new((state.events.subscribe(), 0));
        let files = state.files.clone();
        let (metrics_base, metrics_shutdown) = start_metrics(state.clone()).await;
        let (base, shutdown, task) = serve_state(state).await;
        let client = reqwest::Client::new();
        let mut app = Self {
            base,
            client,
            backend,
            database_url,
            admin: Session { user_id: String::new(), token: String::new() },
            metrics_base,
            clock: TestClock(manual),
            server_clock,
            server: Some((shutdown, task)),
            shutdown: vec![metrics_shutdown],
            database,
            published,
            files,
            _uploads: uploads,
        };
        app.admin = app.login("admin", ADMIN_PASSWORD).await;
        app
    }

    /// Serves `store` on a fresh port on this server's clock, as another instance
    /// would; the sender stops it.
    pub async fn start_another_server(&self, store: Store, settings: AppSettings) -> (String, oneshot::Sender<()>) {
        store
            .apply_setting_defaults(&settings.setting_defaults(), self.server_clock.now())
            .await
            .expect("setting defaults");
        let (base, shutdown, _) = serve_state(AppState::with_clock(store, settings, self.server_clock.clone())).await;
        (base, shutdown)
    }

    /// Stops this test's server, as a server goes down, and returns once it has
    /// stopped (its background tasks with it). Its metrics listener stays.
    pub async fn stop_server(&mut self) {
        let (shutdown, task) = self.server.take().expect("the server runs");
        let _ = shutdown.send(());
        task.await.expect("the server stops cleanly");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request and returns status and JSON body (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(session) = session {
            request = request.header("X-User-Id", &session.user_id).header("X-Auth-Token", &session.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    pub async fn get(&self, path: &str, session: Option<&Session>) -> (StatusCode, Value) {
        self.call(Method::GET, path, session, None).await
    }

    pub async fn post(&self, path: &str, session: Option<&Session>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, session, Some(body)).await
    }

    pub async fn put(&self, path: &str, session: Option<&Session>, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, session, Some(body)).await
    }

    /// Sends `body` as it is, labelled as JSON: for malformed bodies.
    pub async fn send_raw_json(
        &self,
        method: Method,
        path: &str,
        session: &Session,
        body: &'static str,
    ) -> (StatusCode, Value) {
        let request = self
            .client
            .request(method, self.url(path))
            .header("X-User-Id", &session.user_id)
            .header("X-Auth-Token", &session.token)
            .header("content-type", "application/json")
            .body(body);
        send(request).await
    }

    pub async fn delete(&self, path: &str, session: Option<&Session>) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, session, None).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Session {
        let (status, body) = self.post("/api/v1/login", None, json!({"user": username, "password": password})).await;
        assert_eq!(status, StatusCode::OK, "login of {username}: {body}");
        Session {
            user_id: body["data"]["userId"].as_str().unwrap().to_owned(),
            token: body["data"]["authToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a user with the given roles through the API and logs it in.
    pub async fn user_with_roles(&self, username: &str, roles: &[&str]) -> Session {
        let (status, body) = self
            .post(
                "/api/v1/users.create",
                Some(&self.admin),
                json!({
                    "username": username,
                    "password": format!("{username}-password"),
                    "email": format!("{username}@example.com"),
                    "name": username,
                    "roles": roles,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "create {username}: {body}");
        self.login(username, &format!("{username}-password")).await
    }

    /// Waits until this server's event bus has published every event stored so far, so
    /// that a realtime subscription made next sees only what is written after it. (The
    /// bus follows the commits closely but not at once: on PostgreSQL it learns of them
    /// by notifications that arrive after them.)
    pub async fn events_published(&self) {
        let latest: i64 =
            self.column_strings("SELECT CAST(COALESCE(MAX(id), 0) AS TEXT) FROM events").await[0].parse().unwrap();
        let mut published = self.published.lock().await;
        let wait = async {
            while published.1 < latest {
                match published.0.recv().await {
                    Ok(bus_event) => published.1 = published.1.max(bus_event.event.id),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => panic!("the event bus closed"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait).await.expect("the bus publishes the stored events");
    }

    /// Every value of one text column, straight from the database.
    pub async fn column_strings(&self, sql: &'static str) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows.into_iter().map(|(value,)| value).collect()
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows.into_iter().map(|(value,)| value).collect()
            }
        }
    }

    /// Runs one statement straight on the database, for rows no route creates yet.
    pub async fn execute(&self, sql: &'static str) {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((shutdown, _)) = self.server.take() {
            let _ = shutdown.send(());
        }
        for shutdown in self.shutdown.drain(..) {
            let _ = shutdown.send(());
        }
        let _ = &self.database;
    }
}

pub async fn open_store(url: &str, acquire_timeout: Duration) -> Store {
    Store::open(&StoreOptions {
        url: database_url(url),
        max_connections: 16,
        acquire_timeout,
        statement_timeout: Duration::from_secs(10),
        tcp_keepalive: Duration::from_secs(30),
    })
    .await
    .expect("open the test database")
}

/// Serves `store` on a fresh port; the sender stops the server.
pub async fn start_server(store: Store, settings: AppSettings) -> (String, oneshot::Sender<()>) {
    let (base, shutdown, _) = serve_state(AppState::new(store, settings)).await;
    (base, shutdown)
}

/// Serves the metrics of `state` on a fresh port; the sender stops that listener.
pub async fn start_metrics(state: AppState) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = shutdown_rx.await;
        };
        serve_metrics(listener, state, shutdown).await.expect("metrics listener runs");
    });
    (format!("http://{address}"), shutdown_tx)
}

async fn serve_state(state: AppState) -> (String, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = shutdown_rx.await;
        };
        serve(listener, state, shutdown, Duration::from_secs(5)).await.expect("server runs");
    });
    (format!("http://{address}"), shutdown_tx, task)
}

/// Sends a request and checks the answer against the OpenAPI document, so every test
/// also tests the document.
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let (client, request) = request.build_split();
    let request = request.expect("the request builds");
    let (method, path) = (request.method().clone(), request.url().path().to_owned());
    let response = client.execute(request).await.expect("request is answered");
    let status = response.status();
    let text = response.text().await.expect("body is readable");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    crate::openapi::assert_documented(&method, &path, status, &body);
    (status, body)
}
