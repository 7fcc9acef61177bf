//! The local-only demo seed: accounts `demo-operator`, `demo-auditor`, `demo-approver` and
//! `demo-municipal` (Chiyoda ward, 131016) with signed tokens, so a newcomer can call staff
//! routes with curl at once. The accounts have no password (nobody can sign in as them) and
//! exist only on the embedded backend: [`seed`] refuses `MKPF_BACKEND=aws`, and configuration
//! refuses `MKPF_LOCAL_DEMO_TOKENS` there too.

use std::collections::BTreeMap;

use super::account::{self, AccountStatus, StaffAccount, StoredSeed};
use super::secrets::new_totp_secret;
use super::sessions;
use crate::audit::{self, Actor, Context, Event};
use crate::caps::{Audits, Configured, StaffSecrets, StaffTokens};
use crate::config::Backend;
use crate::domain::staff::{DisplayName, MunicipalityCode, Role, StaffId};
use crate::ports::store::*;
use crate::tables::STAFF;

/// Lifetime of demo tokens (a working day).
pub const DEMO_TOKEN_SECS: i64 = 12 * 3600;
pub const DEMO_MUNICIPALITY: &str = "131016";

/// Creates (if needed) a passwordless demo account and returns a token for it. Embedded backend
/// only. Used by the demo seed and by tests.
pub async fn token_for(
    app: &(impl Audits + Configured + StaffSecrets + StaffTokens),
    id: &str,
    roles: &[Role],
    municipality: Option<&str>,
    secs: i64,
) -> Result<String, String> {
    if app.config().backend == Backend::Aws {
        return Err("demo accounts are local-only and refused with MKPF_BACKEND=aws".into());
    }
    let id = StaffId::parse(id)?;
    let acc = match account::load(app.store().as_ref(), &id).await.map_err(|e| e.to_string())? {
        Some(a) => a,
        None => {
            let now = app.clock().epoch_secs();
            let acc = StaffAccount {
                id: id.clone(),
                display_name: DisplayName::parse(&format!("Demo {}", id.as_str()))?,
                roles: roles.to_vec(),
                municipality: municipality.map(MunicipalityCode::parse).transpose()?,
                status: AccountStatus::Active,
                password_hash: None,
                password_changed_at: now,
                must_change_password: false,
                totp_secret: Some(
                    StoredSeed::seal(app.staff_sealer().as_ref(), &id, &new_totp_secret())
                        .await
                        .map_err(|e| e.to_string())?,
                ),
                totp_pending: None,
                totp_last_step: 0,
                failed_logins: 0,
                locked_until: 0,
                created_at: now,
                created_by: "local-demo-seed".into(),
                version: 1,
            };
            let put = TxOp::Put { table: &STAFF, item: acc.to_item(), cond: Some(Cond::not_exists("pk")) };
            let ctx = Context::new(Actor::new("local_demo_seed", None));
            match audit::commit(app, &ctx, Event::success("staff.demo_create", vec![format!("staff:{id}")]), vec![put])
                .await
            {
                Ok(()) | Err(StoreError::TransactionCanceled { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
            acc
        }
    };
    let s = sessions::open(app, &acc, vec![], secs).await.map_err(|e| e.to_string())?;
    app.store().transact(vec![s.op]).await.map_err(|e| e.to_string())?;
    Ok(s.token)
}

/// Seeds the demo accounts and returns role → token.
pub async fn seed(
    app: &(impl Audits + Configured + StaffSecrets + StaffTokens),
) -> Result<BTreeMap<&'static str, String>, String> {
    let mut out = BTreeMap::new();
    for (key, id, role, muni) in [
        ("operator", "demo-operator", Role::Operator, None),
        ("auditor", "demo-auditor", Role::Auditor, None),
        ("patch_approver", "demo-approver", Role::PatchApprover, None),
        ("municipal_staff", "demo-municipal", Role::MunicipalStaff, Some(DEMO_MUNICIPALITY)),
    ] {
        out.insert(key, token_for(app, id, &[role], muni, DEMO_TOKEN_SECS).await?);
    }
    Ok(out)
}
