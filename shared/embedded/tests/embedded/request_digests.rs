//! Request digests of Mynapoint applications, keyed with a local data key.

use mkpf_core::domain::mynapoint::ApplicationId;
use mkpf_core::mynapoint::record::RequestDigest;
use mkpf_embedded::local_sealer::LocalSealer;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn request_digests_are_keyed_bound_to_their_application_and_compared_whole() {
    let sealer = LocalSealer::generate();
    let id = ApplicationId::from_bytes([7; 16]);
    let other = ApplicationId::from_bytes([8; 16]);
    let parts: [&[u8]; 4] = [b"card_acquisition", b"DEMO_PAY", b"ACC-1", b"1234"];
    let d = RequestDigest::new(&sealer, &id, &parts).await.unwrap();
    let stored = d.to_stored();
    assert!(stored.starts_with("m1.") && !stored.contains("1234"));
    let back = RequestDigest::parse(&stored).unwrap();
    assert_eq!(back, d);
    assert!(back.matches(&sealer, &id, &parts).await.unwrap());
    assert!(!back.matches(&sealer, &id, &[b"card_acquisition", b"DEMO_PAY", b"ACC-1", b"1235"]).await.unwrap());
    assert!(!back.matches(&sealer, &id, &[b"card_acquisition", b"DEMO_PAY", b"ACC-11", b"234"]).await.unwrap());
    assert!(back.matches(&sealer, &other, &parts).await.is_err(), "the key opens only for its application");
    assert!(back.matches(&LocalSealer::generate(), &id, &parts).await.is_err(), "another data key");
    assert_ne!(RequestDigest::new(&sealer, &id, &parts).await.unwrap().to_stored(), stored, "a fresh key each time");

    // Digests written before keyed ones still compare.
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let legacy = RequestDigest::parse(&hex::encode(h.finalize())).unwrap();
    assert!(legacy.matches(&sealer, &id, &parts).await.unwrap());
    assert!(!legacy.matches(&sealer, &id, &[b"card_acquisition", b"DEMO_PAY", b"ACC-1", b"1235"]).await.unwrap());
    for bad in ["", "m1.", "m1.00.x", "zz", "m2.aa.bb", &format!("m1.{}.", "0".repeat(64))] {
        assert!(RequestDigest::parse(bad).is_none(), "{bad}");
    }
}
