//! Capabilities: one small trait per port or per-process state a use case may need. A use case
//! names exactly the ones it uses (`app: &(impl Audits + Queues)`), so its signature says what it
//! touches, and a test can hand it a value that carries only those.
//!
//! [`Deps`] has them all; anything that dereferences to something that has one has it too, so
//! the HTTP crate's `App` (which dereferences to `Deps`) is passed to use cases as it is.
//!
//! The accessors return the `Arc`s the composition root built, so a use case may clone one into
//! a spawned task. Every capability is `Send + Sync`: use-case futures run on a multi-threaded
//! runtime.

use std::ops::Deref;
use std::sync::Arc;

use crate::Deps;
use crate::audit::Chains;
use crate::audit::refusals::Refusals;
use crate::card_auth::revocation::Revocation;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::mynapoint::catalog::Cache;
use crate::ports::{Clock, Egress, Queue, Sealer, Store, TokenKeys};

/// Declares a capability trait with one accessor, implements it for [`Deps`] (returning the
/// field) and for anything that dereferences to a holder of it.
macro_rules! capability {
    ($(#[$doc:meta])* $name:ident $(: $first:ident $(+ $sup:ident)*)?, $method:ident -> $ty:ty, $field:ident) => {
        $(#[$doc])*
        pub trait $name: Send + Sync $(+ $first $(+ $sup)*)? {
            fn $method(&self) -> &$ty;
        }

        impl $name for Deps {
            fn $method(&self) -> &$ty {
                &self.$field
            }
        }

        impl<T> $name for T
        where
            T: Deref + Send + Sync,
            T::Target: $name,
        {
            fn $method(&self) -> &$ty {
                (**self).$method()
            }
        }
    };
}

capability!(
    /// The table store.
    Stores, store -> Arc<dyn Store>, store
);
capability!(
    /// The clock: the only source of "now".
    Clocks, clock -> Arc<dyn Clock>, clock
);
capability!(
    /// The work queues.
    Queues, queue -> Arc<dyn Queue>, queue
);
capability!(
    /// The platform's configuration.
    Configured, config -> Config, config
);
capability!(
    /// Counters and timings.
    Metered, metrics -> Arc<Metrics>, metrics
);
capability!(
    /// Audited writes: the store, the clock and this process's audit chains (see `audit`).
    Audits: Stores + Clocks + Metered, audit_chains -> Chains, audit
);
capability!(
    /// This process's window of refusals of unauthenticated callers, audited in aggregate.
    Refusing: Audits, refusals -> Refusals, refusals
);
capability!(
    /// Seals secrets at rest (security codes until dispatched, webhook secrets).
    Secrets, sealer -> Arc<dyn Sealer>, sealer
);
capability!(
    /// Seals staff TOTP seeds, under the staff-only context.
    StaffSecrets, staff_sealer -> Arc<dyn Sealer>, staff_sealer
);
capability!(
    /// Signs and verifies staff access tokens.
    StaffTokens, staff_keys -> Arc<dyn TokenKeys>, staff_keys
);
capability!(
    /// Signs and verifies citizen session tokens.
    CitizenTokens, citizen_keys -> Arc<dyn TokenKeys>, citizen_keys
);
capability!(
    /// Signs the daily audit seals.
    SealKeys, seal_keys -> Arc<dyn TokenKeys>, seal_keys
);
capability!(
    /// Whether a card certificate is revoked.
    Revocations, revocation -> Arc<dyn Revocation>, revocation
);
capability!(
    /// Outbound HTTP under the platform's egress rules.
    Outbound, egress -> Arc<dyn Egress>, egress
);
capability!(
    /// This process's cache of the Mynapoint catalogue.
    Catalogue, catalog -> Cache, catalog
);
