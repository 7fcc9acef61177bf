//! Principals (who is calling) and access rules (who may call a route). Deny by default: a
//! route admits only the principals its route-table entry lists.
//!
//! Credentials are bearer tokens (ES256 JWTs, [`mkpf_core::tokens`]): staff tokens are honoured
//! while their session is open (one read per request); citizen session tokens come from card
//! authentication. Providers and relying systems are principals with their own access entries;
//! their credentials arrive with their programs.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};

use super::problem::{ApiError, current_request_id};
use crate::app::App;
use mkpf_core::audit;
use mkpf_core::card_auth::sessions as citizen_sessions;
pub use mkpf_core::domain::staff::Role;
use mkpf_core::staff::{PENDING_PASSWORD_CHANGE, sessions};
use mkpf_core::tokens::{self, TokenError};

/// One entry of a route's access list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// Any signed-in staff member, including one whose token is restricted to self-service
    /// (pending password change or TOTP enrolment).
    AnyStaff,
    /// Staff holding this role, with a full (unrestricted) token.
    Staff(Role),
    /// A citizen signed in with their My Number Card.
    Citizen,
    /// A payment provider.
    Provider,
    /// A relying (municipal) system of the PPID service.
    RelyingSystem,
}

impl Access {
    pub fn label(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::AnyStaff => "staff:any".into(),
            Access::Staff(r) => format!("staff:{}", r.as_str()),
            Access::Citizen => "citizen".into(),
            Access::Provider => "provider".into(),
            Access::RelyingSystem => "relying_system".into(),
        }
    }
}

/// A signed-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: String,
    pub roles: Vec<Role>,
    /// The municipality code a `municipal_staff` member is scoped to.
    pub municipality: Option<String>,
    pub session: String,
    /// Steps to finish before the token admits more than self-service.
    pub pending: Vec<String>,
}

impl Staff {
    pub fn restricted(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether this member may see the data of municipality `code`: platform roles may see all,
    /// municipality staff only their own.
    pub fn may_access_municipality(&self, code: &str) -> bool {
        if self.roles.iter().any(|r| matches!(r, Role::Operator | Role::Auditor | Role::PatchApprover)) {
            return true;
        }
        self.roles.contains(&Role::MunicipalStaff) && self.municipality.as_deref() == Some(code)
    }
}

/// A citizen's card-authenticated session. Carries the internal person id, never the MyKey ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenSession {
    pub person_id: String,
    pub session_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPrincipal {
    pub provider_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingSystemPrincipal {
    pub client_id: String,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Staff(Staff),
    Citizen(CitizenSession),
    Provider(ProviderPrincipal),
    RelyingSystem(RelyingSystemPrincipal),
}

impl Principal {
    /// For logs and metrics: the kind only, never an identifier.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Staff(_) => "staff",
            Principal::Citizen(_) => "citizen",
            Principal::Provider(_) => "provider",
            Principal::RelyingSystem(_) => "relying_system",
        }
    }

    /// The identifier (staff id, internal person id, provider id, client id).
    pub fn actor(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Staff(s) => &s.id,
            Principal::Citizen(c) => &c.person_id,
            Principal::Provider(p) => &p.provider_id,
            Principal::RelyingSystem(r) => &r.client_id,
        }
    }

    /// A stable identifier of the caller, used to scope idempotency keys.
    pub fn scope(&self) -> String {
        format!("{}:{}", self.kind(), self.actor())
    }

    /// The caller as an audit actor.
    pub fn audit_actor(&self) -> audit::Actor {
        match self {
            Principal::Anonymous => audit::Actor::new("anonymous", None),
            p => audit::Actor::new(p.kind(), Some(p.actor())),
        }
    }
}

fn unauthenticated(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, "Unauthorized", detail)
}

fn forbidden(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, "Forbidden", detail)
}

/// Identifies the caller from the `Authorization` header. No header: anonymous. A header that
/// does not carry a valid credential is an error, never silently anonymous.
///
/// `citizen_session`: whether to check that a citizen token's session is still open (one read).
/// Only routes whose use case reads the session item itself, together with the rest of the
/// person's partition, pass `false` (see `RouteSpec::session_in_handler`).
pub async fn authenticate(app: &App, headers: &HeaderMap, citizen_session: bool) -> Result<Principal, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Principal::Anonymous);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthenticated("token_invalid", "the Authorization header must be `Bearer <token>`"))?;
    // Staff and citizen tokens are signed with different keys; each key set only vouches for its
    // own audience.
    let (keys, audience) = match tokens::peek_audience(token).as_deref() {
        Some(tokens::CITIZEN_AUDIENCE) => (app.citizen_keys.as_ref(), tokens::CITIZEN_AUDIENCE),
        _ => (app.staff_keys.as_ref(), tokens::STAFF_AUDIENCE),
    };
    let now = app.clock.epoch_secs();
    let claims = match app.verified_tokens.get(token, now) {
        Some(c) if c.aud == audience => c,
        _ => {
            let c = tokens::verify(keys, token, &[audience], now).await.map_err(|e| match e {
                TokenError::Expired => unauthenticated("token_expired", "the token has expired; sign in again"),
                TokenError::WrongAudience => unauthenticated("token_invalid", "the token is not meant for this API"),
                TokenError::Key(k) => ApiError::unavailable(k),
                _ => unauthenticated("token_invalid", "the bearer token is not valid"),
            })?;
            app.verified_tokens.put(token, &c, now);
            c
        }
    };
    if audience == tokens::CITIZEN_AUDIENCE {
        if citizen_session && !citizen_sessions::is_open(app, &claims).await.map_err(ApiError::from)? {
            return Err(unauthenticated("session_ended", "this session was signed out or revoked; sign in again"));
        }
        return Ok(Principal::Citizen(CitizenSession { person_id: claims.sub, session_id: claims.sid }));
    }
    let roles = claims
        .roles
        .iter()
        .map(|r| Role::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| unauthenticated("token_invalid", "the bearer token is not valid"))?;
    if !sessions::is_open(app, &claims).await.map_err(ApiError::from)? {
        return Err(unauthenticated("session_ended", "this session was signed out or revoked; sign in again"));
    }
    Ok(Principal::Staff(Staff {
        id: claims.sub,
        roles,
        municipality: claims.muni,
        session: claims.sid,
        pending: claims.pending,
    }))
}

/// The refusal of a citizen whose session item is gone (signed out, revoked, expired).
pub fn session_ended() -> ApiError {
    unauthenticated("session_ended", "this session was signed out or revoked; sign in again")
}

/// Decides whether `principal` may call a route with access list `allowed`.
pub fn authorize(allowed: &[Access], principal: &Principal) -> Result<(), ApiError> {
    if allowed.contains(&Access::Public) {
        return Ok(());
    }
    let denied = || forbidden("forbidden", "you may not call this route");
    match principal {
        Principal::Anonymous => Err(unauthenticated("authentication_required", "this route requires credentials")),
        Principal::Staff(s) => {
            if allowed.contains(&Access::AnyStaff) {
                return Ok(());
            }
            let role_ok = allowed.iter().any(|a| matches!(a, Access::Staff(r) if s.roles.contains(r)));
            if !role_ok {
                Err(forbidden("forbidden", "your role may not call this route"))
            } else if s.pending.iter().any(|p| p == PENDING_PASSWORD_CHANGE) {
                Err(forbidden("password_change_required", "change your password first (POST /v1/staff/me/password)"))
            } else if s.restricted() {
                Err(forbidden("totp_enrolment_required", "enrol a TOTP authenticator first (POST /v1/staff/me/totp)"))
            } else {
                Ok(())
            }
        }
        Principal::Citizen(_) => allowed.contains(&Access::Citizen).then_some(()).ok_or_else(denied),
        Principal::Provider(_) => allowed.contains(&Access::Provider).then_some(()).ok_or_else(denied),
        Principal::RelyingSystem(_) => allowed.contains(&Access::RelyingSystem).then_some(()).ok_or_else(denied),
    }
}

/// The client address (API Gateway's `sourceIp`, or the socket peer locally), set by the outer
/// HTTP layer.
#[derive(Debug, Clone)]
pub struct SourceIp(pub Option<String>);

/// The audit context of the current request: principal, request id, source address.
pub struct AuditCtx(pub audit::Context);

impl<S: Send + Sync> FromRequestParts<S> for AuditCtx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(AuditCtx(context(&parts.extensions)))
    }
}

/// Builds the audit context from a request's extensions.
pub fn context(ext: &axum::http::Extensions) -> audit::Context {
    let actor =
        ext.get::<Principal>().map(Principal::audit_actor).unwrap_or_else(|| audit::Actor::new("anonymous", None));
    audit::Context {
        actor,
        request_id: current_request_id(),
        source_ip: ext.get::<SourceIp>().and_then(|s| s.0.clone()),
    }
}

/// The signed-in staff member (for routes that admit staff only).
pub struct CurrentStaff(pub Staff);

impl<S: Send + Sync> FromRequestParts<S> for CurrentStaff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<Principal>() {
            Some(Principal::Staff(s)) => Ok(CurrentStaff(s.clone())),
            _ => Err(forbidden("forbidden", "this route is for staff")),
        }
    }
}

/// The signed-in citizen (for routes that admit citizens only).
pub struct CurrentCitizen(pub CitizenSession);

impl<S: Send + Sync> FromRequestParts<S> for CurrentCitizen {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<Principal>() {
            Some(Principal::Citizen(c)) => Ok(CurrentCitizen(c.clone())),
            _ => Err(forbidden("forbidden", "this route is for signed-in citizens")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(roles: &[Role], pending: &[&str]) -> Principal {
        Principal::Staff(Staff {
            id: "x".into(),
            roles: roles.to_vec(),
            municipality: None,
            session: "s".into(),
            pending: pending.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn deny_by_default() {
        let op = staff(&[Role::Operator], &[]);
        let aud = staff(&[Role::Auditor], &[]);
        assert!(authorize(&[], &op).is_err(), "an empty access list admits nobody");
        assert!(authorize(&[Access::Public], &Principal::Anonymous).is_ok());
        assert_eq!(authorize(&[Access::Staff(Role::Operator)], &Principal::Anonymous).unwrap_err().status, 401);
        assert_eq!(authorize(&[Access::Staff(Role::Operator)], &aud).unwrap_err().status, 403);
        assert!(authorize(&[Access::Staff(Role::Operator)], &op).is_ok());
        let citizen = Principal::Citizen(CitizenSession { person_id: "p".into(), session_id: "s".into() });
        assert_eq!(authorize(&[Access::Staff(Role::Operator), Access::AnyStaff], &citizen).unwrap_err().status, 403);
        assert!(authorize(&[Access::Citizen], &citizen).is_ok());
        assert!(authorize(&[Access::Citizen], &op).is_err());
    }

    #[test]
    fn restricted_tokens_admit_only_self_service() {
        let p = staff(&[Role::Operator], &["password_change"]);
        assert!(authorize(&[Access::AnyStaff], &p).is_ok());
        assert_eq!(authorize(&[Access::Staff(Role::Operator)], &p).unwrap_err().code, "password_change_required");
        let t = staff(&[Role::Operator], &["totp_enrolment"]);
        assert_eq!(authorize(&[Access::Staff(Role::Operator)], &t).unwrap_err().code, "totp_enrolment_required");
        // A restricted token never reveals more than a full one: wrong role is still "forbidden".
        assert_eq!(authorize(&[Access::Staff(Role::Auditor)], &t).unwrap_err().code, "forbidden");
    }

    #[test]
    fn municipality_scope() {
        let m = Staff {
            id: "m".into(),
            roles: vec![Role::MunicipalStaff],
            municipality: Some("131016".into()),
            session: "s".into(),
            pending: vec![],
        };
        assert!(m.may_access_municipality("131016"));
        assert!(!m.may_access_municipality("271004"));
        let op = Staff { roles: vec![Role::Operator], municipality: None, ..m.clone() };
        assert!(op.may_access_municipality("271004"));
    }
}
