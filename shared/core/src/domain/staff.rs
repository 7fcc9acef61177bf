//! Staff accounts as values: ids, roles, municipality codes, passwords (the policy) and TOTP
//! codes. Everything here is parsed at the edge; a value that exists is valid.

use std::fmt;

use serde::Serialize;

/// A staff member's login id: 3–32 characters, a lowercase letter first, then lowercase letters,
/// digits, `.`, `_` or `-`. Chosen by the operator who creates the account; never changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaffId(String);

impl StaffId {
    pub fn parse(s: &str) -> Result<StaffId, String> {
        let ok = (3..=32).contains(&s.len())
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok {
            Ok(StaffId(s.to_owned()))
        } else {
            Err("a staff id is 3–32 characters: a lowercase letter, then lowercase letters, digits, '.', '_' or '-'"
                .into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform operations.
    Operator,
    /// Staff of one municipality (scoped to its code).
    MunicipalStaff,
    /// Read-only: audit trail and reports.
    Auditor,
    /// May approve data patches.
    PatchApprover,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::MunicipalStaff, Role::Auditor, Role::PatchApprover];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::MunicipalStaff => "municipal_staff",
            Role::Auditor => "auditor",
            Role::PatchApprover => "patch_approver",
        }
    }
    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; roles are operator, municipal_staff, auditor, patch_approver"))
    }
}

/// A 全国地方公共団体コード: five digits and a check digit (weights 6,5,4,3,2; 11 minus the sum
/// mod 11, last digit). Tokyo's Chiyoda ward is `131016`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MunicipalityCode(String);

impl MunicipalityCode {
    pub fn parse(s: &str) -> Result<MunicipalityCode, String> {
        let b = s.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return Err("a municipality code is 6 digits (全国地方公共団体コード, e.g. 131016)".into());
        }
        let d = |i: usize| u32::from(b[i] - b'0');
        let sum: u32 = (0..5).map(|i| d(i) * (6 - i as u32)).sum();
        let check = (11 - sum % 11) % 10;
        if check != d(5) {
            return Err(format!("{s} is not a valid municipality code: its check digit should be {check}"));
        }
        Ok(MunicipalityCode(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name for the console: 1–64 characters, one line. Personal data: never logged, and
/// every read through the API is audited.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<DisplayName, String> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
            return Err("a display name is 1–64 characters on one line".into());
        }
        Ok(DisplayName(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(<personal>)")
    }
}

/// A new password that meets the policy: 12–128 characters, at least 3 distinct characters, not
/// containing the staff id. (Length over composition rules, as NIST SP 800-63B advises.)
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(s: &str, id: &StaffId) -> Result<NewPassword, String> {
        let n = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(format!("a password is {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS));
        }
        let mut distinct: Vec<char> = s.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 3 {
            return Err("a password needs at least 3 different characters".into());
        }
        if s.to_lowercase().contains(id.as_str()) {
            return Err("a password must not contain the staff id".into());
        }
        Ok(NewPassword(s.to_owned()))
    }

    /// A random one-time password (24 characters, ~143 bits) for new accounts and resets.
    pub fn generate() -> NewPassword {
        use rand::Rng;
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
        let mut rng = rand::rngs::OsRng;
        NewPassword((0..24).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A 6-digit TOTP code as typed.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(s: &str) -> Result<TotpCode, String> {
        let t = s.trim();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(TotpCode(t.to_owned()))
        } else {
            Err("a TOTP code is 6 digits".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn municipality_codes_carry_a_check_digit() {
        for ok in ["131016", "271004", "011002", "472018"] {
            assert!(MunicipalityCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["131017", "13101", "1310160", "13101a", ""] {
            assert!(MunicipalityCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn staff_ids_and_passwords() {
        let id = StaffId::parse("tanaka.op").unwrap();
        assert!(StaffId::parse("Tanaka").is_err());
        assert!(StaffId::parse("1abc").is_err());
        assert!(StaffId::parse("ab").is_err());
        assert!(NewPassword::parse("short", &id).is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaaaaa", &id).is_err());
        assert!(NewPassword::parse("my-tanaka.op-password", &id).is_err());
        assert!(NewPassword::parse("correct horse battery", &id).is_ok());
        let g = NewPassword::generate();
        assert!(NewPassword::parse(g.expose(), &id).is_ok());
        assert_ne!(g.expose(), NewPassword::generate().expose());
        assert_eq!(format!("{g:?}"), "NewPassword(<redacted>)");
        assert!(Role::parse("root").is_err());
        assert_eq!(Role::parse("municipal_staff").unwrap(), Role::MunicipalStaff);
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_fits_any_five_digits(prefix in 0u32..100_000) {
            let p = format!("{prefix:05}");
            let fits = (0..10).filter(|d| MunicipalityCode::parse(&format!("{p}{d}")).is_ok()).count();
            prop_assert_eq!(fits, 1);
        }
    }
}
