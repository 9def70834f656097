//! Automatic routing: which queued inquiry goes next to which agent, agents' chat
//! limits, and the queue metrics (open chats per agent and department).
//!
//! Choosing is a read; the assignment itself is `take_inquiry`, whose statements carry
//! every precondition again (inquiry still queued, agent available and under its
//! limit), so a choice made stale by another instance only loses the race.

use sqlx::FromRow;

use super::sql::{json_strings, routable_agent, within_reach};
use super::{Backend, SortColumn, Store, StoreError, StoreResult, begin_write, on_pool, order_by};
use crate::domain::page::{Page, SortKey};
use crate::domain::permissions::ROLE_AGENT;
use crate::domain::queue::QueueSort;
use crate::domain::routing::RoutingMethod;
use crate::domain::time::Millis;

/// The oldest queued inquiry (in the queue's order) that some agent may be given now.
/// Whether an agent is free is asked once per statement, not once per queued row: once
/// for the departments that have a free member (an uncorrelated subquery, evaluated
/// once) and once for inquiries without a department, so a long queue behind full
/// agents costs a walk of its index, not an agent lookup per row.
macro_rules! routable_inquiry {
    ($order:expr) => {
        concat!(
            "SELECT r.inquiry_id, r.department_id FROM rooms r WHERE r.inquiry_status = 'queued' \
             AND CASE WHEN r.department_id IS NULL THEN EXISTS (SELECT 1 FROM users u WHERE ",
            routable_agent!("NULL"),
            ") ELSE r.department_id IN (SELECT fd.department_id FROM department_agents fd \
               JOIN users u ON u.id = fd.agent_id WHERE ",
            routable_agent!("fd.department_id"),
            ") END ORDER BY ",
            $order,
            " LIMIT 1"
        )
    };
}

/// Whether any agent may be given a chat of some department, or of none, now: when
/// not, no queued inquiry needs to be looked at.
const ANY_ROUTABLE_AGENT: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM users u WHERE ",
    routable_agent!("NULL"),
    ") OR EXISTS (SELECT 1 FROM department_agents fd JOIN users u ON u.id = fd.agent_id WHERE ",
    routable_agent!("fd.department_id"),
    ")"
);

/// The place (1 for the next) of room `$1` among the queued inquiries it waits behind:
/// those of its department, or all of them when it has none, in the queue's order.
macro_rules! queue_spot {
    ($order:expr) => {
        concat!(
            "SELECT q.spot FROM (SELECT r.id, ROW_NUMBER() OVER (ORDER BY ",
            $order,
            ") AS spot FROM rooms r JOIN rooms me ON me.id = $1 AND me.inquiry_status = 'queued' \
             WHERE r.inquiry_status = 'queued' AND (me.department_id IS NULL OR r.department_id = me.department_id)) q \
             WHERE q.id = $1"
        )
    };
}

/// The places of the queued rooms among the ids of the JSON array `$1` (`$ids`, the
/// backend's `json_strings!`), each counted as `queue_spot` counts it, in one pass over
/// the queue.
macro_rules! queue_spots {
    ($order:expr, $ids:expr) => {
        concat!(
            "SELECT q.id, CASE WHEN q.department_id IS NULL THEN q.spot_all ELSE q.spot_department END AS spot \
             FROM (SELECT r.id, r.department_id, ROW_NUMBER() OVER (ORDER BY ",
            $order,
            ") AS spot_all, ROW_NUMBER() OVER (PARTITION BY r.department_id ORDER BY ",
            $order,
            ") AS spot_department FROM rooms r WHERE r.inquiry_status = 'queued') q WHERE q.id IN (",
            $ids,
            ")"
        )
    };
}

/// The queue's order under each sorting mechanism, as routing takes inquiries.
macro_rules! queue_order {
    (Timestamp) => {
        "r.queued_at, r.ts, r.num_id"
    };
    (Priority) => {
        "r.priority_weight, r.queued_at, r.ts, r.num_id"
    };
    (Sla) => {
        "r.estimated_waiting_time_queue, r.queued_at, r.ts, r.num_id"
    };
}

/// The agent a method picks for a chat of department `$1` (NULL: none).
macro_rules! next_agent {
    ($order:literal) => {
        concat!("SELECT u.id FROM users u WHERE ", routable_agent!("$1"), " ORDER BY ", $order, " LIMIT 1")
    };
}

/// Open chats grouped by serving agent and department: agent `$1`, department `$2`
/// (each NULL: any), unavailable agents too when `$3`, rooms within reach of `$4`.
macro_rules! queue_metric_groups {
    () => {
        concat!(
            "SELECT u.id AS user_id, u.username, u.status, r.department_id, d.name AS department_name, \
               COUNT(*) AS chats \
             FROM rooms r JOIN users u ON u.id = r.served_by LEFT JOIN departments d ON d.id = r.department_id \
             WHERE r.open AND ($1 IS NULL OR u.id = $1) AND ($2 IS NULL OR r.department_id = $2) \
               AND ($3 OR u.livechat_status = 'available') AND ",
            within_reach!("r.", "$4"),
            " GROUP BY u.id, u.username, u.status, r.department_id, d.name"
        )
    };
}

/// The statement, of one written for each sorting mechanism (timestamp, priority,
/// SLA), that follows the queue's order under `sort`.
fn in_queue_order(sort: QueueSort, [by_timestamp, by_priority, by_sla]: [&'static str; 3]) -> &'static str {
    match sort {
        QueueSort::Timestamp => by_timestamp,
        QueueSort::Priority => by_priority,
        QueueSort::Sla => by_sla,
    }
}

/// One line of `livechat/queue`: the open chats one agent serves in one department.
#[derive(Clone, Debug, FromRow)]
pub struct QueueMetric {
    pub user_id: String,
    pub username: String,
    pub status: String,
    pub department_id: Option<String>,
    pub department_name: Option<String>,
    pub chats: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueMetricSortField {
    Chats,
    Username,
    DepartmentName,
}

impl SortColumn for QueueMetricSortField {
    fn column(self) -> &'static str {
        match self {
            Self::Chats => "chats",
            Self::Username => "username",
            Self::DepartmentName => "department_name",
        }
    }
}

/// Which lines `livechat/queue` shows.
pub struct QueueMetricFilter<'a> {
    pub agent_id: Option<&'a str>,
    pub department_id: Option<&'a str>,
    /// Agents that are not available count too.
    pub include_offline: bool,
    /// Only rooms within reach of this user's departments (see `within_reach`).
    pub bound: Option<&'a str>,
}

impl Store {
    /// The next assignment the method would make: the first queued inquiry, in the
    /// queue's order, that some agent may take, and the agent the method picks for it.
    /// None when nothing can be assigned now.
    pub async fn next_assignment(
        &self,
        method: RoutingMethod,
        sort: QueueSort,
    ) -> StoreResult<Option<(String, String)>> {
        let sql = in_queue_order(
            sort,
            [
                routable_inquiry!(queue_order!(Timestamp)),
                routable_inquiry!(queue_order!(Priority)),
                routable_inquiry!(queue_order!(Sla)),
            ],
        );
        let (any_agent,): (bool,) = on_pool!(self, |pool| sqlx::query_as(ANY_ROUTABLE_AGENT).fetch_one(pool).await)?;
        if !any_agent {
            return Ok(None);
        }
        let inquiry: Option<(String, Option<String>)> =
            on_pool!(self, |pool| sqlx::query_as(sql).fetch_optional(pool).await)?;
        let Some((inquiry_id, department_id)) = inquiry else { return Ok(None) };
        let agent = self.next_agent(method, department_id.as_deref()).await?;
        Ok(agent.map(|agent_id| (inquiry_id, agent_id)))
    }

    /// The place of the room in the queue (1: the next one routing takes among those it
    /// waits behind), under the sorting mechanism; None when the room is not queued.
    pub async fn queue_spot(&self, room_id: &str, sort: QueueSort) -> StoreResult<Option<i64>> {
        let sql = in_queue_order(
            sort,
            [queue_spot!(queue_order!(Timestamp)), queue_spot!(queue_order!(Priority)), queue_spot!(queue_order!(Sla))],
        );
        let spot: Option<(i64,)> = on_pool!(self, |pool| sqlx::query_as(sql).bind(room_id).fetch_optional(pool).await)?;
        Ok(spot.map(|(spot,)| spot))
    }

    /// The places in the queue of those of `room_ids` that are queued, as `queue_spot`
    /// gives each, read in one statement.
    pub async fn queue_spots(&self, room_ids: &[String], sort: QueueSort) -> StoreResult<Vec<(String, i64)>> {
        let sql = match self.backend {
            Backend::Postgres(_) => in_queue_order(
                sort,
                [
                    queue_spots!(queue_order!(Timestamp), json_strings!(postgres, "$1")),
                    queue_spots!(queue_order!(Priority), json_strings!(postgres, "$1")),
                    queue_spots!(queue_order!(Sla), json_strings!(postgres, "$1")),
                ],
            ),
            Backend::Sqlite(_) => in_queue_order(
                sort,
                [
                    queue_spots!(queue_order!(Timestamp), json_strings!(sqlite, "$1")),
                    queue_spots!(queue_order!(Priority), json_strings!(sqlite, "$1")),
                    queue_spots!(queue_order!(Sla), json_strings!(sqlite, "$1")),
                ],
            ),
        };
        let ids = serde_json::to_string(room_ids).expect("strings serialize");
        Ok(on_pool!(self, |pool| sqlx::query_as(sql).bind(&ids).fetch_all(pool).await)?)
    }

    /// The agent the method would give a chat of this department (or of none) now;
    /// None under manual selection or when every agent is busy or away.
    pub async fn next_agent(&self, method: RoutingMethod, department_id: Option<&str>) -> StoreResult<Option<String>> {
        const BY_LOAD: &str = next_agent!("u.open_chats, COALESCE(u.last_routed_at, -1), u.username, u.id");
        const BY_DEPARTMENT_LOAD: &str = next_agent!(
            "(SELECT COUNT(*) FROM rooms o WHERE o.open AND o.served_by = u.id AND o.department_id = $1), \
             u.open_chats, COALESCE(u.last_routed_at, -1), u.username, u.id"
        );
        const BY_ROTATION: &str = next_agent!("COALESCE(u.last_routed_at, -1), u.username, u.id");
        let sql = match method {
            RoutingMethod::AutoSelection => BY_LOAD,
            RoutingMethod::LoadBalancing => BY_DEPARTMENT_LOAD,
            RoutingMethod::LoadRotation => BY_ROTATION,
            RoutingMethod::ManualSelection | RoutingMethod::External => return Ok(None),
        };
        let agent: Option<(String,)> =
            on_pool!(self, |pool| sqlx::query_as(sql).bind(department_id).fetch_optional(pool).await)?;
        Ok(agent.map(|(id,)| id))
    }

    /// Sets an agent's own chat limit and, with `departments`, makes them its whole
    /// department list (entries it keeps keep their counters), all or nothing.
    /// `NotFound` when the user is not an agent; `Conflict("department")` when a
    /// department does not exist.
    pub async fn save_agent_info(
        &self,
        agent_id: &str,
        max_chats: Option<i64>,
        departments: Option<&[String]>,
        now: Millis,
    ) -> StoreResult<()> {
        const SET_LIMIT: &str = "UPDATE users SET max_chats = COALESCE($2, max_chats), updated_at = $3 \
             WHERE id = $1 AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = users.id AND ur.role = $4)";
        const LEAVE: &str = "DELETE FROM department_agents WHERE department_id = $1 AND agent_id = $2";
        const JOIN: &str = "INSERT INTO department_agents (department_id, agent_id, username, updated_at) \
             SELECT d.id, u.id, u.username, $3 FROM departments d JOIN users u ON u.id = $2 WHERE d.id = $1 \
             ON CONFLICT (department_id, agent_id) DO NOTHING";
        const KNOWN: &str = "SELECT 1 FROM departments WHERE id = $1";
        begin_write!(self, |tx| {
            let agent = sqlx::query(SET_LIMIT)
                .bind(agent_id)
                .bind(max_chats)
                .bind(now)
                .bind(ROLE_AGENT)
                .execute(&mut *tx)
                .await?;
            if agent.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(departments) = departments {
                for department_id in departments {
                    if sqlx::query(KNOWN).bind(department_id).fetch_optional(&mut *tx).await?.is_none() {
                        return Err(StoreError::Conflict("department".into()));
                    }
                }
                let kept: Vec<(String,)> =
                    sqlx::query_as("SELECT department_id FROM department_agents WHERE agent_id = $1")
                        .bind(agent_id)
                        .fetch_all(&mut *tx)
                        .await?;
                for (department_id,) in kept.iter().filter(|(id,)| !departments.contains(id)) {
                    sqlx::query(LEAVE).bind(department_id).bind(agent_id).execute(&mut *tx).await?;
                }
                for department_id in departments {
                    sqlx::query(JOIN).bind(department_id).bind(agent_id).bind(now).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Open chats per serving agent and department, one page in the given order, with
    /// the number of lines.
    pub async fn queue_metrics(
        &self,
        filter: &QueueMetricFilter<'_>,
        sort: &[SortKey<QueueMetricSortField>],
        page: Page,
    ) -> StoreResult<(Vec<QueueMetric>, i64)> {
        const GROUPS: &str = queue_metric_groups!();
        const COUNT: &str = concat!("SELECT COUNT(*) FROM (", queue_metric_groups!(), ") g");
        // Built from the static query and whitelisted sort columns only.
        let list = format!(
            "SELECT * FROM ({GROUPS}) g{} LIMIT $5 OFFSET $6",
            order_by(sort, "username, user_id, department_id")
        );
        on_pool!(self, |pool| {
            let lines = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(filter.agent_id)
                .bind(filter.department_id)
                .bind(filter.include_offline)
                .bind(filter.bound)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT)
                .bind(filter.agent_id)
                .bind(filter.department_id)
                .bind(filter.include_offline)
                .bind(filter.bound)
                .fetch_one(pool)
                .await?;
            Ok((lines, total))
        })
    }
}
