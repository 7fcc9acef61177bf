//! The MyKey Platform HTTP layer: the route table (routes, consumers, jobs — the single source
//! of truth for routers, OpenAPI and the infra manifest), routers built from it, the conventions
//! every route shares (problem+json, strict JSON, auth, idempotency, request ids, security
//! headers), and the handlers with their wire types (DTOs with `ToSchema`) per area. Handlers are
//! thin: parse, call one use case of `mkpf-core`, map its error once.
//!
//! - `routes`: the route table, one file per area; `handlers`: the handlers, the same areas.
//! - `app`: the state handed to every route, consumer and job.
//! - `auth`, `idempotency`, `json`, `problem`, `cursor`: the conventions; `extract` (typed path
//!   ids, path and query parameters) and `etag` (ETag, If-Match, Location): the extractors and
//!   response headers every area shares.
//! - `router`, `openapi`, `manifest`: what is generated from the route table.

pub mod app;
pub mod auth;
pub mod cursor;
pub mod etag;
pub mod extract;
pub mod handlers;
pub mod idempotency;
pub mod json;
pub mod manifest;
pub mod openapi;
pub mod problem;
pub mod router;
pub mod routes;

pub use app::App;
pub use problem::ApiError;
pub use router::{full_router, lambda_router, router_for};
