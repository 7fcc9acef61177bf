//! HTTP handlers of the MyKey ID lifecycle (citizens only): create, read (`me`), suggestions,
//! change, revoke. Errors of each use case are mapped to problems once, in the `From` impls below.
//!
//! Problem codes: `person_lapsed` (403) when creating or changing with no valid linked
//! certificate, `certificate_link_pending` (403, with `Retry-After`) when creating while the person
//! waits for a renewal linkage (`mykey::person::link_pending_until`), `mykey_id_taken` (409), `mykey_id_absent` (409: changing or revoking without an
//! active MyKey ID; `GET /v1/mykey-ids/me` answers 200 with `mykey_id: null` then, so the resource
//! exists and 404 would mislead), `mykey_id_changed` (409: a concurrent request changed it first),
//! `invalid_field` (422, naming `mykey_id`), `revocation_unavailable` (503, revocation data of a
//! linked certificate's issuer is not current).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::{AuditCtx, CurrentCitizen};
use crate::json::ApiJson;
use crate::problem::ApiError;
use mkpf_core::card_auth::revocation::RevocationError;
use mkpf_core::domain::time_fmt::{from_store, to_jst};
use mkpf_core::mykey::id::MyKeyId;
use mkpf_core::mykey::lifecycle::{
    self, ChangeError, CreateError, IdState, MyKeyState, ReadError, RetiredReason, RevokeError,
};
use mkpf_core::mykey::person::{CertState, PersonId, StandingError};

fn lapsed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "person_lapsed",
        "Forbidden",
        "every certificate linked to you is revoked or expired; sign in with a valid card after renewal re-link",
    )
}

fn taken() -> ApiError {
    ApiError::conflict(
        "mykey_id_taken",
        "this MyKey ID is held or was held by someone (MyKey IDs are never reused); choose another or ask for suggestions",
    )
}

fn absent() -> ApiError {
    ApiError::conflict("mykey_id_absent", "you have no MyKey ID; create one first (POST /v1/mykey-ids)")
}

fn changed() -> ApiError {
    ApiError::conflict("mykey_id_changed", "your MyKey ID changed meanwhile; read it again and retry")
}

fn standing_problem(e: StandingError) -> ApiError {
    match e {
        StandingError::Store(s) => s.into(),
        StandingError::Revocation(RevocationError::Store(s)) => s.into(),
        StandingError::Revocation(r @ RevocationError::Unavailable(_)) => {
            tracing::warn!(error = %r, "revocation data unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "revocation_unavailable",
                "Service unavailable",
                "revocation data for a certificate linked to you is not current; retry later",
            )
            .retry_after(60)
        }
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Lapsed => lapsed(),
            CreateError::NoFreeId => ApiError::unavailable(e),
            CreateError::LinkPending { until, checked_at } => ApiError::link_pending(until, checked_at),
            CreateError::Standing(s) => standing_problem(s),
            CreateError::Store(s) => s.into(),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Standing(s) => standing_problem(s),
            ReadError::Store(s) => s.into(),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Lapsed => lapsed(),
            ChangeError::NoMyKeyId => absent(),
            ChangeError::Taken => taken(),
            ChangeError::Changed => changed(),
            ChangeError::Standing(s) => standing_problem(s),
            ChangeError::Store(s) => s.into(),
        }
    }
}

impl From<RevokeError> for ApiError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::NoMyKeyId => absent(),
            RevokeError::Changed => changed(),
            RevokeError::Store(s) => s.into(),
        }
    }
}

/// Your MyKey ID, the certificates linked to you and your standing.
#[derive(Serialize, ToSchema)]
pub struct MyKeyView {
    /// Your active MyKey ID: 8 characters from `23456789ABCDEFGHJKMNPQRSTUVWXYZ` (upper case), or
    /// null when you have none (never created, or revoked).
    #[schema(pattern = "^[2-9A-HJKMNP-Z]{8}$", required = true)]
    pub mykey_id: Option<String>,
    /// True when every certificate linked to you is revoked or expired: you can still read this
    /// and revoke your MyKey ID, but not create or change one until a valid card's certificate
    /// is linked to you (renewal re-link).
    pub lapsed: bool,
    /// The certificates of your cards linked to you, oldest link first.
    pub certificates: Vec<CertificateView>,
    /// Every MyKey ID you have held: the active one first, then the retired ones, most recently
    /// retired first. Retired IDs are never given to anyone.
    pub history: Vec<HistoryView>,
    /// Set while you wait for a renewal linkage: your card's certificate was issued recently, so
    /// it may be a renewed card of someone already known here, which only J-LIS's linkage feed
    /// can tell. Until this time (Asia/Tokyo) — or until the feed links your card, whichever is
    /// first — you cannot create a MyKey ID or apply (`certificate_link_pending`). Null when not
    /// waiting.
    #[schema(required = true)]
    pub link_pending_until: Option<String>,
}

/// A card certificate linked to you.
#[derive(Serialize, ToSchema)]
pub struct CertificateView {
    /// The issuing J-LIS root's key id (hex).
    pub issuer: String,
    /// The certificate's serial number (hex).
    pub serial: String,
    /// Where the certificate stands now.
    pub state: CertificateState,
    /// End of validity, RFC 3339 (Asia/Tokyo); null while unknown (linked by the renewal feed and
    /// not used to sign in yet).
    #[schema(required = true)]
    pub expires_at: Option<String>,
    /// When it was linked to you, RFC 3339 (Asia/Tokyo).
    pub linked_at: String,
}

/// Where a linked certificate stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateState {
    /// Within its validity and not revoked.
    Valid,
    /// Past its end of validity.
    Expired,
    /// Revoked (card lost, reissued or returned).
    Revoked,
}

/// One MyKey ID you have held.
#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    /// The MyKey ID.
    #[schema(pattern = "^[2-9A-HJKMNP-Z]{8}$")]
    pub mykey_id: String,
    /// `active` for your current MyKey ID, `retired` for one you changed away from or revoked.
    pub state: HistoryState,
    /// When you got it, RFC 3339 (Asia/Tokyo).
    pub created_at: String,
    /// When it was retired, RFC 3339 (Asia/Tokyo); null while active.
    #[schema(required = true)]
    pub retired_at: Option<String>,
    /// Why it was retired; null while active.
    #[schema(required = true)]
    pub retired_reason: Option<RetiredReasonView>,
}

/// Whether a MyKey ID is the current one.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryState {
    /// Your current MyKey ID.
    Active,
    /// No longer yours to use; never given to anyone else.
    Retired,
}

/// Why a MyKey ID was retired.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetiredReasonView {
    /// You changed to another MyKey ID.
    Changed,
    /// You revoked it.
    Revoked,
}

/// Up to three MyKey IDs nobody holds or held.
#[derive(Serialize, ToSchema)]
pub struct Suggestions {
    /// Up to three distinct MyKey IDs that were free when this answer was made. They are not
    /// reserved: someone may claim one first, and changing to it then fails with
    /// `mykey_id_taken`; ask again.
    pub suggestions: Vec<String>,
}

/// Body of `PUT /v1/mykey-ids/me`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// The MyKey ID to change to (chosen, or one of the suggestions): 8 characters, digits 2–9
    /// and letters A–Z except I, L and O; lower case is accepted and stored in upper case.
    #[schema(pattern = "^[2-9A-HJKMNP-Za-hjkmnp-z]{8}$", min_length = 8, max_length = 8)]
    pub mykey_id: String,
}

fn person(me: &crate::auth::CitizenSession) -> Result<PersonId, ApiError> {
    PersonId::parse(&me.person_id).map_err(ApiError::internal)
}

fn instant(stored: &str) -> Result<String, ApiError> {
    from_store(stored).map(to_jst).map_err(ApiError::internal)
}

fn epoch(secs: i64) -> Result<String, ApiError> {
    time::OffsetDateTime::from_unix_timestamp(secs).map(to_jst).map_err(ApiError::internal)
}

impl MyKeyView {
    fn of(s: MyKeyState, hold_secs: i64, now: i64) -> Result<MyKeyView, ApiError> {
        let lapsed = s.standing.lapsed();
        let link_pending_until = s.standing.link_pending_until(hold_secs, now).map(epoch).transpose()?;
        let certificates = s
            .standing
            .certificates
            .into_iter()
            .map(|(lc, st)| {
                Ok(CertificateView {
                    issuer: lc.cert.issuer.as_str().to_owned(),
                    serial: lc.cert.serial.as_str().to_owned(),
                    state: match st {
                        CertState::Valid => CertificateState::Valid,
                        CertState::Expired => CertificateState::Expired,
                        CertState::Revoked => CertificateState::Revoked,
                    },
                    expires_at: lc.cert.not_after.map(epoch).transpose()?,
                    linked_at: instant(&lc.linked_at)?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let history = s
            .history
            .into_iter()
            .map(|h| HistoryView {
                mykey_id: h.id.as_str().to_owned(),
                state: match h.state {
                    IdState::Active => HistoryState::Active,
                    IdState::Retired => HistoryState::Retired,
                },
                created_at: to_jst(h.created_at),
                retired_at: h.retired_at.map(to_jst),
                retired_reason: h.retired_reason.map(|r| match r {
                    RetiredReason::Changed => RetiredReasonView::Changed,
                    RetiredReason::Revoked => RetiredReasonView::Revoked,
                }),
            })
            .collect();
        Ok(MyKeyView {
            mykey_id: s.active.map(|i| i.as_str().to_owned()),
            lapsed,
            certificates,
            history,
            link_pending_until,
        })
    }
}

/// The view after a write, read back (and audited as `mykey.read`, like `GET /v1/mykey-ids/me`).
async fn view(app: &App, ctx: &mkpf_core::audit::Context, pid: &PersonId) -> Result<MyKeyView, ApiError> {
    MyKeyView::of(lifecycle::get(app, ctx, pid).await?, app.config.relink_hold_secs, app.clock.epoch_secs())
}

/// `POST /v1/mykey-ids`: creates your MyKey ID, a random one. Answers **201** with the view when it
/// was created, and **200** with the same view when you already had one (it is returned unchanged:
/// repeating the call is safe). 403 `person_lapsed` when every certificate linked to you is
/// revoked or expired.
pub async fn create(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
) -> Result<Response, ApiError> {
    let pid = person(&me)?;
    let created = lifecycle::create(&app, &ctx, &pid).await?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&app, &ctx, &pid).await?)).into_response())
}

/// `GET /v1/mykey-ids/me`: your active MyKey ID (or null), the certificates linked to you, whether
/// you have lapsed, and your MyKey ID history. Audited (`mykey.read`). Works when lapsed.
pub async fn me(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
) -> Result<Json<MyKeyView>, ApiError> {
    let pid = person(&me)?;
    Ok(Json(view(&app, &ctx, &pid).await?))
}

/// `GET /v1/mykey-ids/me/suggestions`: up to three free MyKey IDs to change to (not reserved).
pub async fn suggestions(
    State(app): State<App>,
    CurrentCitizen(_me): CurrentCitizen,
) -> Result<Json<Suggestions>, ApiError> {
    let ids = lifecycle::suggestions(&app).await?;
    Ok(Json(Suggestions { suggestions: ids.into_iter().map(|i| i.as_str().to_owned()).collect() }))
}

/// `PUT /v1/mykey-ids/me`: changes your MyKey ID to the one in the body and answers with the view.
/// Changing to your current ID changes nothing (200). 409 `mykey_id_taken` for an ID anyone holds
/// or ever held (your own retired ones included), 409 `mykey_id_absent` without an active MyKey
/// ID, 403 `person_lapsed`, 422 `invalid_field` for a malformed ID.
pub async fn change(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
    ApiJson(req): ApiJson<ChangeRequest>,
) -> Result<Json<MyKeyView>, ApiError> {
    let pid = person(&me)?;
    let new = MyKeyId::parse(&req.mykey_id).map_err(|why| ApiError::invalid_field("mykey_id", why))?;
    lifecycle::change(&app, &ctx, &pid, new).await?;
    Ok(Json(view(&app, &ctx, &pid).await?))
}

/// `DELETE /v1/mykey-ids/me`: revokes your MyKey ID (204). It is retired for good and never given to
/// anyone; `POST /v1/mykey-ids` afterwards creates a new one. Allowed when lapsed. 409
/// `mykey_id_absent` when you have none.
pub async fn revoke(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
) -> Result<StatusCode, ApiError> {
    let pid = person(&me)?;
    lifecycle::revoke(&app, &ctx, &pid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_request_schema_pattern_is_the_domain_pattern() {
        // Schema attributes need literals; keep them in step with the domain.
        assert_eq!(mkpf_core::mykey::id::PATTERN, "^[2-9A-HJKMNP-Za-hjkmnp-z]{8}$");
        let doc = serde_json::to_value(<super::ChangeRequest as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(doc["properties"]["mykey_id"]["pattern"], mkpf_core::mykey::id::PATTERN);
    }
}
