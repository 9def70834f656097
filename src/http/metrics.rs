//! Prometheus metrics: HTTP requests by method, matched route and status; the database
//! pool; queue depth by department; rate-limit, login-block and load-shedding
//! rejections; login password checks; SLA breaches and due times. Served on a listener
//! of its own (`LIVECHAT_METRICS_LISTEN`), never on the public one.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use super::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    rejections: IntCounterVec,
    password_checks: IntCounter,
    pool_max: IntGauge,
    pool_connections: IntGaugeVec,
    pool_waiting: IntGauge,
    queue_depth: IntGaugeVec,
    sla_breaches: IntCounterVec,
    sla_due: GaugeVec,
}

/// Why a request was refused without doing its work.
#[derive(Clone, Copy, Debug)]
pub enum Rejection {
    HelpCrunchRateLimit,
    LoginBlockedForUser,
    LoginBlockedForAddress,
    PasswordChecksFull,
}

impl Rejection {
    fn label(self) -> &'static str {
        match self {
            Self::HelpCrunchRateLimit => "helpcrunch_rate_limit",
            Self::LoginBlockedForUser => "login_blocked_user",
            Self::LoginBlockedForAddress => "login_blocked_ip",
            Self::PasswordChecksFull => "password_checks_full",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("livechat_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("livechat_http_request_duration_seconds", "Time to answer an HTTP request")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let rejections = IntCounterVec::new(
            Opts::new("livechat_rejections_total", "Requests refused by a rate limit, a login block or a full queue"),
            &["reason"],
        )
        .expect("valid metric");
        let password_checks = IntCounter::new(
            "livechat_login_password_checks_total",
            "Passwords verified by logins (each reserved its attempt first)",
        )
        .expect("valid metric");
        let pool_max =
            IntGauge::new("livechat_db_pool_max_connections", "Most connections the pool opens").expect("valid metric");
        let pool_connections = IntGaugeVec::new(
            Opts::new("livechat_db_pool_connections", "Open database connections by state"),
            &["state"],
        )
        .expect("valid metric");
        let pool_waiting = IntGauge::new(
            "livechat_db_pool_waiting",
            "Store operations under way beyond the connections in use (waiting for one)",
        )
        .expect("valid metric");
        let queue_depth = IntGaugeVec::new(
            Opts::new("livechat_queue_depth", "Queued inquiries by department id (\"none\" for no department)"),
            &["department"],
        )
        .expect("valid metric");
        let sla_breaches = IntCounterVec::new(
            Opts::new("livechat_sla_breaches_total", "SLA breaches recorded, by policy id (from the breach records)"),
            &["policy"],
        )
        .expect("valid metric");
        let sla_due = GaugeVec::new(
            Opts::new(
                "livechat_sla_due_seconds",
                "Seconds until the soonest due time of a queued inquiry, by policy id (negative once past)",
            ),
            &["policy"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(rejections.clone()),
            Box::new(password_checks.clone()),
            Box::new(pool_max.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_waiting.clone()),
            Box::new(queue_depth.clone()),
            Box::new(sla_breaches.clone()),
            Box::new(sla_due.clone()),
        ] {
            registry.register(collector).expect("metric names are distinct");
        }
        Self {
            registry,
            requests,
            latency,
            rejections,
            password_checks,
            pool_max,
            pool_connections,
            pool_waiting,
            queue_depth,
            sla_breaches,
            sla_due,
        }
    }

    pub fn reject(&self, rejection: Rejection) {
        self.rejections.with_label_values(&[rejection.label()]).inc();
    }

    pub fn password_checked(&self) {
        self.password_checks.inc();
    }

    fn observe(&self, method: &str, route: &str, status: &str, seconds: f64) {
        self.requests.with_label_values(&[method, route, status]).inc();
        self.latency.with_label_values(&[method, route, status]).observe(seconds);
    }
}

/// Records every request of the public application.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // Unmatched paths share one label so that scanners cannot grow the series.
    let route = request.extensions().get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    state.metrics.observe(&method, &route, response.status().as_str(), started.elapsed().as_secs_f64());
    response
}

/// The router of the metrics listener.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

/// The SLA figures, read from the database as every instance shares it.
async fn record_sla_figures(state: &AppState) {
    let metrics = &state.metrics;
    match state.store.sla_breach_counts().await {
        Ok(counts) => {
            for (policy, breaches) in counts {
                // Breach records are never deleted, so the count only grows: the
                // counter catches up with it.
                let counter = metrics.sla_breaches.with_label_values(&[policy.as_str()]);
                let behind = u64::try_from(breaches).unwrap_or(0).saturating_sub(counter.get());
                counter.inc_by(behind);
            }
        }
        Err(error) => tracing::warn!(%error, "SLA breach counts unavailable for metrics"),
    }
    match state.store.soonest_sla_due_times().await {
        Ok(due_times) => {
            let now = state.now();
            metrics.sla_due.reset();
            for (policy, due_at) in due_times {
                metrics.sla_due.with_label_values(&[policy.as_str()]).set((due_at - now) as f64 / 1000.0);
            }
        }
        Err(error) => tracing::warn!(%error, "SLA due times unavailable for metrics"),
    }
}

async fn scrape(State(state): State<AppState>) -> Response {
    let metrics = &state.metrics;
    let pool = state.store.pool_stats();
    metrics.pool_max.set(i64::from(pool.max));
    metrics.pool_connections.with_label_values(&["idle"]).set(i64::from(pool.idle));
    metrics.pool_connections.with_label_values(&["in_use"]).set(i64::from(pool.open.saturating_sub(pool.idle)));
    metrics.pool_waiting.set(i64::from(pool.waiting));
    match state.store.queue_depths().await {
        Ok(depths) => {
            metrics.queue_depth.reset();
            for (department, queued) in depths {
                metrics.queue_depth.with_label_values(&[department.as_deref().unwrap_or("none")]).set(queued);
            }
        }
        Err(error) => tracing::warn!(%error, "queue depth unavailable for metrics"),
    }
    record_sla_figures(&state).await;
    let mut text = Vec::new();
    match TextEncoder::new().encode(&metrics.registry.gather(), &mut text) {
        Ok(()) => ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
