//! Software My Number Card, for tests and demos.
//!
//! A [`TestCa`] mimics a J-LIS user-authentication root (RSA-2048, sha256WithRSAEncryption,
//! `C=JP, O=JPKI, OU=JPKI for user authentication, OU=<label>`, keyUsage keyCertSign+cRLSign and
//! basicConstraints cA, both critical, subjectKeyIdentifier). It issues [`Card`]s with the JPKI
//! user-authentication profile by default ([`CardSpec`]): RSA-2048 e=65537, sha256WithRSA,
//! subject `C=JP, CN=<opaque random id>`, keyUsage digitalSignature (critical), critical
//! certificatePolicies with [`AUTH_POLICY_OID`], authorityKeyIdentifier = the CA's
//! subjectKeyIdentifier, a random positive 16-byte serial. Knobs on [`CardSpec`] break each of
//! those for negative tests. A card signs challenge nonces like the real card does
//! (RSASSA-PKCS1-v1_5 with a SHA-256 DigestInfo over the nonce bytes, [`Card::sign`]). The CA
//! also signs CRLs ([`TestCa::crl`]) and the kit writes renewal linkage feeds
//! ([`linkage_feed`]).
//!
//! Nothing here reads the clock: every time is a parameter. RSA key generation is slow-ish, so
//! test suites take keys from [`test_key`], a per-process cache of deterministic keys.
//!
//! # Linkage feed format
//!
//! J-LIS-style renewal re-link, one CSV file per import:
//!
//! - UTF-8, lines ending in `\n` (LF), no BOM, no quoting (no field ever holds a comma);
//! - the first line is exactly `old_issuer,old_serial,new_issuer,new_serial,linked_on`;
//! - then one row per succession: the old certificate (issuer, serial) was succeeded by the new
//!   one on `linked_on`;
//! - `old_issuer` / `new_issuer`: the issuer id, lowercase hex of the root's
//!   subjectKeyIdentifier (as `mkpf_core::card_auth::anchors::IssuerId`);
//! - `old_serial` / `new_serial`: the certificate serial, lowercase hex without leading zeros
//!   (as `mkpf_core::card_auth::certificate::CertSerial`);
//! - `linked_on`: `YYYY-MM-DD`, the JST (UTC+9) date of the renewal.
//!
//! ```text
//! old_issuer,old_serial,new_issuer,new_serial,linked_on
//! 1ac100f596a3bc8c4b3df195e32699249e9e308a,4f1c0d2a9b7e11aa,1ac100f596a3bc8c4b3df195e32699249e9e308a,5a0b3c4d5e6f7081,2026-11-26
//! ```
//!
//! [`linkage_feed`] writes the fields verbatim, so tests can also craft bad feeds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rand::rngs::{OsRng, StdRng};
use rand::{RngCore, SeedableRng};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime, UtcOffset};
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::der::asn1::{
    Any, BitString, GeneralizedTime, Ia5String, Ia5StringRef, ObjectIdentifier, OctetString, PrintableStringRef,
    SetOfVec, Uint, UtcTime, Utf8StringRef,
};
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::crl::dp::{IssuingDistributionPoint, Reasons};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

pub use rsa::{RsaPrivateKey, RsaPublicKey};

/// The JPKI user-authentication certificate policy OID.
pub const AUTH_POLICY_OID: &str = "1.2.392.200149.8.5.1.3.30";
/// A policy OID that is not the auth one (the JPKI signature-certificate policy arc).
pub const OTHER_POLICY_OID: &str = "1.2.392.200149.8.5.1.1.10";
/// The OID of the extension [`CardSpec::unknown_critical_extension`] adds.
pub const UNKNOWN_EXTENSION_OID: &str = "1.3.6.1.4.1.99999.42.1";
/// The first line of a linkage feed.
pub const LINKAGE_FEED_HEADER: &str = "old_issuer,old_serial,new_issuer,new_serial,linked_on";
/// The JPKI root name's first organisational unit.
pub const JPKI_AUTH_OU: &str = "JPKI for user authentication";

const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA1_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_KU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_BC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_CP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_DELTA_CRL_INDICATOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.27");
const OID_IDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");

/// Errors of the kit's fallible operations (persistence, parsing inputs).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KitError + '_ {
    move |source| KitError::Io { path: path.to_path_buf(), source }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// A deterministic RSA key (e = 65537) of `bits` bits, the `index`-th of its size, generated once
/// per process and then cloned from a cache. Use different indexes for keys that must differ.
pub fn test_key(bits: usize, index: u32) -> RsaPrivateKey {
    static CACHE: OnceLock<Mutex<HashMap<(usize, u32), RsaPrivateKey>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    // Generate outside the lock's critical path only once per (bits, index): holding the lock
    // while generating keeps two threads from doing the same work twice.
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    map.entry((bits, index))
        .or_insert_with(|| {
            let mut rng = StdRng::seed_from_u64(0x6d6b_7066_0000_0000 ^ ((bits as u64) << 32) ^ u64::from(index));
            RsaPrivateKey::new(&mut rng, bits).expect("RSA key generation")
        })
        .clone()
}

/// A fresh random RSA key (e = 65537) from the OS RNG.
pub fn generate_key(bits: usize) -> RsaPrivateKey {
    RsaPrivateKey::new(&mut OsRng, bits).expect("RSA key generation")
}

/// The hash of a PKCS#1 v1.5 signature the kit makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigHash {
    #[default]
    Sha256,
    /// sha1WithRSAEncryption: only for negative tests.
    Sha1,
}

impl SigHash {
    fn algorithm(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            SigHash::Sha256 => OID_SHA256_RSA,
            SigHash::Sha1 => OID_SHA1_RSA,
        };
        AlgorithmIdentifierOwned { oid, parameters: Some(Any::null()) }
    }
    fn sign(self, key: &RsaPrivateKey, message: &[u8]) -> Vec<u8> {
        match self {
            SigHash::Sha256 => key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message)),
            SigHash::Sha1 => key.sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(message)),
        }
        .expect("RSA signing")
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers

/// An X.509 time: UTCTime for 1970–2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
///
/// # Panics
/// Before 1970-01-01 (not representable by the `der` crate).
pub fn x509_time(t: OffsetDateTime) -> Time {
    let secs = u64::try_from(t.unix_timestamp()).expect("times before 1970 are not supported");
    let d = Duration::from_secs(secs);
    if t.year() < 2050 {
        Time::UtcTime(UtcTime::from_unix_duration(d).expect("UTCTime"))
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d).expect("GeneralizedTime"))
    }
}

fn from_x509_time(t: Time) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64).expect("X.509 time in range")
}

/// A directory string: PrintableString when the text allows it, else UTF8String.
fn directory_string(s: &str) -> Any {
    if let Ok(p) = PrintableStringRef::new(s) {
        Any::encode_from(&p).expect("PrintableString")
    } else {
        Any::encode_from(&Utf8StringRef::new(s).expect("UTF8String")).expect("UTF8String")
    }
}

fn name(parts: &[(ObjectIdentifier, &str)]) -> Name {
    let rdns = parts
        .iter()
        .map(|(oid, value)| {
            let atv = x509_cert::attr::AttributeTypeAndValue { oid: *oid, value: directory_string(value) };
            RelativeDistinguishedName(SetOfVec::try_from(vec![atv]).expect("one attribute"))
        })
        .collect();
    RdnSequence(rdns)
}

/// `C=JP, O=JPKI, OU=JPKI for user authentication, OU=<label>`.
pub fn jpki_root_name(label: &str) -> Name {
    name(&[(OID_C, "JP"), (OID_O, "JPKI"), (OID_OU, JPKI_AUTH_OU), (OID_OU, label)])
}

fn spki(key: &RsaPublicKey) -> SubjectPublicKeyInfoOwned {
    let der = key.to_public_key_der().expect("SPKI");
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).expect("SPKI")
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes.
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec()
}

fn extension<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().expect("extension")).expect("extension"),
    }
}

fn aki(key_id: &[u8]) -> AuthorityKeyIdentifier {
    AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id).expect("key id")),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    }
}

fn sign_certificate(tbs: TbsCertificate, key: &RsaPrivateKey, hash: SigHash) -> Vec<u8> {
    let tbs_der = tbs.to_der().expect("TBS");
    let signature = hash.sign(key, &tbs_der);
    let cert = Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature).expect("signature"),
    };
    cert.to_der().expect("certificate")
}

/// A random positive serial of exactly `len` bytes (1..=20).
pub fn random_serial(len: usize) -> Vec<u8> {
    assert!((1..=20).contains(&len), "serial length must be 1..=20 bytes");
    let mut bytes = vec![0u8; len];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    bytes
}

fn serial_hex(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() { "0".into() } else { trimmed.into() }
}

fn serial_from_hex(s: &str) -> Result<Vec<u8>, KitError> {
    let digits: String = s.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(KitError::Invalid(format!("not a hex serial: {s:?}")));
    }
    let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits };
    Ok(hex::decode(padded).expect("hex checked"))
}

fn pem(label: &str, der: &[u8]) -> String {
    x509_cert::der::pem::encode_string(label, LineEnding::LF, der).expect("PEM")
}

/// The PEM text of a DER certificate.
pub fn certificate_pem(der: &[u8]) -> String {
    pem("CERTIFICATE", der)
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), KitError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err(path))?;
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, KitError> {
    std::fs::read(path).map_err(io_err(path))
}

fn read_key(path: &Path) -> Result<RsaPrivateKey, KitError> {
    let text =
        String::from_utf8(read_file(path)?).map_err(|_| KitError::Invalid(format!("{}: not PEM", path.display())))?;
    RsaPrivateKey::from_pkcs8_pem(&text)
        .map_err(|e| KitError::Invalid(format!("{}: not a PKCS#8 RSA key: {e}", path.display())))
}

fn key_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).expect("PKCS#8").to_string()
}

fn read_certificate_pem(path: &Path) -> Result<(Certificate, Vec<u8>), KitError> {
    let bytes = read_file(path)?;
    let cert = Certificate::from_pem(&bytes)
        .map_err(|e| KitError::Invalid(format!("{}: not a PEM certificate: {e}", path.display())))?;
    let der = cert.to_der().map_err(|e| KitError::Invalid(e.to_string()))?;
    Ok((cert, der))
}

// ---------------------------------------------------------------------------------------------
// The test CA

/// A self-signed root with the J-LIS user-authentication profile, and its private key.
#[derive(Clone)]
pub struct TestCa {
    key: RsaPrivateKey,
    cert_der: Vec<u8>,
    subject: Name,
    ski: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("subject", &self.subject.to_string())
            .field("issuer_id", &self.issuer_id_hex())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new root with a fresh random RSA-2048 key, named
    /// `C=JP, O=JPKI, OU=JPKI for user authentication, OU=<label>`.
    pub fn generate(label: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> TestCa {
        TestCa::generate_with_key(label, generate_key(2048), not_before, not_after)
    }

    /// A new root with the given key (e.g. from [`test_key`]).
    pub fn generate_with_key(
        label: &str,
        key: RsaPrivateKey,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> TestCa {
        let subject = jpki_root_name(label);
        let spki = spki(&key.to_public_key());
        let ski = key_id(&spki);
        let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        let extensions = vec![
            extension(OID_KU, true, &ku),
            extension(OID_BC, true, &BasicConstraints { ca: true, path_len_constraint: None }),
            extension(OID_SKI, false, &SubjectKeyIdentifier(OctetString::new(ski.clone()).expect("ski"))),
        ];
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&random_serial(8)).expect("serial"),
            signature: SigHash::Sha256.algorithm(),
            issuer: subject.clone(),
            validity: Validity { not_before: x509_time(not_before), not_after: x509_time(not_after) },
            subject: subject.clone(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let cert_der = sign_certificate(tbs, &key, SigHash::Sha256);
        TestCa { key, cert_der, subject, ski, not_before, not_after }
    }

    /// Two roots with the SAME name (`label`) and different keys (`test_key(2048, index_a)` and
    /// `test_key(2048, index_b)`), as the J-LIS root generations are: for "never select the
    /// issuer by name" tests.
    pub fn generate_same_name_pair(
        label: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        index_a: u32,
        index_b: u32,
    ) -> (TestCa, TestCa) {
        assert_ne!(index_a, index_b, "the two roots need different keys");
        (
            TestCa::generate_with_key(label, test_key(2048, index_a), not_before, not_after),
            TestCa::generate_with_key(label, test_key(2048, index_b), not_before, not_after),
        )
    }

    /// The root certificate, PEM (the bundle to configure as trust anchors).
    pub fn pem(&self) -> String {
        certificate_pem(&self.cert_der)
    }
    /// The root certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }
    pub fn key(&self) -> &RsaPrivateKey {
        &self.key
    }
    /// The root's subject (= issuer of everything it signs).
    pub fn subject(&self) -> &Name {
        &self.subject
    }
    /// The subjectKeyIdentifier bytes.
    pub fn key_id(&self) -> &[u8] {
        &self.ski
    }
    /// Lowercase hex of the subjectKeyIdentifier: the platform's issuer id.
    pub fn issuer_id_hex(&self) -> String {
        hex::encode(&self.ski)
    }
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Issues a card certificate as `spec` says.
    pub fn issue(&self, spec: &CardSpec) -> Card {
        let key = spec.key.clone().unwrap_or_else(|| generate_key(spec.key_bits));
        let spki = spki(&key.to_public_key());
        let serial = spec.serial.clone().unwrap_or_else(|| random_serial(16));
        let cn = spec.subject_cn.clone().unwrap_or_else(|| {
            let mut id = [0u8; 12];
            OsRng.fill_bytes(&mut id);
            hex::encode_upper(id)
        });
        let mut extensions = Vec::new();
        if spec.aki {
            extensions.push(extension(OID_AKI, false, &aki(&self.ski)));
        }
        if let Some(ku) = spec.key_usage.flags() {
            extensions.push(extension(OID_KU, true, &KeyUsage(ku)));
        }
        if let Some(oid) = spec.policy.oid() {
            let policies = CertificatePolicies(vec![PolicyInformation {
                policy_identifier: ObjectIdentifier::new(oid).expect("policy OID"),
                policy_qualifiers: None,
            }]);
            extensions.push(extension(OID_CP, spec.policies_critical, &policies));
        }
        if spec.is_ca {
            extensions.push(extension(OID_BC, true, &BasicConstraints { ca: true, path_len_constraint: None }));
        }
        if spec.unknown_critical_extension {
            let value = Ia5StringRef::new("mkpf-card-kit").expect("IA5");
            extensions.push(extension(ObjectIdentifier::new_unwrap(UNKNOWN_EXTENSION_OID), true, &value));
        }
        let (version, extensions) = if spec.v1 { (Version::V1, None) } else { (Version::V3, Some(extensions)) };
        let tbs = TbsCertificate {
            version,
            serial_number: SerialNumber::new(&serial).expect("serial"),
            signature: spec.signature.algorithm(),
            issuer: self.subject.clone(),
            validity: Validity { not_before: x509_time(spec.not_before), not_after: x509_time(spec.not_after) },
            subject: name(&[(OID_C, "JP"), (OID_CN, &cn)]),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions,
        };
        let cert_der = sign_certificate(tbs, &self.key, spec.signature);
        Card { cert_der, key, serial }
    }

    /// A DER CRL signed sha256WithRSA, with authorityKeyIdentifier and cRLNumber. `revoked`
    /// holds (serial hex, revocation time) pairs.
    ///
    /// # Panics
    /// On a serial that is not hex.
    pub fn crl(
        &self,
        revoked: &[(&str, OffsetDateTime)],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        crl_number: u64,
    ) -> Vec<u8> {
        self.crl_with(&CrlSpec {
            revoked: revoked.iter().map(|(s, t)| (s.to_string(), *t)).collect(),
            this_update,
            next_update: Some(next_update),
            crl_number: Some(crl_number),
            hash: SigHash::Sha256,
            aki: true,
            scope: CrlScope::Full,
            delta_of: None,
            unknown_critical_extension: false,
        })
    }

    /// A DER CRL as `spec` says (for negative tests: SHA-1, no nextUpdate, no AKI...).
    ///
    /// # Panics
    /// On a serial that is not hex.
    pub fn crl_with(&self, spec: &CrlSpec) -> Vec<u8> {
        let revoked: Vec<RevokedCert> = spec
            .revoked
            .iter()
            .map(|(serial, at)| RevokedCert {
                serial_number: SerialNumber::new(&serial_from_hex(serial).expect("hex serial")).expect("serial"),
                revocation_date: x509_time(*at),
                crl_entry_extensions: None,
            })
            .collect();
        let mut extensions = Vec::new();
        if spec.aki {
            extensions.push(extension(OID_AKI, false, &aki(&self.ski)));
        }
        if let Some(n) = spec.crl_number {
            extensions.push(extension(OID_CRL_NUMBER, false, &CrlNumber(Uint::new(&n.to_be_bytes()).expect("uint"))));
        }
        if let Some(idp) = spec.scope.issuing_distribution_point() {
            extensions.push(extension(OID_IDP, true, &idp));
        }
        if let Some(base) = spec.delta_of {
            extensions.push(extension(
                OID_DELTA_CRL_INDICATOR,
                true,
                &CrlNumber(Uint::new(&base.to_be_bytes()).expect("uint")),
            ));
        }
        if spec.unknown_critical_extension {
            let oid = ObjectIdentifier::new_unwrap(UNKNOWN_EXTENSION_OID);
            extensions.push(extension(oid, true, &OctetString::new(vec![0x01u8]).expect("value")));
        }
        let tbs = TbsCertList {
            version: Version::V2,
            signature: spec.hash.algorithm(),
            issuer: self.subject.clone(),
            this_update: x509_time(spec.this_update),
            next_update: spec.next_update.map(x509_time),
            revoked_certificates: if revoked.is_empty() { None } else { Some(revoked) },
            crl_extensions: if extensions.is_empty() { None } else { Some(extensions) },
        };
        let tbs_der = tbs.to_der().expect("TBSCertList");
        let signature = spec.hash.sign(&self.key, &tbs_der);
        let crl = CertificateList {
            signature_algorithm: tbs.signature.clone(),
            tbs_cert_list: tbs,
            signature: BitString::from_bytes(&signature).expect("signature"),
        };
        crl.to_der().expect("CRL")
    }

    /// Writes `ca.pem` (certificate) and `ca-key.pem` (PKCS#8 PEM, mode 0600) into `dir`,
    /// creating it.
    pub fn save(&self, dir: &Path) -> Result<(), KitError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        write_file(&dir.join("ca-key.pem"), key_pem(&self.key).as_bytes(), true)?;
        write_file(&dir.join("ca.pem"), self.pem().as_bytes(), false)
    }

    /// Reads what [`TestCa::save`] wrote.
    pub fn load(dir: &Path) -> Result<TestCa, KitError> {
        let key = read_key(&dir.join("ca-key.pem"))?;
        let (cert, cert_der) = read_certificate_pem(&dir.join("ca.pem"))?;
        let tbs = &cert.tbs_certificate;
        if tbs.subject_public_key_info != spki(&key.to_public_key()) {
            return Err(KitError::Invalid(format!("{}: ca.pem does not match ca-key.pem", dir.display())));
        }
        let ski = match tbs.get::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => ski.0.as_bytes().to_vec(),
            _ => key_id(&tbs.subject_public_key_info),
        };
        Ok(TestCa {
            key,
            subject: tbs.subject.clone(),
            ski,
            not_before: from_x509_time(tbs.validity.not_before),
            not_after: from_x509_time(tbs.validity.not_after),
            cert_der,
        })
    }
}

/// What [`TestCa::crl_with`] builds.
#[derive(Debug, Clone)]
pub struct CrlSpec {
    /// (serial hex, revocation time).
    pub revoked: Vec<(String, OffsetDateTime)>,
    pub this_update: OffsetDateTime,
    pub next_update: Option<OffsetDateTime>,
    pub crl_number: Option<u64>,
    pub hash: SigHash,
    /// Include the authorityKeyIdentifier extension.
    pub aki: bool,
    /// What the issuingDistributionPoint extension says ([`CrlScope::Full`]: no such extension).
    pub scope: CrlScope,
    /// A delta CRL (critical deltaCRLIndicator naming this base cRLNumber).
    pub delta_of: Option<u64>,
    /// Add a critical extension nobody knows ([`UNKNOWN_EXTENSION_OID`]).
    pub unknown_critical_extension: bool,
}

/// The scope a CRL declares in its (critical) issuingDistributionPoint extension, RFC 5280 §5.2.5.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CrlScope {
    /// No issuingDistributionPoint: the complete CRL of the issuer.
    #[default]
    Full,
    /// onlyContainsUserCerts: every end-entity certificate of the issuer.
    UserCerts,
    /// onlyContainsCACerts: an authority revocation list.
    CaCerts,
    /// onlySomeReasons (keyCompromise only).
    SomeReasons,
    /// indirectCRL.
    Indirect,
    /// onlyContainsAttributeCerts.
    AttributeCerts,
    /// A distributionPoint name (this URI): one partition of the issuer's certificates.
    DistributionPoint(String),
}

impl CrlScope {
    fn issuing_distribution_point(&self) -> Option<IssuingDistributionPoint> {
        let mut idp = IssuingDistributionPoint {
            distribution_point: None,
            only_contains_user_certs: false,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: false,
            only_contains_attribute_certs: false,
        };
        match self {
            CrlScope::Full => return None,
            CrlScope::UserCerts => idp.only_contains_user_certs = true,
            CrlScope::CaCerts => idp.only_contains_ca_certs = true,
            CrlScope::SomeReasons => idp.only_some_reasons = Some(Reasons::KeyCompromise.into()),
            CrlScope::Indirect => idp.indirect_crl = true,
            CrlScope::AttributeCerts => idp.only_contains_attribute_certs = true,
            CrlScope::DistributionPoint(uri) => {
                let uri = Ia5String::new(uri).expect("ASCII URI");
                idp.distribution_point =
                    Some(DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(uri)]));
            }
        }
        Some(idp)
    }
}

impl CrlSpec {
    /// An empty sha256WithRSA CRL with AKI and cRLNumber 1.
    pub fn new(this_update: OffsetDateTime, next_update: OffsetDateTime) -> CrlSpec {
        CrlSpec {
            revoked: Vec::new(),
            this_update,
            next_update: Some(next_update),
            crl_number: Some(1),
            hash: SigHash::Sha256,
            aki: true,
            scope: CrlScope::Full,
            delta_of: None,
            unknown_critical_extension: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cards

/// The keyUsage a card certificate gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyUsageSpec {
    /// digitalSignature (critical): the JPKI profile.
    #[default]
    DigitalSignature,
    /// keyEncipherment only.
    KeyEnciphermentOnly,
    /// No keyUsage extension.
    Absent,
}

impl KeyUsageSpec {
    fn flags(self) -> Option<x509_cert::der::flagset::FlagSet<KeyUsages>> {
        match self {
            KeyUsageSpec::DigitalSignature => Some(KeyUsages::DigitalSignature.into()),
            KeyUsageSpec::KeyEnciphermentOnly => Some(KeyUsages::KeyEncipherment.into()),
            KeyUsageSpec::Absent => None,
        }
    }
}

/// The certificatePolicies a card certificate gets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PolicySpec {
    /// [`AUTH_POLICY_OID`]: the JPKI profile.
    #[default]
    Auth,
    /// Another dotted OID instead.
    Other(String),
    /// No certificatePolicies extension.
    Absent,
}

impl PolicySpec {
    fn oid(&self) -> Option<&str> {
        match self {
            PolicySpec::Auth => Some(AUTH_POLICY_OID),
            PolicySpec::Other(oid) => Some(oid),
            PolicySpec::Absent => None,
        }
    }
}

/// What [`TestCa::issue`] builds: the JPKI user-authentication profile unless a knob says
/// otherwise.
#[derive(Debug, Clone)]
pub struct CardSpec {
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    key_bits: usize,
    key: Option<RsaPrivateKey>,
    signature: SigHash,
    key_usage: KeyUsageSpec,
    policy: PolicySpec,
    policies_critical: bool,
    unknown_critical_extension: bool,
    aki: bool,
    is_ca: bool,
    v1: bool,
    serial: Option<Vec<u8>>,
    subject_cn: Option<String>,
}

impl CardSpec {
    /// The JPKI profile, valid from `not_before` to `not_after`, with a fresh random RSA-2048
    /// key (set one with [`CardSpec::with_key`] to save time in tests).
    pub fn new(not_before: OffsetDateTime, not_after: OffsetDateTime) -> CardSpec {
        CardSpec {
            not_before,
            not_after,
            key_bits: 2048,
            key: None,
            signature: SigHash::Sha256,
            key_usage: KeyUsageSpec::DigitalSignature,
            policy: PolicySpec::Auth,
            policies_critical: true,
            unknown_critical_extension: false,
            aki: true,
            is_ca: false,
            v1: false,
            serial: None,
            subject_cn: None,
        }
    }
    /// The JPKI profile valid from `now` − 1 day to `now` + 5 years.
    pub fn jpki(now: OffsetDateTime) -> CardSpec {
        CardSpec::new(now - time::Duration::days(1), now + time::Duration::days(5 * 365 + 1))
    }
    /// Use this key (its size wins over [`CardSpec::key_bits`]).
    pub fn with_key(mut self, key: RsaPrivateKey) -> CardSpec {
        self.key = Some(key);
        self
    }
    /// Generate a fresh key of this size (e.g. 1024) when no key is given.
    pub fn key_bits(mut self, bits: usize) -> CardSpec {
        self.key_bits = bits;
        self
    }
    /// The certificate's validity window.
    pub fn validity(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> CardSpec {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }
    /// Have the CA sign the certificate with this hash (SHA-1 for negative tests).
    pub fn signature(mut self, hash: SigHash) -> CardSpec {
        self.signature = hash;
        self
    }
    /// Shorthand for `signature(SigHash::Sha1)`.
    pub fn sha1_signature(self) -> CardSpec {
        self.signature(SigHash::Sha1)
    }
    pub fn key_usage(mut self, ku: KeyUsageSpec) -> CardSpec {
        self.key_usage = ku;
        self
    }
    pub fn policy(mut self, policy: PolicySpec) -> CardSpec {
        self.policy = policy;
        self
    }
    /// Mark certificatePolicies critical (the default, as JPKI does) or not.
    pub fn policies_critical(mut self, critical: bool) -> CardSpec {
        self.policies_critical = critical;
        self
    }
    /// Add a critical extension nobody knows ([`UNKNOWN_EXTENSION_OID`]).
    pub fn unknown_critical_extension(mut self) -> CardSpec {
        self.unknown_critical_extension = true;
        self
    }
    /// Leave out the authorityKeyIdentifier.
    pub fn no_aki(mut self) -> CardSpec {
        self.aki = false;
        self
    }
    /// Add basicConstraints cA=true (critical).
    pub fn is_ca(mut self) -> CardSpec {
        self.is_ca = true;
        self
    }
    /// Make a v1 certificate (no extensions at all).
    pub fn v1(mut self) -> CardSpec {
        self.v1 = true;
        self
    }
    /// Use this serial (big-endian bytes of a positive integer, 1..=20 bytes).
    pub fn serial(mut self, serial: Vec<u8>) -> CardSpec {
        self.serial = Some(serial);
        self
    }
    /// Use this subject CN instead of a random opaque id.
    pub fn subject_cn(mut self, cn: &str) -> CardSpec {
        self.subject_cn = Some(cn.to_owned());
        self
    }
}

/// A software card: its auth certificate and private key.
#[derive(Clone)]
pub struct Card {
    cert_der: Vec<u8>,
    key: RsaPrivateKey,
    serial: Vec<u8>,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card").field("serial", &self.serial_hex()).finish_non_exhaustive()
    }
}

impl Card {
    /// The card's public key as a PKCS#1 RSAPublicKey DER.
    pub fn public_key_pkcs1_der(&self) -> Vec<u8> {
        use rsa::pkcs1::EncodeRsaPublicKey;
        self.key.to_public_key().to_pkcs1_der().expect("PKCS#1").as_bytes().to_vec()
    }
    /// The DER auth certificate (what a reader returns).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }
    pub fn cert_pem(&self) -> String {
        certificate_pem(&self.cert_der)
    }
    pub fn key(&self) -> &RsaPrivateKey {
        &self.key
    }
    /// The serial, lowercase hex without leading zeros.
    pub fn serial_hex(&self) -> String {
        serial_hex(&self.serial)
    }
    /// RSASSA-PKCS1-v1_5 with a SHA-256 DigestInfo over `nonce` (what the card + client do).
    pub fn sign(&self, nonce: &[u8]) -> Vec<u8> {
        SigHash::Sha256.sign(&self.key, nonce)
    }
    /// The same with a SHA-1 DigestInfo, which the platform must refuse.
    pub fn sign_sha1(&self, nonce: &[u8]) -> Vec<u8> {
        SigHash::Sha1.sign(&self.key, nonce)
    }

    /// Writes `cert.pem`, `cert.der` and `key.pem` (PKCS#8 PEM, mode 0600) into `dir`,
    /// creating it.
    pub fn save(&self, dir: &Path) -> Result<(), KitError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        write_file(&dir.join("key.pem"), key_pem(&self.key).as_bytes(), true)?;
        write_file(&dir.join("cert.der"), &self.cert_der, false)?;
        write_file(&dir.join("cert.pem"), self.cert_pem().as_bytes(), false)
    }

    /// Reads what [`Card::save`] wrote (`cert.pem` and `key.pem`).
    pub fn load(dir: &Path) -> Result<Card, KitError> {
        let key = read_key(&dir.join("key.pem"))?;
        let (cert, cert_der) = read_certificate_pem(&dir.join("cert.pem"))?;
        let tbs = &cert.tbs_certificate;
        if tbs.subject_public_key_info != spki(&key.to_public_key()) {
            return Err(KitError::Invalid(format!("{}: cert.pem does not match key.pem", dir.display())));
        }
        Ok(Card { serial: tbs.serial_number.as_bytes().to_vec(), cert_der, key })
    }

    /// Reads the notAfter of the certificate.
    pub fn not_after(&self) -> OffsetDateTime {
        let cert = Certificate::from_der(&self.cert_der).expect("own certificate");
        from_x509_time(cert.tbs_certificate.validity.not_after)
    }
}

/// Is `der` signed by `ca` at all? (A cheap self-check for the CLI; the platform's verifier is
/// `mkpf_core::card_auth`.)
pub fn issued_by(ca: &TestCa, der: &[u8]) -> bool {
    let Ok(cert) = Certificate::from_der(der) else { return false };
    let Ok(tbs_der) = cert.tbs_certificate.to_der() else { return false };
    let Some(sig) = cert.signature.as_bytes() else { return false };
    if cert.tbs_certificate.subject_public_key_info.algorithm.oid != OID_RSA_ENCRYPTION {
        return false;
    }
    let public = ca.key.to_public_key();
    sig.len() == public.size() && public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&tbs_der), sig).is_ok()
}

/// The extensions of a DER certificate as (dotted OID, critical), in order; empty when it does not
/// parse. For tests of the kit.
pub fn extension_oids(der: &[u8]) -> Vec<(String, bool)> {
    Certificate::from_der(der)
        .ok()
        .and_then(|c| c.tbs_certificate.extensions)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Linkage feed

/// One succession: the old certificate was succeeded by the new one on `linked_on` (JST date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageRow {
    pub old_issuer: String,
    pub old_serial: String,
    pub new_issuer: String,
    pub new_serial: String,
    pub linked_on: Date,
}

/// The CSV linkage feed for `rows` (see the crate documentation for the format).
pub fn linkage_feed(rows: &[LinkageRow]) -> String {
    let mut out = String::from(LINKAGE_FEED_HEADER);
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{:04}-{:02}-{:02}\n",
            r.old_issuer,
            r.old_serial,
            r.new_issuer,
            r.new_serial,
            r.linked_on.year(),
            u8::from(r.linked_on.month()),
            r.linked_on.day()
        ));
    }
    out
}

/// The JST (UTC+9) calendar date of an instant.
pub fn jst_date(t: OffsetDateTime) -> Date {
    t.to_offset(UtcOffset::from_hms(9, 0, 0).expect("JST")).date()
}

/// The issuer id (SKI hex) and serial hex of a DER certificate, read without verifying it.
pub fn issuer_and_serial(der: &[u8]) -> Result<(String, String), KitError> {
    let cert = Certificate::from_der(der).map_err(|e| KitError::Invalid(format!("not a certificate: {e}")))?;
    let tbs = &cert.tbs_certificate;
    let aki = tbs
        .get::<AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, a)| a.key_identifier)
        .ok_or_else(|| KitError::Invalid("the certificate has no authorityKeyIdentifier".into()))?;
    Ok((hex::encode(aki.as_bytes()), serial_hex(tbs.serial_number.as_bytes())))
}

/// Parses `s` as (possibly `:`-separated) hex serial and returns its canonical form.
pub fn canonical_serial(s: &str) -> Result<String, KitError> {
    Ok(serial_hex(&serial_from_hex(s)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-26 03:00 UTC);

    fn ca() -> TestCa {
        TestCa::generate_with_key(
            "Kit Unit CA",
            test_key(2048, 0),
            NOW - time::Duration::days(30),
            NOW + time::Duration::days(3650),
        )
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mkpf-card-kit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn test_keys_are_cached_and_distinct() {
        let a = test_key(1024, 7);
        assert_eq!(a, test_key(1024, 7));
        assert_ne!(a, test_key(1024, 8));
        assert_eq!(a.size(), 128);
        assert_eq!(a.e(), &rsa::BigUint::from(65537u32));
    }

    #[test]
    fn root_has_the_jpki_root_profile() {
        let ca = ca();
        let cert = Certificate::from_der(ca.cert_der()).unwrap();
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.subject, tbs.issuer);
        assert_eq!(tbs.subject.to_string(), "OU=Kit Unit CA,OU=JPKI for user authentication,O=JPKI,C=JP");
        assert_eq!(cert.signature_algorithm.oid, OID_SHA256_RSA);
        assert_eq!(
            extension_oids(ca.cert_der()),
            vec![("2.5.29.15".into(), true), ("2.5.29.19".into(), true), ("2.5.29.14".into(), false)]
        );
        let (_, ku) = tbs.get::<KeyUsage>().unwrap().unwrap();
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        assert_eq!(ca.issuer_id_hex().len(), 40);
        assert_eq!(ca.issuer_id_hex(), hex::encode(key_id(&tbs.subject_public_key_info)));
        assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(issued_by(&ca, ca.cert_der()), "self-signed");
    }

    #[test]
    fn same_name_pair_differs_only_in_key() {
        let (a, b) = TestCa::generate_same_name_pair("Twin", NOW, NOW + time::Duration::days(1), 1, 2);
        assert_eq!(a.subject(), b.subject());
        assert_ne!(a.issuer_id_hex(), b.issuer_id_hex());
    }

    #[test]
    fn default_card_has_the_jpki_auth_profile() {
        let ca = ca();
        let card = ca.issue(&CardSpec::jpki(NOW).with_key(test_key(2048, 10)));
        let cert = Certificate::from_der(card.cert_der()).unwrap();
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.version, Version::V3);
        assert_eq!(&tbs.issuer, ca.subject());
        let subject = tbs.subject.to_string();
        assert!(subject.starts_with("CN=") && subject.ends_with(",C=JP"), "{subject}");
        assert_eq!(from_x509_time(tbs.validity.not_before), NOW - time::Duration::days(1));
        assert_eq!(card.not_after(), NOW + time::Duration::days(1826));
        assert_eq!(
            extension_oids(card.cert_der()),
            vec![("2.5.29.35".into(), false), ("2.5.29.15".into(), true), ("2.5.29.32".into(), true)]
        );
        let (_, policies) = tbs.get::<CertificatePolicies>().unwrap().unwrap();
        assert_eq!(policies.0[0].policy_identifier.to_string(), AUTH_POLICY_OID);
        let (_, aki) = tbs.get::<AuthorityKeyIdentifier>().unwrap().unwrap();
        assert_eq!(aki.key_identifier.unwrap().as_bytes(), ca.key_id());
        assert_eq!(card.serial.len(), 16);
        assert!(card.serial[0] & 0x80 == 0 && card.serial[0] != 0);
        assert_eq!(card.serial_hex(), hex::encode(&card.serial));
        assert!(issued_by(&ca, card.cert_der()));
        assert_eq!(issuer_and_serial(card.cert_der()).unwrap(), (ca.issuer_id_hex(), card.serial_hex()));
    }

    #[test]
    fn knobs_change_what_they_say() {
        let ca = ca();
        let base = || CardSpec::jpki(NOW).with_key(test_key(2048, 10));
        let oids = |spec: CardSpec| extension_oids(ca.issue(&spec).cert_der());
        assert!(!oids(base().no_aki()).iter().any(|(o, _)| o == "2.5.29.35"));
        assert!(!oids(base().key_usage(KeyUsageSpec::Absent)).iter().any(|(o, _)| o == "2.5.29.15"));
        assert!(!oids(base().policy(PolicySpec::Absent)).iter().any(|(o, _)| o == "2.5.29.32"));
        assert!(oids(base().policies_critical(false)).contains(&("2.5.29.32".into(), false)));
        assert!(oids(base().is_ca()).contains(&("2.5.29.19".into(), true)));
        assert!(oids(base().unknown_critical_extension()).contains(&(UNKNOWN_EXTENSION_OID.into(), true)));
        let v1 = ca.issue(&base().v1());
        assert_eq!(Certificate::from_der(v1.cert_der()).unwrap().tbs_certificate.version, Version::V1);
        assert!(extension_oids(v1.cert_der()).is_empty());
        let sha1 = Certificate::from_der(ca.issue(&base().sha1_signature()).cert_der()).unwrap();
        assert_eq!(sha1.signature_algorithm.oid, OID_SHA1_RSA);
        assert_eq!(sha1.tbs_certificate.signature.oid, OID_SHA1_RSA);
        let small = ca.issue(&base().with_key(test_key(1024, 0)));
        assert_eq!(small.key().size(), 128);
        let fixed = ca.issue(&base().serial(vec![0x01, 0x02]).subject_cn("ABC"));
        assert_eq!(fixed.serial_hex(), "102");
        let cert = Certificate::from_der(fixed.cert_der()).unwrap();
        assert_eq!(cert.tbs_certificate.subject.to_string(), "CN=ABC,C=JP");
    }

    #[test]
    fn signatures_are_pkcs1_v15_over_the_nonce_digest() {
        let card = ca().issue(&CardSpec::jpki(NOW).with_key(test_key(2048, 10)));
        let public = card.key().to_public_key();
        let nonce = b"0123456789abcdef0123456789abcdef";
        let sig = card.sign(nonce);
        assert_eq!(sig.len(), 256);
        assert!(public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(nonce), &sig).is_ok());
        let sig1 = card.sign_sha1(nonce);
        assert!(public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(nonce), &sig1).is_err());
        assert!(public.verify(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(nonce), &sig1).is_ok());
    }

    #[test]
    fn crl_lists_the_serials_with_aki_and_number() {
        let ca = ca();
        let der = ca.crl(&[("0abc", NOW), ("de:ad", NOW)], NOW, NOW + time::Duration::days(7), 300);
        let crl = CertificateList::from_der(&der).unwrap();
        let tbs = &crl.tbs_cert_list;
        assert_eq!(crl.signature_algorithm.oid, OID_SHA256_RSA);
        let serials: Vec<String> =
            tbs.revoked_certificates.as_ref().unwrap().iter().map(|r| serial_hex(r.serial_number.as_bytes())).collect();
        assert_eq!(serials, ["abc", "dead"]);
        let exts = tbs.crl_extensions.as_ref().unwrap();
        assert_eq!(exts[0].extn_id, OID_AKI);
        assert_eq!(exts[1].extn_id, OID_CRL_NUMBER);
        let number = CrlNumber::from_der(exts[1].extn_value.as_bytes()).unwrap();
        assert_eq!(number.0.as_bytes(), &[0x01, 0x2c]);
        let bare = ca.crl_with(&CrlSpec { next_update: None, crl_number: None, aki: false, ..CrlSpec::new(NOW, NOW) });
        let bare = CertificateList::from_der(&bare).unwrap();
        assert!(bare.tbs_cert_list.next_update.is_none());
        assert!(bare.tbs_cert_list.crl_extensions.is_none());
        assert!(bare.tbs_cert_list.revoked_certificates.is_none());
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        assert!(matches!(x509_time(datetime!(2049-12-31 23:59:59 UTC)), Time::UtcTime(_)));
        assert!(matches!(x509_time(datetime!(2050-01-01 00:00 UTC)), Time::GeneralTime(_)));
        assert_eq!(from_x509_time(x509_time(datetime!(2061-02-03 04:05:06 UTC))), datetime!(2061-02-03 04:05:06 UTC));
    }

    #[test]
    fn ca_and_card_round_trip_through_files() {
        let dir = temp_dir("persist");
        let ca = ca();
        ca.save(&dir).unwrap();
        let loaded = TestCa::load(&dir).unwrap();
        assert_eq!(loaded.cert_der(), ca.cert_der());
        assert_eq!(loaded.issuer_id_hex(), ca.issuer_id_hex());
        assert_eq!(loaded.key(), ca.key());
        assert_eq!(loaded.not_before(), ca.not_before());
        let card = ca.issue(&CardSpec::jpki(NOW).with_key(test_key(2048, 10)));
        card.save(&dir.join("cards/a")).unwrap();
        let back = Card::load(&dir.join("cards/a")).unwrap();
        assert_eq!(back.cert_der(), card.cert_der());
        assert_eq!(back.serial_hex(), card.serial_hex());
        assert_eq!(std::fs::read(dir.join("cards/a/cert.der")).unwrap(), card.cert_der());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in ["ca-key.pem", "cards/a/key.pem"] {
                let mode = std::fs::metadata(dir.join(key)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{key}");
            }
        }
        // A key that does not match the certificate is refused.
        std::fs::copy(dir.join("cards/a/key.pem"), dir.join("ca-key.pem")).unwrap();
        assert!(matches!(TestCa::load(&dir), Err(KitError::Invalid(_))));
        assert!(matches!(Card::load(&dir.join("nope")), Err(KitError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn linkage_feed_format() {
        let row = LinkageRow {
            old_issuer: "1ac1".into(),
            old_serial: "abc".into(),
            new_issuer: "1ac1".into(),
            new_serial: "def".into(),
            linked_on: date!(2026 - 03 - 04),
        };
        assert_eq!(linkage_feed(&[]), "old_issuer,old_serial,new_issuer,new_serial,linked_on\n");
        assert_eq!(
            linkage_feed(&[row.clone(), row]),
            "old_issuer,old_serial,new_issuer,new_serial,linked_on\n1ac1,abc,1ac1,def,2026-03-04\n1ac1,abc,1ac1,def,2026-03-04\n"
        );
        assert_eq!(jst_date(datetime!(2026-11-26 14:59:59 UTC)), date!(2026 - 11 - 26));
        assert_eq!(jst_date(datetime!(2026-11-26 15:00 UTC)), date!(2026 - 11 - 27));
        assert_eq!(canonical_serial("00:0A:bC").unwrap(), "abc");
        assert!(canonical_serial("xyz").is_err());
        assert!(canonical_serial("").is_err());
    }
}
