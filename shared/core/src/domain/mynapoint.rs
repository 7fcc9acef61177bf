//! National Mynapoint domain types: measures, providers, payment services, service accounts,
//! security codes, applications and their states. Pure: parsed at the edge with private fields,
//! no I/O. The rules of the three phase-2 measures are in `docs/mynapoint.md`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value did not parse (a message for a `422 invalid_field` naming the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// The three phase-2 measures (施策). Numbered as the programme numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureId {
    /// 1: card acquisition — 25% of charges/purchases, capped at 5,000 points.
    CardAcquisition,
    /// 2: health-insurance registration — 7,500 points.
    HealthInsurance,
    /// 3: public-funds account registration — 7,500 points.
    PublicFundsAccount,
}

impl MeasureId {
    pub const ALL: [MeasureId; 3] =
        [MeasureId::CardAcquisition, MeasureId::HealthInsurance, MeasureId::PublicFundsAccount];

    pub fn number(self) -> u8 {
        match self {
            MeasureId::CardAcquisition => 1,
            MeasureId::HealthInsurance => 2,
            MeasureId::PublicFundsAccount => 3,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureId::CardAcquisition => "card_acquisition",
            MeasureId::HealthInsurance => "health_insurance",
            MeasureId::PublicFundsAccount => "public_funds_account",
        }
    }
    pub fn from_number(n: i64) -> Option<MeasureId> {
        MeasureId::ALL.into_iter().find(|m| i64::from(m.number()) == n)
    }
    /// Accepts the name (`card_acquisition`) or the number (`1`).
    pub fn parse(s: &str) -> Result<MeasureId, ParseError> {
        MeasureId::ALL
            .into_iter()
            .find(|m| m.as_str() == s || m.number().to_string() == s)
            .map_or_else(|| err("must be card_acquisition, health_insurance or public_funds_account"), Ok)
    }
}

impl fmt::Display for MeasureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a measure's points are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PointsRule {
    /// `percent`% of each charge or purchase (rounded down), at most `cap` points in all.
    Percent { percent: u8, cap: i64 },
    /// A fixed number of points, granted once.
    Flat { points: i64 },
}

impl PointsRule {
    /// The most points one application can ever receive.
    pub fn cap(self) -> i64 {
        match self {
            PointsRule::Percent { cap, .. } => cap,
            PointsRule::Flat { points } => points,
        }
    }
    /// The points a charge of `yen` earns before the cap (measure 1), or the flat amount.
    pub fn points_for_charge(self, yen: i64) -> i64 {
        match self {
            PointsRule::Percent { percent, .. } => yen.max(0) * i64::from(percent) / 100,
            PointsRule::Flat { points } => points,
        }
    }
}

fn id_chars(s: &str, min: usize, max: usize, ok: impl Fn(u8) -> bool, what: &str) -> Result<String, ParseError> {
    let t = s.trim();
    if t.len() < min || t.len() > max || !t.bytes().all(ok) {
        return err(format!(
            "{what}: {min} to {max} characters of {}",
            match what {
                "provider id" => "a-z, 0-9 and -",
                "service code" => "A-Z, 0-9 and _",
                _ => "A-Z, a-z, 0-9 and -",
            }
        ));
    }
    Ok(t.to_owned())
}

/// A payment provider (決済事業者), e.g. `paypay`: 2–32 of `a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProviderId(String);

impl ProviderId {
    pub fn parse(s: &str) -> Result<ProviderId, ParseError> {
        id_chars(s, 2, 32, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-', "provider id").map(ProviderId)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A payment service's code (決済サービスコード), e.g. `PAYPAY`: 2–16 of `A-Z 0-9 _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ServiceCode(String);

impl ServiceCode {
    pub fn parse(s: &str) -> Result<ServiceCode, ParseError> {
        id_chars(s, 2, 16, |b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_', "service code")
            .map(ServiceCode)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The citizen's own account at a payment service (決済サービスID): 1–64 of `A-Z a-z 0-9 -`.
/// Personal data: never logged, never in an audit record.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServiceAccountId(String);

impl ServiceAccountId {
    pub fn parse(s: &str) -> Result<ServiceAccountId, ParseError> {
        id_chars(s, 1, 64, |b| b.is_ascii_alphanumeric() || b == b'-', "service account id").map(ServiceAccountId)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServiceAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceAccountId(..)")
    }
}

/// The format of one security code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeCharset {
    Digits,
    Alphanumeric,
}

/// One security code a service asks for: a label shown to the citizen and its format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRule {
    /// e.g. "PIN" or "last 4 digits of the card".
    pub label: String,
    pub charset: CodeCharset,
    pub min_len: u8,
    pub max_len: u8,
}

/// A service's 1–3 security-code rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CodeRules(Vec<CodeRule>);

impl CodeRules {
    pub fn parse(rules: Vec<CodeRule>) -> Result<CodeRules, ParseError> {
        if !(1..=3).contains(&rules.len()) {
            return err("a service asks for 1 to 3 security codes");
        }
        for r in &rules {
            let label_ok = !r.label.trim().is_empty() && r.label.chars().count() <= 40;
            if !label_ok {
                return err("a security code's label is 1 to 40 characters");
            }
            if r.min_len == 0 || r.min_len > r.max_len || r.max_len > 32 {
                return err("a security code's length must satisfy 1 ≤ min_len ≤ max_len ≤ 32");
            }
        }
        Ok(CodeRules(rules))
    }
    pub fn rules(&self) -> &[CodeRule] {
        &self.0
    }
    pub fn into_inner(self) -> Vec<CodeRule> {
        self.0
    }
}

/// Security codes a citizen entered, checked against the service's rules. Secret: never logged,
/// never stored in clear (sealed until the provider has them), `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityCodes(Vec<String>);

impl SecurityCodes {
    pub fn parse(codes: &[String], rules: &CodeRules) -> Result<SecurityCodes, ParseError> {
        if codes.len() != rules.0.len() {
            return err(format!("this service asks for {} security code(s)", rules.0.len()));
        }
        for (i, (c, r)) in codes.iter().zip(&rules.0).enumerate() {
            let len = c.len();
            let charset_ok = match r.charset {
                CodeCharset::Digits => c.bytes().all(|b| b.is_ascii_digit()),
                CodeCharset::Alphanumeric => c.bytes().all(|b| b.is_ascii_alphanumeric()),
            };
            if !charset_ok || len < usize::from(r.min_len) || len > usize::from(r.max_len) {
                let set = match r.charset {
                    CodeCharset::Digits => "digits",
                    CodeCharset::Alphanumeric => "letters and digits",
                };
                return err(format!(
                    "security code {} ({}) must be {} to {} {set}",
                    i + 1,
                    r.label,
                    r.min_len,
                    r.max_len
                ));
            }
        }
        Ok(SecurityCodes(codes.to_vec()))
    }
    pub fn codes(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Debug for SecurityCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityCodes({} redacted)", self.0.len())
    }
}

/// A payment service's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    EMoney,
    QrCode,
    CreditCard,
    DebitCard,
    Prepaid,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::EMoney => "e_money",
            ServiceKind::QrCode => "qr_code",
            ServiceKind::CreditCard => "credit_card",
            ServiceKind::DebitCard => "debit_card",
            ServiceKind::Prepaid => "prepaid",
        }
    }
    pub fn parse(s: &str) -> Result<ServiceKind, ParseError> {
        [
            ServiceKind::EMoney,
            ServiceKind::QrCode,
            ServiceKind::CreditCard,
            ServiceKind::DebitCard,
            ServiceKind::Prepaid,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .map_or_else(|| err("must be e_money, qr_code, credit_card, debit_card or prepaid"), Ok)
    }
}

/// A payment service's intake (受付) status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStatus {
    /// New applications are accepted (for the measures the service lists).
    Accepting,
    /// Intake closed; existing applications continue (grants, callbacks).
    IntakeClosed,
    /// The provider withdrew early; applicants with ungranted points may re-apply elsewhere
    /// (a data patch).
    Withdrawn,
}

impl IntakeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeStatus::Accepting => "accepting",
            IntakeStatus::IntakeClosed => "intake_closed",
            IntakeStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Result<IntakeStatus, ParseError> {
        [IntakeStatus::Accepting, IntakeStatus::IntakeClosed, IntakeStatus::Withdrawn]
            .into_iter()
            .find(|k| k.as_str() == s)
            .map_or_else(|| err("must be accepting, intake_closed or withdrawn"), Ok)
    }
}

/// An application's id: `app_` and 32 lowercase hex digits. Derived from the person and the
/// request's `Idempotency-Key` (keyed hash), so a retried request names the same application.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ApplicationId(String);

impl ApplicationId {
    pub fn parse(s: &str) -> Result<ApplicationId, ParseError> {
        match s.strip_prefix("app_") {
            Some(h) if h.len() == 32 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => {
                Ok(ApplicationId(s.to_owned()))
            }
            _ => err("an application id is app_ followed by 32 lowercase hex digits"),
        }
    }
    /// From 16 bytes (e.g. a truncated hash).
    pub fn from_bytes(b: [u8; 16]) -> ApplicationId {
        ApplicationId(format!("app_{}", hex::encode(b)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an application stands.
///
/// ```text
/// submitted ──dispatch 2xx──► dispatched ──accepted──► accepted ──link stopped──► stopped
///     │                           │
///     └──────────rejected─────────┴──► rejected (the citizen may apply again)
/// ```
/// A provider may answer `accepted`/`rejected` before the dispatch's 2xx is recorded, so
/// `submitted` may move straight to `accepted` or `rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    Submitted,
    Dispatched,
    Accepted,
    Rejected,
    Stopped,
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 5] = [
        ApplicationState::Submitted,
        ApplicationState::Dispatched,
        ApplicationState::Accepted,
        ApplicationState::Rejected,
        ApplicationState::Stopped,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Submitted => "submitted",
            ApplicationState::Dispatched => "dispatched",
            ApplicationState::Accepted => "accepted",
            ApplicationState::Rejected => "rejected",
            ApplicationState::Stopped => "stopped",
        }
    }
    pub fn parse(s: &str) -> Option<ApplicationState> {
        ApplicationState::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Whether the application still holds the person's place for its measure (and the
    /// service account's): everything but `rejected`.
    pub fn holds_place(self) -> bool {
        self != ApplicationState::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> CodeRules {
        CodeRules::parse(vec![
            CodeRule { label: "PIN".into(), charset: CodeCharset::Digits, min_len: 4, max_len: 4 },
            CodeRule { label: "code".into(), charset: CodeCharset::Alphanumeric, min_len: 2, max_len: 8 },
        ])
        .unwrap()
    }

    #[test]
    fn security_codes_follow_the_rules() {
        let r = rules();
        assert!(SecurityCodes::parse(&["1234".into(), "ab12".into()], &r).is_ok());
        assert!(SecurityCodes::parse(&["123".into(), "ab12".into()], &r).is_err());
        assert!(SecurityCodes::parse(&["12a4".into(), "ab12".into()], &r).is_err());
        assert!(SecurityCodes::parse(&["1234".into(), "a".into()], &r).is_err());
        assert!(SecurityCodes::parse(&["1234".into()], &r).is_err());
        let s = SecurityCodes::parse(&["1234".into(), "ab12".into()], &r).unwrap();
        assert!(!format!("{s:?}").contains("1234"), "codes never appear in Debug");
        assert!(CodeRules::parse(vec![]).is_err());
        assert!(CodeRules::parse(vec![r.rules()[0].clone(); 4]).is_err());
    }

    #[test]
    fn measures_parse_by_name_or_number() {
        for m in MeasureId::ALL {
            assert_eq!(MeasureId::parse(m.as_str()).unwrap(), m);
            assert_eq!(MeasureId::parse(&m.number().to_string()).unwrap(), m);
            assert_eq!(MeasureId::from_number(i64::from(m.number())), Some(m));
        }
        assert!(MeasureId::parse("4").is_err());
    }

    #[test]
    fn points_rules() {
        let m1 = PointsRule::Percent { percent: 25, cap: 5000 };
        assert_eq!(m1.points_for_charge(20_000), 5000);
        assert_eq!(m1.points_for_charge(999), 249);
        assert_eq!(m1.points_for_charge(-5), 0);
        assert_eq!(PointsRule::Flat { points: 7500 }.cap(), 7500);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,80}") {
            let _ = ProviderId::parse(&s);
            let _ = ServiceCode::parse(&s);
            let _ = ServiceAccountId::parse(&s);
            let _ = ApplicationId::parse(&s);
            let _ = MeasureId::parse(&s);
        }

        #[test]
        fn application_ids_round_trip(b in any::<[u8; 16]>()) {
            let id = ApplicationId::from_bytes(b);
            prop_assert_eq!(ApplicationId::parse(id.as_str()).unwrap(), id);
        }
    }
}
