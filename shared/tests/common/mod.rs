//! Test harness: the real router on a fresh embedded store, a manual clock, and a small client.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mkpf::App;
use mkpf::config::Config;
use mkpf::ports::{Clock, ManualClock};
use tower::ServiceExt;

pub const TOKEN: &str = "test-operator-token-0123456789abcdefghij";

pub struct Harness {
    pub app: App,
    pub router: Router,
    pub clock: Arc<ManualClock>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn harness() -> Harness {
    harness_with(|_| {})
}

pub fn harness_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("http-{}", uuid::Uuid::new_v4()));
    let mut config = Config::for_tests(dir.clone(), TOKEN);
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(time::macros::datetime!(2026-11-25 12:00 UTC)));
    let (store, queue) =
        mkpf::adapters::embedded::open(&dir, clock.clone() as Arc<dyn Clock>).expect("embedded backend");
    let app = App::new(config, store, queue, clock.clone());
    let router = mkpf::http::full_router(app.clone());
    Harness { app, router, clock }
}

/// A request under construction.
pub struct Call<'a> {
    h: &'a Harness,
    req: axum::http::request::Builder,
    body: Body,
}

impl Harness {
    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        Call { h: self, req: Request::builder().method(method).uri(path), body: Body::empty() }
    }
    pub fn op(&self, method: &str, path: &str) -> Call<'_> {
        self.call(method, path).bearer(TOKEN)
    }
}

impl Call<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.req = self.req.header("authorization", format!("Bearer {token}"));
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.req = self.req.header(k, v);
        self
    }
    pub fn json(mut self, v: serde_json::Value) -> Self {
        self.req = self.req.header("content-type", "application/json");
        self.body = Body::from(v.to_string());
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<Body>) -> Self {
        self.req = self.req.header("content-type", content_type);
        self.body = body.into();
        self
    }
    pub async fn send(self) -> Resp {
        let resp = self.h.router.clone().oneshot(self.req.body(self.body).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null);
        Resp { status, headers, body, raw }
    }
}
