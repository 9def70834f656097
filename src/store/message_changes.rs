//! Messages agents write, and edits and deletions by agents and visitors. Each change
//! is one statement, or one transaction, whose WHERE clause holds the whole precondition:
//! the room's state, the caller's access to it and the caller's right to the message.

use super::events::{MESSAGE_DELETED, MESSAGE_UPDATED, record_event};
use super::messages::{Message, NewMessage, insert_message};
use super::rooms::LOCK_ROOM;
use super::sql::{message_columns, room_access};
use super::uploads::delete_message_uploads;
use super::{Store, StoreError, StoreResult, begin_write, on_pool};
use crate::domain::page::Page;
use crate::domain::time::Millis;

/// Which livechat rooms a user may see and write into (see `sql::room_access`).
#[derive(Clone, Copy, Debug)]
pub struct RoomAccess<'a> {
    pub user_id: &'a str,
    /// view-livechat-rooms: every room within reach of `bound`.
    pub any_room: bool,
    /// view-livechat-room-closed-by-another-agent: closed rooms within reach of `bound`.
    pub closed_rooms: bool,
    /// view-livechat-room-closed-same-department: closed rooms of the user's departments.
    pub closed_department_rooms: bool,
    /// See `AuthUser::department_bound`.
    pub bound: Option<&'a str>,
}

/// A room as a user finds it: whether it is open and whether the user may see it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RoomState {
    pub open: bool,
    pub accessible: bool,
    /// The token of the room's visitor, shown on the visitor's messages.
    pub visitor_token: String,
}

/// Who changes a message, and what its permissions let it change.
#[derive(Clone, Copy, Debug)]
pub enum MessageActor<'a> {
    /// A user of the server, within the rooms `access` lets it see. `any` lets it change
    /// others' messages (edit-message; delete-message), `own` its own (Message_AllowEditing;
    /// Message_AllowDeleting with delete-own-message).
    Agent { access: RoomAccess<'a>, username: &'a str, any: bool, own: bool },
    /// The visitor owning the room, on its own messages.
    Visitor { visitor_id: &'a str, username: &'a str },
}

/// The start of an edit of message `$1` of room `$2` to text `$3` at `$4` by `$5`
/// (username `$6`), up to the actor's conditions: plain visible messages only, and the
/// same text changes nothing.
macro_rules! edit_text {
    () => {
        "UPDATE messages SET \
           edited_at = CASE WHEN msg = $3 THEN edited_at ELSE $4 END, \
           edited_by_id = CASE WHEN msg = $3 THEN edited_by_id ELSE $5 END, \
           edited_by_username = CASE WHEN msg = $3 THEN edited_by_username ELSE $6 END, \
           updated_at = CASE WHEN msg = $3 THEN updated_at ELSE $4 END, \
           msg = $3 \
         WHERE id = $1 AND room_id = $2 AND kind IS NULL AND NOT hidden "
    };
}

/// The `$column` of the latest plain visible message of room `$1`, as a subquery.
macro_rules! latest_plain {
    ($column:literal) => {
        concat!(
            "(SELECT m.",
            $column,
            " FROM messages m WHERE m.room_id = $1 AND m.kind IS NULL AND NOT m.hidden \
             ORDER BY m.ts DESC, m.num_id DESC LIMIT 1)"
        )
    };
}

impl Store {
    /// Adds an agent's message to an open room the agent may access, and makes it the
    /// room's last message (and so the inquiry's and the chat's). The visitor's
    /// `last_customer_message_at` and the chat status stay as they are. `NotFound` when
    /// the room is not open or not accessible; `Conflict` when the message id is taken.
    pub async fn add_agent_message(&self, access: RoomAccess<'_>, message: NewMessage<'_>) -> StoreResult<Message> {
        const UPDATE: &str = concat!(
            "UPDATE rooms SET last_message_id = $2, last_message_at = $3, message_count = message_count + 1, \
               updated_at = $3 \
             WHERE id = $1 AND open AND ",
            room_access!("", "$4", "$5", "$6", "$7", "$8")
        );
        begin_write!(self, |tx| {
            let updated = sqlx::query(UPDATE)
                .bind(message.room_id)
                .bind(message.id)
                .bind(message.now)
                .bind(access.user_id)
                .bind(access.any_room)
                .bind(access.closed_rooms)
                .bind(access.closed_department_rooms)
                .bind(access.bound)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let stored = insert_message!(&mut *tx, &message, false);
            tx.commit().await?;
            Ok(stored)
        })
    }

    /// Whether the room is open and whether `access` reaches it; `None` for no room.
    pub async fn room_state(&self, room_id: &str, access: RoomAccess<'_>) -> StoreResult<Option<RoomState>> {
        const SQL: &str = concat!(
            "SELECT r.open, COALESCE(",
            room_access!("r.", "$2", "$3", "$4", "$5", "$6"),
            ", FALSE) AS accessible, v.token AS visitor_token FROM rooms r JOIN visitors v ON v.id = r.visitor_id WHERE r.id = $1"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(room_id)
            .bind(access.user_id)
            .bind(access.any_room)
            .bind(access.closed_rooms)
            .bind(access.closed_department_rooms)
            .bind(access.bound)
            .fetch_optional(pool)
            .await)?)
    }

    /// A message by id, hidden ones (navigation history) included.
    pub async fn message_by_id(&self, message_id: &str) -> StoreResult<Option<Message>> {
        const SQL: &str = concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(message_id).fetch_optional(pool).await)?)
    }

    /// Replaces the text of a plain message of an open room, recording who edited it and
    /// when; the same text changes nothing. `None` when the message, the room or the
    /// actor's rights do not allow it (the caller finds out which).
    pub async fn edit_message(
        &self,
        room_id: &str,
        message_id: &str,
        msg: &str,
        actor: MessageActor<'_>,
        now: Millis,
    ) -> StoreResult<Option<Message>> {
        const BY_AGENT: &str = concat!(
            edit_text!(),
            "AND ($7 OR ($8 AND author_id = $5 AND NOT from_visitor)) \
               AND EXISTS (SELECT 1 FROM rooms r WHERE r.id = $2 AND r.open AND ",
            room_access!("r.", "$5", "$9", "$10", "$11", "$12"),
            ") RETURNING ",
            message_columns!()
        );
        const BY_VISITOR: &str = concat!(
            edit_text!(),
            "AND from_visitor AND author_id = $5 \
               AND EXISTS (SELECT 1 FROM rooms r WHERE r.id = $2 AND r.open AND r.visitor_id = $5) \
             RETURNING ",
            message_columns!()
        );
        // The edit and its event commit together.
        begin_write!(self, |tx| {
            let edited: Option<Message> = match actor {
                MessageActor::Agent { access, username, any, own } => {
                    sqlx::query_as(BY_AGENT)
                        .bind(message_id)
                        .bind(room_id)
                        .bind(msg)
                        .bind(now)
                        .bind(access.user_id)
                        .bind(username)
                        .bind(any)
                        .bind(own)
                        .bind(access.any_room)
                        .bind(access.closed_rooms)
                        .bind(access.closed_department_rooms)
                        .bind(access.bound)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                MessageActor::Visitor { visitor_id, username } => {
                    sqlx::query_as(BY_VISITOR)
                        .bind(message_id)
                        .bind(room_id)
                        .bind(msg)
                        .bind(now)
                        .bind(visitor_id)
                        .bind(username)
                        .fetch_optional(&mut *tx)
                        .await?
                }
            };
            let Some(edited) = edited else { return Ok(None) };
            if edited.updated_at == now {
                let payload = serde_json::to_string(&edited).expect("a message serializes");
                record_event!(&mut *tx, MESSAGE_UPDATED, room_id, &payload, now);
            }
            tx.commit().await?;
            Ok(Some(edited))
        })
    }

    /// Deletes a plain message and, when it was the room's last message, makes the latest
    /// remaining plain message the last one; the room counts one message less. An agent
    /// deletes in open and closed rooms it may see, a visitor only in its open room. The
    /// files the message showed are deleted with it, as Rocket.Chat does.
    /// `None` when the message, the room or the actor's rights do not allow it.
    pub async fn delete_message(
        &self,
        room_id: &str,
        message_id: &str,
        actor: MessageActor<'_>,
        now: Millis,
    ) -> StoreResult<Option<Message>> {
        const BY_AGENT: &str = concat!(
            "DELETE FROM messages WHERE id = $1 AND room_id = $2 AND kind IS NULL AND NOT hidden \
               AND ($4 OR ($5 AND author_id = $3 AND NOT from_visitor)) \
               AND EXISTS (SELECT 1 FROM rooms r WHERE r.id = $2 AND ",
            room_access!("r.", "$3", "$6", "$7", "$8", "$9"),
            ") RETURNING ",
            message_columns!()
        );
        const BY_VISITOR: &str = concat!(
            "DELETE FROM messages WHERE id = $1 AND room_id = $2 AND kind IS NULL AND NOT hidden \
               AND from_visitor AND author_id = $3 \
               AND EXISTS (SELECT 1 FROM rooms r WHERE r.id = $2 AND r.open AND r.visitor_id = $3) \
             RETURNING ",
            message_columns!()
        );
        const RESET: &str = concat!(
            "UPDATE rooms SET message_count = message_count - 1, updated_at = $3, \
               last_message_id = CASE WHEN last_message_id = $2 THEN ",
            latest_plain!("id"),
            " ELSE last_message_id END, last_message_at = CASE WHEN last_message_id = $2 THEN ",
            latest_plain!("ts"),
            " ELSE last_message_at END WHERE id = $1"
        );
        const TOMBSTONE: &str = "INSERT INTO deleted_messages (id, room_id, deleted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET room_id = $2, deleted_at = $3";
        // Takes the room's row lock before anything else, so that concurrent deletions in
        // one room run one after the other and each finds the last message the others left.
        begin_write!(self, |tx| {
            sqlx::query(LOCK_ROOM).bind(room_id).execute(&mut *tx).await?;
            let deleted: Option<Message> = match actor {
                MessageActor::Agent { access, any, own, .. } => {
                    sqlx::query_as(BY_AGENT)
                        .bind(message_id)
                        .bind(room_id)
                        .bind(access.user_id)
                        .bind(any)
                        .bind(own)
                        .bind(access.any_room)
                        .bind(access.closed_rooms)
                        .bind(access.closed_department_rooms)
                        .bind(access.bound)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                MessageActor::Visitor { visitor_id, .. } => {
                    sqlx::query_as(BY_VISITOR)
                        .bind(message_id)
                        .bind(room_id)
                        .bind(visitor_id)
                        .fetch_optional(&mut *tx)
                        .await?
                }
            };
            let Some(deleted) = deleted else { return Ok(None) };
            // A file the message showed goes with it (its object queued for the sweep).
            delete_message_uploads!(tx, &deleted);
            sqlx::query(RESET).bind(room_id).bind(message_id).bind(now).execute(&mut *tx).await?;
            sqlx::query(TOMBSTONE).bind(message_id).bind(room_id).bind(now).execute(&mut *tx).await?;
            let payload = serde_json::to_string(&deleted).expect("a message serializes");
            record_event!(&mut *tx, MESSAGE_DELETED, room_id, &payload, now);
            tx.commit().await?;
            Ok(Some(deleted))
        })
    }

    /// The room's visible messages changed (written or edited) after `since`, newest
    /// first, at most `page.count`; and the ids and times of those deleted after it.
    pub async fn messages_changed_since(
        &self,
        room_id: &str,
        since: Millis,
        page: Page,
    ) -> StoreResult<(Vec<Message>, Vec<(String, Millis)>)> {
        const UPDATED: &str = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND updated_at > $2 AND NOT hidden \
             ORDER BY ts DESC, num_id DESC LIMIT $3"
        );
        const DELETED: &str = "SELECT id, deleted_at FROM deleted_messages WHERE room_id = $1 AND deleted_at > $2 \
             ORDER BY deleted_at DESC, id LIMIT $3";
        on_pool!(self, |pool| {
            let updated = sqlx::query_as(UPDATED).bind(room_id).bind(since).bind(page.count).fetch_all(pool).await?;
            let deleted = sqlx::query_as(DELETED).bind(room_id).bind(since).bind(page.count).fetch_all(pool).await?;
            Ok((updated, deleted))
        })
    }
}
