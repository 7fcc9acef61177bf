//! Verifies a JPKI user-authentication certificate against the trust anchors with explicit
//! checks (issuer by key id and signature, validity, key usage, critical certificatePolicies with
//! the auth policy OID, RSA ≥ 2048, no SHA-1), and a card's signature over a challenge nonce.
//!
//! Not a WebPKI verifier: JPKI marks certificatePolicies critical, which generic verifiers
//! refuse. [`verify_certificate`] runs, in this order, each step with its own error:
//!
//! 1. **Parse** — at most [`MAX_CERT_BYTES`], strict DER `Certificate` with nothing after it, else
//!    [`CertError::Malformed`]. Never panics, whatever the bytes.
//! 2. **Issuer** — candidates are the anchors whose [`IssuerId`] equals the certificate's
//!    authorityKeyIdentifier keyIdentifier when it has one, else every anchor; never chosen by
//!    name. `signatureAlgorithm` must equal the TBS `signature` field and be
//!    sha256/384/512WithRSAEncryption ([`CertError::Profile`]: SHA-1 is refused). The issuer is
//!    the first candidate whose key verifies the signature over the TBS bytes as received; none →
//!    [`CertError::Untrusted`]. The issuer must be an anchor itself (no intermediates: JPKI
//!    issues auth certificates directly from the root).
//! 3. **Validity** — `now < notBefore` → [`CertError::NotYetValid`], `now > notAfter` →
//!    [`CertError::Expired`] (both bounds inclusive). The anchor's own validity must cover `now`
//!    too: an expired anchor gives `Expired`, a not-yet-valid anchor `NotYetValid` (the
//!    certificate cannot be relied on at `now` either way, and the anchor *is* trusted).
//! 4. **Profile** — [`CertError::Profile`] with a fixed reason: version v3; positive serial;
//!    no repeated extension; RSA key of at least [`Policy::min_rsa_bits`]; keyUsage present with
//!    digitalSignature; basicConstraints absent or cA=false; certificatePolicies present and
//!    containing [`Policy::auth_policy_oid`] (critical or not: the profile needs the OID, the
//!    criticality is the issuer's choice); no other critical extension than keyUsage,
//!    certificatePolicies, basicConstraints, extKeyUsage, subjectAltName, issuerAltName,
//!    policyConstraints (and authorityKeyIdentifier / subjectKeyIdentifier, which we process).
//!
//! Revocation is not checked here (see `crl` and the revocation port).
//!
//! Signatures (certificate, CRL and challenge) are verified with aws-lc-rs ([`RsaKey`]): each key
//! is parsed once — an anchor's when the anchors load, a card's once per sign-in.

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, RsaParameters,
};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::asn1::UintRef;
use x509_cert::der::{Decode, Header, Reader, SliceReader, Tag};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, KeyUsage};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::Time;

use super::anchors::{IssuerId, TrustAnchors, hex_digits};

/// The JPKI user-authentication certificate policy OID.
pub const DEFAULT_AUTH_POLICY_OID: &str = "1.2.392.200149.8.5.1.3.30";

/// Largest certificate accepted (a JPKI auth certificate is about 1.5 KiB).
pub const MAX_CERT_BYTES: usize = 8 * 1024;

/// Longest serial accepted by [`CertSerial::parse`], in bytes.
const MAX_SERIAL_BYTES: usize = 40;

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_ISSUER_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.18");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_CERT_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_POLICY_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.36");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// Extensions that may be critical in an auth certificate.
const ALLOWED_CRITICAL: [ObjectIdentifier; 9] = [
    OID_KEY_USAGE,
    OID_CERT_POLICIES,
    OID_BASIC_CONSTRAINTS,
    OID_EXT_KEY_USAGE,
    OID_SUBJECT_ALT_NAME,
    OID_ISSUER_ALT_NAME,
    OID_POLICY_CONSTRAINTS,
    OID_AUTHORITY_KEY_ID,
    OID_SUBJECT_KEY_ID,
];

/// A certificate serial number: lowercase hex of the positive integer, no leading zeros
/// (`"0"` for zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertSerial(String);

impl CertSerial {
    /// Parses hex (upper or lower case, optional `:` separators, leading zeros ignored).
    /// Refuses empty input, non-hex characters and values longer than 40 bytes.
    pub fn parse(s: &str) -> Result<CertSerial, String> {
        let digits = hex_digits(s)?;
        let significant = digits.trim_start_matches('0');
        if significant.len() > 2 * MAX_SERIAL_BYTES {
            return Err(format!("a serial is at most {MAX_SERIAL_BYTES} bytes"));
        }
        if significant.is_empty() {
            return Ok(CertSerial("0".into()));
        }
        Ok(CertSerial(significant.to_string()))
    }
    /// From the big-endian bytes of the DER INTEGER.
    pub fn from_be_bytes(b: &[u8]) -> CertSerial {
        let hex = hex::encode(b);
        let significant = hex.trim_start_matches('0');
        if significant.is_empty() { CertSerial("0".into()) } else { CertSerial(significant.to_string()) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CertSerial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the checks require beyond the fixed JPKI profile.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Dotted OID the certificatePolicies extension must contain.
    pub auth_policy_oid: String,
    pub min_rsa_bits: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { auth_policy_oid: DEFAULT_AUTH_POLICY_OID.into(), min_rsa_bits: 2048 }
    }
}

/// A certificate that passed every check except revocation (see `revocation`).
#[derive(Debug, Clone)]
pub struct VerifiedCertificate {
    pub issuer: IssuerId,
    pub serial: CertSerial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The card's key, parsed once for the challenge signature (SHA-256 only).
    pub public_key: RsaKey,
}

/// Why a certificate was refused. `code()` is the stable problem code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("the certificate is not valid DER X.509: {0}")]
    Malformed(String),
    #[error("the certificate was not issued by a configured trust anchor")]
    Untrusted,
    #[error("the certificate has expired")]
    Expired,
    #[error("the certificate is not valid yet")]
    NotYetValid,
    #[error("the certificate does not have the JPKI user-authentication profile: {0}")]
    Profile(&'static str),
}

impl CertError {
    pub fn code(&self) -> &'static str {
        match self {
            CertError::Malformed(_) => "certificate_malformed",
            CertError::Untrusted => "certificate_untrusted",
            CertError::Expired => "certificate_expired",
            CertError::NotYetValid => "certificate_not_yet_valid",
            CertError::Profile(_) => "certificate_profile",
        }
    }
}

/// Runs every check on a DER certificate (see the module documentation for the order).
pub fn verify_certificate(
    anchors: &TrustAnchors,
    der: &[u8],
    now: OffsetDateTime,
    policy: &Policy,
) -> Result<VerifiedCertificate, CertError> {
    // 1. Parse.
    if der.len() > MAX_CERT_BYTES {
        return Err(CertError::Malformed(format!("larger than {MAX_CERT_BYTES} bytes")));
    }
    let cert = Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    let tbs_der = outer_tbs_bytes(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    let tbs = &cert.tbs_certificate;

    // 2. Issuer, by key id and signature.
    let aki = tbs
        .get::<AuthorityKeyIdentifier>()
        .map_err(|_| CertError::Malformed("undecodable or repeated authorityKeyIdentifier".into()))?;
    let wanted = aki.and_then(|(_, aki)| aki.key_identifier).map(|kid| IssuerId::from_key_id(kid.as_bytes()));
    if cert.signature_algorithm != tbs.signature {
        return Err(CertError::Profile("signature algorithm differs between signatureAlgorithm and the TBS"));
    }
    let alg = SigAlg::of(&cert.signature_algorithm)
        .ok_or(CertError::Profile("signature algorithm is not sha256/384/512WithRSAEncryption"))?;
    let signature = cert.signature.as_bytes().ok_or(CertError::Untrusted)?;
    let anchor = anchors
        .iter()
        .filter(|a| wanted.as_ref().is_none_or(|id| &a.id == id))
        .find(|a| verify_rsa(&a.public_key, alg, tbs_der, signature))
        .ok_or(CertError::Untrusted)?;

    // 3. Validity, of the certificate and of its anchor.
    let not_before = to_offset(tbs.validity.not_before);
    let not_after = to_offset(tbs.validity.not_after);
    if now < not_before {
        return Err(CertError::NotYetValid);
    }
    if now > not_after {
        return Err(CertError::Expired);
    }
    if now > anchor.not_after {
        return Err(CertError::Expired);
    }
    if now < anchor.not_before {
        return Err(CertError::NotYetValid);
    }

    // 4. Profile.
    if tbs.version != Version::V3 {
        return Err(CertError::Profile("version is not v3"));
    }
    let serial_bytes = tbs.serial_number.as_bytes();
    if serial_bytes.first().is_some_and(|b| b & 0x80 != 0) || serial_bytes.iter().all(|b| *b == 0) {
        return Err(CertError::Profile("serial number is not positive"));
    }
    let extensions = tbs.extensions.as_deref().unwrap_or(&[]);
    for (i, ext) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(CertError::Profile("repeated extension"));
        }
    }
    let public_key = rsa_public_key(&tbs.subject_public_key_info, &[SigAlg::Sha256]).map_err(CertError::Profile)?;
    if public_key.bits() < policy.min_rsa_bits {
        return Err(CertError::Profile("RSA key shorter than the policy minimum"));
    }
    let key_usage = tbs.get::<KeyUsage>().map_err(|_| CertError::Profile("undecodable keyUsage"))?;
    match key_usage {
        None => return Err(CertError::Profile("keyUsage missing")),
        Some((_, ku)) if !ku.digital_signature() => return Err(CertError::Profile("keyUsage lacks digitalSignature")),
        Some(_) => {}
    }
    let basic = tbs.get::<BasicConstraints>().map_err(|_| CertError::Profile("undecodable basicConstraints"))?;
    if basic.is_some_and(|(_, bc)| bc.ca) {
        return Err(CertError::Profile("certificate is a CA (basicConstraints cA=true)"));
    }
    let policies =
        tbs.get::<CertificatePolicies>().map_err(|_| CertError::Profile("undecodable certificatePolicies"))?;
    let Some((_, policies)) = policies else {
        return Err(CertError::Profile("certificatePolicies missing"));
    };
    if !policies.0.iter().any(|p| p.policy_identifier.to_string() == policy.auth_policy_oid) {
        return Err(CertError::Profile("certificatePolicies lacks the auth policy OID"));
    }
    if extensions.iter().any(|e| e.critical && !ALLOWED_CRITICAL.contains(&e.extn_id)) {
        return Err(CertError::Profile("unknown critical extension"));
    }

    Ok(VerifiedCertificate {
        issuer: anchor.id.clone(),
        serial: CertSerial::from_be_bytes(serial_bytes),
        not_before,
        not_after,
        public_key,
    })
}

/// The signature over the nonce is not RSASSA-PKCS1-v1_5 with SHA-256 by the certificate's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify with the certificate's key")]
pub struct SignatureInvalid;

impl VerifiedCertificate {
    /// Checks an RSASSA-PKCS1-v1_5 / SHA-256 signature over `nonce` (the raw nonce bytes, hashed
    /// here: what `openssl dgst -sha256 -sign key.pem nonce.bin` produces). The signature must be
    /// exactly as long as the modulus; a SHA-1 DigestInfo does not verify.
    pub fn verify_signature(&self, nonce: &[u8], signature: &[u8]) -> Result<(), SignatureInvalid> {
        if verify_rsa(&self.public_key, SigAlg::Sha256, nonce, signature) { Ok(()) } else { Err(SignatureInvalid) }
    }
}

// ---- helpers shared with `anchors` and `crl` ----

/// An accepted signature algorithm: RSASSA-PKCS1-v1_5 with a SHA-2 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl SigAlg {
    /// The algorithm, when it is sha256/384/512WithRSAEncryption with absent or NULL parameters.
    pub(crate) fn of(alg: &AlgorithmIdentifierOwned) -> Option<SigAlg> {
        let params_ok = alg.parameters.as_ref().is_none_or(|p| p.is_null());
        if !params_ok {
            return None;
        }
        match alg.oid {
            OID_SHA256_RSA => Some(SigAlg::Sha256),
            OID_SHA384_RSA => Some(SigAlg::Sha384),
            OID_SHA512_RSA => Some(SigAlg::Sha512),
            _ => None,
        }
    }
}

/// Verifies an RSASSA-PKCS1-v1_5 signature over `message` (hashed here) with aws-lc-rs. False
/// when the signature is not exactly as long as the modulus, or `key` was not parsed for `alg`.
pub(crate) fn verify_rsa(key: &RsaKey, alg: SigAlg, message: &[u8], signature: &[u8]) -> bool {
    if signature.len() != key.bits.div_ceil(8) {
        return false;
    }
    key.parsed(alg).is_some_and(|k| k.verify_sig(message, signature).is_ok())
}

/// Largest RSA modulus accepted, in bits (what the `rsa` crate accepted before; J-LIS uses 2048).
const MAX_RSA_BITS: usize = 4096;

/// An RSA public key, parsed once into aws-lc-rs form for each signature algorithm it will be used
/// with: all three for a trust anchor (certificates and CRLs may use SHA-256/384/512), SHA-256
/// for a card's key (the challenge signature). Moduli of 2048..=4096 bits verify with the
/// `RSA_PKCS1_2048_8192_*` parameters; a shorter one (only ever admitted by a [`Policy`] that
/// lowers `min_rsa_bits`) with the legacy 1024-bit SHA-256 parameters.
#[derive(Clone)]
pub struct RsaKey {
    bits: usize,
    /// The PKCS#1 RSAPublicKey DER, as received: the key's identity for comparisons.
    der: Box<[u8]>,
    sha256: Option<ParsedPublicKey>,
    sha384: Option<ParsedPublicKey>,
    sha512: Option<ParsedPublicKey>,
}

impl RsaKey {
    /// Parses a PKCS#1 RSAPublicKey for the algorithms in `algs`.
    pub(crate) fn from_pkcs1_der(der: &[u8], algs: &[SigAlg]) -> Result<RsaKey, &'static str> {
        let unusable = "public key is not a usable RSA key";
        let bits = modulus_bits(der).map_err(|_| unusable)?;
        if !(1024..=MAX_RSA_BITS).contains(&bits) {
            return Err(unusable);
        }
        let parse = |alg: SigAlg| -> Result<Option<ParsedPublicKey>, &'static str> {
            if !algs.contains(&alg) {
                return Ok(None);
            }
            let params: &'static RsaParameters = match (alg, bits >= 2048) {
                (SigAlg::Sha256, true) => &RSA_PKCS1_2048_8192_SHA256,
                (SigAlg::Sha256, false) => &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                (SigAlg::Sha384, true) => &RSA_PKCS1_2048_8192_SHA384,
                (SigAlg::Sha512, true) => &RSA_PKCS1_2048_8192_SHA512,
                (_, false) => return Ok(None),
            };
            ParsedPublicKey::new(params, der).map(Some).map_err(|_| unusable)
        };
        Ok(RsaKey {
            bits,
            der: der.into(),
            sha256: parse(SigAlg::Sha256)?,
            sha384: parse(SigAlg::Sha384)?,
            sha512: parse(SigAlg::Sha512)?,
        })
    }
    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }
    /// The PKCS#1 RSAPublicKey DER.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.der
    }
    fn parsed(&self, alg: SigAlg) -> Option<&ParsedPublicKey> {
        match alg {
            SigAlg::Sha256 => self.sha256.as_ref(),
            SigAlg::Sha384 => self.sha384.as_ref(),
            SigAlg::Sha512 => self.sha512.as_ref(),
        }
    }
}

impl PartialEq for RsaKey {
    fn eq(&self, other: &RsaKey) -> bool {
        self.der == other.der
    }
}
impl Eq for RsaKey {}

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKey").field("bits", &self.bits).finish_non_exhaustive()
    }
}

/// The bit length of the modulus of a PKCS#1 RSAPublicKey (SEQUENCE { n INTEGER, e INTEGER }),
/// strict DER with nothing after it; n and e must be positive.
fn modulus_bits(der: &[u8]) -> Result<usize, x509_cert::der::Error> {
    let mut reader = SliceReader::new(der)?;
    let bits = reader.sequence(|seq| {
        let n = UintRef::decode(seq)?;
        let _e = UintRef::decode(seq)?;
        let n = n.as_bytes();
        Ok(n.first().map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize)))
    })?;
    reader.finish(bits)
}

/// The first element (TBSCertificate / TBSCertList) of a signed structure's outer SEQUENCE,
/// exactly as received: the bytes the signature covers.
pub(crate) fn outer_tbs_bytes(der: &[u8]) -> Result<&[u8], x509_cert::der::Error> {
    let mut reader = SliceReader::new(der)?;
    let header = Header::decode(&mut reader)?;
    header.tag.assert_eq(Tag::Sequence)?;
    reader.tlv_bytes()
}

/// The RSA key of a SubjectPublicKeyInfo (rsaEncryption with NULL or absent parameters), parsed
/// for the algorithms in `algs`.
pub(crate) fn rsa_public_key(spki: &SubjectPublicKeyInfoOwned, algs: &[SigAlg]) -> Result<RsaKey, &'static str> {
    if spki.algorithm.oid != OID_RSA_ENCRYPTION {
        return Err("public key is not RSA");
    }
    if !spki.algorithm.parameters.as_ref().is_none_or(|p| p.is_null()) {
        return Err("public key is not a usable RSA key");
    }
    let bits = spki.subject_public_key.as_bytes().ok_or("public key BIT STRING has unused bits")?;
    RsaKey::from_pkcs1_der(bits, algs)
}

/// An X.509 time as an `OffsetDateTime` (UTC). X.509 times are 1970..=9999, always in range.
pub(crate) fn to_offset(t: Time) -> OffsetDateTime {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_parse_canonicalises() {
        assert_eq!(CertSerial::parse("00:0A:Bc").unwrap().as_str(), "abc");
        assert_eq!(CertSerial::parse("0").unwrap().as_str(), "0");
        assert_eq!(CertSerial::parse("0000").unwrap().as_str(), "0");
        assert_eq!(CertSerial::parse("DEADbeef").unwrap().as_str(), "deadbeef");
        assert_eq!(CertSerial::parse(&"f".repeat(80)).unwrap().as_str(), "f".repeat(80));
        assert_eq!(CertSerial::parse(&format!("00{}", "f".repeat(80))).unwrap().as_str(), "f".repeat(80));
    }

    #[test]
    fn serial_parse_refuses_bad_input() {
        for bad in ["", ":", "::", "0x12", "12 34", "g", "-1", &"f".repeat(81)] {
            assert!(CertSerial::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serial_from_be_bytes() {
        assert_eq!(CertSerial::from_be_bytes(&[]).as_str(), "0");
        assert_eq!(CertSerial::from_be_bytes(&[0, 0]).as_str(), "0");
        assert_eq!(CertSerial::from_be_bytes(&[0x00, 0x80, 0x01]).as_str(), "8001");
        assert_eq!(CertSerial::from_be_bytes(&[0x0a, 0xbc]).as_str(), "abc");
        assert_eq!(CertSerial::from_be_bytes(&[0x06, 0xd1, 0x80, 0x06]).to_string(), "6d18006");
    }

    #[test]
    fn sig_alg_accepts_only_sha2_rsa_with_null_or_absent_params() {
        use x509_cert::der::Any;
        let alg = |oid: &str, params: Option<Any>| AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(oid),
            parameters: params,
        };
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.11", Some(Any::null()))), Some(SigAlg::Sha256));
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.11", None)), Some(SigAlg::Sha256));
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.12", None)), Some(SigAlg::Sha384));
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.13", None)), Some(SigAlg::Sha512));
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.5", Some(Any::null()))), None, "sha1WithRSA");
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.10", None)), None, "RSASSA-PSS");
        let junk = Any::new(Tag::OctetString, vec![1u8]).unwrap();
        assert_eq!(SigAlg::of(&alg("1.2.840.113549.1.1.11", Some(junk))), None);
    }

    #[test]
    fn outer_tbs_bytes_takes_the_first_inner_element() {
        // SEQUENCE { SEQUENCE { INTEGER 1 }, NULL }
        let der = [0x30, 0x07, 0x30, 0x03, 0x02, 0x01, 0x01, 0x05, 0x00];
        assert_eq!(outer_tbs_bytes(&der).unwrap(), &[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert!(outer_tbs_bytes(&[]).is_err());
        assert!(outer_tbs_bytes(&[0x02, 0x01, 0x01]).is_err());
        assert!(outer_tbs_bytes(&[0x30, 0x05, 0x30, 0x09]).is_err());
    }

    /// DER of RSAPublicKey { n, e } with `n` of `n_len` bytes (top byte 0x80: n_len * 8 bits).
    fn pkcs1(n_len: usize, trailing: &[u8]) -> Vec<u8> {
        let mut n = vec![0x00, 0x80];
        n.resize(n_len + 1, 0x01);
        let mut body = vec![0x02, 0x82];
        body.extend_from_slice(&(n.len() as u16).to_be_bytes());
        body.extend_from_slice(&n);
        body.extend_from_slice(&[0x02, 0x03, 0x01, 0x00, 0x01]);
        let mut der = vec![0x30, 0x82];
        der.extend_from_slice(&(body.len() as u16).to_be_bytes());
        der.extend_from_slice(&body);
        der.extend_from_slice(trailing);
        der
    }

    #[test]
    fn modulus_bits_reads_the_positive_modulus_strictly() {
        assert_eq!(modulus_bits(&pkcs1(256, &[])).unwrap(), 2048);
        assert_eq!(modulus_bits(&pkcs1(512, &[])).unwrap(), 4096);
        assert!(modulus_bits(&pkcs1(256, &[0x00])).is_err(), "trailing bytes");
        assert!(modulus_bits(&[0x30, 0x00]).is_err());
        assert!(modulus_bits(b"").is_err());
    }

    #[test]
    fn rsa_keys_outside_1024_to_4096_bits_are_refused() {
        let unusable = Err("public key is not a usable RSA key");
        assert_eq!(RsaKey::from_pkcs1_der(&pkcs1(513, &[]), &[SigAlg::Sha256]).map(|k| k.bits()), unusable);
        assert_eq!(RsaKey::from_pkcs1_der(&pkcs1(64, &[]), &[SigAlg::Sha256]).map(|k| k.bits()), unusable);
        assert_eq!(RsaKey::from_pkcs1_der(b"junk", &[SigAlg::Sha256]).map(|k| k.bits()), unusable);
    }

    #[test]
    fn garbage_and_oversized_are_malformed() {
        let anchors = TrustAnchors::none_for_tests();
        let now = OffsetDateTime::UNIX_EPOCH;
        let policy = Policy::default();
        for bad in [&b""[..], b"\x30", b"\x30\x00", b"not a certificate", &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]] {
            assert!(matches!(verify_certificate(&anchors, bad, now, &policy), Err(CertError::Malformed(_))), "{bad:?}");
        }
        let big = vec![0u8; MAX_CERT_BYTES + 1];
        assert!(matches!(verify_certificate(&anchors, &big, now, &policy), Err(CertError::Malformed(_))));
    }
}
