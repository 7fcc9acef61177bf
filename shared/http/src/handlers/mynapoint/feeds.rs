//! HTTP handlers of Mynapoint data in and out (staff only): eligibility-feed imports and their
//! reports, reconciliation reports (list, CSV download) and the operator inquiry. Errors of each
//! use case are mapped to problems once, in the `From` impls below.
//!
//! Problem codes: `eligibility_feed_invalid` (422, naming the line), `eligibility_kind_unknown`
//! (404), `eligibility_feed_not_found` (404), `provider_unknown` (404, a malformed provider id),
//! `report_not_found` (404), `report_part_not_found` (404), `report_too_large` (422: download it
//! by `part`), `invalid_query` / `invalid_cursor` (400), `invalid_field` (422),
//! `unsupported_media_type` (415), `payload_too_large` (413).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::AuditCtx;
use crate::cursor;
use crate::extract::{ApiPath, ApiQuery};
use crate::json::{read_body, require_media_type};
use crate::problem::ApiError;
use mkpf_core::audit::{self, Event};
use mkpf_core::domain::mynapoint::{ApplicationId, ProviderId, ServiceAccountId, ServiceCode};
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::mykey::id::MyKeyId;
use mkpf_core::mynapoint::eligibility::{self, ImportError};
use mkpf_core::mynapoint::eligibility_check::FactKind;
use mkpf_core::mynapoint::inquiry::{self, InquiryKey};
use mkpf_core::mynapoint::reconciliation::{self, Period, ReportError, ReportKind};

/// The largest eligibility feed the route accepts (about 50,000 rows); larger ones:
/// `mkpf-admin mynapoint import-eligibility`, or split.
pub const MAX_FEED_BODY: usize = 4 * 1024 * 1024;

fn feed_invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "eligibility_feed_invalid", "Eligibility feed refused", detail)
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(f) => feed_invalid(f.to_string()),
            ImportError::Store(s) => s.into(),
            ImportError::Queue(q) => q.into(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::NotFound => ApiError::not_found("report_not_found", "no report of this provider and period"),
            ReportError::PartUnknown { parts } => {
                ApiError::not_found("report_part_not_found", format!("the report has {parts} part(s), numbered from 1"))
            }
            ReportError::TooLarge { bytes, parts } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "report_too_large",
                "Report too large",
                format!("the report is {bytes} bytes; download its {parts} parts one by one with ?part=1..{parts}"),
            ),
            ReportError::Busy => ApiError::conflict("report_busy", "another run is writing this report; retry later"),
            ReportError::InvalidCursor => cursor::foreign(),
            ReportError::Store(s) => s.into(),
        }
    }
}

fn fact_kind(s: &str) -> Result<FactKind, ApiError> {
    FactKind::parse(s).ok_or_else(|| {
        ApiError::not_found(
            "eligibility_kind_unknown",
            "the kind is one of health_insurance, public_funds_account, phase1_points",
        )
    })
}

/// Imports an eligibility feed of `kind`: 202 with the new import, or 200 with the existing one
/// when this file was imported before (its unfinished batches are queued again).
pub async fn import_eligibility(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiPath(kind): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let kind = fact_kind(&kind)?;
    require_media_type(&headers, "text/csv", "send the eligibility feed as text/csv")?;
    let bytes = read_body(body, MAX_FEED_BODY).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| feed_invalid("the feed is not UTF-8"))?;
    let (view, created) = eligibility::import_feed(&app, &ctx, kind, text).await?;
    let status = if created { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(FeedView::from(view))).into_response())
}

/// An import's progress and unmatched rows. The rows name certificates: reading them is audited.
pub async fn eligibility_feed(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiPath((kind, feed_id)): ApiPath<(String, String)>,
) -> Result<Json<FeedView>, ApiError> {
    let kind = fact_kind(&kind)?;
    let not_found =
        || ApiError::not_found("eligibility_feed_not_found", "no eligibility feed import of this kind has this id");
    if feed_id.len() != 32 || !feed_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(not_found());
    }
    let view = eligibility::view(&app, kind, &feed_id).await?.ok_or_else(not_found)?;
    let event = Event::success("mynapoint.eligibility_feed_read", vec![format!("efeed:{feed_id}")])
        .with_detail(serde_json::json!({"kind": kind.as_str(), "unmatched_rows": view.unmatched_rows.len()}));
    audit::commit_event(&app, &ctx, event).await?;
    Ok(Json(view.into()))
}

fn provider(s: &str) -> Result<ProviderId, ApiError> {
    ProviderId::parse(s).map_err(|_| ApiError::not_found("provider_unknown", "no provider has this id"))
}

/// A page of a provider's reports.
#[derive(Serialize, ToSchema)]
pub struct ReportPage {
    /// Newest period first (monthly summaries before daily reports when both are listed).
    pub items: Vec<ReportInfo>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportListParams {
    kind: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub async fn list_reports(
    State(app): State<App>,
    ApiPath(provider_id): ApiPath<String>,
    params: Result<ApiQuery<ReportListParams>, ApiError>,
) -> Result<Json<ReportPage>, ApiError> {
    let provider = provider(&provider_id)?;
    let ApiQuery(q) = params?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| ReportKind::parse(k).ok_or_else(|| ApiError::bad_request("invalid_query", "kind is daily or monthly")))
        .transpose()?;
    let (limit, cursor) = cursor::page(q.limit, q.cursor.as_deref())?;
    let (items, next) = reconciliation::list(&app, &provider, kind, limit, cursor).await?;
    Ok(Json(ReportPage {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: next.as_ref().map(cursor::encode),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadParams {
    part: Option<i64>,
}

/// A report as CSV (`text/csv; charset=utf-8`), whole or one part; audited.
pub async fn download_report(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiPath((provider_id, kind, period)): ApiPath<(String, String, String)>,
    params: Result<ApiQuery<DownloadParams>, ApiError>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::from(ReportError::NotFound);
    let provider = ProviderId::parse(&provider_id).map_err(|_| not_found())?;
    let kind = ReportKind::parse(&kind).ok_or_else(not_found)?;
    let period = Period::parse(kind, &period).map_err(|_| not_found())?;
    let ApiQuery(q) = params?;
    let (info, body) = reconciliation::content(&app, &provider, period, q.part).await?;
    let event =
        Event::success("mynapoint.report_download", vec![format!("report:{provider}:{}:{period}", kind.as_str())])
            .with_detail(serde_json::json!({"part": q.part, "bytes": body.len(), "rows": info.rows}));
    audit::commit_event(&app, &ctx, event).await?;
    let part = q.part.map(|n| format!("-part{n}")).unwrap_or_default();
    let filename = format!("mynapoint-{provider}-{}-{period}{part}.csv", kind.as_str());
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Body of `POST /v1/ops/mynapoint/inquiries`: exactly one of `mykey_id`, `application_id`, or
/// `service_code` with `service_account_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryRequest {
    /// A MyKey ID the person holds or held (8 characters; lower case accepted).
    #[schema(pattern = "^[2-9A-HJKMNP-Za-hjkmnp-z]{8}$")]
    pub mykey_id: Option<String>,
    /// One of the person's applications.
    #[schema(pattern = "^app_[0-9a-f]{32}$")]
    pub application_id: Option<String>,
    /// A payment service's code (with `service_account_id`).
    #[schema(pattern = "^[A-Z0-9_]{2,16}$")]
    pub service_code: Option<String>,
    /// The account id at that service used to apply (with `service_code`). Never recorded in
    /// clear: the audit trail holds a digest.
    #[schema(pattern = "^[A-Za-z0-9-]{1,64}$")]
    pub service_account_id: Option<String>,
}

impl TryFrom<InquiryRequest> for InquiryKey {
    type Error = ApiError;
    fn try_from(r: InquiryRequest) -> Result<Self, ApiError> {
        match (r.mykey_id, r.application_id, r.service_code, r.service_account_id) {
            (Some(id), None, None, None) => {
                MyKeyId::parse(&id).map(InquiryKey::MyKeyId).map_err(|e| ApiError::invalid_field("mykey_id", e))
            }
            (None, Some(id), None, None) => ApplicationId::parse(&id)
                .map(InquiryKey::Application)
                .map_err(|e| ApiError::invalid_field("application_id", e)),
            (None, None, Some(s), Some(a)) => Ok(InquiryKey::ServiceAccount(
                ServiceCode::parse(&s).map_err(|e| ApiError::invalid_field("service_code", e))?,
                ServiceAccountId::parse(&a).map_err(|e| ApiError::invalid_field("service_account_id", e))?,
            )),
            _ => Err(ApiError::invalid_field(
                "body",
                "give exactly one of mykey_id, application_id, or service_code with service_account_id",
            )),
        }
    }
}

/// What an inquiry found.
#[derive(Serialize, ToSchema)]
pub struct InquiryResponse {
    /// `mykey_id`, `application_id` or `service_account`.
    pub by: String,
    /// The people found (none, one, or — by service account — each person whose application
    /// holds the account's place for a measure).
    pub people: Vec<InquiryPerson>,
}

/// One person and their applications.
#[derive(Serialize, ToSchema)]
pub struct InquiryPerson {
    /// Their MyKey ID now; null when they have none (revoked).
    #[schema(required = true)]
    pub mykey_id: Option<String>,
    /// Every application they made, newest first.
    pub applications: Vec<InquiryApplication>,
}

/// An application as operators see it (never the security codes; the service account only as a
/// hint).
#[derive(Serialize, ToSchema)]
pub struct InquiryApplication {
    pub application_id: String,
    /// `card_acquisition`, `health_insurance` or `public_funds_account`.
    pub measure: String,
    pub service_code: String,
    pub provider_id: String,
    /// `submitted`, `dispatched`, `accepted`, `rejected` or `stopped`.
    pub state: String,
    pub points_cap: i64,
    pub points_granted: i64,
    pub points_remaining: i64,
    /// The provider's last reported balance.
    #[schema(required = true)]
    pub balance: Option<i64>,
    /// RFC 3339 (Asia/Tokyo).
    pub created_at: String,
    /// When the provider took the dispatch; null until then.
    #[schema(required = true)]
    pub dispatched_at: Option<String>,
    /// Why it was rejected or stopped.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// The MyKey ID the person held when applying.
    pub applied_with_mykey_id: String,
    /// The last four characters of the service account id, masked: `****1234`.
    pub service_account_hint: String,
    /// Whether the inquiry named this application (by its id, or by its service account).
    pub matched: bool,
}

fn hint(account: &str) -> String {
    let n = account.chars().count();
    let tail: String = if n > 4 { account.chars().skip(n - 4).collect() } else { String::new() };
    format!("****{tail}")
}

/// Looks up a person's applications (audited, found or not).
pub async fn inquire(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    crate::json::ApiJson(req): crate::json::ApiJson<InquiryRequest>,
) -> Result<Json<InquiryResponse>, ApiError> {
    let key = InquiryKey::try_from(req)?;
    let found = inquiry::inquire(&app, &ctx, &key).await?;
    let people = found
        .into_iter()
        .map(|p| InquiryPerson {
            mykey_id: p.mykey_id,
            applications: p
                .applications
                .iter()
                .map(|a| InquiryApplication {
                    application_id: a.id.as_str().into(),
                    measure: a.measure.as_str().into(),
                    service_code: a.service.as_str().into(),
                    provider_id: a.provider.as_str().into(),
                    state: a.state.as_str().into(),
                    points_cap: a.points_cap,
                    points_granted: a.points_granted,
                    points_remaining: a.remaining(),
                    balance: a.balance,
                    created_at: to_jst(a.created_at),
                    dispatched_at: a.dispatched_at.map(to_jst),
                    reason: a.reason.clone(),
                    applied_with_mykey_id: a.mykey_id.clone(),
                    service_account_hint: hint(a.account.as_str()),
                    matched: p.matched.contains(&a.id),
                })
                .collect(),
        })
        .collect();
    Ok(Json(InquiryResponse { by: key.kind().into(), people }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_hints_show_at_most_the_last_four() {
        assert_eq!(hint("0123456789"), "****6789");
        assert_eq!(hint("1234"), "****");
        assert_eq!(hint("a"), "****");
    }
}

// --- wire types ---------------------------------------------------------------------------------

/// An eligibility feed import's progress and report.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    /// 32 hex digits, derived from the kind and the rows (the same file gives the same id).
    pub feed_id: String,
    /// `health_insurance`, `public_funds_account` or `phase1_points`.
    pub kind: String,
    pub rows: i64,
    pub batches: i64,
    pub batches_done: i64,
    /// `processing` or `done`.
    pub status: String,
    /// Rows that gave a person a fact they did not have.
    pub recorded: i64,
    /// Rows that changed a person's fact (an earlier registration, a larger phase-1 total).
    pub updated: i64,
    /// Rows that changed nothing (the fact was already on record, or a later/smaller one).
    pub unchanged: i64,
    /// Rows whose certificate is linked to nobody yet (their facts are kept by certificate and
    /// join the person when the certificate is first linked).
    pub unmatched: i64,
    /// The unmatched rows, by line (at most 1000).
    pub unmatched_rows: Vec<UnmatchedRow>,
    /// When the import was recorded, RFC 3339 (Asia/Tokyo).
    pub created_at: String,
}

/// A row whose certificate is linked to nobody.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnmatchedRow {
    pub line: u32,
    pub issuer: String,
    pub serial: String,
}

impl From<eligibility::FeedView> for FeedView {
    fn from(v: eligibility::FeedView) -> Self {
        let eligibility::FeedView {
            feed_id,
            kind,
            rows,
            batches,
            batches_done,
            status,
            recorded,
            updated,
            unchanged,
            unmatched,
            unmatched_rows,
            created_at,
        } = v;
        let unmatched_rows = unmatched_rows
            .into_iter()
            .map(|r| {
                let eligibility::UnmatchedRow { line, issuer, serial } = r;
                UnmatchedRow { line, issuer, serial }
            })
            .collect();
        FeedView {
            feed_id,
            kind,
            rows,
            batches,
            batches_done,
            status,
            recorded,
            updated,
            unchanged,
            unmatched,
            unmatched_rows,
            created_at,
        }
    }
}

/// A stored report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportInfo {
    pub provider_id: String,
    pub kind: ReportKindName,
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

/// Daily or monthly.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReportKind)]
pub enum ReportKindName {
    Daily,
    Monthly,
}

/// The sums of a report.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<reconciliation::ReportInfo> for ReportInfo {
    fn from(r: reconciliation::ReportInfo) -> Self {
        let reconciliation::ReportInfo { provider_id, kind, period, generated_at, rows, bytes, parts, sha256, totals } =
            r;
        let reconciliation::Totals {
            applications,
            events,
            grants,
            points_granted,
            charge_amount,
            refused_over_cap,
            points_refused_over_cap,
        } = totals;
        let kind = match kind {
            ReportKind::Daily => ReportKindName::Daily,
            ReportKind::Monthly => ReportKindName::Monthly,
        };
        ReportInfo {
            provider_id,
            kind,
            period,
            generated_at,
            rows,
            bytes,
            parts,
            sha256,
            totals: Totals {
                applications,
                events,
                grants,
                points_granted,
                charge_amount,
                refused_over_cap,
                points_refused_over_cap,
            },
        }
    }
}
