//! HTTP handlers of the audit trail (auditor role): the JSON Lines export of a date range and
//! a verification of its hash chains. Both are themselves audited.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::AuditCtx;
use crate::cursor::{self, Paging};
use crate::extract::ApiQuery;
use crate::problem::ApiError;
use mkpf_core::audit::{self, Event, ExportCursor};

/// Longest range one request may cover.
pub const MAX_RANGE_DAYS: i64 = 31;
/// The header carrying the cursor of the next export page.
pub const NEXT_CURSOR_HEADER: &str = "mkpf-next-cursor";
/// Export pages: 1–5000 records (default 1000), export cursors of up to 512 characters.
const EXPORT_PAGING: Paging = Paging { default_limit: 1000, max_limit: 5000, max_cursor_len: 512 };

fn date(name: &str, s: &str) -> Result<Date, ApiError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| ApiError::invalid_field(name, "expected a date, YYYY-MM-DD (Asia/Tokyo)"))
}

fn range(from: &str, to: &str) -> Result<(Date, Date), ApiError> {
    let (f, t) = (date("from", from)?, date("to", to)?);
    if t < f {
        return Err(ApiError::invalid_field("to", "`to` is before `from`"));
    }
    if (t - f).whole_days() >= MAX_RANGE_DAYS {
        return Err(ApiError::invalid_field("to", format!("a range covers at most {MAX_RANGE_DAYS} days")));
    }
    Ok((f, t))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    from: String,
    to: String,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Records of `from..=to` as JSON Lines (`application/x-ndjson`), up to `limit` (default 1000)
/// per page; the `MKPF-Next-Cursor` header names the next page.
pub async fn export(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let (from, to) = range(&p.from, &p.to)?;
    let (limit, cursor) = EXPORT_PAGING.page::<ExportCursor>(p.limit, p.cursor.as_deref())?;
    let (records, next) = audit::export_page(app.store.as_ref(), from, to, cursor, limit as usize).await?;
    let ev = Event::success("audit.export", vec![format!("range:{from}..{to}")])
        .with_detail(serde_json::json!({"records": records.len()}));
    audit::commit_event(&app, &ctx, ev).await?;
    let mut body = String::new();
    for r in &records {
        body.push_str(&r.to_json());
        body.push('\n');
    }
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    if let Some(n) = next
        && let Ok(v) = HeaderValue::from_str(&cursor::encode(&n))
    {
        resp.headers_mut().insert(NEXT_CURSOR_HEADER, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    from: String,
    to: String,
}

#[derive(Serialize, ToSchema)]
pub struct FindingView {
    pub chain: String,
    pub seq: Option<u64>,
    pub problem: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerificationView {
    /// True when every chain of the range is intact.
    pub intact: bool,
    pub chains: usize,
    pub records: u64,
    pub findings: Vec<FindingView>,
    /// Days checked against their signed seal (YYYY-MM-DD).
    pub sealed_days: Vec<String>,
    /// Days with records but no seal yet (today, or the seal job has not run).
    pub unsealed_days: Vec<String>,
}

pub async fn verification(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiQuery(p): ApiQuery<VerifyParams>,
) -> Result<Json<VerificationView>, ApiError> {
    let (from, to) = range(&p.from, &p.to)?;
    let report = audit::verify(app.store.as_ref(), Some(app.seal_keys.as_ref()), from, to, |_, _| {}).await?;
    let ev = Event::success("audit.verify", vec![format!("range:{from}..{to}")])
        .with_detail(serde_json::json!({"records": report.records, "findings": report.findings.len()}));
    audit::commit_event(&app, &ctx, ev).await?;
    Ok(Json(VerificationView {
        intact: report.ok(),
        chains: report.chains,
        records: report.records,
        sealed_days: report.sealed_days.iter().map(ToString::to_string).collect(),
        unsealed_days: report.unsealed_days.iter().map(ToString::to_string).collect(),
        findings: report
            .findings
            .into_iter()
            .map(|f| FindingView { chain: f.chain, seq: f.seq, problem: f.problem })
            .collect(),
    }))
}
