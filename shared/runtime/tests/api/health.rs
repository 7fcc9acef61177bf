//! `GET /healthz`: 503 naming the failing dependency, and answers reused for a moment so the
//! public route never becomes a store round trip per call.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::testing::faulty_store::FaultyStore;
use tower::ServiceExt;

async fn get_health(router: &axum::Router) -> (StatusCode, serde_json::Value) {
    let resp = router
        .clone()
        .oneshot(axum::http::Request::get("/healthz").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn unhealthy_store_is_named_and_checks_are_reused_briefly() {
    let h = harness();
    let flaky = Arc::new(FaultyStore::new(h.app.store.clone()));
    flaky.fail_health.store(true, Ordering::SeqCst);
    let app = mkpf_runtime::app(
        h.app.config.clone(),
        flaky.clone(),
        h.app.queue.clone(),
        h.clock.clone(),
        h.app.staff_keys.clone(),
    );
    let router = mkpf_http::full_router(app.clone());

    let (status, body) = get_health(&router).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, serde_json::json!({"status": "unavailable", "store": "unavailable", "queue": "ok"}));
    assert!(!body.to_string().contains("injected fault"), "the cause stays in the logs");

    // Within the reuse window, further calls cost the store nothing (even once it recovered).
    flaky.fail_health.store(false, Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(get_health(&router).await.0, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(flaky.health_checks.load(Ordering::SeqCst), 1);

    // Once the window has passed, the store is asked again.
    {
        let mut cached = app.health_cache.lock().unwrap();
        let (at, c) = cached.expect("a cached answer");
        *cached = Some((at.checked_sub(mkpf_http::handlers::platform::HEALTH_TTL).expect("an older instant"), c));
    }
    let (status, body) = get_health(&router).await;
    assert_eq!((status, body["store"].as_str()), (StatusCode::OK, Some("ok")));
    assert_eq!(flaky.health_checks.load(Ordering::SeqCst), 2);
}
