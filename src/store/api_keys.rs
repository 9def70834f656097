//! HelpCrunch API keys (stored as digests only) and their per-minute request counters.

use sqlx::FromRow;

use super::sql::api_key_columns;
use super::{Store, StoreError, StoreResult, on_pool};
use crate::domain::time::Millis;

/// The unique constraint a second key of the same name violates.
pub const API_KEY_NAME_TAKEN: &str = "api_keys_name_key";

/// An API key as an administrator sees it: never the key itself.
#[derive(Clone, Debug, FromRow)]
pub struct ApiKey {
    pub num_id: i64,
    pub name: String,
    /// The first characters of the key, so an administrator can tell keys apart.
    pub prefix: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub digest: &'a str,
    pub now: Millis,
}

impl Store {
    /// Stores a new key. A name already in use (revoked or not) is
    /// `Conflict(API_KEY_NAME_TAKEN)` on both backends.
    pub async fn create_api_key(&self, key: NewApiKey<'_>) -> StoreResult<ApiKey> {
        const SQL: &str = concat!(
            "INSERT INTO api_keys (name, prefix, digest, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
            api_key_columns!()
        );
        let created = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(key.name)
            .bind(key.prefix)
            .bind(key.digest)
            .bind(key.now)
            .fetch_one(pool)
            .await);
        // SQLite names the column, not the constraint; the digest cannot collide in practice.
        created.map_err(|error| match StoreError::from(error) {
            StoreError::Conflict(_) => StoreError::Conflict(API_KEY_NAME_TAKEN.to_owned()),
            other => other,
        })
    }

    /// Every key, oldest first.
    pub async fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        const SQL: &str = concat!("SELECT ", api_key_columns!(), " FROM api_keys ORDER BY created_at, num_id");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Revokes the key of that name; revoking twice keeps the first time. An unknown
    /// name is `NotFound`.
    pub async fn revoke_api_key(&self, name: &str, now: Millis) -> StoreResult<ApiKey> {
        const SQL: &str = concat!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE name = $1 RETURNING ",
            api_key_columns!()
        );
        let revoked: Option<ApiKey> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(name).bind(now).fetch_optional(pool).await)?;
        revoked.ok_or(StoreError::NotFound)
    }

    /// The unrevoked key with that digest, marked as used at `now`; `None` for an
    /// unknown or revoked key.
    pub async fn authenticate_api_key(&self, digest: &str, now: Millis) -> StoreResult<Option<ApiKey>> {
        const SQL: &str = concat!(
            "UPDATE api_keys SET last_used_at = $2 WHERE digest = $1 AND revoked_at IS NULL RETURNING ",
            api_key_columns!()
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(digest).bind(now).fetch_optional(pool).await)?)
    }

    /// Counts one request of the key in the window starting at `window_start` and
    /// returns the window's count so far, this request included. The first request of
    /// a window also drops every older window, of any key.
    pub async fn count_api_request(&self, api_key_id: i64, window_start: Millis) -> StoreResult<i64> {
        const COUNT: &str = "INSERT INTO api_rate_windows (api_key_id, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (api_key_id, window_start) DO UPDATE SET hits = api_rate_windows.hits + 1 \
             RETURNING hits";
        const FORGET: &str = "DELETE FROM api_rate_windows WHERE window_start < $1";
        let (hits,): (i64,) =
            on_pool!(self, |pool| sqlx::query_as(COUNT).bind(api_key_id).bind(window_start).fetch_one(pool).await)?;
        if hits == 1 {
            on_pool!(self, |pool| sqlx::query(FORGET)
                .bind(window_start)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        }
        Ok(hits)
    }
}
