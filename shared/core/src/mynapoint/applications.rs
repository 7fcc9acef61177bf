//! Applying for a measure, and a citizen reading their applications.
//!
//! `apply` enforces every rule server side and writes the application in **one transaction**
//! together with the uniqueness items (one application per person per measure, one person per
//! service account per measure), the checks that the measure is open, the service accepting and
//! the session's certificate not revoked, and the audit record. Nothing is decided by
//! read-then-write. Round trips on the happy path: one query of the person's partition (session,
//! profile, certificate links, eligibility: [`person_view`], done first), one transaction, one
//! queue send. See
//! `docs/mynapoint.md`.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::catalog::{self, measure_open_check, service_accepting_check};
use super::eligibility_check::{Facts, NotEligible, points_cap};
use super::record::{self, ApplicationRecord, RequestDigest, account_measure_key, codes_aad, person_measure_key};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Catalogue, Clocks, Configured, Queues, Revocations, Secrets, Stores};
use crate::card_auth::anchors::IssuerId;
use crate::card_auth::certificate::CertSerial;
use crate::card_auth::revocation::{NotRevoked, RevocationError};
use crate::card_auth::sessions::SESSION_PREFIX;
use crate::domain::mynapoint::{
    ApplicationId, ApplicationState, MeasureId, SecurityCodes, ServiceAccountId, ServiceCode,
};
use crate::mykey::person::{self, CERT_PREFIX, PROFILE_SK, PersonId};
use crate::ports::KeyError;
use crate::ports::queue::OutMessage;
use crate::ports::store::*;
use crate::queues::PROVIDER_DISPATCH;
use crate::tables::{APPLICATIONS, PEOPLE};

/// A parsed application request (security codes are checked against the service's rules later).
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    pub measure: MeasureId,
    pub service: ServiceCode,
    pub account: ServiceAccountId,
    pub codes: Vec<String>,
}

/// Why an application was refused. Each maps to one problem code (`http::mynapoint`).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("measure not configured")]
    MeasureUnknown,
    #[error("the measure is not taking applications now")]
    MeasureClosed,
    #[error("no such payment service")]
    ServiceUnknown,
    #[error("the service does not take applications for this measure now")]
    ServiceNotAccepting,
    #[error("security codes do not follow the service's rules: {0}")]
    CodesInvalid(String),
    #[error("session ended")]
    SessionEnded,
    #[error("no active MyKey ID")]
    MyKeyIdRequired,
    #[error("the signed-in certificate is expired, revoked or no longer linked")]
    Lapsed,
    /// The person was made by a recently issued certificate that may succeed one of another
    /// person: applications wait for the renewal linkage (`mykey::person::link_pending_until`)
    /// until `until` (epoch seconds; `checked_at`: the clock when decided).
    #[error("applications wait for the renewal linkage of a recently issued certificate")]
    LinkPending { until: i64, checked_at: i64 },
    #[error(transparent)]
    NotEligible(#[from] NotEligible),
    #[error("already applied for this measure")]
    AlreadyApplied,
    #[error("the service account is already used for this measure by someone else")]
    AccountTaken,
    #[error("the Idempotency-Key was used for another request")]
    KeyReused,
    #[error("revocation data unavailable: {0}")]
    RevocationUnavailable(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApplyError {
    /// The stable problem code (also the audit detail of a refusal).
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::MeasureUnknown => "measure_unknown",
            ApplyError::MeasureClosed => "measure_closed",
            ApplyError::ServiceUnknown => "service_unknown",
            ApplyError::ServiceNotAccepting => "service_not_accepting",
            ApplyError::CodesInvalid(_) => "security_codes_invalid",
            ApplyError::SessionEnded => "session_ended",
            ApplyError::MyKeyIdRequired => "mykey_id_required",
            ApplyError::Lapsed => "person_lapsed",
            ApplyError::LinkPending { .. } => "certificate_link_pending",
            ApplyError::NotEligible(n) => n.code(),
            ApplyError::AlreadyApplied => "already_applied",
            ApplyError::AccountTaken => "service_account_taken",
            ApplyError::KeyReused => "idempotency_key_reused",
            ApplyError::RevocationUnavailable(_) => "revocation_unavailable",
            ApplyError::Key(_) => "key_unavailable",
            ApplyError::Store(_) => "store_unavailable",
        }
    }
    /// Whether the refusal is the caller's (audited as denied) rather than a fault.
    fn is_refusal(&self) -> bool {
        !matches!(
            self,
            ApplyError::Key(_) | ApplyError::Store(_) | ApplyError::RevocationUnavailable(_) | ApplyError::SessionEnded
        )
    }
}

impl From<RevocationError> for ApplyError {
    fn from(e: RevocationError) -> Self {
        match e {
            RevocationError::Store(s) => ApplyError::Store(s),
            RevocationError::Unavailable(i) => ApplyError::RevocationUnavailable(i),
        }
    }
}

/// The outcome of `apply`: the application, and whether it was made by an earlier request with
/// the same `Idempotency-Key` (replayed).
#[derive(Debug, Clone)]
pub struct Applied {
    pub application: ApplicationRecord,
    pub replayed: bool,
}

/// The application id of a request: a hash of the person and their `Idempotency-Key`, so a
/// retry names the same application (and finds it already written).
pub fn application_id(pid: &PersonId, idempotency_key: &str) -> ApplicationId {
    let mut h = Sha256::new();
    for part in [b"mkpf-mynapoint-application\0".as_slice(), pid.as_str().as_bytes(), b"\0", idempotency_key.as_bytes()]
    {
        h.update(part);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    ApplicationId::from_bytes(b)
}

/// What a request's replay digest covers ([`RequestDigest`]): measure, service, account and the
/// security codes (so a changed code under the same `Idempotency-Key` is refused). The digest is
/// keyed, never a plain hash of these: the codes are short.
fn request_parts(req: &ApplyRequest) -> [Vec<u8>; 4] {
    [
        req.measure.as_str().as_bytes().to_vec(),
        req.service.as_str().as_bytes().to_vec(),
        req.account.as_str().as_bytes().to_vec(),
        req.codes.join("\u{1f}").into_bytes(),
    ]
}

fn parts_of(p: &[Vec<u8>; 4]) -> [&[u8]; 4] {
    [&p[0], &p[1], &p[2], &p[3]]
}

/// What the person's partition says, for an application: read once, by [`person_view`], before
/// anything else (it is also the check that the citizen's session is still open).
pub struct PersonView {
    pid: PersonId,
    mykey_id: Option<String>,
    session_cert: Option<(IssuerId, CertSerial, Option<i64>)>,
    session_open: bool,
    cert_linked: bool,
    facts: Facts,
    /// Until when the person waits for a renewal linkage (epoch seconds), if they do.
    link_pending_until: Option<i64>,
}

/// One query: the person's profile, certificate links, sessions and eligibility facts. Refuses
/// with `SessionEnded` when the session is gone (the route leaves that check to this read).
pub async fn person_view(
    app: &(impl Stores + Clocks + Configured),
    pid: &PersonId,
    session_id: &str,
) -> Result<PersonView, ApplyError> {
    let now = app.clock().epoch_secs();
    let items = query_all(app.store().as_ref(), Query::new(&PEOPLE, person::pk(pid))).await?;
    let session_sk = format!("{SESSION_PREFIX}{session_id}");
    let mut v = PersonView {
        pid: pid.clone(),
        mykey_id: None,
        session_cert: None,
        session_open: false,
        cert_linked: false,
        facts: Facts::from_items(items.iter()),
        link_pending_until: person::link_pending_until_items(items.iter(), app.config().relink_hold_secs, now),
    };
    for i in &items {
        let sk = i.opt_s("sk").unwrap_or_default();
        if sk == PROFILE_SK {
            v.mykey_id = i.opt_s("mykey_id").map(str::to_owned);
        } else if sk == session_sk && i.opt_n("ttl").is_some_and(|t| t > now) {
            v.session_open = true;
            if let (Some(is), Some(se)) = (i.opt_s("issuer"), i.opt_s("serial"))
                && let (Ok(is), Ok(se)) = (IssuerId::parse(is), CertSerial::parse(se))
            {
                v.session_cert = Some((is, se, i.opt_n("not_after")));
            }
        }
    }
    if let Some((is, se, _)) = &v.session_cert {
        let link_sk = format!("{CERT_PREFIX}{}#{}", is.as_str(), se.as_str());
        v.cert_linked = items.iter().any(|i| i.opt_s("sk") == Some(link_sk.as_str()));
    }
    if !v.session_open {
        return Err(ApplyError::SessionEnded);
    }
    Ok(v)
}

/// Applies for a measure. `idempotency_key` comes from the request header (already checked for
/// shape); a retry with the same key and the same request returns the same application.
pub async fn apply(
    app: &(impl Audits + Queues + Secrets + Revocations + Catalogue),
    ctx: &Context,
    person: &PersonView,
    idempotency_key: &str,
    req: ApplyRequest,
) -> Result<Applied, ApplyError> {
    let pid = &person.pid;
    let result = apply_inner(app, ctx, person, idempotency_key, &req).await;
    if let Err(e) = &result {
        app.metrics().count("mynapoint_applications", &[("outcome", e.code())], 1);
        if e.is_refusal() {
            let ev = Event::denied("mynapoint.apply", vec![format!("person:{pid}")], e.code())
                .with_detail(serde_json::json!({ "code": e.code(), "measure": req.measure.as_str(), "service": req.service.as_str() }));
            if let Err(err) = audit::commit_event(app, ctx, ev).await {
                tracing::error!(error = %err, "could not audit a refused application");
            }
        }
    } else if let Ok(a) = &result {
        app.metrics().count(
            "mynapoint_applications",
            &[("outcome", if a.replayed { "replayed" } else { "created" })],
            1,
        );
    }
    result
}

/// Everything checked before the transaction.
struct Prepared {
    rec: ApplicationRecord,
    revocation: Option<TxOp>,
}

async fn apply_inner(
    app: &(impl Audits + Queues + Secrets + Revocations + Catalogue),
    ctx: &Context,
    person: &PersonView,
    idempotency_key: &str,
    req: &ApplyRequest,
) -> Result<Applied, ApplyError> {
    let pid = &person.pid;
    let id = application_id(pid, idempotency_key);
    let Prepared { rec, revocation } = match prepare(app, person, &id, req).await {
        Ok(p) => p,
        // A retry of an application that was made is answered with it, even if a rule would now
        // refuse it (the period may have closed in between). Only refusals pay this extra read.
        Err(e) if e.is_refusal() => return replay(app, &id, req).await?.ok_or(e),
        Err(e) => return Err(e),
    };
    let now = rec.created_at;
    let mut ops = vec![
        TxOp::Put { table: &APPLICATIONS, item: rec.to_item(), cond: Some(Cond::not_exists("pk")) },
        TxOp::Put {
            table: &APPLICATIONS,
            item: place_item(&person_measure_key(pid, req.measure), pid, &id, req.measure, now),
            cond: Some(Cond::not_exists("pk").or(Cond::eq("state", ApplicationState::Rejected.as_str()))),
        },
        TxOp::Put {
            table: &APPLICATIONS,
            item: place_item(&account_measure_key(&req.service, &req.account, req.measure), pid, &id, req.measure, now),
            cond: Some(Cond::not_exists("pk").or(Cond::eq("state", ApplicationState::Rejected.as_str()))),
        },
        measure_open_check(req.measure, now),
        service_accepting_check(&req.service, req.measure),
    ];
    ops.extend(revocation);
    let event = Event::success("mynapoint.apply", vec![format!("person:{pid}"), format!("application:{id}")])
        .with_detail(serde_json::json!({
            "measure": req.measure.as_str(),
            "service": req.service.as_str(),
            "points_cap": rec.points_cap,
        }));
    // Round trip 2.
    if let Err(e) = audit::commit(app, ctx, event, ops).await {
        return Err(match e.failed_condition_index() {
            Some(0) => match replay(app, &id, req).await? {
                Some(a) => return Ok(a),
                None => ApplyError::KeyReused,
            },
            Some(1) => ApplyError::AlreadyApplied,
            Some(2) => ApplyError::AccountTaken,
            Some(3) => ApplyError::MeasureClosed,
            Some(4) => ApplyError::ServiceNotAccepting,
            Some(5) => ApplyError::Lapsed,
            _ => ApplyError::Store(e),
        });
    }
    // The queue send (the one SQS call). If it fails, the application is still in the outbox and
    // the dispatch sweep sends it.
    let msg = serde_json::json!({ "application_id": id.as_str() }).to_string();
    if let Err(e) = app.queue().send(&PROVIDER_DISPATCH, OutMessage::new(msg)).await {
        tracing::warn!(error = %e, "dispatch message not sent; the sweep will send it");
        app.metrics().count("dispatch_send_deferred", &[], 1);
    }
    Ok(Applied { application: rec, replayed: false })
}

/// The rules, in the documented order, and the application to write.
async fn prepare(
    app: &(impl Stores + Clocks + Secrets + Revocations + Catalogue),
    person: &PersonView,
    id: &ApplicationId,
    req: &ApplyRequest,
) -> Result<Prepared, ApplyError> {
    let now = app.clock().now();
    // Cached catalogue records: usually no round trip.
    let measure = catalog::measure(app, req.measure).await?.ok_or(ApplyError::MeasureUnknown)?;
    let service = catalog::service(app, &req.service).await?.ok_or(ApplyError::ServiceUnknown)?;
    if !service.accepts(req.measure) {
        return Err(ApplyError::ServiceNotAccepting);
    }
    let codes = SecurityCodes::parse(&req.codes, &service.code_rules).map_err(|e| ApplyError::CodesInvalid(e.0))?;
    if !measure.is_open_at(now) {
        return Err(ApplyError::MeasureClosed);
    }
    let pid = &person.pid;
    // One human, one live application per measure: a person who may be a renewed card's
    // provisional person does not apply until the linkage feed has merged it or the hold ended.
    if let Some(until) = person.link_pending_until {
        return Err(ApplyError::LinkPending { until, checked_at: now.unix_timestamp() });
    }
    let mykey_id = person.mykey_id.clone().ok_or(ApplyError::MyKeyIdRequired)?;
    let (issuer, serial, not_after) = person.session_cert.clone().ok_or(ApplyError::Lapsed)?;
    if !person.cert_linked || not_after.is_some_and(|n| n <= now.unix_timestamp()) {
        return Err(ApplyError::Lapsed);
    }
    let cap = points_cap(&measure, &person.facts)?;
    let revocation = match app.revocation().not_revoked_check(&issuer, &serial).await? {
        NotRevoked::Revoked => return Err(ApplyError::Lapsed),
        NotRevoked::Checked => None,
        NotRevoked::InTransaction(op) => Some(op),
    };
    let sealed = app.sealer().seal(&serde_json::to_vec(codes.codes()).unwrap_or_default(), &codes_aad(id)).await?;
    let request_hash = RequestDigest::new(app.sealer().as_ref(), id, &parts_of(&request_parts(req))).await?;
    let rec = ApplicationRecord {
        id: id.clone(),
        person: pid.clone(),
        mykey_id,
        measure: req.measure,
        service: req.service.clone(),
        provider: service.provider.clone(),
        account: req.account.clone(),
        codes_sealed: Some(sealed),
        state: ApplicationState::Submitted,
        created_at: now,
        points_cap: cap,
        points_granted: 0,
        charge_total: 0,
        balance: None,
        request_hash,
        dispatched_at: None,
        reason: None,
        version: 1,
    };
    Ok(Prepared { rec, revocation })
}

/// The application made by an earlier request with the same key: `Some` if it exists and was
/// made from the same request; `KeyReused` if it was made from another request. The keyed
/// digest is compared in constant time (its key is opened with the sealer).
async fn replay(
    app: &(impl Stores + Secrets),
    id: &ApplicationId,
    req: &ApplyRequest,
) -> Result<Option<Applied>, ApplyError> {
    let Some(r) = record::load(app, id).await? else { return Ok(None) };
    if r.request_hash.matches(app.sealer().as_ref(), id, &parts_of(&request_parts(req))).await? {
        Ok(Some(Applied { application: r, replayed: true }))
    } else {
        Err(ApplyError::KeyReused)
    }
}

fn place_item(key: &Key, pid: &PersonId, id: &ApplicationId, m: MeasureId, now: OffsetDateTime) -> Item {
    let mut i = APPLICATIONS.key_item(key);
    i.insert("person".into(), pid.as_str().into());
    i.insert("application".into(), id.as_str().into());
    i.insert("measure".into(), Value::N(i64::from(m.number())));
    i.insert("state".into(), ApplicationState::Submitted.as_str().into());
    i.insert("since".into(), Value::N(now.unix_timestamp()));
    i
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no such application")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every application of the person, newest first; an audited read.
pub async fn list(app: &impl Audits, ctx: &Context, pid: &PersonId) -> Result<Vec<ApplicationRecord>, ReadError> {
    let apps = record::of_person(app, pid).await?;
    let ev = Event::success("mynapoint.applications_read", vec![format!("person:{pid}")])
        .with_detail(serde_json::json!({ "count": apps.len() }));
    audit::commit_event(app, ctx, ev).await?;
    Ok(apps)
}

/// One of the person's applications with its provider events; an audited read. Another
/// person's application is "not found".
pub async fn get(
    app: &impl Audits,
    ctx: &Context,
    pid: &PersonId,
    id: &ApplicationId,
) -> Result<(ApplicationRecord, Vec<record::EventRecord>), ReadError> {
    let rec = record::load(app, id).await?.filter(|r| &r.person == pid).ok_or(ReadError::NotFound)?;
    let events = record::events(app, id).await?;
    let ev = Event::success("mynapoint.application_read", vec![format!("person:{pid}"), format!("application:{id}")]);
    audit::commit_event(app, ctx, ev).await?;
    Ok((rec, events))
}
