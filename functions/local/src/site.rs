//! The web pages the local process serves beside the API, on the same origin: the citizen site
//! at `/`, the staff console at `/console/`, their hashed assets under `/assets/` (all built by
//! `web/scripts/build` into `MKPF_WEB_DIR`, default `web/dist`). Every other path goes to the API
//! router, whose own fallback answers unknown paths with `404 route_not_found`. On AWS the same
//! files are in S3 behind CloudFront with the same headers (`infra/`).

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

/// The pages' policy: only the site's own scripts, styles and API; QR codes as `data:` images;
/// never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HEADERS: [(&str, &str); 7] = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
];

/// `api` with the pages in `dir` in front of it, or `api` alone when `dir` has no `index.html`.
pub fn with_site(api: Router, dir: &Path) -> Router {
    if !dir.join("index.html").is_file() {
        return api;
    }
    Router::new()
        .route_service("/", ServeFile::new(dir.join("index.html")))
        .route_service("/index.html", ServeFile::new(dir.join("index.html")))
        .route_service("/console/", ServeFile::new(dir.join("console/index.html")))
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .nest_service("/assets", ServeDir::new(dir.join("assets")))
        .route_layer(middleware::from_fn(site_headers))
        .fallback_service(api)
}

/// Security headers on every page and asset; hashed assets cached for a year, pages revalidated.
async fn site_headers(req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    let ok = resp.status().is_success();
    let h = resp.headers_mut();
    for (k, v) in HEADERS {
        h.insert(k, HeaderValue::from_static(v));
    }
    let cache = if asset && ok { "public, max-age=31536000, immutable" } else { "no-cache" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    struct Site(std::path::PathBuf);

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn site() -> Site {
        let dir = std::env::temp_dir().join(format!("mkpf-site-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("console")).unwrap();
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><title>citizen</title>").unwrap();
        std::fs::write(dir.join("console/index.html"), "<!doctype html><title>console</title>").unwrap();
        std::fs::write(dir.join("assets/app-1a2b.js"), "export {}").unwrap();
        Site(dir)
    }

    fn api() -> Router {
        Router::new()
            .route("/v1/notices", get(|| async { "api notices" }))
            .fallback(|| async { (StatusCode::NOT_FOUND, "api 404") })
    }

    async fn get_path(r: &Router, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = r.clone().oneshot(Request::builder().uri(path).body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn pages_and_assets_are_served_with_their_headers_and_the_rest_goes_to_the_api() {
        let s = site();
        let r = with_site(api(), &s.0);
        let (status, h, body) = get_path(&r, "/").await;
        assert_eq!((status, body.contains("citizen")), (StatusCode::OK, true));
        assert_eq!(h["content-security-policy"], CSP);
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["cache-control"], "no-cache");
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));

        let (status, _, body) = get_path(&r, "/console/").await;
        assert_eq!((status, body.contains("console")), (StatusCode::OK, true));
        let (status, h, _) = get_path(&r, "/console").await;
        assert_eq!((status, &h["location"]), (StatusCode::PERMANENT_REDIRECT, &HeaderValue::from_static("/console/")));

        let (status, h, _) = get_path(&r, "/assets/app-1a2b.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        assert!(h["content-type"].to_str().unwrap().contains("javascript"));
        let (status, h, _) = get_path(&r, "/assets/missing.js").await;
        assert_eq!((status, &h["cache-control"]), (StatusCode::NOT_FOUND, &HeaderValue::from_static("no-cache")));

        let (status, h, body) = get_path(&r, "/v1/notices").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "api notices"));
        assert!(h.get("content-security-policy").is_none(), "the API keeps its own headers");
        let (status, _, body) = get_path(&r, "/nowhere").await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, "api 404"));
    }

    #[tokio::test]
    async fn without_a_built_site_only_the_api_answers() {
        let s = site();
        std::fs::remove_file(s.0.join("index.html")).unwrap();
        let r = with_site(api(), &s.0);
        let (status, _, body) = get_path(&r, "/").await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, "api 404"));
    }
}
