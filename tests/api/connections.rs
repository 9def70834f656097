//! Every connection and request has an end: slow or partial headers, idle keep-alive
//! connections, slow or oversized bodies, too many connections, and a database that
//! stops answering. These talk raw HTTP/1.1 over TCP, to send exactly the bytes a
//! misbehaving client sends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use livechat_server::config::AppSettings;
use livechat_server::store::{Store, StoreOptions};
use livechat_server::{AppState, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::harness::{ADMIN_PASSWORD, Backend, Session, TestApp, both_backends, send};

/// The envelope of a declared body over the limit, on the Rocket.Chat face.
fn rc_too_large() -> Value {
    json!({"success": false, "error": "Request body is larger than 1 MiB [error-payload-too-large]", "errorType": "error-payload-too-large"})
}

fn hc_too_large() -> Value {
    json!({"errors": [
        {"code": "invalid_request", "message": "Invalid request"},
        {"code": "body", "message": "Request body is larger than 1 MiB"},
    ]})
}

fn rc_unavailable() -> Value {
    json!({"success": false, "error": "Service unavailable [error-service-unavailable]", "errorType": "error-service-unavailable"})
}

fn hc_unavailable() -> Value {
    json!({"errors": [{"code": "service_unavailable", "message": "Service unavailable"}]})
}

/// `host:port` of a test server's base URL.
fn address(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(address(base)).await.unwrap()
}

/// A response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Reads one response with a `Content-Length` body; panics after `within`.
async fn read_answer(stream: &mut TcpStream, within: Duration) -> Answer {
    let read = async {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
            let count = stream.read(&mut chunk).await.expect("the server answers");
            assert!(count > 0, "the connection closed before an answer: {:?}", String::from_utf8_lossy(&buffer));
            buffer.extend_from_slice(&chunk[..count]);
        };
        let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers.iter().find(|(name, _)| name == "content-length").unwrap().1.parse().unwrap();
        while buffer.len() < head_end + length {
            let count = stream.read(&mut chunk).await.expect("the body arrives");
            assert!(count > 0, "the connection closed inside the body");
            buffer.extend_from_slice(&chunk[..count]);
        }
        let body = &buffer[head_end..head_end + length];
        let body = if body.is_empty() { Value::Null } else { serde_json::from_slice(body).unwrap() };
        Answer { status, headers, body }
    };
    tokio::time::timeout(within, read).await.expect("an answer in time")
}

/// Waits until the server closes `stream`; returns how long that took. Panics after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Duration {
    let started = Instant::now();
    let wait = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, wait).await.expect("the server closes the connection in time");
    started.elapsed()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Sends one GET on `stream` and reads its answer.
async fn get_on(stream: &mut TcpStream, path: &str) -> Answer {
    stream.write_all(get(path).as_bytes()).await.unwrap();
    read_answer(stream, Duration::from_secs(10)).await
}

both_backends!(
    partial_headers_are_disconnected_after_the_header_timeout,
    settings = AppSettings { header_read_timeout_secs: 1, ..Default::default() },
    |app| {
        // A request line and one header, and never the blank line that ends the headers.
        let mut slow = connect(&app.base).await;
        slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: test\r\n").await.unwrap();
        // Nothing at all after connecting counts the same.
        let mut silent = connect(&app.base).await;
        // A header trickled a byte at a time keeps no connection open either.
        let mut trickle = connect(&app.base).await;
        let trickling = tokio::spawn(async move {
            for byte in b"GET /health/live HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if trickle.write_all(&[*byte]).await.is_err() {
                    return trickle;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            trickle
        });
        closed_within(&mut slow, Duration::from_secs(3)).await;
        closed_within(&mut silent, Duration::from_secs(3)).await;
        let mut trickle = trickling.await.unwrap();
        closed_within(&mut trickle, Duration::from_secs(3)).await;
        // A client that sends its request in time is served.
        let mut prompt = connect(&app.base).await;
        let answer = get_on(&mut prompt, "/health/live").await;
        assert_eq!((answer.status, answer.body), (200, json!({"status": "ok"})));
    }
);

both_backends!(
    idle_keep_alive_connections_are_closed_after_the_idle_timeout,
    settings = AppSettings { idle_timeout_secs: 1, header_read_timeout_secs: 30, ..Default::default() },
    |app| {
        let mut stream = connect(&app.base).await;
        let answer = get_on(&mut stream, "/health/live").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("connection"), None, "kept alive");
        // Within the idle timeout the connection still serves.
        let answer = get_on(&mut stream, "/health/live").await;
        assert_eq!(answer.status, 200);
        closed_within(&mut stream, Duration::from_secs(3)).await;
    }
);

/// Sends the headers of a POST declaring `length` bytes of body, and none of the body.
async fn declare_body(base: &str, path: &str, length: u64) -> TcpStream {
    let mut stream = connect(base).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

both_backends!(a_declared_body_over_the_limit_is_refused_before_it_is_sent, |app| {
    let ten_gigabytes = 10 * 1024 * 1024 * 1024;
    for (path, envelope) in [
        ("/api/v1/login", rc_too_large()),
        ("/api/v1/livechat/visitor", rc_too_large()),
        ("/v1/chats/search", hc_too_large()),
        ("/v1/no-such-route", hc_too_large()),
    ] {
        let mut stream = declare_body(&app.base, path, ten_gigabytes).await;
        // The answer comes with none of the body sent, well before any body timeout.
        let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
        assert_eq!((answer.status, &answer.body), (413, &envelope), "{path}");
        assert_eq!(answer.header("connection"), Some("close"), "{path}");
        closed_within(&mut stream, Duration::from_secs(5)).await;
    }
    // One byte over the limit is refused the same way; at the limit the body is read.
    let mut stream = declare_body(&app.base, "/api/v1/login", 1024 * 1024 + 1).await;
    assert_eq!(read_answer(&mut stream, Duration::from_secs(5)).await.body, rc_too_large());
    let at_limit = app
        .client
        .post(app.url("/api/v1/livechat/visitor"))
        .header("content-type", "application/json")
        .body(" ".repeat(1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(at_limit.status(), reqwest::StatusCode::BAD_REQUEST, "an empty object, not a refusal");
});

both_backends!(
    a_body_not_received_in_time_is_answered_408,
    settings = AppSettings { body_read_timeout_secs: 1, ..Default::default() },
    |app| {
        let rc = json!({"success": false, "error": "Request body was not received in time [error-request-timeout]", "errorType": "error-request-timeout"});
        let hc = json!({"errors": [
            {"code": "invalid_request", "message": "Invalid request"},
            {"code": "body", "message": "Request body was not received in time."},
        ]});
        // The HelpCrunch route reads its body once the API key is checked.
        let key = format!("Authorization: {}\r\n", bearer(&app).await);
        for (path, extra, envelope) in [("/api/v1/login", "", rc), ("/v1/chats/search", key.as_str(), hc)] {
            let mut stream = start_body(&app.base, "POST", path, extra, 100, 0).await;
            stream.write_all(b"{\"user\":").await.unwrap();
            let answer = read_answer(&mut stream, Duration::from_secs(3)).await;
            assert_eq!((answer.status, &answer.body), (408, &envelope), "{path}");
            let status = reqwest::StatusCode::REQUEST_TIMEOUT;
            crate::openapi::assert_documented(&reqwest::Method::POST, path, status, &answer.body);
            assert_eq!(answer.header("connection"), Some("close"));
            closed_within(&mut stream, Duration::from_secs(3)).await;
        }
        // A body sent in time, in pieces, is read whole.
        let body = json!({"user": "admin", "password": ADMIN_PASSWORD}).to_string();
        let mut stream = declare_body(&app.base, "/api/v1/login", body.len() as u64).await;
        let (first, second) = body.split_at(10);
        stream.write_all(first.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stream.write_all(second.as_bytes()).await.unwrap();
        let answer = read_answer(&mut stream, Duration::from_secs(10)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
);

both_backends!(
    past_the_connection_limit_new_clients_are_refused_quickly_and_served_again_later,
    settings = AppSettings { max_connections: 4, ..Default::default() },
    |app| {
        // The harness's own client may hold a connection: fill whatever is left.
        let mut held = Vec::new();
        let refused = loop {
            assert!(held.len() <= 4, "more connections served than the limit");
            let mut stream = connect(&app.base).await;
            let started = Instant::now();
            let answer = get_on(&mut stream, "/api/v1/me").await;
            if answer.status == 503 {
                break (answer, started.elapsed(), stream);
            }
            assert_eq!(answer.status, 401, "{answer:?}");
            held.push(stream);
        };
        let (answer, took, mut stream) = refused;
        assert_eq!(answer.body, rc_unavailable());
        assert_eq!(answer.header("connection"), Some("close"));
        assert!(took < Duration::from_secs(3), "refused in {took:?}");
        closed_within(&mut stream, Duration::from_secs(3)).await;
        // The refusal speaks the envelope of the face asked for.
        let mut stream = connect(&app.base).await;
        let answer = get_on(&mut stream, "/v1/chats").await;
        assert_eq!((answer.status, answer.body), (503, hc_unavailable()));
        // The connections within the limit keep working.
        for stream in &mut held {
            let answer = get_on(stream, "/health/live").await;
            assert_eq!((answer.status, answer.body), (200, json!({"status": "ok"})));
        }
        // Once they close, new clients are served.
        drop(held);
        let mut served = false;
        for _ in 0..50 {
            let mut stream = connect(&app.base).await;
            if get_on(&mut stream, "/health/live").await.status == 200 {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(served, "a slot frees up once a connection closes");
    }
);

/// Serves `state` on a fresh port; the sender starts a graceful shutdown, the receiver
/// resolves when `serve` returned.
async fn serve_until(state: AppState, grace: Duration) -> (String, oneshot::Sender<()>, oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        serve(
            listener,
            state,
            async move {
                let _ = stop_rx.await;
            },
            grace,
        )
        .await
        .unwrap();
        let _ = done_tx.send(());
    });
    (format!("http://{address}"), stop_tx, done_rx)
}

fn store_options(url: &str, acquire_timeout: Duration, statement_timeout: Duration) -> StoreOptions {
    StoreOptions {
        url: crate::harness::database_url(url),
        max_connections: 4,
        acquire_timeout,
        statement_timeout,
        tcp_keepalive: Duration::from_secs(30),
    }
}

both_backends!(shutdown_closes_idle_connections_and_lets_requests_in_flight_finish, |app| {
    let store =
        Store::open(&store_options(&app.database_url, Duration::from_secs(5), Duration::from_secs(10))).await.unwrap();
    let (base, stop, stopped) =
        serve_until(AppState::new(store, AppSettings::default()), Duration::from_secs(20)).await;
    let mut idle = connect(&base).await;
    assert_eq!(get_on(&mut idle, "/health/live").await.status, 200);
    // A login whose body is half sent when the shutdown starts.
    let body = json!({"user": "admin", "password": ADMIN_PASSWORD}).to_string();
    let mut in_flight = declare_body(&base, "/api/v1/login", body.len() as u64).await;
    let (first, second) = body.split_at(10);
    in_flight.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    closed_within(&mut idle, Duration::from_secs(3)).await;
    // No new connection is served.
    let mut refused = false;
    for _ in 0..50 {
        match TcpStream::connect(address(&base)).await {
            Err(_) => {
                refused = true;
                break;
            }
            Ok(stream) => drop(stream),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the listener closes");
    in_flight.write_all(second.as_bytes()).await.unwrap();
    let answer = read_answer(&mut in_flight, Duration::from_secs(10)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    closed_within(&mut in_flight, Duration::from_secs(3)).await;
    tokio::time::timeout(Duration::from_secs(5), stopped).await.expect("serve returns").unwrap();
});

/// Holds a lock that makes a login wait: SQLite's write lock, or PostgreSQL's lock on the
/// users table. Dropping the value releases it.
enum DatabaseLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl DatabaseLock {
    async fn take(app: &TestApp) -> Self {
        use sqlx::Connection;
        match app.backend {
            Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut connection).await.unwrap();
                Self::Sqlite(connection)
            }
            Backend::Postgres => {
                let mut connection = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut connection).await.unwrap();
                sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE").execute(&mut connection).await.unwrap();
                Self::Postgres(connection)
            }
        }
    }

    async fn release(self) {
        use sqlx::Connection;
        match self {
            Self::Sqlite(connection) => connection.close().await.unwrap(),
            Self::Postgres(connection) => connection.close().await.unwrap(),
        }
    }
}

async fn login_on(base: &str) -> (u16, Value) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let response = client
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"user": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn me_on(base: &str, session: &Session) -> (u16, Value) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let response = client
        .get(format!("{base}/api/v1/me"))
        .header("X-User-Id", &session.user_id)
        .header("X-Auth-Token", &session.token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Retries `attempt` for up to 30 s until it answers 200.
async fn recovers<F, Fut>(attempt: F) -> bool
where
    F: Fn() -> Fut,
    Fut: Future<Output = (u16, Value)>,
{
    for _ in 0..150 {
        if attempt().await.0 == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

both_backends!(
    a_request_waiting_on_the_database_answers_503_within_the_request_timeout,
    settings = AppSettings { request_timeout_secs: 2, ..Default::default() },
    |app| {
        let lock = DatabaseLock::take(&app).await;
        let started = Instant::now();
        assert_eq!(login_on(&app.base).await, (503, rc_unavailable()));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(6), "answered in {took:?}");
        lock.release().await;
        assert!(recovers(|| login_on(&app.base)).await, "served again once the lock is gone");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn a_postgresql_statement_past_the_statement_timeout_answers_503() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let store =
        Store::open(&store_options(&app.database_url, Duration::from_secs(30), Duration::from_secs(1))).await.unwrap();
    // No request timeout: the statement timeout alone ends the wait.
    let settings = AppSettings { request_timeout_secs: 0, ..Default::default() };
    let (base, _stop) = crate::harness::start_server(store, settings).await;
    assert_eq!(me_on(&base, &app.admin).await.0, 200);
    let lock = DatabaseLock::take(&app).await;
    let started = Instant::now();
    assert_eq!(me_on(&base, &app.admin).await, (503, rc_unavailable()));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "answered in {took:?}");
    lock.release().await;
    assert!(recovers(|| me_on(&base, &app.admin)).await, "served again once the lock is gone");
}

/// A TCP proxy that can freeze: bytes stop moving both ways while every socket stays
/// open, as in a network partition, and move again when it thaws.
struct FreezingProxy {
    port: u16,
    flowing: Arc<watch::Sender<bool>>,
}

impl FreezingProxy {
    async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let flowing = Arc::new(watch::channel(true).0);
        let shared = flowing.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(Self::pump(client_read, server_write, shared.subscribe()));
                tokio::spawn(Self::pump(server_read, client_write, shared.subscribe()));
            }
        });
        Self { port, flowing }
    }

    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        mut flowing: watch::Receiver<bool>,
    ) {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            if flowing.wait_for(|flowing| *flowing).await.is_err() {
                return;
            }
            let count = match from.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(count) => count,
            };
            if flowing.wait_for(|flowing| *flowing).await.is_err() || to.write_all(&chunk[..count]).await.is_err() {
                return;
            }
        }
    }

    fn set_flowing(&self, flowing: bool) {
        self.flowing.send_replace(flowing);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs TEST_DATABASE_URL (PostgreSQL)"]
async fn a_request_in_flight_during_a_postgresql_partition_answers_503_within_the_request_timeout() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let proxy = FreezingProxy::start("127.0.0.1:5432").await;
    let mut url = url::Url::parse(&app.database_url).unwrap();
    url.set_port(Some(proxy.port)).unwrap();
    // Long database timeouts: the request timeout is what must end the wait.
    let store =
        Store::open(&store_options(url.as_str(), Duration::from_secs(60), Duration::from_secs(60))).await.unwrap();
    let settings = AppSettings { request_timeout_secs: 2, ..Default::default() };
    let (base, _stop) = crate::harness::start_server(store, settings).await;
    assert_eq!(me_on(&base, &app.admin).await.0, 200);

    let in_flight = tokio::spawn({
        let (base, admin) = (base.clone(), app.admin.clone());
        async move {
            let started = Instant::now();
            (me_on(&base, &admin).await, started.elapsed())
        }
    });
    proxy.set_flowing(false);
    let (answer, took) = in_flight.await.unwrap();
    // The request either finished before the partition or is cut off by the timeout.
    if answer.0 != 200 {
        assert_eq!(answer, (503, rc_unavailable()));
        assert!(took < Duration::from_secs(6), "answered in {took:?}");
    }
    // Requests made during the partition answer 503 as fast.
    let started = Instant::now();
    assert_eq!(me_on(&base, &app.admin).await, (503, rc_unavailable()));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "answered in {took:?}");
    let health = reqwest::Client::new().get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"status": "unavailable"}));

    proxy.set_flowing(true);
    assert!(recovers(|| me_on(&base, &app.admin)).await, "served again once the partition ends");
}

/// The 413 of a route whose limit is 8 KiB, on each face.
fn rc_small_too_large() -> Value {
    json!({"success": false, "error": "Request body is larger than 8 KiB [error-payload-too-large]", "errorType": "error-payload-too-large"})
}

fn hc_small_too_large() -> Value {
    json!({"errors": [
        {"code": "invalid_request", "message": "Invalid request"},
        {"code": "body", "message": "Request body is larger than 8 KiB"},
    ]})
}

/// A login body of exactly `length` bytes: the admin's name and a wrong password padded
/// with spaces.
fn login_body(length: usize) -> String {
    let body = json!({"user": "admin", "password": "wrong"}).to_string();
    format!("{body}{}", " ".repeat(length - body.len()))
}

/// A HelpCrunch bearer key issued by the admin.
async fn bearer(app: &TestApp) -> String {
    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "limits"})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    format!("Bearer {}", body["key"].as_str().unwrap())
}

both_backends!(small_routes_refuse_bodies_over_their_own_limit, |app| {
    // At the limit the body is read: a wrong password.
    let login = |body: String| {
        send(app.client.post(app.url("/api/v1/login")).header("content-type", "application/json").body(body))
    };
    assert_eq!(
        login(login_body(8 * 1024)).await,
        (
            reqwest::StatusCode::UNAUTHORIZED,
            json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
        )
    );
    // One byte over it, the answer names the route's limit.
    assert_eq!(login(login_body(8 * 1024 + 1)).await, (reqwest::StatusCode::PAYLOAD_TOO_LARGE, rc_small_too_large()));

    // Declared over it, the answer comes before any of the body is sent.
    let key = bearer(&app).await;
    for (path, authorization, envelope) in
        [("/api/v1/login", None, rc_small_too_large()), ("/v1/chats/status", Some(key.as_str()), hc_small_too_large())]
    {
        let mut stream = connect(&app.base).await;
        let method = if path.starts_with("/v1") { "PUT" } else { "POST" };
        let authorization = authorization.map(|key| format!("Authorization: {key}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\n{authorization}Content-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            8 * 1024 + 1
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
        assert_eq!((answer.status, &answer.body), (413, &envelope), "{path}");
        assert_eq!(answer.header("connection"), Some("close"), "{path}");
        closed_within(&mut stream, Duration::from_secs(5)).await;
    }

    // A chunked body is cut off once it grows past the limit.
    let mut stream = connect(&app.base).await;
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let piece = " ".repeat(4096);
    for _ in 0..3 {
        if stream.write_all(format!("1000\r\n{piece}\r\n").as_bytes()).await.is_err() {
            break;
        }
    }
    let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
    assert_eq!((answer.status, answer.body), (413, rc_small_too_large()));
});

/// Sends the headers of a POST or PUT to `path` declaring `length` bytes, with `extra`
/// headers, and the first `sent` bytes of a body of spaces.
async fn start_body(base: &str, method: &str, path: &str, extra: &str, length: usize, sent: usize) -> TcpStream {
    let mut stream = connect(base).await;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{extra}Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(" ".repeat(sent).as_bytes()).await.unwrap();
    stream
}

both_backends!(
    past_the_body_budget_a_large_body_is_answered_503_and_small_ones_are_still_read,
    settings = AppSettings { max_body_bytes_in_flight: 64 * 1024, ..Default::default() },
    |app| {
        // 64 KiB: 16 KiB for bodies of up to 16 KiB, 48 KiB for larger ones. Two slow
        // senders of 20 KiB each hold 40 KiB of the large share.
        const LARGE: usize = 20 * 1024;
        let visitor = "/api/v1/livechat/visitor";
        let mut slow = Vec::new();
        for _ in 0..2 {
            slow.push(start_body(&app.base, "POST", visitor, "", LARGE, 1024).await);
        }
        // The reservations are made as soon as the headers are read.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let busy_rc = json!({"success": false, "error": "Too many request bodies are being read, try again shortly [error-server-busy]", "errorType": "error-server-busy"});
        let mut third = start_body(&app.base, "POST", visitor, "", LARGE, LARGE).await;
        let answer = read_answer(&mut third, Duration::from_secs(5)).await;
        assert_eq!((answer.status, &answer.body), (503, &busy_rc));
        assert_eq!(answer.header("retry-after"), Some("1"));

        let key = bearer(&app).await;
        let authorization = format!("Authorization: {key}\r\n");
        let mut search = start_body(&app.base, "POST", "/v1/chats/search", &authorization, LARGE, LARGE).await;
        let answer = read_answer(&mut search, Duration::from_secs(5)).await;
        let busy_hc = json!({"errors": [{"code": "server_busy", "message": "Too many request bodies are being read, try again shortly"}]});
        assert_eq!((answer.status, &answer.body), (503, &busy_hc));
        assert_eq!(answer.header("retry-after"), Some("1"));

        // Small bodies draw on their own share: a login is read and served.
        let (status, body) =
            app.post("/api/v1/login", None, json!({"user": "admin", "password": ADMIN_PASSWORD})).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");

        // Once the slow bodies are in, their room is free for the next large body.
        let empty_visitor = json!({"success": false, "error": "Match error: Missing key 'visitor'"});
        for mut stream in slow {
            stream.write_all(format!("{{}}{}", " ".repeat(LARGE - 1024 - 2)).as_bytes()).await.unwrap();
            let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
            assert_eq!((answer.status, &answer.body), (400, &empty_visitor));
        }
        let mut next = start_body(&app.base, "POST", visitor, "", LARGE, 0).await;
        next.write_all(format!("{{}}{}", " ".repeat(LARGE - 2)).as_bytes()).await.unwrap();
        let answer = read_answer(&mut next, Duration::from_secs(5)).await;
        assert_eq!((answer.status, &answer.body), (400, &empty_visitor));
    }
);

// A JSON body is counted as it arrives: one past the nesting limit is answered at that
// byte, while its sender has sent 43 bytes of the 1 MiB it declared. Read whole first,
// it would wait for the rest (and its body read timeout).
both_backends!(a_body_past_the_json_limits_is_refused_before_the_rest_arrives, |app| {
    let mut stream = connect(&app.base).await;
    let head = "POST /api/v1/livechat/visitor HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Content-Length: 1048576\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(format!(r#"{{"visitor":{}"#, "[".repeat(32)).as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
    let too_complex = json!({
        "success": false,
        "error": "Request body nests deeper than 32 levels or holds more than 20000 values [error-body-too-complex]",
        "errorType": "error-body-too-complex",
    });
    assert_eq!((answer.status, answer.body), (400, too_complex));
});

// The rest of a refused body is read and dropped rather than left unread: a client that
// goes on sending it is not reset, and the connection serves its next request.
both_backends!(a_client_sending_the_rest_of_a_refused_body_is_not_reset, |app| {
    const DECLARED: usize = 1024 * 1024;
    let mut stream = connect(&app.base).await;
    let head = format!(
        "POST /api/v1/livechat/visitor HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {DECLARED}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let refused = format!(r#"{{"visitor":{}"#, "[".repeat(32));
    stream.write_all(refused.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(answer.status, 400, "{:?}", answer.body);

    let mut rest = DECLARED - refused.len();
    while rest > 0 {
        let piece = rest.min(64 * 1024);
        stream.write_all(" ".repeat(piece).as_bytes()).await.expect("the server still reads");
        rest -= piece;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = get_on(&mut stream, "/health/live").await;
    assert_eq!((answer.status, answer.body), (200, json!({"status": "ok"})));
});
