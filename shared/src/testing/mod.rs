//! Test support shared by this crate's tests and the adapter crates: the store and queue
//! conformance suites (behind the `conformance` feature).

pub mod queue_conformance;
pub mod store_conformance;
