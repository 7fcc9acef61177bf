//! Mynapoint data in and out, through the router: eligibility feeds (formats, matching through
//! renewed certificates, unmatched rows, idempotent re-import and redelivery, the one-way rule,
//! re-link merges keeping facts), reconciliation reports (JST day boundaries, monthly totals,
//! re-runs, parts, download and audit, access) and the operator inquiry (three keys, audit,
//! access).

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::card_auth::certificate::CertSerial;
use mkpf_core::domain::mynapoint::{
    ApplicationId, ApplicationState, MeasureId, ProviderId, ServiceAccountId, ServiceCode,
};
use mkpf_core::mykey::person::{self, CertRef, LinkedVia, PersonId};
use mkpf_core::mynapoint::catalog::phase2_defaults;
use mkpf_core::mynapoint::eligibility::{self, Batch, POINTS_HEADER, REGISTRATION_HEADER};
use mkpf_core::mynapoint::eligibility_check::{FactKind, Facts, points_cap};
use mkpf_core::mynapoint::reconciliation::{self, Period};
use mkpf_core::mynapoint::record::{ApplicationRecord, EventRecord, account_measure_key, person_measure_key};
use mkpf_core::ports::store::{Item, ItemExt, Query, SkCond, TxOp, Value};
use mkpf_core::tables::{APPLICATIONS, PEOPLE, PROGRAMS};
use mkpf_http::routes::job;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::{date, datetime};

// ---- helpers --------------------------------------------------------------------------------

async fn drain_eligibility(h: &Harness) -> usize {
    drain(h, &mkpf_core::queues::MYNAPOINT_ELIGIBILITY, "mynapoint-eligibility").await
}

fn feeds(kind: &str) -> String {
    format!("/v1/ops/mynapoint/eligibility-feeds/{kind}")
}

async fn post_feed(h: &Harness, kind: &str, csv: &str) -> Resp {
    h.op("POST", &feeds(kind)).raw("text/csv", csv.to_owned()).send().await
}

fn refused(r: &Resp, status: StatusCode, code: &str, case: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{case}: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"), "{case}");
}

fn row(c: &CertRef, value: &str) -> String {
    format!("{},{},{value}", c.issuer.as_str(), c.serial.as_str())
}

/// A certificate of the harness's test issuer that nobody has.
fn fresh_cert() -> CertRef {
    CertRef {
        issuer: mkpf_core::card_auth::anchors::IssuerId::parse("00112233445566778899aabbccddeeff00112233").unwrap(),
        serial: CertSerial::parse(&uuid::Uuid::new_v4().simple().to_string()).unwrap(),
        not_after: None,
    }
}

async fn facts_of(h: &Harness, pid: &PersonId) -> (Facts, Vec<Item>) {
    let page =
        h.app.store.query(Query::new(&PEOPLE, person::pk(pid)).sk(SkCond::BeginsWith("ELIG#".into()))).await.unwrap();
    (Facts::from_items(page.items.iter()), page.items)
}

/// Imports a feed and processes it; the import's view.
async fn import(h: &Harness, kind: &str, csv: &str) -> serde_json::Value {
    let r = post_feed(h, kind, csv).await;
    assert!(r.status == StatusCode::ACCEPTED || r.status == StatusCode::OK, "{}", r.body);
    drain_eligibility(h).await;
    let v = h.op("GET", &format!("{}/{}", feeds(kind), r.body["feed_id"].as_str().unwrap())).send().await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    v.body
}

fn counts(v: &serde_json::Value) -> [i64; 4] {
    ["recorded", "updated", "unchanged", "unmatched"].map(|k| v[k].as_i64().unwrap())
}

// ---- eligibility feeds ----------------------------------------------------------------------

#[tokio::test]
async fn eligibility_feeds_reach_people_through_any_of_their_certificates() {
    let h = harness();
    let alice = h.citizen().await;
    let bob = h.citizen().await;
    // Alice's card was renewed: the new certificate is linked to her (as the linkage feed does).
    let renewed = fresh_cert();
    h.app
        .store
        .transact(person::link_ops(&alice.person_id, &renewed, LinkedVia::Relink, h.app.clock.now()))
        .await
        .unwrap();
    let stranger = fresh_cert();

    let csv = format!(
        "\u{feff}{REGISTRATION_HEADER}\r\n{}\r\n{}\r\n\r\n{}\r\n",
        row(&renewed, "2022-07-01"),
        row(&bob.cert, "2022-08-01"),
        row(&stranger, "2022-09-01")
    );
    let r = post_feed(&h, "health_insurance", &csv).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let feed_id = r.body["feed_id"].as_str().unwrap().to_owned();
    assert_eq!((r.body["rows"].as_i64(), r.body["status"].as_str()), (Some(3), Some("processing")));
    assert_eq!(r.body["kind"], "health_insurance");
    assert_eq!(drain_eligibility(&h).await, 1);

    let v = h.op("GET", &format!("{}/{feed_id}", feeds("health_insurance"))).send().await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(counts(&v.body), [2, 0, 0, 1], "{}", v.body);
    assert_eq!(v.body["status"], "done");
    assert_eq!(
        v.body["unmatched_rows"],
        json!([{"line": 5, "issuer": stranger.issuer.as_str(), "serial": stranger.serial.as_str()}])
    );
    // The facts are stored as the eligibility check reads them, with the feed that wrote them.
    let (fa, items) = facts_of(&h, &alice.person_id).await;
    assert_eq!(fa.health_insurance_registered_on, Some(date!(2022 - 07 - 01)));
    assert_eq!(items[0].s("feed_id").unwrap(), feed_id);
    assert_eq!(facts_of(&h, &bob.person_id).await.0.health_insurance_registered_on, Some(date!(2022 - 08 - 01)));
    let ms = phase2_defaults();
    assert_eq!(points_cap(&ms[1], &fa), Ok(7500));
    assert!(points_cap(&ms[2], &fa).is_err(), "a health-insurance row says nothing about the account");

    // The same rows again (without BOM, LF line ends): the same import, nothing queued or counted.
    let again = post_feed(
        &h,
        "health_insurance",
        &format!(
            "{REGISTRATION_HEADER}\n{}\n{}\n{}\n",
            row(&renewed, "2022-07-01"),
            row(&bob.cert, "2022-08-01"),
            row(&stranger, "2022-09-01")
        ),
    )
    .await;
    assert_eq!((again.status, again.body["feed_id"].as_str()), (StatusCode::OK, Some(feed_id.as_str())));
    assert_eq!(drain_eligibility(&h).await, 0, "every batch was done");
    // A redelivered batch counts nothing twice.
    let feed = eligibility::parse_feed(FactKind::HealthInsurance, &csv).unwrap();
    let batch =
        Batch { feed_id: feed.id.clone(), kind: Some("health_insurance".into()), batch: 0, rows: feed.rows.clone() };
    eligibility::handle(&h.app, &serde_json::to_string(&batch).unwrap()).await.unwrap();
    let v2 = h.op("GET", &format!("{}/{feed_id}", feeds("health_insurance"))).send().await;
    assert_eq!(counts(&v2.body), [2, 0, 0, 1]);
    assert_eq!(v2.body["batches_done"], 1);

    // The same file as another kind is another import.
    let other = post_feed(&h, "public_funds_account", &csv).await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
    assert_ne!(other.body["feed_id"].as_str(), Some(feed_id.as_str()));
    drain_eligibility(&h).await;
    // An import is found only under its own kind.
    let wrong = h.op("GET", &format!("{}/{feed_id}", feeds("phase1_points"))).send().await;
    refused(&wrong, StatusCode::NOT_FOUND, "eligibility_feed_not_found", "wrong kind");

    // Phase-1 points through Alice's first certificate: her measure-1 cap shrinks.
    let v = import(&h, "phase1_points", &format!("{POINTS_HEADER}\n{}\n", row(&alice.cert, "3200"))).await;
    assert_eq!(counts(&v), [1, 0, 0, 0]);
    let (fa, _) = facts_of(&h, &alice.person_id).await;
    assert_eq!(fa.phase1_points, 3200);
    assert_eq!(points_cap(&ms[0], &fa), Ok(1800));

    // Audit: imports, batches and reads, with ids and counts only (never a serial).
    let records = all_records(&h).await;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert!(actions.contains(&"mynapoint.eligibility_feed_import"));
    assert!(actions.contains(&"mynapoint.eligibility_feed_read"));
    let batches: Vec<_> = records.iter().filter(|r| r.action == "mynapoint.eligibility_batch").collect();
    assert_eq!(batches.len(), 3, "one per batch processed, none for the redelivery");
    assert!(batches.iter().any(|b| b.targets.contains(&format!("person:{}", alice.person_id))));
    for r in &records {
        assert!(!r.to_json().contains(stranger.serial.as_str()), "{}", r.action);
    }
}

#[tokio::test]
async fn facts_keep_the_earliest_registration_and_the_largest_phase1_total() {
    let h = harness();
    let alice = h.citizen().await;
    let bob = h.citizen().await;
    let first =
        format!("{REGISTRATION_HEADER}\n{}\n{}\n", row(&alice.cert, "2022-07-01"), row(&bob.cert, "2022-08-01"));
    assert_eq!(counts(&import(&h, "public_funds_account", &first).await), [2, 0, 0, 0]);
    // Alice re-registered later (changed account): she keeps the earlier date. Bob's earlier
    // registration replaces the later one. Two rows of one person in one file meet the same way.
    let second = format!(
        "{REGISTRATION_HEADER}\n{}\n{}\n{}\n",
        row(&alice.cert, "2023-11-15"),
        row(&bob.cert, "2022-05-01"),
        row(&bob.cert, "2022-06-01")
    );
    assert_eq!(counts(&import(&h, "public_funds_account", &second).await), [0, 1, 2, 0]);
    let fa = facts_of(&h, &alice.person_id).await.0;
    let fb = facts_of(&h, &bob.person_id).await.0;
    assert_eq!(fa.public_funds_account_registered_on, Some(date!(2022 - 07 - 01)));
    assert_eq!(fb.public_funds_account_registered_on, Some(date!(2022 - 05 - 01)));
    assert_eq!(points_cap(&phase2_defaults()[2], &fa), Ok(7500), "registered before the deadline");

    let p = |n: &str| format!("{POINTS_HEADER}\n{}\n", row(&alice.cert, n));
    assert_eq!(counts(&import(&h, "phase1_points", &p("1200")).await), [1, 0, 0, 0]);
    assert_eq!(counts(&import(&h, "phase1_points", &p("5000")).await), [0, 1, 0, 0]);
    assert_eq!(counts(&import(&h, "phase1_points", &p("800")).await), [0, 0, 1, 0]);
    let fa = facts_of(&h, &alice.person_id).await.0;
    assert_eq!(fa.phase1_points, 5000);
    assert!(points_cap(&phase2_defaults()[0], &fa).is_err(), "phase-1 total reached the cap");
}

#[tokio::test]
async fn bad_eligibility_feeds_are_refused_whole() {
    let h = harness();
    let c = h.citizen().await;
    let r = post_feed(&h, "health_insurance", "issuer,serial,date\n").await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "header");
    assert!(r.body["detail"].as_str().unwrap().contains("line 1"), "{}", r.body);
    let r = post_feed(&h, "phase1_points", &format!("{REGISTRATION_HEADER}\n{}\n", row(&c.cert, "2022-07-01"))).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "another kind's header");
    let bad = format!("{POINTS_HEADER}\r\n{}\r\n{}\r\n", row(&c.cert, "100"), row(&c.cert, "5001"));
    let r = post_feed(&h, "phase1_points", &bad).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "points over the phase-1 cap");
    assert!(r.body["detail"].as_str().unwrap().contains("line 3"), "{}", r.body);
    let r = post_feed(&h, "health_insurance", &format!("{REGISTRATION_HEADER}\nzz,1,2022-07-01\n")).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "bad issuer");
    assert!(r.body["detail"].as_str().unwrap().contains("line 2"));
    let r =
        post_feed(&h, "health_insurance", &format!("{REGISTRATION_HEADER}\n{}\n", row(&c.cert, "2022-02-30"))).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "no such date");
    let r = h.op("POST", &feeds("health_insurance")).raw("text/csv", vec![0xff, 0xfe]).send().await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "not utf-8");
    let r = h.op("POST", &feeds("health_insurance")).json(json!({})).send().await;
    refused(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "json");
    let r = post_feed(&h, "blood_type", &format!("{REGISTRATION_HEADER}\n{}\n", row(&c.cert, "2022-07-01"))).await;
    refused(&r, StatusCode::NOT_FOUND, "eligibility_kind_unknown", "unknown kind");
    let r = h.op("GET", &format!("{}/{}", feeds("health_insurance"), "0".repeat(32))).send().await;
    refused(&r, StatusCode::NOT_FOUND, "eligibility_feed_not_found", "unknown feed");
    let r = h.op("GET", &format!("{}/not-an-id", feeds("health_insurance"))).send().await;
    refused(&r, StatusCode::NOT_FOUND, "eligibility_feed_not_found", "malformed id");
    // Access: operators import; auditors read but may not import; citizens neither.
    let r = h.call("POST", &feeds("health_insurance")).staff(AUDITOR).raw("text/csv", "x").send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "auditor import");
    let r = h.call("GET", &format!("{}/{}", feeds("health_insurance"), "0".repeat(32))).bearer(&c.token).send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "citizen read");
    assert_eq!(h.app.queue.depth(&mkpf_core::queues::MYNAPOINT_ELIGIBILITY).await.unwrap(), Default::default());
    assert!(facts_of(&h, &c.person_id).await.1.is_empty());
}

#[tokio::test]
async fn a_relink_merge_carries_eligibility_over() {
    let h = harness();
    // Alice's old card made her person (with facts of its own).
    let alice = h.citizen().await;
    // Her renewed card signed in before the linkage feed arrived: a provisional person, and the
    // eligibility feeds already brought facts for that certificate.
    let provisional = h.citizen().await;
    import(&h, "public_funds_account", &format!("{REGISTRATION_HEADER}\n{}\n", row(&alice.cert, "2023-03-01"))).await;
    import(&h, "phase1_points", &format!("{POINTS_HEADER}\n{}\n", row(&alice.cert, "1200"))).await;
    import(&h, "public_funds_account", &format!("{REGISTRATION_HEADER}\n{}\n", row(&provisional.cert, "2022-09-01")))
        .await;
    import(&h, "health_insurance", &format!("{REGISTRATION_HEADER}\n{}\n", row(&provisional.cert, "2022-07-01"))).await;
    import(&h, "phase1_points", &format!("{POINTS_HEADER}\n{}\n", row(&provisional.cert, "500"))).await;
    assert_eq!(facts_of(&h, &provisional.person_id).await.1.len(), 3);

    let linkage = format!(
        "{}\n{},{},{},{},2026-11-25\n",
        mkpf_core::mykey::relink::HEADER,
        alice.cert.issuer.as_str(),
        alice.cert.serial.as_str(),
        provisional.cert.issuer.as_str(),
        provisional.cert.serial.as_str()
    );
    let r = h.op("POST", "/v1/ops/card-auth/linkage-feeds").raw("text/csv", linkage).send().await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(drain(&h, &mkpf_core::queues::CARD_RELINK, "card-relink").await, 1);
    let v =
        h.op("GET", &format!("/v1/ops/card-auth/linkage-feeds/{}", r.body["feed_id"].as_str().unwrap())).send().await;
    assert_eq!((v.body["merged"].as_i64(), v.body["conflict"].as_i64()), (Some(1), Some(0)), "{}", v.body);

    // Alice now has the facts of both: the earliest registrations, the larger phase-1 total.
    let (fa, items) = facts_of(&h, &alice.person_id).await;
    assert_eq!(fa.public_funds_account_registered_on, Some(date!(2022 - 09 - 01)));
    assert_eq!(fa.health_insurance_registered_on, Some(date!(2022 - 07 - 01)));
    assert_eq!(fa.phase1_points, 1200);
    assert_eq!(items.len(), 3);
    assert!(facts_of(&h, &provisional.person_id).await.1.is_empty(), "nothing left under the provisional person");
    let gone = h.app.store.query(Query::new(&PEOPLE, person::pk(&provisional.person_id))).await.unwrap();
    assert!(gone.items.is_empty());
    // A merge that read the provisional person before a feed batch wrote a fact there does not
    // go through (it looks again), so the fact is not lost.
    let late = h.citizen().await;
    let read = facts_of(&h, &late.person_id).await.1;
    let ops = eligibility::carry_over_ops(&h.app, &late.person_id, &alice.person_id, &read).await.unwrap();
    import(&h, "health_insurance", &format!("{REGISTRATION_HEADER}\n{}\n", row(&late.cert, "2022-01-01"))).await;
    let e = h.app.store.transact(ops).await.unwrap_err();
    assert!(e.failed_condition_index().is_some(), "{e:?}");
    let read = facts_of(&h, &late.person_id).await.1;
    let ops = eligibility::carry_over_ops(&h.app, &late.person_id, &alice.person_id, &read).await.unwrap();
    h.app.store.transact(ops).await.unwrap();
    assert_eq!(facts_of(&h, &alice.person_id).await.0.health_insurance_registered_on, Some(date!(2022 - 01 - 01)));
    assert!(facts_of(&h, &late.person_id).await.1.is_empty());

    // A feed row for the renewed certificate now reaches Alice.
    let v = import(&h, "phase1_points", &format!("{POINTS_HEADER}\n{}\n", row(&provisional.cert, "2000"))).await;
    assert_eq!(counts(&v), [0, 1, 0, 0]);
    assert_eq!(facts_of(&h, &alice.person_id).await.0.phase1_points, 2000);
}

// ---- reconciliation -------------------------------------------------------------------------

const DEMO: &str = "demo-pay";
const OTHER: &str = "other-pay";

async fn seed_provider(h: &Harness, id: &str) {
    let mut i = Item::new();
    for (k, v) in [
        ("pk", format!("PROVIDER#{id}")),
        ("sk", "PROFILE".into()),
        ("gsi1pk", "PROVIDERS".into()),
        ("gsi1sk", id.into()),
    ] {
        i.insert(k.into(), Value::S(v));
    }
    i.insert("name".into(), Value::S(id.into()));
    h.app.store.put(&PROGRAMS, i, None).await.unwrap();
}

fn app_id(n: u8) -> ApplicationId {
    ApplicationId::from_bytes([n; 16])
}

struct Seed<'a> {
    id: ApplicationId,
    person: &'a PersonId,
    provider: &'a str,
    service: &'a str,
    account: &'a str,
    measure: MeasureId,
    state: ApplicationState,
    at: OffsetDateTime,
    granted: i64,
}

fn record(s: &Seed) -> ApplicationRecord {
    ApplicationRecord {
        id: s.id.clone(),
        person: s.person.clone(),
        mykey_id: "ABCD2345".into(),
        measure: s.measure,
        service: ServiceCode::parse(s.service).unwrap(),
        provider: ProviderId::parse(s.provider).unwrap(),
        account: ServiceAccountId::parse(s.account).unwrap(),
        codes_sealed: Some("sealed-codes-never-shown".into()),
        state: s.state,
        created_at: s.at,
        points_cap: 5000,
        points_granted: s.granted,
        charge_total: 0,
        balance: None,
        request_hash: mkpf_core::mynapoint::record::RequestDigest::Legacy([0; 32]),
        dispatched_at: None,
        reason: None,
        version: 1,
    }
}

/// Writes an application with its person × measure and account × measure places.
async fn seed_app(h: &Harness, s: Seed<'_>) -> ApplicationRecord {
    let rec = record(&s);
    let place = |key: mkpf_core::ports::store::Key| {
        let mut i = APPLICATIONS.key_item(&key);
        i.insert("person".into(), Value::S(s.person.as_str().into()));
        i.insert("application".into(), Value::S(s.id.as_str().into()));
        TxOp::Put { table: &APPLICATIONS, item: i, cond: None }
    };
    h.app
        .store
        .transact(vec![
            TxOp::Put { table: &APPLICATIONS, item: rec.to_item(), cond: None },
            place(person_measure_key(s.person, s.measure)),
            place(account_measure_key(&rec.service, &rec.account, s.measure)),
        ])
        .await
        .unwrap();
    rec
}

async fn seed_event(
    h: &Harness,
    rec: &ApplicationRecord,
    kind: &str,
    at: OffsetDateTime,
    f: impl FnOnce(&mut EventRecord),
) {
    let mut e = EventRecord {
        application: rec.id.clone(),
        provider: rec.provider.clone(),
        service: rec.service.clone(),
        measure: rec.measure,
        webhook_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        kind: kind.into(),
        outcome: "applied".into(),
        points: None,
        charge_amount: None,
        balance: None,
        granted_on: None,
        reason: None,
        received_at: at,
    };
    f(&mut e);
    h.app.store.put(&APPLICATIONS, e.to_item(), None).await.unwrap();
}

async fn run_reconcile(h: &Harness) -> serde_json::Value {
    mkpf_runtime::worker::run_job(&h.app, job("mynapoint-reconcile").unwrap()).await.unwrap()
}

async fn download(h: &Harness, path: &str) -> String {
    let r = h.op("GET", path).send().await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&r.raw));
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r.header("content-disposition").unwrap().starts_with("attachment; filename=\"mynapoint-"));
    String::from_utf8(r.raw).unwrap()
}

/// Two providers with applications and events around the JST day 2026-11-25.
async fn seed_day(h: &Harness) -> (PersonId, Vec<ApplicationRecord>) {
    seed_provider(h, DEMO).await;
    seed_provider(h, OTHER).await;
    let p = PersonId::generate();
    let mut apps = Vec::new();
    let at = |t: OffsetDateTime, n: u8, state, service: &'static str, provider: &'static str| {
        (t, n, state, service, provider)
    };
    for (t, n, state, service, provider) in [
        at(datetime!(2026-11-24 23:59:59 +9), 1, ApplicationState::Accepted, "DEMO_PAY", DEMO),
        at(datetime!(2026-11-25 00:00:00 +9), 2, ApplicationState::Accepted, "DEMO_PAY", DEMO),
        at(datetime!(2026-11-25 12:00:00 +9), 3, ApplicationState::Rejected, "DEMO_CARD", DEMO),
        at(datetime!(2026-11-25 23:59:59 +9), 4, ApplicationState::Submitted, "DEMO_PAY", DEMO),
        at(datetime!(2026-11-26 00:00:00 +9), 5, ApplicationState::Submitted, "DEMO_PAY", DEMO),
        at(datetime!(2026-11-25 09:00:00 +9), 6, ApplicationState::Dispatched, "OTHER_PAY", OTHER),
    ] {
        let account = format!("ACCT-{n}0000{n}");
        let rec = seed_app(
            h,
            Seed {
                id: app_id(n),
                person: &p,
                provider,
                service,
                account: &account,
                measure: if n == 3 { MeasureId::HealthInsurance } else { MeasureId::CardAcquisition },
                state,
                at: t,
                granted: if n == 2 { 1200 } else { 0 },
            },
        )
        .await;
        apps.push(rec);
    }
    let (a1, a2, a3, a4) = (&apps[0], &apps[1], &apps[2], &apps[3]);
    seed_event(h, a1, "application.dispatched", datetime!(2026-11-24 23:59:59 +9), |_| {}).await;
    seed_event(h, a1, "application.accepted", datetime!(2026-11-25 00:00:00 +9), |_| {}).await;
    seed_event(h, a2, "application.dispatched", datetime!(2026-11-25 00:00:05 +9), |_| {}).await;
    seed_event(h, a2, "points.granted", datetime!(2026-11-25 10:00:00 +9), |e| {
        e.points = Some(1200);
        e.charge_amount = Some(4800);
        e.granted_on = Some("2026-11-25".into());
    })
    .await;
    seed_event(h, a2, "points.granted", datetime!(2026-11-25 11:00:00 +9), |e| {
        e.points = Some(9000);
        e.outcome = "refused_over_cap".into();
        e.granted_on = Some("2026-11-25".into());
    })
    .await;
    seed_event(h, a2, "balance.reported", datetime!(2026-11-25 12:00:00 +9), |e| e.balance = Some(3800)).await;
    seed_event(h, a3, "application.rejected", datetime!(2026-11-25 13:00:00 +9), |e| {
        e.reason = Some("account_mismatch".into());
        e.webhook_id = "=cmd|' /C calc'!A0".into();
    })
    .await;
    seed_event(h, a2, "points.granted", datetime!(2026-11-25 23:59:59 +9), |e| {
        e.points = Some(300);
        e.charge_amount = Some(1200);
        e.granted_on = Some("2026-11-25".into());
    })
    .await;
    seed_event(h, a4, "link.stopped", datetime!(2026-11-26 00:00:00 +9), |e| e.reason = Some("account_closed".into()))
        .await;
    (p, apps)
}

#[tokio::test]
async fn the_daily_report_covers_one_jst_day_without_personal_data() {
    let h = harness();
    let (person, apps) = seed_day(&h).await;
    h.clock.set(datetime!(2026-11-26 02:00 +9));
    let out = run_reconcile(&h).await;
    assert_eq!(out, json!({"date": "2026-11-25", "daily_reports": 2, "month": null, "monthly_reports": 0}));

    let list = h.op("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}")).send().await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let r = &items[0];
    assert_eq!(
        (r["kind"].as_str(), r["period"].as_str(), r["parts"].as_i64()),
        (Some("daily"), Some("2026-11-25"), Some(1))
    );
    assert_eq!(r["generated_at"], "2026-11-26T02:00:00+09:00");
    assert_eq!(r["rows"], 3 + 7, "applications 2, 3, 4 and the seven events of the day");
    assert_eq!(
        r["totals"],
        json!({"applications": 3, "events": 7, "grants": 2, "points_granted": 1500, "charge_amount": 6000,
               "refused_over_cap": 1, "points_refused_over_cap": 9000})
    );
    assert!(list.body["next_cursor"].is_null());

    let csv = download(&h, &format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25")).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], reconciliation::DAILY_HEADER);
    assert_eq!(lines.len(), 11);
    let (a2, a3, a4) = (&apps[1], &apps[2], &apps[3]);
    assert_eq!(
        lines[1],
        format!("application,{},DEMO_PAY,card_acquisition,2026-11-25T00:00:00+09:00,accepted,5000,1200,,,,,,,,", a2.id)
    );
    assert_eq!(
        lines[2],
        format!("application,{},DEMO_CARD,health_insurance,2026-11-25T12:00:00+09:00,rejected,5000,0,,,,,,,,", a3.id)
    );
    assert_eq!(
        lines[3],
        format!("application,{},DEMO_PAY,card_acquisition,2026-11-25T23:59:59+09:00,submitted,5000,0,,,,,,,,", a4.id)
    );
    let events: Vec<Vec<&str>> = lines[4..].iter().map(|l| l.split(',').collect()).collect();
    let kinds: Vec<(&str, &str)> = events.iter().map(|e| (e[4], e[8])).collect();
    assert_eq!(
        kinds,
        vec![
            ("2026-11-25T00:00:00+09:00", "application.accepted"),
            ("2026-11-25T00:00:05+09:00", "application.dispatched"),
            ("2026-11-25T10:00:00+09:00", "points.granted"),
            ("2026-11-25T11:00:00+09:00", "points.granted"),
            ("2026-11-25T12:00:00+09:00", "balance.reported"),
            ("2026-11-25T13:00:00+09:00", "application.rejected"),
            ("2026-11-25T23:59:59+09:00", "points.granted"),
        ],
        "the events of 2026-11-24 23:59:59 and 2026-11-26 00:00:00 JST belong to other days"
    );
    assert_eq!(&events[2][9..14], &["applied", "1200", "4800", "2026-11-25", ""]);
    assert_eq!(&events[3][9..11], &["refused_over_cap", "9000"]);
    assert_eq!(events[4][13], "3800");
    assert_eq!(events[5][14], "account_mismatch");
    assert!(
        lines[9].ends_with(",account_mismatch,'=cmd|' /C calc'!A0"),
        "a provider's text is never a formula: {}",
        lines[9]
    );
    // No personal data: no person, MyKey ID, account or codes.
    for secret in [person.as_str(), "ABCD2345", "ACCT-", "sealed-codes"] {
        assert!(!csv.contains(secret), "{secret} in the report");
    }
    // The other provider's report holds only its own application.
    let other = download(&h, &format!("/v1/ops/mynapoint/reports/{OTHER}/daily/2026-11-25")).await;
    assert_eq!(other.lines().count(), 2);
    assert!(other.contains(apps[5].id.as_str()));

    // Downloads are audited; the report writes too.
    let records = all_records(&h).await;
    let downloads: Vec<_> = records.iter().filter(|r| r.action == "mynapoint.report_download").collect();
    assert_eq!(downloads.len(), 2);
    let mut targets: Vec<String> = downloads.iter().flat_map(|d| d.targets.clone()).collect();
    targets.sort();
    assert_eq!(targets, vec![format!("report:{DEMO}:daily:2026-11-25"), format!("report:{OTHER}:daily:2026-11-25")]);
    assert!(downloads.iter().all(|d| d.actor.id.as_deref() == Some(OPERATOR.0)));
    assert_eq!(records.iter().filter(|r| r.action == "mynapoint.report_write").count(), 2);

    // Auditors list and download too; patch approvers and citizens do not.
    let r = h.call("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25")).staff(AUDITOR).send().await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h.call("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}")).staff(APPROVER).send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "approver");
    let c = h.citizen().await;
    let r = h.call("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25")).bearer(&c.token).send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "citizen");

    // Unknown reports and malformed requests.
    for (path, status, code) in [
        (format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-24"), StatusCode::NOT_FOUND, "report_not_found"),
        (format!("/v1/ops/mynapoint/reports/{DEMO}/weekly/2026-11-24"), StatusCode::NOT_FOUND, "report_not_found"),
        (format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11"), StatusCode::NOT_FOUND, "report_not_found"),
        (format!("/v1/ops/mynapoint/reports/{DEMO}/monthly/2026-13"), StatusCode::NOT_FOUND, "report_not_found"),
        ("/v1/ops/mynapoint/reports/Not_A_Provider/daily/2026-11-25".into(), StatusCode::NOT_FOUND, "report_not_found"),
        (
            format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25?part=2"),
            StatusCode::NOT_FOUND,
            "report_part_not_found",
        ),
        (
            format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25?part=0"),
            StatusCode::NOT_FOUND,
            "report_part_not_found",
        ),
        (format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25?part=x"), StatusCode::BAD_REQUEST, "invalid_query"),
        (format!("/v1/ops/mynapoint/reports/{DEMO}?kind=weekly"), StatusCode::BAD_REQUEST, "invalid_query"),
        (format!("/v1/ops/mynapoint/reports/{DEMO}?limit=0"), StatusCode::BAD_REQUEST, "invalid_query"),
        (format!("/v1/ops/mynapoint/reports/{DEMO}?cursor=!!"), StatusCode::BAD_REQUEST, "invalid_cursor"),
        ("/v1/ops/mynapoint/reports/Not_A_Provider".into(), StatusCode::NOT_FOUND, "provider_unknown"),
    ] {
        let r = h.op("GET", &path).send().await;
        refused(&r, status, code, &path);
    }
    assert_eq!(h.op("GET", "/v1/ops/mynapoint/reports/nobody").send().await.body["items"], json!([]));
}

#[tokio::test]
async fn monthly_summaries_and_reruns_replace_reports() {
    let h = harness();
    let (_, apps) = seed_day(&h).await;
    // An application and a grant of another day of November, and one of December.
    let p = PersonId::generate();
    let late = seed_app(
        &h,
        Seed {
            id: app_id(9),
            person: &p,
            provider: DEMO,
            service: "DEMO_PAY",
            account: "ACCT-9",
            measure: MeasureId::PublicFundsAccount,
            state: ApplicationState::Stopped,
            at: datetime!(2026-11-30 23:00 +9),
            granted: 7500,
        },
    )
    .await;
    seed_event(&h, &late, "points.granted", datetime!(2026-11-30 23:30 +9), |e| {
        e.points = Some(7500);
        e.granted_on = Some("2026-11-30".into());
    })
    .await;
    seed_event(&h, &late, "points.granted", datetime!(2026-12-01 00:00 +9), |e| e.points = Some(10)).await;

    h.clock.set(datetime!(2026-12-01 02:00 +9));
    let out = run_reconcile(&h).await;
    assert_eq!(out, json!({"date": "2026-11-30", "daily_reports": 2, "month": "2026-11", "monthly_reports": 2}));
    let csv = download(&h, &format!("/v1/ops/mynapoint/reports/{DEMO}/monthly/2026-11")).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], reconciliation::MONTHLY_HEADER);
    assert_eq!(
        &lines[1..],
        &[
            // applications made in November by state now; grants received in November
            "2026-11,DEMO_CARD,health_insurance,1,0,0,0,1,0,0,0,0,0,0",
            "2026-11,DEMO_PAY,card_acquisition,4,2,0,2,0,0,2,1500,6000,1,9000",
            "2026-11,DEMO_PAY,public_funds_account,1,0,0,0,0,1,1,7500,0,0,0",
            "2026-11,total,total,6,2,0,2,1,1,3,9000,6000,1,9000",
        ]
    );
    let list = h.op("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}?kind=monthly")).send().await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["totals"]["points_granted"], 9000);
    // Both kinds, newest first (monthly before daily), paged.
    let page1 = h.op("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}?limit=1")).send().await;
    assert_eq!(page1.body["items"][0]["kind"], "monthly");
    let next = page1.body["next_cursor"].as_str().unwrap();
    let page2 = h.op("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}?limit=1&cursor={next}")).send().await;
    assert_eq!(
        (page2.body["items"][0]["kind"].as_str(), page2.body["items"][0]["period"].as_str()),
        (Some("daily"), Some("2026-11-30"))
    );
    let foreign = h.op("GET", &format!("/v1/ops/mynapoint/reports/{OTHER}?cursor={next}")).send().await;
    refused(&foreign, StatusCode::BAD_REQUEST, "invalid_cursor", "a cursor of another provider's list");

    // Re-running a day (e.g. from mkpf-admin) replaces its report: same data, same CSV; changed
    // data, a new CSV; only the current run's parts stay.
    let ctx = mkpf_core::audit::Context::new(mkpf_core::audit::Actor::cli("test"));
    let day = Period::Day(date!(2026 - 11 - 25));
    let demo = ProviderId::parse(DEMO).unwrap();
    let before = reconciliation::info(&h.app, &demo, day).await;
    assert!(before.is_err(), "2026-11-25 was not reported by this run");
    let first = reconciliation::reconcile(&h.app, &ctx, day, Some(&demo)).await.unwrap();
    let again = reconciliation::reconcile(&h.app, &ctx, day, Some(&demo)).await.unwrap();
    assert_eq!(first[0].sha256, again[0].sha256);
    let mut changed = apps[3].clone();
    changed.state = ApplicationState::Dispatched;
    h.app.store.put(&APPLICATIONS, changed.to_item(), None).await.unwrap();
    let third = reconciliation::reconcile(&h.app, &ctx, day, Some(&demo)).await.unwrap();
    assert_ne!(third[0].sha256, first[0].sha256);
    let csv = download(&h, &format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25")).await;
    assert!(csv.contains(&format!("{},DEMO_PAY,card_acquisition,2026-11-25T23:59:59+09:00,dispatched", apps[3].id)));
    let parts = h
        .app
        .store
        .query(Query::new(&PROGRAMS, format!("REPORT#{DEMO}#daily#2026-11-25")).sk(SkCond::BeginsWith("PART#".into())))
        .await
        .unwrap();
    assert_eq!(parts.items.len(), 1, "the parts of earlier runs are gone");
    let listed = h.op("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}?kind=daily")).send().await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "one report per day, however often it ran");

    // A run in progress holds the report; a second one is refused until the lock expires.
    let mut lock =
        PROGRAMS.key_item(&mkpf_core::ports::store::Key::new(format!("REPORT#{DEMO}#daily#2026-11-25"), "LOCK"));
    lock.insert("run".into(), Value::S("elsewhere".into()));
    lock.insert("ttl".into(), Value::N(h.app.clock.epoch_secs() + 60));
    h.app.store.put(&PROGRAMS, lock, None).await.unwrap();
    let busy = reconciliation::reconcile(&h.app, &ctx, day, Some(&demo)).await;
    assert!(matches!(busy, Err(reconciliation::ReportError::Busy)), "{busy:?}");
    h.clock.advance(time::Duration::seconds(61));
    assert!(reconciliation::reconcile(&h.app, &ctx, day, Some(&demo)).await.is_ok());
}

#[tokio::test]
async fn large_reports_are_stored_and_downloaded_in_parts() {
    let h = harness();
    seed_provider(&h, DEMO).await;
    let p = PersonId::generate();
    let base = datetime!(2026-11-25 08:00 +9);
    let n = 3000u32;
    let mut ops = Vec::new();
    for i in 0..n {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&i.to_be_bytes());
        let rec = record(&Seed {
            id: ApplicationId::from_bytes(b),
            person: &p,
            provider: DEMO,
            service: "DEMO_PAY",
            account: "ACCT-1",
            measure: MeasureId::CardAcquisition,
            state: ApplicationState::Submitted,
            at: base + time::Duration::seconds(i64::from(i)),
            granted: 0,
        });
        ops.push(TxOp::Put { table: &APPLICATIONS, item: rec.to_item(), cond: None });
        if ops.len() == 100 {
            h.app.store.transact(std::mem::take(&mut ops)).await.unwrap();
        }
    }
    h.clock.set(datetime!(2026-11-26 02:00 +9));
    run_reconcile(&h).await;
    let list = h.op("GET", &format!("/v1/ops/mynapoint/reports/{DEMO}")).send().await;
    let info = &list.body["items"][0];
    let parts = info["parts"].as_i64().unwrap();
    assert!(parts >= 2, "{info}");
    assert_eq!(info["rows"], n);
    let path = format!("/v1/ops/mynapoint/reports/{DEMO}/daily/2026-11-25");
    let whole = download(&h, &path).await;
    assert_eq!(whole.len() as i64, info["bytes"].as_i64().unwrap());
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(whole.as_bytes())), info["sha256"].as_str().unwrap());
    // Every part is a CSV of its own; together they are the whole.
    let mut joined = String::new();
    for k in 1..=parts {
        let part = download(&h, &format!("{path}?part={k}")).await;
        assert!(part.starts_with(reconciliation::DAILY_HEADER));
        joined.push_str(if k == 1 { &part } else { &part[reconciliation::DAILY_HEADER.len() + 1..] });
    }
    assert_eq!(joined, whole);
    for stored in h
        .app
        .store
        .query(Query::new(&PROGRAMS, format!("REPORT#{DEMO}#daily#2026-11-25")).sk(SkCond::BeginsWith("PART#".into())))
        .await
        .unwrap()
        .items
    {
        assert!(mkpf_core::ports::store::item_size(&stored) < 400 * 1024);
    }
}

// ---- inquiry --------------------------------------------------------------------------------

fn seed<'a>(
    id: ApplicationId,
    person: &'a PersonId,
    service: &'a str,
    account: &'a str,
    measure: MeasureId,
    state: ApplicationState,
    at: OffsetDateTime,
) -> Seed<'a> {
    Seed { id, person, provider: DEMO, service, account, measure, state, at, granted: 0 }
}

const INQUIRY: &str = "/v1/ops/mynapoint/inquiries";

#[tokio::test]
async fn operators_find_a_persons_applications_by_any_key_and_every_lookup_is_audited() {
    let h = harness();
    let alice = h.citizen().await;
    let r = h.call("POST", "/v1/mykey-ids").bearer(&alice.token).send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mykey = r.body["mykey_id"].as_str().unwrap().to_owned();
    let bob = PersonId::generate();
    let a1 = seed_app(
        &h,
        seed(
            app_id(1),
            &alice.person_id,
            "DEMO_PAY",
            "ACC-0001",
            MeasureId::CardAcquisition,
            ApplicationState::Accepted,
            datetime!(2026-11-20 10:00 +9),
        ),
    )
    .await;
    let a2 = seed_app(
        &h,
        seed(
            app_id(2),
            &alice.person_id,
            "OTHER_PAY",
            "X9",
            MeasureId::HealthInsurance,
            ApplicationState::Rejected,
            datetime!(2026-11-21 10:00 +9),
        ),
    )
    .await;
    // Bob (a minor's parent, say) used the same account for another measure.
    let b1 = seed_app(
        &h,
        seed(
            app_id(3),
            &bob,
            "DEMO_PAY",
            "ACC-0001",
            MeasureId::PublicFundsAccount,
            ApplicationState::Submitted,
            datetime!(2026-11-22 10:00 +9),
        ),
    )
    .await;

    let ask = |body: serde_json::Value| h.op("POST", INQUIRY).json(body).send();
    let by_id = ask(json!({"mykey_id": mykey.to_ascii_lowercase()})).await;
    assert_eq!(by_id.status, StatusCode::OK, "{}", by_id.body);
    assert_eq!(by_id.body["by"], "mykey_id");
    let people = by_id.body["people"].as_array().unwrap();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0]["mykey_id"], mykey);
    let ids: Vec<&str> =
        people[0]["applications"].as_array().unwrap().iter().map(|a| a["application_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a2.id.as_str(), a1.id.as_str()], "newest first");
    let first = &people[0]["applications"][1];
    assert_eq!(first["service_account_hint"], "****0001");
    assert_eq!(
        (first["state"].as_str(), first["measure"].as_str(), first["points_remaining"].as_i64()),
        (Some("accepted"), Some("card_acquisition"), Some(5000))
    );
    assert_eq!(first["created_at"], "2026-11-20T10:00:00+09:00");
    assert_eq!(first["matched"], false);
    for secret in ["sealed-codes", "ACC-0001", alice.person_id.as_str()] {
        assert!(!String::from_utf8_lossy(&by_id.raw).contains(secret), "{secret} in the response");
    }

    let by_app = ask(json!({"application_id": a2.id.as_str()})).await;
    assert_eq!(by_app.body["people"][0]["applications"].as_array().unwrap().len(), 2);
    assert_eq!(by_app.body["people"][0]["applications"][0]["matched"], true);
    assert_eq!(by_app.body["people"][0]["applications"][1]["matched"], false);

    let by_account = ask(json!({"service_code": "DEMO_PAY", "service_account_id": "ACC-0001"})).await;
    assert_eq!(by_account.status, StatusCode::OK, "{}", by_account.body);
    let people = by_account.body["people"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{}", by_account.body);
    let matched: Vec<&str> = people
        .iter()
        .flat_map(|p| p["applications"].as_array().unwrap().iter())
        .filter(|a| a["matched"] == true)
        .map(|a| a["application_id"].as_str().unwrap())
        .collect();
    assert_eq!(matched.len(), 2);
    assert!(matched.contains(&a1.id.as_str()) && matched.contains(&b1.id.as_str()));
    assert!(people.iter().any(|p| p["mykey_id"].is_null()), "Bob has no MyKey ID now");

    let nobody = ask(json!({"application_id": format!("app_{}", "0".repeat(32))})).await;
    assert_eq!((nobody.status, nobody.body["people"].clone()), (StatusCode::OK, json!([])));
    // Patch approvers may look too.
    let r = h.call("POST", INQUIRY).staff(APPROVER).json(json!({"mykey_id": mykey})).send().await;
    assert_eq!(r.status, StatusCode::OK);

    // Every lookup is audited with its kind; the account only as a digest.
    let records = all_records(&h).await;
    let inquiries: Vec<_> = records.iter().filter(|r| r.action == "mynapoint.inquiry").collect();
    assert_eq!(inquiries.len(), 5);
    // (The export is in chain order, not time order: find each record by what it says.)
    let mut by: Vec<&str> = inquiries.iter().map(|r| r.detail["by"].as_str().unwrap()).collect();
    by.sort();
    assert_eq!(by, vec!["application_id", "application_id", "mykey_id", "mykey_id", "service_account"]);
    let by_mykey: Vec<_> = inquiries.iter().filter(|r| r.detail["by"] == "mykey_id").collect();
    for r in &by_mykey {
        assert_eq!(r.targets, vec![format!("mykey:{mykey}"), format!("person:{}", alice.person_id)]);
    }
    assert!(by_mykey.iter().any(|r| r.actor.id.as_deref() == Some(APPROVER.0)));
    let digest = mkpf_core::mynapoint::inquiry::account_digest(
        &ServiceCode::parse("DEMO_PAY").unwrap(),
        &ServiceAccountId::parse("ACC-0001").unwrap(),
    );
    let account = inquiries.iter().find(|r| r.detail["by"] == "service_account").unwrap();
    assert_eq!(account.targets[0], format!("account:DEMO_PAY:{digest}"));
    assert_eq!(account.detail["people"], 2);
    let empty = inquiries.iter().filter(|r| r.detail["people"] == 0).count();
    assert_eq!(empty, 1, "a lookup that found nobody is audited too");
    for r in &records {
        assert!(!r.to_json().contains("ACC-0001"), "{}", r.action);
    }
}

#[tokio::test]
async fn inquiries_refuse_bad_questions_and_other_callers() {
    let h = harness();
    let c = h.citizen().await;
    for (body, field) in [
        (json!({}), "body"),
        (json!({"mykey_id": "ABCD2345", "application_id": format!("app_{}", "0".repeat(32))}), "body"),
        (json!({"service_code": "DEMO_PAY"}), "body"),
        (json!({"mykey_id": "ABCD0000"}), "mykey_id"),
        (json!({"application_id": "app_1"}), "application_id"),
        (json!({"service_code": "demo", "service_account_id": "x"}), "service_code"),
        (json!({"service_code": "DEMO_PAY", "service_account_id": "a b"}), "service_account_id"),
        (json!({"mykey_id": 5}), "mykey_id"),
        (json!({"service_account": "x"}), "body"),
    ] {
        let r = h.op("POST", INQUIRY).json(body.clone()).send().await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", &body.to_string());
        assert!(r.body["detail"].as_str().unwrap().contains(field) || field == "body", "{body}: {}", r.body);
    }
    let r = h.call("POST", INQUIRY).staff(AUDITOR).json(json!({"mykey_id": "ABCD2345"})).send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "auditor");
    let r = h.call("POST", INQUIRY).bearer(&c.token).json(json!({"mykey_id": "ABCD2345"})).send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "citizen");
    let r = h.call("POST", INQUIRY).json(json!({"mykey_id": "ABCD2345"})).send().await;
    refused(&r, StatusCode::UNAUTHORIZED, "authentication_required", "anonymous");
    let denied = all_records(&h).await.into_iter().filter(|r| r.action == "auth.denied").count();
    assert_eq!(denied, 2, "refused staff and citizens are audited");
    assert!(
        all_records(&h).await.iter().all(|r| r.action != "mynapoint.inquiry"),
        "refused questions looked nothing up"
    );
}
