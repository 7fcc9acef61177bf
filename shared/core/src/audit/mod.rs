//! The audit trail: an append-only, tamper-evident record of every state change and every read
//! of personal data — who, what, when, from where, with what outcome.
//!
//! Records live in hash chains, one per Asia/Tokyo day and shard ([`SHARDS`] per day, so
//! concurrent writers do not serialise on one key). Each record carries the hash of its
//! predecessor; the chain head item holds the last sequence number and hash. A record is written
//! in the same store transaction as the change it records ([`commit`]); if the audit write fails,
//! the change does not happen. [`verify`] walks a date range and names every altered, removed or
//! reordered record, and checks each day against its signed seal ([`seal`]); [`export`] pages
//! through a range as JSON Lines.

mod chain;
mod export;
mod record;
pub mod refusals;
pub mod seal;
mod verify;

pub use chain::{Chains, commit, commit_event, warm};
pub use export::{ExportCursor, export_page};
pub use record::{Actor, AuditRecord, Context, Event, Outcome};
pub use verify::{Finding, VerifyReport, verify};

/// Chains per day. Writers pick a free shard, so up to this many audited writes per process run
/// without waiting on each other. (It was 16 until Mynapoint applications made audited writes
/// the platform's main load: a shard's lock is held until its commit returns, so 16 capped a
/// process at 16 audited commits in flight. Days written with 16 chains verify and export as
/// before: the other chains of those days are simply empty.)
pub const SHARDS: u32 = 64;
