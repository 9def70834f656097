//! What is read from and kept on a room besides its conversation: the visitor's survey
//! answers, the transcript asked for on close, the rooms a user is in (Rocket.Chat's
//! subscriptions, derived from serving and joining), the sources rooms came from, and
//! searches of a room's messages.

use super::messages::{Message, NewMessage, insert_message};
use super::sql::{message_columns, room_access, room_member, room_select};
use super::{Room, RoomAccess, Store, StoreResult, begin_write, contains_pattern, on_pool};
use crate::domain::page::Page;
use crate::domain::time::Millis;

/// Whether user `$1` is in the open room `r`: it serves it or joined it (Rocket.Chat's
/// subscription, which a close removes).
macro_rules! subscribed {
    () => {
        concat!("r.open AND (r.served_by = $1 OR ", room_member!("r.", "$1"), ")")
    };
}

impl Store {
    /// Replaces the survey answers of room `room_id` of visitor `visitor_id` (open or
    /// closed, as Rocket.Chat takes them). Whether the room is the visitor's.
    pub async fn save_survey_feedback(
        &self,
        room_id: &str,
        visitor_id: &str,
        feedback: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        const SQL: &str = "UPDATE rooms SET survey_feedback = $3, updated_at = $4 WHERE id = $1 AND visitor_id = $2";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(room_id)
            .bind(visitor_id)
            .bind(feedback)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// The distinct sources (`api`, `widget`, ...) rooms came from, in order.
    pub async fn room_source_types(&self) -> StoreResult<Vec<String>> {
        const SQL: &str = "SELECT DISTINCT source_type FROM rooms ORDER BY source_type";
        let rows: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(source,)| source).collect())
    }

    /// The open rooms user `user_id` is in, changed after `since` when given, newest
    /// change first.
    pub async fn subscribed_rooms(&self, user_id: &str, since: Option<Millis>) -> StoreResult<Vec<Room>> {
        const SQL: &str = concat!(
            room_select!(),
            "WHERE ",
            subscribed!(),
            " AND ($2 IS NULL OR r.updated_at > $2) ORDER BY r.updated_at DESC, r.num_id DESC"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(user_id).bind(since).fetch_all(pool).await)?)
    }

    /// Room `room_id` when user `user_id` is in it, with when it came in: served since,
    /// or joined at.
    pub async fn subscription(&self, user_id: &str, room_id: &str) -> StoreResult<Option<(Room, Millis)>> {
        const SQL: &str = concat!(room_select!(), "WHERE r.id = $2 AND ", subscribed!());
        const SINCE: &str = "SELECT COALESCE((SELECT served_at FROM rooms WHERE id = $2 AND served_by = $1), \
             (SELECT joined_at FROM room_members WHERE room_id = $2 AND user_id = $1), 0)";
        on_pool!(self, |pool| {
            let room: Option<Room> = sqlx::query_as(SQL).bind(user_id).bind(room_id).fetch_optional(pool).await?;
            let Some(room) = room else { return Ok(None) };
            let (since,): (Millis,) = sqlx::query_as(SINCE).bind(user_id).bind(room_id).fetch_one(pool).await?;
            Ok(Some((room, since)))
        })
    }

    /// The plain messages of a room whose text contains `text` (any case; LIKE's
    /// wildcards in it are taken literally), newest first.
    pub async fn search_room_messages(&self, room_id: &str, text: &str, page: Page) -> StoreResult<Vec<Message>> {
        const SQL: &str = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND kind IS NULL AND NOT hidden \
               AND LOWER(msg) LIKE $2 ESCAPE '\\' ORDER BY ts DESC, num_id DESC LIMIT $3 OFFSET $4"
        );
        let pattern = contains_pattern(text);
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(room_id)
            .bind(&pattern)
            .bind(page.count)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?)
    }

    /// A page of a room's plain and closing messages whose text contains `text` when
    /// given (as [`Store::search_room_messages`]), oldest or newest first, with their
    /// total.
    pub async fn room_messages_matching(
        &self,
        room_id: &str,
        text: Option<&str>,
        newest_first: bool,
        page: Page,
    ) -> StoreResult<(Vec<Message>, i64)> {
        macro_rules! matching {
            () => {
                " FROM messages WHERE room_id = $1 AND NOT hidden AND (kind IS NULL OR kind = 'livechat-close') \
                   AND ($2 IS NULL OR LOWER(msg) LIKE $2 ESCAPE '\\')"
            };
        }
        const OLDEST: &str =
            concat!("SELECT ", message_columns!(), matching!(), " ORDER BY ts, num_id LIMIT $3 OFFSET $4");
        const NEWEST: &str =
            concat!("SELECT ", message_columns!(), matching!(), " ORDER BY ts DESC, num_id DESC LIMIT $3 OFFSET $4");
        const COUNT: &str = concat!("SELECT COUNT(*)", matching!());
        let pattern = text.map(contains_pattern);
        let list = if newest_first { NEWEST } else { OLDEST };
        on_pool!(self, |pool| {
            let messages = sqlx::query_as(list)
                .bind(room_id)
                .bind(pattern.as_deref())
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(room_id).bind(pattern.as_deref()).fetch_one(pool).await?;
            Ok((messages, total))
        })
    }

    /// The messages a transcript lists: the room's plain messages, oldest first.
    pub async fn transcript_messages(&self, room_id: &str) -> StoreResult<Vec<Message>> {
        const SQL: &str = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND kind IS NULL AND NOT hidden ORDER BY ts, num_id"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(room_id).fetch_all(pool).await)?)
    }

    /// Records that a transcript was sent: a `livechat_transcript_history` message.
    pub async fn add_transcript_note(&self, note: &NewMessage<'_>) -> StoreResult<()> {
        begin_write!(self, |tx| {
            insert_message!(&mut *tx, note, false);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Asks for the transcript of open room `room_id`, which the user may see (see
    /// `sql::room_access`), to be emailed on close, unless one is asked already.
    /// Whether it was asked now.
    pub async fn request_transcript(
        &self,
        room_id: &str,
        access: RoomAccess<'_>,
        request: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        const SQL: &str = concat!(
            "UPDATE rooms SET transcript_request = $7, updated_at = $8 \
             WHERE id = $1 AND open AND transcript_request IS NULL AND ",
            room_access!("rooms.", "$2", "$3", "$4", "$5", "$6")
        );
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(room_id)
            .bind(access.user_id)
            .bind(access.any_room)
            .bind(access.closed_rooms)
            .bind(access.closed_department_rooms)
            .bind(access.bound)
            .bind(request)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }

    /// Takes the transcript request of closed room `room_id`, once: whoever takes it
    /// mails the transcript. `None` when none is asked or another took it.
    pub async fn take_transcript_request(&self, room_id: &str) -> StoreResult<Option<String>> {
        const READ: &str =
            "SELECT transcript_request FROM rooms WHERE id = $1 AND NOT open AND transcript_request IS NOT NULL";
        // Cleared only while it still holds what was read: of two takers, one clears it.
        const CLEAR: &str = "UPDATE rooms SET transcript_request = NULL WHERE id = $1 AND transcript_request = $2";
        on_pool!(self, |pool| {
            let read: Option<(String,)> = sqlx::query_as(READ).bind(room_id).fetch_optional(pool).await?;
            let Some((request,)) = read else { return Ok(None) };
            let cleared = sqlx::query(CLEAR).bind(room_id).bind(&request).execute(pool).await?.rows_affected();
            Ok((cleared == 1).then_some(request))
        })
    }

    /// Withdraws the transcript asked for open room `room_id`, which the user may see.
    /// Whether one was withdrawn.
    pub async fn cancel_transcript_request(
        &self,
        room_id: &str,
        access: RoomAccess<'_>,
        now: Millis,
    ) -> StoreResult<bool> {
        const SQL: &str = concat!(
            "UPDATE rooms SET transcript_request = NULL, updated_at = $7 \
             WHERE id = $1 AND open AND transcript_request IS NOT NULL AND ",
            room_access!("rooms.", "$2", "$3", "$4", "$5", "$6")
        );
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(room_id)
            .bind(access.user_id)
            .bind(access.any_room)
            .bind(access.closed_rooms)
            .bind(access.closed_department_rooms)
            .bind(access.bound)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(changed == 1)
    }
}
