//! Managing accounts: creating them (an operator through the API, or the very first operator
//! through `mkpf-admin staff bootstrap`), reading and listing them (audited: display names are
//! personal data), and resets. New accounts and password resets get a random one-time password,
//! shown once, that must be changed at the first sign-in; there are no default passwords.

use serde_json::json;

use super::account::{self, AccountStatus, StaffAccount, scope_of};
use super::secrets::hash_password;
use super::sessions::close_all_ops;
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Clocks};
use crate::domain::staff::{DisplayName, MunicipalityCode, NewPassword, Role, StaffId};
use crate::ports::store::*;
use crate::tables::STAFF;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("a staff account with this id exists")]
    Exists,
    #[error("no staff account has this id")]
    NotFound,
    #[error("staff may not reset or disable their own account")]
    SelfAction,
    #[error("the platform was already bootstrapped")]
    AlreadyBootstrapped,
    #[error("the account changed meanwhile; try again")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A validated account request.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub id: StaffId,
    pub display_name: DisplayName,
    pub roles: Vec<Role>,
    pub municipality: Option<MunicipalityCode>,
}

impl NewStaff {
    /// Checks the combination: municipality staff have exactly that role and a municipality;
    /// nobody else has a municipality.
    pub fn new(
        id: StaffId,
        display_name: DisplayName,
        mut roles: Vec<Role>,
        municipality: Option<MunicipalityCode>,
    ) -> Result<NewStaff, AdminError> {
        roles.sort();
        roles.dedup();
        let invalid = |field, why: &str| Err(AdminError::Invalid { field, why: why.to_owned() });
        if roles.is_empty() {
            return invalid("roles", "at least one role is required");
        }
        let municipal = roles.contains(&Role::MunicipalStaff);
        if municipal && roles.len() > 1 {
            return invalid("roles", "municipal_staff cannot be combined with platform roles");
        }
        match (municipal, &municipality) {
            (true, None) => return invalid("municipality", "municipal_staff needs a municipality code"),
            (false, Some(_)) => return invalid("municipality", "only municipal_staff belong to a municipality"),
            _ => {}
        }
        Ok(NewStaff { id, display_name, roles, municipality })
    }
}

const BOOTSTRAP_PK: &str = "BOOTSTRAP";

fn target(id: &StaffId) -> Vec<String> {
    vec![format!("staff:{id}")]
}

async fn account_for(
    app: &impl Clocks,
    s: &NewStaff,
    created_by: &str,
) -> Result<(StaffAccount, NewPassword), AdminError> {
    let otp = NewPassword::generate();
    let hash = hash_password(&otp).await.map_err(StoreError::Unavailable)?;
    let now = app.clock().epoch_secs();
    let acc = StaffAccount {
        id: s.id.clone(),
        display_name: s.display_name.clone(),
        roles: s.roles.clone(),
        municipality: s.municipality.clone(),
        status: AccountStatus::Active,
        password_hash: Some(hash),
        password_changed_at: now,
        must_change_password: true,
        totp_secret: None,
        totp_pending: None,
        totp_last_step: 0,
        failed_logins: 0,
        locked_until: 0,
        created_at: now,
        created_by: created_by.to_owned(),
        version: 1,
    };
    Ok((acc, otp))
}

fn created_event(acc: &StaffAccount) -> Event {
    Event::success("staff.create", target(&acc.id)).with_detail(json!({
        "roles": acc.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "municipality": acc.municipality.as_ref().map(|m| m.as_str()),
    }))
}

/// Creates an account; returns it with its one-time password.
pub async fn create(app: &impl Audits, ctx: &Context, s: NewStaff) -> Result<(StaffAccount, NewPassword), AdminError> {
    let created_by = ctx.actor.id.clone().unwrap_or_else(|| ctx.actor.kind.clone());
    let (acc, otp) = account_for(app, &s, &created_by).await?;
    let op = TxOp::Put { table: &STAFF, item: acc.to_item(), cond: Some(Cond::not_exists("pk")) };
    match audit::commit(app, ctx, created_event(&acc), vec![op]).await {
        Ok(()) => Ok((acc, otp)),
        Err(StoreError::TransactionCanceled { .. }) => Err(AdminError::Exists),
        Err(e) => Err(e.into()),
    }
}

/// Creates the first operator. Works once per deployment, ever (a marker item guards it).
pub async fn bootstrap(
    app: &impl Audits,
    ctx: &Context,
    id: StaffId,
    name: DisplayName,
) -> Result<(StaffAccount, NewPassword), AdminError> {
    let s = NewStaff::new(id, name, vec![Role::Operator], None)?;
    let (acc, otp) = account_for(app, &s, "bootstrap").await?;
    let mut marker = Item::new();
    marker.insert("pk".into(), Value::S(BOOTSTRAP_PK.into()));
    marker.insert("sk".into(), Value::S(BOOTSTRAP_PK.into()));
    marker.insert("first_operator".into(), Value::S(acc.id.to_string()));
    marker.insert("at".into(), Value::N(app.clock().epoch_secs()));
    let ops = vec![
        TxOp::Put { table: &STAFF, item: marker, cond: Some(Cond::not_exists("pk")) },
        TxOp::Put { table: &STAFF, item: acc.to_item(), cond: Some(Cond::not_exists("pk")) },
    ];
    let ev = Event { action: "staff.bootstrap", ..created_event(&acc) };
    match audit::commit(app, ctx, ev, ops).await {
        Ok(()) => Ok((acc, otp)),
        Err(e @ StoreError::TransactionCanceled { .. }) => match e.failed_condition_index() {
            Some(0) => Err(AdminError::AlreadyBootstrapped),
            _ => Err(AdminError::Exists),
        },
        Err(e) => Err(e.into()),
    }
}

/// Reads one account (audited as a read of personal data).
pub async fn get(app: &impl Audits, ctx: &Context, id: &StaffId) -> Result<StaffAccount, AdminError> {
    let acc = account::load(app.store().as_ref(), id).await?.ok_or(AdminError::NotFound)?;
    audit::commit_event(app, ctx, Event::success("staff.read", target(id))).await?;
    Ok(acc)
}

/// One page of the accounts of a scope (a municipality, or the platform's own staff), audited.
pub async fn list(
    app: &impl Audits,
    ctx: &Context,
    municipality: Option<&MunicipalityCode>,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<(Vec<StaffAccount>, Option<Cursor>), AdminError> {
    let scope = scope_of(municipality);
    if let Some(c) = &cursor
        && c.0.get("gsi1pk").and_then(Value::as_s) != Some(scope.as_str())
    {
        return Err(AdminError::Invalid { field: "cursor", why: "the cursor belongs to another list".into() });
    }
    let page = app.store().query(Query::new(&STAFF, scope.clone()).index("gsi1").limit(limit).start(cursor)).await?;
    let accounts = page.items.iter().map(StaffAccount::from_item).collect::<Result<Vec<_>, _>>()?;
    let ev = Event::success("staff.list", vec![format!("scope:{scope}")]).with_detail(json!({"count": accounts.len()}));
    audit::commit_event(app, ctx, ev).await?;
    Ok((accounts, page.next))
}

fn not_self(ctx: &Context, id: &StaffId) -> Result<(), AdminError> {
    if ctx.actor.kind == "staff" && ctx.actor.id.as_deref() == Some(id.as_str()) {
        return Err(AdminError::SelfAction);
    }
    Ok(())
}

/// Applies `change` to an account and ends all its sessions, audited as `action`.
async fn change(
    app: &impl Audits,
    ctx: &Context,
    id: &StaffId,
    action: &'static str,
    change: impl FnOnce(&mut StaffAccount),
) -> Result<StaffAccount, AdminError> {
    not_self(ctx, id)?;
    let acc = account::load(app.store().as_ref(), id).await?.ok_or(AdminError::NotFound)?;
    let mut next = acc.clone();
    change(&mut next);
    next.version += 1;
    let mut ops = vec![acc.replace_op(&next)];
    ops.extend(close_all_ops(app, id, 90).await?);
    match audit::commit(app, ctx, Event::success(action, target(id)), ops).await {
        Ok(()) => Ok(next),
        Err(StoreError::TransactionCanceled { .. }) => Err(AdminError::Conflict),
        Err(e) => Err(e.into()),
    }
}

/// Removes the TOTP authenticator (lost phone): the next sign-in must enrol a new one.
pub async fn reset_mfa(app: &impl Audits, ctx: &Context, id: &StaffId) -> Result<StaffAccount, AdminError> {
    change(app, ctx, id, "staff.mfa_reset", |a| {
        a.totp_secret = None;
        a.totp_pending = None;
    })
    .await
}

/// Sets a new one-time password and lifts a lock.
pub async fn reset_password(app: &impl Audits, ctx: &Context, id: &StaffId) -> Result<NewPassword, AdminError> {
    let otp = NewPassword::generate();
    let hash = hash_password(&otp).await.map_err(StoreError::Unavailable)?;
    let now = app.clock().epoch_secs();
    change(app, ctx, id, "staff.password_reset", |a| {
        a.password_hash = Some(hash);
        a.password_changed_at = now;
        a.must_change_password = true;
        a.failed_logins = 0;
        a.locked_until = 0;
    })
    .await?;
    Ok(otp)
}

/// Disables an account for good (it stays, for the audit trail).
pub async fn disable(app: &impl Audits, ctx: &Context, id: &StaffId) -> Result<StaffAccount, AdminError> {
    change(app, ctx, id, "staff.disable", |a| a.status = AccountStatus::Disabled).await
}
