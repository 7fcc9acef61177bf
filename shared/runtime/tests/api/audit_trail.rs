//! The audit trail: what gets recorded, that records and changes commit together, that chains
//! stay intact under concurrent writers (in one process and across processes), that every kind
//! of tampering with a single record is detected and pinpointed, and the auditor's export.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::audit::{self, Actor, AuditRecord, Context, Event, Outcome, verify};
use mkpf_core::ports::store::*;
use mkpf_core::tables::AUDIT;
use mkpf_core::testing::faulty_store::FaultyStore;
use serde_json::json;

fn today(h: &Harness) -> time::Date {
    h.app.clock.now().to_offset(mkpf_core::ports::JST).date()
}

async fn report(h: &Harness) -> audit::VerifyReport {
    verify(h.app.store.as_ref(), Some(h.app.seal_keys.as_ref()), today(h), today(h), |_, _| {}).await.unwrap()
}

/// `n` records from as many concurrent writers.
async fn write_records(h: &Harness, n: usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = h.app.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = Context::new(Actor::new("staff", Some(&format!("writer-{i}"))));
            audit::commit_event(&app, &ctx, Event::success("test.write", vec![format!("item:{i}")])).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

/// The stored items of the longest chain of today: (pk, items in sequence order).
async fn longest_chain(h: &Harness) -> (String, Vec<Item>) {
    let mut best = (String::new(), Vec::new());
    for shard in 0..audit::SHARDS {
        let pk = format!("CHAIN#{}#{shard:02}", today(h));
        let page =
            h.app.store.query(Query::new(&AUDIT, pk.clone()).sk(SkCond::BeginsWith("SEQ#".into()))).await.unwrap();
        if page.items.len() > best.1.len() {
            best = (pk, page.items);
        }
    }
    assert!(best.1.len() >= 4, "need a chain of at least 4 records, got {}", best.1.len());
    best
}

fn body(i: &Item) -> AuditRecord {
    serde_json::from_str(i.get("body").unwrap().as_s().unwrap()).unwrap()
}

fn with_body(i: &Item, r: &AuditRecord) -> Item {
    let mut i = i.clone();
    i.insert("body".into(), Value::S(r.to_json()));
    i
}

fn chain_of(pk: &str) -> String {
    pk.trim_start_matches("CHAIN#").replacen('#', "/", 1)
}

#[tokio::test]
async fn concurrent_writers_in_one_process_keep_every_chain_intact() {
    let h = harness();
    write_records(&h, 200).await;
    let r = report(&h).await;
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.records, 200);
    assert!(r.chains > 1, "writers spread over shards");
}

#[tokio::test]
async fn two_processes_writing_the_same_chains_stay_intact() {
    let h = harness();
    // A second App over the same store: its own cached chain heads, like another Lambda instance.
    let other = mkpf_runtime::app(
        h.app.config.clone(),
        h.app.store.clone(),
        h.app.queue.clone(),
        h.clock.clone(),
        h.app.staff_keys.clone(),
    );
    let mut tasks = Vec::new();
    for i in 0..120 {
        let app = if i % 2 == 0 { h.app.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let ctx = Context::new(Actor::new("staff", Some("x")));
            audit::commit_event(&app, &ctx, Event::success("test.write", vec![format!("item:{i}")])).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let r = report(&h).await;
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.records, 120);
}

#[tokio::test]
async fn a_change_and_its_record_commit_together() {
    let h = harness();
    let faulty = Arc::new(FaultyStore::new(h.app.store.clone()));
    let app = mkpf_runtime::app(
        h.app.config.clone(),
        faulty.clone(),
        h.app.queue.clone(),
        h.clock.clone(),
        h.app.staff_keys.clone(),
    );
    let router = mkpf_http::full_router(app);
    let token = h.token(&OPERATOR).await;
    faulty.fail_audit.store(true, Ordering::SeqCst);
    let req = axum::http::Request::post("/v1/ops/notices")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", "k1")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"title":"t","body":"b"}"#))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "a failed audit write fails the operation");
    let list = h.op("GET", "/v1/ops/notices").send().await;
    assert_eq!(list.body["items"], json!([]), "and the change did not happen");
}

#[tokio::test]
async fn every_change_and_refusal_is_recorded_with_who_what_and_where() {
    let h = harness();
    let created = h
        .op("POST", "/v1/ops/notices")
        .header("idempotency-key", "a")
        .json(json!({"title": "Maintenance", "body": "b"}))
        .send()
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let request_id = created.header("x-request-id").unwrap().to_owned();
    h.op("POST", &format!("/v1/ops/notices/{id}/withdraw")).send().await;
    // A refused caller: an auditor may not create notices.
    let refused =
        h.call("POST", "/v1/ops/notices").staff(AUDITOR).header("idempotency-key", "b").json(json!({})).send().await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let forged = h.call("GET", "/v1/ops/notices").bearer("forged.token.value").send().await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let records = all_records(&h).await;
    let find = |action: &str| records.iter().filter(|r| r.action == action).collect::<Vec<_>>();
    let create = find("notice.create");
    assert_eq!(create.len(), 1);
    assert_eq!(create[0].actor, Actor::new("staff", Some(OPERATOR.0)));
    assert_eq!(create[0].targets, [format!("notice:{id}")]);
    assert_eq!(create[0].request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(create[0].outcome, Outcome::Success);
    assert_eq!(find("notice.withdraw").len(), 1);
    let denied = find("auth.denied");
    assert_eq!(denied.len(), 1, "only the signed-in caller is audited one by one: {denied:?}");
    assert!(denied.iter().any(|r| r.actor.id.as_deref() == Some(AUDITOR.0) && r.detail["code"] == "forbidden"));
    assert!(denied.iter().all(|r| r.outcome == Outcome::Denied && r.targets[0].starts_with("route:")));
    // The forged token is counted in the open window of refusals, written as one summary.
    assert!(find("refusals.summary").is_empty(), "the window is still open");
    mkpf_core::audit::refusals::flush(&h.app, true).await;
    let records = all_records(&h).await;
    let summary: Vec<_> = records.iter().filter(|r| r.action == "refusals.summary").collect();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].detail["by_action"], json!([{"action": "auth.denied", "code": "token_invalid", "count": 1}]));
    // Titles and bodies (and tokens) never enter the trail.
    let all: String = records.iter().map(AuditRecord::to_json).collect();
    assert!(!all.contains("Maintenance") && !all.contains("forged.token"), "{all}");
    assert!(report(&h).await.ok());
}

#[tokio::test]
async fn an_altered_record_is_pinpointed() {
    let h = harness();
    write_records(&h, 6 * audit::SHARDS as usize).await;
    let (pk, items) = longest_chain(&h).await;
    let mut rec = body(&items[2]);
    rec.actor = Actor::new("staff", Some("someone-else"));
    h.app.store.put(&AUDIT, with_body(&items[2], &rec), None).await.unwrap();
    let r = report(&h).await;
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!((r.findings[0].chain.as_str(), r.findings[0].seq), (chain_of(&pk).as_str(), Some(3)));
    assert!(r.findings[0].problem.contains("altered"), "{}", r.findings[0].problem);
}

#[tokio::test]
async fn an_altered_record_with_a_recomputed_hash_breaks_the_next_link() {
    let h = harness();
    write_records(&h, 6 * audit::SHARDS as usize).await;
    let (pk, items) = longest_chain(&h).await;
    let mut rec = body(&items[1]);
    rec.outcome = Outcome::Denied;
    rec.hash = rec.compute_hash();
    h.app.store.put(&AUDIT, with_body(&items[1], &rec), None).await.unwrap();
    let r = report(&h).await;
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!((r.findings[0].chain.as_str(), r.findings[0].seq), (chain_of(&pk).as_str(), Some(3)));
    assert!(r.findings[0].problem.contains("does not link to record 2"), "{}", r.findings[0].problem);
}

#[tokio::test]
async fn a_removed_record_is_pinpointed() {
    let h = harness();
    write_records(&h, 6 * audit::SHARDS as usize).await;
    let (pk, items) = longest_chain(&h).await;
    h.app.store.delete(&AUDIT, &AUDIT.key_of(&items[1]).unwrap(), None).await.unwrap();
    let r = report(&h).await;
    assert!(!r.ok());
    assert_eq!((r.findings[0].chain.as_str(), r.findings[0].seq), (chain_of(&pk).as_str(), Some(2)));
    assert!(r.findings[0].problem.contains("record 2 is missing"), "{:?}", r.findings);
}

#[tokio::test]
async fn a_removed_last_record_is_caught_by_the_head() {
    let h = harness();
    write_records(&h, 6 * audit::SHARDS as usize).await;
    let (pk, items) = longest_chain(&h).await;
    let last = items.last().unwrap();
    h.app.store.delete(&AUDIT, &AUDIT.key_of(last).unwrap(), None).await.unwrap();
    let r = report(&h).await;
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].chain, chain_of(&pk));
    assert!(r.findings[0].problem.contains("last records were removed"), "{}", r.findings[0].problem);
}

#[tokio::test]
async fn reordered_records_are_pinpointed() {
    let h = harness();
    write_records(&h, 6 * audit::SHARDS as usize).await;
    let (pk, items) = longest_chain(&h).await;
    // Swap the contents of positions 2 and 3.
    let (a, b) = (body(&items[1]), body(&items[2]));
    h.app.store.put(&AUDIT, with_body(&items[1], &b), None).await.unwrap();
    h.app.store.put(&AUDIT, with_body(&items[2], &a), None).await.unwrap();
    let r = report(&h).await;
    assert!(!r.ok());
    assert!(r.findings.iter().all(|f| f.chain == chain_of(&pk)));
    assert!(r.findings.iter().any(|f| f.seq == Some(2) && f.problem.contains("reordered")), "{:?}", r.findings);
}

#[tokio::test]
async fn auditors_export_json_lines_and_others_cannot() {
    let h = harness();
    write_records(&h, 25).await;
    let d = today(&h);
    let mut lines = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/v1/audit/records?from={d}&to={d}&limit=10");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let r = h.call("GET", &url).staff(AUDITOR).send().await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        let text = String::from_utf8(r.raw.clone()).unwrap();
        lines.extend(text.lines().map(|l| serde_json::from_str::<AuditRecord>(l).unwrap()));
        match r.header("mkpf-next-cursor") {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let written = lines.iter().filter(|r| r.action == "test.write").count();
    assert_eq!(written, 25, "every record exactly once across pages");
    let mut keys: Vec<(String, u64)> = lines.iter().map(|r| (r.chain.clone(), r.seq)).collect();
    keys.dedup();
    assert_eq!(keys.len(), lines.len());
    for who in [OPERATOR, CHIYODA] {
        let r = h.call("GET", &format!("/v1/audit/records?from={d}&to={d}")).staff(who).send().await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    for bad in ["from=2026-11-25", "from=2026-11-25&to=2026-11-24", "from=2026-01-01&to=2026-03-01", "from=x&to=y"] {
        let r = h.call("GET", &format!("/v1/audit/records?{bad}")).staff(AUDITOR).send().await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.status
        );
    }
    // The verification route agrees, and reading the trail is itself recorded.
    let v = h.call("GET", &format!("/v1/audit/verification?from={d}&to={d}")).staff(AUDITOR).send().await;
    assert_eq!(v.body["intact"], true, "{}", v.body);
    assert!(
        all_records(&h).await.iter().any(|r| r.action == "audit.export" && r.actor.id.as_deref() == Some(AUDITOR.0))
    );
}

#[tokio::test]
async fn a_consistent_rewrite_of_a_sealed_day_is_caught_by_its_seal() {
    let h = harness();
    write_records(&h, 6 * audit::SHARDS as usize).await;
    let day = today(&h);
    let (pk, items) = longest_chain(&h).await;
    let unsealed = report(&h).await;
    assert!(unsealed.ok() && unsealed.unsealed_days == [day] && unsealed.sealed_days.is_empty());

    // The next day the seal job signs the heads of every finished day of the past week (empty
    // days too: a seal of nothing proves nothing was there); running it again changes nothing.
    h.clock.advance(time::Duration::days(1));
    let job = mkpf_http::routes::job("audit-seal").unwrap();
    let first = mkpf_runtime::worker::run_job(&h.app, job).await.unwrap();
    let days = first["sealed_days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days.last().unwrap(), &json!(day.to_string()));
    assert_eq!(mkpf_runtime::worker::run_job(&h.app, job).await.unwrap(), json!({"sealed_days": []}));
    let check =
        || async { verify(h.app.store.as_ref(), Some(h.app.seal_keys.as_ref()), day, day, |_, _| {}).await.unwrap() };
    let sealed = check().await;
    assert!(sealed.ok(), "{:?}", sealed.findings);
    assert_eq!(sealed.sealed_days, [day]);

    // An attacker with write access rewrites the chain's last record AND its hash AND the head:
    // every link checks out, but the chain no longer matches the signed seal.
    let last = items.last().unwrap();
    let mut rec = body(last);
    rec.targets = vec!["item:forged".into()];
    rec.hash = rec.compute_hash();
    h.app.store.put(&AUDIT, with_body(last, &rec), None).await.unwrap();
    let head = Key::new(pk.clone(), "HEAD");
    h.app.store.update(&AUDIT, &head, Update::new().set("hash", rec.hash.clone()), None).await.unwrap();
    let r = check().await;
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].chain, chain_of(&pk));
    assert!(r.findings[0].problem.contains("no longer matches its signed seal"), "{}", r.findings[0].problem);

    // Replacing the seal with one the attacker signed does not help either.
    let forged_keys = mkpf_embedded::local_keys::LocalKeys::generate();
    let keys = mkpf_core::KeySet {
        data: std::sync::Arc::new(mkpf_embedded::local_sealer::LocalSealer::generate()),
        staff_data: h.app.staff_sealer.clone(),
        staff: h.app.staff_keys.clone(),
        citizen: h.app.citizen_keys.clone(),
        seal: std::sync::Arc::new(forged_keys),
    };
    let other = mkpf_runtime::app_with_keys(
        h.app.config.clone(),
        h.app.store.clone(),
        h.app.queue.clone(),
        h.clock.clone(),
        keys,
    );
    h.app.store.delete(&AUDIT, &Key::new(format!("SEAL#{day}"), "SEAL"), None).await.unwrap();
    mkpf_runtime::worker::run_job(&other, job).await.unwrap();
    let r = check().await;
    assert!(
        r.findings.iter().any(|f| f.chain == day.to_string() && f.problem.contains("signature")),
        "{:?}",
        r.findings
    );
    // And removing the seal shows the day as unsealed.
    h.app.store.delete(&AUDIT, &Key::new(format!("SEAL#{day}"), "SEAL"), None).await.unwrap();
    assert_eq!(check().await.unsealed_days, [day]);
}

/// An anonymous flood of garbage credentials costs counters, not audit writes: a thousand forged
/// bearer tokens from many sources add no audit record until the window's single summary, which
/// names the busiest sources.
#[tokio::test]
async fn anonymous_refusals_are_counted_and_audited_in_aggregate() {
    let h = harness();
    let before = all_records(&h).await.len();
    for i in 0..200 {
        let ip = if i % 2 == 0 { "192.0.2.66".to_owned() } else { format!("2001:db8:{i:x}::1") };
        let r = h.call("GET", "/v1/ops/notices").bearer(&format!("forged.{i}.token")).source_ip(&ip).send().await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(all_records(&h).await.len(), before, "no audit write per anonymous refusal");
    let counted: u64 = h
        .app
        .metrics
        .snapshot()
        .iter()
        .filter(|s| {
            s.name == "refused_requests" && s.dimensions.get("action").map(String::as_str) == Some("auth.denied")
        })
        .map(|s| s.count)
        .sum();
    assert_eq!(counted, 200);
    // The window closes: the next request writes its one summary.
    h.clock.advance(time::Duration::seconds(mkpf_core::audit::refusals::WINDOW_SECS));
    assert_eq!(h.call("GET", "/healthz").send().await.status, StatusCode::OK);
    let records = all_records(&h).await;
    assert_eq!(records.len(), before + 1);
    let s = &records.iter().find(|r| r.action == "refusals.summary").expect("a summary").detail;
    assert_eq!(s["total"], 200);
    assert_eq!(s["top_sources"][0], json!({"source": "192.0.2.66", "count": 100}));
    assert_eq!(s["top_sources"].as_array().unwrap().len(), mkpf_core::audit::refusals::TOP_SOURCES);
    assert_eq!(s["other_sources"], 100 - (mkpf_core::audit::refusals::TOP_SOURCES as u64 - 1));
}
