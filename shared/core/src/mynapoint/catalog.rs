//! The Mynapoint catalogue as stored: measure and payment-service configuration records (table
//! `programs`), their keys and item forms, the transaction checks that make "measure open" and
//! "service accepting" part of an application's own write, and a short per-process cache.
//!
//! The cache only saves reads of rules that change rarely (names, code formats, points rules).
//! Whether a measure is open and a service is accepting is re-checked inside every application's
//! transaction ([`measure_open_check`], [`service_accepting_check`]), so a suspension or an
//! intake stop takes effect at once, whatever a process has cached.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::caps::{Catalogue, Stores};
use crate::domain::mynapoint::{
    CodeRule, CodeRules, IntakeStatus, MeasureId, PointsRule, ProviderId, ServiceCode, ServiceKind,
};
use crate::ports::store::*;
use crate::tables::PROGRAMS;

/// How long a process trusts its cached copy of a catalogue record.
pub const CACHE_SECS: u64 = 10;

/// `MEASURE#<n>` / `CONFIG`.
pub fn measure_key(m: MeasureId) -> Key {
    Key::new(format!("MEASURE#{}", m.number()), "CONFIG")
}
/// `SERVICE#<code>` / `CONFIG`.
pub fn service_key(code: &ServiceCode) -> Key {
    Key::new(format!("SERVICE#{code}"), "CONFIG")
}
/// `PROVIDER#<id>` / `PROFILE`.
pub fn provider_key(p: &ProviderId) -> Key {
    Key::new(format!("PROVIDER#{p}"), "PROFILE")
}
/// `gsi1pk` of every service's `CONFIG` (listing all services: there are tens, not thousands).
pub const SERVICES_GSI: &str = "SERVICES";
/// `gsi1pk` of every provider's `PROFILE`.
pub const PROVIDERS_GSI: &str = "PROVIDERS";

/// Whether a measure takes applications (operators suspend and resume it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureStatus {
    Open,
    Suspended,
}

impl MeasureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureStatus::Open => "open",
            MeasureStatus::Suspended => "suspended",
        }
    }
}

/// A measure's configuration. Dates are instants; they are shown and entered in Asia/Tokyo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureConfig {
    pub id: MeasureId,
    pub name: String,
    pub rule: PointsRule,
    /// Applications are taken from `opens_at` (inclusive) to `closes_at` (exclusive).
    pub opens_at: OffsetDateTime,
    pub closes_at: OffsetDateTime,
    /// Providers grant points by this instant; later grants are refused.
    pub grant_deadline: OffsetDateTime,
    /// Measure 3: the public-funds account must be registered before this instant.
    pub registration_deadline: Option<OffsetDateTime>,
    pub status: MeasureStatus,
    /// Bumped by every change (optimistic concurrency for operators).
    pub version: i64,
}

impl MeasureConfig {
    /// Whether the measure takes applications at `now` (the same test as [`measure_open_check`]).
    pub fn is_open_at(&self, now: OffsetDateTime) -> bool {
        self.status == MeasureStatus::Open && self.opens_at <= now && now < self.closes_at
    }

    pub fn to_item(&self) -> Item {
        let mut i = PROGRAMS.key_item(&measure_key(self.id));
        i.insert("kind".into(), "measure".into());
        i.insert("measure".into(), Value::N(i64::from(self.id.number())));
        i.insert("name".into(), self.name.clone().into());
        i.insert("rule".into(), Value::S(serde_json::to_string(&self.rule).unwrap_or_default()));
        i.insert("opens_at".into(), Value::N(self.opens_at.unix_timestamp()));
        i.insert("closes_at".into(), Value::N(self.closes_at.unix_timestamp()));
        i.insert("grant_deadline".into(), Value::N(self.grant_deadline.unix_timestamp()));
        if let Some(d) = self.registration_deadline {
            i.insert("registration_deadline".into(), Value::N(d.unix_timestamp()));
        }
        i.insert("status".into(), self.status.as_str().into());
        i.insert("version".into(), Value::N(self.version));
        i
    }

    pub fn from_item(i: &Item) -> Result<MeasureConfig, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("measure record: {what}"));
        let at = |name: &str| -> Result<OffsetDateTime, StoreError> {
            OffsetDateTime::from_unix_timestamp(i.n(name)?).map_err(|_| corrupt(name))
        };
        Ok(MeasureConfig {
            id: MeasureId::from_number(i.n("measure")?).ok_or_else(|| corrupt("measure"))?,
            name: i.s("name")?.to_owned(),
            rule: serde_json::from_str(i.s("rule")?).map_err(|_| corrupt("rule"))?,
            opens_at: at("opens_at")?,
            closes_at: at("closes_at")?,
            grant_deadline: at("grant_deadline")?,
            registration_deadline: match i.opt_n("registration_deadline") {
                Some(_) => Some(at("registration_deadline")?),
                None => None,
            },
            status: match i.s("status")? {
                "open" => MeasureStatus::Open,
                "suspended" => MeasureStatus::Suspended,
                _ => return Err(corrupt("status")),
            },
            version: i.n("version")?,
        })
    }
}

/// The condition, for an application's transaction, that measure `m` is open at `now`.
pub fn measure_open_check(m: MeasureId, now: OffsetDateTime) -> TxOp {
    let t = now.unix_timestamp();
    TxOp::Check {
        table: &PROGRAMS,
        key: measure_key(m),
        cond: Cond::eq("status", "open").and(Cond::le("opens_at", t)).and(Cond::gt("closes_at", t)),
    }
}

/// A payment service's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    pub code: ServiceCode,
    pub provider: ProviderId,
    pub name: String,
    pub kind: ServiceKind,
    /// The measures the service takes applications for.
    pub measures: Vec<MeasureId>,
    pub code_rules: CodeRules,
    pub intake: IntakeStatus,
    /// When the intake status last changed.
    pub intake_changed_at: OffsetDateTime,
    /// The provider's webhook endpoint for dispatched applications (`https://…`; `http://` only
    /// on loopback, for the local simulator).
    pub endpoint: Option<String>,
    /// False after the endpoint answered 410 Gone (or an operator disabled it): dispatches wait
    /// until an operator enables it again.
    pub endpoint_enabled: bool,
    pub version: i64,
}

/// The attribute that says "accepting applications for measure `m`" (kept by [`ServiceConfig::to_item`]).
pub fn accepting_attr(m: MeasureId) -> String {
    format!("accepting_{}", m.number())
}

impl ServiceConfig {
    /// Whether the service takes new applications for `m`.
    pub fn accepts(&self, m: MeasureId) -> bool {
        self.intake == IntakeStatus::Accepting && self.measures.contains(&m)
    }

    pub fn to_item(&self) -> Item {
        let mut i = PROGRAMS.key_item(&service_key(&self.code));
        i.insert("kind".into(), "service".into());
        i.insert("code".into(), self.code.as_str().into());
        i.insert("provider".into(), self.provider.as_str().into());
        i.insert("name".into(), self.name.clone().into());
        i.insert("service_kind".into(), self.kind.as_str().into());
        i.insert("measures".into(), Value::L(self.measures.iter().map(|m| Value::N(i64::from(m.number()))).collect()));
        i.insert("code_rules".into(), Value::S(serde_json::to_string(self.code_rules.rules()).unwrap_or_default()));
        i.insert("intake".into(), self.intake.as_str().into());
        i.insert("intake_changed_at".into(), Value::N(self.intake_changed_at.unix_timestamp()));
        for m in MeasureId::ALL {
            i.insert(accepting_attr(m), Value::Bool(self.accepts(m)));
        }
        if let Some(e) = &self.endpoint {
            i.insert("endpoint".into(), e.clone().into());
        }
        i.insert("endpoint_enabled".into(), Value::Bool(self.endpoint_enabled));
        i.insert("version".into(), Value::N(self.version));
        i.insert("gsi1pk".into(), SERVICES_GSI.into());
        i.insert("gsi1sk".into(), self.code.as_str().into());
        i
    }

    pub fn from_item(i: &Item) -> Result<ServiceConfig, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("service record: {what}"));
        let measures = match i.get("measures") {
            Some(Value::L(l)) => l
                .iter()
                .map(|v| v.as_n().and_then(MeasureId::from_number).ok_or_else(|| corrupt("measures")))
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(corrupt("measures")),
        };
        let rules: Vec<CodeRule> = serde_json::from_str(i.s("code_rules")?).map_err(|_| corrupt("code_rules"))?;
        Ok(ServiceConfig {
            code: ServiceCode::parse(i.s("code")?).map_err(|_| corrupt("code"))?,
            provider: ProviderId::parse(i.s("provider")?).map_err(|_| corrupt("provider"))?,
            name: i.s("name")?.to_owned(),
            kind: ServiceKind::parse(i.s("service_kind")?).map_err(|_| corrupt("service_kind"))?,
            measures,
            code_rules: CodeRules::parse(rules).map_err(|_| corrupt("code_rules"))?,
            intake: IntakeStatus::parse(i.s("intake")?).map_err(|_| corrupt("intake"))?,
            intake_changed_at: OffsetDateTime::from_unix_timestamp(i.n("intake_changed_at")?)
                .map_err(|_| corrupt("intake_changed_at"))?,
            endpoint: i.opt_s("endpoint").map(str::to_owned),
            endpoint_enabled: i.get("endpoint_enabled").and_then(Value::as_bool).unwrap_or(false),
            version: i.n("version")?,
        })
    }
}

/// The condition, for an application's transaction, that service `code` accepts measure `m`.
pub fn service_accepting_check(code: &ServiceCode, m: MeasureId) -> TxOp {
    TxOp::Check { table: &PROGRAMS, key: service_key(code), cond: Cond::eq(&accepting_attr(m), true) }
}

/// A per-process cache of measure and service records (see the module doc for why it is safe).
#[derive(Default)]
pub struct Cache {
    measures: RwLock<HashMap<MeasureId, (Instant, Option<MeasureConfig>)>>,
    services: RwLock<HashMap<ServiceCode, (Instant, Option<ServiceConfig>)>>,
}

impl Cache {
    /// Forgets everything (after this process changed a record).
    pub fn clear(&self) {
        self.measures.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.services.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn fresh<K: std::hash::Hash + Eq, V: Clone>(map: &RwLock<HashMap<K, (Instant, V)>>, k: &K) -> Option<V> {
    let g = map.read().unwrap_or_else(|e| e.into_inner());
    g.get(k).filter(|(at, _)| at.elapsed() < Duration::from_secs(CACHE_SECS)).map(|(_, v)| v.clone())
}

/// A measure's configuration (cached up to [`CACHE_SECS`]); `None` if it was never configured.
pub async fn measure(app: &(impl Stores + Catalogue), m: MeasureId) -> Result<Option<MeasureConfig>, StoreError> {
    if let Some(v) = fresh(&app.catalog().measures, &m) {
        return Ok(v);
    }
    let v = app.store().get(&PROGRAMS, &measure_key(m)).await?.map(|i| MeasureConfig::from_item(&i)).transpose()?;
    app.catalog().measures.write().unwrap_or_else(|e| e.into_inner()).insert(m, (Instant::now(), v.clone()));
    Ok(v)
}

/// A service's configuration (cached up to [`CACHE_SECS`]); `None` if there is no such service.
pub async fn service(app: &(impl Stores + Catalogue), code: &ServiceCode) -> Result<Option<ServiceConfig>, StoreError> {
    if let Some(v) = fresh(&app.catalog().services, code) {
        return Ok(v);
    }
    let v = app.store().get(&PROGRAMS, &service_key(code)).await?.map(|i| ServiceConfig::from_item(&i)).transpose()?;
    app.catalog().services.write().unwrap_or_else(|e| e.into_inner()).insert(code.clone(), (Instant::now(), v.clone()));
    Ok(v)
}

/// The default configuration of the three phase-2 measures (the parameters of 2022: applications
/// from 2022-01-01 (measure 1) and 2022-06-30 (measures 2 and 3) to 2023-09-30 JST, grants by
/// 2023-10-31 JST). Operators load these once (`mkpf-admin mynapoint seed` or the
/// catalogue routes) and then change dates through audited updates.
pub fn phase2_defaults() -> Vec<MeasureConfig> {
    use time::macros::datetime;
    let closes = datetime!(2023-10-01 0:00 +9);
    let grants = datetime!(2023-11-01 0:00 +9);
    vec![
        MeasureConfig {
            id: MeasureId::CardAcquisition,
            name: "マイナンバーカードの新規取得等 (card acquisition)".into(),
            rule: PointsRule::Percent { percent: 25, cap: 5000 },
            opens_at: datetime!(2022-01-01 0:00 +9),
            closes_at: closes,
            grant_deadline: grants,
            registration_deadline: None,
            status: MeasureStatus::Open,
            version: 1,
        },
        MeasureConfig {
            id: MeasureId::HealthInsurance,
            name: "健康保険証としての利用申込み (health-insurance registration)".into(),
            rule: PointsRule::Flat { points: 7500 },
            opens_at: datetime!(2022-06-30 0:00 +9),
            closes_at: closes,
            grant_deadline: grants,
            registration_deadline: None,
            status: MeasureStatus::Open,
            version: 1,
        },
        MeasureConfig {
            id: MeasureId::PublicFundsAccount,
            name: "公金受取口座の登録 (public-funds account registration)".into(),
            rule: PointsRule::Flat { points: 7500 },
            opens_at: datetime!(2022-06-30 0:00 +9),
            closes_at: closes,
            grant_deadline: grants,
            registration_deadline: Some(closes),
            status: MeasureStatus::Open,
            version: 1,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mynapoint::CodeCharset;
    use time::macros::datetime;

    #[test]
    fn records_round_trip_through_items() {
        for m in phase2_defaults() {
            assert_eq!(MeasureConfig::from_item(&m.to_item()).unwrap(), m);
        }
        let s = ServiceConfig {
            code: ServiceCode::parse("DEMO_PAY").unwrap(),
            provider: ProviderId::parse("demo").unwrap(),
            name: "Demo Pay".into(),
            kind: ServiceKind::QrCode,
            measures: vec![MeasureId::CardAcquisition, MeasureId::PublicFundsAccount],
            code_rules: CodeRules::parse(vec![CodeRule {
                label: "PIN".into(),
                charset: CodeCharset::Digits,
                min_len: 4,
                max_len: 4,
            }])
            .unwrap(),
            intake: IntakeStatus::Accepting,
            intake_changed_at: datetime!(2022-01-01 0:00 UTC),
            endpoint: Some("https://example.test/hook".into()),
            endpoint_enabled: true,
            version: 3,
        };
        let item = s.to_item();
        assert_eq!(ServiceConfig::from_item(&item).unwrap(), s);
        assert_eq!(item.get("accepting_1"), Some(&Value::Bool(true)));
        assert_eq!(item.get("accepting_2"), Some(&Value::Bool(false)));
    }

    #[test]
    fn open_means_open_status_and_inside_the_period() {
        let mut m = phase2_defaults().remove(0);
        assert!(!m.is_open_at(datetime!(2021-12-31 23:59:59 +9)));
        assert!(m.is_open_at(datetime!(2022-01-01 0:00 +9)));
        assert!(!m.is_open_at(datetime!(2023-10-01 0:00 +9)));
        m.status = MeasureStatus::Suspended;
        assert!(!m.is_open_at(datetime!(2022-05-01 0:00 +9)));
    }
}
