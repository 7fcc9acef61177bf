//! Batched CSV feeds: the one pipeline every imported feed runs through (the renewal linkage
//! feed of `mykey::relink`, the eligibility feeds of `mynapoint::eligibility`). A feed module
//! only says what is its own — a [`FeedKind`]: the header, how a record becomes a row, what
//! applying a batch's rows does, and the outcomes counted — and documents its format and rules.
//!
//! # The pipeline
//! 1. **Parse** ([`parse`]): the CSV as `domain::csv_rows` reads it (UTF-8 BOM, CRLF, quoting,
//!    blank lines tolerated); the first line must be exactly the header; every record has as
//!    many fields as the header and parses into a row carrying its 1-based line; at most
//!    [`MAX_ROWS`] rows, at least one. Anything wrong refuses the whole file with a
//!    [`FeedError`] naming the line.
//! 2. **Identify**: the import id is 32 hex digits of the SHA-256 of the kind's salt followed by
//!    each row's [`Row::id_line`] and a line feed — the rows, not the file's bytes, so the same
//!    rows give the same import however the file was quoted or spaced.
//! 3. **Record** ([`record_import`]): the summary item `<PREFIX>#<id>` / `SUMMARY` (feed id,
//!    kind when the family has several, rows, batches, `batches_done`, `created_at`), put on the
//!    condition that it does not exist, in one audited transaction ([`Family::import_event`],
//!    target `<target>:<id>`, detail `{kind?, rows, batches}`). Importing the same rows again
//!    finds it and records nothing.
//! 4. **Queue** ([`pending_batches`], [`import`]): the rows in batches of [`BATCH_ROWS`]
//!    (batch `n` holds rows `25n..25n+25`), one message per batch on the family's queue, each
//!    batch not yet marked done (`<PREFIX>#<id>` / `BATCH#<n:06>`); a re-import re-sends those.
//! 5. **Apply** ([`process_batch`], the consumer [`handle`]): a batch whose done marker exists
//!    changes nothing. Otherwise the kind applies the rows ([`FeedKind::apply`]) and one
//!    transaction commits, all or nothing: the done marker (put if absent), the summary's
//!    counters (`batches_done` + 1, and one counter per [`Outcome`] named by
//!    [`Outcome::as_str`]), the writes the kind returned with the outcomes, and an item per
//!    reported row (`<PREFIX>#<id>` / `ROW#<line:08>`, with `outcome` and the row as JSON). So a
//!    redelivered batch counts nothing twice. A failed condition on the marker means another
//!    delivery finished first (nothing counted); on a write of the kind, that what the kind read
//!    changed meanwhile: the batch is applied again (a few times at most).
//! 6. **View** ([`summary`]): progress (`processing` until every batch is done), the counters
//!    and the first [`MAX_REPORTED`] reported rows by line.
//!
//! The consumer dead-letters a message it cannot read and a batch whose data is corrupt
//! (`StoreError::Corrupt`), and retries on any other failure.

mod parse;
mod pipeline;
mod view;

use std::future::Future;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Event};
use crate::caps::{Audits, Queues};
use crate::ports::QueueDef;
use crate::ports::store::{StoreError, TableDef, TxOp};

pub use parse::parse;
pub use pipeline::{handle, import, pending_batches, process_batch, record_import};
pub use view::{Reported, Summary, summary};

/// Rows a feed may hold.
pub const MAX_ROWS: usize = 100_000;
/// Rows a queued batch holds.
pub const BATCH_ROWS: usize = 25;
/// Reported rows an import's view shows.
pub const MAX_REPORTED: u32 = 1000;

/// Where a family of feeds keeps its imports and sends its batches, and how it names them.
#[derive(Debug)]
pub struct Family {
    /// The table of the import items.
    pub table: &'static TableDef,
    /// The partition prefix of an import's items: `<prefix>#<id>`.
    pub prefix: &'static str,
    /// The queue of the batches; its name is also the consumer's audit actor (`job`).
    pub queue: &'static QueueDef,
    /// How messages and logs name the family (`unreadable <name> batch`, …).
    pub name: &'static str,
    /// The audit action recording an import.
    pub import_event: &'static str,
    /// The audit target type of an import: `<target>:<id>`.
    pub target: &'static str,
}

/// One kind of feed: what the pipeline needs to know of it.
pub trait FeedKind: Copy + std::fmt::Debug + Send + Sync + Sized + 'static {
    /// A row, as parsed, queued in batches and kept in reported `ROW#` items (as JSON).
    type Row: Row;
    /// What became of a row.
    type Outcome: Outcome;
    /// Where the kind's imports live.
    const FAMILY: Family;

    /// The kind's name in its family, when the family has several kinds of feed: stored in the
    /// summary, the batches and the import's audit detail, and part of the import id's salt.
    fn kind(&self) -> Option<&'static str> {
        None
    }
    /// The kind named by a queued batch (its `kind`, if any); `StoreError::Corrupt` if none.
    fn of_batch(kind: Option<&str>) -> Result<Self, StoreError>;
    /// The exact first line.
    fn header(&self) -> &'static str;
    /// Why a first line (`None`: unreadable) is refused.
    fn wrong_header(&self, _first: Option<&str>) -> String {
        format!("the first line must be exactly `{}`", self.header())
    }
    /// The row of the record on `line` (as many fields as the header; trimmed, unquoted), or
    /// why not (the line is added by the caller).
    fn parse_row(&self, line: u32, fields: &[String]) -> Result<Self::Row, String>;
    /// What the import id hashes before the rows.
    fn id_salt(&self) -> String {
        String::new()
    }
    /// Applies a batch's rows (`batch`: its number in the import): the outcome of each row, in
    /// order, and the writes to commit with the batch's done marker. A kind whose rows commit
    /// their own writes (each row its own audited transaction, idempotent) returns none; a kind
    /// whose writes must count exactly once returns them, conditioned on what it read.
    fn apply(
        &self,
        app: &(impl Audits + Queues),
        ctx: &audit::Context,
        feed_id: &str,
        batch: u32,
        rows: &[Self::Row],
    ) -> impl Future<Output = Result<Applied<Self::Outcome>, StoreError>> + Send;
}

/// A parsed row.
pub trait Row: Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Its 1-based line in the file.
    fn line(&self) -> u32;
    /// Its contribution to the import id (without the line, so blank lines do not matter).
    fn id_line(&self) -> String;
}

/// What became of a row.
pub trait Outcome: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every outcome, in counter order.
    const ALL: &'static [Self];
    /// The name of its counter in the summary (and in the view).
    fn as_str(self) -> &'static str;
    /// Whether rows with this outcome are kept for the import's report.
    fn reported(self) -> bool;
}

/// What applying a batch came to.
#[derive(Debug)]
pub struct Applied<O> {
    /// Each row's outcome, in order.
    pub outcomes: Vec<O>,
    /// Writes committed with the batch's done marker (after the marker and the summary).
    pub ops: Vec<TxOp>,
    /// The audit event of that transaction; without one it is a plain transaction (the rows
    /// were audited as they were applied).
    pub event: Option<Event>,
}

impl<O> Applied<O> {
    /// Outcomes of rows that committed their own writes.
    pub fn outcomes(outcomes: Vec<O>) -> Applied<O> {
        Applied { outcomes, ops: Vec::new(), event: None }
    }
}

/// A feed that parsed: its id, kind and rows.
#[derive(Debug, Clone)]
pub struct Feed<K: FeedKind> {
    pub id: String,
    pub kind: K,
    pub rows: Vec<K::Row>,
}

/// One queued batch of an import (the message body, as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch<R> {
    pub feed_id: String,
    /// The kind, in a family of several ([`FeedKind::kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub batch: u32,
    pub rows: Vec<R>,
}

/// A feed refused: the line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct FeedError {
    pub line: u32,
    pub why: String,
}

/// An import that failed. The parameter keeps each kind's errors a type of its own, so each HTTP
/// surface maps them to its own problem codes.
#[derive(Debug, thiserror::Error)]
pub enum ImportError<K> {
    #[error(transparent)]
    Invalid(#[from] FeedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] crate::ports::QueueError),
    /// Never built (uninhabited): carries the parameter.
    #[doc(hidden)]
    #[error("unreachable")]
    _Kind(std::convert::Infallible, PhantomData<K>),
}

/// `<prefix>#<id>`: the partition of an import.
fn feed_pk<K: FeedKind>(feed_id: &str) -> String {
    format!("{}#{feed_id}", K::FAMILY.prefix)
}

#[cfg(test)]
mod tests;
