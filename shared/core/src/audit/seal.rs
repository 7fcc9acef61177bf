//! Daily seals: after an Asia/Tokyo day ends, the `audit-seal` job signs the heads (last
//! sequence number and hash) of that day's chains with a key of its own — a KMS key only that
//! job may sign with on AWS — and stores the seal (`SEAL#<date>`). Verification then checks each
//! sealed chain against its seal, so even someone who can write the audit table and recompute
//! every hash of a chain cannot rewrite a sealed day unnoticed.
//!
//! A seal is a compact JWS (ES256, `typ` `mkpf-audit-seal`, audience `mkpf-audit-seal`) whose
//! payload lists the 16 heads; it never expires.

use serde::{Deserialize, Serialize};
use time::Date;

use super::SHARDS;
use super::chain::{HEAD_SK, chain_pk};
use super::record::{Actor, Context, Event};
use crate::caps::{Audits, SealKeys};
use crate::ports::keys::{KeyError, TokenKeys};
use crate::ports::store::*;
use crate::tables::AUDIT;

pub const SEAL_AUDIENCE: &str = "mkpf-audit-seal";
/// The JWS `typ` of a seal.
pub const SEAL_TYPE: &str = "mkpf-audit-seal";
/// Days the job looks back for unsealed days (catching up after missed runs).
pub const CATCH_UP_DAYS: i64 = 7;

/// One chain's head as sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedHead {
    pub shard: u32,
    pub seq: u64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealClaims {
    pub iss: String,
    pub aud: String,
    pub date: Date,
    pub sealed_at: i64,
    pub heads: Vec<SealedHead>,
}

pub(super) fn seal_key(date: Date) -> Key {
    Key::new(format!("SEAL#{date}"), "SEAL")
}

/// The heads of a day's chains now (seq 0 for a chain without records).
async fn heads(store: &dyn Store, date: Date) -> Result<Vec<SealedHead>, StoreError> {
    let mut out = Vec::new();
    for shard in 0..SHARDS {
        let chain = format!("{date}/{shard:02}");
        let h = store.get(&AUDIT, &Key::new(chain_pk(&chain), HEAD_SK)).await?;
        let (seq, hash) = match h {
            Some(i) => (u64::try_from(i.n("seq")?).unwrap_or(0), i.s("hash")?.to_owned()),
            None => (0, String::new()),
        };
        out.push(SealedHead { shard, seq, hash });
    }
    Ok(out)
}

/// Why a stored seal cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the seal's signature is not valid (forged or altered seal)")]
    BadSignature,
    #[error("the seal is for {0}, not for this day")]
    WrongDate(Date),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Checks a stored seal's signature and returns its claims.
pub async fn open_seal(keys: &dyn TokenKeys, jws: &str, date: Date) -> Result<SealClaims, SealError> {
    use jsonwebtoken::{Algorithm, Validation};
    let key = crate::tokens::es256_key_of(keys, jws).await?.ok_or(SealError::BadSignature)?;
    let mut v = Validation::new(Algorithm::ES256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.set_audience(&[SEAL_AUDIENCE]);
    v.set_issuer(&[crate::tokens::ISSUER]);
    v.set_required_spec_claims(&["aud", "iss"]);
    let claims = jsonwebtoken::decode::<SealClaims>(jws, &key, &v).map_err(|_| SealError::BadSignature)?.claims;
    if claims.date != date {
        return Err(SealError::WrongDate(claims.date));
    }
    Ok(claims)
}

/// Reads a day's seal, if any: `Ok(None)` when the day was never sealed.
pub async fn load_seal(store: &dyn Store, date: Date) -> Result<Option<String>, StoreError> {
    Ok(store.get(&AUDIT, &seal_key(date)).await?.and_then(|i| i.opt_s("jws").map(str::to_owned)))
}

/// The job: seals every finished day of the last [`CATCH_UP_DAYS`] that has no seal yet.
/// Returns the sealed dates. Re-running changes nothing (a seal is written once).
pub async fn seal_finished_days(app: &(impl Audits + SealKeys)) -> Result<Vec<Date>, String> {
    let today = app.clock().now().to_offset(crate::ports::JST).date();
    let ctx = Context::new(Actor::job("audit-seal"));
    let mut sealed = Vec::new();
    for back in (1..=CATCH_UP_DAYS).rev() {
        let Some(date) = today.checked_sub(time::Duration::days(back)) else { continue };
        if load_seal(app.store().as_ref(), date).await.map_err(|e| e.to_string())?.is_some() {
            continue;
        }
        let heads = heads(app.store().as_ref(), date).await.map_err(|e| e.to_string())?;
        let claims = SealClaims {
            iss: crate::tokens::ISSUER.into(),
            aud: SEAL_AUDIENCE.into(),
            date,
            sealed_at: app.clock().epoch_secs(),
            heads,
        };
        let jws =
            crate::tokens::sign_jws(app.seal_keys().as_ref(), SEAL_TYPE, &claims).await.map_err(|e| e.to_string())?;
        let key = seal_key(date);
        let mut item = Item::new();
        item.insert("pk".into(), Value::S(key.pk.clone()));
        item.insert("sk".into(), Value::S(key.sk.clone().unwrap_or_default()));
        item.insert("jws".into(), Value::S(jws));
        let put = TxOp::Put { table: &AUDIT, item, cond: Some(Cond::not_exists("pk")) };
        let records: u64 = claims.heads.iter().map(|h| h.seq).sum();
        let ev = Event::success("audit.seal", vec![format!("day:{date}")])
            .with_detail(serde_json::json!({"records": records}));
        match super::commit(app, &ctx, ev, vec![put]).await {
            Ok(()) => sealed.push(date),
            Err(StoreError::TransactionCanceled { .. }) => {} // sealed meanwhile by another run
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(sealed)
}
