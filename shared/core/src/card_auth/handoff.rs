//! Hand-off sign-in: a browser starts it, a card holder's device signs its challenge, and only
//! the browser that started it receives the session (`docs/card-handoff.md`).
//!
//! Items (table `card-auth`), written with the hand-off's challenge in one transaction:
//! - `HANDOFF#<id>` / `HANDOFF`: `challenge_id`, `code`, `secret_hash` (SHA-256 of the browser
//!   secret), `state` (`pending` → `signed_in` → `delivered`), `expires_at`, `ttl`; once signed,
//!   `sealed_token` (the session token, sealed to this hand-off), `token_expires_at`, `person`
//!   and `mykey_id`. Delivery removes the sealed token.
//! - `HANDOFFCODE#<code>` / `HANDOFFCODE`: `handoff_id`, `challenge_id`, `nonce`, `expires_at`,
//!   `ttl`: what the device finds by the short code.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::challenge::{self, ChallengeError, ChallengeId};
use super::sign_in::{self, SignInError, SignInRequest};
use crate::audit::{self, Event};
use crate::caps::{Audits, CitizenTokens, Clocks, Configured, Revocations, Secrets, Stores};
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::CARD_AUTH;

/// How often the browser should ask for its session.
pub const POLL_SECS: u32 = 2;
/// The code's alphabet: Crockford base32 (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LEN: usize = 8;
const SK: &str = "HANDOFF";
const CODE_SK: &str = "HANDOFFCODE";

/// A hand-off id: 32 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffId(String);

impl HandoffId {
    pub fn parse(s: &str) -> Option<HandoffId> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| HandoffId(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The short code a person reads from the screen: 8 Crockford base32 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffCode(String);

impl HandoffCode {
    /// Accepts the code as shown (`ABCD-EFGH`) or typed (lower case, without the hyphen, spaces).
    pub fn parse(s: &str) -> Option<HandoffCode> {
        let c: String = s.chars().filter(|c| !matches!(c, '-' | ' ')).map(|c| c.to_ascii_uppercase()).collect();
        (c.len() == CODE_LEN && c.bytes().all(|b| ALPHABET.contains(&b))).then_some(HandoffCode(c))
    }
    fn generate() -> HandoffCode {
        let mut rng = rand::rngs::OsRng;
        HandoffCode((0..CODE_LEN).map(|_| ALPHABET[rng.gen_range(0..32)] as char).collect())
    }
    /// As shown: `ABCD-EFGH`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

/// A started hand-off, as returned to the browser (the secret only here, once).
#[derive(Debug)]
pub struct Started {
    pub id: HandoffId,
    pub code: HandoffCode,
    pub browser_secret: String,
    pub expires_at: OffsetDateTime,
}

/// What the device reads by the code: the challenge to sign.
#[derive(Debug)]
pub struct DeviceView {
    pub challenge_id: ChallengeId,
    pub nonce: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

/// What the browser gets when it asks.
#[derive(Debug)]
pub enum Pickup {
    /// The device has not signed yet.
    Pending { expires_at: OffsetDateTime },
    /// The session, delivered now and never again.
    Session { token: String, expires_at: OffsetDateTime, mykey_id: Option<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// No such hand-off or code, or the wrong browser secret (not told apart).
    #[error("no such hand-off")]
    Unknown,
    #[error("the hand-off has expired; start again")]
    Expired,
    #[error("the hand-off was already used; start again")]
    Used,
    #[error(transparent)]
    SignIn(SignInError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl From<SignInError> for HandoffError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Store(s) => HandoffError::Store(s),
            e => HandoffError::SignIn(e),
        }
    }
}

fn key(id: &HandoffId) -> Key {
    Key::new(format!("HANDOFF#{}", id.0), SK)
}

fn code_key(code: &HandoffCode) -> Key {
    Key::new(format!("HANDOFFCODE#{}", code.0), CODE_SK)
}

fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The associated data a session token is sealed to: this hand-off only.
fn aad(id: &HandoffId) -> Vec<u8> {
    format!("handoff:{}", id.0).into_bytes()
}

/// Starts a hand-off: its challenge, its item and its code, in one transaction (one round trip;
/// a code already in use, one chance in 2^40 per live hand-off, is drawn again).
pub async fn start(app: &(impl Stores + Clocks)) -> Result<Started, StoreError> {
    let now = app.clock().now();
    for _ in 0..3 {
        let (ch, ch_item) = challenge::fresh(now);
        let id = HandoffId(uuid::Uuid::new_v4().simple().to_string());
        let code = HandoffCode::generate();
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let browser_secret = URL_SAFE_NO_PAD.encode(secret);
        let exp = ch.expires_at.unix_timestamp();
        let k = key(&id);
        let item = Item::from([
            ("pk".to_owned(), Value::S(k.pk)),
            ("sk".to_owned(), Value::S(SK.into())),
            ("challenge_id".to_owned(), Value::S(ch.id.as_str().to_owned())),
            ("code".to_owned(), Value::S(code.0.clone())),
            ("secret_hash".to_owned(), Value::B(secret_hash(&browser_secret))),
            ("state".to_owned(), Value::S("pending".into())),
            ("expires_at".to_owned(), Value::N(exp)),
            ("ttl".to_owned(), Value::N(exp + 3600)),
        ]);
        let ck = code_key(&code);
        let code_item = Item::from([
            ("pk".to_owned(), Value::S(ck.pk)),
            ("sk".to_owned(), Value::S(CODE_SK.into())),
            ("handoff_id".to_owned(), Value::S(id.0.clone())),
            ("challenge_id".to_owned(), Value::S(ch.id.as_str().to_owned())),
            ("nonce".to_owned(), Value::B(ch.nonce.to_vec())),
            ("expires_at".to_owned(), Value::N(exp)),
            ("ttl".to_owned(), Value::N(exp + 3600)),
        ]);
        let ops = vec![
            TxOp::Put { table: &CARD_AUTH, item: code_item, cond: Some(Cond::not_exists("pk")) },
            TxOp::Put { table: &CARD_AUTH, item: ch_item, cond: Some(Cond::not_exists("pk")) },
            TxOp::Put { table: &CARD_AUTH, item, cond: Some(Cond::not_exists("pk")) },
        ];
        match app.store().transact(ops).await {
            Ok(()) => return Ok(Started { id, code, browser_secret, expires_at: ch.expires_at }),
            Err(e) if e.failed_condition_index() == Some(0) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("no free hand-off code; try again".into()))
}

struct CodeEntry {
    handoff: HandoffId,
    challenge_id: ChallengeId,
    nonce: Vec<u8>,
    expires_at: i64,
}

async fn read_code(app: &impl Stores, code: &HandoffCode) -> Result<CodeEntry, HandoffError> {
    let item = app.store().get(&CARD_AUTH, &code_key(code)).await?.ok_or(HandoffError::Unknown)?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("hand-off code without {what}"));
    Ok(CodeEntry {
        handoff: HandoffId::parse(item.s("handoff_id")?).ok_or_else(|| corrupt("a valid handoff_id"))?,
        challenge_id: ChallengeId::parse(item.s("challenge_id")?).map_err(|_| corrupt("a valid challenge_id"))?,
        nonce: item.get("nonce").and_then(|v| v.as_b()).map(<[u8]>::to_vec).ok_or_else(|| corrupt("a nonce"))?,
        expires_at: item.n("expires_at")?,
    })
}

/// The challenge the device signs for `code` (two reads: the code, and the hand-off's state).
pub async fn for_device(app: &(impl Stores + Clocks), code: &HandoffCode) -> Result<DeviceView, HandoffError> {
    let entry = read_code(app, code).await?;
    if app.clock().epoch_secs() >= entry.expires_at {
        return Err(HandoffError::Expired);
    }
    let item = app.store().get(&CARD_AUTH, &key(&entry.handoff)).await?.ok_or(HandoffError::Unknown)?;
    if item.s("state")? != "pending" {
        return Err(HandoffError::Used);
    }
    Ok(DeviceView {
        challenge_id: entry.challenge_id,
        nonce: entry.nonce,
        expires_at: OffsetDateTime::from_unix_timestamp(entry.expires_at)
            .map_err(|_| StoreError::Corrupt("hand-off expiry out of range".into()))?,
    })
}

/// The device's sign-in for `code`: the same checks as a direct sign-in (the hand-off's challenge
/// is spent first, right or wrong); the session is kept, sealed to this hand-off, for the browser.
pub async fn sign_in(
    app: &(impl Audits + Configured + CitizenTokens + Revocations + Secrets),
    ctx: &audit::Context,
    code: &HandoffCode,
    mut req: SignInRequest,
) -> Result<(), HandoffError> {
    let entry = read_code(app, code).await?;
    if req.challenge_id != entry.challenge_id {
        // A challenge of another hand-off (or a direct one) cannot complete this hand-off.
        return Err(SignInError::Challenge(ChallengeError::Unknown).into());
    }
    if app.clock().epoch_secs() >= entry.expires_at {
        return Err(HandoffError::Expired);
    }
    req.handoff = Some(entry.handoff.0.clone());
    let grant = sign_in::sign_in(app, ctx, req).await.map_err(|e| match e {
        SignInError::Challenge(ChallengeError::Used) => HandoffError::Used,
        SignInError::Challenge(ChallengeError::Expired) => HandoffError::Expired,
        e => e.into(),
    })?;
    let sealed = app.sealer().seal(grant.token.as_bytes(), &aad(&entry.handoff)).await?;
    let mut update = Update::new()
        .set("state", "signed_in")
        .set("sealed_token", sealed)
        .set("token_expires_at", grant.expires_at.unix_timestamp())
        .set("person", grant.person_id.to_string());
    if let Some(m) = grant.mykey_id {
        update = update.set("mykey_id", m);
    }
    match app.store().update(&CARD_AUTH, &key(&entry.handoff), update, Some(Cond::eq("state", "pending"))).await {
        Ok(_) => Ok(()),
        Err(StoreError::ConditionFailed) => Err(HandoffError::Used),
        Err(e) => Err(e.into()),
    }
}

/// The browser asks for its session with the secret it was given at the start.
pub async fn pickup(
    app: &(impl Audits + Secrets),
    ctx: &audit::Context,
    id: &HandoffId,
    browser_secret: &str,
) -> Result<Pickup, HandoffError> {
    let item = app.store().get(&CARD_AUTH, &key(id)).await?.ok_or(HandoffError::Unknown)?;
    let stored = item.get("secret_hash").and_then(|v| v.as_b()).unwrap_or_default();
    if !bool::from(secret_hash(browser_secret).as_slice().ct_eq(stored)) {
        return Err(HandoffError::Unknown);
    }
    let expires_at = item.n("expires_at")?;
    let now = app.clock().epoch_secs();
    match item.s("state")? {
        "delivered" => return Err(HandoffError::Used),
        _ if now >= expires_at => return Err(HandoffError::Expired),
        "pending" => {
            return Ok(Pickup::Pending {
                expires_at: OffsetDateTime::from_unix_timestamp(expires_at)
                    .map_err(|_| StoreError::Corrupt("hand-off expiry out of range".into()))?,
            });
        }
        _ => {}
    }
    let sealed = item.s("sealed_token")?.to_owned();
    let token = String::from_utf8(app.sealer().open(&sealed, &aad(id)).await?)
        .map_err(|_| StoreError::Corrupt("sealed session token is not text".into()))?;
    let person = item.s("person")?.to_owned();
    let ops = vec![TxOp::Update {
        table: &CARD_AUTH,
        key: key(id),
        update: Update::new().set("state", "delivered").remove("sealed_token"),
        cond: Some(Cond::eq("state", "signed_in")),
    }];
    let event = Event::success("citizen.handoff_delivered", vec![format!("person:{person}")])
        .with_detail(serde_json::json!({ "handoff": id.as_str() }));
    match audit::commit(app, ctx, event, ops).await {
        Ok(()) => {}
        Err(e) if e.failed_condition_index().is_some() => return Err(HandoffError::Used),
        Err(e) => return Err(e.into()),
    }
    Ok(Pickup::Session {
        token,
        expires_at: OffsetDateTime::from_unix_timestamp(item.n("token_expires_at")?)
            .map_err(|_| StoreError::Corrupt("session expiry out of range".into()))?,
        mykey_id: item.get("mykey_id").and_then(|v| v.as_s()).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_shown_or_typed() {
        let c = HandoffCode::parse("k7qm-2xhd").unwrap();
        assert_eq!(c.display(), "K7QM-2XHD");
        assert_eq!(HandoffCode::parse("K7QM 2XHD"), Some(c.clone()));
        assert_eq!(HandoffCode::parse("K7QM2XHD"), Some(c));
        for bad in ["K7QM-2XH", "K7QM-2XHDD", "ILOU-0000", "K7QM_2XHD", ""] {
            assert_eq!(HandoffCode::parse(bad), None, "{bad}");
        }
        for _ in 0..100 {
            let g = HandoffCode::generate();
            assert_eq!(HandoffCode::parse(&g.display()), Some(g));
        }
    }

    #[test]
    fn handoff_ids_are_32_lowercase_hex() {
        assert!(HandoffId::parse(&"a".repeat(32)).is_some());
        assert!(HandoffId::parse(&"A".repeat(32)).is_none());
        assert!(HandoffId::parse("abc").is_none());
    }
}
