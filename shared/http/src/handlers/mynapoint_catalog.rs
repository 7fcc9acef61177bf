//! HTTP handlers of the Mynapoint catalogue: providers, payment services (intake, secrets) and
//! measures for operators (auditors read), and the public lists of measures and accepting
//! services. Bodies are parsed into domain types here; each use case's error enum is mapped to
//! problems once, in the `From` impls and `rotate_problem` below.
//!
//! Problem codes: `invalid_field` (422, naming the field), `provider_exists` / `service_exists`
//! (409), `provider_not_found` / `service_not_found` (404), `provider_unknown` (422: a service for
//! a provider that does not exist), `service_withdrawn` (409: a withdrawn service's intake is
//! final), `too_many_secrets` (409: a rotation would leave more than four secrets active; rotate
//! with a shorter overlap), `secret_rotation_conflict` (409: concurrent rotations; retry),
//! `measure_unknown` / `measure_not_configured` (404), `measure_already_suspended` /
//! `measure_not_suspended` (409), `version_mismatch` (412, `If-Match` is not the current
//! version), `invalid_if_match` / `invalid_query` (400), `service_unavailable` (503).
//!
//! Secrets (`whsec_…`) appear in exactly one response each: the one that created them (provider
//! or service creation, rotation). Those responses are marked [`SealedReplay`], so an idempotent
//! replay is kept sealed, not in clear.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::AuditCtx;
use crate::etag::{IfMatch, with_etag, with_location};
use crate::extract::{ApiQuery, PathId, PathParam};
use crate::idempotency::SealedReplay;
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::audit::Context;
use mkpf_core::domain::mynapoint::{
    CodeCharset, CodeRule, CodeRules, IntakeStatus, MeasureId, PointsRule, ProviderId, ServiceCode, ServiceKind,
};
use mkpf_core::domain::time_fmt::{parse_instant, to_jst};
use mkpf_core::mynapoint::catalog::{MeasureConfig, MeasureStatus, ServiceConfig};
use mkpf_core::mynapoint::measures::{self, MeasureChangeError, MeasureRecord, PeriodChange, Reason};
use mkpf_core::mynapoint::providers::{
    self, CatalogName, CreateProviderError, NewProvider, Provider, ProviderDetail, ProviderReadError,
};
use mkpf_core::mynapoint::secrets::{NewSecret, Overlap, RotateError, SecretMeta};
use mkpf_core::mynapoint::services::{
    self, CreateServiceError, Endpoint, EndpointError, MeasureSet, NewService, PublicService, ServiceChange,
    ServiceDetail, ServiceReadError, UpdateServiceError,
};
use mkpf_core::ports::KeyError;

// ---- errors -------------------------------------------------------------------------------

fn sealer_problem(e: KeyError) -> ApiError {
    match e {
        KeyError::Unavailable(_) => ApiError::unavailable(e),
        KeyError::Invalid(_) => ApiError::internal(e),
    }
}

fn version_mismatch(what: &str, current: i64) -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "version_mismatch",
        "Precondition failed",
        format!("the {what} changed meanwhile; it is now at version {current}"),
    )
}

fn provider_not_found() -> ApiError {
    ApiError::not_found("provider_not_found", "no provider has this id")
}

fn service_not_found() -> ApiError {
    ApiError::not_found("service_not_found", "no payment service has this code")
}

impl From<CreateProviderError> for ApiError {
    fn from(e: CreateProviderError) -> Self {
        match e {
            CreateProviderError::Exists => ApiError::conflict("provider_exists", "a provider with this id exists"),
            CreateProviderError::Store(s) => s.into(),
            CreateProviderError::Sealer(k) => sealer_problem(k),
        }
    }
}

impl From<ProviderReadError> for ApiError {
    fn from(e: ProviderReadError) -> Self {
        match e {
            ProviderReadError::NotFound => provider_not_found(),
            ProviderReadError::Store(s) => s.into(),
        }
    }
}

/// A rotation's failure; `not_found` is the owner's own 404.
fn rotate_problem(e: RotateError, not_found: fn() -> ApiError) -> ApiError {
    match e {
        RotateError::OwnerNotFound => not_found(),
        RotateError::TooManyActive { active } => ApiError::conflict(
            "too_many_secrets",
            format!(
                "{active} secrets would be active at once (at most {}); rotate with a shorter overlap_seconds (0 retires the others now) or wait until older ones retire",
                mkpf_core::mynapoint::secrets::MAX_ACTIVE
            ),
        ),
        RotateError::Contended => {
            ApiError::conflict("secret_rotation_conflict", "the secrets were being rotated concurrently; retry")
                .retry_after(1)
        }
        RotateError::Store(s) => s.into(),
        RotateError::Sealer(k) => sealer_problem(k),
    }
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

// ---- shared views and parsing ---------------------------------------------------------------

fn field<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) -> Result<T, ApiError> {
    r.map_err(|why| ApiError::invalid_field(name, why))
}

/// Identifiers on the wire are taken exactly (the schemas' patterns): no trimming.
fn exact(name: &str, s: &str) -> Result<(), ApiError> {
    if s.trim() != s {
        return Err(ApiError::invalid_field(name, "no leading or trailing spaces"));
    }
    Ok(())
}

/// What `If-Match` holds on the catalogue routes.
const VERSION: &str = "version";

/// A response holding a secret shown once: never cached, replayed only sealed.
fn secret_bearing(mut resp: Response) -> Response {
    resp.extensions_mut().insert(SealedReplay);
    resp
}

/// Public catalogue data may be cached briefly (the platform caches it as long).
fn publicly_cacheable(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=10"));
    resp
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

/// A stored signing secret: never the secret itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    /// `sec_` and six digits; higher is newer.
    #[schema(pattern = "^sec_[0-9]{6}$")]
    pub secret_id: String,
    /// RFC 3339, Asia/Tokyo.
    pub created_at: String,
    /// When it stops being used (RFC 3339, Asia/Tokyo); null for the current secret.
    #[schema(required = true)]
    pub retires_at: Option<String>,
    /// Whether it is used now (signing, or accepted on verification).
    pub active: bool,
}

fn secret_views(v: &[SecretMeta], now: OffsetDateTime) -> Vec<SecretView> {
    v.iter()
        .map(|m| SecretView {
            secret_id: m.id.to_string(),
            created_at: to_jst(m.created_at),
            retires_at: m.retires_at.map(to_jst),
            active: m.is_active_at(now),
        })
        .collect()
}

/// A secret just created. Shown only in this response: store it now.
#[derive(Serialize, ToSchema)]
pub struct NewSecretView {
    #[schema(pattern = "^sec_[0-9]{6}$")]
    pub secret_id: String,
    /// The Standard Webhooks secret, `whsec_` and base64 of 32 random bytes.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/=]+$")]
    pub secret: String,
    pub created_at: String,
}

impl NewSecretView {
    fn of(s: &NewSecret) -> NewSecretView {
        NewSecretView {
            secret_id: s.meta.id.to_string(),
            secret: s.secret.expose(),
            created_at: to_jst(s.meta.created_at),
        }
    }
}

/// A rotation's result.
#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret (shown only here).
    pub secret: NewSecretView,
    /// Every stored secret afterwards, newest first: the replaced ones with their `retires_at`.
    pub secrets: Vec<SecretView>,
}

/// Body of the secret rotations.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the replaced secrets stay valid, in seconds: 0 (at once) to 604800 (7 days);
    /// default 86400 (24 hours).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<i64>,
}

impl RotateRequest {
    fn overlap(&self) -> Result<Overlap, ApiError> {
        self.overlap_seconds.map_or(Ok(Overlap::default()), |s| field("overlap_seconds", Overlap::parse(s)))
    }
}

/// What has signing secrets: a provider (its callback secrets) or a payment service (its webhook
/// secrets). A missing owner is its path parameter's 404.
pub trait SecretOwner: PathParam + Send + Sync {
    fn rotate(
        app: &App,
        ctx: &Context,
        id: &Self,
        overlap: Overlap,
    ) -> impl Future<Output = Result<NewSecret, RotateError>> + Send;
    /// Every stored secret, newest first.
    fn secrets(app: &App, id: &Self) -> impl Future<Output = Result<Vec<SecretMeta>, ApiError>> + Send;
}

impl SecretOwner for ProviderId {
    async fn rotate(app: &App, ctx: &Context, id: &Self, overlap: Overlap) -> Result<NewSecret, RotateError> {
        providers::rotate_secret(app, ctx, id, overlap).await
    }
    async fn secrets(app: &App, id: &Self) -> Result<Vec<SecretMeta>, ApiError> {
        Ok(providers::get(app, id).await?.secrets)
    }
}

impl SecretOwner for ServiceCode {
    async fn rotate(app: &App, ctx: &Context, id: &Self, overlap: Overlap) -> Result<NewSecret, RotateError> {
        services::rotate_secret(app, ctx, id, overlap).await
    }
    async fn secrets(app: &App, id: &Self) -> Result<Vec<SecretMeta>, ApiError> {
        Ok(services::get(app, id).await?.secrets)
    }
}

/// `POST /v1/ops/mynapoint/providers/{provider_id}/secrets` (the callback secret) and
/// `POST /v1/ops/mynapoint/services/{code}/secrets` (the webhook signing secret): rotates the
/// owner's secret; 201 with the new one (shown only here) and every stored one.
pub async fn rotate_secret<O: SecretOwner>(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    id: Result<PathId<O>, ApiError>,
    ApiJson(req): ApiJson<RotateRequest>,
) -> Result<Response, ApiError> {
    let PathId(id) = id?;
    let overlap = req.overlap()?;
    let new = O::rotate(&app, &ctx, &id, overlap).await.map_err(|e| rotate_problem(e, O::unknown))?;
    let secrets = O::secrets(&app, &id).await?;
    let body = RotatedSecret { secret: NewSecretView::of(&new), secrets: secret_views(&secrets, app.clock.now()) };
    Ok(secret_bearing((StatusCode::CREATED, Json(body)).into_response()))
}

// ---- providers --------------------------------------------------------------------------------

/// Body of `POST /v1/ops/mynapoint/providers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProviderRequest {
    /// 2–32 of `a-z`, `0-9` and `-`; permanent.
    #[schema(pattern = "^[a-z0-9-]{2,32}$", min_length = 2, max_length = 32)]
    pub provider_id: String,
    /// 1–100 characters, one line.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub provider_id: String,
    pub name: String,
    /// `active`.
    pub status: String,
    pub created_at: String,
}

impl ProviderView {
    fn of(p: &Provider) -> ProviderView {
        ProviderView {
            provider_id: p.id.to_string(),
            name: p.name.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            created_at: to_jst(p.created_at),
        }
    }
}

/// A provider with its callback secrets (metadata only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderDetailView {
    pub provider_id: String,
    pub name: String,
    /// `active`.
    pub status: String,
    pub created_at: String,
    /// The secrets the provider signs its callbacks with, newest first.
    pub callback_secrets: Vec<SecretView>,
}

impl ProviderDetailView {
    fn of(d: &ProviderDetail, now: OffsetDateTime) -> ProviderDetailView {
        let p = ProviderView::of(&d.provider);
        ProviderDetailView {
            provider_id: p.provider_id,
            name: p.name,
            status: p.status,
            created_at: p.created_at,
            callback_secrets: secret_views(&d.secrets, now),
        }
    }
}

/// A provider just created, with its first callback secret (shown only here).
#[derive(Serialize, ToSchema)]
pub struct ProviderCreated {
    pub provider: ProviderDetailView,
    /// The provider signs its callbacks with this secret (Standard Webhooks).
    pub callback_secret: NewSecretView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    pub items: Vec<ProviderView>,
}

/// Taken exactly, like the body's `provider_id`.
impl PathParam for ProviderId {
    fn parse_param(raw: &str) -> Option<Self> {
        ProviderId::parse(raw).ok().filter(|_| raw.trim() == raw)
    }
    fn unknown() -> ApiError {
        provider_not_found()
    }
}

/// `POST /v1/ops/mynapoint/providers`: creates a provider and its first callback secret.
pub async fn create_provider(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<CreateProviderRequest>,
) -> Result<Response, ApiError> {
    exact("provider_id", &req.provider_id)?;
    let new = NewProvider {
        id: field("provider_id", ProviderId::parse(&req.provider_id))?,
        name: field("name", CatalogName::parse(&req.name))?,
    };
    let created = providers::create(&app, &ctx, new).await?;
    let detail = ProviderDetail { provider: created.provider.clone(), secrets: vec![created.secret.meta.clone()] };
    let body = ProviderCreated {
        provider: ProviderDetailView::of(&detail, app.clock.now()),
        callback_secret: NewSecretView::of(&created.secret),
    };
    let resp = secret_bearing((StatusCode::CREATED, Json(body)).into_response());
    Ok(with_location(resp, format!("/v1/ops/mynapoint/providers/{}", created.provider.id)))
}

/// `GET /v1/ops/mynapoint/providers`.
pub async fn list_providers(State(app): State<App>) -> Result<Json<ProviderList>, ApiError> {
    let items = providers::list(&app).await?.iter().map(ProviderView::of).collect();
    Ok(Json(ProviderList { items }))
}

/// `GET /v1/ops/mynapoint/providers/{provider_id}`.
pub async fn get_provider(
    State(app): State<App>,
    PathId(id): PathId<ProviderId>,
) -> Result<Json<ProviderDetailView>, ApiError> {
    let d = providers::get(&app, &id).await?;
    Ok(Json(ProviderDetailView::of(&d, app.clock.now())))
}

// ---- payment services ----------------------------------------------------------------------

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

// ---- measures -------------------------------------------------------------------------------

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
