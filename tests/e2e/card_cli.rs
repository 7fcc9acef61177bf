//! The `mkpf-card` walkthrough: init, new, cert, sign, session-request, crl, relink.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mkpf_card_kit::{Card, TestCa};
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mkpf-card-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mkpf-card")).env("MKPF_CARD_DIR", dir).args(args).output().expect("run mkpf-card")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_else(|| panic!("{name} in {text}"))
}

#[test]
fn walkthrough() {
    let d = dir("walk");
    let ca_path = ok(&d, &["init"]);
    assert_eq!(PathBuf::from(ca_path.trim()), std::path::absolute(d.join("ca.pem")).unwrap());
    let ca = TestCa::load(&d).unwrap();
    assert_eq!(ok(&d, &["init"]), ca_path, "init keeps the existing CA");
    assert_eq!(TestCa::load(&d).unwrap().cert_der(), ca.cert_der());

    let alice = ok(&d, &["new", "--name", "alice"]);
    assert_eq!(field(&alice, "name"), "alice");
    assert_eq!(field(&alice, "issuer"), ca.issuer_id_hex());
    let card = Card::load(&d.join("cards/alice")).unwrap();
    assert_eq!(field(&alice, "serial"), card.serial_hex());
    assert!(d.join("cards/alice/cert.der").exists());
    assert!(!run(&d, &["new", "--name", "alice"]).status.success(), "names are unique");
    assert!(!run(&d, &["new", "--name", "../evil"]).status.success());
    assert_eq!(field(&ok(&d, &["new"]), "name"), "card1");
    assert_eq!(field(&ok(&d, &["new", "--expired"]), "name"), "card2");
    assert!(Card::load(&d.join("cards/card2")).unwrap().not_after() < time::OffsetDateTime::now_utc());
    assert!(!run(&d, &["new", "--expired", "--not-yet-valid"]).status.success());

    let cert = ok(&d, &["cert", "--card", "alice"]);
    assert_eq!(STANDARD.decode(cert.trim()).unwrap(), card.cert_der());

    let nonce = [7u8; 32];
    let nonce_b64 = URL_SAFE_NO_PAD.encode(nonce);
    let sig = STANDARD.decode(ok(&d, &["sign", "--card", "alice", "--nonce", &nonce_b64]).trim()).unwrap();
    let public = card.key().to_public_key();
    public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(nonce), &sig).unwrap();
    assert!(!run(&d, &["sign", "--card", "bob", "--nonce", &nonce_b64]).status.success());
    assert!(!run(&d, &["sign", "--card", "alice", "--nonce", "!!"]).status.success());

    let challenge =
        format!(r#"{{"challenge_id":"chl_123","nonce":"{nonce_b64}","expires_at":"2026-11-26T03:05:00Z"}}"#);
    let body: serde_json::Value =
        serde_json::from_str(&ok(&d, &["session-request", "--card", "alice", "--challenge", &challenge])).unwrap();
    assert_eq!(body["challenge_id"], "chl_123");
    assert_eq!(STANDARD.decode(body["certificate"].as_str().unwrap()).unwrap(), card.cert_der());
    assert_eq!(STANDARD.decode(body["signature"].as_str().unwrap()).unwrap(), sig);
    // From stdin, as in `curl ... | mkpf-card session-request --card alice --challenge -`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mkpf-card"))
        .env("MKPF_CARD_DIR", &d)
        .args(["session-request", "--card", "alice", "--challenge", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(challenge.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), body);
    assert!(!run(&d, &["session-request", "--card", "alice", "--challenge", "{}"]).status.success());

    let crl1 = ok(&d, &["crl", "--revoke", "card1"]);
    assert_eq!(field(&crl1, "crl_number"), "1");
    assert_eq!(field(&crl1, "revoked"), "1");
    assert!(d.join("crl.der").exists());
    let out = d.join("other.der");
    let crl2 = ok(&d, &["crl", "--out", out.to_str().unwrap()]);
    assert_eq!(field(&crl2, "crl_number"), "2");
    assert_eq!(field(&crl2, "revoked"), "0");
    assert!(out.exists());

    let feed = ok(&d, &["relink", "--old", "card2", "--new", "alice", "--on", "2026-11-26"]);
    let card2 = Card::load(&d.join("cards/card2")).unwrap();
    assert_eq!(
        feed,
        format!(
            "old_issuer,old_serial,new_issuer,new_serial,linked_on\n{i},{},{i},{},2026-11-26\n",
            card2.serial_hex(),
            card.serial_hex(),
            i = ca.issuer_id_hex()
        )
    );
    assert!(!run(&d, &["relink", "--old", "card2", "--new", "alice", "--on", "26/11/2026"]).status.success());
    let today = ok(&d, &["relink", "--old", "card2", "--new", "alice"]);
    assert_eq!(today.lines().count(), 2);

    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn commands_other_than_init_and_new_need_a_ca() {
    let d = dir("noca");
    let out = run(&d, &["crl"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mkpf-card init"));
    let out = run(&d, &["cert", "--card", "alice"]);
    assert!(!out.status.success());
}
