//! The embedded default backend: a durable store and queue in one redb file under the data
//! directory, so the whole platform runs locally with no AWS account; and the local key files
//! (token keys, the data key sealing secrets at rest). DynamoDB, SQS and KMS live in the sibling
//! crate `mkpf-aws`.

pub mod engine;
pub mod local_keys;
pub mod local_sealer;
pub mod private_fs;
pub mod queue;
pub mod store;

use std::path::Path;
use std::sync::Arc;

pub use engine::{Engine, Fatal};
pub use queue::EmbeddedQueue;
pub use store::EmbeddedStore;

use mkpf_core::ports::Clock;

/// Opens the embedded backend in `dir` (created if missing): one engine shared by the store and
/// the queue, so both commit through the same group commit.
pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<(Arc<EmbeddedStore>, Arc<EmbeddedQueue>), Fatal> {
    let engine = Engine::open(dir)?;
    Ok((Arc::new(EmbeddedStore::new(engine.clone(), clock.clone())), Arc::new(EmbeddedQueue::new(engine, clock))))
}
