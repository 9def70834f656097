//! Signing in: login and personal access tokens (stored as digests only), failed
//! logins, and the permissions that roles grant.

use std::collections::BTreeSet;

use sqlx::FromRow;

use super::sql::user_columns;
use super::{Store, StoreError, StoreResult, User, begin_write, on_pool};
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

#[derive(Clone, Copy, Debug, Default)]
pub struct LoginFailureCounts {
    pub for_username: i64,
    pub for_address: i64,
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

    /// Records a failed login and drops failures older than `forget_before`.
    pub async fn record_login_failure(
        &self,
        username: &str,
        address: &str,
        now: Millis,
        forget_before: Millis,
    ) -> StoreResult<()> {
        begin_write!(self, |tx| {
            sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(forget_before).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO login_failures (username, address, at) VALUES ($1, $2, $3)")
                .bind(username)
                .bind(address)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn login_failures_since(
        &self,
        username: &str,
        address: &str,
        since: Millis,
    ) -> StoreResult<LoginFailureCounts> {
        const SQL: &str = "SELECT \
               (SELECT COUNT(*) FROM login_failures WHERE LOWER(username) = LOWER($1) AND at >= $3), \
               (SELECT COUNT(*) FROM login_failures WHERE address = $2 AND at >= $3)";
        let (for_username, for_address): (i64, i64) =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(username).bind(address).bind(since).fetch_one(pool).await)?;
        Ok(LoginFailureCounts { for_username, for_address })
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
