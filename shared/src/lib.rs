//! The MyKey Platform common crate.
//!
//! Layout (see `docs/architecture.md`):
//! - `domain`: types and rules, pure (notices, time formats).
//! - `ops`: use cases of the operations area (notices, background tasks).
//! - `staff`: staff accounts, sign-in with password + TOTP, sessions, the local demo seed.
//! - `audit`: the tamper-evident audit trail (hash chains), its verification and export.
//! - `tokens`: access tokens (ES256 JWTs) for staff and citizens.
//! - `mynapoint`: national Mynapoint (catalogue, eligibility, applications, dispatch, callbacks,
//!   reconciliation, inquiry); `webhooks`: Standard Webhooks signing and verifying.
//! - `ports`: the interfaces use cases depend on (`Store`, `Queue`, `Clock`).
//! - `adapters`: the embedded store and queue (redb, group commit).
//! - `http`: routers, extractors, auth, idempotency, problem+json, handlers.
//! - `routes`: the route table (routes, consumers, jobs) — the single source of truth.
//! - `tables`, `queues`: every table and queue, declared once.
//! - `worker`: running consumers and jobs (Lambda and local).
//! - `manifest`: the infra manifest generated from the route table.
//! - `runtime`: process start-up (logging, Lambda entry points).
//! - `app`, `config`, `metrics`: dependencies, configuration, metrics.
//! - `testing`: the adapter conformance suites (feature `conformance`).

pub mod adapters;
pub mod app;
pub mod audit;
pub mod card_auth;
pub mod config;
pub mod domain;
pub mod egress;
pub mod http;
pub mod manifest;
pub mod metrics;
pub mod mykey;
pub mod mynapoint;
pub mod ops;
pub mod ports;
pub mod queues;
pub mod routes;
pub mod runtime;
pub mod staff;
pub mod tables;
pub mod tokens;
pub mod webhooks;
pub mod worker;

#[cfg(any(test, feature = "conformance"))]
pub mod testing;

pub use app::App;
