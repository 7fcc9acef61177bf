//! Dispatch of applications to their payment provider: the `provider-dispatch` consumer and the
//! `dispatch-sweep` job (`docs/mynapoint.md`, "Dispatch").
//!
//! **Consumer** (one message `{"application_id": "app_…"}`): reads the application; anything but
//! an undelivered `submitted` one is done (dedupe). Otherwise it POSTs the `application.submitted`
//! webhook to the service's endpoint, signed (Standard Webhooks) with every active secret of the
//! service, `webhook-id` = the application id (the same on every attempt, so providers dedupe).
//! - 2xx: one audited transaction sets `dispatched_at` (`submitted → dispatched` unless a callback
//!   already moved it), removes the outbox entry and puts an `application.dispatched` event; its
//!   condition (not yet delivered) makes concurrent deliveries of one message record it once.
//! - 410 Gone: the service's endpoint is disabled (audited); the application waits.
//! - 429/503 with `Retry-After` (seconds or HTTP date): retried after that (at most 12 h), or
//!   after the backoff below if that is longer.
//! - anything else (other statuses, timeouts, refused connections): retried with exponential
//!   backoff and jitter (the queue's `backoff_secs`), counted by the application's own attempt
//!   counter, so a re-sent message continues the sequence rather than starting again at 30 s.
//! - 3 days after the application was made the consumer gives up: metric
//!   `dispatch_dead_lettered`, the message goes to the dead-letter queue, and the application stays
//!   `submitted` under `gsi2pk = OUTBOX#DEAD` for an operator.
//!
//! **Outbox** (`gsi2`, see `record`): `gsi2sk = <epoch secs, 12 digits>#<id>` is when the entry is
//! next due for the sweep: the application's creation at first; on every failed attempt the
//! consumer moves it to the time of its retry (plus a margin), so the sweep never duplicates a
//! message that waits in the queue's backoff. An application whose service has no usable
//! endpoint (missing, disabled by a 410 or by an operator) is parked under
//! `gsi2pk = OUTBOX#WAIT#<service code>`, so that a large backlog of one provider never hides
//! another's lost messages.
//!
//! **Sweep** (every minute): re-sends the entries of `OUTBOX#<0..OUTBOX_SHARDS>` due more than
//! [`SWEEP_MIN_AGE_SECS`] ago whose service endpoint is usable (a message lost between the
//! application's commit and its queue send), and the waiting entries of every service whose
//! endpoint is usable again (an operator re-enabled it); each re-sent entry is due again
//! [`SWEEP_LEASE_SECS`] later. A double send is harmless: the consumer dedupes on the stored
//! state, and providers on the `webhook-id`.
//!
//! Logs and metrics carry application ids, service codes, HTTP statuses and attempt numbers only:
//! never the service account, the security codes, the body, the endpoint URL or a secret.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use super::catalog::{self, ServiceConfig};
use super::record::{self, ApplicationRecord, EventRecord, OUTBOX_SHARDS};
use super::secrets::{self, SecretOwner};
use super::services::Endpoint;
use crate::audit::{self, Actor, Context, Event};
use crate::caps::{Audits, Catalogue, Clocks, Configured, Metered, Outbound, Queues, Secrets, Stores};
use crate::config::Backend;
use crate::domain::mynapoint::{ApplicationId, ApplicationState, ServiceCode};
use crate::domain::time_fmt::to_jst;
use crate::ports::KeyError;
use crate::ports::queue::ConsumeError;
use crate::ports::queue::{MAX_VISIBILITY_SECS, OutMessage};
use crate::ports::store::*;
use crate::queues::PROVIDER_DISPATCH;
use crate::tables::{APPLICATIONS, PROGRAMS};
use crate::webhooks;

/// The name of the consumer (audit actor, logs).
pub const CONSUMER: &str = "provider-dispatch";
/// The name of the sweep job.
pub const SWEEP: &str = "dispatch-sweep";
/// How long one POST to a provider may take, connection included.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// After this long from the application, the consumer gives up (dead letter).
pub const GIVE_UP_AFTER_SECS: i64 = 3 * 24 * 3600;
/// The longest `Retry-After` honoured (SQS's visibility limit).
pub const RETRY_AFTER_CAP_SECS: u32 = MAX_VISIBILITY_SECS;
/// An outbox entry is swept once it is due for this long (its message was presumably lost).
pub const SWEEP_MIN_AGE_SECS: i64 = 60;
/// A swept entry is due again this long after the sweep re-sent it (time for the consumer).
pub const SWEEP_LEASE_SECS: i64 = 15 * 60;
/// At most this many applications are re-sent per sweep run.
pub const SWEEP_MAX_PER_RUN: usize = 1000;
/// Added to a retry's delay for the entry's next due time (the sweep must not beat the queue).
const LEASE_MARGIN_SECS: i64 = 120;
/// Index page size of the sweep.
const SWEEP_PAGE: u32 = 200;
/// Outbox entries read per partition per run, at most (skipped ones included).
const SWEEP_READ_CAP: usize = 2000;
/// The type of the dispatched webhook.
pub const EVENT_TYPE: &str = "application.submitted";
/// The kind of the event record a delivery writes.
pub const DISPATCHED_EVENT: &str = "application.dispatched";

/// `gsi2pk` of applications the consumer gave up on (for an operator).
pub const OUTBOX_DEAD: &str = "OUTBOX#DEAD";
/// `gsi2pk` of applications waiting for their service's endpoint to be usable again.
pub fn outbox_wait_gsi(service: &ServiceCode) -> String {
    format!("OUTBOX#WAIT#{service}")
}

/// The queue message of one application.
pub fn message(id: &ApplicationId) -> OutMessage {
    OutMessage::new(json!({ "application_id": id.as_str() }).to_string())
}

fn due_sk(at_epoch: i64, id: &ApplicationId) -> String {
    format!("{:012}#{id}", at_epoch.max(0))
}

/// The endpoint of `s` if dispatches may go there now: set, enabled, and allowed on `backend`
/// by today's rules ([`Endpoint::parse`]: `https://`, or `http://` to a loopback host on the
/// local backend only; on AWS only global addresses and public names), whenever it was stored.
pub fn usable_endpoint(s: &ServiceConfig, backend: Backend) -> Option<&str> {
    let e = s.endpoint.as_deref().filter(|_| s.endpoint_enabled)?;
    Endpoint::parse(e, backend).is_ok().then_some(e)
}

/// The wire body (`docs/mynapoint.md`); field order is the documented one.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    application_id: &'a str,
    measure: &'static str,
    service_code: &'a str,
    service_account_id: &'a str,
    security_codes: &'a [String],
    points_cap: i64,
    applied_at: String,
}

fn body(rec: &ApplicationRecord, codes: &[String], now: OffsetDateTime) -> Vec<u8> {
    let b = Body {
        kind: EVENT_TYPE,
        timestamp: to_jst(now),
        data: Data {
            application_id: rec.id.as_str(),
            measure: rec.measure.as_str(),
            service_code: rec.service.as_str(),
            service_account_id: rec.account.as_str(),
            security_codes: codes,
            points_cap: rec.points_cap,
            applied_at: to_jst(rec.created_at),
        },
    };
    serde_json::to_vec(&b).unwrap_or_default()
}

/// Parses `Retry-After`: delay-seconds or an HTTP date (IMF-fixdate), as seconds from `now`,
/// between 1 and [`RETRY_AFTER_CAP_SECS`].
pub fn parse_retry_after(v: &str, now: OffsetDateTime) -> Option<u32> {
    let v = v.trim();
    let secs: i64 = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse::<u64>().map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX))
    } else {
        let f = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let at = time::PrimitiveDateTime::parse(v, &f).ok()?.assume_utc();
        (at - now).whole_seconds()
    };
    Some(secs.clamp(1, i64::from(RETRY_AFTER_CAP_SECS)) as u32)
}

#[derive(serde::Deserialize)]
struct Message {
    application_id: String,
}

fn count(app: &impl Metered, outcome: &str) {
    app.metrics().count("dispatch", &[("outcome", outcome)], 1);
}

/// The `provider-dispatch` consumer.
pub async fn handle(
    app: &(impl Audits + Configured + Secrets + Outbound + Catalogue),
    body_text: &str,
) -> Result<(), ConsumeError> {
    let m: Message =
        serde_json::from_str(body_text).map_err(|_| ConsumeError::Reject("unreadable dispatch message".into()))?;
    let id = ApplicationId::parse(&m.application_id)
        .map_err(|_| ConsumeError::Reject("dispatch message without a valid application id".into()))?;
    let retry = |what: &str, e: &dyn std::fmt::Display| {
        count(app, "error");
        ConsumeError::Retry(format!("{what}: {e}"))
    };

    let Some(item) = app.store().get(&APPLICATIONS, &record::app_key(&id)).await.map_err(|e| retry("read", &e))? else {
        count(app, "unknown");
        return Err(ConsumeError::Reject(format!("application {id} does not exist")));
    };
    let rec = ApplicationRecord::from_item(&item).map_err(|e| ConsumeError::Reject(e.to_string()))?;
    if rec.state != ApplicationState::Submitted || rec.dispatched_at.is_some() {
        count(app, "already_done");
        return Ok(());
    }
    let now = app.clock().now();
    let attempt = item.opt_n("dispatch_attempts").unwrap_or(0) + 1;

    if (now - rec.created_at).whole_seconds() >= GIVE_UP_AFTER_SECS {
        return Err(give_up(app, &rec, &item).await);
    }

    let service = catalog::service(app, &rec.service).await.map_err(|e| retry("read service", &e))?;
    let backend = app.config().backend;
    let Some(endpoint) = service.as_ref().and_then(|s| usable_endpoint(s, backend)).map(str::to_owned) else {
        count(app, "endpoint_unavailable");
        tracing::warn!(application = %id, service = %rec.service, "no usable endpoint; the application waits until an operator enables one");
        park_waiting(app, &rec).await.map_err(|e| retry("park", &e))?;
        return Ok(());
    };
    let secrets = secrets::active(app, &SecretOwner::Service(rec.service.clone()))
        .await
        .map_err(|e| retry("signing secrets", &e))?;
    if secrets.is_empty() {
        tracing::error!(application = %id, service = %rec.service, "the service has no active signing secret");
        return failed(app, &rec, attempt, "no_secret").await;
    }
    let codes = match record::open_codes(app, &rec).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            count(app, "error");
            return Err(ConsumeError::Reject(format!("application {id} has no security codes to send")));
        }
        Err(KeyError::Unavailable(e)) => return Err(retry("open security codes", &e)),
        Err(KeyError::Invalid(_)) => {
            count(app, "error");
            return Err(ConsumeError::Reject(format!("the security codes of {id} cannot be opened")));
        }
    };

    let payload = body(&rec, &codes, now);
    drop(codes);
    let ts = now.unix_timestamp();
    let signature = webhooks::signature_header(&secrets, id.as_str(), ts, &payload);
    let headers = [
        ("content-type", "application/json".to_owned()),
        (webhooks::ID_HEADER, id.as_str().to_owned()),
        (webhooks::TIMESTAMP_HEADER, ts.to_string()),
        (webhooks::SIGNATURE_HEADER, signature),
    ];
    let started = std::time::Instant::now();
    let sent = app.egress().post_webhook(&endpoint, &headers, payload).await;
    app.metrics().timing("dispatch_http", &[], started.elapsed().as_secs_f64() * 1000.0);
    let (status, retry_after) = match sent {
        Ok(a) => (a.status, a.retry_after),
        Err(e) => return failed(app, &rec, attempt, e.reason()).await,
    };

    match status {
        200..=299 => match delivered(app, rec, status, attempt).await {
            Ok(true) => {
                count(app, "delivered");
                tracing::info!(application = %id, status, attempt, "application delivered");
                Ok(())
            }
            Ok(false) => {
                count(app, "already_done");
                Ok(())
            }
            // The provider has it; the next attempt sends it again (same webhook-id) and records it.
            Err(e) => Err(retry("record delivery", &e)),
        },
        410 => {
            count(app, "gone");
            tracing::warn!(application = %id, service = %rec.service, "the endpoint answered 410 Gone; disabling it");
            disable_endpoint(app, &rec.service, &endpoint).await.map_err(|e| retry("disable endpoint", &e))?;
            park_waiting(app, &rec).await.map_err(|e| retry("park", &e))?;
            Ok(())
        }
        429 | 503 if retry_after.as_deref().and_then(|v| parse_retry_after(v, now)).is_some() => {
            // Never sooner than asked; never sooner than the backoff either, so that a provider
            // answering `Retry-After: 1` for hours cannot use up the queue's receive limit (the
            // message would reach the dead-letter queue before its 3 days).
            let asked = retry_after.as_deref().and_then(|v| parse_retry_after(v, now)).unwrap_or(1);
            let secs = asked.max(backoff(attempt)).min(RETRY_AFTER_CAP_SECS);
            count(app, "retry_after");
            lease(app, &rec, attempt, i64::from(secs), &format!("http_{status}")).await;
            tracing::warn!(application = %id, status, attempt, retry_in_secs = secs, "provider asked to retry later");
            Err(ConsumeError::RetryAfter(secs, format!("HTTP {status} with Retry-After")))
        }
        _ => failed(app, &rec, attempt, &format!("http_{status}")).await,
    }
}

/// The queue's exponential backoff with equal jitter for the application's `attempt`-th failure.
fn backoff(attempt: i64) -> u32 {
    let n = u32::try_from(attempt.max(1)).unwrap_or(u32::MAX);
    PROVIDER_DISPATCH.backoff_secs(n, rand::thread_rng().gen_range(0.0..1.0))
}

/// A failed attempt: the next one after an exponential, jittered backoff.
async fn failed(
    app: &(impl Stores + Clocks + Metered),
    rec: &ApplicationRecord,
    attempt: i64,
    why: &str,
) -> Result<(), ConsumeError> {
    count(app, "failed");
    let secs = backoff(attempt);
    lease(app, rec, attempt, i64::from(secs), why).await;
    tracing::warn!(application = %rec.id, service = %rec.service, attempt, reason = why, retry_in_secs = secs, "dispatch failed");
    Err(ConsumeError::RetryAfter(secs, format!("dispatch failed: {why}")))
}

/// Records the attempt and moves the outbox entry's due time past the retry (best effort: if it
/// fails, the sweep may send once more, which is harmless).
async fn lease(app: &(impl Stores + Clocks), rec: &ApplicationRecord, attempt: i64, delay_secs: i64, why: &str) {
    let due = app.clock().epoch_secs() + delay_secs + LEASE_MARGIN_SECS;
    let update = Update::new()
        .set("gsi2pk", record::outbox_gsi(record::outbox_shard(&rec.id)))
        .set("gsi2sk", due_sk(due, &rec.id))
        .set("dispatch_attempts", attempt)
        .set("dispatch_last_error", why);
    if let Err(e) = app.store().update(&APPLICATIONS, &record::app_key(&rec.id), update, Some(undelivered())).await
        && e != StoreError::ConditionFailed
    {
        tracing::warn!(application = %rec.id, error = %e, "could not record the dispatch attempt");
    }
}

/// Still waiting for delivery: submitted, not dispatched, in an outbox partition.
fn undelivered() -> Cond {
    Cond::eq("state", ApplicationState::Submitted.as_str())
        .and(Cond::not_exists("dispatched_at"))
        .and(Cond::exists("gsi2pk"))
}

/// Parks the application until its service has a usable endpoint again.
async fn park_waiting(app: &impl Stores, rec: &ApplicationRecord) -> Result<(), StoreError> {
    let update = Update::new().set("gsi2pk", outbox_wait_gsi(&rec.service));
    match app.store().update(&APPLICATIONS, &record::app_key(&rec.id), update, Some(undelivered())).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Gives up on an application (3 days old): parks it under [`OUTBOX_DEAD`] and counts it once;
/// every receive of the message is rejected, so it reaches the dead-letter queue.
async fn give_up(app: &(impl Stores + Metered), rec: &ApplicationRecord, item: &Item) -> ConsumeError {
    if item.opt_s("gsi2pk") != Some(OUTBOX_DEAD) {
        let update =
            Update::new().set("gsi2pk", OUTBOX_DEAD).set("gsi2sk", due_sk(rec.created_at.unix_timestamp(), &rec.id));
        let cond = undelivered().and(Cond::ne("gsi2pk", OUTBOX_DEAD));
        match app.store().update(&APPLICATIONS, &record::app_key(&rec.id), update, Some(cond)).await {
            Ok(_) => {
                app.metrics().count("dispatch_dead_lettered", &[], 1);
                count(app, "dead_lettered");
                tracing::error!(application = %rec.id, service = %rec.service, "dispatch given up after 3 days; the application stays submitted for an operator");
            }
            Err(StoreError::ConditionFailed) => {}
            Err(e) => {
                count(app, "error");
                return ConsumeError::Retry(format!("park the given-up application: {e}"));
            }
        }
    }
    ConsumeError::Reject(format!("application {} not delivered within 3 days", rec.id))
}

/// Records a delivery (one audited transaction). `false` when it was already recorded (another
/// delivery of the same message won).
async fn delivered(
    app: &impl Audits,
    mut rec: ApplicationRecord,
    status: u16,
    attempt: i64,
) -> Result<bool, StoreError> {
    let ctx = Context::new(Actor::job(CONSUMER));
    for _ in 0..5 {
        let now = app.clock().now();
        let mut update = Update::new()
            .set("dispatched_at", now.unix_timestamp())
            .remove("gsi2pk")
            .remove("gsi2sk")
            .set("dispatch_attempts", attempt)
            .add("version", 1);
        if rec.state == ApplicationState::Submitted {
            update = update.set("state", ApplicationState::Dispatched.as_str());
        }
        let ev = EventRecord {
            application: rec.id.clone(),
            provider: rec.provider.clone(),
            service: rec.service.clone(),
            measure: rec.measure,
            webhook_id: rec.id.as_str().to_owned(),
            kind: DISPATCHED_EVENT.into(),
            outcome: "applied".into(),
            points: None,
            charge_amount: None,
            balance: None,
            granted_on: None,
            reason: None,
            received_at: now,
        };
        let ops = vec![
            TxOp::Update {
                table: &APPLICATIONS,
                key: record::app_key(&rec.id),
                update,
                cond: Some(Cond::not_exists("dispatched_at").and(Cond::eq("state", rec.state.as_str()))),
            },
            TxOp::Put { table: &APPLICATIONS, item: ev.to_item(), cond: Some(Cond::not_exists("pk")) },
        ];
        let event = Event::success(
            "mynapoint.application_dispatch",
            vec![format!("application:{}", rec.id), format!("service:{}", rec.service)],
        )
        .with_detail(json!({ "status": status, "attempt": attempt }));
        match audit::commit(app, &ctx, event, ops).await {
            Ok(()) => return Ok(true),
            Err(e) if e.failed_condition_index() == Some(0) => match record::load(app, &rec.id).await? {
                None => return Ok(false),
                Some(r) if r.dispatched_at.is_some() => return Ok(false),
                // A callback moved the state meanwhile: record the delivery on the new state.
                Some(r) => rec = r,
            },
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("the application kept changing while its delivery was recorded".into()))
}

/// Disables a service's endpoint after a 410 (audited), unless it changed or was disabled since.
async fn disable_endpoint(
    app: &(impl Audits + Catalogue),
    code: &ServiceCode,
    endpoint: &str,
) -> Result<(), StoreError> {
    let ctx = Context::new(Actor::job(CONSUMER));
    let now = app.clock().epoch_secs();
    let update = Update::new()
        .set("endpoint_enabled", false)
        .set("endpoint_disabled_reason", "gone: the endpoint answered 410")
        .set("endpoint_disabled_at", now)
        .add("version", 1);
    let cond = Cond::eq("endpoint_enabled", true).and(Cond::eq("endpoint", endpoint));
    let event = Event::success("mynapoint.service_endpoint_disable", vec![format!("service:{code}")])
        .with_detail(json!({ "reason": "gone", "status": 410 }));
    let op = TxOp::Update { table: &PROGRAMS, key: catalog::service_key(code), update, cond: Some(cond) };
    let r = audit::commit(app, &ctx, event, vec![op]).await;
    app.catalog().clear();
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.failed_condition_index() == Some(0) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Applications sent to the queue again.
    pub resent: usize,
    /// Due applications moved to their service's waiting partition (no usable endpoint).
    pub parked: usize,
    /// Outbox entries of applications that are no longer waiting, removed.
    pub cleaned: usize,
    /// More were due than this run took.
    pub more: bool,
}

/// The `dispatch-sweep` job (see the module doc).
pub async fn sweep(
    app: &(impl Stores + Clocks + Metered + Queues + Configured + Catalogue),
) -> Result<SweepReport, StoreError> {
    let now = app.clock().epoch_secs();
    let mut report = SweepReport::default();
    let mut usable: HashMap<ServiceCode, bool> = HashMap::new();
    let per_shard = SWEEP_MAX_PER_RUN.div_ceil(OUTBOX_SHARDS as usize);
    let upto = format!("{:012}#~", (now - SWEEP_MIN_AGE_SECS).max(0));
    for shard in 0..OUTBOX_SHARDS {
        let q = Query::new(&APPLICATIONS, record::outbox_gsi(shard)).index("gsi2").sk(SkCond::Le(upto.clone()));
        let quota = per_shard.min(SWEEP_MAX_PER_RUN - report.resent);
        let mut send = Vec::new();
        let more = walk(app, q, quota, &mut report, &mut send, &mut usable).await?;
        report.more |= more;
        resend(app, &send).await?;
        report.resent += send.len();
    }
    // Applications waiting for an endpoint that is usable again.
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(Query::new(&PROGRAMS, catalog::SERVICES_GSI).index("gsi1").limit(100).start(cursor))
            .await?;
        for i in &page.items {
            let Ok(s) = ServiceConfig::from_item(i) else { continue };
            if usable_endpoint(&s, app.config().backend).is_none() {
                continue;
            }
            let quota = SWEEP_MAX_PER_RUN.saturating_sub(report.resent);
            if quota == 0 {
                report.more = true;
                break;
            }
            usable.insert(s.code.clone(), true);
            let q = Query::new(&APPLICATIONS, outbox_wait_gsi(&s.code)).index("gsi2");
            let mut send = Vec::new();
            let more = walk(app, q, quota, &mut report, &mut send, &mut usable).await?;
            report.more |= more;
            resend(app, &send).await?;
            report.resent += send.len();
        }
        match page.next {
            Some(c) if report.resent < SWEEP_MAX_PER_RUN => cursor = Some(c),
            _ => break,
        }
    }
    Ok(report)
}

/// Walks one outbox partition, oldest first: collects up to `quota` applications to re-send,
/// parks the ones whose service has no usable endpoint, cleans stale entries. `true` when it
/// stopped before the end.
async fn walk(
    app: &(impl Stores + Configured + Catalogue),
    q: Query,
    quota: usize,
    report: &mut SweepReport,
    send: &mut Vec<ApplicationRecord>,
    usable: &mut HashMap<ServiceCode, bool>,
) -> Result<bool, StoreError> {
    let mut cursor = None;
    let mut read = 0;
    loop {
        let page = app.store().query(q.clone().limit(SWEEP_PAGE).start(cursor)).await?;
        for i in &page.items {
            read += 1;
            let rec = match ApplicationRecord::from_item(i) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "unreadable outbox entry");
                    continue;
                }
            };
            if rec.state != ApplicationState::Submitted || rec.dispatched_at.is_some() {
                let cond = Cond::ne("state", ApplicationState::Submitted.as_str()).or(Cond::exists("dispatched_at"));
                let update = Update::new().remove("gsi2pk").remove("gsi2sk");
                match app.store().update(&APPLICATIONS, &record::app_key(&rec.id), update, Some(cond)).await {
                    Ok(_) => report.cleaned += 1,
                    Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            let ok = match usable.get(&rec.service) {
                Some(ok) => *ok,
                None => {
                    let ok = catalog::service(app, &rec.service)
                        .await?
                        .as_ref()
                        .and_then(|s| usable_endpoint(s, app.config().backend))
                        .is_some();
                    usable.insert(rec.service.clone(), ok);
                    ok
                }
            };
            if !ok {
                park_waiting(app, &rec).await?;
                report.parked += 1;
                continue;
            }
            send.push(rec);
            if send.len() >= quota {
                return Ok(true);
            }
        }
        match page.next {
            Some(c) if read < SWEEP_READ_CAP => cursor = Some(c),
            Some(_) => return Ok(true),
            None => return Ok(false),
        }
    }
}

/// Sends the applications to the queue again, then makes each due again after the lease.
async fn resend(app: &(impl Stores + Clocks + Metered + Queues), recs: &[ApplicationRecord]) -> Result<(), StoreError> {
    if recs.is_empty() {
        return Ok(());
    }
    let msgs = recs.iter().map(|r| message(&r.id)).collect();
    app.queue()
        .send_batch(&PROVIDER_DISPATCH, msgs)
        .await
        .map_err(|e| StoreError::Unavailable(format!("queue: {e}")))?;
    let due = app.clock().epoch_secs() + SWEEP_LEASE_SECS;
    for r in recs {
        let update = Update::new()
            .set("gsi2pk", record::outbox_gsi(record::outbox_shard(&r.id)))
            .set("gsi2sk", due_sk(due, &r.id));
        match app.store().update(&APPLICATIONS, &record::app_key(&r.id), update, Some(undelivered())).await {
            Ok(_) | Err(StoreError::ConditionFailed) => {}
            Err(e) => tracing::warn!(application = %r.id, error = %e, "could not lease a re-sent outbox entry"),
        }
    }
    app.metrics().count("dispatch_resent", &[], recs.len() as u64);
    Ok(())
}

/// The sweep as a job report.
pub async fn run_sweep(
    app: &(impl Stores + Clocks + Metered + Queues + Configured + Catalogue),
) -> Result<serde_json::Value, String> {
    let r = sweep(app).await.map_err(|e| e.to_string())?;
    serde_json::to_value(r).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = datetime!(2026-11-26 3:00 UTC);
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(parse_retry_after("0", now), Some(1));
        assert_eq!(parse_retry_after("99999999999999999999", now), Some(RETRY_AFTER_CAP_SECS));
        assert_eq!(parse_retry_after("Thu, 26 Nov 2026 03:05:00 GMT", now), Some(300));
        assert_eq!(parse_retry_after("Thu, 26 Nov 2026 02:00:00 GMT", now), Some(1));
        assert_eq!(parse_retry_after("Sat, 28 Nov 2026 03:00:00 GMT", now), Some(RETRY_AFTER_CAP_SECS));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn only_https_or_loopback_http_endpoints_are_used() {
        let mut s = ServiceConfig {
            code: ServiceCode::parse("DEMO_PAY").unwrap(),
            provider: crate::domain::mynapoint::ProviderId::parse("demo").unwrap(),
            name: "Demo".into(),
            kind: crate::domain::mynapoint::ServiceKind::QrCode,
            measures: vec![],
            code_rules: crate::domain::mynapoint::CodeRules::parse(vec![crate::domain::mynapoint::CodeRule {
                label: "PIN".into(),
                charset: crate::domain::mynapoint::CodeCharset::Digits,
                min_len: 4,
                max_len: 4,
            }])
            .unwrap(),
            intake: crate::domain::mynapoint::IntakeStatus::Accepting,
            intake_changed_at: datetime!(2026-01-01 0:00 UTC),
            endpoint: None,
            endpoint_enabled: true,
            version: 1,
        };
        for (e, ok) in [
            ("https://pay.example.jp/mkpf", true),
            ("http://127.0.0.1:8080/webhook", true),
            ("http://localhost/webhook", true),
            ("http://[::1]:9/webhook", true),
            ("http://pay.example.jp/mkpf", false),
            ("http://10.0.0.1/mkpf", false),
            ("ftp://pay.example.jp/", false),
            ("not a url", false),
        ] {
            s.endpoint = Some(e.into());
            assert_eq!(usable_endpoint(&s, Backend::Embedded).is_some(), ok, "{e}");
            let on_aws = ok && e.starts_with("https://");
            assert_eq!(usable_endpoint(&s, Backend::Aws).is_some(), on_aws, "{e} on AWS");
        }
        s.endpoint = Some("https://pay.example.jp/mkpf".into());
        s.endpoint_enabled = false;
        assert_eq!(usable_endpoint(&s, Backend::Embedded), None);
    }
}
