//! People: the internal person id every program hangs off, the history of certificates
//! (issuer + serial) linked to a person, and whether the person has *lapsed* (every linked
//! certificate revoked or expired: they may read their data but not apply for anything new).
//!
//! Items (table `people`):
//! - `PERSON#<pid>` / `PROFILE`: `person_id`, `created_at`, `mykey_id` (the active one, if any);
//! - `PERSON#<pid>` / `CERT#<issuer>#<serial>`: `issuer`, `serial`, `not_after`, `not_before`
//!   (both recorded at sign-in), `linked_at`, `via`;
//! - `CERT#<issuer>#<serial>` / `LINK`: `person_id`: one person per certificate, by conditional put.

use time::OffsetDateTime;

use crate::caps::{Clocks, Revocations, Stores};
use crate::card_auth::anchors::IssuerId;
use crate::card_auth::certificate::CertSerial;
use crate::card_auth::revocation::{RevocationError, RevocationStatus};
use crate::ports::store::*;
use crate::tables::PEOPLE;

pub const PROFILE_SK: &str = "PROFILE";
pub const CERT_PREFIX: &str = "CERT#";
pub const LINK_SK: &str = "LINK";

/// The internal person id: 32 lowercase hex characters from a CSPRNG. Never shown to other
/// systems (they get a MyKey ID or a PPID).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonId(String);

impl PersonId {
    pub fn generate() -> PersonId {
        PersonId(uuid::Uuid::new_v4().simple().to_string())
    }
    pub fn parse(s: &str) -> Result<PersonId, String> {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(PersonId(s.to_owned()))
        } else {
            Err("a person id is 32 lowercase hex characters".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PersonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A certificate as linked to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRef {
    pub issuer: IssuerId,
    pub serial: CertSerial,
    /// End of validity, epoch seconds; unknown for a certificate linked by the renewal feed until
    /// its first sign-in.
    pub not_after: Option<i64>,
}

impl CertRef {
    /// `cert:<issuer>:<serial>`, the audit target naming a certificate.
    pub fn target(&self) -> String {
        format!("cert:{}:{}", self.issuer.as_str(), self.serial.as_str())
    }
}

/// How a certificate came to be linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedVia {
    /// First sign-in with a certificate nobody had: a new person.
    CardAuth,
    /// The renewal linkage feed said it succeeds a certificate of this person.
    Relink,
}

impl LinkedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkedVia::CardAuth => "card_auth",
            LinkedVia::Relink => "relink",
        }
    }
}

pub fn pk(pid: &PersonId) -> String {
    format!("PERSON#{pid}")
}
pub fn profile_key(pid: &PersonId) -> Key {
    Key::new(pk(pid), PROFILE_SK)
}
pub fn cert_sk(issuer: &IssuerId, serial: &CertSerial) -> String {
    format!("{CERT_PREFIX}{}#{}", issuer.as_str(), serial.as_str())
}
pub fn link_key(issuer: &IssuerId, serial: &CertSerial) -> Key {
    Key::new(cert_sk(issuer, serial), LINK_SK)
}

fn item(key: Key, attrs: Vec<(&str, Value)>) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), Value::S(key.pk));
    i.insert("sk".into(), Value::S(key.sk.unwrap_or_default()));
    for (k, v) in attrs {
        i.insert(k.into(), v);
    }
    i
}

/// The person a certificate is linked to, if any (one read).
pub async fn find_by_certificate(
    app: &impl Stores,
    issuer: &IssuerId,
    serial: &CertSerial,
) -> Result<Option<PersonId>, StoreError> {
    match app.store().get(&PEOPLE, &link_key(issuer, serial)).await? {
        None => Ok(None),
        Some(i) => Ok(Some(PersonId::parse(i.s("person_id")?).map_err(StoreError::Corrupt)?)),
    }
}

/// The writes linking `cert` to `pid`: the unique link (fails if the certificate already has a
/// person) and the person's history item.
pub fn link_ops(pid: &PersonId, cert: &CertRef, via: LinkedVia, now: OffsetDateTime) -> Vec<TxOp> {
    let at = crate::domain::time_fmt::to_store(now);
    vec![
        TxOp::Put {
            table: &PEOPLE,
            item: item(
                link_key(&cert.issuer, &cert.serial),
                vec![("person_id", pid.as_str().into()), ("linked_at", at.into())],
            ),
            cond: Some(Cond::not_exists("pk")),
        },
        history_op(pid, cert, via, now),
    ]
}

/// The write of a person's history item for `cert` (what a link adds under the person).
pub fn history_op(pid: &PersonId, cert: &CertRef, via: LinkedVia, now: OffsetDateTime) -> TxOp {
    TxOp::Put {
        table: &PEOPLE,
        item: item(
            Key::new(pk(pid), cert_sk(&cert.issuer, &cert.serial)),
            vec![
                ("issuer", cert.issuer.as_str().into()),
                ("serial", cert.serial.as_str().into()),
                ("linked_at", crate::domain::time_fmt::to_store(now).into()),
                ("via", via.as_str().into()),
            ]
            .into_iter()
            .chain(cert.not_after.map(|n| ("not_after", Value::N(n))))
            .collect(),
        ),
        cond: None,
    }
}

/// A transaction guard: the certificate is still linked to `pid`.
pub fn still_linked_op(pid: &PersonId, cert: &CertRef) -> TxOp {
    TxOp::Check { table: &PEOPLE, key: link_key(&cert.issuer, &cert.serial), cond: Cond::eq("person_id", pid.as_str()) }
}

/// The write recording a linked certificate's validity at sign-in (the renewal feed does not
/// carry it; `not_before` is kept as first recorded); recreates the history item if it were
/// missing.
pub fn touch_op(pid: &PersonId, cert: &CertRef, not_before: Option<i64>, now: OffsetDateTime) -> TxOp {
    let mut u = Update::new()
        .set_if_absent("issuer", cert.issuer.as_str())
        .set_if_absent("serial", cert.serial.as_str())
        .set_if_absent("linked_at", crate::domain::time_fmt::to_store(now))
        .set_if_absent("via", LinkedVia::CardAuth.as_str());
    if let Some(n) = cert.not_after {
        u = u.set("not_after", n);
    }
    if let Some(n) = not_before {
        u = u.set_if_absent("not_before", n);
    }
    TxOp::Update { table: &PEOPLE, key: Key::new(pk(pid), cert_sk(&cert.issuer, &cert.serial)), update: u, cond: None }
}

/// The writes creating a new person whose first certificate is `cert` (the link first: its
/// condition is what fails when another sign-in with the same certificate won the race).
pub fn create_ops(pid: &PersonId, cert: &CertRef, now: OffsetDateTime) -> Vec<TxOp> {
    create_ops_issued(pid, cert, None, now)
}

/// [`create_ops`], recording the certificate's notBefore (epoch seconds) on its history item:
/// what [`link_pending_until`] reads.
pub fn create_ops_issued(pid: &PersonId, cert: &CertRef, not_before: Option<i64>, now: OffsetDateTime) -> Vec<TxOp> {
    let mut ops = link_ops(pid, cert, LinkedVia::CardAuth, now);
    if let (Some(n), Some(TxOp::Put { item, .. })) = (not_before, ops.get_mut(1)) {
        item.insert("not_before".into(), Value::N(n));
    }
    ops.push(TxOp::Put {
        table: &PEOPLE,
        item: item(
            profile_key(pid),
            vec![("person_id", pid.as_str().into()), ("created_at", crate::domain::time_fmt::to_store(now).into())],
        ),
        cond: Some(Cond::not_exists("pk")),
    });
    ops
}

/// A person's profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: PersonId,
    pub created_at: String,
    /// The active MyKey ID, if the person has one.
    pub mykey_id: Option<String>,
}

impl Profile {
    pub fn from_item(i: &Item) -> Result<Profile, StoreError> {
        Ok(Profile {
            id: PersonId::parse(i.s("person_id")?).map_err(StoreError::Corrupt)?,
            created_at: i.s("created_at")?.to_owned(),
            mykey_id: i.opt_s("mykey_id").map(str::to_owned),
        })
    }
}

/// One read.
pub async fn profile(app: &impl Stores, pid: &PersonId) -> Result<Option<Profile>, StoreError> {
    app.store().get(&PEOPLE, &profile_key(pid)).await?.as_ref().map(Profile::from_item).transpose()
}

/// Every certificate linked to the person, oldest link first (one query per 100).
pub async fn certificates(app: &impl Stores, pid: &PersonId) -> Result<Vec<LinkedCertificate>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store()
            .query(Query::new(&PEOPLE, pk(pid)).sk(SkCond::BeginsWith(CERT_PREFIX.into())).limit(100).start(cursor))
            .await?;
        for i in &page.items {
            out.push(LinkedCertificate {
                cert: CertRef {
                    issuer: IssuerId::parse(i.s("issuer")?).map_err(StoreError::Corrupt)?,
                    serial: CertSerial::parse(i.s("serial")?).map_err(StoreError::Corrupt)?,
                    not_after: i.opt_n("not_after"),
                },
                linked_at: i.s("linked_at")?.to_owned(),
                via: i.s("via")?.to_owned(),
                not_before: i.opt_n("not_before"),
            });
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.sort_by(|a, b| a.linked_at.cmp(&b.linked_at));
    Ok(out)
}

/// A certificate in a person's history.
#[derive(Debug, Clone)]
pub struct LinkedCertificate {
    pub cert: CertRef,
    pub linked_at: String,
    pub via: String,
    /// Start of validity, epoch seconds, as recorded at sign-in (absent for a certificate linked
    /// by the renewal feed and not used yet, and for links older than this attribute).
    pub not_before: Option<i64>,
}

/// Until when (epoch seconds) a person must wait for a renewal linkage before creating a MyKey
/// ID or applying, or `None`: not waiting. `certs` are the person's history items as
/// `(via, not_before)`.
///
/// The rule: a person made by a first sign-in (`via` `card_auth`) with a certificate issued less
/// than `hold_secs` ago may be a renewed, reissued or smartphone certificate of somebody we
/// already know: the certificate tells us nothing more (its subject is an opaque `CN`: no name,
/// no birth date), only J-LIS's linkage feed can say. So that person waits until
/// `not_before + hold_secs`. When the feed links the certificate to an existing person (a merge),
/// the person made by the sign-in is gone and the certificate is `relink`ed under the old person:
/// nothing waits any more. When no feed row comes, the wait simply ends. Certificates linked by
/// the feed never make anyone wait, nor does a certificate without a recorded `not_before` (links
/// made before this rule; its next sign-in records it).
pub fn link_pending_until<'a>(
    certs: impl IntoIterator<Item = (&'a str, Option<i64>)>,
    hold_secs: i64,
    now: i64,
) -> Option<i64> {
    certs
        .into_iter()
        .filter(|(via, _)| *via == LinkedVia::CardAuth.as_str())
        .filter_map(|(_, nb)| nb.map(|n| n.saturating_add(hold_secs)))
        .filter(|until| *until > now)
        .max()
}

/// [`link_pending_until`] over the items of a person's partition (other items are ignored).
pub fn link_pending_until_items<'a>(
    items: impl IntoIterator<Item = &'a Item>,
    hold_secs: i64,
    now: i64,
) -> Option<i64> {
    let certs = items
        .into_iter()
        .filter(|i| i.opt_s("sk").is_some_and(|sk| sk.starts_with(CERT_PREFIX)))
        .map(|i| (i.opt_s("via").unwrap_or_default(), i.opt_n("not_before")));
    link_pending_until(certs, hold_secs, now)
}

/// Where a linked certificate stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertState {
    Valid,
    Expired,
    Revoked,
}

impl CertState {
    pub fn as_str(self) -> &'static str {
        match self {
            CertState::Valid => "valid",
            CertState::Expired => "expired",
            CertState::Revoked => "revoked",
        }
    }
}

/// A person's standing: lapsed when no linked certificate is valid.
#[derive(Debug, Clone)]
pub struct Standing {
    pub certificates: Vec<(LinkedCertificate, CertState)>,
}

impl Standing {
    pub fn lapsed(&self) -> bool {
        !self.certificates.iter().any(|(_, s)| *s == CertState::Valid)
    }

    /// [`link_pending_until`] of the person's certificates.
    pub fn link_pending_until(&self, hold_secs: i64, now: i64) -> Option<i64> {
        link_pending_until(self.certificates.iter().map(|(c, _)| (c.via.as_str(), c.not_before)), hold_secs, now)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Revocation(#[from] RevocationError),
}

/// Checks every linked certificate's expiry (injected clock) and revocation. One query plus a
/// revocation lookup per unexpired certificate. A certificate linked by the renewal feed and not
/// used yet has no known expiry; it counts as valid unless revoked.
pub async fn standing(app: &(impl Stores + Clocks + Revocations), pid: &PersonId) -> Result<Standing, StandingError> {
    let now = app.clock().epoch_secs();
    let mut out = Vec::new();
    for lc in certificates(app, pid).await? {
        let state = if lc.cert.not_after.is_some_and(|n| n < now) {
            CertState::Expired
        } else {
            match app.revocation().status(&lc.cert.issuer, &lc.cert.serial).await? {
                RevocationStatus::Good => CertState::Valid,
                RevocationStatus::Revoked { .. } => CertState::Revoked,
            }
        };
        out.push((lc, state));
    }
    Ok(Standing { certificates: out })
}

/// Refuses a lapsed person (for use cases that start something new: MyKey ID creation and
/// change, applications).
pub async fn require_not_lapsed(
    app: &(impl Stores + Clocks + Revocations),
    pid: &PersonId,
) -> Result<(), RequireError> {
    if standing(app, pid).await?.lapsed() { Err(RequireError::Lapsed) } else { Ok(()) }
}

#[derive(Debug, thiserror::Error)]
pub enum RequireError {
    #[error("every certificate linked to this person is revoked or expired")]
    Lapsed,
    #[error(transparent)]
    Standing(#[from] StandingError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_recent_first_sign_in_certificate_waits() {
        let day = 86_400;
        let hold = 7 * day;
        let now = 100 * day;
        let until = |certs: &[(&str, Option<i64>)]| link_pending_until(certs.iter().copied(), hold, now);
        assert_eq!(until(&[("card_auth", Some(now - day))]), Some(now + 6 * day));
        assert_eq!(until(&[("card_auth", Some(now - hold))]), None, "the hold has ended");
        assert_eq!(until(&[("card_auth", Some(now - 30 * day))]), None);
        assert_eq!(until(&[("relink", Some(now - day))]), None, "linked by the feed: known");
        assert_eq!(until(&[("card_auth", None)]), None, "recorded before the rule");
        assert_eq!(until(&[("card_auth", Some(now - 30 * day)), ("relink", Some(now))]), None);
        assert_eq!(link_pending_until([("card_auth", Some(now - day))], 0, now), None, "no hold configured");
    }
}
