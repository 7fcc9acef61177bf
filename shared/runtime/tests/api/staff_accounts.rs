//! Staff accounts end to end through the router: creation with a one-time password, sign-in with
//! password and TOTP, the forced password change and TOTP enrolment, lockout, expiry, logout and
//! revocation, resets, privilege escalation and municipality scoping.

use crate::helpers::*;
use axum::http::StatusCode;
use mkpf_core::staff::secrets::{secret_from_base32, totp_code_at};
use serde_json::json;

/// Creates an account as the test operator; returns its one-time password.
async fn create(h: &Harness, id: &str, roles: &[&str], muni: Option<&str>) -> String {
    let r = h
        .op("POST", "/v1/ops/staff")
        .json(json!({"staff_id": id, "display_name": format!("Staff {id}"), "roles": roles, "municipality": muni}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("location"), Some(format!("/v1/ops/staff/{id}").as_str()));
    let otp = r.body["one_time_password"].as_str().unwrap().to_owned();
    assert!(otp.len() >= 20);
    otp
}

async fn sign_in(h: &Harness, id: &str, password: &str, code: Option<&str>) -> Resp {
    let mut body = json!({"staff_id": id, "password": password});
    if let Some(c) = code {
        body["totp_code"] = c.into();
    }
    h.call("POST", "/v1/staff/sessions").json(body).send().await
}

fn code_now(h: &Harness, id: &str, secret: &[u8]) -> String {
    totp_code_at(secret, &mkpf_core::domain::staff::StaffId::parse(id).unwrap(), h.app.clock.epoch_secs())
}

/// Takes a fresh account through its first sign-in: password change and TOTP enrolment.
/// Returns (password, totp secret).
async fn onboard(h: &Harness, id: &str, otp: &str) -> (String, Vec<u8>) {
    let first = sign_in(h, id, otp, None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["pending"], json!(["password_change", "totp_enrolment"]));
    let t = first.body["access_token"].as_str().unwrap().to_owned();
    let new_pw = format!("a long passphrase number {}!", id.len() * 7);
    let changed = h
        .call("POST", "/v1/staff/me/password")
        .bearer(&t)
        .json(json!({"current_password": otp, "new_password": new_pw}))
        .send()
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let second = sign_in(h, id, &new_pw, None).await;
    assert_eq!(second.body["pending"], json!(["totp_enrolment"]), "{}", second.body);
    let t = second.body["access_token"].as_str().unwrap().to_owned();
    let started = h.call("POST", "/v1/staff/me/totp").bearer(&t).send().await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let secret = secret_from_base32(started.body["secret"].as_str().unwrap()).unwrap();
    assert!(started.body["provisioning_uri"].as_str().unwrap().starts_with(&format!("otpauth://totp/MKPF:{id}?")));
    let confirmed = h
        .call("POST", "/v1/staff/me/totp/confirm")
        .bearer(&t)
        .json(json!({"code": code_now(h, id, &secret)}))
        .send()
        .await;
    assert_eq!(confirmed.status, StatusCode::NO_CONTENT, "{}", confirmed.body);
    // Confirming ended the restricted session; the next code is a fresh step.
    h.clock.advance(time::Duration::seconds(30));
    (new_pw, secret)
}

#[tokio::test]
async fn a_new_account_must_change_its_password_and_enrol_totp_before_anything_else() {
    let h = harness();
    let otp = create(&h, "sato.audit", &["auditor"], None).await;

    let first = sign_in(&h, "sato.audit", &otp, None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let restricted = first.body["access_token"].as_str().unwrap().to_owned();
    // The restricted token admits self-service only.
    let denied = h.call("GET", "/v1/audit/verification?from=2026-11-25&to=2026-11-25").bearer(&restricted).send().await;
    assert_eq!((denied.status, denied.code()), (StatusCode::FORBIDDEN, "password_change_required"));
    let me = h.call("GET", "/v1/staff/me").bearer(&restricted).send().await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["pending"], json!(["password_change", "totp_enrolment"]));
    assert_eq!(me.body["totp_enrolled"], false);
    // Weak or identical new passwords are refused; nothing changes.
    for weak in ["short", "sato.audit-is-my-password", &otp] {
        let r = h
            .call("POST", "/v1/staff/me/password")
            .bearer(&restricted)
            .json(json!({"current_password": otp, "new_password": weak}))
            .send()
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"), "{weak}: {}", r.body);
    }
    let (pw, secret) = onboard(&h, "sato.audit", &otp).await;
    // Every session ended with the password change and the enrolment.
    let old = h.call("GET", "/v1/staff/me").bearer(&restricted).send().await;
    assert_eq!((old.status, old.code()), (StatusCode::UNAUTHORIZED, "session_ended"));
    // The one-time password no longer works.
    assert_eq!(sign_in(&h, "sato.audit", &otp, None).await.code(), "credentials_invalid");

    // From now on: password and code.
    assert_eq!(sign_in(&h, "sato.audit", &pw, None).await.code(), "totp_required");
    let code = code_now(&h, "sato.audit", &secret);
    let full = sign_in(&h, "sato.audit", &pw, Some(&code)).await;
    assert_eq!(full.status, StatusCode::CREATED, "{}", full.body);
    assert_eq!(full.body["pending"], json!([]));
    assert_eq!(full.body["token_type"], "Bearer");
    assert_eq!(full.body["roles"], json!(["auditor"]));
    let token = full.body["access_token"].as_str().unwrap().to_owned();
    let ok = h.call("GET", "/v1/audit/verification?from=2026-11-25&to=2026-11-25").bearer(&token).send().await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // A code is accepted once.
    let replay = sign_in(&h, "sato.audit", &pw, Some(&code)).await;
    assert_eq!((replay.status, replay.code()), (StatusCode::UNAUTHORIZED, "totp_replayed"));
    let wrong = sign_in(&h, "sato.audit", &pw, Some("000000")).await;
    assert_eq!(wrong.code(), if code == "000000" { "totp_replayed" } else { "totp_invalid" });

    // Sign-out ends exactly this session.
    let out = h.call("DELETE", "/v1/staff/sessions/current").bearer(&token).send().await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = h.call("GET", "/v1/staff/me").bearer(&token).send().await;
    assert_eq!((after.status, after.code()), (StatusCode::UNAUTHORIZED, "session_ended"));

    // Tokens expire after 15 minutes.
    h.clock.advance(time::Duration::seconds(30));
    let t2 = sign_in(&h, "sato.audit", &pw, Some(&code_now(&h, "sato.audit", &secret))).await;
    let t2 = t2.body["access_token"].as_str().unwrap().to_owned();
    h.clock.advance(time::Duration::minutes(15));
    let expired = h.call("GET", "/v1/staff/me").bearer(&t2).send().await;
    assert_eq!((expired.status, expired.code()), (StatusCode::UNAUTHORIZED, "token_expired"));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let h = harness();
    let otp = create(&h, "kato.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "kato.op", &otp).await;
    for i in 1..=4 {
        let r = sign_in(&h, "kato.op", "not the password at all", None).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "credentials_invalid"), "attempt {i}");
    }
    let fifth = sign_in(&h, "kato.op", &pw, Some("123456")).await;
    let expected = if code_now(&h, "kato.op", &secret) == "123456" { "credentials_invalid" } else { "account_locked" };
    assert_eq!(fifth.code(), expected, "a wrong TOTP code counts as a failure too: {}", fifth.body);
    // Locked: even the right password and code are refused, with a clear problem.
    let locked = sign_in(&h, "kato.op", &pw, Some(&code_now(&h, "kato.op", &secret))).await;
    assert_eq!((locked.status, locked.code()), (StatusCode::FORBIDDEN, "account_locked"), "{}", locked.body);
    assert!(locked.body["detail"].as_str().unwrap().contains("locked until"));
    // An operator sees the lock.
    let view = h.op("GET", "/v1/ops/staff/kato.op").send().await;
    assert!(view.body["locked_until"].is_string(), "{}", view.body);
    // After 15 minutes the lock is over.
    h.clock.advance(time::Duration::minutes(16));
    let ok = sign_in(&h, "kato.op", &pw, Some(&code_now(&h, "kato.op", &secret))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

/// Wrong passwords sent all at once (each read the account before any was counted) are each
/// counted and audited: only the first four may answer "wrong password"; from the fifth on,
/// every attempt meets the lock, so 40 parallel guesses buy no more than 5 sequential ones.
#[tokio::test]
async fn concurrent_wrong_passwords_are_each_counted_and_audited() {
    const N: usize = 40;
    let h = harness();
    let otp = create(&h, "mori.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "mori.op", &otp).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..N {
        let router = h.router.clone();
        set.spawn(async move {
            let req = axum::http::Request::builder()
                .method("POST")
                .uri("/v1/staff/sessions")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({"staff_id": "mori.op", "password": "not the password at all"}).to_string(),
                ))
                .unwrap();
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let raw = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            body["code"].as_str().unwrap_or("").to_owned()
        });
    }
    let codes: Vec<String> = set.join_all().await;
    let invalid = codes.iter().filter(|c| *c == "credentials_invalid").count();
    let locked = codes.iter().filter(|c| *c == "account_locked").count();
    assert_eq!(invalid + locked, N, "{codes:?}");
    assert_eq!(invalid as i64, mkpf_core::staff::MAX_FAILED_LOGINS - 1, "failures counted: {codes:?}");
    // Locked: the right password and code are refused too.
    let after = sign_in(&h, "mori.op", &pw, Some(&code_now(&h, "mori.op", &secret))).await;
    assert_eq!(after.code(), "account_locked", "{}", after.body);
    // One audit record per attempt.
    let denied = all_records(&h)
        .await
        .into_iter()
        .filter(|r| {
            r.action == "staff.login"
                && r.targets == ["staff:mori.op"]
                && r.outcome != mkpf_core::audit::Outcome::Success
        })
        .count();
    assert_eq!(denied, N + 1);
}

/// "totp_required" confirms the password, so it is answered only for a counted attempt: after
/// four failures, the right password without a code meets the lock instead.
#[tokio::test]
async fn a_right_password_without_a_code_is_a_counted_attempt() {
    let h = harness();
    let otp = create(&h, "endo.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "endo.op", &otp).await;
    assert_eq!(sign_in(&h, "endo.op", &pw, None).await.code(), "totp_required");
    // A completed sign-in clears the count.
    let ok = sign_in(&h, "endo.op", &pw, Some(&code_now(&h, "endo.op", &secret))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    for i in 1..=4 {
        let r = sign_in(&h, "endo.op", "not the password at all", None).await;
        assert_eq!(r.code(), "credentials_invalid", "attempt {i}");
    }
    let fifth = sign_in(&h, "endo.op", &pw, None).await;
    assert_eq!((fifth.status, fifth.code()), (StatusCode::FORBIDDEN, "account_locked"), "{}", fifth.body);
}

#[tokio::test]
async fn unknown_ids_and_wrong_passwords_look_the_same() {
    let h = harness();
    create(&h, "ito.op", &["operator"], None).await;
    let unknown = sign_in(&h, "nobody.here", "whatever password", None).await;
    let wrong = sign_in(&h, "ito.op", "whatever password", None).await;
    let malformed = sign_in(&h, "NOT AN ID", "whatever password", None).await;
    for r in [&unknown, &wrong, &malformed] {
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "credentials_invalid"));
        assert_eq!(r.body["detail"], unknown.body["detail"]);
    }
}

#[tokio::test]
async fn passwords_expire_after_ninety_days() {
    let h = harness();
    let otp = create(&h, "mori.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "mori.op", &otp).await;
    h.clock.advance(time::Duration::days(89));
    let fine = sign_in(&h, "mori.op", &pw, Some(&code_now(&h, "mori.op", &secret))).await;
    assert_eq!(fine.body["pending"], json!([]), "{}", fine.body);
    h.clock.advance(time::Duration::days(2));
    let expired = sign_in(&h, "mori.op", &pw, Some(&code_now(&h, "mori.op", &secret))).await;
    assert_eq!(expired.status, StatusCode::CREATED);
    assert_eq!(expired.body["pending"], json!(["password_change"]), "{}", expired.body);
    let t = expired.body["access_token"].as_str().unwrap();
    let r = h.call("GET", "/v1/ops/staff").bearer(t).send().await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "password_change_required"));
}

#[tokio::test]
async fn staff_cannot_grant_themselves_or_others_more_power() {
    let h = harness();
    for who in [AUDITOR, CHIYODA, APPROVER] {
        let r = h
            .call("POST", "/v1/ops/staff")
            .staff(who.clone())
            .json(json!({"staff_id": "evil.op", "display_name": "Evil", "roles": ["operator"]}))
            .send()
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{}", who.0);
        let reset = h.call("POST", "/v1/ops/staff/test-operator/password-reset").staff(who.clone()).send().await;
        assert_eq!(reset.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(h.op("GET", "/v1/ops/staff/evil.op").send().await.status, StatusCode::NOT_FOUND, "nothing was created");
    // Operators cannot reset or disable themselves (another operator must).
    for action in ["mfa-reset", "password-reset", "disable"] {
        let r = h.op("POST", &format!("/v1/ops/staff/test-operator/{action}")).send().await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "self_action_forbidden"), "{action}");
    }
    // Role combinations are checked.
    for (body, field) in [
        (json!({"staff_id": "a.b", "display_name": "x", "roles": ["municipal_staff"]}), "municipality"),
        (
            json!({"staff_id": "a.b", "display_name": "x", "roles": ["operator"], "municipality": "131016"}),
            "municipality",
        ),
        (
            json!({"staff_id": "a.b", "display_name": "x", "roles": ["municipal_staff", "operator"], "municipality": "131016"}),
            "roles",
        ),
        (json!({"staff_id": "a.b", "display_name": "x", "roles": ["root"]}), "roles"),
        (json!({"staff_id": "a.b", "display_name": "x", "roles": []}), "roles"),
        (
            json!({"staff_id": "a.b", "display_name": "x", "roles": ["municipal_staff"], "municipality": "131017"}),
            "municipality",
        ),
        (json!({"staff_id": "A", "display_name": "x", "roles": ["auditor"]}), "staff_id"),
    ] {
        let r = h.op("POST", "/v1/ops/staff").json(body.clone()).send().await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"), "{body}");
        assert!(r.body["detail"].as_str().unwrap().starts_with(field), "{body}: {}", r.body);
    }
    create(&h, "dup.op", &["operator"], None).await;
    let dup = h
        .op("POST", "/v1/ops/staff")
        .json(json!({"staff_id": "dup.op", "display_name": "Dup", "roles": ["auditor"]}))
        .send()
        .await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "staff_exists"));
    let still = h.op("GET", "/v1/ops/staff/dup.op").send().await;
    assert_eq!(still.body["roles"], json!(["operator"]), "the existing account is untouched");
}

#[tokio::test]
async fn municipal_staff_see_only_their_own_municipality() {
    let h = harness();
    create(&h, "chiyoda.clerk", &["municipal_staff"], Some("131016")).await;
    create(&h, "osaka.clerk", &["municipal_staff"], Some("271004")).await;
    let own = h.call("GET", "/v1/municipalities/131016/staff").staff(CHIYODA).send().await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let ids: Vec<&str> =
        own.body["items"].as_array().unwrap().iter().map(|i| i["staff_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"chiyoda.clerk") && !ids.contains(&"osaka.clerk"), "{ids:?}");
    let other = h.call("GET", "/v1/municipalities/271004/staff").staff(CHIYODA).send().await;
    assert_eq!((other.status, other.code()), (StatusCode::FORBIDDEN, "municipality_forbidden"));
    assert!(other.body.get("items").is_none(), "no data leaks with the refusal");
    let osaka = h.call("GET", "/v1/municipalities/271004/staff").staff(OSAKA).send().await;
    assert_eq!(osaka.status, StatusCode::OK);
    // Platform roles see every municipality; municipal staff cannot use the platform-wide list.
    assert_eq!(h.op("GET", "/v1/municipalities/271004/staff").send().await.status, StatusCode::OK);
    let wide = h.call("GET", "/v1/ops/staff?municipality=271004").staff(CHIYODA).send().await;
    assert_eq!((wide.status, wide.code()), (StatusCode::FORBIDDEN, "forbidden"));
    // The refusal is in the audit trail.
    let records = all_records(&h).await;
    assert!(
        records.iter().any(|r| r.action == "staff.list"
            && r.outcome == mkpf_core::audit::Outcome::Denied
            && r.actor.id.as_deref() == Some(CHIYODA.0)
            && r.targets == ["municipality:271004"]),
        "the cross-municipality attempt is audited"
    );
}

#[tokio::test]
async fn mfa_and_password_resets_end_sessions_and_restart_onboarding() {
    let h = harness();
    let otp = create(&h, "abe.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "abe.op", &otp).await;
    let t = sign_in(&h, "abe.op", &pw, Some(&code_now(&h, "abe.op", &secret))).await;
    let t = t.body["access_token"].as_str().unwrap().to_owned();

    let r = h.op("POST", "/v1/ops/staff/abe.op/mfa-reset").send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totp_enrolled"], false);
    assert_eq!(h.call("GET", "/v1/staff/me").bearer(&t).send().await.code(), "session_ended");
    let again = sign_in(&h, "abe.op", &pw, None).await;
    assert_eq!(again.body["pending"], json!(["totp_enrolment"]), "{}", again.body);

    let reset = h.op("POST", "/v1/ops/staff/abe.op/password-reset").send().await;
    assert_eq!(reset.status, StatusCode::OK);
    let new_otp = reset.body["one_time_password"].as_str().unwrap();
    assert_eq!(sign_in(&h, "abe.op", &pw, None).await.code(), "credentials_invalid");
    let fresh = sign_in(&h, "abe.op", new_otp, None).await;
    assert_eq!(fresh.body["pending"], json!(["password_change", "totp_enrolment"]));

    let disabled = h.op("POST", "/v1/ops/staff/abe.op/disable").send().await;
    assert_eq!(disabled.body["status"], "disabled");
    assert_eq!(sign_in(&h, "abe.op", new_otp, None).await.code(), "credentials_invalid");
}

#[tokio::test]
async fn reading_an_account_is_audited_and_never_shows_secrets() {
    let h = harness();
    create(&h, "ueda.audit", &["auditor"], None).await;
    let r = h.call("GET", "/v1/ops/staff/ueda.audit").staff(AUDITOR).send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["display_name"], "Staff ueda.audit");
    let text = r.body.to_string();
    assert!(!text.contains("argon2") && !text.contains("totp_secret") && !text.contains("password_hash"), "{text}");
    let records = all_records(&h).await;
    let read = records.iter().find(|r| r.action == "staff.read").expect("a staff.read record");
    assert_eq!(read.actor.id.as_deref(), Some(AUDITOR.0));
    assert_eq!(read.targets, ["staff:ueda.audit"]);
    assert!(read.request_id.is_some());
    assert!(records.iter().all(|r| !r.to_json().contains("Staff ueda.audit")), "names stay out of the trail");
}

#[tokio::test]
async fn the_first_operator_is_bootstrapped_once() {
    use mkpf_core::domain::staff::{DisplayName, StaffId};
    use mkpf_core::staff::admin::{AdminError, bootstrap};
    let h = harness();
    let ctx = mkpf_core::audit::Context::new(mkpf_core::audit::Actor::cli("tester"));
    let (acc, otp) = bootstrap(&h.app, &ctx, StaffId::parse("first.op").unwrap(), DisplayName::parse("First").unwrap())
        .await
        .unwrap();
    assert_eq!(acc.roles, [mkpf_core::domain::staff::Role::Operator]);
    let again =
        bootstrap(&h.app, &ctx, StaffId::parse("second.op").unwrap(), DisplayName::parse("Second").unwrap()).await;
    assert!(matches!(again, Err(AdminError::AlreadyBootstrapped)), "{again:?}");
    let first = sign_in(&h, "first.op", otp.expose(), None).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.body["pending"], json!(["password_change", "totp_enrolment"]));
}

async fn stored_profile(h: &Harness, id: &str) -> mkpf_core::ports::store::Item {
    let key = mkpf_core::staff::account::profile_key(&mkpf_core::domain::staff::StaffId::parse(id).unwrap());
    h.app.store.get(&mkpf_core::tables::STAFF, &key).await.unwrap().unwrap()
}

/// TOTP seeds are never at rest in clear: the stored attribute is a sealed value (staff sealer,
/// bound to the account), from which neither the seed nor its base32 text can be read.
#[tokio::test]
async fn totp_seeds_are_stored_sealed() {
    use mkpf_core::ports::store::Value;
    let h = harness();
    let otp = create(&h, "hara.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "hara.op", &otp).await;
    let item = stored_profile(&h, "hara.op").await;
    let stored = item.get("totp_secret").expect("a TOTP seed");
    let Value::S(sealed) = stored else { panic!("the seed is stored in clear") };
    let b32 = totp_rs::Secret::from(secret.clone()).to_base32();
    assert!(!sealed.contains(&b32) && !sealed.as_bytes().windows(secret.len()).any(|w| w == secret.as_slice()));
    // The sealed seed still checks codes.
    let ok = sign_in(&h, "hara.op", &pw, Some(&code_now(&h, "hara.op", &secret))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    // Moved to another account it opens no more: that account cannot sign in with it.
    let otp2 = create(&h, "kubo.op", &["operator"], None).await;
    let (pw2, _) = onboard(&h, "kubo.op", &otp2).await;
    let mut other = stored_profile(&h, "kubo.op").await;
    other.insert("totp_secret".into(), stored.clone());
    h.app.store.put(&mkpf_core::tables::STAFF, other, None).await.unwrap();
    h.clock.advance(time::Duration::seconds(30));
    let moved = sign_in(&h, "kubo.op", &pw2, Some(&code_now(&h, "kubo.op", &secret))).await;
    assert_ne!(moved.status, StatusCode::CREATED, "{}", moved.body);
}

/// A seed written in clear before sealing (a binary attribute) still works, and the sign-in
/// that uses it stores it sealed.
#[tokio::test]
async fn a_seed_stored_in_clear_is_sealed_by_its_next_use() {
    use mkpf_core::ports::store::Value;
    let h = harness();
    let otp = create(&h, "ono.op", &["operator"], None).await;
    let (pw, secret) = onboard(&h, "ono.op", &otp).await;
    let mut legacy = stored_profile(&h, "ono.op").await;
    legacy.insert("totp_secret".into(), Value::B(secret.clone()));
    h.app.store.put(&mkpf_core::tables::STAFF, legacy, None).await.unwrap();
    let ok = sign_in(&h, "ono.op", &pw, Some(&code_now(&h, "ono.op", &secret))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let stored = stored_profile(&h, "ono.op").await;
    assert!(matches!(stored.get("totp_secret"), Some(Value::S(_))), "the seed is still stored in clear");
}

/// Sign-in attempts for accounts that do not exist prove nothing about anyone: they are counted,
/// and audited in aggregate (`refusals.summary`), not one audit write each.
#[tokio::test]
async fn attempts_for_unknown_accounts_are_counted_not_written_one_by_one() {
    let h = harness();
    let before = all_records(&h).await.len();
    for i in 0..30 {
        let r = sign_in(&h, &format!("nobody{i}"), "correct horse battery staple", None).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "credentials_invalid"), "{}", r.body);
    }
    assert_eq!(all_records(&h).await.len(), before, "no audit write per unknown account");
    mkpf_core::audit::refusals::flush(&h.app, true).await;
    let records = all_records(&h).await;
    let s = records.iter().find(|r| r.action == "refusals.summary").expect("one summary");
    assert_eq!(s.detail["by_action"], json!([{"action": "staff.login", "code": "unknown_account", "count": 30}]));
}
