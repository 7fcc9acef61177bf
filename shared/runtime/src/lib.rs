//! The MyKey Platform runtime: where processes start.
//!
//! - `boot`: the composition root — configuration → adapters (embedded or AWS) → `App`.
//! - `egress`: the outbound HTTP adapter (the core's `Egress` port).
//! - `worker`: running queue consumers and scheduled jobs (Lambda and the local process).
//! - `lambda`: JSON logging and the Lambda entry (one binary; the function chosen by `_HANDLER`).
//! - `local`: the local process's background work besides routes (TTL sweep).

pub mod boot;
pub mod egress;
pub mod lambda;
pub mod worker;

pub use boot::{app, app_with_keys, boot, boot_from_env};
