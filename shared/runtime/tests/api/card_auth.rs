//! Card sign-in through the router with software cards: the wire contract, the negative matrix
//! (every refusal with its code), CRL import, renewal re-link (linked, merged, unknown, conflict,
//! idempotent re-import) and lapse.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mkpf_card_kit::{
    Card, CardSpec, CrlScope, CrlSpec, KeyUsageSpec, LinkageRow, PolicySpec, TestCa, jst_date, linkage_feed, test_key,
};
use mkpf_core::card_auth::anchors::{IssuerId, TrustAnchors};
use mkpf_core::card_auth::certificate::CertSerial;
use mkpf_core::mykey::person;
use mkpf_core::queues::CARD_RELINK;
use mkpf_http::routes::consumer;
use mkpf_runtime::worker::{Outcome, settle};
use serde_json::json;
use time::OffsetDateTime;

/// The harness clock's start (see `common`).
pub(crate) fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-25 12:00 UTC)
}

pub(crate) fn ca() -> TestCa {
    TestCa::generate_with_key(
        "Test CA",
        test_key(2048, 0),
        t0() - time::Duration::days(365),
        t0() + time::Duration::days(3650),
    )
}

pub(crate) fn card(ca: &TestCa, key_index: u32) -> Card {
    ca.issue(&CardSpec::jpki(t0()).with_key(test_key(2048, key_index)))
}

pub(crate) struct Fixture {
    pub h: Harness,
    pub ca: TestCa,
}

/// A platform trusting `ca` (and `also`), with a current empty CRL of `ca` imported.
pub(crate) async fn fixture_with(also: &[&TestCa], grace_hours: Option<&str>) -> Fixture {
    let ca = ca();
    let mut pem = ca.pem();
    for other in also {
        pem.push_str(&other.pem());
    }
    let anchors = Arc::new(TrustAnchors::from_pem(&pem).unwrap());
    let h = harness_with(|c| {
        c.trust_anchors = Some(anchors);
        if let Some(g) = grace_hours {
            c.crl_grace_secs = g.parse::<i64>().unwrap() * 3600;
        }
    });
    let crl = ca.crl(&[], t0() - time::Duration::hours(1), t0() + time::Duration::days(7), 1);
    let r = import(&h, crl).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    Fixture { h, ca }
}

pub(crate) async fn fixture() -> Fixture {
    fixture_with(&[], None).await
}

async fn import(h: &Harness, der: Vec<u8>) -> Resp {
    h.op("POST", "/v1/ops/card-auth/crls").raw("application/pkix-crl", der).send().await
}

async fn challenge(h: &Harness) -> (String, Vec<u8>) {
    let r = h.call("POST", "/v1/card-auth/challenges").send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let nonce = URL_SAFE_NO_PAD.decode(r.body["nonce"].as_str().unwrap()).unwrap();
    assert_eq!(nonce.len(), 32);
    (r.body["challenge_id"].as_str().unwrap().to_owned(), nonce)
}

async fn session(h: &Harness, id: &str, cert: &[u8], sig: &[u8]) -> Resp {
    h.call("POST", "/v1/card-auth/sessions")
        .json(json!({"challenge_id": id, "certificate": STANDARD.encode(cert), "signature": STANDARD.encode(sig)}))
        .send()
        .await
}

/// Signs in with `card`: a fresh challenge, the card's signature over it.
async fn sign_in(h: &Harness, card: &Card) -> Resp {
    let (id, nonce) = challenge(h).await;
    session(h, &id, card.cert_der(), &card.sign(&nonce)).await
}

pub(crate) fn refused(r: &Resp, status: StatusCode, code: &str, case: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{case}: {}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"), "{case}");
}

pub(crate) async fn person_of(h: &Harness, card: &Card) -> Option<person::PersonId> {
    let (issuer, serial) = mkpf_card_kit::issuer_and_serial(card.cert_der()).unwrap();
    person::find_by_certificate(&h.app, &IssuerId::parse(&issuer).unwrap(), &CertSerial::parse(&serial).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_card_signs_in_and_its_session_works_until_signed_out() {
    let f = fixture().await;
    let alice = card(&f.ca, 1);
    let r = sign_in(&f.h, &alice).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body["mykey_id"].is_null());
    let token = r.body["session_token"].as_str().unwrap().to_owned();
    let expires = mkpf_core::domain::time_fmt::parse_instant(r.body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires - t0(), time::Duration::minutes(15));
    // The token names the person by internal id only: no certificate data, no MyKey ID.
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let pid = person_of(&f.h, &alice).await.unwrap();
    assert_eq!(claims["sub"], pid.as_str());
    assert_eq!(claims["aud"], "mkpf-citizen");
    assert!(!token.contains(&alice.serial_hex()));

    // Signing in again with the same card reaches the same person.
    let again = sign_in(&f.h, &alice).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(person_of(&f.h, &alice).await.unwrap(), pid);

    let out = f.h.call("DELETE", "/v1/card-auth/sessions/current").bearer(&token).send().await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
    let after = f.h.call("DELETE", "/v1/card-auth/sessions/current").bearer(&token).send().await;
    refused(&after, StatusCode::UNAUTHORIZED, "session_ended", "signed-out token");

    // Sign-ins are audited without certificate data beyond the first link.
    let records = all_records(&f.h).await;
    let sign_ins: Vec<_> = records.iter().filter(|r| r.action == "citizen.sign_in").collect();
    assert_eq!(sign_ins.len(), 2);
    let linking = sign_ins.iter().filter(|r| r.targets.iter().any(|t| t.starts_with("cert:"))).count();
    assert_eq!(linking, 1, "only the first sign-in (which links the certificate) names it");
    assert!(records.iter().any(|r| r.action == "citizen.sign_out"));

    // The session expires with its token.
    let r = sign_in(&f.h, &alice).await;
    let token = r.body["session_token"].as_str().unwrap().to_owned();
    f.h.clock.advance(time::Duration::minutes(15));
    let late = f.h.call("DELETE", "/v1/card-auth/sessions/current").bearer(&token).send().await;
    refused(&late, StatusCode::UNAUTHORIZED, "token_expired", "expired session");
}

/// Makes the signature of an attempt from the nonce.
type Signer = Box<dyn Fn(&[u8]) -> Vec<u8> + Send>;

/// One way a sign-in can go wrong.
enum Attempt {
    /// This certificate, signed by its own key over the nonce.
    Cert(Box<Card>),
    /// A raw request body.
    Body(serde_json::Value),
    /// (certificate DER, signature maker).
    Custom(Vec<u8>, Signer),
}

#[tokio::test]
async fn every_bad_sign_in_is_refused_with_its_code() {
    let other = TestCa::generate_with_key(
        "Other CA",
        test_key(2048, 20),
        t0() - time::Duration::days(365),
        t0() + time::Duration::days(3650),
    );
    let f = fixture().await;
    let (h, ca) = (&f.h, &f.ca);
    let (twin, _) = TestCa::generate_same_name_pair(
        "Test CA",
        t0() - time::Duration::days(365),
        t0() + time::Duration::days(3650),
        21,
        22,
    );
    let jpki = || CardSpec::jpki(t0()).with_key(test_key(2048, 2));
    let day = time::Duration::days(1);
    let good = card(ca, 3);
    let revoked = card(ca, 4);
    let crl = ca.crl(
        &[(&revoked.serial_hex(), t0() - time::Duration::minutes(30))],
        t0() - time::Duration::minutes(30),
        t0() + time::Duration::days(7),
        2,
    );
    assert_eq!(import(h, crl).await.status, StatusCode::OK);

    let mut tampered_cert = ca.issue(&jpki().subject_cn("TAMPERME")).cert_der().to_vec();
    let at = tampered_cert.windows(8).position(|w| w == b"TAMPERME").unwrap();
    tampered_cert[at + 7] = b'F';
    let tampered_key = good.clone();
    let wrong_key = card(ca, 5);
    let sha1_nonce = good.clone();
    let flip = good.clone();
    let big = vec![0x30u8; 9 * 1024];
    let u401 = StatusCode::UNAUTHORIZED;
    let u422 = StatusCode::UNPROCESSABLE_ENTITY;
    let cases: Vec<(&str, Attempt, StatusCode, &str)> = vec![
        ("untrusted root", Attempt::Cert(Box::new(other.issue(&jpki()))), u401, "certificate_untrusted"),
        ("same-name root, other key", Attempt::Cert(Box::new(twin.issue(&jpki()))), u401, "certificate_untrusted"),
        (
            "same-name root, no AKI",
            Attempt::Cert(Box::new(twin.issue(&jpki().no_aki()))),
            u401,
            "certificate_untrusted",
        ),
        (
            "expired",
            Attempt::Cert(Box::new(ca.issue(&jpki().validity(t0() - 800 * day, t0() - day)))),
            u401,
            "certificate_expired",
        ),
        (
            "not yet valid",
            Attempt::Cert(Box::new(ca.issue(&jpki().validity(t0() + day, t0() + 800 * day)))),
            u401,
            "certificate_not_yet_valid",
        ),
        ("revoked", Attempt::Cert(Box::new(revoked)), u401, "certificate_revoked"),
        (
            "keyEncipherment only",
            Attempt::Cert(Box::new(ca.issue(&jpki().key_usage(KeyUsageSpec::KeyEnciphermentOnly)))),
            u401,
            "certificate_profile",
        ),
        (
            "no key usage",
            Attempt::Cert(Box::new(ca.issue(&jpki().key_usage(KeyUsageSpec::Absent)))),
            u401,
            "certificate_profile",
        ),
        (
            "no certificate policies",
            Attempt::Cert(Box::new(ca.issue(&jpki().policy(PolicySpec::Absent)))),
            u401,
            "certificate_profile",
        ),
        (
            "other policy",
            Attempt::Cert(Box::new(
                ca.issue(&jpki().policy(PolicySpec::Other(mkpf_card_kit::OTHER_POLICY_OID.into()))),
            )),
            u401,
            "certificate_profile",
        ),
        ("SHA-1 certificate", Attempt::Cert(Box::new(ca.issue(&jpki().sha1_signature()))), u401, "certificate_profile"),
        (
            "RSA-1024",
            Attempt::Cert(Box::new(ca.issue(&CardSpec::jpki(t0()).with_key(test_key(1024, 0))))),
            u401,
            "certificate_profile",
        ),
        ("CA certificate", Attempt::Cert(Box::new(ca.issue(&jpki().is_ca()))), u401, "certificate_profile"),
        (
            "unknown critical extension",
            Attempt::Cert(Box::new(ca.issue(&jpki().unknown_critical_extension()))),
            u401,
            "certificate_profile",
        ),
        (
            "tampered certificate",
            Attempt::Custom(tampered_cert, Box::new(move |n| tampered_key.sign(n))),
            u401,
            "certificate_untrusted",
        ),
        (
            "tampered signature",
            Attempt::Custom(
                good.cert_der().to_vec(),
                Box::new(move |n| {
                    let mut s = flip.sign(n);
                    let l = s.len();
                    s[l - 1] ^= 1;
                    s
                }),
            ),
            u401,
            "signature_invalid",
        ),
        (
            "signature over another nonce",
            Attempt::Custom(good.cert_der().to_vec(), {
                let g = good.clone();
                Box::new(move |_| g.sign(&[7u8; 32]))
            }),
            u401,
            "signature_invalid",
        ),
        (
            "SHA-1 signature",
            Attempt::Custom(good.cert_der().to_vec(), Box::new(move |n| sha1_nonce.sign_sha1(n))),
            u401,
            "signature_invalid",
        ),
        (
            "signature by another card",
            Attempt::Custom(good.cert_der().to_vec(), Box::new(move |n| wrong_key.sign(n))),
            u401,
            "signature_invalid",
        ),
        (
            "short signature",
            Attempt::Custom(good.cert_der().to_vec(), {
                let g = good.clone();
                Box::new(move |n| g.sign(n)[..200].to_vec())
            }),
            u401,
            "signature_invalid",
        ),
        (
            "garbage DER",
            Attempt::Custom(b"definitely not a certificate".to_vec(), Box::new(|_| vec![1; 256])),
            u401,
            "certificate_malformed",
        ),
        (
            "truncated DER",
            Attempt::Custom(good.cert_der()[..good.cert_der().len() / 2].to_vec(), {
                let g = good.clone();
                Box::new(move |n| g.sign(n))
            }),
            u401,
            "certificate_malformed",
        ),
        (
            "oversized certificate",
            Attempt::Custom(big, {
                let g = good.clone();
                Box::new(move |n| g.sign(n))
            }),
            u422,
            "invalid_field",
        ),
        (
            "certificate not base64",
            Attempt::Body(json!({"certificate": "%%%not base64%%%", "signature": "AAAA"})),
            u422,
            "invalid_field",
        ),
        (
            "signature not base64",
            Attempt::Body(json!({"certificate": "MIIB", "signature": "!!"})),
            u422,
            "invalid_field",
        ),
        ("empty signature", Attempt::Body(json!({"certificate": "MIIB", "signature": ""})), u422, "invalid_field"),
        (
            "unknown field",
            Attempt::Body(json!({"certificate": "MIIB", "signature": "AAAA", "pin": "1234"})),
            u422,
            "invalid_field",
        ),
        ("missing signature", Attempt::Body(json!({"certificate": "MIIB"})), u422, "invalid_field"),
    ];
    assert!(cases.len() >= 25);
    for (name, attempt, status, code) in cases {
        let (id, nonce) = challenge(h).await;
        let r = match attempt {
            Attempt::Cert(c) => session(h, &id, c.cert_der(), &c.sign(&nonce)).await,
            Attempt::Custom(der, sign) => session(h, &id, &der, &sign(&nonce)).await,
            Attempt::Body(mut b) => {
                b["challenge_id"] = json!(id);
                h.call("POST", "/v1/card-auth/sessions").json(b).send().await
            }
        };
        refused(&r, status, code, name);
    }
    // None of that created anyone; the good card still signs in.
    assert!(person_of(h, &good).await.is_none());
    assert_eq!(sign_in(h, &good).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn challenges_are_single_use_short_lived_and_rate_limited() {
    let f = fixture().await;
    let (h, alice) = (&f.h, card(&f.ca, 1));
    // Replayed after success.
    let (id, nonce) = challenge(h).await;
    let sig = alice.sign(&nonce);
    assert_eq!(session(h, &id, alice.cert_der(), &sig).await.status, StatusCode::CREATED);
    refused(&session(h, &id, alice.cert_der(), &sig).await, StatusCode::UNAUTHORIZED, "challenge_used", "replay");
    // Spent by a failed attempt: the right answer comes too late.
    let (id, nonce) = challenge(h).await;
    refused(
        &session(h, &id, alice.cert_der(), &alice.sign(b"wrong")).await,
        StatusCode::UNAUTHORIZED,
        "signature_invalid",
        "wrong",
    );
    refused(
        &session(h, &id, alice.cert_der(), &alice.sign(&nonce)).await,
        StatusCode::UNAUTHORIZED,
        "challenge_used",
        "after failure",
    );
    // Expired after five minutes.
    let (id, nonce) = challenge(h).await;
    h.clock.advance(time::Duration::seconds(300));
    refused(
        &session(h, &id, alice.cert_der(), &alice.sign(&nonce)).await,
        StatusCode::UNAUTHORIZED,
        "challenge_expired",
        "expired",
    );
    // Unknown, and malformed ids.
    refused(
        &session(h, &"ab".repeat(16), alice.cert_der(), &[1; 256]).await,
        StatusCode::UNAUTHORIZED,
        "challenge_unknown",
        "unknown",
    );
    refused(
        &session(h, "../etc", alice.cert_der(), &[1; 256]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        "malformed id",
    );
    // Oversized body, wrong media type.
    let huge = json!({"challenge_id": id, "certificate": "A".repeat(70_000), "signature": "AAAA"});
    refused(
        &h.call("POST", "/v1/card-auth/sessions").json(huge).send().await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "huge",
    );
    let r = h.call("POST", "/v1/card-auth/sessions").raw("text/plain", "hi").send().await;
    refused(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "media type");

    // 60 challenges a minute per source (the harness has no socket: one source), then 429.
    let g = harness_with(|c| c.challenges_per_minute = 3);
    for _ in 0..3 {
        assert_eq!(g.call("POST", "/v1/card-auth/challenges").send().await.status, StatusCode::CREATED);
    }
    let r = g.call("POST", "/v1/card-auth/challenges").send().await;
    refused(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited", "rate limit");
    assert_eq!(r.header("retry-after"), Some("20"));
    g.clock.advance(time::Duration::seconds(20));
    assert_eq!(g.call("POST", "/v1/card-auth/challenges").send().await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn sign_in_fails_closed_without_configuration_or_current_revocation_data() {
    // No trust anchors at all.
    let bare = harness();
    let (id, _) = challenge(&bare).await;
    let r = session(&bare, &id, b"x", &[1; 256]).await;
    refused(&r, StatusCode::SERVICE_UNAVAILABLE, "card_auth_unavailable", "no anchors");

    // A trusted issuer whose CRL was never imported.
    let second = TestCa::generate_with_key(
        "Second CA",
        test_key(2048, 30),
        t0() - time::Duration::days(365),
        t0() + time::Duration::days(3650),
    );
    let f = fixture_with(&[&second], Some("1")).await;
    let r = sign_in(&f.h, &card(&second, 6)).await;
    refused(&r, StatusCode::SERVICE_UNAVAILABLE, "revocation_unavailable", "no CRL");
    assert!(r.header("retry-after").is_some());
    // The first CA's CRL (nextUpdate in 7 days, 1 hour of grace) goes stale after 7 days 1 hour.
    let alice = card(&f.ca, 1);
    f.h.clock.advance(time::Duration::days(7) + time::Duration::minutes(59));
    assert_eq!(sign_in(&f.h, &alice).await.status, StatusCode::CREATED);
    f.h.clock.advance(time::Duration::minutes(62));
    refused(&sign_in(&f.h, &alice).await, StatusCode::SERVICE_UNAVAILABLE, "revocation_unavailable", "stale CRL");
}

#[tokio::test]
async fn crl_imports_are_verified_ordered_idempotent_and_audited() {
    let f = fixture().await;
    let (h, ca) = (&f.h, &f.ca);
    let alice = card(ca, 1);
    let t = |m: i64| t0() + time::Duration::minutes(m);
    let week = time::Duration::days(7);
    let crl2 = ca.crl(&[(&alice.serial_hex(), t(-5))], t(-5), t(-5) + week, 2);
    let r = import(h, crl2.clone()).await;
    assert_eq!(
        (r.status, r.body["result"].as_str(), r.body["entries"].as_u64()),
        (StatusCode::OK, Some("imported"), Some(1)),
        "{}",
        r.body
    );
    assert_eq!(r.body["issuer"], ca.issuer_id_hex());
    let again = import(h, crl2).await;
    assert_eq!(again.body["result"], "unchanged");
    // An older CRL (an earlier thisUpdate) cannot roll revocations back.
    refused(&import(h, ca.crl(&[], t(-30), t(-30) + week, 1)).await, StatusCode::CONFLICT, "crl_older", "older");
    let other = TestCa::generate_with_key("Other CA", test_key(2048, 20), t(-1000), t(5_000_000));
    refused(
        &import(h, other.crl(&[], t(-5), t(-5) + week, 9)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "crl_untrusted",
        "other CA",
    );
    refused(
        &import(h, ca.crl(&[], t(-20000), t(-10), 3)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "crl_expired",
        "expired",
    );
    refused(
        &import(h, ca.crl(&[], t(10), t(10) + week, 3)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "crl_not_yet_valid",
        "future",
    );
    refused(&import(h, b"garbage".to_vec()).await, StatusCode::UNPROCESSABLE_ENTITY, "crl_malformed", "garbage");
    let mut sha1 = mkpf_card_kit::CrlSpec::new(t(-5), t(-5) + week);
    sha1.hash = mkpf_card_kit::SigHash::Sha1;
    sha1.crl_number = Some(4);
    refused(&import(h, ca.crl_with(&sha1)).await, StatusCode::UNPROCESSABLE_ENTITY, "crl_profile", "SHA-1 CRL");
    let r = h.op("POST", "/v1/ops/card-auth/crls").json(json!({})).send().await;
    refused(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "json");
    // Auditors may look; municipal staff may not import.
    let st = h.call("GET", "/v1/ops/card-auth/crls").staff(AUDITOR).send().await;
    assert_eq!(st.status, StatusCode::OK);
    assert_eq!(st.body["issuers"][0]["issuer"], ca.issuer_id_hex());
    assert_eq!(st.body["issuers"][0]["crl_number"], "2");
    assert_eq!(st.body["issuers"][0]["current"], true);
    let r = h.call("POST", "/v1/ops/card-auth/crls").staff(CHIYODA).raw("application/pkix-crl", vec![1u8]).send().await;
    refused(&r, StatusCode::FORBIDDEN, "forbidden", "municipal staff");
    // Two imports that changed something were audited (the fixture's and crl2), nothing else.
    let imports = all_records(h).await.into_iter().filter(|r| r.action == "card.crl_import").count();
    assert_eq!(imports, 2);
    refused(&sign_in(h, &alice).await, StatusCode::UNAUTHORIZED, "certificate_revoked", "revoked by import");
}

/// A scoped CRL (an authority revocation list, or one for some reasons only) with a later
/// thisUpdate and a distant nextUpdate must not replace the issuer's full CRL: it is refused, the
/// full CRL stays current (and goes stale at its own nextUpdate), and the next full CRL imports.
#[tokio::test]
async fn scoped_crls_never_become_the_current_crl() {
    let f = fixture().await;
    let (h, ca) = (&f.h, &f.ca);
    let alice = card(ca, 1);
    let t = |m: i64| t0() + time::Duration::minutes(m);
    let year = time::Duration::days(365);
    for (scope, number) in [(CrlScope::CaCerts, 50), (CrlScope::SomeReasons, 51)] {
        let spec = CrlSpec { crl_number: Some(number), scope: scope.clone(), ..CrlSpec::new(t(-1), t(-1) + year) };
        refused(
            &import(h, ca.crl_with(&spec)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "crl_scoped",
            &format!("{scope:?}"),
        );
    }
    let st = h.call("GET", "/v1/ops/card-auth/crls").staff(AUDITOR).send().await;
    assert_eq!(st.body["issuers"][0]["crl_number"], "1", "{}", st.body);
    // The full CRL's nextUpdate (t0 + 7 days) still governs freshness: a day after it plus the
    // default grace, sign-in fails closed.
    assert_eq!(sign_in(h, &alice).await.status, StatusCode::CREATED);
    h.clock.advance(time::Duration::days(9));
    refused(&sign_in(h, &alice).await, StatusCode::SERVICE_UNAVAILABLE, "revocation_unavailable", "stale full CRL");
    // The next full CRL (thisUpdate before the refused ones') is not "older" than anything.
    let next = ca.crl(&[], t(-2), t(-2) + year, 2);
    let r = import(h, next).await;
    assert_eq!((r.status, r.body["result"].as_str()), (StatusCode::OK, Some("imported")), "{}", r.body);
}

async fn drain_relink(h: &Harness) -> usize {
    let spec = consumer("card-relink").unwrap();
    let mut n = 0;
    loop {
        let got = h.app.queue.receive(&CARD_RELINK, 10, Duration::ZERO).await.unwrap();
        if got.is_empty() {
            return n;
        }
        for m in &got {
            assert_eq!(settle(&h.app, spec, m, true).await, Outcome::Done);
            n += 1;
        }
    }
}

fn row(old: &Card, new: &Card) -> LinkageRow {
    let (oi, os) = mkpf_card_kit::issuer_and_serial(old.cert_der()).unwrap();
    let (ni, ns) = mkpf_card_kit::issuer_and_serial(new.cert_der()).unwrap();
    LinkageRow { old_issuer: oi, old_serial: os, new_issuer: ni, new_serial: ns, linked_on: jst_date(t0()) }
}

async fn post_feed(h: &Harness, csv: &str) -> Resp {
    h.op("POST", "/v1/ops/card-auth/linkage-feeds").raw("text/csv", csv.to_owned()).send().await
}

#[tokio::test]
async fn renewal_relink_links_merges_and_reports_and_ends_lapse() {
    let f = fixture().await;
    let (h, ca) = (&f.h, &f.ca);
    // Alice (person A) and Bob (person B) sign in with their first cards.
    let (alice1, alice2) = (card(ca, 1), card(ca, 2));
    let (bob1, bob2) = (card(ca, 3), card(ca, 4));
    let (carol1, carol2) = (card(ca, 5), card(ca, 6));
    let stranger = card(ca, 7);
    for c in [&alice1, &bob1, &carol1] {
        assert_eq!(sign_in(h, c).await.status, StatusCode::CREATED);
    }
    let a = person_of(h, &alice1).await.unwrap();
    let b = person_of(h, &bob1).await.unwrap();
    let c = person_of(h, &carol1).await.unwrap();
    // Alice's first card is revoked (she lost it): she has lapsed.
    let crl = ca.crl(&[(&alice1.serial_hex(), t0())], t0(), t0() + time::Duration::days(7), 2);
    assert_eq!(import(h, crl).await.status, StatusCode::OK);
    assert!(person::standing(&h.app, &a).await.unwrap().lapsed());
    refused(&sign_in(h, &alice1).await, StatusCode::UNAUTHORIZED, "certificate_revoked", "lost card");
    // Bob signs in with his new card before the feed arrives: a provisional person of its own.
    let early = sign_in(h, &bob2).await;
    let early_token = early.body["session_token"].as_str().unwrap().to_owned();
    let provisional = person_of(h, &bob2).await.unwrap();
    assert_ne!(provisional, b);
    // Carol's new card also signed in first, and that person made a MyKey ID: a conflict.
    assert_eq!(sign_in(h, &carol2).await.status, StatusCode::CREATED);
    let carol_new = person_of(h, &carol2).await.unwrap();
    h.app
        .store
        .update(
            &mkpf_core::tables::PEOPLE,
            &person::profile_key(&carol_new),
            mkpf_core::ports::store::Update::new().set("mykey_id", "ABCD2345"),
            None,
        )
        .await
        .unwrap();

    // The feed arrives a few days later.
    h.clock.advance(time::Duration::days(3));
    let csv =
        linkage_feed(&[row(&alice1, &alice2), row(&bob1, &bob2), row(&carol1, &carol2), row(&stranger, &card(ca, 8))]);
    let r = post_feed(h, &csv).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let feed_id = r.body["feed_id"].as_str().unwrap().to_owned();
    assert_eq!((r.body["rows"].as_i64(), r.body["status"].as_str()), (Some(4), Some("processing")));
    assert_eq!(drain_relink(h).await, 1);

    let v = h.op("GET", &format!("/v1/ops/card-auth/linkage-feeds/{feed_id}")).send().await;
    assert_eq!(v.status, StatusCode::OK);
    let counts: Vec<i64> = ["linked", "merged", "conflict", "unknown", "already_linked"]
        .iter()
        .map(|k| v.body[k].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 1, 1, 1, 0], "{}", v.body);
    assert_eq!(v.body["status"], "done");
    let reported: Vec<(u64, &str)> = v.body["reported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(reported, vec![(4, "conflict"), (5, "unknown")]);

    // Alice's new card reaches her person, who is no longer lapsed.
    assert_eq!(sign_in(h, &alice2).await.status, StatusCode::CREATED);
    assert_eq!(person_of(h, &alice2).await.unwrap(), a);
    assert!(!person::standing(&h.app, &a).await.unwrap().lapsed());
    let history = person::certificates(&h.app, &a).await.unwrap();
    assert_eq!(history.iter().map(|c| c.via.as_str()).collect::<Vec<_>>(), vec!["card_auth", "relink"]);
    // Bob's provisional person was folded into his own; its session ended.
    assert_eq!(person_of(h, &bob2).await.unwrap(), b);
    assert!(person::profile(&h.app, &provisional).await.unwrap().is_none());
    let left = h
        .app
        .store
        .query(mkpf_core::ports::store::Query::new(&mkpf_core::tables::PEOPLE, person::pk(&provisional)))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "the provisional person's items (profile, certificate, session) are gone");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(early_token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["sub"], provisional.as_str());
    // Carol's conflict and the stranger were left alone.
    assert_eq!(person_of(h, &carol2).await.unwrap(), carol_new);
    assert_eq!(person_of(h, &carol1).await.unwrap(), c);

    // Importing the same feed again changes nothing and says so.
    let again = post_feed(h, &csv).await;
    assert_eq!((again.status, again.body["feed_id"].as_str()), (StatusCode::OK, Some(feed_id.as_str())));
    assert_eq!(drain_relink(h).await, 0, "every batch was done");
    let relinks = all_records(h).await.into_iter().filter(|r| r.action == "person.relink").count();
    assert_eq!(relinks, 2);
    // A redelivered batch counts nothing twice.
    let feed = mkpf_core::mykey::relink::parse_feed(&csv).unwrap();
    let batch =
        mkpf_core::mykey::relink::Batch { feed_id: feed.id.clone(), kind: None, batch: 0, rows: feed.rows.clone() };
    let body = serde_json::to_string(&batch).unwrap();
    mkpf_core::mykey::relink::handle(&h.app, &body).await.unwrap();
    let v2 = h.op("GET", &format!("/v1/ops/card-auth/linkage-feeds/{feed_id}")).send().await;
    assert_eq!(v2.body["linked"], v.body["linked"]);
    assert_eq!(v2.body["batches_done"], 1);
}

#[tokio::test]
async fn bad_linkage_feeds_are_refused_whole() {
    let f = fixture().await;
    let h = &f.h;
    let r = post_feed(h, "old,new\n1,2\n").await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "linkage_feed_invalid", "header");
    assert!(r.body["detail"].as_str().unwrap().contains("line 1"));
    let r = post_feed(h, &format!("{}\nzz,1,aa,2,2026-11-20\n", mkpf_card_kit::LINKAGE_FEED_HEADER)).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "linkage_feed_invalid", "bad issuer");
    assert!(r.body["detail"].as_str().unwrap().contains("line 2"));
    let r = h.op("POST", "/v1/ops/card-auth/linkage-feeds").raw("text/csv", vec![0xff, 0xfe]).send().await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "linkage_feed_invalid", "not utf-8");
    let r = h.op("GET", &format!("/v1/ops/card-auth/linkage-feeds/{}", "0".repeat(32))).send().await;
    refused(&r, StatusCode::NOT_FOUND, "linkage_feed_not_found", "unknown feed");
    assert_eq!(h.app.queue.depth(&CARD_RELINK).await.unwrap(), Default::default());
}

/// Serves `routes` (path → (status, body)) on a loopback port; returns the base URL.
async fn serve(routes: Vec<(&'static str, StatusCode, Vec<u8>)>) -> String {
    let mut app = axum::Router::new();
    for (path, status, body) in routes {
        app = app.route(path, axum::routing::get(move || async move { (status, body) }));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_crl_fetch_job_imports_what_the_urls_serve_and_fails_loudly() {
    let f = fixture().await;
    let alice = card(&f.ca, 1);
    let crl = f.ca.crl(&[(&alice.serial_hex(), t0())], t0(), t0() + time::Duration::days(7), 5);
    let base = serve(vec![("/jlis.crl", StatusCode::OK, crl), ("/gone.crl", StatusCode::NOT_FOUND, vec![])]).await;
    let job = mkpf_http::routes::job("crl-fetch").unwrap();

    // Nothing configured: nothing to do, and it says so.
    let idle = mkpf_runtime::worker::run_job(&f.h.app, job).await.unwrap();
    assert_eq!(idle["fetched"], 0);

    let mut config = f.h.app.config.clone();
    config.crl_urls = vec![format!("{base}/jlis.crl")];
    let app = mkpf_runtime::app(
        config.clone(),
        f.h.app.store.clone(),
        f.h.app.queue.clone(),
        f.h.clock.clone(),
        f.h.app.staff_keys.clone(),
    );
    let report = mkpf_runtime::worker::run_job(&app, job).await.unwrap();
    assert_eq!(report["results"][0]["result"], "imported", "{report}");
    assert_eq!(report["results"][0]["entries"], 1);
    // The next run finds the same CRL: unchanged, no second audit record.
    let report = mkpf_runtime::worker::run_job(&app, job).await.unwrap();
    assert_eq!(report["results"][0]["result"], "unchanged", "{report}");
    refused(&sign_in(&f.h, &alice).await, StatusCode::UNAUTHORIZED, "certificate_revoked", "fetched CRL");

    // A URL that fails makes the job fail (and alarm), after trying the others.
    config.crl_urls = vec![format!("{base}/gone.crl"), format!("{base}/jlis.crl")];
    let app = mkpf_runtime::app(
        config,
        f.h.app.store.clone(),
        f.h.app.queue.clone(),
        f.h.clock.clone(),
        f.h.app.staff_keys.clone(),
    );
    let err = mkpf_runtime::worker::run_job(&app, job).await.unwrap_err();
    assert!(err.contains("HTTP 404") && err.contains("unchanged"), "{err}");
}

/// The fetch job refuses a scoped CRL with its code (and fails, so it alarms); the issuer's
/// current CRL stays the full one.
#[tokio::test]
async fn the_crl_fetch_job_refuses_scoped_crls_with_their_code() {
    let f = fixture().await;
    let arl = f.ca.crl_with(&CrlSpec {
        crl_number: Some(7),
        scope: CrlScope::CaCerts,
        ..CrlSpec::new(t0(), t0() + time::Duration::days(365))
    });
    let base = serve(vec![("/arl.crl", StatusCode::OK, arl)]).await;
    let job = mkpf_http::routes::job("crl-fetch").unwrap();
    let mut config = f.h.app.config.clone();
    config.crl_urls = vec![format!("{base}/arl.crl")];
    let app = mkpf_runtime::app(
        config,
        f.h.app.store.clone(),
        f.h.app.queue.clone(),
        f.h.clock.clone(),
        f.h.app.staff_keys.clone(),
    );
    let err = mkpf_runtime::worker::run_job(&app, job).await.unwrap_err();
    let report: serde_json::Value = serde_json::from_str(&err).unwrap();
    assert_eq!(report["results"][0]["code"], "crl_scoped", "{report}");
    let st = f.h.call("GET", "/v1/ops/card-auth/crls").staff(AUDITOR).send().await;
    assert_eq!(st.body["issuers"][0]["crl_number"], "1", "{}", st.body);
}

/// Staff and citizen tokens are signed with different keys, and each key vouches only for its own
/// kind of caller: a citizen-audience token signed with the staff key (or the reverse) is refused.
#[tokio::test]
async fn each_token_key_vouches_only_for_its_own_audience() {
    use mkpf_core::ports::TokenKeys;
    use mkpf_embedded::local_keys::LocalKeys;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("keys-{}", uuid::Uuid::new_v4()));
    let clock = Arc::new(mkpf_core::ports::ManualClock::new(t0()));
    let (store, queue) = mkpf_embedded::open(&dir, clock.clone()).unwrap();
    let (staff, citizen): (Arc<dyn TokenKeys>, Arc<dyn TokenKeys>) =
        (Arc::new(LocalKeys::generate()), Arc::new(LocalKeys::generate()));
    let keys = mkpf_core::KeySet {
        staff: staff.clone(),
        citizen: citizen.clone(),
        seal: staff.clone(),
        data: std::sync::Arc::new(mkpf_embedded::local_sealer::LocalSealer::generate()),
        staff_data: std::sync::Arc::new(mkpf_embedded::local_sealer::LocalSealer::generate()),
    };
    let app = mkpf_runtime::app_with_keys(mkpf_core::config::Config::for_tests(dir), store, queue, clock, keys);
    let router = mkpf_http::full_router(app.clone());
    let call = |method: &'static str, path: &'static str, token: String| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {token}"));
            let resp = router.oneshot(req.body(axum::body::Body::empty()).unwrap()).await.unwrap();
            let status = resp.status();
            let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
            (status, serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default())
        }
    };
    // A real citizen session, with a token from each key.
    let pid = person::PersonId::generate();
    let cert = person::CertRef {
        issuer: mkpf_core::card_auth::anchors::IssuerId::parse("00112233445566778899aabbccddeeff00112233").unwrap(),
        serial: mkpf_core::card_auth::certificate::CertSerial::parse("0a").unwrap(),
        not_after: None,
    };
    let right = mkpf_core::card_auth::sessions::open(&app, &pid, &cert).await.unwrap();
    app.store.transact(vec![right.op]).await.unwrap();
    let forged = mkpf_core::tokens::issue(staff.as_ref(), &right.claims).await.unwrap();
    let (s, _) = call("DELETE", "/v1/card-auth/sessions/current", forged).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a citizen token signed with the staff key");
    // A staff token signed with the citizen key (what a compromised sign-in function could make).
    let op = mkpf_core::staff::demo::token_for(&app, "keys-op", &[mkpf_core::domain::staff::Role::Operator], None, 600)
        .await
        .unwrap();
    let claims: mkpf_core::tokens::Claims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(op.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let (s, _) = call("GET", "/v1/ops/notices", op).await;
    assert_eq!(s, StatusCode::OK, "the genuine operator token works");
    let minted = mkpf_core::tokens::issue(citizen.as_ref(), &claims).await.unwrap();
    let (s, body) = call("GET", "/v1/ops/notices", minted).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_invalid")));
    let (s, _) = call("DELETE", "/v1/card-auth/sessions/current", right.token).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "the genuine citizen token works");
}

/// On the AWS backend the fetch job connects only to global addresses: a CRL URL inside (here
/// loopback, standing for the metadata service or a VPC host), or a redirect there, is never
/// fetched, and the job fails with `crl_download_failed`.
#[tokio::test]
async fn on_aws_the_crl_fetch_job_never_connects_inside() {
    let f = fixture().await;
    let alice = card(&f.ca, 1);
    let crl = f.ca.crl(&[(&alice.serial_hex(), t0())], t0(), t0() + time::Duration::days(7), 5);
    let inside = serve(vec![("/jlis.crl", StatusCode::OK, crl)]).await;
    let job = mkpf_http::routes::job("crl-fetch").unwrap();
    let mut config = f.h.app.config.clone();
    config.backend = mkpf_core::config::Backend::Aws;
    config.crl_urls = vec![format!("{inside}/jlis.crl"), "http://localhost/jlis.crl".into()];
    let app = mkpf_runtime::app(
        config,
        f.h.app.store.clone(),
        f.h.app.queue.clone(),
        f.h.clock.clone(),
        f.h.app.staff_keys.clone(),
    );
    let err = mkpf_runtime::worker::run_job(&app, job).await.unwrap_err();
    let report: serde_json::Value = serde_json::from_str(&err).unwrap();
    for r in report["results"].as_array().unwrap() {
        assert_eq!(r["code"], "crl_download_failed", "{report}");
        assert!(r["error"].as_str().unwrap().contains("not a global address"), "{report}");
    }
    let st = f.h.call("GET", "/v1/ops/card-auth/crls").staff(AUDITOR).send().await;
    assert_eq!(st.body["issuers"][0]["crl_number"], "1", "nothing was imported: {}", st.body);
}
