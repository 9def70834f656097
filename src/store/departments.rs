//! Departments and the agents serving in them.
//!
//! Every change to a department's agent list first updates the department's row, so
//! concurrent changes of one department queue behind each other.

use sqlx::FromRow;

use super::sql::{department_agent_select, department_select, json_strings};
use super::{
    Backend, SortColumn, Store, StoreError, StoreResult, begin_write, contains_pattern, on_pool, order_by,
    prefix_pattern,
};
use crate::domain::page::{Page, SortKey};
use crate::domain::time::Millis;

#[derive(Clone, Debug, FromRow)]
pub struct Department {
    pub id: String,
    pub num_id: i64,
    pub name: String,
    pub enabled: bool,
    pub email: String,
    pub show_on_registration: bool,
    pub show_on_offline_form: bool,
    pub description: String,
    /// Rocket.Chat's closing-tag settings, `None` while never given.
    pub request_tag_before_closing_chat: Option<bool>,
    /// A JSON array of tags.
    pub chat_closing_tags: Option<String>,
    /// The department whose agents serve when none of this one's is available.
    pub fallback_forward_department: Option<String>,
    /// A JSON array of department ids.
    pub departments_allowed_to_forward: Option<String>,
    pub allow_receive_forward_offline: Option<bool>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// How many agents serve in the department.
    pub num_agents: i64,
    /// The most chats an agent serves at once through routing here; 0: no limit.
    pub max_chats: i64,
    /// Archived: out of the department list and of routing, and disabled.
    pub archived: bool,
}

/// An agent's entry in a department.
#[derive(Clone, Debug, FromRow)]
pub struct DepartmentAgent {
    pub department_id: String,
    pub agent_id: String,
    pub username: String,
    /// Chats routed to the agent through this department.
    pub chat_count: i64,
    pub sort_order: i64,
    pub department_enabled: bool,
    pub updated_at: Millis,
}

/// What a department is created or updated with. `description: None` keeps the
/// current one on update and means "" on create; the other optional fields keep theirs
/// (none on create). A fallback department that does not exist is a foreign key
/// violation.
pub struct DepartmentChanges<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub email: &'a str,
    pub show_on_registration: bool,
    pub show_on_offline_form: bool,
    pub description: Option<&'a str>,
    /// `None` keeps the current limit on update and means 0 (none) on create.
    pub max_chats: Option<i64>,
    pub request_tag_before_closing_chat: Option<bool>,
    /// A JSON array of tags.
    pub chat_closing_tags: Option<String>,
    pub fallback_forward_department: Option<&'a str>,
    /// A JSON array of department ids.
    pub departments_allowed_to_forward: Option<String>,
    pub allow_receive_forward_offline: Option<bool>,
}

/// An agent to add to a department, or whose entry to update; `None` keeps the
/// entry's current value (0 for a new entry).
pub struct NewDepartmentAgent<'a> {
    pub agent_id: &'a str,
    pub chat_count: Option<i64>,
    pub sort_order: Option<i64>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct DepartmentFilter<'a> {
    /// Case-insensitive part of the name.
    pub text: Option<&'a str>,
    pub enabled: Option<bool>,
    /// Only the departments this agent serves in.
    pub agent_id: Option<&'a str>,
    /// All but this department.
    pub exclude_id: Option<&'a str>,
    /// Only archived departments (`Some(true)`), only the others (`Some(false)`), or both.
    pub archived: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepartmentSort {
    Id,
    Name,
    UpdatedAt,
    NumAgents,
}

impl SortColumn for DepartmentSort {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "id COLLATE \"BINARY\"",
            // Byte order, as Rocket.Chat's MongoDB sorts (see migration 0008).
            Self::Name => "name COLLATE \"BINARY\"",
            Self::UpdatedAt => "updated_at",
            Self::NumAgents => "num_agents",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepartmentAgentSort {
    Username,
    Order,
}

impl SortColumn for DepartmentAgentSort {
    fn column(self) -> &'static str {
        match self {
            Self::Username => "LOWER(da.username)",
            Self::Order => "da.sort_order",
        }
    }
}

/// Departments whose lower-cased name matches the pattern `$1`, whose `enabled` is
/// `$2`, in which agent `$3` serves, other than `$4` and whose `archived` is `$5` (each
/// NULL: any).
const DEPARTMENTS_WHERE: &str = " WHERE ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\') \
     AND ($2 IS NULL OR enabled = $2) \
     AND ($3 IS NULL OR EXISTS (SELECT 1 FROM department_agents m \
       WHERE m.department_id = departments.id AND m.agent_id = $3)) \
     AND ($4 IS NULL OR id <> $4) \
     AND ($5 IS NULL OR archived = $5)";

/// Adds a user to department `$1` or updates its entry; nothing is written for an
/// unknown user. As Rocket.Chat, a user who is no longer an agent is still taken.
const UPSERT_AGENT: &str = "INSERT INTO department_agents \
       (department_id, agent_id, username, chat_count, sort_order, updated_at) \
     SELECT $1, u.id, u.username, COALESCE($3, 0), COALESCE($4, 0), $5 FROM users u \
     WHERE u.id = $2 \
     ON CONFLICT (department_id, agent_id) DO UPDATE SET username = excluded.username, \
       chat_count = COALESCE($3, department_agents.chat_count), \
       sort_order = COALESCE($4, department_agents.sort_order), updated_at = $5";

const UPDATE_DEPARTMENT: &str = "UPDATE departments SET name = $2, enabled = $3, email = $4, \
       show_on_registration = $5, show_on_offline_form = $6, description = COALESCE($7, description), \
       updated_at = $8, max_chats = COALESCE($14, max_chats), \
       request_tag_before_closing_chat = COALESCE($9, request_tag_before_closing_chat), \
       chat_closing_tags = COALESCE($10, chat_closing_tags), \
       fallback_forward_department = COALESCE($11, fallback_forward_department), \
       departments_allowed_to_forward = COALESCE($12, departments_allowed_to_forward), \
       allow_receive_forward_offline = COALESCE($13, allow_receive_forward_offline) \
     WHERE id = $1";

/// Upserts each agent inside transaction `$tx`; an unknown user aborts the
/// transaction with `Conflict("agent")`.
macro_rules! upsert_agents {
    ($tx:ident, $department_id:expr, $agents:expr, $now:expr) => {
        for agent in $agents {
            let written = sqlx::query(UPSERT_AGENT)
                .bind($department_id)
                .bind(agent.agent_id)
                .bind(agent.chat_count)
                .bind(agent.sort_order)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
            if written.rows_affected() == 0 {
                return Err(StoreError::Conflict("agent".into()));
            }
        }
    };
}

/// Keep department `$1`, and member `$2`'s entry in it, as they are: writes, so that
/// both rows stay locked until the transaction ends.
const HOLD_DEPARTMENT: &str = "UPDATE departments SET updated_at = updated_at WHERE id = $1";
const HOLD_MEMBERSHIP: &str =
    "UPDATE department_agents SET updated_at = updated_at WHERE department_id = $1 AND agent_id = $2";

/// Inside transaction `$tx`, when `$confined_to` names a confined monitor: holds the
/// department and the monitor's entry in it until the transaction ends (PostgreSQL locks
/// the rows; SQLite's write transaction excludes other writers), so its removal cannot
/// slip between this check and the change. The department row is locked first, as
/// every change of a department's agents does, so that two changes never deadlock.
/// `NotFound` for an unknown department, `OutOfReach` for one the monitor is not in.
macro_rules! hold_membership {
    ($tx:ident, $department_id:expr, $confined_to:expr) => {
        if let Some(member_id) = $confined_to {
            let department = sqlx::query(HOLD_DEPARTMENT).bind($department_id).execute(&mut *$tx).await?;
            if department.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let held = sqlx::query(HOLD_MEMBERSHIP).bind($department_id).bind(member_id).execute(&mut *$tx).await?;
            if held.rows_affected() == 0 {
                return Err(StoreError::OutOfReach);
            }
        }
    };
}

impl Store {
    /// Creates a department with its agents. A taken name is a conflict on
    /// `departments_name_key`; an unknown user is `Conflict("agent")`.
    pub async fn create_department(
        &self,
        id: &str,
        department: &DepartmentChanges<'_>,
        agents: &[NewDepartmentAgent<'_>],
        now: Millis,
    ) -> StoreResult<Department> {
        const INSERT: &str = "INSERT INTO departments (id, name, enabled, email, show_on_registration, \
               show_on_offline_form, description, created_at, updated_at, request_tag_before_closing_chat, \
               chat_closing_tags, fallback_forward_department, departments_allowed_to_forward, \
               allow_receive_forward_offline, max_chats) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14)";
        begin_write!(self, |tx| {
            sqlx::query(INSERT)
                .bind(id)
                .bind(department.name)
                .bind(department.enabled)
                .bind(department.email)
                .bind(department.show_on_registration)
                .bind(department.show_on_offline_form)
                .bind(department.description.unwrap_or(""))
                .bind(now)
                .bind(department.request_tag_before_closing_chat)
                .bind(&department.chat_closing_tags)
                .bind(department.fallback_forward_department)
                .bind(&department.departments_allowed_to_forward)
                .bind(department.allow_receive_forward_offline)
                .bind(department.max_chats.unwrap_or(0))
                .execute(&mut *tx)
                .await?;
            upsert_agents!(tx, id, agents, now);
            let created: Department =
                sqlx::query_as(concat!(department_select!(), " WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(created)
        })
    }

    /// Updates a department; with `agents`, they become its whole agent list (entries
    /// of agents that stay keep their chat count). Unknown id is `NotFound`; a taken
    /// name and an unknown user are conflicts as in `create_department`.
    pub async fn update_department(
        &self,
        id: &str,
        department: &DepartmentChanges<'_>,
        agents: Option<&[NewDepartmentAgent<'_>]>,
        confined_to: Option<&str>,
        now: Millis,
    ) -> StoreResult<Department> {
        begin_write!(self, |tx| {
            hold_membership!(tx, id, confined_to);
            let updated = sqlx::query(UPDATE_DEPARTMENT)
                .bind(id)
                .bind(department.name)
                .bind(department.enabled)
                .bind(department.email)
                .bind(department.show_on_registration)
                .bind(department.show_on_offline_form)
                .bind(department.description)
                .bind(now)
                .bind(department.request_tag_before_closing_chat)
                .bind(&department.chat_closing_tags)
                .bind(department.fallback_forward_department)
                .bind(&department.departments_allowed_to_forward)
                .bind(department.allow_receive_forward_offline)
                .bind(department.max_chats)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(agents) = agents {
                let current: Vec<(String,)> =
                    sqlx::query_as("SELECT agent_id FROM department_agents WHERE department_id = $1")
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await?;
                for (agent_id,) in current {
                    if agents.iter().all(|agent| agent.agent_id != agent_id) {
                        sqlx::query("DELETE FROM department_agents WHERE department_id = $1 AND agent_id = $2")
                            .bind(id)
                            .bind(&agent_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                upsert_agents!(tx, id, agents, now);
            }
            let department: Department =
                sqlx::query_as(concat!(department_select!(), " WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(department)
        })
    }

    /// Adds or updates the `upsert` agents and removes the `remove` ones, all or
    /// nothing. Unknown department is `NotFound`; an unknown user is `Conflict("agent")`.
    pub async fn change_department_agents(
        &self,
        department_id: &str,
        upsert: &[NewDepartmentAgent<'_>],
        remove: &[&str],
        confined_to: Option<&str>,
        now: Millis,
    ) -> StoreResult<()> {
        begin_write!(self, |tx| {
            hold_membership!(tx, department_id, confined_to);
            let touched = sqlx::query("UPDATE departments SET updated_at = $2 WHERE id = $1")
                .bind(department_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if touched.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            for agent_id in remove {
                sqlx::query("DELETE FROM department_agents WHERE department_id = $1 AND agent_id = $2")
                    .bind(department_id)
                    .bind(agent_id)
                    .execute(&mut *tx)
                    .await?;
            }
            upsert_agents!(tx, department_id, upsert, now);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes a department and its agent entries; rooms and visitors keep no
    /// department. Unknown id is `NotFound`.
    pub async fn delete_department(&self, id: &str, confined_to: Option<&str>) -> StoreResult<()> {
        begin_write!(self, |tx| {
            hold_membership!(tx, id, confined_to);
            let deleted = sqlx::query("DELETE FROM departments WHERE id = $1").bind(id).execute(&mut *tx).await?;
            if deleted.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn department_by_id(&self, id: &str) -> StoreResult<Option<Department>> {
        const SQL: &str = concat!(department_select!(), " WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// The department with this id or, failing that, this exact name.
    pub async fn department_by_id_or_name(&self, id_or_name: &str) -> StoreResult<Option<Department>> {
        const SQL: &str = concat!(department_select!(), " WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id_or_name).fetch_optional(pool).await)?)
    }

    /// One page of departments with the total matching `filter`.
    pub async fn departments(
        &self,
        filter: DepartmentFilter<'_>,
        page: Page,
        sort: &[SortKey<DepartmentSort>],
    ) -> StoreResult<(Vec<Department>, i64)> {
        let pattern = filter.text.map(contains_pattern);
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let select = format!(
            "{}{DEPARTMENTS_WHERE}{} LIMIT $6 OFFSET $7",
            department_select!(),
            order_by(sort, r#"id COLLATE "BINARY""#)
        );
        let count = format!("SELECT COUNT(*) FROM departments{DEPARTMENTS_WHERE}");
        let departments: Vec<Department> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(&pattern)
            .bind(filter.enabled)
            .bind(filter.agent_id)
            .bind(filter.exclude_id)
            .bind(filter.archived)
            .bind(page.count)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?;
        let (total,): (i64,) = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(count))
            .bind(&pattern)
            .bind(filter.enabled)
            .bind(filter.agent_id)
            .bind(filter.exclude_id)
            .bind(filter.archived)
            .fetch_one(pool)
            .await)?;
        Ok((departments, total))
    }

    /// Every agent of a department, by order then username.
    pub async fn department_agents(&self, department_id: &str) -> StoreResult<Vec<DepartmentAgent>> {
        const SQL: &str =
            concat!(department_agent_select!(), " ORDER BY da.sort_order, LOWER(da.username), da.agent_id");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(department_id).fetch_all(pool).await)?)
    }

    /// One page of a department's agents with their total.
    pub async fn department_agents_page(
        &self,
        department_id: &str,
        page: Page,
        sort: &[SortKey<DepartmentAgentSort>],
    ) -> StoreResult<(Vec<DepartmentAgent>, i64)> {
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let select = format!("{}{} LIMIT $2 OFFSET $3", department_agent_select!(), order_by(sort, "da.agent_id"));
        let agents: Vec<DepartmentAgent> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(select))
            .bind(department_id)
            .bind(page.count)
            .bind(page.offset)
            .fetch_all(pool)
            .await)?;
        let (total,): (i64,) =
            on_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM department_agents WHERE department_id = $1")
                .bind(department_id)
                .fetch_one(pool)
                .await)?;
        Ok((agents, total))
    }

    pub async fn is_department_agent(&self, department_id: &str, agent_id: &str) -> StoreResult<bool> {
        let found: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT agent_id FROM department_agents WHERE department_id = $1 AND agent_id = $2"
        )
        .bind(department_id)
        .bind(agent_id)
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }
}

/// A department's numeric id and name: all a chat shows of its department.
#[derive(Clone, Debug, FromRow)]
pub struct DepartmentSummary {
    pub num_id: i64,
    pub name: String,
}

impl Store {
    /// Every department, in creation order.
    pub async fn department_summaries(&self) -> StoreResult<Vec<DepartmentSummary>> {
        const SQL: &str = "SELECT num_id, name FROM departments ORDER BY num_id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }
}

/// A department as autocomplete lists it.
#[derive(Clone, Debug, FromRow)]
pub struct DepartmentName {
    pub id: String,
    pub name: String,
}

/// An agent's entry in a department, with the department's name.
#[derive(Clone, Debug, FromRow)]
pub struct AgentDepartment {
    #[sqlx(flatten)]
    pub entry: DepartmentAgent,
    pub department_name: String,
}

/// Departments (`departments`) that agent `$member` serves in; NULL: any.
macro_rules! shared_with {
    ($column:literal, $member:literal) => {
        concat!(
            "(",
            $member,
            " IS NULL OR ",
            $column,
            " IN (SELECT sm.department_id FROM department_agents sm WHERE sm.agent_id = ",
            $member,
            "))"
        )
    };
}

impl Store {
    /// Archives a department (and disables it) or unarchives it (it stays disabled), in
    /// one statement: the list, autocomplete and routing see it archived or not, never
    /// half. `NotFound` for an unknown id; a confined monitor changes only its own
    /// departments (`OutOfReach`).
    pub async fn set_department_archived(
        &self,
        id: &str,
        archived: bool,
        confined_to: Option<&str>,
        now: Millis,
    ) -> StoreResult<()> {
        const SQL: &str = "UPDATE departments SET archived = $2, \
               enabled = CASE WHEN $2 THEN FALSE ELSE enabled END, updated_at = $3 WHERE id = $1";
        begin_write!(self, |tx| {
            hold_membership!(tx, id, confined_to);
            let changed = sqlx::query(SQL).bind(id).bind(archived).bind(now).execute(&mut *tx).await?;
            if changed.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Departments whose name starts with `term` in any case, but not those of
    /// `exceptions`, archived or not as `archived` asks, and (given `member`) only those
    /// it serves in; by name.
    pub async fn departments_named_like(
        &self,
        term: &str,
        exceptions: &[String],
        archived: bool,
        member: Option<&str>,
    ) -> StoreResult<Vec<DepartmentName>> {
        macro_rules! named_like {
            ($backend:ident) => {
                concat!(
                    "SELECT id, name FROM departments WHERE LOWER(name) LIKE $1 ESCAPE '\\' AND archived = $2 \
                     AND id NOT IN (",
                    json_strings!($backend, "$3"),
                    ") AND ",
                    shared_with!("id", "$4"),
                    " ORDER BY name COLLATE \"BINARY\", id COLLATE \"BINARY\""
                )
            };
        }
        const POSTGRES: &str = named_like!(postgres);
        const SQLITE: &str = named_like!(sqlite);
        let sql = match self.backend {
            Backend::Postgres(_) => POSTGRES,
            Backend::Sqlite(_) => SQLITE,
        };
        let exceptions = serde_json::to_string(exceptions).expect("strings serialize");
        Ok(on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(prefix_pattern(term))
            .bind(archived)
            .bind(&exceptions)
            .bind(member)
            .fetch_all(pool)
            .await)?)
    }

    /// The departments of these ids that exist (and, given `member`, that it serves
    /// in), in creation order.
    pub async fn departments_by_ids(&self, ids: &[String], member: Option<&str>) -> StoreResult<Vec<Department>> {
        macro_rules! by_ids {
            ($backend:ident) => {
                concat!(
                    department_select!(),
                    " WHERE id IN (",
                    json_strings!($backend, "$1"),
                    ") AND ",
                    shared_with!("id", "$2"),
                    " ORDER BY num_id"
                )
            };
        }
        const POSTGRES: &str = by_ids!(postgres);
        const SQLITE: &str = by_ids!(sqlite);
        let sql = match self.backend {
            Backend::Postgres(_) => POSTGRES,
            Backend::Sqlite(_) => SQLITE,
        };
        let ids = serde_json::to_string(ids).expect("strings serialize");
        Ok(on_pool!(self, |pool| sqlx::query_as(sql).bind(&ids).bind(member).fetch_all(pool).await)?)
    }

    /// The entries of agent `agent_id` in departments, enabled ones only when
    /// `enabled_only`, and (given `member`) only in departments it serves in too; by
    /// department name.
    pub async fn departments_of_agent(
        &self,
        agent_id: &str,
        enabled_only: bool,
        member: Option<&str>,
    ) -> StoreResult<Vec<AgentDepartment>> {
        const SQL: &str = concat!(
            "SELECT da.department_id, da.agent_id, da.username, da.chat_count, da.sort_order, \
               d.enabled AS department_enabled, da.updated_at, d.name AS department_name \
             FROM department_agents da JOIN departments d ON d.id = da.department_id \
             WHERE da.agent_id = $1 AND (NOT $2 OR d.enabled) AND ",
            shared_with!("da.department_id", "$3"),
            " ORDER BY d.name COLLATE \"BINARY\", d.id COLLATE \"BINARY\""
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(agent_id)
            .bind(enabled_only)
            .bind(member)
            .fetch_all(pool)
            .await)?)
    }
}
