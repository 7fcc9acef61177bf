//! My Number Card authentication: trust anchors, certificate and CRL verification (pure), the
//! challenge–response flow (directly, or handed off from a browser to a card holder's device:
//! `handoff`), the revocation port and citizen sessions.

pub mod anchors;
pub mod certificate;
pub mod challenge;
pub mod crl;
pub mod fetch;
pub mod handoff;
pub mod revocation;
pub mod sessions;
pub mod sign_in;
