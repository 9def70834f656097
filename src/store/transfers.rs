//! Forwarding a room to another agent or department (Rocket.Chat's livechat/room.forward,
//! HelpCrunch's department change) and the transfer history it leaves.
//!
//! A forward is one transaction: the room changes only while it is still open, served
//! by the agent and in the department the caller saw, and within the caller's guard; the
//! `livechat_transfer_history` message is written with it. Losing to a concurrent close,
//! take or forward changes nothing.

use serde::Serialize;

use super::events::{INQUIRY_QUEUED, INQUIRY_TAKEN, record_event};
use super::messages::{Message, NewMessage, insert_message};
use super::sla_breaches::record_breach_at_take;
use super::sql::{hold_agent_under_limit, message_columns, room_guard};
use super::{RoomGuard, SortColumn, Store, StoreResult, begin_write, on_pool, order_by};
use crate::domain::page::{Page, SortKey};
use crate::domain::permissions::ROLE_AGENT;
use crate::domain::time::{Millis, iso};

/// The message type of a transfer, as Rocket.Chat names it.
pub const TRANSFER_HISTORY: &str = "livechat_transfer_history";

/// Whether the room (unprefixed columns) is still served by `$served_by` and in
/// `$department` (each NULL: none), as the caller saw it.
macro_rules! as_seen {
    ($served_by:literal, $department:literal) => {
        concat!(
            "(served_by = ",
            $served_by,
            " OR (served_by IS NULL AND ",
            $served_by,
            " IS NULL)) AND (department_id = ",
            $department,
            " OR (department_id IS NULL AND ",
            $department,
            " IS NULL))"
        )
    };
}

/// A user (or API key) as a transfer names it.
#[derive(Clone, Copy, Debug)]
pub struct Party<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub name: Option<&'a str>,
}

/// A department as a transfer names it.
#[derive(Clone, Copy, Debug)]
pub struct DepartmentRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// Where a room goes.
#[derive(Clone, Copy, Debug)]
pub enum ForwardTarget<'a> {
    /// To this agent, optionally moving the room into a department with it.
    Agent { agent: Party<'a>, department: Option<DepartmentRef<'a>> },
    /// Back to the queue of this department (of none when `None`).
    Department(Option<DepartmentRef<'a>>),
}

/// One forward of one room.
pub struct Forward<'a> {
    pub room_id: &'a str,
    /// The serving agent the caller saw; the forward happens only while it still serves.
    pub seen_served_by: Option<&'a str>,
    /// The department the caller saw the room in.
    pub seen_department: Option<&'a str>,
    pub target: ForwardTarget<'a>,
    pub by: Party<'a>,
    pub guard: RoomGuard<'a>,
    pub comment: Option<&'a str>,
    pub message_id: &'a str,
    pub now: Millis,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ForwardOutcome {
    Forwarded,
    /// The room was closed, served by another or moved since the caller saw it, or
    /// it is not within the caller's guard.
    RoomChanged,
    /// The target agent is not available.
    AgentUnavailable,
    /// The target agent serves as many chats as its lowest chat limit allows.
    OverLimit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferSortField {
    Ts,
}

impl SortColumn for TransferSortField {
    fn column(self) -> &'static str {
        match self {
            Self::Ts => "ts",
        }
    }
}

/// The `extra` of a transfer message: `{"transferData": ...}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferExtra<'a> {
    transfer_data: TransferData<'a>,
}

/// Rocket.Chat's `transferData` of a forward.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferData<'a> {
    transferred_by: PartyData<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transferred_to: Option<PartyData<'a>>,
    ts: String,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_department: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_department: Option<DepartmentData<'a>>,
}

#[derive(Serialize)]
struct PartyData<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// `agent` or `user`; only on `transferredBy`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

impl<'a> PartyData<'a> {
    fn of(party: Party<'a>, kind: Option<&'static str>) -> Self {
        Self { id: party.id, username: party.username, name: party.name, kind }
    }
}

#[derive(Serialize)]
struct DepartmentData<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    name: &'a str,
}

impl Forward<'_> {
    /// Rocket.Chat's `transferData` of this forward, as the message stores it.
    fn transfer_data(&self) -> String {
        let kind = if Some(self.by.id) == self.seen_served_by { "agent" } else { "user" };
        let (scope, transferred_to, next_department) = match self.target {
            ForwardTarget::Agent { agent, department } => {
                let scope = if department.is_some() { "department" } else { "agent" };
                (scope, Some(PartyData::of(agent, None)), department)
            }
            ForwardTarget::Department(Some(department)) => ("department", None, Some(department)),
            ForwardTarget::Department(None) => ("queue", None, None),
        };
        let transfer_data = TransferData {
            transferred_by: PartyData::of(self.by, Some(kind)),
            transferred_to,
            ts: iso(self.now),
            scope,
            comment: self.comment,
            previous_department: self.seen_department,
            next_department: next_department.map(|next| DepartmentData { id: next.id, name: next.name }),
        };
        serde_json::to_string(&TransferExtra { transfer_data }).expect("a transfer serializes")
    }

    fn message<'m>(&'m self, transfer_data: &'m str) -> NewMessage<'m> {
        NewMessage {
            id: self.message_id,
            room_id: self.room_id,
            msg: "",
            kind: Some(TRANSFER_HISTORY),
            author_id: self.by.id,
            author_username: self.by.username,
            author_name: self.by.name,
            extra: Some(transfer_data),
            now: self.now,
        }
    }
}

impl Store {
    /// Forwards a room as `forward` says, with its transfer history message, in one
    /// transaction. To an agent: the agent's row is held under its chat limit (as an
    /// assignment holds it), then the room changes hands. To a department: the room
    /// and its inquiry move there and go back to the queue, without an agent.
    pub async fn forward_room(&self, forward: &Forward<'_>) -> StoreResult<ForwardOutcome> {
        const HOLD_AGENT: &str = concat!(
            hold_agent_under_limit!("COALESCE($4, (SELECT lr.department_id FROM rooms lr WHERE lr.id = $1))"),
            " AND livechat_status = 'available' AND active"
        );
        const TO_AGENT: &str = concat!(
            "UPDATE rooms SET served_by = $2, served_at = $3, inquiry_status = 'taken', taken_at = $3, \
               department_id = COALESCE($4, department_id), \
               chat_status = CASE WHEN chat_status = 'new' THEN 'opened' ELSE chat_status END, updated_at = $3 \
             WHERE id = $1 AND open AND ",
            as_seen!("$5", "$6"),
            " AND ",
            room_guard!("$7", "$8", "$9")
        );
        const TO_DEPARTMENT: &str = concat!(
            "UPDATE rooms SET department_id = $2, inquiry_status = 'queued', queued_at = $3, taken_at = NULL, \
               served_by = NULL, served_at = NULL, chat_status = 'new', updated_at = $3 \
             WHERE id = $1 AND open AND ",
            as_seen!("$4", "$5"),
            " AND ",
            room_guard!("$6", "$7", "$8")
        );
        const AGENT_AVAILABLE: &str = "SELECT livechat_status = 'available' AND active FROM users WHERE id = $1";
        let transfer_data = forward.transfer_data();
        let message = forward.message(&transfer_data);
        let guard = forward.guard;
        begin_write!(self, |tx| {
            let moved = match forward.target {
                ForwardTarget::Agent { agent, department } => {
                    let department_id = department.map(|department| department.id);
                    let held = sqlx::query(HOLD_AGENT)
                        .bind(forward.room_id)
                        .bind(agent.id)
                        .bind(forward.now)
                        .bind(department_id)
                        .execute(&mut *tx)
                        .await?;
                    if held.rows_affected() == 0 {
                        let available: Option<(bool,)> =
                            sqlx::query_as(AGENT_AVAILABLE).bind(agent.id).fetch_optional(&mut *tx).await?;
                        return Ok(match available {
                            Some((true,)) => ForwardOutcome::OverLimit,
                            _ => ForwardOutcome::AgentUnavailable,
                        });
                    }
                    sqlx::query(TO_AGENT)
                        .bind(forward.room_id)
                        .bind(agent.id)
                        .bind(forward.now)
                        .bind(department_id)
                        .bind(forward.seen_served_by)
                        .bind(forward.seen_department)
                        .bind(guard.user_id)
                        .bind(guard.others)
                        .bind(guard.bound)
                        .execute(&mut *tx)
                        .await?
                }
                ForwardTarget::Department(department) => {
                    sqlx::query(TO_DEPARTMENT)
                        .bind(forward.room_id)
                        .bind(department.map(|department| department.id))
                        .bind(forward.now)
                        .bind(forward.seen_served_by)
                        .bind(forward.seen_department)
                        .bind(guard.user_id)
                        .bind(guard.others)
                        .bind(guard.bound)
                        .execute(&mut *tx)
                        .await?
                }
            };
            if moved.rows_affected() == 0 {
                return Ok(ForwardOutcome::RoomChanged);
            }
            insert_message!(&mut *tx, &message, false);
            let kind = match forward.target {
                ForwardTarget::Agent { .. } => INQUIRY_TAKEN,
                ForwardTarget::Department(_) => INQUIRY_QUEUED,
            };
            record_event!(&mut *tx, kind, forward.room_id, "{}", forward.now);
            // An unassigned room given to an agent is a take of its queued inquiry.
            if matches!(forward.target, ForwardTarget::Agent { .. }) && forward.seen_served_by.is_none() {
                record_breach_at_take!(tx, forward.room_id);
            }
            tx.commit().await?;
            Ok(ForwardOutcome::Forwarded)
        })
    }

    /// Whether the guard lets its user act on the room (false for no room).
    pub async fn may_act_on_room(&self, room_id: &str, guard: RoomGuard<'_>) -> StoreResult<bool> {
        const SQL: &str = concat!("SELECT 1 FROM rooms WHERE id = $1 AND ", room_guard!("$2", "$3", "$4"));
        let row: Option<(i32,)> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(room_id)
            .bind(guard.user_id)
            .bind(guard.others)
            .bind(guard.bound)
            .fetch_optional(pool)
            .await)?;
        Ok(row.is_some())
    }

    /// Whether an active livechat agent of the department is available now.
    pub async fn department_has_online_agent(&self, department_id: &str) -> StoreResult<bool> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users u \
               JOIN department_agents da ON da.agent_id = u.id AND da.department_id = $1 \
               JOIN user_roles ur ON ur.user_id = u.id AND ur.role = $2 \
             WHERE u.livechat_status = 'available' AND u.active)";
        let (online,): (bool,) =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(department_id).bind(ROLE_AGENT).fetch_one(pool).await)?;
        Ok(online)
    }

    /// The transfer history messages of a room, one page in the given order (oldest
    /// first by default), with their number.
    pub async fn transfer_history(
        &self,
        room_id: &str,
        sort: &[SortKey<TransferSortField>],
        page: Page,
    ) -> StoreResult<(Vec<Message>, i64)> {
        const SELECT: &str = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND kind = 'livechat_transfer_history'"
        );
        const COUNT: &str = "SELECT COUNT(*) FROM messages WHERE room_id = $1 AND kind = 'livechat_transfer_history'";
        // Built from the static query and whitelisted sort columns only.
        let list = format!("{SELECT}{} LIMIT $2 OFFSET $3", order_by(sort, "ts, num_id"));
        on_pool!(self, |pool| {
            let messages = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(room_id)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(room_id).fetch_one(pool).await?;
            Ok((messages, total))
        })
    }
}
