//! `App`: the dependencies of every handler, consumer and job, built once per process.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::ports::{Clock, Queue, Store, TokenKeys};

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Deps>);

pub struct Deps {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// Signs and verifies access tokens.
    pub keys: Arc<dyn TokenKeys>,
    /// Signs and verifies the daily audit seals.
    pub seal_keys: Arc<dyn TokenKeys>,
    /// This process's view of the audit chains.
    pub audit: crate::audit::Chains,
    pub metrics: Arc<Metrics>,
    /// On Lambda: flush metrics as EMF log lines after every invocation.
    pub emit_emf: bool,
    /// The last dependency check of `GET /healthz` (a public route must not turn every call
    /// into store and queue round trips).
    pub health_cache: std::sync::Mutex<Option<(std::time::Instant, crate::http::platform::Checks)>>,
}

impl App {
    /// Dependencies with one key for tokens and audit seals (tests); see [`App::with_seal_keys`].
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn TokenKeys>,
    ) -> App {
        let seal_keys = keys.clone();
        App::with_seal_keys(config, store, queue, clock, keys, seal_keys)
    }

    /// Like [`App::new`], with a separate key for the audit seals (as deployed).
    pub fn with_seal_keys(
        config: Config,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn TokenKeys>,
        seal_keys: Arc<dyn TokenKeys>,
    ) -> App {
        App(Arc::new(Deps {
            config,
            store,
            queue,
            clock,
            keys,
            seal_keys,
            audit: crate::audit::Chains::default(),
            metrics: Arc::new(Metrics::new()),
            emit_emf: std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
            health_cache: std::sync::Mutex::new(None),
        }))
    }

    /// Flushes metrics as EMF lines when running on Lambda.
    pub fn flush_metrics(&self) {
        if self.emit_emf {
            self.metrics.flush_emf(self.clock.epoch_millis());
        }
    }
}

impl Deref for App {
    type Target = Deps;
    fn deref(&self) -> &Deps {
        &self.0
    }
}
