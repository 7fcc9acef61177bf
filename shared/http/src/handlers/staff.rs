//! HTTP handlers of staff accounts: sign-in and sign-out, self-service (who am I, password
//! change, TOTP enrolment) and account management by operators. Errors of each use case are
//! mapped to problems once, in the `From` impls below.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::{AuditCtx, CurrentStaff};
use crate::cursor;
use crate::etag::with_location;
use crate::extract::{ApiQuery, PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::domain::staff::{DisplayName, MunicipalityCode, Role, StaffId};
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::staff::admin::{self, AdminError, NewStaff};
use mkpf_core::staff::login::{self, LoginError, SelfServiceError};
use mkpf_core::staff::{PASSWORD_MAX_AGE_DAYS, StaffAccount};

fn at(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch).map(to_jst).unwrap_or_default()
}

fn locked(until: i64) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "account_locked",
        "Account locked",
        format!("too many failed attempts; the account is locked until {}", at(until)),
    )
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, "Unauthorized", detail)
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::BadCredentials => unauthorized("credentials_invalid", "wrong staff id or password"),
            LoginError::TotpRequired => unauthorized("totp_required", "this account needs a TOTP code (`totp_code`)"),
            LoginError::BadTotp => unauthorized("totp_invalid", "the TOTP code is wrong"),
            LoginError::TotpReplayed => {
                unauthorized("totp_replayed", "this TOTP code was already used; wait for the next one")
            }
            LoginError::Locked { until } => locked(until),
            LoginError::Store(s) => s.into(),
            LoginError::Key(k) => ApiError::unavailable(k),
        }
    }
}

impl From<SelfServiceError> for ApiError {
    fn from(e: SelfServiceError) -> Self {
        match e {
            SelfServiceError::BadCredentials => unauthorized("credentials_invalid", "the current password is wrong"),
            SelfServiceError::Locked { until } => locked(until),
            SelfServiceError::WeakPassword(why) => ApiError::invalid_field("new_password", why),
            SelfServiceError::SamePassword => {
                ApiError::invalid_field("new_password", "the new password must differ from the current one")
            }
            SelfServiceError::TotpAlreadyEnrolled => ApiError::conflict(
                "totp_already_enrolled",
                "a TOTP authenticator is enrolled; an operator can reset it if it is lost",
            ),
            SelfServiceError::NoPendingEnrolment => {
                ApiError::conflict("totp_enrolment_not_started", "start enrolment first (POST /v1/staff/me/totp)")
            }
            SelfServiceError::BadTotp => unauthorized("totp_invalid", "the TOTP code is wrong"),
            SelfServiceError::Conflict => ApiError::conflict("account_changed", "the account changed meanwhile; retry"),
            SelfServiceError::Gone => unauthorized("session_ended", "the account no longer exists or is disabled"),
            SelfServiceError::Store(s) => s.into(),
            SelfServiceError::Key(k) => ApiError::unavailable(k),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, why } => ApiError::invalid_field(field, why),
            AdminError::Exists => ApiError::conflict("staff_exists", "a staff account with this id exists"),
            AdminError::NotFound => ApiError::not_found("staff_not_found", "no staff account has this id"),
            AdminError::SelfAction => ApiError::new(
                StatusCode::FORBIDDEN,
                "self_action_forbidden",
                "Forbidden",
                "staff may not reset or disable their own account; ask another operator",
            ),
            AdminError::AlreadyBootstrapped => {
                ApiError::conflict("already_bootstrapped", "the first operator was already created")
            }
            AdminError::Conflict => ApiError::conflict("account_changed", "the account changed meanwhile; retry"),
            AdminError::Store(s) => s.into(),
        }
    }
}

fn names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_owned()).collect()
}

fn field<T>(name: &str, r: Result<T, String>) -> Result<T, ApiError> {
    r.map_err(|why| ApiError::invalid_field(name, why))
}

/// Body of `POST /v1/staff/sessions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub staff_id: String,
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
    /// The current 6-digit code of the enrolled authenticator (omit before enrolment).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$")]
    pub totp_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_at: String,
    pub staff_id: String,
    /// `operator`, `municipal_staff`, `auditor`, `patch_approver`.
    pub roles: Vec<String>,
    /// Steps to finish first (`password_change`, `totp_enrolment`); while any is pending the
    /// token only admits the self-service routes.
    pub pending: Vec<String>,
}

pub async fn sign_in(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.password.len() > 1024 || req.staff_id.len() > 64 {
        return Err(unauthorized("credentials_invalid", "wrong staff id or password"));
    }
    let s = login::login(&app, &ctx, &req.staff_id, &req.password, req.totp_code.as_deref()).await?;
    let body = LoginResponse {
        access_token: s.token,
        token_type: "Bearer".into(),
        expires_at: at(s.expires_at),
        staff_id: s.account.id.to_string(),
        roles: names(&s.account.roles),
        pending: s.pending,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn sign_out(
    State(app): State<App>,
    CurrentStaff(me): CurrentStaff,
    AuditCtx(ctx): AuditCtx,
) -> Result<StatusCode, ApiError> {
    login::logout(&app, &ctx, &me.id, &me.session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in member, as their token and account say.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub staff_id: String,
    /// `operator`, `municipal_staff`, `auditor`, `patch_approver`.
    pub roles: Vec<String>,
    pub municipality: Option<String>,
    pub pending: Vec<String>,
    pub totp_enrolled: bool,
    pub password_expires_at: String,
}

pub async fn me(State(app): State<App>, CurrentStaff(me): CurrentStaff) -> Result<Json<Me>, ApiError> {
    let id = StaffId::parse(&me.id).map_err(ApiError::internal)?;
    let acc = mkpf_core::staff::account::load(app.store.as_ref(), &id)
        .await?
        .ok_or_else(|| unauthorized("session_ended", "the account no longer exists"))?;
    Ok(Json(Me {
        staff_id: me.id,
        roles: names(&me.roles),
        municipality: me.municipality,
        pending: me.pending,
        totp_enrolled: acc.totp_secret.is_some(),
        password_expires_at: at(acc.password_changed_at + PASSWORD_MAX_AGE_DAYS * 86_400),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(min_length = 1, max_length = 256)]
    pub current_password: String,
    /// 12–128 characters, at least 3 different ones, not containing the staff id.
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
}

pub async fn change_password(
    State(app): State<App>,
    CurrentStaff(me): CurrentStaff,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let id = StaffId::parse(&me.id).map_err(ApiError::internal)?;
    login::change_password(&app, &ctx, &id, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A TOTP secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// `otpauth://totp/MKPF:<id>?secret=…` for a QR code.
    pub provisioning_uri: String,
    /// The same secret as base32 text, to type in.
    pub secret: String,
}

pub async fn start_totp(
    State(app): State<App>,
    CurrentStaff(me): CurrentStaff,
    AuditCtx(ctx): AuditCtx,
) -> Result<Response, ApiError> {
    let id = StaffId::parse(&me.id).map_err(ApiError::internal)?;
    let (provisioning_uri, secret) = login::start_totp_enrolment(&app, &ctx, &id).await?;
    Ok((StatusCode::CREATED, Json(TotpEnrolment { provisioning_uri, secret })).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

pub async fn confirm_totp(
    State(app): State<App>,
    CurrentStaff(me): CurrentStaff,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<TotpConfirm>,
) -> Result<StatusCode, ApiError> {
    let id = StaffId::parse(&me.id).map_err(ApiError::internal)?;
    login::confirm_totp(&app, &ctx, &id, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/ops/staff`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    #[schema(pattern = "^[a-z][a-z0-9._-]{2,31}$")]
    pub staff_id: String,
    #[schema(min_length = 1, max_length = 64)]
    pub display_name: String,
    #[schema(min_items = 1)]
    pub roles: Vec<String>,
    /// Required for (and only for) `municipal_staff`: a 全国地方公共団体コード.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{6}$")]
    pub municipality: Option<String>,
}

/// An account as operators and auditors see it (never password hashes or TOTP secrets).
#[derive(Serialize, ToSchema)]
pub struct StaffView {
    pub staff_id: String,
    pub display_name: String,
    /// `operator`, `municipal_staff`, `auditor`, `patch_approver`.
    pub roles: Vec<String>,
    pub municipality: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub totp_enrolled: bool,
    pub must_change_password: bool,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

impl StaffView {
    fn of(a: &StaffAccount, now: i64) -> StaffView {
        StaffView {
            staff_id: a.id.to_string(),
            display_name: a.display_name.as_str().into(),
            roles: names(&a.roles),
            municipality: a.municipality.as_ref().map(|m| m.as_str().into()),
            status: if a.status == mkpf_core::staff::AccountStatus::Active { "active" } else { "disabled" }.into(),
            totp_enrolled: a.totp_secret.is_some(),
            must_change_password: a.must_change_password,
            locked_until: (a.locked_until > now).then(|| at(a.locked_until)),
            created_at: at(a.created_at),
            created_by: a.created_by.clone(),
        }
    }
}

/// A created or reset account with its one-time password (shown once; it must be changed at the
/// first sign-in).
#[derive(Serialize, ToSchema)]
pub struct StaffWithPassword {
    pub staff: StaffView,
    pub one_time_password: String,
}

pub async fn create(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<CreateStaffRequest>,
) -> Result<Response, ApiError> {
    let roles = req.roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>();
    let s = NewStaff::new(
        field("staff_id", StaffId::parse(&req.staff_id))?,
        field("display_name", DisplayName::parse(&req.display_name))?,
        field("roles", roles)?,
        req.municipality.as_deref().map(|m| field("municipality", MunicipalityCode::parse(m))).transpose()?,
    )?;
    let (acc, otp) = admin::create(&app, &ctx, s).await?;
    let body = StaffWithPassword {
        staff: StaffView::of(&acc, app.clock.epoch_secs()),
        one_time_password: otp.expose().to_owned(),
    };
    let resp = (StatusCode::CREATED, Json(body)).into_response();
    Ok(with_location(resp, format!("/v1/ops/staff/{}", acc.id)))
}

impl PathParam for StaffId {
    fn parse_param(raw: &str) -> Option<Self> {
        StaffId::parse(raw).ok()
    }
    fn unknown() -> ApiError {
        ApiError::not_found("staff_not_found", "no staff account has this id")
    }
}

impl PathParam for MunicipalityCode {
    fn parse_param(raw: &str) -> Option<Self> {
        MunicipalityCode::parse(raw).ok()
    }
    fn unknown() -> ApiError {
        ApiError::not_found("municipality_not_found", "no municipality has this code")
    }
}

pub async fn get(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    PathId(id): PathId<StaffId>,
) -> Result<Json<StaffView>, ApiError> {
    let acc = admin::get(&app, &ctx, &id).await?;
    Ok(Json(StaffView::of(&acc, app.clock.epoch_secs())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    municipality: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffPage {
    pub items: Vec<StaffView>,
    pub next_cursor: Option<String>,
}

async fn list_scope(
    app: &App,
    ctx: &mkpf_core::audit::Context,
    municipality: Option<MunicipalityCode>,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Json<StaffPage>, ApiError> {
    let (limit, cursor) = cursor::page(limit, cursor.as_deref())?;
    let (items, next) = admin::list(app, ctx, municipality.as_ref(), cursor, limit).await.map_err(|e| match e {
        AdminError::Invalid { field: "cursor", .. } => cursor::foreign(),
        e => e.into(),
    })?;
    let now = app.clock.epoch_secs();
    Ok(Json(StaffPage {
        items: items.iter().map(|a| StaffView::of(a, now)).collect(),
        next_cursor: next.as_ref().map(cursor::encode),
    }))
}

/// Platform staff, or (with `municipality`) one municipality's staff.
pub async fn list(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<StaffPage>, ApiError> {
    let muni = p.municipality.as_deref().map(|m| field("municipality", MunicipalityCode::parse(m))).transpose()?;
    list_scope(&app, &ctx, muni, p.limit, p.cursor).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// One municipality's staff, for that municipality's own staff (and platform roles).
pub async fn list_municipal(
    State(app): State<App>,
    CurrentStaff(me): CurrentStaff,
    AuditCtx(ctx): AuditCtx,
    PathId(code): PathId<MunicipalityCode>,
    params: Result<ApiQuery<PageParams>, ApiError>,
) -> Result<Json<StaffPage>, ApiError> {
    if !me.may_access_municipality(code.as_str()) {
        let ev = mkpf_core::audit::Event::denied(
            "staff.list",
            vec![format!("municipality:{}", code.as_str())],
            "municipality_forbidden",
        );
        mkpf_core::audit::commit_event(&app, &ctx, ev).await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "municipality_forbidden",
            "Forbidden",
            "you may only see your own municipality's data",
        ));
    }
    let ApiQuery(p) = params?;
    list_scope(&app, &ctx, Some(code), p.limit, p.cursor).await
}

pub async fn reset_mfa(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    PathId(id): PathId<StaffId>,
) -> Result<Json<StaffView>, ApiError> {
    let acc = admin::reset_mfa(&app, &ctx, &id).await?;
    Ok(Json(StaffView::of(&acc, app.clock.epoch_secs())))
}

pub async fn reset_password(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    PathId(id): PathId<StaffId>,
) -> Result<Json<StaffWithPassword>, ApiError> {
    let otp = admin::reset_password(&app, &ctx, &id).await?;
    let acc = mkpf_core::staff::account::load(app.store.as_ref(), &id).await?.ok_or(AdminError::NotFound)?;
    Ok(Json(StaffWithPassword {
        staff: StaffView::of(&acc, app.clock.epoch_secs()),
        one_time_password: otp.expose().to_owned(),
    }))
}

pub async fn disable(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    PathId(id): PathId<StaffId>,
) -> Result<Json<StaffView>, ApiError> {
    let acc = admin::disable(&app, &ctx, &id).await?;
    Ok(Json(StaffView::of(&acc, app.clock.epoch_secs())))
}
