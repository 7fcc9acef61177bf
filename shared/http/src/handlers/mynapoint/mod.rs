//! HTTP handlers of National Mynapoint (`mkpf_core::mynapoint`), one file per resource, each the
//! twin of the same file in `crate::routes::mynapoint`: `applications` (citizens' applications
//! and providers' callbacks on them), `providers`, `services`, `measures` (the catalogue), and
//! `feeds` (eligibility feeds, reconciliation reports, inquiry). `secrets` (the catalogue's
//! signing secrets and their one rotation handler) and `catalog` (what the catalogue's files
//! share) have no routes file of their own.

pub mod applications;
pub mod catalog;
pub mod feeds;
pub mod measures;
pub mod providers;
pub mod secrets;
pub mod services;
