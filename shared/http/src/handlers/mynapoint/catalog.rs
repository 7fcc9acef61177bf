//! What the Mynapoint catalogue's handlers (providers, services, measures) share: the problems
//! of a sealer failure and of a stale `If-Match`, field parsing, and the response marks (secrets
//! shown once, public data cacheable).
//!
//! Common problem codes: `invalid_field` (422, naming the field), `version_mismatch` (412,
//! `If-Match` is not the current version), `invalid_if_match` / `invalid_query` (400),
//! `service_unavailable` (503).

use axum::http::header;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::idempotency::SealedReplay;
use crate::problem::ApiError;
use mkpf_core::ports::KeyError;

pub(super) fn sealer_problem(e: KeyError) -> ApiError {
    match e {
        KeyError::Unavailable(_) => ApiError::unavailable(e),
        KeyError::Invalid(_) => ApiError::internal(e),
    }
}

pub(super) fn version_mismatch(what: &str, current: i64) -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "version_mismatch",
        "Precondition failed",
        format!("the {what} changed meanwhile; it is now at version {current}"),
    )
}

pub(super) fn field<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|why| ApiError::invalid_field(name, why))
}

/// Identifiers on the wire are taken exactly (the schemas' patterns): no trimming.
pub(super) fn exact(name: &str, s: &str) -> Result<(), ApiError> {
    if s.trim() != s {
        return Err(ApiError::invalid_field(name, "no leading or trailing spaces"));
    }
    Ok(())
}

/// What `If-Match` holds on the catalogue routes.
pub(super) const VERSION: &str = "version";

/// A response holding a secret shown once: never cached, replayed only sealed.
pub(super) fn secret_bearing(mut resp: Response) -> Response {
    resp.extensions_mut().insert(SealedReplay);
    resp
}

/// Public catalogue data may be cached briefly (the platform caches it as long).
pub(super) fn publicly_cacheable(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=10"));
    resp
}
