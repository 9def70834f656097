//! The HelpCrunch face of conversations: chats addressed by their integer id, their
//! status, assignee and department, and chat searches.
//!
//! A chat is a row of `rooms` (see rooms.rs); every change here is one conditional
//! UPDATE whose WHERE clause holds the precondition. When it changes no row, the row
//! is read again to tell why; if it changed between the two statements, the change is
//! tried again, a bounded number of times, and then given up as `StoreError::Contention`.

use super::events::{INQUIRY_QUEUED, INQUIRY_TAKEN, record_event};
use super::sla_breaches::record_breach_at_take;
use super::sql::{from_chat, hold_agent_under_limit, room_select, sla_breached_at};
use super::{CloseRoom, Closer, ReturnOutcome, Room, RoomGuard, Store, StoreError, StoreResult, begin_write, on_pool};
use crate::domain::chat::ChatStatus;
use crate::domain::chat_search::{
    ChatCondition, ChatField, ChatOperator, ChatSearch, ChatSortField, ChatValue, Comparison,
};
use crate::domain::page::Direction;
use crate::domain::permissions::ROLE_AGENT;
use crate::domain::time::Millis;

/// How often a change is tried when the row keeps changing underneath it.
const ATTEMPTS: usize = 3;

/// The index that keeps one open room per visitor, as each backend names it.
const ONE_OPEN_ROOM_PER_VISITOR: [&str; 2] = ["rooms_one_open_per_visitor", "rooms.visitor_id"];

/// A requested status change.
pub struct StatusChange<'a> {
    pub chat: i64,
    pub status: ChatStatus,
    /// Who closes the chat when the status is "closed".
    pub closer: Closer<'a>,
    pub close_message_id: &'a str,
    /// The inquiry id a reopened chat gets when it has none.
    pub inquiry_id: &'a str,
    pub now: Millis,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    Changed,
    /// The chat already had that status.
    Unchanged,
    NotFound,
    /// The status needs an assignee and the chat has none.
    NoAssignee,
    /// Reopening would give the customer a second open chat.
    CustomerHasOpenChat,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AssigneeOutcome {
    Changed,
    /// The chat already had that assignee (or none, when unassigning).
    Unchanged,
    NotFound,
    Closed,
    /// Another agent has the chat.
    AlreadyAssigned,
    /// The agent serves as many chats as its lowest chat limit allows.
    OverLimit,
}

/// A parameter of a search condition.
enum Bound {
    Text(&'static str),
    Int(i64),
}

impl Store {
    /// The string id of the room behind a chat; ids never change, so it may be read
    /// before a conditional change.
    async fn room_id_of_chat(&self, chat: i64) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT id FROM rooms WHERE num_id = $1";
        let row: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(SQL).bind(chat).fetch_optional(pool).await)?;
        Ok(row.map(|(id,)| id))
    }

    /// A chat's status, whether it is open, and its assignee.
    async fn chat_state(&self, chat: i64) -> StoreResult<Option<(String, bool, Option<String>)>> {
        const SQL: &str = "SELECT chat_status, open, served_by FROM rooms WHERE num_id = $1";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(chat).fetch_optional(pool).await)?)
    }

    /// Moves a chat to a status following conversation-model.md: "closed" closes the
    /// room; "new" puts it back in the queue without an assignee (reopening it when
    /// closed); the working statuses need an assignee and reopen a closed chat.
    pub async fn set_chat_status(&self, change: StatusChange<'_>) -> StoreResult<StatusOutcome> {
        // A working status: only with an assignee; a closed chat reopens.
        const WORK: &str = "UPDATE rooms SET open = TRUE, chat_status = $2, inquiry_status = 'taken', \
               taken_at = COALESCE(taken_at, $3), closed_at = NULL, closed_by = NULL, closer_id = NULL, \
               close_comment = NULL, updated_at = $3 \
             WHERE num_id = $1 AND served_by IS NOT NULL AND chat_status <> $2";
        let Some(room_id) = self.room_id_of_chat(change.chat).await? else {
            return Ok(StatusOutcome::NotFound);
        };
        for _ in 0..ATTEMPTS {
            let changed: StoreResult<bool> = match change.status {
                ChatStatus::Closed => {
                    let close = CloseRoom {
                        room_id: &room_id,
                        closer: change.closer,
                        guard: RoomGuard::ANYONE,
                        comment: None,
                        tags: &[],
                        client_action: false,
                        message_id: change.close_message_id,
                        now: change.now,
                    };
                    match self.close_room(close).await {
                        Ok(()) => Ok(true),
                        Err(StoreError::NotFound) => Ok(false),
                        Err(error) => Err(error),
                    }
                }
                ChatStatus::New => self.requeue_chat(change.chat, &room_id, change.inquiry_id, change.now).await,
                working => on_pool!(self, |pool| sqlx::query(WORK)
                    .bind(change.chat)
                    .bind(working.as_str())
                    .bind(change.now)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected() == 1))
                .map_err(StoreError::from),
            };
            let changed = match changed {
                Ok(changed) => changed,
                Err(error) if ONE_OPEN_ROOM_PER_VISITOR.iter().any(|name| error.is_conflict_on(name)) => {
                    return Ok(StatusOutcome::CustomerHasOpenChat);
                }
                Err(error) => return Err(error),
            };
            if changed {
                return Ok(StatusOutcome::Changed);
            }
            match self.chat_state(change.chat).await? {
                None => return Ok(StatusOutcome::NotFound),
                Some((status, _, _)) if status == change.status.as_str() => return Ok(StatusOutcome::Unchanged),
                Some((_, _, None)) if change.status.needs_assignee() => return Ok(StatusOutcome::NoAssignee),
                Some(_) => continue,
            }
        }
        Err(StoreError::Contention)
    }

    /// Puts chat `chat` (room `room_id`) back in the queue, as "new" without an assignee,
    /// recording the inquiry's return with it; whether the chat changed.
    async fn requeue_chat(&self, chat: i64, room_id: &str, inquiry_id: &str, now: Millis) -> StoreResult<bool> {
        // Back to the queue: from an assigned chat or from a closed one.
        const REQUEUE: &str = "UPDATE rooms SET open = TRUE, chat_status = 'new', inquiry_status = 'queued', \
               inquiry_id = COALESCE(inquiry_id, $2), queued_at = $3, taken_at = NULL, served_by = NULL, \
               served_at = NULL, closed_at = NULL, closed_by = NULL, closer_id = NULL, close_comment = NULL, \
               updated_at = $3 \
             WHERE num_id = $1 AND chat_status <> 'new'";
        begin_write!(self, |tx| {
            let changed =
                sqlx::query(REQUEUE).bind(chat).bind(inquiry_id).bind(now).execute(&mut *tx).await?.rows_affected()
                    == 1;
            if changed {
                record_event!(&mut *tx, INQUIRY_QUEUED, room_id, "{}", now);
                tx.commit().await?;
            }
            Ok(changed)
        })
    }

    /// Gives an open chat without an assignee to an agent under its chat limit: its
    /// inquiry is taken and the chat "opened". Exactly one of any number of concurrent
    /// assignments wins; a chat another agent has is `AlreadyAssigned`. As in
    /// `take_inquiry`, the agent's row is held while its load is checked, in the same
    /// transaction as the assignment.
    pub async fn assign_chat(&self, chat: i64, agent_id: &str, now: Millis) -> StoreResult<AssigneeOutcome> {
        const HOLD_AGENT: &str =
            hold_agent_under_limit!("(SELECT lr.department_id FROM rooms lr WHERE lr.num_id = $1)");
        const TAKE: &str = "UPDATE rooms SET inquiry_status = 'taken', taken_at = $3, served_by = $2, served_at = $3, \
               chat_status = 'opened', updated_at = $3 \
             WHERE num_id = $1 AND open AND served_by IS NULL RETURNING id";
        for _ in 0..ATTEMPTS {
            let (held, taken) = begin_write!(self, |tx| {
                let held = sqlx::query(HOLD_AGENT).bind(chat).bind(agent_id).bind(now).execute(&mut *tx).await?;
                let mut taken = false;
                if held.rows_affected() == 1 {
                    let room: Option<(String,)> =
                        sqlx::query_as(TAKE).bind(chat).bind(agent_id).bind(now).fetch_optional(&mut *tx).await?;
                    if let Some((room_id,)) = room {
                        record_event!(&mut *tx, INQUIRY_TAKEN, &room_id, "{}", now);
                        record_breach_at_take!(tx, &room_id);
                        tx.commit().await?;
                        taken = true;
                    }
                }
                (held.rows_affected() == 1, taken)
            });
            if taken {
                return Ok(AssigneeOutcome::Changed);
            }
            match self.chat_state(chat).await? {
                None => return Ok(AssigneeOutcome::NotFound),
                Some((_, false, _)) => return Ok(AssigneeOutcome::Closed),
                Some((_, true, Some(assignee))) if assignee == agent_id => return Ok(AssigneeOutcome::Unchanged),
                Some((_, true, Some(_))) => return Ok(AssigneeOutcome::AlreadyAssigned),
                Some((_, true, None)) if !held => return Ok(AssigneeOutcome::OverLimit),
                Some((_, true, None)) => continue,
            }
        }
        Err(StoreError::Contention)
    }

    /// Takes the assignee off an open chat: it goes back to the queue as "new".
    pub async fn unassign_chat(&self, chat: i64, now: Millis) -> StoreResult<AssigneeOutcome> {
        let Some(room_id) = self.room_id_of_chat(chat).await? else {
            return Ok(AssigneeOutcome::NotFound);
        };
        Ok(match self.return_to_queue(&room_id, None, RoomGuard::ANYONE, now).await? {
            ReturnOutcome::Returned => AssigneeOutcome::Changed,
            // Refused only by a narrower guard than this one.
            ReturnOutcome::AlreadyQueued | ReturnOutcome::NotPermitted => AssigneeOutcome::Unchanged,
            ReturnOutcome::Closed => AssigneeOutcome::Closed,
            ReturnOutcome::NotFound => AssigneeOutcome::NotFound,
        })
    }

    /// The string id of the livechat agent with this integer id.
    pub async fn agent_id_by_num_id(&self, num_id: i64) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id AND ur.role = $2 \
             WHERE u.num_id = $1";
        let row: Option<(String,)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(num_id).bind(ROLE_AGENT).fetch_optional(pool).await)?;
        Ok(row.map(|(id,)| id))
    }

    /// The string id of the department with this integer id.
    pub async fn department_id_by_num_id(&self, num_id: i64) -> StoreResult<Option<String>> {
        const SQL: &str = "SELECT id FROM departments WHERE num_id = $1";
        let row: Option<(String,)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(num_id).fetch_optional(pool).await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Chats matching every (AND) or any (OR) condition, one page of them in the
    /// requested order, with the number matching.
    pub async fn search_chats(&self, search: &ChatSearch) -> StoreResult<(Vec<Room>, i64)> {
        let mut binds = Vec::new();
        let conditions: Vec<String> =
            search.conditions.iter().map(|condition| condition_sql(condition, &mut binds)).collect();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            let joiner = match search.comparison {
                Comparison::And => " AND ",
                Comparison::Or => " OR ",
            };
            format!("WHERE {} ", conditions.join(joiner))
        };
        let limit_parameter = binds.len() + 1;
        // Only the whitelisted fragments of `condition_sql` and `order_sql`, and
        // parameter numbers, are joined: every value travels as a bound parameter.
        let list = format!(
            "{}{where_clause}ORDER BY {} LIMIT ${limit_parameter} OFFSET ${}",
            room_select!(),
            order_sql(search.sort, search.direction),
            limit_parameter + 1
        );
        let count = format!("SELECT COUNT(*) {}{where_clause}", from_chat!());
        on_pool!(self, |pool| {
            let mut list_query = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()));
            let mut count_query = sqlx::query_as(sqlx::AssertSqlSafe(count.clone()));
            for bound in &binds {
                (list_query, count_query) = match *bound {
                    Bound::Text(text) => (list_query.bind(text), count_query.bind(text)),
                    Bound::Int(number) => (list_query.bind(number), count_query.bind(number)),
                };
            }
            let rooms: Vec<Room> = list_query.bind(search.limit).bind(search.offset).fetch_all(pool).await?;
            let (total,): (i64,) = count_query.fetch_one(pool).await?;
            Ok((rooms, total))
        })
    }
}

/// The fixed SQL of one condition; its value, if any, is pushed onto `binds` and
/// referenced by number.
fn condition_sql(condition: &ChatCondition, binds: &mut Vec<Bound>) -> String {
    let column = match condition.field {
        ChatField::Status => "r.chat_status",
        ChatField::Assignee => "u.num_id",
        ChatField::Department => "d.num_id",
        ChatField::Customer => "v.num_id",
        // Instants compare in whole seconds, as the wire shows them.
        ChatField::CreatedAt => "(r.ts / 1000)",
        ChatField::ClosedAt => "(r.closed_at / 1000)",
        ChatField::SlaDueAt => "(r.sla_due_at / 1000)",
        ChatField::SlaBreachedAt => concat!("(", sla_breached_at!(), " / 1000)"),
    };
    let bound = match condition.value {
        ChatValue::Empty => {
            return match condition.operator {
                ChatOperator::NotEqual => format!("{column} IS NOT NULL"),
                _ => format!("{column} IS NULL"),
            };
        }
        ChatValue::Status(status) => Bound::Text(status.as_str()),
        ChatValue::Id(id) => Bound::Int(id),
        ChatValue::Seconds(seconds) => Bound::Int(seconds),
    };
    binds.push(bound);
    let parameter = binds.len();
    match condition.operator {
        // "Not this assignee" includes the chats with none.
        ChatOperator::NotEqual if condition.field.may_be_empty() => {
            format!("({column} IS NULL OR {column} <> ${parameter})")
        }
        ChatOperator::NotEqual => format!("{column} <> ${parameter}"),
        ChatOperator::Equal => format!("{column} = ${parameter}"),
        ChatOperator::Greater => format!("{column} > ${parameter}"),
        ChatOperator::GreaterOrEqual => format!("{column} >= ${parameter}"),
        ChatOperator::Less => format!("{column} < ${parameter}"),
        ChatOperator::LessOrEqual => format!("{column} <= ${parameter}"),
    }
}

/// Chats without the sort instant come last on both backends; the id breaks ties.
fn order_sql(sort: ChatSortField, direction: Direction) -> &'static str {
    match (sort, direction) {
        (ChatSortField::CreatedAt, Direction::Asc) => "r.ts ASC, r.num_id ASC",
        (ChatSortField::CreatedAt, Direction::Desc) => "r.ts DESC, r.num_id DESC",
        (ChatSortField::LastCustomerMessageAt, Direction::Asc) => {
            "(r.last_customer_message_at IS NULL), r.last_customer_message_at ASC, r.num_id ASC"
        }
        (ChatSortField::LastCustomerMessageAt, Direction::Desc) => {
            "(r.last_customer_message_at IS NULL), r.last_customer_message_at DESC, r.num_id DESC"
        }
        (ChatSortField::LastMessageAt, Direction::Asc) => {
            "(r.last_message_at IS NULL), r.last_message_at ASC, r.num_id ASC"
        }
        (ChatSortField::LastMessageAt, Direction::Desc) => {
            "(r.last_message_at IS NULL), r.last_message_at DESC, r.num_id DESC"
        }
        (ChatSortField::ClosedAt, Direction::Asc) => "(r.closed_at IS NULL), r.closed_at ASC, r.num_id ASC",
        (ChatSortField::ClosedAt, Direction::Desc) => "(r.closed_at IS NULL), r.closed_at DESC, r.num_id DESC",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_number_their_parameters_and_keep_values_out_of_the_text() {
        let mut binds = Vec::new();
        let status = ChatCondition {
            field: ChatField::Status,
            operator: ChatOperator::Equal,
            value: ChatValue::Status(ChatStatus::OnHold),
        };
        let assignee =
            ChatCondition { field: ChatField::Assignee, operator: ChatOperator::NotEqual, value: ChatValue::Id(7) };
        let unassigned =
            ChatCondition { field: ChatField::Assignee, operator: ChatOperator::Equal, value: ChatValue::Empty };
        assert_eq!(condition_sql(&status, &mut binds), "r.chat_status = $1");
        assert_eq!(condition_sql(&assignee, &mut binds), "(u.num_id IS NULL OR u.num_id <> $2)");
        assert_eq!(condition_sql(&unassigned, &mut binds), "u.num_id IS NULL");
        assert_eq!(binds.len(), 2);
    }
}
