//! The closed-loop driver: N workers, each sending its next request as soon as the
//! previous one answered, for a fixed time; latencies go to one histogram.

use std::future::Future;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How one request ended.
#[derive(Debug)]
pub enum Outcome {
    Ok,
    /// An answer the API documents for a lost race (inquiry already taken, ...).
    Conflict,
    /// The route does not exist on this server.
    Skipped,
    Error(String),
}

/// Everything measured in one closed-loop run.
pub struct Tally {
    /// Latencies in microseconds.
    pub latencies: Histogram<u64>,
    pub ok: u64,
    pub conflicts: u64,
    pub skipped: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            latencies: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            ok: 0,
            conflicts: 0,
            skipped: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
        }
    }

    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        self.latencies.saturating_record(latency.as_micros().max(1) as u64);
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Conflict => self.conflicts += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Error(message) => {
                self.errors += 1;
                self.first_error.get_or_insert(message);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.add(&other.latencies).expect("histograms share their bounds");
        self.ok += other.ok;
        self.conflicts += other.conflicts;
        self.skipped += other.skipped;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn requests(&self) -> u64 {
        self.latencies.len()
    }

    pub fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at `quantile` (0..1) in milliseconds.
    pub fn millis_at(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// Every request answered "this route does not exist".
    pub fn all_skipped(&self) -> bool {
        self.skipped > 0 && self.skipped == self.requests()
    }
}

/// Runs one worker per step function for `duration`; each call of a step function
/// starts that worker's next request.
pub async fn closed_loop<Step, Request>(duration: Duration, steps: Vec<Step>) -> Tally
where
    Step: FnMut() -> Request + Send + 'static,
    Request: Future<Output = Outcome> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = steps
        .into_iter()
        .map(|mut step| {
            tokio::spawn(async move {
                let mut tally = Tally::new();
                while Instant::now() < deadline {
                    let request = step();
                    let sent = Instant::now();
                    let outcome = request.await;
                    tally.record(outcome, sent.elapsed());
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::new();
    for worker in workers {
        total.merge(worker.await.expect("a bench worker panicked"));
    }
    total.elapsed = started.elapsed();
    total
}
