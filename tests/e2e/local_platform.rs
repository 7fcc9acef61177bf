//! End-to-end: the local platform as a process, driven over HTTP on loopback like a client.

use std::time::{Duration, Instant};

use mkpf_tests::*;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn create_notice(p: &Platform, key: &str, body: Value) -> Value {
    let r = client()
        .post(p.url("/v1/ops/notices"))
        .bearer_auth(p.token("operator"))
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn status_of(p: &Platform, path: &str) -> u16 {
    client().get(p.url(path)).bearer_auth(p.token("operator")).send().await.unwrap().status().as_u16()
}

/// Messages the ops-tasks consumer finished, from `GET /metrics`.
async fn consumed(p: &Platform) -> f64 {
    let metrics: Value =
        client().get(p.url("/metrics")).bearer_auth(p.token("operator")).send().await.unwrap().json().await.unwrap();
    metrics["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "consumer_messages" && s["dimensions"]["outcome"] == "done")
        .and_then(|s| s["sum"].as_f64())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn health_answers_and_data_survives_a_restart() {
    let data = data_dir("restart");
    let p = Platform::start(&data, &[]);
    let h: Value = client().get(p.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(h, json!({"status": "ok", "store": "ok", "queue": "ok"}));
    let n = create_notice(&p, "restart-1", json!({"title": "再起動テスト", "body": "残ること"})).await;
    let id = n["id"].as_str().unwrap().to_owned();
    assert!(p.stop().success(), "a clean stop on SIGTERM");

    let p = Platform::start(&data, &[]);
    let got: Value = client()
        .get(p.url(&format!("/v1/ops/notices/{id}")))
        .bearer_auth(p.token("operator"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["title"], "再起動テスト");
    let public: Value = client().get(p.url("/v1/notices")).send().await.unwrap().json().await.unwrap();
    assert_eq!(public["items"][0]["id"], id.as_str());
    // The idempotency record survived too: the retry replays instead of creating a second notice.
    let again = create_notice(&p, "restart-1", json!({"title": "再起動テスト", "body": "残ること"})).await;
    assert_eq!(again["id"], id.as_str());
    assert!(p.stop().success());
}

#[tokio::test]
async fn retention_job_queues_purges_that_the_consumer_carries_out_after_a_restart() {
    let data = data_dir("retention");
    let env = [("MKPF_NOTICE_RETENTION_DAYS", "1")];
    let p = Platform::start(&data, &env);
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let old = create_notice(
        &p,
        "old",
        json!({"title": "古いお知らせ", "body": "b", "publish_from": fmt(now - time::Duration::days(5)), "publish_until": fmt(now - time::Duration::days(3))}),
    )
    .await;
    let live = create_notice(&p, "live", json!({"title": "現在のお知らせ", "body": "b"})).await;
    assert!(p.stop().success());

    // The job runs while the platform is down; its messages wait in the durable queue.
    let out = admin(&data, &["run-job", "notice-retention"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report, json!({"purges_queued": 1}));

    // On restart the consumer purges the old notice (and counts it); the live one stays.
    let p = Platform::start(&data, &env);
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumed(&p).await < 1.0 {
        assert!(Instant::now() < deadline, "the purge was not consumed within 30 s");
        tokio::task::yield_now().await;
    }
    assert_eq!(status_of(&p, &format!("/v1/ops/notices/{}", old["id"].as_str().unwrap())).await, 404);
    assert_eq!(status_of(&p, &format!("/v1/ops/notices/{}", live["id"].as_str().unwrap())).await, 200);
    assert_eq!(consumed(&p).await, 1.0, "exactly one message");
    assert!(p.stop().success());
}

#[test]
fn bad_configuration_stops_the_start_with_every_problem_named() {
    let out = std::process::Command::new(bin("mkpf-local"))
        .env_clear()
        .env("MKPF_BACKEND", "postgres")
        .env("MKPF_BIND", "not-an-address")
        .env("MKPF_MAX_BODY_BYTES", "12")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for var in ["MKPF_BACKEND", "MKPF_BIND", "MKPF_MAX_BODY_BYTES"] {
        assert!(err.contains(var), "{var} not named in: {err}");
    }
    let aws = std::process::Command::new(bin("mkpf-local"))
        .env_clear()
        .env("MKPF_BACKEND", "aws")
        .env("MKPF_LOCAL_DEMO_TOKENS", "/tmp/never-written.json")
        .output()
        .unwrap();
    assert_eq!(aws.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&aws.stderr).contains("refused with MKPF_BACKEND=aws"));
}

#[test]
fn the_manifest_command_agrees_with_the_checked_in_file() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = admin(repo, &["manifest", "--check", "--path", repo.join("infra/manifest.json").to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
