//! Password hashing (argon2id, OWASP parameters: 19 MiB, 2 passes, 1 lane) and TOTP codes
//! (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of skew each way). Hashing runs on
//! the blocking pool so it never stalls the async runtime.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use totp_rs::{Builder, Totp};

use crate::domain::staff::{NewPassword, StaffId, TotpCode};

fn argon() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a fresh salt.
pub async fn hash_password(password: &NewPassword) -> Result<String, String> {
    let pw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// A hash of a random password, so that an unknown account costs as much as a known one.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon().hash_password(b"decoy password that matches nothing", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

/// Whether `password` matches `hash` (`None`: check against a decoy and answer no).
pub async fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let pw = password.to_owned();
    let hash = hash.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let (h, real) = match &hash {
            Some(h) => (h.as_str(), true),
            None => (decoy_hash(), false),
        };
        let Ok(parsed) = PasswordHash::new(h) else {
            return false;
        };
        argon().verify_password(pw.as_bytes(), &parsed).is_ok() && real
    })
    .await
    .unwrap_or(false)
}

/// A fresh 160-bit TOTP secret.
pub fn new_totp_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

fn totp(secret: &[u8], id: &StaffId) -> Result<Totp, String> {
    Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some("MKPF"))
        .with_account_name(id.as_str())
        .build()
        .map_err(|e| e.to_string())
}

/// The `otpauth://` provisioning URI (for a QR code in an authenticator app) and the base32
/// secret (for typing in).
pub fn provisioning(secret: &[u8], id: &StaffId) -> Result<(String, String), String> {
    let t = totp(secret, id)?;
    let b32 = totp_rs::Secret::from(secret.to_vec()).to_base32();
    Ok((t.to_url().map_err(|e| e.to_string())?, b32))
}

/// A secret typed as base32 (what authenticator apps show).
pub fn secret_from_base32(b32: &str) -> Result<Vec<u8>, String> {
    totp_rs::Secret::try_from_base32(b32.trim()).map(|s| s.as_ref().to_vec()).map_err(|e| e.to_string())
}

/// The time step `code` is valid for at `now` (epoch secs), if any.
pub fn check_totp(secret: &[u8], id: &StaffId, code: &TotpCode, now: i64) -> Option<i64> {
    let t = totp(secret, id).ok()?;
    t.check(code.as_str(), u64::try_from(now).ok()?).map(|counter| counter as i64)
}

/// The code of `secret` at `now` (tests and the demo only).
pub fn totp_code_at(secret: &[u8], id: &StaffId, now: i64) -> String {
    totp(secret, id).map(|t| t.generate(now.max(0) as u64).to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let id = StaffId::parse("abc").unwrap();
        let pw = NewPassword::parse("correct horse battery", &id).unwrap();
        let h = hash_password(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", Some(&h)).await);
        assert!(!verify_password("correct horse batterY", Some(&h)).await);
        assert!(!verify_password("decoy password that matches nothing", None).await);
        assert_ne!(h, hash_password(&pw).await.unwrap(), "salted");
    }

    #[test]
    fn rfc6238_sha1_vectors_and_skew() {
        // RFC 6238 appendix B, SHA-1 seed, last 6 digits.
        let seed = b"12345678901234567890";
        let id = StaffId::parse("rfc").unwrap();
        for (t, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(totp_code_at(seed, &id, t), code);
            let c = TotpCode::parse(code).unwrap();
            assert_eq!(check_totp(seed, &id, &c, t), Some(t / 30));
            assert_eq!(check_totp(seed, &id, &c, t + 30), Some(t / 30), "one step late is accepted");
            assert_eq!(check_totp(seed, &id, &c, t + 90), None, "three steps late is not");
        }
        let (uri, b32) = provisioning(seed, &id).unwrap();
        assert!(uri.starts_with("otpauth://totp/MKPF:rfc?"), "{uri}");
        assert!(uri.contains(&format!("secret={b32}")) && uri.contains("issuer=MKPF"), "{uri}");
    }
}
