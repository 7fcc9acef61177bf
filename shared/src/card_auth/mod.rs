//! My Number Card authentication: trust anchors, certificate and CRL verification (pure), the
//! challenge–response flow, the revocation port and citizen sessions.

pub mod anchors;
pub mod certificate;
pub mod crl;
