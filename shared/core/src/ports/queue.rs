//! The `Queue` port: SQS semantics (at-least-once delivery, visibility timeout, receive count,
//! dead-letter queue after `max_receives`), plus inspecting and redriving dead letters.
//!
//! Queues are declared once in code (see `crate::queues`). Every queue has a dead-letter queue
//! named `<name>-dlq`. Retry timing (exponential backoff with jitter) is applied by the consumer
//! runner through [`Queue::change_visibility`], so it behaves the same on both adapters.

use std::time::Duration;

use async_trait::async_trait;

/// SQS's limit on messages per batch call and per receive.
pub const MAX_BATCH: usize = 10;
/// SQS's limit on a message body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// SQS's limit on visibility timeouts and delays it accepts (12 hours / 15 minutes).
pub const MAX_VISIBILITY_SECS: u32 = 12 * 60 * 60;
pub const MAX_DELAY_SECS: u32 = 15 * 60;

/// A queue with its dead-letter policy, declared once and used by both adapters and infra.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueDef {
    pub name: &'static str,
    /// How long a received message stays invisible; also the consumer's time budget.
    pub visibility_timeout_secs: u32,
    /// After this many receives without deletion the message moves to the dead-letter queue.
    pub max_receives: u32,
    pub retention_secs: u32,
    /// Messages a consumer takes per batch.
    pub batch_size: u32,
    /// Upper bound on concurrent consumer invocations (protects downstreams).
    pub max_concurrency: u32,
    /// A failed message is retried after about `retry_base_secs * 2^(attempt-1)` seconds (with
    /// jitter), at most `retry_max_secs`.
    pub retry_base_secs: u32,
    pub retry_max_secs: u32,
    pub purpose: &'static str,
}

impl QueueDef {
    pub fn dlq_name(&self) -> String {
        format!("{}-dlq", self.name)
    }

    /// Seconds to wait before delivering a message again after its `attempt`-th failure:
    /// exponential, capped, with "equal jitter" (half fixed, half random) so that many failing
    /// messages do not retry in lockstep. `unit` in [0, 1) supplies the randomness.
    pub fn backoff_secs(&self, attempt: u32, unit: f64) -> u32 {
        let exp = attempt.saturating_sub(1).min(30);
        let raw = u64::from(self.retry_base_secs).saturating_mul(1u64 << exp);
        let cap = u64::from(self.retry_max_secs.min(MAX_VISIBILITY_SECS));
        let delay = raw.min(cap) as f64;
        let jittered = delay / 2.0 + unit.clamp(0.0, 1.0) * delay / 2.0;
        (jittered.ceil() as u32).min(MAX_VISIBILITY_SECS)
    }
}

/// A message to send. `delay_secs` ≤ [`MAX_DELAY_SECS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    pub body: String,
    pub delay_secs: u32,
}

impl OutMessage {
    pub fn new(body: impl Into<String>) -> Self {
        OutMessage { body: body.into(), delay_secs: 0 }
    }
    pub fn delayed(mut self, secs: u32) -> Self {
        self.delay_secs = secs;
        self
    }
}

/// A received message. `receipt` identifies this receive (a later receive gets a new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: String,
    pub receipt: String,
    pub body: String,
    /// 1 on first delivery.
    pub receive_count: u32,
}

/// Approximate counts, as SQS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
    pub dead_letters: u64,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    #[error("invalid queue request: {0}")]
    Validation(String),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("unknown or malformed receipt handle")]
    BadReceipt,
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, q: &'static QueueDef, msg: OutMessage) -> Result<String, QueueError>;
    /// Sends any number of messages (adapters chunk by [`MAX_BATCH`]); ids in order.
    async fn send_batch(&self, q: &'static QueueDef, msgs: Vec<OutMessage>) -> Result<Vec<String>, QueueError>;
    /// Receives up to `max` (1..=10) visible messages, waiting up to `wait` (long poll) for the
    /// first; each becomes invisible for the queue's visibility timeout. A message already
    /// received `max_receives` times is moved to the dead-letter queue instead of delivered.
    async fn receive(&self, q: &'static QueueDef, max: u32, wait: Duration) -> Result<Vec<Received>, QueueError>;
    /// Acknowledges a message. Deleting with a stale receipt succeeds but may leave it in place.
    async fn delete(&self, q: &'static QueueDef, receipt: &str) -> Result<(), QueueError>;
    /// Makes a received message visible again after `secs` (0 = now).
    async fn change_visibility(&self, q: &'static QueueDef, receipt: &str, secs: u32) -> Result<(), QueueError>;
    async fn depth(&self, q: &'static QueueDef) -> Result<QueueDepth, QueueError>;
    /// Looks at up to `max` dead letters without removing them.
    async fn peek_dead_letters(&self, q: &'static QueueDef, max: u32) -> Result<Vec<Received>, QueueError>;
    /// Moves up to `max` dead letters back to the source queue (receive count starts afresh);
    /// returns how many moved.
    async fn redrive(&self, q: &'static QueueDef, max: u32) -> Result<u32, QueueError>;
    async fn health(&self) -> Result<(), QueueError>;
}

/// Checks one outgoing message against SQS's limits.
pub fn validate_message(m: &OutMessage) -> Result<(), QueueError> {
    if m.body.is_empty() {
        return Err(QueueError::Validation("empty message body".into()));
    }
    if m.body.len() > MAX_BODY_BYTES {
        return Err(QueueError::Validation(format!("message body of {} bytes exceeds {MAX_BODY_BYTES}", m.body.len())));
    }
    if m.delay_secs > MAX_DELAY_SECS {
        return Err(QueueError::Validation(format!("delay {}s exceeds {MAX_DELAY_SECS}s", m.delay_secs)));
    }
    Ok(())
}

/// Checks receive arguments against SQS's limits.
pub fn validate_receive(max: u32, wait: Duration) -> Result<(), QueueError> {
    if !(1..=MAX_BATCH as u32).contains(&max) {
        return Err(QueueError::Validation(format!("receive max {max} outside 1..=10")));
    }
    if wait > Duration::from_secs(20) {
        return Err(QueueError::Validation("long poll wait over 20 s".into()));
    }
    Ok(())
}

/// How a consumer failed one message (the worker in `mkpf-runtime` settles it accordingly).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConsumeError {
    /// Transient (a dependency failed): try again later.
    #[error("retry: {0}")]
    Retry(String),
    /// Transient, and the handler knows when to try again: after this many seconds (at most
    /// [`MAX_VISIBILITY_SECS`](mkpf_core::ports::queue::MAX_VISIBILITY_SECS), 12 h).
    #[error("retry after {0} s: {1}")]
    RetryAfter(u32, String),
    /// The message can never succeed: dead-letter it.
    #[error("reject: {0}")]
    Reject(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    static Q: QueueDef = QueueDef {
        name: "q",
        visibility_timeout_secs: 30,
        max_receives: 5,
        retention_secs: 60,
        batch_size: 10,
        max_concurrency: 1,
        retry_base_secs: 2,
        retry_max_secs: 600,
        purpose: "test",
    };

    #[test]
    fn backoff_doubles_until_the_cap() {
        // With no randomness the delay is half the exponential step.
        assert_eq!([1, 2, 3, 4].map(|a| Q.backoff_secs(a, 0.0)), [1, 2, 4, 8]);
        assert_eq!([1, 2, 3, 4].map(|a| Q.backoff_secs(a, 0.999_999)), [2, 4, 8, 16]);
        assert_eq!(Q.backoff_secs(40, 0.999_999), 600);
    }

    proptest! {
        #[test]
        fn backoff_stays_within_half_and_full_step(attempt in 1u32..64, unit in 0.0f64..1.0) {
            let d = u64::from(Q.backoff_secs(attempt, unit));
            let step = (2u64.saturating_mul(1 << attempt.saturating_sub(1).min(30))).min(600);
            prop_assert!(d * 2 >= step, "{d} below half of {step}");
            prop_assert!(d <= step, "{d} above {step}");
        }
    }
}
