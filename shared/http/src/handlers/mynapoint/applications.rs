//! HTTP handlers of Mynapoint applications (citizens) and provider callbacks (providers, signed
//! with Standard Webhooks). Each use case's errors are mapped to problems once, in the `From`
//! impls below; the codes are listed in `docs/mynapoint.md`.

use axum::Json;
use axum::extract::{FromRequest, Request, State};

use crate::extract::ApiPath;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::auth::{AuditCtx, CurrentCitizen, session_ended};
use crate::idempotency;
use crate::json::{ApiJson, read_body};
use crate::problem::ApiError;
use mkpf_core::domain::mynapoint::{ApplicationId, MeasureId, ServiceAccountId, ServiceCode};
use mkpf_core::domain::time_fmt::to_jst;
use mkpf_core::mykey::person::PersonId;
use mkpf_core::mynapoint::applications::{self, ApplyError, ApplyRequest, ReadError};
use mkpf_core::mynapoint::callbacks::{self, CallbackError, Processed};
use mkpf_core::mynapoint::record::{ApplicationRecord, EventRecord};
use mkpf_core::webhooks;

impl From<ApplyError> for ApiError {
    fn from(e: ApplyError) -> Self {
        let code = e.code();
        let (status, title, detail): (StatusCode, &'static str, String) = match &e {
            ApplyError::MeasureUnknown => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown measure",
                "this measure is not configured on the platform".into(),
            ),
            ApplyError::ServiceUnknown => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown payment service",
                "no payment service has this code (GET /v1/mynapoint/services lists them)".into(),
            ),
            ApplyError::CodesInvalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid security codes", why.clone()),
            ApplyError::MeasureClosed => {
                (StatusCode::CONFLICT, "Measure closed", "this measure is not taking applications now".into())
            }
            ApplyError::ServiceNotAccepting => (
                StatusCode::CONFLICT,
                "Service not accepting",
                "this payment service does not take applications for this measure now; choose another".into(),
            ),
            ApplyError::AlreadyApplied => (
                StatusCode::CONFLICT,
                "Already applied",
                "you already applied for this measure (one payment service per measure; a change needs the \
                 secretariat)"
                    .into(),
            ),
            ApplyError::AccountTaken => (
                StatusCode::CONFLICT,
                "Service account taken",
                "this service account is already used for this measure by another applicant; use your own account"
                    .into(),
            ),
            ApplyError::KeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency key reused",
                "this Idempotency-Key was already used for a different request".into(),
            ),
            ApplyError::MyKeyIdRequired => {
                (StatusCode::FORBIDDEN, "MyKey ID required", "create a MyKey ID first (POST /v1/mykey-ids)".into())
            }
            ApplyError::Lapsed => (
                StatusCode::FORBIDDEN,
                "Card not valid",
                "the card you signed in with is expired, revoked or no longer linked to you; sign in with a valid card"
                    .into(),
            ),
            ApplyError::NotEligible(n) => (StatusCode::FORBIDDEN, "Not eligible", n.to_string()),
            ApplyError::SessionEnded => return session_ended(),
            ApplyError::LinkPending { until, checked_at } => return ApiError::link_pending(*until, *checked_at),
            ApplyError::RevocationUnavailable(i) => {
                tracing::warn!(issuer = %i, "revocation data unavailable");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "revocation_unavailable",
                    "Service unavailable",
                    "revocation data for your card is not current; retry later",
                )
                .retry_after(60);
            }
            ApplyError::Key(k) => return ApiError::unavailable(k),
            ApplyError::Store(s) => return ApiError::from(s.clone()),
        };
        ApiError::new(status, code, title, detail)
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NotFound => ApiError::not_found("application_unknown", "you have no application with this id"),
            ReadError::Store(s) => s.into(),
        }
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        let code = e.code();
        let (status, title) = match &e {
            CallbackError::ProviderUnknown | CallbackError::Signature(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            CallbackError::Invalid(why) => {
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Invalid field", why.clone());
            }
            CallbackError::ApplicationUnknown => (StatusCode::NOT_FOUND, "Unknown application"),
            CallbackError::Foreign => (StatusCode::FORBIDDEN, "Forbidden"),
            CallbackError::TransitionInvalid { .. }
            | CallbackError::OverCap { .. }
            | CallbackError::GrantDeadlinePassed => (StatusCode::CONFLICT, "Conflict"),
            CallbackError::ChargeAmountRequired => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid field"),
            CallbackError::Secrets(s) => return ApiError::unavailable(s),
            CallbackError::Store(s) => return ApiError::from(s.clone()),
        };
        let detail = match &e {
            CallbackError::ProviderUnknown => "no provider with callback credentials has this id".to_owned(),
            CallbackError::TransitionInvalid { state } => {
                format!("this report does not apply to an application that is {}", state.as_str())
            }
            CallbackError::OverCap { cap, granted } => format!(
                "the grant would take the application past its cap of {cap} points ({granted} granted so far); it was recorded for reconciliation"
            ),
            other => other.to_string(),
        };
        ApiError::new(status, code, title, detail)
    }
}

/// Body of `POST /v1/mynapoint/applications`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    /// The measure: `card_acquisition`, `health_insurance` or `public_funds_account`.
    #[schema(pattern = "^(card_acquisition|health_insurance|public_funds_account)$")]
    pub measure: String,
    /// The payment service's code (`GET /v1/mynapoint/services?measure=…`).
    #[schema(pattern = "^[A-Z0-9_]{2,16}$")]
    pub service_code: String,
    /// Your own account id at that service (a legal representative's for a minor).
    #[schema(pattern = "^[A-Za-z0-9-]{1,64}$")]
    pub service_account_id: String,
    /// The 1–3 security codes the service asks for, in its order. Never stored in clear.
    #[schema(max_items = 3, min_items = 1)]
    pub security_codes: Vec<String>,
}

impl ApplyBody {
    fn parse(self) -> Result<ApplyRequest, ApiError> {
        if self.security_codes.is_empty()
            || self.security_codes.len() > 3
            || self.security_codes.iter().any(|c| c.len() > 32)
        {
            return Err(ApiError::invalid_field("security_codes", "1 to 3 codes of at most 32 characters"));
        }
        Ok(ApplyRequest {
            measure: MeasureId::parse(&self.measure).map_err(|e| ApiError::invalid_field("measure", e))?,
            service: ServiceCode::parse(&self.service_code).map_err(|e| ApiError::invalid_field("service_code", e))?,
            account: ServiceAccountId::parse(&self.service_account_id)
                .map_err(|e| ApiError::invalid_field("service_account_id", e))?,
            codes: self.security_codes,
        })
    }
}

/// Where an application stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateView {
    /// Received; on its way to the payment provider.
    Submitted,
    /// Delivered to the provider; waiting for its answer.
    Dispatched,
    /// Accepted by the provider: points are granted as you charge or pay (measure 1) or once
    /// (measures 2 and 3).
    Accepted,
    /// Refused by the provider (e.g. the account did not match): you may apply again.
    Rejected,
    /// The provider stopped the link (account closed, …).
    Stopped,
}

/// An application.
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    #[schema(pattern = "^app_[0-9a-f]{32}$")]
    pub application_id: String,
    /// `card_acquisition`, `health_insurance` or `public_funds_account`.
    pub measure: String,
    pub service_code: String,
    /// The last 4 characters of the service account id, the rest masked.
    pub service_account_hint: String,
    pub state: StateView,
    /// The most points this application can receive.
    pub points_cap: i64,
    pub points_granted: i64,
    /// Points still to be earned (cap − granted).
    pub points_remaining: i64,
    /// The balance the provider last reported; null until it reports one.
    #[schema(required = true)]
    pub balance: Option<i64>,
    /// RFC 3339, Asia/Tokyo.
    pub applied_at: String,
    /// When the provider received it; null until then.
    #[schema(required = true)]
    pub dispatched_at: Option<String>,
    /// Why it was rejected or stopped; null otherwise.
    #[schema(required = true)]
    pub reason: Option<String>,
}

fn hint(account: &ServiceAccountId) -> String {
    let s = account.as_str();
    let keep = s.len().min(4);
    format!("{}{}", "*".repeat(s.len() - keep), &s[s.len() - keep..])
}

impl ApplicationView {
    fn of(r: &ApplicationRecord) -> ApplicationView {
        use mkpf_core::domain::mynapoint::ApplicationState as S;
        ApplicationView {
            application_id: r.id.as_str().to_owned(),
            measure: r.measure.as_str().to_owned(),
            service_code: r.service.as_str().to_owned(),
            service_account_hint: hint(&r.account),
            state: match r.state {
                S::Submitted => StateView::Submitted,
                S::Dispatched => StateView::Dispatched,
                S::Accepted => StateView::Accepted,
                S::Rejected => StateView::Rejected,
                S::Stopped => StateView::Stopped,
            },
            points_cap: r.points_cap,
            points_granted: r.points_granted,
            points_remaining: r.remaining(),
            balance: r.balance,
            applied_at: to_jst(r.created_at),
            dispatched_at: r.dispatched_at.map(to_jst),
            reason: r.reason.clone(),
        }
    }
}

/// Your applications, newest first.
#[derive(Serialize, ToSchema)]
pub struct ApplicationList {
    pub applications: Vec<ApplicationView>,
}

/// What the provider reported about an application.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    /// `application.dispatched`, `application.accepted`, `application.rejected`, `points.granted`,
    /// `balance.reported` or `link.stopped`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `applied`, or `refused_over_cap` for a grant past the cap (not counted).
    pub outcome: String,
    #[schema(required = true)]
    pub points: Option<i64>,
    /// The grant's date (Asia/Tokyo) as the provider reported it.
    #[schema(required = true)]
    pub granted_on: Option<String>,
    /// Measure 1: the charge or purchase the grant was for, in yen.
    #[schema(required = true)]
    pub charge_amount: Option<i64>,
    #[schema(required = true)]
    pub balance: Option<i64>,
    #[schema(required = true)]
    pub reason: Option<String>,
    /// RFC 3339, Asia/Tokyo.
    pub received_at: String,
}

/// One application and its history.
#[derive(Serialize, ToSchema)]
pub struct ApplicationDetail {
    pub application: ApplicationView,
    /// Oldest first.
    pub events: Vec<EventView>,
}

fn event_view(e: EventRecord) -> EventView {
    EventView {
        kind: e.kind,
        outcome: e.outcome,
        points: e.points,
        granted_on: e.granted_on,
        charge_amount: e.charge_amount,
        balance: e.balance,
        reason: e.reason,
        received_at: to_jst(e.received_at),
    }
}

fn person(me: &crate::auth::CitizenSession) -> Result<PersonId, ApiError> {
    PersonId::parse(&me.person_id).map_err(ApiError::internal)
}

/// `POST /v1/mynapoint/applications`: applies for a measure with one payment service. 201 with
/// the application; the same request again with the same `Idempotency-Key` answers 201 with the
/// same application and `Idempotent-Replayed: true`.
pub async fn apply(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
    req: Request,
) -> Result<Response, ApiError> {
    let pid = person(&me)?;
    // The session check is this route's first step (one read of the person's partition, which the
    // use case needs anyway); only then is the request looked at.
    let view = applications::person_view(&app, &pid, &me.session_id).await?;
    let key = idempotency::key_of(req.headers())?;
    let ApiJson(body) = ApiJson::<ApplyBody>::from_request(req, &()).await?;
    let done = applications::apply(&app, &ctx, &view, &key, body.parse()?).await?;
    let mut resp = (StatusCode::CREATED, Json(ApplicationView::of(&done.application))).into_response();
    let location = format!("/v1/mynapoint/applications/{}", done.application.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    if done.replayed {
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// `GET /v1/mynapoint/applications`: your applications (audited read).
pub async fn list(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
) -> Result<Json<ApplicationList>, ApiError> {
    let pid = person(&me)?;
    let apps = applications::list(&app, &ctx, &pid).await?;
    Ok(Json(ApplicationList { applications: apps.iter().map(ApplicationView::of).collect() }))
}

/// `GET /v1/mynapoint/applications/{application_id}`: one of your applications with what the
/// provider reported (audited read). 404 `application_unknown` for an id that is not yours.
pub async fn get(
    State(app): State<App>,
    CurrentCitizen(me): CurrentCitizen,
    AuditCtx(ctx): AuditCtx,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    let pid = person(&me)?;
    let id = ApplicationId::parse(&id).map_err(|_| ReadError::NotFound)?;
    let (rec, events) = applications::get(&app, &ctx, &pid, &id).await?;
    Ok(Json(ApplicationDetail {
        application: ApplicationView::of(&rec),
        events: events.into_iter().map(event_view).collect(),
    }))
}

/// Answer to a provider callback.
#[derive(Serialize, ToSchema)]
pub struct CallbackResult {
    /// `applied`, or `duplicate` when this `webhook-id` was processed before (nothing changed).
    pub result: String,
    /// The application's state after an applied callback; null for a duplicate.
    #[schema(required = true)]
    pub state: Option<String>,
}

/// `POST /v1/providers/{provider_id}/callbacks`: a provider's signed report (Standard Webhooks:
/// `webhook-id`, `webhook-timestamp`, `webhook-signature`). The signature is verified with the
/// provider's callback secret before the body is parsed.
pub async fn callback(
    State(app): State<App>,
    AuditCtx(ctx): AuditCtx,
    ApiPath(provider): ApiPath<String>,
    req: Request,
) -> Result<Json<CallbackResult>, ApiError> {
    // The signature is checked first, before anything about the request is looked at (a body that
    // is not JSON is then refused as `invalid_field`).
    let (parts, body) = req.into_parts();
    let bytes = read_body(body, callbacks::MAX_BODY).await?;
    let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let signed = webhooks::Signed {
        id: h(webhooks::ID_HEADER),
        timestamp: h(webhooks::TIMESTAMP_HEADER),
        signature: h(webhooks::SIGNATURE_HEADER),
    };
    let done = callbacks::receive(&app, &ctx, &provider, signed, &bytes).await?;
    Ok(Json(match done {
        Processed::Applied { state } => CallbackResult { result: "applied".into(), state: Some(state.as_str().into()) },
        Processed::Duplicate => CallbackResult { result: "duplicate".into(), state: None },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_hints_mask_all_but_four() {
        assert_eq!(hint(&ServiceAccountId::parse("1234567890").unwrap()), "******7890");
        assert_eq!(hint(&ServiceAccountId::parse("ab").unwrap()), "ab");
    }
}
