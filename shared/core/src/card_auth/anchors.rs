//! The configured JPKI trust anchors (self-signed J-LIS user-authentication roots, or the test CA)
//! and the issuer id we key everything by.
//!
//! A bundle is a PEM file of `-----BEGIN CERTIFICATE-----` blocks (text between blocks is
//! ignored). Every block must be a self-signed RSA CA certificate: basicConstraints cA=true,
//! keyCertSign when keyUsage is present, an RSA key of at least 2048 bits, and a
//! sha256/384/512WithRSAEncryption self-signature that verifies with its own key. Expired anchors
//! are loaded (certificates under them then fail as expired); the same certificate listed twice
//! is kept once.
//!
//! Anchors are identified by [`IssuerId`], never by name: all J-LIS root generations share one
//! subject name.

use std::path::Path;

use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};

use super::certificate::{RsaKey, SigAlg, outer_tbs_bytes, rsa_public_key, to_offset, verify_rsa};

/// Longest key identifier accepted, in bytes.
const MAX_ID_BYTES: usize = 40;

/// An issuer: lowercase hex of the root's subjectKeyIdentifier (or, when the root has none, the
/// RFC 5280 §4.2.1.2 method-1 SHA-1 of its subjectPublicKey). Never the name: every J-LIS root
/// generation has the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuerId(String);

impl IssuerId {
    /// Parses hex (upper or lower case, optional `:` separators) into the canonical form:
    /// lowercase, no separators. The id is a byte string, so it needs an even number of digits;
    /// empty, non-hex and longer than 40 bytes are refused.
    pub fn parse(s: &str) -> Result<IssuerId, String> {
        let digits = hex_digits(s)?;
        if digits.len() % 2 != 0 {
            return Err("an issuer id needs an even number of hex digits".into());
        }
        if digits.len() / 2 > MAX_ID_BYTES {
            return Err(format!("an issuer id is at most {MAX_ID_BYTES} bytes"));
        }
        Ok(IssuerId(digits))
    }
    /// The id of a key identifier's bytes.
    pub fn from_key_id(bytes: &[u8]) -> IssuerId {
        IssuerId(hex::encode(bytes))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IssuerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lowercase hex digits of `s` with `:` separators removed; refuses empty and non-hex input.
pub(crate) fn hex_digits(s: &str) -> Result<String, String> {
    if s.len() > 4 * MAX_ID_BYTES {
        return Err("too long".into());
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ':' => {}
            c if c.is_ascii_hexdigit() => out.push(c.to_ascii_lowercase()),
            _ => return Err(format!("not hex: {:?}", c)),
        }
    }
    if out.is_empty() {
        return Err("empty".into());
    }
    Ok(out)
}

/// One trust anchor.
pub struct Anchor {
    pub id: IssuerId,
    /// Parsed once, here, for sha256/384/512WithRSAEncryption.
    pub public_key: RsaKey,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// DER of the anchor's subject Name.
    pub subject_der: Vec<u8>,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor")
            .field("id", &self.id)
            .field("bits", &self.public_key.bits())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read trust anchors {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("trust anchor #{index} is unusable: {reason}")]
    Invalid { index: usize, reason: String },
    #[error("the trust anchor bundle holds no certificate")]
    Empty,
}

/// The configured roots.
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

impl TrustAnchors {
    /// Parses a PEM bundle of self-signed RSA CA certificates.
    pub fn from_pem(pem: &str) -> Result<TrustAnchors, AnchorError> {
        let mut anchors: Vec<Anchor> = Vec::new();
        let mut rest = pem;
        let mut index = 0;
        while let Some(start) = rest.find(BEGIN) {
            let invalid = |reason: String| AnchorError::Invalid { index, reason };
            let after = &rest[start..];
            let end = after.find(END).ok_or_else(|| invalid("no END CERTIFICATE line".into()))?;
            let block = &after[..end + END.len()];
            rest = &after[end + END.len()..];
            let cert =
                Certificate::from_pem(block.as_bytes()).map_err(|e| invalid(format!("not a certificate: {e}")))?;
            let der = cert.to_der().map_err(|e| invalid(e.to_string()))?;
            let anchor = anchor_from(&cert, &der).map_err(|r| invalid(r.into()))?;
            let duplicate = anchors.iter().any(|a| {
                a.id == anchor.id
                    && a.public_key == anchor.public_key
                    && a.subject_der == anchor.subject_der
                    && a.not_before == anchor.not_before
                    && a.not_after == anchor.not_after
            });
            if !duplicate {
                anchors.push(anchor);
            }
            index += 1;
        }
        if anchors.is_empty() {
            return Err(AnchorError::Empty);
        }
        Ok(TrustAnchors { anchors })
    }
    pub fn load(path: &Path) -> Result<TrustAnchors, AnchorError> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| AnchorError::Read { path: path.display().to_string(), reason: e.to_string() })?;
        TrustAnchors::from_pem(&pem)
    }
    pub fn get(&self, id: &IssuerId) -> Option<&Anchor> {
        self.anchors.iter().find(|a| &a.id == id)
    }
    pub fn iter(&self) -> impl Iterator<Item = &Anchor> {
        self.anchors.iter()
    }
    /// How many distinct anchors are configured.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }
    /// No anchor at all, for unit tests of the verifiers' parsing steps.
    #[cfg(test)]
    pub(crate) fn none_for_tests() -> TrustAnchors {
        TrustAnchors { anchors: Vec::new() }
    }
    /// Always false for a loaded bundle (an empty one is refused); here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.anchors.iter()).finish()
    }
}

/// Checks one root and extracts what verification needs.
fn anchor_from(cert: &Certificate, der: &[u8]) -> Result<Anchor, &'static str> {
    let tbs = &cert.tbs_certificate;
    let bc = tbs.get::<BasicConstraints>().map_err(|_| "undecodable or repeated basicConstraints")?;
    match bc {
        Some((_, bc)) if bc.ca => {}
        _ => return Err("not a CA (basicConstraints cA=true missing)"),
    }
    let key_usage = tbs.get::<KeyUsage>().map_err(|_| "undecodable or repeated keyUsage")?;
    if key_usage.is_some_and(|(_, ku)| !ku.key_cert_sign()) {
        return Err("keyUsage lacks keyCertSign");
    }
    let public_key = rsa_public_key(&tbs.subject_public_key_info, &[SigAlg::Sha256, SigAlg::Sha384, SigAlg::Sha512])?;
    if public_key.bits() < 2048 {
        return Err("RSA key shorter than 2048 bits");
    }
    if cert.signature_algorithm != tbs.signature {
        return Err("signatureAlgorithm differs from the TBS signature field");
    }
    let alg = SigAlg::of(&cert.signature_algorithm).ok_or("self-signature is not sha256/384/512WithRSAEncryption")?;
    let tbs_der = outer_tbs_bytes(der).map_err(|_| "cannot locate the TBS certificate")?;
    let sig = cert.signature.as_bytes().ok_or("signature BIT STRING has unused bits")?;
    if !verify_rsa(&public_key, alg, tbs_der, sig) {
        return Err("not self-signed (the signature does not verify with its own key)");
    }
    let id = match tbs.get::<SubjectKeyIdentifier>().map_err(|_| "undecodable or repeated subjectKeyIdentifier")? {
        Some((_, ski)) => {
            let bytes = ski.0.as_bytes();
            if bytes.is_empty() || bytes.len() > MAX_ID_BYTES {
                return Err("subjectKeyIdentifier is empty or longer than 40 bytes");
            }
            IssuerId::from_key_id(bytes)
        }
        None => IssuerId::from_key_id(&sha1(tbs.subject_public_key_info.subject_public_key.raw_bytes())),
    };
    Ok(Anchor {
        id,
        public_key,
        not_before: to_offset(tbs.validity.not_before),
        not_after: to_offset(tbs.validity.not_after),
        subject_der: tbs.subject.to_der().map_err(|_| "cannot encode the subject")?,
    })
}

/// SHA-1 (the `sha1` crate), used only for the RFC 5280 method-1 key identifier of a root
/// without a subjectKeyIdentifier — an identifier, not a security decision.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_id_parse_canonicalises() {
        let id = IssuerId::parse("1A:C1:00:F5:96:A3:BC:8C:4B:3D:F1:95:E3:26:99:24:9E:9E:30:8A").unwrap();
        assert_eq!(id.as_str(), "1ac100f596a3bc8c4b3df195e32699249e9e308a");
        assert_eq!(IssuerId::parse(id.as_str()).unwrap(), id);
        assert_eq!(IssuerId::parse("00ff").unwrap().as_str(), "00ff", "leading zero bytes are part of a key id");
        assert_eq!(id.to_string(), id.as_str());
    }

    #[test]
    fn issuer_id_parse_refuses_bad_input() {
        for bad in ["", ":", "xyz", "0g", "abc", "12 34", "12-34", &"ab".repeat(41), "é1"] {
            assert!(IssuerId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(IssuerId::parse(&"ab".repeat(40)).is_ok());
    }

    #[test]
    fn sha1_known_answers() {
        assert_eq!(hex::encode(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex::encode(sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            hex::encode(sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(hex::encode(sha1(&[b'a'; 1000])), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    }

    #[test]
    fn empty_and_broken_bundles_are_refused() {
        assert!(matches!(TrustAnchors::from_pem(""), Err(AnchorError::Empty)));
        assert!(matches!(TrustAnchors::from_pem("hello"), Err(AnchorError::Empty)));
        assert!(matches!(
            TrustAnchors::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n"),
            Err(AnchorError::Invalid { index: 0, .. })
        ));
        assert!(matches!(
            TrustAnchors::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(AnchorError::Invalid { index: 0, .. })
        ));
    }
}
