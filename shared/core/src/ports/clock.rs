//! The `Clock` port: every use of "now" goes through it, so tests control time. Business dates
//! are in Asia/Tokyo (UTC+9 all year: Japan has no daylight saving time).

use std::sync::Mutex;

use time::{OffsetDateTime, UtcOffset};

/// Asia/Tokyo. Japan has observed no daylight saving time since 1951, so a fixed offset is exact.
pub const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("valid offset"),
};

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;

    fn epoch_secs(&self) -> i64 {
        self.now().unix_timestamp()
    }
    fn epoch_millis(&self) -> i64 {
        (self.now().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock tests set and advance by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        ManualClock(Mutex::new(at))
    }
    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
    pub fn advance(&self, by: time::Duration) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
