//! The MyKey Platform common crate.
//!
//! Layout (see `docs/architecture.md`):
//! - `ports`: the interfaces use cases depend on (`Store`, `Queue`, `Clock`).
//! - `adapters`: the embedded store and queue (redb), and EMF metrics.
//! - `tables`, `queues`: every table and queue, declared once.
//! - `testing`: the adapter conformance suites (feature `conformance`).

pub mod adapters;
pub mod ports;
pub mod tables;
pub mod queues;

#[cfg(any(test, feature = "conformance"))]
pub mod testing;
