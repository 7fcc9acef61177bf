//! Operations use cases: notices, and the background tasks of the `ops-tasks` queue.

pub mod notices;
pub mod tasks;
