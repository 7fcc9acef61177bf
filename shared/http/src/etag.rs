//! Resource headers: the `ETag` of a versioned resource (`"<version>"`), the optional `If-Match`
//! of a change to it (412 `version_mismatch` from the use case when it is not the current
//! version; 400 `invalid_if_match` when it is not a version at all), and the `Location` of a
//! created one.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::problem::ApiError;

/// The request's `If-Match` header, if any; read it with [`IfMatch::version`].
#[derive(Debug)]
pub struct IfMatch(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(IfMatch(parts.headers.get(header::IF_MATCH).cloned()))
    }
}

impl IfMatch {
    /// The expected version (`"3"`, `W/"3"` or `3`), `None` without the header; 400
    /// `invalid_if_match` ("If-Match must be a `what`, e.g. "3"") otherwise.
    pub fn version(&self, what: &str) -> Result<Option<i64>, ApiError> {
        let Some(v) = &self.0 else { return Ok(None) };
        v.to_str()
            .ok()
            .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|s| s.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("invalid_if_match", format!("If-Match must be a {what}, e.g. \"3\"")))
    }
}

/// `resp` with `ETag: "<version>"`.
pub fn with_etag(mut resp: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// `resp` with `Location: <path>` (a created resource).
pub fn with_location(mut resp: Response, path: String) -> Response {
    if let Ok(v) = HeaderValue::from_str(&path) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_is_a_version_weak_or_strong_quoted_or_not() {
        let h = |s: &'static str| IfMatch(Some(HeaderValue::from_static(s)));
        assert_eq!(IfMatch(None).version("version").unwrap(), None);
        for ok in ["\"3\"", "W/\"3\"", "3", " \"3\" "] {
            assert_eq!(h(ok).version("version").unwrap(), Some(3), "{ok}");
        }
        let e = h("soon").version("notice version").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "invalid_if_match"));
        assert_eq!(e.detail, "If-Match must be a notice version, e.g. \"3\"");
    }
}
