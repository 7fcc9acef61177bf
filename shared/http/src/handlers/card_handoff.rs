//! HTTP handlers of the hand-off sign-in (`mkpf_core::card_auth::handoff`, protocol in
//! `docs/card-handoff.md`): the browser starts a hand-off and later receives its session; the
//! card holder's device reads the challenge by the short code and signs it.
//!
//! Problem codes: `handoff_unknown` (404), `handoff_expired` (410), `handoff_used` (409), and on
//! the device's sign-in every refusal of `POST /v1/card-auth/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::card_auth::{ChallengeResponse, SessionRequest, SessionResponse, limit_challenges};
use crate::app::App;
use crate::auth::{AuditCtx, SourceIp};
use crate::extract::{PathId, PathParam};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::card_auth::handoff::{self, HandoffCode, HandoffError, HandoffId, Pickup};
use mkpf_core::domain::time_fmt::to_jst;

impl From<HandoffError> for ApiError {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Unknown => ApiError::not_found("handoff_unknown", "no such hand-off, or not yours"),
            HandoffError::Expired => {
                ApiError::new(StatusCode::GONE, "handoff_expired", "Gone", "the hand-off has expired; start again")
            }
            HandoffError::Used => ApiError::new(
                StatusCode::CONFLICT,
                "handoff_used",
                "Conflict",
                "the hand-off was already used; start again",
            ),
            HandoffError::SignIn(s) => s.into(),
            HandoffError::Store(s) => s.into(),
            HandoffError::Key(k) => ApiError::unavailable(k),
        }
    }
}

impl PathParam for HandoffCode {
    fn parse_param(raw: &str) -> Option<Self> {
        HandoffCode::parse(raw)
    }
    fn unknown() -> ApiError {
        HandoffError::Unknown.into()
    }
}

impl PathParam for HandoffId {
    fn parse_param(raw: &str) -> Option<Self> {
        HandoffId::parse(raw)
    }
    fn unknown() -> ApiError {
        HandoffError::Unknown.into()
    }
}

/// A started hand-off.
#[derive(Serialize, ToSchema)]
pub struct HandoffStarted {
    /// Where the browser asks for its session (`POST /v1/card-auth/handoffs/{handoff_id}/session`).
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub handoff_id: String,
    /// The short code the device reads (shown as `ABCD-EFGH`; 8 Crockford base32 characters).
    #[schema(pattern = "^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")]
    pub code: String,
    /// base64url of 32 random bytes: only this browser gets the session, by showing it. Keep it
    /// in memory; it is never shown again.
    pub browser_secret: String,
    /// RFC 3339; five minutes from now.
    pub expires_at: String,
    /// How often to ask for the session, in seconds.
    pub poll_interval_secs: u32,
}

pub async fn start(State(app): State<App>, source: Option<axum::Extension<SourceIp>>) -> Result<Response, ApiError> {
    limit_challenges(&app, source)?;
    let s = handoff::start(&app).await?;
    let body = HandoffStarted {
        handoff_id: s.id.as_str().to_owned(),
        code: s.code.display(),
        browser_secret: s.browser_secret,
        expires_at: to_jst(s.expires_at),
        poll_interval_secs: handoff::POLL_SECS,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The device reads the challenge to sign.
pub async fn for_device(
    State(app): State<App>,
    source: Option<axum::Extension<SourceIp>>,
    code: Result<PathId<HandoffCode>, ApiError>,
) -> Result<Json<ChallengeResponse>, ApiError> {
    limit_challenges(&app, source)?;
    let PathId(code) = code?;
    let v = handoff::for_device(&app, &code).await?;
    Ok(Json(ChallengeResponse {
        challenge_id: v.challenge_id.as_str().to_owned(),
        nonce: URL_SAFE_NO_PAD.encode(&v.nonce),
        expires_at: to_jst(v.expires_at),
    }))
}

/// The device signs: the same body as a direct sign-in; the session goes to the browser.
pub async fn sign_in(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    code: Result<PathId<HandoffCode>, ApiError>,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<StatusCode, ApiError> {
    let PathId(code) = code?;
    let request = req.parse()?;
    let result = handoff::sign_in(&app, &ctx, &code, request).await.map_err(ApiError::from);
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    app.metrics.count("card_sign_in", &[("outcome", outcome), ("via", "handoff")], 1);
    result?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/card-auth/handoffs/{handoff_id}/session`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupRequest {
    /// The `browser_secret` the start returned.
    #[schema(min_length = 1, max_length = 64)]
    pub browser_secret: String,
}

/// Not signed yet: ask again after `poll_interval_secs`.
#[derive(Serialize, ToSchema)]
pub struct HandoffPending {
    /// Always `pending`.
    pub status: &'static str,
    pub expires_at: String,
}

/// The browser asks for its session: `202` until the device has signed, then `200` once.
pub async fn pickup(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    id: Result<PathId<HandoffId>, ApiError>,
    ApiJson(req): ApiJson<PickupRequest>,
) -> Result<Response, ApiError> {
    let PathId(id) = id?;
    if req.browser_secret.is_empty() || req.browser_secret.len() > 64 {
        return Err(ApiError::invalid_field("browser_secret", "the browser_secret the start returned"));
    }
    match handoff::pickup(&app, &ctx, &id, &req.browser_secret).await? {
        Pickup::Pending { expires_at } => Ok((
            StatusCode::ACCEPTED,
            [(axum::http::header::RETRY_AFTER, handoff::POLL_SECS.to_string())],
            Json(HandoffPending { status: "pending", expires_at: to_jst(expires_at) }),
        )
            .into_response()),
        Pickup::Session { token, expires_at, mykey_id } => Ok((
            StatusCode::OK,
            Json(SessionResponse { session_token: token, expires_at: to_jst(expires_at), mykey_id }),
        )
            .into_response()),
    }
}
