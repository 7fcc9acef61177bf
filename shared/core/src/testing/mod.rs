//! Test support shared by this crate's tests and the adapter crates: the store, queue and ledger
//! conformance suites, a fault-injecting store and a tiny feed kind's rows (behind the `conformance` feature).

pub mod faulty_store;
pub mod ledger_conformance;
pub mod queue_conformance;
pub mod store_conformance;
pub mod tally_feed;
