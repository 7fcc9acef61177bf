//! A per-source token bucket, for public routes that create state (card-auth challenges).
//!
//! It bounds what one address can do to one process: the local platform, or one Lambda instance.
//! On AWS the binding per-source limit is the WAF rate rule on `/v1/card-auth/` in front of the API
//! (see `infra/`); this one is defence in depth. Time comes from the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

/// Addresses remembered at most; beyond that, full buckets are forgotten first.
const MAX_SOURCES: usize = 100_000;

pub struct SourceLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl SourceLimiter {
    pub fn new(per_minute: u32) -> SourceLimiter {
        SourceLimiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `source` at `now_ms`; `Err(seconds to wait)` when the bucket is empty.
    pub fn take(&self, source: &str, now_ms: i64) -> Result<(), u32> {
        let cap = f64::from(self.per_minute);
        let rate_per_ms = cap / 60_000.0;
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() >= MAX_SOURCES && !b.contains_key(source) {
            b.retain(|_, (tokens, at)| *tokens + (now_ms - *at) as f64 * rate_per_ms < cap);
            if b.len() >= MAX_SOURCES {
                b.clear();
            }
        }
        let (tokens, at) = b.entry(source.to_owned()).or_insert((cap, now_ms));
        let refilled = (*tokens + (now_ms - *at).max(0) as f64 * rate_per_ms).min(cap);
        *at = now_ms;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            Err(((1.0 - refilled) / rate_per_ms / 1000.0).ceil().max(1.0) as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_budget_then_refuses_until_refilled() {
        let l = SourceLimiter::new(60);
        for _ in 0..60 {
            l.take("a", 0).unwrap();
        }
        assert_eq!(l.take("a", 0), Err(1));
        assert!(l.take("b", 0).is_ok(), "sources are independent");
        assert!(l.take("a", 1_000).is_ok(), "one token per second comes back");
        assert!(l.take("a", 1_000).is_err());
    }
}
