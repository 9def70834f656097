//! Files uploaded into rooms. The bytes are in the file storage (`crate::files`) under
//! the row's `object_key`, written before the row; the row and the message showing the
//! file are written in one transaction, so no message names a file that is not stored
//! and no committed row names an object that was not written.
//!
//! The other way round, no object outlives its row for long: deleting an upload row, by
//! whatever statement or cascade, queues its object in `discarded_objects` in the same
//! transaction (a trigger of migration 0030), and the file sweep (`crate::file_sweep`)
//! deletes the queued objects from the storage, claiming them so that instances sharing
//! the database do not all delete the same ones.

use sqlx::FromRow;

use super::message_changes::RoomAccess;
use super::messages::{Message, NewMessage, insert_message};
use super::sql::room_access;
use super::{Backend, Store, StoreResult, begin_write, on_pool};
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

/// Deletes the upload rows of the files `$message` (a deleted message) showed, on a
/// transaction of either backend: the trigger queues their objects for the file sweep.
macro_rules! delete_message_uploads {
    ($tx:expr, $message:expr) => {{
        let message: &$crate::store::Message = $message;
        for file_id in $crate::store::uploads::shown_file_ids(message.extra.as_deref()) {
            sqlx::query("DELETE FROM uploads WHERE id = $1 AND room_id = $2")
                .bind(&file_id)
                .bind(&message.room_id)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(super) use delete_message_uploads;

/// The ids of the files a message's `extra` shows: its `files` entries, and its `file`.
pub(super) fn shown_file_ids(extra: Option<&str>) -> Vec<String> {
    let Some(extra) = extra.and_then(|extra| serde_json::from_str::<serde_json::Value>(extra).ok()) else {
        return Vec::new();
    };
    let entries = extra["files"].as_array().into_iter().flatten().chain(std::iter::once(&extra["file"]));
    let mut ids: Vec<String> = entries.filter_map(|entry| entry["_id"].as_str()).map(str::to_owned).collect();
    ids.sort();
    ids.dedup();
    ids
}

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

    /// Deletes the unconfirmed uploads (rooms.media files no rooms.mediaConfirm showed)
    /// uploaded before `uploaded_before`; their objects are queued for the file sweep. A
    /// confirmation racing with the deletion either confirms first (the row is kept) or
    /// finds the file gone. Answers how many were deleted.
    pub async fn expire_unconfirmed_uploads(&self, uploaded_before: Millis) -> StoreResult<u64> {
        // Most sweeps find nothing: they read, and take no write lock.
        const ANY: &str = "SELECT EXISTS (SELECT 1 FROM uploads WHERE NOT confirmed AND uploaded_at < $1)";
        const EXPIRE: &str = "DELETE FROM uploads WHERE NOT confirmed AND uploaded_at < $1";
        let (any,): (bool,) = on_pool!(self, |pool| sqlx::query_as(ANY).bind(uploaded_before).fetch_one(pool).await)?;
        if !any {
            return Ok(0);
        }
        begin_write!(self, |tx| {
            let expired = sqlx::query(EXPIRE).bind(uploaded_before).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(expired.rows_affected())
        })
    }

    /// Claims up to `limit` queued objects no sweep holds at `now`, the oldest first,
    /// until `claimed_until`: another sweep does not claim them before, and one whose
    /// deletion failed (or whose sweep stopped) is claimable again after. Two instances
    /// claiming at once claim different objects.
    pub async fn claim_discarded_objects(
        &self,
        now: Millis,
        claimed_until: Millis,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        const ANY: &str = "SELECT EXISTS (SELECT 1 FROM discarded_objects WHERE claimable_at <= $1)";
        // The outer condition is checked again on a row another claim changed meanwhile,
        // so a row is claimed once; PostgreSQL's claims also skip each other's rows.
        macro_rules! claim {
            ($lock:literal) => {
                concat!(
                    "UPDATE discarded_objects SET claimable_at = $2 \
                     WHERE claimable_at <= $1 AND object_key IN (SELECT object_key FROM discarded_objects \
                       WHERE claimable_at <= $1 ORDER BY claimable_at, discarded_at, object_key LIMIT $3",
                    $lock,
                    ") RETURNING object_key"
                )
            };
        }
        const CLAIM_POSTGRES: &str = claim!(" FOR UPDATE SKIP LOCKED");
        const CLAIM_SQLITE: &str = claim!("");
        let claim = match self.backend {
            Backend::Postgres(_) => CLAIM_POSTGRES,
            Backend::Sqlite(_) => CLAIM_SQLITE,
        };
        let (any,): (bool,) = on_pool!(self, |pool| sqlx::query_as(ANY).bind(now).fetch_one(pool).await)?;
        if !any {
            return Ok(Vec::new());
        }
        begin_write!(self, |tx| {
            let claimed: Vec<(String,)> =
                sqlx::query_as(claim).bind(now).bind(claimed_until).bind(limit).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(claimed.into_iter().map(|(key,)| key).collect())
        })
    }

    /// The object of `object_key` is gone from the storage: its queue row goes too.
    pub async fn forget_discarded_object(&self, object_key: &str) -> StoreResult<()> {
        const FORGET: &str = "DELETE FROM discarded_objects WHERE object_key = $1";
        begin_write!(self, |tx| {
            sqlx::query(FORGET).bind(object_key).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
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

#[cfg(test)]
mod tests {
    use super::shown_file_ids;

    #[test]
    fn a_message_shows_the_files_of_its_extra() {
        let extra = r#"{"file": {"_id": "f1"}, "files": [{"_id": "f1"}, {"_id": "f2"}], "groupable": false}"#;
        assert_eq!(shown_file_ids(Some(extra)), vec!["f1".to_owned(), "f2".to_owned()]);
        assert_eq!(shown_file_ids(Some(r#"{"comment": "closed"}"#)), Vec::<String>::new());
        assert_eq!(shown_file_ids(Some("not json")), Vec::<String>::new());
        assert_eq!(shown_file_ids(None), Vec::<String>::new());
    }
}
