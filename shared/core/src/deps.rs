//! `Deps`: the ports and per-process state use cases run on, built once per process by the
//! composition root (`mkpf-runtime`), which chooses the adapters. Nothing here builds an adapter.

use std::sync::Arc;

use crate::card_auth::revocation::Revocation;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::ports::{Clock, Egress, Queue, Sealer, Store, TokenKeys};

pub struct Deps {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    /// Signs and verifies staff access tokens.
    pub staff_keys: Arc<dyn TokenKeys>,
    /// Signs and verifies citizen session tokens.
    pub citizen_keys: Arc<dyn TokenKeys>,
    /// Answers whether a card certificate is revoked (CRL mode; see `card_auth::revocation`).
    pub revocation: Arc<dyn Revocation>,
    /// Signs and verifies the daily audit seals.
    pub seal_keys: Arc<dyn TokenKeys>,
    /// Seals secrets at rest (security codes until dispatched, webhook secrets).
    pub sealer: Arc<dyn Sealer>,
    /// Seals staff TOTP seeds, under the staff-only encryption context on AWS (only the staff
    /// sign-in and TOTP enrolment functions may use it; see `staff::account`).
    pub staff_sealer: Arc<dyn Sealer>,
    /// Outbound HTTP (webhook dispatches, CRL downloads), with the platform's egress rules.
    pub egress: Arc<dyn Egress>,
    /// Access tokens this process has verified (one signature check per token, not per call).
    pub verified_tokens: crate::tokens::VerifiedCache,
    /// This process's cache of the Mynapoint catalogue (measures, payment services).
    pub catalog: crate::mynapoint::catalog::Cache,
    /// This process's view of the audit chains.
    pub audit: crate::audit::Chains,
    /// This process's open window of refusals of unauthenticated callers (audited in aggregate).
    pub refusals: crate::audit::refusals::Refusals,
    pub metrics: Arc<Metrics>,
    /// On Lambda: flush metrics as EMF log lines after every invocation.
    pub emit_emf: bool,
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

/// The adapters a process runs on, chosen by the composition root.
pub struct Adapters {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub keys: KeySet,
    pub revocation: Arc<dyn Revocation>,
    pub egress: Arc<dyn Egress>,
}

impl Deps {
    pub fn new(config: Config, a: Adapters) -> Deps {
        Deps {
            config,
            store: a.store,
            queue: a.queue,
            clock: a.clock,
            staff_keys: a.keys.staff,
            citizen_keys: a.keys.citizen,
            revocation: a.revocation,
            seal_keys: a.keys.seal,
            sealer: a.keys.data,
            staff_sealer: a.keys.staff_data,
            egress: a.egress,
            catalog: crate::mynapoint::catalog::Cache::default(),
            verified_tokens: crate::tokens::VerifiedCache::default(),
            audit: crate::audit::Chains::default(),
            refusals: Default::default(),
            metrics: Arc::new(Metrics::new()),
            emit_emf: std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
        }
    }

    /// Flushes metrics as EMF lines when running on Lambda.
    pub fn flush_metrics(&self) {
        if self.emit_emf {
            self.metrics.flush_emf(self.clock.epoch_millis());
        }
    }
}
