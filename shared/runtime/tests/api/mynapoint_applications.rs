//! Mynapoint applications and provider callbacks through the real router on the embedded store:
//! the contract, every refusal with its code (audited, nothing written), idempotency, the
//! uniqueness invariants under concurrency, and the callback state machine.

use crate::helpers;
use crate::helpers::{Harness, TestCitizen, harness};
use mkpf_core::audit::{Actor, Context};
use mkpf_core::domain::mynapoint::{ApplicationId, MeasureId, ServiceCode};
use mkpf_core::mynapoint::services::{self, DemoSeed};
use mkpf_core::ports::store::*;
use mkpf_core::tables::APPLICATIONS;
use mkpf_core::webhooks::WebhookSecret;

const APPLY: &str = "/v1/mynapoint/applications";

fn ctx() -> Context {
    Context::new(Actor::cli("test"))
}

struct World {
    h: Harness,
    seed: DemoSeed,
}

async fn world() -> World {
    let h = harness();
    let seed = services::seed_demo(&h.app, &ctx(), "http://127.0.0.1:9/hook").await.unwrap();
    World { h, seed }
}

/// A signed-in citizen with a MyKey ID.
async fn member(h: &Harness) -> TestCitizen {
    let c = h.citizen().await;
    let r = h.call("POST", "/v1/mykey-ids").bearer(&c.token).send().await;
    assert_eq!(r.status, 201, "{}", r.body);
    c
}

fn body(measure: &str, account: &str, codes: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "measure": measure,
        "service_code": "DEMO_PAY",
        "service_account_id": account,
        "security_codes": codes,
    })
}

async fn apply(h: &Harness, c: &TestCitizen, key: &str, b: serde_json::Value) -> helpers::Resp {
    h.call("POST", APPLY).bearer(&c.token).header("idempotency-key", key).json(b).send().await
}

async fn app_items(h: &Harness) -> Vec<Item> {
    // Every application item, through the outbox and person indexes' source: scan by querying
    // each known person is awkward, so read the provider/day index of the demo provider.
    let day = mkpf_core::mynapoint::record::provider_day_gsi(
        &mkpf_core::domain::mynapoint::ProviderId::parse("demo").unwrap(),
        h.app.clock.now(),
    );
    h.app.store.query(Query::new(&APPLICATIONS, day).index("gsi1")).await.unwrap().items
}

#[tokio::test]
async fn applying_writes_one_sealed_application_and_queues_its_dispatch() {
    let w = world().await;
    let c = member(&w.h).await;
    let r = apply(&w.h, &c, "k1", body("card_acquisition", "ACC-0001234", &["4321"])).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["application_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("app_"));
    assert_eq!(r.header("location"), Some(format!("/v1/mynapoint/applications/{id}").as_str()));
    assert_eq!(r.body["state"], "submitted");
    assert_eq!(r.body["points_cap"], 5000);
    assert_eq!(r.body["points_remaining"], 5000);
    assert_eq!(r.body["service_account_hint"], "*******1234");
    assert!(r.header("idempotent-replayed").is_none());

    // Stored: codes only sealed; in the outbox; the dispatch message queued.
    let items = app_items(&w.h).await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    let codes = item.get("codes").and_then(Value::as_s).unwrap();
    assert!(!codes.contains("4321"), "security codes are never stored in clear");
    assert!(item.get("gsi2pk").is_some(), "waiting for dispatch");
    let rec = mkpf_core::mynapoint::record::ApplicationRecord::from_item(item).unwrap();
    assert_eq!(
        mkpf_core::mynapoint::record::open_codes(&w.h.app, &rec).await.unwrap().unwrap(),
        vec!["4321".to_owned()]
    );
    let msgs =
        w.h.app.queue.receive(&mkpf_core::queues::PROVIDER_DISPATCH, 10, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&msgs[0].body).unwrap()["application_id"], id.as_str());

    // Audited, without the account id or the codes.
    let records = helpers::all_records(&w.h).await;
    let rec = records.iter().find(|r| r.action == "mynapoint.apply").expect("audited");
    assert!(rec.targets.contains(&format!("application:{id}")));
    let all = serde_json::to_string(&records.iter().map(|r| r.to_json()).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("ACC-0001234") && !all.contains("4321"), "no personal data in the audit trail");

    // The citizen's list and detail.
    let l = w.h.call("GET", APPLY).bearer(&c.token).send().await;
    assert_eq!(l.status, 200);
    assert_eq!(l.body["applications"].as_array().unwrap().len(), 1);
    let d = w.h.call("GET", &format!("{APPLY}/{id}")).bearer(&c.token).send().await;
    assert_eq!((d.status.as_u16(), &d.body["application"]["application_id"]), (200, &serde_json::json!(id)));
    let other = member(&w.h).await;
    let d = w.h.call("GET", &format!("{APPLY}/{id}")).bearer(&other.token).send().await;
    assert_eq!((d.status.as_u16(), d.code()), (404, "application_unknown"));
}

#[tokio::test]
async fn retries_replay_and_a_second_application_is_refused() {
    let w = world().await;
    let c = member(&w.h).await;
    let b = body("card_acquisition", "ACC-1", &["1111"]);
    let first = apply(&w.h, &c, "same", b.clone()).await;
    assert_eq!(first.status, 201);
    let again = apply(&w.h, &c, "same", b.clone()).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["application_id"], first.body["application_id"]);
    let reused = apply(&w.h, &c, "same", body("card_acquisition", "ACC-1", &["2222"])).await;
    assert_eq!((reused.status.as_u16(), reused.code()), (422, "idempotency_key_reused"));
    let second = apply(&w.h, &c, "other", b).await;
    assert_eq!((second.status.as_u16(), second.code()), (409, "already_applied"));
    let missing = w.h.call("POST", APPLY).bearer(&c.token).json(body("card_acquisition", "A", &["1"])).send().await;
    assert_eq!((missing.status.as_u16(), missing.code()), (400, "idempotency_key_required"));
    assert_eq!(app_items(&w.h).await.len(), 1, "one application");
    // The retry that was replayed after the period closed still answers with the application.
    mkpf_core::mynapoint::measures::suspend(
        &w.h.app,
        &ctx(),
        MeasureId::CardAcquisition,
        &mkpf_core::mynapoint::measures::Reason::parse("test").unwrap(),
        None,
    )
    .await
    .unwrap();
    let late = apply(&w.h, &c, "same", body("card_acquisition", "ACC-1", &["1111"])).await;
    assert_eq!((late.status.as_u16(), late.header("idempotent-replayed")), (201, Some("true")));
}

#[tokio::test]
async fn concurrent_applications_make_exactly_one() {
    let w = world().await;
    let c = member(&w.h).await;
    let mut tasks = Vec::new();
    let h = std::sync::Arc::new(w.h);
    for i in 0..16 {
        let (h, token) = (h.clone(), c.token.clone());
        tasks.push(tokio::spawn(async move {
            h.call("POST", APPLY)
                .bearer(&token)
                .header("idempotency-key", &format!("k{i}"))
                .json(body("card_acquisition", &format!("ACC-{i}"), &["1234"]))
                .send()
                .await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        codes.push(if r.status == 201 { "created".to_owned() } else { r.code().to_owned() });
    }
    assert_eq!(codes.iter().filter(|c| *c == "created").count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| c == "created" || c == "already_applied"), "{codes:?}");

    // Eight people, one service account: one of them gets it.
    let mut people = Vec::new();
    for _ in 0..8 {
        people.push(member(&h).await);
    }
    let mut tasks = Vec::new();
    for p in people {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.call("POST", APPLY)
                .bearer(&p.token)
                .header("idempotency-key", "k")
                .json(body("card_acquisition", "SHARED-ACCOUNT", &["1234"]))
                .send()
                .await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        codes.push(if r.status == 201 { "created".to_owned() } else { r.code().to_owned() });
    }
    assert_eq!(codes.iter().filter(|c| *c == "created").count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| c == "created" || c == "service_account_taken"), "{codes:?}");
    assert_eq!(app_items(&h).await.len(), 2);
}

#[tokio::test]
async fn every_refusal_has_its_code_is_audited_and_writes_nothing() {
    let w = world().await;
    let h = &w.h;
    let c = member(h).await;
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (body("measure_9", "A1", &["1234"]), 422, "invalid_field"),
        (
            serde_json::json!({"measure": "card_acquisition", "service_code": "NOPE", "service_account_id": "A1", "security_codes": ["1234"]}),
            422,
            "service_unknown",
        ),
        (
            serde_json::json!({"measure": "card_acquisition", "service_code": "bad code", "service_account_id": "A1", "security_codes": ["1234"]}),
            422,
            "invalid_field",
        ),
        (body("card_acquisition", "A 1", &["1234"]), 422, "invalid_field"),
        (body("card_acquisition", "A1", &["123"]), 422, "security_codes_invalid"),
        (body("card_acquisition", "A1", &["12a4"]), 422, "security_codes_invalid"),
        (body("card_acquisition", "A1", &["1234", "5678"]), 422, "security_codes_invalid"),
        (body("card_acquisition", "A1", &[]), 422, "invalid_field"),
        (body("health_insurance", "A1", &["1234"]), 403, "health_insurance_not_registered"),
        (body("public_funds_account", "A1", &["1234"]), 403, "public_funds_account_not_registered"),
        (
            serde_json::json!({"measure": "card_acquisition", "service_code": "DEMO_PAY", "service_account_id": "A1", "security_codes": ["1234"], "extra": 1}),
            422,
            "invalid_field",
        ),
    ];
    for (i, (b, status, code)) in cases.into_iter().enumerate() {
        let r = apply(h, &c, &format!("bad-{i}"), b.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{b}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    assert!(app_items(h).await.is_empty(), "nothing written");
    let denied: Vec<String> = helpers::all_records(h)
        .await
        .into_iter()
        .filter(|r| r.action == "mynapoint.apply")
        .map(|r| r.detail["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    for code in [
        "service_unknown",
        "security_codes_invalid",
        "health_insurance_not_registered",
        "public_funds_account_not_registered",
    ] {
        assert!(denied.iter().any(|d| d == code), "{code} audited: {denied:?}");
    }

    // Without a MyKey ID.
    let no_id = h.citizen().await;
    let r = apply(h, &no_id, "x", body("card_acquisition", "B1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "mykey_id_required"));
    // A revoked card.
    let revoked = member(h).await;
    h.revoke_cert(&revoked.cert).await;
    let r = apply(h, &revoked, "x", body("card_acquisition", "C1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "person_lapsed"));
    // A session that was ended (the token is still within its lifetime).
    let ended = member(h).await;
    let r = h.call("DELETE", "/v1/card-auth/sessions/current").bearer(&ended.token).send().await;
    assert_eq!(r.status, 204);
    let r = apply(h, &ended, "x", body("card_acquisition", "D1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "session_ended"));
    // Service intake closed, then measure suspended: at once, whatever the process cached.
    let code = ServiceCode::parse("DEMO_PAY").unwrap();
    mkpf_core::mynapoint::catalog::service(&h.app, &code).await.unwrap();
    let closing = member(h).await;
    services::set_intake(&h.app, &ctx(), &code, mkpf_core::domain::mynapoint::IntakeStatus::IntakeClosed, None)
        .await
        .unwrap();
    let r = apply(h, &closing, "x", body("card_acquisition", "E1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "service_not_accepting"));
    services::set_intake(&h.app, &ctx(), &code, mkpf_core::domain::mynapoint::IntakeStatus::Accepting, None)
        .await
        .unwrap();
    mkpf_core::mynapoint::measures::suspend(
        &h.app,
        &ctx(),
        MeasureId::CardAcquisition,
        &mkpf_core::mynapoint::measures::Reason::parse("audit finding").unwrap(),
        None,
    )
    .await
    .unwrap();
    let r = apply(h, &closing, "y", body("card_acquisition", "E1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "measure_closed"));
    assert!(app_items(h).await.is_empty(), "nothing written");
}

/// The cache may be stale; the transaction's own checks are not: a suspension made by another
/// process (written straight to the store here) stops the next application.
#[tokio::test]
async fn suspension_by_another_process_takes_effect_at_once() {
    let w = world().await;
    let h = &w.h;
    let c = member(h).await;
    // Warm this process's cache with the open measure.
    let m = mkpf_core::mynapoint::catalog::measure(&h.app, MeasureId::CardAcquisition).await.unwrap().unwrap();
    assert!(m.is_open_at(h.app.clock.now()));
    let mut suspended = m.clone();
    suspended.status = mkpf_core::mynapoint::catalog::MeasureStatus::Suspended;
    h.app.store.put(&mkpf_core::tables::PROGRAMS, suspended.to_item(), None).await.unwrap();
    let r = apply(h, &c, "k", body("card_acquisition", "F1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "measure_closed"), "{}", r.body);
    assert!(app_items(h).await.is_empty());
}

#[tokio::test]
async fn eligibility_facts_set_the_cap() {
    let w = world().await;
    let h = &w.h;
    let c = member(h).await;
    let put_fact = |sk: &str, attr: &str, v: Value| {
        let mut i = Item::new();
        i.insert("pk".into(), format!("PERSON#{}", c.person_id).into());
        i.insert("sk".into(), sk.into());
        i.insert(attr.into(), v);
        i
    };
    for i in [
        put_fact("ELIG#phase1_points", "points", Value::N(3200)),
        put_fact("ELIG#health_insurance", "registered_on", "2026-10-01".into()),
    ] {
        h.app.store.put(&mkpf_core::tables::PEOPLE, i, None).await.unwrap();
    }
    let r = apply(h, &c, "m1", body("card_acquisition", "G1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), &r.body["points_cap"]), (201, &serde_json::json!(1800)), "{}", r.body);
    let r = apply(h, &c, "m2", body("health_insurance", "G1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), &r.body["points_cap"]), (201, &serde_json::json!(7500)), "{}", r.body);
    let full = member(h).await;
    let mut i = put_fact("ELIG#phase1_points", "points", Value::N(5000));
    i.insert("pk".into(), format!("PERSON#{}", full.person_id).into());
    h.app.store.put(&mkpf_core::tables::PEOPLE, i, None).await.unwrap();
    let r = apply(h, &full, "m1", body("card_acquisition", "H1", &["1234"])).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "phase1_cap_reached"));
}

// ---- callbacks ----

struct Signed {
    id: String,
    ts: i64,
    body: Vec<u8>,
}

async fn callback(h: &Harness, provider: &str, secret: &WebhookSecret, s: &Signed) -> helpers::Resp {
    h.call("POST", &format!("/v1/providers/{provider}/callbacks"))
        .header("webhook-id", &s.id)
        .header("webhook-timestamp", &s.ts.to_string())
        .header("webhook-signature", &secret.sign(&s.id, s.ts, &s.body))
        .raw("application/json", s.body.clone())
        .send()
        .await
}

fn report(h: &Harness, webhook_id: &str, kind: &str, data: serde_json::Value) -> Signed {
    let body = serde_json::json!({"type": kind, "timestamp": "2026-11-25T21:00:00+09:00", "data": data});
    Signed { id: webhook_id.into(), ts: h.app.clock.epoch_secs(), body: serde_json::to_vec(&body).unwrap() }
}

#[tokio::test]
async fn provider_callbacks_drive_the_application() {
    let w = world().await;
    let (h, secret) = (&w.h, &w.seed.callback_secret);
    let c = member(h).await;
    let r = apply(h, &c, "k", body("card_acquisition", "ACC-77", &["1234"])).await;
    let id = r.body["application_id"].as_str().unwrap().to_owned();

    // Points before acceptance: refused.
    let early = report(
        h,
        "wh-0",
        "points.granted",
        serde_json::json!({"application_id": id, "points": 100, "granted_on": "2026-11-26", "charge_amount": 400}),
    );
    let r = callback(h, "demo", secret, &early).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "transition_invalid"), "{}", r.body);

    let acc = report(h, "wh-1", "application.accepted", serde_json::json!({"application_id": id}));
    let r = callback(h, "demo", secret, &acc).await;
    assert_eq!((r.status.as_u16(), &r.body["state"]), (200, &serde_json::json!("accepted")), "{}", r.body);
    let r = callback(h, "demo", secret, &acc).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["result"]),
        (200, &serde_json::json!("duplicate")),
        "a replay changes nothing"
    );
    let item = h
        .app
        .store
        .get(&APPLICATIONS, &mkpf_core::mynapoint::record::app_key(&ApplicationId::parse(&id).unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert!(!item.contains_key("codes") && !item.contains_key("gsi2pk"), "codes dropped once the provider has them");

    let g1 = report(
        h,
        "wh-2",
        "points.granted",
        serde_json::json!({"application_id": id, "points": 4000, "granted_on": "2026-11-26", "charge_amount": 16000}),
    );
    assert_eq!(callback(h, "demo", secret, &g1).await.status, 200);
    let over = report(
        h,
        "wh-3",
        "points.granted",
        serde_json::json!({"application_id": id, "points": 1001, "granted_on": "2026-11-27", "charge_amount": 4004}),
    );
    let r = callback(h, "demo", secret, &over).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "grant_over_cap"));
    let r = callback(h, "demo", secret, &over).await;
    assert_eq!(r.body["result"], "duplicate", "the refused grant's webhook id is spent too");
    let no_charge = report(
        h,
        "wh-4",
        "points.granted",
        serde_json::json!({"application_id": id, "points": 10, "granted_on": "2026-11-27"}),
    );
    assert_eq!(callback(h, "demo", secret, &no_charge).await.code(), "charge_amount_required");
    let bal = report(h, "wh-5", "balance.reported", serde_json::json!({"application_id": id, "balance": 3950}));
    assert_eq!(callback(h, "demo", secret, &bal).await.status, 200);

    let d = h.call("GET", &format!("{APPLY}/{id}")).bearer(&c.token).send().await;
    let a = &d.body["application"];
    assert_eq!(
        (a["points_granted"].as_i64(), a["points_remaining"].as_i64(), a["balance"].as_i64()),
        (Some(4000), Some(1000), Some(3950))
    );
    let kinds: Vec<(&str, &str)> = d.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("application.accepted", "applied"),
            ("points.granted", "applied"),
            ("points.granted", "refused_over_cap"),
            ("balance.reported", "applied")
        ]
    );
    let stop = report(h, "wh-6", "link.stopped", serde_json::json!({"application_id": id, "reason": "account_closed"}));
    let r = callback(h, "demo", secret, &stop).await;
    assert_eq!(r.body["state"], "stopped");
}

#[tokio::test]
async fn forged_stale_foreign_and_malformed_callbacks_are_refused_and_audited() {
    let w = world().await;
    let (h, secret) = (&w.h, &w.seed.callback_secret);
    let c = member(h).await;
    let id = apply(h, &c, "k", body("card_acquisition", "ACC-8", &["1234"])).await.body["application_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acc = report(h, "wh-1", "application.accepted", serde_json::json!({"application_id": id}));

    let r = callback(h, "demo", &WebhookSecret::generate(), &acc).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "signature_invalid"));
    let unsigned =
        h.call("POST", "/v1/providers/demo/callbacks").raw("application/json", acc.body.clone()).send().await;
    assert_eq!((unsigned.status.as_u16(), unsigned.code()), (401, "signature_missing"));
    let stale = Signed {
        ts: acc.ts - 301,
        ..report(h, "wh-2", "application.accepted", serde_json::json!({"application_id": id}))
    };
    let r = callback(h, "demo", secret, &stale).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "timestamp_stale"));
    let r = callback(h, "nobody", secret, &acc).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "provider_unknown"));
    // Another provider, correctly signed with its own secret, about the demo provider's application.
    let other = mkpf_core::mynapoint::providers::create(
        &h.app,
        &ctx(),
        mkpf_core::mynapoint::providers::NewProvider {
            id: mkpf_core::domain::mynapoint::ProviderId::parse("other").unwrap(),
            name: mkpf_core::mynapoint::providers::CatalogName::parse("Other").unwrap(),
        },
    )
    .await
    .unwrap();
    let r = callback(h, "other", &other.secret.secret, &acc).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "application_foreign"));
    let unknown = report(
        h,
        "wh-3",
        "application.accepted",
        serde_json::json!({"application_id": format!("app_{}", "0".repeat(32))}),
    );
    let r = callback(h, "demo", secret, &unknown).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "application_unknown"));
    for (i, data) in
        [serde_json::json!({"application_id": "x"}), serde_json::json!({"application_id": id, "reason": "bored"})]
            .into_iter()
            .enumerate()
    {
        let kind = if i == 0 { "application.accepted" } else { "application.rejected" };
        let r = callback(h, "demo", secret, &report(h, &format!("bad-{i}"), kind, data)).await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"), "{}", r.body);
    }
    let a = mkpf_core::mynapoint::record::load(&h.app, &ApplicationId::parse(&id).unwrap()).await.unwrap().unwrap();
    assert_eq!(a.state, mkpf_core::domain::mynapoint::ApplicationState::Submitted, "nothing changed");
    let denied: Vec<String> = helpers::all_records(h)
        .await
        .into_iter()
        .filter(|r| r.action == "mynapoint.callback")
        .map(|r| r.detail["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    // Refusals of a caller who proved to be a provider are audited one by one.
    for code in ["application_foreign", "application_unknown", "invalid_field"] {
        assert!(denied.iter().any(|d| d == code), "{code} audited: {denied:?}");
    }
    // Callers who did not prove anything are counted, and audited in aggregate, not one write each.
    for code in ["signature_invalid", "signature_missing", "timestamp_stale", "provider_unknown"] {
        assert!(!denied.iter().any(|d| d == code), "{code} written one by one: {denied:?}");
    }
    mkpf_core::audit::refusals::flush(&h.app, true).await;
    let summaries: Vec<_> =
        helpers::all_records(h).await.into_iter().filter(|r| r.action == "refusals.summary").collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let by = summaries[0].detail["by_action"].as_array().unwrap();
    for code in ["signature_invalid", "signature_missing", "timestamp_stale", "provider_unknown"] {
        assert!(
            by.iter().any(|b| b["action"] == "mynapoint.callback" && b["code"] == code && b["count"] == 1),
            "{code}: {by:?}"
        );
    }
}

#[tokio::test]
async fn a_rejection_frees_the_places_and_the_citizen_applies_again() {
    let w = world().await;
    let (h, secret) = (&w.h, &w.seed.callback_secret);
    let c = member(h).await;
    let id = apply(h, &c, "k1", body("card_acquisition", "WRONG-1", &["1234"])).await.body["application_id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.clock.advance(time::Duration::minutes(5));
    let rej = report(
        h,
        "wh-r",
        "application.rejected",
        serde_json::json!({"application_id": id, "reason": "account_mismatch"}),
    );
    let r = callback(h, "demo", secret, &rej).await;
    assert_eq!(r.body["state"], "rejected", "{}", r.body);
    // Someone else may now use that account; the citizen applies again with their own.
    let other = member(h).await;
    assert_eq!(apply(h, &other, "k", body("card_acquisition", "WRONG-1", &["1234"])).await.status, 201);
    let again = apply(h, &c, "k2", body("card_acquisition", "RIGHT-1", &["1234"])).await;
    assert_eq!(again.status, 201, "{}", again.body);
    let l = h.call("GET", APPLY).bearer(&c.token).send().await;
    let states: Vec<&str> =
        l.body["applications"].as_array().unwrap().iter().map(|a| a["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["submitted", "rejected"], "newest first");
}

/// Issue #12, defect 4: the stored replay digest (`request_hash`) sits next to the measure, the
/// service and the account in clear for the life of the application. Whoever reads the item must
/// not be able to recover the security codes from it by trying every 4-digit PIN — it is keyed
/// (the key behind the sealer), not a plain hash of the request.
#[tokio::test]
async fn the_stored_request_hash_does_not_give_away_the_security_codes() {
    use sha2::{Digest, Sha256};
    let w = world().await;
    let c = member(&w.h).await;
    let r = apply(&w.h, &c, "k1", body("card_acquisition", "ACC-0004711", &["4321"])).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let items = app_items(&w.h).await;
    let item = &items[0];
    let stored = item.get("request_hash").and_then(Value::as_s).expect("a replay digest is stored").to_owned();
    // What the item shows in clear, and the plain digest an attacker would try.
    let measure = MeasureId::from_number(item.get("measure").and_then(Value::as_n).unwrap()).unwrap();
    let service = item.get("service").and_then(Value::as_s).unwrap().to_owned();
    let account = item.get("account").and_then(Value::as_s).unwrap().to_owned();
    let plain = |codes: &str| {
        let mut h = Sha256::new();
        for part in [measure.as_str(), service.as_str(), account.as_str(), codes] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    };
    let recovered: Vec<String> =
        (0..10_000).map(|n| format!("{n:04}")).filter(|pin| stored.contains(&plain(pin))).collect();
    assert!(recovered.is_empty(), "security codes recovered from request_hash {stored}: {recovered:?}");
    assert!(!stored.contains("4321"));

    // Replay still recognises the same request, and refuses the same key with another code.
    let again = apply(&w.h, &c, "k1", body("card_acquisition", "ACC-0004711", &["4321"])).await;
    assert_eq!((again.status.as_u16(), again.header("idempotent-replayed")), (201, Some("true")));
    let other = apply(&w.h, &c, "k1", body("card_acquisition", "ACC-0004711", &["4322"])).await;
    assert_eq!((other.status.as_u16(), other.code()), (422, "idempotency_key_reused"));
    let other = apply(&w.h, &c, "k1", body("card_acquisition", "ACC-0004712", &["4321"])).await;
    assert_eq!((other.status.as_u16(), other.code()), (422, "idempotency_key_reused"));
}

/// A path segment that is not UTF-8 once decoded (`%FF`) is bad input like any other: a
/// problem+json answer on every route with a path parameter, never axum's plain text.
#[tokio::test]
async fn an_undecodable_path_segment_is_a_problem_on_every_route() {
    let h = harness();
    let c = h.citizen().await;
    let answers = [
        h.call("GET", "/v1/mynapoint/applications/%FF").bearer(&c.token).send().await,
        h.call("POST", "/v1/providers/%FF/callbacks").json(serde_json::json!({})).send().await,
        h.op("GET", "/v1/ops/card-auth/linkage-feeds/%FF").send().await,
    ];
    for r in answers {
        assert_eq!(r.header("content-type"), Some("application/problem+json"), "{:?} {:?}", r.status, r.raw);
        assert_eq!((r.status.as_u16(), r.code()), (404, "route_not_found"));
    }
}
