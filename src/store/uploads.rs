//! Files uploaded into rooms. The bytes are in the file storage (`crate::files`) under
//! the row's `object_key`, written before the row; the row and the message showing the
//! file are written in one transaction, so no message names a file that is not stored
//! and no committed row names an object that was not written.

use sqlx::FromRow;

use super::message_changes::RoomAccess;
use super::messages::{Message, NewMessage, insert_message};
use super::sql::room_access;
use super::{Store, StoreResult, begin_write, on_pool};
use crate::domain::time::Millis;

/// A file to record.
#[derive(Clone, Debug)]
pub struct NewUpload<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    /// The uploading user; none for a visitor.
    pub user_id: Option<&'a str>,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub description: Option<&'a str>,
    pub object_key: &'a str,
    pub now: Millis,
}

/// A recorded file, with the token of its room's visitor.
#[derive(Clone, Debug, FromRow)]
pub struct Upload {
    pub id: String,
    pub room_id: String,
    pub user_id: Option<String>,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub description: Option<String>,
    pub object_key: String,
    /// A message shows it (always, for a visitor's file).
    pub confirmed: bool,
    pub uploaded_at: Millis,
    pub visitor_token: String,
}

/// What `confirm_upload` did.
#[derive(Debug)]
pub enum ConfirmOutcome {
    Sent(Box<Message>),
    /// The room is not open, or not one the user may write into.
    RoomRefused,
    /// No unconfirmed file of this user and room has that id (any more).
    FileGone,
}

/// Inserts an upload row on a transaction of either backend.
macro_rules! insert_upload {
    ($tx:expr, $upload:expr, $confirmed:expr) => {{
        let upload: &NewUpload<'_> = $upload;
        sqlx::query(
            "INSERT INTO uploads (id, room_id, user_id, name, content_type, size, width, height, description, \
               object_key, confirmed, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(upload.id)
        .bind(upload.room_id)
        .bind(upload.user_id)
        .bind(upload.name)
        .bind(upload.content_type)
        .bind(upload.size)
        .bind(upload.width)
        .bind(upload.height)
        .bind(upload.description)
        .bind(upload.object_key)
        .bind($confirmed)
        .bind(upload.now)
        .execute($tx)
        .await?;
    }};
}
pub(super) use insert_upload;

impl Store {
    /// Records a user's file (rooms.media) in an open room the user may write into,
    /// unconfirmed: no message shows it yet. False when the room refused it.
    pub async fn add_pending_upload(&self, access: RoomAccess<'_>, upload: &NewUpload<'_>) -> StoreResult<bool> {
        const SQL: &str = concat!(
            "INSERT INTO uploads (id, room_id, user_id, name, content_type, size, width, height, description, \
               object_key, confirmed, uploaded_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE, $11 \
             WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = $2 AND r.open AND ",
            room_access!("r.", "$3", "$12", "$13", "$14", "$15"),
            ")"
        );
        let inserted = begin_write!(self, |tx| {
            let inserted = sqlx::query(SQL)
                .bind(upload.id)
                .bind(upload.room_id)
                .bind(access.user_id)
                .bind(upload.name)
                .bind(upload.content_type)
                .bind(upload.size)
                .bind(upload.width)
                .bind(upload.height)
                .bind(upload.description)
                .bind(upload.object_key)
                .bind(upload.now)
                .bind(access.any_room)
                .bind(access.closed_rooms)
                .bind(access.closed_department_rooms)
                .bind(access.bound)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            inserted.rows_affected()
        });
        Ok(inserted == 1)
    }

    /// A file by id, with its room's visitor's token.
    pub async fn upload_by_id(&self, id: &str) -> StoreResult<Option<Upload>> {
        const SQL: &str = "SELECT u.id, u.room_id, u.user_id, u.name, u.content_type, u.size, u.width, u.height, \
               u.description, u.object_key, u.confirmed, u.uploaded_at, v.token AS visitor_token \
             FROM uploads u JOIN rooms r ON r.id = u.room_id JOIN visitors v ON v.id = r.visitor_id WHERE u.id = $1";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// rooms.mediaConfirm: the user's unconfirmed file becomes part of `message` (whose
    /// `extra` shows it), the room's last message, in one transaction; the room must be
    /// open and one the user may write into, and the file still unconfirmed.
    pub async fn confirm_upload(
        &self,
        access: RoomAccess<'_>,
        upload_id: &str,
        description: Option<&str>,
        message: NewMessage<'_>,
    ) -> StoreResult<ConfirmOutcome> {
        const ROOM: &str = concat!(
            "UPDATE rooms SET last_message_id = $2, last_message_at = $3, message_count = message_count + 1, \
               updated_at = $3 \
             WHERE id = $1 AND open AND ",
            room_access!("", "$4", "$5", "$6", "$7", "$8")
        );
        const CONFIRM: &str = "UPDATE uploads SET confirmed = TRUE, description = $4 \
             WHERE id = $1 AND room_id = $2 AND user_id = $3 AND NOT confirmed";
        begin_write!(self, |tx| {
            let room = sqlx::query(ROOM)
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
            if room.rows_affected() == 0 {
                return Ok(ConfirmOutcome::RoomRefused);
            }
            let confirmed = sqlx::query(CONFIRM)
                .bind(upload_id)
                .bind(message.room_id)
                .bind(access.user_id)
                .bind(description)
                .execute(&mut *tx)
                .await?;
            if confirmed.rows_affected() == 0 {
                return Ok(ConfirmOutcome::FileGone);
            }
            let stored = insert_message!(&mut *tx, &message, false);
            tx.commit().await?;
            Ok(ConfirmOutcome::Sent(Box::new(stored)))
        })
    }
}
