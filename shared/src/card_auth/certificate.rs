//! Verifies a JPKI user-authentication certificate against the trust anchors with explicit
//! checks (issuer by key id and signature, validity, key usage, critical certificatePolicies with
//! the auth policy OID, RSA ≥ 2048, no SHA-1), and a card's signature over a challenge nonce.
//!
//! STUB: the public API below is the contract; the bodies are being written.

use rsa::RsaPublicKey;
use time::OffsetDateTime;

use super::anchors::{IssuerId, TrustAnchors};

/// The JPKI user-authentication certificate policy OID.
pub const DEFAULT_AUTH_POLICY_OID: &str = "1.2.392.200149.8.5.1.3.30";

/// A certificate serial number: lowercase hex of the positive integer, no leading zeros
/// (`"0"` for zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertSerial(String);

impl CertSerial {
    /// Parses hex (upper or lower case, optional `:` separators, leading zeros ignored).
    pub fn parse(s: &str) -> Result<CertSerial, String> {
        let _ = s;
        Err("not implemented".into())
    }
    /// From the big-endian bytes of the DER INTEGER.
    pub fn from_be_bytes(b: &[u8]) -> CertSerial {
        let _ = b;
        CertSerial(String::new())
    }
    pub fn as_str(&self) -> &str {
        &self.0
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
    pub public_key: RsaPublicKey,
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

/// Runs every check on a DER certificate.
pub fn verify_certificate(
    anchors: &TrustAnchors,
    der: &[u8],
    now: OffsetDateTime,
    policy: &Policy,
) -> Result<VerifiedCertificate, CertError> {
    let _ = (anchors, der, now, policy);
    Err(CertError::Malformed("not implemented".into()))
}

/// The signature over the nonce is not RSASSA-PKCS1-v1_5 with SHA-256 by the certificate's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify with the certificate's key")]
pub struct SignatureInvalid;

impl VerifiedCertificate {
    /// Checks an RSASSA-PKCS1-v1_5 / SHA-256 signature over `nonce`.
    pub fn verify_signature(&self, nonce: &[u8], signature: &[u8]) -> Result<(), SignatureInvalid> {
        let _ = (nonce, signature);
        Err(SignatureInvalid)
    }
}
