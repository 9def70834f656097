//! The HTTP server under the application. It accepts connections itself, rather than
//! through `axum::serve`, so that every connection and every request has an end:
//!
//! - a client has [`Limits::header_read_timeout`] to send a request's headers, counted
//!   from the connection's start or from the first byte of a later request, and is
//!   disconnected otherwise;
//! - a connection with no request in flight and no traffic for [`Limits::idle_timeout`]
//!   is closed;
//! - a request declaring a body larger than [`MAX_BODY_BYTES`] is answered 413 before any
//!   of it is read (a route with a smaller limit refuses by that, see [`crate::http::body`]);
//!   a body not received within the body read timeout is answered 408, and a request not
//!   answered within the request timeout once its body is in 503, each in its face's
//!   envelope;
//! - past [`Limits::max_connections`] open connections a new one is answered 503 and
//!   closed, and failing `accept` calls (out of file descriptors) back off instead of
//!   spinning.
//!
//! On shutdown the listener closes at once, idle connections close, and in-flight
//! requests get the grace period to finish.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CONNECTION, EXPECT, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::AppSettings;
use crate::http::MAX_BODY_BYTES;
use crate::http::body::{BodyBudget, BodyLate, declared_length, is_upload_path};
use crate::http::error::ApiError;
use crate::http::extract::BodyRefusal;
use crate::http::helpcrunch;
use crate::http::helpcrunch::error::HelpCrunchError;

/// File descriptors kept free of client connections: the database pool's come on top.
const RESERVED_FILES: u64 = 128;

/// Connections past the limit being answered 503 at once; beyond these, a connection
/// past the limit is closed without an answer.
const REFUSAL_SLOTS: usize = 64;

/// How long a refused connection may take to send its request line and read the 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// After a body is refused (413, or 400 for JSON past the guard's limits), how much more
/// of it is read and dropped so that the client sees the answer rather than a reset: as
/// much as any route accepts (a client sending a body of that size mid-refusal would
/// otherwise lose the answer), for at most this long, and only while some arrives every
/// second.
const DRAIN_BYTES: usize = MAX_BODY_BYTES;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
const DRAIN_PAUSE: Duration = Duration::from_secs(1);

/// Refused bodies drained per second, all connections together. Past it a refused body's
/// connection is closed unread: a flood of oversized bodies then costs the server their
/// headers, not their megabytes, while an occasional oversized request still gets its
/// answer.
const DRAIN_BYTES_PER_SECOND: usize = 16 * 1024 * 1024;

/// Most a connection buffers of what it reads (hyper's default is about 400 KiB): it
/// bounds a request's headers, and what each of many connections streaming bodies holds.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// How long an idle connection asked to close gets to do so before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Backoff of `accept` after an error that is not about one connection (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM): doubles from the first to the last.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// The bounds of one listener's connections.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub max_connections: usize,
}

/// The bounds of one request, applied by [`guard_request`].
#[derive(Clone, Debug)]
pub struct RequestLimits {
    pub body_read_timeout: Option<Duration>,
    pub request_timeout: Option<Duration>,
    /// Body bytes that may be read at once; unbounded when none.
    pub body_budget: Option<BodyBudget>,
    pub drain_budget: DrainBudget,
}

fn seconds(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl Limits {
    /// The settings' bounds, with the connection limit lowered to what the open-file
    /// limit leaves after `reserved` descriptors (the database pool's).
    pub fn from_settings(settings: &AppSettings, reserved: u64) -> Self {
        Self {
            header_read_timeout: seconds(settings.header_read_timeout_secs),
            idle_timeout: seconds(settings.idle_timeout_secs),
            max_connections: connection_limit(settings.max_connections, open_file_limit(), reserved),
        }
    }
}

impl RequestLimits {
    pub fn from_settings(settings: &AppSettings) -> Self {
        Self {
            body_read_timeout: seconds(settings.body_read_timeout_secs),
            request_timeout: seconds(settings.request_timeout_secs),
            body_budget: BodyBudget::new(settings.max_body_bytes_in_flight),
            drain_budget: DrainBudget::default(),
        }
    }
}

/// The configured limit (0: none), lowered to the soft open-file limit less the
/// descriptors the process needs for everything else; at least 16.
fn connection_limit(configured: usize, open_files: Option<u64>, reserved: u64) -> usize {
    let by_files = open_files
        .map(|limit| usize::try_from(limit.saturating_sub(RESERVED_FILES + reserved)).unwrap_or(usize::MAX).max(16));
    let limit = match (configured, by_files) {
        (0, None) => 10_000,
        (0, Some(by_files)) => by_files,
        (configured, None) => configured,
        (configured, Some(by_files)) => configured.min(by_files),
    };
    limit.min(Semaphore::MAX_PERMITS)
}

/// The soft limit on open files (RLIMIT_NOFILE), when the platform has one.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit only writes the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 && limit.rlim_cur != libc::RLIM_INFINITY {
            return Some(limit.rlim_cur);
        }
    }
    None
}

/// Raises the soft limit on open files to the hard limit, so that the connection limit
/// rather than the file limit bounds how many clients are served. Returns the soft and
/// hard limits in force afterwards.
#[cfg(unix)]
pub fn raise_open_file_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read or write the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(io::Error::last_os_error());
            }
            limit = raised;
        }
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> io::Result<(u64, u64)> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no open-file limit on this platform"))
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, closes idle
/// connections and waits for the others up to `grace`. The router sees the TCP peer as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    let (closing_tx, closing_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSAL_SLOTS));
    let mut shutdown = pin!(shutdown);
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            Err(error) if is_about_one_connection(&error) => continue,
            Err(error) => {
                backoff = (backoff * 2).clamp(ACCEPT_BACKOFF.0, ACCEPT_BACKOFF.1);
                tracing::error!(%error, backoff_ms = backoff.as_millis() as u64, "accepting a connection failed");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let slot = ConnectionSlot(Arc::new(std::sync::Mutex::new(Some(slot))));
                let connection = Connection { app: app.clone(), peer, limits, closing: closing_rx.clone(), slot };
                tokio::spawn(connection.run(stream));
            }
            Err(_) => match refusals.clone().try_acquire_owned() {
                Ok(refusal) => {
                    tokio::spawn(async move {
                        refuse(stream).await;
                        drop(refusal);
                    });
                }
                Err(_) => drop(stream),
            },
        }
    }
    drop(listener);
    closing_tx.send_replace(true);
    drop(closing_rx);
    if tokio::time::timeout(grace, closing_tx.closed()).await.is_err() {
        tracing::warn!("shutdown grace period elapsed with requests still in flight");
    }
    Ok(())
}

/// Errors of `accept` that concern only the connection being accepted: the next
/// `accept` may succeed at once.
fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection past the limit 503 in the envelope of the face its request line
/// names, then closes it.
async fn refuse(mut stream: TcpStream) {
    let answer = async {
        let mut head = [0u8; 1024];
        let mut read = 0;
        while read < head.len() && !head[..read].contains(&b'\n') {
            match stream.read(&mut head[read..]).await {
                Ok(0) | Err(_) => return,
                Ok(count) => read += count,
            }
        }
        let path = request_path(&head[..read]);
        let response = refusal_bytes(path.as_deref().unwrap_or("/")).await;
        if stream.write_all(&response).await.is_ok() {
            let _ = stream.shutdown().await;
            // Reads what the client still sends, so that closing does not reset the
            // connection before it has read the answer.
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(count) if count > 0) {}
        }
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, answer).await;
}

/// The path of an HTTP/1 request line (`GET /v1/chats HTTP/1.1`), when it has one.
fn request_path(head: &[u8]) -> Option<String> {
    let line = head.split(|&byte| byte == b'\n').next()?;
    let target = std::str::from_utf8(line).ok()?.split(' ').nth(1)?;
    let uri: Uri = target.parse().ok()?;
    Some(uri.path().to_owned())
}

/// The whole 503 response to a connection past the limit, as bytes.
async fn refusal_bytes(path: &str) -> Vec<u8> {
    let response = Face::of(path).unavailable();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
    let mut bytes = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

/// One accepted connection.
struct Connection {
    app: Router,
    peer: SocketAddr,
    limits: Limits,
    closing: watch::Receiver<bool>,
    /// Freed when the connection ends, unless a WebSocket upgrade took it over.
    slot: ConnectionSlot,
}

/// A connection's place under [`Limits::max_connections`], in every request's
/// extensions: a WebSocket upgrade takes it, so that the upgraded connection, which
/// outlives the HTTP connection, counts until it closes.
#[derive(Clone)]
pub struct ConnectionSlot(Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>);

impl ConnectionSlot {
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.lock().ok()?.take()
    }
}

/// What a connection's deadline ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    /// A request's headers did not arrive in time: drop the connection.
    Headers,
    /// Nothing happened for the idle timeout: ask it to close, drop it if it does not.
    Idle,
}

impl Connection {
    async fn run(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched { stream, activity: activity.clone() });
        let service = {
            let (app, peer, activity, slot) = (self.app.clone(), self.peer, activity.clone(), self.slot.clone());
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let in_flight = activity.request_started();
                let body_in_flight = activity.request_started();
                let mut request = request.map(|body| Body::new(CountedBody { body, _in_flight: body_in_flight }));
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot.clone());
                let app = app.clone();
                async move {
                    let response = app.oneshot(request).await;
                    drop(in_flight);
                    response
                }
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .max_buf_size(READ_BUFFER_BYTES)
            .serve_connection(io, service)
            .with_upgrades();
        let mut connection = pin!(connection);
        // Once the connection was asked to close for idleness, when it is dropped.
        let mut close_by: Option<Instant> = None;
        let mut shutting_down = false;
        loop {
            let deadline = activity
                .deadline(&self.limits)
                .filter(|&(_, expiry)| !(expiry == Expiry::Idle && close_by.is_some()))
                .map(|(at, _)| at);
            let deadline = match (deadline, close_by) {
                (Some(at), Some(close_by)) => Some(at.min(close_by)),
                (at, close_by) => at.or(close_by),
            };
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, peer = %self.peer, "connection ended with an error");
                    }
                    return;
                }
                () = sleep => {
                    // The state may have changed since the deadline was computed.
                    let now = Instant::now();
                    if close_by.is_some_and(|at| at <= now) {
                        return;
                    }
                    match activity.deadline(&self.limits) {
                        Some((at, Expiry::Headers)) if at <= now => {
                            tracing::debug!(peer = %self.peer, "request headers not received in time; disconnecting");
                            return;
                        }
                        Some((at, Expiry::Idle)) if at <= now && close_by.is_none() => {
                            connection.as_mut().graceful_shutdown();
                            close_by = Some(now + CLOSE_GRACE);
                        }
                        _ => {}
                    }
                }
                () = activity.changed.notified() => {}
                _ = self.closing.changed(), if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// What a connection's watch needs to know: when bytes last moved, whether a request
/// is in flight, and since when a request's headers have been awaited. Times are
/// milliseconds since the connection started.
struct Activity {
    started: Instant,
    last_progress: AtomicU64,
    /// Since when headers have been awaited; [`NOT_AWAITED`] while none are.
    awaiting_headers_since: AtomicU64,
    in_flight: AtomicUsize,
    /// Woken when a deadline may have come closer: headers began, or the last request ended.
    changed: Notify,
}

const NOT_AWAITED: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_progress: AtomicU64::new(0),
            awaiting_headers_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.started + Duration::from_millis(millis)
    }

    fn received(&self) {
        let now = self.now();
        self.last_progress.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .awaiting_headers_since
                .compare_exchange(NOT_AWAITED, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn sent(&self) {
        self.last_progress.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.awaiting_headers_since.store(NOT_AWAITED, Ordering::Release);
        InFlight(self.clone())
    }

    /// The next deadline and what it ends; none while a request is in flight.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, Expiry)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let awaiting_since = self.awaiting_headers_since.load(Ordering::Acquire);
        if awaiting_since != NOT_AWAITED
            && let Some(timeout) = limits.header_read_timeout
        {
            return Some((self.at(awaiting_since) + timeout, Expiry::Headers));
        }
        let timeout = limits.idle_timeout?;
        Some((self.at(self.last_progress.load(Ordering::Relaxed)) + timeout, Expiry::Idle))
    }
}

/// A request (its handling, or its body) under way on a connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_progress.store(self.0.now(), Ordering::Relaxed);
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.changed.notify_one();
        }
    }
}

/// A request body that counts as in flight until it is read or dropped, so that its
/// bytes are never taken for the headers of a next request.
struct CountedBody {
    body: hyper::body::Incoming,
    _in_flight: InFlight,
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The TCP stream, reporting to [`Activity`] whenever bytes move.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.sent();
        }
        poll
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.sent();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Which API a path belongs to, for the envelope of a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    RocketChat,
    HelpCrunch,
    /// `/health`, which answers `{"status": ...}`.
    Health,
}

impl Face {
    fn of(path: &str) -> Self {
        if helpcrunch::serves(path) {
            Self::HelpCrunch
        } else if path == "/health" {
            Self::Health
        } else {
            Self::RocketChat
        }
    }

    fn too_large(self) -> Response {
        let response = match self {
            Self::HelpCrunch => <HelpCrunchError as BodyRefusal>::too_large(MAX_BODY_BYTES).into_response(),
            Self::RocketChat | Self::Health => <ApiError as BodyRefusal>::too_large(MAX_BODY_BYTES).into_response(),
        };
        closing(response)
    }

    fn unavailable(self) -> Response {
        match self {
            Self::HelpCrunch => HelpCrunchError::unavailable().into_response(),
            Self::RocketChat => ApiError::unavailable().into_response(),
            Self::Health => {
                (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"status": "unavailable"}))).into_response()
            }
        }
    }
}

/// The response, with the connection closed after it.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Layered outside the whole application: refuses a declared body over the largest limit
/// before reading it (413); hands the route a body that fails to read after the body read
/// timeout (the route answers 408) and whose unread rest is drained when it is dropped,
/// together with the budget of bodies being read ([`BodyBudget`]); then gives the
/// application the request timeout to answer once the body is in (503 otherwise). A
/// refused body (413, 408) closes the connection. Refusals are in the envelope of the face
/// the path belongs to.
pub async fn guard_request(State(limits): State<RequestLimits>, mut request: Request, next: Next) -> Response {
    let face = Face::of(request.uri().path());
    // Uploads are streamed under their own limit, from the setting FileUpload_MaxFileSize.
    let upload = is_upload_path(request.uri().path());
    if !upload && declared_length(request.headers()).is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        drain(request, limits.drain_budget.clone());
        return face.too_large();
    }
    if let Some(budget) = &limits.body_budget {
        request.extensions_mut().insert(budget.clone());
    }
    let body_deadline = limits.body_read_timeout.map(|timeout| Instant::now() + timeout);
    let (received, body_done) = oneshot::channel::<()>();
    let request = if http_body::Body::size_hint(request.body()).exact() == Some(0) {
        drop(received);
        request
    } else {
        let drain_on_drop = !request.headers().contains_key(EXPECT);
        request.map(|body| {
            Body::new(GuardedBody {
                body,
                deadline: body_deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
                ended: false,
                drain_on_drop: drain_on_drop.then(|| limits.drain_budget.clone()),
                _received: Some(received),
            })
        })
    };
    let response = match limits.request_timeout {
        None => next.run(request).await,
        Some(timeout) => {
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            // Counted from the body's arrival, or from its deadline when it is never read.
            let expiry = async {
                let body_deadline = async {
                    match body_deadline {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = body_done => {},
                    () = body_deadline => {},
                }
                tokio::time::sleep(timeout).await;
            };
            tokio::select! {
                response = next.run(request) => response,
                () = expiry => {
                    tracing::warn!(%method, path, timeout_secs = timeout.as_secs(), "request not answered in time");
                    face.unavailable()
                }
            }
        }
    };
    if matches!(response.status(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
        closing(response)
    } else {
        response
    }
}

/// A request body read under the body read timeout: past it, reading fails with
/// [`BodyLate`]. Left unread when dropped, its rest is drained in the background under the
/// budget it holds, so that a client still sending it sees the answer rather than a reset.
/// Its end or its drop starts the request timeout.
struct GuardedBody {
    body: Body,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    ended: bool,
    drain_on_drop: Option<DrainBudget>,
    _received: Option<oneshot::Sender<()>>,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(None) => {
                this.ended = true;
                this._received = None;
                Poll::Ready(None)
            }
            Poll::Pending if this.deadline.as_mut().is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready()) => {
                this.ended = true;
                this._received = None;
                tracing::info!("request body not received in time");
                Poll::Ready(Some(Err(axum::Error::new(BodyLate))))
            }
            polled => polled,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || http_body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.body)
    }
}

impl Drop for GuardedBody {
    fn drop(&mut self) {
        if !self.ended
            && !http_body::Body::is_end_stream(&self.body)
            && let Some(budget) = self.drain_on_drop.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(drain_stream(std::mem::take(&mut self.body).into_data_stream(), budget));
        }
    }
}

/// Reads and drops some of a refused body in the background, so that a client sending it
/// before reading the answer sees the 413 rather than a reset. A client waiting for
/// `100 Continue` is not asked to send it.
fn drain(request: Request, budget: DrainBudget) {
    if request.headers().contains_key(EXPECT) {
        return;
    }
    tokio::spawn(drain_stream(request.into_body().into_data_stream(), budget));
}

async fn drain_stream(mut data: axum::body::BodyDataStream, budget: DrainBudget) {
    let drain = async {
        let mut drained = 0;
        while let Ok(Some(Ok(chunk))) = tokio::time::timeout(DRAIN_PAUSE, data.next()).await {
            drained += chunk.len();
            if drained > DRAIN_BYTES || !budget.spend(chunk.len()) {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
}

/// The bytes of refused bodies drained in the current second, shared by every connection
/// of a listener: a fixed one-second window up to [`DRAIN_BYTES_PER_SECOND`].
#[derive(Clone, Debug, Default)]
pub struct DrainBudget(Arc<std::sync::Mutex<DrainWindow>>);

#[derive(Debug, Default)]
struct DrainWindow {
    started: Option<Instant>,
    spent: usize,
}

impl DrainBudget {
    /// Counts `bytes` as drained; false when the second's budget cannot take them.
    fn spend(&self, bytes: usize) -> bool {
        self.spend_at(bytes, Instant::now())
    }

    fn spend_at(&self, bytes: usize, now: Instant) -> bool {
        let mut window = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if window.started.is_none_or(|started| now.duration_since(started) >= Duration::from_secs(1)) {
            *window = DrainWindow { started: Some(now), spent: 0 };
        }
        if window.spent + bytes > DRAIN_BYTES_PER_SECOND {
            return false;
        }
        window.spent += bytes;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_leaves_room_for_other_files() {
        assert_eq!(connection_limit(10_000, Some(1_048_576), 16), 10_000);
        assert_eq!(connection_limit(10_000, Some(1_024), 16), 1_024 - 128 - 16);
        assert_eq!(connection_limit(0, Some(1_024), 16), 1_024 - 128 - 16);
        assert_eq!(connection_limit(0, None, 16), 10_000);
        assert_eq!(connection_limit(500, Some(100), 16), 16);
    }

    #[test]
    fn request_lines_name_their_path() {
        assert_eq!(request_path(b"GET /v1/chats?x=1 HTTP/1.1\r\nHost: a\r\n").as_deref(), Some("/v1/chats"));
        assert_eq!(request_path(b"GET http://h/api/v1/me HTTP/1.1\r\n").as_deref(), Some("/api/v1/me"));
        assert_eq!(request_path(b"\x16\x03\x01"), None);
    }

    #[test]
    fn draining_stops_past_the_second_s_budget() {
        let (budget, start) = (DrainBudget::default(), Instant::now());
        assert!(budget.spend_at(DRAIN_BYTES_PER_SECOND - 10, start));
        assert!(!budget.spend_at(11, start + Duration::from_millis(500)));
        assert!(budget.spend_at(10, start + Duration::from_millis(999)));
        assert!(!budget.spend_at(1, start + Duration::from_millis(999)));
        assert!(budget.spend_at(DRAIN_BYTES_PER_SECOND, start + Duration::from_secs(1)));
    }

    #[test]
    fn faces_follow_the_path() {
        assert_eq!(Face::of("/v1/chats"), Face::HelpCrunch);
        assert_eq!(Face::of("/api/v1/me"), Face::RocketChat);
        assert_eq!(Face::of("/health"), Face::Health);
    }
}
