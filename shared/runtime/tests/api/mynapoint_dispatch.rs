//! The `provider-dispatch` consumer and the `dispatch-sweep` job on the embedded store, against a
//! loopback HTTP receiver started in the test: signatures (checked with an HMAC of the test's
//! own), the body, webhook ids across retries, exactly-once recording under duplicate deliveries,
//! backoff, `Retry-After`, 410, the 3-day give-up, the sweep, and logs without personal data.
//! Time moves with the manual clock only.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use mkpf_core::domain::mynapoint::*;
use mkpf_core::mykey::person::PersonId;
use mkpf_core::mynapoint::catalog::ServiceConfig;
use mkpf_core::mynapoint::dispatch::{self, SweepReport};
use mkpf_core::mynapoint::record::{self, ApplicationRecord};
use mkpf_core::mynapoint::secrets::{self, SecretOwner};
use mkpf_core::ports::store::*;
use mkpf_core::ports::{Clock, Received};
use mkpf_core::queues::PROVIDER_DISPATCH;
use mkpf_core::tables::{APPLICATIONS, PROGRAMS};
use mkpf_http::routes::consumer;
use mkpf_runtime::worker::{Outcome, settle};
use serde_json::{Value as Json, json};
use sha2::Sha256;
use time::OffsetDateTime;

const ACCOUNT: &str = "acct-7731-secretish";
const CODE: &str = "Kq7Zx9";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// What the receiver answers: status and an optional `Retry-After`.
#[derive(Clone, Debug)]
struct Reply(u16, Option<String>);

#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<Got>>,
    /// Scripted replies, then 200.
    script: Mutex<VecDeque<Reply>>,
    /// Answer slowly (to make two deliveries overlap).
    delay_ms: Mutex<u64>,
}

impl Receiver {
    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
    fn then(&self, r: Reply) {
        self.script.lock().unwrap().push_back(r);
    }
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
    r.got.lock().unwrap().push(Got { headers, body: body.to_vec() });
    let delay = *r.delay_ms.lock().unwrap();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let Reply(status, retry_after) = r.script.lock().unwrap().pop_front().unwrap_or(Reply(200, None));
    let mut resp = axum::response::Response::new(axum::body::Body::from("{}"));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(v) = retry_after {
        resp.headers_mut().insert("retry-after", v.parse().unwrap());
    }
    resp
}

/// Starts a receiver on 127.0.0.1:0; returns it and its webhook URL.
async fn receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let router = axum::Router::new().route("/webhook", axum::routing::post(hook)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (r, format!("http://{addr}/webhook"))
}

struct World {
    h: Harness,
    rx: Arc<Receiver>,
    endpoint: String,
    service: ServiceConfig,
    secret: String,
}

fn service_config(endpoint: &str) -> ServiceConfig {
    ServiceConfig {
        code: ServiceCode::parse("DEMO_PAY").unwrap(),
        provider: ProviderId::parse("demo").unwrap(),
        name: "Demo Pay".into(),
        kind: ServiceKind::QrCode,
        measures: MeasureId::ALL.to_vec(),
        code_rules: CodeRules::parse(vec![CodeRule {
            label: "PIN".into(),
            charset: CodeCharset::Alphanumeric,
            min_len: 4,
            max_len: 8,
        }])
        .unwrap(),
        intake: IntakeStatus::Accepting,
        intake_changed_at: time::macros::datetime!(2026-01-01 0:00 +9),
        endpoint: Some(endpoint.into()),
        endpoint_enabled: true,
        version: 1,
    }
}

/// A harness with the DEMO_PAY service (endpoint: the receiver) and its first signing secret.
async fn world() -> World {
    let (rx, endpoint) = receiver().await;
    world_on(harness(), rx, endpoint).await
}

/// A harness `h` with the DEMO_PAY service at `endpoint`, stored as is (as an endpoint registered
/// before today's rules, or whose name now resolves elsewhere, would be).
async fn world_on(h: Harness, rx: Arc<Receiver>, endpoint: String) -> World {
    let service = service_config(&endpoint);
    let owner = SecretOwner::Service(service.code.clone());
    let (new, op) = secrets::first_secret(&h.app, &owner).await.unwrap();
    h.app.store.transact(vec![TxOp::Put { table: &PROGRAMS, item: service.to_item(), cond: None }, op]).await.unwrap();
    World { h, rx, endpoint, service, secret: new.secret.expose() }
}

impl World {
    /// An application made `age_secs` ago, as the apply use case stores it.
    async fn application(&self, age_secs: i64) -> ApplicationRecord {
        let id = ApplicationId::from_bytes(*uuid::Uuid::new_v4().as_bytes());
        let sealed =
            self.h.app.sealer.seal(&serde_json::to_vec(&[CODE]).unwrap(), &record::codes_aad(&id)).await.unwrap();
        let rec = ApplicationRecord {
            id,
            person: PersonId::generate(),
            mykey_id: "mk-test".into(),
            measure: MeasureId::CardAcquisition,
            service: self.service.code.clone(),
            provider: self.service.provider.clone(),
            account: ServiceAccountId::parse(ACCOUNT).unwrap(),
            codes_sealed: Some(sealed),
            state: ApplicationState::Submitted,
            created_at: self.h.clock.now() - time::Duration::seconds(age_secs),
            points_cap: 5000,
            points_granted: 0,
            charge_total: 0,
            balance: None,
            request_hash: mkpf_core::mynapoint::record::RequestDigest::Legacy([0; 32]),
            dispatched_at: None,
            reason: None,
            version: 1,
        };
        self.h.app.store.put(&APPLICATIONS, rec.to_item(), None).await.unwrap();
        rec
    }

    async fn send(&self, id: &ApplicationId) {
        self.h.app.queue.send(&PROVIDER_DISPATCH, dispatch::message(id)).await.unwrap();
    }

    async fn receive(&self) -> Vec<Received> {
        self.h.app.queue.receive(&PROVIDER_DISPATCH, 10, Duration::ZERO).await.unwrap()
    }

    async fn receive_one(&self) -> Received {
        let mut got = self.receive().await;
        assert_eq!(got.len(), 1, "expected one message");
        got.pop().unwrap()
    }

    async fn settle(&self, m: &Received) -> Outcome {
        settle(&self.h.app, consumer("provider-dispatch").unwrap(), m, true).await
    }

    /// Sends the application's message and settles it.
    async fn dispatch(&self, id: &ApplicationId) -> Outcome {
        self.send(id).await;
        let m = self.receive_one().await;
        self.settle(&m).await
    }

    async fn item(&self, id: &ApplicationId) -> Item {
        self.h.app.store.get(&APPLICATIONS, &record::app_key(id)).await.unwrap().unwrap()
    }

    async fn sweep(&self) -> SweepReport {
        dispatch::sweep(&self.h.app).await.unwrap()
    }

    fn advance(&self, secs: i64) {
        self.h.clock.advance(time::Duration::seconds(secs));
    }
}

fn metric(h: &Harness, name: &str, outcome: Option<&str>) -> f64 {
    h.app
        .metrics
        .snapshot()
        .iter()
        .filter(|s| {
            s.name == name && outcome.is_none_or(|o| s.dimensions.get("outcome").map(String::as_str) == Some(o))
        })
        .map(|s| s.sum)
        .sum()
}

/// Verifies a Standard Webhooks signature independently of `mkpf_core::webhooks`: `true` if any `v1`
/// signature of the header is the HMAC-SHA256 of `id.timestamp.body` under `secret`.
fn signed_by(g: &Got, secret: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let id = g.headers["webhook-id"].to_str().unwrap();
    let ts = g.headers["webhook-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&g.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    g.headers["webhook-signature"].to_str().unwrap().split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn a_delivery_is_signed_has_the_documented_body_and_is_recorded_once() {
    let w = world().await;
    let rec = w.application(5).await;
    assert_eq!(w.dispatch(&rec.id).await, Outcome::Done);

    let got = w.rx.got();
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(g.headers["webhook-id"], rec.id.as_str());
    assert_eq!(g.headers["webhook-timestamp"], w.h.clock.now().unix_timestamp().to_string().as_str());
    assert_eq!(g.headers["content-type"], "application/json");
    assert!(signed_by(g, &w.secret), "the signature verifies with the service's secret");
    assert!(!signed_by(g, &mkpf_core::webhooks::WebhookSecret::generate().expose()));
    let text = String::from_utf8(g.body.clone()).unwrap();
    assert!(text.starts_with(r#"{"type":"application.submitted","timestamp":""#), "{text}");
    let now_jst = mkpf_core::domain::time_fmt::to_jst(w.h.clock.now());
    assert!(now_jst.ends_with("+09:00"));
    let body: Json = serde_json::from_slice(&g.body).unwrap();
    assert_eq!(
        body,
        json!({"type": "application.submitted", "timestamp": now_jst, "data": {
            "application_id": rec.id.as_str(), "measure": "card_acquisition", "service_code": "DEMO_PAY",
            "service_account_id": ACCOUNT, "security_codes": [CODE], "points_cap": 5000,
            "applied_at": mkpf_core::domain::time_fmt::to_jst(rec.created_at)}})
    );

    let item = w.item(&rec.id).await;
    let stored = ApplicationRecord::from_item(&item).unwrap();
    assert_eq!(stored.state, ApplicationState::Dispatched);
    assert_eq!(stored.dispatched_at, Some(w.h.clock.now()));
    assert_eq!(stored.version, 2);
    assert!(!item.contains_key("gsi2pk") && !item.contains_key("gsi2sk"), "the outbox entry is gone");
    let events = record::events(&w.h.app, &rec.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "application.dispatched");
    let audited: Vec<_> =
        all_records(&w.h).await.into_iter().filter(|r| r.action == "mynapoint.application_dispatch").collect();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor.kind, "job");
    assert!(!audited[0].to_json().contains(ACCOUNT));
    assert_eq!(metric(&w.h, "dispatch", Some("delivered")), 1.0);

    // A later duplicate of the message is done without another POST.
    assert_eq!(w.dispatch(&rec.id).await, Outcome::Done);
    assert_eq!(w.rx.got().len(), 1);
    assert_eq!(metric(&w.h, "dispatch", Some("already_done")), 1.0);
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign() {
    let w = world().await;
    let owner = SecretOwner::Service(w.service.code.clone());
    let ctx = mkpf_core::audit::Context::new(mkpf_core::audit::Actor::cli("test"));
    let new = secrets::rotate(&w.h.app, &ctx, &owner, secrets::Overlap::default(), "mynapoint.service_secret_rotate")
        .await
        .unwrap();
    let rec = w.application(0).await;
    assert_eq!(w.dispatch(&rec.id).await, Outcome::Done);
    let g = &w.rx.got()[0];
    assert_eq!(g.headers["webhook-signature"].to_str().unwrap().split(' ').count(), 2);
    assert!(signed_by(g, &w.secret) && signed_by(g, &new.secret.expose()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_deliveries_of_one_message_are_recorded_once() {
    let w = world().await;
    let rec = w.application(0).await;
    // The same message delivered twice (SQS is at-least-once), both in flight at once.
    w.send(&rec.id).await;
    w.send(&rec.id).await;
    let msgs = w.receive().await;
    assert_eq!(msgs.len(), 2);
    *w.rx.delay_ms.lock().unwrap() = 200;
    let (a, b) = tokio::join!(w.settle(&msgs[0]), w.settle(&msgs[1]));
    assert_eq!((a, b), (Outcome::Done, Outcome::Done));

    let got = w.rx.got();
    assert_eq!(got.len(), 2, "both deliveries POSTed (the provider dedupes)");
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    let stored = ApplicationRecord::from_item(&w.item(&rec.id).await).unwrap();
    assert_eq!((stored.state, stored.version), (ApplicationState::Dispatched, 2));
    assert_eq!(record::events(&w.h.app, &rec.id).await.unwrap().len(), 1, "one dispatched event");
    let audited = all_records(&w.h).await.into_iter().filter(|r| r.action == "mynapoint.application_dispatch").count();
    assert_eq!(audited, 1);
    assert_eq!(metric(&w.h, "dispatch", Some("delivered")), 1.0);
    assert_eq!(metric(&w.h, "dispatch", Some("already_done")), 1.0);
    assert_eq!(w.h.app.queue.depth(&PROVIDER_DISPATCH).await.unwrap(), Default::default());
}

#[tokio::test]
async fn failures_back_off_exponentially_with_the_same_webhook_id_and_the_sweep_waits() {
    let w = world().await;
    let rec = w.application(0).await;
    w.rx.then(Reply(500, None));
    w.rx.then(Reply(502, None));
    w.send(&rec.id).await;

    let m = w.receive_one().await;
    let Outcome::Retried { after_secs: first } = w.settle(&m).await else { panic!("retried") };
    assert!((15..=30).contains(&first), "30 s with equal jitter: {first}");
    let item = w.item(&rec.id).await;
    assert_eq!(item.opt_n("dispatch_attempts"), Some(1));
    assert_eq!(item.opt_s("dispatch_last_error"), Some("http_500"));
    // The outbox entry is due after the retry, so the sweep does not send a second message.
    w.advance(first as i64 - 1);
    assert!(w.receive().await.is_empty(), "invisible during the backoff");
    assert_eq!(w.sweep().await, SweepReport::default());

    w.advance(1);
    let m = w.receive_one().await;
    let Outcome::Retried { after_secs: second } = w.settle(&m).await else { panic!("retried") };
    assert!((30..=60).contains(&second), "60 s with equal jitter: {second}");
    w.advance(second as i64);
    let m = w.receive_one().await;
    assert_eq!(w.settle(&m).await, Outcome::Done);

    let got = w.rx.got();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|g| g.headers["webhook-id"] == rec.id.as_str() && signed_by(g, &w.secret)));
    assert_ne!(got[0].headers["webhook-timestamp"], got[2].headers["webhook-timestamp"], "each attempt signs anew");
    assert_eq!(ApplicationRecord::from_item(&w.item(&rec.id).await).unwrap().state, ApplicationState::Dispatched);
    assert_eq!(metric(&w.h, "dispatch", Some("failed")), 2.0);
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let w = world().await;
    let rec = w.application(0).await;
    w.rx.then(Reply(503, Some("120".into())));
    // Answered 120 s from now, it asks for 300 s more.
    let at = w.h.clock.now() + time::Duration::seconds(420);
    let date = at
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .unwrap();
    w.rx.then(Reply(429, Some(date)));
    w.rx.then(Reply(503, Some("86400000".into())));
    w.rx.then(Reply(429, None));

    assert_eq!(w.dispatch(&rec.id).await, Outcome::Retried { after_secs: 120 });
    w.advance(119);
    assert!(w.receive().await.is_empty());
    w.advance(1);
    let m = w.receive_one().await;
    assert_eq!(w.settle(&m).await, Outcome::Retried { after_secs: 300 });
    w.advance(300);
    let m = w.receive_one().await;
    assert_eq!(w.settle(&m).await, Outcome::Retried { after_secs: 12 * 3600 }, "capped at 12 h");
    w.advance(12 * 3600);
    // 429 without Retry-After: the usual backoff (attempt 4: 240 s with jitter).
    let m = w.receive_one().await;
    let Outcome::Retried { after_secs } = w.settle(&m).await else { panic!("retried") };
    assert!((120..=240).contains(&after_secs), "{after_secs}");
    // A Retry-After shorter than the backoff does not shorten it (attempt 5: 480 s with jitter).
    w.rx.then(Reply(503, Some("1".into())));
    w.advance(after_secs as i64);
    let m = w.receive_one().await;
    let Outcome::Retried { after_secs } = w.settle(&m).await else { panic!("retried") };
    assert!((240..=480).contains(&after_secs), "{after_secs}");
    assert_eq!(metric(&w.h, "dispatch", Some("retry_after")), 4.0);
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_the_sweep_resends_after_an_operator_enables_it() {
    let w = world().await;
    let rec = w.application(0).await;
    let other = w.application(0).await;
    w.rx.then(Reply(410, None));
    assert_eq!(w.dispatch(&rec.id).await, Outcome::Done, "the message is finished");

    let svc =
        w.h.app
            .store
            .get(&PROGRAMS, &mkpf_core::mynapoint::catalog::service_key(&w.service.code))
            .await
            .unwrap()
            .unwrap();
    let cfg = ServiceConfig::from_item(&svc).unwrap();
    assert!(!cfg.endpoint_enabled);
    assert_eq!(cfg.version, 2);
    assert!(svc.opt_s("endpoint_disabled_reason").unwrap().contains("410"));
    let audited: Vec<_> =
        all_records(&w.h).await.into_iter().filter(|r| r.action == "mynapoint.service_endpoint_disable").collect();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].targets, vec!["service:DEMO_PAY".to_owned()]);
    let item = w.item(&rec.id).await;
    assert_eq!(item.opt_s("state"), Some("submitted"));
    assert_eq!(item.opt_s("gsi2pk"), Some("OUTBOX#WAIT#DEMO_PAY"));

    // Another application's message: nothing is sent while the endpoint is disabled.
    assert_eq!(w.dispatch(&other.id).await, Outcome::Done);
    assert_eq!(w.rx.got().len(), 1);
    w.advance(600);
    assert_eq!(w.sweep().await, SweepReport::default(), "nothing to send while disabled");

    // An operator enables the endpoint again: the sweep sends both, the consumer delivers them.
    let enabled = ServiceConfig { endpoint_enabled: true, version: 3, ..cfg };
    w.h.app.store.put(&PROGRAMS, enabled.to_item(), None).await.unwrap();
    w.h.app.catalog.clear();
    assert_eq!(w.sweep().await, SweepReport { resent: 2, ..Default::default() });
    for m in w.receive().await {
        assert_eq!(w.settle(&m).await, Outcome::Done);
    }
    for id in [&rec.id, &other.id] {
        assert_eq!(w.item(id).await.opt_s("state"), Some("dispatched"));
    }
    assert_eq!(w.rx.got().len(), 3);
    assert_eq!(metric(&w.h, "dispatch", Some("gone")), 1.0);
}

#[tokio::test]
async fn after_three_days_the_message_is_dead_lettered_once_and_the_application_waits() {
    let w = world().await;
    let rec = w.application(0).await;
    w.rx.then(Reply(500, None));
    let Outcome::Retried { .. } = w.dispatch(&rec.id).await else { panic!("retried") };
    w.advance(3 * 24 * 3600);
    // Every receive is rejected until the queue moves the message to its dead-letter queue.
    let mut receives = 0;
    loop {
        let got = w.receive().await;
        let Some(m) = got.first() else { break };
        assert_eq!(w.settle(m).await, Outcome::Rejected);
        receives += 1;
        assert!(receives <= PROVIDER_DISPATCH.max_receives, "the message never left");
    }
    assert_eq!(w.h.app.queue.depth(&PROVIDER_DISPATCH).await.unwrap().dead_letters, 1);
    assert_eq!(metric(&w.h, "dispatch_dead_lettered", None), 1.0, "counted once");
    assert_eq!(w.rx.got().len(), 1, "no POST after giving up");
    let item = w.item(&rec.id).await;
    assert_eq!(item.opt_s("state"), Some("submitted"));
    assert_eq!(item.opt_s("gsi2pk"), Some(dispatch::OUTBOX_DEAD));
    assert!(item.opt_s("codes").is_some(), "kept for an operator");
    // The sweep leaves given-up applications alone.
    w.advance(3600);
    assert_eq!(w.sweep().await, SweepReport::default());
}

#[tokio::test]
async fn the_sweep_resends_only_old_undelivered_applications_once_per_lease() {
    let w = world().await;
    let old = w.application(120).await;
    let fresh = w.application(10).await;
    let delivered = w.application(300).await;
    assert_eq!(w.dispatch(&delivered.id).await, Outcome::Done);
    // A stale outbox entry (a state change that left it behind) is cleaned.
    let mut stale = w.application(600).await;
    stale.state = ApplicationState::Accepted;
    let mut item = stale.to_item();
    item.insert("gsi2pk".into(), Value::S(record::outbox_gsi(record::outbox_shard(&stale.id))));
    item.insert("gsi2sk".into(), Value::S(format!("{:012}#{}", stale.created_at.unix_timestamp(), stale.id)));
    w.h.app.store.put(&APPLICATIONS, item, None).await.unwrap();

    assert_eq!(w.sweep().await, SweepReport { resent: 1, cleaned: 1, ..Default::default() });
    let msgs = w.receive().await;
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].body.contains(old.id.as_str()));
    assert!(!w.item(&stale.id).await.contains_key("gsi2pk"));
    // Not again while the re-sent message has its lease.
    w.advance(60);
    assert_eq!(w.sweep().await, SweepReport { resent: 1, ..Default::default() }, "only `fresh`, now old enough");
    w.advance(dispatch::SWEEP_LEASE_SECS - 60);
    assert_eq!(w.sweep().await.resent, 0);
    w.advance(120);
    assert_eq!(w.sweep().await.resent, 2, "both leases ran out undelivered");
    // Delivering each (the doubles are deduped) empties the outbox.
    loop {
        let msgs = w.receive().await;
        if msgs.is_empty() {
            break;
        }
        for m in &msgs {
            assert_eq!(w.settle(m).await, Outcome::Done);
        }
    }
    assert_eq!(w.h.app.queue.depth(&PROVIDER_DISPATCH).await.unwrap(), Default::default());
    assert_eq!(w.rx.got().iter().filter(|g| g.headers["webhook-id"] == fresh.id.as_str()).count(), 1);
    assert_eq!(w.rx.got().iter().filter(|g| g.headers["webhook-id"] == old.id.as_str()).count(), 1);
    w.advance(3600);
    assert_eq!(w.sweep().await, SweepReport::default());
}

#[tokio::test]
async fn unknown_applications_and_bad_messages_are_rejected() {
    let w = world().await;
    let missing = ApplicationId::from_bytes([7; 16]);
    w.send(&missing).await;
    w.h.app.queue.send(&PROVIDER_DISPATCH, mkpf_core::ports::OutMessage::new("{\"id\":1}")).await.unwrap();
    // Rejected messages come back at once until the queue dead-letters them.
    loop {
        let msgs = w.receive().await;
        if msgs.is_empty() {
            break;
        }
        for m in &msgs {
            assert_eq!(w.settle(m).await, Outcome::Rejected);
        }
    }
    assert_eq!(w.h.app.queue.depth(&PROVIDER_DISPATCH).await.unwrap().dead_letters, 2);
    assert!(w.rx.got().is_empty());
}

/// A writer the test's subscriber logs into.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_no_account_code_body_endpoint_or_secret() {
    let cap = Captured::default();
    let sink = cap.clone();
    // The platform's own events down to debug; libraries at info, as deployed (`MKPF_LOG=info`).
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,mkpf=debug"))
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let w = world().await;
    let a = w.application(0).await;
    let b = w.application(0).await;
    w.rx.then(Reply(500, None));
    w.rx.then(Reply(503, Some("5".into())));
    let _ = w.dispatch(&a.id).await;
    let _ = w.dispatch(&b.id).await;
    w.advance(3600);
    for m in w.receive().await {
        w.settle(&m).await;
    }
    let gone = w.application(0).await;
    w.rx.then(Reply(410, None));
    w.dispatch(&gone.id).await;
    let late = w.application(4 * 24 * 3600).await;
    w.dispatch(&late.id).await;

    let text = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(a.id.as_str()), "the capture works: {text}");
    let b64_key = w.secret.strip_prefix("whsec_").unwrap();
    for secret in [ACCOUNT, CODE, &w.endpoint, "127.0.0.1", b64_key, "security_codes", "service_account_id"] {
        assert!(!text.contains(secret), "{secret:?} logged:\n{text}");
    }
}

#[test]
fn the_sweep_runs_every_minute_and_the_consumer_reads_the_dispatch_queue() {
    let job = mkpf_http::routes::job("dispatch-sweep").unwrap();
    assert_eq!(job.schedule.expression(), "rate(1 minute)");
    let c = consumer("provider-dispatch").unwrap();
    assert_eq!(c.queue.name, "provider-dispatch");
    let _ = OffsetDateTime::UNIX_EPOCH;
}

/// Issue #12, defect 8: on the AWS backend a dispatch never connects to the platform's own
/// network — loopback (the Lambda runtime API is `127.0.0.1:9001`), a name resolving to it, an
/// IPv4-mapped IPv6 literal — even when such an endpoint is already stored. Loopback `http` is a
/// local-backend convenience only.
#[tokio::test]
async fn on_aws_a_dispatch_never_connects_inside() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    // Counts connections and drops them (so a client that got in fails at once).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, SeqCst);
            drop(s);
        }
    });
    for endpoint in [
        format!("http://127.0.0.1:{port}/webhook"),
        format!("https://localhost:{port}/webhook"),
        format!("https://[::ffff:127.0.0.1]:{port}/webhook"),
    ] {
        let h = harness_with(|c| c.backend = mkpf_core::config::Backend::Aws);
        let w = world_on(h, Arc::new(Receiver::default()), endpoint.clone()).await;
        let rec = w.application(0).await;
        w.dispatch(&rec.id).await;
        assert_eq!(connections.load(SeqCst), 0, "{endpoint}: the dispatch connected inside");
        let item = w.item(&rec.id).await;
        assert_eq!(item.get("state").and_then(Value::as_s), Some("submitted"), "{endpoint}");
        assert!(!item.contains_key("dispatched_at"), "{endpoint}");
    }
}
