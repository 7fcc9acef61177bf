//! Provider callbacks: a payment provider reports what became of an application it received
//! (accepted, rejected, points granted, balance, link stopped). Each callback is a Standard
//! Webhooks message signed with the provider's inbound secret; the signature is checked before
//! anything is parsed, a `webhook-id` is processed at most once (its dedupe item is written in the
//! same transaction as the change), and a provider may touch only applications of its own
//! services. Every outcome, refusals included, is audited. Body and effects: `docs/mynapoint.md`.

use serde::Deserialize;
use time::OffsetDateTime;

use super::catalog;
use super::record::{self, ApplicationRecord, EventRecord, account_measure_key, app_key, person_measure_key};
use super::secrets::{self, SecretOwner, SecretsError};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Catalogue, Refusing, Secrets, Stores};
use crate::domain::mynapoint::{ApplicationId, ApplicationState, MeasureId, ProviderId};
use crate::ports::store::*;
use crate::tables::APPLICATIONS;
use crate::webhooks::{self, Signed, VerifyError};

/// How long a processed `webhook-id` is remembered (providers retry for far less).
pub const DEDUPE_SECS: i64 = 7 * 24 * 3600;
/// Largest callback body.
pub const MAX_BODY: usize = 16 * 1024;

/// The callback body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    pub data: CallbackData,
}

/// The `data` of a callback; which fields are required depends on the type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackData {
    pub application_id: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub points: Option<i64>,
    #[serde(default)]
    pub granted_on: Option<String>,
    #[serde(default)]
    pub charge_amount: Option<i64>,
    #[serde(default)]
    pub balance: Option<i64>,
}

/// A callback, parsed: what the provider says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Accepted,
    Rejected { reason: String },
    PointsGranted { points: i64, granted_on: String, charge_amount: Option<i64> },
    BalanceReported { balance: i64 },
    LinkStopped { reason: String },
}

impl Report {
    pub fn kind(&self) -> &'static str {
        match self {
            Report::Accepted => "application.accepted",
            Report::Rejected { .. } => "application.rejected",
            Report::PointsGranted { .. } => "points.granted",
            Report::BalanceReported { .. } => "balance.reported",
            Report::LinkStopped { .. } => "link.stopped",
        }
    }
}

const REJECT_REASONS: [&str; 4] = ["account_mismatch", "codes_invalid", "account_closed", "other"];
const STOP_REASONS: [&str; 3] = ["death", "account_closed", "other"];
const MAX_POINTS: i64 = 1_000_000;

/// Parses a callback body (after its signature was verified). The error names the field.
pub fn parse(body: &[u8]) -> Result<(ApplicationId, Report), CallbackError> {
    let cb: Callback = serde_json::from_slice(body).map_err(|e| CallbackError::Invalid(format!("body: {e}")))?;
    let bad = |f: &str, why: &str| CallbackError::Invalid(format!("{f}: {why}"));
    let id = ApplicationId::parse(&cb.data.application_id).map_err(|e| bad("data.application_id", &e.0))?;
    let d = cb.data;
    let reason = |allowed: &[&str]| -> Result<String, CallbackError> {
        match d.reason.as_deref() {
            Some(r) if allowed.contains(&r) => Ok(r.to_owned()),
            _ => Err(bad("data.reason", &format!("must be one of {}", allowed.join(", ")))),
        }
    };
    let report = match cb.kind.as_str() {
        "application.accepted" => Report::Accepted,
        "application.rejected" => Report::Rejected { reason: reason(&REJECT_REASONS)? },
        "points.granted" => {
            let points =
                d.points.filter(|p| (1..=MAX_POINTS).contains(p)).ok_or_else(|| bad("data.points", "1 to 1000000"))?;
            let granted_on = d
                .granted_on
                .filter(|g| time::Date::parse(g, time::macros::format_description!("[year]-[month]-[day]")).is_ok())
                .ok_or_else(|| bad("data.granted_on", "a date YYYY-MM-DD (Asia/Tokyo)"))?;
            if d.charge_amount.is_some_and(|c| !(0..=100_000_000).contains(&c)) {
                return Err(bad("data.charge_amount", "0 to 100000000 yen"));
            }
            Report::PointsGranted { points, granted_on, charge_amount: d.charge_amount }
        }
        "balance.reported" => Report::BalanceReported {
            balance: d
                .balance
                .filter(|b| (0..=MAX_POINTS).contains(b))
                .ok_or_else(|| bad("data.balance", "0 to 1000000"))?,
        },
        "link.stopped" => Report::LinkStopped { reason: reason(&STOP_REASONS)? },
        _ => return Err(bad("type", "unknown callback type")),
    };
    Ok((id, report))
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("unknown provider")]
    ProviderUnknown,
    #[error(transparent)]
    Signature(#[from] VerifyError),
    #[error("invalid callback: {0}")]
    Invalid(String),
    #[error("no such application")]
    ApplicationUnknown,
    #[error("the application belongs to another provider")]
    Foreign,
    #[error("this report does not apply to the application in its state")]
    TransitionInvalid { state: ApplicationState },
    #[error("the grant would exceed the application's cap")]
    OverCap { cap: i64, granted: i64 },
    #[error("the measure's grant deadline has passed")]
    GrantDeadlinePassed,
    #[error("measure 1 grants must report the charge amount")]
    ChargeAmountRequired,
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CallbackError {
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::ProviderUnknown => "provider_unknown",
            CallbackError::Signature(v) => v.code(),
            CallbackError::Invalid(_) => "invalid_field",
            CallbackError::ApplicationUnknown => "application_unknown",
            CallbackError::Foreign => "application_foreign",
            CallbackError::TransitionInvalid { .. } => "transition_invalid",
            CallbackError::OverCap { .. } => "grant_over_cap",
            CallbackError::GrantDeadlinePassed => "grant_deadline_passed",
            CallbackError::ChargeAmountRequired => "charge_amount_required",
            CallbackError::Secrets(_) => "secrets_unavailable",
            CallbackError::Store(_) => "store_unavailable",
        }
    }
    fn is_fault(&self) -> bool {
        matches!(self, CallbackError::Secrets(_) | CallbackError::Store(_))
    }
}

/// What processing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// Applied; the application's new state.
    Applied { state: ApplicationState },
    /// This `webhook-id` was processed before; nothing changed.
    Duplicate,
}

/// The dedupe item of a webhook id.
fn dedupe_key(p: &ProviderId, webhook_id: &str) -> Key {
    Key::new(format!("CALLBACK#{p}#{webhook_id}"), "CALLBACK")
}

fn dedupe_op(p: &ProviderId, webhook_id: &str, now: OffsetDateTime, outcome: &str) -> TxOp {
    let mut i = APPLICATIONS.key_item(&dedupe_key(p, webhook_id));
    i.insert("outcome".into(), outcome.into());
    i.insert("ttl".into(), Value::N(now.unix_timestamp() + DEDUPE_SECS));
    TxOp::Put {
        table: &APPLICATIONS,
        item: i,
        cond: Some(Cond::absent_or_expired(&APPLICATIONS, now.unix_timestamp())),
    }
}

/// Verifies, parses and applies one callback from `provider` (the path's provider id, which is
/// only trusted once the signature verifies with that provider's secret). Every outcome is
/// audited; refusals change nothing else.
pub async fn receive(
    app: &(impl Refusing + Secrets + Catalogue),
    ctx: &Context,
    provider: &str,
    headers: Signed<'_>,
    body: &[u8],
) -> Result<Processed, CallbackError> {
    let mut ctx = ctx.clone();
    let r = receive_inner(app, &mut ctx, provider, &headers, body).await;
    let label = match &r {
        Ok(Processed::Applied { .. }) => "applied",
        Ok(Processed::Duplicate) => "duplicate",
        Err(e) => e.code(),
    };
    app.metrics().count("provider_callbacks", &[("outcome", label)], 1);
    if let Err(e) = &r
        && !e.is_fault()
        && !matches!(e, CallbackError::OverCap { .. })
    {
        // Over-cap grants are recorded in their own transaction (with the event for
        // reconciliation); a caller that did not prove to be the provider is counted in
        // aggregate (anyone can send those); other refusals are recorded here.
        if matches!(e, CallbackError::ProviderUnknown | CallbackError::Signature(_)) {
            audit::refusals::refused(app, &ctx, "mynapoint.callback", e.code()).await;
            return r;
        }
        let ev = Event::denied("mynapoint.callback", vec![format!("provider:{provider}")], e.code())
            .with_detail(serde_json::json!({ "code": e.code() }));
        if let Err(err) = audit::commit_event(app, &ctx, ev).await {
            tracing::error!(error = %err, "could not audit a refused callback");
        }
    }
    r
}

async fn receive_inner(
    app: &(impl Audits + Secrets + Catalogue),
    ctx: &mut Context,
    provider: &str,
    headers: &Signed<'_>,
    body: &[u8],
) -> Result<Processed, CallbackError> {
    let provider = ProviderId::parse(provider).map_err(|_| CallbackError::ProviderUnknown)?;
    let secrets = secrets::active(app, &SecretOwner::Provider(provider.clone())).await?;
    if secrets.is_empty() {
        return Err(CallbackError::ProviderUnknown);
    }
    match webhooks::verify(headers, body, &secrets, app.clock().epoch_secs()) {
        // The secrets are cached for a few seconds per process: a rotation made by another
        // process just now is found by reading them again, once.
        // At most one such re-read per provider and second, so forged callbacks cannot turn into
        // a read each.
        Err(VerifyError::BadSignature) if may_reload(&provider) => {
            let fresh = secrets::reload(app, &SecretOwner::Provider(provider.clone())).await?;
            webhooks::verify(headers, body, &fresh, app.clock().epoch_secs())?;
        }
        other => other?,
    }
    // From here on the caller is this provider.
    ctx.actor = audit::Actor::new("provider", Some(provider.as_str()));
    let (id, report) = parse(body)?;
    let webhook_id = headers.id.to_owned();
    for _ in 0..5 {
        let rec = record::load(app, &id).await?.ok_or(CallbackError::ApplicationUnknown)?;
        if rec.provider != provider {
            return Err(CallbackError::Foreign);
        }
        match apply_report(app, ctx, &rec, &report, &webhook_id).await {
            Err(CallbackError::Store(StoreError::TransactionCanceled { reasons }))
                if reasons.first() == Some(&CancelReason::ConditionFailed) =>
            {
                return Ok(Processed::Duplicate);
            }
            // The application changed meanwhile (another callback): read it again.
            Err(CallbackError::Store(StoreError::TransactionCanceled { reasons }))
                if reasons.get(1) == Some(&CancelReason::ConditionFailed) =>
            {
                continue;
            }
            // A refusal of a report already processed (e.g. `accepted` again, now that the
            // application is accepted) is a duplicate delivery, not a new refusal.
            Err(e) if is_refusal(&e) && already_processed(app, &provider, &webhook_id).await? => {
                return Ok(Processed::Duplicate);
            }
            other => return other,
        }
    }
    Err(CallbackError::Store(StoreError::Unavailable("the application kept changing".into())))
}

fn may_reload(p: &ProviderId) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};
    static LAST: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    let mut last = LAST.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    match last.get(p.as_str()) {
        Some(t) if t.elapsed() < Duration::from_secs(1) => false,
        _ => {
            last.insert(p.as_str().to_owned(), Instant::now());
            true
        }
    }
}

fn is_refusal(e: &CallbackError) -> bool {
    matches!(
        e,
        CallbackError::TransitionInvalid { .. }
            | CallbackError::GrantDeadlinePassed
            | CallbackError::ChargeAmountRequired
    )
}

async fn already_processed(app: &impl Stores, p: &ProviderId, webhook_id: &str) -> Result<bool, StoreError> {
    Ok(app.store().get(&APPLICATIONS, &dedupe_key(p, webhook_id)).await?.is_some())
}

fn event(
    rec: &ApplicationRecord,
    report: &Report,
    webhook_id: &str,
    outcome: &str,
    now: OffsetDateTime,
) -> EventRecord {
    let (mut points, mut granted_on, mut charge_amount, mut balance, mut reason) = (None, None, None, None, None);
    match report {
        Report::Accepted => {}
        Report::Rejected { reason: r } | Report::LinkStopped { reason: r } => reason = Some(r.clone()),
        Report::PointsGranted { points: p, granted_on: g, charge_amount: c } => {
            points = Some(*p);
            granted_on = Some(g.clone());
            charge_amount = *c;
        }
        Report::BalanceReported { balance: b } => balance = Some(*b),
    }
    EventRecord {
        application: rec.id.clone(),
        provider: rec.provider.clone(),
        service: rec.service.clone(),
        measure: rec.measure,
        webhook_id: webhook_id.to_owned(),
        kind: report.kind().to_owned(),
        outcome: outcome.to_owned(),
        points,
        charge_amount,
        balance,
        granted_on,
        reason,
        received_at: now,
    }
}

/// One transaction: the dedupe item (op 0), the application's update guarded by its version
/// (op 1), the event, and for a rejection the freed places.
async fn apply_report(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    rec: &ApplicationRecord,
    report: &Report,
    webhook_id: &str,
) -> Result<Processed, CallbackError> {
    use ApplicationState::*;
    let now = app.clock().now();
    let key = app_key(&rec.id);
    let mut update = Update::new().set("version", rec.version + 1);
    let mut extra = Vec::new();
    let new_state = match report {
        Report::Accepted | Report::Rejected { .. } => {
            if !matches!(rec.state, Submitted | Dispatched) {
                return Err(CallbackError::TransitionInvalid { state: rec.state });
            }
            // The provider has the codes: they are no longer kept, sealed or not.
            update = update.remove("codes").remove("gsi2pk").remove("gsi2sk");
            if rec.dispatched_at.is_none() {
                update = update.set("dispatched_at", now.unix_timestamp());
            }
            if let Report::Rejected { reason } = report {
                update = update.set("reason", reason.clone());
                for k in [
                    person_measure_key(&rec.person, rec.measure),
                    account_measure_key(&rec.service, &rec.account, rec.measure),
                ] {
                    extra.push(TxOp::Update {
                        table: &APPLICATIONS,
                        key: k,
                        update: Update::new().set("state", Rejected.as_str()).set("since", now.unix_timestamp()),
                        cond: Some(Cond::eq("application", rec.id.as_str())),
                    });
                }
                Rejected
            } else {
                Accepted
            }
        }
        Report::PointsGranted { points, charge_amount, .. } => {
            if rec.state != Accepted {
                return Err(CallbackError::TransitionInvalid { state: rec.state });
            }
            if rec.measure == MeasureId::CardAcquisition && charge_amount.is_none() {
                return Err(CallbackError::ChargeAmountRequired);
            }
            let measure = catalog::measure(app, rec.measure).await?;
            if measure.is_some_and(|m| now >= m.grant_deadline) {
                return Err(CallbackError::GrantDeadlinePassed);
            }
            if rec.points_granted + points > rec.points_cap {
                record_over_cap(app, ctx, rec, report, webhook_id, now).await?;
                return Err(CallbackError::OverCap { cap: rec.points_cap, granted: rec.points_granted });
            }
            update = update.add("points_granted", *points).add("charge_total", charge_amount.unwrap_or(0));
            Accepted
        }
        Report::BalanceReported { balance } => {
            if !matches!(rec.state, Accepted | Stopped) {
                return Err(CallbackError::TransitionInvalid { state: rec.state });
            }
            update = update.set("balance", *balance);
            rec.state
        }
        Report::LinkStopped { reason } => {
            if rec.state != Accepted {
                return Err(CallbackError::TransitionInvalid { state: rec.state });
            }
            update = update.set("reason", reason.clone());
            Stopped
        }
    };
    update = update.set("state", new_state.as_str());
    let mut ops = vec![
        dedupe_op(&rec.provider, webhook_id, now, "applied"),
        TxOp::Update { table: &APPLICATIONS, key, update, cond: Some(Cond::eq("version", rec.version)) },
        TxOp::Put { table: &APPLICATIONS, item: event(rec, report, webhook_id, "applied", now).to_item(), cond: None },
    ];
    ops.extend(extra);
    let ev = Event::success(
        "mynapoint.callback",
        vec![format!("provider:{}", rec.provider), format!("application:{}", rec.id)],
    )
    .with_detail(serde_json::json!({ "type": report.kind(), "state": new_state.as_str() }));
    audit::commit(app, ctx, ev, ops).await?;
    Ok(Processed::Applied { state: new_state })
}

/// A grant past the cap is refused, but kept (event with outcome `refused_over_cap`) so the
/// secretariat sees it in reconciliation. The webhook id is spent: a retry is a duplicate.
async fn record_over_cap(
    app: &impl Audits,
    ctx: &Context,
    rec: &ApplicationRecord,
    report: &Report,
    webhook_id: &str,
    now: OffsetDateTime,
) -> Result<(), CallbackError> {
    let ops = vec![
        dedupe_op(&rec.provider, webhook_id, now, "refused_over_cap"),
        TxOp::Put {
            table: &APPLICATIONS,
            item: event(rec, report, webhook_id, "refused_over_cap", now).to_item(),
            cond: None,
        },
    ];
    let ev = Event::denied(
        "mynapoint.callback",
        vec![format!("provider:{}", rec.provider), format!("application:{}", rec.id)],
        "grant_over_cap",
    )
    .with_detail(serde_json::json!({ "code": "grant_over_cap", "type": report.kind() }));
    audit::commit(app, ctx, ev, ops).await?;
    Ok(())
}
