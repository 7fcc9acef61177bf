//! The revocation port and its CRL mode.
//!
//! [`Revocation::status`] answers whether a certificate (issuer + serial) is revoked. The CRL
//! mode ([`CrlRevocation`]) reads what [`import_crl`] stored from verified J-LIS CRLs: one item per
//! revoked serial (`REVOKED#<issuer>#<serial>` / `ENTRY`) and the current CRL's dates per issuer
//! (`CRL#<issuer>` / `CURRENT`). An issuer without a CRL, or whose CRL is older than its
//! nextUpdate plus the configured grace, is *unavailable*: sign-in fails closed (503) rather than
//! trust a certificate that may have been revoked. An OCSP mode would be another implementation of
//! the same trait (one query per sign-in, answered from J-LIS), chosen at start-up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::anchors::IssuerId;
use super::certificate::CertSerial;
use super::crl::{CrlError, VerifiedCrl, verify_crl};
use crate::audit::{self, Event};
use crate::caps::{Audits, Clocks, Configured, Stores};
use crate::ports::store::*;
use crate::ports::{Clock, Store};
use crate::tables::CARD_AUTH;

/// Whether a certificate is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    Good,
    /// Revoked at this instant (epoch seconds).
    Revoked {
        at: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// No current revocation data for the issuer.
    #[error("no current revocation list for issuer {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The revocation port.
#[async_trait]
pub trait Revocation: Send + Sync {
    async fn status(&self, issuer: &IssuerId, serial: &CertSerial) -> Result<RevocationStatus, RevocationError>;

    /// For a caller's transaction: a condition that holds while the certificate is not revoked,
    /// so the check and the caller's write are one atomic step. A mode that cannot say it as a
    /// store condition (OCSP) answers from [`Revocation::status`] and returns `None`.
    async fn not_revoked_check(&self, issuer: &IssuerId, serial: &CertSerial) -> Result<NotRevoked, RevocationError> {
        match self.status(issuer, serial).await? {
            RevocationStatus::Good => Ok(NotRevoked::Checked),
            RevocationStatus::Revoked { .. } => Ok(NotRevoked::Revoked),
        }
    }
}

/// The answer of [`Revocation::not_revoked_check`].
#[derive(Debug, Clone)]
pub enum NotRevoked {
    /// Put this check into the transaction.
    InTransaction(TxOp),
    /// Already checked now: not revoked.
    Checked,
    /// Revoked.
    Revoked,
}

pub const CURRENT_SK: &str = "CURRENT";
pub const ENTRY_SK: &str = "ENTRY";

pub fn crl_key(issuer: &IssuerId) -> Key {
    Key::new(format!("CRL#{}", issuer.as_str()), CURRENT_SK)
}
pub fn revoked_key(issuer: &IssuerId, serial: &CertSerial) -> Key {
    Key::new(format!("REVOKED#{}#{}", issuer.as_str(), serial.as_str()), ENTRY_SK)
}

/// How long a process trusts its copy of an issuer's CRL dates.
const META_CACHE: Duration = Duration::from_secs(60);

/// The CRL mode: revoked serials and CRL dates in the `card-auth` table.
pub struct CrlRevocation {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    grace_secs: i64,
    /// issuer → (read at, nextUpdate). Only current CRLs are cached.
    cache: Mutex<HashMap<IssuerId, (Instant, i64)>>,
}

impl CrlRevocation {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, grace_secs: i64) -> CrlRevocation {
        CrlRevocation { store, clock, grace_secs, cache: Mutex::new(HashMap::new()) }
    }

    fn cached_next_update(&self, issuer: &IssuerId) -> Option<i64> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(issuer).filter(|(at, _)| at.elapsed() < META_CACHE).map(|(_, n)| *n)
    }

    async fn ensure_current(&self, issuer: &IssuerId) -> Result<(), RevocationError> {
        let now = self.clock.epoch_secs();
        if let Some(next) = self.cached_next_update(issuer)
            && next + self.grace_secs >= now
        {
            return Ok(());
        }
        let item = self.store.get(&CARD_AUTH, &crl_key(issuer)).await?;
        let next = item.as_ref().and_then(|i| i.opt_n("next_update"));
        match next {
            Some(n) if n + self.grace_secs >= now => {
                self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(issuer.clone(), (Instant::now(), n));
                Ok(())
            }
            _ => Err(RevocationError::Unavailable(issuer.as_str().to_owned())),
        }
    }
}

#[async_trait]
impl Revocation for CrlRevocation {
    async fn status(&self, issuer: &IssuerId, serial: &CertSerial) -> Result<RevocationStatus, RevocationError> {
        self.ensure_current(issuer).await?;
        match self.store.get(&CARD_AUTH, &revoked_key(issuer, serial)).await? {
            Some(i) => Ok(RevocationStatus::Revoked { at: i.n("revoked_at")? }),
            None => Ok(RevocationStatus::Good),
        }
    }

    /// The CRL must be current (cached dates, usually no read); the serial's absence from it is a
    /// condition of the caller's transaction.
    async fn not_revoked_check(&self, issuer: &IssuerId, serial: &CertSerial) -> Result<NotRevoked, RevocationError> {
        self.ensure_current(issuer).await?;
        Ok(NotRevoked::InTransaction(TxOp::Check {
            table: &CARD_AUTH,
            key: revoked_key(issuer, serial),
            cond: Cond::not_exists("pk"),
        }))
    }
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrlImport {
    /// The issuing root's key id.
    pub issuer: String,
    pub crl_number: Option<String>,
    /// RFC 3339, Asia/Tokyo.
    pub this_update: String,
    pub next_update: String,
    /// Revoked serials the CRL lists.
    pub entries: usize,
    /// `imported`, or `unchanged` when this exact CRL was already the current one.
    pub result: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CrlImportError {
    #[error("no trust anchors are configured (MKPF_JPKI_TRUST_ANCHORS)")]
    NoTrustAnchors,
    #[error(transparent)]
    Invalid(#[from] CrlError),
    /// The stored CRL of this issuer is newer.
    #[error("a newer CRL of this issuer is already imported (thisUpdate {current})")]
    Older { current: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CrlImportError {
    /// The stable problem code, as the import route answers it (`store_error` for a store failure,
    /// which the route answers as 503 or 500).
    pub fn code(&self) -> &'static str {
        match self {
            CrlImportError::NoTrustAnchors => "card_auth_unavailable",
            CrlImportError::Invalid(e) => e.code(),
            CrlImportError::Older { .. } => "crl_older",
            CrlImportError::Store(_) => "store_error",
        }
    }
}

/// Revoked-serial writes per transaction, and transactions in flight.
const CHUNK: usize = 100;
const IN_FLIGHT: usize = 4;

/// Verifies a DER CRL against the trust anchors and stores it: its revoked serials (idempotent
/// puts; a revocation is a fact that never goes away) and then, audited, its dates as the
/// issuer's current CRL. An older CRL than the current one is refused; the same one again is a
/// no-op. Only complete CRLs get this far: [`verify_crl`] refuses scoped and delta CRLs, which
/// must never replace the issuer's current CRL or stretch its freshness.
pub async fn import_crl(
    app: &(impl Audits + Configured),
    ctx: &audit::Context,
    der: &[u8],
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<CrlImport, CrlImportError> {
    let anchors = app.config().trust_anchors.clone().ok_or(CrlImportError::NoTrustAnchors)?;
    let crl = verify_crl(&anchors, der, app.clock().now())?;
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(der));
    let view = |result: &str| CrlImport {
        issuer: crl.issuer.as_str().to_owned(),
        crl_number: crl.crl_number.clone(),
        this_update: crate::domain::time_fmt::to_jst(crl.this_update),
        next_update: crate::domain::time_fmt::to_jst(crl.next_update),
        entries: crl.revoked.len(),
        result: result.to_owned(),
    };
    let this_update = crl.this_update.unix_timestamp();
    if let Some(cur) = app.store().get(&CARD_AUTH, &crl_key(&crl.issuer)).await? {
        if cur.opt_s("sha256") == Some(digest.as_str()) {
            return Ok(view("unchanged"));
        }
        let cur_this = cur.n("this_update")?;
        if cur_this > this_update || (cur_this == this_update && newer_number(cur.opt_s("crl_number"), &crl)) {
            return Err(CrlImportError::Older {
                current: crate::domain::time_fmt::to_jst(
                    time::OffsetDateTime::from_unix_timestamp(cur_this).unwrap_or(crl.this_update),
                ),
            });
        }
    }
    write_entries(app, &crl, progress).await?;
    let mut item = Item::new();
    let key = crl_key(&crl.issuer);
    item.insert("pk".into(), Value::S(key.pk));
    item.insert("sk".into(), Value::S(CURRENT_SK.into()));
    item.insert("issuer".into(), crl.issuer.as_str().into());
    item.insert("this_update".into(), Value::N(this_update));
    item.insert("next_update".into(), Value::N(crl.next_update.unix_timestamp()));
    if let Some(n) = &crl.crl_number {
        item.insert("crl_number".into(), n.as_str().into());
    }
    item.insert("entries".into(), Value::N(crl.revoked.len() as i64));
    item.insert("sha256".into(), digest.into());
    item.insert("imported_at".into(), crate::domain::time_fmt::to_store(app.clock().now()).into());
    // A concurrent import of a newer CRL wins.
    let cond = Cond::not_exists("pk").or(Cond::le("this_update", this_update));
    let event = Event::success("card.crl_import", vec![format!("issuer:{}", crl.issuer.as_str())]).with_detail(
        serde_json::json!({"crl_number": crl.crl_number, "this_update": this_update, "next_update": crl.next_update.unix_timestamp(), "entries": crl.revoked.len()}),
    );
    audit::commit(app, ctx, event, vec![TxOp::Put { table: &CARD_AUTH, item, cond: Some(cond) }]).await.map_err(
        |e| match e.failed_condition_index() {
            Some(0) => CrlImportError::Older { current: "(imported concurrently)".into() },
            _ => CrlImportError::Store(e),
        },
    )?;
    Ok(view("imported"))
}

/// Whether the stored cRLNumber (hex) is greater than the new CRL's.
fn newer_number(stored: Option<&str>, crl: &VerifiedCrl) -> bool {
    let (Some(a), Some(b)) = (stored, crl.crl_number.as_deref()) else { return false };
    (a.len(), a) > (b.len(), b)
}

async fn write_entries(
    app: &impl Stores,
    crl: &VerifiedCrl,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<(), StoreError> {
    let total = crl.revoked.len();
    let chunks: Vec<Vec<TxOp>> = crl
        .revoked
        .chunks(CHUNK)
        .map(|chunk| {
            chunk
                .iter()
                .map(|e| {
                    let key = revoked_key(&crl.issuer, &e.serial);
                    let mut item = Item::new();
                    item.insert("pk".into(), Value::S(key.pk));
                    item.insert("sk".into(), Value::S(ENTRY_SK.into()));
                    item.insert("revoked_at".into(), Value::N(e.revoked_at.unix_timestamp()));
                    TxOp::Put { table: &CARD_AUTH, item, cond: None }
                })
                .collect()
        })
        .collect();
    let mut done = 0usize;
    let mut it = chunks.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < IN_FLIGHT {
            let Some(ops) = it.next() else { break };
            let store = app.store().clone();
            let n = ops.len();
            running.spawn(async move { store.transact(ops).await.map(|_| n) });
        }
        match running.join_next().await {
            None => return Ok(()),
            Some(r) => {
                done += r.map_err(|e| StoreError::Unavailable(e.to_string()))??;
                progress(done, total);
            }
        }
    }
}

/// One issuer's current CRL as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrlState {
    pub issuer: String,
    pub crl_number: Option<String>,
    pub this_update: String,
    pub next_update: String,
    pub entries: i64,
    pub imported_at: String,
    /// Whether sign-in with this issuer's certificates works now (nextUpdate + grace not passed).
    pub current: bool,
}

/// The current CRL of every configured trust anchor (a missing one shows with `current: false`).
pub async fn states(app: &(impl Stores + Clocks + Configured)) -> Result<Vec<CrlState>, StoreError> {
    let Some(anchors) = app.config().trust_anchors.clone() else { return Ok(Vec::new()) };
    let now = app.clock().epoch_secs();
    let jst =
        |s: i64| time::OffsetDateTime::from_unix_timestamp(s).map(crate::domain::time_fmt::to_jst).unwrap_or_default();
    let mut out = Vec::new();
    for a in anchors.iter() {
        let state = match app.store().get(&CARD_AUTH, &crl_key(&a.id)).await? {
            Some(i) => CrlState {
                issuer: a.id.as_str().to_owned(),
                crl_number: i.opt_s("crl_number").map(str::to_owned),
                this_update: jst(i.n("this_update")?),
                next_update: jst(i.n("next_update")?),
                entries: i.n("entries")?,
                imported_at: i.s("imported_at")?.to_owned(),
                current: i.n("next_update")? + app.config().crl_grace_secs >= now,
            },
            None => CrlState {
                issuer: a.id.as_str().to_owned(),
                crl_number: None,
                this_update: String::new(),
                next_update: String::new(),
                entries: 0,
                imported_at: String::new(),
                current: false,
            },
        };
        out.push(state);
    }
    Ok(out)
}
