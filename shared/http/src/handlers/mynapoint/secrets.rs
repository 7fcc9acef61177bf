//! The signing secrets of the Mynapoint catalogue (`mkpf_core::mynapoint::secrets`): their views
//! and the one rotation handler of providers (callback secrets) and payment services (webhook
//! secrets).
//!
//! Problem codes: `too_many_secrets` (409: a rotation would leave more than four secrets active;
//! rotate with a shorter overlap), `secret_rotation_conflict` (409: concurrent rotations; retry),
//! and the owner's own 404 (`provider_not_found` / `service_not_found`).
//!
//! Secrets (`whsec_…`) appear in exactly one response each: the one that created them (provider
//! or service creation, rotation). Those responses are marked [`SealedReplay`], so an idempotent
//! replay is kept sealed, not in clear.
//!
//! [`SealedReplay`]: crate::idempotency::SealedReplay

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::catalog::{field, sealer_problem, secret_bearing};
use crate::app::App;
use crate::auth::AuditCtx;
use crate::extract::{PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::audit::Context;
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::mynapoint::secrets::{NewSecret, Overlap, RotateError, SecretMeta};

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

pub(super) fn secret_views(v: &[SecretMeta], now: OffsetDateTime) -> Vec<SecretView> {
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
    pub(super) fn of(s: &NewSecret) -> NewSecretView {
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
