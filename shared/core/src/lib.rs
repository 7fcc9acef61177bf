//! The MyKey Platform core: what the platform knows and does, with no HTTP framework, no Lambda
//! runtime and no AWS SDK (the compiler holds this: none of them is a dependency of this crate).
//!
//! - `domain`: types parsed at the edge and pure rules (staff, notices, Mynapoint, CSV rows, JST).
//! - `ports`: the interfaces use cases depend on — `Store`, `Queue`, `Clock`, token keys, the
//!   sealer, outbound HTTP (`Egress`) — implemented by `mkpf-embedded` and `mkpf-aws`.
//! - Use cases by area: `card_auth` (card sign-in, certificates, revocation), `mykey` (persons,
//!   MyKey IDs, re-links), `mynapoint` (catalogue, eligibility, applications, dispatch,
//!   callbacks, reconciliation, inquiry), `staff` (accounts, sign-in, sessions), `audit` (the
//!   hash-chained trail), `ops` (notices, background tasks).
//! - `tokens` (access tokens), `webhooks` (Standard Webhooks signatures), `egress` (which hosts
//!   the platform may call).
//! - `feeds`: the one pipeline of batched CSV feed imports (parse, import id, queued batches
//!   counted exactly once, view); `mykey::relink` and `mynapoint::eligibility` are kinds of it.
//! - `ledger`: the point ledger (double-entry accounts, pending/posted/voided transfers, limits
//!   held by conditional writes) that point programmes move points through.
//! - `rate_limit`: per-source token buckets (card-auth challenges, audited refusals).
//! - `tables`, `queues`: every table and queue, declared once; `config`: configuration from the
//!   environment; `metrics`: counters and timings (EMF on Lambda).
//! - `deps`: the dependencies handed to use cases, built by the composition root (`mkpf-runtime`);
//!   `caps`: one trait per port, so each use case names the ports it takes.
//! - `testing`: the adapter conformance suites (feature `conformance`).

pub mod audit;
pub mod caps;
pub mod card_auth;
pub mod config;
pub mod deps;
pub mod domain;
pub mod egress;
pub mod feeds;
pub mod ledger;
pub mod metrics;
pub mod mykey;
pub mod mynapoint;
pub mod ops;
pub mod ports;
pub mod queues;
pub mod rate_limit;
pub mod staff;
pub mod tables;
pub mod tokens;
pub mod webhooks;

#[cfg(any(test, feature = "conformance"))]
pub mod testing;

pub use deps::{Deps, KeySet};
