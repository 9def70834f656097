//! The SLA breach sweep: every instance, once a second and once at start, records a
//! breach for each queued inquiry past its due time (see `Store::record_due_breaches`).
//! The database decides which instance records each breach, so instances share
//! nothing but it; a breach whose due time passed while every instance was down is
//! recorded by the first sweep of the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::domain::ids::meteor_id;
use crate::domain::time::Clock;
use crate::store::Store;

/// How often the sweep looks for due inquiries: breaches are recorded within this much
/// of their due time, plus the sweep's own time.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Sweeps until the task is dropped, reading the time from `clock`. A failed sweep is
/// logged and the next one tries again: nothing is lost, since the due inquiries stay
/// due.
pub async fn sweep_breaches(store: Store, clock: Arc<dyn Clock>) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // The first tick is immediate: the sweep at start.
        ticks.tick().await;
        match store.record_due_breaches(clock.now(), meteor_id).await {
            Ok(breaches) => {
                for breach in breaches {
                    tracing::info!(
                        inquiry = breach.inquiry_id,
                        room = breach.room_id,
                        policy = breach.policy_id,
                        due_at = breach.due_at,
                        "SLA breached"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "sweeping SLA breaches failed"),
        }
    }
}
