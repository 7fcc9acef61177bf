//! Signing in (password, then TOTP) with lockout, signing out, and the self-service steps a
//! restricted token admits: changing the password and enrolling a TOTP authenticator.
//!
//! A failed attempt — wrong password, wrong or replayed code, or a right password without the
//! code (`totp_required` confirms the password, so it is counted too) — atomically increments
//! the account's failure count in the same transaction as its audit record; the fifth since the
//! last completed sign-in locks the account for [`LOCK_SECS`]. Concurrent attempts are each
//! counted and audited; one that meets a lock set meanwhile is answered as locked. An unknown id
//! costs the same password hash check as a known one and answers the same way; it is counted and
//! audited in aggregate (`audit::refusals`), not one record per guess.

use serde_json::json;

use super::account::{self, AccountStatus, StaffAccount, StoredSeed};
use super::secrets::{check_totp, hash_password, new_totp_secret, provisioning, verify_password};
use super::sessions::{self, close_all_ops};
use super::*;
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Refusing, StaffSecrets, StaffTokens, Stores};
use crate::domain::staff::{NewPassword, StaffId, TotpCode};
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::STAFF;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong staff id or password")]
    BadCredentials,
    #[error("a TOTP code is required")]
    TotpRequired,
    #[error("wrong TOTP code")]
    BadTotp,
    #[error("this TOTP code was already used")]
    TotpReplayed,
    #[error("the account is locked until {until}")]
    Locked { until: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What a successful sign-in returns.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: i64,
    pub account: StaffAccount,
    /// Steps to finish before the token admits more than self-service.
    pub pending: Vec<String>,
}

fn target(id: &str) -> Vec<String> {
    vec![format!("staff:{id}")]
}

/// Rounds of [`fail`] before it gives up; each lost round means another attempt changed the
/// account's lock state meanwhile, so this is only reached under a flood.
const COUNT_ROUNDS: usize = 16;

/// The answer to a counted attempt that did not lock the account.
fn unlocked_answer(code: &str) -> LoginError {
    match code {
        "totp_invalid" => LoginError::BadTotp,
        "totp_replayed" => LoginError::TotpReplayed,
        "totp_required" => LoginError::TotpRequired,
        _ => LoginError::BadCredentials,
    }
}

/// Counts an attempt that did not complete a sign-in (and locks at the limit), audited in the
/// same transaction; returns what to answer.
///
/// The count is an atomic increment (`ADD failed_logins 1`) conditioned only on the lock state,
/// never a version-conditioned replace, so concurrent attempts are all counted. Each round is
/// one of three transactions, chosen from the latest read and guarded by a condition on it:
/// count (not locked, below the limit), lock (not locked, this attempt reaches the limit), or —
/// when a concurrent attempt locked the account after this one read it — only the audit record,
/// answered as locked whatever the password was. A failed condition means the state moved: read
/// again and retry. Every round that commits writes exactly one audit record.
async fn fail(
    app: &impl Audits,
    ctx: &Context,
    acc: &StaffAccount,
    code: &'static str,
) -> Result<LoginError, StoreError> {
    let key = account::profile_key(&acc.id);
    let (mut failed, mut locked_until) = (acc.failed_logins, acc.locked_until);
    for _ in 0..COUNT_ROUNDS {
        let now = app.clock().epoch_secs();
        let not_locked = Cond::le("locked_until", now);
        let (op, ev, answer) = if locked_until > now {
            let op = TxOp::Check { table: &STAFF, key: key.clone(), cond: Cond::gt("locked_until", now) };
            let ev = Event::denied("staff.login", target(acc.id.as_str()), "account_locked")
                .with_detail(json!({"code": "account_locked", "attempt": code, "locked": true}));
            (op, ev, LoginError::Locked { until: locked_until })
        } else if failed + 1 >= MAX_FAILED_LOGINS {
            let until = now + LOCK_SECS;
            let op = TxOp::Update {
                table: &STAFF,
                key: key.clone(),
                update: Update::new().set("locked_until", until).set("failed_logins", 0i64).add("version", 1),
                cond: Some(not_locked.and(Cond::ge("failed_logins", MAX_FAILED_LOGINS - 1))),
            };
            let ev = Event::denied("staff.login", target(acc.id.as_str()), code)
                .with_detail(json!({"code": code, "locked": true}));
            (op, ev, LoginError::Locked { until })
        } else {
            let op = TxOp::Update {
                table: &STAFF,
                key: key.clone(),
                update: Update::new().add("failed_logins", 1).add("version", 1),
                cond: Some(not_locked.and(Cond::lt("failed_logins", MAX_FAILED_LOGINS - 1))),
            };
            let ev = Event::denied("staff.login", target(acc.id.as_str()), code)
                .with_detail(json!({"code": code, "locked": false}));
            (op, ev, unlocked_answer(code))
        };
        match audit::commit(app, ctx, ev, vec![op]).await {
            Ok(()) => return Ok(answer),
            Err(StoreError::TransactionCanceled { .. }) => match account::load(app.store().as_ref(), &acc.id).await? {
                Some(fresh) => (failed, locked_until) = (fresh.failed_logins, fresh.locked_until),
                // Accounts are never deleted; answer as for an unknown id.
                None => return Ok(LoginError::BadCredentials),
            },
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("too many concurrent sign-in attempts on one account; try again".into()))
}

/// Password + TOTP sign-in.
pub async fn login(
    app: &(impl Refusing + StaffSecrets + StaffTokens),
    ctx: &Context,
    id: &str,
    password: &str,
    code: Option<&str>,
) -> Result<SignedIn, LoginError> {
    let now = app.clock().epoch_secs();
    let acc = match StaffId::parse(id) {
        Ok(sid) => account::load(app.store().as_ref(), &sid).await?,
        Err(_) => None,
    };
    let Some(acc) = acc else {
        verify_password(password, None).await;
        // No account: the caller proved nothing about anyone, so the attempt is counted and
        // audited in aggregate (audit::refusals), never one write per anonymous guess.
        audit::refusals::refused(app, ctx, "staff.login", "unknown_account").await;
        return Err(LoginError::BadCredentials);
    };
    if acc.locked_until > now {
        audit::commit_event(app, ctx, Event::denied("staff.login", target(acc.id.as_str()), "account_locked")).await?;
        return Err(LoginError::Locked { until: acc.locked_until });
    }
    let password_ok = verify_password(password, acc.password_hash.as_deref()).await;
    if !password_ok || acc.status != AccountStatus::Active {
        let code = if password_ok { "account_disabled" } else { "password_invalid" };
        return Err(fail(app, ctx, &acc, code).await?);
    }
    let mut next = acc.clone();
    next.version += 1;
    next.failed_logins = 0;
    let mut pending = Vec::new();
    match &acc.totp_secret {
        Some(secret) => {
            // The answer confirms the password, so the attempt is counted first (and may meet
            // or set the lock instead).
            let Some(code) = code else {
                return Err(fail(app, ctx, &acc, "totp_required").await?);
            };
            let seed = secret.open(app.staff_sealer().as_ref(), &acc.id).await?;
            let step = TotpCode::parse(code).ok().and_then(|c| check_totp(&seed, &acc.id, &c, now));
            match step {
                None => return Err(fail(app, ctx, &acc, "totp_invalid").await?),
                Some(s) if s <= acc.totp_last_step => return Err(fail(app, ctx, &acc, "totp_replayed").await?),
                Some(s) => next.totp_last_step = s,
            }
            // A seed stored in clear before sealing is sealed by this sign-in's write.
            next.totp_secret = Some(secret.resealed(app.staff_sealer().as_ref(), &acc.id).await?);
        }
        None => pending.push(PENDING_TOTP_ENROLMENT.to_owned()),
    }
    if acc.must_change_password || now - acc.password_changed_at > PASSWORD_MAX_AGE_DAYS * 86_400 {
        pending.insert(0, PENDING_PASSWORD_CHANGE.to_owned());
    }
    let secs = if pending.is_empty() { TOKEN_SECS } else { RESTRICTED_TOKEN_SECS };
    let session = sessions::open(app, &acc, pending.clone(), secs).await?;
    let ev = Event::success("staff.login", target(acc.id.as_str())).with_detail(json!({"pending": pending}));
    match audit::commit(app, ctx, ev, vec![acc.replace_op(&next), session.op]).await {
        Ok(()) => {}
        // Another sign-in of the same account raced this one (and may have used this code).
        Err(StoreError::TransactionCanceled { .. }) => return Err(LoginError::TotpReplayed),
        Err(e) => return Err(e.into()),
    }
    Ok(SignedIn { token: session.token, expires_at: session.claims.exp, account: next, pending })
}

/// Ends the caller's session.
pub async fn logout(app: &impl Audits, ctx: &Context, id: &str, sid: &str) -> Result<(), StoreError> {
    let op = TxOp::Delete { table: &crate::tables::STAFF_SESSIONS, key: sessions::session_key(id, sid), cond: None };
    audit::commit(app, ctx, Event::success("staff.logout", target(id)), vec![op]).await
}

#[derive(Debug, thiserror::Error)]
pub enum SelfServiceError {
    #[error("the current password is wrong")]
    BadCredentials,
    #[error("the account is locked until {until}")]
    Locked { until: i64 },
    #[error("{0}")]
    WeakPassword(String),
    #[error("the new password must differ from the current one")]
    SamePassword,
    #[error("a TOTP authenticator is already enrolled")]
    TotpAlreadyEnrolled,
    #[error("no TOTP enrolment was started")]
    NoPendingEnrolment,
    #[error("wrong TOTP code")]
    BadTotp,
    #[error("the account changed meanwhile; try again")]
    Conflict,
    #[error("the account no longer exists or is disabled")]
    Gone,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Sealing or opening a TOTP seed failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

async fn load_active(app: &impl Stores, id: &StaffId) -> Result<StaffAccount, SelfServiceError> {
    match account::load(app.store().as_ref(), id).await? {
        Some(a) if a.status == AccountStatus::Active => Ok(a),
        _ => Err(SelfServiceError::Gone),
    }
}

fn cancelled_to_conflict(e: StoreError) -> SelfServiceError {
    match e {
        StoreError::TransactionCanceled { .. } => SelfServiceError::Conflict,
        e => SelfServiceError::Store(e),
    }
}

/// Changes the caller's password; every session of the caller (this one too) ends, so the next
/// sign-in uses the new password.
pub async fn change_password(
    app: &impl Audits,
    ctx: &Context,
    id: &StaffId,
    current: &str,
    new: &str,
) -> Result<(), SelfServiceError> {
    let acc = load_active(app, id).await?;
    let now = app.clock().epoch_secs();
    if acc.locked_until > now {
        return Err(SelfServiceError::Locked { until: acc.locked_until });
    }
    if !verify_password(current, acc.password_hash.as_deref()).await {
        return match fail(app, ctx, &acc, "password_invalid").await? {
            LoginError::Locked { until } => Err(SelfServiceError::Locked { until }),
            _ => Err(SelfServiceError::BadCredentials),
        };
    }
    let new = NewPassword::parse(new, id).map_err(SelfServiceError::WeakPassword)?;
    if new.expose() == current {
        return Err(SelfServiceError::SamePassword);
    }
    let mut next = acc.clone();
    next.version += 1;
    next.password_hash = Some(hash_password(&new).await.map_err(StoreError::Unavailable)?);
    next.password_changed_at = now;
    next.must_change_password = false;
    next.failed_logins = 0;
    let mut ops = vec![acc.replace_op(&next)];
    ops.extend(close_all_ops(app, id, 90).await?);
    audit::commit(app, ctx, Event::success("staff.password_change", target(id.as_str())), ops)
        .await
        .map_err(cancelled_to_conflict)
}

/// Starts TOTP enrolment: a new secret, returned once as a provisioning URI and base32 text.
pub async fn start_totp_enrolment(
    app: &(impl Audits + StaffSecrets),
    ctx: &Context,
    id: &StaffId,
) -> Result<(String, String), SelfServiceError> {
    let acc = load_active(app, id).await?;
    if acc.totp_secret.is_some() {
        return Err(SelfServiceError::TotpAlreadyEnrolled);
    }
    let secret = new_totp_secret();
    let (uri, b32) = provisioning(&secret, id).map_err(StoreError::Unavailable)?;
    let mut next = acc.clone();
    next.version += 1;
    next.totp_pending = Some(StoredSeed::seal(app.staff_sealer().as_ref(), id, &secret).await?);
    audit::commit(
        app,
        ctx,
        Event::success("staff.totp_enrolment_start", target(id.as_str())),
        vec![acc.replace_op(&next)],
    )
    .await
    .map_err(cancelled_to_conflict)?;
    Ok((uri, b32))
}

/// Confirms enrolment with a code from the authenticator; every session ends (sign in again
/// with the code to get a full token).
pub async fn confirm_totp(
    app: &(impl Audits + StaffSecrets),
    ctx: &Context,
    id: &StaffId,
    code: &str,
) -> Result<(), SelfServiceError> {
    let acc = load_active(app, id).await?;
    if acc.totp_secret.is_some() {
        return Err(SelfServiceError::TotpAlreadyEnrolled);
    }
    let Some(secret) = acc.totp_pending.clone() else {
        return Err(SelfServiceError::NoPendingEnrolment);
    };
    let now = app.clock().epoch_secs();
    let seed = secret.open(app.staff_sealer().as_ref(), id).await?;
    let Some(step) = TotpCode::parse(code).ok().and_then(|c| check_totp(&seed, id, &c, now)) else {
        return match fail(app, ctx, &acc, "totp_invalid").await? {
            LoginError::Locked { until } => Err(SelfServiceError::Locked { until }),
            _ => Err(SelfServiceError::BadTotp),
        };
    };
    let mut next = acc.clone();
    next.version += 1;
    next.totp_secret = Some(secret.resealed(app.staff_sealer().as_ref(), id).await?);
    next.totp_pending = None;
    next.totp_last_step = step;
    let mut ops = vec![acc.replace_op(&next)];
    ops.extend(close_all_ops(app, id, 90).await?);
    audit::commit(app, ctx, Event::success("staff.totp_enrolment_confirm", target(id.as_str())), ops)
        .await
        .map_err(cancelled_to_conflict)
}
