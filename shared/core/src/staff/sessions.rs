//! Staff sessions: an access token (JWT, see [`crate::tokens`]) names a session item
//! (`STAFF#<id>` / `SESSION#<sid>` in the `staff-sessions` table, apart from the accounts, so that
//! checking a session never needs read access to accounts); the token is honoured only while that item exists and has
//! not expired. Logout deletes the item; password changes, resets and disabling delete all of a
//! member's sessions. Checking costs one strongly consistent read per staff request.

use super::account::{SESSION_PREFIX, StaffAccount, pk};
use crate::caps::{Clocks, StaffTokens, Stores};
use crate::domain::staff::StaffId;
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::STAFF_SESSIONS;
use crate::tokens::{self, Claims};

pub use crate::tokens::NewSession;

pub fn session_key(id: &str, sid: &str) -> Key {
    Key::new(format!("STAFF#{id}"), format!("{SESSION_PREFIX}{sid}"))
}

/// Signs a token for `account` valid `secs` from now, carrying `pending` steps.
pub async fn open(
    app: &(impl Clocks + StaffTokens),
    account: &StaffAccount,
    pending: Vec<String>,
    secs: i64,
) -> Result<NewSession, KeyError> {
    let now = app.clock().epoch_secs();
    let sid = uuid::Uuid::new_v4().simple().to_string();
    let claims = Claims {
        iss: tokens::ISSUER.into(),
        aud: tokens::STAFF_AUDIENCE.into(),
        sub: account.id.to_string(),
        sid: sid.clone(),
        iat: now,
        exp: now + secs,
        roles: account.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        muni: account.municipality.as_ref().map(|m| m.as_str().to_owned()),
        pending: pending.clone(),
    };
    let key = session_key(account.id.as_str(), &sid);
    tokens::open_session(app.staff_keys().as_ref(), claims, &STAFF_SESSIONS, key).await
}

/// Whether the session of these (already verified) claims is still open.
pub async fn is_open(app: &(impl Stores + Clocks), claims: &Claims) -> Result<bool, StoreError> {
    let item = app.store().get(&STAFF_SESSIONS, &session_key(&claims.sub, &claims.sid)).await?;
    Ok(item.is_some_and(|i| i.opt_n("ttl").is_some_and(|t| t > app.clock().epoch_secs())))
}

/// Deletes of every open session of `id` (for the caller's transaction; at most `max`).
pub async fn close_all_ops(app: &impl Stores, id: &StaffId, max: usize) -> Result<Vec<TxOp>, StoreError> {
    prefix_delete_ops(app.store().as_ref(), &STAFF_SESSIONS, pk(id), SESSION_PREFIX, max).await
}
