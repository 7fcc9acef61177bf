//! Operator inquiry: a person's Mynapoint applications, found by their MyKey ID (current or
//! retired: a claim is permanent), by one application's id, or by a payment service's code and
//! the service account id used to apply (`ACCOUNT#<service>#<account>` / `MEASURE#<n>` name the
//! person and the application; an account place freed by a rejection and taken by someone else
//! names the new applicant).
//!
//! Every lookup is audited (`mynapoint.inquiry`), found or not, with the kind of query, the
//! people and applications it returned and what was asked — a service account id only as a
//! digest ([`account_digest`]), never in clear.

use sha2::Digest;

use super::record::{self, ApplicationRecord};
use crate::audit::{self, Event};
use crate::caps::Audits;
use crate::domain::mynapoint::{ApplicationId, ServiceAccountId, ServiceCode};
use crate::mykey::id::MyKeyId;
use crate::mykey::lifecycle;
use crate::mykey::person::{self, PersonId};
use crate::ports::store::*;
use crate::tables::{APPLICATIONS, PEOPLE};

/// What an operator looks up by.
#[derive(Debug, Clone)]
pub enum InquiryKey {
    MyKeyId(MyKeyId),
    Application(ApplicationId),
    ServiceAccount(ServiceCode, ServiceAccountId),
}

impl InquiryKey {
    /// `mykey_id`, `application_id` or `service_account` (the audit detail's `by`).
    pub fn kind(&self) -> &'static str {
        match self {
            InquiryKey::MyKeyId(_) => "mykey_id",
            InquiryKey::Application(_) => "application_id",
            InquiryKey::ServiceAccount(..) => "service_account",
        }
    }

    /// The audit target naming what was asked.
    fn target(&self) -> String {
        match self {
            InquiryKey::MyKeyId(id) => format!("mykey:{id}"),
            InquiryKey::Application(id) => format!("application:{id}"),
            InquiryKey::ServiceAccount(s, a) => format!("account:{s}:{}", account_digest(s, a)),
        }
    }
}

/// The audit trail's name for a service account: 32 hex digits of SHA-256 over the service code
/// and the account id (domain-separated). Someone who knows an account can check whether it was
/// looked up; the trail alone does not show it.
pub fn account_digest(service: &ServiceCode, account: &ServiceAccountId) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"mkpf-inquiry-account\0");
    h.update(service.as_str().as_bytes());
    h.update(b"\0");
    h.update(account.as_str().as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// One person's applications.
#[derive(Debug, Clone)]
pub struct PersonApplications {
    pub person: PersonId,
    /// Their MyKey ID now (none when revoked).
    pub mykey_id: Option<String>,
    /// Every application they made, newest first.
    pub applications: Vec<ApplicationRecord>,
    /// The applications the query named (by id, or made with the account).
    pub matched: Vec<ApplicationId>,
}

/// Looks up and audits. People are returned in the order found; nobody found is an empty list.
pub async fn inquire(
    app: &impl Audits,
    ctx: &audit::Context,
    key: &InquiryKey,
) -> Result<Vec<PersonApplications>, StoreError> {
    // (person, applications named by the query)
    let mut found: Vec<(PersonId, Vec<ApplicationId>)> = Vec::new();
    let mut add = |pid: PersonId, app_id: Option<ApplicationId>| {
        let i = match found.iter().position(|(p, _)| *p == pid) {
            Some(i) => i,
            None => {
                found.push((pid, Vec::new()));
                found.len() - 1
            }
        };
        if let Some(a) = app_id
            && !found[i].1.contains(&a)
        {
            found[i].1.push(a);
        }
    };
    match key {
        InquiryKey::MyKeyId(id) => {
            if let Some(claim) = app.store().get(&PEOPLE, &lifecycle::claim_key(id)).await? {
                add(PersonId::parse(claim.s("person_id")?).map_err(StoreError::Corrupt)?, None);
            }
        }
        InquiryKey::Application(id) => {
            if let Some(rec) = record::load(app, id).await? {
                add(rec.person, Some(rec.id));
            }
        }
        InquiryKey::ServiceAccount(service, account) => {
            let pk = format!("ACCOUNT#{service}#{}", account.as_str());
            let page = app
                .store()
                .query(Query::new(&APPLICATIONS, pk).sk(SkCond::BeginsWith("MEASURE#".into())).limit(10))
                .await?;
            for i in &page.items {
                let pid = PersonId::parse(i.s("person")?).map_err(StoreError::Corrupt)?;
                let app_id = i.opt_s("application").and_then(|a| ApplicationId::parse(a).ok());
                add(pid, app_id);
            }
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for (pid, mut matched) in found {
        let applications = record::of_person(app, &pid).await?;
        if let InquiryKey::ServiceAccount(service, account) = key {
            // Also the person's other (e.g. rejected) applications with this account.
            for a in &applications {
                if a.service == *service && a.account == *account && !matched.contains(&a.id) {
                    matched.push(a.id.clone());
                }
            }
        }
        let mykey_id = person::profile(app, &pid).await?.and_then(|p| p.mykey_id);
        out.push(PersonApplications { person: pid, mykey_id, applications, matched });
    }
    let mut targets = vec![key.target()];
    targets.extend(out.iter().map(|p| format!("person:{}", p.person)));
    let event = Event::success("mynapoint.inquiry", targets).with_detail(serde_json::json!({
        "by": key.kind(),
        "people": out.len(),
        "applications": out.iter().map(|p| p.applications.len()).sum::<usize>(),
    }));
    audit::commit_event(app, ctx, event).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_digests_are_stable_and_separate_services() {
        let a = ServiceAccountId::parse("0123-4567").unwrap();
        let (s1, s2) = (ServiceCode::parse("DEMO_PAY").unwrap(), ServiceCode::parse("OTHER").unwrap());
        assert_eq!(account_digest(&s1, &a), account_digest(&s1, &a));
        assert_ne!(account_digest(&s1, &a), account_digest(&s2, &a));
        assert_eq!(account_digest(&s1, &a).len(), 32);
        let t = InquiryKey::ServiceAccount(s1, a).target();
        assert!(!t.contains("0123-4567"), "{t}");
    }
}
