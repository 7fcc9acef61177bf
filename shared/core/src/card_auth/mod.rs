//! My Number Card authentication: trust anchors, certificate and CRL verification (pure), the
//! challenge–response flow, the revocation port and citizen sessions.

pub mod anchors;
pub mod certificate;
pub mod challenge;
pub mod crl;
pub mod fetch;
pub mod revocation;
pub mod sessions;
pub mod sign_in;
