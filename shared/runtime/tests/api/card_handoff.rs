//! Hand-off sign-in (`docs/card-handoff.md`): the browser starts it, the device signs by the
//! short code, and only the browser holding the secret receives the session — once, in time.

use crate::card_auth::{Fixture, card, fixture, person_of, refused, t0};
use crate::helpers::*;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mkpf_card_kit::Card;
use serde_json::json;

struct Started {
    id: String,
    code: String,
    secret: String,
}

async fn start(h: &Harness) -> Started {
    let r = h.call("POST", "/v1/card-auth/handoffs").send().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_owned();
    assert!(
        code.len() == 9
            && code.as_bytes()[4] == b'-'
            && code.chars().filter(|c| *c != '-').all(|c| c.is_ascii_alphanumeric()),
        "{code}"
    );
    assert_eq!(r.body["poll_interval_secs"], 2);
    assert_eq!(URL_SAFE_NO_PAD.decode(r.body["browser_secret"].as_str().unwrap()).unwrap().len(), 32);
    Started {
        id: r.body["handoff_id"].as_str().unwrap().to_owned(),
        code,
        secret: r.body["browser_secret"].as_str().unwrap().to_owned(),
    }
}

async fn device_reads(h: &Harness, code: &str) -> Resp {
    h.call("GET", &format!("/v1/card-auth/handoffs/by-code/{code}")).send().await
}

/// The device's whole part: read the challenge, sign it with `card`, send it.
async fn device_signs(h: &Harness, code: &str, card: &Card) -> Resp {
    let r = device_reads(h, code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let nonce = URL_SAFE_NO_PAD.decode(r.body["nonce"].as_str().unwrap()).unwrap();
    h.call("POST", &format!("/v1/card-auth/handoffs/by-code/{code}/sign-in"))
        .json(json!({
            "challenge_id": r.body["challenge_id"],
            "certificate": STANDARD.encode(card.cert_der()),
            "signature": STANDARD.encode(card.sign(&nonce)),
        }))
        .send()
        .await
}

async fn pickup(h: &Harness, id: &str, secret: &str) -> Resp {
    h.call("POST", &format!("/v1/card-auth/handoffs/{id}/session")).json(json!({"browser_secret": secret})).send().await
}

#[tokio::test]
async fn the_browser_that_started_it_gets_the_session_once() {
    let Fixture { h, ca } = fixture().await;
    let alice = card(&ca, 1);
    let s = start(&h).await;

    let pending = pickup(&h, &s.id, &s.secret).await;
    assert_eq!((pending.status, pending.body["status"].as_str()), (StatusCode::ACCEPTED, Some("pending")));
    assert_eq!(pending.header("retry-after"), Some("2"));

    // The device answers 204 and gets nothing it could use as a session.
    let signed = device_signs(&h, &s.code.to_lowercase().replace('-', ""), &alice).await;
    assert_eq!(signed.status, StatusCode::NO_CONTENT, "{}", signed.body);
    assert!(signed.body.is_null() || signed.body == json!(""), "{}", signed.body);

    // Another browser that knows the id (not the secret) gets nothing, and spends nothing.
    let thief = pickup(&h, &s.id, &URL_SAFE_NO_PAD.encode([7u8; 32])).await;
    refused(&thief, StatusCode::NOT_FOUND, "handoff_unknown", "wrong secret");

    let got = pickup(&h, &s.id, &s.secret).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let token = got.body["session_token"].as_str().unwrap().to_owned();
    assert!(got.body["mykey_id"].is_null());
    let me = h.call("GET", "/v1/mykey-ids/me").bearer(&token).send().await;
    assert_ne!(me.status, StatusCode::UNAUTHORIZED, "the delivered session works: {}", me.body);
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["sub"], person_of(&h, &alice).await.unwrap().as_str());

    // Once only, for the browser and for the device.
    refused(&pickup(&h, &s.id, &s.secret).await, StatusCode::CONFLICT, "handoff_used", "second pickup");
    refused(&device_reads(&h, &s.code).await, StatusCode::CONFLICT, "handoff_used", "code read after use");
    let again = device_signs_raw(&h, &s.code, &alice).await;
    refused(&again, StatusCode::UNAUTHORIZED, "challenge_unknown", "a fresh challenge cannot complete it");

    // Audited: the sign-in names the hand-off, and the delivery is recorded.
    let records = all_records(&h).await;
    let sign_in = records.iter().find(|r| r.action == "citizen.sign_in").unwrap();
    assert_eq!(sign_in.detail["handoff"], s.id.as_str());
    assert_eq!(records.iter().filter(|r| r.action == "citizen.handoff_delivered").count(), 1);
}

/// Signs a challenge that is not the hand-off's own (a direct one) and offers it for the code.
async fn device_signs_raw(h: &Harness, code: &str, card: &Card) -> Resp {
    let c = h.call("POST", "/v1/card-auth/challenges").send().await;
    let nonce = URL_SAFE_NO_PAD.decode(c.body["nonce"].as_str().unwrap()).unwrap();
    h.call("POST", &format!("/v1/card-auth/handoffs/by-code/{code}/sign-in"))
        .json(json!({
            "challenge_id": c.body["challenge_id"],
            "certificate": STANDARD.encode(card.cert_der()),
            "signature": STANDARD.encode(card.sign(&nonce)),
        }))
        .send()
        .await
}

#[tokio::test]
async fn a_bad_signature_spends_the_hand_off_and_the_browser_never_gets_a_session() {
    let Fixture { h, ca } = fixture().await;
    let alice = card(&ca, 1);
    let s = start(&h).await;
    let r = device_reads(&h, &s.code).await;
    let wrong = alice.sign(b"not the nonce");
    let bad = h
        .call("POST", &format!("/v1/card-auth/handoffs/by-code/{}/sign-in", s.code))
        .json(json!({"challenge_id": r.body["challenge_id"], "certificate": STANDARD.encode(alice.cert_der()), "signature": STANDARD.encode(wrong)}))
        .send()
        .await;
    refused(&bad, StatusCode::UNAUTHORIZED, "signature_invalid", "wrong signature");
    let retry = device_signs_raw(&h, &s.code, &alice).await;
    refused(&retry, StatusCode::UNAUTHORIZED, "challenge_unknown", "another challenge");
    // The hand-off's own challenge is spent: signing it properly now is refused as used.
    let nonce = URL_SAFE_NO_PAD.decode(r.body["nonce"].as_str().unwrap()).unwrap();
    let late = h
        .call("POST", &format!("/v1/card-auth/handoffs/by-code/{}/sign-in", s.code))
        .json(json!({"challenge_id": r.body["challenge_id"], "certificate": STANDARD.encode(alice.cert_der()), "signature": STANDARD.encode(alice.sign(&nonce))}))
        .send()
        .await;
    refused(&late, StatusCode::CONFLICT, "handoff_used", "spent challenge");
    assert_eq!(pickup(&h, &s.id, &s.secret).await.status, StatusCode::ACCEPTED, "still nothing for the browser");
}

#[tokio::test]
async fn hand_offs_expire_for_the_device_and_the_browser() {
    let Fixture { h, ca } = fixture().await;
    let alice = card(&ca, 1);
    let s = start(&h).await;
    let signed_late = start(&h).await;
    assert_eq!(device_signs(&h, &signed_late.code, &alice).await.status, StatusCode::NO_CONTENT);
    h.clock.advance(time::Duration::minutes(5));
    assert!(h.app.clock.now() >= t0() + time::Duration::minutes(5));
    refused(&device_reads(&h, &s.code).await, StatusCode::GONE, "handoff_expired", "device after expiry");
    refused(&pickup(&h, &s.id, &s.secret).await, StatusCode::GONE, "handoff_expired", "browser after expiry");
    refused(
        &pickup(&h, &signed_late.id, &signed_late.secret).await,
        StatusCode::GONE,
        "handoff_expired",
        "a signed hand-off not picked up in time",
    );
}

#[tokio::test]
async fn unknown_and_malformed_codes_and_ids_are_not_found() {
    let Fixture { h, .. } = fixture().await;
    for code in ["ZZZZ-ZZZZ", "IIII-IIII", "short", "%FF"] {
        let r = device_reads(&h, code).await;
        refused(&r, StatusCode::NOT_FOUND, "handoff_unknown", code);
    }
    let s = start(&h).await;
    for id in ["0".repeat(32), "not-an-id".into()] {
        refused(&pickup(&h, &id, &s.secret).await, StatusCode::NOT_FOUND, "handoff_unknown", &id);
    }
    let empty = pickup(&h, &s.id, "").await;
    assert_eq!((empty.status, empty.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"));
}
