//! Route-table entries of National Mynapoint (`mkpf_core::mynapoint`), one file per resource,
//! each the twin of the same file in `crate::handlers::mynapoint`: `applications` (with their
//! dispatch to providers: consumer and sweep), `providers`, `services`, `measures`, `feeds`.
//! `crate::routes` assembles them into the table.

pub mod applications;
pub mod feeds;
pub mod measures;
pub mod providers;
pub mod services;

use crate::routes::spec::{TableUse, read, write};
use mkpf_core::tables;

/// The catalogue's own table, written (secrets are sealed with the data key).
pub(crate) const PROGRAMS_RW: &[TableUse] = &[write(&tables::PROGRAMS)];
/// Creating routes also keep their idempotency records.
pub(crate) const PROGRAMS_IDEMPOTENT: &[TableUse] = &[write(&tables::PROGRAMS), write(&tables::IDEMPOTENCY)];
pub(crate) const PROGRAMS_R: &[TableUse] = &[read(&tables::PROGRAMS)];
