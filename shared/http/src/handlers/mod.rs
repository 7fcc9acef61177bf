//! Route handlers by area: the same area names as `crate::routes` and the core's use cases
//! (`mkpf_core::{audit, card_auth, mykey, mynapoint, ops, staff}`), plus `platform` (health,
//! OpenAPI, metrics).

pub mod audit;
pub mod card_auth;
pub mod card_handoff;
pub mod mykey;
pub mod mynapoint;
pub mod ops;
pub mod platform;
pub mod staff;
