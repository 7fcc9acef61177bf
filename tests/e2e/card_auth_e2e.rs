//! End-to-end: card sign-in against the local platform process, with the `mkpf-card` CLI (as a
//! newcomer would with curl) and with a card made by plain `openssl` commands; then a MyKey ID,
//! a lost card (CRL import), lapse, a renewed card and the renewal re-link feed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mkpf_tests::*;
use serde_json::{Value, json};

/// A platform trusting a fresh `mkpf-card` test CA, with the CA's (empty) CRL imported.
async fn start() -> (Platform, PathBuf) {
    let data = data_dir("card");
    let kit = data.join("card-kit");
    let ca_pem = card(&kit, &["init"]).trim().to_owned();
    assert!(Path::new(&ca_pem).exists(), "init prints the bundle path: {ca_pem}");
    let p = Platform::start(&data, &[("MKPF_JPKI_TRUST_ANCHORS", &ca_pem)]);
    import_crl(&p, &kit, &[]).await;
    (p, kit)
}

async fn post(p: &Platform, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = client().post(p.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn get(p: &Platform, path: &str, token: &str) -> (u16, Value) {
    let r = client().get(p.url(path)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Signs in with a kit card the way the README shows: challenge → `mkpf-card session-request`.
async fn sign_in(p: &Platform, kit: &Path, name: &str) -> (u16, Value) {
    let (s, challenge) = post(p, "/v1/card-auth/challenges", None, None).await;
    assert_eq!(s, 201, "{challenge}");
    let body = card(kit, &["session-request", "--card", name, "--challenge", &challenge.to_string()]);
    post(p, "/v1/card-auth/sessions", None, Some(serde_json::from_str(&body).unwrap())).await
}

#[tokio::test]
async fn a_software_card_and_an_openssl_made_card_sign_in_and_get_a_mykey_id() {
    let (p, kit) = start().await;
    card(&kit, &["new", "--name", "alice"]);
    let (s, first) = sign_in(&p, &kit, "alice").await;
    assert_eq!(s, 201, "{first}");
    assert!(first["mykey_id"].is_null());
    let token = first["session_token"].as_str().unwrap();
    let (s, created) = post(&p, "/v1/mykey-ids", Some(token), None).await;
    assert_eq!(s, 201, "{created}");
    let mykey = created["mykey_id"].as_str().unwrap().to_owned();
    assert_eq!(mykey.len(), 8);
    // The next sign-in with the same card names the MyKey ID.
    let (s, again) = sign_in(&p, &kit, "alice").await;
    assert_eq!((s, again["mykey_id"].as_str()), (201, Some(mykey.as_str())));

    // A card made with openssl alone, issued by the same test CA: JPKI profile (critical key
    // usage and critical certificate policies), signature by `openssl dgst -sha256 -sign`.
    let dir = kit.join("openssl-card");
    std::fs::create_dir_all(&dir).unwrap();
    let ssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(&dir).output().expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "keyUsage = critical, digitalSignature\n\
         certificatePolicies = critical, 1.2.392.200149.8.5.1.3.30\n\
         authorityKeyIdentifier = keyid\n",
    )
    .unwrap();
    let ca_cert = kit.join("ca.pem");
    let ca_key = kit.join("ca-key.pem");
    ssl(&["genrsa", "-out", "key.pem", "2048"]);
    ssl(&["req", "-new", "-key", "key.pem", "-subj", "/C=JP/CN=0123456789ABCDEF", "-out", "req.csr"]);
    ssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        ca_cert.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
        "-set_serial",
        "0x5eed",
        "-days",
        "1826",
        "-sha256",
        "-extfile",
        "ext.cnf",
        "-outform",
        "DER",
        "-out",
        "cert.der",
    ]);
    let (s, challenge) = post(&p, "/v1/card-auth/challenges", None, None).await;
    assert_eq!(s, 201);
    let nonce = base64_url_decode(challenge["nonce"].as_str().unwrap());
    std::fs::write(dir.join("nonce.bin"), &nonce).unwrap();
    let sig = ssl(&["dgst", "-sha256", "-sign", "key.pem", "nonce.bin"]);
    let cert = std::fs::read(dir.join("cert.der")).unwrap();
    let body = json!({"challenge_id": challenge["challenge_id"], "certificate": b64(&cert), "signature": b64(&sig)});
    let (s, session) = post(&p, "/v1/card-auth/sessions", None, Some(body.clone())).await;
    assert_eq!(s, 201, "{session}");
    assert!(session["mykey_id"].is_null(), "another person");
    // The same signature again: the challenge is spent.
    let (s, replay) = post(&p, "/v1/card-auth/sessions", None, Some(body)).await;
    assert_eq!((s, replay["code"].as_str()), (401, Some("challenge_used")));
    p.stop();
}

#[tokio::test]
async fn a_lost_card_lapses_the_person_until_the_renewed_card_is_relinked() {
    let (p, kit) = start().await;
    card(&kit, &["new", "--name", "alice"]);
    let (_, s1) = sign_in(&p, &kit, "alice").await;
    let token = s1["session_token"].as_str().unwrap().to_owned();
    let (_, created) = post(&p, "/v1/mykey-ids", Some(&token), None).await;
    let mykey = created["mykey_id"].as_str().unwrap().to_owned();

    // Alice loses her card: J-LIS revokes it, the next CRL lists it.
    let imported = import_crl(&p, &kit, &["alice"]).await;
    assert_eq!(imported["entries"], 1);
    let (s, refused) = sign_in(&p, &kit, "alice").await;
    assert_eq!((s, refused["code"].as_str()), (401, Some("certificate_revoked")));
    // Her open session still reads her data, which shows her lapsed; nothing new is allowed.
    let (s, me) = get(&p, "/v1/mykey-ids/me", &token).await;
    assert_eq!((s, me["lapsed"].as_bool()), (200, Some(true)), "{me}");
    let r = client()
        .put(p.url("/v1/mykey-ids/me"))
        .bearer_auth(&token)
        .json(&json!({"mykey_id": "ABCD2345"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "person_lapsed");

    // Her renewed card is a stranger until the linkage feed arrives.
    card(&kit, &["new", "--name", "alice2"]);
    let (s, early) = sign_in(&p, &kit, "alice2").await;
    assert_eq!((s, early["mykey_id"].is_null()), (201, true));
    let feed = card(&kit, &["relink", "--old", "alice", "--new", "alice2"]);
    let r = client()
        .post(p.url("/v1/ops/card-auth/linkage-feeds"))
        .bearer_auth(p.token("operator"))
        .header("content-type", "text/csv")
        .body(feed.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let feed_id = r.json::<Value>().await.unwrap()["feed_id"].as_str().unwrap().to_owned();
    // The platform's own consumer re-links in the background: wait (bounded) until it reports done.
    let deadline = Instant::now() + Duration::from_secs(30);
    let view = loop {
        let (_, v) = get(&p, &format!("/v1/ops/card-auth/linkage-feeds/{feed_id}"), &p.token("operator")).await;
        if v["status"] == "done" {
            break v;
        }
        assert!(Instant::now() < deadline, "the feed was not processed within 30 s: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((view["merged"].as_i64(), view["unknown"].as_i64()), (Some(1), Some(0)), "{view}");

    // Now the renewed card reaches Alice: same MyKey ID, no longer lapsed.
    let (s, s2) = sign_in(&p, &kit, "alice2").await;
    assert_eq!((s, s2["mykey_id"].as_str()), (201, Some(mykey.as_str())), "{s2}");
    let (_, me) = get(&p, "/v1/mykey-ids/me", s2["session_token"].as_str().unwrap()).await;
    assert_eq!(me["lapsed"], false, "{me}");
    assert_eq!(me["certificates"].as_array().unwrap().len(), 2);
    // The same feed again changes nothing.
    let r = client()
        .post(p.url("/v1/ops/card-auth/linkage-feeds"))
        .bearer_auth(p.token("operator"))
        .header("content-type", "text/csv")
        .body(feed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, log) = p.stop_with_log();
    assert!(status.success());
    // Nothing personal in the log: no certificate, no MyKey ID, no tokens.
    let cert_b64 = card(&kit, &["cert", "--card", "alice"]);
    for line in &log {
        assert!(!line.contains(&mykey) && !line.contains(&token) && !line.contains(cert_b64.trim()), "{line}");
    }
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// The hand-off as the citizen site and a device client do it: the browser starts it, `mkpf-card
/// handoff` plays the device with the code, and only the starter's secret gets the session.
#[tokio::test]
async fn mkpf_card_completes_a_hand_off_for_the_browser_that_started_it() {
    let (p, kit) = start().await;
    card(&kit, &["new", "--name", "hana"]);
    let (s, started) = post(&p, "/v1/card-auth/handoffs", None, None).await;
    assert_eq!(s, 201, "{started}");
    let id = started["handoff_id"].as_str().unwrap();
    let secret = started["browser_secret"].as_str().unwrap();
    let code = started["code"].as_str().unwrap();
    let path = format!("/v1/card-auth/handoffs/{id}/session");
    let session = |secret: &str| post(&p, &path, None, Some(json!({"browser_secret": secret})));
    assert_eq!(session(secret).await.0, 202);

    let said = card(&kit, &["handoff", "--card", "hana", "--code", code, "--platform", &p.url("")]);
    assert!(said.contains("signed in"), "{said}");
    // The code works once: the device cannot sign it again.
    let again = card_fails(&kit, &["handoff", "--card", "hana", "--code", code, "--platform", &p.url("")]);
    assert!(again.contains("handoff_used"), "{again}");

    assert_eq!(session("bm90LXRoZS1zZWNyZXQ").await.0, 404, "another browser gets nothing");
    let (s, got) = session(secret).await;
    assert_eq!(s, 200, "{got}");
    let token = got["session_token"].as_str().unwrap();
    let (s, created) = post(&p, "/v1/mykey-ids", Some(token), None).await;
    assert_eq!(s, 201, "the delivered session works: {created}");
    assert_eq!(session(secret).await.0, 409, "delivered once");
}
