//! The phase-2 measures as operated: seeding them from [`catalog::phase2_defaults`], reading
//! them (public and operator views), changing their dates (extensions), and suspending or resuming
//! them.
//!
//! Items (table `programs`): `MEASURE#<n>` / `CONFIG` ([`catalog::MeasureConfig`]) plus three
//! attributes only operators see: `status_reason` and `status_changed_at` (the last suspend or
//! resume) and `updated_at`. Every change is one audited transaction that bumps `version` on the
//! condition that it is still the version read (optimistic concurrency; operators may send the
//! version they saw as `If-Match`): `mynapoint.measure_seed`, `mynapoint.measure_update` (detail:
//! each changed date, from and to), `mynapoint.measure_suspend`, `mynapoint.measure_resume`
//! (detail: the reason). After a change this process's catalogue cache is cleared; other
//! processes see it within [`catalog::CACHE_SECS`], and applications see it at once because the
//! open test is a condition of every application's transaction.

use serde_json::{Map, json};
use time::OffsetDateTime;

use super::catalog::{self, MeasureConfig, MeasureStatus};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Catalogue, Stores};
use crate::domain::mynapoint::{MeasureId, ParseError};
use crate::domain::time_fmt::to_jst;
use crate::ports::store::*;
use crate::tables::PROGRAMS;

/// Attempts of the seed when another process seeds at the same time.
const SEED_ATTEMPTS: usize = 3;

/// A measure as operators see it: its configuration and the last status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureRecord {
    pub config: MeasureConfig,
    /// Why it was last suspended or resumed.
    pub status_reason: Option<String>,
    pub status_changed_at: Option<OffsetDateTime>,
    /// The last change of any kind (`None` only for records written before it was kept).
    pub updated_at: Option<OffsetDateTime>,
}

impl MeasureRecord {
    fn from_item(i: &Item) -> Result<MeasureRecord, StoreError> {
        let at = |name: &str| {
            i.opt_n(name)
                .map(|n| {
                    OffsetDateTime::from_unix_timestamp(n)
                        .map_err(|_| StoreError::Corrupt(format!("measure record: {name}")))
                })
                .transpose()
        };
        Ok(MeasureRecord {
            config: MeasureConfig::from_item(i)?,
            status_reason: i.opt_s("status_reason").map(str::to_owned),
            status_changed_at: at("status_changed_at")?,
            updated_at: at("updated_at")?,
        })
    }
}

/// An operator's reason for suspending or resuming: 1–200 characters after trimming, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(s: &str) -> Result<Reason, ParseError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > Self::MAX_CHARS {
            return Err(ParseError(format!("1 to {} characters", Self::MAX_CHARS)));
        }
        if t.chars().any(char::is_control) {
            return Err(ParseError("one line, no control characters".into()));
        }
        Ok(Reason(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// New dates for a measure; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodChange {
    pub opens_at: Option<OffsetDateTime>,
    pub closes_at: Option<OffsetDateTime>,
    pub grant_deadline: Option<OffsetDateTime>,
    /// Only measure 3 (`public_funds_account`) has a registration deadline.
    pub registration_deadline: Option<OffsetDateTime>,
}

impl PeriodChange {
    pub fn is_empty(&self) -> bool {
        *self == PeriodChange::default()
    }
}

/// What a seed did with each measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub measure: MeasureId,
    /// False when it was configured already (and left as it was).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureChangeError {
    #[error("the measure is not configured (seed the measures first)")]
    NotConfigured,
    #[error("the measure changed meanwhile (now version {current})")]
    VersionMismatch { current: i64 },
    #[error("{field}: {why}")]
    InvalidPeriod { field: &'static str, why: String },
    #[error("the measure is suspended already")]
    AlreadySuspended,
    #[error("the measure is not suspended")]
    NotSuspended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn target(m: MeasureId) -> String {
    format!("measure:{}", m.as_str())
}

async fn read(app: &impl Stores, m: MeasureId) -> Result<Option<MeasureRecord>, StoreError> {
    app.store().get(&PROGRAMS, &catalog::measure_key(m)).await?.map(|i| MeasureRecord::from_item(&i)).transpose()
}

/// Configures each phase-2 measure that is not configured yet, from
/// [`catalog::phase2_defaults`], in one audited transaction. Measures already configured are left
/// as they are, so seeding again changes nothing (and writes nothing).
pub async fn seed(app: &(impl Audits + Catalogue), ctx: &Context) -> Result<Vec<Seeded>, StoreError> {
    for _ in 0..SEED_ATTEMPTS {
        let now = app.clock().now();
        let mut report = Vec::new();
        let mut ops = Vec::new();
        for cfg in catalog::phase2_defaults() {
            let exists = app.store().get(&PROGRAMS, &catalog::measure_key(cfg.id)).await?.is_some();
            report.push(Seeded { measure: cfg.id, created: !exists });
            if !exists {
                let mut item = cfg.to_item();
                item.insert("updated_at".into(), Value::N(now.unix_timestamp()));
                ops.push(TxOp::Put { table: &PROGRAMS, item, cond: Some(Cond::not_exists("pk")) });
            }
        }
        if ops.is_empty() {
            return Ok(report);
        }
        let seeded: Vec<MeasureId> = report.iter().filter(|s| s.created).map(|s| s.measure).collect();
        let ev = Event::success("mynapoint.measure_seed", seeded.iter().map(|m| target(*m)).collect())
            .with_detail(json!({ "seeded": seeded.iter().map(|m| m.as_str()).collect::<Vec<_>>() }));
        match audit::commit(app, ctx, ev, ops).await {
            Ok(()) => {
                app.catalog().clear();
                return Ok(report);
            }
            // Another seed got there first: look again.
            Err(e) if e.failed_condition_index().is_some() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("measures kept changing while seeding".into()))
}

/// Every configured measure, in programme order (one read each).
pub async fn list(app: &impl Stores) -> Result<Vec<MeasureRecord>, StoreError> {
    let mut out = Vec::new();
    for m in MeasureId::ALL {
        out.extend(read(app, m).await?);
    }
    Ok(out)
}

/// Every configured measure's configuration, through the per-process cache (public views).
pub async fn list_cached(app: &(impl Stores + Catalogue)) -> Result<Vec<MeasureConfig>, StoreError> {
    let mut out = Vec::new();
    for m in MeasureId::ALL {
        out.extend(catalog::measure(app, m).await?);
    }
    Ok(out)
}

/// One measure as operators see it.
pub async fn get(app: &impl Stores, m: MeasureId) -> Result<MeasureRecord, MeasureChangeError> {
    read(app, m).await?.ok_or(MeasureChangeError::NotConfigured)
}

fn check_version(cur: &MeasureConfig, expected: Option<i64>) -> Result<(), MeasureChangeError> {
    match expected {
        Some(v) if v != cur.version => Err(MeasureChangeError::VersionMismatch { current: cur.version }),
        _ => Ok(()),
    }
}

/// Writes `update` (plus the version bump and `updated_at`) if the measure is still at the
/// version read, with its audit record; then re-reads it.
async fn apply(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    cur: &MeasureConfig,
    update: Update,
    ev: Event,
) -> Result<MeasureRecord, MeasureChangeError> {
    let now = app.clock().now();
    let op = TxOp::Update {
        table: &PROGRAMS,
        key: catalog::measure_key(cur.id),
        update: update.set("version", cur.version + 1).set("updated_at", now.unix_timestamp()),
        cond: Some(Cond::eq("version", cur.version)),
    };
    match audit::commit(app, ctx, ev, vec![op]).await {
        Ok(()) => {}
        Err(e) if e.failed_condition_index().is_some() => {
            let now = get(app, cur.id).await?;
            return Err(MeasureChangeError::VersionMismatch { current: now.config.version });
        }
        Err(e) => return Err(e.into()),
    }
    app.catalog().clear();
    get(app, cur.id).await
}

/// Checks a measure's dates as they would be after a change.
pub fn check_period(cfg: &MeasureConfig) -> Result<(), MeasureChangeError> {
    let invalid = |field, why: &str| Err(MeasureChangeError::InvalidPeriod { field, why: why.to_owned() });
    if cfg.opens_at >= cfg.closes_at {
        return invalid("closes_at", "must be after opens_at");
    }
    if cfg.grant_deadline < cfg.closes_at {
        return invalid("grant_deadline", "must not be before closes_at");
    }
    match (cfg.id, cfg.registration_deadline) {
        (MeasureId::PublicFundsAccount, None) => invalid("registration_deadline", "measure 3 needs one"),
        (MeasureId::PublicFundsAccount, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => invalid("registration_deadline", "only public_funds_account has a registration deadline"),
    }
}

/// Changes a measure's dates (extending it, typically). The result must keep
/// `opens_at < closes_at ≤ grant_deadline`. Audited as `mynapoint.measure_update` with each
/// changed date (from, to). Changing nothing writes nothing.
pub async fn change_period(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    m: MeasureId,
    change: PeriodChange,
    expected_version: Option<i64>,
) -> Result<MeasureRecord, MeasureChangeError> {
    let cur = get(app, m).await?;
    check_version(&cur.config, expected_version)?;
    if m != MeasureId::PublicFundsAccount && change.registration_deadline.is_some() {
        return Err(MeasureChangeError::InvalidPeriod {
            field: "registration_deadline",
            why: "only public_funds_account has a registration deadline".into(),
        });
    }
    let mut next = cur.config.clone();
    let mut update = Update::new();
    let mut changed = Map::new();
    let fields: [(&str, Option<OffsetDateTime>, &mut OffsetDateTime); 3] = [
        ("opens_at", change.opens_at, &mut next.opens_at),
        ("closes_at", change.closes_at, &mut next.closes_at),
        ("grant_deadline", change.grant_deadline, &mut next.grant_deadline),
    ];
    for (name, new, slot) in fields {
        if let Some(t) = new
            && t != *slot
        {
            changed.insert(name.into(), json!({ "from": to_jst(*slot), "to": to_jst(t) }));
            *slot = t;
            update = update.set(name, t.unix_timestamp());
        }
    }
    if let Some(t) = change.registration_deadline
        && next.registration_deadline != Some(t)
    {
        changed.insert(
            "registration_deadline".into(),
            json!({ "from": next.registration_deadline.map(to_jst), "to": to_jst(t) }),
        );
        next.registration_deadline = Some(t);
        update = update.set("registration_deadline", t.unix_timestamp());
    }
    check_period(&next)?;
    if changed.is_empty() {
        return Ok(cur);
    }
    let ev = Event::success("mynapoint.measure_update", vec![target(m)])
        .with_detail(json!({ "changed": changed, "version": cur.config.version + 1 }));
    apply(app, ctx, &cur.config, update, ev).await
}

async fn set_status(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    m: MeasureId,
    to: MeasureStatus,
    reason: &Reason,
    expected_version: Option<i64>,
) -> Result<MeasureRecord, MeasureChangeError> {
    let cur = get(app, m).await?;
    check_version(&cur.config, expected_version)?;
    match (cur.config.status, to) {
        (MeasureStatus::Suspended, MeasureStatus::Suspended) => return Err(MeasureChangeError::AlreadySuspended),
        (MeasureStatus::Open, MeasureStatus::Open) => return Err(MeasureChangeError::NotSuspended),
        _ => {}
    }
    let action = match to {
        MeasureStatus::Suspended => "mynapoint.measure_suspend",
        MeasureStatus::Open => "mynapoint.measure_resume",
    };
    let update = Update::new()
        .set("status", to.as_str())
        .set("status_reason", reason.as_str())
        .set("status_changed_at", app.clock().epoch_secs());
    let ev = Event::success(action, vec![target(m)])
        .with_detail(json!({ "reason": reason.as_str(), "version": cur.config.version + 1 }));
    apply(app, ctx, &cur.config, update, ev).await
}

/// Suspends a measure: new applications are refused at once (the open test is a condition of
/// every application's transaction). Applications already made continue.
pub async fn suspend(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    m: MeasureId,
    reason: &Reason,
    expected_version: Option<i64>,
) -> Result<MeasureRecord, MeasureChangeError> {
    set_status(app, ctx, m, MeasureStatus::Suspended, reason, expected_version).await
}

/// Resumes a suspended measure (it takes applications again while inside its period).
pub async fn resume(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    m: MeasureId,
    reason: &Reason,
    expected_version: Option<i64>,
) -> Result<MeasureRecord, MeasureChangeError> {
    set_status(app, ctx, m, MeasureStatus::Open, reason, expected_version).await
}

/// **Local demo only** (the caller checks the backend): moves the period of every configured,
/// not suspended measure that is closed now so that it is open from now for a year (grants a month
/// later), through the same audited change as an operator's. Measures open now are left alone.
pub(crate) async fn open_for_demo(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
) -> Result<Vec<MeasureId>, MeasureChangeError> {
    let now = app.clock().now();
    let mut moved = Vec::new();
    for r in list(app).await? {
        let c = &r.config;
        if c.status != MeasureStatus::Open || c.is_open_at(now) {
            continue;
        }
        let closes = c.closes_at.max(now + time::Duration::days(365));
        let change = PeriodChange {
            opens_at: Some(c.opens_at.min(now)),
            closes_at: Some(closes),
            grant_deadline: Some(c.grant_deadline.max(closes + time::Duration::days(31))),
            registration_deadline: c.registration_deadline.map(|d| d.max(closes)),
        };
        change_period(app, ctx, c.id, change, Some(c.version)).await?;
        moved.push(c.id);
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_keep_their_order() {
        for m in catalog::phase2_defaults() {
            assert!(check_period(&m).is_ok(), "{:?}", m.id);
        }
        let mut m = catalog::phase2_defaults().remove(0);
        m.closes_at = m.opens_at;
        assert!(matches!(check_period(&m), Err(MeasureChangeError::InvalidPeriod { field: "closes_at", .. })));
        let mut m = catalog::phase2_defaults().remove(0);
        m.grant_deadline = m.closes_at - time::Duration::seconds(1);
        assert!(matches!(check_period(&m), Err(MeasureChangeError::InvalidPeriod { field: "grant_deadline", .. })));
        let mut m = catalog::phase2_defaults().remove(2);
        m.registration_deadline = None;
        assert!(check_period(&m).is_err());
        let mut m = catalog::phase2_defaults().remove(1);
        m.registration_deadline = Some(m.closes_at);
        assert!(check_period(&m).is_err());
    }

    #[test]
    fn reasons() {
        assert_eq!(Reason::parse(" outage ").unwrap().as_str(), "outage");
        assert!(Reason::parse("").is_err());
        assert!(Reason::parse("a\u{7}").is_err());
        assert!(Reason::parse(&"x".repeat(201)).is_err());
    }
}
