//! PostgreSQL pool setup.

use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{StoreOptions, StoreResult};

pub(super) async fn connect(url: &str, options: &StoreOptions) -> StoreResult<PgPool> {
    let connect_options = PgConnectOptions::from_str(url)?
        .application_name("livechat-server")
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options)
        .await?;
    Ok(pool)
}
