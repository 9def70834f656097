//! livechat-server: a Rocket.Chat-compatible livechat backend with a
//! HelpCrunch-compatible chats API, on SQLite or PostgreSQL.

pub mod accounts;
pub mod config;
pub mod domain;
pub mod events;
pub mod file_sweep;
pub mod files;
pub mod http;
pub mod mail;
pub mod routing;
pub mod server;
pub mod sla;
pub mod store;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

use config::LogFormat;
pub use http::{AppState, router};

/// Serves the application on `listener` until `shutdown` resolves, then stops
/// accepting, gives in-flight requests up to `grace` to finish and closes the realtime
/// connections. The instance's event bus runs meanwhile. Connections and
/// requests are bounded by the timeouts and the connection limit of the state's
/// settings (see [`server`]). While it serves, it sweeps SLA breaches (see [`sla`])
/// and discarded files (see [`file_sweep`]) and routes the queue periodically (see
/// [`routing::route_periodically`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let settings = state.settings.clone();
    let limits = server::Limits::from_settings(&settings, u64::from(state.store.pool_stats().max));
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout_secs = settings.header_read_timeout_secs,
        idle_timeout_secs = settings.idle_timeout_secs,
        body_read_timeout_secs = settings.body_read_timeout_secs,
        request_timeout_secs = settings.request_timeout_secs,
        "connection limits"
    );
    let sweep = tokio::spawn(sla::sweep_breaches(state.store.clone(), state.clock.clone()));
    let file_sweep =
        tokio::spawn(file_sweep::sweep_files(state.store.clone(), state.files.clone(), state.clock.clone()));
    let routing =
        tokio::spawn(routing::route_periodically(state.store.clone(), state.routing.clone(), state.clock.clone()));
    let events = state.events.clone();
    let bus = {
        let (events, store, clock) = (state.events.clone(), state.store.clone(), state.clock.clone());
        tokio::spawn(async move { events.run(store, clock).await })
    };
    let app = router(state).layer(axum::middleware::from_fn_with_state(
        server::RequestLimits::from_settings(&settings),
        server::guard_request,
    ));
    let served = server::serve_router(listener, app, limits, shutdown, grace).await;
    sweep.abort();
    file_sweep.abort();
    routing.abort();
    bus.abort();
    events.close();
    served
}

/// Serves Prometheus metrics of `state` on their own listener until `shutdown` resolves,
/// with the same connection timeouts as the application and at most 64 connections.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.settings.clone();
    let limits = server::Limits { max_connections: 64, ..server::Limits::from_settings(&settings, 0) };
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    server::serve_router(listener, http::metrics::router(state), limits, shutdown, grace).await
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed by this call, not when the
/// future is first polled: a signal sent as soon as the server says it listens must
/// stop it gracefully, not kill it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            _ => std::future::pending().await,
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested");
    }
}

/// Installs the log subscriber: `RUST_LOG` filters (default `info`), the format is
/// human-readable or one JSON object per line.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}
