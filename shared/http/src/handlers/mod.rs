//! Route handlers by area (the same area names as `crate::routes` and the core's use cases).

pub mod audit;
pub mod card_auth;
pub mod mykey;
pub mod mynapoint;
pub mod mynapoint_catalog;
pub mod mynapoint_feeds;
pub mod ops;
pub mod platform;
pub mod staff;
