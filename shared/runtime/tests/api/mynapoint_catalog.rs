//! The Mynapoint catalogue through the real router on the embedded store: providers, payment
//! services, their secrets (shown once, sealed at rest and in idempotent replays, rotation
//! overlap, the per-process cache), measures (seed, date changes, suspend/resume), the public
//! lists, role checks beyond the automatic matrix, audit records, optimistic concurrency, the
//! local demo seed, and a bad-input matrix with problem codes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::helpers::{AUDITOR, CHIYODA, Harness, Resp, all_records, harness, harness_with};
use async_trait::async_trait;
use mkpf_core::audit::{Actor, Context};
use mkpf_core::domain::mynapoint::{MeasureId, ProviderId, ServiceCode};
use mkpf_core::mynapoint::secrets::{self, Overlap, SecretOwner};
use mkpf_core::mynapoint::{measures, services};
use mkpf_core::ports::store::*;
use mkpf_core::tables::{IDEMPOTENCY, PROGRAMS};
use mkpf_core::webhooks::{self, WebhookSecret};
use serde_json::{Value as Json, json};
use sha2::Digest;

const PROVIDERS: &str = "/v1/ops/mynapoint/providers";
const SERVICES: &str = "/v1/ops/mynapoint/services";
const MEASURES: &str = "/v1/ops/mynapoint/measures";
const PUBLIC_MEASURES: &str = "/v1/mynapoint/measures";
const PUBLIC_SERVICES: &str = "/v1/mynapoint/services";

fn key() -> String {
    format!("test-{}", uuid::Uuid::new_v4())
}

fn cli() -> Context {
    Context::new(Actor::cli("test"))
}

async fn create_provider(h: &Harness, id: &str) -> Resp {
    h.op("POST", PROVIDERS)
        .header("idempotency-key", &key())
        .json(json!({"provider_id": id, "name": "Pay Co."}))
        .send()
        .await
}

fn service_body(code: &str, provider: &str, measures: &[&str], endpoint: &str) -> Json {
    json!({
        "code": code,
        "provider_id": provider,
        "name": format!("{code} service"),
        "kind": "qr_code",
        "measures": measures,
        "code_rules": [{"label": "PIN", "charset": "digits", "min_len": 4, "max_len": 4}],
        "endpoint": endpoint,
    })
}

async fn create_service(h: &Harness, code: &str, provider: &str, measures: &[&str]) -> Resp {
    let body = service_body(code, provider, measures, "https://pay.example.jp/mkpf/hook");
    h.op("POST", SERVICES).header("idempotency-key", &key()).json(body).send().await
}

/// A provider `pay` and its service `PAY` (measures 1–3); returns the two secrets shown.
async fn provider_and_service(h: &Harness) -> (String, String) {
    let p = create_provider(h, "pay").await;
    assert_eq!(p.status, 201, "{}", p.body);
    let s = create_service(h, "PAY", "pay", &["card_acquisition", "health_insurance", "public_funds_account"]).await;
    assert_eq!(s.status, 201, "{}", s.body);
    (
        p.body["callback_secret"]["secret"].as_str().unwrap().to_owned(),
        s.body["webhook_secret"]["secret"].as_str().unwrap().to_owned(),
    )
}

fn service_owner(code: &str) -> SecretOwner {
    SecretOwner::Service(ServiceCode::parse(code).unwrap())
}

fn exposed(v: &[WebhookSecret]) -> Vec<String> {
    v.iter().map(WebhookSecret::expose).collect()
}

/// The base64 body of a `whsec_` secret: what must never appear anywhere but its one response.
fn material(secret: &str) -> &str {
    secret.strip_prefix("whsec_").unwrap()
}

/// Every item of one partition of `programs`.
async fn partition(h: &Harness, pk: &str) -> Vec<Item> {
    h.app.store.query(Query::new(&PROGRAMS, pk)).await.unwrap().items
}

// ---- providers ----------------------------------------------------------------------------

#[tokio::test]
async fn providers_are_created_listed_and_read_without_their_secrets() {
    let h = harness();
    let r = create_provider(&h, "pay-co").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("location"), Some("/v1/ops/mynapoint/providers/pay-co"));
    assert_eq!(r.body["provider"]["provider_id"], "pay-co");
    assert_eq!(r.body["provider"]["name"], "Pay Co.");
    assert_eq!(r.body["provider"]["status"], "active");
    assert!(r.body["provider"]["created_at"].as_str().unwrap().ends_with("+09:00"));
    let secret = r.body["callback_secret"]["secret"].as_str().unwrap().to_owned();
    assert!(WebhookSecret::parse(&secret).is_ok(), "a Standard Webhooks secret: {secret}");
    assert_eq!(r.body["callback_secret"]["secret_id"], "sec_000001");
    assert_eq!(r.body["provider"]["callback_secrets"][0]["active"], true);
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let got = h.op("GET", &format!("{PROVIDERS}/pay-co")).send().await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body["callback_secrets"],
        json!([{
            "secret_id": "sec_000001", "created_at": "2026-11-25T21:00:00+09:00", "retires_at": null, "active": true
        }])
    );
    assert!(!String::from_utf8_lossy(&got.raw).contains(material(&secret)));

    create_provider(&h, "other").await;
    let list = h.op("GET", PROVIDERS).send().await;
    assert_eq!(list.status, 200);
    let ids: Vec<&str> =
        list.body["items"].as_array().unwrap().iter().map(|p| p["provider_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["other", "pay-co"]);
    assert!(!String::from_utf8_lossy(&list.raw).contains("whsec_"));

    let dup = create_provider(&h, "pay-co").await;
    assert_eq!((dup.status.as_u16(), dup.code()), (409, "provider_exists"));
    for path in [
        "/v1/ops/mynapoint/providers/nobody",
        "/v1/ops/mynapoint/providers/NOT_AN_ID",
        "/v1/ops/mynapoint/providers/%20pay-co",
    ] {
        let r = h.op("GET", path).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (404, "provider_not_found"), "{path}");
    }
}

#[tokio::test]
async fn secrets_are_sealed_at_rest_with_their_owner_as_associated_data() {
    let h = harness();
    let (callback, webhook) = provider_and_service(&h).await;
    for (pk, secret) in [("PROVIDER#pay", &callback), ("SERVICE#PAY", &webhook)] {
        let items = partition(&h, pk).await;
        let item = items.iter().find(|i| i.opt_s("sk") == Some("SECRET#sec_000001")).expect("secret item");
        let sealed = item.s("sealed").unwrap();
        assert!(!format!("{items:?}").contains(material(secret)), "{pk}: no clear secret in any item");
        let opened = h.app.sealer.open(sealed, format!("{pk}|sec_000001").as_bytes()).await.unwrap();
        assert_eq!(opened, secret.as_bytes());
        assert!(h.app.sealer.open(sealed, b"SERVICE#OTHER|sec_000001").await.is_err(), "bound to its owner");
    }
}

#[tokio::test]
async fn creating_routes_replay_under_their_idempotency_key_and_keep_the_replay_sealed() {
    let h = harness();
    let k = key();
    let body = json!({"provider_id": "pay", "name": "Pay"});
    let first = h.op("POST", PROVIDERS).header("idempotency-key", &k).json(body.clone()).send().await;
    assert_eq!(first.status, 201);
    let again = h.op("POST", PROVIDERS).header("idempotency-key", &k).json(body.clone()).send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the same secret, not a second provider");
    assert_eq!(
        secrets::list(&h.app, &SecretOwner::Provider(ProviderId::parse("pay").unwrap())).await.unwrap().len(),
        1
    );
    let other = h
        .op("POST", PROVIDERS)
        .header("idempotency-key", &k)
        .json(json!({"provider_id": "pay", "name": "X"}))
        .send()
        .await;
    assert_eq!((other.status.as_u16(), other.code()), (422, "idempotency_key_reused"));
    let missing = h.op("POST", PROVIDERS).json(body).send().await;
    assert_eq!((missing.status.as_u16(), missing.code()), (400, "idempotency_key_required"));

    // The stored response is sealed: the secret is not in the idempotency table in clear.
    let digest = |parts: &[&[u8]]| {
        let mut d = sha2::Sha256::new();
        for p in parts {
            d.update((p.len() as u64).to_be_bytes());
            d.update(p);
        }
        hex::encode(d.finalize())
    };
    let pk = digest(&[b"mynapoint-provider-create", b"staff:test-operator", k.as_bytes()]);
    let rec = h.app.store.get(&IDEMPOTENCY, &Key::pk_only(pk)).await.unwrap().expect("idempotency record");
    assert!(!rec.contains_key("body"), "no clear body");
    assert!(rec.opt_s("sealed_body").is_some());
    let secret = first.body["callback_secret"]["secret"].as_str().unwrap();
    assert!(!format!("{rec:?}").contains(material(secret)));

    // Rotations replay too (one rotation, not two).
    let path = format!("{PROVIDERS}/pay/secrets");
    let k2 = key();
    let r1 = h.op("POST", &path).header("idempotency-key", &k2).json(json!({})).send().await;
    let r2 = h.op("POST", &path).header("idempotency-key", &k2).json(json!({})).send().await;
    assert_eq!(r1.status, 201, "{}", r1.body);
    assert_eq!(r2.body, r1.body);
    assert_eq!(
        secrets::list(&h.app, &SecretOwner::Provider(ProviderId::parse("pay").unwrap())).await.unwrap().len(),
        2
    );
}

// ---- payment services -----------------------------------------------------------------------

#[tokio::test]
async fn services_are_created_read_and_listed() {
    let h = harness();
    create_provider(&h, "pay").await;
    create_provider(&h, "other").await;
    let r = create_service(&h, "PAY", "pay", &["public_funds_account", "card_acquisition"]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("location"), Some("/v1/ops/mynapoint/services/PAY"));
    assert_eq!(r.header("etag"), Some("\"1\""));
    let s = &r.body["service"];
    assert_eq!(s["code"], "PAY");
    assert_eq!(s["provider_id"], "pay");
    assert_eq!(s["kind"], "qr_code");
    assert_eq!(s["measures"], json!(["card_acquisition", "public_funds_account"]), "programme order");
    assert_eq!(s["code_rules"], json!([{"label": "PIN", "charset": "digits", "min_len": 4, "max_len": 4}]));
    assert_eq!(s["intake"], "accepting");
    assert_eq!(s["intake_changed_at"], "2026-11-25T21:00:00+09:00");
    assert_eq!(s["endpoint"], "https://pay.example.jp/mkpf/hook");
    assert_eq!(s["endpoint_enabled"], true);
    assert_eq!(s["version"], 1);
    assert_eq!(r.body["webhook_secret"]["secret_id"], "sec_000001");
    let secret = r.body["webhook_secret"]["secret"].as_str().unwrap().to_owned();

    // The stored record has the derived accepting flags the application transaction checks.
    let cfg =
        mkpf_core::mynapoint::catalog::service(&h.app, &ServiceCode::parse("PAY").unwrap()).await.unwrap().unwrap();
    assert!(cfg.accepts(MeasureId::CardAcquisition) && !cfg.accepts(MeasureId::HealthInsurance));

    let got = h.op("GET", &format!("{SERVICES}/PAY")).send().await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.body["webhook_secrets"][0]["secret_id"], "sec_000001");
    assert!(!String::from_utf8_lossy(&got.raw).contains(material(&secret)));

    create_service(&h, "OTHER_PAY", "other", &["health_insurance"]).await;
    let all = h.op("GET", SERVICES).send().await;
    let codes: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["OTHER_PAY", "PAY"]);
    let mine = h.op("GET", &format!("{SERVICES}?provider_id=pay")).send().await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let bad = h.op("GET", &format!("{SERVICES}?provider_id=NOPE")).send().await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "invalid_query"));
    let unknown = h.op("GET", &format!("{SERVICES}?colour=red")).send().await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (400, "invalid_query"));

    let dup = create_service(&h, "PAY", "pay", &["card_acquisition"]).await;
    assert_eq!((dup.status.as_u16(), dup.code()), (409, "service_exists"));
    let orphan = create_service(&h, "ORPHAN", "nobody", &["card_acquisition"]).await;
    assert_eq!((orphan.status.as_u16(), orphan.code()), (422, "provider_unknown"));
    assert!(partition(&h, "SERVICE#ORPHAN").await.is_empty(), "nothing written");
    for path in
        ["/v1/ops/mynapoint/services/NOPE", "/v1/ops/mynapoint/services/lower", "/v1/ops/mynapoint/services/%20PAY"]
    {
        let r = h.op("GET", path).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (404, "service_not_found"), "{path}");
    }
}

#[tokio::test]
async fn service_updates_use_optimistic_concurrency() {
    let h = harness();
    provider_and_service(&h).await;
    let path = format!("{SERVICES}/PAY");
    let r = h
        .op("PATCH", &path)
        .header("if-match", "\"1\"")
        .json(json!({"name": "Pay 2", "endpoint": "http://127.0.0.1:9000/hook", "measures": ["health_insurance"]}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    assert_eq!(r.body["name"], "Pay 2");
    assert_eq!(r.body["endpoint"], "http://127.0.0.1:9000/hook");
    assert_eq!(r.body["measures"], json!(["health_insurance"]));
    assert_eq!(r.body["version"], 2);

    // A second change made from the same (now stale) version is refused and changes nothing.
    let stale = h.op("PATCH", &path).header("if-match", "\"1\"").json(json!({"name": "Lost update"})).send().await;
    assert_eq!((stale.status.as_u16(), stale.code()), (412, "version_mismatch"));
    assert!(stale.body["detail"].as_str().unwrap().contains("version 2"));
    let bad = h.op("PATCH", &path).header("if-match", "soon").json(json!({"name": "x"})).send().await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "invalid_if_match"));
    assert_eq!(h.op("GET", &path).send().await.body["name"], "Pay 2");

    // Without If-Match the change applies to the current version; changing nothing writes nothing.
    let off = h.op("PATCH", &path).json(json!({"endpoint_enabled": false})).send().await;
    assert_eq!(
        (off.status.as_u16(), off.body["endpoint_enabled"].clone(), off.body["version"].clone()),
        (200, json!(false), json!(3))
    );
    let same = h.op("PATCH", &path).json(json!({"endpoint_enabled": false})).send().await;
    assert_eq!(same.body["version"], 3);
    let nothing = h.op("PATCH", &path).json(json!({})).send().await;
    assert_eq!((nothing.status.as_u16(), nothing.code()), (422, "invalid_field"));
    let nulls = h.op("PATCH", &path).json(json!({"name": null})).send().await;
    assert_eq!(nulls.code(), "invalid_field", "null is absent: nothing to change");

    // Two concurrent changes from the same version: exactly one wins.
    let (a, b) = tokio::join!(
        h.op("PATCH", &path).header("if-match", "\"3\"").json(json!({"name": "A"})).send(),
        h.op("PATCH", &path).header("if-match", "\"3\"").json(json!({"name": "B"})).send(),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    assert_eq!(h.op("GET", &path).send().await.body["version"], 4);
}

#[tokio::test]
async fn intake_changes_are_audited_and_withdrawal_is_final() {
    let h = harness();
    provider_and_service(&h).await;
    let path = format!("{SERVICES}/PAY/intake");
    h.clock.advance(time::Duration::hours(1));
    let closed = h.op("PUT", &path).json(json!({"intake": "intake_closed"})).send().await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert_eq!(closed.body["intake"], "intake_closed");
    assert_eq!(closed.body["intake_changed_at"], "2026-11-25T22:00:00+09:00");
    assert_eq!(closed.body["version"], 2);
    let cfg =
        mkpf_core::mynapoint::catalog::service(&h.app, &ServiceCode::parse("PAY").unwrap()).await.unwrap().unwrap();
    assert!(!cfg.accepts(MeasureId::CardAcquisition), "the cache was cleared");
    let stored = partition(&h, "SERVICE#PAY").await.into_iter().find(|i| i.opt_s("sk") == Some("CONFIG")).unwrap();
    assert_eq!(stored.get("accepting_1"), Some(&Value::Bool(false)));

    let again = h.op("PUT", &path).json(json!({"intake": "intake_closed"})).send().await;
    assert_eq!(again.body["version"], 2, "no change, no write");
    let stale = h.op("PUT", &path).header("if-match", "\"1\"").json(json!({"intake": "accepting"})).send().await;
    assert_eq!(stale.code(), "version_mismatch");
    let open = h.op("PUT", &path).json(json!({"intake": "accepting"})).send().await;
    assert_eq!(open.body["intake"], "accepting");
    let gone = h.op("PUT", &path).json(json!({"intake": "withdrawn"})).send().await;
    assert_eq!(gone.body["intake"], "withdrawn");
    let back = h.op("PUT", &path).json(json!({"intake": "accepting"})).send().await;
    assert_eq!((back.status.as_u16(), back.code()), (409, "service_withdrawn"));
    // A withdrawn service's endpoint may still change (its applications are being settled).
    let moved =
        h.op("PATCH", &format!("{SERVICES}/PAY")).json(json!({"endpoint": "https://new.example.jp/h"})).send().await;
    assert_eq!(moved.status, 200);

    let records = all_records(&h).await;
    // Audit chains are sharded (export order is not time order): order by the version written.
    let mut intakes: Vec<(i64, String, String)> = records
        .iter()
        .filter(|r| r.action == "mynapoint.service_intake")
        .map(|r| {
            let s = |k: &str| r.detail[k].as_str().unwrap().to_owned();
            (r.detail["version"].as_i64().unwrap(), s("from"), s("to"))
        })
        .collect();
    intakes.sort();
    let intakes: Vec<(String, String)> = intakes.into_iter().map(|(_, f, t)| (f, t)).collect();
    assert_eq!(
        intakes,
        [
            ("accepting".to_owned(), "intake_closed".to_owned()),
            ("intake_closed".into(), "accepting".into()),
            ("accepting".into(), "withdrawn".into())
        ]
    );
    let bad = h.op("PUT", &path).json(json!({"intake": "paused"})).send().await;
    assert_eq!((bad.status.as_u16(), bad.code()), (422, "invalid_field"));
    let missing =
        h.op("PUT", "/v1/ops/mynapoint/services/NOPE/intake").json(json!({"intake": "accepting"})).send().await;
    assert_eq!(missing.code(), "service_not_found");
}

// ---- secrets: rotation and the cache ---------------------------------------------------------

#[tokio::test]
async fn rotation_keeps_both_secrets_until_the_old_one_retires() {
    let h = harness();
    let (_, old) = provider_and_service(&h).await;
    let owner = service_owner("PAY");
    assert_eq!(exposed(&secrets::active(&h.app, &owner).await.unwrap()), std::slice::from_ref(&old));

    let r = h
        .op("POST", &format!("{SERVICES}/PAY/secrets"))
        .header("idempotency-key", &key())
        .json(json!({"overlap_seconds": 3600}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let new = r.body["secret"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(r.body["secret"]["secret_id"], "sec_000002");
    assert_eq!(
        r.body["secrets"],
        json!([
            {"secret_id": "sec_000002", "created_at": "2026-11-25T21:00:00+09:00", "retires_at": null, "active": true},
            {"secret_id": "sec_000001", "created_at": "2026-11-25T21:00:00+09:00", "retires_at": "2026-11-25T22:00:00+09:00", "active": true},
        ])
    );
    assert_ne!(new, old);

    // During the overlap: both, newest first; a message signed with both verifies against either.
    assert_eq!(exposed(&secrets::active(&h.app, &owner).await.unwrap()), [new.clone(), old.clone()]);
    let both = secrets::active(&h.app, &owner).await.unwrap();
    let header = webhooks::signature_header(&both, "msg_1", 100, b"{}");
    let signed = webhooks::Signed { id: "msg_1", timestamp: "100", signature: &header };
    assert!(webhooks::verify(&signed, b"{}", &[WebhookSecret::parse(&old).unwrap()], 100).is_ok());
    h.clock.advance(time::Duration::seconds(3599));
    assert_eq!(secrets::active(&h.app, &owner).await.unwrap().len(), 2);
    // At retires_at the old secret is gone, from the cache too (no store read in between).
    h.clock.advance(time::Duration::seconds(1));
    assert_eq!(exposed(&secrets::active(&h.app, &owner).await.unwrap()), std::slice::from_ref(&new));
    assert_eq!(exposed(&secrets::reload(&h.app, &owner).await.unwrap()), std::slice::from_ref(&new));
    let got = h.op("GET", &format!("{SERVICES}/PAY")).send().await;
    assert_eq!(got.body["webhook_secrets"][1]["active"], false);

    // Overlap 0 retires the others at once.
    let r = h
        .op("POST", &format!("{SERVICES}/PAY/secrets"))
        .header("idempotency-key", &key())
        .json(json!({"overlap_seconds": 0}))
        .send()
        .await;
    let newest = r.body["secret"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(exposed(&secrets::active(&h.app, &owner).await.unwrap()), [newest]);

    // Retired secrets are removed by the table's TTL 30 days after they retire.
    let items = partition(&h, "SERVICE#PAY").await;
    let first = items.iter().find(|i| i.opt_s("sk") == Some("SECRET#sec_000001")).unwrap();
    assert_eq!(first.opt_n("ttl"), Some(first.n("retires_at").unwrap() + secrets::KEEP_RETIRED_SECS));
}

#[tokio::test]
async fn rotation_limits_and_bad_input() {
    let h = harness();
    provider_and_service(&h).await;
    let path = format!("{PROVIDERS}/pay/secrets");
    let rotate = |body: Json| {
        let p = path.clone();
        let h = &h;
        async move { h.op("POST", &p).header("idempotency-key", &key()).json(body).send().await }
    };
    for bad in [
        json!({"overlap_seconds": -1}),
        json!({"overlap_seconds": 604801}),
        json!({"overlap_seconds": "1h"}),
        json!({"overlap": 5}),
    ] {
        let r = rotate(bad.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"), "{bad}");
    }
    assert_eq!(rotate(json!({"overlap_seconds": 604800})).await.status, 201, "7 days is the longest overlap");
    // Default 24 h overlap: 1 + 3 rotations = 4 active, the most allowed.
    assert_eq!(rotate(json!({})).await.status, 201);
    assert_eq!(rotate(json!({"overlap_seconds": null})).await.status, 201);
    let r = rotate(json!({})).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "too_many_secrets"));
    let owner = SecretOwner::Provider(ProviderId::parse("pay").unwrap());
    assert_eq!(secrets::active(&h.app, &owner).await.unwrap().len(), 4, "the refused rotation changed nothing");
    assert_eq!(rotate(json!({"overlap_seconds": 0})).await.status, 201, "a zero overlap always works");
    assert_eq!(secrets::active(&h.app, &owner).await.unwrap().len(), 1);

    let none = h
        .op("POST", "/v1/ops/mynapoint/providers/nobody/secrets")
        .header("idempotency-key", &key())
        .json(json!({}))
        .send()
        .await;
    assert_eq!((none.status.as_u16(), none.code()), (404, "provider_not_found"));
    let none = h
        .op("POST", "/v1/ops/mynapoint/services/NOPE/secrets")
        .header("idempotency-key", &key())
        .json(json!({}))
        .send()
        .await;
    assert_eq!((none.status.as_u16(), none.code()), (404, "service_not_found"));
}

#[tokio::test]
async fn concurrent_rotations_never_share_an_id_or_lose_a_retirement() {
    let h = harness();
    provider_and_service(&h).await;
    let owner = service_owner("PAY");
    let ctx = cli();
    let (a, b) = tokio::join!(
        secrets::rotate(&h.app, &ctx, &owner, Overlap::default(), "mynapoint.service_secret_rotate"),
        secrets::rotate(&h.app, &ctx, &owner, Overlap::default(), "mynapoint.service_secret_rotate"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.meta.id, b.meta.id);
    let metas = secrets::list(&h.app, &owner).await.unwrap();
    assert_eq!(metas.len(), 3);
    assert_eq!(metas.iter().filter(|m| m.retires_at.is_none()).count(), 1, "exactly one current secret");
}

/// A store that counts the calls it serves (round trips).
struct Counting {
    inner: Arc<dyn Store>,
    queries: AtomicUsize,
    gets: AtomicUsize,
}

#[async_trait]
impl Store for Counting {
    async fn get(&self, t: &'static TableDef, k: &Key) -> Result<Option<Item>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(t, k).await
    }
    async fn put(&self, t: &'static TableDef, i: Item, c: Option<Cond>) -> Result<(), StoreError> {
        self.inner.put(t, i, c).await
    }
    async fn update(&self, t: &'static TableDef, k: &Key, u: Update, c: Option<Cond>) -> Result<Item, StoreError> {
        self.inner.update(t, k, u, c).await
    }
    async fn delete(&self, t: &'static TableDef, k: &Key, c: Option<Cond>) -> Result<Option<Item>, StoreError> {
        self.inner.delete(t, k, c).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }
    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.query(q).await
    }
    async fn health(&self) -> Result<(), StoreError> {
        self.inner.health().await
    }
}

#[tokio::test]
async fn active_secrets_cost_one_query_per_cache_period_and_apps_do_not_share_copies() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cat-{}", uuid::Uuid::new_v4()));
    let clock = Arc::new(mkpf_core::ports::ManualClock::new(time::macros::datetime!(2026-11-25 12:00 UTC)));
    let (store, queue) = mkpf_embedded::open(&dir, clock.clone()).unwrap();
    let counting = Arc::new(Counting { inner: store, queries: AtomicUsize::new(0), gets: AtomicUsize::new(0) });
    let app = mkpf_runtime::app(
        mkpf_core::config::Config::for_tests(dir),
        counting.clone(),
        queue,
        clock.clone(),
        Arc::new(mkpf_embedded::local_keys::LocalKeys::generate()),
    );
    let seed = services::seed_demo(&app, &cli(), "http://127.0.0.1:9/hook").await.unwrap();
    let owner = SecretOwner::Provider(seed.provider_id.clone());
    secrets::forget(&app, &owner);
    let before = counting.queries.load(Ordering::SeqCst);
    for _ in 0..50 {
        let got = secrets::active(&app, &owner).await.unwrap();
        assert_eq!(exposed(&got), [seed.callback_secret.expose()]);
    }
    assert_eq!(counting.queries.load(Ordering::SeqCst) - before, 1, "one query for 50 callbacks");

    // Another App (its own store) with the same owner name never sees this one's copy.
    let other = harness();
    let other_seed = services::seed_demo(&other.app, &cli(), "http://127.0.0.1:9/hook").await.unwrap();
    assert_ne!(other_seed.callback_secret.expose(), seed.callback_secret.expose());
    assert_eq!(exposed(&secrets::active(&other.app, &owner).await.unwrap()), [other_seed.callback_secret.expose()]);
    assert_eq!(exposed(&secrets::active(&app, &owner).await.unwrap()), [seed.callback_secret.expose()]);

    // A rotation by this process is seen at once.
    let new = secrets::rotate(&app, &cli(), &owner, Overlap::parse(0).unwrap(), "mynapoint.provider_secret_rotate")
        .await
        .unwrap();
    assert_eq!(exposed(&secrets::active(&app, &owner).await.unwrap()), [new.secret.expose()]);
}

// ---- measures --------------------------------------------------------------------------------

#[tokio::test]
async fn measures_are_seeded_once_and_shown_in_tokyo_time() {
    let h = harness();
    let empty = h.call("GET", PUBLIC_MEASURES).send().await;
    assert_eq!((empty.status.as_u16(), empty.body.clone()), (200, json!({"items": []})));
    let unconfigured = h
        .op("PATCH", &format!("{MEASURES}/card_acquisition"))
        .json(json!({"closes_at": "2027-01-01T00:00:00+09:00"}))
        .send()
        .await;
    assert_eq!((unconfigured.status.as_u16(), unconfigured.code()), (404, "measure_not_configured"));

    let seeded = h.op("POST", &format!("{MEASURES}/seed")).send().await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);
    assert_eq!(
        seeded.body["items"],
        json!([
            {"measure": "card_acquisition", "created": true},
            {"measure": "health_insurance", "created": true},
            {"measure": "public_funds_account", "created": true},
        ])
    );
    let again = h.op("POST", &format!("{MEASURES}/seed")).send().await;
    assert!(again.body["items"].as_array().unwrap().iter().all(|i| i["created"] == false));
    let seeds = all_records(&h).await.into_iter().filter(|r| r.action == "mynapoint.measure_seed").count();
    assert_eq!(seeds, 1, "seeding again writes nothing");

    let public = h.call("GET", PUBLIC_MEASURES).send().await;
    assert_eq!(public.header("cache-control"), Some("public, max-age=10"));
    assert_eq!(
        public.body["items"][0],
        json!({
            "measure": "card_acquisition",
            "number": 1,
            "name": "マイナンバーカードの新規取得等 (card acquisition)",
            "rule": {"kind": "percent", "percent": 25, "max_points": 5000},
            "opens_at": "2022-01-01T00:00:00+09:00",
            "closes_at": "2023-10-01T00:00:00+09:00",
            "grant_deadline": "2023-11-01T00:00:00+09:00",
            "registration_deadline": null,
            "open": false,
        })
    );
    assert_eq!(public.body["items"][1]["rule"], json!({"kind": "flat", "percent": null, "max_points": 7500}));
    assert_eq!(public.body["items"][2]["registration_deadline"], "2023-10-01T00:00:00+09:00");
    assert!(public.body["items"][0].get("status").is_none() && public.body["items"][0].get("version").is_none());

    let ops = h.op("GET", MEASURES).send().await;
    assert_eq!(ops.body["items"][0]["status"], "open");
    assert_eq!(ops.body["items"][0]["version"], 1);
    assert_eq!(ops.body["items"][0]["updated_at"], "2026-11-25T21:00:00+09:00");
}

#[tokio::test]
async fn measures_are_extended_suspended_and_resumed_with_audited_versioned_changes() {
    let h = harness();
    h.op("POST", &format!("{MEASURES}/seed")).send().await;
    let path = format!("{MEASURES}/public_funds_account");
    let r = h
        .op("PATCH", &path)
        .header("if-match", "\"1\"")
        .json(json!({"closes_at": "2027-03-31T15:00:00Z", "grant_deadline": "2027-05-01T00:00:00+09:00", "registration_deadline": "2027-04-01T00:00:00+09:00"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    assert_eq!(r.body["closes_at"], "2027-04-01T00:00:00+09:00");
    assert_eq!(r.body["open"], true);
    assert_eq!(r.body["version"], 2);
    let public = h.call("GET", PUBLIC_MEASURES).send().await;
    assert_eq!(public.body["items"][2]["open"], true, "the public view follows at once in this process");
    let m3 = mkpf_core::mynapoint::catalog::measure(&h.app, MeasureId::PublicFundsAccount).await.unwrap().unwrap();
    assert!(m3.is_open_at(h.app.clock.now()));

    let stale = h
        .op("PATCH", &path)
        .header("if-match", "\"1\"")
        .json(json!({"closes_at": "2027-06-01T00:00:00+09:00"}))
        .send()
        .await;
    assert_eq!((stale.status.as_u16(), stale.code()), (412, "version_mismatch"));

    // Suspension stops it at once, whatever the period says; the transaction check agrees.
    let s = h
        .op("POST", &format!("{path}/suspend"))
        .header("if-match", "\"2\"")
        .json(json!({"reason": "provider incident"}))
        .send()
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!((s.body["status"].clone(), s.body["open"].clone()), (json!("suspended"), json!(false)));
    assert_eq!(s.body["status_reason"], "provider incident");
    assert_eq!(s.body["status_changed_at"], "2026-11-25T21:00:00+09:00");
    let check = mkpf_core::mynapoint::catalog::measure_open_check(MeasureId::PublicFundsAccount, h.app.clock.now());
    assert!(h.app.store.transact(vec![check]).await.is_err(), "the application transaction's condition fails");
    let again = h.op("POST", &format!("{path}/suspend")).json(json!({"reason": "again"})).send().await;
    assert_eq!((again.status.as_u16(), again.code()), (409, "measure_already_suspended"));
    let resumed = h.op("POST", &format!("{path}/resume")).json(json!({"reason": "fixed"})).send().await;
    assert_eq!((resumed.body["status"].clone(), resumed.body["open"].clone()), (json!("open"), json!(true)));
    let twice = h.op("POST", &format!("{path}/resume")).json(json!({"reason": "fixed"})).send().await;
    assert_eq!((twice.status.as_u16(), twice.code()), (409, "measure_not_suspended"));
    let check = mkpf_core::mynapoint::catalog::measure_open_check(MeasureId::PublicFundsAccount, h.app.clock.now());
    assert!(h.app.store.transact(vec![check]).await.is_ok());

    let records = all_records(&h).await;
    let update = records.iter().find(|r| r.action == "mynapoint.measure_update").unwrap();
    assert_eq!(update.targets, ["measure:public_funds_account"]);
    assert_eq!(
        update.detail["changed"]["closes_at"],
        json!({"from": "2023-10-01T00:00:00+09:00", "to": "2027-04-01T00:00:00+09:00"})
    );
    assert_eq!(update.actor, Actor::new("staff", Some("test-operator")));
    let suspend = records.iter().find(|r| r.action == "mynapoint.measure_suspend").unwrap();
    assert_eq!(suspend.detail, json!({"reason": "provider incident", "version": 3}));
    assert!(records.iter().any(|r| r.action == "mynapoint.measure_resume"));
}

#[tokio::test]
async fn measure_changes_keep_the_period_in_order() {
    let h = harness();
    h.op("POST", &format!("{MEASURES}/seed")).send().await;
    let patch = |m: &'static str, body: Json| {
        let h = &h;
        async move { h.op("PATCH", &format!("{MEASURES}/{m}")).json(body).send().await }
    };
    let cases = [
        ("card_acquisition", json!({"closes_at": "2021-01-01T00:00:00+09:00"}), "closes_at"),
        ("card_acquisition", json!({"opens_at": "2023-10-01T00:00:00+09:00"}), "closes_at"),
        ("card_acquisition", json!({"closes_at": "2023-12-01T00:00:00+09:00"}), "grant_deadline"),
        ("card_acquisition", json!({"grant_deadline": "2023-09-30T23:59:59+09:00"}), "grant_deadline"),
        ("health_insurance", json!({"registration_deadline": "2023-09-01T00:00:00+09:00"}), "registration_deadline"),
        ("card_acquisition", json!({"closes_at": "2027-01-01"}), "closes_at"),
        ("card_acquisition", json!({"closes_at": "2027-01-01T00:00:00"}), "closes_at"),
        ("card_acquisition", json!({"closes_at": 1_800_000_000}), "closes_at"),
        ("card_acquisition", json!({"status": "suspended"}), "status"),
        ("card_acquisition", json!({}), "body"),
    ];
    for (m, body, field) in cases {
        let r = patch(m, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"), "{m} {body}: {}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains(field), "{body}: {}", r.body["detail"]);
    }
    // Closing and granting on the same instant is allowed; opens_at < closes_at strictly.
    let ok = patch("1", json!({"closes_at": "2023-11-01T00:00:00+09:00"})).await;
    assert_eq!(ok.status, 200, "measures by number too: {}", ok.body);
    let unknown = patch("pachinko", json!({"closes_at": "2027-01-01T00:00:00+09:00"})).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (404, "measure_unknown"));
    let no_change = patch("card_acquisition", json!({"closes_at": "2023-11-01T00:00:00+09:00"})).await;
    assert_eq!(no_change.body["version"], 2, "the same dates again write nothing");
    for body in [json!({}), json!({"reason": ""}), json!({"reason": "a\nb"}), json!({"reason": "x".repeat(201)})] {
        let r = h.op("POST", &format!("{MEASURES}/card_acquisition/suspend")).json(body.clone()).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"), "{body}");
    }
    let audits = all_records(&h).await.into_iter().filter(|r| r.action == "mynapoint.measure_update").count();
    assert_eq!(audits, 1, "refused changes are not written");
}

// ---- public search -----------------------------------------------------------------------------

#[tokio::test]
async fn public_search_lists_only_accepting_services_for_the_measure() {
    let h = harness();
    create_provider(&h, "pay").await;
    h.op("POST", PROVIDERS)
        .header("idempotency-key", &key())
        .json(json!({"provider_id": "other", "name": "Other Co."}))
        .send()
        .await;
    create_service(&h, "OPEN_12", "pay", &["card_acquisition", "health_insurance"]).await;
    create_service(&h, "CLOSED", "pay", &["card_acquisition"]).await;
    create_service(&h, "GONE", "other", &["card_acquisition"]).await;
    create_service(&h, "ONLY_3", "other", &["public_funds_account"]).await;
    assert_eq!(
        h.op("PUT", &format!("{SERVICES}/CLOSED/intake")).json(json!({"intake": "intake_closed"})).send().await.status,
        200
    );
    assert_eq!(
        h.op("PUT", &format!("{SERVICES}/GONE/intake")).json(json!({"intake": "withdrawn"})).send().await.status,
        200
    );

    let codes = |r: &Resp| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap().to_owned()).collect()
    };
    let m1 = h.call("GET", &format!("{PUBLIC_SERVICES}?measure=card_acquisition")).send().await;
    assert_eq!(m1.status, 200);
    assert_eq!(codes(&m1), ["OPEN_12"]);
    assert_eq!(
        m1.body["items"][0],
        json!({
            "code": "OPEN_12",
            "name": "OPEN_12 service",
            "kind": "qr_code",
            "provider_name": "Pay Co.",
            "measures": ["card_acquisition", "health_insurance"],
            "code_rules": [{"label": "PIN", "charset": "digits", "min_len": 4, "max_len": 4}],
        }),
        "no endpoint, no secrets"
    );
    assert_eq!(codes(&h.call("GET", &format!("{PUBLIC_SERVICES}?measure=3")).send().await), ["ONLY_3"]);
    assert_eq!(codes(&h.call("GET", &format!("{PUBLIC_SERVICES}?measure=health_insurance")).send().await), ["OPEN_12"]);
    assert_eq!(codes(&h.call("GET", PUBLIC_SERVICES).send().await), ["ONLY_3", "OPEN_12"]);
    for q in ["?measure=4", "?measure=", "?service=PAY"] {
        let r = h.call("GET", &format!("{PUBLIC_SERVICES}{q}")).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_query"), "{q}");
    }
    // Intake changes show at once in this process (its cached list is dropped).
    h.op("PUT", &format!("{SERVICES}/OPEN_12/intake")).json(json!({"intake": "intake_closed"})).send().await;
    assert!(codes(&h.call("GET", &format!("{PUBLIC_SERVICES}?measure=1")).send().await).is_empty());
    let raw = String::from_utf8_lossy(&h.call("GET", PUBLIC_SERVICES).send().await.raw).into_owned();
    assert!(!raw.contains("endpoint") && !raw.contains("whsec_") && !raw.contains("example.jp"));
}

// ---- roles, audit, leaks -------------------------------------------------------------------------

#[tokio::test]
async fn auditors_read_and_nobody_else_touches_the_catalogue() {
    let h = harness();
    provider_and_service(&h).await;
    h.op("POST", &format!("{MEASURES}/seed")).send().await;
    for path in [PROVIDERS, "/v1/ops/mynapoint/providers/pay", SERVICES, "/v1/ops/mynapoint/services/PAY", MEASURES] {
        let r = h.call("GET", path).staff(AUDITOR).send().await;
        assert_eq!(r.status, 200, "auditor reads {path}: {}", r.body);
        let r = h.call("GET", path).staff(CHIYODA).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "municipal staff: {path}");
    }
    let citizen = h.citizen().await;
    let writes: [(&str, String, Json); 7] = [
        ("POST", PROVIDERS.into(), json!({"provider_id": "x1", "name": "x"})),
        ("POST", format!("{PROVIDERS}/pay/secrets"), json!({})),
        ("POST", SERVICES.into(), service_body("X1", "pay", &["card_acquisition"], "https://x.jp/")),
        ("PATCH", format!("{SERVICES}/PAY"), json!({"name": "x"})),
        ("PUT", format!("{SERVICES}/PAY/intake"), json!({"intake": "withdrawn"})),
        ("POST", format!("{SERVICES}/PAY/secrets"), json!({})),
        ("POST", format!("{MEASURES}/card_acquisition/suspend"), json!({"reason": "x"})),
    ];
    for (method, path, body) in &writes {
        let r = h.call(method, path).staff(AUDITOR).header("idempotency-key", &key()).json(body.clone()).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "auditor {method} {path}");
        let r = h
            .call(method, path)
            .bearer(&citizen.token)
            .header("idempotency-key", &key())
            .json(body.clone())
            .send()
            .await;
        assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "citizen {method} {path}");
        let r = h.call(method, path).header("idempotency-key", &key()).json(body.clone()).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (401, "authentication_required"), "anonymous {method} {path}");
    }
    // Nothing changed; the refusals were audited.
    let got = h.op("GET", &format!("{SERVICES}/PAY")).send().await;
    assert_eq!((got.body["version"].clone(), got.body["intake"].clone()), (json!(1), json!("accepting")));
    let denied = all_records(&h).await.into_iter().filter(|r| r.action == "auth.denied").count();
    assert!(denied >= 2 * writes.len(), "{denied}");
    // The public lists need no credentials, and refuse none.
    assert_eq!(h.call("GET", PUBLIC_MEASURES).send().await.status, 200);
    assert_eq!(h.call("GET", PUBLIC_SERVICES).bearer(&citizen.token).send().await.status, 200);
}

#[tokio::test]
async fn every_change_is_audited_and_no_secret_reaches_the_audit_trail_or_other_responses() {
    let h = harness();
    let mut shown = Vec::new();
    let mut others = Vec::new();
    let p = create_provider(&h, "pay").await;
    shown.push(p.body["callback_secret"]["secret"].as_str().unwrap().to_owned());
    let s = create_service(&h, "PAY", "pay", &["card_acquisition"]).await;
    shown.push(s.body["webhook_secret"]["secret"].as_str().unwrap().to_owned());
    for path in [format!("{PROVIDERS}/pay/secrets"), format!("{SERVICES}/PAY/secrets")] {
        let r = h.op("POST", &path).header("idempotency-key", &key()).json(json!({"overlap_seconds": 60})).send().await;
        assert_eq!(r.status, 201);
        shown.push(r.body["secret"]["secret"].as_str().unwrap().to_owned());
    }
    others.push(h.op("PATCH", &format!("{SERVICES}/PAY")).json(json!({"name": "Renamed"})).send().await);
    others.push(h.op("PUT", &format!("{SERVICES}/PAY/intake")).json(json!({"intake": "intake_closed"})).send().await);
    others.push(h.op("POST", &format!("{MEASURES}/seed")).send().await);
    others.push(
        h.op("PATCH", &format!("{MEASURES}/1")).json(json!({"closes_at": "2023-10-15T00:00:00+09:00"})).send().await,
    );
    others.push(h.op("POST", &format!("{MEASURES}/1/suspend")).json(json!({"reason": "r"})).send().await);
    others.push(h.op("POST", &format!("{MEASURES}/1/resume")).json(json!({"reason": "r"})).send().await);
    for path in [
        PROVIDERS,
        "/v1/ops/mynapoint/providers/pay",
        SERVICES,
        "/v1/ops/mynapoint/services/PAY",
        MEASURES,
        PUBLIC_SERVICES,
        PUBLIC_MEASURES,
    ] {
        others.push(h.op("GET", path).send().await);
    }
    assert!(others.iter().all(|r| r.status.is_success()));

    let records = all_records(&h).await;
    // Audit chains are sharded: compare as a set, not in export order.
    let mut actions: Vec<&str> =
        records.iter().map(|r| r.action.as_str()).filter(|a| a.starts_with("mynapoint.")).collect();
    actions.sort();
    let mut expected = vec![
        "mynapoint.provider_create",
        "mynapoint.service_create",
        "mynapoint.provider_secret_rotate",
        "mynapoint.service_secret_rotate",
        "mynapoint.service_update",
        "mynapoint.service_intake",
        "mynapoint.measure_seed",
        "mynapoint.measure_update",
        "mynapoint.measure_suspend",
        "mynapoint.measure_resume",
    ];
    expected.sort();
    assert_eq!(actions, expected);
    let by = |a: &str| records.iter().find(|r| r.action == a).unwrap();
    assert_eq!(by("mynapoint.service_create").targets, ["service:PAY", "provider:pay"]);
    assert_eq!(by("mynapoint.service_create").detail["secret_id"], "sec_000001");
    assert_eq!(by("mynapoint.provider_secret_rotate").targets, ["provider:pay"]);
    assert_eq!(
        by("mynapoint.provider_secret_rotate").detail,
        json!({"secret_id": "sec_000002", "retiring": ["sec_000001"], "overlap_seconds": 60})
    );
    assert_eq!(by("mynapoint.service_update").detail, json!({"changed": ["name"], "version": 2}));
    assert!(
        records
            .iter()
            .filter(|r| r.action.starts_with("mynapoint."))
            .all(|r| r.actor.id.as_deref() == Some("test-operator"))
    );

    let trail: String = records.iter().map(|r| r.to_json()).collect();
    for secret in &shown {
        assert!(!trail.contains(material(secret)), "a secret in the audit trail");
        for r in &others {
            assert!(!String::from_utf8_lossy(&r.raw).contains(material(secret)), "a secret in another response");
        }
    }
    assert!(!trail.contains("whsec_"));
}

// ---- bad input ----------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_gets_a_specific_problem_and_changes_nothing() {
    let h = harness();
    create_provider(&h, "pay").await;
    let ok = service_body("GOOD", "pay", &["card_acquisition"], "https://pay.example.jp/h");
    let with = |k: &str, v: Json| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let rule = |label: &str, charset: &str, min: i64, max: i64| json!([{"label": label, "charset": charset, "min_len": min, "max_len": max}]);
    let cases: Vec<(&str, Json, u16, &str, &str)> = vec![
        ("provider id too short", json!({"provider_id": "a", "name": "x"}), 422, "invalid_field", "provider_id"),
        ("provider id upper case", json!({"provider_id": "PAY", "name": "x"}), 422, "invalid_field", "provider_id"),
        ("provider id padded", json!({"provider_id": " pay2", "name": "x"}), 422, "invalid_field", "provider_id"),
        ("provider name blank", json!({"provider_id": "pay2", "name": "  "}), 422, "invalid_field", "name"),
        ("provider name 101", json!({"provider_id": "pay2", "name": "x".repeat(101)}), 422, "invalid_field", "name"),
        ("provider name two lines", json!({"provider_id": "pay2", "name": "a\nb"}), 422, "invalid_field", "name"),
        (
            "provider extra field",
            json!({"provider_id": "pay2", "name": "x", "secret": "mine"}),
            422,
            "invalid_field",
            "body",
        ),
        ("provider missing name", json!({"provider_id": "pay2"}), 422, "invalid_field", "body"),
    ];
    for (what, body, status, code, field) in cases {
        let r = h.op("POST", PROVIDERS).header("idempotency-key", &key()).json(body).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{what}: {}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap().starts_with(field) || field == "body",
            "{what}: {}",
            r.body["detail"]
        );
    }
    let cases: Vec<(&str, Json, &str)> = vec![
        ("code lower case", with("code", json!("good")), "code"),
        ("code too long", with("code", json!("A".repeat(17))), "code"),
        ("code padded", with("code", json!("GOOD ")), "code"),
        ("kind unknown", with("kind", json!("cash")), "kind"),
        ("no measures", with("measures", json!([])), "measures"),
        ("measure twice", with("measures", json!(["card_acquisition", "card_acquisition"])), "measures"),
        ("measure unknown", with("measures", json!(["pachinko"])), "measures"),
        ("no code rules", with("code_rules", json!([])), "code_rules"),
        (
            "four code rules",
            with("code_rules", Json::Array(vec![rule("a", "digits", 4, 4)[0].clone(); 4])),
            "code_rules",
        ),
        ("code length zero", with("code_rules", rule("PIN", "digits", 0, 4)), "code_rules"),
        ("code length over 32", with("code_rules", rule("PIN", "digits", 4, 33)), "code_rules"),
        ("min over max", with("code_rules", rule("PIN", "digits", 6, 4)), "code_rules"),
        ("label blank", with("code_rules", rule(" ", "digits", 4, 4)), "code_rules"),
        ("label 41", with("code_rules", rule(&"x".repeat(41), "digits", 4, 4)), "code_rules"),
        ("charset unknown", with("code_rules", rule("PIN", "emoji", 4, 4)), "code_rules"),
        ("length negative", with("code_rules", rule("PIN", "digits", -1, 4)), "code_rules"),
        ("http to the internet", with("endpoint", json!("http://pay.example.jp/h")), "endpoint"),
        ("http to a private address", with("endpoint", json!("http://10.0.0.5/h")), "endpoint"),
        ("credentials in the URL", with("endpoint", json!("https://u:p@pay.example.jp/h")), "endpoint"),
        ("metadata address", with("endpoint", json!("https://169.254.169.254/latest")), "endpoint"),
        ("not a URL", with("endpoint", json!("pay.example.jp")), "endpoint"),
        ("ftp", with("endpoint", json!("ftp://pay.example.jp/")), "endpoint"),
        ("fragment", with("endpoint", json!("https://pay.example.jp/h#x")), "endpoint"),
        ("provider id bad", with("provider_id", json!("P")), "provider_id"),
        ("extra field", with("endpoint_secret", json!("x")), "body"),
    ];
    for (what, body, field) in cases {
        let r = h.op("POST", SERVICES).header("idempotency-key", &key()).json(body).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"), "{what}: {}", r.body);
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.starts_with(field) || field == "body", "{what}: {detail}");
    }
    assert!(h.op("GET", SERVICES).send().await.body["items"].as_array().unwrap().is_empty(), "nothing was created");
    assert!(all_records(&h).await.iter().all(|r| r.action != "mynapoint.service_create"));

    let raw =
        h.op("POST", SERVICES).header("idempotency-key", &key()).raw("application/json", "{\"code\":").send().await;
    assert_eq!((raw.status.as_u16(), raw.code()), (400, "malformed_json"));
    let form = h.op("POST", SERVICES).header("idempotency-key", &key()).raw("text/plain", "code=X").send().await;
    assert_eq!((form.status.as_u16(), form.code()), (415, "unsupported_media_type"));
    let array = h.op("POST", SERVICES).header("idempotency-key", &key()).json(json!([ok])).send().await;
    assert_eq!((array.status.as_u16(), array.code()), (422, "invalid_field"));
    let delete = h.op("DELETE", &format!("{SERVICES}/GOOD")).send().await;
    assert_eq!((delete.status.as_u16(), delete.code()), (405, "method_not_allowed"));
    let loopback = h
        .op("POST", SERVICES)
        .header("idempotency-key", &key())
        .json(with("endpoint", json!("http://[::1]:8080/h")))
        .send()
        .await;
    assert_eq!(loopback.status, 201, "loopback http is the local simulator: {}", loopback.body);
}

/// Issue #12, defect 8: on the AWS backend an endpoint is `https://` to a global address; anything
/// that points inside (loopback, private, link-local, CGNAT, IPv4-mapped or -compatible IPv6,
/// ULA, internal names) is refused at registration and on update with `endpoint_not_allowed`.
#[tokio::test]
async fn on_aws_endpoints_must_be_https_to_global_addresses() {
    let h = harness().into_aws().await;
    assert_eq!(create_provider(&h, "pay").await.status, 201);
    let bad = [
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "http://localhost:8080/hook",
        "http://[::1]:8080/hook",
        "https://127.0.0.1/hook",
        "https://127.8.9.10/hook",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://api.localhost/hook",
        "https://0x7f000001/hook",
        "https://10.0.0.5/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.1/hook",
        "https://100.64.0.1/hook",
        "https://192.0.0.170/hook",
        "https://198.18.0.1/hook",
        "https://240.0.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/latest",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[::127.0.0.1]/hook",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/latest",
        "https://[fc00::1]/hook",
        "https://[fec0::1]/hook",
        "https://[64:ff9b::a9fe:a9fe]/latest",
        "https://[2002:a9fe:a9fe::1]/hook",
        "https://[2001:db8::1]/hook",
        "https://instance-data.ec2.internal/latest",
        "https://metadata/computeMetadata",
        "https://printer.local/hook",
    ];
    for (i, endpoint) in bad.iter().enumerate() {
        let code = format!("BAD{i}");
        let body = service_body(&code, "pay", &["card_acquisition"], endpoint);
        let r = h.op("POST", SERVICES).header("idempotency-key", &key()).json(body).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "endpoint_not_allowed"), "{endpoint}: {}", r.body);
    }
    assert!(h.op("GET", SERVICES).send().await.body["items"].as_array().unwrap().is_empty(), "nothing was created");
    // Still refused as before (not a destination question): the old code.
    let http = service_body("HTTP", "pay", &["card_acquisition"], "http://pay.example.jp/h");
    let r = h.op("POST", SERVICES).header("idempotency-key", &key()).json(http).send().await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "invalid_field"));

    for (i, endpoint) in
        ["https://pay.example.jp/mkpf/hook", "https://8.8.8.8:8443/hook", "https://[2001:4860:4860::8888]/hook"]
            .iter()
            .enumerate()
    {
        let body = service_body(&format!("GOOD{i}"), "pay", &["card_acquisition"], endpoint);
        let r = h.op("POST", SERVICES).header("idempotency-key", &key()).json(body).send().await;
        assert_eq!(r.status, 201, "{endpoint}: {}", r.body);
    }
    for endpoint in bad {
        let r = h.op("PATCH", &format!("{SERVICES}/GOOD0")).json(json!({ "endpoint": endpoint })).send().await;
        assert_eq!((r.status.as_u16(), r.code()), (422, "endpoint_not_allowed"), "{endpoint}: {}", r.body);
    }
    let s = h.op("GET", &format!("{SERVICES}/GOOD0")).send().await;
    assert_eq!(s.body["endpoint"], "https://pay.example.jp/mkpf/hook");
}

// ---- the local demo seed --------------------------------------------------------------------------

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_opens_the_measures() {
    let h = harness();
    let first = services::seed_demo(&h.app, &cli(), "http://127.0.0.1:9001/hook").await.unwrap();
    assert_eq!((first.provider_id.as_str(), first.service_code.as_str()), ("demo", "DEMO_PAY"));
    assert!(first.measures.iter().all(|s| s.created));
    assert_eq!(first.opened, MeasureId::ALL.to_vec(), "2022's periods are moved to cover now");
    let debug = format!("{first:?}");
    assert!(
        !debug.contains(material(&first.webhook_secret.expose()))
            && !debug.contains(material(&first.callback_secret.expose()))
    );
    let now = h.app.clock.now();
    for m in measures::list(&h.app).await.unwrap() {
        assert!(m.config.is_open_at(now), "{:?}", m.config.id);
        assert!(measures::check_period(&m.config).is_ok());
    }

    // Again, with the simulator on another port: nothing rotates, the endpoint follows.
    let second = services::seed_demo(&h.app, &cli(), "http://127.0.0.1:9002/hook").await.unwrap();
    assert_eq!(second.webhook_secret.expose(), first.webhook_secret.expose());
    assert_eq!(second.callback_secret.expose(), first.callback_secret.expose());
    assert!(second.opened.is_empty() && second.measures.iter().all(|s| !s.created));
    let svc = h.op("GET", "/v1/ops/mynapoint/services/DEMO_PAY").send().await;
    assert_eq!(svc.body["endpoint"], "http://127.0.0.1:9002/hook");
    assert_eq!(svc.body["webhook_secrets"].as_array().unwrap().len(), 1);
    assert_eq!(svc.body["measures"], json!(["card_acquisition", "health_insurance", "public_funds_account"]));
    assert_eq!(svc.body["code_rules"], json!([{"label": "PIN", "charset": "digits", "min_len": 4, "max_len": 4}]));
    let public = h.call("GET", &format!("{PUBLIC_SERVICES}?measure=2")).send().await;
    assert_eq!(public.body["items"][0]["code"], "DEMO_PAY");
    assert_eq!(public.body["items"][0]["provider_name"], "Demo Provider");

    assert!(services::seed_demo(&h.app, &cli(), "http://pay.example.jp/").await.is_err(), "endpoint rules hold");
    let aws = harness_with(|c| c.backend = mkpf_core::config::Backend::Aws);
    assert!(matches!(
        services::seed_demo(&aws.app, &cli(), "http://127.0.0.1:9/hook").await,
        Err(services::DemoError::NotLocal)
    ));
}
