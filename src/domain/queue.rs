//! The order in which agents are offered queued inquiries.

use clap::ValueEnum;

/// Rocket.Chat's queue sorting mechanisms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum QueueSort {
    /// `{queuedAt: 1, ts: 1}`: first come, first served.
    #[default]
    Timestamp,
    /// `{priorityWeight: 1, queuedAt: 1, ts: 1}`.
    Priority,
    /// `{estimatedWaitingTimeQueue: 1, queuedAt: 1, ts: 1}`: the tightest SLA first.
    Sla,
}

/// Default values of a new inquiry, as Rocket.Chat sets them.
pub const DEFAULT_PRIORITY_WEIGHT: i64 = 99;
pub const NO_SLA_WAITING_TIME: i64 = 9_999_999;
