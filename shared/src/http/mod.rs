//! The HTTP layer: routers built from the route table, the shared conventions (problem+json,
//! strict JSON, auth, idempotency, request ids, security headers) and the handlers per area.

pub mod audit;
pub mod auth;
pub mod card_auth;
pub mod cursor;
pub mod idempotency;
pub mod json;
pub mod mykey;
pub mod mynapoint;
pub mod mynapoint_catalog;
pub mod mynapoint_feeds;
pub mod openapi;
pub mod ops;
pub mod platform;
pub mod problem;
pub mod rate_limit;
pub mod router;
pub mod staff;

pub use problem::ApiError;
pub use router::{full_router, lambda_router, router_for};
