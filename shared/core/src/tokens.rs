//! Access tokens: compact JWS (JWT) signed ES256 through the [`TokenKeys`] port. Staff and
//! citizen tokens share the format and are told apart by audience; the issuer, audience,
//! algorithm and key id are pinned, and expiry is checked against the injected clock (never
//! the system clock).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::ports::keys::{KeyError, TokenKeys};

pub const ISSUER: &str = "mkpf";
pub const STAFF_AUDIENCE: &str = "mkpf-staff";
pub const CITIZEN_AUDIENCE: &str = "mkpf-citizen";
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock skew tolerated on `iat`.
const SKEW_SECS: i64 = 60;

/// The claims of every token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// Staff id, or a citizen's internal person id (never a MyKey ID or card data).
    pub sub: String,
    /// Session id: revocation is per session.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muni: Option<String>,
    /// Steps the holder must finish before the token admits anything but self-service
    /// (`password_change`, `totp_enrolment`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token was not signed by this platform")]
    BadSignature,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error(transparent)]
    Key(#[from] KeyError),
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` as a compact JWS (ES256) of type `typ` with the current key.
pub async fn sign_jws<T: Serialize>(keys: &dyn TokenKeys, typ: &str, claims: &T) -> Result<String, KeyError> {
    let header = serde_json::to_vec(&Header { alg: "ES256", typ, kid: keys.current_kid() })
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    let body = serde_json::to_vec(claims).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(body));
    let sig = keys.sign(input.as_bytes()).await?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// The decoding key of a compact JWS signed ES256 by one of `keys` (`None`: another algorithm,
/// no `kid`, or a key this deployment does not know).
pub async fn es256_key_of(keys: &dyn TokenKeys, jws: &str) -> Result<Option<Arc<DecodingKey>>, KeyError> {
    let Ok(header) = jsonwebtoken::decode_header(jws) else { return Ok(None) };
    if header.alg != Algorithm::ES256 {
        return Ok(None);
    }
    match header.kid {
        Some(kid) => keys.verifying_key(&kid).await,
        None => Ok(None),
    }
}

/// A signed token and the session item that makes it valid (to be written in the caller's
/// transaction).
pub struct NewSession {
    pub token: String,
    pub claims: Claims,
    pub op: crate::ports::store::TxOp,
}

/// Signs `claims` with `keys` and builds its session item `key` in `table` (expiring with the
/// token; put only if absent). Staff and citizen sessions both open this way.
pub async fn open_session(
    keys: &dyn TokenKeys,
    claims: Claims,
    table: &'static crate::ports::store::TableDef,
    key: crate::ports::store::Key,
) -> Result<NewSession, KeyError> {
    use crate::ports::store::{Cond, Item, TxOp, Value};
    let token = issue(keys, &claims).await?;
    let mut item = Item::new();
    item.insert(table.pk.into(), Value::S(key.pk));
    if let Some(sk) = table.sk {
        item.insert(sk.into(), Value::S(key.sk.unwrap_or_default()));
    }
    item.insert("ttl".into(), Value::N(claims.exp));
    item.insert("created_at".into(), Value::N(claims.iat));
    let op = TxOp::Put { table, item, cond: Some(Cond::not_exists(table.pk)) };
    Ok(NewSession { token, claims, op })
}

/// Signs `claims` as an access token.
pub async fn issue(keys: &dyn TokenKeys, claims: &Claims) -> Result<String, KeyError> {
    sign_jws(keys, "JWT", claims).await
}

/// The `aud` claim of a token, read WITHOUT verifying anything: only to choose which key set
/// (staff or citizen) to verify it with; [`verify`] then pins that audience.
pub fn peek_audience(token: &str) -> Option<String> {
    use base64::Engine;
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(Deserialize)]
    struct Aud {
        aud: String,
    }
    serde_json::from_slice::<Aud>(&bytes).ok().map(|a| a.aud)
}

/// Tokens already verified by this process, remembered by the SHA-256 of their exact text until
/// they expire, so a client's repeated calls cost one signature check, not one each. A hit still
/// re-checks expiry against the clock. Bounded: when full, expired entries go, then everything.
/// (A signing key withdrawn from service keeps honouring its tokens here until they expire, at
/// most a token's lifetime.)
#[derive(Default)]
pub struct VerifiedCache {
    map: std::sync::Mutex<std::collections::HashMap<[u8; 32], Claims>>,
}

impl VerifiedCache {
    /// Most tokens remembered at once.
    pub const CAPACITY: usize = 50_000;

    fn key(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of `token` if this process verified it and it has not expired at `now`.
    pub fn get(&self, token: &str, now: i64) -> Option<Claims> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Self::key(token)).filter(|c| c.exp > now).cloned()
    }

    /// Remembers a token that [`verify`] accepted.
    pub fn put(&self, token: &str, claims: &Claims, now: i64) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::CAPACITY {
            map.retain(|_, c| c.exp > now);
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
        }
        map.insert(Self::key(token), claims.clone());
    }
}

/// Checks signature, issuer, audience (one of `audiences`) and validity at `now` (epoch secs).
pub async fn verify(keys: &dyn TokenKeys, token: &str, audiences: &[&str], now: i64) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    let key = es256_key_of(keys, token).await?.ok_or(TokenError::BadSignature)?;
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_exp = false; // checked below against the injected clock
    v.validate_nbf = false;
    v.validate_aud = true;
    v.set_audience(audiences);
    v.set_issuer(&[ISSUER]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidAudience => TokenError::WrongAudience,
            K::InvalidSignature | K::InvalidIssuer | K::InvalidAlgorithm | K::InvalidEcdsaKey => {
                TokenError::BadSignature
            }
            _ => TokenError::Malformed,
        }
    })?;
    let c = data.claims;
    if c.exp <= now {
        return Err(TokenError::Expired);
    }
    if c.iat > now + SKEW_SECS {
        return Err(TokenError::NotYetValid);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_verified_cache_remembers_until_expiry_and_stays_bounded() {
        let cache = VerifiedCache::default();
        let c = claims(STAFF_AUDIENCE);
        cache.put("token-a", &c, 1_000);
        assert_eq!(cache.get("token-a", 1_899), Some(c.clone()));
        assert_eq!(cache.get("token-a", 1_900), None, "expired");
        assert_eq!(cache.get("token-b", 1_000), None, "only the exact token");
        for i in 0..VerifiedCache::CAPACITY + 1 {
            cache.put(&format!("t{i}"), &c, 1_000);
        }
        assert!(cache.map.lock().unwrap().len() <= VerifiedCache::CAPACITY);
    }
}
