//! The store and queue conformance suites on the embedded adapters.

use std::sync::Arc;

use mkpf_core::ports::{Queue, Store, SystemClock};
use mkpf_embedded as embedded;

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
    mkpf_core::store_conformance_suite!(factory);
}

mod queue {
    use super::*;
    async fn factory() -> Arc<dyn Queue> {
        open().1
    }
    mkpf_core::queue_conformance_suite!(factory);
}

/// Stronger than the port's promise: the embedded queue hands each message to exactly one of
/// several concurrent receivers while it is invisible.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_queue_delivers_each_message_exactly_once_to_concurrent_receivers() {
    use mkpf_core::ports::queue::OutMessage;
    use mkpf_core::testing::queue_conformance::WORK;
    let q: Arc<dyn Queue> = open().1;
    q.send_batch(&WORK, (0..200).map(|i| OutMessage::new(format!("m{i}"))).collect()).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = q.receive(&WORK, 10, std::time::Duration::ZERO).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: std::collections::BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!((all.len(), distinct.len()), (200, 200));
}

mod ledger {
    use super::*;
    async fn factory() -> Arc<dyn Store> {
        open().0
    }
    mkpf_core::ledger_conformance_suite!(factory, 48);
}
