//! What waits for a certificate's first link: eligibility facts that arrive before their holder
//! signs in (kept by certificate, joined at the first sign-in or re-link), and a renewed card that
//! signs in before the linkage feed (held until the feed links it or the hold ends).

use std::sync::Arc;

use crate::helpers::*;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mkpf_card_kit::{Card, CardSpec, LinkageRow, TestCa, jst_date, linkage_feed, test_key};
use mkpf_core::audit::{Actor, Context};
use mkpf_core::card_auth::anchors::{IssuerId, TrustAnchors};
use mkpf_core::card_auth::certificate::CertSerial;
use mkpf_core::mykey::person::{self, PersonId};
use mkpf_core::mynapoint::eligibility::POINTS_HEADER;
use serde_json::json;
use time::OffsetDateTime;

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-25 12:00 UTC)
}

struct Fixture {
    h: Harness,
    ca: TestCa,
}

/// A platform trusting a test CA with a current CRL, the demo payment service seeded, and the
/// renewal hold set to `hold_days`.
async fn fixture(hold_days: i64) -> Fixture {
    let ca = TestCa::generate_with_key(
        "Test CA",
        test_key(2048, 0),
        t0() - time::Duration::days(365),
        t0() + time::Duration::days(3650),
    );
    let anchors = Arc::new(TrustAnchors::from_pem(&ca.pem()).unwrap());
    let h = harness_with(|c| {
        c.trust_anchors = Some(anchors);
        c.relink_hold_secs = hold_days * 86_400;
    });
    let crl = ca.crl(&[], t0() - time::Duration::hours(1), t0() + time::Duration::days(60), 1);
    let r = h.op("POST", "/v1/ops/card-auth/crls").raw("application/pkix-crl", crl).send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    mkpf_core::mynapoint::services::seed_demo(&h.app, &Context::new(Actor::cli("test")), "http://127.0.0.1:9/hook")
        .await
        .unwrap();
    Fixture { h, ca }
}

/// A card issued `days_ago` days before the harness start.
fn card(ca: &TestCa, key_index: u32, days_ago: i64) -> Card {
    let issued = t0() - time::Duration::days(days_ago);
    ca.issue(
        &CardSpec::jpki(t0())
            .validity(issued, issued + time::Duration::days(5 * 365))
            .with_key(test_key(2048, key_index)),
    )
}

/// Signs in with `card`; the response.
async fn sign_in(h: &Harness, card: &Card) -> Resp {
    let r = h.call("POST", "/v1/card-auth/challenges").send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let nonce = URL_SAFE_NO_PAD.decode(r.body["nonce"].as_str().unwrap()).unwrap();
    let id = r.body["challenge_id"].as_str().unwrap().to_owned();
    h.call("POST", "/v1/card-auth/sessions")
        .json(json!({"challenge_id": id, "certificate": STANDARD.encode(card.cert_der()), "signature": STANDARD.encode(card.sign(&nonce))}))
        .send()
        .await
}

/// Signs in with `card` (expected to work); the session token.
async fn token(h: &Harness, card: &Card) -> String {
    let r = sign_in(h, card).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["session_token"].as_str().unwrap().to_owned()
}

async fn create_mykey_id(h: &Harness, token: &str) -> Resp {
    h.call("POST", "/v1/mykey-ids").bearer(token).send().await
}

async fn apply(h: &Harness, token: &str, key: &str, measure: &str, account: &str) -> Resp {
    h.call("POST", "/v1/mynapoint/applications")
        .bearer(token)
        .header("idempotency-key", key)
        .json(json!({"measure": measure, "service_code": "DEMO_PAY", "service_account_id": account, "security_codes": ["1234"]}))
        .send()
        .await
}

fn issuer_serial(card: &Card) -> (String, String) {
    mkpf_card_kit::issuer_and_serial(card.cert_der()).unwrap()
}

async fn person_of(h: &Harness, card: &Card) -> Option<PersonId> {
    let (issuer, serial) = issuer_serial(card);
    person::find_by_certificate(&h.app, &IssuerId::parse(&issuer).unwrap(), &CertSerial::parse(&serial).unwrap())
        .await
        .unwrap()
}

async fn import_points(h: &Harness, rows: &[(&Card, i64)]) -> serde_json::Value {
    let mut csv = format!("{POINTS_HEADER}\n");
    for (c, p) in rows {
        let (i, s) = issuer_serial(c);
        csv.push_str(&format!("{i},{s},{p}\n"));
    }
    let r = h.op("POST", "/v1/ops/mynapoint/eligibility-feeds/phase1_points").raw("text/csv", csv).send().await;
    assert!(r.status == StatusCode::ACCEPTED || r.status == StatusCode::OK, "{}", r.body);
    drain(h, &mkpf_core::queues::MYNAPOINT_ELIGIBILITY, "mynapoint-eligibility").await;
    let id = r.body["feed_id"].as_str().unwrap();
    h.op("GET", &format!("/v1/ops/mynapoint/eligibility-feeds/phase1_points/{id}")).send().await.body
}

async fn import_linkage(h: &Harness, rows: &[(&Card, &Card)]) -> serde_json::Value {
    let rows: Vec<LinkageRow> = rows
        .iter()
        .map(|(old, new)| {
            let ((oi, os), (ni, ns)) = (issuer_serial(old), issuer_serial(new));
            LinkageRow { old_issuer: oi, old_serial: os, new_issuer: ni, new_serial: ns, linked_on: jst_date(t0()) }
        })
        .collect();
    let r = h.op("POST", "/v1/ops/card-auth/linkage-feeds").raw("text/csv", linkage_feed(&rows)).send().await;
    assert!(r.status == StatusCode::ACCEPTED || r.status == StatusCode::OK, "{}", r.body);
    drain(h, &mkpf_core::queues::CARD_RELINK, "card-relink").await;
    let id = r.body["feed_id"].as_str().unwrap();
    h.op("GET", &format!("/v1/ops/card-auth/linkage-feeds/{id}")).send().await.body
}

// ---- facts that arrive before their holder ------------------------------------------------

#[tokio::test]
async fn phase1_points_for_an_unseen_certificate_cap_its_first_application() {
    let f = fixture(0).await;
    let h = &f.h;
    let (dana, erin1, erin2) = (card(&f.ca, 21, 400), card(&f.ca, 22, 400), card(&f.ca, 23, 30));
    // Phase-1 points arrive for certificates nobody has signed in with yet.
    let v = import_points(h, &[(&dana, 3200), (&erin2, 4000)]).await;
    assert_eq!(v["unmatched"], 2, "{v}");
    // Dana signs in for the first time and applies: the cap reflects her phase-1 points.
    let t = token(h, &dana).await;
    assert_eq!(create_mykey_id(h, &t).await.status, StatusCode::CREATED);
    let r = apply(h, &t, "k1", "card_acquisition", "D1").await;
    assert_eq!((r.status, &r.body["points_cap"]), (StatusCode::CREATED, &json!(1800)), "{}", r.body);
    // Importing the same file again changes nothing for her (and is never needed).
    import_points(h, &[(&dana, 3200), (&erin2, 4000)]).await;
    // Erin signed in with her old card; the points came for her renewed one, which reaches her
    // only through the linkage feed: the kept fact is joined then.
    let t = token(h, &erin1).await;
    assert_eq!(create_mykey_id(h, &t).await.status, StatusCode::CREATED);
    let v = import_linkage(h, &[(&erin1, &erin2)]).await;
    assert_eq!(v["linked"], 1, "{v}");
    assert_eq!(person_of(h, &erin2).await, person_of(h, &erin1).await);
    let t = token(h, &erin2).await;
    let r = apply(h, &t, "k2", "card_acquisition", "E1").await;
    assert_eq!((r.status, &r.body["points_cap"]), (StatusCode::CREATED, &json!(1000)), "{}", r.body);
    // Nothing is left waiting at either certificate.
    for c in [&dana, &erin2] {
        let (i, s) = issuer_serial(c);
        let left = h
            .app
            .store
            .query(mkpf_core::ports::store::Query::new(&mkpf_core::tables::PEOPLE, format!("CERT#{i}#{s}")))
            .await
            .unwrap();
        assert_eq!(left.items.len(), 1, "only the link item: {:?}", left.items);
    }
}

// ---- renewal holds -------------------------------------------------------------------------

#[tokio::test]
async fn a_renewed_card_before_the_linkage_feed_waits_and_cannot_apply_twice() {
    let f = fixture(7).await;
    let h = &f.h;
    // Alice's old card (issued long ago) applied for card acquisition.
    let (alice1, alice2) = (card(&f.ca, 31, 800), card(&f.ca, 32, 1));
    let old = token(h, &alice1).await;
    assert_eq!(create_mykey_id(h, &old).await.status, StatusCode::CREATED);
    let r = apply(h, &old, "a1", "card_acquisition", "A1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // She renews her card and signs in with the new one before the linkage feed arrives: a new
    // person, who may neither create a MyKey ID nor apply, and is told why and until when.
    let new = token(h, &alice2).await;
    let provisional = person_of(h, &alice2).await.unwrap();
    assert_ne!(Some(provisional.clone()), person_of(h, &alice1).await);
    let r = create_mykey_id(h, &new).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "certificate_link_pending"), "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(r.body["detail"].as_str().unwrap().contains("2026-12-01T21:00:00+09:00"), "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("518400"), "six days left of the seven-day hold");
    let r = apply(h, &new, "a2", "card_acquisition", "A2").await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "certificate_link_pending"), "{}", r.body);
    let r = apply(h, &new, "a3", "health_insurance", "A2").await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "certificate_link_pending"), "{}", r.body);

    // The feed arrives two days later: the provisional person is folded into hers, by itself.
    h.clock.advance(time::Duration::days(2));
    let v = import_linkage(h, &[(&alice1, &alice2)]).await;
    assert_eq!((v["merged"].as_i64(), v["conflict"].as_i64()), (Some(1), Some(0)), "{v}");
    assert_eq!(person_of(h, &alice2).await, person_of(h, &alice1).await);
    // Signed in with the new card she is herself: her MyKey ID, her one application.
    let again = sign_in(h, &alice2).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert!(again.body["mykey_id"].is_string(), "{}", again.body);
    let t = again.body["session_token"].as_str().unwrap().to_owned();
    let r = apply(h, &t, "a4", "card_acquisition", "A2").await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "already_applied"), "{}", r.body);
    let mine = h.call("GET", "/v1/mynapoint/applications").bearer(&t).send().await;
    assert_eq!(mine.body["applications"].as_array().unwrap().len(), 1, "{}", mine.body);
}

#[tokio::test]
async fn a_new_card_with_no_predecessor_waits_only_until_the_hold_ends() {
    let f = fixture(7).await;
    let h = &f.h;
    // A card issued yesterday: nobody can tell yet whether it succeeds another one.
    let bob = card(&f.ca, 41, 1);
    let t = token(h, &bob).await;
    let r = create_mykey_id(h, &t).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "certificate_link_pending"), "{}", r.body);
    // His own view says why and until when he waits.
    let me = h.call("GET", "/v1/mykey-ids/me").bearer(&t).send().await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let until = me.body["link_pending_until"].as_str().unwrap_or_else(|| panic!("{}", me.body)).to_owned();
    assert!(until.ends_with("+09:00"), "{until}");
    // The hold ends six days later without a feed row: nothing to patch, he goes ahead.
    h.clock.advance(time::Duration::days(6));
    let t = token(h, &bob).await;
    let me = h.call("GET", "/v1/mykey-ids/me").bearer(&t).send().await;
    assert_eq!(me.body["link_pending_until"], serde_json::Value::Null, "{}", me.body);
    assert_eq!(create_mykey_id(h, &t).await.status, StatusCode::CREATED);
    let r = apply(h, &t, "b1", "card_acquisition", "B1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A card issued long ago never waits, nor does a platform configured without a hold.
    let carol = card(&f.ca, 42, 30);
    let t = token(h, &carol).await;
    assert_eq!(create_mykey_id(h, &t).await.status, StatusCode::CREATED);
    let g = fixture(0).await;
    let dave = card(&g.ca, 43, 0);
    let t = token(&g.h, &dave).await;
    assert_eq!(create_mykey_id(&g.h, &t).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_predecessor_nobody_used_yet_joins_its_successors_person() {
    let f = fixture(7).await;
    let h = &f.h;
    // Fumi signs in with her smartphone certificate first; her card's certificate, which the
    // smartphone one succeeds, was never used here.
    let (card_cert, phone_cert) = (card(&f.ca, 51, 300), card(&f.ca, 52, 2));
    token(h, &phone_cert).await;
    let fumi = person_of(h, &phone_cert).await.unwrap();
    let v = import_linkage(h, &[(&card_cert, &phone_cert)]).await;
    assert_eq!((v["linked"].as_i64(), v["unknown"].as_i64()), (Some(1), Some(0)), "{v}");
    // Her first sign-in with the card reaches the same person instead of making a second one.
    assert_eq!(person_of(h, &card_cert).await, Some(fumi.clone()));
    let again = sign_in(h, &card_cert).await;
    assert_eq!((again.status, again.body["session_token"].is_string()), (StatusCode::CREATED, true));
    assert_eq!(person_of(h, &card_cert).await, Some(fumi));
}
