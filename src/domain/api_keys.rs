//! HelpCrunch API keys and their per-minute request budget.

use super::ids::{secret_token, token_digest};
use super::time::Millis;

/// What every key starts with, so a leaked key is recognisable.
const KEY_MARK: &str = "lck_";
/// How much of a key is kept in clear to tell keys apart.
const PREFIX_CHARS: usize = 12;
const WINDOW_MILLIS: Millis = 60_000;

/// A freshly generated key: shown once; only its prefix and digest are stored.
pub struct ApiKeySecret {
    key: String,
}

impl ApiKeySecret {
    pub fn generate() -> Self {
        Self { key: format!("{KEY_MARK}{}", secret_token()) }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn prefix(&self) -> &str {
        &self.key[..PREFIX_CHARS]
    }

    pub fn digest(&self) -> String {
        token_digest(&self.key)
    }
}

/// The fixed one-minute window an instant falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateWindow {
    pub start: Millis,
}

impl RateWindow {
    pub fn containing(now: Millis) -> Self {
        Self { start: now - now.rem_euclid(WINDOW_MILLIS) }
    }

    pub fn end(self) -> Millis {
        self.start + WINDOW_MILLIS
    }
}

/// Where a key stands in its window after one more request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateStatus {
    pub limit: i64,
    pub remaining: i64,
    /// UNIX seconds at which the window ends.
    pub reset_at: i64,
    /// Whole seconds until the window ends, at least 1.
    pub retry_after: i64,
    pub exceeded: bool,
}

impl RateStatus {
    /// `hits` counts the requests of the window including this one.
    pub fn after(hits: i64, limit: i64, window: RateWindow, now: Millis) -> Self {
        let end = window.end();
        Self {
            limit,
            remaining: (limit - hits).max(0),
            reset_at: end.div_euclid(1000),
            retry_after: (end - now + 999).div_euclid(1000).max(1),
            exceeded: hits > limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_marked_and_kept_as_prefix_and_digest() {
        let secret = ApiKeySecret::generate();
        assert!(secret.key().starts_with("lck_"));
        assert_eq!(secret.key().len(), 4 + 43);
        assert_eq!(secret.prefix(), &secret.key()[..12]);
        assert_eq!(secret.digest(), token_digest(secret.key()));
    }

    #[test]
    fn windows_are_fixed_minutes() {
        let window = RateWindow::containing(1_603_885_746_500);
        assert_eq!(window, RateWindow { start: 1_603_885_740_000 });
        assert_eq!(window.end(), 1_603_885_800_000);
        assert_eq!(RateWindow::containing(1_603_885_740_000), window);
    }

    #[test]
    fn status_counts_down_then_asks_to_wait_until_the_window_ends() {
        let window = RateWindow::containing(1_603_885_746_500);
        let now = 1_603_885_746_500;
        assert_eq!(
            RateStatus::after(1, 5, window, now),
            RateStatus { limit: 5, remaining: 4, reset_at: 1_603_885_800, retry_after: 54, exceeded: false }
        );
        assert_eq!(
            RateStatus::after(5, 5, window, now),
            RateStatus { limit: 5, remaining: 0, reset_at: 1_603_885_800, retry_after: 54, exceeded: false }
        );
        assert_eq!(
            RateStatus::after(6, 5, window, 1_603_885_799_999),
            RateStatus { limit: 5, remaining: 0, reset_at: 1_603_885_800, retry_after: 1, exceeded: true }
        );
    }
}
