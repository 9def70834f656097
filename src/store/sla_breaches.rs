//! SLA breaches: inquiries still queued at their due time, recorded once each, and the
//! figures read from those records.
//!
//! The due time is the room's generated column `sla_due_at`; a breach is a row of
//! `sla_breaches`, unique per inquiry and due time, so however many instances sweep at
//! once each breach is recorded, and announced in its room and as an `sla.breached`
//! event, exactly once. The sweep records inquiries still queued; a take after the due
//! time that no sweep saw yet records its breach itself (`record_breach_at_take`).

use serde::Serialize;
use sqlx::FromRow;

use std::collections::HashMap;

use super::events::{MESSAGE_SENT, SLA_BREACHED};
use super::sql::{json_strings, message_columns, within_reach};
use super::{Backend, InstantRange, Message, Store, StoreResult, begin_write, on_pool};
use crate::domain::page::Page;
use crate::domain::time::{Millis, iso};

/// The system message that announces a breach in its room.
pub const SLA_BREACH_MESSAGE: &str = "omnichannel_sla_breach";

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct SlaBreach {
    pub inquiry_id: String,
    pub room_id: String,
    pub policy_id: String,
    pub department_id: Option<String>,
    pub due_at: Millis,
    pub breached_at: Millis,
    /// When the inquiry was finally taken; none while it waits.
    pub taken_at: Option<Millis>,
    /// When the room was closed with its inquiry never taken; none otherwise.
    pub closed_at: Option<Millis>,
}

/// Where a breached inquiry stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaBreachState {
    /// Still queued.
    Open,
    /// Taken by an agent since.
    Taken,
    /// Closed without being taken.
    Closed,
}

impl SlaBreachState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Taken => "taken",
            Self::Closed => "closed",
        }
    }
}

/// The payload of an `sla.breached` event, stored for the webhooks and realtime streams
/// to carry (Rocket.Chat has no such event; the name follows its `ILivechat*` types).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LivechatSlaBreach<'a> {
    pub inquiry_id: &'a str,
    pub room_id: &'a str,
    pub sla_id: &'a str,
    /// The policy's name when the breach was recorded; none if it was deleted meanwhile.
    pub sla_name: Option<&'a str>,
    pub department_id: Option<&'a str>,
    pub due_at: String,
    pub breached_at: String,
}

/// Which breaches a listing shows; every part is optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct SlaBreachFilter<'a> {
    pub policy_id: Option<&'a str>,
    pub department_id: Option<&'a str>,
    /// Breached within these instants, both included.
    pub breached: InstantRange,
    /// Only breaches whose inquiry stands so.
    pub state: Option<SlaBreachState>,
    /// Whose departments bound the breaches shown (see `within_reach`): those of its
    /// departments and of none; every breach when none.
    pub bound: Option<&'a str>,
}

/// One policy's figures over the inquiries that carry it.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct SlaPolicyStats {
    pub policy_id: String,
    pub name: String,
    /// Inquiries with the policy and a due time, open or closed.
    pub inquiries: i64,
    /// Of those, taken at or before their due time.
    pub met: i64,
    /// Of those, recorded as breached at their current due time.
    pub breached: i64,
    /// The median of queued-to-taken of the taken ones; none when none was taken.
    pub median_wait: Option<Millis>,
}

/// Due breaches claimed by one statement of the sweep.
const SWEEP_BATCH: i64 = 500;

/// Queued inquiries past their due time without a breach at it, claimed and recorded.
/// PostgreSQL skips rooms another transaction holds (a take, or another instance's
/// sweep): those are seen again, as they then are, on the next sweep. SQLite has one
/// writer at a time.
macro_rules! claim_due_breaches {
    ($lock:literal) => {
        concat!(
            "WITH due AS (SELECT r.inquiry_id, r.id, r.sla_id, r.department_id, r.sla_due_at FROM rooms r \
               WHERE r.inquiry_status = 'queued' AND r.sla_due_at <= $1 \
                 AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.inquiry_id = r.inquiry_id AND b.due_at = r.sla_due_at) \
               ORDER BY r.sla_due_at LIMIT $2",
            $lock,
            ") INSERT INTO sla_breaches (inquiry_id, room_id, policy_id, department_id, due_at, breached_at) \
             SELECT inquiry_id, id, sla_id, department_id, sla_due_at, $1 FROM due WHERE TRUE \
             ON CONFLICT (inquiry_id, due_at) DO NOTHING \
             RETURNING inquiry_id, room_id, policy_id, department_id, due_at, breached_at, taken_at, closed_at"
        )
    };
}

/// Announces breaches just recorded on a write transaction: for each, the system
/// message in its room (with its `message.sent` event) and the `sla.breached` event;
/// `$message_id` names each message. A batch costs three statements however many
/// breaches it holds (the policies' names, the messages, the events): a sweep that fell
/// behind catches up in a few round trips instead of three per breach.
macro_rules! announce_breaches {
    ($tx:expr, $breaches:expr, $message_id:expr) => {{
        let breaches: &[$crate::store::SlaBreach] = $breaches;
        if !breaches.is_empty() {
            let sql = $crate::store::sla_breaches::announcement_sql(&*$tx);
            let policy_ids = $crate::store::sla_breaches::policy_ids_json(breaches);
            let policy_names: Vec<(String, String)> =
                sqlx::query_as(sql.policy_names).bind(&policy_ids).fetch_all(&mut *$tx).await?;
            let messages = $crate::store::sla_breaches::breach_messages(breaches, $message_id);
            let stored: Vec<$crate::store::Message> = sqlx::query_as(sql.insert_messages)
                .bind(serde_json::to_string(&messages).expect("breach messages serialize"))
                .bind($crate::store::SLA_BREACH_MESSAGE)
                // Written in the name of the server's bot, as Rocket.Chat writes its own.
                .bind($crate::store::ROCKET_CAT)
                .bind("Rocket.Cat")
                .fetch_all(&mut *$tx)
                .await?;
            let events = $crate::store::sla_breaches::breach_events(breaches, &messages, stored, &policy_names);
            sqlx::query(sql.insert_events).bind(events).execute(&mut *$tx).await?;
        }
    }};
}

/// The statements that announce a batch of breaches, in the words of the backend whose
/// connection a transaction derefs to (see `announce_breaches`).
pub struct AnnouncementSql {
    /// `(id, name)` of the policies named by the JSON array of ids `$1`.
    pub(super) policy_names: &'static str,
    /// Inserts the messages of the JSON array `$1` of `BreachMessage`s, of type `$2`,
    /// by the user `$3` named `$4`, returning the stored rows.
    pub(super) insert_messages: &'static str,
    /// Inserts the JSON array `$1` of `BreachEvent`s, in its order.
    pub(super) insert_events: &'static str,
}

pub trait AnnouncementDialect {
    const ANNOUNCEMENT_SQL: AnnouncementSql;
}

impl AnnouncementDialect for sqlx::PgConnection {
    const ANNOUNCEMENT_SQL: AnnouncementSql = AnnouncementSql {
        policy_names: concat!("SELECT id, name FROM sla_policies WHERE id IN (", json_strings!(postgres, "$1"), ")"),
        insert_messages: concat!(
            "INSERT INTO messages (id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, \
               extra, ts, updated_at) \
             SELECT m.item->>'id', m.item->>'roomId', '', $2, $3, $3, $4, FALSE, m.item->>'extra', \
               CAST(m.item->>'ts' AS BIGINT), CAST(m.item->>'ts' AS BIGINT) \
             FROM jsonb_array_elements(CAST($1 AS jsonb)) AS m(item) RETURNING ",
            message_columns!()
        ),
        insert_events: "INSERT INTO events (kind, room_id, payload, created_at) \
             SELECT e.item->>'kind', e.item->>'roomId', e.item->>'payload', CAST(e.item->>'createdAt' AS BIGINT) \
             FROM jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(item, position) ORDER BY e.position",
    };
}

impl AnnouncementDialect for sqlx::SqliteConnection {
    const ANNOUNCEMENT_SQL: AnnouncementSql = AnnouncementSql {
        policy_names: concat!("SELECT id, name FROM sla_policies WHERE id IN (", json_strings!(sqlite, "$1"), ")"),
        insert_messages: concat!(
            "INSERT INTO messages (id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, \
               extra, ts, updated_at) \
             SELECT json_extract(m.value, '$.id'), json_extract(m.value, '$.roomId'), '', $2, $3, $3, $4, FALSE, \
               json_extract(m.value, '$.extra'), json_extract(m.value, '$.ts'), json_extract(m.value, '$.ts') \
             FROM json_each($1) AS m RETURNING ",
            message_columns!()
        ),
        insert_events: "INSERT INTO events (kind, room_id, payload, created_at) \
             SELECT json_extract(e.value, '$.kind'), json_extract(e.value, '$.roomId'), \
               json_extract(e.value, '$.payload'), json_extract(e.value, '$.createdAt') \
             FROM json_each($1) AS e ORDER BY e.key",
    };
}

/// The announcement statements of the backend of `connection`.
pub fn announcement_sql<C: AnnouncementDialect>(_connection: &C) -> AnnouncementSql {
    C::ANNOUNCEMENT_SQL
}

/// One breach's system message, as the batch insert reads it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreachMessage<'a> {
    id: String,
    room_id: &'a str,
    extra: String,
    ts: Millis,
}

/// One event of a batch, as the batch insert reads it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BreachEvent<'a> {
    kind: &'static str,
    room_id: &'a str,
    payload: String,
    created_at: Millis,
}

/// The JSON array of the distinct policies of `breaches`.
pub fn policy_ids_json(breaches: &[SlaBreach]) -> String {
    let ids: std::collections::BTreeSet<&str> = breaches.iter().map(|breach| breach.policy_id.as_str()).collect();
    serde_json::to_string(&ids).expect("strings serialize")
}

/// The system message of each breach, in order, each named by `message_id`.
pub fn breach_messages(breaches: &[SlaBreach], message_id: impl Fn() -> String) -> Vec<BreachMessage<'_>> {
    breaches
        .iter()
        .map(|breach| BreachMessage {
            id: message_id(),
            room_id: &breach.room_id,
            extra: serde_json::json!({"slaBreach": {
                "slaId": breach.policy_id,
                "dueAt": iso(breach.due_at),
                "breachedAt": iso(breach.breached_at),
            }})
            .to_string(),
            ts: breach.breached_at,
        })
        .collect()
}

/// The JSON array of the events of `breaches`: for each, its message's `message.sent`
/// (from the `stored` rows of `messages`), then its `sla.breached`.
pub fn breach_events(
    breaches: &[SlaBreach],
    messages: &[BreachMessage<'_>],
    stored: Vec<Message>,
    policy_names: &[(String, String)],
) -> String {
    let mut stored: HashMap<String, Message> =
        stored.into_iter().map(|message| (message.id.clone(), message)).collect();
    let policy_names: HashMap<&str, &str> =
        policy_names.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    let mut events = Vec::with_capacity(breaches.len() * 2);
    for (breach, message) in breaches.iter().zip(messages) {
        let stored = stored.remove(&message.id).expect("every breach message is stored");
        events.push(BreachEvent {
            kind: MESSAGE_SENT,
            room_id: &breach.room_id,
            payload: serde_json::to_string(&stored).expect("a message serializes"),
            created_at: breach.breached_at,
        });
        let payload = LivechatSlaBreach {
            inquiry_id: &breach.inquiry_id,
            room_id: &breach.room_id,
            sla_id: &breach.policy_id,
            sla_name: policy_names.get(breach.policy_id.as_str()).copied(),
            department_id: breach.department_id.as_deref(),
            due_at: iso(breach.due_at),
            breached_at: iso(breach.breached_at),
        };
        events.push(BreachEvent {
            kind: SLA_BREACHED,
            room_id: &breach.room_id,
            payload: serde_json::to_string(&payload).expect("a breach serializes"),
            created_at: breach.breached_at,
        });
    }
    serde_json::to_string(&events).expect("events serialize")
}

/// Records, on the transaction of a take that just took room `$room_id` out of the
/// queue, the breach the sweep had not recorded yet: when the take came after the due
/// time (it was queued past it) and no breach of that due time exists. Between a due
/// time and the next sweep a take would otherwise leave no record. The unique key keeps
/// it once with a concurrent sweep; the breach is born taken. Only for takes of an
/// inquiry that was queued: a taken room passed to another agent is not taken again.
macro_rules! record_breach_at_take {
    ($tx:expr, $room_id:expr) => {{
        const LATE_TAKE: &str = "INSERT INTO sla_breaches \
               (inquiry_id, room_id, policy_id, department_id, due_at, breached_at, taken_at) \
             SELECT inquiry_id, id, sla_id, department_id, sla_due_at, taken_at, taken_at FROM rooms \
             WHERE id = $1 AND inquiry_status = 'taken' AND sla_due_at < taken_at \
             ON CONFLICT (inquiry_id, due_at) DO NOTHING \
             RETURNING inquiry_id, room_id, policy_id, department_id, due_at, breached_at, taken_at, closed_at";
        let breaches: Vec<$crate::store::SlaBreach> =
            sqlx::query_as(LATE_TAKE).bind($room_id).fetch_all(&mut *$tx).await?;
        $crate::store::sla_breaches::announce_breaches!($tx, &breaches, $crate::domain::ids::meteor_id);
    }};
}
pub(super) use {announce_breaches, record_breach_at_take};

impl Store {
    /// Records a breach for every queued inquiry whose due time is at or before `now`
    /// and has none yet, each with its system message in the room and its `sla.breached`
    /// event, a batch per transaction; `message_id` names each message. Returns the breaches recorded here.
    pub async fn record_due_breaches(
        &self,
        now: Millis,
        message_id: impl Fn() -> String,
    ) -> StoreResult<Vec<SlaBreach>> {
        const CLAIM_POSTGRES: &str = claim_due_breaches!(" FOR UPDATE OF r SKIP LOCKED");
        const CLAIM_SQLITE: &str = claim_due_breaches!("");
        let claim = match self.backend {
            Backend::Postgres(_) => CLAIM_POSTGRES,
            Backend::Sqlite(_) => CLAIM_SQLITE,
        };
        // Most sweeps find nothing due: they read, and take no write lock.
        const ANY_DUE: &str = "SELECT EXISTS (SELECT 1 FROM rooms r WHERE r.inquiry_status = 'queued' \
             AND r.sla_due_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.inquiry_id = r.inquiry_id AND b.due_at = r.sla_due_at))";
        let (any_due,): (bool,) = on_pool!(self, |pool| sqlx::query_as(ANY_DUE).bind(now).fetch_one(pool).await)?;
        let mut recorded = Vec::new();
        if !any_due {
            return Ok(recorded);
        }
        loop {
            let batch: Vec<SlaBreach> = begin_write!(self, |tx| {
                let batch: Vec<SlaBreach> =
                    sqlx::query_as(claim).bind(now).bind(SWEEP_BATCH).fetch_all(&mut *tx).await?;
                announce_breaches!(tx, &batch, &message_id);
                tx.commit().await?;
                batch
            });
            let full = batch.len() as i64 == SWEEP_BATCH;
            recorded.extend(batch);
            if !full {
                return Ok(recorded);
            }
        }
    }

    /// Breaches matching `filter`, newest first, with the number matching.
    pub async fn sla_breaches(&self, filter: &SlaBreachFilter<'_>, page: Page) -> StoreResult<(Vec<SlaBreach>, i64)> {
        macro_rules! breach_where {
            () => {
                concat!(
                    "WHERE ($1 IS NULL OR policy_id = $1) AND ($2 IS NULL OR department_id = $2) \
                   AND ($3 IS NULL OR breached_at >= $3) AND ($4 IS NULL OR breached_at <= $4) \
                   AND ($5 IS NULL OR ($5 = 'open' AND taken_at IS NULL AND closed_at IS NULL) \
                     OR ($5 = 'taken' AND taken_at IS NOT NULL) OR ($5 = 'closed' AND closed_at IS NOT NULL)) AND ",
                    within_reach!("", "$6"),
                    " "
                )
            };
        }
        const LIST: &str = concat!(
            "SELECT inquiry_id, room_id, policy_id, department_id, due_at, breached_at, taken_at, closed_at \
             FROM sla_breaches ",
            breach_where!(),
            "ORDER BY breached_at DESC, num_id DESC LIMIT $7 OFFSET $8"
        );
        const COUNT: &str = concat!("SELECT COUNT(*) FROM sla_breaches ", breach_where!());
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(filter.policy_id)
                    .bind(filter.department_id)
                    .bind(filter.breached.start)
                    .bind(filter.breached.end)
                    .bind(filter.state.map(SlaBreachState::as_str))
                    .bind(filter.bound)
            };
        }
        on_pool!(self, |pool| {
            let breaches =
                bind_filter!(sqlx::query_as(LIST)).bind(page.count).bind(page.offset).fetch_all(pool).await?;
            let (total,): (i64,) = bind_filter!(sqlx::query_as(COUNT)).fetch_one(pool).await?;
            Ok((breaches, total))
        })
    }

    /// Breaches recorded per policy id, for the breach counter of the metrics.
    pub async fn sla_breach_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        const SQL: &str = "SELECT policy_id, COUNT(*) FROM sla_breaches GROUP BY policy_id ORDER BY policy_id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// The soonest due time of the queued inquiries of each policy.
    pub async fn soonest_sla_due_times(&self) -> StoreResult<Vec<(String, Millis)>> {
        const SQL: &str = "SELECT sla_id, MIN(sla_due_at) FROM rooms \
             WHERE inquiry_status = 'queued' AND sla_due_at IS NOT NULL GROUP BY sla_id ORDER BY sla_id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Figures per policy, of every policy, by name, over the inquiries within reach of
    /// `bound` (see `within_reach`).
    pub async fn sla_stats(&self, bound: Option<&str>) -> StoreResult<Vec<SlaPolicyStats>> {
        macro_rules! of_policy {
            () => {
                concat!("FROM rooms r WHERE r.sla_id = p.id AND ", within_reach!("r.", "$1"))
            };
        }
        // The median is the mean of the middle one or two waits, ranked within the policy.
        const SQL: &str = concat!(
            "SELECT p.id AS policy_id, p.name, \
               (SELECT COUNT(*) ",
            of_policy!(),
            " AND r.sla_due_at IS NOT NULL) AS inquiries, (SELECT COUNT(*) ",
            of_policy!(),
            " AND r.taken_at <= r.sla_due_at) AS met, (SELECT COUNT(*) ",
            of_policy!(),
            " AND EXISTS (SELECT 1 FROM sla_breaches b WHERE b.inquiry_id = r.inquiry_id AND b.due_at = r.sla_due_at)) \
               AS breached, \
             (SELECT (MIN(w.wait) + MAX(w.wait)) / 2 FROM (SELECT r.taken_at - r.queued_at AS wait, \
                ROW_NUMBER() OVER (ORDER BY r.taken_at - r.queued_at) AS wait_rank, COUNT(*) OVER () AS taken_count ",
            of_policy!(),
            " AND r.taken_at IS NOT NULL) w WHERE w.wait_rank IN ((w.taken_count + 1) / 2, (w.taken_count + 2) / 2)) AS median_wait \
             FROM sla_policies p ORDER BY p.name"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(bound).fetch_all(pool).await)?)
    }
}
