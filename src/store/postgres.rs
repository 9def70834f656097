//! PostgreSQL pool setup.

use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{StoreOptions, StoreResult};

/// Every connection carries the statement timeout and the idle-in-transaction timeout
/// as startup options, so PostgreSQL itself cancels a statement that runs too long and
/// ends a session left idle inside a transaction (by a request cut off mid-way, or by a
/// network partition) instead of holding its locks.
///
/// sqlx 0.9 sets no socket options (no TCP keepalive) on its connections; a connection
/// that stops answering is bounded on this side by the acquire timeout (each connection
/// is pinged before it is handed out) and by the request timeout of the HTTP layer.
pub(super) async fn connect(url: &str, options: &StoreOptions) -> StoreResult<PgPool> {
    let timeout_ms = options.statement_timeout.as_millis().to_string();
    let connect_options = PgConnectOptions::from_str(url)?
        .application_name("livechat-server")
        .options([("statement_timeout", timeout_ms.as_str()), ("idle_in_transaction_session_timeout", &timeout_ms)])
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options)
        .await?;
    Ok(pool)
}
