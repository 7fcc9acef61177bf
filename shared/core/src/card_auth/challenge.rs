//! One-time challenges: 32 random bytes the card signs, valid 5 minutes, usable once.
//!
//! Item `CHALLENGE#<id>` / `CHALLENGE` (table `card-auth`): `nonce`, `expires_at` (epoch s), `ttl`
//! (an hour after expiry, so a late attempt still reads "expired" rather than "unknown"), and
//! `used_at` once consumed. Consuming is one conditional update; the reason of a refusal costs a
//! second read, on the failure path only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use time::OffsetDateTime;

use crate::caps::{Clocks, Stores};
use crate::ports::store::*;
use crate::tables::CARD_AUTH;

/// How long a challenge may be answered.
pub const CHALLENGE_SECS: i64 = 300;
/// Nonce length in bytes.
pub const NONCE_BYTES: usize = 32;
const SK: &str = "CHALLENGE";

/// A challenge id: 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeId(String);

impl ChallengeId {
    pub fn parse(s: &str) -> Result<ChallengeId, String> {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(ChallengeId(s.to_owned()))
        } else {
            Err("challenge_id must be the 32 hex characters returned by POST /v1/card-auth/challenges".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn key(id: &ChallengeId) -> Key {
    Key::new(format!("CHALLENGE#{}", id.0), SK)
}

/// A new challenge as returned to the client.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: ChallengeId,
    pub nonce: [u8; NONCE_BYTES],
    pub expires_at: OffsetDateTime,
}

impl Challenge {
    pub fn nonce_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.nonce)
    }
}

/// A fresh challenge and its item, expiring `CHALLENGE_SECS` after `now` (not yet stored).
pub fn fresh(now: OffsetDateTime) -> (Challenge, Item) {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let id = ChallengeId(uuid::Uuid::new_v4().simple().to_string());
    let expires_at = now + time::Duration::seconds(CHALLENGE_SECS);
    let k = key(&id);
    let mut item = Item::new();
    item.insert("pk".into(), Value::S(k.pk));
    item.insert("sk".into(), Value::S(SK.into()));
    item.insert("nonce".into(), Value::B(nonce.to_vec()));
    item.insert("expires_at".into(), Value::N(expires_at.unix_timestamp()));
    item.insert("ttl".into(), Value::N(expires_at.unix_timestamp() + 3600));
    (Challenge { id, nonce, expires_at }, item)
}

/// Stores a fresh challenge (one write).
pub async fn issue(app: &(impl Stores + Clocks)) -> Result<Challenge, StoreError> {
    let (challenge, item) = fresh(app.clock().now());
    app.store().put(&CARD_AUTH, item, Some(Cond::not_exists("pk"))).await?;
    Ok(challenge)
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("no such challenge")]
    Unknown,
    #[error("the challenge has expired; ask for a new one")]
    Expired,
    #[error("the challenge was already used; ask for a new one")]
    Used,
}

impl ChallengeError {
    pub fn code(self) -> &'static str {
        match self {
            ChallengeError::Unknown => "challenge_unknown",
            ChallengeError::Expired => "challenge_expired",
            ChallengeError::Used => "challenge_used",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Marks the challenge used and returns its nonce. Whatever happens next, the challenge is spent.
pub async fn consume(app: &(impl Stores + Clocks), id: &ChallengeId) -> Result<Vec<u8>, ConsumeError> {
    let now = app.clock().epoch_secs();
    let cond = Cond::exists("pk").and(Cond::not_exists("used_at")).and(Cond::gt("expires_at", now));
    match app.store().update(&CARD_AUTH, &key(id), Update::new().set("used_at", now), Some(cond)).await {
        Ok(item) => Ok(item
            .get("nonce")
            .and_then(|v| v.as_b())
            .map(<[u8]>::to_vec)
            .ok_or_else(|| StoreError::Corrupt("challenge without nonce".into()))?),
        Err(StoreError::ConditionFailed) => {
            let item = app.store().get(&CARD_AUTH, &key(id)).await?;
            Err(match item {
                None => ChallengeError::Unknown,
                Some(i) if i.contains_key("used_at") => ChallengeError::Used,
                Some(_) => ChallengeError::Expired,
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}
