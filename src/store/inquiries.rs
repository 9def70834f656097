//! Inquiries: the Rocket.Chat queue state of a room, kept in the room's row
//! (`inquiry_status` queued or taken), and the queue listings.
//!
//! Each transition is one UPDATE whose WHERE clause holds the precondition, so
//! concurrent requests cannot both win; the number of rows changed decides the answer.

use sqlx::FromRow;

use super::events::{self, record_event};
use super::messages::{LastMessageColumns, Message};
use super::sla_breaches::record_breach_at_take;
use super::sql::{hold_agent_under_limit, inquiry_select, queued_total, room_guard, under_chat_limit, within_reach};
use super::{RoomGuard, SortColumn, Store, StoreResult, begin_write, on_pool, order_by};
use crate::domain::chat::{INQUIRY_QUEUED, INQUIRY_TAKEN};
use crate::domain::page::{Page, SortKey};
use crate::domain::queue::QueueSort;
use crate::domain::time::Millis;

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
    pub priority_id: Option<String>,
    pub priority_weight: i64,
    pub estimated_waiting_time_queue: i64,
    pub sla_id: Option<String>,
    /// When it is due under its SLA policy: queued time plus the policy's minutes.
    pub sla_due_at: Option<Millis>,
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

#[derive(Debug, PartialEq, Eq)]
pub enum TakeOutcome {
    Taken,
    NotFound,
    AlreadyTaken,
    /// The agent stopped being available before the take landed.
    AgentUnavailable,
    /// The inquiry is outside the taking agent's departments (or the caller's bound).
    Unreachable,
    /// The agent serves as many chats as its lowest chat limit allows.
    OverLimit,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReturnOutcome {
    Returned,
    AlreadyQueued,
    Closed,
    NotFound,
    /// Taken, but not a room the guard lets this user return (or not into that department).
    NotPermitted,
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

impl Store {
    /// The open inquiry of a room (queued or taken); none once the room is closed.
    pub async fn inquiry_of_room(&self, room_id: &str) -> StoreResult<Option<Inquiry>> {
        const SQL: &str = concat!(inquiry_select!(), "WHERE r.id = $1 AND r.inquiry_status IS NOT NULL");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(room_id).fetch_optional(pool).await)?)
    }

    /// Gives a queued inquiry to an available agent whose departments reach it (and
    /// within `caller_bound`'s reach, when a bounded caller takes it for another agent)
    /// and who is under its chat limit: exactly one of any number of concurrent takes
    /// wins; the others see `AlreadyTaken`. Manual takes and automatic routing both come
    /// here.
    ///
    /// One transaction of two conditional statements: the first holds the agent's row
    /// while it checks availability and load (a concurrent assignment to the same agent
    /// waits, then sees the new load), the second takes the inquiry only while it is
    /// still queued and within reach. Either refusing undoes both.
    pub async fn take_inquiry(
        &self,
        inquiry_id: &str,
        agent_id: &str,
        caller_bound: Option<&str>,
        now: Millis,
    ) -> StoreResult<TakeOutcome> {
        const HOLD_AGENT: &str = concat!(
            hold_agent_under_limit!("(SELECT lr.department_id FROM rooms lr WHERE lr.inquiry_id = $1)"),
            " AND livechat_status = 'available'"
        );
        const TAKE: &str = concat!(
            "UPDATE rooms SET inquiry_status = 'taken', taken_at = $3, served_by = $2, served_at = $3, \
               chat_status = 'opened', updated_at = $3 \
             WHERE inquiry_id = $1 AND inquiry_status = 'queued' AND ",
            within_reach!("", "$2"),
            " AND ",
            within_reach!("", "$4"),
            " RETURNING id"
        );
        const STATUS: &str = concat!(
            "SELECT r.inquiry_status, u.livechat_status = 'available' AS agent_available, ",
            under_chat_limit!("u.", "r.department_id"),
            " AS under_limit, ",
            within_reach!("r.", "$2"),
            " AND ",
            within_reach!("r.", "$3"),
            " AS reachable FROM rooms r JOIN users u ON u.id = $2 \
             WHERE r.inquiry_id = $1 AND r.inquiry_status IS NOT NULL"
        );
        let taken = begin_write!(self, |tx| {
            let held = sqlx::query(HOLD_AGENT).bind(inquiry_id).bind(agent_id).bind(now).execute(&mut *tx).await?;
            if held.rows_affected() == 0 {
                false
            } else {
                let taken: Option<(String,)> = sqlx::query_as(TAKE)
                    .bind(inquiry_id)
                    .bind(agent_id)
                    .bind(now)
                    .bind(caller_bound)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some((room_id,)) = &taken {
                    record_event!(&mut *tx, events::INQUIRY_TAKEN, room_id, "{}", now);
                    record_breach_at_take!(tx, room_id);
                    tx.commit().await?;
                }
                taken.is_some()
            }
        });
        if taken {
            return Ok(TakeOutcome::Taken);
        }
        let status: Option<(String, bool, bool, bool)> = on_pool!(self, |pool| sqlx::query_as(STATUS)
            .bind(inquiry_id)
            .bind(agent_id)
            .bind(caller_bound)
            .fetch_optional(pool)
            .await)?;
        Ok(match status {
            None => TakeOutcome::NotFound,
            Some((_, _, _, false)) => TakeOutcome::Unreachable,
            Some((status, _, _, _)) if status != INQUIRY_QUEUED => TakeOutcome::AlreadyTaken,
            Some((_, false, _, _)) => TakeOutcome::AgentUnavailable,
            Some((_, _, false, _)) => TakeOutcome::OverLimit,
            // Queued again with the agent free: another take won and the inquiry was
            // returned between the statements, so this take lost the race.
            Some(_) => TakeOutcome::AlreadyTaken,
        })
    }

    /// Puts a taken conversation back in the queue without an agent, optionally in
    /// another department; its SLA is kept. The guard is part of the statement: only
    /// the serving agent, or a user the guard lets act on others' rooms, returns it, and
    /// a bounded user moves it only into a department of its own.
    pub async fn return_to_queue(
        &self,
        room_id: &str,
        department_id: Option<&str>,
        guard: RoomGuard<'_>,
        now: Millis,
    ) -> StoreResult<ReturnOutcome> {
        const RETURN: &str = concat!(
            "UPDATE rooms SET inquiry_status = 'queued', queued_at = $3, taken_at = NULL, \
               served_by = NULL, served_at = NULL, chat_status = 'new', \
               department_id = COALESCE($2, department_id), updated_at = $3 \
             WHERE id = $1 AND open AND inquiry_status = 'taken' AND ",
            room_guard!("$4", "$5", "$6"),
            " AND ($2 IS NULL OR $6 IS NULL OR $2 IN \
               (SELECT da.department_id FROM department_agents da WHERE da.agent_id = $6))"
        );
        const STATE: &str = "SELECT open, inquiry_status FROM rooms WHERE id = $1";
        let returned = begin_write!(self, |tx| {
            let returned = sqlx::query(RETURN)
                .bind(room_id)
                .bind(department_id)
                .bind(now)
                .bind(guard.user_id)
                .bind(guard.others)
                .bind(guard.bound)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if returned == 1 {
                record_event!(&mut *tx, events::INQUIRY_QUEUED, room_id, "{}", now);
                tx.commit().await?;
            }
            returned
        });
        if returned == 1 {
            return Ok(ReturnOutcome::Returned);
        }
        let state: Option<(bool, Option<String>)> =
            on_pool!(self, |pool| sqlx::query_as(STATE).bind(room_id).fetch_optional(pool).await)?;
        Ok(match state {
            None => ReturnOutcome::NotFound,
            Some((false, _)) => ReturnOutcome::Closed,
            Some((true, Some(status))) if status == INQUIRY_TAKEN => ReturnOutcome::NotPermitted,
            Some((true, _)) => ReturnOutcome::AlreadyQueued,
        })
    }

    /// Queued inquiries, optionally of one department, within reach of `bound` (see
    /// `within_reach`), in the given order, with the number of queued inquiries
    /// matching. Reads only queued rows (partial indexes).
    pub async fn queued_inquiries(
        &self,
        department_id: Option<&str>,
        bound: Option<&str>,
        sort: &[SortKey<InquirySortField>],
        page: Page,
    ) -> StoreResult<(Vec<QueueEntry>, i64)> {
        const SELECT: &str = concat!(
            "SELECT inquiry_id AS id, id AS room_id, fname AS name, ts, inquiry_status AS status, \
             department_id FROM rooms WHERE inquiry_status = 'queued' AND ($1 IS NULL OR department_id = $1) AND ",
            within_reach!("", "$4")
        );
        // Exact totals from the trigger-maintained counters, not a count of the queue.
        const COUNT: &str = concat!(
            queued_total!(),
            "WHERE ($1 IS NULL OR department_key = $1) AND ($2 IS NULL OR department_key = '' OR department_key IN \
               (SELECT da.department_id FROM department_agents da WHERE da.agent_id = $2))"
        );
        // Built from the static query and whitelisted sort columns only.
        let list = format!("{SELECT}{} LIMIT $2 OFFSET $3", order_by(sort, "num_id DESC"));
        on_pool!(self, |pool| {
            let entries = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(department_id)
                .bind(page.count)
                .bind(page.offset)
                .bind(bound)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(department_id).bind(bound).fetch_one(pool).await?;
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
        const COUNT: &str = concat!(
            queued_total!(),
            "WHERE (department_key = '' OR department_key IN (SELECT department_id FROM department_agents WHERE agent_id = $1)) \
               AND ($2 IS NULL OR department_key = $2)"
        );
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
}
