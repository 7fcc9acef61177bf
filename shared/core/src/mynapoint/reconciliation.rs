//! Reconciliation reports for the secretariat: per provider, a daily CSV of the applications
//! made and the provider events received on one Asia/Tokyo day, and a monthly summary for the
//! secretariat's claims. Written by the `mynapoint-reconcile` job (02:00 JST, for the day before;
//! on the 1st also the month before) or by `mkpf-admin mynapoint reconcile`; operators and
//! auditors list and download them (downloads audited).
//!
//! # Daily report (`daily`, period `YYYY-MM-DD`)
//! ```text
//! record,application_id,service_code,measure,at,state,points_cap,points_granted,event,outcome,points,charge_amount,granted_on,balance,reason,webhook_id
//! application,app_…,DEMO_PAY,card_acquisition,2026-11-25T10:00:00+09:00,accepted,5000,1200,,,,,,,,
//! event,app_…,DEMO_PAY,card_acquisition,2026-11-25T11:00:00+09:00,,,,points.granted,applied,1200,4800,2026-11-25,,,msg_…
//! ```
//! One `application` row per application made that day (index `gsi1`, `PROV#<provider>#<date>`, in
//! application-id order) with its state and points **as of the run**, then one `event` row per
//! event received that day (`PROVEV#<provider>#<date>`, in order of receipt): `application.dispatched`,
//! `application.accepted`, `application.rejected` (`reason`), `points.granted` (`points`,
//! `charge_amount`, `granted_on`; `outcome` is `applied` or `refused_over_cap`),
//! `balance.reported` (`balance`), `link.stopped` (`reason`). `at` is the creation or receipt time
//! (Asia/Tokyo). The secretariat reconciles by application id with the provider, who has the
//! account from the dispatch: **no personal data** is in a report — no person, MyKey ID, service
//! account id or security code.
//!
//! # Monthly summary (`monthly`, period `YYYY-MM`)
//! ```text
//! month,service_code,measure,applications,submitted,dispatched,accepted,rejected,stopped,grants,points_granted,charge_amount,refused_over_cap,points_refused_over_cap
//! ```
//! One row per payment service × measure with activity, then a `total,total` row: the
//! applications made in the month by their state as of the run, and the grants received in the
//! month (count, points, charges) and the grants refused over the cap (count, points).
//!
//! # Storage (table `programs`)
//! `REPORT#<provider>#<kind>#<period>` / `META` (run id, parts, rows, bytes, SHA-256, totals;
//! `gsi1pk = REPORTS#<provider>`, `gsi1sk = <kind>#<period>` lists them) and `PART#<run>#<n>`
//! (the CSV, cut at line ends into parts of at most [`PART_BYTES`], under DynamoDB's 400 KB item
//! limit). A run holds `LOCK` (expires after [`LOCK_SECS`]), writes its parts under a new run id,
//! then switches `META` to them in one audited write (`mynapoint.report_write`) and deletes the
//! parts of earlier runs: re-running a period replaces its report, and a reader sees the old or
//! the new report, never a mix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::{Date, Month, OffsetDateTime};

use super::catalog::PROVIDERS_GSI;
use super::record::{ApplicationRecord, EventRecord, provider_day_gsi, provider_events_gsi};
use crate::audit::{self, Actor, Event};
use crate::caps::{Audits, Stores};
use crate::domain::mynapoint::{ApplicationState, ProviderId};
use crate::domain::time_fmt::{from_store, to_jst, to_store};
use crate::ports::JST;
use crate::ports::store::*;
use crate::tables::{APPLICATIONS, PROGRAMS};

/// The largest CSV part stored in one item.
pub const PART_BYTES: usize = 300 * 1024;
/// How long a run may hold a report's lock.
pub const LOCK_SECS: i64 = 30 * 60;
/// The largest report served whole; larger ones are downloaded part by part (`?part=n`), which
/// keeps every response under API Gateway's 6 MB.
pub const MAX_DOWNLOAD_BYTES: u64 = 5 * 1024 * 1024;
pub const DAILY_HEADER: &str = "record,application_id,service_code,measure,at,state,points_cap,points_granted,event,outcome,points,charge_amount,granted_on,balance,reason,webhook_id";
pub const MONTHLY_HEADER: &str = "month,service_code,measure,applications,submitted,dispatched,accepted,rejected,stopped,grants,points_granted,charge_amount,refused_over_cap,points_refused_over_cap";
/// Index page size of the reads behind a report.
const PAGE: u32 = 500;

/// Daily or monthly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Daily,
    Monthly,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
            ReportKind::Monthly => "monthly",
        }
    }
    pub fn parse(s: &str) -> Option<ReportKind> {
        [ReportKind::Daily, ReportKind::Monthly].into_iter().find(|k| k.as_str() == s)
    }
}

/// What a report covers: an Asia/Tokyo day or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day(Date),
    Month(i32, Month),
}

const DAY_FMT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Period {
    pub fn kind(self) -> ReportKind {
        match self {
            Period::Day(_) => ReportKind::Daily,
            Period::Month(..) => ReportKind::Monthly,
        }
    }
    /// `YYYY-MM-DD` for a daily report, `YYYY-MM` for a monthly one.
    pub fn parse(kind: ReportKind, s: &str) -> Result<Period, String> {
        match kind {
            ReportKind::Daily => {
                Date::parse(s, DAY_FMT).map(Period::Day).map_err(|_| "expected a date, YYYY-MM-DD".to_owned())
            }
            ReportKind::Monthly => {
                let bad = || "expected a month, YYYY-MM".to_owned();
                let (y, m) = s.split_once('-').ok_or_else(bad)?;
                if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let month = m.parse::<u8>().ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(bad)?;
                Ok(Period::Month(y.parse().map_err(|_| bad())?, month))
            }
        }
    }
    /// The days it covers, in order.
    pub fn days(self) -> Vec<Date> {
        match self {
            Period::Day(d) => vec![d],
            Period::Month(y, m) => {
                let Ok(first) = Date::from_calendar_date(y, m, 1) else { return Vec::new() };
                (0..m.length(y)).filter_map(|i| first.checked_add(time::Duration::days(i64::from(i)))).collect()
            }
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Day(d) => f.write_str(&d.format(DAY_FMT).unwrap_or_default()),
            Period::Month(y, m) => write!(f, "{y:04}-{:02}", *m as u8),
        }
    }
}

fn report_pk(provider: &ProviderId, period: Period) -> String {
    format!("REPORT#{provider}#{}#{period}", period.kind().as_str())
}
fn meta_key(provider: &ProviderId, period: Period) -> Key {
    Key::new(report_pk(provider, period), "META")
}
fn lock_key(provider: &ProviderId, period: Period) -> Key {
    Key::new(report_pk(provider, period), "LOCK")
}
/// `gsi1pk` of a provider's reports.
pub fn reports_gsi(provider: &ProviderId) -> String {
    format!("REPORTS#{provider}")
}

/// The sums of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Applications made in the period.
    pub applications: i64,
    /// Events received in the period (every kind).
    pub events: i64,
    /// Grants applied.
    pub grants: i64,
    /// Points of the grants applied.
    pub points_granted: i64,
    /// Charges/purchases reported with the grants applied (yen, measure 1).
    pub charge_amount: i64,
    /// Grants refused because they went past the application's cap.
    pub refused_over_cap: i64,
    /// Points of the grants refused over the cap.
    pub points_refused_over_cap: i64,
}

impl Totals {
    fn add_event(&mut self, e: &EventRecord) {
        self.events += 1;
        if e.kind == "points.granted" {
            let points = e.points.unwrap_or(0);
            if e.outcome == "refused_over_cap" {
                self.refused_over_cap += 1;
                self.points_refused_over_cap += points;
            } else {
                self.grants += 1;
                self.points_granted += points;
                self.charge_amount += e.charge_amount.unwrap_or(0);
            }
        }
    }
}

/// A stored report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportInfo {
    pub provider_id: String,
    pub kind: ReportKind,
    /// `YYYY-MM-DD` (daily) or `YYYY-MM` (monthly), Asia/Tokyo.
    pub period: String,
    /// When this version was written, RFC 3339 (Asia/Tokyo).
    pub generated_at: String,
    /// Data rows (the header line not counted).
    pub rows: i64,
    pub bytes: i64,
    /// Parts it is stored in (download one with `?part=n`, 1-based).
    pub parts: i64,
    /// SHA-256 (hex) of the whole CSV.
    pub sha256: String,
    pub totals: Totals,
}

/// A report's `META` item: what is shown, and the run whose parts hold the CSV.
struct Meta {
    info: ReportInfo,
    run: String,
}

impl ReportInfo {
    fn from_item(i: &Item) -> Result<ReportInfo, StoreError> {
        Ok(Meta::from_item(i)?.info)
    }
}

impl Meta {
    fn from_item(i: &Item) -> Result<Meta, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("report record: {what}"));
        let info = ReportInfo {
            provider_id: i.s("provider")?.to_owned(),
            kind: ReportKind::parse(i.s("kind")?).ok_or_else(|| corrupt("kind"))?,
            period: i.s("period")?.to_owned(),
            generated_at: to_jst(from_store(i.s("generated_at")?).map_err(StoreError::Corrupt)?),
            rows: i.n("rows")?,
            bytes: i.n("bytes")?,
            parts: i.n("parts")?,
            sha256: i.s("sha256")?.to_owned(),
            totals: serde_json::from_str(i.s("totals")?).map_err(|_| corrupt("totals"))?,
        };
        Ok(Meta { info, run: i.s("run")?.to_owned() })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no such report")]
    NotFound,
    #[error("the report has {parts} part(s)")]
    PartUnknown { parts: i64 },
    #[error("the report is {bytes} bytes; download it part by part")]
    TooLarge { bytes: i64, parts: i64 },
    #[error("another run is writing this report")]
    Busy,
    #[error("the cursor does not belong to this list")]
    InvalidCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}
/// A free-text field from outside (a provider's webhook id or reason): quoted, and kept from
/// being read as a formula by spreadsheet programs.
fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { field(&format!("'{s}")) } else { field(s) }
}
fn opt(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn application_line(a: &ApplicationRecord) -> String {
    format!(
        "application,{},{},{},{},{},{},{},,,,,,,,",
        a.id,
        a.service,
        a.measure.as_str(),
        to_jst(a.created_at),
        a.state.as_str(),
        a.points_cap,
        a.points_granted
    )
}

fn event_line(e: &EventRecord) -> String {
    format!(
        "event,{},{},{},{},,,,{},{},{},{},{},{},{},{}",
        e.application,
        e.service,
        e.measure.as_str(),
        to_jst(e.received_at),
        text(&e.kind),
        text(&e.outcome),
        opt(e.points),
        opt(e.charge_amount),
        text(e.granted_on.as_deref().unwrap_or("")),
        opt(e.balance),
        text(e.reason.as_deref().unwrap_or("")),
        text(&e.webhook_id)
    )
}

/// Writes a CSV into parts of one run as it grows.
struct PartWriter<'a> {
    store: &'a dyn Store,
    pk: String,
    run: String,
    buf: String,
    parts: i64,
    rows: i64,
    bytes: i64,
    hash: sha2::Sha256,
}

impl<'a> PartWriter<'a> {
    fn new(store: &'a dyn Store, pk: String, run: String, header: &str) -> Self {
        let mut buf = String::with_capacity(PART_BYTES);
        buf.push_str(header);
        buf.push('\n');
        PartWriter { store, pk, run, buf, parts: 0, rows: 0, bytes: 0, hash: sha2::Sha256::new() }
    }

    async fn line(&mut self, l: &str) -> Result<(), StoreError> {
        if self.buf.len() + l.len() + 1 > PART_BYTES {
            self.flush().await?;
        }
        self.buf.push_str(l);
        self.buf.push('\n');
        self.rows += 1;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        self.parts += 1;
        let mut i = PROGRAMS.key_item(&Key::new(self.pk.clone(), format!("PART#{}#{:05}", self.run, self.parts)));
        self.hash.update(self.buf.as_bytes());
        self.bytes += self.buf.len() as i64;
        i.insert("csv".into(), Value::S(std::mem::take(&mut self.buf)));
        self.store.put(&PROGRAMS, i, None).await
    }

    /// Stores what is left; (parts, rows, bytes, sha256).
    async fn finish(mut self) -> Result<(i64, i64, i64, String), StoreError> {
        if !self.buf.is_empty() {
            self.flush().await?;
        }
        Ok((self.parts, self.rows, self.bytes, hex::encode(self.hash.finalize())))
    }
}

/// The items of an index partition (`gsi1` of `applications`), a page at a time.
struct Pages {
    gsi1pk: String,
    cursor: Option<Cursor>,
    done: bool,
}

impl Pages {
    fn new(gsi1pk: String) -> Pages {
        Pages { gsi1pk, cursor: None, done: false }
    }

    async fn next(&mut self, app: &impl Stores) -> Result<Option<Vec<Item>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let q = Query::new(&APPLICATIONS, self.gsi1pk.clone()).index("gsi1").limit(PAGE).start(self.cursor.take());
        let page = app.store().query(q).await?;
        match page.next {
            Some(c) => self.cursor = Some(c),
            None => self.done = true,
        }
        Ok(Some(page.items))
    }
}

fn start_of(d: Date) -> OffsetDateTime {
    d.midnight().assume_offset(JST)
}

async fn write_daily(
    app: &impl Stores,
    provider: &ProviderId,
    day: Date,
    w: &mut PartWriter<'_>,
) -> Result<Totals, StoreError> {
    let mut totals = Totals::default();
    let mut apps = Pages::new(provider_day_gsi(provider, start_of(day)));
    while let Some(items) = apps.next(app).await? {
        for i in &items {
            let a = ApplicationRecord::from_item(i)?;
            totals.applications += 1;
            w.line(&application_line(&a)).await?;
        }
    }
    let mut events = Pages::new(provider_events_gsi(provider, start_of(day)));
    while let Some(items) = events.next(app).await? {
        for i in &items {
            let e = EventRecord::from_item(i)?;
            totals.add_event(&e);
            w.line(&event_line(&e)).await?;
        }
    }
    Ok(totals)
}

/// One row of the monthly summary.
#[derive(Default)]
struct MonthRow {
    by_state: BTreeMap<&'static str, i64>,
    totals: Totals,
}

impl MonthRow {
    fn line(&self, month: &str, service: &str, measure: &str) -> String {
        let s = |k: ApplicationState| self.by_state.get(k.as_str()).copied().unwrap_or(0);
        let t = &self.totals;
        format!(
            "{month},{service},{measure},{},{},{},{},{},{},{},{},{},{},{}",
            t.applications,
            s(ApplicationState::Submitted),
            s(ApplicationState::Dispatched),
            s(ApplicationState::Accepted),
            s(ApplicationState::Rejected),
            s(ApplicationState::Stopped),
            t.grants,
            t.points_granted,
            t.charge_amount,
            t.refused_over_cap,
            t.points_refused_over_cap
        )
    }
    fn add(&mut self, other: &MonthRow) {
        for (k, v) in &other.by_state {
            *self.by_state.entry(k).or_default() += v;
        }
        let (t, o) = (&mut self.totals, &other.totals);
        t.applications += o.applications;
        t.events += o.events;
        t.grants += o.grants;
        t.points_granted += o.points_granted;
        t.charge_amount += o.charge_amount;
        t.refused_over_cap += o.refused_over_cap;
        t.points_refused_over_cap += o.points_refused_over_cap;
    }
}

async fn write_monthly(
    app: &impl Stores,
    provider: &ProviderId,
    period: Period,
    w: &mut PartWriter<'_>,
) -> Result<Totals, StoreError> {
    let mut rows: BTreeMap<(String, u8), MonthRow> = BTreeMap::new();
    for day in period.days() {
        let mut apps = Pages::new(provider_day_gsi(provider, start_of(day)));
        while let Some(items) = apps.next(app).await? {
            for i in &items {
                let a = ApplicationRecord::from_item(i)?;
                let row = rows.entry((a.service.as_str().to_owned(), a.measure.number())).or_default();
                row.totals.applications += 1;
                *row.by_state.entry(a.state.as_str()).or_default() += 1;
            }
        }
        let mut events = Pages::new(provider_events_gsi(provider, start_of(day)));
        while let Some(items) = events.next(app).await? {
            for i in &items {
                let e = EventRecord::from_item(i)?;
                rows.entry((e.service.as_str().to_owned(), e.measure.number())).or_default().totals.add_event(&e);
            }
        }
    }
    let month = period.to_string();
    let mut total = MonthRow::default();
    for ((service, m), row) in &rows {
        let measure = crate::domain::mynapoint::MeasureId::from_number(i64::from(*m)).map_or("", |m| m.as_str());
        w.line(&row.line(&month, service, measure)).await?;
        total.add(row);
    }
    w.line(&total.line(&month, "total", "total")).await?;
    Ok(total.totals)
}

/// Writes (or replaces) the report of `provider` for `period`.
pub async fn write_report(
    app: &impl Audits,
    ctx: &audit::Context,
    provider: &ProviderId,
    period: Period,
) -> Result<ReportInfo, ReportError> {
    let run = format!("{:013}{}", app.clock().epoch_millis(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let now = app.clock().now();
    let mut lock = PROGRAMS.key_item(&lock_key(provider, period));
    lock.insert("run".into(), run.as_str().into());
    lock.insert("ttl".into(), Value::N(now.unix_timestamp() + LOCK_SECS));
    match app.store().put(&PROGRAMS, lock, Some(Cond::absent_or_expired(&PROGRAMS, now.unix_timestamp()))).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => return Err(ReportError::Busy),
        Err(e) => return Err(e.into()),
    }
    let result = write_locked(app, ctx, provider, period, &run).await;
    if let Err(e) =
        app.store().delete(&PROGRAMS, &lock_key(provider, period), Some(Cond::eq("run", run.as_str()))).await
    {
        tracing::warn!(error = %e, "could not release a report lock; it expires by itself");
    }
    result
}

async fn write_locked(
    app: &impl Audits,
    ctx: &audit::Context,
    provider: &ProviderId,
    period: Period,
    run: &str,
) -> Result<ReportInfo, ReportError> {
    let pk = report_pk(provider, period);
    let old = app.store().get(&PROGRAMS, &meta_key(provider, period)).await?;
    let header = match period {
        Period::Day(_) => DAILY_HEADER,
        Period::Month(..) => MONTHLY_HEADER,
    };
    let mut w = PartWriter::new(app.store().as_ref(), pk.clone(), run.to_owned(), header);
    let totals = match period {
        Period::Day(d) => write_daily(app, provider, d, &mut w).await?,
        Period::Month(..) => write_monthly(app, provider, period, &mut w).await?,
    };
    let (parts, rows, bytes, sha256) = w.finish().await?;
    let mut meta = PROGRAMS.key_item(&meta_key(provider, period));
    for (k, v) in [
        ("provider", Value::S(provider.as_str().into())),
        ("kind", Value::S(period.kind().as_str().into())),
        ("period", Value::S(period.to_string())),
        ("run", Value::S(run.into())),
        ("parts", Value::N(parts)),
        ("rows", Value::N(rows)),
        ("bytes", Value::N(bytes)),
        ("sha256", Value::S(sha256)),
        ("totals", Value::S(serde_json::to_string(&totals).unwrap_or_default())),
        ("generated_at", Value::S(to_store(app.clock().now()))),
        ("gsi1pk", Value::S(reports_gsi(provider))),
        ("gsi1sk", Value::S(format!("{}#{period}", period.kind().as_str()))),
    ] {
        meta.insert(k.into(), v);
    }
    let info = ReportInfo::from_item(&meta)?;
    let cond = match old.as_ref().and_then(|o| o.opt_s("run")) {
        Some(r) => Cond::eq("run", r),
        None => Cond::not_exists("pk"),
    };
    let event = Event::success(
        "mynapoint.report_write",
        vec![format!("report:{provider}:{}:{period}", period.kind().as_str())],
    )
    .with_detail(serde_json::json!({"rows": rows, "parts": parts, "bytes": bytes, "replaced": old.is_some()}));
    match audit::commit(app, ctx, event, vec![TxOp::Put { table: &PROGRAMS, item: meta, cond: Some(cond) }]).await {
        Ok(()) => {}
        Err(e) if e.failed_condition_index().is_some() => return Err(ReportError::Busy),
        Err(e) => return Err(e.into()),
    }
    // The parts of earlier (or abandoned) runs.
    let mine = format!("PART#{run}#");
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(Query::new(&PROGRAMS, pk.clone()).sk(SkCond::BeginsWith("PART#".into())).limit(100).start(cursor))
            .await?;
        for i in &page.items {
            let sk = i.s("sk")?;
            if !sk.starts_with(&mine) {
                app.store().delete(&PROGRAMS, &Key::new(pk.clone(), sk), None).await?;
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(info)
}

/// Every provider of the catalogue (`gsi1pk = PROVIDERS`).
pub async fn providers(app: &impl Stores) -> Result<Vec<ProviderId>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            app.store().query(Query::new(&PROGRAMS, PROVIDERS_GSI).index("gsi1").limit(100).start(cursor)).await?;
        for i in &page.items {
            if let Some(p) = i.s("pk")?.strip_prefix("PROVIDER#").and_then(|p| ProviderId::parse(p).ok()) {
                out.push(p);
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Writes the reports of `period` for one provider, or for every provider of the catalogue.
pub async fn reconcile(
    app: &impl Audits,
    ctx: &audit::Context,
    period: Period,
    provider: Option<&ProviderId>,
) -> Result<Vec<ReportInfo>, ReportError> {
    let all = match provider {
        Some(p) => vec![p.clone()],
        None => providers(app).await?,
    };
    let mut out = Vec::with_capacity(all.len());
    for p in &all {
        out.push(write_report(app, ctx, p, period).await?);
    }
    Ok(out)
}

/// The `mynapoint-reconcile` job: the daily reports of the day before (Asia/Tokyo) and, on the
/// 1st, the monthly summaries of the month before.
pub async fn run_job(app: &impl Audits) -> Result<serde_json::Value, String> {
    let ctx = audit::Context::new(Actor::job("mynapoint-reconcile"));
    let today = app.clock().now().to_offset(JST).date();
    let day = today.previous_day().ok_or("no day before today")?;
    let daily = reconcile(app, &ctx, Period::Day(day), None).await.map_err(|e| e.to_string())?;
    let monthly = if today.day() == 1 {
        let month = Period::Month(day.year(), day.month());
        let m = reconcile(app, &ctx, month, None).await.map_err(|e| e.to_string())?;
        Some((month.to_string(), m.len()))
    } else {
        None
    };
    Ok(serde_json::json!({
        "date": Period::Day(day).to_string(),
        "daily_reports": daily.len(),
        "month": monthly.as_ref().map(|m| m.0.clone()),
        "monthly_reports": monthly.map_or(0, |m| m.1),
    }))
}

/// A provider's reports, newest period first (of one kind, or both: monthly ones first).
pub async fn list(
    app: &impl Stores,
    provider: &ProviderId,
    kind: Option<ReportKind>,
    limit: u32,
    cursor: Option<Cursor>,
) -> Result<(Vec<ReportInfo>, Option<Cursor>), ReportError> {
    let gsi = reports_gsi(provider);
    if let Some(c) = &cursor
        && c.0.get("gsi1pk").and_then(Value::as_s) != Some(gsi.as_str())
    {
        return Err(ReportError::InvalidCursor);
    }
    let mut q = Query::new(&PROGRAMS, gsi).index("gsi1").reverse().limit(limit).start(cursor);
    if let Some(k) = kind {
        q = q.sk(SkCond::BeginsWith(format!("{}#", k.as_str())));
    }
    let page = app.store().query(q).await?;
    let items = page.items.iter().map(ReportInfo::from_item).collect::<Result<Vec<_>, _>>()?;
    Ok((items, page.next))
}

/// A report's metadata.
pub async fn info(app: &impl Stores, provider: &ProviderId, period: Period) -> Result<ReportInfo, ReportError> {
    Ok(meta(app, provider, period).await?.info)
}

async fn meta(app: &impl Stores, provider: &ProviderId, period: Period) -> Result<Meta, ReportError> {
    let item = app.store().get(&PROGRAMS, &meta_key(provider, period)).await?.ok_or(ReportError::NotFound)?;
    Ok(Meta::from_item(&item)?)
}

/// The CSV of a report (whole, or part `part`, 1-based; a part after the first starts with the
/// header line too, so that every part is a CSV file of its own).
pub async fn content(
    app: &impl Stores,
    provider: &ProviderId,
    period: Period,
    part: Option<i64>,
) -> Result<(ReportInfo, String), ReportError> {
    let Meta { info, run } = meta(app, provider, period).await?;
    let pk = report_pk(provider, period);
    let part_sk = |n: i64| format!("PART#{run}#{n:05}");
    if let Some(n) = part {
        if n < 1 || n > info.parts {
            return Err(ReportError::PartUnknown { parts: info.parts });
        }
        let item = app.store().get(&PROGRAMS, &Key::new(pk, part_sk(n))).await?.ok_or(ReportError::NotFound)?;
        let csv = item.s("csv")?;
        let body = if n == 1 {
            csv.to_owned()
        } else {
            let header = match period {
                Period::Day(_) => DAILY_HEADER,
                Period::Month(..) => MONTHLY_HEADER,
            };
            format!("{header}\n{csv}")
        };
        return Ok((info, body));
    }
    if info.bytes as u64 > MAX_DOWNLOAD_BYTES {
        return Err(ReportError::TooLarge { bytes: info.bytes, parts: info.parts });
    }
    let mut body = String::with_capacity(info.bytes as usize);
    let mut n = 0;
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(
                Query::new(&PROGRAMS, pk.clone())
                    .sk(SkCond::BeginsWith(format!("PART#{run}#")))
                    .limit(10)
                    .start(cursor),
            )
            .await?;
        for i in &page.items {
            body.push_str(i.s("csv")?);
            n += 1;
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if n != info.parts {
        return Err(StoreError::Corrupt(format!("report has {n} of its {} parts", info.parts)).into());
    }
    Ok((info, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn periods_parse_print_and_cover_their_days() {
        let d = Period::parse(ReportKind::Daily, "2026-11-25").unwrap();
        assert_eq!(d, Period::Day(date!(2026 - 11 - 25)));
        assert_eq!(d.to_string(), "2026-11-25");
        let m = Period::parse(ReportKind::Monthly, "2024-02").unwrap();
        assert_eq!(m.to_string(), "2024-02");
        assert_eq!(m.days().len(), 29);
        assert_eq!(m.days()[28], date!(2024 - 02 - 29));
        for bad in ["2026-13", "2026-1", "26-11", "2026-11-01", "abcd-ef", ""] {
            assert!(Period::parse(ReportKind::Monthly, bad).is_err(), "{bad}");
        }
        assert!(Period::parse(ReportKind::Daily, "2026-02-30").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(text("-1,2"), "\"'-1,2\"");
        assert_eq!(text("msg_123"), "msg_123");
    }
}
