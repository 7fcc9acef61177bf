//! Principals (who is calling) and access rules (who may call a route). Deny by default: a
//! route admits only the principals its route-table entry lists.
//!
//! Until staff accounts land, the only staff credential is the development operator token
//! (`MKPF_DEV_OPERATOR_TOKEN`), which configuration refuses on the aws backend.

use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::problem::ApiError;
use crate::config::Config;

/// Staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform operations.
    Operator,
    /// Staff of one municipality.
    MunicipalStaff,
    /// Read-only: audit trail and reports.
    Auditor,
    /// May approve data patches.
    PatchApprover,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::MunicipalStaff => "municipal_staff",
            Role::Auditor => "auditor",
            Role::PatchApprover => "patch_approver",
        }
    }
}

/// One entry of a route's access list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// Staff holding this role.
    Staff(Role),
}

impl Access {
    pub fn label(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::Staff(r) => format!("staff:{}", r.as_str()),
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
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Staff(Staff),
}

impl Principal {
    /// For logs and metrics: the kind only, never an identifier.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Staff(_) => "staff",
        }
    }

    /// A stable identifier of the caller, used to scope idempotency keys.
    pub fn scope(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".into(),
            Principal::Staff(s) => format!("staff:{}", s.id),
        }
    }

    /// The staff id, for audit fields.
    pub fn actor(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Staff(s) => &s.id,
        }
    }
}

fn unauthenticated(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, "Unauthorized", detail)
}

/// Identifies the caller from the `Authorization` header. No header: anonymous. A header that
/// does not carry a valid credential is an error, never silently anonymous.
pub fn authenticate(config: &Config, headers: &HeaderMap) -> Result<Principal, ApiError> {
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
    if let Some(dev) = &config.dev_operator_token
        && bool::from(dev.expose().as_bytes().ct_eq(token.as_bytes()))
    {
        return Ok(Principal::Staff(Staff {
            id: "dev-operator".into(),
            roles: vec![Role::Operator],
            municipality: None,
        }));
    }
    Err(unauthenticated("token_invalid", "the bearer token is not valid"))
}

/// Decides whether `principal` may call a route with access list `allowed`.
pub fn authorize(allowed: &[Access], principal: &Principal) -> Result<(), ApiError> {
    if allowed.contains(&Access::Public) {
        return Ok(());
    }
    match principal {
        Principal::Anonymous => Err(unauthenticated("authentication_required", "this route requires credentials")),
        Principal::Staff(s) => {
            let ok = allowed.iter().any(|a| matches!(a, Access::Staff(r) if s.roles.contains(r)));
            if ok {
                Ok(())
            } else {
                Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", "your role may not call this route"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::for_tests(std::env::temp_dir(), &"t".repeat(40))
    }

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn the_dev_token_is_an_operator_and_anything_else_is_refused() {
        let c = cfg();
        assert_eq!(authenticate(&c, &HeaderMap::new()).unwrap(), Principal::Anonymous);
        let p = authenticate(&c, &headers(&format!("Bearer {}", "t".repeat(40)))).unwrap();
        assert!(matches!(&p, Principal::Staff(s) if s.roles == [Role::Operator]));
        for bad in ["Bearer wrong", "Basic abc", "Bearer ", &format!("bearer {}", "t".repeat(40)), &"t".repeat(40)] {
            let e = authenticate(&c, &headers(bad)).unwrap_err();
            assert_eq!((e.status, e.code), (StatusCode::UNAUTHORIZED, "token_invalid"), "{bad}");
        }
    }

    #[test]
    fn deny_by_default() {
        let op = Principal::Staff(Staff { id: "x".into(), roles: vec![Role::Operator], municipality: None });
        let aud = Principal::Staff(Staff { id: "y".into(), roles: vec![Role::Auditor], municipality: None });
        assert!(authorize(&[], &op).is_err(), "an empty access list admits nobody");
        assert!(authorize(&[Access::Public], &Principal::Anonymous).is_ok());
        assert_eq!(authorize(&[Access::Staff(Role::Operator)], &Principal::Anonymous).unwrap_err().status, 401);
        assert_eq!(authorize(&[Access::Staff(Role::Operator)], &aud).unwrap_err().status, 403);
        assert!(authorize(&[Access::Staff(Role::Operator)], &op).is_ok());
    }
}
