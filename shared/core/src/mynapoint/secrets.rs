//! Webhook signing secrets of the catalogue: each provider's inbound callback secrets and each
//! payment service's outbound dispatch secrets (Standard Webhooks `whsec_…`, [`WebhookSecret`]).
//!
//! Items (table `programs`): `PROVIDER#<id>` / `SECRET#<secret id>` and `SERVICE#<code>` /
//! `SECRET#<secret id>`, holding `sealed` (the secret sealed with `app.sealer()`, associated data
//! `<owner pk>|<secret id>`, so a sealed value cannot be moved to another owner or id),
//! `created_at` (epoch seconds) and, once a rotation retired it, `retires_at` and a `ttl` 30 days
//! later. Secret ids are `sec_` and six digits, counting up per owner; a new secret is a
//! conditional put (`attribute_not_exists`) of the next id, so two rotations of one owner cannot
//! both win.
//!
//! A secret is shown once, in the response that created it; it is never logged, never in an audit
//! record (those hold secret ids), and `Debug` of every type here shows no key. Rotation makes a
//! new secret and gives every still-active one a `retires_at` of now + overlap (default 24 h, at
//! most 7 days, 0 retires them at once); until then senders sign with all of them and receivers
//! accept any.
//!
//! [`active`] keeps a per-process copy of each owner's unretired secrets for at most
//! [`catalog::CACHE_SECS`](super::catalog::CACHE_SECS) (callbacks call it on every request), and
//! filters it against `app.clock()` on every call, so a secret stops being used the moment it
//! retires. A rotation made by this process is seen at once; one made by another process within
//! the cache period (a receiver that refuses a signature may call [`reload`] once to be sure).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;

use super::catalog::{self, CACHE_SECS};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Clocks, Secrets, Stores};
use crate::domain::mynapoint::{ProviderId, ServiceCode};
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::PROGRAMS;
use crate::webhooks::WebhookSecret;

/// The sort-key prefix of secret items.
pub const SECRET_PREFIX: &str = "SECRET#";
/// Overlap of a rotation when the operator names none.
pub const DEFAULT_OVERLAP_SECS: i64 = 24 * 3600;
/// The longest overlap a rotation may give.
pub const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;
/// At most this many secrets of one owner are active at once (a rotation that would exceed it is
/// refused: rotate with a shorter overlap, or wait until older ones retire).
pub const MAX_ACTIVE: usize = 4;
/// How long a retired secret's item stays (for investigations) before the table's TTL removes it.
pub const KEEP_RETIRED_SECS: i64 = 30 * 24 * 3600;
/// Attempts of a rotation that lost a race with another change of the same owner's secrets.
const ROTATE_ATTEMPTS: usize = 3;

/// Whose secret: a provider's (it signs its callbacks to us) or a payment service's (we sign
/// dispatches to its endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretOwner {
    Provider(ProviderId),
    Service(ServiceCode),
}

impl SecretOwner {
    /// The owner's partition key (`PROVIDER#<id>` or `SERVICE#<code>`).
    pub fn pk(&self) -> String {
        self.record_key().pk
    }
    /// The owner's own record (provider profile or service configuration): it must exist.
    pub fn record_key(&self) -> Key {
        match self {
            SecretOwner::Provider(p) => catalog::provider_key(p),
            SecretOwner::Service(s) => catalog::service_key(s),
        }
    }
    /// The audit target (`provider:<id>` or `service:<code>`).
    pub fn target(&self) -> String {
        match self {
            SecretOwner::Provider(p) => format!("provider:{p}"),
            SecretOwner::Service(s) => format!("service:{s}"),
        }
    }
}

/// A secret's id: `sec_` and six digits, counting up per owner (so the newest sorts last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretId(u32);

impl SecretId {
    pub const FIRST: SecretId = SecretId(1);
    const MAX: u32 = 999_999;

    pub fn parse(s: &str) -> Option<SecretId> {
        let digits = s.strip_prefix("sec_")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(SecretId)
    }
    pub fn as_string(&self) -> String {
        format!("sec_{:06}", self.0)
    }
    fn next(self) -> Option<SecretId> {
        (self.0 < Self::MAX).then_some(SecretId(self.0 + 1))
    }
}

impl std::fmt::Display for SecretId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sec_{:06}", self.0)
    }
}

/// How long the secrets a rotation replaces stay valid: 0 to [`MAX_OVERLAP_SECS`] seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap(i64);

impl Overlap {
    pub fn parse(secs: i64) -> Result<Overlap, String> {
        if (0..=MAX_OVERLAP_SECS).contains(&secs) {
            Ok(Overlap(secs))
        } else {
            Err(format!("must be from 0 to {MAX_OVERLAP_SECS} seconds (7 days)"))
        }
    }
    pub fn secs(self) -> i64 {
        self.0
    }
}

impl Default for Overlap {
    fn default() -> Self {
        Overlap(DEFAULT_OVERLAP_SECS)
    }
}

/// What may be shown about a stored secret: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMeta {
    pub id: SecretId,
    pub created_at: OffsetDateTime,
    /// When the secret stops being used (set by a rotation); `None` while it is the current one.
    pub retires_at: Option<OffsetDateTime>,
}

impl SecretMeta {
    /// Whether the secret is still used at `now`.
    pub fn is_active_at(&self, now: OffsetDateTime) -> bool {
        self.retires_at.is_none_or(|r| now < r)
    }

    fn from_item(i: &Item) -> Result<SecretMeta, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("secret record: {what}"));
        let id = i.s("sk")?.strip_prefix(SECRET_PREFIX).and_then(SecretId::parse).ok_or_else(|| corrupt("sk"))?;
        let at = |n: i64| OffsetDateTime::from_unix_timestamp(n).map_err(|_| corrupt("time"));
        Ok(SecretMeta {
            id,
            created_at: at(i.n("created_at")?)?,
            retires_at: i.opt_n("retires_at").map(at).transpose()?,
        })
    }
}

/// A secret just created: the one moment it is shown. `Debug` shows only its id.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub meta: SecretMeta,
    pub secret: WebhookSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("secret could not be sealed or opened: {0}")]
    Sealer(#[from] KeyError),
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("no such provider or service")]
    OwnerNotFound,
    #[error("{active} secrets would be active at once (at most {MAX_ACTIVE})")]
    TooManyActive { active: usize },
    #[error("the secrets changed meanwhile, repeatedly")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("secret could not be sealed: {0}")]
    Sealer(#[from] KeyError),
}

fn key(owner: &SecretOwner, id: SecretId) -> Key {
    Key::new(owner.pk(), format!("{SECRET_PREFIX}{id}"))
}

fn aad(owner: &SecretOwner, id: SecretId) -> Vec<u8> {
    format!("{}|{id}", owner.pk()).into_bytes()
}

/// The put of a fresh secret `id` of `owner` (condition: no item with that id), sealed.
async fn put_op(
    app: &impl Secrets,
    owner: &SecretOwner,
    id: SecretId,
    now: OffsetDateTime,
) -> Result<(NewSecret, TxOp), KeyError> {
    let secret = WebhookSecret::generate();
    let sealed = app.sealer().seal(secret.expose().as_bytes(), &aad(owner, id)).await?;
    let mut item = PROGRAMS.key_item(&key(owner, id));
    item.insert("kind".into(), "secret".into());
    item.insert("secret_id".into(), id.to_string().into());
    item.insert("sealed".into(), sealed.into());
    item.insert("created_at".into(), Value::N(now.unix_timestamp()));
    let op = TxOp::Put { table: &PROGRAMS, item, cond: Some(Cond::not_exists("pk")) };
    Ok((NewSecret { meta: SecretMeta { id, created_at: now, retires_at: None }, secret }, op))
}

/// The first secret of a new owner, to be written in the transaction that creates the owner.
pub async fn first_secret(app: &(impl Clocks + Secrets), owner: &SecretOwner) -> Result<(NewSecret, TxOp), KeyError> {
    put_op(app, owner, SecretId::FIRST, app.clock().now()).await
}

/// Whether a stored item is one of the secret items.
pub fn is_secret_item(i: &Item) -> bool {
    i.opt_s("sk").is_some_and(|sk| sk.starts_with(SECRET_PREFIX))
}

/// The metadata of the secret items among `items` (e.g. a query of the owner's partition),
/// newest first.
pub fn metas_of(items: &[Item]) -> Result<Vec<SecretMeta>, StoreError> {
    let mut v = items.iter().filter(|i| is_secret_item(i)).map(SecretMeta::from_item).collect::<Result<Vec<_>, _>>()?;
    v.sort_by_key(|m| std::cmp::Reverse(m.id));
    Ok(v)
}

async fn secret_items(app: &impl Stores, owner: &SecretOwner) -> Result<Vec<Item>, StoreError> {
    let q = Query::new(&PROGRAMS, owner.pk()).sk(SkCond::BeginsWith(SECRET_PREFIX.into())).reverse().limit(100);
    query_all(app.store().as_ref(), q).await
}

/// Every stored secret of `owner` (retired ones until their TTL), newest first. Metadata only.
pub async fn list(app: &impl Stores, owner: &SecretOwner) -> Result<Vec<SecretMeta>, StoreError> {
    metas_of(&secret_items(app, owner).await?)
}

/// One unretired secret as this process keeps it.
#[derive(Clone)]
struct Held {
    retires_at: Option<i64>,
    secret: WebhookSecret,
}

/// A per-process cache whose entries belong to one store: several `Deps`s (tests) may share a
/// process. Each entry holds a `Weak` of its store, which also keeps that allocation's address
/// from being reused while the entry exists.
pub(crate) struct ScopedCache<V> {
    map: LazyLock<Entries<V>>,
}

/// Cached values by (store address, key): the store, when the value was read, the value.
type Entries<V> = Mutex<HashMap<(usize, String), (Weak<dyn Store>, Instant, V)>>;

impl<V: Clone> ScopedCache<V> {
    pub(crate) const fn new() -> Self {
        ScopedCache { map: LazyLock::new(|| Mutex::new(HashMap::new())) }
    }

    fn addr(app: &impl Stores) -> usize {
        Arc::as_ptr(app.store()) as *const () as usize
    }

    pub(crate) fn get(&self, app: &impl Stores, k: &str) -> Option<V> {
        let g = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (store, at, v) = g.get(&(Self::addr(app), k.to_owned()))?;
        let same = std::ptr::addr_eq(store.as_ptr(), Arc::as_ptr(app.store()));
        (same && at.elapsed() < Duration::from_secs(CACHE_SECS)).then(|| v.clone())
    }

    pub(crate) fn put(&self, app: &impl Stores, k: &str, v: V) {
        let mut g = self.map.lock().unwrap_or_else(|e| e.into_inner());
        g.retain(|_, (s, at, _)| s.strong_count() > 0 && at.elapsed() < Duration::from_secs(CACHE_SECS));
        g.insert((Self::addr(app), k.to_owned()), (Arc::downgrade(app.store()), Instant::now(), v));
    }

    pub(crate) fn forget(&self, app: &impl Stores, k: &str) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(&(Self::addr(app), k.to_owned()));
    }
}

static ACTIVE: ScopedCache<Vec<Held>> = ScopedCache::new();

fn unretired_at(held: &[Held], now: i64) -> Vec<WebhookSecret> {
    held.iter().filter(|h| h.retires_at.is_none_or(|r| now < r)).map(|h| h.secret.clone()).collect()
}

/// The secrets of `owner` in use now, newest first (empty for an owner without secrets). Sign
/// with all of them; accept a signature by any. Cached per process (see the module doc).
pub async fn active(
    app: &(impl Stores + Clocks + Secrets),
    owner: &SecretOwner,
) -> Result<Vec<WebhookSecret>, SecretsError> {
    let now = app.clock().epoch_secs();
    if let Some(held) = ACTIVE.get(app, &owner.pk()) {
        return Ok(unretired_at(&held, now));
    }
    reload(app, owner).await
}

/// Like [`active`], but reads the store (one query) and refreshes this process's copy.
pub async fn reload(
    app: &(impl Stores + Clocks + Secrets),
    owner: &SecretOwner,
) -> Result<Vec<WebhookSecret>, SecretsError> {
    let now = app.clock().now();
    let items = secret_items(app, owner).await?;
    let mut held = Vec::new();
    for i in &items {
        let meta = SecretMeta::from_item(i)?;
        if !meta.is_active_at(now) {
            continue;
        }
        let plain = app.sealer().open(i.s("sealed")?, &aad(owner, meta.id)).await?;
        let text = String::from_utf8(plain).map_err(|_| StoreError::Corrupt("secret record: sealed".into()))?;
        let secret = WebhookSecret::parse(&text).map_err(|_| StoreError::Corrupt("secret record: sealed".into()))?;
        held.push((meta.id, Held { retires_at: meta.retires_at.map(OffsetDateTime::unix_timestamp), secret }));
    }
    held.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let held: Vec<Held> = held.into_iter().map(|(_, h)| h).collect();
    ACTIVE.put(app, &owner.pk(), held.clone());
    Ok(unretired_at(&held, now.unix_timestamp()))
}

/// Drops this process's copy of `owner`'s secrets (after a change).
pub fn forget(app: &impl Stores, owner: &SecretOwner) {
    ACTIVE.forget(app, &owner.pk());
}

/// Opens the newest active secret of `owner` again. **Only for the local demo seed**: a secret is
/// otherwise shown once, when it is created.
pub(crate) async fn reveal_newest(
    app: &(impl Stores + Clocks + Secrets),
    owner: &SecretOwner,
) -> Result<Option<WebhookSecret>, SecretsError> {
    Ok(reload(app, owner).await?.into_iter().next())
}

/// Rotates `owner`'s secrets: one audited transaction puts a new secret (the next id; condition:
/// absent), checks that the owner's record exists, and sets `retires_at = min(retires_at,
/// now + overlap)` (and a TTL) on every secret still active (condition: unchanged since read).
/// `action` names the audit event (`mynapoint.provider_secret_rotate`, …). Returns the new secret:
/// show it once.
pub async fn rotate(
    app: &(impl Audits + Secrets),
    ctx: &Context,
    owner: &SecretOwner,
    overlap: Overlap,
    action: &'static str,
) -> Result<NewSecret, RotateError> {
    for _ in 0..ROTATE_ATTEMPTS {
        let now = app.clock().now();
        let metas = list(app, owner).await?;
        let retire_at = now + time::Duration::seconds(overlap.secs());
        let mut ops = vec![TxOp::Check { table: &PROGRAMS, key: owner.record_key(), cond: Cond::exists("pk") }];
        let mut retiring = Vec::new();
        let mut still_active = 0;
        for m in metas.iter().filter(|m| m.is_active_at(now)) {
            let new_retire = m.retires_at.map_or(retire_at, |r| r.min(retire_at));
            if new_retire > now {
                still_active += 1;
            }
            if Some(new_retire) == m.retires_at {
                continue;
            }
            let cond = match m.retires_at {
                None => Cond::exists("pk").and(Cond::not_exists("retires_at")),
                Some(r) => Cond::eq("retires_at", r.unix_timestamp()),
            };
            ops.push(TxOp::Update {
                table: &PROGRAMS,
                key: key(owner, m.id),
                update: Update::new()
                    .set("retires_at", new_retire.unix_timestamp())
                    .set("ttl", new_retire.unix_timestamp() + KEEP_RETIRED_SECS),
                cond: Some(cond),
            });
            retiring.push(m.id.to_string());
        }
        if still_active + 1 > MAX_ACTIVE {
            return Err(RotateError::TooManyActive { active: still_active + 1 });
        }
        let id = match metas.first() {
            Some(newest) => newest.id.next().ok_or(RotateError::TooManyActive { active: still_active + 1 })?,
            None => SecretId::FIRST,
        };
        let (new, put) = put_op(app, owner, id, now).await?;
        ops.insert(1, put);
        let ev = Event::success(action, vec![owner.target()]).with_detail(json!({
            "secret_id": id.to_string(),
            "retiring": retiring,
            "overlap_seconds": overlap.secs(),
        }));
        match audit::commit(app, ctx, ev, ops).await {
            Ok(()) => {
                forget(app, owner);
                return Ok(new);
            }
            Err(e) => match e.failed_condition_index() {
                Some(0) => return Err(RotateError::OwnerNotFound),
                Some(_) => continue,
                None => return Err(e.into()),
            },
        }
    }
    Err(RotateError::Contended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_ids_sort_and_round_trip() {
        assert_eq!(SecretId::FIRST.to_string(), "sec_000001");
        assert_eq!(SecretId::parse("sec_000042"), Some(SecretId(42)));
        assert!(SecretId(9) < SecretId(10));
        assert!(SecretId(9).to_string() < SecretId(10).to_string(), "string order is number order");
        for bad in ["sec_1", "sec_000000", "sec_00000a", "000001", "sec_0000001", ""] {
            assert_eq!(SecretId::parse(bad), None, "{bad}");
        }
        assert_eq!(SecretId(SecretId::MAX).next(), None);
    }

    #[test]
    fn overlap_bounds() {
        assert_eq!(Overlap::default().secs(), 86_400);
        assert!(Overlap::parse(0).is_ok());
        assert!(Overlap::parse(MAX_OVERLAP_SECS).is_ok());
        assert!(Overlap::parse(MAX_OVERLAP_SECS + 1).is_err());
        assert!(Overlap::parse(-1).is_err());
    }

    #[test]
    fn new_secrets_do_not_show_in_debug() {
        let s = NewSecret {
            meta: SecretMeta { id: SecretId::FIRST, created_at: OffsetDateTime::UNIX_EPOCH, retires_at: None },
            secret: WebhookSecret::generate(),
        };
        let shown = s.secret.expose();
        assert!(!format!("{s:?}").contains(&shown[6..]));
    }
}
