//! Who may apply for which measure, and for how many points: the eligibility facts stored under a
//! person (table `people`, written by the eligibility feeds in `mynapoint::eligibility`) and the
//! pure rule that turns facts + a measure's configuration into a points cap or a refusal.
//!
//! Items: `PERSON#<pid>` / `ELIG#health_insurance` and `ELIG#public_funds_account` with
//! `registered_on` (`YYYY-MM-DD`, Asia/Tokyo), and `ELIG#phase1_points` with `points` (the phase-1
//! points already received). Each also records the `feed_id` that last wrote it. A fact that
//! arrived for a certificate nobody had yet is kept under the certificate and moved here when the
//! certificate is first linked (`eligibility::adopt_ops`), so a missing item really means "no fact
//! known for this person", not "not signed in yet when the file came".

use time::{Date, OffsetDateTime};

use crate::domain::mynapoint::MeasureId;
use crate::mynapoint::catalog::MeasureConfig;
use crate::ports::JST;
use crate::ports::store::*;

/// Sort-key prefix of eligibility items under `PERSON#<pid>`.
pub const ELIG_PREFIX: &str = "ELIG#";

/// The kinds of eligibility facts a feed brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactKind {
    HealthInsurance,
    PublicFundsAccount,
    Phase1Points,
}

impl FactKind {
    pub const ALL: [FactKind; 3] = [FactKind::HealthInsurance, FactKind::PublicFundsAccount, FactKind::Phase1Points];
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::HealthInsurance => "health_insurance",
            FactKind::PublicFundsAccount => "public_funds_account",
            FactKind::Phase1Points => "phase1_points",
        }
    }
    pub fn parse(s: &str) -> Option<FactKind> {
        FactKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// The sort key of this fact under a person.
    pub fn sk(self) -> String {
        format!("{ELIG_PREFIX}{}", self.as_str())
    }
}

/// What is known about one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub health_insurance_registered_on: Option<Date>,
    pub public_funds_account_registered_on: Option<Date>,
    pub phase1_points: i64,
}

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

impl Facts {
    /// Collects the facts from the items of a person's partition (other items are ignored).
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a Item>) -> Facts {
        let mut f = Facts::default();
        for i in items {
            let Some(kind) = i.opt_s("sk").and_then(|sk| sk.strip_prefix(ELIG_PREFIX)).and_then(FactKind::parse) else {
                continue;
            };
            match kind {
                FactKind::HealthInsurance => {
                    f.health_insurance_registered_on = i.opt_s("registered_on").and_then(parse_date)
                }
                FactKind::PublicFundsAccount => {
                    f.public_funds_account_registered_on = i.opt_s("registered_on").and_then(parse_date)
                }
                FactKind::Phase1Points => f.phase1_points = i.opt_n("points").unwrap_or(0).max(0),
            }
        }
        f
    }
}

/// Why a person may not apply for a measure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotEligible {
    #[error("phase-1 points already reached this measure's cap")]
    Phase1CapReached,
    #[error("no health-insurance registration is on record")]
    NoHealthInsuranceRegistration,
    #[error("no public-funds account registration is on record before the deadline")]
    NoPublicFundsAccount,
}

impl NotEligible {
    pub fn code(&self) -> &'static str {
        match self {
            NotEligible::Phase1CapReached => "phase1_cap_reached",
            NotEligible::NoHealthInsuranceRegistration => "health_insurance_not_registered",
            NotEligible::NoPublicFundsAccount => "public_funds_account_not_registered",
        }
    }
}

/// The points cap of an application by a person with `facts` for measure `m`, or why they may not
/// apply. Measure 1: the cap less phase-1 points (a phase-1 applicant below the cap keeps earning
/// up to it; at or over it, excluded). Measure 2: a registration on record. Measure 3: an account
/// registered before the measure's registration deadline (on the JST date before it, or earlier).
pub fn points_cap(m: &MeasureConfig, facts: &Facts) -> Result<i64, NotEligible> {
    let cap = m.rule.cap();
    match m.id {
        MeasureId::CardAcquisition => {
            let left = cap - facts.phase1_points;
            if left <= 0 { Err(NotEligible::Phase1CapReached) } else { Ok(left) }
        }
        MeasureId::HealthInsurance => {
            facts.health_insurance_registered_on.map(|_| cap).ok_or(NotEligible::NoHealthInsuranceRegistration)
        }
        MeasureId::PublicFundsAccount => {
            let on = facts.public_funds_account_registered_on.ok_or(NotEligible::NoPublicFundsAccount)?;
            match m.registration_deadline {
                Some(deadline) if !registered_before(on, deadline) => Err(NotEligible::NoPublicFundsAccount),
                _ => Ok(cap),
            }
        }
    }
}

fn registered_before(on: Date, deadline: OffsetDateTime) -> bool {
    // A registration dated D counts from the start of D (JST).
    on.midnight().assume_offset(JST) < deadline
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mynapoint::catalog::phase2_defaults;
    use time::macros::date;

    fn item(sk: &str, attrs: &[(&str, Value)]) -> Item {
        let mut i = Item::new();
        i.insert("pk".into(), "PERSON#x".into());
        i.insert("sk".into(), sk.into());
        for (k, v) in attrs {
            i.insert((*k).into(), v.clone());
        }
        i
    }

    #[test]
    fn the_three_measures() {
        let ms = phase2_defaults();
        let none = Facts::default();
        assert_eq!(points_cap(&ms[0], &none), Ok(5000));
        assert_eq!(points_cap(&ms[1], &none), Err(NotEligible::NoHealthInsuranceRegistration));
        assert_eq!(points_cap(&ms[2], &none), Err(NotEligible::NoPublicFundsAccount));

        let items = [
            item("ELIG#phase1_points", &[("points", Value::N(3200))]),
            item("ELIG#health_insurance", &[("registered_on", "2022-07-01".into())]),
            item("ELIG#public_funds_account", &[("registered_on", "2023-09-30".into())]),
            item("PROFILE", &[("points", Value::N(99))]),
        ];
        let f = Facts::from_items(items.iter());
        assert_eq!(points_cap(&ms[0], &f), Ok(1800), "phase-1 shortfall continues");
        assert_eq!(points_cap(&ms[1], &f), Ok(7500));
        assert_eq!(points_cap(&ms[2], &f), Ok(7500), "registered on the last day");

        let late = Facts { public_funds_account_registered_on: Some(date!(2023 - 10 - 01)), ..f.clone() };
        assert_eq!(points_cap(&ms[2], &late), Err(NotEligible::NoPublicFundsAccount));
        let full = Facts { phase1_points: 5000, ..f };
        assert_eq!(points_cap(&ms[0], &full), Err(NotEligible::Phase1CapReached));
    }
}
