//! The card sign-in use case: spend the challenge, verify the certificate and the signature over
//! the nonce, check revocation, find (or create) the person the certificate is linked to, and open
//! a session, audited.
//!
//! Round trips: challenge update (1), revocation entry read (1, plus the CRL dates once a minute
//! per process), certificate link read (1), profile read (1, for the MyKey ID), and one audited
//! transaction (session, plus the person and link for a first sign-in). A first sign-in also
//! reads the eligibility facts kept by the certificate (1 query) and joins them to the new person
//! in that transaction (`mynapoint::eligibility::adopt_ops`).

use time::OffsetDateTime;

use super::certificate::{CertError, SignatureInvalid, verify_certificate};
use super::challenge::{self, ChallengeError, ChallengeId, ConsumeError};
use super::revocation::{RevocationError, RevocationStatus};
use super::sessions;
use crate::audit::{self, Event};
use crate::caps::{Audits, CitizenTokens, Configured, Revocations};
use crate::mykey::person::{self, CertRef, PersonId};
use crate::mynapoint::eligibility;
use crate::ports::KeyError;
use crate::ports::store::StoreError;

/// The largest certificate accepted (a JPKI auth certificate is about 1.5 KB).
pub const MAX_CERTIFICATE_BYTES: usize = 8 * 1024;
/// The largest signature accepted (RSA-4096).
pub const MAX_SIGNATURE_BYTES: usize = 512;

/// A sign-in attempt, parsed at the edge.
pub struct SignInRequest {
    pub challenge_id: ChallengeId,
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
    /// The hand-off this sign-in completes (`handoff`), recorded in the audit detail.
    pub handoff: Option<String>,
}

/// A successful sign-in.
#[derive(Debug)]
pub struct Grant {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub person_id: PersonId,
    pub mykey_id: Option<String>,
    /// The person was created by this sign-in (first use of this certificate).
    pub new_person: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("card authentication is not configured (no trust anchors)")]
    NotConfigured,
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
    #[error(transparent)]
    Certificate(#[from] CertError),
    #[error(transparent)]
    Signature(#[from] SignatureInvalid),
    #[error("the certificate has been revoked")]
    Revoked,
    #[error(transparent)]
    RevocationUnavailable(RevocationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl From<ConsumeError> for SignInError {
    fn from(e: ConsumeError) -> Self {
        match e {
            ConsumeError::Challenge(c) => SignInError::Challenge(c),
            ConsumeError::Store(s) => SignInError::Store(s),
        }
    }
}

impl From<RevocationError> for SignInError {
    fn from(e: RevocationError) -> Self {
        match e {
            RevocationError::Store(s) => SignInError::Store(s),
            e => SignInError::RevocationUnavailable(e),
        }
    }
}

/// Runs the sign-in. The challenge is spent first, so a refused attempt cannot be retried with
/// the same nonce.
pub async fn sign_in(
    app: &(impl Audits + Configured + CitizenTokens + Revocations),
    ctx: &audit::Context,
    req: SignInRequest,
) -> Result<Grant, SignInError> {
    let anchors = app.config().trust_anchors.clone().ok_or(SignInError::NotConfigured)?;
    let nonce = challenge::consume(app, &req.challenge_id).await?;
    let cert = verify_certificate(&anchors, &req.certificate, app.clock().now(), &app.config().card_policy)?;
    cert.verify_signature(&nonce, &req.signature)?;
    if let RevocationStatus::Revoked { .. } = app.revocation().status(&cert.issuer, &cert.serial).await? {
        return Err(SignInError::Revoked);
    }
    // What makes a new person wait for a renewal linkage (`person::link_pending_until`).
    let not_before = cert.not_before.unix_timestamp();
    let cert_ref =
        CertRef { issuer: cert.issuer, serial: cert.serial, not_after: Some(cert.not_after.unix_timestamp()) };
    // A first sign-in races another one with the same certificate, or a known certificate races
    // a re-link moving it to another person: the loser reads the link again.
    for _ in 0..3 {
        let existing = person::find_by_certificate(app, &cert_ref.issuer, &cert_ref.serial).await?;
        let (pid, new_person) = match existing {
            Some(pid) => (pid, false),
            None => (PersonId::generate(), true),
        };
        let session = sessions::open(app, &pid, &cert_ref).await?;
        let mut ops = Vec::new();
        let mut targets = vec![format!("person:{pid}")];
        if new_person {
            ops.extend(person::create_ops_issued(&pid, &cert_ref, Some(not_before), app.clock().now()));
            // Eligibility facts that arrived for this certificate before anyone had it become
            // the new person's, in this transaction.
            let kept = eligibility::kept_facts(app, &cert_ref.issuer, &cert_ref.serial).await?;
            ops.extend(eligibility::adopt_ops(app, &cert_ref.issuer, &cert_ref.serial, &pid, &kept, true).await?);
            targets.push(cert_ref.target());
        } else {
            // Still this person's certificate when the session opens (a renewal re-link may
            // have folded the person into another one meanwhile): then look again.
            ops.push(person::still_linked_op(&pid, &cert_ref));
            ops.push(person::touch_op(&pid, &cert_ref, Some(not_before), app.clock().now()));
        }
        ops.push(session.op);
        let mut detail = serde_json::json!({
            "new_person": new_person,
            "session": session.claims.sid,
        });
        if let Some(h) = &req.handoff {
            detail["handoff"] = serde_json::json!(h);
        }
        let event = Event::success("citizen.sign_in", targets).with_detail(detail);
        match audit::commit(app, ctx, event, ops).await {
            Ok(()) => {}
            // The first op is the link's put (a first sign-in) or check (a known certificate);
            // the others that can fail are the kept facts, changed by a feed batch meanwhile.
            Err(e) if e.failed_condition_index().is_some() => continue,
            Err(e) => return Err(e.into()),
        }
        let mykey_id = if new_person { None } else { person::profile(app, &pid).await?.and_then(|p| p.mykey_id) };
        let expires_at = OffsetDateTime::from_unix_timestamp(session.claims.exp).unwrap_or_else(|_| app.clock().now());
        return Ok(Grant { token: session.token, expires_at, person_id: pid, mykey_id, new_person });
    }
    Err(SignInError::Store(StoreError::Unavailable("certificate link kept changing".into())))
}
