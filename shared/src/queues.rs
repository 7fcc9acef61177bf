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

/// All queues, in manifest order.
pub static ALL: &[&QueueDef] = &[&OPS_TASKS, &CARD_RELINK];
