//! The one store both API faces use, in domain words. The backend (PostgreSQL or
//! SQLite) is picked once, from the URL, when the store is opened.
//!
//! Both backends run the same SQL where the dialects agree (numbered `$N` parameters,
//! `RETURNING`, `ON CONFLICT`, partial indexes); each backend owns its pool setup, its
//! migrations and the few statements where they differ. Every state change carries its
//! precondition in the statement's WHERE clause or in a unique index, and the number of
//! rows changed decides the outcome.

mod api_keys;
mod auth;
mod chats;
mod contact_moderation;
mod contacts;
mod custom_fields;
mod customers;
mod departments;
pub mod events;
mod inquiries;
mod message_changes;
mod messages;
mod postgres;
mod priorities;
mod room_data;
mod room_work;
mod rooms;
mod routing;
mod settings;
mod sla;
mod sla_breaches;
mod sql;
mod sqlite;
mod transfers;
mod uploads;
mod users;
mod visitor_rooms;
mod visitors;
mod widget;
mod widget_config;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::DatabaseUrl;
use crate::domain::page::{Direction, SortKey};

pub use api_keys::{API_KEY_NAME_TAKEN, ApiKey, NewApiKey};
pub use auth::{AttemptLimit, AuthUser, PermissionGrant, Reservation, ReservedAttempt};
pub use chats::{AssigneeOutcome, StatusChange, StatusOutcome};
pub use contact_moderation::{ConflictResolution, ConflictingField, Resolution, conflicting_fields};
pub use contacts::{Contact, ContactChanges, ContactRoom, NewContact};
pub use custom_fields::{CustomField, CustomFieldDefinition, CustomFieldSort};
pub use customers::ChatMessage;
pub use departments::{
    AgentDepartment, Department, DepartmentAgent, DepartmentAgentSort, DepartmentChanges, DepartmentFilter,
    DepartmentName, DepartmentSort, DepartmentSummary, NewDepartmentAgent,
};
pub use inquiries::{Inquiry, InquirySortField, QueueEntry, ReturnOutcome, TakeOutcome};
pub use message_changes::{MessageActor, RoomAccess, RoomState};
pub use messages::{AutomaticResume, HistoryActor, Message, NewMessage, ROCKET_CAT, VisitorMessageSent};
pub use priorities::{PrioritizeOutcome, Priority, PriorityChange, PrioritySortField};
pub use room_work::{ResumeOutcome, RoomInfo, RoomWorkState, SaveInfoOutcome, SystemNote};
pub use rooms::{CloseRoom, Closer, InstantRange, NewRoom, Room, RoomFilter, RoomGuard, RoomRemoval, RoomSortField};
pub use routing::{QueueMetric, QueueMetricFilter, QueueMetricSortField};
pub use settings::{Setting, SettingFilter, SettingSortField, SettingValues};
pub use sla::{SetSlaOutcome, SlaPolicy, SlaSortField};
pub use sla_breaches::{SLA_BREACH_MESSAGE, SlaBreach, SlaBreachFilter, SlaBreachState, SlaPolicyStats};
pub use transfers::{
    DepartmentRef, Forward, ForwardOutcome, ForwardTarget, Party, TRANSFER_HISTORY, TransferSortField,
};
pub use uploads::{ConfirmOutcome, NewUpload, Upload};
pub use users::{LivechatUser, LivechatUserSort, NewUser, User, UserListFilter};
pub use visitor_rooms::{VisitorRoomFilter, VisitorRoomSort};
pub use visitors::{Erasure, HttpHeaderInfo, Visitor, VisitorDetails, VisitorSort};
pub use widget::{CustomFieldValue, Role};
pub use widget_config::{NewOfflineMessage, SenderSlot, WidgetDepartment};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the change; the text names the constraint.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The object is outside the caller's reach (not of its departments).
    #[error("outside the caller's reach")]
    OutOfReach,
    /// The room's department asks for tags before closing and the close gives none.
    #[error("tags must be assigned before closing")]
    TagsRequired,
    /// The contact's channel the room would be opened in is blocked.
    #[error("the contact's channel is blocked")]
    ChannelBlocked,
    /// A conditional change kept finding its row changed by others and was given up;
    /// trying it again may succeed.
    #[error("the row kept changing concurrently")]
    Contention,
    /// The database cannot be reached (connection refused, pool timed out or closed).
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl StoreError {
    /// Whether a unique-constraint conflict was raised by the constraint or index
    /// `name` (PostgreSQL reports the name; SQLite names index or column in its message).
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, Self::Conflict(constraint) if constraint.contains(name))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(ref database_error) if gave_up_waiting(database_error.as_ref()) => {
                Self::Unavailable(error)
            }
            sqlx::Error::Database(ref database_error) if database_error.is_unique_violation() => {
                let constraint = database_error
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| database_error.message().to_owned());
                Self::Conflict(constraint)
            }
            other => Self::Database(other),
        }
    }
}

/// Whether the database refused to wait any longer: PostgreSQL cancelled a statement
/// (its `statement_timeout`, SQLSTATE 57014) or is shutting down (57P01..57P03), or
/// SQLite's busy timeout ran out on a lock (SQLITE_BUSY and its extended codes).
fn gave_up_waiting(error: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(error) = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return matches!(error.code(), "57014" | "57P01" | "57P02" | "57P03");
    }
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return error.code().and_then(|code| code.parse::<i32>().ok()).is_some_and(|code| code & 0xff == 5);
    }
    false
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug)]
enum Backend {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// The handle every request uses; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    max_connections: u32,
    /// Store operations under way, to estimate how many wait for a connection.
    in_flight: Arc<AtomicUsize>,
    /// Bumped after every SQLite write transaction ends, to wake the event readers.
    writes: Arc<watch::Sender<u64>>,
}

/// Tells in-process event readers, when dropped, that a write transaction ended.
pub(crate) struct WriteEnded<'a>(&'a Store);

impl Drop for WriteEnded<'_> {
    fn drop(&mut self) {
        self.0.write_ended();
    }
}

/// The pool as metrics show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub max: u32,
    pub open: u32,
    pub idle: u32,
    /// Operations waiting for a connection: those under way beyond the connections in use.
    pub waiting: u32,
}

/// Counts one store operation while it lives.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A list's sort field, mapped to one fixed SQL expression.
pub trait SortColumn: Copy {
    fn column(self) -> &'static str;
}

/// ` ORDER BY ...` from whitelisted fields, then `tiebreak` so pages are stable. The
/// text is assembled only from static fragments, which is why callers may pass it to
/// `sqlx::AssertSqlSafe`.
fn order_by<F: SortColumn>(keys: &[SortKey<F>], tiebreak: &'static str) -> String {
    let mut clause = String::from(" ORDER BY ");
    for key in keys {
        clause.push_str(key.field.column());
        clause.push_str(match key.direction {
            Direction::Asc => " ASC, ",
            Direction::Desc => " DESC, ",
        });
    }
    clause.push_str(tiebreak);
    clause
}

/// A `LIKE ... ESCAPE '\'` pattern matching `text` anywhere, lower-cased for
/// case-insensitive comparison with `LOWER(column)`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for character in text.to_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// A `LIKE ... ESCAPE '\\'` pattern matching text that starts with `text`, lower-cased
/// for case-insensitive comparison with `LOWER(column)`.
fn prefix_pattern(text: &str) -> String {
    let mut pattern = contains_pattern(text);
    pattern.remove(0);
    pattern
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` and `idle_in_transaction_session_timeout` on
    /// every connection; zero turns them off. SQLite has no equivalent.
    pub statement_timeout: Duration,
    /// The idle time before PostgreSQL probes a silent connection with keepalives; zero
    /// leaves the operating system's defaults. SQLite has no equivalent.
    pub tcp_keepalive: Duration,
}

/// Runs the same body against whichever pool the store has, counting the operation
/// while it runs.
///
/// The body is compiled twice, once with `$pool` a `&PgPool` and once a `&SqlitePool`,
/// so the Rust types are checked for each driver: every bound value must encode for
/// that database (`Encode` and `Type`) and every row type or tuple read must decode
/// from its rows (`FromRow`, hence `Decode` for each field). The SQL text is not
/// checked at build time: the store calls the `sqlx::query` and `sqlx::query_as`
/// functions, not the `query!` macros, so the build never reads a database and the
/// text is only a value (a `&'static str`, or text assembled from static fragments and
/// passed through `sqlx::AssertSqlSafe`). Syntax and table and column names are checked
/// by each database when it prepares the statement at run time, and column types
/// against the Rust types when rows are decoded. Only PostgreSQL refuses a wrong number
/// of bound values; SQLite's driver binds a `$N` without a value as NULL and ignores
/// values no `$N` uses. The API tests run on both backends (SQLite always, PostgreSQL
/// when `TEST_DATABASE_URL` is set) to catch what the build cannot.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {{
        let _in_flight = $store.operation_started();
        match &$store.backend {
            $crate::store::Backend::Postgres($pool) => $body,
            $crate::store::Backend::Sqlite($pool) => $body,
        }
    }};
}
pub(crate) use on_pool;

/// Begins a transaction that will write. SQLite takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing
/// when both try to upgrade a read lock.
macro_rules! begin_write {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let _in_flight = $store.operation_started();
        match &$store.backend {
            $crate::store::Backend::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                $body
            }
            $crate::store::Backend::Sqlite(pool) => {
                // Declared before the transaction, so dropped after it ends.
                let _ended = $store.write_guard();
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
        }
    }};
}
pub(crate) use begin_write;

impl Store {
    /// Connects (creating a SQLite file and its folder if missing); does not migrate.
    pub async fn open(options: &StoreOptions) -> StoreResult<Self> {
        let backend = match &options.url {
            DatabaseUrl::Postgres(url) => Backend::Postgres(postgres::connect(url, options).await?),
            DatabaseUrl::Sqlite(url) => Backend::Sqlite(sqlite::connect(url, options).await?),
        };
        Ok(Self {
            backend,
            max_connections: options.max_connections,
            in_flight: Arc::default(),
            writes: Arc::new(watch::channel(0).0),
        })
    }

    fn write_guard(&self) -> WriteEnded<'_> {
        WriteEnded(self)
    }

    fn operation_started(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (open, idle) = match &self.backend {
            Backend::Postgres(pool) => (pool.size(), pool.num_idle()),
            Backend::Sqlite(pool) => (pool.size(), pool.num_idle()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        let in_use = open.saturating_sub(idle);
        let in_flight = u32::try_from(self.in_flight.load(Ordering::Relaxed)).unwrap_or(u32::MAX);
        PoolStats { max: self.max_connections, open, idle, waiting: in_flight.saturating_sub(in_use) }
    }

    /// Queued inquiries per department id (`None`: no department), from the counters.
    pub async fn queue_depths(&self) -> StoreResult<Vec<(Option<String>, i64)>> {
        const SQL: &str = "SELECT department_key, queued FROM queue_counts ORDER BY department_key";
        let rows: Vec<(String, i64)> = on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(key, queued)| ((!key.is_empty()).then_some(key), queued)).collect())
    }

    /// Applies the backend's pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Postgres(pool) => {
                // Migrations may build indexes or wait for another instance's migration
                // lock for longer than the statement timeout: they run on a connection of
                // their own without it, closed afterwards.
                let mut connection = pool.acquire().await?;
                connection.close_on_drop();
                sqlx::query("SET statement_timeout = 0").execute(&mut *connection).await?;
                sqlx::query("SET idle_in_transaction_session_timeout = 0").execute(&mut *connection).await?;
                sqlx::migrate!("./migrations/postgres").run(&mut *connection).await?
            }
            Backend::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Closes every connection; used at shutdown.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    struct Column(&'static str);

    impl SortColumn for Column {
        fn column(self) -> &'static str {
            self.0
        }
    }

    #[test]
    fn order_by_lists_keys_then_the_tiebreak() {
        let keys = [
            SortKey { field: Column("name"), direction: Direction::Asc },
            SortKey { field: Column("updated_at"), direction: Direction::Desc },
        ];
        assert_eq!(order_by(&keys, "id"), " ORDER BY name ASC, updated_at DESC, id");
        assert_eq!(order_by::<Column>(&[], "id"), " ORDER BY id");
    }

    #[test]
    fn contains_pattern_escapes_like_wildcards() {
        assert_eq!(contains_pattern("Sa_l%s\\"), "%sa\\_l\\%s\\\\%");
    }

    #[test]
    fn prefix_pattern_matches_from_the_start() {
        assert_eq!(prefix_pattern("Ma_ria"), "ma\\_ria%");
    }
}
