//! Request extractors every area shares: typed path ids ([`PathId`]), raw path parameters
//! ([`ApiPath`]) and query strings ([`ApiQuery`]), each refusing with the problem the routes
//! answer (never axum's plain-text rejections). A handler that must report another problem first
//! (a body, a permission) takes `Result<Extractor, ApiError>` and applies `?` where it did before.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// The problem of a path no route has (also the router's fallback).
pub fn route_not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no route matches this path")
}

/// A domain type taken from one path segment: how it parses, and the problem a malformed value
/// answers — the route's own "not found", so a malformed id looks like an unknown one.
pub trait PathParam: Sized {
    /// The value, or `None` when `raw` is not one.
    fn parse_param(raw: &str) -> Option<Self>;
    /// What a malformed (or undecodable) segment answers.
    fn unknown() -> ApiError;
}

/// The route's one path parameter, parsed into `T` (see [`PathParam`]).
#[derive(Debug)]
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: PathParam + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| T::unknown())?;
        T::parse_param(&raw).map(PathId).ok_or_else(T::unknown)
    }
}

/// Path parameters as strings (a tuple for several), parsed by the handler; a path that cannot
/// be decoded answers 404 `route_not_found`.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(v) = Path::<T>::from_request_parts(parts, state).await.map_err(|_| route_not_found())?;
        Ok(ApiPath(v))
    }
}

/// The query string; one the parameters' type refuses answers 400 `invalid_query` with the
/// reason.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(v) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
        Ok(ApiQuery(v))
    }
}
