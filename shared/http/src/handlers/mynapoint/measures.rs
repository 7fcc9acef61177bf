//! HTTP handlers of Mynapoint measures (`mkpf_core::mynapoint::measures`): the public list, and
//! for operators (auditors read) list, seed, change of period, suspend and resume.
//!
//! Problem codes: `measure_unknown` / `measure_not_configured` (404), `measure_already_suspended`
//! / `measure_not_suspended` (409), and the catalogue's common ones (see [`super::catalog`]).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::catalog::{VERSION, field, publicly_cacheable, version_mismatch};
use crate::app::App;
use crate::auth::AuditCtx;
use crate::etag::{IfMatch, with_etag};
use crate::extract::{PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::domain::mynapoint::{MeasureId, PointsRule};
use mkpf_core::domain::time_fmt::{parse_instant, to_jst};
use mkpf_core::mynapoint::catalog::{MeasureConfig, MeasureStatus};
use mkpf_core::mynapoint::measures::{self, MeasureChangeError, MeasureRecord, PeriodChange, Reason};

impl From<MeasureChangeError> for ApiError {
    fn from(e: MeasureChangeError) -> Self {
        match e {
            MeasureChangeError::NotConfigured => ApiError::not_found(
                "measure_not_configured",
                "the measure is not configured yet (POST /v1/ops/mynapoint/measures/seed)",
            ),
            MeasureChangeError::VersionMismatch { current } => version_mismatch("measure", current),
            MeasureChangeError::InvalidPeriod { field, why } => ApiError::invalid_field(field, why),
            MeasureChangeError::AlreadySuspended => {
                ApiError::conflict("measure_already_suspended", "the measure is suspended already")
            }
            MeasureChangeError::NotSuspended => {
                ApiError::conflict("measure_not_suspended", "the measure is not suspended")
            }
            MeasureChangeError::Store(s) => s.into(),
        }
    }
}

/// A measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeasureName {
    /// 1: card acquisition (25% of charges/purchases, up to 5,000 points).
    CardAcquisition,
    /// 2: health-insurance registration (7,500 points).
    HealthInsurance,
    /// 3: public-funds account registration (7,500 points).
    PublicFundsAccount,
}

impl From<MeasureName> for MeasureId {
    fn from(m: MeasureName) -> Self {
        match m {
            MeasureName::CardAcquisition => MeasureId::CardAcquisition,
            MeasureName::HealthInsurance => MeasureId::HealthInsurance,
            MeasureName::PublicFundsAccount => MeasureId::PublicFundsAccount,
        }
    }
}

impl From<MeasureId> for MeasureName {
    fn from(m: MeasureId) -> Self {
        match m {
            MeasureId::CardAcquisition => MeasureName::CardAcquisition,
            MeasureId::HealthInsurance => MeasureName::HealthInsurance,
            MeasureId::PublicFundsAccount => MeasureName::PublicFundsAccount,
        }
    }
}

/// How a measure's points are computed.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// `percent`% of each charge or purchase, up to `max_points` in all.
    Percent,
    /// `max_points`, once.
    Flat,
}

/// A measure's points rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub kind: RuleKind,
    /// For `percent`: the share of each charge or purchase; null for `flat`.
    #[schema(required = true)]
    pub percent: Option<u8>,
    /// The most points one application receives.
    pub max_points: i64,
}

impl RuleView {
    fn of(r: PointsRule) -> RuleView {
        match r {
            PointsRule::Percent { percent, cap } => {
                RuleView { kind: RuleKind::Percent, percent: Some(percent), max_points: cap }
            }
            PointsRule::Flat { points } => RuleView { kind: RuleKind::Flat, percent: None, max_points: points },
        }
    }
}

/// A measure as anyone may see it. Times are RFC 3339 in Asia/Tokyo.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicMeasureView {
    pub measure: MeasureName,
    /// The programme's number (1–3).
    pub number: u8,
    pub name: String,
    pub rule: RuleView,
    /// Applications are taken from `opens_at` (inclusive) …
    pub opens_at: String,
    /// … to `closes_at` (exclusive).
    pub closes_at: String,
    /// Providers grant points by then.
    pub grant_deadline: String,
    /// Measure 3: the public-funds account must be registered before then; null for the others.
    #[schema(required = true)]
    pub registration_deadline: Option<String>,
    /// Whether applications are taken now (open and inside the period).
    pub open: bool,
}

impl PublicMeasureView {
    fn of(c: &MeasureConfig, now: OffsetDateTime) -> PublicMeasureView {
        PublicMeasureView {
            measure: c.id.into(),
            number: c.id.number(),
            name: c.name.clone(),
            rule: RuleView::of(c.rule),
            opens_at: to_jst(c.opens_at),
            closes_at: to_jst(c.closes_at),
            grant_deadline: to_jst(c.grant_deadline),
            registration_deadline: c.registration_deadline.map(to_jst),
            open: c.is_open_at(now),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicMeasureList {
    pub items: Vec<PublicMeasureView>,
}

/// Whether operators let a measure take applications.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeasureStatusName {
    Open,
    Suspended,
}

/// A measure as operators see it (ETag: its version).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureView {
    pub measure: MeasureName,
    pub number: u8,
    pub name: String,
    pub rule: RuleView,
    pub opens_at: String,
    pub closes_at: String,
    pub grant_deadline: String,
    #[schema(required = true)]
    pub registration_deadline: Option<String>,
    /// Whether applications are taken now.
    pub open: bool,
    /// `suspended` stops applications whatever the period says.
    pub status: MeasureStatusName,
    /// The reason given at the last suspend or resume.
    #[schema(required = true)]
    pub status_reason: Option<String>,
    #[schema(required = true)]
    pub status_changed_at: Option<String>,
    #[schema(required = true)]
    pub updated_at: Option<String>,
    /// Bumped by every change; send it as `If-Match` to change only what you saw.
    pub version: i64,
}

impl MeasureView {
    fn of(r: &MeasureRecord, now: OffsetDateTime) -> MeasureView {
        let p = PublicMeasureView::of(&r.config, now);
        MeasureView {
            measure: p.measure,
            number: p.number,
            name: p.name,
            rule: p.rule,
            opens_at: p.opens_at,
            closes_at: p.closes_at,
            grant_deadline: p.grant_deadline,
            registration_deadline: p.registration_deadline,
            open: p.open,
            status: match r.config.status {
                MeasureStatus::Open => MeasureStatusName::Open,
                MeasureStatus::Suspended => MeasureStatusName::Suspended,
            },
            status_reason: r.status_reason.clone(),
            status_changed_at: r.status_changed_at.map(to_jst),
            updated_at: r.updated_at.map(to_jst),
            version: r.config.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureList {
    pub items: Vec<MeasureView>,
}

/// What the seed did with one measure.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeededMeasure {
    pub measure: MeasureName,
    /// False when it was configured already (left unchanged).
    pub created: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeedReport {
    pub items: Vec<SeededMeasure>,
}

/// Body of `PATCH /v1/ops/mynapoint/measures/{measure}`: the dates to change (RFC 3339 with
/// offset; shown back in Asia/Tokyo). The result must keep `opens_at < closes_at ≤
/// grant_deadline`. Null is the same as absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeasureRequest {
    #[serde(default)]
    #[schema(format = DateTime)]
    pub opens_at: Option<String>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub closes_at: Option<String>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub grant_deadline: Option<String>,
    /// Only for `public_funds_account`.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub registration_deadline: Option<String>,
}

/// Body of the suspend and resume routes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeRequest {
    /// Why (kept with the measure and in the audit trail): 1–200 characters, one line.
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

impl PathParam for MeasureId {
    fn parse_param(raw: &str) -> Option<Self> {
        MeasureId::parse(raw).ok()
    }
    fn unknown() -> ApiError {
        ApiError::not_found(
            "measure_unknown",
            "measures are card_acquisition, health_insurance and public_funds_account",
        )
    }
}

fn measure_response(r: &MeasureRecord, now: OffsetDateTime) -> Response {
    with_etag(Json(MeasureView::of(r, now)).into_response(), r.config.version)
}

/// `GET /v1/mynapoint/measures` (public).
pub async fn public_measures(State(app): State<App>) -> Result<Response, ApiError> {
    let now = app.clock.now();
    let items = measures::list_cached(&app).await?.iter().map(|c| PublicMeasureView::of(c, now)).collect();
    Ok(publicly_cacheable(Json(PublicMeasureList { items }).into_response()))
}

/// `GET /v1/ops/mynapoint/measures`.
pub async fn list_measures(State(app): State<App>) -> Result<Json<MeasureList>, ApiError> {
    let now = app.clock.now();
    let items = measures::list(&app).await?.iter().map(|r| MeasureView::of(r, now)).collect();
    Ok(Json(MeasureList { items }))
}

/// `POST /v1/ops/mynapoint/measures/seed`: configures the phase-2 measures not configured yet
/// (repeating it changes nothing).
pub async fn seed_measures(State(app): State<App>, AuditCtx(ctx): AuditCtx) -> Result<Json<SeedReport>, ApiError> {
    let items = measures::seed(&app, &ctx)
        .await?
        .into_iter()
        .map(|s| SeededMeasure { measure: s.measure.into(), created: s.created })
        .collect();
    Ok(Json(SeedReport { items }))
}

/// `PATCH /v1/ops/mynapoint/measures/{measure}` (If-Match: version, optional).
pub async fn update_measure(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    m: Result<PathId<MeasureId>, ApiError>,
    ApiJson(req): ApiJson<UpdateMeasureRequest>,
) -> Result<Response, ApiError> {
    let PathId(m) = m?;
    let expected = if_match.version(VERSION)?;
    let at = |name: &str, v: &Option<String>| v.as_deref().map(|s| field(name, parse_instant(s))).transpose();
    let change = PeriodChange {
        opens_at: at("opens_at", &req.opens_at)?,
        closes_at: at("closes_at", &req.closes_at)?,
        grant_deadline: at("grant_deadline", &req.grant_deadline)?,
        registration_deadline: at("registration_deadline", &req.registration_deadline)?,
    };
    if change.is_empty() {
        return Err(ApiError::invalid_field("body", "nothing to change"));
    }
    let r = measures::change_period(&app, &ctx, m, change, expected).await?;
    Ok(measure_response(&r, app.clock.now()))
}

/// `POST /v1/ops/mynapoint/measures/{measure}/suspend` (If-Match: version, optional).
pub async fn suspend_measure(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    m: Result<PathId<MeasureId>, ApiError>,
    ApiJson(req): ApiJson<StatusChangeRequest>,
) -> Result<Response, ApiError> {
    let PathId(m) = m?;
    let expected = if_match.version(VERSION)?;
    let reason = field("reason", Reason::parse(&req.reason))?;
    let r = measures::suspend(&app, &ctx, m, &reason, expected).await?;
    Ok(measure_response(&r, app.clock.now()))
}

/// `POST /v1/ops/mynapoint/measures/{measure}/resume` (If-Match: version, optional).
pub async fn resume_measure(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    m: Result<PathId<MeasureId>, ApiError>,
    ApiJson(req): ApiJson<StatusChangeRequest>,
) -> Result<Response, ApiError> {
    let PathId(m) = m?;
    let expected = if_match.version(VERSION)?;
    let reason = field("reason", Reason::parse(&req.reason))?;
    let r = measures::resume(&app, &ctx, m, &reason, expected).await?;
    Ok(measure_response(&r, app.clock.now()))
}
