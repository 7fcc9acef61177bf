//! Staff sessions: an access token (JWT, see [`crate::tokens`]) names a session item
//! (`STAFF#<id>` / `SESSION#<sid>`); the token is honoured only while that item exists and has
//! not expired. Logout deletes the item; password changes, resets and disabling delete all of a
//! member's sessions. Checking costs one strongly consistent read per staff request.

use super::account::{SESSION_PREFIX, StaffAccount, pk};
use crate::app::App;
use crate::domain::staff::StaffId;
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::STAFF;
use crate::tokens::{self, Claims};

/// A signed token and the session item that makes it valid (to be written in the caller's
/// transaction).
pub struct NewSession {
    pub token: String,
    pub claims: Claims,
    pub op: TxOp,
}

pub fn session_key(id: &str, sid: &str) -> Key {
    Key::new(format!("STAFF#{id}"), format!("{SESSION_PREFIX}{sid}"))
}

/// Signs a token for `account` valid `secs` from now, carrying `pending` steps.
pub async fn open(app: &App, account: &StaffAccount, pending: Vec<String>, secs: i64) -> Result<NewSession, KeyError> {
    let now = app.clock.epoch_secs();
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
    let token = tokens::issue(app.keys.as_ref(), &claims).await?;
    let mut item = Item::new();
    let key = session_key(account.id.as_str(), &sid);
    item.insert("pk".into(), Value::S(key.pk.clone()));
    item.insert("sk".into(), Value::S(key.sk.clone().unwrap_or_default()));
    item.insert("ttl".into(), Value::N(claims.exp));
    item.insert("created_at".into(), Value::N(now));
    let op = TxOp::Put { table: &STAFF, item, cond: Some(Cond::not_exists("pk")) };
    Ok(NewSession { token, claims, op })
}

/// Whether the session of these (already verified) claims is still open.
pub async fn is_open(app: &App, claims: &Claims) -> Result<bool, StoreError> {
    let item = app.store.get(&STAFF, &session_key(&claims.sub, &claims.sid)).await?;
    Ok(item.is_some_and(|i| i.opt_n("ttl").is_some_and(|t| t > app.clock.epoch_secs())))
}

/// Deletes of every open session of `id` (for the caller's transaction; at most `max`).
pub async fn close_all_ops(app: &App, id: &StaffId, max: usize) -> Result<Vec<TxOp>, StoreError> {
    prefix_delete_ops(app.store.as_ref(), &STAFF, pk(id), SESSION_PREFIX, max).await
}
