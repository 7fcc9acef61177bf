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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Two to four lowercase letters.
    struct Code(String);

    impl PathParam for Code {
        fn parse_param(raw: &str) -> Option<Self> {
            ((2..=4).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase())).then(|| Code(raw.into()))
        }
        fn unknown() -> ApiError {
            ApiError::not_found("code_not_found", "no such code")
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Params {
        #[allow(dead_code)]
        n: Option<u32>,
    }

    async fn call(uri: &str) -> (u16, serde_json::Value) {
        let app = Router::new()
            .route("/codes/{code}", get(|PathId(c): PathId<Code>| async move { c.0 }))
            .route("/pairs/{a}/{b}", get(|ApiPath((a, b)): ApiPath<(String, String)>| async move { a + &b }))
            .route("/q", get(|ApiQuery(_): ApiQuery<Params>| async { "ok" }));
        let resp = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into()))
    }

    #[tokio::test]
    async fn a_malformed_or_undecodable_id_answers_the_types_own_not_found() {
        assert_eq!(call("/codes/abc").await, (200, "abc".into()));
        for bad in ["/codes/ABC", "/codes/a", "/codes/%FF"] {
            let (status, body) = call(bad).await;
            assert_eq!((status, body["code"].as_str()), (404, Some("code_not_found")), "{bad}");
        }
    }

    #[tokio::test]
    async fn path_and_query_rejections_are_problems() {
        assert_eq!(call("/pairs/a/b").await, (200, "ab".into()));
        let (status, body) = call("/pairs/%FF/b").await;
        assert_eq!((status, body["code"].as_str()), (404, Some("route_not_found")));
        assert_eq!(call("/q?n=1").await, (200, "ok".into()));
        for bad in ["/q?n=x", "/q?m=1"] {
            let (status, body) = call(bad).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")), "{bad}");
        }
    }
}
