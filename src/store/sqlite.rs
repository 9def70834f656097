//! SQLite pool setup: one file, WAL so readers never wait for the writer, foreign keys
//! on, and a busy timeout so writers queue instead of failing.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{StoreError, StoreOptions, StoreResult};

pub(super) async fn connect(url: &str, options: &StoreOptions) -> StoreResult<SqlitePool> {
    let connect_options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .log_statements(tracing::log::LevelFilter::Trace);
    if let Some(folder) = Path::new(connect_options.get_filename()).parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder).map_err(|error| StoreError::Unavailable(error.into()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options)
        .await?;
    Ok(pool)
}
