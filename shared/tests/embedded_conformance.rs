//! The store and queue conformance suites on the embedded adapters.

use std::sync::Arc;

use mkpf::adapters::embedded;
use mkpf::ports::{Queue, Store, SystemClock};

fn open() -> (Arc<embedded::EmbeddedStore>, Arc<embedded::EmbeddedQueue>) {
    // Under cargo's per-target scratch dir (scripts/test empties it before each run): the
    // directory must outlive the store, which lives as long as the test.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("embedded-{}", uuid::Uuid::new_v4()));
    embedded::open(&dir, Arc::new(SystemClock)).expect("open embedded backend")
}

mod store {
    use super::*;
    async fn factory() -> Arc<dyn Store> {
        open().0
    }
    mkpf::store_conformance_suite!(factory);
}

mod queue {
    use super::*;
    async fn factory() -> Arc<dyn Queue> {
        open().1
    }
    mkpf::queue_conformance_suite!(factory);
}
