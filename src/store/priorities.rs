//! Omnichannel priorities: the five levels, renaming and resetting them, and setting
//! one on a room and its inquiry.

use sqlx::FromRow;

use super::HistoryActor;
use super::messages::insert_message;
use super::sql::{priority_columns, room_guard};
use super::{SortColumn, Store, StoreError, StoreResult, begin_write, contains_pattern, on_pool, order_by};
use crate::domain::page::{Page, SortKey};
use crate::domain::time::Millis;

/// A priority level as Rocket.Chat keeps it: `name` only once a manager named it.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Priority {
    pub id: String,
    pub i18n: String,
    pub sort_item: i64,
    pub name: Option<String>,
    pub dirty: bool,
    pub updated_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrioritySortField {
    Name,
    I18n,
    SortItem,
    Dirty,
    Id,
    UpdatedAt,
}

impl SortColumn for PrioritySortField {
    fn column(self) -> &'static str {
        match self {
            // MongoDB orders a missing name before every string.
            Self::Name => r#"COALESCE(name, '') COLLATE "BINARY""#,
            Self::I18n => r#"i18n COLLATE "BINARY""#,
            Self::SortItem => "sort_item",
            Self::Dirty => "dirty",
            Self::Id => r#"id COLLATE "BINARY""#,
            Self::UpdatedAt => "updated_at",
        }
    }
}

/// What a PUT of one priority changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorityChange<'a> {
    /// A new name (already trimmed); names are unique whatever their case.
    Rename(&'a str),
    /// Back to the translated default: no name, not dirty.
    Reset,
    /// `reset: false`: marked dirty, the name kept, as Rocket.Chat does.
    MarkDirty,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PrioritizeOutcome {
    Set,
    /// The room is unknown or closed: it has no inquiry.
    InvalidInquiry,
    /// The room is neither served by the actor nor of its departments or of none.
    Unreachable,
    InvalidPriority,
}

/// The key a name is unique by: trimmed and lowercased; none for a blank name.
fn name_key(name: &str) -> Option<String> {
    let trimmed = name.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_lowercase())
}

impl Store {
    /// Priorities whose name contains `text` (any case), with the total.
    pub async fn list_priorities(
        &self,
        text: Option<&str>,
        sort: &[SortKey<PrioritySortField>],
        page: Page,
    ) -> StoreResult<(Vec<Priority>, i64)> {
        const WHERE: &str = "WHERE ($1 IS NULL OR name_key LIKE $1 ESCAPE '\\')";
        let pattern = text.map(contains_pattern);
        // Built from static fragments and whitelisted sort columns only; the weight is
        // unique, so it orders ties (Rocket.Chat's natural order, lowest level first).
        let list = format!(
            "SELECT {} FROM livechat_priorities {WHERE} {} LIMIT $2 OFFSET $3",
            priority_columns!(),
            order_by(sort, "sort_item DESC")
        );
        let count = format!("SELECT COUNT(*) FROM livechat_priorities {WHERE}");
        on_pool!(self, |pool| {
            let priorities = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(&pattern)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(count.clone())).bind(&pattern).fetch_one(pool).await?;
            Ok((priorities, total))
        })
    }

    pub async fn priority_by_id(&self, id: &str) -> StoreResult<Option<Priority>> {
        const SQL: &str = concat!("SELECT ", priority_columns!(), " FROM livechat_priorities WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// Renames or resets one priority. `NotFound` for an unknown id; a name another
    /// priority holds (in any case) is refused by the unique index as `Conflict`.
    pub async fn change_priority(&self, id: &str, change: PriorityChange<'_>, now: Millis) -> StoreResult<()> {
        const RENAME: &str =
            "UPDATE livechat_priorities SET name = $2, name_key = $3, dirty = TRUE, updated_at = $4 WHERE id = $1";
        const RESET: &str =
            "UPDATE livechat_priorities SET name = NULL, name_key = NULL, dirty = FALSE, updated_at = $2 WHERE id = $1";
        const MARK_DIRTY: &str = "UPDATE livechat_priorities SET dirty = TRUE, updated_at = $2 WHERE id = $1";
        let changed = on_pool!(self, |pool| match change {
            PriorityChange::Rename(name) => {
                sqlx::query(RENAME).bind(id).bind(name).bind(name_key(name)).bind(now).execute(pool).await
            }
            PriorityChange::Reset => sqlx::query(RESET).bind(id).bind(now).execute(pool).await,
            PriorityChange::MarkDirty => sqlx::query(MARK_DIRTY).bind(id).bind(now).execute(pool).await,
        }
        .map(|done| done.rows_affected()))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Whether some priority was renamed since its last reset.
    pub async fn priorities_can_reset(&self) -> StoreResult<bool> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM livechat_priorities WHERE dirty)";
        let (dirty,): (bool,) = on_pool!(self, |pool| sqlx::query_as(SQL).fetch_one(pool).await)?;
        Ok(dirty)
    }

    /// Resets every renamed priority in one statement; the number reset (0: none was).
    pub async fn reset_priorities(&self, now: Millis) -> StoreResult<u64> {
        const SQL: &str =
            "UPDATE livechat_priorities SET name = NULL, name_key = NULL, dirty = FALSE, updated_at = $1 WHERE dirty";
        Ok(on_pool!(self, |pool| sqlx::query(SQL).bind(now).execute(pool).await.map(|done| done.rows_affected()))?)
    }

    /// Sets the priority named by id or name on an open room and its inquiry (queued
    /// or served), with the weight the queue orders by, and records who did it in the
    /// room's history, in one transaction. The room's state, the actor's reach and the
    /// weight are read by the UPDATE itself, so no concurrent close, take or department
    /// change slips between check and write. `reach_bound` is whose departments bound
    /// the rooms the actor may change (see `within_reach!`); a room it serves or joined
    /// is always within reach.
    pub async fn prioritize_room(
        &self,
        room_id: &str,
        priority_id_or_name: &str,
        actor: HistoryActor<'_>,
        reach_bound: Option<&str>,
        message_id: &str,
        now: Millis,
    ) -> StoreResult<PrioritizeOutcome> {
        const FIND: &str = concat!(
            "SELECT ",
            priority_columns!(),
            " FROM livechat_priorities WHERE id = $1 OR name = $1 ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1"
        );
        const SET: &str = concat!(
            "UPDATE rooms SET priority_id = $2, \
               priority_weight = (SELECT p.sort_item FROM livechat_priorities p WHERE p.id = $2), updated_at = $3 \
             WHERE id = $1 AND open AND inquiry_status IS NOT NULL \
               AND EXISTS (SELECT 1 FROM livechat_priorities p WHERE p.id = $2) AND ",
            room_guard!("$4", "TRUE", "$5")
        );
        // Read only to word a refusal; nothing is written after it.
        const REFUSAL: &str = concat!(
            "SELECT COALESCE(",
            room_guard!("$2", "TRUE", "$3"),
            ", FALSE) AS reachable FROM rooms WHERE id = $1 AND open AND inquiry_status IS NOT NULL"
        );
        begin_write!(self, |tx| {
            let priority: Option<Priority> =
                sqlx::query_as(FIND).bind(priority_id_or_name).fetch_optional(&mut *tx).await?;
            let set = match &priority {
                Some(priority) => sqlx::query(SET)
                    .bind(room_id)
                    .bind(&priority.id)
                    .bind(now)
                    .bind(actor.user_id)
                    .bind(reach_bound)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                None => 0,
            };
            let priority_found = priority.is_some();
            let Some(priority) = priority.filter(|_| set == 1) else {
                // The inquiry's errors come before the priority's, as in Rocket.Chat.
                let reachable: Option<(bool,)> = sqlx::query_as(REFUSAL)
                    .bind(room_id)
                    .bind(actor.user_id)
                    .bind(reach_bound)
                    .fetch_optional(&mut *tx)
                    .await?;
                return Ok(match reachable {
                    None => PrioritizeOutcome::InvalidInquiry,
                    Some((false,)) => PrioritizeOutcome::Unreachable,
                    Some((true,)) if !priority_found => PrioritizeOutcome::InvalidPriority,
                    // Closed or moved out of reach between the statements.
                    Some((true,)) => PrioritizeOutcome::InvalidInquiry,
                });
            };
            let history = priority_history(&actor, Some(&priority));
            insert_message!(&mut *tx, &actor.message(message_id, room_id, PRIORITY_HISTORY, &history, now), false);
            tx.commit().await?;
            Ok(PrioritizeOutcome::Set)
        })
    }
}

/// The type of the message that records a priority change in its room.
pub(super) const PRIORITY_HISTORY: &str = "omnichannel_priority_change_history";

/// The data of a priority change's history message: who, and the new priority (none
/// when it was removed).
pub(super) fn priority_history(actor: &HistoryActor<'_>, priority: Option<&Priority>) -> String {
    let mut data = serde_json::json!({"definedBy": actor.defined_by()});
    if let Some(priority) = priority {
        data["priority"] = priority_document(priority);
    }
    serde_json::json!({"priorityData": data}).to_string()
}

/// The priority as the history message carries it: the stored document.
fn priority_document(priority: &Priority) -> serde_json::Value {
    let mut document = serde_json::json!({
        "_id": priority.id, "i18n": priority.i18n, "sortItem": priority.sort_item, "dirty": priority.dirty,
        "_updatedAt": crate::domain::time::iso(priority.updated_at),
    });
    if let Some(name) = &priority.name {
        document["name"] = serde_json::json!(name);
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_keyed_trimmed_and_lowercased() {
        assert_eq!(name_key("  Urgent "), Some("urgent".to_owned()));
        assert_eq!(name_key("ÉLEVÉE"), Some("élevée".to_owned()));
        assert_eq!(name_key("   "), None);
    }
}
