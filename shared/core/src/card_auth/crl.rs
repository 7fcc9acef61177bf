//! Parses and verifies a DER CRL issued by a trust anchor (signature by the anchor's key, current
//! dates, sha256WithRSA), yielding the revoked serials.
//!
//! [`verify_crl`] checks, in this order:
//!
//! 1. at most [`MAX_CRL_BYTES`] and strict DER `CertificateList`, else [`CrlError::Malformed`];
//! 2. `signatureAlgorithm` equal to the TBS `signature` field and sha256/384/512WithRSAEncryption,
//!    else [`CrlError::Profile`] (SHA-1 refused);
//! 3. the issuer: the anchors whose id equals the CRL's authorityKeyIdentifier keyIdentifier when
//!    it has one, else every anchor — never by name; the first whose key verifies the signature
//!    over the TBS bytes as received; none → [`CrlError::Untrusted`];
//! 4. dates: `thisUpdate > now` → [`CrlError::NotYetValid`]; no `nextUpdate` →
//!    [`CrlError::Profile`]; `nextUpdate < now` → [`CrlError::Expired`];
//! 5. scope: only the issuer's *complete* CRL may become its current CRL (a later thisUpdate
//!    replaces the stored one, and its nextUpdate decides whether sign-in works), so
//!    [`CrlError::Scoped`] refuses a delta CRL (deltaCRLIndicator) and an issuingDistributionPoint
//!    that names a distributionPoint (one partition of the issuer's certificates), or sets
//!    onlyContainsCACerts, onlySomeReasons, indirectCRL or onlyContainsAttributeCerts.
//!    onlyContainsUserCerts alone is accepted: sign-in only ever checks end-entity certificates
//!    issued directly by a root (CA certificates are refused before revocation is looked at), so
//!    a CRL of all the root's end-entity certificates is complete for every certificate it is
//!    consulted for. An undecodable issuingDistributionPoint → [`CrlError::Malformed`];
//! 6. extensions: any critical CRL extension other than authorityKeyIdentifier, cRLNumber and
//!    issuingDistributionPoint → [`CrlError::Profile`]; a critical CRL entry extension (e.g.
//!    certificateIssuer, indirect CRLs) → [`CrlError::Profile`].
//!
//! The anchor's own validity is not checked: certificates under an expired anchor fail anyway.

use time::OffsetDateTime;
use x509_cert::crl::CertificateList;
use x509_cert::der::Decode;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::pkix::CrlNumber;
use x509_cert::ext::pkix::IssuingDistributionPoint;

use super::anchors::{IssuerId, TrustAnchors};
use super::certificate::{CertSerial, SigAlg, outer_tbs_bytes, to_offset, verify_rsa};

/// Largest CRL accepted.
pub const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;

const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_DELTA_CRL_INDICATOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.27");
const OID_ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");

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
    /// Not the issuer's complete CRL (scoped, partitioned or delta): it must never replace it.
    #[error("the CRL is not the issuer's complete CRL: {0}")]
    Scoped(&'static str),
}

impl CrlError {
    pub fn code(&self) -> &'static str {
        match self {
            CrlError::Malformed(_) => "crl_malformed",
            CrlError::Untrusted => "crl_untrusted",
            CrlError::NotYetValid => "crl_not_yet_valid",
            CrlError::Expired => "crl_expired",
            CrlError::Profile(_) => "crl_profile",
            CrlError::Scoped(_) => "crl_scoped",
        }
    }
}

/// Verifies a DER CRL (see the module documentation for the checks and their order).
pub fn verify_crl(anchors: &TrustAnchors, der: &[u8], now: OffsetDateTime) -> Result<VerifiedCrl, CrlError> {
    if der.len() > MAX_CRL_BYTES {
        return Err(CrlError::Malformed(format!("larger than {MAX_CRL_BYTES} bytes")));
    }
    let crl = CertificateList::from_der(der).map_err(|e| CrlError::Malformed(e.to_string()))?;
    let tbs_der = outer_tbs_bytes(der).map_err(|e| CrlError::Malformed(e.to_string()))?;
    let tbs = &crl.tbs_cert_list;

    if crl.signature_algorithm != tbs.signature {
        return Err(CrlError::Profile("signature algorithm differs between signatureAlgorithm and the TBS"));
    }
    let alg = SigAlg::of(&crl.signature_algorithm)
        .ok_or(CrlError::Profile("signature algorithm is not sha256/384/512WithRSAEncryption"))?;

    let extensions = tbs.crl_extensions.as_deref().unwrap_or(&[]);
    let mut wanted = None;
    let mut crl_number = None;
    let mut scope_problem = None;
    for (i, ext) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(CrlError::Malformed("repeated CRL extension".into()));
        }
        match ext.extn_id {
            OID_AUTHORITY_KEY_ID => {
                let aki = AuthorityKeyIdentifier::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| CrlError::Malformed("undecodable authorityKeyIdentifier".into()))?;
                wanted = aki.key_identifier.map(|kid| IssuerId::from_key_id(kid.as_bytes()));
            }
            OID_ISSUING_DISTRIBUTION_POINT => {
                let idp = IssuingDistributionPoint::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| CrlError::Malformed("undecodable issuingDistributionPoint".into()))?;
                scope_problem = scope_problem.or(idp_scope_problem(&idp));
            }
            OID_CRL_NUMBER => {
                let number = CrlNumber::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| CrlError::Malformed("undecodable cRLNumber".into()))?;
                crl_number = Some(CertSerial::from_be_bytes(number.0.as_bytes()).as_str().to_string());
            }
            _ => {}
        }
    }

    let signature = crl.signature.as_bytes().ok_or(CrlError::Untrusted)?;
    let anchor = anchors
        .iter()
        .filter(|a| wanted.as_ref().is_none_or(|id| &a.id == id))
        .find(|a| verify_rsa(&a.public_key, alg, tbs_der, signature))
        .ok_or(CrlError::Untrusted)?;

    let this_update = to_offset(tbs.this_update);
    if this_update > now {
        return Err(CrlError::NotYetValid);
    }
    let next_update = to_offset(tbs.next_update.ok_or(CrlError::Profile("nextUpdate missing"))?);
    if next_update < now {
        return Err(CrlError::Expired);
    }

    if extensions.iter().any(|e| e.extn_id == OID_DELTA_CRL_INDICATOR) {
        return Err(CrlError::Scoped("a delta CRL (deltaCRLIndicator)"));
    }
    if let Some(problem) = scope_problem {
        return Err(CrlError::Scoped(problem));
    }
    let known = [OID_AUTHORITY_KEY_ID, OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT];
    if extensions.iter().any(|e| e.critical && !known.contains(&e.extn_id)) {
        return Err(CrlError::Profile("unknown critical CRL extension"));
    }

    let entries = tbs.revoked_certificates.as_deref().unwrap_or(&[]);
    let mut revoked = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.crl_entry_extensions.as_deref().unwrap_or(&[]).iter().any(|e| e.critical) {
            return Err(CrlError::Profile("critical CRL entry extension"));
        }
        revoked.push(RevokedEntry {
            serial: CertSerial::from_be_bytes(entry.serial_number.as_bytes()),
            revoked_at: to_offset(entry.revocation_date),
        });
    }

    Ok(VerifiedCrl { issuer: anchor.id.clone(), this_update, next_update, crl_number, revoked })
}

/// Why an issuingDistributionPoint makes the CRL less than the issuer's complete CRL, if it does
/// (see the module documentation, step 5).
fn idp_scope_problem(idp: &IssuingDistributionPoint) -> Option<&'static str> {
    if idp.only_contains_ca_certs {
        Some("it lists only CA certificates (onlyContainsCACerts)")
    } else if idp.only_some_reasons.is_some() {
        Some("it lists only some revocation reasons (onlySomeReasons)")
    } else if idp.indirect_crl {
        Some("it is an indirect CRL (indirectCRL)")
    } else if idp.only_contains_attribute_certs {
        Some("it lists only attribute certificates (onlyContainsAttributeCerts)")
    } else if idp.distribution_point.is_some() {
        Some("it covers one distribution point's partition (distributionPoint)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(CrlError::Malformed(String::new()).code(), "crl_malformed");
        assert_eq!(CrlError::Untrusted.code(), "crl_untrusted");
        assert_eq!(CrlError::NotYetValid.code(), "crl_not_yet_valid");
        assert_eq!(CrlError::Expired.code(), "crl_expired");
        assert_eq!(CrlError::Profile("x").code(), "crl_profile");
        assert_eq!(CrlError::Scoped("x").code(), "crl_scoped");
    }

    #[test]
    fn garbage_and_oversized_are_malformed() {
        let anchors = TrustAnchors::none_for_tests();
        let now = OffsetDateTime::UNIX_EPOCH;
        for bad in [&b""[..], b"\x30", b"\x30\x00", b"not a crl at all", &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]] {
            assert!(matches!(verify_crl(&anchors, bad, now), Err(CrlError::Malformed(_))), "{bad:?}");
        }
        let big = vec![0u8; MAX_CRL_BYTES + 1];
        assert!(matches!(verify_crl(&anchors, &big, now), Err(CrlError::Malformed(_))));
    }
}
