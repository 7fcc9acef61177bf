//! Test support shared by this crate's tests and the adapter crates: the store and queue
//! conformance suites and a fault-injecting store (behind the `conformance` feature).

pub mod faulty_store;
pub mod queue_conformance;
pub mod store_conformance;
