//! SLA policies and setting them on queued inquiries.

use sqlx::FromRow;

use super::HistoryActor;
use super::messages::insert_message;
use super::sql::{room_guard, sla_columns};
use super::{SortColumn, Store, StoreError, StoreResult, begin_write, contains_pattern, on_pool, order_by};
use crate::domain::chat::INQUIRY_QUEUED;
use crate::domain::page::{Page, SortKey};
use crate::domain::queue::NO_SLA_WAITING_TIME;
use crate::domain::time::Millis;

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct SlaPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub due_time_in_minutes: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaSortField {
    Name,
    Description,
    DueTimeInMinutes,
    Id,
}

impl SortColumn for SlaSortField {
    fn column(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Description => "description",
            Self::DueTimeInMinutes => "due_time_in_minutes",
            Self::Id => "id",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SetSlaOutcome {
    Set(SlaPolicy),
    /// The room has no inquiry, or it is no longer queued.
    InvalidInquiry,
    /// The inquiry is neither served by the actor nor of its departments or of none.
    Unreachable,
    InvalidSla,
}

impl Store {
    /// Creates a policy. Names and due times are unique: a clash is `Conflict`.
    pub async fn create_sla(&self, policy: &SlaPolicy, now: Millis) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO sla_policies (id, name, description, due_time_in_minutes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&policy.id)
            .bind(&policy.name)
            .bind(&policy.description)
            .bind(policy.due_time_in_minutes)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn sla_by_id(&self, id: &str) -> StoreResult<Option<SlaPolicy>> {
        const SQL: &str = concat!("SELECT ", sla_columns!(), " FROM sla_policies WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// Policies whose name or description contains `text` (any case), with the total.
    pub async fn list_slas(
        &self,
        text: Option<&str>,
        sort: &[SortKey<SlaSortField>],
        page: Page,
    ) -> StoreResult<(Vec<SlaPolicy>, i64)> {
        const WHERE: &str =
            "WHERE ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(description) LIKE $1 ESCAPE '\\')";
        let pattern = text.map(contains_pattern);
        // Built from static fragments and whitelisted sort columns only.
        let list =
            format!("SELECT {} FROM sla_policies {WHERE} {} LIMIT $2 OFFSET $3", sla_columns!(), order_by(sort, "id"));
        let count = format!("SELECT COUNT(*) FROM sla_policies {WHERE}");
        on_pool!(self, |pool| {
            let policies = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(&pattern)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(count.clone())).bind(&pattern).fetch_one(pool).await?;
            Ok((policies, total))
        })
    }

    /// Replaces a policy's fields and re-applies its due time to the open rooms and
    /// queued inquiries using it, in one transaction. `NotFound` for an unknown id.
    pub async fn update_sla(&self, policy: &SlaPolicy, now: Millis) -> StoreResult<()> {
        const UPDATE: &str = "UPDATE sla_policies SET name = $2, description = $3, due_time_in_minutes = $4, \
               updated_at = $5 WHERE id = $1";
        const REAPPLY: &str =
            "UPDATE rooms SET estimated_waiting_time_queue = $2, updated_at = $3 WHERE sla_id = $1 AND open";
        begin_write!(self, |tx| {
            let updated = sqlx::query(UPDATE)
                .bind(&policy.id)
                .bind(&policy.name)
                .bind(&policy.description)
                .bind(policy.due_time_in_minutes)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(REAPPLY).bind(&policy.id).bind(policy.due_time_in_minutes).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes a policy; open rooms and queued inquiries using it lose it and wait
    /// without an SLA again. `NotFound` for an unknown id.
    pub async fn delete_sla(&self, id: &str, now: Millis) -> StoreResult<()> {
        const RELEASE: &str = "UPDATE rooms SET sla_id = NULL, estimated_waiting_time_queue = $2, updated_at = $3 \
             WHERE sla_id = $1 AND open";
        const DELETE: &str = "DELETE FROM sla_policies WHERE id = $1";
        begin_write!(self, |tx| {
            sqlx::query(RELEASE).bind(id).bind(NO_SLA_WAITING_TIME).bind(now).execute(&mut *tx).await?;
            let deleted = sqlx::query(DELETE).bind(id).execute(&mut *tx).await?;
            if deleted.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Sets the policy named by id or name on a room's queued inquiry and records who
    /// did it in the room's history, in one transaction. The "still queued" and "within
    /// the actor's reach" checks are in the UPDATE itself, so neither a concurrent take
    /// nor a department change can slip between check and write. `reach_bound` is
    /// whose departments bound the inquiries the actor may change (see `within_reach!`);
    /// the inquiry it serves is always within reach.
    pub async fn set_inquiry_sla(
        &self,
        room_id: &str,
        sla_id_or_name: &str,
        actor: HistoryActor<'_>,
        reach_bound: Option<&str>,
        message_id: &str,
        now: Millis,
    ) -> StoreResult<SetSlaOutcome> {
        const FIND: &str = concat!(
            "SELECT ",
            sla_columns!(),
            " FROM sla_policies WHERE id = $1 OR name = $1 ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1"
        );
        const SET: &str = concat!(
            "UPDATE rooms SET sla_id = $2, estimated_waiting_time_queue = $3, updated_at = $4 \
             WHERE id = $1 AND inquiry_status = 'queued' \
               AND EXISTS (SELECT 1 FROM sla_policies WHERE id = $2) AND ",
            room_guard!("$5", "TRUE", "$6")
        );
        // Read only to word a refusal; nothing is written after it.
        const REFUSAL: &str = concat!(
            "SELECT inquiry_status, COALESCE(",
            room_guard!("$2", "TRUE", "$3"),
            ", FALSE) AS reachable FROM rooms WHERE id = $1 AND inquiry_status IS NOT NULL"
        );
        begin_write!(self, |tx| {
            let policy: Option<SlaPolicy> = sqlx::query_as(FIND).bind(sla_id_or_name).fetch_optional(&mut *tx).await?;
            let set = match &policy {
                Some(policy) => sqlx::query(SET)
                    .bind(room_id)
                    .bind(&policy.id)
                    .bind(policy.due_time_in_minutes)
                    .bind(now)
                    .bind(actor.user_id)
                    .bind(reach_bound)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                None => 0,
            };
            let policy_found = policy.is_some();
            let Some(policy) = policy.filter(|_| set == 1) else {
                // Not queued or out of reach when the update ran, whatever it is now
                // (or, far rarer, the policy was deleted in between). The inquiry's
                // errors come before the policy's, as in Rocket.Chat.
                let status: Option<(String, bool)> = sqlx::query_as(REFUSAL)
                    .bind(room_id)
                    .bind(actor.user_id)
                    .bind(reach_bound)
                    .fetch_optional(&mut *tx)
                    .await?;
                return Ok(match status {
                    Some((_, false)) => SetSlaOutcome::Unreachable,
                    Some((status, true)) if status == INQUIRY_QUEUED && !policy_found => SetSlaOutcome::InvalidSla,
                    _ => SetSlaOutcome::InvalidInquiry,
                });
            };
            let history = sla_history(&actor, Some(&policy));
            insert_message!(&mut *tx, &actor.message(message_id, room_id, SLA_HISTORY, &history, now), false);
            tx.commit().await?;
            Ok(SetSlaOutcome::Set(policy))
        })
    }
}

/// The type of the message that records an SLA change in its room.
pub(super) const SLA_HISTORY: &str = "omnichannel_sla_change_history";

/// The data of an SLA change's history message: who, and the new policy (none when it
/// was removed).
pub(super) fn sla_history(actor: &HistoryActor<'_>, policy: Option<&SlaPolicy>) -> String {
    let mut data = serde_json::json!({"definedBy": actor.defined_by()});
    if let Some(policy) = policy {
        data["sla"] = serde_json::json!({"_id": policy.id, "name": policy.name, "description": policy.description,
            "dueTimeInMinutes": policy.due_time_in_minutes});
    }
    serde_json::json!({"slaData": data}).to_string()
}
