//! HTTP handlers of the operations area: notices (operator routes and the public list).
//! Request bodies are parsed into domain types here, at the edge; `NoticeError` is mapped to
//! problems once, in `From<NoticeError> for ApiError`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::AuditCtx;
use crate::cursor;
use crate::etag::{self, IfMatch};
use crate::extract::{ApiQuery, PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::domain::notice::{Body, Notice, NoticeId, Severity, Title, Window};
use mkpf_core::domain::time_fmt::{parse_instant, to_jst};
use mkpf_core::ops::notices::{self, NewNotice, NoticeChange, NoticeError};

impl From<NoticeError> for ApiError {
    fn from(e: NoticeError) -> Self {
        match e {
            NoticeError::NotFound => NoticeId::unknown(),
            NoticeError::Withdrawn => {
                ApiError::conflict("notice_withdrawn", "the notice was withdrawn and can no longer change")
            }
            NoticeError::VersionMismatch { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                "Precondition failed",
                format!("the notice changed meanwhile; it is now at version {current}"),
            ),
            NoticeError::InvalidWindow(why) => ApiError::invalid_field("publish_until", why),
            NoticeError::Store(mkpf_core::ports::StoreError::Validation(why)) if why.contains("cursor") => {
                cursor::foreign()
            }
            NoticeError::Store(s) => s.into(),
            NoticeError::Queue(q) => q.into(),
        }
    }
}

/// How prominently citizen screens show a notice.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoticeSeverity {
    Info,
    Important,
}

impl From<NoticeSeverity> for Severity {
    fn from(s: NoticeSeverity) -> Self {
        match s {
            NoticeSeverity::Info => Severity::Info,
            NoticeSeverity::Important => Severity::Important,
        }
    }
}

/// Body of `POST /v1/ops/notices`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNoticeRequest {
    /// 1–120 characters, one line.
    #[schema(min_length = 1, max_length = 120)]
    pub title: String,
    /// 1–4000 characters.
    #[schema(min_length = 1, max_length = 4000)]
    pub body: String,
    /// Default `info`.
    #[serde(default)]
    pub severity: Option<NoticeSeverity>,
    /// RFC 3339 with offset; default: now.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub publish_from: Option<String>,
    /// RFC 3339 with offset, after `publish_from`; absent: no end.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub publish_until: Option<String>,
}

/// Body of `PATCH /v1/ops/notices/{id}`: only the fields present change; `publish_until: null`
/// removes the end of the window.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNoticeRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 120)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000)]
    pub body: Option<String>,
    #[serde(default)]
    pub severity: Option<NoticeSeverity>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub publish_from: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub publish_until: Option<Option<String>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn field<T>(name: &str, r: Result<T, String>) -> Result<T, ApiError> {
    r.map_err(|why| ApiError::invalid_field(name, why))
}

impl CreateNoticeRequest {
    /// Parses the request into a new notice; `publish_from` defaults to `now`.
    fn parse(self, now: time::OffsetDateTime) -> Result<NewNotice, ApiError> {
        let from = self.publish_from.as_deref().map(|s| field("publish_from", parse_instant(s))).transpose()?;
        let until = self.publish_until.as_deref().map(|s| field("publish_until", parse_instant(s))).transpose()?;
        Ok(NewNotice {
            title: field("title", Title::parse(&self.title))?,
            body: field("body", Body::parse(&self.body))?,
            severity: self.severity.map_or(Severity::Info, Severity::from),
            window: field("publish_until", Window::new(from.unwrap_or(now), until))?,
        })
    }
}

impl TryFrom<UpdateNoticeRequest> for NoticeChange {
    type Error = ApiError;
    fn try_from(r: UpdateNoticeRequest) -> Result<Self, ApiError> {
        let change = NoticeChange {
            title: r.title.as_deref().map(|s| field("title", Title::parse(s))).transpose()?,
            body: r.body.as_deref().map(|s| field("body", Body::parse(s))).transpose()?,
            severity: r.severity.map(Severity::from),
            from: r.publish_from.as_deref().map(|s| field("publish_from", parse_instant(s))).transpose()?,
            until: match r.publish_until {
                None => None,
                Some(None) => Some(None),
                Some(Some(s)) => Some(Some(field("publish_until", parse_instant(&s))?)),
            },
        };
        if change.title.is_none()
            && change.body.is_none()
            && change.severity.is_none()
            && change.from.is_none()
            && change.until.is_none()
        {
            return Err(ApiError::invalid_field("body", "nothing to change"));
        }
        Ok(change)
    }
}

/// A notice as operators see it. Times are Asia/Tokyo.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub severity: String,
    /// `scheduled`, `published`, `expired` or `withdrawn`, at the time of the response.
    pub state: String,
    pub publish_from: String,
    pub publish_until: Option<String>,
    pub withdrawn_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

impl NoticeView {
    fn of(n: &Notice, now: time::OffsetDateTime) -> Self {
        NoticeView {
            id: n.id.as_str().into(),
            title: n.title.as_str().into(),
            body: n.body.as_str().into(),
            severity: n.severity.as_str().into(),
            state: n.state_at(now).as_str().into(),
            publish_from: to_jst(n.window.from()),
            publish_until: n.window.until().map(to_jst),
            withdrawn_at: n.withdrawn_at.map(to_jst),
            created_at: to_jst(n.created_at),
            updated_at: to_jst(n.updated_at),
            version: n.version,
        }
    }
}

/// A page of notices.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticePage {
    pub items: Vec<NoticeView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A notice as citizens see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicNotice {
    pub id: String,
    pub title: String,
    pub body: String,
    pub severity: String,
    pub publish_from: String,
    pub publish_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicNoticeList {
    pub items: Vec<PublicNotice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// What `If-Match` holds on the notice routes.
const VERSION: &str = "notice version";

fn with_etag(status: StatusCode, n: &Notice, now: time::OffsetDateTime) -> Response {
    etag::with_etag((status, Json(NoticeView::of(n, now))).into_response(), n.version)
}

impl PathParam for NoticeId {
    fn parse_param(raw: &str) -> Option<Self> {
        NoticeId::parse(raw).ok()
    }
    fn unknown() -> ApiError {
        ApiError::not_found("notice_not_found", "no notice has this id")
    }
}

pub async fn create(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<CreateNoticeRequest>,
) -> Result<Response, ApiError> {
    let now = app.clock.now();
    let new = req.parse(now)?;
    let n = notices::create(&app, &ctx, new).await?;
    let resp = with_etag(StatusCode::CREATED, &n, now);
    Ok(etag::with_location(resp, format!("/v1/ops/notices/{}", n.id.as_str())))
}

pub async fn get(State(app): State<App>, PathId(id): PathId<NoticeId>) -> Result<Response, ApiError> {
    let n = notices::get(&app, &id).await?;
    Ok(with_etag(StatusCode::OK, &n, app.clock.now()))
}

pub async fn list(State(app): State<App>, ApiQuery(p): ApiQuery<ListParams>) -> Result<Json<NoticePage>, ApiError> {
    let (limit, cursor) = cursor::page(p.limit, p.cursor.as_deref())?;
    let (items, next) = notices::list(&app, cursor, limit).await?;
    let now = app.clock.now();
    Ok(Json(NoticePage {
        items: items.iter().map(|n| NoticeView::of(n, now)).collect(),
        next_cursor: next.as_ref().map(cursor::encode),
    }))
}

pub async fn update(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    id: Result<PathId<NoticeId>, ApiError>,
    ApiJson(req): ApiJson<UpdateNoticeRequest>,
) -> Result<Response, ApiError> {
    let PathId(id) = id?;
    let expected = if_match.version(VERSION)?;
    let change = NoticeChange::try_from(req)?;
    let n = notices::update(&app, &ctx, &id, change, expected).await?;
    Ok(with_etag(StatusCode::OK, &n, app.clock.now()))
}

pub async fn withdraw(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    PathId(id): PathId<NoticeId>,
) -> Result<Response, ApiError> {
    let expected = if_match.version(VERSION)?;
    let n = notices::withdraw(&app, &ctx, &id, expected).await?;
    Ok(with_etag(StatusCode::OK, &n, app.clock.now()))
}

pub async fn public_list(State(app): State<App>) -> Result<Json<PublicNoticeList>, ApiError> {
    let items = notices::list_published(&app)
        .await?
        .into_iter()
        .map(|n| PublicNotice {
            id: n.id.as_str().into(),
            title: n.title.as_str().into(),
            body: n.body.as_str().into(),
            severity: n.severity.as_str().into(),
            publish_from: to_jst(n.window.from()),
            publish_until: n.window.until().map(to_jst),
        })
        .collect();
    Ok(Json(PublicNoticeList { items }))
}
