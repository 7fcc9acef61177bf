//! The route table is the single source of truth: these tests fail when a route lacks its
//! binary, a binary lacks its route, the infra manifest or the README's configuration table is
//! stale, or a route admits a principal it does not declare.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use common::*;
use mkpf::http::auth::{Access, Role};
use mkpf::routes::{CONSUMERS, JOBS, ROUTES, binaries};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Packages under functions/ that are not Lambda functions.
const NOT_LAMBDAS: &[&str] = &["local"];

#[test]
fn every_entry_has_its_binary_and_every_binary_its_entry() {
    let functions = repo().join("functions");
    let mut dirs = BTreeSet::new();
    for e in std::fs::read_dir(&functions).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !NOT_LAMBDAS.contains(&name.as_str()) {
            dirs.insert(name);
        }
    }
    let declared: BTreeSet<String> = binaries().iter().map(|(b, _)| (*b).to_owned()).collect();
    assert_eq!(declared.len(), binaries().len(), "a binary is named twice in the route table");
    let missing: Vec<_> = declared.difference(&dirs).collect();
    let orphans: Vec<_> = dirs.difference(&declared).collect();
    assert!(missing.is_empty(), "route table entries without a functions/<binary> package: {missing:?}");
    assert!(orphans.is_empty(), "functions/ packages without a route table entry: {orphans:?}");

    let check = |binary: &str, call: &str| {
        let dir = functions.join(binary);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "functions/{binary}/Cargo.toml must declare [[bin]] name = \"{binary}\""
        );
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(main.contains(call), "functions/{binary}/src/main.rs must call `{call}`");
        assert!(
            main.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//")).count() <= 8,
            "functions/{binary} must stay a thin main"
        );
    };
    for r in ROUTES {
        check(r.binary, &format!("serve_route(app, \"{}\")", r.name));
    }
    for c in CONSUMERS {
        check(c.binary, &format!("serve_consumer(app, \"{}\")", c.name));
    }
    for j in JOBS {
        check(j.binary, &format!("serve_job(app, \"{}\")", j.name));
    }
}

#[test]
fn names_and_paths_are_unique() {
    let mut names = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    for r in ROUTES {
        assert!(names.insert(r.name), "route name {} twice", r.name);
        assert!(endpoints.insert((r.verb.as_str(), r.path)), "{} {} twice", r.verb.as_str(), r.path);
        assert!(r.path.starts_with('/'));
        assert!(!r.access.is_empty(), "{} admits nobody: declare its access", r.name);
        if r.idempotent {
            assert_eq!(r.verb.as_str(), "POST", "{}: only creating POSTs take Idempotency-Key", r.name);
            assert!(r.tables.iter().any(|t| t.name == "idempotency"), "{} must declare the idempotency table", r.name);
        }
    }
    for c in CONSUMERS {
        assert!(names.insert(c.name), "name {} twice", c.name);
    }
    for j in JOBS {
        assert!(names.insert(j.name), "name {} twice", j.name);
    }
}

#[test]
fn infra_manifest_is_fresh() {
    let path = repo().join("infra/manifest.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == mkpf::manifest::manifest_json(),
        "infra/manifest.json is stale: run `cargo run -p mkpf-local --bin mkpf-admin -- manifest --write`"
    );
}

#[test]
fn readme_lists_every_configuration_variable() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap_or_default();
    for (name, _, _) in mkpf::config::VARS {
        assert!(readme.contains(&format!("`{name}`")), "README.md's configuration table lacks `{name}`");
    }
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "01a214e0-30a0-702e-bc1d-2bc5b429b048" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route × every kind of caller: only declared principals get past authorisation.
/// New routes are covered as soon as they are in the table.
#[tokio::test]
async fn authorization_matrix() {
    let h = harness();
    for r in ROUTES {
        let public = r.access.contains(&Access::Public);
        let operator_ok = public || r.access.contains(&Access::Staff(Role::Operator));
        let path = concrete(r.path);
        let call = |token: Option<&str>| {
            let mut c =
                h.call(r.verb.as_str(), &path).header("idempotency-key", &format!("matrix-{}", uuid::Uuid::new_v4()));
            if let Some(t) = token {
                c = c.bearer(t);
            }
            if matches!(r.verb.as_str(), "POST" | "PATCH" | "PUT") {
                c = c.json(serde_json::json!({}));
            }
            c
        };
        let denied = |s: StatusCode| s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN;

        let anon = call(None).send().await;
        let bad = call(Some("forged-token-forged-token-forged-token-00")).send().await;
        let op = call(Some(TOKEN)).send().await;
        if public {
            assert!(!denied(anon.status), "{}: public route refused an anonymous caller", r.name);
            assert!(!denied(bad.status), "{}: public route refused a caller with a stray token", r.name);
        } else {
            assert_eq!((anon.status, anon.code()), (StatusCode::UNAUTHORIZED, "authentication_required"), "{}", r.name);
            assert_eq!((bad.status, bad.code()), (StatusCode::UNAUTHORIZED, "token_invalid"), "{}", r.name);
        }
        if operator_ok {
            assert!(!denied(op.status), "{}: operator refused ({})", r.name, op.status);
        } else {
            assert_eq!((op.status, op.code()), (StatusCode::FORBIDDEN, "forbidden"), "{}", r.name);
        }
    }
}
