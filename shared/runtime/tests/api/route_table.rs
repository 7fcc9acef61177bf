//! The route table is the single source of truth: these tests fail when two entries share a
//! function id, the one function package is split again, the infra manifest, the route table in
//! `docs/api.md` or the configuration table in `docs/configuration.md` is stale, or a route admits
//! a principal it does not declare.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::domain::staff::StaffId;
use mkpf_core::staff::sessions;
use mkpf_core::tokens;
use mkpf_embedded::local_keys::LocalKeys;
use mkpf_http::auth::Access;
use mkpf_http::routes::{CONSUMERS, JOBS, ROUTES, function, functions};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

#[test]
fn every_entry_is_one_function_with_a_unique_id_that_finds_it_again() {
    let all = functions();
    assert_eq!(all.len(), ROUTES.len() + CONSUMERS.len() + JOBS.len());
    let ids: BTreeSet<String> = all.iter().map(|f| f.id()).collect();
    assert_eq!(ids.len(), all.len(), "a function id is used twice");
    for f in &all {
        let id = f.id();
        // A Lambda Handler and a function-name suffix: lower-case, digits and dashes.
        assert!(
            !id.is_empty()
                && id.len() <= 50
                && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{id}"
        );
        // Lambda function names are at most 64 characters: `mkpf-<stage>-<id>`, the longest
        // stage being `production`.
        assert!(
            format!("mkpf-production-{id}").len() <= 64,
            "{id}: the function name would pass Lambda's 64 characters"
        );
        let back = function(&id).unwrap_or_else(|| panic!("{id} does not find its entry"));
        assert_eq!((back.id(), back.kind()), (id.clone(), f.kind()));
    }
    assert!(function("").is_none() && function("no-such-function").is_none());
}

/// Every Lambda function is built from one package with one binary, which serves the entry its
/// Handler names (the function packages of old are gone for good).
#[test]
fn one_function_package_with_one_binary_serves_every_entry() {
    let functions_dir = repo().join("functions");
    let mut packages: Vec<String> =
        std::fs::read_dir(&functions_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    packages.sort();
    assert_eq!(packages, ["lambda", "local"], "functions/ holds the Lambda package and the local platform only");
    let manifest = std::fs::read_to_string(functions_dir.join("lambda/Cargo.toml")).unwrap();
    assert_eq!(manifest.matches("[[bin]]").count(), 1, "one binary serves every function");
    assert!(manifest.contains("name = \"mkpf-function\""));
    let main = std::fs::read_to_string(functions_dir.join("lambda/src/main.rs")).unwrap();
    assert!(main.contains("mkpf_runtime::lambda::serve_from_env()"), "the binary serves the entry its Handler names");
}

#[test]
fn names_and_paths_are_unique() {
    let mut names = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    for r in ROUTES.iter() {
        assert!(names.insert(r.name), "route name {} twice", r.name);
        assert!(endpoints.insert((r.verb.as_str(), r.path)), "{} {} twice", r.verb.as_str(), r.path);
        assert!(r.path.starts_with('/'));
        assert!(!r.access.is_empty(), "{} admits nobody: declare its access", r.name);
        if r.idempotent {
            assert_eq!(r.verb.as_str(), "POST", "{}: only creating POSTs take Idempotency-Key", r.name);
            assert!(
                r.own_idempotency || r.tables.iter().any(|t| t.table.name == "idempotency"),
                "{} must declare the idempotency table",
                r.name
            );
        }
    }
    for c in CONSUMERS.iter() {
        assert!(names.insert(c.name), "name {} twice", c.name);
    }
    for j in JOBS.iter() {
        assert!(names.insert(j.name), "name {} twice", j.name);
    }
}

/// The generic idempotency layer keeps an unkeyed SHA-256 of the request body for 24 hours, so
/// no route using it may take a short secret (security codes, passwords, one-time codes) in its
/// body: such routes keep their own, keyed replay digest (`own_idempotency`, see
/// `mynapoint::record::RequestDigest`).
#[test]
fn no_secret_reaches_the_generic_idempotency_digest() {
    const SECRET_FIELDS: [&str; 6] = ["security_codes", "password", "totp", "pin", "secret", "otp"];
    let mut checked = 0;
    for r in ROUTES.iter().filter(|r| r.idempotent) {
        let Some(request) = r.request else { continue };
        let mut defs = Vec::new();
        let top = request(&mut defs);
        let mut names = Vec::new();
        property_names(&serde_json::to_value((top, defs)).unwrap(), &mut names);
        let carries = names.iter().find(|n| SECRET_FIELDS.iter().any(|f| n.to_ascii_lowercase().contains(f)));
        if let Some(f) = carries {
            assert!(
                r.own_idempotency,
                "{}: its body carries `{f}…` but it uses the generic (unkeyed) idempotency digest",
                r.name
            );
        } else {
            checked += 1;
        }
    }
    assert!(checked > 0);
    let apply = ROUTES.iter().find(|r| r.path == "/v1/mynapoint/applications" && r.verb.as_str() == "POST").unwrap();
    assert!(apply.own_idempotency, "applications carry security codes");
}

/// Every property name in a JSON Schema document.
fn property_names(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|x| property_names(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| property_names(x, out)),
        _ => {}
    }
}

#[test]
fn infra_manifest_is_fresh() {
    let path = repo().join("infra/manifest.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == mkpf_http::manifest::manifest_json(),
        "infra/manifest.json is stale: run `cargo run -p mkpf-local --bin mkpf-admin -- manifest --write`"
    );
}

#[test]
fn the_configuration_doc_lists_every_variable() {
    let path = repo().join("docs/configuration.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (name, _, _) in mkpf_core::config::VARS {
        assert!(doc.contains(&format!("| `{name}` |")), "docs/configuration.md's configuration table lacks `{name}`");
    }
}

#[test]
fn the_route_table_in_the_api_doc_is_generated_from_the_route_table() {
    let path = repo().join("docs/api.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fresh = mkpf_http::manifest::with_route_table(&doc).expect("docs/api.md has the route table's marker lines");
    assert!(
        doc == fresh,
        "docs/api.md's route table is stale: run `cargo run -p mkpf-local --bin mkpf-admin -- routes --write`"
    );
    assert_eq!(
        fresh.lines().filter(|l| l.starts_with("| ") && l.contains(" | `/")).count(),
        ROUTES.len(),
        "one row per route"
    );
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "01a214e0-30a0-702e-bc1d-2bc5b429b048" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Problem codes only the route guard produces: a response with one of these did not get past
/// authorisation.
const GUARD_CODES: &[&str] = &[
    "authentication_required",
    "token_invalid",
    "token_expired",
    "session_ended",
    "forbidden",
    "password_change_required",
    "totp_enrolment_required",
];

/// Decides something from a route's access list.
type OnAccess<T> = Box<dyn Fn(&[Access]) -> T>;

/// The callers of the matrix: a label, the token (if any) and whether the route's access list
/// admits this caller.
struct Caller {
    label: String,
    token: Option<String>,
    admitted: OnAccess<bool>,
    /// The guard's answer when refused: (status, code).
    refusal: OnAccess<(StatusCode, &'static str)>,
}

async fn signed(h: &Harness, claims: &tokens::Claims) -> String {
    tokens::issue(h.app.staff_keys.as_ref(), claims).await.unwrap()
}

fn claims(h: &Harness, aud: &str, sub: &str, roles: &[&str], secs: i64) -> tokens::Claims {
    let now = h.app.clock.epoch_secs();
    tokens::Claims {
        iss: tokens::ISSUER.into(),
        aud: aud.into(),
        sub: sub.into(),
        sid: uuid::Uuid::new_v4().simple().to_string(),
        iat: now,
        exp: now + secs,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        muni: None,
        pending: vec![],
    }
}

async fn callers(h: &Harness) -> Vec<Caller> {
    let public = |a: &[Access]| a.contains(&Access::Public);
    let mut v = vec![Caller {
        label: "no credentials".into(),
        token: None,
        admitted: Box::new(public),
        refusal: Box::new(|_: &[Access]| (StatusCode::UNAUTHORIZED, "authentication_required")),
    }];
    for who in [OPERATOR, AUDITOR, APPROVER, CHIYODA] {
        let role = who.1[0];
        v.push(Caller {
            label: format!("staff {}", role.as_str()),
            token: Some(mkpf_core::staff::demo::token_for(&h.app, who.0, who.1, who.2, 3600).await.unwrap()),
            admitted: Box::new(move |a: &[Access]| {
                public(a) || a.contains(&Access::AnyStaff) || a.contains(&Access::Staff(role))
            }),
            refusal: Box::new(|_: &[Access]| (StatusCode::FORBIDDEN, "forbidden")),
        });
    }
    // An operator whose password must change first: only self-service routes.
    let acc = mkpf_core::staff::account::load(h.app.store.as_ref(), &StaffId::parse(OPERATOR.0).unwrap())
        .await
        .unwrap()
        .unwrap();
    let restricted = sessions::open(&h.app, &acc, vec!["password_change".into()], 600).await.unwrap();
    h.app.store.transact(vec![restricted.op]).await.unwrap();
    v.push(Caller {
        label: "operator with a pending password change".into(),
        token: Some(restricted.token),
        admitted: Box::new(move |a: &[Access]| public(a) || a.contains(&Access::AnyStaff)),
        // Refused for the pending step where the role would be admitted, else for the role.
        refusal: Box::new(|a: &[Access]| {
            if a.contains(&Access::Staff(mkpf_core::domain::staff::Role::Operator)) {
                (StatusCode::FORBIDDEN, "password_change_required")
            } else {
                (StatusCode::FORBIDDEN, "forbidden")
            }
        }),
    });
    v.push(Caller {
        label: "citizen".into(),
        token: Some(h.citizen().await.token),
        admitted: Box::new(move |a: &[Access]| public(a) || a.contains(&Access::Citizen)),
        refusal: Box::new(|_: &[Access]| (StatusCode::FORBIDDEN, "forbidden")),
    });
    // Credentials that must never work.
    let expired = mkpf_core::staff::demo::token_for(&h.app, OPERATOR.0, OPERATOR.1, None, -1).await.unwrap();
    let other_key = LocalKeys::generate();
    let foreign =
        tokens::issue(&other_key, &claims(h, tokens::STAFF_AUDIENCE, OPERATOR.0, &["operator"], 900)).await.unwrap();
    let wrong_aud = signed(h, &claims(h, "mkpf-elsewhere", OPERATOR.0, &["operator"], 900)).await;
    let auditor = mkpf_core::staff::demo::token_for(&h.app, AUDITOR.0, AUDITOR.1, None, 3600).await.unwrap();
    let parts: Vec<&str> = auditor.split('.').collect();
    let mut escalated = claims(h, tokens::STAFF_AUDIENCE, AUDITOR.0, &["operator", "auditor"], 3600);
    escalated.sid = "forged".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&escalated).unwrap()
        ),
        parts[2]
    );
    let unsessioned = signed(h, &claims(h, tokens::STAFF_AUDIENCE, OPERATOR.0, &["operator"], 900)).await;
    let unsessioned_citizen =
        signed(h, &claims(h, tokens::CITIZEN_AUDIENCE, "0123456789abcdef0123456789abcdef", &[], 900)).await;
    for (label, token, code) in [
        ("garbage token", "forged-token-forged-token-forged-token-00".to_owned(), "token_invalid"),
        ("expired operator token", expired, "token_expired"),
        ("token signed by another key", foreign, "token_invalid"),
        ("token for another audience", wrong_aud, "token_invalid"),
        ("auditor token with roles edited to operator", tampered, "token_invalid"),
        ("operator token without a session", unsessioned, "session_ended"),
        ("citizen token without a session", unsessioned_citizen, "session_ended"),
    ] {
        v.push(Caller {
            label: label.into(),
            token: Some(token),
            admitted: Box::new(public),
            refusal: Box::new(move |_: &[Access]| (StatusCode::UNAUTHORIZED, code)),
        });
    }
    v
}

const SIGN_OUTS: [&str; 2] = ["staff-sign-out", "card-auth-sign-out"];

/// Every route × every kind of caller: only declared principals get past authorisation, and
/// refused ones get the guard's problem. New routes are covered as soon as they are in the table.
#[tokio::test]
async fn authorization_matrix() {
    let h = harness();
    let all = callers(&h).await;
    assert!(all.len() >= 12);
    let mut checked = 0;
    for r in ROUTES.iter() {
        if SIGN_OUTS.contains(&r.name) {
            continue; // covered last: they end the session they are called with
        }
        let path = concrete(r.path);
        for c in &all {
            let mut call =
                h.call(r.verb.as_str(), &path).header("idempotency-key", &format!("matrix-{}", uuid::Uuid::new_v4()));
            if let Some(t) = &c.token {
                call = call.bearer(t);
            }
            if matches!(r.verb.as_str(), "POST" | "PATCH" | "PUT") {
                call = call.json(serde_json::json!({}));
            }
            let resp = call.send().await;
            if r.access == [Access::Provider] && c.token.is_none() {
                // Providers sign the request instead of presenting a token: the route's handler
                // verifies the signature first, so an unsigned call is refused there.
                assert_eq!(resp.status, StatusCode::UNAUTHORIZED, "{} × {}: {}", r.name, c.label, resp.body);
                assert!(["provider_unknown", "signature_missing"].contains(&resp.code()), "{}", resp.body);
                checked += 1;
                continue;
            }
            let passed = !GUARD_CODES.contains(&resp.code());
            let admitted = (c.admitted)(r.access);
            assert_eq!(passed, admitted, "{} × {}: {} {}", r.name, c.label, resp.status, resp.body);
            if !admitted {
                assert_eq!((resp.status, resp.code()), (c.refusal)(r.access), "{} × {}", r.name, c.label);
            }
            checked += 1;
        }
    }
    // Sign-outs, with fresh tokens per caller kind (they end the session they are called with).
    for name in SIGN_OUTS {
        let out = mkpf_http::routes::route(name).unwrap();
        for c in callers(&h).await {
            let mut call = h.call(out.verb.as_str(), out.path);
            if let Some(t) = &c.token {
                call = call.bearer(t);
            }
            let resp = call.send().await;
            assert_eq!(!GUARD_CODES.contains(&resp.code()), (c.admitted)(out.access), "{name} × {}", c.label);
            checked += 1;
        }
    }
    assert!(checked >= ROUTES.len() * 12, "{checked}");
}

/// Principals that have no credentials yet (providers, relying systems) are checked against
/// every route's access list directly.
#[test]
fn providers_and_relying_systems_reach_only_routes_that_name_them() {
    use mkpf_http::auth::{Principal, ProviderPrincipal, RelyingSystemPrincipal, authorize};
    let provider = Principal::Provider(ProviderPrincipal { provider_id: "paypay".into() });
    let rp = Principal::RelyingSystem(RelyingSystemPrincipal { client_id: "city-portal".into() });
    for r in ROUTES.iter() {
        let public = r.access.contains(&Access::Public);
        assert_eq!(
            authorize(r.access, &provider).is_ok(),
            public || r.access.contains(&Access::Provider),
            "{}",
            r.name
        );
        assert_eq!(authorize(r.access, &rp).is_ok(), public || r.access.contains(&Access::RelyingSystem), "{}", r.name);
    }
}

#[test]
fn every_route_declares_who_may_call_it() {
    for r in ROUTES.iter() {
        assert!(!r.access.is_empty(), "{} admits nobody: declare its access list", r.name);
        // Routes that need credentials write the audit trail (refusals at least), append-only:
        // no function may delete from it.
        if !r.is_public() {
            let audit = r.table_uses().into_iter().find(|u| u.table.name == "audit").expect("audit table");
            assert_eq!(audit.access, mkpf_http::routes::TableAccess::Append, "{}", r.name);
        }
    }
    for uses in ROUTES
        .iter()
        .map(|r| r.table_uses())
        .chain(CONSUMERS.iter().map(|c| c.tables.to_vec()))
        .chain(JOBS.iter().map(|j| j.tables.to_vec()))
    {
        for u in uses {
            if u.table.name == "audit" {
                assert_ne!(u.access, mkpf_http::routes::TableAccess::ReadWrite, "the audit trail is append-only");
            }
        }
    }
}

/// Staff accounts (password hashes, TOTP seeds) are readable only by the staff sign-in and
/// account functions; every other function that checks a staff session gets the sessions alone.
/// The infra manifest grants IAM from these declarations (infra/test reads the policies back).
#[test]
fn only_staff_functions_may_read_staff_accounts() {
    let staff_functions: BTreeSet<&str> = [
        "staff-sign-in",
        "staff-me",
        "staff-password-change",
        "staff-totp-start",
        "staff-totp-confirm",
        "staff-create",
        "staff-list",
        "staff-get",
        "staff-mfa-reset",
        "staff-password-reset",
        "staff-disable",
        "municipal-staff-list",
    ]
    .into();
    let mut readers = BTreeSet::new();
    for r in ROUTES.iter() {
        if r.table_uses().iter().any(|u| u.table.name == mkpf_core::tables::STAFF.name) {
            readers.insert(r.name);
        }
    }
    for c in CONSUMERS.iter() {
        assert!(c.tables.iter().all(|u| u.table.name != mkpf_core::tables::STAFF.name), "consumer {}", c.name);
    }
    for j in JOBS.iter() {
        assert!(j.tables.iter().all(|u| u.table.name != mkpf_core::tables::STAFF.name), "job {}", j.name);
    }
    let extra: Vec<_> = readers.difference(&staff_functions).collect();
    assert!(extra.is_empty(), "functions that may read staff accounts without being staff functions: {extra:?}");
    // The manifest says the same.
    let m = mkpf_http::manifest::manifest();
    let in_manifest: BTreeSet<String> = m["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tables"].as_array().unwrap().iter().any(|t| t["name"] == "staff"))
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(in_manifest, readers.iter().map(|s| (*s).to_owned()).collect());
}
