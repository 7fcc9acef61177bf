//! A `Store` that delegates to another and fails on demand: for tests of how the platform
//! behaves when DynamoDB throttles or is unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::ports::store::*;

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    /// Deletes and transactions answer `Throttled`.
    pub fail_writes: AtomicBool,
    /// Transactions that write the audit trail answer `Unavailable`.
    pub fail_audit: AtomicBool,
    /// Health checks answer `Unavailable`.
    pub fail_health: AtomicBool,
    /// How many health checks reached the store.
    pub health_checks: AtomicUsize,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FaultyStore {
            inner,
            fail_writes: AtomicBool::new(false),
            fail_audit: AtomicBool::new(false),
            fail_health: AtomicBool::new(false),
            health_checks: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn get(&self, t: &'static TableDef, k: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(t, k).await
    }
    async fn put(&self, t: &'static TableDef, i: Item, c: Option<Cond>) -> Result<(), StoreError> {
        self.inner.put(t, i, c).await
    }
    async fn update(&self, t: &'static TableDef, k: &Key, u: Update, c: Option<Cond>) -> Result<Item, StoreError> {
        self.inner.update(t, k, u, c).await
    }
    async fn delete(&self, t: &'static TableDef, k: &Key, c: Option<Cond>) -> Result<Option<Item>, StoreError> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Throttled);
        }
        self.inner.delete(t, k, c).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(StoreError::Throttled);
        }
        if self.fail_audit.load(Ordering::SeqCst) && ops.iter().any(|o| o.table().name == "audit") {
            return Err(StoreError::Unavailable("injected audit fault".into()));
        }
        self.inner.transact(ops).await
    }
    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        self.inner.query(q).await
    }
    async fn health(&self) -> Result<(), StoreError> {
        self.health_checks.fetch_add(1, Ordering::SeqCst);
        if self.fail_health.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected fault".into()));
        }
        self.inner.health().await
    }
}
