//! Handler tests: the real router on the embedded store, driven with HTTP requests. Notices end
//! to end, and the shared conventions (problems, idempotency, auth, headers) on real routes.

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::ops::notices;
use mkpf_core::ports::{Clock, ManualClock, Store};
use serde_json::json;
use std::sync::Arc;

async fn count(h: &Harness) -> usize {
    let r = h.op("GET", "/v1/ops/notices?limit=100").send().await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().len()
}

async fn create(h: &Harness, key: &str, body: serde_json::Value) -> Resp {
    h.op("POST", "/v1/ops/notices").header("idempotency-key", key).json(body).send().await
}

fn public_ids(r: &Resp) -> Vec<String> {
    r.body["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn notice_lifecycle() {
    let h = harness();
    // Published from 21:30 JST (12:30 UTC), the clock is at 12:00 UTC: scheduled.
    let r = create(
        &h,
        "k1",
        json!({"title": "システムメンテナンスのお知らせ", "body": "12月1日 2:00〜4:00\n停止します", "severity": "important",
               "publish_from": "2026-11-25T21:30:00+09:00", "publish_until": "2026-11-26T21:30:00+09:00"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("location"), Some(format!("/v1/ops/notices/{id}").as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["state"], "scheduled");
    assert_eq!(r.body["publish_from"], "2026-11-25T21:30:00+09:00");
    assert!(public_ids(&h.call("GET", "/v1/notices").send().await).is_empty(), "not yet published");

    h.clock.advance(time::Duration::minutes(45));
    let public = h.call("GET", "/v1/notices").send().await;
    assert_eq!(public_ids(&public), std::slice::from_ref(&id));
    assert_eq!(public.body["items"][0]["severity"], "important");

    // Reschedule the end with the version read; an old version is refused.
    let r = h
        .op("PATCH", &format!("/v1/ops/notices/{id}"))
        .header("if-match", "\"1\"")
        .json(json!({"title": "メンテナンス延長", "publish_until": null}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["version"].as_i64(), r.body["publish_until"].is_null()), (Some(2), true));
    let stale = h
        .op("PATCH", &format!("/v1/ops/notices/{id}"))
        .header("if-match", "\"1\"")
        .json(json!({"title": "x"}))
        .send()
        .await;
    assert_eq!((stale.status, stale.code()), (StatusCode::PRECONDITION_FAILED, "version_mismatch"));
    let got = h.op("GET", &format!("/v1/ops/notices/{id}")).send().await;
    assert_eq!(got.body["title"], "メンテナンス延長", "the stale write changed nothing");

    // Withdraw: gone from the public list at once; further changes refused.
    let w = h.op("POST", &format!("/v1/ops/notices/{id}/withdraw")).send().await;
    assert_eq!((w.status, w.body["state"].as_str()), (StatusCode::OK, Some("withdrawn")));
    assert!(public_ids(&h.call("GET", "/v1/notices").send().await).is_empty());
    let again = h.op("POST", &format!("/v1/ops/notices/{id}/withdraw")).send().await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "notice_withdrawn"));
    let patch = h.op("PATCH", &format!("/v1/ops/notices/{id}")).json(json!({"title": "x"})).send().await;
    assert_eq!((patch.status, patch.code()), (StatusCode::CONFLICT, "notice_withdrawn"));
}

#[tokio::test]
async fn public_list_shows_only_the_current_window_newest_first() {
    let h = harness();
    let mk = |k: &'static str, from: &'static str, until: Option<&'static str>| {
        let mut b = json!({"title": k, "body": "b", "publish_from": from});
        if let Some(u) = until {
            b["publish_until"] = json!(u);
        }
        (k, b)
    };
    let mut ids = std::collections::HashMap::new();
    for (k, b) in [
        mk("past", "2026-11-01T00:00:00+09:00", Some("2026-11-02T00:00:00+09:00")),
        mk("old-open", "2026-11-10T00:00:00+09:00", None),
        mk("current", "2026-11-20T00:00:00+09:00", Some("2026-12-31T00:00:00+09:00")),
        mk("future", "2026-12-01T00:00:00+09:00", None),
    ] {
        let r = create(&h, k, b).await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.insert(k, r.body["id"].as_str().unwrap().to_owned());
    }
    let got = public_ids(&h.call("GET", "/v1/notices").send().await);
    assert_eq!(got, [ids["current"].clone(), ids["old-open"].clone()]);
}

#[tokio::test]
async fn operator_list_pages_with_a_cursor() {
    let h = harness();
    let mut created = Vec::new();
    for i in 0..7 {
        let r = create(&h, &format!("k{i}"), json!({"title": format!("n{i}"), "body": "b"})).await;
        created.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut url = "/v1/ops/notices?limit=3".to_owned();
    for _ in 0..10 {
        let r = h.op("GET", &url).send().await;
        assert_eq!(r.status, StatusCode::OK);
        seen.extend(r.body["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/ops/notices?limit=3&cursor={c}"),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each once");
}

#[tokio::test]
async fn idempotency_key_replays_and_refuses_reuse() {
    let h = harness();
    let body = json!({"title": "t", "body": "b"});
    let missing = h.op("POST", "/v1/ops/notices").json(body.clone()).send().await;
    assert_eq!((missing.status, missing.code()), (StatusCode::BAD_REQUEST, "idempotency_key_required"));
    let bad = h.op("POST", "/v1/ops/notices").header("idempotency-key", "has space").json(body.clone()).send().await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "idempotency_key_invalid"));
    assert_eq!(count(&h).await, 0);

    let first = create(&h, "same", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let replay = create(&h, "same", body.clone()).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(count(&h).await, 1, "the replay created nothing");

    let reuse = create(&h, "same", json!({"title": "other", "body": "b"})).await;
    assert_eq!((reuse.status, reuse.code()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    // A failed request's response is kept too: the same bad request gets the same answer.
    let bad1 = create(&h, "bad", json!({"title": "", "body": "b"})).await;
    let bad2 = create(&h, "bad", json!({"title": "", "body": "b"})).await;
    assert_eq!((bad1.status, bad2.status), (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(count(&h).await, 1);
    // After 24 hours the key may be used afresh.
    h.clock.advance(time::Duration::hours(25));
    let fresh = create(&h, "same", body).await;
    assert_eq!(fresh.status, StatusCode::CREATED);
    assert_ne!(fresh.body["id"], first.body["id"]);
    assert!(fresh.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_notice() {
    let h = harness();
    let token = h.token(&OPERATOR).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let router = h.router.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post("/v1/ops/notices")
                .header("authorization", format!("Bearer {token}"))
                .header("idempotency-key", "race")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(r#"{"title":"t","body":"b"}"#))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::CREATED));
    assert_eq!(count(&h).await, 1);
}

#[tokio::test]
async fn bad_input_gets_a_precise_problem_and_changes_nothing() {
    let h = harness_with(|c| c.max_body_bytes = 2048);
    let seed = create(&h, "seed", json!({"title": "t", "body": "b"})).await;
    let id = seed.body["id"].as_str().unwrap().to_owned();
    let nid = "/v1/ops/notices/".to_owned() + &id;
    let cases: Vec<(Call<'_>, StatusCode, &str)> = vec![
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "a").raw("application/json", "{\"title\": "), StatusCode::BAD_REQUEST, "malformed_json"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "b").raw("application/json", ""), StatusCode::BAD_REQUEST, "malformed_json"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "c").json(json!({"title": 5, "body": "b"})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "d").json(json!({"title": "t", "body": "b", "admin": true})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "e").json(json!({"title": "t", "body": "x".repeat(3000)})), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "f").raw("text/plain", "title=t"), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "g").json(json!({"title": "  ", "body": "b"})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "h").json(json!({"title": "t", "body": "b", "severity": "urgent"})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "i").json(json!({"title": "t", "body": "b", "publish_from": "2026-12-02T00:00:00+09:00", "publish_until": "2026-12-01T00:00:00+09:00"})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("POST", "/v1/ops/notices").header("idempotency-key", "j").json(json!({"title": "t", "body": "b", "publish_from": "tomorrow"})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("PATCH", &nid).json(json!({})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("PATCH", &nid).header("if-match", "soon").json(json!({"title": "x"})), StatusCode::BAD_REQUEST, "invalid_if_match"),
        (h.op("PATCH", &nid).json(json!({"publish_until": "2000-01-01T00:00:00Z"})), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        (h.op("GET", "/v1/ops/notices?limit=0"), StatusCode::BAD_REQUEST, "invalid_query"),
        (h.op("GET", "/v1/ops/notices?limit=abc"), StatusCode::BAD_REQUEST, "invalid_query"),
        (h.op("GET", "/v1/ops/notices?sort=asc"), StatusCode::BAD_REQUEST, "invalid_query"),
        (h.op("GET", "/v1/ops/notices?cursor=garbage!"), StatusCode::BAD_REQUEST, "invalid_cursor"),
        (h.op("GET", "/v1/ops/notices/not-a-uuid"), StatusCode::NOT_FOUND, "notice_not_found"),
        (h.op("GET", "/v1/ops/notices/01a214e0-30a0-702e-bc1d-2bc5b429b048"), StatusCode::NOT_FOUND, "notice_not_found"),
        (h.op("POST", "/v1/ops/notices/01a214e0-30a0-702e-bc1d-2bc5b429b048/withdraw"), StatusCode::NOT_FOUND, "notice_not_found"),
        (h.call("GET", "/v1/nothing-here"), StatusCode::NOT_FOUND, "route_not_found"),
        (h.call("DELETE", "/v1/notices"), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ];
    for (i, (call, status, code)) in cases.into_iter().enumerate() {
        let r = call.send().await;
        assert_eq!((r.status, r.code()), (status, code), "case {i}: {:?}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "case {i}");
        assert_eq!(r.body["type"], format!("urn:mkpf:problem:{code}"), "case {i}");
        assert_eq!(r.body["status"], status.as_u16(), "case {i}");
        assert_eq!(r.body["request_id"].as_str(), r.header("x-request-id"), "case {i}");
        assert!(!r.body["detail"].as_str().unwrap().is_empty(), "case {i}");
    }
    assert_eq!(count(&h).await, 1, "nothing was written by a bad request");
    let unchanged = h.op("GET", &nid).send().await;
    assert_eq!((unchanged.body["title"].as_str(), unchanged.body["version"].as_i64()), (Some("t"), Some(1)));
}

#[tokio::test]
async fn field_errors_name_the_field() {
    let h = harness();
    let r = create(&h, "a", json!({"title": "t", "body": "b", "severity": "urgent"})).await;
    assert!(r.body["detail"].as_str().unwrap().starts_with("severity:"), "{:?}", r.body);
    let r = create(&h, "b", json!({"title": "t", "body": "b", "admin": true})).await;
    assert!(r.body["detail"].as_str().unwrap().contains("unknown field `admin`"), "{:?}", r.body);
}

#[tokio::test]
async fn credentials_are_required_and_checked() {
    let h = harness();
    let none = h.call("GET", "/v1/ops/notices").send().await;
    assert_eq!((none.status, none.code()), (StatusCode::UNAUTHORIZED, "authentication_required"));
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    let wrong = h.call("GET", "/v1/ops/notices").bearer("not-the-token-but-long-enough-000000000").send().await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::UNAUTHORIZED, "token_invalid"));
    let basic = h.call("GET", "/metrics").header("authorization", "Basic b3A6cGFzcw==").send().await;
    assert_eq!((basic.status, basic.code()), (StatusCode::UNAUTHORIZED, "token_invalid"));
    let create = h
        .call("POST", "/v1/ops/notices")
        .header("idempotency-key", "x")
        .json(json!({"title": "t", "body": "b"}))
        .send()
        .await;
    assert_eq!(create.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&h).await, 0);
}

#[tokio::test]
async fn every_response_carries_request_id_and_security_headers() {
    let h = harness();
    for call in
        [h.call("GET", "/healthz"), h.call("GET", "/v1/ops/notices"), h.call("GET", "/nope"), h.op("GET", "/metrics")]
    {
        let r = call.send().await;
        let id = r.header("x-request-id").expect("request id");
        assert!(uuid::Uuid::parse_str(id).is_ok());
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.header("content-security-policy").unwrap().contains("default-src 'none'"));
        assert!(r.header("strict-transport-security").is_some());
    }
}

#[tokio::test]
async fn health_openapi_and_metrics() {
    let h = harness();
    let health = h.call("GET", "/healthz").send().await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, json!({"status": "ok", "store": "ok", "queue": "ok"}));
    let doc = h.call("GET", "/openapi.json").send().await;
    assert_eq!(doc.body["openapi"], "3.1.0");
    for r in mkpf_http::routes::ROUTES.iter() {
        assert!(doc.body["paths"][r.path][r.verb.as_str().to_ascii_lowercase()].is_object(), "{}", r.name);
    }
    create(&h, "m", json!({"title": "t", "body": "b"})).await;
    let m = h.op("GET", "/metrics").send().await;
    assert_eq!(m.status, StatusCode::OK);
    let series = m.body["series"].as_array().unwrap();
    let created = series
        .iter()
        .find(|s| {
            s["name"] == "http_requests"
                && s["dimensions"]["route"] == "notices-create"
                && s["dimensions"]["status"] == "2xx"
        })
        .expect("a counter for the create");
    assert_eq!(created["sum"], 1.0);
    assert!(m.body["queues"]["ops-tasks"].is_object());
}

/// Holds exactly a store and a clock: the two ports `list_published` declares.
struct StoreAndClock(Arc<dyn Store>, Arc<dyn Clock>);

impl mkpf_core::caps::Stores for StoreAndClock {
    fn store(&self) -> &Arc<dyn Store> {
        &self.0
    }
}

impl mkpf_core::caps::Clocks for StoreAndClock {
    fn clock(&self) -> &Arc<dyn Clock> {
        &self.1
    }
}

#[tokio::test]
async fn a_use_case_runs_on_just_the_ports_it_names() {
    let h = harness();
    let r = create(&h, "k", json!({"title": "t", "body": "b", "publish_from": "2026-11-26T00:00:00+09:00"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // The harness clock is at 2026-11-25 21:00 JST: not yet published. A clock of its own, a
    // day later, sees it: the use case reads the clock it was handed, not the platform's.
    let later = Arc::new(ManualClock::new(time::macros::datetime!(2026-11-26 12:00 UTC)));
    let now = StoreAndClock(h.app.store.clone(), h.clock.clone());
    let tomorrow = StoreAndClock(h.app.store.clone(), later);
    let ids =
        |ns: Vec<mkpf_core::domain::notice::Notice>| ns.iter().map(|n| n.id.as_str().to_owned()).collect::<Vec<_>>();
    assert!(ids(notices::list_published(&now).await.unwrap()).is_empty());
    assert_eq!(ids(notices::list_published(&tomorrow).await.unwrap()), [id]);
}
