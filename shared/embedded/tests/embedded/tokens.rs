//! Access tokens signed and verified with local key files: a round trip and every refusal.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mkpf_core::ports::TokenKeys;
use mkpf_core::tokens::*;
use mkpf_embedded::local_keys::LocalKeys;

fn claims(aud: &str) -> Claims {
    Claims {
        iss: ISSUER.into(),
        aud: aud.into(),
        sub: "op1".into(),
        sid: "s1".into(),
        iat: 1_000,
        exp: 1_900,
        roles: vec!["operator".into()],
        muni: None,
        pending: vec![],
    }
}

#[tokio::test]
async fn round_trip_and_every_refusal() {
    let keys = LocalKeys::generate();
    let t = issue(&keys, &claims(STAFF_AUDIENCE)).await.unwrap();
    assert_eq!(verify(&keys, &t, &[STAFF_AUDIENCE], 1_500).await.unwrap(), claims(STAFF_AUDIENCE));
    assert_eq!(verify(&keys, &t, &[STAFF_AUDIENCE], 1_900).await, Err(TokenError::Expired));
    assert_eq!(verify(&keys, &t, &[STAFF_AUDIENCE], 900).await, Err(TokenError::NotYetValid));
    assert_eq!(verify(&keys, &t, &[CITIZEN_AUDIENCE], 1_500).await, Err(TokenError::WrongAudience));
    // Another platform's key (same kid format, different key): unknown kid.
    let other = LocalKeys::generate();
    let forged = issue(&other, &claims(STAFF_AUDIENCE)).await.unwrap();
    assert_eq!(verify(&keys, &forged, &[STAFF_AUDIENCE], 1_500).await, Err(TokenError::BadSignature));
    // Our kid, but claims changed after signing.
    let parts: Vec<&str> = t.split('.').collect();
    let mut c = claims(STAFF_AUDIENCE);
    c.roles = vec!["operator".into(), "auditor".into()];
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap()), parts[2]);
    assert_eq!(verify(&keys, &tampered, &[STAFF_AUDIENCE], 1_500).await, Err(TokenError::BadSignature));
    // alg=none and HS256 headers are refused before any key is used.
    for alg in ["none", "HS256"] {
        let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#, keys.current_kid()));
        let t = format!("{h}.{}.{}", parts[1], parts[2]);
        assert!(verify(&keys, &t, &[STAFF_AUDIENCE], 1_500).await.is_err(), "{alg}");
    }
    for junk in ["", "a.b", "a.b.c", &"x".repeat(5000)] {
        assert_eq!(verify(&keys, junk, &[STAFF_AUDIENCE], 1_500).await, Err(TokenError::Malformed), "{junk:.20}");
    }
}
