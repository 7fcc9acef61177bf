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
    pub purpose: &'static str,
}

impl QueueDef {
    pub fn dlq_name(&self) -> String {
        format!("{}-dlq", self.name)
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
