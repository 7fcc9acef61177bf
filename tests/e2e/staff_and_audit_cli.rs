//! End-to-end: the operator CLI and the local platform as processes. The first operator is
//! bootstrapped with `mkpf-admin`, signs in over HTTP with the one-time password, changes it,
//! enrols TOTP (codes from `mkpf-admin totp-code`, as from an authenticator app) and works;
//! `mkpf-admin audit verify` passes on an untouched trail and names the record an attacker
//! edited directly in the store; `audit export` writes JSON Lines.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mkpf_core::ports::store::*;
use mkpf_tests::*;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

fn today_jst() -> String {
    let d = time::OffsetDateTime::now_utc().to_offset(mkpf_core::ports::JST).date();
    d.to_string()
}

fn run_admin(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = admin(data, args, &[]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn sign_in(p: &Platform, id: &str, password: &str, code: Option<&str>) -> (u16, Value) {
    let mut body = json!({"staff_id": id, "password": password});
    if let Some(c) = code {
        body["totp_code"] = c.into();
    }
    let r = client().post(p.url("/v1/staff/sessions")).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn the_first_operator_is_bootstrapped_with_the_cli_and_signs_in_with_totp() {
    let data = data_dir("bootstrap");
    let (ok, out, err) = run_admin(&data, &["staff", "bootstrap", "--id", "root.op", "--name", "First Operator"]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(created["roles"], json!(["operator"]));
    let otp = created["one_time_password"].as_str().unwrap().to_owned();
    assert!(!err.contains(&otp), "the password goes to stdout only");
    let (again, _, err) = run_admin(&data, &["staff", "bootstrap", "--id", "other.op", "--name", "Other"]);
    assert!(!again && err.contains("already bootstrapped"), "{err}");

    let p = Platform::start(&data, &[]);
    let (status, first) = sign_in(&p, "root.op", &otp, None).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["pending"], json!(["password_change", "totp_enrolment"]));
    let t = first["access_token"].as_str().unwrap();
    let new_pw = "correct horse battery staple";
    let r = client()
        .post(p.url("/v1/staff/me/password"))
        .bearer_auth(t)
        .json(&json!({"current_password": otp, "new_password": new_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, second) = sign_in(&p, "root.op", new_pw, None).await;
    let t = second["access_token"].as_str().unwrap().to_owned();
    let enrol: Value =
        client().post(p.url("/v1/staff/me/totp")).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let code = |secret: &str, steps_ahead: &str| {
        let (ok, out, err) = run_admin(&data, &["totp-code", secret, "--steps-ahead", steps_ahead]);
        assert!(ok, "{err}");
        out.trim().to_owned()
    };
    let c = code(&secret, "0");
    let r = client()
        .post(p.url("/v1/staff/me/totp/confirm"))
        .bearer_auth(&t)
        .json(&json!({"code": c}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // The code just used for enrolment cannot sign in again; the next step's code (accepted one
    // step early, for clock skew) can.
    let (status, replay) = sign_in(&p, "root.op", new_pw, Some(&c)).await;
    assert_eq!((status, replay["code"].as_str()), (401, Some("totp_replayed")));
    let (status, full) = sign_in(&p, "root.op", new_pw, Some(&code(&secret, "1"))).await;
    assert_eq!(status, 201, "{full}");
    assert_eq!(full["pending"], json!([]), "{full}");
    let token = full["access_token"].as_str().unwrap();
    let r = client()
        .post(p.url("/v1/ops/staff"))
        .bearer_auth(token)
        .json(&json!({"staff_id": "kobe.audit", "display_name": "Kobe", "roles": ["auditor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(p.stop().success());
}

#[tokio::test]
async fn audit_verify_passes_on_an_untouched_trail_and_names_an_edited_record() {
    let data = data_dir("audit-cli");
    let p = Platform::start(&data, &[]);
    for i in 0..30 {
        let r = client()
            .post(p.url("/v1/ops/notices"))
            .bearer_auth(p.token("operator"))
            .header("idempotency-key", format!("n{i}"))
            .json(&json!({"title": format!("notice {i}"), "body": "b"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    assert!(p.stop().success());
    let day = today_jst();

    let (ok, out, err) = run_admin(&data, &["audit", "verify", "--from", &day, "--to", &day]);
    assert!(ok, "{out}{err}");
    assert!(err.contains("intact"), "{err}");
    let file = data.join("export.jsonl");
    let (ok, _, err) =
        run_admin(&data, &["audit", "export", "--from", &day, "--to", &day, "--out", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let lines: Vec<Value> =
        std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().filter(|l| l["action"] == "notice.create").count(), 30);

    // An attacker with write access to the store edits one record.
    let target = {
        let clock: Arc<dyn mkpf_core::ports::Clock> = Arc::new(mkpf_core::ports::SystemClock);
        let (store, _queue) = mkpf_embedded::open(&data, clock).unwrap();
        let rec = lines.iter().find(|l| l["action"] == "notice.create").unwrap();
        let chain = rec["chain"].as_str().unwrap().to_owned();
        let seq = rec["seq"].as_u64().unwrap();
        let key = Key::new(format!("CHAIN#{}", chain.replace('/', "#")), format!("SEQ#{seq:020}"));
        let mut item = store.get(&mkpf_core::tables::AUDIT, &key).await.unwrap().unwrap();
        let body = item.get("body").unwrap().as_s().unwrap().replace("demo-operator", "someone-else");
        item.insert("body".into(), mkpf_core::ports::Value::S(body));
        store.put(&mkpf_core::tables::AUDIT, item, None).await.unwrap();
        (chain, seq)
    };
    let (ok, out, err) = run_admin(&data, &["audit", "verify", "--from", &day, "--to", &day]);
    assert!(!ok, "verification must fail: {out}{err}");
    let findings: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["chain"], target.0.as_str());
    assert_eq!(findings[0]["seq"], target.1);
    assert!(findings[0]["problem"].as_str().unwrap().contains("altered"), "{out}");
}

/// The access log: one line per request, allowed or refused, with request id, route, status and
/// principal kind — and never a token, a password or a display name.
#[tokio::test]
async fn every_request_is_access_logged_without_secrets_or_personal_data() {
    let data = data_dir("access-log");
    let p = Platform::start(&data, &[]);
    let operator = p.token("operator");
    let password = "an-attempted-password-0001";
    let (status, _) = sign_in(&p, "demo-operator", password, None).await;
    assert_eq!(status, 401);
    let created = client()
        .post(p.url("/v1/ops/staff"))
        .bearer_auth(&operator)
        .json(&json!({"staff_id": "yamada.audit", "display_name": "山田 花子", "roles": ["auditor"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created_id = created.headers()["x-request-id"].to_str().unwrap().to_owned();
    let read = client().get(p.url("/v1/ops/staff/yamada.audit")).bearer_auth(&operator).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let refused = client()
        .get(p.url("/v1/audit/records?from=2026-11-26&to=2026-11-26"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let forged = client().get(p.url("/v1/ops/staff")).bearer_auth("forged.token.here").send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let (status, lines) = p.stop_with_log();
    assert!(status.success());

    let access: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "access")
        .collect();
    let find = |route: &str, status: u16| {
        access
            .iter()
            .find(|v| v["route"] == route && v["status"] == status)
            .unwrap_or_else(|| panic!("no access line for {route} {status}"))
    };
    assert_eq!(find("staff-sign-in", 401)["principal"], "anonymous");
    let create = find("staff-create", 201);
    assert_eq!(create["principal"], "staff");
    assert_eq!(create["request_id"], created_id.as_str());
    assert_eq!(find("staff-get", 200)["principal"], "staff");
    assert_eq!(find("audit-export", 403)["principal"], "staff");
    assert_eq!(find("staff-list", 401)["principal"], "invalid_credentials");
    let everything = lines.join("\n");
    for secret in [operator.as_str(), password, "山田", "forged.token.here"] {
        assert!(!everything.contains(secret), "the log contains {secret:?}");
    }
}

/// The operator CLI against DynamoDB (a moto server; `scripts/test` starts one and sets
/// `MKPF_TEST_AWS_ENDPOINT`): provision, bootstrap the first operator, create an account, verify
/// and export the audit trail — with `MKPF_BACKEND=aws`, as an operator would on a stage.
#[test]
fn the_cli_manages_staff_and_the_audit_trail_on_dynamodb() {
    let endpoint = std::env::var("MKPF_TEST_AWS_ENDPOINT").expect(
        "MKPF_TEST_AWS_ENDPOINT is not set: this test needs a moto server (scripts/test starts one and sets it)",
    );
    let prefix = format!("cli{}-", std::process::id());
    let env = [
        ("MKPF_BACKEND", "aws"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "ap-northeast-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("MKPF_TABLE_PREFIX", prefix.as_str()),
        ("MKPF_QUEUE_PREFIX", prefix.as_str()),
        ("USER", "ops-engineer"),
    ];
    let data = data_dir("cli-aws");
    let run = |args: &[&str]| {
        let out = admin(&data, args, &env);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&["provision"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["staff", "bootstrap", "--id", "aws.root", "--name", "Root"]);
    assert!(ok, "{err}");
    assert!(serde_json::from_str::<Value>(out.trim()).unwrap()["one_time_password"].is_string());
    let (ok, out, err) = run(&[
        "staff",
        "create",
        "--id",
        "kyoto.clerk",
        "--name",
        "Clerk",
        "--role",
        "municipal_staff",
        "--municipality",
        "261009",
    ]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(out.trim()).unwrap()["municipality"], "261009");
    let (ok, _, err) = run(&["staff", "create", "--id", "bad.clerk", "--name", "Bad", "--role", "municipal_staff"]);
    assert!(!ok && err.contains("municipality"), "{err}");

    let day = today_jst();
    let (ok, out, err) = run(&["audit", "verify", "--from", &day, "--to", &day]);
    assert!(ok, "{out}{err}");
    assert!(err.contains("MKPF_AUDIT_SEAL_KMS_KEY is not set") && err.contains("intact"), "{err}");
    let file = data.join("aws-export.jsonl");
    let (ok, _, err) = run(&["audit", "export", "--from", &day, "--to", &day, "--out", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let lines: Vec<Value> =
        std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    for a in ["staff.bootstrap", "staff.create", "audit.verify"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(lines.iter().all(|l| l["actor"] == json!({"kind": "cli", "id": "ops-engineer"})), "{lines:?}");
}
