//! Signing in: login and personal access tokens (stored as digests only), the login
//! attempts counted against accounts and addresses, and the permissions that roles grant.

use std::collections::BTreeSet;

use sqlx::FromRow;

use super::sql::user_columns;
use super::{Backend, Store, StoreError, StoreResult, User, begin_write, on_pool};
use crate::domain::permissions::{ROLE_ADMIN, ROLE_MANAGER, ROLE_MONITOR, VIEW_LIVECHAT_ROOMS};
use crate::domain::time::Millis;

/// The caller of an authenticated request, with its roles and every permission they grant.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: String,
    pub username: String,
    pub name: String,
    roles: BTreeSet<String>,
    permissions: BTreeSet<String>,
}

impl AuthUser {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Whose department memberships bound the rooms and inquiries this caller reaches
    /// beyond those it serves: nobody's for a supervisor (view-livechat-rooms), its own
    /// otherwise. A monitor that is neither administrator nor manager is bounded by its
    /// own departments, as Rocket.Chat confines monitors to their units.
    pub fn department_bound(&self) -> Option<&str> {
        if self.holds(VIEW_LIVECHAT_ROOMS) && !self.is_confined_monitor() { None } else { Some(&self.id) }
    }

    /// A monitor that is neither administrator nor manager: confined to its departments.
    pub fn is_confined_monitor(&self) -> bool {
        self.has_role(ROLE_MONITOR) && !self.has_role(ROLE_ADMIN) && !self.has_role(ROLE_MANAGER)
    }

    pub fn holds(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    pub fn holds_any(&self, permissions: &[&str]) -> bool {
        permissions.iter().any(|permission| self.holds(permission))
    }
}

/// A user's id, username and name with one of its roles and one permission that role grants.
type GrantRow = (String, String, String, Option<String>, Option<String>);

#[derive(Clone, Debug)]
pub struct PermissionGrant {
    pub id: String,
    pub roles: Vec<String>,
    pub updated_at: Millis,
}

/// How many login attempts a key may have verified in one window, and the window's
/// length. A key's window opens at its first attempt and lasts `length`; a later
/// attempt opens a new one.
#[derive(Clone, Copy, Debug)]
pub struct AttemptLimit {
    pub attempts: i64,
    pub length: Millis,
}

/// What reserving a login attempt decided.
#[derive(Debug)]
pub enum Reservation {
    /// The attempt counts against both keys and may be verified.
    Reserved(ReservedAttempt),
    /// The account's window is full; nothing was counted.
    UserBlocked,
    /// The address's window is full; nothing was counted.
    AddressBlocked,
}

/// A reserved attempt: its keys and the windows it was counted in, so that it can be
/// given back.
#[derive(Debug)]
pub struct ReservedAttempt {
    user_key: String,
    address: String,
    user_window: Millis,
    address_window: Millis,
}

impl Store {
    /// The user a login names (by username or email) with its password hash.
    pub async fn user_for_login(&self, login: &str) -> StoreResult<Option<(User, Option<String>)>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users ",
            "WHERE LOWER(username) = LOWER($1) OR LOWER(email) = LOWER($1) LIMIT 1"
        );
        let row: Option<UserWithHash> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(login).fetch_optional(pool).await)?;
        Ok(row.map(|row| (row.user, row.password_hash)))
    }

    /// The active user owning a token digest.
    pub async fn user_for_token(&self, digest: &str) -> StoreResult<Option<User>> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE active AND id = (SELECT user_id FROM auth_tokens WHERE digest = $1)"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(digest).fetch_optional(pool).await)?)
    }

    /// Stores a token digest for a user: `kind` is "login" or "personal" (a personal
    /// access token, named; a second token of the same name is `Conflict`).
    pub async fn store_token(
        &self,
        user_id: &str,
        digest: &str,
        kind: &str,
        name: Option<&str>,
        now: Millis,
    ) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO auth_tokens (digest, user_id, kind, name, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(digest)
        .bind(user_id)
        .bind(kind)
        .bind(name)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The user owning both the token digest and the id, with all its permissions: one
    /// round trip per request, so no later check of the request queries again.
    pub async fn authenticate(&self, user_id: &str, digest: &str) -> StoreResult<Option<AuthUser>> {
        // One row per role and permission it grants (a role granting none, or a user with
        // no role, gives one row with NULLs).
        const SQL: &str = "SELECT u.id, u.username, u.name, ur.role, pr.permission_id \
             FROM auth_tokens t JOIN users u ON u.id = t.user_id \
             LEFT JOIN user_roles ur ON ur.user_id = u.id \
             LEFT JOIN permission_roles pr ON pr.role = ur.role \
             WHERE t.digest = $1 AND t.user_id = $2 AND u.active";
        let rows: Vec<GrantRow> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(digest).bind(user_id).fetch_all(pool).await)?;
        let Some((id, username, name, _, _)) = rows.first().cloned() else { return Ok(None) };
        let mut roles = BTreeSet::new();
        let mut permissions = BTreeSet::new();
        for (_, _, _, role, permission) in rows {
            roles.extend(role);
            permissions.extend(permission);
        }
        Ok(Some(AuthUser { id, username, name, roles, permissions }))
    }

    /// Removes one login token (logout). Personal access tokens are removed only by name.
    pub async fn delete_login_token(&self, digest: &str) -> StoreResult<()> {
        on_pool!(self, |pool| sqlx::query("DELETE FROM auth_tokens WHERE digest = $1 AND kind = 'login'")
            .bind(digest)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Removes a named personal access token; `NotFound` when the user has none of that name.
    pub async fn delete_personal_token(&self, user_id: &str, name: &str) -> StoreResult<()> {
        let done = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM auth_tokens WHERE user_id = $1 AND kind = 'personal' AND name = $2"
        )
        .bind(user_id)
        .bind(name)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Counts a login attempt against the account key and the address before its
    /// password is checked: one upsert per key, in one transaction, each counting only
    /// while its window holds fewer than `limit.attempts` (or has expired, which opens
    /// a new window). A full window refuses the attempt and the transaction is rolled
    /// back, so a refused attempt counts against neither key.
    ///
    /// The upsert's row lock serialises concurrent reservations of one key on
    /// PostgreSQL (SQLite's writer lock serialises all of them): of any number of
    /// concurrent attempts at most `limit.attempts` are reserved. Every transaction
    /// locks its user row before its address row, so two cannot wait on each other.
    pub async fn reserve_login_attempt(
        &self,
        user_key: &str,
        address: &str,
        limit: AttemptLimit,
        now: Millis,
    ) -> StoreResult<Reservation> {
        // $4: a window that started at or before this has expired.
        const RESERVE: &str = "INSERT INTO login_attempts (kind, attempt_key, window_start, attempts) \
             VALUES ($1, $2, $3, 1) \
             ON CONFLICT (kind, attempt_key) DO UPDATE SET \
               window_start = CASE WHEN login_attempts.window_start <= $4 \
                 THEN excluded.window_start ELSE login_attempts.window_start END, \
               attempts = CASE WHEN login_attempts.window_start <= $4 THEN 1 ELSE login_attempts.attempts + 1 END \
             WHERE login_attempts.window_start <= $4 OR login_attempts.attempts < $5 \
             RETURNING window_start, attempts";
        let expired = now - limit.length;
        let (user, address_window) = begin_write!(self, |tx| {
            let user: Option<(Millis, i64)> = sqlx::query_as(RESERVE)
                .bind("user")
                .bind(user_key)
                .bind(now)
                .bind(expired)
                .bind(limit.attempts)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(user) = user else {
                tx.rollback().await?;
                return Ok(Reservation::UserBlocked);
            };
            let address_window: Option<(Millis, i64)> = sqlx::query_as(RESERVE)
                .bind("address")
                .bind(address)
                .bind(now)
                .bind(expired)
                .bind(limit.attempts)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(address_window) = address_window else {
                tx.rollback().await?;
                return Ok(Reservation::AddressBlocked);
            };
            tx.commit().await?;
            Ok::<_, StoreError>((user, address_window))
        })?;
        // Rows only multiply when a window opens, so that is when expired ones go.
        if user.1 == 1 || address_window.1 == 1 {
            self.forget_login_attempts(expired).await?;
        }
        Ok(Reservation::Reserved(ReservedAttempt {
            user_key: user_key.to_owned(),
            address: address.to_owned(),
            user_window: user.0,
            address_window: address_window.0,
        }))
    }

    /// Gives a reserved attempt back (its password was right, or it was never
    /// checked), unless its window has since closed. One row per statement, so a
    /// refund never holds one row's lock while waiting for another's.
    pub async fn refund_login_attempt(&self, reserved: &ReservedAttempt) -> StoreResult<()> {
        const REFUND: &str = "UPDATE login_attempts SET attempts = attempts - 1 \
             WHERE kind = $1 AND attempt_key = $2 AND window_start = $3 AND attempts > 0";
        for (kind, key, window) in [
            ("user", &reserved.user_key, reserved.user_window),
            ("address", &reserved.address, reserved.address_window),
        ] {
            on_pool!(self, |pool| sqlx::query(REFUND)
                .bind(kind)
                .bind(key)
                .bind(window)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }

    /// Drops windows that started at or before `expired`. On PostgreSQL rows another
    /// login holds are skipped rather than waited for: this statement then never waits
    /// while holding the rows it deletes, so it cannot deadlock with a reservation.
    async fn forget_login_attempts(&self, expired: Millis) -> StoreResult<()> {
        const FORGET_POSTGRES: &str = "DELETE FROM login_attempts WHERE (kind, attempt_key) IN \
             (SELECT kind, attempt_key FROM login_attempts WHERE window_start <= $1 FOR UPDATE SKIP LOCKED)";
        const FORGET_SQLITE: &str = "DELETE FROM login_attempts WHERE window_start <= $1";
        let sql = match self.backend {
            Backend::Postgres(_) => FORGET_POSTGRES,
            Backend::Sqlite(_) => FORGET_SQLITE,
        };
        on_pool!(self, |pool| sqlx::query(sql).bind(expired).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn list_permissions(&self) -> StoreResult<Vec<PermissionGrant>> {
        let rows: Vec<(String, Millis, Option<String>)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT p.id, p.updated_at, pr.role FROM permissions p \
             LEFT JOIN permission_roles pr ON pr.permission_id = p.id ORDER BY p.id, pr.role"
        )
        .fetch_all(pool)
        .await)?;
        let mut grants: Vec<PermissionGrant> = Vec::new();
        for (id, updated_at, role) in rows {
            if grants.last().is_none_or(|grant| grant.id != id) {
                grants.push(PermissionGrant { id, roles: Vec::new(), updated_at });
            }
            if let (Some(role), Some(grant)) = (role, grants.last_mut()) {
                grant.roles.push(role);
            }
        }
        Ok(grants)
    }

    /// Replaces the roles of each listed permission, all or nothing. Roles must be
    /// distinct. An unknown permission is `NotFound`; an unknown role is `Conflict("role")`.
    pub async fn update_permissions(&self, changes: &[(String, Vec<String>)], now: Millis) -> StoreResult<()> {
        begin_write!(self, |tx| {
            for (permission, roles) in changes {
                let touched = sqlx::query("UPDATE permissions SET updated_at = $2 WHERE id = $1")
                    .bind(permission)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if touched.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM permission_roles WHERE permission_id = $1")
                    .bind(permission)
                    .execute(&mut *tx)
                    .await?;
                for role in roles {
                    let inserted = sqlx::query(
                        "INSERT INTO permission_roles (permission_id, role) SELECT $1, id FROM roles WHERE id = $2",
                    )
                    .bind(permission)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                    if inserted.rows_affected() == 0 {
                        return Err(StoreError::Conflict("role".into()));
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

#[derive(FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: User,
    password_hash: Option<String>,
}
