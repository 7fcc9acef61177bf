//! Parses and verifies a DER CRL issued by a trust anchor (signature by the anchor's key, current
//! dates, sha256WithRSA), yielding the revoked serials.
//!
//! STUB: the public API below is the contract; the bodies are being written.

use time::OffsetDateTime;

use super::anchors::{IssuerId, TrustAnchors};
use super::certificate::CertSerial;

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    pub serial: CertSerial,
    pub revoked_at: OffsetDateTime,
}

/// A CRL whose signature and dates checked out.
#[derive(Debug, Clone)]
pub struct VerifiedCrl {
    pub issuer: IssuerId,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    /// The cRLNumber extension as lowercase hex, when present.
    pub crl_number: Option<String>,
    pub revoked: Vec<RevokedEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    #[error("the CRL is not valid DER: {0}")]
    Malformed(String),
    #[error("the CRL is not signed by a configured trust anchor")]
    Untrusted,
    #[error("the CRL is not current yet (thisUpdate is in the future)")]
    NotYetValid,
    #[error("the CRL is out of date (nextUpdate has passed)")]
    Expired,
    #[error("the CRL is unacceptable: {0}")]
    Profile(&'static str),
}

impl CrlError {
    pub fn code(&self) -> &'static str {
        match self {
            CrlError::Malformed(_) => "crl_malformed",
            CrlError::Untrusted => "crl_untrusted",
            CrlError::NotYetValid => "crl_not_yet_valid",
            CrlError::Expired => "crl_expired",
            CrlError::Profile(_) => "crl_profile",
        }
    }
}

pub fn verify_crl(anchors: &TrustAnchors, der: &[u8], now: OffsetDateTime) -> Result<VerifiedCrl, CrlError> {
    let _ = (anchors, der, now);
    Err(CrlError::Malformed("not implemented".into()))
}
