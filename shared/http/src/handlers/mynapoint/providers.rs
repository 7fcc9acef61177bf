//! HTTP handlers of Mynapoint providers (`mkpf_core::mynapoint::providers`), for operators
//! (auditors read): create (with the first callback secret), list, get. Rotating a provider's
//! secret: [`super::secrets::rotate_secret`].
//!
//! Problem codes: `provider_exists` (409), `provider_not_found` (404), and the catalogue's common
//! ones (see [`super::catalog`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::catalog::{exact, field, sealer_problem, secret_bearing};
use super::secrets::{NewSecretView, SecretOwner, SecretView, secret_views};
use crate::app::App;
use crate::auth::AuditCtx;
use crate::etag::with_location;
use crate::extract::{PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::audit::Context;
use mkpf_core::domain::mynapoint::ProviderId;
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::mynapoint::providers::{
    self, CatalogName, CreateProviderError, NewProvider, Provider, ProviderDetail, ProviderReadError,
};
use mkpf_core::mynapoint::secrets::{NewSecret, Overlap, RotateError, SecretMeta};

fn provider_not_found() -> ApiError {
    ApiError::not_found("provider_not_found", "no provider has this id")
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

impl SecretOwner for ProviderId {
    async fn rotate(app: &App, ctx: &Context, id: &Self, overlap: Overlap) -> Result<NewSecret, RotateError> {
        providers::rotate_secret(app, ctx, id, overlap).await
    }
    async fn secrets(app: &App, id: &Self) -> Result<Vec<SecretMeta>, ApiError> {
        Ok(providers::get(app, id).await?.secrets)
    }
}

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
