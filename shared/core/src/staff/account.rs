//! The stored staff account (`STAFF#<id>` / `PROFILE` in the `staff` table) and its mapping.
//!
//! TOTP seeds are stored sealed ([`StoredSeed`]): `app.staff_sealer` (on AWS the data key under
//! the staff-only KMS encryption context), bound to the associated data [`seed_aad`], so a seed
//! is never at rest in clear and cannot be moved to another account. A seed written in clear
//! before sealing (binary attribute) still opens, and is resealed by the next sign-in that uses
//! it (or by the confirmation of a pending enrolment).

use crate::domain::staff::{DisplayName, MunicipalityCode, Role, StaffId};
use crate::ports::Sealer;
use crate::ports::sealer::KeyError;
use crate::ports::store::*;
use crate::tables::STAFF;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Disabled,
}

#[derive(Debug, Clone)]
pub struct StaffAccount {
    pub id: StaffId,
    pub display_name: DisplayName,
    pub roles: Vec<Role>,
    pub municipality: Option<MunicipalityCode>,
    pub status: AccountStatus,
    /// argon2id PHC string; `None` for the local demo accounts, which cannot sign in.
    pub password_hash: Option<String>,
    pub password_changed_at: i64,
    pub must_change_password: bool,
    pub totp_secret: Option<StoredSeed>,
    /// A secret handed out for enrolment, not yet confirmed with a code.
    pub totp_pending: Option<StoredSeed>,
    /// The last TOTP time step accepted (a code is accepted once).
    pub totp_last_step: i64,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub created_at: i64,
    pub created_by: String,
    pub version: i64,
}

/// A TOTP seed as stored in an account.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSeed {
    /// Sealed with the staff sealer (a string attribute).
    Sealed(String),
    /// Raw bytes written before seeds were sealed (a binary attribute); resealed on next use.
    Legacy(Vec<u8>),
}

impl std::fmt::Debug for StoredSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoredSeed::Sealed(_) => "StoredSeed::Sealed(..)",
            StoredSeed::Legacy(_) => "StoredSeed::Legacy(..)",
        })
    }
}

/// The associated data a staff member's seeds are sealed with.
pub fn seed_aad(id: &StaffId) -> Vec<u8> {
    format!("mkpf-staff-totp:{id}").into_bytes()
}

impl StoredSeed {
    /// Seals a fresh seed of `id`.
    pub async fn seal(sealer: &dyn Sealer, id: &StaffId, seed: &[u8]) -> Result<StoredSeed, KeyError> {
        Ok(StoredSeed::Sealed(sealer.seal(seed, &seed_aad(id)).await?))
    }

    /// The seed in clear, for checking a code.
    pub async fn open(&self, sealer: &dyn Sealer, id: &StaffId) -> Result<Vec<u8>, KeyError> {
        match self {
            StoredSeed::Sealed(s) => sealer.open(s, &seed_aad(id)).await,
            StoredSeed::Legacy(b) => Ok(b.clone()),
        }
    }

    /// This seed as it should be stored from now on: a legacy seed sealed, a sealed one as is.
    pub async fn resealed(&self, sealer: &dyn Sealer, id: &StaffId) -> Result<StoredSeed, KeyError> {
        match self {
            StoredSeed::Sealed(_) => Ok(self.clone()),
            StoredSeed::Legacy(b) => StoredSeed::seal(sealer, id, b).await,
        }
    }

    fn to_value(&self) -> Value {
        match self {
            StoredSeed::Sealed(s) => Value::S(s.clone()),
            StoredSeed::Legacy(b) => Value::B(b.clone()),
        }
    }

    fn from_value(v: &Value) -> Option<StoredSeed> {
        match v {
            Value::S(s) => Some(StoredSeed::Sealed(s.clone())),
            Value::B(b) => Some(StoredSeed::Legacy(b.clone())),
            _ => None,
        }
    }
}

pub const PROFILE_SK: &str = "PROFILE";
pub const SESSION_PREFIX: &str = "SESSION#";
const PLATFORM_SCOPE: &str = "PLATFORM";

pub fn pk(id: &StaffId) -> String {
    format!("STAFF#{id}")
}

pub fn profile_key(id: &StaffId) -> Key {
    Key::new(pk(id), PROFILE_SK)
}

/// `gsi1pk` of the list an account appears in.
pub fn scope_of(municipality: Option<&MunicipalityCode>) -> String {
    match municipality {
        Some(m) => format!("MUNI#{}", m.as_str()),
        None => PLATFORM_SCOPE.to_owned(),
    }
}

impl StaffAccount {
    pub fn has_role(&self, r: Role) -> bool {
        self.roles.contains(&r)
    }

    pub fn to_item(&self) -> Item {
        let mut i = Item::new();
        let mut s = |k: &str, v: String| {
            i.insert(k.into(), Value::S(v));
        };
        s("pk", pk(&self.id));
        s("sk", PROFILE_SK.into());
        s("id", self.id.to_string());
        s("display_name", self.display_name.as_str().into());
        s("status", if self.status == AccountStatus::Active { "active" } else { "disabled" }.into());
        s("created_by", self.created_by.clone());
        s("gsi1pk", scope_of(self.municipality.as_ref()));
        s("gsi1sk", self.id.to_string());
        if let Some(m) = &self.municipality {
            s("municipality", m.as_str().into());
        }
        if let Some(h) = &self.password_hash {
            s("password_hash", h.clone());
        }
        i.insert("roles".into(), Value::L(self.roles.iter().map(|r| Value::S(r.as_str().into())).collect()));
        let mut n = |k: &str, v: i64| {
            i.insert(k.into(), Value::N(v));
        };
        n("password_changed_at", self.password_changed_at);
        n("totp_last_step", self.totp_last_step);
        n("failed_logins", self.failed_logins);
        n("locked_until", self.locked_until);
        n("created_at", self.created_at);
        n("version", self.version);
        i.insert("must_change_password".into(), Value::Bool(self.must_change_password));
        if let Some(t) = &self.totp_secret {
            i.insert("totp_secret".into(), t.to_value());
        }
        if let Some(t) = &self.totp_pending {
            i.insert("totp_pending".into(), t.to_value());
        }
        i
    }

    pub fn from_item(i: &Item) -> Result<StaffAccount, StoreError> {
        let bad = StoreError::Corrupt;
        let roles = match i.get("roles") {
            Some(Value::L(l)) => l
                .iter()
                .map(|v| {
                    v.as_s().ok_or_else(|| bad("role not a string".into())).and_then(|s| Role::parse(s).map_err(bad))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(bad("roles missing".into())),
        };
        Ok(StaffAccount {
            id: StaffId::parse(i.s("id")?).map_err(bad)?,
            display_name: DisplayName::parse(i.s("display_name")?).map_err(bad)?,
            roles,
            municipality: i.opt_s("municipality").map(MunicipalityCode::parse).transpose().map_err(bad)?,
            status: if i.s("status")? == "active" { AccountStatus::Active } else { AccountStatus::Disabled },
            password_hash: i.opt_s("password_hash").map(str::to_owned),
            password_changed_at: i.n("password_changed_at")?,
            must_change_password: i.get("must_change_password").and_then(Value::as_bool).unwrap_or(true),
            totp_secret: i.get("totp_secret").and_then(StoredSeed::from_value),
            totp_pending: i.get("totp_pending").and_then(StoredSeed::from_value),
            totp_last_step: i.n("totp_last_step")?,
            failed_logins: i.n("failed_logins")?,
            locked_until: i.n("locked_until")?,
            created_at: i.n("created_at")?,
            created_by: i.s("created_by")?.to_owned(),
            version: i.n("version")?,
        })
    }

    /// A put of `next` that succeeds only if the stored account is still at `self.version`.
    pub fn replace_op(&self, next: &StaffAccount) -> TxOp {
        TxOp::Put { table: &STAFF, item: next.to_item(), cond: Some(Cond::eq("version", self.version)) }
    }
}

/// Reads one account.
pub async fn load(store: &dyn Store, id: &StaffId) -> Result<Option<StaffAccount>, StoreError> {
    match store.get(&STAFF, &profile_key(id)).await? {
        Some(i) => Ok(Some(StaffAccount::from_item(&i)?)),
        None => Ok(None),
    }
}
