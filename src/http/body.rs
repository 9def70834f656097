//! Reading a request body within bounds: the route's size limit, and a budget of the
//! body bytes being read at once across all requests.
//!
//! A route's body extractor names its limit ([`MAX_BODY_BYTES`] unless it says
//! [`SMALL_BODY_BYTES`]); a declared `Content-Length` over it is refused before any of
//! the body is read, and a chunked body is cut off when it grows past it. Before reading,
//! the body reserves its declared length (a chunked one, the route's limit) from the
//! [`BodyBudget`], and holds it until the body is parsed: a flood of large bodies costs at
//! most the budget, however many connections send them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::json_guard::JsonGuard;

/// Largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The limit of routes whose bodies are a few ids or names (login, take, status changes).
pub const SMALL_BODY_BYTES: usize = 8 * 1024;

/// Reservations up to this size draw on the share of the budget kept for them, so that
/// ordinary requests are not held up behind large bodies.
const SMALL_RESERVATION: usize = 16 * 1024;

/// How long a body waits for room in the budget before it is refused.
const BUDGET_WAIT: Duration = Duration::from_secs(1);

/// The budget is counted in KiB.
const UNIT: usize = 1024;

/// The body bytes that may be read at once, in two shares: a quarter for reservations
/// of up to [`SMALL_RESERVATION`], the rest for larger ones.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    small: Arc<Semaphore>,
    large: Arc<Semaphore>,
}

impl BodyBudget {
    /// A budget of `bytes`; none (unbounded) for 0.
    pub fn new(bytes: usize) -> Option<Self> {
        let units = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        if units == 0 {
            return None;
        }
        let small = units.div_ceil(4);
        Some(Self { small: Arc::new(Semaphore::new(small)), large: Arc::new(Semaphore::new(units - small)) })
    }

    /// Room for `bytes`, waiting up to [`BUDGET_WAIT`]; `None` when there was none.
    pub(crate) async fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let share = if bytes <= SMALL_RESERVATION { &self.small } else { &self.large };
        let units = u32::try_from(bytes.div_ceil(UNIT).max(1)).ok()?;
        tokio::time::timeout(BUDGET_WAIT, share.clone().acquire_many_owned(units)).await.ok()?.ok()
    }
}

/// Why a body was not read.
#[derive(Debug)]
pub enum Unread {
    /// Declared or grown past the route's limit.
    TooLarge,
    /// Not received within the body read timeout.
    Late,
    /// No room in the budget within [`BUDGET_WAIT`].
    Busy,
    /// The connection failed while it was read.
    Failed,
    /// Past the JSON guard's limits: refused without reading the rest.
    TooComplex,
}

/// The error a body stream gives once its read timeout has passed.
#[derive(Debug)]
pub struct BodyLate;

impl std::fmt::Display for BodyLate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the request body was not received in time")
    }
}

impl std::error::Error for BodyLate {}

/// A body read whole, with its room in the budget, held until it is dropped.
pub struct ReadBody {
    pub bytes: Bytes,
    pub reservation: Option<OwnedSemaphorePermit>,
}

/// The declared `Content-Length`, if any.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH).and_then(|value| value.to_str().ok()).and_then(|value| value.parse().ok())
}

/// Reads `request`'s body, of at most `limit` bytes, within the budget the server put in
/// the request's extensions (none in unit tests). With a `guard`, each piece is counted
/// as it arrives, and a body past the guard's limits is refused there.
pub async fn read(request: Request, limit: usize, mut guard: Option<JsonGuard>) -> Result<ReadBody, Unread> {
    let declared = declared_length(request.headers());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Unread::TooLarge);
    }
    if http_body::Body::size_hint(request.body()).exact() == Some(0) {
        return Ok(ReadBody { bytes: Bytes::new(), reservation: None });
    }
    // A declared length is at most the limit here; a chunked body may grow to it.
    let expected = declared.map_or(limit, |length| length as usize);
    let reservation = match request.extensions().get::<BodyBudget>() {
        Some(budget) => Some(budget.reserve(expected).await.ok_or(Unread::Busy)?),
        None => None,
    };
    let mut data = request.into_body().into_data_stream();
    let mut received = Vec::with_capacity(declared.map_or(0, |length| length as usize));
    while let Some(chunk) = data.next().await {
        match chunk {
            Ok(chunk) if received.len() + chunk.len() > limit => return Err(Unread::TooLarge),
            Ok(chunk) if guard.as_mut().is_some_and(|guard| !guard.feed(&chunk)) => return Err(Unread::TooComplex),
            Ok(chunk) => received.extend_from_slice(&chunk),
            Err(error) if is_late(&error) => return Err(Unread::Late),
            Err(_) => return Err(Unread::Failed),
        }
    }
    Ok(ReadBody { bytes: Bytes::from(received), reservation })
}

fn is_late(error: &axum::Error) -> bool {
    failed_late(error)
}

/// Whether `path` is a file upload route (`livechat/upload/{rid}`, `rooms.media/{rid}`):
/// its body is streamed into the file storage under the limit of the setting
/// FileUpload_MaxFileSize, so the server's 1 MiB limit does not apply to it.
pub fn is_upload_path(path: &str) -> bool {
    path.starts_with("/api/v1/livechat/upload/") || path.starts_with("/api/v1/rooms.media/")
}

/// Whether a body read failed because its read timeout passed.
pub fn failed_late(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<BodyLate>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// A size as the refusals word it: `1 MiB`, `8 KiB`.
pub fn size_name(bytes: usize) -> String {
    match bytes {
        bytes if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) => format!("{} MiB", bytes / (1024 * 1024)),
        bytes if bytes >= 1024 && bytes.is_multiple_of(1024) => format!("{} KiB", bytes / 1024),
        bytes => format!("{bytes} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_named_in_their_largest_whole_unit() {
        assert_eq!(size_name(MAX_BODY_BYTES), "1 MiB");
        assert_eq!(size_name(SMALL_BODY_BYTES), "8 KiB");
        assert_eq!(size_name(1500), "1500 bytes");
    }

    #[tokio::test]
    async fn small_reservations_have_room_while_large_ones_fill_their_share() {
        let budget = BodyBudget::new(64 * 1024).unwrap();
        let large = budget.reserve(48 * 1024).await;
        assert!(large.is_some());
        assert!(budget.reserve(17 * 1024).await.is_none(), "the large share is full");
        let small: Vec<_> = futures::future::join_all((0..16).map(|_| budget.reserve(1024))).await;
        assert!(small.iter().all(Option::is_some));
        assert!(budget.reserve(10).await.is_none(), "the small share is full");
        drop(large);
        assert!(budget.reserve(40 * 1024).await.is_some());
        assert!(BodyBudget::new(0).is_none());
    }
}
