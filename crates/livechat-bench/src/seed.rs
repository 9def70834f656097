//! Bench data, written straight into the tables with multi-row INSERTs before the
//! server starts: far faster than going through the API, and the rows are the same
//! shape the API would write.

use std::str::FromStr;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use livechat_server::config::DatabaseUrl;
use livechat_server::domain::ids::token_digest;
use livechat_server::domain::password::hash_password;
use livechat_server::domain::time::now_millis;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub const ADMIN_USERNAME: &str = "bench-admin";
pub const PASSWORD: &str = "bench-password";
pub const AGENT_COUNT: usize = 50;
pub const DEPARTMENT_COUNT: usize = 4;
const SLA_COUNT: usize = 3;
/// Visitors the closed history rooms are spread over (only open rooms need their own).
const HISTORY_VISITORS: usize = 1_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A raw login token; the bench runs on a database of its own, so tokens are derived
/// from the user rather than random, which lets a second run reuse the seeded data.
pub fn login_token(user_id: &str) -> String {
    format!("bench-login-token-{user_id}")
}

pub fn agent_id(index: usize) -> String {
    format!("benchagent{index:07}")
}

pub fn agent_username(index: usize) -> String {
    format!("bench-agent-{index}")
}

pub fn admin_id() -> String {
    "benchadmin0000000".to_owned()
}

pub fn department_id(index: usize) -> String {
    format!("benchdept{index:08}")
}

/// The minutes of seeded policy `index`: a day or more, longer than the hour the seeded
/// queue has waited, so that a scenario setting a policy (sla-cycle) breaches nothing;
/// the breach scenarios stage their due times themselves.
pub fn sla_minutes(index: usize) -> i64 {
    24 * 60 * (index as i64 + 1)
}

pub fn sla_id(index: usize) -> String {
    format!("benchsla{index:016}")
}

/// The seeded queued room of row `row`.
pub fn queued_room_id(row: usize) -> String {
    format!("benchqueued{row:010}")
}

/// The token of the visitor of queued room `row` (and of the visitor of the same row).
pub fn visitor_token(row: usize) -> String {
    format!("bench-visitor-token-{row}")
}

/// The ids of the messages the realtime scenarios send, and of nothing else.
macro_rules! realtime_message_prefix {
    () => {
        "benchrt"
    };
}
pub const REALTIME_MESSAGE_PREFIX: &str = realtime_message_prefix!();

/// The ids of the visitors the routing scenarios create, and of nothing else.
macro_rules! routing_visitor_prefix {
    () => {
        "benchrouting"
    };
}
const ROUTING_VISITOR_PREFIX: &str = routing_visitor_prefix!();

/// The token of visitor `index` of routing run `run`.
pub fn routing_token(run: &str, index: usize) -> String {
    format!("bench-routing-{run}-{index}")
}

/// A room a routing visitor opened, as the server stored it.
#[derive(sqlx::FromRow)]
pub struct RoutedRoom {
    pub id: String,
    pub ts: i64,
    pub served_at: Option<i64>,
    pub served_by: Option<String>,
}

/// The bench process's own connection to the database, for seeding and resets.
#[derive(Clone)]
pub enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// PostgreSQL's SQLSTATE for a transaction chosen as a deadlock's victim.
const DEADLOCK: &str = "40P01";

macro_rules! on_database {
    ($database:expr, |$pool:ident| $body:expr) => {
        match $database {
            Database::Postgres($pool) => $body,
            Database::Sqlite($pool) => $body,
        }
    };
}

/// One bound value of a generated row.
enum Cell {
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<bool> for Cell {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// A table to fill: its name with the column list, and the column count.
struct Table {
    name: &'static str,
    columns: &'static str,
    width: usize,
}

/// The queued and closed rooms the bench found or wrote.
pub struct Dataset {
    pub queued: usize,
    pub history: usize,
}

impl Database {
    pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        Ok(match url {
            DatabaseUrl::Postgres(url) => Self::Postgres(
                PgPoolOptions::new().max_connections(4).connect_with(PgConnectOptions::from_str(url)?).await?,
            ),
            DatabaseUrl::Sqlite(url) => {
                // The bench writes while the server reads: WAL, like the server, and a
                // busy timeout so resets wait for the server's writers.
                let options = SqliteConnectOptions::from_str(url)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(false)
                    .busy_timeout(std::time::Duration::from_secs(30));
                Self::Sqlite(SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
            }
        })
    }

    /// Bound parameters per statement: PostgreSQL's limit; on SQLite binding slows
    /// down with the number of parameters in a statement, so statements stay small.
    fn max_parameters(&self) -> usize {
        match self {
            Self::Postgres(_) => 65_000,
            Self::Sqlite(_) => 2_000,
        }
    }

    async fn count(&self, sql: &'static str) -> anyhow::Result<i64> {
        let (count,): (i64,) = on_database!(self, |pool| sqlx::query_as(sql).fetch_one(pool).await)?;
        Ok(count)
    }

    /// Seeds `queued` queued and `history` closed rooms unless this database already
    /// holds exactly that bench dataset; any other data is refused.
    pub async fn ensure_seeded(&self, queued: usize, history: usize) -> anyhow::Result<Dataset> {
        // What an interrupted routing scenario left behind is not seeded data.
        self.remove_routing_data().await?;
        let admins = self.count("SELECT COUNT(*) FROM users WHERE username = 'bench-admin'").await?;
        let found_queued = self.count("SELECT COUNT(*) FROM rooms WHERE inquiry_id IS NOT NULL").await?;
        let found_history = self.count("SELECT COUNT(*) FROM rooms WHERE inquiry_id IS NULL").await?;
        if admins == 1 {
            if found_queued as usize != queued || found_history as usize != history {
                bail!(
                    "the database holds another bench dataset ({found_queued} queued, {found_history} closed); \
                     use a fresh database"
                );
            }
            eprintln!("reusing the seeded data ({queued} queued, {history} closed rooms)");
            return Ok(Dataset { queued, history });
        }
        if found_queued + found_history > 0 {
            bail!("the database already holds rooms that are not bench data; use a fresh database");
        }
        self.seed(queued, history).await?;
        Ok(Dataset { queued, history })
    }

    async fn seed(&self, queued: usize, history: usize) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let now = now_millis();
        // One real argon2 hash, shared by every bench user: only logins verify it.
        let password_hash = hash_password(PASSWORD);
        let users = Table {
            name: "users",
            columns: "(id, username, name, email, password_hash, status, livechat_status, active, created_at, \
                      updated_at)",
            width: 10,
        };
        let user_rows = AGENT_COUNT + 1;
        self.insert(&users, user_rows, |row| {
            let (id, username) = if row == AGENT_COUNT {
                (admin_id(), ADMIN_USERNAME.to_owned())
            } else {
                (agent_id(row), agent_username(row))
            };
            vec![
                id.into(),
                username.clone().into(),
                username.clone().into(),
                format!("{username}@bench.invalid").into(),
                password_hash.clone().into(),
                "online".into(),
                "available".into(),
                true.into(),
                now.into(),
                now.into(),
            ]
        })
        .await?;
        let user_id = |row: usize| if row == AGENT_COUNT { admin_id() } else { agent_id(row) };
        let roles = Table { name: "user_roles", columns: "(user_id, role)", width: 2 };
        self.insert(&roles, user_rows * 2, |row| {
            let user = row / 2;
            let role = match (user == AGENT_COUNT, row % 2) {
                (true, 0) => "admin",
                (false, 0) => "livechat-agent",
                _ => "user",
            };
            vec![user_id(user).into(), role.into()]
        })
        .await?;
        let tokens = Table { name: "auth_tokens", columns: "(digest, user_id, kind, created_at)", width: 4 };
        self.insert(&tokens, user_rows, |row| {
            let id = user_id(row);
            vec![token_digest(&login_token(&id)).into(), id.into(), "login".into(), now.into()]
        })
        .await?;
        let departments =
            Table { name: "departments", columns: "(id, name, enabled, created_at, updated_at)", width: 5 };
        self.insert(&departments, DEPARTMENT_COUNT, |row| {
            vec![
                department_id(row).into(),
                format!("Bench department {row}").into(),
                true.into(),
                now.into(),
                now.into(),
            ]
        })
        .await?;
        let members =
            Table { name: "department_agents", columns: "(department_id, agent_id, username, updated_at)", width: 4 };
        self.insert(&members, DEPARTMENT_COUNT * AGENT_COUNT, |row| {
            let (department, agent) = (row / AGENT_COUNT, row % AGENT_COUNT);
            vec![department_id(department).into(), agent_id(agent).into(), agent_username(agent).into(), now.into()]
        })
        .await?;
        let slas = Table {
            name: "sla_policies",
            columns: "(id, name, description, due_time_in_minutes, created_at, updated_at)",
            width: 6,
        };
        self.insert(&slas, SLA_COUNT, |row| {
            let minutes = sla_minutes(row);
            vec![
                sla_id(row).into(),
                format!("Bench SLA {minutes} min").into(),
                "".into(),
                minutes.into(),
                now.into(),
                now.into(),
            ]
        })
        .await?;

        let visitor_id = |row: usize| format!("benchvisitor{row:010}");
        let visitors = Table { name: "visitors", columns: "(id, token, name, created_at, updated_at)", width: 5 };
        self.insert(&visitors, queued + HISTORY_VISITORS, |row| {
            vec![
                visitor_id(row).into(),
                visitor_token(row).into(),
                format!("Visitor {row}").into(),
                now.into(),
                now.into(),
            ]
        })
        .await?;
        let queued_rooms = Table {
            name: "rooms",
            columns: "(id, visitor_id, fname, department_id, source_type, open, chat_status, inquiry_id, \
                      inquiry_status, queued_at, ts, updated_at)",
            width: 12,
        };
        self.insert(&queued_rooms, queued, |row| {
            // Queued within the last hour, one a few milliseconds after the other.
            let ts = now - 3_600_000 + row as i64;
            vec![
                queued_room_id(row).into(),
                visitor_id(row).into(),
                format!("Visitor {row}").into(),
                department_id(row % DEPARTMENT_COUNT).into(),
                "widget".into(),
                true.into(),
                "new".into(),
                format!("benchinquiry{row:012}").into(),
                "queued".into(),
                ts.into(),
                ts.into(),
                ts.into(),
            ]
        })
        .await?;
        let closed_rooms = Table {
            name: "rooms",
            columns: "(id, visitor_id, fname, department_id, source_type, open, chat_status, closed_at, closed_by, \
                      closer_id, last_message_id, last_message_at, last_customer_message_at, message_count, ts, \
                      updated_at)",
            width: 16,
        };
        let history_ts = |row: usize| now - 365 * DAY_MS + (row as i64) * (300 * DAY_MS / history.max(1) as i64);
        self.insert(&closed_rooms, history, |row| {
            let ts = history_ts(row);
            let visitor = queued + row % HISTORY_VISITORS;
            vec![
                format!("benchclosed{row:010}").into(),
                visitor_id(visitor).into(),
                format!("Visitor {visitor}").into(),
                department_id(row % DEPARTMENT_COUNT).into(),
                "widget".into(),
                false.into(),
                "closed".into(),
                (ts + 600_000).into(),
                "agent".into(),
                agent_id(row % AGENT_COUNT).into(),
                format!("benchmessage{row:010}").into(),
                (ts + 60_000).into(),
                (ts + 60_000).into(),
                1_i64.into(),
                ts.into(),
                (ts + 600_000).into(),
            ]
        })
        .await?;
        let messages = Table {
            name: "messages",
            columns: "(id, room_id, msg, author_id, author_username, from_visitor, ts, updated_at)",
            width: 8,
        };
        self.insert(&messages, history, |row| {
            let ts = history_ts(row) + 60_000;
            let visitor = queued + row % HISTORY_VISITORS;
            vec![
                format!("benchmessage{row:010}").into(),
                format!("benchclosed{row:010}").into(),
                "Hello, I need help with my order".into(),
                visitor_id(visitor).into(),
                format!("guest-{visitor}").into(),
                true.into(),
                ts.into(),
                ts.into(),
            ]
        })
        .await?;
        // As autovacuum would leave a settled database: statistics, and a visibility
        // map so that counts over the queue can be index-only.
        if let Self::Postgres(pool) = self {
            sqlx::query("VACUUM ANALYZE").execute(pool).await.context("VACUUM ANALYZE after seeding")?;
        }
        eprintln!("seeded {queued} queued and {history} closed rooms in {:.1?}", started.elapsed());
        Ok(())
    }

    /// Inserts `rows` generated rows in one transaction, as many rows per statement
    /// as the backend's parameter limit allows.
    async fn insert(&self, table: &Table, rows: usize, row: impl Fn(usize) -> Vec<Cell>) -> anyhow::Result<()> {
        if rows == 0 {
            return Ok(());
        }
        let per_statement = self.max_parameters() / table.width;
        let progress = ProgressBar::new(rows as u64).with_message(table.name);
        progress.set_style(
            ProgressStyle::with_template("{msg:>18} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        on_database!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut start = 0;
            while start < rows {
                let end = (start + per_statement).min(rows);
                // Safe to assert: the text is the static table and column names plus
                // generated `$N` placeholders; every value travels as a bound parameter.
                let sql = insert_statement(table, end - start);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for cell in (start..end).flat_map(&row) {
                    query = match cell {
                        Cell::Int(value) => query.bind(value),
                        Cell::Text(value) => query.bind(value),
                        Cell::Bool(value) => query.bind(value),
                    };
                }
                query.execute(&mut *tx).await.with_context(|| format!("inserting into {}", table.name))?;
                progress.inc((end - start) as u64);
                start = end;
            }
            tx.commit().await?;
        });
        progress.finish();
        Ok(())
    }

    /// Gives every queued inquiry the seeded SLA policy `index` with a due time spread
    /// evenly over the `spread` milliseconds after `now` plus `lead` milliseconds, and
    /// forgets earlier breaches; returns how many inquiries got one.
    pub async fn stage_sla_deadlines(&self, index: usize, now: i64, lead: i64, spread: i64) -> anyhow::Result<u64> {
        const FORGET: &str = "DELETE FROM sla_breaches";
        // The due time is queued time plus the policy's minutes: queued that much before
        // the deadline, which falls `lead` plus (num_id * 7 mod `spread`) milliseconds ahead.
        const STAGE: &str = "UPDATE rooms SET sla_id = $1, estimated_waiting_time_queue = $2, \
               queued_at = $3 - $2 * 60000 + $4 + (num_id * 7) % $5 \
             WHERE inquiry_status = 'queued'";
        let minutes = sla_minutes(index);
        on_database!(self, |pool| sqlx::query(FORGET).execute(pool).await.map(|_| ()))?;
        let staged = on_database!(self, |pool| sqlx::query(STAGE)
            .bind(sla_id(index))
            .bind(minutes)
            .bind(now)
            .bind(lead)
            .bind(spread)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(staged)
    }

    /// Each breach's delay from due time to record, in milliseconds.
    pub async fn sla_breach_delays(&self) -> anyhow::Result<Vec<i64>> {
        const SQL: &str = "SELECT breached_at - due_at FROM sla_breaches";
        let rows: Vec<(i64,)> = on_database!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(delay,)| delay).collect())
    }

    /// Puts every seeded inquiry back to its seeded state (queued, no agent, no SLA,
    /// open, chat status new), so each scenario starts from the same queue, and stores
    /// manual routing, so that inquiries wait for the take scenarios instead of being
    /// assigned by the server as rooms open or agents go available.
    pub async fn reset_queue(&self) -> anyhow::Result<()> {
        const MANUAL_ROUTING: &str = "UPDATE settings SET value = '\"Manual_Selection\"', changed = TRUE \
             WHERE id = 'Livechat_Routing_Method'";
        const RESET: &str = "UPDATE rooms SET open = TRUE, chat_status = 'new', inquiry_status = 'queued', \
               served_by = NULL, served_at = NULL, taken_at = NULL, closed_at = NULL, closed_by = NULL, \
               closer_id = NULL, close_comment = NULL, sla_id = NULL, estimated_waiting_time_queue = 9999999 \
             WHERE inquiry_id IS NOT NULL AND (NOT open OR inquiry_status IS NULL OR inquiry_status <> 'queued' \
               OR sla_id IS NOT NULL OR chat_status <> 'new')";
        on_database!(self, |pool| sqlx::query(MANUAL_ROUTING).execute(pool).await.map(|_| ()))?;
        // A routing pass the server began before reading the manual method may still be
        // taking inquiries; PostgreSQL can pick the reset as the victim of that deadlock.
        let mut attempts = 0;
        loop {
            match on_database!(self, |pool| sqlx::query(RESET).execute(pool).await.map(|_| ())) {
                Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(DEADLOCK) && attempts < 5 => {
                    attempts += 1;
                }
                done => return done.context("resetting the queue"),
            }
        }
    }

    /// Routing as the routing scenarios need it: the first `agents` bench agents
    /// available with `chat_limit` chats each, the others away; with `park_queue`, the
    /// seeded queue closed so that only the scenario's own rooms wait; then the method
    /// `Auto_Selection`, last, so that nothing is routed before the stage is set.
    pub async fn stage_routing(&self, agents: usize, chat_limit: i64, park_queue: bool) -> anyhow::Result<()> {
        const AGENT: &str = "UPDATE users SET livechat_status = $2, max_chats = $3 WHERE id = $1";
        const PARK_QUEUE: &str = "UPDATE rooms SET open = FALSE, inquiry_status = NULL WHERE inquiry_id IS NOT NULL AND id LIKE 'benchqueued%'";
        const AUTO_ROUTING: &str = "UPDATE settings SET value = '\"Auto_Selection\"', changed = TRUE \
             WHERE id = 'Livechat_Routing_Method'";
        for index in 0..AGENT_COUNT {
            let status = if index < agents { "available" } else { "not-available" };
            on_database!(self, |pool| sqlx::query(AGENT)
                .bind(agent_id(index))
                .bind(status)
                .bind(chat_limit)
                .execute(pool)
                .await
                .map(|_| ()))?;
        }
        if park_queue {
            on_database!(self, |pool| sqlx::query(PARK_QUEUE).execute(pool).await.map(|_| ()))?;
        }
        on_database!(self, |pool| sqlx::query(AUTO_ROUTING).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Gives each of the first `agents` bench agents `chats` of the seeded queued rooms,
    /// as if it had taken them: every agent is at its limit and the rest still waits.
    pub async fn fill_agents(&self, agents: usize, chats: usize) -> anyhow::Result<()> {
        const SERVE: &str = "UPDATE rooms SET inquiry_status = 'taken', served_by = $2, served_at = $3, \
               taken_at = $3, chat_status = 'opened' WHERE id = $1";
        let now = now_millis();
        for row in 0..agents * chats {
            on_database!(self, |pool| sqlx::query(SERVE)
                .bind(queued_room_id(row))
                .bind(agent_id(row / chats))
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }

    /// Inserts `count` visitors of run `run` (tokens `routing_token(run, index)`), each
    /// to open one room.
    pub async fn insert_routing_visitors(&self, run: &str, count: usize) -> anyhow::Result<()> {
        let visitors = Table { name: "visitors", columns: "(id, token, name, created_at, updated_at)", width: 5 };
        let now = now_millis();
        self.insert(&visitors, count, |row| {
            vec![
                format!("{ROUTING_VISITOR_PREFIX}{run}{row:07}").into(),
                routing_token(run, row).into(),
                format!("Routed visitor {row}").into(),
                now.into(),
                now.into(),
            ]
        })
        .await
    }

    /// The rooms the routing visitors opened: id, opened at, served at and serving
    /// agent (milliseconds, as the server stored them).
    pub async fn routing_rooms(&self) -> anyhow::Result<Vec<RoutedRoom>> {
        const SQL: &str = concat!(
            "SELECT r.id, r.ts, r.served_at, r.served_by FROM rooms r JOIN visitors v ON v.id = r.visitor_id \
             WHERE v.id LIKE '",
            routing_visitor_prefix!(),
            "%' ORDER BY r.ts"
        );
        Ok(on_database!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// The routing visitors' open rooms that an agent serves: id, agent, served at.
    pub async fn served_routing_rooms(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        const SQL: &str = concat!(
            "SELECT id, served_by, served_at FROM rooms WHERE open AND served_by IS NOT NULL AND visitor_id LIKE '",
            routing_visitor_prefix!(),
            "%'"
        );
        Ok(on_database!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// Removes the routing visitors, their rooms (and so their messages) and puts the
    /// agents back as seeded: available, no chat limit.
    pub async fn remove_routing_data(&self) -> anyhow::Result<()> {
        const ROOMS: &str = concat!("DELETE FROM rooms WHERE visitor_id LIKE '", routing_visitor_prefix!(), "%'");
        const VISITORS: &str = concat!("DELETE FROM visitors WHERE id LIKE '", routing_visitor_prefix!(), "%'");
        const AGENTS: &str =
            "UPDATE users SET livechat_status = 'available', max_chats = 0 WHERE id LIKE 'benchagent%'";
        for sql in [ROOMS, VISITORS, AGENTS] {
            on_database!(self, |pool| sqlx::query(sql).execute(pool).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Removes the messages the realtime scenarios sent.
    pub async fn remove_realtime_messages(&self) -> anyhow::Result<()> {
        const MESSAGES: &str = concat!("DELETE FROM messages WHERE id LIKE '", realtime_message_prefix!(), "%'");
        on_database!(self, |pool| sqlx::query(MESSAGES).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn taken_inquiries(&self) -> anyhow::Result<i64> {
        self.count("SELECT COUNT(*) FROM rooms WHERE inquiry_status = 'taken'").await
    }

    /// The seeded queued rooms: room id, inquiry id and integer id.
    pub async fn queued_rooms(&self) -> anyhow::Result<Vec<(String, String, i64)>> {
        const SQL: &str = "SELECT id, inquiry_id, num_id FROM rooms WHERE inquiry_id IS NOT NULL ORDER BY num_id";
        Ok(on_database!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    pub async fn close(&self) {
        on_database!(self, |pool| pool.close().await)
    }
}

/// `INSERT INTO <table> <columns> VALUES ($1, ..., $w), ...` for `rows` rows.
fn insert_statement(table: &Table, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {} {} VALUES ", table.name, table.columns);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..table.width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * table.width + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statement_numbers_placeholders_row_after_row() {
        let table = Table { name: "t", columns: "(a, b)", width: 2 };
        assert_eq!(insert_statement(&table, 2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
