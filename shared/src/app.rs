//! `App`: the dependencies of every handler, consumer and job, built once per process.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::ports::{Clock, Queue, Sealer, Store, TokenKeys};

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Deps>);

pub struct Deps {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// Signs and verifies staff access tokens.
    pub keys: Arc<dyn TokenKeys>,
    /// Signs and verifies citizen session tokens.
    pub citizen_keys: Arc<dyn TokenKeys>,
    /// Answers whether a card certificate is revoked (CRL mode; see `card_auth::revocation`).
    pub revocation: Arc<dyn crate::card_auth::revocation::Revocation>,
    /// Signs and verifies the daily audit seals.
    pub seal_keys: Arc<dyn TokenKeys>,
    /// Seals secrets at rest (security codes until dispatched, webhook secrets).
    pub sealer: Arc<dyn Sealer>,
    /// Seals staff TOTP seeds, under the staff-only encryption context on AWS (only the staff
    /// sign-in and TOTP enrolment functions may use it; see `staff::account`).
    pub staff_sealer: Arc<dyn Sealer>,
    /// Access tokens this process has verified (one signature check per token, not per call).
    pub verified_tokens: crate::tokens::VerifiedCache,
    /// This process's cache of the Mynapoint catalogue (measures, payment services).
    pub catalog: crate::mynapoint::catalog::Cache,
    /// Per-source limit on card-auth challenges.
    pub challenge_limiter: crate::http::rate_limit::SourceLimiter,
    /// This process's view of the audit chains.
    pub audit: crate::audit::Chains,
    /// This process's open window of refusals of unauthenticated callers (audited in aggregate).
    pub refusals: crate::audit::refusals::Refusals,
    pub metrics: Arc<Metrics>,
    /// On Lambda: flush metrics as EMF log lines after every invocation.
    pub emit_emf: bool,
    /// The last dependency check of `GET /healthz` (a public route must not turn every call
    /// into store and queue round trips).
    pub health_cache: std::sync::Mutex<Option<(std::time::Instant, crate::http::platform::Checks)>>,
}

/// The platform's signing keys, one per purpose.
pub struct KeySet {
    pub staff: Arc<dyn TokenKeys>,
    pub citizen: Arc<dyn TokenKeys>,
    pub seal: Arc<dyn TokenKeys>,
    /// The data key sealing secrets at rest.
    pub data: Arc<dyn Sealer>,
    /// The data key under the staff-only context, sealing staff TOTP seeds.
    pub staff_data: Arc<dyn Sealer>,
}

impl App {
    /// Dependencies with one key for every token and the audit seals (tests); see [`App::with_keys`].
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn TokenKeys>,
    ) -> App {
        let data = Arc::new(crate::adapters::local_sealer::LocalSealer::generate());
        let staff_data = Arc::new(crate::adapters::local_sealer::LocalSealer::generate());
        let set = KeySet { staff: keys.clone(), citizen: keys.clone(), seal: keys, data, staff_data };
        App::with_keys(config, store, queue, clock, set)
    }

    /// Dependencies with a key of its own for each purpose (as deployed).
    pub fn with_keys(
        config: Config,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        clock: Arc<dyn Clock>,
        keys: KeySet,
    ) -> App {
        let revocation = Arc::new(crate::card_auth::revocation::CrlRevocation::new(
            store.clone(),
            clock.clone(),
            config.crl_grace_secs,
        ));
        let challenge_limiter = crate::http::rate_limit::SourceLimiter::new(config.challenges_per_minute);
        App(Arc::new(Deps {
            challenge_limiter,
            config,
            store,
            queue,
            clock,
            keys: keys.staff,
            citizen_keys: keys.citizen,
            revocation,
            seal_keys: keys.seal,
            sealer: keys.data,
            staff_sealer: keys.staff_data,
            catalog: crate::mynapoint::catalog::Cache::default(),
            verified_tokens: crate::tokens::VerifiedCache::default(),
            audit: crate::audit::Chains::default(),
            refusals: Default::default(),
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
