//! Rocket.Chat's contact moderation over the visitors (see `contacts`): erasing a
//! contact, blocking and unblocking one of its channels, and resolving its conflicting
//! fields.
//!
//! A channel is a contact's rooms of one source type, so a channel exists once the
//! contact has a room of that type; a blocked one is a row of `contact_channel_blocks`
//! (migration 0029), which `open_room` refuses to open a room in.

use serde::{Deserialize, Serialize};

use super::rooms::LOCK_VISITOR;
use super::sql::room_select;
use super::{Erasure, Room, Store, StoreError, StoreResult, begin_write, on_pool};
use crate::domain::time::Millis;

/// One of Rocket.Chat's `conflictingFields`: a value a registration brought for a field
/// (`name`, `manager`, `customFields.<id>`) that the contact kept its own value of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictingField {
    pub field: String,
    pub value: String,
}

/// The conflicting fields stored as a JSON array; none when NULL.
pub fn conflicting_fields(raw: Option<&str>) -> Vec<ConflictingField> {
    raw.and_then(|raw| serde_json::from_str(raw).ok()).unwrap_or_default()
}

/// What contacts.conflicts writes: the values chosen (`None` keeps the stored one) and
/// the conflicts to drop.
pub struct ConflictResolution<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    /// The manager's username.
    pub contact_manager: Option<&'a str>,
    /// Custom field values laid over the stored ones.
    pub custom_fields: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Drop every conflict rather than those of the fields given.
    pub wipe: bool,
    pub now: Millis,
}

/// Why a resolution changed nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    Resolved,
    UnknownContact,
    NoConflicts,
}

impl Store {
    /// `erase_visitor` of the visitor of an id: refused while it has an open room.
    pub async fn erase_contact(&self, id: &str, detached_token: &str, now: Millis) -> StoreResult<Erasure> {
        const DETACH: &str = "UPDATE visitors SET token = $2, updated_at = $3 WHERE id = $1 RETURNING id";
        self.erase_detached(DETACH, id, detached_token, now).await
    }

    /// Blocks the contact's channel of a source type (again, when it is); false when the
    /// contact has no room of that type. The visitor's row is held first, as `open_room`
    /// holds it, so a room being opened in the channel is either committed before (and
    /// seen open afterwards, for the caller to close) or refused.
    pub async fn block_contact_channel(
        &self,
        visitor_id: &str,
        source_type: &str,
        blocked_by: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        const BLOCK: &str = "INSERT INTO contact_channel_blocks (visitor_id, source_type, blocked_by, blocked_at) \
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM rooms WHERE visitor_id = $1 AND source_type = $2) \
             ON CONFLICT (visitor_id, source_type) DO UPDATE SET blocked_by = excluded.blocked_by, \
               blocked_at = excluded.blocked_at";
        begin_write!(self, |tx| {
            sqlx::query(LOCK_VISITOR).bind(visitor_id).execute(&mut *tx).await?;
            let blocked = sqlx::query(BLOCK)
                .bind(visitor_id)
                .bind(source_type)
                .bind(blocked_by)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<bool, StoreError>(blocked == 1)
        })
    }

    /// Unblocks the contact's channel of a source type (blocked or not); false when the
    /// contact has no room of that type.
    pub async fn unblock_contact_channel(&self, visitor_id: &str, source_type: &str) -> StoreResult<bool> {
        const UNBLOCK: &str = "DELETE FROM contact_channel_blocks WHERE visitor_id = $1 AND source_type = $2";
        const CHANNEL: &str = "SELECT EXISTS (SELECT 1 FROM rooms WHERE visitor_id = $1 AND source_type = $2)";
        begin_write!(self, |tx| {
            let (exists,): (bool,) =
                sqlx::query_as(CHANNEL).bind(visitor_id).bind(source_type).fetch_one(&mut *tx).await?;
            if exists {
                sqlx::query(UNBLOCK).bind(visitor_id).bind(source_type).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<bool, StoreError>(exists)
        })
    }

    /// The visitor's open room of a source type, if any.
    pub async fn open_room_of_channel(&self, visitor_id: &str, source_type: &str) -> StoreResult<Option<Room>> {
        const SQL: &str = concat!(room_select!(), "WHERE r.visitor_id = $1 AND r.source_type = $2 AND r.open");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(visitor_id).bind(source_type).fetch_optional(pool).await)?)
    }

    /// Writes the values chosen for a contact's conflicting fields and drops the
    /// conflicts they settle (or every one, with `wipe`). The contact's row is held
    /// while its conflicts and custom fields are read and written back.
    pub async fn resolve_contact_conflicts(&self, resolution: ConflictResolution<'_>) -> StoreResult<Resolution> {
        const READ: &str = "SELECT conflicting_fields, livechat_data FROM visitors WHERE id = $1";
        const WRITE: &str = "UPDATE visitors SET name = COALESCE($2, name), \
               contact_manager = COALESCE($3, contact_manager), livechat_data = COALESCE($4, livechat_data), \
               conflicting_fields = $5, updated_at = $6 \
             WHERE id = $1";
        begin_write!(self, |tx| {
            sqlx::query(LOCK_VISITOR).bind(resolution.id).execute(&mut *tx).await?;
            let row: Option<(Option<String>, Option<String>)> =
                sqlx::query_as(READ).bind(resolution.id).fetch_optional(&mut *tx).await?;
            let Some((conflicts, livechat_data)) = row else { return Ok(Resolution::UnknownContact) };
            let conflicts = conflicting_fields(conflicts.as_deref());
            if conflicts.is_empty() {
                return Ok(Resolution::NoConflicts);
            }
            let settled = |field: &str| {
                resolution.wipe
                    || (field == "name" && resolution.name.is_some())
                    || (field == "manager" && resolution.contact_manager.is_some())
                    || field
                        .strip_prefix("customFields.")
                        .is_some_and(|key| resolution.custom_fields.is_some_and(|given| given.contains_key(key)))
            };
            let left: Vec<ConflictingField> =
                conflicts.into_iter().filter(|conflict| !settled(&conflict.field)).collect();
            let left = (!left.is_empty()).then(|| serde_json::to_string(&left).expect("conflicts serialize"));
            let livechat_data = resolution.custom_fields.map(|given| {
                let mut fields: serde_json::Map<String, serde_json::Value> =
                    livechat_data.as_deref().and_then(|data| serde_json::from_str(data).ok()).unwrap_or_default();
                fields.extend(given.clone());
                serde_json::Value::Object(fields).to_string()
            });
            sqlx::query(WRITE)
                .bind(resolution.id)
                .bind(resolution.name)
                .bind(resolution.contact_manager)
                .bind(livechat_data)
                .bind(left)
                .bind(resolution.now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Resolution::Resolved)
        })
    }
}
