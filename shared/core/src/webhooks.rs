//! Standard Webhooks 1.0 (<https://www.standardwebhooks.com/>): secrets, signing and verifying.
//!
//! A message is signed as `v1,<base64 HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>`
//! in the `webhook-signature` header, next to `webhook-id` and `webhook-timestamp` (epoch
//! seconds). Secrets are `whsec_<base64 of 24–64 random bytes>`. During a secret rotation a
//! sender signs with every active secret (space-separated signatures) and a receiver accepts any
//! of its active secrets. Receivers refuse timestamps more than [`TOLERANCE_SECS`] away from
//! their clock; deduplication by `webhook-id` is the caller's job (it needs the store).
//! Comparison is constant-time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// How far a message's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECS: i64 = 5 * 60;
const PREFIX: &str = "whsec_";

/// A webhook signing secret. `Debug` never shows the key.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// 32 fresh random bytes.
    pub fn generate() -> WebhookSecret {
        let mut k = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        WebhookSecret(k)
    }

    /// Parses `whsec_<base64>` (24 to 64 bytes of key).
    pub fn parse(s: &str) -> Result<WebhookSecret, String> {
        let b64 = s.strip_prefix(PREFIX).ok_or("a webhook secret starts with whsec_")?;
        let key = STANDARD.decode(b64).map_err(|_| "a webhook secret is whsec_ followed by base64")?;
        if !(24..=64).contains(&key.len()) {
            return Err("a webhook secret holds 24 to 64 bytes".into());
        }
        Ok(WebhookSecret(key))
    }

    /// The `whsec_…` form (shown once at creation; sealed at rest).
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        m.update(id.as_bytes());
        m.update(b".");
        m.update(timestamp.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        m.finalize().into_bytes().into()
    }

    /// `v1,<base64 signature>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }
}

/// The `webhook-signature` header value signed with every secret in `secrets` (a rotation's
/// overlap signs with the old and the new secret).
pub fn signature_header(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Why a received webhook was refused. Each maps to a problem code of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook-id, webhook-timestamp or webhook-signature header missing or malformed")]
    MissingHeaders,
    #[error("webhook-timestamp is more than 5 minutes away from now")]
    StaleTimestamp,
    #[error("no signature matches")]
    BadSignature,
}

impl VerifyError {
    /// The stable problem code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingHeaders => "signature_missing",
            VerifyError::StaleTimestamp => "timestamp_stale",
            VerifyError::BadSignature => "signature_invalid",
        }
    }
}

/// The three Standard Webhooks headers of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

/// Verifies a received message against any of `secrets`, at `now` (epoch seconds).
pub fn verify(h: &Signed<'_>, body: &[u8], secrets: &[WebhookSecret], now: i64) -> Result<(), VerifyError> {
    let id_ok = !h.id.is_empty() && h.id.len() <= 128 && h.id.bytes().all(|b| b.is_ascii_graphic());
    let ts: i64 = h.timestamp.parse().map_err(|_| VerifyError::MissingHeaders)?;
    if !id_ok || h.signature.is_empty() {
        return Err(VerifyError::MissingHeaders);
    }
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(VerifyError::StaleTimestamp);
    }
    let offered: Vec<Vec<u8>> = h
        .signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    for secret in secrets {
        let expected = secret.mac(h.id, ts, body);
        // Every candidate is compared in full; no early exit on the first byte that differs.
        if offered.iter().any(|o| o.len() == expected.len() && bool::from(o.as_slice().ct_eq(&expected))) {
            return Ok(());
        }
    }
    Err(VerifyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_reference_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let h = Signed { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signature: &sig };
        assert_eq!(verify(&h, body, std::slice::from_ref(&secret), 1614265330 + 299), Ok(()));
        assert_eq!(verify(&h, body, std::slice::from_ref(&secret), 1614265330 + 301), Err(VerifyError::StaleTimestamp));
        assert_eq!(verify(&h, body, std::slice::from_ref(&secret), 1614265330 - 301), Err(VerifyError::StaleTimestamp));
        assert_eq!(verify(&h, b"{}", &[secret], 1614265330), Err(VerifyError::BadSignature));
    }

    #[test]
    fn rotation_overlap_signs_and_accepts_both() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = signature_header(&[old.clone(), new.clone()], "msg_1", 100, b"x");
        let h = Signed { id: "msg_1", timestamp: "100", signature: &header };
        assert!(verify(&h, b"x", std::slice::from_ref(&new), 100).is_ok());
        assert!(verify(&h, b"x", std::slice::from_ref(&old), 100).is_ok());
        assert_eq!(verify(&h, b"x", &[WebhookSecret::generate()], 100), Err(VerifyError::BadSignature));
        assert_eq!(WebhookSecret::parse(&new.expose()).unwrap().sign("a", 1, b""), new.sign("a", 1, b""));
        assert!(!format!("{new:?}").contains(&new.expose()[6..]));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let s = WebhookSecret::generate();
        let sig = s.sign("m", 1, b"");
        for (id, ts, sg) in
            [("", "1", sig.as_str()), ("m", "x", sig.as_str()), ("m", "1", ""), ("m i", "1", sig.as_str())]
        {
            let h = Signed { id, timestamp: ts, signature: sg };
            assert_eq!(
                verify(&h, b"", std::slice::from_ref(&s), 1),
                Err(VerifyError::MissingHeaders),
                "{id:?} {ts:?} {sg:?}"
            );
        }
        assert!(WebhookSecret::parse("whsec_short").is_err());
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
    }

    proptest! {
        #[test]
        fn any_change_to_the_body_breaks_the_signature(body in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<usize>()) {
            let s = WebhookSecret::generate();
            let sig = s.sign("msg", 7, &body);
            let h = Signed { id: "msg", timestamp: "7", signature: &sig };
            prop_assert!(verify(&h, &body, std::slice::from_ref(&s), 7).is_ok());
            if !body.is_empty() {
                let mut b = body.clone();
                let i = flip % b.len();
                b[i] ^= 1;
                prop_assert_eq!(verify(&h, &b, &[s], 7), Err(VerifyError::BadSignature));
            }
        }
    }
}
