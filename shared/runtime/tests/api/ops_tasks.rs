//! The retention job, the ops-tasks consumer, and how the consumer runner settles messages:
//! done (deleted), retried with backoff (store fault), rejected (dead-lettered).

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::ports::OutMessage;
use mkpf_core::queues::OPS_TASKS;
use mkpf_core::testing::faulty_store::FaultyStore;
use mkpf_http::routes::{consumer, job};
use mkpf_runtime::worker::{Outcome, run_job, settle};
use serde_json::json;

async fn receive_one(h: &Harness) -> mkpf_core::ports::Received {
    let mut got = h.app.queue.receive(&OPS_TASKS, 1, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1, "expected one message");
    got.pop().unwrap()
}

#[tokio::test]
async fn notices_past_retention_are_queued_then_purged_once() {
    let h = harness();
    let mk = |k: &'static str, b: serde_json::Value| {
        h.op("POST", "/v1/ops/notices").header("idempotency-key", k).json(b).send()
    };
    let ended = mk("ended", json!({"title": "ended", "body": "b", "publish_from": "2026-10-01T00:00:00+09:00", "publish_until": "2026-10-02T00:00:00+09:00"})).await;
    let open = mk("open", json!({"title": "open", "body": "b"})).await;
    let withdrawn = mk("wd", json!({"title": "withdrawn", "body": "b"})).await;
    let wid = withdrawn.body["id"].as_str().unwrap().to_owned();
    h.op("POST", &format!("/v1/ops/notices/{wid}/withdraw")).send().await;

    // 365 days of retention: nothing is due yet.
    assert_eq!(run_job(&h.app, job("notice-retention").unwrap()).await.unwrap(), json!({"purges_queued": 0}));
    // A year and a bit later the ended and the withdrawn notices are due; the open one never is.
    h.clock.advance(time::Duration::days(366));
    assert_eq!(run_job(&h.app, job("notice-retention").unwrap()).await.unwrap(), json!({"purges_queued": 2}));

    let spec = consumer("ops-tasks").unwrap();
    let first = receive_one(&h).await;
    let second = receive_one(&h).await;
    assert_eq!(settle(&h.app, spec, &first, true).await, Outcome::Done);
    assert_eq!(settle(&h.app, spec, &second, true).await, Outcome::Done);
    // A duplicate delivery of the same task changes nothing.
    assert_eq!(settle(&h.app, spec, &first, true).await, Outcome::Done);
    assert_eq!(h.app.queue.depth(&OPS_TASKS).await.unwrap(), Default::default());

    for (r, gone) in [(&ended, true), (&withdrawn, true), (&open, false)] {
        let got = h.op("GET", &format!("/v1/ops/notices/{}", r.body["id"].as_str().unwrap())).send().await;
        assert_eq!(got.status, if gone { StatusCode::NOT_FOUND } else { StatusCode::OK });
    }
}

#[tokio::test]
async fn unreadable_tasks_reach_the_dead_letter_queue_and_can_be_redriven() {
    let h = harness();
    let spec = consumer("ops-tasks").unwrap();
    h.app.queue.send(&OPS_TASKS, OutMessage::new(r#"{"task":"format_disk"}"#)).await.unwrap();
    for _ in 0..OPS_TASKS.max_receives {
        let m = receive_one(&h).await;
        assert_eq!(settle(&h.app, spec, &m, true).await, Outcome::Rejected);
    }
    assert!(h.app.queue.receive(&OPS_TASKS, 10, Duration::ZERO).await.unwrap().is_empty());
    let depth = h.app.queue.depth(&OPS_TASKS).await.unwrap();
    assert_eq!(depth.dead_letters, 1);
    let dead = h.app.queue.peek_dead_letters(&OPS_TASKS, 10).await.unwrap();
    assert_eq!(dead[0].body, r#"{"task":"format_disk"}"#);
    assert_eq!(h.app.queue.redrive(&OPS_TASKS, 10).await.unwrap(), 1);
    assert_eq!(receive_one(&h).await.receive_count, 1);
}

#[tokio::test]
async fn store_faults_are_retried_with_growing_jittered_backoff() {
    let h = harness();
    let throttled = FaultyStore::new(h.app.store.clone());
    throttled.fail_writes.store(true, std::sync::atomic::Ordering::SeqCst);
    let failing = mkpf_runtime::app(
        h.app.config.clone(),
        Arc::new(throttled),
        h.app.queue.clone(),
        h.clock.clone(),
        h.app.staff_keys.clone(),
    );
    let spec = consumer("ops-tasks").unwrap();
    h.app
        .queue
        .send(&OPS_TASKS, OutMessage::new(r#"{"task":"purge_notice","id":"01a214e0-30a0-702e-bc1d-2bc5b429b048"}"#))
        .await
        .unwrap();
    let mut delays = Vec::new();
    for attempt in 1..=3u32 {
        let m = receive_one(&h).await;
        assert_eq!(m.receive_count, attempt);
        let Outcome::Retried { after_secs } = settle(&failing, spec, &m, true).await else {
            panic!("expected a retry");
        };
        // Invisible until the backoff has passed...
        assert!(h.app.queue.receive(&OPS_TASKS, 1, Duration::ZERO).await.unwrap().is_empty());
        let step = OPS_TASKS.retry_base_secs << (attempt - 1);
        assert!(
            after_secs * 2 >= step && after_secs <= step,
            "attempt {attempt}: {after_secs}s outside [{}, {step}]",
            step / 2
        );
        delays.push(after_secs);
        // ...and visible again once it has.
        h.clock.advance(time::Duration::seconds(i64::from(after_secs)));
    }
    assert_eq!(delays.len(), 3);
}
