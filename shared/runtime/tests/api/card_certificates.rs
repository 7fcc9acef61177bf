//! Verifier-level tests of `mkpf_core::card_auth` (anchors, certificates, nonce signatures, CRLs)
//! against the software card kit, certificates made by the `openssl` command line, and the real
//! J-LIS user-authentication roots. Times are fixed (`NOW`); nothing reads the clock.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mkpf_card_kit::{Card, CardSpec, CrlScope, CrlSpec, KeyUsageSpec, PolicySpec, SigHash, TestCa, test_key};
use mkpf_core::card_auth::anchors::{AnchorError, IssuerId, TrustAnchors};
use mkpf_core::card_auth::certificate::{
    CertError, CertSerial, DEFAULT_AUTH_POLICY_OID, MAX_CERT_BYTES, Policy, SignatureInvalid, VerifiedCertificate,
    verify_certificate,
};
use mkpf_core::card_auth::crl::{CrlError, verify_crl};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-26 03:00 UTC);

/// The real J-LIS user-authentication roots (public certificates, copied from
/// `shared/jpki/auth_ca_2015.pem` and `auth_ca_2023.pem` so the tests need nothing outside the
/// repository).
const JLIS_ROOT_2015: &str = "-----BEGIN CERTIFICATE-----\n\
MIIFIDCCBAigAwIBAgIBATANBgkqhkiG9w0BAQsFADCBgjELMAkGA1UEBhMCSlAx\n\
DTALBgNVBAoMBEpQS0kxJTAjBgNVBAsMHEpQS0kgZm9yIHVzZXIgYXV0aGVudGlj\n\
YXRpb24xPTA7BgNVBAsMNEphcGFuIEFnZW5jeSBmb3IgTG9jYWwgQXV0aG9yaXR5\n\
IEluZm9ybWF0aW9uIFN5c3RlbXMwHhcNMTUxMDIwMDMwODEzWhcNMjUxMDE5MTQ1\n\
OTU5WjCBgjELMAkGA1UEBhMCSlAxDTALBgNVBAoMBEpQS0kxJTAjBgNVBAsMHEpQ\n\
S0kgZm9yIHVzZXIgYXV0aGVudGljYXRpb24xPTA7BgNVBAsMNEphcGFuIEFnZW5j\n\
eSBmb3IgTG9jYWwgQXV0aG9yaXR5IEluZm9ybWF0aW9uIFN5c3RlbXMwggEiMA0G\n\
CSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDErMrTwOIy0V7LHYCBttzaAqhetfoo\n\
Jf8F0YMSGVIBnZDzxKz4toNDWY4mN935Uo9saPTsTtsIRed5azFAekE3VhTKSrfh\n\
A39uGssJBUEifqxay3WY8XiAIPE5jB5B8Gc6Ked9GvmzwA7TVNxg5M9q5I0+gxtJ\n\
2ocqMWOI7A8tfL2UpwOqyVYKRZVXjKIkBPIbYrNLdZrAki3FsCCyl7rR47NOt3sL\n\
ZW1oz2fxJUZubD7oAXzKmZhofU9z3KQG6dgTaNzOpnPKhnxbTwXM68zQW52H8oki\n\
r/6gJ23gAr+fR8Z+IMuKkCj7df+7Lv+ab/3ZIncb01+QL5XEgHs7RLrHAgMBAAGj\n\
ggGdMIIBmTAOBgNVHQ8BAf8EBAMCAQYwgbcGA1UdEQSBrzCBrKSBqTCBpjELMAkG\n\
A1UEBhMCSlAxJzAlBgNVBAoMHuWFrOeahOWAi+S6uuiqjeiovOOCteODvOODk+OC\n\
uTE5MDcGA1UECwww5YWs55qE5YCL5Lq66KqN6Ki844K144O844OT44K55Yip55So\n\
6ICF6Ki85piO55SoMTMwMQYDVQQLDCrlnLDmlrnlhazlhbHlm6PkvZPmg4XloLHj\n\
grfjgrnjg4bjg6DmqZ/mp4swDwYDVR0TAQH/BAUwAwEB/zCBnAYDVR0fBIGUMIGR\n\
MIGOoIGLoIGIpIGFMIGCMQswCQYDVQQGEwJKUDENMAsGA1UECgwESlBLSTElMCMG\n\
A1UECwwcSlBLSSBmb3IgdXNlciBhdXRoZW50aWNhdGlvbjE9MDsGA1UECww0SmFw\n\
YW4gQWdlbmN5IGZvciBMb2NhbCBBdXRob3JpdHkgSW5mb3JtYXRpb24gU3lzdGVt\n\
czAdBgNVHQ4EFgQUlWeVG1ynDYSg//HYWofxqrE0A4UwDQYJKoZIhvcNAQELBQAD\n\
ggEBACJnlGS30OV191IiCvFKB2tGFS1Czn56eV4COTzlNr+Ghona96bCy6bCdQvc\n\
RrbOMFK/S71umIO9ITR/eYUHhyt5aJv8wljNGctDUzvOzFvwkDs2HOLfv8n+/L8I\n\
6rRwIozyY58lUzcIFqe/gx0lLupQ9QsM+X/wiA+6oSyV8/yrM+c7aoGKRSQ/PFFV\n\
1nVTS7G6VYDrKOMKsvrh4b5buK3JPk7hc7AqRMx4lFzyJg+tq6Qy62aL4lCoIqKf\n\
mPfp4+GManEfCsDi1JSYpauPmpFMCLM0B8urUUlfDS5W4rtH23D3wcUh1LVI8kMY\n\
nyc4mpKoe5eoqG8eCWkd0lz1ms4=\n\
-----END CERTIFICATE-----\n\
";
const JLIS_ROOT_2023: &str = "-----BEGIN CERTIFICATE-----\n\
MIIFIzCCBAugAwIBAgIEBtGABjANBgkqhkiG9w0BAQsFADCBgjELMAkGA1UEBhMC\n\
SlAxDTALBgNVBAoMBEpQS0kxJTAjBgNVBAsMHEpQS0kgZm9yIHVzZXIgYXV0aGVu\n\
dGljYXRpb24xPTA7BgNVBAsMNEphcGFuIEFnZW5jeSBmb3IgTG9jYWwgQXV0aG9y\n\
aXR5IEluZm9ybWF0aW9uIFN5c3RlbXMwHhcNMjMwNzE2MDEwMTA0WhcNMzMwNzE1\n\
MTQ1OTU5WjCBgjELMAkGA1UEBhMCSlAxDTALBgNVBAoMBEpQS0kxJTAjBgNVBAsM\n\
HEpQS0kgZm9yIHVzZXIgYXV0aGVudGljYXRpb24xPTA7BgNVBAsMNEphcGFuIEFn\n\
ZW5jeSBmb3IgTG9jYWwgQXV0aG9yaXR5IEluZm9ybWF0aW9uIFN5c3RlbXMwggEi\n\
MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDdxNt+xeqB9O50CBx2IjT3ffw8\n\
G/wOfwQJ2RfPHTuwBoudurxDlvqX5MPWlZpFaKNpbY0oWjOsA4BuLW40bS6BW+zm\n\
dvYIZvtuxKuy5U613FGV0UbM7UT2s4Z/Wk4QJ+B6sFQnnoQlyzbDL3x70GQ+oQMo\n\
8To0sFbqoRWUQAu3QoDUNb/H0/k8PxZwhtUYY2q5kaNbtlI4q+0u+qnQXizXOPx1\n\
PJEvPsv0EQyE0+7aiSZ5kdiuDvZ9VdUXqiJHUnEljCYFRRiRJ4LlugEGwqMVWr0v\n\
U+2UTg+K4vT6ESYxjTAfjgNlR1kWPEs/1UEblqfrJQo/25rTxoQd4/WXyJofAgMB\n\
AAGjggGdMIIBmTAOBgNVHQ8BAf8EBAMCAQYwgbcGA1UdEQSBrzCBrKSBqTCBpjEL\n\
MAkGA1UEBhMCSlAxJzAlBgNVBAoMHuWFrOeahOWAi+S6uuiqjeiovOOCteODvOOD\n\
k+OCuTE5MDcGA1UECwww5YWs55qE5YCL5Lq66KqN6Ki844K144O844OT44K55Yip\n\
55So6ICF6Ki85piO55SoMTMwMQYDVQQLDCrlnLDmlrnlhazlhbHlm6PkvZPmg4Xl\n\
oLHjgrfjgrnjg4bjg6DmqZ/mp4swDwYDVR0TAQH/BAUwAwEB/zCBnAYDVR0fBIGU\n\
MIGRMIGOoIGLoIGIpIGFMIGCMQswCQYDVQQGEwJKUDENMAsGA1UECgwESlBLSTEl\n\
MCMGA1UECwwcSlBLSSBmb3IgdXNlciBhdXRoZW50aWNhdGlvbjE9MDsGA1UECww0\n\
SmFwYW4gQWdlbmN5IGZvciBMb2NhbCBBdXRob3JpdHkgSW5mb3JtYXRpb24gU3lz\n\
dGVtczAdBgNVHQ4EFgQUGsEA9ZajvIxLPfGV4yaZJJ6eMIowDQYJKoZIhvcNAQEL\n\
BQADggEBAHB2MubK1YUwFd6zUQrinYXdkbXKGcm7X7Wfe8bRkxr6PGDeQgWjggCJ\n\
44HrU8UZPAec7oCzqey0wQTqziBVjyd98ntWlVV5SrgXeaWbfgI51MgWs5j3a8hr\n\
CPAwwcRi9XgTFgGvmwjAORrMaNueGkqAK/1YFs9TGuiJxIc8Tm0w/bVGNoS4eJ0u\n\
yamqsLQroA9/pHCkp0AehFv4eonhiP8T3OsaiMG38JCb5a9K7FDfrwd3T4+zjDIb\n\
ecJL+viI0psHWwVmoyBBLXNBMjA5kKIqDYaYo6jsd7yoViTGcDpoYeRynal5yjkG\n\
yXigSal+staD3P6Yf7dJb0HX0gA0KRA=\n\
-----END CERTIFICATE-----\n\
";

/// One CA and the keys the suite shares (RSA key generation is the slow part).
struct Fixture {
    ca: TestCa,
    /// Same name as `ca`, different key: never trusted.
    twin: TestCa,
    /// Another name and key, also never trusted.
    stranger: TestCa,
    /// Same key generation as `ca`, but expired before `NOW`.
    expired_ca: TestCa,
    anchors: TrustAnchors,
    card: Card,
}

fn fx() -> &'static Fixture {
    static FX: OnceLock<Fixture> = OnceLock::new();
    FX.get_or_init(|| {
        let (ca, twin) = TestCa::generate_same_name_pair(
            "MKPF Test CA",
            NOW - Duration::days(365),
            NOW + Duration::days(3650),
            100,
            101,
        );
        let stranger = TestCa::generate_with_key(
            "Stranger CA",
            test_key(2048, 102),
            NOW - Duration::days(365),
            NOW + Duration::days(3650),
        );
        let expired_ca = TestCa::generate_with_key(
            "Expired CA",
            test_key(2048, 103),
            NOW - Duration::days(3650),
            NOW - Duration::days(1),
        );
        let anchors = TrustAnchors::from_pem(&format!("{}{}", ca.pem(), expired_ca.pem())).unwrap();
        let card = ca.issue(&spec());
        Fixture { ca, twin, stranger, expired_ca, anchors, card }
    })
}

/// The JPKI profile around `NOW`, with the shared card key.
fn spec() -> CardSpec {
    CardSpec::jpki(NOW).with_key(test_key(2048, 110))
}

fn verify(der: &[u8]) -> Result<VerifiedCertificate, CertError> {
    verify_certificate(&fx().anchors, der, NOW, &Policy::default())
}

/// The error code of verifying a card `fx().ca` issues from `spec`.
fn code_of(spec: CardSpec) -> &'static str {
    code(verify(fx().ca.issue(&spec).cert_der()))
}

fn code(r: Result<VerifiedCertificate, CertError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn crl_code(r: Result<mkpf_core::card_auth::crl::VerifiedCrl, CrlError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

// ---- anchors ----

#[test]
fn both_real_jlis_roots_load_with_their_key_ids() {
    let anchors = TrustAnchors::from_pem(&format!("{JLIS_ROOT_2015}{JLIS_ROOT_2023}")).unwrap();
    let ids: Vec<&str> = anchors.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["9567951b5ca70d84a0fff1d85a87f1aab1340385", "1ac100f596a3bc8c4b3df195e32699249e9e308a"]);
    let gen1 = anchors.get(&IssuerId::parse("95:67:95:1B:5C:A7:0D:84:A0:FF:F1:D8:5A:87:F1:AA:B1:34:03:85").unwrap());
    assert_eq!(gen1.unwrap().not_after, datetime!(2025-10-19 14:59:59 UTC), "expired anchors load");
    let gen3 = anchors.get(&IssuerId::parse("1ac100f596a3bc8c4b3df195e32699249e9e308a").unwrap()).unwrap();
    assert_eq!(gen3.not_before, datetime!(2023-07-16 01:01:04 UTC));
    assert_eq!(gen3.not_after, datetime!(2033-07-15 14:59:59 UTC));
    // Same name, different keys: the subject never tells them apart.
    let subjects: Vec<&Vec<u8>> = anchors.iter().map(|a| &a.subject_der).collect();
    assert_eq!(subjects[0], subjects[1]);
}

/// The copies above are the certificates of the bundle the platform ships
/// (`infra/jpki/jlis-auth-roots.pem`, copied from the team kit's `shared/jpki/`), in order, and
/// that bundle loads as exactly these two roots.
#[test]
fn embedded_roots_are_the_shipped_bundle() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/jpki/jlis-auth-roots.pem");
    let bundle = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let blocks: Vec<String> = bundle
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|b| {
            format!(
                "-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----",
                b.split("-----END CERTIFICATE-----").next().unwrap()
            )
        })
        .collect();
    let embedded: Vec<String> = [JLIS_ROOT_2015, JLIS_ROOT_2023].iter().map(|p| p.trim().to_owned()).collect();
    assert_eq!(blocks, embedded);
    let anchors = TrustAnchors::load(&path).unwrap();
    let ids: Vec<&str> = anchors.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["9567951b5ca70d84a0fff1d85a87f1aab1340385", "1ac100f596a3bc8c4b3df195e32699249e9e308a"]);
}

#[test]
fn kit_cards_are_untrusted_under_the_real_roots() {
    let anchors = TrustAnchors::from_pem(&format!("{JLIS_ROOT_2015}{JLIS_ROOT_2023}")).unwrap();
    let no_aki = fx().ca.issue(&spec().no_aki());
    for der in [fx().card.cert_der(), no_aki.cert_der()] {
        assert_eq!(verify_certificate(&anchors, der, NOW, &Policy::default()).unwrap_err(), CertError::Untrusted);
    }
}

#[test]
fn duplicate_anchors_are_kept_once_and_bundles_mix() {
    let ca = &fx().ca;
    let twice = TrustAnchors::from_pem(&format!("{}\n# comment\n{}", ca.pem(), ca.pem())).unwrap();
    assert_eq!(twice.len(), 1);
    let mixed = TrustAnchors::from_pem(&format!("{JLIS_ROOT_2023}{}{}", ca.pem(), fx().twin.pem())).unwrap();
    assert_eq!(mixed.len(), 3);
    assert!(mixed.get(&IssuerId::parse(&ca.issuer_id_hex()).unwrap()).is_some());
}

#[test]
fn non_ca_and_not_self_signed_anchors_are_refused() {
    let card_pem = fx().card.cert_pem();
    let err = TrustAnchors::from_pem(&format!("{}{card_pem}", fx().ca.pem())).unwrap_err();
    assert!(matches!(err, AnchorError::Invalid { index: 1, .. }), "{err}");
    // A CA certificate signed by another key is not a root.
    let sub = fx().ca.issue(&spec().is_ca());
    assert!(matches!(TrustAnchors::from_pem(&sub.cert_pem()), Err(AnchorError::Invalid { index: 0, .. })));
    assert!(matches!(TrustAnchors::from_pem("no certificates here"), Err(AnchorError::Empty)));
    let missing = TrustAnchors::load(Path::new("/nonexistent/anchors.pem")).unwrap_err();
    assert!(matches!(missing, AnchorError::Read { .. }));
}

// ---- certificates: the matrix ----

#[test]
fn a_valid_card_verifies() {
    let v = verify(fx().card.cert_der()).unwrap();
    assert_eq!(v.issuer.as_str(), fx().ca.issuer_id_hex());
    assert_eq!(v.serial.as_str(), fx().card.serial_hex());
    assert_eq!(v.not_before, NOW - Duration::days(1));
    assert_eq!(v.not_after, fx().card.not_after());
    assert_eq!(v.public_key.pkcs1_der(), fx().card.public_key_pkcs1_der());
    assert_eq!(v.public_key.bits(), 2048);
}

#[test]
fn issuer_is_chosen_by_key_never_by_name() {
    let f = fx();
    // Both same-name roots configured: each card is attributed to its own signer.
    let anchors = TrustAnchors::from_pem(&format!("{}{}", f.ca.pem(), f.twin.pem())).unwrap();
    let twin_card = f.twin.issue(&spec());
    let twin_card_no_aki = f.twin.issue(&spec().no_aki());
    for (der, issuer) in
        [(f.card.cert_der(), &f.ca), (twin_card.cert_der(), &f.twin), (twin_card_no_aki.cert_der(), &f.twin)]
    {
        let v = verify_certificate(&anchors, der, NOW, &Policy::default()).unwrap();
        assert_eq!(v.issuer.as_str(), issuer.issuer_id_hex());
    }
    // Only `ca` configured: the twin's cards are untrusted, with or without AKI.
    assert_eq!(code(verify(twin_card.cert_der())), "certificate_untrusted");
    assert_eq!(code(verify(twin_card_no_aki.cert_der())), "certificate_untrusted");
}

#[test]
fn another_ca_with_aki_is_untrusted() {
    let card = fx().stranger.issue(&spec());
    assert_eq!(code(verify(card.cert_der())), "certificate_untrusted");
}

#[test]
fn no_aki_is_accepted_by_trying_every_anchor() {
    assert_eq!(code_of(spec().no_aki()), "ok");
}

#[test]
fn validity_window() {
    let expired = spec().validity(NOW - Duration::days(400), NOW - Duration::seconds(1));
    assert_eq!(code_of(expired), "certificate_expired");
    let future = spec().validity(NOW + Duration::seconds(1), NOW + Duration::days(400));
    assert_eq!(code_of(future), "certificate_not_yet_valid");
    // Both bounds are inclusive.
    assert_eq!(code_of(spec().validity(NOW, NOW + Duration::days(1))), "ok");
    assert_eq!(code_of(spec().validity(NOW - Duration::days(1), NOW)), "ok");
    // Past 2049 the kit writes GeneralizedTime.
    assert_eq!(code_of(spec().validity(NOW - Duration::days(1), datetime!(2051-01-01 00:00 UTC))), "ok");
}

#[test]
fn a_card_under_an_expired_anchor_is_expired() {
    let card = fx().expired_ca.issue(&spec());
    assert_eq!(code(verify(card.cert_der())), "certificate_expired");
    // The same certificate verified at a time when the anchor was valid passes.
    let then = NOW - Duration::days(2) + Duration::hours(12);
    let card = fx().expired_ca.issue(&spec().validity(NOW - Duration::days(3), NOW + Duration::days(3)));
    let v = verify_certificate(&fx().anchors, card.cert_der(), then, &Policy::default()).unwrap();
    assert_eq!(v.issuer.as_str(), fx().expired_ca.issuer_id_hex());
}

#[test]
fn key_usage_must_include_digital_signature() {
    assert_eq!(code_of(spec().key_usage(KeyUsageSpec::KeyEnciphermentOnly)), "certificate_profile");
    assert_eq!(code_of(spec().key_usage(KeyUsageSpec::Absent)), "certificate_profile");
    let err = verify(fx().ca.issue(&spec().key_usage(KeyUsageSpec::Absent)).cert_der()).unwrap_err();
    assert_eq!(err, CertError::Profile("keyUsage missing"));
}

#[test]
fn the_auth_policy_is_required() {
    assert_eq!(code_of(spec().policy(PolicySpec::Absent)), "certificate_profile");
    let other = spec().policy(PolicySpec::Other(mkpf_card_kit::OTHER_POLICY_OID.into()));
    assert_eq!(code_of(other), "certificate_profile");
    // The policy OID is configurable.
    let custom = fx().ca.issue(&spec().policy(PolicySpec::Other("1.2.3.4".into())));
    let policy = Policy { auth_policy_oid: "1.2.3.4".into(), ..Policy::default() };
    assert!(verify_certificate(&fx().anchors, custom.cert_der(), NOW, &policy).is_ok());
    assert_eq!(Policy::default().auth_policy_oid, DEFAULT_AUTH_POLICY_OID);
}

/// JPKI marks certificatePolicies critical; a non-critical one still carries the policy, so it
/// is accepted (criticality is the issuer's choice, the OID is what the profile needs).
#[test]
fn non_critical_policies_are_accepted() {
    assert_eq!(code_of(spec().policies_critical(false)), "ok");
}

#[test]
fn rsa_1024_is_refused() {
    assert_eq!(code_of(spec().with_key(test_key(1024, 0))), "certificate_profile");
    // ... unless the policy says otherwise.
    let small = fx().ca.issue(&spec().with_key(test_key(1024, 0)));
    let policy = Policy { min_rsa_bits: 1024, ..Policy::default() };
    assert!(verify_certificate(&fx().anchors, small.cert_der(), NOW, &policy).is_ok());
}

#[test]
fn sha1_signed_certificates_are_refused() {
    let err = verify(fx().ca.issue(&spec().sha1_signature()).cert_der()).unwrap_err();
    assert_eq!(err.code(), "certificate_profile");
    assert!(err.to_string().contains("signature algorithm"), "{err}");
}

#[test]
fn ca_certificates_are_refused() {
    assert_eq!(code_of(spec().is_ca()), "certificate_profile");
}

#[test]
fn unknown_critical_extensions_are_refused() {
    let err = verify(fx().ca.issue(&spec().unknown_critical_extension()).cert_der()).unwrap_err();
    assert_eq!(err, CertError::Profile("unknown critical extension"));
}

#[test]
fn v1_certificates_are_refused() {
    let err = verify(fx().ca.issue(&spec().v1()).cert_der()).unwrap_err();
    assert_eq!(err, CertError::Profile("version is not v3"));
}

#[test]
fn tampered_certificates_are_refused() {
    let card = fx().ca.issue(&spec().subject_cn("TAMPERME0001"));
    let der = card.cert_der().to_vec();
    // A byte of the subject CN.
    let at = der.windows(12).position(|w| w == b"TAMPERME0001").unwrap();
    let mut cn = der.clone();
    cn[at] = b'X';
    assert_eq!(code(verify(&cn)), "certificate_untrusted");
    // Every 5th byte of the TBS, flipped: untrusted or malformed, never accepted.
    let tbs_end = 4 + 4 + u16::from_be_bytes([der[6], der[7]]) as usize;
    for i in (4..tbs_end).step_by(5) {
        let mut t = der.clone();
        t[i] ^= 0x01;
        let c = code(verify(&t));
        assert!(
            ["certificate_untrusted", "certificate_malformed", "certificate_profile"].contains(&c),
            "byte {i}: {c}"
        );
        if (at..at + 12).contains(&i) {
            assert_eq!(c, "certificate_untrusted", "byte {i}");
        }
    }
    // The signature's last byte.
    let mut sig = der.clone();
    *sig.last_mut().unwrap() ^= 0x01;
    assert_eq!(code(verify(&sig)), "certificate_untrusted");
}

#[test]
fn truncated_garbage_and_oversized_der_is_malformed() {
    let der = fx().card.cert_der();
    for bad in [&der[..der.len() - 1], &der[..100], &der[1..], b"", b"\x30\x00", b"garbage!"] {
        assert_eq!(code(verify(bad)), "certificate_malformed");
    }
    let mut trailing = der.to_vec();
    trailing.push(0);
    assert_eq!(code(verify(&trailing)), "certificate_malformed");
    let big = fx().ca.issue(&spec().subject_cn(&"A".repeat(MAX_CERT_BYTES)));
    assert!(big.cert_der().len() > MAX_CERT_BYTES);
    let err = verify(big.cert_der()).unwrap_err();
    assert!(matches!(err, CertError::Malformed(ref m) if m.contains("8192")), "{err}");
    let at_limit = fx().ca.issue(&spec().subject_cn(&"A".repeat(MAX_CERT_BYTES - 1000)));
    assert!(at_limit.cert_der().len() <= MAX_CERT_BYTES);
    assert_eq!(code(verify(at_limit.cert_der())), "ok");
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(CertError::Malformed(String::new()).code(), "certificate_malformed");
    assert_eq!(CertError::Untrusted.code(), "certificate_untrusted");
    assert_eq!(CertError::Expired.code(), "certificate_expired");
    assert_eq!(CertError::NotYetValid.code(), "certificate_not_yet_valid");
    assert_eq!(CertError::Profile("x").code(), "certificate_profile");
}

// ---- nonce signatures ----

#[test]
fn nonce_signatures() {
    let v = verify(fx().card.cert_der()).unwrap();
    let nonce = [0x5au8; 32];
    let sig = fx().card.sign(&nonce);
    assert_eq!(v.verify_signature(&nonce, &sig), Ok(()));
    // Over another nonce.
    assert_eq!(v.verify_signature(&[0x5b; 32], &sig), Err(SignatureInvalid));
    // SHA-1 DigestInfo.
    assert_eq!(v.verify_signature(&nonce, &fx().card.sign_sha1(&nonce)), Err(SignatureInvalid));
    // Tampered, shortened, lengthened.
    let mut t = sig.clone();
    t[100] ^= 0x80;
    assert_eq!(v.verify_signature(&nonce, &t), Err(SignatureInvalid));
    assert_eq!(v.verify_signature(&nonce, &sig[1..]), Err(SignatureInvalid));
    let mut long = vec![0u8];
    long.extend_from_slice(&sig);
    assert_eq!(v.verify_signature(&nonce, &long), Err(SignatureInvalid));
    assert_eq!(v.verify_signature(&nonce, &[]), Err(SignatureInvalid));
    // Another card's key.
    let other = fx().ca.issue(&spec().with_key(test_key(2048, 111)));
    assert_eq!(v.verify_signature(&nonce, &other.sign(&nonce)), Err(SignatureInvalid));
}

// ---- CRLs ----

fn crl_spec() -> CrlSpec {
    CrlSpec {
        revoked: vec![(fx().card.serial_hex(), NOW - Duration::hours(5))],
        crl_number: Some(300),
        ..CrlSpec::new(NOW - Duration::hours(1), NOW + Duration::days(7))
    }
}

#[test]
fn a_valid_crl_lists_the_serials() {
    let f = fx();
    let der = f.ca.crl(
        &[(&f.card.serial_hex(), NOW - Duration::hours(5)), ("00:0A:BC", NOW - Duration::days(2))],
        NOW - Duration::hours(1),
        NOW + Duration::days(7),
        300,
    );
    let crl = verify_crl(&f.anchors, &der, NOW).unwrap();
    assert_eq!(crl.issuer.as_str(), f.ca.issuer_id_hex());
    assert_eq!(crl.this_update, NOW - Duration::hours(1));
    assert_eq!(crl.next_update, NOW + Duration::days(7));
    assert_eq!(crl.crl_number.as_deref(), Some("12c"));
    assert_eq!(crl.revoked.len(), 2);
    assert_eq!(crl.revoked[0].serial, CertSerial::parse(&f.card.serial_hex()).unwrap());
    assert_eq!(crl.revoked[0].revoked_at, NOW - Duration::hours(5));
    assert_eq!(crl.revoked[1].serial.as_str(), "abc");
    // Empty, without cRLNumber, and without AKI (issuer found by trying the anchors' keys).
    let bare = f.ca.crl_with(&CrlSpec { crl_number: None, aki: false, ..CrlSpec::new(NOW, NOW) });
    let bare = verify_crl(&f.anchors, &bare, NOW).unwrap();
    assert!(bare.revoked.is_empty() && bare.crl_number.is_none());
    assert_eq!(bare.issuer.as_str(), f.ca.issuer_id_hex());
}

#[test]
fn crl_error_matrix() {
    let f = fx();
    let ok = f.ca.crl_with(&crl_spec());
    assert_eq!(crl_code(verify_crl(&f.anchors, &ok, NOW)), "ok");
    // Signed by another CA: with AKI, without AKI, and by the same-name twin.
    for ca in [&f.stranger, &f.twin] {
        for aki in [true, false] {
            let der = ca.crl_with(&CrlSpec { aki, ..crl_spec() });
            assert_eq!(crl_code(verify_crl(&f.anchors, &der, NOW)), "crl_untrusted");
        }
    }
    let expired = f.ca.crl_with(&CrlSpec { next_update: Some(NOW - Duration::seconds(1)), ..crl_spec() });
    assert_eq!(crl_code(verify_crl(&f.anchors, &expired, NOW)), "crl_expired");
    let future = f.ca.crl_with(&CrlSpec { this_update: NOW + Duration::seconds(1), ..crl_spec() });
    assert_eq!(crl_code(verify_crl(&f.anchors, &future, NOW)), "crl_not_yet_valid");
    let no_next = f.ca.crl_with(&CrlSpec { next_update: None, ..crl_spec() });
    assert_eq!(crl_code(verify_crl(&f.anchors, &no_next, NOW)), "crl_profile");
    let sha1 = f.ca.crl_with(&CrlSpec { hash: SigHash::Sha1, ..crl_spec() });
    assert_eq!(crl_code(verify_crl(&f.anchors, &sha1, NOW)), "crl_profile");
    for garbage in [&b""[..], b"\x30\x03\x02\x01\x01", b"-----BEGIN X509 CRL-----", &ok[..ok.len() / 2]] {
        assert_eq!(crl_code(verify_crl(&f.anchors, garbage, NOW)), "crl_malformed");
    }
    // A revoked serial changed after signing.
    let serial = hex::decode(format!("{:0>32}", f.card.serial_hex())).unwrap();
    let at = ok.windows(serial.len()).position(|w| w == serial.as_slice()).unwrap();
    let mut tampered = ok.clone();
    tampered[at + 3] ^= 0x01;
    assert_eq!(crl_code(verify_crl(&f.anchors, &tampered, NOW)), "crl_untrusted");
}

/// Only a complete CRL of the issuer may become its current CRL: one that lists only CA
/// certificates, only some reasons, another issuer's certificates, attribute certificates or one
/// partition (a distributionPoint name), and a delta CRL, are refused as `crl_scoped`; an unknown
/// critical extension as `crl_profile`. `onlyContainsUserCerts` covers every certificate sign-in
/// checks (end-entity certificates issued directly by a root), so it is a complete CRL here.
#[test]
fn scoped_and_delta_crls_are_refused() {
    let f = fx();
    let scoped = |scope: CrlScope| f.ca.crl_with(&CrlSpec { scope, ..crl_spec() });
    for (scope, reason) in [
        (CrlScope::CaCerts, "onlyContainsCACerts"),
        (CrlScope::SomeReasons, "onlySomeReasons"),
        (CrlScope::Indirect, "indirectCRL"),
        (CrlScope::AttributeCerts, "onlyContainsAttributeCerts"),
        (CrlScope::DistributionPoint("http://crl.example/part7.crl".into()), "distributionPoint"),
    ] {
        let err = verify_crl(&f.anchors, &scoped(scope.clone()), NOW).unwrap_err();
        assert_eq!(err.code(), "crl_scoped", "{scope:?}: {err}");
        assert!(err.to_string().contains(reason), "{scope:?}: {err}");
    }
    let users = verify_crl(&f.anchors, &scoped(CrlScope::UserCerts), NOW).unwrap();
    assert_eq!(users.revoked.len(), 1);
    let delta = f.ca.crl_with(&CrlSpec { delta_of: Some(299), ..crl_spec() });
    assert_eq!(crl_code(verify_crl(&f.anchors, &delta, NOW)), "crl_scoped");
    let unknown = f.ca.crl_with(&CrlSpec { unknown_critical_extension: true, ..crl_spec() });
    assert_eq!(crl_code(verify_crl(&f.anchors, &unknown, NOW)), "crl_profile");
}

// ---- openssl interop ----

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command line must be installed for this test");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mkpf-card-certs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const OPENSSL_CA_CNF: &str = "\
[ ca ]
default_ca = kit
[ kit ]
database = index.txt
new_certs_dir = .
serial = serial.txt
crlnumber = crlnumber.txt
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
countryName = supplied
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
";

const OPENSSL_EXT: &str = "\
keyUsage = critical, digitalSignature
certificatePolicies = critical, 1.2.392.200149.8.5.1.3.30
authorityKeyIdentifier = keyid:always
subjectKeyIdentifier = none
";

/// A card made with the openssl command line, signed by the kit CA's `ca-key.pem`, verifies;
/// `openssl dgst -sha256 -sign` signatures over a nonce verify and `-sha1` ones do not; an
/// openssl CRL revoking it verifies and lists it.
#[test]
fn openssl_made_card_and_signatures_verify() {
    let f = fx();
    let dir = temp_dir("openssl");
    f.ca.save(&dir).unwrap();
    std::fs::write(dir.join("ca.cnf"), OPENSSL_CA_CNF).unwrap();
    std::fs::write(dir.join("ext.cnf"), OPENSSL_EXT).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial.txt"), "6D2A00F1C0FFEE01\n").unwrap();
    std::fs::write(dir.join("crlnumber.txt"), "1000\n").unwrap();
    openssl(&dir, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"]);
    openssl(&dir, &["req", "-new", "-key", "key.pem", "-subj", "/C=JP/CN=OPENSSL0CARD0001", "-out", "card.csr"]);
    #[rustfmt::skip]
    openssl(&dir, &[
        "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca-key.pem", "-in", "card.csr",
        "-out", "card.pem", "-notext", "-extfile", "ext.cnf",
        "-startdate", "20261101000000Z", "-enddate", "20311031235959Z",
    ]);
    let der = openssl(&dir, &["x509", "-in", "card.pem", "-outform", "DER"]);
    let v = verify(&der).unwrap();
    assert_eq!(v.serial.as_str(), "6d2a00f1c0ffee01");
    assert_eq!(v.issuer.as_str(), f.ca.issuer_id_hex());
    assert_eq!(v.not_before, datetime!(2026-11-01 00:00 UTC));
    assert_eq!(v.not_after, datetime!(2031-10-31 23:59:59 UTC));

    let nonce: Vec<u8> = (0..32u8).collect();
    std::fs::write(dir.join("nonce.bin"), &nonce).unwrap();
    let sig = openssl(&dir, &["dgst", "-sha256", "-sign", "key.pem", "nonce.bin"]);
    assert_eq!(v.verify_signature(&nonce, &sig), Ok(()));
    let sig1 = openssl(&dir, &["dgst", "-sha1", "-sign", "key.pem", "nonce.bin"]);
    assert_eq!(v.verify_signature(&nonce, &sig1), Err(SignatureInvalid));

    // The kit's own card: its saved key.pem signs with openssl exactly as Card::sign does.
    f.card.save(&dir.join("kitcard")).unwrap();
    let kit_sig = openssl(&dir, &["dgst", "-sha256", "-sign", "kitcard/key.pem", "nonce.bin"]);
    assert_eq!(kit_sig, f.card.sign(&nonce));

    // An openssl CRL revoking the openssl card.
    #[rustfmt::skip]
    openssl(&dir, &["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca-key.pem", "-revoke", "card.pem"]);
    #[rustfmt::skip]
    openssl(&dir, &[
        "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca-key.pem", "-gencrl",
        "-crlexts", "crl_ext", "-out", "crl.pem",
        "-crl_lastupdate", "20261125000000Z", "-crl_nextupdate", "20261203000000Z",
    ]);
    let crl_der = openssl(&dir, &["crl", "-in", "crl.pem", "-outform", "DER"]);
    let crl = verify_crl(&f.anchors, &crl_der, NOW).unwrap();
    assert_eq!(crl.crl_number.as_deref(), Some("1000"));
    assert_eq!(crl.revoked.len(), 1);
    assert_eq!(crl.revoked[0].serial.as_str(), "6d2a00f1c0ffee01");
    assert_eq!(crl.next_update, datetime!(2026-12-03 00:00 UTC));
    // sha384WithRSA and sha512WithRSA CRLs verify too (the anchor's key is parsed for each).
    for md in ["sha384", "sha512"] {
        let out = format!("crl-{md}.pem");
        #[rustfmt::skip]
        openssl(&dir, &[
            "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca-key.pem", "-gencrl",
            "-md", md, "-crlexts", "crl_ext", "-out", &out,
            "-crl_lastupdate", "20261125000000Z", "-crl_nextupdate", "20261203000000Z",
        ]);
        let der = openssl(&dir, &["crl", "-in", &out, "-outform", "DER"]);
        let crl = verify_crl(&f.anchors, &der, NOW).unwrap_or_else(|e| panic!("{md}: {e}"));
        assert_eq!(crl.revoked.len(), 1, "{md}");
        let mut tampered = der.clone();
        *tampered.last_mut().unwrap() ^= 0x01;
        assert_eq!(crl_code(verify_crl(&f.anchors, &tampered, NOW)), "crl_untrusted", "{md}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- properties ----

proptest! {
    #[test]
    fn verify_certificate_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = verify(&bytes);
    }

    #[test]
    fn verify_certificate_never_panics_on_der_like_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        len in 0usize..700,
    ) {
        // A SEQUENCE header with a plausible length in front of random content.
        let mut der = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
        der.extend_from_slice(&body);
        prop_assert!(verify(&der).is_err());
    }

    #[test]
    fn bit_flipped_certificates_never_panic_nor_verify(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut der = fx().card.cert_der().to_vec();
        let i = index.index(der.len());
        der[i] ^= 1 << bit;
        prop_assert!(verify(&der).is_err(), "byte {} bit {}", i, bit);
    }

    #[test]
    fn truncated_certificates_are_malformed(cut in 0usize..2000) {
        let der = fx().card.cert_der();
        let cut = cut % der.len();
        prop_assert_eq!(code(verify(&der[..cut])), "certificate_malformed");
    }

    #[test]
    fn verify_crl_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = verify_crl(&fx().anchors, &bytes, NOW);
    }

    #[test]
    fn bit_flipped_crls_never_panic_nor_verify(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        static CRL: OnceLock<Vec<u8>> = OnceLock::new();
        let mut der = CRL.get_or_init(|| fx().ca.crl_with(&crl_spec())).clone();
        let i = index.index(der.len());
        der[i] ^= 1 << bit;
        prop_assert!(verify_crl(&fx().anchors, &der, NOW).is_err(), "byte {} bit {}", i, bit);
    }

    #[test]
    fn cert_serial_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..=20), upper in any::<bool>(), colons in any::<bool>()) {
        let serial = CertSerial::from_be_bytes(&bytes);
        let s = serial.as_str();
        prop_assert!(s == "0" || !s.starts_with('0'));
        prop_assert!(s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        prop_assert_eq!(&CertSerial::parse(s).unwrap(), &serial);
        // Any spelling of the same bytes parses to the same serial.
        let mut text = hex::encode(&bytes);
        if upper { text = text.to_uppercase(); }
        if colons && !bytes.is_empty() {
            text = bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
        }
        if !text.is_empty() {
            prop_assert_eq!(CertSerial::parse(&text).unwrap(), serial);
        }
    }

    #[test]
    fn issuer_id_round_trips(bytes in proptest::collection::vec(any::<u8>(), 1..=40)) {
        let id = IssuerId::from_key_id(&bytes);
        let colons = bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":");
        prop_assert_eq!(&IssuerId::parse(&colons).unwrap(), &id);
        prop_assert_eq!(IssuerId::parse(id.as_str()).unwrap(), id);
    }
}
