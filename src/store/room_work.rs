//! What agents do to a room while serving it: join it, save its and its visitor's
//! details, put it on hold and resume it. Each change is one transaction whose
//! statements carry their preconditions (the room's state and the caller's reach); a
//! refused change is worded afterwards from the room as it then is.

use sqlx::FromRow;

use super::messages::{HistoryActor, NewMessage, insert_message};
use super::priorities::{PRIORITY_HISTORY, Priority, priority_history};
use super::rooms::LOCK_ROOM;
use super::sla::{SLA_HISTORY, SlaPolicy, sla_history};
use super::sql::{priority_columns, room_access, room_guard, sla_columns, under_chat_limit};
use super::visitors::phone_key;
use super::{RoomAccess, RoomGuard, Store, StoreError, StoreResult, begin_write, on_pool};
use crate::domain::custom_fields;
use crate::domain::queue::{DEFAULT_PRIORITY_WEIGHT, NO_SLA_WAITING_TIME};
use crate::domain::time::Millis;

/// A room as the room-work routes word their refusals: its state and the caller's
/// relation to it.
#[derive(Clone, Debug, FromRow)]
pub struct RoomWorkState {
    pub open: bool,
    pub on_hold: bool,
    pub served: bool,
    pub visitor_id: String,
    /// The room's last message was the visitor's.
    pub visitor_spoke_last: bool,
    /// The guard the state was read with lets the caller act on the room.
    pub reachable: bool,
    /// The serving agent may take one more chat (its and the department's limits).
    pub agent_under_limit: bool,
}

/// The system message a room-work change leaves, in the caller's name.
#[derive(Clone, Copy)]
pub struct SystemNote<'a> {
    pub message_id: &'a str,
    pub user_id: &'a str,
    pub username: &'a str,
    pub name: &'a str,
    /// The message's `comment`, if any.
    pub comment: Option<&'a str>,
    pub now: Millis,
}

impl SystemNote<'_> {
    fn message<'a>(
        &'a self,
        room_id: &'a str,
        kind: &'static str,
        msg: &'a str,
        extra: Option<&'a str>,
    ) -> NewMessage<'a> {
        NewMessage {
            id: self.message_id,
            room_id,
            msg,
            kind: Some(kind),
            author_id: self.user_id,
            author_username: self.username,
            author_name: Some(self.name),
            extra,
            now: self.now,
        }
    }

    fn comment_extra(&self) -> Option<String> {
        self.comment.map(|comment| serde_json::json!({ "comment": comment }).to_string())
    }
}

/// What room.saveInfo changes; `None` leaves a field as it is.
pub struct RoomInfo<'a> {
    pub room_id: &'a str,
    pub visitor_id: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// `Some("")` removes the topic.
    pub topic: Option<&'a str>,
    /// The room's tags from now on (none when empty).
    pub tags: &'a [String],
    /// Checked values of room-scoped custom fields; a blank value removes its field.
    pub room_fields: &'a [(String, String)],
    /// Checked values of visitor-scoped custom fields, for the visitor likewise.
    pub visitor_fields: &'a [(String, String)],
    /// The room's priority level from now on, by id; `Some("")` removes it, none keeps it.
    pub priority_id: Option<&'a str>,
    /// The room's SLA policy from now on likewise.
    pub sla_id: Option<&'a str>,
    /// Who saves, named in the history message of a priority or SLA change.
    pub actor: HistoryActor<'a>,
    /// The ids of those history messages: the priority's, the SLA's.
    pub history_ids: [&'a str; 2],
    pub now: Millis,
}

/// How a save ended: saved, or nothing saved for a level or policy that is not there.
#[derive(Debug, PartialEq, Eq)]
pub enum SaveInfoOutcome {
    Saved,
    UnknownPriority,
    UnknownSla,
}

/// How a resume ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ResumeOutcome {
    Resumed,
    /// The room is not open, not on hold, not served or out of the guard's reach.
    NotResumable,
    /// The serving agent has as many chats as its limit allows.
    OverLimit,
}

impl Store {
    /// The room's state as `guard` sees it; `None` for no room.
    pub async fn room_work_state(&self, room_id: &str, guard: RoomGuard<'_>) -> StoreResult<Option<RoomWorkState>> {
        const SQL: &str = concat!(
            "SELECT open, chat_status = 'on hold' AS on_hold, served_by IS NOT NULL AS served, visitor_id, \
               COALESCE(lm.from_visitor, FALSE) AS visitor_spoke_last, COALESCE(",
            room_guard!("$2", "$3", "$4"),
            ", FALSE) AS reachable, COALESCE((SELECT ",
            under_chat_limit!("u.", "rooms.department_id"),
            " FROM users u WHERE u.id = rooms.served_by), FALSE) AS agent_under_limit \
             FROM rooms LEFT JOIN messages lm ON lm.id = rooms.last_message_id WHERE rooms.id = $1"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(room_id)
            .bind(guard.user_id)
            .bind(guard.others)
            .bind(guard.bound)
            .fetch_optional(pool)
            .await)?)
    }

    /// The user joins an open room it may see (see `sql::room_access`) and does not
    /// serve, leaving a `uj` message; joining again changes nothing (the membership's
    /// key). Whether it joined now.
    pub async fn join_room(&self, room_id: &str, access: RoomAccess<'_>, note: SystemNote<'_>) -> StoreResult<bool> {
        const JOIN: &str = concat!(
            "INSERT INTO room_members (room_id, user_id, joined_at) \
             SELECT r.id, $2, $7 FROM rooms r WHERE r.id = $1 AND r.open \
               AND (r.served_by IS NULL OR r.served_by <> $2) AND ",
            room_access!("r.", "$2", "$3", "$4", "$5", "$6"),
            " ON CONFLICT (room_id, user_id) DO NOTHING"
        );
        let message = note.message(room_id, "uj", note.username, None);
        begin_write!(self, |tx| {
            // A close committed meanwhile is seen, so no one joins a closed room.
            sqlx::query(LOCK_ROOM).bind(room_id).execute(&mut *tx).await?;
            let joined = sqlx::query(JOIN)
                .bind(room_id)
                .bind(access.user_id)
                .bind(access.any_room)
                .bind(access.closed_rooms)
                .bind(access.closed_department_rooms)
                .bind(access.bound)
                .bind(note.now)
                .execute(&mut *tx)
                .await?;
            if joined.rows_affected() == 0 {
                return Ok(false);
            }
            insert_message!(&mut *tx, &message, false);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Saves the room's topic, tags and custom fields and its visitor's name, email,
    /// phone and custom fields in one transaction. The custom fields merge into the
    /// stored ones while the room's and the visitor's rows are held by the updates
    /// before, so two saves never lose each other's fields. `NotFound` when the room is not the visitor's or out of the guard's
    /// reach; `Conflict` on `phone_key` when another visitor has the phone number.
    pub async fn save_room_info(&self, info: RoomInfo<'_>, guard: RoomGuard<'_>) -> StoreResult<SaveInfoOutcome> {
        const ROOM: &str = concat!(
            "UPDATE rooms SET topic = CASE WHEN $3 IS NULL THEN topic WHEN $3 = '' THEN NULL ELSE $3 END, \
               tags = $4, updated_at = $5 \
             WHERE id = $1 AND visitor_id = $2 AND ",
            room_guard!("$6", "$7", "$8")
        );
        const VISITOR: &str = "UPDATE visitors SET name = COALESCE($2, name), email = COALESCE($3, email), \
               phone = COALESCE($4, phone), phone_key = COALESCE($5, phone_key), updated_at = $6 \
             WHERE id = $1";
        const ROOM_FIELDS: &str = "SELECT livechat_data FROM rooms WHERE id = $1";
        const SET_ROOM_FIELDS: &str = "UPDATE rooms SET livechat_data = $2 WHERE id = $1";
        const VISITOR_FIELDS: &str = "SELECT livechat_data FROM visitors WHERE id = $1";
        const SET_VISITOR_FIELDS: &str = "UPDATE visitors SET livechat_data = $2 WHERE id = $1";
        // Levels are never deleted, so the one read stays there; a policy deleted after
        // it is read makes its update change nothing.
        const PRIORITY: &str = concat!("SELECT ", priority_columns!(), " FROM livechat_priorities WHERE id = $1");
        const SET_PRIORITY: &str = "UPDATE rooms SET priority_id = $2, \
               priority_weight = COALESCE((SELECT sort_item FROM livechat_priorities WHERE id = $2), $3) \
             WHERE id = $1 AND COALESCE(priority_id, '') <> COALESCE($2, '')";
        const POLICY: &str = concat!("SELECT ", sla_columns!(), " FROM sla_policies WHERE id = $1");
        const SET_POLICY: &str = "UPDATE rooms SET sla_id = $2, \
               estimated_waiting_time_queue = COALESCE((SELECT due_time_in_minutes FROM sla_policies WHERE id = $2), $3) \
             WHERE id = $1 AND COALESCE(sla_id, '') <> COALESCE($2, '') \
               AND ($2 IS NULL OR EXISTS (SELECT 1 FROM sla_policies WHERE id = $2))";
        let tags = (!info.tags.is_empty()).then(|| serde_json::to_string(info.tags).expect("strings serialize"));
        let key = info.phone.and_then(phone_key);
        begin_write!(self, |tx| {
            let saved = sqlx::query(ROOM)
                .bind(info.room_id)
                .bind(info.visitor_id)
                .bind(info.topic)
                .bind(&tags)
                .bind(info.now)
                .bind(guard.user_id)
                .bind(guard.others)
                .bind(guard.bound)
                .execute(&mut *tx)
                .await?;
            if saved.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(VISITOR)
                .bind(info.visitor_id)
                .bind(info.name)
                .bind(info.email)
                .bind(info.phone)
                .bind(&key)
                .bind(info.now)
                .execute(&mut *tx)
                .await?;
            // Merges into one row's stored fields; the row is held by its update above.
            macro_rules! merge_fields {
                ($read:expr, $write:expr, $id:expr, $fields:expr) => {
                    if !$fields.is_empty() {
                        let (stored,): (Option<String>,) = sqlx::query_as($read).bind($id).fetch_one(&mut *tx).await?;
                        let merged = custom_fields::merged(stored.as_deref(), $fields);
                        sqlx::query($write).bind($id).bind(merged).execute(&mut *tx).await?;
                    }
                };
            }
            merge_fields!(ROOM_FIELDS, SET_ROOM_FIELDS, info.room_id, info.room_fields);
            merge_fields!(VISITOR_FIELDS, SET_VISITOR_FIELDS, info.visitor_id, info.visitor_fields);
            // A level or policy that is not there leaves everything unsaved: the
            // transaction ends without a commit.
            if let Some(priority_id) = info.priority_id {
                let level: Option<Priority> = match priority_id {
                    "" => None,
                    id => match sqlx::query_as(PRIORITY).bind(id).fetch_optional(&mut *tx).await? {
                        Some(level) => Some(level),
                        None => return Ok(SaveInfoOutcome::UnknownPriority),
                    },
                };
                let set = sqlx::query(SET_PRIORITY)
                    .bind(info.room_id)
                    .bind(level.as_ref().map(|level| &level.id))
                    .bind(DEFAULT_PRIORITY_WEIGHT)
                    .execute(&mut *tx)
                    .await?;
                if set.rows_affected() == 1 {
                    let history = priority_history(&info.actor, level.as_ref());
                    let message =
                        info.actor.message(info.history_ids[0], info.room_id, PRIORITY_HISTORY, &history, info.now);
                    insert_message!(&mut *tx, &message, false);
                }
            }
            if let Some(sla_id) = info.sla_id {
                let policy: Option<SlaPolicy> = match sla_id {
                    "" => None,
                    id => match sqlx::query_as(POLICY).bind(id).fetch_optional(&mut *tx).await? {
                        Some(policy) => Some(policy),
                        None => return Ok(SaveInfoOutcome::UnknownSla),
                    },
                };
                let set = sqlx::query(SET_POLICY)
                    .bind(info.room_id)
                    .bind(policy.as_ref().map(|policy| &policy.id))
                    .bind(NO_SLA_WAITING_TIME)
                    .execute(&mut *tx)
                    .await?;
                if set.rows_affected() == 1 {
                    let history = sla_history(&info.actor, policy.as_ref());
                    let message =
                        info.actor.message(info.history_ids[1], info.room_id, SLA_HISTORY, &history, info.now);
                    insert_message!(&mut *tx, &message, false);
                }
            }
            tx.commit().await?;
            Ok(SaveInfoOutcome::Saved)
        })
    }

    /// Puts an open, served room on hold unless it is already or the visitor wrote its
    /// last message, leaving an `omnichannel_placed_chat_on_hold` message. Whether it
    /// was put on hold now.
    pub async fn place_on_hold(&self, room_id: &str, guard: RoomGuard<'_>, note: SystemNote<'_>) -> StoreResult<bool> {
        const HOLD: &str = concat!(
            "UPDATE rooms SET chat_status = 'on hold', updated_at = $5 \
             WHERE id = $1 AND open AND chat_status <> 'on hold' AND served_by IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM messages lm WHERE lm.id = rooms.last_message_id AND lm.from_visitor) AND ",
            room_guard!("$2", "$3", "$4")
        );
        let extra = note.comment_extra();
        let message = note.message(room_id, "omnichannel_placed_chat_on_hold", "", extra.as_deref());
        begin_write!(self, |tx| {
            // A visitor's message committed meanwhile is seen as the last message.
            sqlx::query(LOCK_ROOM).bind(room_id).execute(&mut *tx).await?;
            let held = sqlx::query(HOLD)
                .bind(room_id)
                .bind(guard.user_id)
                .bind(guard.others)
                .bind(guard.bound)
                .bind(note.now)
                .execute(&mut *tx)
                .await?;
            if held.rows_affected() == 0 {
                return Ok(false);
            }
            insert_message!(&mut *tx, &message, false);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Resumes a room on hold when its serving agent is under its chat limit (the room's
    /// row, then the agent's, are held while the load is checked), leaving
    /// an `omnichannel_on_hold_chat_resumed` message.
    pub async fn resume_on_hold(
        &self,
        room_id: &str,
        guard: RoomGuard<'_>,
        note: SystemNote<'_>,
    ) -> StoreResult<ResumeOutcome> {
        const HOLD_AGENT: &str = concat!(
            "UPDATE users SET open_chats = open_chats \
             WHERE id = (SELECT served_by FROM rooms WHERE id = $1) AND ",
            under_chat_limit!("users.", "(SELECT lr.department_id FROM rooms lr WHERE lr.id = $1)")
        );
        const RESUME: &str = concat!(
            "UPDATE rooms SET chat_status = 'opened', updated_at = $5 \
             WHERE id = $1 AND open AND chat_status = 'on hold' AND served_by IS NOT NULL AND ",
            room_guard!("$2", "$3", "$4")
        );
        let extra = note.comment_extra();
        let message = note.message(room_id, "omnichannel_on_hold_chat_resumed", "", extra.as_deref());
        // `None`: the agent's row was not held (no such room or agent, or over limit).
        let resumed: Option<bool> = begin_write!(self, |tx| {
            // The room's row before the agent's, in the order a close, a hold and a
            // visitor's message take them, so none of them deadlocks with a resume.
            sqlx::query(LOCK_ROOM).bind(room_id).execute(&mut *tx).await?;
            let held = sqlx::query(HOLD_AGENT).bind(room_id).execute(&mut *tx).await?;
            if held.rows_affected() == 0 {
                None
            } else {
                let resumed = sqlx::query(RESUME)
                    .bind(room_id)
                    .bind(guard.user_id)
                    .bind(guard.others)
                    .bind(guard.bound)
                    .bind(note.now)
                    .execute(&mut *tx)
                    .await?;
                if resumed.rows_affected() == 1 {
                    insert_message!(&mut *tx, &message, false);
                    tx.commit().await?;
                }
                Some(resumed.rows_affected() == 1)
            }
        });
        let Some(resumed) = resumed else {
            // Over the limit only if the room could otherwise be resumed.
            return Ok(match self.room_work_state(room_id, guard).await? {
                Some(state) if state.open && state.on_hold && state.served && state.reachable => {
                    ResumeOutcome::OverLimit
                }
                _ => ResumeOutcome::NotResumable,
            });
        };
        Ok(if resumed { ResumeOutcome::Resumed } else { ResumeOutcome::NotResumable })
    }
}

impl Store {
    /// Whether a visitor has this id.
    pub async fn visitor_exists(&self, visitor_id: &str) -> StoreResult<bool> {
        const SQL: &str = "SELECT 1 FROM visitors WHERE id = $1";
        let found: Option<(i32,)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(visitor_id).fetch_optional(pool).await)?;
        Ok(found.is_some())
    }
}
