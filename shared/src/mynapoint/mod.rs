//! National Mynapoint: the catalogue (measures, providers, payment services), eligibility,
//! applications, dispatch to providers, provider callbacks, reconciliation and inquiry.
//! The design (data model, wire formats, states) is in `docs/mynapoint.md`.

pub mod catalog;
pub mod record;
pub mod eligibility_check;
pub mod applications;
pub mod measures;
pub mod providers;
pub mod secrets;
pub mod services;
pub mod callbacks;
pub mod dispatch;
pub mod eligibility;
pub mod reconciliation;
pub mod inquiry;
