//! What livechat/config reads besides settings and custom fields (whether an agent is
//! available, the departments the widget lists), and the messages visitors leave
//! through the widget's offline form.

use sqlx::FromRow;

use super::{Store, StoreResult, begin_write, on_pool};
use crate::domain::time::Millis;

/// A department as the widget lists it.
#[derive(Clone, Debug, FromRow)]
pub struct WidgetDepartment {
    pub id: String,
    pub name: String,
    pub show_on_registration: bool,
    pub show_on_offline_form: bool,
}

/// A message left through the offline form.
pub struct NewOfflineMessage<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub message: &'a str,
    pub department_id: Option<&'a str>,
    pub host: Option<&'a str>,
    pub recipient: &'a str,
    pub now: Millis,
}

/// Whether a client address may leave an offline message now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderSlot {
    Taken,
    /// The address left one at this instant, within the interval.
    Busy {
        last_sent_at: Millis,
    },
}

impl Store {
    /// Whether an active livechat agent is available, among the agents of `department`
    /// when one is named.
    pub async fn any_agent_available(&self, department: Option<&str>) -> StoreResult<bool> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM users u \
               JOIN user_roles r ON r.user_id = u.id AND r.role = 'livechat-agent' \
             WHERE u.active AND u.livechat_status = 'available' \
               AND ($1 IS NULL OR EXISTS (SELECT 1 FROM department_agents da \
                 WHERE da.department_id = $1 AND da.agent_id = u.id)))";
        let (available,): (bool,) = on_pool!(self, |pool| sqlx::query_as(SQL).bind(department).fetch_one(pool).await)?;
        Ok(available)
    }

    /// The enabled departments that have agents, by name. Whether each is shown on the
    /// registration form or the offline form is the widget's choice, by the two flags.
    pub async fn widget_departments(&self) -> StoreResult<Vec<WidgetDepartment>> {
        const SQL: &str = "SELECT id, name, show_on_registration, show_on_offline_form FROM departments d \
             WHERE enabled \
               AND EXISTS (SELECT 1 FROM department_agents da WHERE da.department_id = d.id) \
             ORDER BY name COLLATE \"BINARY\", id COLLATE \"BINARY\"";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Takes the offline-message slot of `address` unless it left a message after
    /// `busy_since`: one conditional upsert, so of concurrent requests from one
    /// address at most one takes it. Slots older than `busy_since` are dropped.
    pub async fn take_offline_message_slot(
        &self,
        address: &str,
        busy_since: Millis,
        now: Millis,
    ) -> StoreResult<SenderSlot> {
        const TAKE: &str = "INSERT INTO offline_message_senders (address, sent_at) VALUES ($1, $2) \
             ON CONFLICT (address) DO UPDATE SET sent_at = excluded.sent_at \
             WHERE offline_message_senders.sent_at <= $3 RETURNING sent_at";
        const LAST: &str = "SELECT sent_at FROM offline_message_senders WHERE address = $1";
        const FORGET: &str = "DELETE FROM offline_message_senders WHERE sent_at <= $1";
        let taken: Option<(Millis,)> = on_pool!(self, |pool| sqlx::query_as(TAKE)
            .bind(address)
            .bind(now)
            .bind(busy_since)
            .fetch_optional(pool)
            .await)?;
        if taken.is_some() {
            on_pool!(self, |pool| sqlx::query(FORGET)
                .bind(busy_since)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
            return Ok(SenderSlot::Taken);
        }
        let last: Option<(Millis,)> =
            on_pool!(self, |pool| sqlx::query_as(LAST).bind(address).fetch_optional(pool).await)?;
        // A slot dropped meanwhile was free: the wait is then at its shortest.
        Ok(SenderSlot::Busy { last_sent_at: last.map_or(now, |(sent_at,)| sent_at) })
    }

    /// Stores an offline message unless `capacity` are stored already (false then).
    /// The count is taken inside the inserting transaction; on PostgreSQL concurrent
    /// inserts may each see the last free place, so the table may pass `capacity` by
    /// at most the number of connections.
    pub async fn store_offline_message(&self, message: NewOfflineMessage<'_>, capacity: i64) -> StoreResult<bool> {
        const SQL: &str = "INSERT INTO offline_messages \
               (id, name, email, message, department_id, host, recipient, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
             WHERE (SELECT COUNT(*) FROM offline_messages) < $9";
        let stored = begin_write!(self, |tx| {
            let done = sqlx::query(SQL)
                .bind(message.id)
                .bind(message.name)
                .bind(message.email)
                .bind(message.message)
                .bind(message.department_id)
                .bind(message.host)
                .bind(message.recipient)
                .bind(message.now)
                .bind(capacity)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, super::StoreError>(done.rows_affected())
        })?;
        Ok(stored == 1)
    }
}
