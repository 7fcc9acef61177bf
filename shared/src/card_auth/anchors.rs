//! The configured JPKI trust anchors (self-signed J-LIS user-authentication roots, or the test CA)
//! and the issuer id we key everything by.
//!
//! STUB: the public API below is the contract; the bodies are being written.

use std::path::Path;

use rsa::RsaPublicKey;
use time::OffsetDateTime;

/// An issuer: lowercase hex of the root's subjectKeyIdentifier (or, when the root has none, the
/// RFC 5280 §4.2.1.2 method-1 SHA-1 of its subjectPublicKey). Never the name: every J-LIS root
/// generation has the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuerId(String);

impl IssuerId {
    /// Parses hex (upper or lower case, optional `:` separators) into the canonical form.
    pub fn parse(s: &str) -> Result<IssuerId, String> {
        let _ = s;
        Err("not implemented".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One trust anchor.
pub struct Anchor {
    pub id: IssuerId,
    pub public_key: RsaPublicKey,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// DER of the anchor's subject Name.
    pub subject_der: Vec<u8>,
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

impl TrustAnchors {
    /// Parses a PEM bundle of self-signed RSA CA certificates.
    pub fn from_pem(pem: &str) -> Result<TrustAnchors, AnchorError> {
        let _ = pem;
        Err(AnchorError::Empty)
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
}
