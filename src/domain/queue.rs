//! The order in which agents are offered queued inquiries.

use clap::ValueEnum;
use serde::Deserialize;

/// Rocket.Chat's queue sorting mechanisms; in the setting `Omnichannel_sorting_mechanism`
/// they are named `Timestamp`, `Priority` and `SLAs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
pub enum QueueSort {
    /// `{queuedAt: 1, ts: 1}`: first come, first served.
    #[default]
    Timestamp,
    /// `{priorityWeight: 1, queuedAt: 1, ts: 1}`.
    Priority,
    /// `{estimatedWaitingTimeQueue: 1, queuedAt: 1, ts: 1}`: the tightest SLA first.
    #[serde(rename = "SLAs")]
    Sla,
}

impl QueueSort {
    /// The name of this mechanism in `Omnichannel_sorting_mechanism`.
    pub fn setting_value(self) -> &'static str {
        match self {
            Self::Timestamp => "Timestamp",
            Self::Priority => "Priority",
            Self::Sla => "SLAs",
        }
    }
}

/// Default values of a new inquiry, as Rocket.Chat sets them.
pub const DEFAULT_PRIORITY_WEIGHT: i64 = 99;
pub const NO_SLA_WAITING_TIME: i64 = 9_999_999;
