//! Citizen sessions: a session token (ES256 JWT, audience `mkpf-citizen`, 15 minutes, signed with
//! the citizen-token key) names the person by internal id and a session item
//! (`PERSON#<pid>` / `SESSION#<sid>`, table `people`); the token is honoured only while the item
//! exists. The token carries no certificate data and no MyKey ID.

use crate::caps::{CitizenTokens, Clocks, Stores};
use crate::mykey::person::{CertRef, PersonId, pk};
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::PEOPLE;
use crate::tokens::{self, Claims};

/// Lifetime of a citizen session token.
pub const SESSION_SECS: i64 = 900;
pub const SESSION_PREFIX: &str = "SESSION#";

pub fn session_key(pid: &str, sid: &str) -> Key {
    Key::new(format!("PERSON#{pid}"), format!("{SESSION_PREFIX}{sid}"))
}

pub use crate::tokens::NewSession;

/// Signs a session token for `pid`, valid [`SESSION_SECS`] from now. The session item records
/// which certificate signed in (issuer, serial, end of validity), so that use cases which need a
/// valid, unrevoked card (applications) can check that certificate inside their own transaction.
pub async fn open(app: &(impl Clocks + CitizenTokens), pid: &PersonId, cert: &CertRef) -> Result<NewSession, KeyError> {
    let now = app.clock().epoch_secs();
    let sid = uuid::Uuid::new_v4().simple().to_string();
    let claims = Claims {
        iss: tokens::ISSUER.into(),
        aud: tokens::CITIZEN_AUDIENCE.into(),
        sub: pid.to_string(),
        sid: sid.clone(),
        iat: now,
        exp: now + SESSION_SECS,
        roles: Vec::new(),
        muni: None,
        pending: Vec::new(),
    };
    let key = session_key(pid.as_str(), &sid);
    let mut session = tokens::open_session(app.citizen_keys().as_ref(), claims, &PEOPLE, key).await?;
    if let TxOp::Put { item, .. } = &mut session.op {
        item.insert("issuer".into(), cert.issuer.as_str().into());
        item.insert("serial".into(), cert.serial.as_str().into());
        if let Some(n) = cert.not_after {
            item.insert("not_after".into(), Value::N(n));
        }
    }
    Ok(session)
}

/// Whether the session of these (already verified) claims is still open (one read).
pub async fn is_open(app: &(impl Stores + Clocks), claims: &Claims) -> Result<bool, StoreError> {
    let item = app.store().get(&PEOPLE, &session_key(&claims.sub, &claims.sid)).await?;
    Ok(item.is_some_and(|i| i.opt_n("ttl").is_some_and(|t| t > app.clock().epoch_secs())))
}

/// Deletes of every open session of `pid` (for the caller's transaction; at most `max`).
pub async fn close_all_ops(app: &impl Stores, pid: &PersonId, max: usize) -> Result<Vec<TxOp>, StoreError> {
    prefix_delete_ops(app.store().as_ref(), &PEOPLE, pk(pid), SESSION_PREFIX, max).await
}
