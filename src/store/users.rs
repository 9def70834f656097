//! Users and their roles, and the agents and managers of the livechat user routes.

use sqlx::FromRow;

use super::events::AGENT_STATUS;
use super::sql::{livechat_user_select, user_columns};
use super::{SortColumn, Store, StoreError, StoreResult, begin_write, contains_pattern, on_pool, order_by};
use crate::domain::agents::LivechatStatus;
use crate::domain::page::{Page, SortKey};
use crate::domain::permissions::ROLE_AGENT;
use crate::domain::time::Millis;

#[derive(Clone, Debug, FromRow)]
pub struct User {
    pub id: String,
    pub num_id: i64,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub status: String,
    pub livechat_status: String,
    pub active: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub roles: &'a [String],
    pub active: bool,
    pub now: Millis,
}

/// An agent or manager as the livechat user routes show it.
#[derive(Clone, Debug)]
pub struct LivechatUser {
    pub user: User,
    /// The departments the user serves in as an agent, sorted.
    pub department_ids: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LivechatUserSort {
    Id,
    Username,
    Name,
    Status,
    LivechatStatus,
}

impl SortColumn for LivechatUserSort {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "id COLLATE \"BINARY\"",
            Self::Username => "LOWER(username)",
            Self::Name => "LOWER(name)",
            Self::Status => "status",
            Self::LivechatStatus => "livechat_status",
        }
    }
}

/// The users holding role `$1`, whose username or name contains the pattern `$2`
/// (NULL: everyone); only available ones when `$3`, all but `$4`, and without the
/// offline ones (bots excepted) unless `$5`.
const LIVECHAT_USERS_WHERE: &str = " FROM users \
     WHERE EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = users.id AND ur.role = $1) \
     AND ($2 IS NULL OR LOWER(username) LIKE $2 ESCAPE '\\' OR LOWER(name) LIKE $2 ESCAPE '\\') \
     AND (NOT $3 OR livechat_status = 'available') \
     AND ($4 IS NULL OR id <> $4) \
     AND ($5 OR status <> 'offline' \
       OR EXISTS (SELECT 1 FROM user_roles bot WHERE bot.user_id = users.id AND bot.role = 'bot'))";

/// Rocket.Chat's narrowing of the agent list.
pub struct UserListFilter<'a> {
    /// Part of the username or name.
    pub text: Option<&'a str>,
    pub only_available: bool,
    pub exclude_id: Option<&'a str>,
    pub show_idle: bool,
}

impl Store {
    /// Creates a user with its roles. Username and email are unique (case-insensitive):
    /// a clash is `Conflict("users_username_key" | "users_email_key")`; an unknown role
    /// is `NotFound`.
    pub async fn create_user(&self, user: NewUser<'_>) -> StoreResult<User> {
        begin_write!(self, |tx| {
            let created: User = sqlx::query_as(concat!(
                "INSERT INTO users (id, username, name, email, password_hash, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 RETURNING ",
                user_columns!()
            ))
            .bind(user.id)
            .bind(user.username)
            .bind(user.name)
            .bind(user.email)
            .bind(user.password_hash)
            .bind(user.active)
            .bind(user.now)
            .fetch_one(&mut *tx)
            .await?;
            for role in user.roles {
                sqlx::query("INSERT INTO user_roles (user_id, role) SELECT $1, id FROM roles WHERE id = $2")
                    .bind(user.id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)
                    .and_then(|done| if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) })?;
            }
            tx.commit().await?;
            Ok(created)
        })
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    pub async fn user_roles(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                .bind(user_id)
                .fetch_all(pool)
                .await)?;
        Ok(rows.into_iter().map(|(role,)| role).collect())
    }

    pub async fn any_user_has_role(&self, role: &str) -> StoreResult<bool> {
        let found: Option<(String,)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT user_id FROM user_roles WHERE role = $1 LIMIT 1")
                .bind(role)
                .fetch_optional(pool)
                .await)?;
        Ok(found.is_some())
    }

    pub async fn user_has_role(&self, user_id: &str, role: &str) -> StoreResult<bool> {
        let found: Option<(String,)> =
            on_pool!(self, |pool| sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1 AND role = $2")
                .bind(user_id)
                .bind(role)
                .fetch_optional(pool)
                .await)?;
        Ok(found.is_some())
    }

    /// Gives the user named `username` (case-insensitive) the role; holding it already
    /// is fine. `None` when there is no such user.
    pub async fn add_role_by_username(&self, username: &str, role: &str, now: Millis) -> StoreResult<Option<User>> {
        begin_write!(self, |tx| {
            let user: Option<User> = sqlx::query_as(concat!(
                "UPDATE users SET updated_at = $2 WHERE LOWER(username) = LOWER($1) RETURNING ",
                user_columns!()
            ))
            .bind(username)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(user) = user else { return Ok(None) };
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&user.id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(user))
        })
    }

    /// Takes the role from the user; an agent also leaves every department. `false`
    /// when the user did not hold the role.
    pub async fn remove_role(&self, user_id: &str, role: &str) -> StoreResult<bool> {
        begin_write!(self, |tx| {
            let removed = sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
                .bind(user_id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
            if removed.rows_affected() == 0 {
                return Ok(false);
            }
            if role == ROLE_AGENT {
                sqlx::query("DELETE FROM department_agents WHERE agent_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// One page of the users holding `role` that `filter` keeps (`text` matched
    /// case-insensitively), with the total count.
    pub async fn livechat_users(
        &self,
        role: &str,
        filter: UserListFilter<'_>,
        page: Page,
        sort: &[SortKey<LivechatUserSort>],
    ) -> StoreResult<(Vec<LivechatUser>, i64)> {
        let pattern = filter.text.map(contains_pattern);
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let select =
            format!("{}{LIVECHAT_USERS_WHERE}{} LIMIT $6 OFFSET $7", livechat_user_select!(), order_by(sort, "id"));
        let count = format!("SELECT COUNT(*){LIVECHAT_USERS_WHERE}");
        let rows: Vec<LivechatUserRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(role)
            .bind(&pattern)
            .bind(filter.only_available)
            .bind(filter.exclude_id)
            .bind(filter.show_idle)
            .bind(page.count)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?;
        let (total,): (i64,) = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(count))
            .bind(role)
            .bind(&pattern)
            .bind(filter.only_available)
            .bind(filter.exclude_id)
            .bind(filter.show_idle)
            .fetch_one(pool)
            .await)?;
        Ok((rows.into_iter().map(LivechatUser::from).collect(), total))
    }

    /// The user if it holds `role`.
    pub async fn livechat_user(&self, role: &str, user_id: &str) -> StoreResult<Option<LivechatUser>> {
        const SQL: &str = concat!(
            livechat_user_select!(),
            " FROM users WHERE id = $2 AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = users.id AND ur.role = $1)"
        );
        let row: Option<LivechatUserRow> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(role).bind(user_id).fetch_optional(pool).await)?;
        Ok(row.map(LivechatUser::from))
    }

    /// Sets an agent's `statusLivechat`, or toggles it when `status` is `None`, in one
    /// statement, and publishes the new status to each open room the agent serves.
    /// Returns the new status; `None` when the user is not an agent.
    pub async fn set_livechat_status(
        &self,
        agent_id: &str,
        status: Option<LivechatStatus>,
        now: Millis,
    ) -> StoreResult<Option<String>> {
        const SQL: &str = "UPDATE users SET updated_at = $3, livechat_status = COALESCE($2, \
               CASE livechat_status WHEN 'available' THEN 'not-available' ELSE 'available' END) \
             WHERE id = $1 AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = users.id AND ur.role = $4) \
             RETURNING livechat_status";
        const PUBLISH: &str = "INSERT INTO events (kind, room_id, payload, created_at) \
             SELECT $1, id, $2, $3 FROM rooms WHERE served_by = $4 AND open";
        begin_write!(self, |tx| {
            let updated: Option<(String,)> = sqlx::query_as(SQL)
                .bind(agent_id)
                .bind(status.map(LivechatStatus::as_str))
                .bind(now)
                .bind(ROLE_AGENT)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((status,)) = &updated {
                let payload = serde_json::json!({ "status": status }).to_string();
                sqlx::query(PUBLISH)
                    .bind(AGENT_STATUS)
                    .bind(payload)
                    .bind(now)
                    .bind(agent_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Ok(updated.map(|(status,)| status))
        })
    }
}

#[derive(FromRow)]
struct LivechatUserRow {
    #[sqlx(flatten)]
    user: User,
    department_ids: Option<String>,
}

impl From<LivechatUserRow> for LivechatUser {
    fn from(row: LivechatUserRow) -> Self {
        let mut department_ids: Vec<String> =
            row.department_ids.iter().flat_map(|joined| joined.split(',')).map(str::to_owned).collect();
        department_ids.sort();
        Self { user: row.user, department_ids }
    }
}
