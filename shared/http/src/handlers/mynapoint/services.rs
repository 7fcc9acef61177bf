//! HTTP handlers of Mynapoint payment services (`mkpf_core::mynapoint::services`): create (with
//! the first webhook signing secret), list, get, update, intake status, for operators (auditors
//! read); and the public list of services taking applications. Rotating a service's secret:
//! [`super::secrets::rotate_secret`].
//!
//! Problem codes: `service_exists` (409), `service_not_found` (404), `provider_unknown` (422: a
//! service for a provider that does not exist), `endpoint_not_allowed` (422), `service_withdrawn`
//! (409: a withdrawn service's intake is final), and the catalogue's common ones (see
//! [`super::catalog`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::catalog::{VERSION, exact, field, publicly_cacheable, sealer_problem, secret_bearing, version_mismatch};
use super::measures::MeasureName;
use super::secrets::{NewSecretView, SecretOwner, SecretView, secret_views};
use crate::app::App;
use crate::auth::AuditCtx;
use crate::etag::{IfMatch, with_etag, with_location};
use crate::extract::{ApiQuery, PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::audit::Context;
use mkpf_core::domain::mynapoint::{
    CodeCharset, CodeRule, CodeRules, IntakeStatus, MeasureId, ProviderId, ServiceCode, ServiceKind,
};
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::mynapoint::catalog::ServiceConfig;
use mkpf_core::mynapoint::providers::CatalogName;
use mkpf_core::mynapoint::secrets::{NewSecret, Overlap, RotateError, SecretMeta};
use mkpf_core::mynapoint::services::{
    self, CreateServiceError, Endpoint, EndpointError, MeasureSet, NewService, PublicService, ServiceChange,
    ServiceDetail, ServiceReadError, UpdateServiceError,
};

fn service_not_found() -> ApiError {
    ApiError::not_found("service_not_found", "no payment service has this code")
}

impl From<CreateServiceError> for ApiError {
    fn from(e: CreateServiceError) -> Self {
        match e {
            CreateServiceError::Exists => {
                ApiError::conflict("service_exists", "a payment service with this code exists")
            }
            CreateServiceError::ProviderUnknown => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "provider_unknown",
                "Unknown provider",
                "provider_id: no provider has this id; create the provider first",
            ),
            CreateServiceError::Store(s) => s.into(),
            CreateServiceError::Sealer(k) => sealer_problem(k),
        }
    }
}

impl From<ServiceReadError> for ApiError {
    fn from(e: ServiceReadError) -> Self {
        match e {
            ServiceReadError::NotFound => service_not_found(),
            ServiceReadError::Store(s) => s.into(),
        }
    }
}

impl From<UpdateServiceError> for ApiError {
    fn from(e: UpdateServiceError) -> Self {
        match e {
            UpdateServiceError::NotFound => service_not_found(),
            UpdateServiceError::VersionMismatch { current } => version_mismatch("payment service", current),
            UpdateServiceError::Withdrawn => {
                ApiError::conflict("service_withdrawn", "the service was withdrawn; its intake status is final")
            }
            UpdateServiceError::Store(s) => s.into(),
        }
    }
}

/// A payment service's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKindName {
    EMoney,
    QrCode,
    CreditCard,
    DebitCard,
    Prepaid,
}

impl From<ServiceKindName> for ServiceKind {
    fn from(k: ServiceKindName) -> Self {
        match k {
            ServiceKindName::EMoney => ServiceKind::EMoney,
            ServiceKindName::QrCode => ServiceKind::QrCode,
            ServiceKindName::CreditCard => ServiceKind::CreditCard,
            ServiceKindName::DebitCard => ServiceKind::DebitCard,
            ServiceKindName::Prepaid => ServiceKind::Prepaid,
        }
    }
}

impl From<ServiceKind> for ServiceKindName {
    fn from(k: ServiceKind) -> Self {
        match k {
            ServiceKind::EMoney => ServiceKindName::EMoney,
            ServiceKind::QrCode => ServiceKindName::QrCode,
            ServiceKind::CreditCard => ServiceKindName::CreditCard,
            ServiceKind::DebitCard => ServiceKindName::DebitCard,
            ServiceKind::Prepaid => ServiceKindName::Prepaid,
        }
    }
}

/// A payment service's intake status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntakeName {
    /// New applications are taken (for the service's measures).
    Accepting,
    /// No new applications; existing ones continue.
    IntakeClosed,
    /// The provider withdrew early (final).
    Withdrawn,
}

impl From<IntakeName> for IntakeStatus {
    fn from(i: IntakeName) -> Self {
        match i {
            IntakeName::Accepting => IntakeStatus::Accepting,
            IntakeName::IntakeClosed => IntakeStatus::IntakeClosed,
            IntakeName::Withdrawn => IntakeStatus::Withdrawn,
        }
    }
}

impl From<IntakeStatus> for IntakeName {
    fn from(i: IntakeStatus) -> Self {
        match i {
            IntakeStatus::Accepting => IntakeName::Accepting,
            IntakeStatus::IntakeClosed => IntakeName::IntakeClosed,
            IntakeStatus::Withdrawn => IntakeName::Withdrawn,
        }
    }
}

/// The characters a security code consists of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CharsetName {
    /// 0–9.
    Digits,
    /// A–Z, a–z and 0–9.
    Alphanumeric,
}

/// One security code a service asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRuleBody {
    /// Shown to the citizen, e.g. "PIN": 1–40 characters.
    #[schema(min_length = 1, max_length = 40)]
    pub label: String,
    pub charset: CharsetName,
    /// 1 to 32, at most `max_len`.
    #[schema(minimum = 1, maximum = 32)]
    pub min_len: u8,
    /// 1 to 32.
    #[schema(minimum = 1, maximum = 32)]
    pub max_len: u8,
}

fn code_rules(name: &str, v: Vec<CodeRuleBody>) -> Result<CodeRules, ApiError> {
    let rules = v
        .into_iter()
        .map(|r| CodeRule {
            label: r.label,
            charset: match r.charset {
                CharsetName::Digits => CodeCharset::Digits,
                CharsetName::Alphanumeric => CodeCharset::Alphanumeric,
            },
            min_len: r.min_len,
            max_len: r.max_len,
        })
        .collect();
    field(name, CodeRules::parse(rules))
}

fn code_rule_views(r: &CodeRules) -> Vec<CodeRuleBody> {
    r.rules()
        .iter()
        .map(|c| CodeRuleBody {
            label: c.label.clone(),
            charset: match c.charset {
                CodeCharset::Digits => CharsetName::Digits,
                CodeCharset::Alphanumeric => CharsetName::Alphanumeric,
            },
            min_len: c.min_len,
            max_len: c.max_len,
        })
        .collect()
}

fn measure_set(name: &str, v: Vec<MeasureName>) -> Result<MeasureSet, ApiError> {
    field(name, MeasureSet::parse(v.into_iter().map(MeasureId::from).collect()))
}

fn measure_names(v: &[MeasureId]) -> Vec<MeasureName> {
    v.iter().copied().map(MeasureName::from).collect()
}

impl SecretOwner for ServiceCode {
    async fn rotate(app: &App, ctx: &Context, id: &Self, overlap: Overlap) -> Result<NewSecret, RotateError> {
        services::rotate_secret(app, ctx, id, overlap).await
    }
    async fn secrets(app: &App, id: &Self) -> Result<Vec<SecretMeta>, ApiError> {
        Ok(services::get(app, id).await?.secrets)
    }
}

/// Body of `POST /v1/ops/mynapoint/services`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceRequest {
    /// 2–16 of `A-Z`, `0-9` and `_`; permanent.
    #[schema(pattern = "^[A-Z0-9_]{2,16}$", min_length = 2, max_length = 16)]
    pub code: String,
    /// An existing provider.
    #[schema(pattern = "^[a-z0-9-]{2,32}$", min_length = 2, max_length = 32)]
    pub provider_id: String,
    /// 1–100 characters, one line.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub kind: ServiceKindName,
    /// The measures the service takes applications for: 1–3, each at most once.
    #[schema(min_items = 1, max_items = 3)]
    pub measures: Vec<MeasureName>,
    /// The security codes citizens enter: 1–3.
    #[schema(min_items = 1, max_items = 3)]
    pub code_rules: Vec<CodeRuleBody>,
    /// Where applications are delivered: `https://…`, or `http://` to a loopback host (local
    /// simulator); no user, password or fragment. On the AWS backend only `https://` to a global
    /// address or public name (else `endpoint_not_allowed`).
    #[schema(min_length = 1, max_length = 2048)]
    pub endpoint: String,
}

/// Body of `PATCH /v1/ops/mynapoint/services/{code}`: only the fields present change (null is the
/// same as absent).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceRequest {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 3)]
    pub measures: Option<Vec<MeasureName>>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 3)]
    pub code_rules: Option<Vec<CodeRuleBody>>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2048)]
    pub endpoint: Option<String>,
    /// False stops dispatches to the endpoint (they wait); true resumes them.
    #[serde(default)]
    pub endpoint_enabled: Option<bool>,
}

/// Body of `PUT /v1/ops/mynapoint/services/{code}/intake`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    /// `withdrawn` is final.
    pub intake: IntakeName,
}

/// A payment service as operators see it (secrets: metadata only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub code: String,
    pub provider_id: String,
    pub name: String,
    pub kind: ServiceKindName,
    pub measures: Vec<MeasureName>,
    pub code_rules: Vec<CodeRuleBody>,
    pub intake: IntakeName,
    /// When the intake status last changed (RFC 3339, Asia/Tokyo).
    pub intake_changed_at: String,
    /// Where applications are delivered.
    #[schema(required = true)]
    pub endpoint: Option<String>,
    /// False after the endpoint answered 410 Gone or an operator disabled it.
    pub endpoint_enabled: bool,
    /// Bumped by every change; send it as `If-Match` to change only what you saw.
    pub version: i64,
}

impl ServiceView {
    fn of(s: &ServiceConfig) -> ServiceView {
        ServiceView {
            code: s.code.to_string(),
            provider_id: s.provider.to_string(),
            name: s.name.clone(),
            kind: s.kind.into(),
            measures: measure_names(&s.measures),
            code_rules: code_rule_views(&s.code_rules),
            intake: s.intake.into(),
            intake_changed_at: to_jst(s.intake_changed_at),
            endpoint: s.endpoint.clone(),
            endpoint_enabled: s.endpoint_enabled,
            version: s.version,
        }
    }
}

/// A payment service with its signing secrets (metadata only). ETag: its version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetailView {
    pub code: String,
    pub provider_id: String,
    pub name: String,
    pub kind: ServiceKindName,
    pub measures: Vec<MeasureName>,
    pub code_rules: Vec<CodeRuleBody>,
    pub intake: IntakeName,
    pub intake_changed_at: String,
    #[schema(required = true)]
    pub endpoint: Option<String>,
    pub endpoint_enabled: bool,
    pub version: i64,
    /// The secrets dispatches to the endpoint are signed with, newest first.
    pub webhook_secrets: Vec<SecretView>,
}

impl ServiceDetailView {
    fn of(d: &ServiceDetail, now: OffsetDateTime) -> ServiceDetailView {
        let v = ServiceView::of(&d.config);
        ServiceDetailView {
            code: v.code,
            provider_id: v.provider_id,
            name: v.name,
            kind: v.kind,
            measures: v.measures,
            code_rules: v.code_rules,
            intake: v.intake,
            intake_changed_at: v.intake_changed_at,
            endpoint: v.endpoint,
            endpoint_enabled: v.endpoint_enabled,
            version: v.version,
            webhook_secrets: secret_views(&d.secrets, now),
        }
    }
}

/// A payment service just created, with its first webhook signing secret (shown only here).
#[derive(Serialize, ToSchema)]
pub struct ServiceCreated {
    pub service: ServiceDetailView,
    /// Dispatches to the endpoint are signed with this secret (Standard Webhooks).
    pub webhook_secret: NewSecretView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<ServiceView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceListParams {
    provider_id: Option<String>,
}

/// Taken exactly, like the body's `code`.
impl PathParam for ServiceCode {
    fn parse_param(raw: &str) -> Option<Self> {
        ServiceCode::parse(raw).ok().filter(|_| raw.trim() == raw)
    }
    fn unknown() -> ApiError {
        service_not_found()
    }
}

/// `invalid_field` for a malformed endpoint, `endpoint_not_allowed` for a destination this
/// backend does not send to (on AWS: anything but `https://` to a global address).
fn endpoint(app: &App, s: &str) -> Result<Endpoint, ApiError> {
    Endpoint::parse(s, app.config.backend).map_err(|e| match e {
        EndpointError::Invalid(why) => ApiError::invalid_field("endpoint", why),
        EndpointError::NotAllowed(why) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "endpoint_not_allowed",
            "Endpoint not allowed",
            format!("endpoint: {why}"),
        ),
    })
}

fn detail_response(status: StatusCode, d: &ServiceDetail, now: OffsetDateTime) -> Response {
    with_etag((status, Json(ServiceDetailView::of(d, now))).into_response(), d.config.version)
}

/// `POST /v1/ops/mynapoint/services`: creates a payment service and its first webhook secret.
pub async fn create_service(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<CreateServiceRequest>,
) -> Result<Response, ApiError> {
    exact("code", &req.code)?;
    exact("provider_id", &req.provider_id)?;
    let new = NewService {
        code: field("code", ServiceCode::parse(&req.code))?,
        provider: field("provider_id", ProviderId::parse(&req.provider_id))?,
        name: field("name", CatalogName::parse(&req.name))?,
        kind: req.kind.into(),
        measures: measure_set("measures", req.measures)?,
        code_rules: code_rules("code_rules", req.code_rules)?,
        endpoint: endpoint(&app, &req.endpoint)?,
    };
    let created = services::create(&app, &ctx, new).await?;
    let detail = ServiceDetail { config: created.config.clone(), secrets: vec![created.secret.meta.clone()] };
    let body = ServiceCreated {
        service: ServiceDetailView::of(&detail, app.clock.now()),
        webhook_secret: NewSecretView::of(&created.secret),
    };
    let resp = with_etag((StatusCode::CREATED, Json(body)).into_response(), created.config.version);
    Ok(with_location(secret_bearing(resp), format!("/v1/ops/mynapoint/services/{}", created.config.code)))
}

/// `GET /v1/ops/mynapoint/services[?provider_id=…]`.
pub async fn list_services(
    State(app): State<App>,
    ApiQuery(p): ApiQuery<ServiceListParams>,
) -> Result<Json<ServiceList>, ApiError> {
    let provider = p
        .provider_id
        .as_deref()
        .map(|s| ProviderId::parse(s).ok().filter(|_| s.trim() == s))
        .map(|o| o.ok_or_else(|| ApiError::bad_request("invalid_query", "provider_id: 2 to 32 of a-z, 0-9 and -")))
        .transpose()?;
    let items = services::list(&app, provider.as_ref()).await?.iter().map(ServiceView::of).collect();
    Ok(Json(ServiceList { items }))
}

/// `GET /v1/ops/mynapoint/services/{code}` (ETag: version).
pub async fn get_service(State(app): State<App>, PathId(code): PathId<ServiceCode>) -> Result<Response, ApiError> {
    let d = services::get(&app, &code).await?;
    Ok(detail_response(StatusCode::OK, &d, app.clock.now()))
}

/// `PATCH /v1/ops/mynapoint/services/{code}` (If-Match: version, optional).
pub async fn update_service(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    code: Result<PathId<ServiceCode>, ApiError>,
    ApiJson(req): ApiJson<UpdateServiceRequest>,
) -> Result<Response, ApiError> {
    let PathId(code) = code?;
    let expected = if_match.version(VERSION)?;
    let change = ServiceChange {
        name: req.name.as_deref().map(|n| field("name", CatalogName::parse(n))).transpose()?,
        measures: req.measures.map(|m| measure_set("measures", m)).transpose()?,
        code_rules: req.code_rules.map(|r| code_rules("code_rules", r)).transpose()?,
        endpoint: req.endpoint.as_deref().map(|e| endpoint(&app, e)).transpose()?,
        endpoint_enabled: req.endpoint_enabled,
    };
    if change.is_empty() {
        return Err(ApiError::invalid_field("body", "nothing to change"));
    }
    services::update(&app, &ctx, &code, change, expected).await?;
    let d = services::get(&app, &code).await?;
    Ok(detail_response(StatusCode::OK, &d, app.clock.now()))
}

/// `PUT /v1/ops/mynapoint/services/{code}/intake` (If-Match: version, optional).
pub async fn set_intake(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    if_match: IfMatch,
    code: Result<PathId<ServiceCode>, ApiError>,
    ApiJson(req): ApiJson<IntakeRequest>,
) -> Result<Response, ApiError> {
    let PathId(code) = code?;
    let expected = if_match.version(VERSION)?;
    services::set_intake(&app, &ctx, &code, req.intake.into(), expected).await?;
    let d = services::get(&app, &code).await?;
    Ok(detail_response(StatusCode::OK, &d, app.clock.now()))
}

/// A payment service as citizens see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicServiceView {
    pub code: String,
    pub name: String,
    pub kind: ServiceKindName,
    pub provider_name: String,
    /// The measures it takes applications for.
    pub measures: Vec<MeasureName>,
    /// The security codes to enter when applying with it, in order.
    pub code_rules: Vec<CodeRuleBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicServiceList {
    pub items: Vec<PublicServiceView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicServiceParams {
    measure: Option<String>,
}

impl PublicServiceView {
    fn of(s: PublicService) -> PublicServiceView {
        PublicServiceView {
            code: s.code.to_string(),
            name: s.name,
            kind: s.kind.into(),
            provider_name: s.provider_name,
            measures: measure_names(&s.measures),
            code_rules: code_rule_views(&s.code_rules),
        }
    }
}

/// `GET /v1/mynapoint/services[?measure=…]` (public): services taking applications now.
pub async fn public_services(
    State(app): State<App>,
    ApiQuery(p): ApiQuery<PublicServiceParams>,
) -> Result<Response, ApiError> {
    let measure = p
        .measure
        .as_deref()
        .map(|m| MeasureId::parse(m).map_err(|why| ApiError::bad_request("invalid_query", format!("measure: {why}"))))
        .transpose()?;
    let items = services::search(&app, measure).await?.into_iter().map(PublicServiceView::of).collect();
    Ok(publicly_cacheable(Json(PublicServiceList { items }).into_response()))
}
