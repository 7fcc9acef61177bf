//! Every queue of the platform, declared once (each has a dead-letter queue `<name>-dlq`).

use crate::ports::queue::QueueDef;

/// Operations background tasks (e.g. purging notices past their retention).
pub static OPS_TASKS: QueueDef = QueueDef {
    name: "ops-tasks",
    visibility_timeout_secs: 60,
    max_receives: 5,
    retention_secs: 4 * 24 * 3600,
    batch_size: 10,
    max_concurrency: 2,
    retry_base_secs: 2,
    retry_max_secs: 900,
    purpose: "operations background tasks",
};

/// Rows of imported linkage feeds (renewal re-links), a batch of rows per message.
pub static CARD_RELINK: QueueDef = QueueDef {
    name: "card-relink",
    visibility_timeout_secs: 120,
    max_receives: 5,
    retention_secs: 14 * 24 * 3600,
    batch_size: 5,
    max_concurrency: 2,
    retry_base_secs: 5,
    retry_max_secs: 900,
    purpose: "renewal re-link rows of imported linkage feeds",
};

/// Applications on their way to their payment provider (one application per message). Retries
/// back off exponentially with jitter up to 12 h a step; the consumer gives up after 3 days from
/// the application (see `mynapoint::dispatch`), so `max_receives` is only a backstop.
pub static PROVIDER_DISPATCH: QueueDef = QueueDef {
    name: "provider-dispatch",
    // A Lambda consumer handles its batch one message at a time, each up to the 10 s HTTP
    // timeout: 10 messages need up to ~110 s, and infra sets the function timeout to a sixth of
    // the visibility (AWS's advice), so 720 s → 120 s. Shorter, a slow provider would time the
    // whole batch out and burn receives without recording an attempt (a test in
    // `manifest.rs` keeps these numbers consistent).
    visibility_timeout_secs: 720,
    max_receives: 40,
    retention_secs: 14 * 24 * 3600,
    batch_size: 10,
    max_concurrency: 20,
    retry_base_secs: 30,
    retry_max_secs: 6 * 3600,
    purpose: "applications to deliver to their payment provider's webhook endpoint",
};

/// Rows of imported Mynapoint eligibility feeds (health insurance, public-funds account, phase-1
/// points), a batch of rows per message (see `mynapoint::eligibility`).
pub static MYNAPOINT_ELIGIBILITY: QueueDef = QueueDef {
    name: "mynapoint-eligibility",
    visibility_timeout_secs: 120,
    max_receives: 5,
    retention_secs: 14 * 24 * 3600,
    batch_size: 5,
    max_concurrency: 2,
    retry_base_secs: 5,
    retry_max_secs: 900,
    purpose: "eligibility-feed rows to resolve to people and record as eligibility facts",
};

/// All queues, in manifest order.
pub static ALL: &[&QueueDef] = &[&OPS_TASKS, &CARD_RELINK, &PROVIDER_DISPATCH, &MYNAPOINT_ELIGIBILITY];
