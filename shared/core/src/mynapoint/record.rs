//! Applications as stored (table `applications`): the application item, its uniqueness items, the
//! callback-event items hanging off it, their keys and item forms, and the reads other parts
//! (dispatch, callbacks, reports, inquiry) share. See `docs/mynapoint.md` for the layout.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::caps::{Secrets, Stores};
use crate::domain::mynapoint::{ApplicationId, ApplicationState, MeasureId, ProviderId, ServiceAccountId, ServiceCode};
use crate::domain::time_fmt::jst_date;
use crate::mykey::person::PersonId;
use crate::ports::KeyError;
use crate::ports::sealer::Sealer;
use crate::ports::store::*;
use crate::tables::APPLICATIONS;

/// Number of outbox shards (`gsi2pk = OUTBOX#<0..OUTBOX_SHARDS>`), so the sweep's index reads
/// spread over partitions.
pub const OUTBOX_SHARDS: u32 = 8;

/// `APP#<id>` / `APP`.
pub fn app_key(id: &ApplicationId) -> Key {
    Key::new(format!("APP#{id}"), "APP")
}
/// `PERSON#<pid>` / `MEASURE#<n>`: the person's place for a measure.
pub fn person_measure_key(pid: &PersonId, m: MeasureId) -> Key {
    Key::new(format!("PERSON#{pid}"), format!("MEASURE#{}", m.number()))
}
/// `ACCOUNT#<service>#<account>` / `MEASURE#<n>`: the service account's place for a measure.
pub fn account_measure_key(service: &ServiceCode, account: &ServiceAccountId, m: MeasureId) -> Key {
    Key::new(format!("ACCOUNT#{service}#{}", account.as_str()), format!("MEASURE#{}", m.number()))
}
/// `gsi1pk` of a provider's applications made on a JST day (`PROV#<provider>#<yyyy-mm-dd>`).
pub fn provider_day_gsi(p: &ProviderId, at: OffsetDateTime) -> String {
    format!("PROV#{p}#{}", jst_date(at))
}
/// `gsi1pk` of a provider's callback events received on a JST day (`PROVEV#<provider>#<yyyy-mm-dd>`).
pub fn provider_events_gsi(p: &ProviderId, at: OffsetDateTime) -> String {
    format!("PROVEV#{p}#{}", jst_date(at))
}
/// The outbox shard of an application (stable: from its id).
pub fn outbox_shard(id: &ApplicationId) -> u32 {
    let h = id.as_str().bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    h % OUTBOX_SHARDS
}
pub fn outbox_gsi(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}

/// The associated data sealed security codes are bound to.
pub fn codes_aad(id: &ApplicationId) -> Vec<u8> {
    format!("mynapoint-codes:{id}").into_bytes()
}

/// The associated data the key of an application's [`RequestDigest`] is sealed to: its own
/// context, so neither a sealed security code nor another application's key opens in its place.
pub fn request_key_aad(id: &ApplicationId) -> Vec<u8> {
    format!("mynapoint-request-mac:{id}").into_bytes()
}

/// The stored digest of the request that created an application (attribute `request_hash`), so a
/// retry with the same `Idempotency-Key` is recognised and a changed request refused. The request
/// holds the security codes and the item keeps the measure, service and account in clear for the
/// life of the application, so the digest is keyed: HMAC-SHA-256 under a random 256-bit key made
/// for that application and kept only sealed (`app.sealer()`, aad [`request_key_aad`]). Without the
/// data key the stored value says nothing about the codes. Stored form: `m1.<hex mac>.<sealed key>`.
#[derive(Clone, PartialEq, Eq)]
pub enum RequestDigest {
    Keyed {
        mac: [u8; 32],
        key_sealed: String,
    },
    /// A plain SHA-256 written before keyed digests (read, compared, never written again).
    Legacy([u8; 32]),
}

impl std::fmt::Debug for RequestDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RequestDigest::Keyed { .. } => "RequestDigest::Keyed(..)",
            RequestDigest::Legacy(_) => "RequestDigest::Legacy(..)",
        })
    }
}

/// The length-prefixed parts of a request, domain-separated.
fn digest_input(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = b"mkpf-mynapoint-request\0".to_vec();
    for p in parts {
        v.extend_from_slice(&(p.len() as u64).to_be_bytes());
        v.extend_from_slice(p);
    }
    v
}

fn hmac_of(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

impl RequestDigest {
    /// A keyed digest of `parts` for application `id`: a fresh key, sealed (one local seal).
    pub async fn new(sealer: &dyn Sealer, id: &ApplicationId, parts: &[&[u8]]) -> Result<RequestDigest, KeyError> {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let key_sealed = sealer.seal(&key, &request_key_aad(id)).await;
        let mut m = hmac_of(&key);
        key.fill(0);
        let key_sealed = key_sealed?;
        m.update(&digest_input(parts));
        Ok(RequestDigest::Keyed { mac: m.finalize().into_bytes().into(), key_sealed })
    }

    /// Whether `parts` is the request this digest was made from; compared in constant time.
    /// Opens the sealed key (the application's id is its associated data).
    pub async fn matches(&self, sealer: &dyn Sealer, id: &ApplicationId, parts: &[&[u8]]) -> Result<bool, KeyError> {
        match self {
            RequestDigest::Keyed { mac, key_sealed } => {
                let mut key = sealer.open(key_sealed, &request_key_aad(id)).await?;
                let mut m = hmac_of(&key);
                key.fill(0);
                m.update(&digest_input(parts));
                Ok(m.verify_slice(mac).is_ok())
            }
            RequestDigest::Legacy(stored) => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update((p.len() as u64).to_be_bytes());
                    h.update(p);
                }
                Ok(bool::from(h.finalize().as_slice().ct_eq(stored)))
            }
        }
    }

    pub fn to_stored(&self) -> String {
        match self {
            RequestDigest::Keyed { mac, key_sealed } => format!("m1.{}.{key_sealed}", hex::encode(mac)),
            RequestDigest::Legacy(h) => hex::encode(h),
        }
    }

    pub fn parse(s: &str) -> Option<RequestDigest> {
        let hex32 = |h: &str| hex::decode(h).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
        match s.split_once('.') {
            Some(("m1", rest)) => {
                let (mac, key_sealed) = rest.split_once('.')?;
                (!key_sealed.is_empty())
                    .then(|| Some(RequestDigest::Keyed { mac: hex32(mac)?, key_sealed: key_sealed.to_owned() }))?
            }
            Some(_) => None,
            None => hex32(s).map(RequestDigest::Legacy),
        }
    }
}

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub person: PersonId,
    /// The MyKey ID the person held when applying (for operator inquiry).
    pub mykey_id: String,
    pub measure: MeasureId,
    pub service: ServiceCode,
    pub provider: ProviderId,
    pub account: ServiceAccountId,
    /// Sealed security codes (`Sealer`, aad [`codes_aad`]); removed once the provider answered.
    pub codes_sealed: Option<String>,
    pub state: ApplicationState,
    pub created_at: OffsetDateTime,
    /// The most points this application can receive (measure 1: 5,000 minus phase-1 points).
    pub points_cap: i64,
    pub points_granted: i64,
    /// Total charges/purchases reported with grants (measure 1), in yen.
    pub charge_total: i64,
    /// The provider's last reported balance, if any.
    pub balance: Option<i64>,
    /// The keyed digest of the request that created it (idempotent replay).
    pub request_hash: RequestDigest,
    pub dispatched_at: Option<OffsetDateTime>,
    /// Why it was rejected or stopped.
    pub reason: Option<String>,
    /// Bumped by every change.
    pub version: i64,
}

impl ApplicationRecord {
    /// Points still to be earned.
    pub fn remaining(&self) -> i64 {
        (self.points_cap - self.points_granted).max(0)
    }

    /// The item, with the outbox entry set while the application waits for dispatch.
    pub fn to_item(&self) -> Item {
        let mut i = APPLICATIONS.key_item(&app_key(&self.id));
        i.insert("id".into(), self.id.as_str().into());
        i.insert("person".into(), self.person.as_str().into());
        i.insert("mykey_id".into(), self.mykey_id.clone().into());
        i.insert("measure".into(), Value::N(i64::from(self.measure.number())));
        i.insert("service".into(), self.service.as_str().into());
        i.insert("provider".into(), self.provider.as_str().into());
        i.insert("account".into(), self.account.as_str().into());
        if let Some(c) = &self.codes_sealed {
            i.insert("codes".into(), c.clone().into());
        }
        i.insert("state".into(), self.state.as_str().into());
        i.insert("created_at".into(), Value::N(self.created_at.unix_timestamp()));
        i.insert("points_cap".into(), Value::N(self.points_cap));
        i.insert("points_granted".into(), Value::N(self.points_granted));
        i.insert("charge_total".into(), Value::N(self.charge_total));
        if let Some(b) = self.balance {
            i.insert("balance".into(), Value::N(b));
        }
        i.insert("request_hash".into(), self.request_hash.to_stored().into());
        if let Some(d) = self.dispatched_at {
            i.insert("dispatched_at".into(), Value::N(d.unix_timestamp()));
        }
        if let Some(r) = &self.reason {
            i.insert("reason".into(), r.clone().into());
        }
        i.insert("version".into(), Value::N(self.version));
        i.insert("gsi1pk".into(), provider_day_gsi(&self.provider, self.created_at).into());
        // Time first: a day's applications are listed in order, and a new one is appended to the
        // index rather than inserted at a random place.
        i.insert("gsi1sk".into(), format!("{:012}#{}", self.created_at.unix_timestamp(), self.id).into());
        i.insert("gsi3pk".into(), person_gsi(&self.person).into());
        i.insert("gsi3sk".into(), format!("{:012}#{}", self.created_at.unix_timestamp(), self.id).into());
        if self.state == ApplicationState::Submitted && self.dispatched_at.is_none() {
            i.insert("gsi2pk".into(), outbox_gsi(outbox_shard(&self.id)).into());
            i.insert("gsi2sk".into(), format!("{:012}#{}", self.created_at.unix_timestamp(), self.id).into());
        }
        i
    }

    pub fn from_item(i: &Item) -> Result<ApplicationRecord, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("application record: {what}"));
        let at = |v: i64, name: &str| OffsetDateTime::from_unix_timestamp(v).map_err(|_| corrupt(name));
        Ok(ApplicationRecord {
            id: ApplicationId::parse(i.s("id")?).map_err(|_| corrupt("id"))?,
            person: PersonId::parse(i.s("person")?).map_err(|_| corrupt("person"))?,
            mykey_id: i.s("mykey_id")?.to_owned(),
            measure: MeasureId::from_number(i.n("measure")?).ok_or_else(|| corrupt("measure"))?,
            service: ServiceCode::parse(i.s("service")?).map_err(|_| corrupt("service"))?,
            provider: ProviderId::parse(i.s("provider")?).map_err(|_| corrupt("provider"))?,
            account: ServiceAccountId::parse(i.s("account")?).map_err(|_| corrupt("account"))?,
            codes_sealed: i.opt_s("codes").map(str::to_owned),
            state: ApplicationState::parse(i.s("state")?).ok_or_else(|| corrupt("state"))?,
            created_at: at(i.n("created_at")?, "created_at")?,
            points_cap: i.n("points_cap")?,
            points_granted: i.n("points_granted")?,
            charge_total: i.opt_n("charge_total").unwrap_or(0),
            balance: i.opt_n("balance"),
            request_hash: RequestDigest::parse(i.s("request_hash")?).ok_or_else(|| corrupt("request_hash"))?,
            dispatched_at: i.opt_n("dispatched_at").map(|v| at(v, "dispatched_at")).transpose()?,
            reason: i.opt_s("reason").map(str::to_owned),
            version: i.n("version")?,
        })
    }
}

/// Reads one application.
pub async fn load(app: &impl Stores, id: &ApplicationId) -> Result<Option<ApplicationRecord>, StoreError> {
    app.store().get(&APPLICATIONS, &app_key(id)).await?.map(|i| ApplicationRecord::from_item(&i)).transpose()
}

/// `gsi3pk` of a person's applications.
pub fn person_gsi(pid: &PersonId) -> String {
    format!("PERSON#{pid}")
}

/// Every application the person ever made (current and rejected ones), newest first (one
/// index query).
pub async fn of_person(app: &impl Stores, pid: &PersonId) -> Result<Vec<ApplicationRecord>, StoreError> {
    let page = app.store().query(Query::new(&APPLICATIONS, person_gsi(pid)).index("gsi3").reverse()).await?;
    page.items.iter().map(ApplicationRecord::from_item).collect()
}

/// Opens an application's sealed security codes (for the dispatch only).
pub async fn open_codes(app: &impl Secrets, rec: &ApplicationRecord) -> Result<Option<Vec<String>>, KeyError> {
    let Some(sealed) = &rec.codes_sealed else { return Ok(None) };
    let plain = app.sealer().open(sealed, &codes_aad(&rec.id)).await?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|_| KeyError::Invalid("sealed security codes are malformed".into()))
}

/// What a callback event item records (`APP#<id>` / `EVENT#<epoch ms>#<webhook id>`, with
/// `gsi1pk = PROVEV#<provider>#<JST date>`), for the citizen's history and reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub application: ApplicationId,
    pub provider: ProviderId,
    pub service: ServiceCode,
    pub measure: MeasureId,
    pub webhook_id: String,
    /// `application.accepted`, `application.rejected`, `points.granted`, `balance.reported`,
    /// `link.stopped`, or `application.dispatched` (written by the dispatch).
    pub kind: String,
    /// `applied`, or `refused_over_cap` (a grant past the cap, kept for reconciliation).
    pub outcome: String,
    pub points: Option<i64>,
    pub charge_amount: Option<i64>,
    pub balance: Option<i64>,
    /// The grant date as the provider reported it (`YYYY-MM-DD`, JST).
    pub granted_on: Option<String>,
    pub reason: Option<String>,
    pub received_at: OffsetDateTime,
}

impl EventRecord {
    pub fn to_item(&self) -> Item {
        let ms = self.received_at.unix_timestamp_nanos() / 1_000_000;
        let mut i = APPLICATIONS
            .key_item(&Key::new(format!("APP#{}", self.application), format!("EVENT#{ms:013}#{}", self.webhook_id)));
        i.insert("application".into(), self.application.as_str().into());
        i.insert("provider".into(), self.provider.as_str().into());
        i.insert("service".into(), self.service.as_str().into());
        i.insert("measure".into(), Value::N(i64::from(self.measure.number())));
        i.insert("webhook_id".into(), self.webhook_id.clone().into());
        i.insert("type".into(), self.kind.clone().into());
        i.insert("outcome".into(), self.outcome.clone().into());
        for (k, v) in [("points", self.points), ("charge_amount", self.charge_amount), ("balance", self.balance)] {
            if let Some(v) = v {
                i.insert(k.into(), Value::N(v));
            }
        }
        if let Some(d) = &self.granted_on {
            i.insert("granted_on".into(), d.clone().into());
        }
        if let Some(r) = &self.reason {
            i.insert("reason".into(), r.clone().into());
        }
        i.insert("received_at".into(), Value::N(self.received_at.unix_timestamp()));
        i.insert("gsi1pk".into(), provider_events_gsi(&self.provider, self.received_at).into());
        i.insert("gsi1sk".into(), format!("{ms:013}#{}", self.webhook_id).into());
        i
    }

    pub fn from_item(i: &Item) -> Result<EventRecord, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("event record: {what}"));
        Ok(EventRecord {
            application: ApplicationId::parse(i.s("application")?).map_err(|_| corrupt("application"))?,
            provider: ProviderId::parse(i.s("provider")?).map_err(|_| corrupt("provider"))?,
            service: ServiceCode::parse(i.s("service")?).map_err(|_| corrupt("service"))?,
            measure: MeasureId::from_number(i.n("measure")?).ok_or_else(|| corrupt("measure"))?,
            webhook_id: i.s("webhook_id")?.to_owned(),
            kind: i.s("type")?.to_owned(),
            outcome: i.s("outcome")?.to_owned(),
            points: i.opt_n("points"),
            charge_amount: i.opt_n("charge_amount"),
            balance: i.opt_n("balance"),
            granted_on: i.opt_s("granted_on").map(str::to_owned),
            reason: i.opt_s("reason").map(str::to_owned),
            received_at: OffsetDateTime::from_unix_timestamp(i.n("received_at")?)
                .map_err(|_| corrupt("received_at"))?,
        })
    }
}

/// The callback events of one application, oldest first.
pub async fn events(app: &impl Stores, id: &ApplicationId) -> Result<Vec<EventRecord>, StoreError> {
    let page = app
        .store()
        .query(Query::new(&APPLICATIONS, format!("APP#{id}")).sk(SkCond::BeginsWith("EVENT#".into())))
        .await?;
    page.items.iter().map(EventRecord::from_item).collect()
}
