//! National Mynapoint: the catalogue (measures, providers, payment services), eligibility,
//! applications, dispatch to providers, provider callbacks, reconciliation and inquiry.
//! The design (data model, wire formats, states) is in `docs/mynapoint.md`.

pub mod applications;
pub mod callbacks;
pub mod catalog;
pub mod dispatch;
pub mod eligibility;
pub mod eligibility_check;
pub mod inquiry;
pub mod measures;
pub mod providers;
pub mod reconciliation;
pub mod record;
pub mod secrets;
pub mod services;
