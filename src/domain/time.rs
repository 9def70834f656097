//! Instants are stored as milliseconds since the UNIX epoch and shown in each face's format.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};

pub type Millis = i64;

pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis()
}

/// Where handlers read the time, so tests can fix it and move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        now_millis()
    }
}

/// A clock that stands still until it is set or advanced.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Millis) -> Self {
        Self(AtomicI64::new(start))
    }

    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// Rocket.Chat's wire format: ISO 8601 UTC with milliseconds.
pub fn iso(millis: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An instant a client names as JavaScript's `Date.parse` reads its common forms:
/// RFC 3339 (`2026-01-02T03:04:05.678Z`, any offset), a date alone (midnight UTC), or a
/// date and time without offset (taken as UTC, the server's zone).
pub fn parse_instant(text: &str) -> Option<Millis> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.timestamp_millis());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_time(NaiveTime::MIN).and_utc().timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|instant| instant.and_utc().timestamp_millis())
}

/// HelpCrunch's wire format: UNIX seconds as a string.
pub fn unix_seconds(millis: Millis) -> String {
    millis.div_euclid(1000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(iso(1_560_279_717_424), "2019-06-11T19:01:57.424Z");
        assert_eq!(unix_seconds(1_603_885_746_999), "1603885746");
        assert_eq!(parse_instant("2019-06-11T19:01:57.424Z"), Some(1_560_279_717_424));
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn instants_parse_in_javascripts_common_forms() {
        assert_eq!(parse_instant("2019-06-11T19:01:57.424Z"), Some(1_560_279_717_424));
        assert_eq!(parse_instant("2019-06-11T21:01:57.424+02:00"), Some(1_560_279_717_424));
        assert_eq!(parse_instant("2019-06-11T19:01:57.424"), Some(1_560_279_717_424));
        assert_eq!(parse_instant("2019-06-11"), Some(1_560_211_200_000));
        assert_eq!(parse_instant("yesterday"), None);
    }
}
