//! A per-source token bucket, for public routes that create state (card-auth challenges).
//!
//! It bounds what one address can do to one process: the local platform, or one Lambda instance.
//! On AWS the binding per-source limit is the WAF rate rule on `/v1/card-auth/` in front of the API
//! (see `infra/`); this one is defence in depth. Time comes from the injected clock.
//!
//! Sources are keyed as a network sees them: an IPv4 address (an IPv4-mapped IPv6 address counts
//! as its IPv4 address), or an IPv6 **/64** — one subscriber's allocation, so a client cannot get a
//! fresh bucket by cycling the interface-identifier half of its address.
//!
//! The table is bounded ([`MAX_SOURCES`]). A new source replaces the least recently seen one only
//! if that one's bucket has refilled (forgetting it loses nothing). When every remembered bucket is
//! still draining — someone is cycling more sources per refill period than the table holds — new
//! sources share one overflow bucket instead: the flood is limited as a whole, and no remembered
//! source's limit is ever reset by it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;

/// Sources remembered at most.
pub const MAX_SOURCES: usize = 100_000;

/// The bucket key for a source address: IPv4 as is, IPv6 by its /64, anything else (no address
/// known) as given.
pub fn source_key(source: &str) -> String {
    match source.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => source.to_owned(),
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
    /// Position in the least-recently-seen order.
    seq: u64,
}

struct Table {
    buckets: HashMap<String, Bucket>,
    /// Last-seen order: (last take, tie-breaker) → key.
    order: BTreeMap<(i64, u64), String>,
    next_seq: u64,
    /// Shared by new sources while the table is full of draining buckets.
    overflow: (f64, i64),
}

pub struct SourceLimiter {
    per_minute: u32,
    capacity: usize,
    table: Mutex<Table>,
}

impl SourceLimiter {
    pub fn new(per_minute: u32) -> SourceLimiter {
        SourceLimiter::with_capacity(per_minute, MAX_SOURCES)
    }

    /// A limiter remembering at most `capacity` sources (at least one).
    pub fn with_capacity(per_minute: u32, capacity: usize) -> SourceLimiter {
        let cap = f64::from(per_minute);
        SourceLimiter {
            per_minute,
            capacity: capacity.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                order: BTreeMap::new(),
                next_seq: 0,
                overflow: (cap, i64::MIN),
            }),
        }
    }

    /// Sources remembered now.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes one token for `source` at `now_ms`; `Err(seconds to wait)` when the bucket is empty.
    pub fn take(&self, source: &str, now_ms: i64) -> Result<(), u32> {
        let cap = f64::from(self.per_minute);
        let rate_per_ms = cap / 60_000.0;
        let refill = |tokens: f64, at: i64| {
            if at == i64::MIN { cap } else { (tokens + (now_ms - at).max(0) as f64 * rate_per_ms).min(cap) }
        };
        let spend = |tokens: &mut f64, refilled: f64| {
            if refilled >= 1.0 {
                *tokens = refilled - 1.0;
                Ok(())
            } else {
                *tokens = refilled;
                Err(((1.0 - refilled) / rate_per_ms / 1000.0).ceil().max(1.0) as u32)
            }
        };
        let key = source_key(source);
        let mut guard = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let t = &mut *guard;
        if !t.buckets.contains_key(&key) && t.buckets.len() >= self.capacity {
            let oldest = t.order.first_key_value().map(|(_, k)| k.clone());
            let reclaimable =
                oldest.as_ref().and_then(|k| t.buckets.get(k)).is_some_and(|b| refill(b.tokens, b.at) >= cap);
            match oldest {
                Some(k) if reclaimable => {
                    if let Some(b) = t.buckets.remove(&k) {
                        t.order.remove(&(b.at, b.seq));
                    }
                }
                _ => {
                    let (tokens, at) = &mut t.overflow;
                    let refilled = refill(*tokens, *at);
                    *at = now_ms;
                    return spend(tokens, refilled);
                }
            }
        }
        let seq = t.next_seq;
        t.next_seq += 1;
        let b = t.buckets.entry(key.clone()).or_insert(Bucket { tokens: cap, at: i64::MIN, seq });
        let old_position = (b.at, b.seq);
        let refilled = refill(b.tokens, b.at);
        b.at = now_ms;
        b.seq = seq;
        let result = spend(&mut b.tokens, refilled);
        t.order.remove(&old_position);
        t.order.insert((now_ms, seq), key);
        result
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

    #[test]
    fn ipv6_sources_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        let l = SourceLimiter::new(3);
        for i in 1..=3 {
            l.take(&format!("2001:db8:1:2::{i:x}"), 0).unwrap();
        }
        assert!(l.take("2001:db8:1:2:ffff:ffff:ffff:ffff", 0).is_err(), "same /64");
        assert!(l.take("2001:db8:1:3::1", 0).is_ok(), "the next /64 is another source");
        for _ in 0..3 {
            l.take("192.0.2.9", 0).unwrap();
        }
        assert!(l.take("::ffff:192.0.2.9", 0).is_err(), "IPv4-mapped is the IPv4 address");
        assert_eq!(source_key("2001:DB8:0:0:1::1"), "2001:db8:0:0::/64");
        assert_eq!(source_key("not an address"), "not an address");
    }

    #[test]
    fn cycling_sources_never_resets_a_remembered_bucket() {
        let l = SourceLimiter::new(60);
        for _ in 0..60 {
            l.take("198.51.100.7", 0).unwrap();
        }
        // Far more fresh /64s than the table holds, all within the refill period.
        let mut refused = 0;
        for i in 0..(MAX_SOURCES as u32 + 1_000) {
            let src = format!("2001:db8:{:x}:{:x}::1", i >> 16, i & 0xffff);
            if l.take(&src, 1).is_err() {
                refused += 1;
            }
        }
        assert!(l.len() <= MAX_SOURCES, "bounded: {}", l.len());
        assert!(l.take("198.51.100.7", 2).is_err(), "the drained bucket was not reset by the flood");
        assert!(refused > 0, "sources beyond the table share one overflow bucket");
    }

    #[test]
    fn a_refilled_bucket_makes_room_for_a_new_source() {
        let l = SourceLimiter::with_capacity(60, 2);
        l.take("192.0.2.1", 0).unwrap();
        for _ in 0..10 {
            l.take("192.0.2.2", 60_000).unwrap();
        }
        // At 61 s the first has refilled: it is forgotten, the new source gets its own bucket.
        for _ in 0..60 {
            l.take("192.0.2.3", 61_000).unwrap();
        }
        assert!(l.take("192.0.2.3", 61_000).is_err(), "its own bucket, not the overflow");
        assert_eq!(l.len(), 2);
        // Now nothing is reclaimable: new sources share the overflow bucket.
        for _ in 0..60 {
            l.take("192.0.2.4", 61_000).unwrap();
        }
        assert!(l.take("192.0.2.5", 61_000).is_err(), "overflow shared by every new source");
        assert!(l.take("192.0.2.2", 61_000).is_ok(), "remembered sources keep their own bucket");
    }
}
