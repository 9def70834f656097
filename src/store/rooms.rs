//! Visitors, livechat rooms with their inquiries, and messages.
//!
//! A room row is both faces' conversation: its `inquiry_status` is the Rocket.Chat
//! queue state and its `chat_status` the HelpCrunch status. Each transition is one
//! UPDATE whose WHERE clause holds the precondition, so concurrent requests cannot
//! both win; the number of rows changed decides the answer.

use sqlx::FromRow;

use super::{Backend, SortColumn, Store, StoreError, StoreResult, begin_write, on_pool, order_by};
use crate::domain::chat::{CLOSED_BY_AGENT, CLOSED_BY_CUSTOMER, INQUIRY_QUEUED};
use crate::domain::page::{Page, SortKey};
use crate::domain::queue::QueueSort;
use crate::domain::time::Millis;

#[derive(Clone, Debug, FromRow)]
pub struct Visitor {
    pub id: String,
    pub num_id: i64,
    pub token: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department_id: Option<String>,
    pub status: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Visitor {
    /// Rocket.Chat's guest username, derived from the integer id.
    pub fn username(&self) -> String {
        format!("guest-{}", self.num_id)
    }

    /// The name shown for the visitor: its name, or its username when it gave none.
    pub fn display_name(&self) -> String {
        self.name.clone().filter(|name| !name.is_empty()).unwrap_or_else(|| self.username())
    }
}

/// What a visitor registration sets; absent fields keep their stored values.
pub struct VisitorDetails<'a> {
    pub id: &'a str,
    pub token: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub department_id: Option<&'a str>,
    pub now: Millis,
}

#[derive(Clone, Debug, FromRow)]
pub struct Message {
    pub id: String,
    pub num_id: i64,
    pub room_id: String,
    pub msg: String,
    /// Rocket.Chat's message type (`t`), e.g. `livechat-close`; none for plain text.
    pub kind: Option<String>,
    pub author_id: String,
    pub author_username: String,
    pub author_name: Option<String>,
    pub from_visitor: bool,
    /// JSON of type-specific fields of system messages.
    pub extra: Option<String>,
    pub ts: Millis,
    pub updated_at: Millis,
}

/// The last message of a room, as joined into the room row.
#[derive(Clone, Debug, FromRow)]
pub struct LastMessageColumns {
    lm_id: Option<String>,
    lm_num_id: Option<i64>,
    lm_msg: Option<String>,
    lm_kind: Option<String>,
    lm_author_id: Option<String>,
    lm_author_username: Option<String>,
    lm_author_name: Option<String>,
    lm_from_visitor: Option<bool>,
    lm_extra: Option<String>,
    lm_ts: Option<Millis>,
    lm_updated_at: Option<Millis>,
}

/// A room with what both faces show of it: visitor, department, assignee, last message.
#[derive(Clone, Debug, FromRow)]
pub struct Room {
    pub id: String,
    pub num_id: i64,
    pub fname: String,
    pub visitor_id: String,
    pub visitor_num_id: i64,
    pub visitor_token: String,
    pub visitor_name: Option<String>,
    pub visitor_email: Option<String>,
    pub visitor_status: String,
    pub department_id: Option<String>,
    pub department_num_id: Option<i64>,
    pub department_name: Option<String>,
    pub source_type: String,
    pub open: bool,
    pub chat_status: String,
    pub served_by: Option<String>,
    pub served_by_num_id: Option<i64>,
    pub served_by_username: Option<String>,
    pub served_by_name: Option<String>,
    pub served_by_email: Option<String>,
    pub served_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub closed_by: Option<String>,
    pub close_comment: Option<String>,
    pub sla_id: Option<String>,
    pub priority_weight: i64,
    pub estimated_waiting_time_queue: i64,
    pub inquiry_id: Option<String>,
    pub inquiry_status: Option<String>,
    pub inquiry_message: String,
    pub queued_at: Option<Millis>,
    pub taken_at: Option<Millis>,
    pub message_count: i64,
    pub last_message_at: Option<Millis>,
    pub last_customer_message_at: Option<Millis>,
    pub ts: Millis,
    pub updated_at: Millis,
    #[sqlx(flatten)]
    last_message_columns: LastMessageColumns,
}

impl Room {
    pub fn visitor_username(&self) -> String {
        format!("guest-{}", self.visitor_num_id)
    }

    pub fn last_message(&self) -> Option<Message> {
        self.last_message_columns.message(&self.id)
    }
}

impl LastMessageColumns {
    fn message(&self, room_id: &str) -> Option<Message> {
        let columns = self;
        Some(Message {
            id: columns.lm_id.clone()?,
            num_id: columns.lm_num_id?,
            room_id: room_id.to_owned(),
            msg: columns.lm_msg.clone()?,
            kind: columns.lm_kind.clone(),
            author_id: columns.lm_author_id.clone()?,
            author_username: columns.lm_author_username.clone()?,
            author_name: columns.lm_author_name.clone(),
            from_visitor: columns.lm_from_visitor?,
            extra: columns.lm_extra.clone(),
            ts: columns.lm_ts?,
            updated_at: columns.lm_updated_at?,
        })
    }
}

/// A queued or taken inquiry with its visitor, as the queue endpoints list it.
#[derive(Clone, Debug, FromRow)]
pub struct Inquiry {
    pub id: String,
    pub room_id: String,
    pub name: String,
    pub ts: Millis,
    pub status: String,
    pub message: String,
    pub department_id: Option<String>,
    pub priority_weight: i64,
    pub estimated_waiting_time_queue: i64,
    pub sla_id: Option<String>,
    pub source_type: String,
    pub served_by: Option<String>,
    pub queued_at: Option<Millis>,
    pub taken_at: Option<Millis>,
    pub updated_at: Millis,
    pub visitor_id: String,
    pub visitor_num_id: i64,
    pub visitor_token: String,
    pub visitor_status: String,
    #[sqlx(flatten)]
    last_message_columns: LastMessageColumns,
}

impl Inquiry {
    pub fn visitor_username(&self) -> String {
        format!("guest-{}", self.visitor_num_id)
    }

    pub fn last_message(&self) -> Option<Message> {
        self.last_message_columns.message(&self.room_id)
    }
}

/// One line of the manager's queue listing (inquiries.list).
#[derive(Clone, Debug, FromRow)]
pub struct QueueEntry {
    pub id: String,
    pub room_id: String,
    pub name: String,
    pub ts: Millis,
    pub status: String,
    pub department_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InquirySortField {
    Ts,
    Name,
    PriorityWeight,
    EstimatedWaitingTimeQueue,
    Status,
    QueuedAt,
    Id,
}

impl SortColumn for InquirySortField {
    fn column(self) -> &'static str {
        match self {
            Self::Ts => "ts",
            Self::Name => "fname",
            Self::PriorityWeight => "priority_weight",
            Self::EstimatedWaitingTimeQueue => "estimated_waiting_time_queue",
            Self::Status => "inquiry_status",
            Self::QueuedAt => "queued_at",
            Self::Id => "inquiry_id",
        }
    }
}

/// A new room with its queued inquiry.
pub struct NewRoom<'a> {
    pub id: &'a str,
    pub inquiry_id: &'a str,
    pub visitor: &'a Visitor,
    pub department_id: Option<&'a str>,
    pub source_type: &'a str,
    pub now: Millis,
}

/// A message to add to an open room.
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    pub msg: &'a str,
    pub kind: Option<&'a str>,
    pub author_id: &'a str,
    pub author_username: &'a str,
    pub author_name: Option<&'a str>,
    pub extra: Option<&'a str>,
    pub now: Millis,
}

/// Who closes a room.
#[derive(Clone, Copy)]
pub enum Closer<'a> {
    /// The visitor owning the room (room.close).
    Visitor { visitor_id: &'a str, username: &'a str, name: &'a str },
    /// A user of the server (room.closeByUser, HelpCrunch status "closed").
    Agent { user_id: &'a str, username: &'a str, name: &'a str },
}

#[derive(Debug, PartialEq, Eq)]
pub enum TakeOutcome {
    Taken,
    NotFound,
    AlreadyTaken,
    /// The agent stopped being available before the take landed.
    AgentUnavailable,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReturnOutcome {
    Returned,
    AlreadyQueued,
    Closed,
    NotFound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomSortField {
    Ts,
    UpdatedAt,
    Fname,
    LastMessageAt,
    ClosedAt,
}

impl SortColumn for RoomSortField {
    fn column(self) -> &'static str {
        match self {
            Self::Ts => "r.ts",
            Self::UpdatedAt => "r.updated_at",
            Self::Fname => "r.fname",
            Self::LastMessageAt => "r.last_message_at",
            Self::ClosedAt => "r.closed_at",
        }
    }
}

/// Filters of the room list; `None` means "any".
#[derive(Default)]
pub struct RoomFilter<'a> {
    pub open: Option<bool>,
    pub agent_ids: &'a [String],
    pub department_id: Option<&'a str>,
}

macro_rules! last_message_columns {
    () => {
        "lm.id AS lm_id, lm.num_id AS lm_num_id, lm.msg AS lm_msg, lm.kind AS lm_kind, \
         lm.author_id AS lm_author_id, lm.author_username AS lm_author_username, \
         lm.author_name AS lm_author_name, lm.from_visitor AS lm_from_visitor, lm.extra AS lm_extra, \
         lm.ts AS lm_ts, lm.updated_at AS lm_updated_at "
    };
}

pub(super) use last_message_columns;

macro_rules! room_select {
    () => {
        concat!(
            "SELECT r.id, r.num_id, r.fname, r.visitor_id, v.num_id AS visitor_num_id, v.token AS visitor_token, \
         v.name AS visitor_name, v.email AS visitor_email, v.status AS visitor_status, \
         r.department_id, d.num_id AS department_num_id, d.name AS department_name, r.source_type, r.open, \
         r.chat_status, r.served_by, u.num_id AS served_by_num_id, u.username AS served_by_username, \
         u.name AS served_by_name, u.email AS served_by_email, r.served_at, r.closed_at, r.closed_by, \
         r.close_comment, r.sla_id, r.priority_weight, r.estimated_waiting_time_queue, r.inquiry_id, \
         r.inquiry_status, r.inquiry_message, r.queued_at, r.taken_at, r.message_count, r.last_message_at, \
         r.last_customer_message_at, r.ts, r.updated_at, ",
            last_message_columns!(),
            "FROM rooms r JOIN visitors v ON v.id = r.visitor_id \
         LEFT JOIN departments d ON d.id = r.department_id \
         LEFT JOIN users u ON u.id = r.served_by \
         LEFT JOIN messages lm ON lm.id = r.last_message_id "
        )
    };
}

pub(super) use room_select;

macro_rules! inquiry_select {
    () => {
        concat!(
            "SELECT r.inquiry_id AS id, r.id AS room_id, r.fname AS name, r.ts, r.inquiry_status AS status, \
             r.inquiry_message AS message, r.department_id, r.priority_weight, r.estimated_waiting_time_queue, \
             r.sla_id, r.source_type, r.served_by, r.queued_at, r.taken_at, r.updated_at, r.visitor_id, \
             v.num_id AS visitor_num_id, v.token AS visitor_token, v.status AS visitor_status, ",
            last_message_columns!(),
            "FROM rooms r JOIN visitors v ON v.id = r.visitor_id \
             LEFT JOIN messages lm ON lm.id = r.last_message_id "
        )
    };
}

/// Rooms still queued for an agent: its departments' and those with no department.
macro_rules! agent_queue_where {
    () => {
        "WHERE r.inquiry_status = 'queued' \
         AND (r.department_id IS NULL OR r.department_id IN \
              (SELECT department_id FROM department_agents WHERE agent_id = $1)) \
         AND ($2 IS NULL OR r.department_id = $2) "
    };
}

/// Inserts a message on a transaction of either backend, evaluating to the stored row.
macro_rules! insert_message {
    ($tx:expr, $message:expr, $from_visitor:expr) => {{
        let message: &$crate::store::NewMessage<'_> = $message;
        let stored: $crate::store::Message = sqlx::query_as(
            "INSERT INTO messages (id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, \
               extra, ts, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             RETURNING id, num_id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, extra, \
               ts, updated_at",
        )
        .bind(message.id)
        .bind(message.room_id)
        .bind(message.msg)
        .bind(message.kind)
        .bind(message.author_id)
        .bind(message.author_username)
        .bind(message.author_name)
        .bind($from_visitor)
        .bind(message.extra)
        .bind(message.now)
        .fetch_one($tx)
        .await?;
        stored
    }};
}
pub(super) use insert_message;

impl Store {
    /// Creates the visitor of `token`, or updates the fields given for an existing one.
    pub async fn upsert_visitor(&self, details: VisitorDetails<'_>) -> StoreResult<Visitor> {
        const SQL: &str = "INSERT INTO visitors (id, token, name, email, phone, department_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (token) DO UPDATE SET \
               name = COALESCE(excluded.name, visitors.name), \
               email = COALESCE(excluded.email, visitors.email), \
               phone = COALESCE(excluded.phone, visitors.phone), \
               department_id = COALESCE(excluded.department_id, visitors.department_id), \
               updated_at = excluded.updated_at \
             RETURNING id, num_id, token, name, email, phone, department_id, status, created_at, updated_at";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(details.id)
            .bind(details.token)
            .bind(details.name)
            .bind(details.email)
            .bind(details.phone)
            .bind(details.department_id)
            .bind(details.now)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn visitor_by_token(&self, token: &str) -> StoreResult<Option<Visitor>> {
        const SQL: &str = "SELECT id, num_id, token, name, email, phone, department_id, status, created_at, updated_at \
             FROM visitors WHERE token = $1";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(token).fetch_optional(pool).await)?)
    }

    pub async fn room_by_id(&self, room_id: &str) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!(room_select!(), "WHERE r.id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(room_id).fetch_optional(pool).await)?)
    }

    /// The open inquiry of a room (queued or taken); none once the room is closed.
    pub async fn inquiry_of_room(&self, room_id: &str) -> StoreResult<Option<Inquiry>> {
        const SQL: &str = concat!(inquiry_select!(), "WHERE r.id = $1 AND r.inquiry_status IS NOT NULL");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(room_id).fetch_optional(pool).await)?)
    }

    pub async fn room_by_num_id(&self, num_id: i64) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!(room_select!(), "WHERE r.num_id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(num_id).fetch_optional(pool).await)?)
    }

    /// The visitor's open room, if any.
    pub async fn open_room_of_visitor(&self, visitor_id: &str) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!(room_select!(), "WHERE r.visitor_id = $1 AND r.open");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(visitor_id).fetch_optional(pool).await)?)
    }

    /// Opens a room with a queued inquiry unless the visitor already has an open room;
    /// returns the open room and whether it was created now. A visitor has at most one
    /// open room (a partial unique index), so concurrent calls open one room.
    pub async fn open_room(&self, new: NewRoom<'_>) -> StoreResult<(Room, bool)> {
        const INSERT: &str = "INSERT INTO rooms \
               (id, visitor_id, fname, department_id, source_type, open, chat_status, inquiry_id, inquiry_status, \
                queued_at, ts, updated_at) \
             VALUES ($1, $2, $3, $4, $5, TRUE, 'new', $6, 'queued', $7, $7, $7) \
             ON CONFLICT (visitor_id) WHERE open DO NOTHING";
        if let Some(room) = self.open_room_of_visitor(&new.visitor.id).await? {
            return Ok((room, false));
        }
        let inserted = on_pool!(self, |pool| sqlx::query(INSERT)
            .bind(new.id)
            .bind(&new.visitor.id)
            .bind(new.visitor.display_name())
            .bind(new.department_id)
            .bind(new.source_type)
            .bind(new.inquiry_id)
            .bind(new.now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        let room = self.open_room_of_visitor(&new.visitor.id).await?.ok_or(StoreError::NotFound)?;
        Ok((room, inserted == 1))
    }

    /// Adds a visitor's message to its open room and updates the room's last message.
    /// The first visitor message becomes the inquiry's message; a "pending" or "no
    /// communication" chat becomes "opened". `NotFound` when the room is not open or
    /// not the visitor's; `Conflict` when the message id is taken.
    pub async fn add_visitor_message(&self, visitor_id: &str, message: NewMessage<'_>) -> StoreResult<Message> {
        const UPDATE: &str = "UPDATE rooms SET \
               last_message_id = $3, last_message_at = $4, last_customer_message_at = $4, \
               message_count = message_count + 1, \
               inquiry_message = CASE WHEN last_customer_message_at IS NULL THEN $5 ELSE inquiry_message END, \
               chat_status = CASE WHEN chat_status IN ('pending', 'no communication') THEN 'opened' ELSE chat_status END, \
               updated_at = $4 \
             WHERE id = $1 AND visitor_id = $2 AND open";
        begin_write!(self, |tx| {
            let updated = sqlx::query(UPDATE)
                .bind(message.room_id)
                .bind(visitor_id)
                .bind(message.id)
                .bind(message.now)
                .bind(message.msg)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let stored = insert_message!(&mut *tx, &message, true);
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// Messages of a room, newest first (as Rocket.Chat loads history), with the total.
    pub async fn room_messages(&self, room_id: &str, page: Page) -> StoreResult<(Vec<Message>, i64)> {
        const LIST: &str = "SELECT id, num_id, room_id, msg, kind, author_id, author_username, author_name, \
             from_visitor, extra, ts, updated_at FROM messages WHERE room_id = $1 ORDER BY ts DESC, num_id DESC LIMIT $2 OFFSET $3";
        const COUNT: &str = "SELECT COUNT(*) FROM messages WHERE room_id = $1";
        on_pool!(self, |pool| {
            let messages =
                sqlx::query_as(LIST).bind(room_id).bind(page.count).bind(page.offset).fetch_all(pool).await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(room_id).fetch_one(pool).await?;
            Ok((messages, total))
        })
    }

    /// Closes an open room and records the closing message. Rooms and messages stay as
    /// history; the inquiry leaves the queue. `NotFound` when the room is not open (or,
    /// for a visitor, not its own).
    pub async fn close_room(
        &self,
        room_id: &str,
        closer: Closer<'_>,
        comment: Option<&str>,
        message_id: &str,
        now: Millis,
    ) -> StoreResult<()> {
        const CLOSE: &str = "UPDATE rooms SET open = FALSE, chat_status = 'closed', inquiry_status = NULL, \
               closed_at = $3, closed_by = $4, closer_id = $5, close_comment = $6, updated_at = $3 \
             WHERE id = $1 AND open AND ($2 IS NULL OR visitor_id = $2)";
        let (owner, closed_by, closer_id, username, name) = match closer {
            Closer::Visitor { visitor_id, username, name } => {
                (Some(visitor_id), CLOSED_BY_CUSTOMER, visitor_id, username, name)
            }
            Closer::Agent { user_id, username, name } => (None, CLOSED_BY_AGENT, user_id, username, name),
        };
        let message = NewMessage {
            id: message_id,
            room_id,
            msg: comment.unwrap_or(""),
            kind: Some("livechat-close"),
            author_id: closer_id,
            author_username: username,
            author_name: Some(name),
            extra: None,
            now,
        };
        begin_write!(self, |tx| {
            let closed = sqlx::query(CLOSE)
                .bind(room_id)
                .bind(owner)
                .bind(now)
                .bind(closed_by)
                .bind(closer_id)
                .bind(comment)
                .execute(&mut *tx)
                .await?;
            if closed.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            insert_message!(&mut *tx, &message, owner.is_some());
            tx.commit().await?;
            Ok(())
        })
    }

    /// Gives a queued inquiry to an available agent: exactly one of any number of
    /// concurrent takes wins; the others see `AlreadyTaken`.
    pub async fn take_inquiry(&self, inquiry_id: &str, agent_id: &str, now: Millis) -> StoreResult<TakeOutcome> {
        const TAKE: &str = "UPDATE rooms SET inquiry_status = 'taken', taken_at = $3, served_by = $2, served_at = $3, \
               chat_status = 'opened', updated_at = $3 \
             WHERE inquiry_id = $1 AND inquiry_status = 'queued' \
               AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND livechat_status = 'available')";
        const STATUS: &str = "SELECT inquiry_status, \
               EXISTS (SELECT 1 FROM users WHERE id = $2 AND livechat_status = 'available') AS agent_available \
             FROM rooms WHERE inquiry_id = $1 AND inquiry_status IS NOT NULL";
        let taken = on_pool!(self, |pool| sqlx::query(TAKE)
            .bind(inquiry_id)
            .bind(agent_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if taken == 1 {
            return Ok(TakeOutcome::Taken);
        }
        let status: Option<(String, bool)> =
            on_pool!(self, |pool| sqlx::query_as(STATUS).bind(inquiry_id).bind(agent_id).fetch_optional(pool).await)?;
        Ok(match status {
            None => TakeOutcome::NotFound,
            Some((status, false)) if status == INQUIRY_QUEUED => TakeOutcome::AgentUnavailable,
            // Queued again with the agent available: another take won and the inquiry
            // was returned between the two statements, so this take lost the race.
            Some(_) => TakeOutcome::AlreadyTaken,
        })
    }

    /// Puts a taken conversation back in the queue without an agent, optionally in
    /// another department; its SLA is kept.
    pub async fn return_to_queue(
        &self,
        room_id: &str,
        department_id: Option<&str>,
        now: Millis,
    ) -> StoreResult<ReturnOutcome> {
        const RETURN: &str = "UPDATE rooms SET inquiry_status = 'queued', queued_at = $3, taken_at = NULL, \
               served_by = NULL, served_at = NULL, chat_status = 'new', \
               department_id = COALESCE($2, department_id), updated_at = $3 \
             WHERE id = $1 AND open AND inquiry_status = 'taken'";
        const STATE: &str = "SELECT open, inquiry_status FROM rooms WHERE id = $1";
        let returned = on_pool!(self, |pool| sqlx::query(RETURN)
            .bind(room_id)
            .bind(department_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if returned == 1 {
            return Ok(ReturnOutcome::Returned);
        }
        let state: Option<(bool, Option<String>)> =
            on_pool!(self, |pool| sqlx::query_as(STATE).bind(room_id).fetch_optional(pool).await)?;
        Ok(match state {
            None => ReturnOutcome::NotFound,
            Some((false, _)) => ReturnOutcome::Closed,
            Some((true, _)) => ReturnOutcome::AlreadyQueued,
        })
    }

    /// Queued inquiries, optionally of one department, in the given order, with the
    /// number of queued inquiries matching. Reads only queued rows (partial indexes).
    pub async fn queued_inquiries(
        &self,
        department_id: Option<&str>,
        sort: &[SortKey<InquirySortField>],
        page: Page,
    ) -> StoreResult<(Vec<QueueEntry>, i64)> {
        const SELECT: &str = "SELECT inquiry_id AS id, id AS room_id, fname AS name, ts, inquiry_status AS status, \
             department_id FROM rooms WHERE inquiry_status = 'queued' AND ($1 IS NULL OR department_id = $1)";
        // Exact totals from the trigger-maintained counters, not a count of the queue.
        const COUNT: &str = "SELECT CAST(COALESCE(SUM(queued), 0) AS BIGINT) FROM queue_counts \
             WHERE ($1 IS NULL OR department_key = $1)";
        // Built from the static query and whitelisted sort columns only.
        let list = format!("{SELECT}{} LIMIT $2 OFFSET $3", order_by(sort, "num_id DESC"));
        on_pool!(self, |pool| {
            let entries = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(department_id)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(department_id).fetch_one(pool).await?;
            Ok((entries, total))
        })
    }

    /// The queue as an agent sees it, in the configured order, with its exact total.
    pub async fn queued_for_agent(
        &self,
        agent_id: &str,
        department_id: Option<&str>,
        sort: QueueSort,
        page: Page,
    ) -> StoreResult<(Vec<Inquiry>, i64)> {
        const BY_TIMESTAMP: &str =
            concat!(inquiry_select!(), agent_queue_where!(), "ORDER BY r.queued_at, r.ts, r.num_id LIMIT $3 OFFSET $4");
        const BY_PRIORITY: &str = concat!(
            inquiry_select!(),
            agent_queue_where!(),
            "ORDER BY r.priority_weight, r.queued_at, r.ts, r.num_id LIMIT $3 OFFSET $4"
        );
        const BY_SLA: &str = concat!(
            inquiry_select!(),
            agent_queue_where!(),
            "ORDER BY r.estimated_waiting_time_queue, r.queued_at, r.ts, r.num_id LIMIT $3 OFFSET $4"
        );
        const COUNT: &str = "SELECT CAST(COALESCE(SUM(queued), 0) AS BIGINT) FROM queue_counts \
             WHERE (department_key = '' OR department_key IN (SELECT department_id FROM department_agents WHERE agent_id = $1)) \
               AND ($2 IS NULL OR department_key = $2)";
        let list = match sort {
            QueueSort::Timestamp => BY_TIMESTAMP,
            QueueSort::Priority => BY_PRIORITY,
            QueueSort::Sla => BY_SLA,
        };
        on_pool!(self, |pool| {
            let inquiries = sqlx::query_as(list)
                .bind(agent_id)
                .bind(department_id)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(agent_id).bind(department_id).fetch_one(pool).await?;
            Ok((inquiries, total))
        })
    }

    /// Rooms matching the filter, in the given order, with the total.
    pub async fn list_rooms(
        &self,
        filter: RoomFilter<'_>,
        sort: &[SortKey<RoomSortField>],
        page: Page,
    ) -> StoreResult<(Vec<Room>, i64)> {
        // Agent ids travel as one JSON array parameter so that the SQL stays static.
        const WHERE_POSTGRES: &str = "WHERE ($1 IS NULL OR r.open = $1) AND ($2 IS NULL OR r.department_id = $2) \
             AND ($3 = '[]' OR r.served_by IN (SELECT jsonb_array_elements_text($3::jsonb))) ";
        const WHERE_SQLITE: &str = "WHERE ($1 IS NULL OR r.open = $1) AND ($2 IS NULL OR r.department_id = $2) \
             AND ($3 = '[]' OR r.served_by IN (SELECT value FROM json_each($3))) ";
        let agents = serde_json::to_string(filter.agent_ids).expect("strings serialize");
        let order = order_by(sort, "r.ts DESC, r.num_id DESC");
        let where_clause = match self.backend {
            Backend::Postgres(_) => WHERE_POSTGRES,
            Backend::Sqlite(_) => WHERE_SQLITE,
        };
        // Built only from the static fragments above and whitelisted sort columns.
        let list = format!("{}{where_clause}{order} LIMIT $4 OFFSET $5", room_select!());
        let count = format!("SELECT COUNT(*) FROM rooms r {where_clause}");
        on_pool!(self, |pool| {
            let rooms = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(filter.open)
                .bind(filter.department_id)
                .bind(&agents)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count.clone()))
                .bind(filter.open)
                .bind(filter.department_id)
                .bind(&agents)
                .fetch_one(pool)
                .await?;
            Ok((rooms, total))
        })
    }
}
