//! PostgreSQL pool setup.

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{StoreOptions, StoreResult};

/// Every connection carries the statement timeout and the idle-in-transaction timeout
/// as startup options, so PostgreSQL itself cancels a statement that runs too long and
/// ends a session left idle inside a transaction (by a request cut off mid-way, or by a
/// network partition) instead of holding its locks.
///
/// sqlx 0.9 sets no socket options on its side of a connection, so the TCP keepalive is
/// asked of the server, as session settings: PostgreSQL probes a silent client and ends
/// the session of one that no longer answers. On this side a connection that stops
/// answering is bounded by the acquire timeout (each connection is pinged before it is
/// handed out) and by the request timeout of the HTTP layer.
pub(super) async fn connect(url: &str, options: &StoreOptions) -> StoreResult<PgPool> {
    let timeout_ms = options.statement_timeout.as_millis().to_string();
    let mut session =
        vec![("statement_timeout", timeout_ms.clone()), ("idle_in_transaction_session_timeout", timeout_ms)];
    session.extend(keepalive_settings(options.tcp_keepalive));
    let connect_options = PgConnectOptions::from_str(url)?
        .application_name("livechat-server")
        .options(session)
        .log_statements(tracing::log::LevelFilter::Trace);
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect_options)
        .await?;
    Ok(pool)
}

/// PostgreSQL's keepalive settings for an idle time: probes every third of it, three
/// unanswered probes end the session, and so does data left unacknowledged that long.
/// None for zero, which leaves the operating system's defaults.
fn keepalive_settings(idle: Duration) -> Vec<(&'static str, String)> {
    if idle.is_zero() {
        return Vec::new();
    }
    let idle_secs = idle.as_secs().max(1);
    vec![
        ("tcp_keepalives_idle", idle_secs.to_string()),
        ("tcp_keepalives_interval", (idle_secs / 3).max(1).to_string()),
        ("tcp_keepalives_count", "3".to_owned()),
        ("tcp_user_timeout", (idle_secs * 1000).to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_probes_a_third_of_the_idle_time_apart_and_zero_leaves_the_defaults() {
        let settings = keepalive_settings(Duration::from_secs(30));
        let expected = [
            ("tcp_keepalives_idle", "30"),
            ("tcp_keepalives_interval", "10"),
            ("tcp_keepalives_count", "3"),
            ("tcp_user_timeout", "30000"),
        ];
        let settings: Vec<(&str, &str)> = settings.iter().map(|(name, value)| (*name, value.as_str())).collect();
        assert_eq!(settings, expected);
        assert!(keepalive_settings(Duration::ZERO).is_empty());
        assert_eq!(keepalive_settings(Duration::from_secs(2))[1], ("tcp_keepalives_interval", "1".to_owned()));
    }
}
