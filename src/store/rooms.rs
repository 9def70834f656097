//! Livechat rooms. A room row is both faces' conversation: its `inquiry_status` is the
//! Rocket.Chat queue state (see inquiries.rs) and its `chat_status` the HelpCrunch
//! status (see chats.rs). Each transition is one UPDATE whose WHERE clause holds the
//! precondition, so concurrent requests cannot both win; the number of rows changed
//! decides the answer.

use sqlx::FromRow;

use super::events::{INQUIRY_QUEUED, ROOM_CLOSED, ROOM_REMOVED, record_event};
use super::message_changes::RoomAccess;
use super::messages::{LastMessageColumns, Message, NewMessage, insert_message};
use super::sql::{room_access, room_guard, room_select, within_reach};
use super::{
    Backend, SortColumn, Store, StoreError, StoreResult, Visitor, begin_write, contains_pattern, on_pool, order_by,
};
use crate::domain::chat::{CLOSED_BY_AGENT, CLOSED_BY_CUSTOMER, ChatStatus};
use crate::domain::page::{Page, SortKey};
use crate::domain::permissions::ROLE_AGENT;
use crate::domain::time::Millis;

/// What removing a closed room did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomRemoval {
    Removed,
    NotFound,
    /// The room is open.
    Open,
    /// The caller may not see the room.
    OutOfReach,
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
    pub priority_id: Option<String>,
    pub priority_weight: i64,
    pub estimated_waiting_time_queue: i64,
    /// When the inquiry is due under its SLA policy: queued time plus the policy's minutes.
    pub sla_due_at: Option<Millis>,
    /// When the inquiry was recorded as breached at its current due time.
    pub sla_breached_at: Option<Millis>,
    pub inquiry_id: Option<String>,
    pub inquiry_status: Option<String>,
    pub inquiry_message: String,
    pub queued_at: Option<Millis>,
    pub taken_at: Option<Millis>,
    pub message_count: i64,
    pub last_message_at: Option<Millis>,
    pub last_customer_message_at: Option<Millis>,
    pub topic: Option<String>,
    /// A JSON array of strings.
    tags: Option<String>,
    /// The values of room-scoped custom fields: a JSON object of strings.
    pub livechat_data: Option<String>,
    /// The visitor's survey answers (room.survey): a JSON object of strings.
    pub survey_feedback: Option<String>,
    /// The transcript asked to be emailed on close: a JSON object.
    pub transcript_request: Option<String>,
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

    /// The room's tags, in the order they were given; empty when none.
    pub fn tags(&self) -> Vec<String> {
        json_strings(self.tags.as_deref())
    }

    pub fn on_hold(&self) -> bool {
        self.chat_status == ChatStatus::OnHold.as_str()
    }
}

/// A new room with its queued inquiry.
pub struct NewRoom<'a> {
    pub id: &'a str,
    pub inquiry_id: &'a str,
    pub visitor: &'a Visitor,
    pub department_id: Option<&'a str>,
    pub source_type: &'a str,
    /// Whether the room may open when no agent is available to serve it
    /// (`Livechat_accept_chats_with_no_agents`).
    pub without_agents: bool,
    pub now: Millis,
}

/// Which rooms a user may act on: those it serves (`user_id`), and others only when
/// `others`, then only those within reach of `bound` (rooms of no department or of a
/// department `bound` belongs to; every room when `None`). Checked inside the changing
/// statement.
#[derive(Clone, Copy, Debug)]
pub struct RoomGuard<'a> {
    pub user_id: Option<&'a str>,
    pub others: bool,
    pub bound: Option<&'a str>,
}

impl RoomGuard<'static> {
    /// No restriction: the visitor (bound by its own condition) and the HelpCrunch face.
    pub const ANYONE: Self = Self { user_id: None, others: true, bound: None };
}

/// Holds room `$1`'s row for the rest of the transaction: on PostgreSQL, each statement
/// after it sees what others committed before (a condition on other tables in a single
/// statement would be judged on the snapshot it started with). Touches no column a
/// trigger watches.
pub(super) const LOCK_ROOM: &str = "UPDATE rooms SET tags = tags WHERE id = $1";

/// Holds visitor `$1`'s row for the rest of the transaction, as `LOCK_ROOM` holds a
/// room's: a room being opened and its channel being blocked wait for each other.
pub(super) const LOCK_VISITOR: &str = "UPDATE visitors SET contact_known = contact_known WHERE id = $1";

/// A close of a room: who closes it, within which guard, with what.
pub struct CloseRoom<'a> {
    pub room_id: &'a str,
    pub closer: Closer<'a>,
    pub guard: RoomGuard<'a>,
    pub comment: Option<&'a str>,
    /// Tags the closer gives the room.
    pub tags: &'a [String],
    /// Rocket.Chat's `clientAction`: an agent closing from its client, held to its
    /// department's "tags before closing" rule.
    pub client_action: bool,
    pub message_id: &'a str,
    pub now: Millis,
}

/// The strings of a stored JSON array; none when NULL or not an array of strings.
pub(super) fn json_strings(raw: Option<&str>) -> Vec<String> {
    raw.and_then(|raw| serde_json::from_str(raw).ok()).unwrap_or_default()
}

/// Appends to `list` the `more` it does not hold yet, in order.
fn add_unique(list: &mut Vec<String>, more: Vec<String>) {
    for item in more {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

/// Who closes a room.
#[derive(Clone, Copy)]
pub enum Closer<'a> {
    /// The visitor owning the room (room.close).
    Visitor { visitor_id: &'a str, username: &'a str, name: &'a str },
    /// A user of the server (room.closeByUser, HelpCrunch status "closed").
    Agent { user_id: &'a str, username: &'a str, name: &'a str },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomSortField {
    Ts,
    UpdatedAt,
    Fname,
    LastMessageAt,
    ClosedAt,
    Id,
    Open,
    DepartmentId,
    ServedBy,
}

impl SortColumn for RoomSortField {
    fn column(self) -> &'static str {
        match self {
            Self::Ts => "r.ts",
            Self::UpdatedAt => "r.updated_at",
            Self::Fname => "r.fname",
            Self::LastMessageAt => "r.last_message_at",
            Self::ClosedAt => "r.closed_at",
            Self::Id => r#"r.id COLLATE "BINARY""#,
            Self::Open => "r.open",
            Self::DepartmentId => r#"r.department_id COLLATE "BINARY""#,
            Self::ServedBy => r#"r.served_by COLLATE "BINARY""#,
        }
    }
}

/// Filters of the room list; `None` means "any".
#[derive(Default)]
pub struct RoomFilter<'a> {
    pub open: Option<bool>,
    pub agent_ids: &'a [String],
    pub department_id: Option<&'a str>,
    /// Only rooms the caller serves or within reach of this user's departments.
    pub bound: Option<&'a str>,
    /// Case-insensitive part of the room's name.
    pub room_name: Option<&'a str>,
    /// Opened within these instants (each bound included, `None`: open-ended).
    pub created: InstantRange,
    /// Closed within these instants; rooms not closed never match.
    pub closed: Option<InstantRange>,
    /// Only open rooms no agent serves yet.
    pub queued: bool,
    /// Only rooms on hold.
    pub on_hold: bool,
    /// Only rooms carrying any of these tags; none asked when empty.
    pub tags: &'a [String],
    /// A filter no room here can meet (custom fields, units: rooms carry none of
    /// them), so the list is empty.
    pub unmatchable: bool,
}

/// The bounds of a date filter, both included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstantRange {
    pub start: Option<Millis>,
    pub end: Option<Millis>,
}

/// An insert naming a visitor erased since it was read (see `erase_visitor`) finds no
/// visitor: that is `NotFound`, not a failure.
fn visitor_erased(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(ref database_error) if database_error.is_foreign_key_violation() => StoreError::NotFound,
        other => other.into(),
    }
}

impl Store {
    pub async fn room_by_id(&self, room_id: &str) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!(room_select!(), "WHERE r.id = $1");
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
    /// returns the open room and whether it was created now, or `None` when the room
    /// would need an available agent and none serves its department or the departments
    /// its fallback chain leads to (`UNION` ends a circular chain). A visitor has at most
    /// one open room (a partial unique index), so concurrent calls open one room; the
    /// agent check is part of the insert. `NotFound` when the visitor was erased meanwhile;
    /// `ChannelBlocked` when its channel of the room's source type is blocked (see
    /// `block_contact_channel`, which holds the visitor's row as this does, so a block and
    /// a room being opened are ordered).
    pub async fn open_room(&self, new: NewRoom<'_>) -> StoreResult<Option<(Room, bool)>> {
        const INSERT: &str = "INSERT INTO rooms \
               (id, visitor_id, fname, department_id, source_type, open, chat_status, inquiry_id, inquiry_status, \
                queued_at, ts, updated_at) \
             SELECT $1, $2, $3, $4, $5, TRUE, 'new', $6, 'queued', $7, $7, $7 \
             WHERE ($8 OR EXISTS (SELECT 1 FROM users u \
               JOIN user_roles ur ON ur.user_id = u.id AND ur.role = $9 \
               WHERE u.livechat_status = 'available' AND ($4 IS NULL OR EXISTS (SELECT 1 FROM department_agents da \
                 WHERE da.agent_id = u.id AND da.department_id IN ( \
                   WITH RECURSIVE fallbacks (id) AS (SELECT $4 UNION SELECT d.fallback_forward_department \
                     FROM departments d JOIN fallbacks f ON d.id = f.id WHERE d.fallback_forward_department IS NOT NULL) \
                   SELECT id FROM fallbacks))))) \
             AND NOT EXISTS (SELECT 1 FROM contact_channel_blocks b WHERE b.visitor_id = $2 AND b.source_type = $5) \
             ON CONFLICT (visitor_id) WHERE open DO NOTHING";
        const BLOCKED: &str =
            "SELECT EXISTS (SELECT 1 FROM contact_channel_blocks WHERE visitor_id = $1 AND source_type = $2)";
        if let Some(room) = self.open_room_of_visitor(&new.visitor.id).await? {
            return Ok(Some((room, false)));
        }
        let inserted = begin_write!(self, |tx| {
            sqlx::query(LOCK_VISITOR).bind(&new.visitor.id).execute(&mut *tx).await?;
            let inserted = sqlx::query(INSERT)
                .bind(new.id)
                .bind(&new.visitor.id)
                .bind(new.visitor.display_name())
                .bind(new.department_id)
                .bind(new.source_type)
                .bind(new.inquiry_id)
                .bind(new.now)
                .bind(new.without_agents)
                .bind(ROLE_AGENT)
                .execute(&mut *tx)
                .await
                .map_err(visitor_erased)?
                .rows_affected();
            if inserted == 1 {
                record_event!(&mut *tx, INQUIRY_QUEUED, new.id, "{}", new.now);
                tx.commit().await?;
            } else {
                let (blocked,): (bool,) =
                    sqlx::query_as(BLOCKED).bind(&new.visitor.id).bind(new.source_type).fetch_one(&mut *tx).await?;
                if blocked {
                    return Err(StoreError::ChannelBlocked);
                }
            }
            inserted
        });
        // Nothing inserted and no open room: no agent was available.
        Ok(self.open_room_of_visitor(&new.visitor.id).await?.map(|room| (room, inserted == 1)))
    }

    /// Closes an open room and records the closing message. Rooms and messages stay as
    /// history; the inquiry leaves the queue and the users who joined the room leave it.
    /// The room keeps its tags, the closer's and its department's closing tags (Rocket.Chat's
    /// order, each once). `NotFound` when the room is not open (or, for a visitor, not its
    /// own, or not one the guard lets the closer act on); `TagsRequired` when the closer
    /// acts from its client, the department asks for tags before closing, and neither the
    /// room nor the closer gives any.
    pub async fn close_room(&self, close: CloseRoom<'_>) -> StoreResult<()> {
        // The tags read below are those the close keeps: the room's row is held.
        const TAG_RULE: &str = "SELECT r.tags, d.request_tag_before_closing_chat, d.chat_closing_tags \
             FROM rooms r LEFT JOIN departments d ON d.id = r.department_id WHERE r.id = $1";
        const CLOSE: &str = concat!(
            "UPDATE rooms SET open = FALSE, chat_status = 'closed', inquiry_status = NULL, \
               closed_at = $3, closed_by = $4, closer_id = $5, close_comment = $6, tags = $10, updated_at = $3 \
             WHERE id = $1 AND open AND ($2 IS NULL OR visitor_id = $2) AND ",
            room_guard!("$7", "$8", "$9"),
            " RETURNING inquiry_id, department_id"
        );
        const LEAVE: &str = "DELETE FROM room_members WHERE room_id = $1";
        let (owner, closed_by, closer_id, username, name) = match close.closer {
            Closer::Visitor { visitor_id, username, name } => {
                (Some(visitor_id), CLOSED_BY_CUSTOMER, visitor_id, username, name)
            }
            Closer::Agent { user_id, username, name } => (None, CLOSED_BY_AGENT, user_id, username, name),
        };
        let message = NewMessage {
            id: close.message_id,
            room_id: close.room_id,
            msg: close.comment.unwrap_or(""),
            kind: Some("livechat-close"),
            author_id: closer_id,
            author_username: username,
            author_name: Some(name),
            extra: None,
            now: close.now,
        };
        begin_write!(self, |tx| {
            sqlx::query(LOCK_ROOM).bind(close.room_id).execute(&mut *tx).await?;
            let rule: Option<(Option<String>, Option<bool>, Option<String>)> =
                sqlx::query_as(TAG_RULE).bind(close.room_id).fetch_optional(&mut *tx).await?;
            let (room_tags, required, closing_tags) = rule.unwrap_or_default();
            let mut tags = close.tags.to_vec();
            add_unique(&mut tags, json_strings(room_tags.as_deref()));
            if close.client_action && required == Some(true) && tags.is_empty() {
                return Err(StoreError::TagsRequired);
            }
            add_unique(&mut tags, json_strings(closing_tags.as_deref()));
            let tags = (!tags.is_empty()).then(|| serde_json::to_string(&tags).expect("strings serialize"));
            let closed: Option<(Option<String>, Option<String>)> = sqlx::query_as(CLOSE)
                .bind(close.room_id)
                .bind(owner)
                .bind(close.now)
                .bind(closed_by)
                .bind(closer_id)
                .bind(close.comment)
                .bind(close.guard.user_id)
                .bind(close.guard.others)
                .bind(close.guard.bound)
                .bind(tags)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((inquiry_id, department_id)) = closed else { return Err(StoreError::NotFound) };
            sqlx::query(LEAVE).bind(close.room_id).execute(&mut *tx).await?;
            insert_message!(&mut *tx, &message, owner.is_some());
            let payload = serde_json::json!({"inquiryId": inquiry_id, "departmentId": department_id}).to_string();
            record_event!(&mut *tx, ROOM_CLOSED, close.room_id, &payload, close.now);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Removes a closed room that `access` reaches, with its messages, its SLA breaches
    /// and what else hangs on it, and records `room.removed`. The DELETE holds every precondition; when
    /// it removes nothing, the room is read to tell why.
    pub async fn remove_closed_room(
        &self,
        room_id: &str,
        access: RoomAccess<'_>,
        now: Millis,
    ) -> StoreResult<RoomRemoval> {
        const REMOVE: &str = concat!(
            "DELETE FROM rooms WHERE id = $1 AND NOT open AND id IN (SELECT r.id FROM rooms r WHERE r.id = $1 AND ",
            room_access!("r.", "$2", "$3", "$4", "$5", "$6"),
            ") RETURNING id"
        );
        // Breaches name their room without a reference to it.
        const BREACHES: &str = "DELETE FROM sla_breaches WHERE room_id = $1";
        let removed = begin_write!(self, |tx| {
            let removed: Option<(String,)> = sqlx::query_as(REMOVE)
                .bind(room_id)
                .bind(access.user_id)
                .bind(access.any_room)
                .bind(access.closed_rooms)
                .bind(access.closed_department_rooms)
                .bind(access.bound)
                .fetch_optional(&mut *tx)
                .await?;
            if removed.is_some() {
                sqlx::query(BREACHES).bind(room_id).execute(&mut *tx).await?;
                record_event!(&mut *tx, ROOM_REMOVED, room_id, "{}", now);
                tx.commit().await?;
            }
            Ok::<bool, StoreError>(removed.is_some())
        })?;
        if removed {
            return Ok(RoomRemoval::Removed);
        }
        Ok(match self.room_state(room_id, access).await? {
            None => RoomRemoval::NotFound,
            Some(state) if state.open => RoomRemoval::Open,
            Some(state) if !state.accessible => RoomRemoval::OutOfReach,
            // Removed, or reached, meanwhile: the next attempt tells.
            Some(_) => RoomRemoval::NotFound,
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
        macro_rules! room_list_where {
            ($served_by_agents:literal, $asked_tags:literal, $room_tags:literal) => {
                concat!(
                    "WHERE ($1 IS NULL OR r.open = $1) AND ($2 IS NULL OR r.department_id = $2) \
                     AND ($3 = '[]' OR r.served_by IN (",
                    $served_by_agents,
                    ")) AND (r.served_by = $4 OR ",
                    within_reach!("r.", "$4"),
                    ") AND ($5 IS NULL OR LOWER(r.fname) LIKE $5 ESCAPE '\\') \
                     AND ($6 IS NULL OR r.ts >= $6) AND ($7 IS NULL OR r.ts <= $7) \
                     AND (NOT $8 OR (r.closed_at IS NOT NULL AND ($9 IS NULL OR r.closed_at >= $9) \
                       AND ($10 IS NULL OR r.closed_at <= $10))) \
                     AND (NOT $11 OR (r.open AND r.served_by IS NULL)) AND NOT $12 \
                     AND (NOT $13 OR r.chat_status = 'on hold') \
                     AND ($14 = '[]' OR EXISTS (",
                    $room_tags,
                    " IN (",
                    $asked_tags,
                    "))) "
                )
            };
        }
        const WHERE_POSTGRES: &str = room_list_where!(
            "SELECT jsonb_array_elements_text($3::jsonb)",
            "SELECT jsonb_array_elements_text($14::jsonb)",
            "SELECT 1 FROM jsonb_array_elements_text(r.tags::jsonb) AS room_tag(tag) WHERE room_tag.tag"
        );
        const WHERE_SQLITE: &str = room_list_where!(
            "SELECT value FROM json_each($3)",
            "SELECT value FROM json_each($14)",
            "SELECT 1 FROM json_each(r.tags) AS room_tag WHERE room_tag.value"
        );
        let agents = serde_json::to_string(filter.agent_ids).expect("strings serialize");
        let tags = serde_json::to_string(filter.tags).expect("strings serialize");
        let room_name = filter.room_name.map(contains_pattern);
        let closed = filter.closed.unwrap_or_default();
        let order = order_by(sort, "r.ts DESC, r.num_id DESC");
        let where_clause = match self.backend {
            Backend::Postgres(_) => WHERE_POSTGRES,
            Backend::Sqlite(_) => WHERE_SQLITE,
        };
        // Built only from the static fragments above and whitelisted sort columns.
        let list = format!("{}{where_clause}{order} LIMIT $15 OFFSET $16", room_select!());
        let count = format!("SELECT COUNT(*) FROM rooms r {where_clause}");
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(filter.open)
                    .bind(filter.department_id)
                    .bind(&agents)
                    .bind(filter.bound)
                    .bind(&room_name)
                    .bind(filter.created.start)
                    .bind(filter.created.end)
                    .bind(filter.closed.is_some())
                    .bind(closed.start)
                    .bind(closed.end)
                    .bind(filter.queued)
                    .bind(filter.unmatchable)
                    .bind(filter.on_hold)
                    .bind(&tags)
            };
        }
        on_pool!(self, |pool| {
            let rooms = bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(list.clone())))
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) =
                bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(count.clone()))).fetch_one(pool).await?;
            Ok((rooms, total))
        })
    }
}
