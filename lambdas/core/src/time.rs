//! Timestamps as the API shows them: RFC 3339, UTC, milliseconds (`2025-04-19T03:05:28.210Z`).

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, formatted for storage and the API. Strings in this format sort in time order.
pub fn now() -> String {
    format(Utc::now())
}

/// Now, in whole seconds since the epoch (as JWT claims count time).
pub fn now_secs() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The timestamp `age` ago, in the same format (for "older than" queries).
pub fn ago(age: std::time::Duration) -> String {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::zero());
    format(Utc::now() - age)
}
