//! HTTP handlers of card authentication: challenges, sessions (sign-in with the card's
//! certificate and signature, sign-out), and the operators' CRL import and status. Errors of each
//! use case are mapped to problems once, in the `From` impls below.

use axum::Json;
use axum::body::Body;
use axum::extract::State;

use crate::extract::ApiPath;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::{AuditCtx, CurrentCitizen, SourceIp};
use crate::json::{ApiJson, read_body, require_media_type};
use crate::problem::ApiError;
use mkpf_core::audit::{self, Event};
use mkpf_core::card_auth::challenge::{self, ChallengeId};
use mkpf_core::card_auth::revocation::{self, CrlImportError};
use mkpf_core::card_auth::sessions;
use mkpf_core::card_auth::sign_in::{self, MAX_CERTIFICATE_BYTES, MAX_SIGNATURE_BYTES, SignInError, SignInRequest};
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::mykey::person::PersonId;
use mkpf_core::mykey::relink::{self, ImportError};

/// Standard base64, padding optional.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn unauthorized(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, "Unauthorized", detail)
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::NotConfigured => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "card_auth_unavailable",
                "Service unavailable",
                "card authentication is not configured on this platform",
            ),
            SignInError::Challenge(c) => unauthorized(c.code(), c.to_string()),
            SignInError::Certificate(c) => unauthorized(c.code(), c.to_string()),
            SignInError::Signature(s) => unauthorized("signature_invalid", s.to_string()),
            SignInError::Revoked => unauthorized("certificate_revoked", "the certificate has been revoked"),
            SignInError::RevocationUnavailable(r) => {
                tracing::warn!(error = %r, "revocation data unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "revocation_unavailable",
                    "Service unavailable",
                    "revocation data for this certificate's issuer is not current; retry later",
                )
                .retry_after(60)
            }
            SignInError::Store(s) => s.into(),
            SignInError::Key(k) => ApiError::unavailable(k),
        }
    }
}

impl From<CrlImportError> for ApiError {
    fn from(e: CrlImportError) -> Self {
        match e {
            CrlImportError::NoTrustAnchors => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "card_auth_unavailable",
                "Service unavailable",
                "no trust anchors are configured (MKPF_JPKI_TRUST_ANCHORS)",
            ),
            CrlImportError::Invalid(c) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, c.code(), "CRL refused", c.to_string())
            }
            CrlImportError::Older { current } => ApiError::conflict(
                "crl_older",
                format!("a newer CRL of this issuer is already imported (thisUpdate {current})"),
            ),
            CrlImportError::Store(s) => s.into(),
        }
    }
}

/// A new challenge.
#[derive(Serialize, ToSchema)]
pub struct ChallengeResponse {
    /// Quote it in `POST /v1/card-auth/sessions`.
    pub challenge_id: String,
    /// base64url (no padding) of 32 random bytes; the card signs the decoded bytes
    /// (RSASSA-PKCS1-v1_5 with SHA-256).
    pub nonce: String,
    /// RFC 3339; five minutes from now. A challenge can be answered once.
    pub expires_at: String,
}

/// Challenges (direct or handed off) and hand-off look-ups are limited per source address.
pub fn limit_challenges(app: &App, source: Option<axum::Extension<SourceIp>>) -> Result<(), ApiError> {
    let who = source.and_then(|s| s.0.0).unwrap_or_else(|| "-".into());
    app.challenge_limiter.take(&who, app.clock.epoch_millis()).map_err(|wait| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            "too many challenges from this address; retry later",
        )
        .retry_after(wait)
    })
}

pub async fn create_challenge(
    State(app): State<App>,
    source: Option<axum::Extension<SourceIp>>,
) -> Result<Response, ApiError> {
    limit_challenges(&app, source)?;
    let c = challenge::issue(&app).await?;
    let body = ChallengeResponse {
        challenge_id: c.id.as_str().to_owned(),
        nonce: c.nonce_b64url(),
        expires_at: to_jst(c.expires_at),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Body of `POST /v1/card-auth/sessions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub challenge_id: String,
    /// base64 (standard alphabet) of the DER user-authentication certificate read from the card.
    #[schema(min_length = 1, max_length = 10924)]
    pub certificate: String,
    /// base64 of the card's RSASSA-PKCS1-v1_5 / SHA-256 signature over the decoded nonce bytes.
    #[schema(min_length = 1, max_length = 684)]
    pub signature: String,
}

/// A citizen session.
#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    /// Bearer token for citizen routes; valid 15 minutes, while the session is open.
    pub session_token: String,
    pub expires_at: String,
    /// The person's MyKey ID, or null if they have none yet (create one with `POST /v1/mykey-ids`).
    pub mykey_id: Option<String>,
}

impl SessionRequest {
    /// The sign-in attempt, parsed (`422 invalid_field` naming the field otherwise).
    pub fn parse(self) -> Result<SignInRequest, ApiError> {
        Ok(SignInRequest {
            challenge_id: ChallengeId::parse(&self.challenge_id)
                .map_err(|e| ApiError::invalid_field("challenge_id", e))?,
            certificate: decode_field("certificate", &self.certificate, MAX_CERTIFICATE_BYTES)?,
            signature: decode_field("signature", &self.signature, MAX_SIGNATURE_BYTES)?,
            handoff: None,
        })
    }
}

fn decode_field(name: &str, value: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    if value.len() > max.div_ceil(3) * 4 + 4 {
        return Err(ApiError::invalid_field(name, format!("at most {max} bytes once decoded")));
    }
    let bytes = B64.decode(value.trim()).map_err(|_| ApiError::invalid_field(name, "not valid base64"))?;
    if bytes.is_empty() || bytes.len() > max {
        return Err(ApiError::invalid_field(name, format!("1 to {max} bytes once decoded")));
    }
    Ok(bytes)
}

pub async fn create_session(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<Response, ApiError> {
    let request = req.parse()?;
    // The outcome label is the problem code the caller gets (one mapping, in `From<SignInError>`).
    let result = sign_in::sign_in(&app, &ctx, request).await.map_err(ApiError::from);
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    app.metrics.count("card_sign_in", &[("outcome", outcome)], 1);
    let g = result?;
    let body = SessionResponse { session_token: g.token, expires_at: to_jst(g.expires_at), mykey_id: g.mykey_id };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Ends the caller's session.
pub async fn sign_out(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
) -> Result<StatusCode, ApiError> {
    let pid = PersonId::parse(&me.person_id).map_err(ApiError::internal)?;
    let key = sessions::session_key(pid.as_str(), &me.session_id);
    let event = Event::success("citizen.sign_out", vec![format!("person:{pid}")]);
    audit::commit(
        &app,
        &ctx,
        event,
        vec![mkpf_core::ports::store::TxOp::Delete { table: &mkpf_core::tables::PEOPLE, key, cond: None }],
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The largest CRL the import route accepts (larger ones: `mkpf-admin card import-crl` or the
/// `crl-fetch` job).
pub const MAX_CRL_BODY: usize = 4 * 1024 * 1024;

pub async fn import_crl(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<CrlImport>, ApiError> {
    require_media_type(&headers, "application/pkix-crl", "send the DER CRL as application/pkix-crl")?;
    let der = read_body(body, MAX_CRL_BODY).await?;
    Ok(Json(revocation::import_crl(&app, &ctx, &der, &|_, _| {}).await?.into()))
}

/// The current CRL of every trust anchor.
#[derive(Serialize, ToSchema)]
pub struct CrlStates {
    pub issuers: Vec<CrlState>,
}

pub async fn crl_states(State(app): State<App>) -> Result<Json<CrlStates>, ApiError> {
    Ok(Json(CrlStates { issuers: revocation::states(&app).await?.into_iter().map(Into::into).collect() }))
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(f) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "linkage_feed_invalid",
                "Linkage feed refused",
                f.to_string(),
            ),
            ImportError::Store(s) => s.into(),
            ImportError::Queue(q) => q.into(),
        }
    }
}

/// The largest linkage feed the route accepts (about 40,000 rows).
pub const MAX_FEED_BODY: usize = 4 * 1024 * 1024;

/// Imports a linkage feed: 202 with the new import, or 200 with the existing one when this feed
/// was imported before (its unfinished batches are queued again).
pub async fn import_linkage_feed(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_media_type(&headers, "text/csv", "send the linkage feed as text/csv")?;
    let bytes = read_body(body, MAX_FEED_BODY).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "linkage_feed_invalid",
            "Linkage feed refused",
            "the feed is not UTF-8",
        )
    })?;
    let (view, created) = relink::import_feed(&app, &ctx, text).await?;
    let status = if created { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(LinkageFeedView::from(view))).into_response())
}

/// An import's progress and reported rows. The rows name certificates (issuer and serial):
/// reading them is audited.
pub async fn linkage_feed(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiPath(feed_id): ApiPath<String>,
) -> Result<Json<LinkageFeedView>, ApiError> {
    let not_found = || ApiError::not_found("linkage_feed_not_found", "no linkage feed import has this id");
    if feed_id.len() != 32 || !feed_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let view = relink::view(&app, &feed_id).await?.ok_or_else(not_found)?;
    let event = Event::success("card.linkage_feed_read", vec![format!("feed:{feed_id}")])
        .with_detail(serde_json::json!({"reported_rows": view.reported.len()}));
    audit::commit_event(&app, &ctx, event).await?;
    Ok(Json(view.into()))
}

// --- wire types ---------------------------------------------------------------------------------

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrlImport {
    /// The issuing root's key id.
    pub issuer: String,
    pub crl_number: Option<String>,
    /// RFC 3339, Asia/Tokyo.
    pub this_update: String,
    pub next_update: String,
    /// Revoked serials the CRL lists.
    pub entries: usize,
    /// `imported`, or `unchanged` when this exact CRL was already the current one.
    pub result: String,
}

impl From<revocation::CrlImport> for CrlImport {
    fn from(c: revocation::CrlImport) -> Self {
        let revocation::CrlImport { issuer, crl_number, this_update, next_update, entries, result } = c;
        CrlImport { issuer, crl_number, this_update, next_update, entries, result }
    }
}

/// One issuer's current CRL as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrlState {
    pub issuer: String,
    pub crl_number: Option<String>,
    pub this_update: String,
    pub next_update: String,
    pub entries: i64,
    pub imported_at: String,
    /// Whether sign-in with this issuer's certificates works now (nextUpdate + grace not passed).
    pub current: bool,
}

impl From<revocation::CrlState> for CrlState {
    fn from(c: revocation::CrlState) -> Self {
        let revocation::CrlState { issuer, crl_number, this_update, next_update, entries, imported_at, current } = c;
        CrlState { issuer, crl_number, this_update, next_update, entries, imported_at, current }
    }
}

/// A linkage feed import's progress and report.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkageFeedView {
    pub feed_id: String,
    pub rows: i64,
    pub batches: i64,
    pub batches_done: i64,
    /// `processing` or `done`.
    pub status: String,
    pub linked: i64,
    pub already_linked: i64,
    pub merged: i64,
    pub unknown: i64,
    pub conflict: i64,
    /// The rows reported (`unknown`: neither certificate has a person; or `conflict`), at most
    /// 1000, by line.
    pub reported: Vec<ReportedRow>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportedRow {
    pub line: u32,
    /// `unknown` or `conflict`.
    pub outcome: String,
    pub old_issuer: String,
    pub old_serial: String,
    pub new_issuer: String,
    pub new_serial: String,
}

impl From<relink::FeedView> for LinkageFeedView {
    fn from(v: relink::FeedView) -> Self {
        let relink::FeedView {
            feed_id,
            rows,
            batches,
            batches_done,
            status,
            linked,
            already_linked,
            merged,
            unknown,
            conflict,
            reported,
            created_at,
        } = v;
        let reported = reported
            .into_iter()
            .map(|r| {
                let relink::ReportedRow { line, outcome, old_issuer, old_serial, new_issuer, new_serial } = r;
                ReportedRow { line, outcome, old_issuer, old_serial, new_issuer, new_serial }
            })
            .collect();
        LinkageFeedView {
            feed_id,
            rows,
            batches,
            batches_done,
            status,
            linked,
            already_linked,
            merged,
            unknown,
            conflict,
            reported,
            created_at,
        }
    }
}
