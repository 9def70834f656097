//! Rocket.Chat's realtime API: DDP over a WebSocket at `/websocket`.
//!
//! A connection speaks DDP version 1: `connect`, `ping`/`pong` both ways, `method`
//! (answered by `result` then `updated`), `sub` (answered by `ready` or `nosub`) and
//! `unsub`. Stream events are sent as Rocket.Chat's streamer sends them: a `changed`
//! frame on collection `stream-<name>` with `{eventName, args}`. Users log in with
//! method `login` `{resume: <auth token>}`, visitors with `livechat:setUpConnection`
//! `{token}`; stream rules are in [`session`].
//!
//! A browser page may open the socket from this server's own origin or from an origin
//! of `LIVECHAT_CORS_ALLOWED_ORIGINS`; other origins are refused (403).
//!
//! Limits: a frame is at most [`MAX_FRAME_BYTES`] (a larger one closes the connection
//! with 1009); a connection holds at most [`MAX_SUBSCRIPTIONS`]; at most
//! `realtime_send_queue_frames` frames wait to be sent to a connection, and a connection
//! that lets more pile up (or falls behind the event bus by more than its capacity) is
//! disconnected; a client silent for `realtime_heartbeat_secs` is pinged and one silent
//! twice as long is disconnected; the socket counts under the server's connection limit
//! until it closes. A frame that is not a JSON object with a `msg` closes the connection
//! with code 1007 and the reason; a binary frame closes it with 1003.

mod frames;
pub mod method_call;
mod methods;
mod session;
mod streams;

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::server::ConnectionSlot;
use frames::{ClientFrame, Malformed, ServerFrame};
use session::{Flow, Session};

/// The largest text frame a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Past this the socket stops reading a frame at all (a frame between this and
/// [`MAX_FRAME_BYTES`] is read, then refused with its own close reason).
const UNREADABLE_FRAME_BYTES: usize = 4 * MAX_FRAME_BYTES;

/// The read buffer a connection starts with. The WebSocket library's default (128 KiB)
/// is zero-filled on the first read, so every idle connection would hold 128 KiB of
/// resident memory; DDP frames are small, and the buffer grows for a larger one.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The most subscriptions one connection may hold.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// The WebSocket route; outside the OpenAPI document (it is no REST operation).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/websocket", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return ApiError::coded("error-websocket-required", "This path speaks DDP over a WebSocket only")
            .into_response();
    };
    if !origin_allowed(&headers, &state.settings.cors_allowed_origins) {
        return ApiError::coded_with_status(StatusCode::FORBIDDEN, "error-origin-not-allowed", "Origin not allowed")
            .into_response();
    }
    // The socket keeps its HTTP connection's place under the connection limit.
    let slot = slot.and_then(|Extension(slot)| slot.take());
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(UNREADABLE_FRAME_BYTES)
        .max_frame_size(UNREADABLE_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            serve(socket, state).await;
            drop(slot);
        })
}

/// Whether a browser page of the request's `Origin` may open the socket: a client that
/// names no origin (not a browser), a page of this server's own origin, or one of the
/// origins the CORS setting allows.
fn origin_allowed(headers: &HeaderMap, cors_allowed_origins: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let own_host = headers.get(HOST).and_then(|host| host.to_str().ok());
    let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    if origin_host.is_some() && origin_host.map(str::to_ascii_lowercase) == own_host.map(str::to_ascii_lowercase) {
        return true;
    }
    cors_allowed_origins.iter().any(|allowed| allowed.trim() == origin)
}

/// Why the server ends a connection.
struct Closing {
    code: u16,
    reason: &'static str,
}

impl Closing {
    fn frame(&self) -> Message {
        Message::Close(Some(CloseFrame { code: self.code, reason: Utf8Bytes::from_static(self.reason) }))
    }
}

/// The connection's frames to the client, bounded.
#[derive(Clone)]
pub struct Outbox(mpsc::Sender<Message>);

/// The client does not read its frames fast enough.
pub struct TooSlow;

impl Outbox {
    pub fn send(&self, frame: ServerFrame) -> Result<(), TooSlow> {
        self.0.try_send(Message::Text(frame.text().into())).map_err(|_| TooSlow)
    }
}

const UNREADABLE: Closing = Closing { code: close_code::PROTOCOL, reason: "unreadable frame" };
const SHUTTING_DOWN: Closing = Closing { code: close_code::AWAY, reason: "server shutting down" };

/// How a connection ends.
enum Ending {
    /// The client closed it, or it broke.
    ByClient,
    /// The server closes it with a code and reason.
    Close(Closing),
    /// The client does not read: it is dropped without waiting to send it anything more.
    TooSlow,
}

async fn serve(socket: WebSocket, state: AppState) {
    let (mut sink, mut incoming) = socket.split();
    let (sender, mut queued) = mpsc::channel::<Message>(state.settings.realtime_send_queue_frames.get());
    // Pinged after the interval of silence, closed after twice that.
    let heartbeat_interval = Duration::from_secs(state.settings.realtime_heartbeat_secs.get());
    let writer = tokio::spawn(async move {
        while let Some(frame) = queued.recv().await {
            let closing = matches!(frame, Message::Close(_));
            if sink.send(frame).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let outbox = Outbox(sender.clone());
    let mut events = state.events.subscribe();
    let mut shutdown = state.events.closing();
    let mut session = Session::new(state, outbox);
    let mut heartbeat = tokio::time::interval(heartbeat_interval / 5);
    let mut last_heard = Instant::now();
    let mut pinged = false;
    let ending = loop {
        tokio::select! {
            frame = incoming.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        break Ending::Close(Closing { code: close_code::UNSUPPORTED, reason: "DDP frames are text" });
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = Instant::now();
                        pinged = false;
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None => break Ending::ByClient,
                    Some(Err(_)) => break Ending::Close(UNREADABLE),
                };
                if text.len() > MAX_FRAME_BYTES {
                    break Ending::Close(Closing { code: close_code::SIZE, reason: "frame too large" });
                }
                last_heard = Instant::now();
                pinged = false;
                let flow = match ClientFrame::parse(&text) {
                    Ok(frame) => session.handle(frame).await,
                    Err(Malformed(reason)) => Flow::Close(close_code::INVALID, reason),
                };
                match flow {
                    Flow::Continue => {}
                    Flow::Close(code, reason) => break Ending::Close(Closing { code, reason }),
                    Flow::TooSlow => break Ending::TooSlow,
                }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    if session.deliver(&event).await.is_err() {
                        break Ending::TooSlow;
                    }
                }
                Err(RecvError::Lagged(_)) => break Ending::TooSlow,
                Err(RecvError::Closed) => break Ending::Close(SHUTTING_DOWN),
            },
            _ = heartbeat.tick() => {
                let silent = last_heard.elapsed();
                if silent >= heartbeat_interval * 2 {
                    break Ending::Close(Closing { code: close_code::AWAY, reason: "heartbeat timeout" });
                }
                if silent >= heartbeat_interval && !pinged {
                    pinged = true;
                    if session.ping().is_err() {
                        break Ending::TooSlow;
                    }
                }
            }
            _ = shutdown.changed() => break Ending::Close(SHUTTING_DOWN),
        }
    };
    match ending {
        Ending::TooSlow => writer.abort(),
        Ending::Close(closing) => {
            let _ = sender.try_send(closing.frame());
        }
        Ending::ByClient => {}
    }
    drop(sender);
    drop(session);
}
