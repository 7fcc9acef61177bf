//! Benchmark of card authentication's CPU work: `cargo bench -p mkpf-core --bench card_verify`.
//!
//! criterion measures, on one thread, with three trust anchors as a deployment has (three J-LIS
//! root generations; here three kit CAs with the same name, the issuing one listed last):
//! - `verify_certificate`: parse the DER auth certificate, pick the issuer by key id, verify the
//!   RSA-2048 sha256WithRSA signature, validity and profile checks;
//! - `verify_signature`: the card's RSASSA-PKCS1-v1_5 / SHA-256 signature over a 32-byte nonce;
//! - `session`: both, what one card sign-in costs the verifier;
//! - `verify_certificate/no_aki`: a certificate without authorityKeyIdentifier, so every anchor's
//!   key is tried (worst case, three RSA verifications).
//!
//! Then it prints plain ops/s lines from a timed loop of each, for the docs. Compare with
//! `openssl speed -seconds 3 rsa2048` (its verify/s column).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use mkpf_card_kit::{CardSpec, TestCa, test_key};
use mkpf_core::card_auth::anchors::TrustAnchors;
use mkpf_core::card_auth::certificate::{Policy, verify_certificate};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-26 03:00 UTC);

struct Setup {
    anchors: TrustAnchors,
    cert: Vec<u8>,
    cert_no_aki: Vec<u8>,
    nonce: [u8; 32],
    signature: Vec<u8>,
    policy: Policy,
}

fn setup() -> Setup {
    let (nb, na) = (NOW - time::Duration::days(30), NOW + time::Duration::days(3650));
    let (gen1, gen2) = TestCa::generate_same_name_pair("Bench CA", nb, na, 2, 3);
    let ca = TestCa::generate_with_key("Bench CA", test_key(2048, 0), nb, na);
    let anchors = TrustAnchors::from_pem(&format!("{}{}{}", gen1.pem(), gen2.pem(), ca.pem())).unwrap();
    assert_eq!(anchors.len(), 3);
    let card = ca.issue(&CardSpec::jpki(NOW).with_key(test_key(2048, 1)));
    let cert_no_aki = ca.issue(&CardSpec::jpki(NOW).with_key(test_key(2048, 1)).no_aki()).cert_der().to_vec();
    let nonce = [0x42u8; 32];
    let signature = card.sign(&nonce);
    let s = Setup { anchors, cert: card.cert_der().to_vec(), cert_no_aki, nonce, signature, policy: Policy::default() };
    // Sanity: everything benchmarked succeeds.
    let v = verify_certificate(&s.anchors, &s.cert, NOW, &s.policy).unwrap();
    v.verify_signature(&s.nonce, &s.signature).unwrap();
    verify_certificate(&s.anchors, &s.cert_no_aki, NOW, &s.policy).unwrap();
    s
}

fn session(s: &Setup) {
    let v = verify_certificate(&s.anchors, black_box(&s.cert), NOW, &s.policy).unwrap();
    v.verify_signature(black_box(&s.nonce), black_box(&s.signature)).unwrap();
}

fn benches(c: &mut Criterion) {
    let s = setup();
    let verified = verify_certificate(&s.anchors, &s.cert, NOW, &s.policy).unwrap();
    c.bench_function("verify_certificate", |b| {
        b.iter(|| verify_certificate(&s.anchors, black_box(&s.cert), NOW, &s.policy).unwrap())
    });
    c.bench_function("verify_certificate/no_aki", |b| {
        b.iter(|| verify_certificate(&s.anchors, black_box(&s.cert_no_aki), NOW, &s.policy).unwrap())
    });
    c.bench_function("verify_signature", |b| {
        b.iter(|| verified.verify_signature(black_box(&s.nonce), black_box(&s.signature)).unwrap())
    });
    c.bench_function("session", |b| b.iter(|| session(&s)));
}

criterion_group! {
    name = group;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = benches
}

/// Runs `f` for about `secs` seconds and returns calls per second.
fn rate(secs: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..100 {
            f();
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn summary() {
    let s = setup();
    let verified = verify_certificate(&s.anchors, &s.cert, NOW, &s.policy).unwrap();
    let rows = [
        ("verify_certificate", rate(3.0, || drop(verify_certificate(&s.anchors, &s.cert, NOW, &s.policy).unwrap()))),
        (
            "verify_certificate/no_aki",
            rate(3.0, || drop(verify_certificate(&s.anchors, &s.cert_no_aki, NOW, &s.policy).unwrap())),
        ),
        ("verify_signature", rate(3.0, || verified.verify_signature(&s.nonce, &s.signature).unwrap())),
        ("session (both)", rate(3.0, || session(&s))),
    ];
    println!();
    println!("ops/s on one thread (timed loops of ~3 s each):");
    for (name, per_sec) in rows {
        println!("  {name:<28} {per_sec:>10.0} ops/s   {:>8.1} µs/op", 1e6 / per_sec);
    }
}

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
