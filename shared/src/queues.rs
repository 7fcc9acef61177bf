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

/// All queues, in manifest order.
pub static ALL: &[&QueueDef] = &[&OPS_TASKS];
