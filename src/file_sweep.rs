//! The file sweep: every instance, once at start and then every [`SWEEP_INTERVAL`],
//! deletes the unconfirmed uploads past their expiry and then the queued objects of
//! deleted upload rows from the file storage.
//!
//! The storage cannot take part in a database transaction, so deletion goes through a
//! queue in the database: deleting an upload row (a message deleted with its file, an
//! upload expiring, a room or a visitor removed with its files) queues its object in the
//! same transaction (see `crate::store` uploads), and the sweep deletes each queued object,
//! then its queue row. An object already absent counts as deleted. A failed deletion
//! (the storage down, refusing, or the instance stopping midway) leaves the row queued,
//! and a sweep after the claim's lease tries it again: nothing is lost.
//!
//! Instances share nothing but the database: each claims the rows it deletes for
//! [`CLAIM_LEASE`], so two instances do not delete the same objects at once. If a claim
//! outlives its lease (a storage slow beyond it), another instance may delete the same
//! object again, which is harmless.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use crate::domain::time::{Clock, Millis};
use crate::files::FileStorage;
use crate::store::{Store, StoreResult};

/// How often the sweep runs: an expired upload or a discarded object is deleted within
/// this much of its time, plus the sweep's own time.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How long an unconfirmed upload (rooms.media without rooms.mediaConfirm) is kept:
/// Rocket.Chat's 24 hours.
pub const UNCONFIRMED_UPLOAD_LIFETIME: Millis = 24 * 60 * 60 * 1000;

/// How long a sweep holds the objects it claimed: no other sweep claims them before,
/// and one it could not delete waits this long before the next try.
pub const CLAIM_LEASE: Millis = 60 * 1000;

/// Objects claimed at a time.
pub const SWEEP_BATCH: i64 = 100;

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Unconfirmed uploads deleted for their age.
    pub expired: u64,
    /// Objects deleted from the storage (or found absent) and taken off the queue.
    pub deleted: Vec<String>,
    /// The object whose deletion failed, ending the sweep; it stays queued.
    pub failed: Option<String>,
}

/// Sweeps until the task is dropped, reading the time from `clock`. A failed sweep is
/// logged and the next one tries again.
pub async fn sweep_files(store: Store, files: FileStorage, clock: Arc<dyn Clock>) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // The first tick is immediate: the sweep at start.
        ticks.tick().await;
        match sweep_once(&store, &files, clock.now()).await {
            Ok(report) => {
                if report.expired > 0 {
                    tracing::info!(count = report.expired, "unconfirmed uploads expired");
                }
                for key in report.deleted {
                    tracing::debug!(key, "discarded file deleted from the storage");
                }
            }
            Err(error) => tracing::warn!(%error, "sweeping discarded files failed"),
        }
    }
}

/// One sweep at `now`: expires the unconfirmed uploads older than
/// [`UNCONFIRMED_UPLOAD_LIFETIME`], then deletes the claimable queued objects, batch
/// after batch. The first object the storage fails to delete ends the sweep: the
/// storage is likely down, and that object and the rest of its batch stay claimed until
/// the lease ends, then are tried again.
pub async fn sweep_once(store: &Store, files: &FileStorage, now: Millis) -> StoreResult<SweepReport> {
    let mut report = SweepReport {
        expired: store.expire_unconfirmed_uploads(now - UNCONFIRMED_UPLOAD_LIFETIME).await?,
        ..Default::default()
    };
    loop {
        let claimed = store.claim_discarded_objects(now, now + CLAIM_LEASE, SWEEP_BATCH).await?;
        for key in &claimed {
            if let Err(error) = files.delete(key).await {
                tracing::warn!(%error, key, "deleting a discarded file failed; it is tried again later");
                report.failed = Some(key.clone());
                return Ok(report);
            }
            store.forget_discarded_object(key).await?;
            report.deleted.push(key.clone());
        }
        if (claimed.len() as i64) < SWEEP_BATCH {
            return Ok(report);
        }
    }
}
