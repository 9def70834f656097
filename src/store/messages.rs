//! Messages of rooms, and the last message that room and inquiry rows carry.

use sqlx::FromRow;

use super::events::{INQUIRY_QUEUED, record_event};
use super::sql::{message_columns, under_chat_limit};
use super::uploads::{NewUpload, insert_upload};
use super::{Store, StoreError, StoreResult, begin_write, on_pool};
use crate::domain::page::Page;
use crate::domain::time::Millis;

#[derive(Clone, Debug, FromRow, serde::Serialize, serde::Deserialize)]
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
    pub edited_at: Option<Millis>,
    pub edited_by_id: Option<String>,
    pub edited_by_username: Option<String>,
}

/// The last message of a room, as `sql::last_message_columns!` joins it into room and
/// inquiry rows.
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
    lm_edited_at: Option<Millis>,
    lm_edited_by_id: Option<String>,
    lm_edited_by_username: Option<String>,
}

impl LastMessageColumns {
    pub(super) fn message(&self, room_id: &str) -> Option<Message> {
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
            edited_at: columns.lm_edited_at,
            edited_by_id: columns.lm_edited_by_id.clone(),
            edited_by_username: columns.lm_edited_by_username.clone(),
        })
    }
}

/// The author of the server's own system messages, as Rocket.Chat names its bot.
pub const ROCKET_CAT: &str = "rocket.cat";

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

/// Inserts a message on a transaction of either backend with its `MESSAGE_SENT` event,
/// evaluating to the stored row.
macro_rules! insert_message {
    ($tx:expr, $message:expr, $from_visitor:expr) => {{
        let message: &$crate::store::NewMessage<'_> = $message;
        let stored: $crate::store::Message = sqlx::query_as(concat!(
            "INSERT INTO messages (id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, \
               extra, ts, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             RETURNING ",
            $crate::store::sql::message_columns!()
        ))
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
        $crate::store::events::record_event!(
            $tx,
            $crate::store::events::MESSAGE_SENT,
            message.room_id,
            &serde_json::to_string(&stored).expect("a message serializes"),
            message.now
        );
        stored
    }};
}
pub(super) use insert_message;

/// Who changed a room's priority or SLA, named in the room's history message.
pub struct HistoryActor<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub name: &'a str,
}

impl HistoryActor<'_> {
    /// The history message of a change by this actor: of type `kind`, with `extra`.
    pub(super) fn message<'m>(
        &'m self,
        id: &'m str,
        room_id: &'m str,
        kind: &'m str,
        extra: &'m str,
        now: Millis,
    ) -> NewMessage<'m> {
        NewMessage {
            id,
            room_id,
            msg: "",
            kind: Some(kind),
            author_id: self.user_id,
            author_username: self.username,
            author_name: Some(self.name),
            extra: Some(extra),
            now,
        }
    }

    /// `definedBy` of a history message's data.
    pub(super) fn defined_by(&self) -> serde_json::Value {
        serde_json::json!({"_id": self.user_id, "username": self.username})
    }
}

/// How a chat on hold is resumed when its visitor writes: Rocket.Chat's system
/// message, in the name of the server's bot.
pub struct AutomaticResume<'a> {
    pub message_id: &'a str,
    pub comment: &'a str,
}

/// A visitor's stored message and what it did to a chat on hold.
pub struct VisitorMessageSent {
    pub message: Message,
    /// The chat was on hold and its agent at its chat limit: it went back to the queue.
    pub requeued: bool,
}

impl Store {
    /// Adds a visitor's message to its open room and updates the room's last message.
    /// The first visitor message becomes the inquiry's message; a "pending" or "no
    /// communication" chat becomes "opened". A chat on hold is resumed, as Rocket.Chat
    /// resumes it when the visitor writes: for its agent when the agent is under its
    /// chat limit (the agent's row is held while the load is checked, as an assignment
    /// does), otherwise back to the queue without an agent; either way with an
    /// `omnichannel_on_hold_chat_resumed` message after the visitor's. All in one
    /// transaction. `NotFound` when the room is not open or not the visitor's;
    /// `Conflict` when the message id is taken.
    pub async fn add_visitor_message(
        &self,
        visitor_id: &str,
        message: NewMessage<'_>,
        resume: AutomaticResume<'_>,
    ) -> StoreResult<VisitorMessageSent> {
        self.add_visitor_message_with_upload(visitor_id, message, resume, None).await
    }

    /// [`Store::add_visitor_message`], recording `upload` (the file the message shows)
    /// in the same transaction.
    pub async fn add_visitor_message_with_upload(
        &self,
        visitor_id: &str,
        message: NewMessage<'_>,
        resume: AutomaticResume<'_>,
        upload: Option<&NewUpload<'_>>,
    ) -> StoreResult<VisitorMessageSent> {
        const UPDATE: &str = "UPDATE rooms SET \
               last_message_id = $3, last_message_at = $4, last_customer_message_at = $4, \
               message_count = message_count + 1, \
               inquiry_message = CASE WHEN last_customer_message_at IS NULL THEN $5 ELSE inquiry_message END, \
               chat_status = CASE WHEN chat_status IN ('pending', 'no communication') THEN 'opened' ELSE chat_status END, \
               updated_at = $4 \
             WHERE id = $1 AND visitor_id = $2 AND open \
             RETURNING chat_status = 'on hold'";
        const HOLD_AGENT: &str = concat!(
            "UPDATE users SET open_chats = open_chats \
             WHERE id = (SELECT served_by FROM rooms WHERE id = $1) AND ",
            under_chat_limit!("users.", "(SELECT lr.department_id FROM rooms lr WHERE lr.id = $1)")
        );
        const RESUME: &str = "UPDATE rooms SET chat_status = 'opened', updated_at = $2 \
             WHERE id = $1 AND open AND chat_status = 'on hold'";
        const REQUEUE: &str = "UPDATE rooms SET inquiry_status = 'queued', queued_at = $2, taken_at = NULL, \
               served_by = NULL, served_at = NULL, chat_status = 'new', updated_at = $2 \
             WHERE id = $1 AND open AND chat_status = 'on hold' AND inquiry_status = 'taken'";
        let extra = serde_json::json!({ "comment": resume.comment }).to_string();
        let note = NewMessage {
            id: resume.message_id,
            room_id: message.room_id,
            msg: "",
            kind: Some("omnichannel_on_hold_chat_resumed"),
            author_id: ROCKET_CAT,
            author_username: ROCKET_CAT,
            author_name: Some("Rocket.Cat"),
            extra: Some(&extra),
            now: message.now,
        };
        begin_write!(self, |tx| {
            // The room's row is held from here on, before the agent's, in the order a close,
            // a hold and a manual resume take them: a hold or close waits for this message.
            let on_hold: Option<(bool,)> = sqlx::query_as(UPDATE)
                .bind(message.room_id)
                .bind(visitor_id)
                .bind(message.id)
                .bind(message.now)
                .bind(message.msg)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((on_hold,)) = on_hold else { return Err(StoreError::NotFound) };
            if let Some(upload) = upload {
                insert_upload!(&mut *tx, upload, true);
            }
            let stored = insert_message!(&mut *tx, &message, true);
            let mut requeued = false;
            if on_hold {
                let held = sqlx::query(HOLD_AGENT).bind(message.room_id).execute(&mut *tx).await?;
                if held.rows_affected() == 1 {
                    sqlx::query(RESUME).bind(message.room_id).bind(message.now).execute(&mut *tx).await?;
                } else {
                    let queued = sqlx::query(REQUEUE).bind(message.room_id).bind(message.now).execute(&mut *tx).await?;
                    requeued = queued.rows_affected() == 1;
                    if requeued {
                        record_event!(&mut *tx, INQUIRY_QUEUED, message.room_id, "{}", message.now);
                    }
                }
                insert_message!(&mut *tx, &note, false);
            }
            tx.commit().await?;
            Ok(VisitorMessageSent { message: stored, requeued })
        })
    }

    /// Messages of a room, newest first (as Rocket.Chat loads history), with the total;
    /// hidden ones (navigation history) are left out.
    pub async fn room_messages(&self, room_id: &str, page: Page) -> StoreResult<(Vec<Message>, i64)> {
        const LIST: &str = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND NOT hidden ORDER BY ts DESC, num_id DESC LIMIT $2 OFFSET $3"
        );
        const COUNT: &str = "SELECT COUNT(*) FROM messages WHERE room_id = $1 AND NOT hidden";
        on_pool!(self, |pool| {
            let messages =
                sqlx::query_as(LIST).bind(room_id).bind(page.count).bind(page.offset).fetch_all(pool).await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(room_id).fetch_one(pool).await?;
            Ok((messages, total))
        })
    }
}
