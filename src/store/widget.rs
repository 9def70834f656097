//! What the livechat widget reports beside messages: the pages its visitor visits,
//! the visitor's status and custom fields; and the roles users.info and roles.list show.

use sqlx::FromRow;

use super::sql::{message_columns, user_columns};
use super::{Store, StoreError, StoreResult, User, begin_write, on_pool};
use crate::domain::time::Millis;

/// A value a visitor gives one custom field; `overwrite: false` keeps a value already set.
pub struct CustomFieldValue<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub overwrite: bool,
}

/// A role as roles.list shows it.
#[derive(Clone, Debug, FromRow)]
pub struct Role {
    pub id: String,
    pub description: String,
}

impl Store {
    /// Records a page visit as a hidden message of the visitor's room `message.room_id`
    /// (the room's last message and count stay as they are). `NotFound` when the room is
    /// not the visitor's.
    pub async fn add_navigation(&self, visitor_id: &str, message: super::NewMessage<'_>) -> StoreResult<()> {
        // The room's owner is checked in the statement that inserts.
        const SQL: &str = concat!(
            "INSERT INTO messages (id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, \
               extra, ts, updated_at, hidden) \
             SELECT $1, r.id, $3, $4, $5, $6, $7, FALSE, $8, $9, $9, TRUE FROM rooms r \
             WHERE r.id = $2 AND r.visitor_id = $10 RETURNING ",
            message_columns!()
        );
        let stored: Option<super::Message> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(message.id)
            .bind(message.room_id)
            .bind(message.msg)
            .bind(message.kind)
            .bind(message.author_id)
            .bind(message.author_username)
            .bind(message.author_name)
            .bind(message.extra)
            .bind(message.now)
            .bind(visitor_id)
            .fetch_optional(pool)
            .await)?;
        stored.map(|_| ()).ok_or(StoreError::NotFound)
    }

    /// Sets the status of the visitor of `token`; false when there is none.
    pub async fn set_visitor_status(&self, token: &str, status: &str, now: Millis) -> StoreResult<bool> {
        const SQL: &str = "UPDATE visitors SET status = $2, updated_at = $3 WHERE token = $1";
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(token)
            .bind(status)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        // The change's `visitor.changed` events are written by a trigger: wake the readers.
        self.write_ended();
        Ok(changed == 1)
    }

    /// Sets the visitor's values of visitor-scoped custom fields, all or none: `NotFound`
    /// when a key names no such field.
    pub async fn set_visitor_custom_fields(
        &self,
        visitor_id: &str,
        values: &[CustomFieldValue<'_>],
        now: Millis,
    ) -> StoreResult<()> {
        // The definition is read with a key-share lock on PostgreSQL, so a concurrent
        // custom-fields.delete waits for this transaction (and then cascades its values
        // away) or, having deleted first, leaves nothing to find: a value is never
        // written for a field that is gone. SQLite's writer lock orders them alike.
        const FIELD_POSTGRES: &str =
            "SELECT id FROM livechat_custom_fields WHERE id = $1 AND scope = 'visitor' FOR KEY SHARE";
        const FIELD_SQLITE: &str = "SELECT id FROM livechat_custom_fields WHERE id = $1 AND scope = 'visitor'";
        let field_sql = match self.backend {
            super::Backend::Postgres(_) => FIELD_POSTGRES,
            super::Backend::Sqlite(_) => FIELD_SQLITE,
        };
        const UPSERT: &str = "INSERT INTO visitor_custom_fields (visitor_id, field_id, value, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (visitor_id, field_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
             WHERE $5";
        begin_write!(self, |tx| {
            for value in values {
                let defined: Option<(String,)> =
                    sqlx::query_as(field_sql).bind(value.key).fetch_optional(&mut *tx).await?;
                if defined.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(UPSERT)
                    .bind(visitor_id)
                    .bind(value.key)
                    .bind(value.value)
                    .bind(now)
                    .bind(value.overwrite)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every role, by id.
    pub async fn roles(&self) -> StoreResult<Vec<Role>> {
        const SQL: &str = "SELECT id, description FROM roles ORDER BY id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// The user of a username, compared without case.
    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE LOWER(username) = LOWER($1)");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(username).fetch_optional(pool).await)?)
    }
}
