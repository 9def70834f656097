//! The events table: one row per published state change, written by the store inside
//! the transaction of the change, so that no change is published without being stored
//! or stored without being published. The realtime API reads them through
//! [`crate::events::EventBus`]; rows older than the retention are pruned.
//!
//! Waking the readers: on PostgreSQL a trigger sends `NOTIFY livechat_events, '<id>'`
//! with each row (delivered on commit, to every instance); on SQLite every write
//! transaction bumps an in-process counter after it ends, and readers look for rows
//! after the last one they saw.

use sqlx::FromRow;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use super::{Backend, Store, StoreResult, begin_write, on_pool};
use crate::domain::time::Millis;

/// A message was written (by a visitor, an agent or the system); the payload is the
/// stored message.
pub const MESSAGE_SENT: &str = "message.sent";
/// A message's text was edited; the payload is the stored message.
pub const MESSAGE_UPDATED: &str = "message.updated";
/// A message was deleted; the payload is the message as it was.
pub const MESSAGE_DELETED: &str = "message.deleted";
/// The room's inquiry entered the queue (a new room, a return, a transfer to a department).
pub const INQUIRY_QUEUED: &str = "inquiry.queued";
/// The room's inquiry left the queue for an agent.
pub const INQUIRY_TAKEN: &str = "inquiry.taken";
/// The room was closed; the payload names the inquiry and department it had.
pub const ROOM_CLOSED: &str = "room.closed";
/// A queued inquiry was recorded past its SLA due time (by the sweep or by a late take);
/// the payload is a `LivechatSlaBreach`.
pub const SLA_BREACHED: &str = "sla.breached";
/// The agent serving the room set its livechat status; the payload is `{status}`.
pub const AGENT_STATUS: &str = "agent.status";
/// Someone in the room started or stopped typing; the payload is what the client sent.
pub const USER_ACTIVITY: &str = "room.user-activity";
/// The data of the room's visitor changed (one per open room of the visitor, written by
/// a trigger on `visitors`); the payload is `{visitorId}`.
pub const VISITOR_CHANGED: &str = "visitor.changed";
/// An agent left a department (written by a trigger on `department_agents`); no room,
/// the payload is `{departmentId, agentId}`.
pub const DEPARTMENT_AGENT_REMOVED: &str = "department.agent-removed";
/// A closed room was removed with its messages; the payload is `{}`.
pub const ROOM_REMOVED: &str = "room.removed";

/// The PostgreSQL channel the `events_notify` trigger notifies.
const CHANNEL: &str = "livechat_events";

/// How many events one read returns at most.
pub const EVENT_BATCH: i64 = 256;

/// One published change.
#[derive(Clone, Debug, FromRow)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub room_id: Option<String>,
    /// JSON of the kind's fields.
    pub payload: String,
    pub created_at: Millis,
    /// The token of the room's visitor, shown on the visitor's messages.
    pub visitor_token: Option<String>,
}

/// Records an event on a write transaction of either backend.
macro_rules! record_event {
    ($tx:expr, $kind:expr, $room_id:expr, $payload:expr, $now:expr) => {{
        let payload: &str = $payload;
        sqlx::query("INSERT INTO events (kind, room_id, payload, created_at) VALUES ($1, $2, $3, $4)")
            .bind($kind)
            .bind($room_id)
            .bind(payload)
            .bind($now)
            .execute($tx)
            .await?;
    }};
}
pub(super) use record_event;

/// Selects `Event` rows; a WHERE clause on `e` follows.
macro_rules! event_select {
    () => {
        "SELECT e.id, e.kind, e.room_id, e.payload, e.created_at, v.token AS visitor_token FROM events e \
         LEFT JOIN rooms r ON r.id = e.room_id LEFT JOIN visitors v ON v.id = r.visitor_id "
    };
}

/// What woke a reader of events.
#[derive(Debug, PartialEq, Eq)]
pub enum EventWake {
    /// PostgreSQL notified this event.
    Event(i64),
    /// Events may have been written since the last read (a SQLite write transaction
    /// ended, or the PostgreSQL listener reconnected and notifications may be lost).
    Check,
}

/// Where a reader learns that events were written.
pub enum EventFeed {
    Postgres(Box<PgListener>),
    Sqlite(watch::Receiver<u64>),
}

impl EventFeed {
    /// Waits for the next wake. A lost PostgreSQL connection is reopened (and listened
    /// on again) before `Check` is answered, so a read after it misses nothing committed
    /// while the connection was down.
    pub async fn next(&mut self) -> StoreResult<EventWake> {
        match self {
            Self::Postgres(listener) => match listener.try_recv().await? {
                Some(notification) => match notification.payload().parse() {
                    Ok(id) => Ok(EventWake::Event(id)),
                    Err(_) => Ok(EventWake::Check),
                },
                None => {
                    listener.listen(CHANNEL).await?;
                    Ok(EventWake::Check)
                }
            },
            Self::Sqlite(writes) => {
                if writes.changed().await.is_err() {
                    // The store is gone; nothing will be written any more.
                    std::future::pending::<()>().await;
                }
                Ok(EventWake::Check)
            }
        }
    }
}

impl Store {
    /// Starts listening for new events. Events committed after this call reach the
    /// feed; read `latest_event_id` after it to know where to start.
    pub async fn event_feed(&self) -> StoreResult<EventFeed> {
        match &self.backend {
            Backend::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(CHANNEL).await?;
                Ok(EventFeed::Postgres(Box::new(listener)))
            }
            Backend::Sqlite(_) => Ok(EventFeed::Sqlite(self.writes.subscribe())),
        }
    }

    /// Tells in-process readers that a write transaction ended (see the module's notes).
    pub(super) fn write_ended(&self) {
        self.writes.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// The id of the latest event, 0 for none.
    pub async fn latest_event_id(&self) -> StoreResult<i64> {
        const SQL: &str = "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM events";
        let (id,): (i64,) = on_pool!(self, |pool| sqlx::query_as(SQL).fetch_one(pool).await)?;
        Ok(id)
    }

    /// The events after `after`, oldest first, at most `EVENT_BATCH`.
    pub async fn events_after(&self, after: i64) -> StoreResult<Vec<Event>> {
        const SQL: &str = concat!(event_select!(), "WHERE e.id > $1 ORDER BY e.id LIMIT $2");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(after).bind(EVENT_BATCH).fetch_all(pool).await)?)
    }

    pub async fn event_by_id(&self, id: i64) -> StoreResult<Option<Event>> {
        const SQL: &str = concat!(event_select!(), "WHERE e.id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// Deletes the events created before `before`; returns how many.
    pub async fn prune_events(&self, before: Millis) -> StoreResult<u64> {
        const SQL: &str = "DELETE FROM events WHERE created_at < $1";
        Ok(on_pool!(self, |pool| sqlx::query(SQL).bind(before).execute(pool).await.map(|done| done.rows_affected()))?)
    }

    /// Publishes that someone in room `room_id` is typing or stopped (`payload`: what the
    /// client sent, as JSON).
    pub async fn record_user_activity(&self, room_id: &str, payload: &str, now: Millis) -> StoreResult<()> {
        begin_write!(self, |tx| {
            record_event!(&mut *tx, USER_ACTIVITY, room_id, payload, now);
            tx.commit().await?;
            Ok(())
        })
    }
}
