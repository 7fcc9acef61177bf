//! Eligibility feeds: batch imports of the facts that decide who may apply for which measure —
//! health-insurance registrations and public-funds account registrations (from Mynaportal) and
//! the phase-1 points already received — resolved through the certificate links to the person and
//! stored under them (`people`: `PERSON#<pid>` / `ELIG#<kind>`, read by
//! [`eligibility_check`](super::eligibility_check)).
//!
//! # Feed formats (CSV, UTF-8)
//! One file per kind; the kind is named by the import (`POST /v1/ops/mynapoint/eligibility-feeds/{kind}`
//! or `mkpf-admin mynapoint import-eligibility <kind> <file>`).
//! ```text
//! health_insurance, public_funds_account:     phase1_points:
//! issuer,serial,registered_on                 issuer,serial,points
//! 1ac100f5…8a,0a1b2c,2022-07-01               1ac100f5…8a,0a1b2c,3200
//! ```
//! The header line is exactly as shown. `issuer` is the issuing root's key id (hex) and `serial`
//! the certificate serial (hex), as in the renewal linkage feed (`mykey::relink`); any certificate
//! the person ever signed in with (or that was re-linked to them) matches. `registered_on` is the
//! Asia/Tokyo date the registration was completed (`YYYY-MM-DD`); `points` the phase-1 points the
//! person received in all (0 to [`PHASE1_MAX_POINTS`]). CRLF line ends, a UTF-8 BOM, spaces around
//! fields and blank lines are tolerated; anything else wrong refuses the whole file, naming the
//! line. At most [`MAX_ROWS`] rows; a certificate may appear more than once.
//!
//! # The rule when facts meet
//! A fact only ever moves one way, so the order in which feeds, batches and re-link merges arrive
//! does not matter: a registration keeps its **earliest** `registered_on` (measure 3 asks whether
//! a registration was complete by the deadline, and a later re-registration — e.g. a changed bank
//! account — must not take that away; measure 2 only asks whether there is one), and phase-1
//! points keep the **largest** total (totals only grow as phase-1 grants arrive). A row that would
//! move a fact the other way is counted `unchanged`; correcting a wrong fact is a data patch. The
//! same rule folds a provisional person's facts into the person a renewal re-link merges it into
//! ([`carry_over_ops`]).
//!
//! # Processing
//! The pipeline of [`feeds`], each fact kind a [`FeedKind`]: an import is
//! identified by the SHA-256 of its kind and rows (`mkpf-eligibility-feed`, the kind, then
//! `issuer,serial,value` a line): importing the same file again returns the same import (and
//! re-sends any batch not yet processed); it is audited as `mynapoint.eligibility_feed_import`
//! (`efeed:<id>`), each batch as `mynapoint.eligibility_batch`. Rows go in batches of
//! [`BATCH_ROWS`] to the `mynapoint-eligibility` queue. A batch is one audited transaction: the
//! facts it changes, its done marker, the import's counters and its unmatched rows, so a
//! redelivered batch counts nothing twice. Each row ends as `recorded` (the person had no such
//! fact), `updated`, `unchanged`, or `unmatched` (no person has that certificate yet: reported,
//! never guessed, and the fact is **kept by certificate** until its first link).
//!
//! # Facts that arrive before their holder
//! An unmatched row's fact is kept under the certificate (`CERT#<issuer>#<serial>` /
//! `ELIG#<kind>`, joined by the rule above with what it already kept), on the condition that the
//! certificate is still unlinked. The transaction that first links the certificate — the first
//! sign-in creating its person (`card_auth::sign_in`), or a renewal re-link (`mykey::relink`) —
//! moves the kept facts into the person ([`adopt_ops`]), each kind conditioned on being as read
//! (absent kinds still absent). So a phase-1 total that arrives before its holder's first sign-in
//! caps their first application, and no file ever needs re-sending.
//!
//! Items (table `programs`): `EFEED#<id>` / `SUMMARY` (kind, counters), `EFEED#<id>` /
//! `BATCH#<n>` (done markers), `EFEED#<id>` / `ROW#<line>` (unmatched rows). Facts (table
//! `people`): `PERSON#<pid>` / `ELIG#<kind>` with `registered_on` or `points`, and `feed_id`;
//! kept facts: `CERT#<issuer>#<serial>` / `ELIG#<kind>`, the same attributes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use super::eligibility_check::{ELIG_PREFIX, FactKind};
use crate::audit::{self, Event};
use crate::caps::{Audits, Queues, Stores};
use crate::card_auth::anchors::IssuerId;
use crate::card_auth::certificate::CertSerial;
use crate::feeds::{self, Applied, Family, FeedKind};
use crate::mykey::person::{self, PersonId};
use crate::ports::queue::ConsumeError;
use crate::ports::store::*;
use crate::queues::MYNAPOINT_ELIGIBILITY;
use crate::tables::{PEOPLE, PROGRAMS};

pub use crate::feeds::{BATCH_ROWS, FeedError, MAX_REPORTED, MAX_ROWS};

/// The header of the two registration feeds.
pub const REGISTRATION_HEADER: &str = "issuer,serial,registered_on";
/// The header of the phase-1 points feed.
pub const POINTS_HEADER: &str = "issuer,serial,points";
/// Phase 1 granted at most this many points to one person.
pub const PHASE1_MAX_POINTS: i64 = 5_000;

/// The header line of a kind's feed.
pub fn header(kind: FactKind) -> &'static str {
    match kind {
        FactKind::HealthInsurance | FactKind::PublicFundsAccount => REGISTRATION_HEADER,
        FactKind::Phase1Points => POINTS_HEADER,
    }
}

const DATE_FMT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// One eligibility fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// A registration completed on this Asia/Tokyo date.
    RegisteredOn(Date),
    /// Phase-1 points received in all.
    Points(i64),
}

impl Fact {
    /// The fact that stands when `self` and `other` meet (see the module doc): the earlier
    /// registration, the larger points total.
    pub fn join(self, other: Fact) -> Fact {
        match (self, other) {
            (Fact::RegisteredOn(a), Fact::RegisteredOn(b)) => Fact::RegisteredOn(a.min(b)),
            (Fact::Points(a), Fact::Points(b)) => Fact::Points(a.max(b)),
            (a, _) => a,
        }
    }

    /// The attribute this fact is stored in.
    pub fn attr(kind: FactKind) -> &'static str {
        match kind {
            FactKind::HealthInsurance | FactKind::PublicFundsAccount => "registered_on",
            FactKind::Phase1Points => "points",
        }
    }

    fn value(self) -> Value {
        match self {
            Fact::RegisteredOn(d) => Value::S(d.format(DATE_FMT).unwrap_or_default()),
            Fact::Points(n) => Value::N(n),
        }
    }

    /// The fact of a stored `ELIG#<kind>` item, if it holds a well-formed one.
    pub fn from_item(kind: FactKind, i: &Item) -> Option<Fact> {
        match kind {
            FactKind::HealthInsurance | FactKind::PublicFundsAccount => {
                i.opt_s("registered_on").and_then(|s| Date::parse(s, DATE_FMT).ok()).map(Fact::RegisteredOn)
            }
            FactKind::Phase1Points => i.opt_n("points").map(Fact::Points),
        }
    }
}

/// `PERSON#<pid>` / `ELIG#<kind>`.
pub fn fact_key(pid: &PersonId, kind: FactKind) -> Key {
    Key::new(person::pk(pid), kind.sk())
}

/// `CERT#<issuer>#<serial>` / `ELIG#<kind>`: a fact kept by certificate until the certificate is
/// first linked to a person (beside the certificate's `LINK` item, which does not exist yet).
pub fn kept_key(issuer: &IssuerId, serial: &CertSerial, kind: FactKind) -> Key {
    Key::new(person::cert_sk(issuer, serial), kind.sk())
}

/// The stored form of a fact.
pub fn fact_item(pid: &PersonId, kind: FactKind, fact: Fact, feed_id: &str) -> Item {
    fact_item_at(&fact_key(pid, kind), kind, fact, feed_id)
}

fn fact_item_at(key: &Key, kind: FactKind, fact: Fact, feed_id: &str) -> Item {
    let mut i = PEOPLE.key_item(key);
    i.insert(Fact::attr(kind).into(), fact.value());
    i.insert("feed_id".into(), feed_id.into());
    i
}

/// The condition that a fact item is still as it was read (`None`: absent).
fn unchanged_since(kind: FactKind, read: Option<&Item>) -> Cond {
    let attr = Fact::attr(kind);
    match read {
        None => Cond::not_exists("pk"),
        Some(i) => match i.get(attr) {
            Some(v) => Cond::Cmp(attr.into(), CmpOp::Eq, v.clone()),
            None => Cond::exists("pk").and(Cond::not_exists(attr)),
        },
    }
}

/// One row of a feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRow {
    /// 1-based line in the file.
    pub line: u32,
    pub issuer: String,
    pub serial: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

impl FeedRow {
    /// The fact the row states (rows are checked when the feed is parsed; a row that does not
    /// hold one was altered on the way).
    pub fn fact(&self) -> Result<Fact, StoreError> {
        match (&self.registered_on, self.points) {
            (Some(d), None) => Date::parse(d, DATE_FMT)
                .map(Fact::RegisteredOn)
                .map_err(|_| StoreError::Corrupt(format!("feed row {}: bad date", self.line))),
            (None, Some(p)) => Ok(Fact::Points(p)),
            _ => Err(StoreError::Corrupt(format!("feed row {}: no fact", self.line))),
        }
    }
}

/// One queued batch of an import (`kind`: `health_insurance`, `public_funds_account` or
/// `phase1_points`).
pub type Batch = feeds::Batch<FeedRow>;
/// A feed that parsed: its id, kind and rows.
pub type Feed = feeds::Feed<FactKind>;
pub type ImportError = feeds::ImportError<FactKind>;

impl feeds::Row for FeedRow {
    fn line(&self) -> u32 {
        self.line
    }
    fn id_line(&self) -> String {
        let value = self.registered_on.clone().or(self.points.map(|p| p.to_string())).unwrap_or_default();
        format!("{},{},{value}", self.issuer, self.serial)
    }
}

/// Each fact kind is a kind of feed of the `EFEED` family.
impl FeedKind for FactKind {
    type Row = FeedRow;
    type Outcome = RowOutcome;
    const FAMILY: Family = Family {
        table: &PROGRAMS,
        prefix: "EFEED",
        queue: &MYNAPOINT_ELIGIBILITY,
        name: "eligibility",
        import_event: "mynapoint.eligibility_feed_import",
        target: "efeed",
    };

    fn kind(&self) -> Option<&'static str> {
        Some(self.as_str())
    }

    fn of_batch(kind: Option<&str>) -> Result<FactKind, StoreError> {
        let kind = kind.unwrap_or_default();
        FactKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("unknown fact kind {kind:?}")))
    }

    fn header(&self) -> &'static str {
        header(*self)
    }

    fn wrong_header(&self, first: Option<&str>) -> String {
        let expected = header(*self);
        match first {
            Some(h) if [REGISTRATION_HEADER, POINTS_HEADER].contains(&h) => {
                format!("a {} feed starts with `{expected}`; is this the right kind?", self.as_str())
            }
            _ => format!("the first line must be exactly `{expected}`"),
        }
    }

    fn parse_row(&self, line: u32, f: &[String]) -> Result<FeedRow, String> {
        let issuer = IssuerId::parse(&f[0]).map_err(|e| format!("field 1: {e}"))?;
        let serial = CertSerial::parse(&f[1]).map_err(|e| format!("field 2: {e}"))?;
        let (registered_on, points) = match self {
            FactKind::HealthInsurance | FactKind::PublicFundsAccount => {
                let d = Date::parse(&f[2], DATE_FMT)
                    .map_err(|_| "field 3: expected a date YYYY-MM-DD (Asia/Tokyo)".to_owned())?;
                (Some(d.format(DATE_FMT).unwrap_or_default()), None)
            }
            FactKind::Phase1Points => {
                let p = Some(f[2].as_str())
                    .filter(|s| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<i64>().ok())
                    .filter(|p| *p <= PHASE1_MAX_POINTS)
                    .ok_or_else(|| format!("field 3: expected whole points from 0 to {PHASE1_MAX_POINTS}"))?;
                (None, Some(p))
            }
        };
        Ok(FeedRow { line, issuer: issuer.as_str().into(), serial: serial.as_str().into(), registered_on, points })
    }

    fn id_salt(&self) -> String {
        format!("mkpf-eligibility-feed\n{}\n", self.as_str())
    }

    /// The whole batch is one audited transaction (`apply_batch`).
    async fn apply(
        &self,
        app: &impl Stores,
        _ctx: &audit::Context,
        feed_id: &str,
        batch: u32,
        rows: &[FeedRow],
    ) -> Result<Applied<RowOutcome>, StoreError> {
        apply_batch(app, *self, feed_id, batch, rows).await
    }
}

/// Parses and checks a whole feed of `kind`.
pub fn parse_feed(kind: FactKind, text: &str) -> Result<Feed, FeedError> {
    feeds::parse(kind, text)
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    Recorded,
    Updated,
    Unchanged,
    Unmatched,
}

impl RowOutcome {
    pub const ALL: [RowOutcome; 4] =
        [RowOutcome::Recorded, RowOutcome::Updated, RowOutcome::Unchanged, RowOutcome::Unmatched];
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Recorded => "recorded",
            RowOutcome::Updated => "updated",
            RowOutcome::Unchanged => "unchanged",
            RowOutcome::Unmatched => "unmatched",
        }
    }
}

impl feeds::Outcome for RowOutcome {
    const ALL: &'static [RowOutcome] = &RowOutcome::ALL;
    fn as_str(self) -> &'static str {
        self.as_str()
    }
    /// Unmatched rows are reported.
    fn reported(self) -> bool {
        self == RowOutcome::Unmatched
    }
}

/// A fact kept by a certificate, while a batch runs: the item as read, the fact as read, and the
/// fact after the batch's rows so far.
type KeptFact = (Option<Item>, Option<Fact>, Option<Fact>);

/// Reads what a batch's rows meet and works out their outcomes and writes: resolves each row's
/// certificate to its person and joins the row's fact with what the person has (or what the
/// certificate keeps). The writes — the changed facts, conditioned on being as read, and a check
/// that each link is as read — commit with the batch's done marker, counters and unmatched rows
/// in one audited transaction; if any changed meanwhile, the pipeline calls this again.
async fn apply_batch(
    app: &impl Stores,
    kind: FactKind,
    feed_id: &str,
    batch: u32,
    rows: &[FeedRow],
) -> Result<Applied<RowOutcome>, StoreError> {
    let facts = rows.iter().map(FeedRow::fact).collect::<Result<Vec<_>, _>>()?;
    let mut certs = Vec::with_capacity(rows.len());
    for r in rows {
        let issuer = IssuerId::parse(&r.issuer).map_err(StoreError::Corrupt)?;
        let serial = CertSerial::parse(&r.serial).map_err(StoreError::Corrupt)?;
        certs.push((issuer, serial));
    }
    // Each certificate's person, as read now; the transaction checks that the links did not move
    // meanwhile (a re-link merge, a first sign-in), else the batch is read again.
    let mut resolved: BTreeMap<Key, Option<PersonId>> = BTreeMap::new();
    let mut owners = Vec::with_capacity(rows.len());
    for (issuer, serial) in &certs {
        let link = person::link_key(issuer, serial);
        let owner = match resolved.get(&link) {
            Some(o) => o.clone(),
            None => {
                let o = person::find_by_certificate(app, issuer, serial).await?;
                resolved.insert(link, o.clone());
                o
            }
        };
        owners.push(owner);
    }
    // pid → (person, the item as read, the fact as it stands after the rows so far)
    let mut people: BTreeMap<String, (PersonId, Option<Item>, Option<Fact>)> = BTreeMap::new();
    for pid in owners.iter().flatten() {
        if !people.contains_key(pid.as_str()) {
            let read = app.store().get(&PEOPLE, &fact_key(pid, kind)).await?;
            let fact = read.as_ref().and_then(|i| Fact::from_item(kind, i));
            people.insert(pid.as_str().to_owned(), (pid.clone(), read, fact));
        }
    }
    let before: BTreeMap<String, Option<Fact>> = people.iter().map(|(k, v)| (k.clone(), v.2)).collect();
    // A certificate nobody has yet keeps its fact (`CERT#…` / `ELIG#<kind>`) until its first link
    // joins it to the person (`adopt_ops`): kept key → (item as read, fact before, fact after the
    // rows so far).
    let mut kept: BTreeMap<Key, KeptFact> = BTreeMap::new();
    for ((issuer, serial), owner) in certs.iter().zip(&owners) {
        let key = kept_key(issuer, serial, kind);
        if owner.is_none() && !kept.contains_key(&key) {
            let read = app.store().get(&PEOPLE, &key).await?;
            let fact = read.as_ref().and_then(|i| Fact::from_item(kind, i));
            kept.insert(key, (read, fact, fact));
        }
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    for (((issuer, serial), owner), fact) in certs.iter().zip(&owners).zip(&facts) {
        let Some(pid) = owner else {
            if let Some(entry) = kept.get_mut(&kept_key(issuer, serial, kind)) {
                entry.2 = Some(entry.2.map_or(*fact, |cur| cur.join(*fact)));
            }
            outcomes.push(RowOutcome::Unmatched);
            continue;
        };
        let Some(entry) = people.get_mut(pid.as_str()) else {
            outcomes.push(RowOutcome::Unmatched);
            continue;
        };
        let (outcome, next) = match entry.2 {
            None => (RowOutcome::Recorded, *fact),
            Some(cur) if cur.join(*fact) == cur => (RowOutcome::Unchanged, cur),
            Some(cur) => (RowOutcome::Updated, cur.join(*fact)),
        };
        entry.2 = Some(next);
        outcomes.push(outcome);
    }
    let mut ops = Vec::new();
    for (link, owner) in &resolved {
        let cond = match owner {
            Some(pid) => Cond::eq("person_id", pid.as_str()),
            None => Cond::not_exists("pk"),
        };
        ops.push(TxOp::Check { table: &PEOPLE, key: link.clone(), cond });
    }
    let mut targets = vec![format!("efeed:{feed_id}")];
    for (k, (pid, read, fact)) in &people {
        if let Some(f) = fact
            && before.get(k) != Some(&Some(*f))
        {
            ops.push(TxOp::Put {
                table: &PEOPLE,
                item: fact_item(pid, kind, *f, feed_id),
                cond: Some(unchanged_since(kind, read.as_ref())),
            });
            targets.push(format!("person:{pid}"));
        }
    }
    for (key, (read, was, now)) in &kept {
        if let Some(f) = now
            && was != now
        {
            ops.push(TxOp::Put {
                table: &PEOPLE,
                item: fact_item_at(key, kind, *f, feed_id),
                cond: Some(unchanged_since(kind, read.as_ref())),
            });
        }
    }
    let count = |o: RowOutcome| outcomes.iter().filter(|x| **x == o).count();
    let event = Event::success("mynapoint.eligibility_batch", targets).with_detail(serde_json::json!({
        "kind": kind.as_str(),
        "batch": batch,
        "recorded": count(RowOutcome::Recorded),
        "updated": count(RowOutcome::Updated),
        "unchanged": count(RowOutcome::Unchanged),
        "unmatched": count(RowOutcome::Unmatched),
    }));
    Ok(Applied { outcomes, ops, event: Some(event) })
}

/// Applies a batch and records it done (see [`feeds::process_batch`]); a redelivered batch finds
/// its marker and changes nothing.
pub async fn process_batch(
    app: &(impl Audits + Queues),
    ctx: &audit::Context,
    b: &Batch,
) -> Result<Vec<RowOutcome>, StoreError> {
    feeds::process_batch::<FactKind>(app, ctx, b).await
}

/// The `mynapoint-eligibility` consumer.
pub async fn handle(app: &(impl Audits + Queues), body: &str) -> Result<(), ConsumeError> {
    feeds::handle::<FactKind>(app, body).await
}

/// The writes folding `from`'s eligibility facts (`items`: its `ELIG#…` items as read) into
/// `into`'s, under the rule of the module doc, and removing them from `from` — for a renewal
/// re-link that merges a provisional person (see `mykey::relink`). Every fact item involved is
/// conditioned on being as read here (`from`'s kinds that were absent must still be absent), so
/// a feed batch writing meanwhile makes the merge look again instead of losing its fact. Six
/// actions at most (and one per item of a kind this version does not know).
pub async fn carry_over_ops(
    app: &impl Stores,
    from: &PersonId,
    into: &PersonId,
    items: &[Item],
) -> Result<Vec<TxOp>, StoreError> {
    fold_ops(app, &person::pk(from), into, items, false).await
}

/// The facts kept by a certificate that no person had when its feed rows arrived (its
/// `ELIG#<kind>` items; one query), for [`adopt_ops`].
pub async fn kept_facts(app: &impl Stores, issuer: &IssuerId, serial: &CertSerial) -> Result<Vec<Item>, StoreError> {
    let q = Query::new(&PEOPLE, person::cert_sk(issuer, serial)).sk(SkCond::BeginsWith(ELIG_PREFIX.into()));
    query_all(app.store().as_ref(), q).await
}

/// The writes joining the facts a certificate kept (`items`, from [`kept_facts`]) to the person
/// it is now being linked to, in the transaction of that link (a first sign-in creating the
/// person, `new_person`, or a re-link), and removing them from the certificate. Each kept kind is
/// conditioned on being as read, and each absent kind on still being absent, so a feed batch
/// keeping a fact meanwhile makes the link look again instead of leaving the fact behind (the
/// batch itself checks that the certificate is still unlinked). Six actions at most.
pub async fn adopt_ops(
    app: &impl Stores,
    issuer: &IssuerId,
    serial: &CertSerial,
    into: &PersonId,
    items: &[Item],
    new_person: bool,
) -> Result<Vec<TxOp>, StoreError> {
    fold_ops(app, &person::cert_sk(issuer, serial), into, items, new_person).await
}

/// The writes folding the fact items `items` of partition `from_pk` into `into`'s facts (read
/// unless `into_is_new`), deleting them from `from_pk`.
async fn fold_ops(
    app: &impl Stores,
    from_pk: &str,
    into: &PersonId,
    items: &[Item],
    into_is_new: bool,
) -> Result<Vec<TxOp>, StoreError> {
    let from_key = |kind: FactKind| Key::new(from_pk, kind.sk());
    let mut ops = Vec::new();
    for i in items {
        // A kind this version does not know: nothing to join it with; it goes with the person.
        if i.opt_s("sk").and_then(|sk| sk.strip_prefix(ELIG_PREFIX)).is_some_and(|k| FactKind::parse(k).is_none()) {
            ops.push(TxOp::Delete { table: &PEOPLE, key: PEOPLE.key_of(i)?, cond: None });
        }
    }
    for kind in FactKind::ALL {
        let Some(i) = items.iter().find(|i| i.opt_s("sk") == Some(kind.sk().as_str())) else {
            ops.push(TxOp::Check { table: &PEOPLE, key: from_key(kind), cond: Cond::not_exists("pk") });
            continue;
        };
        if let Some(incoming) = Fact::from_item(kind, i) {
            let read = if into_is_new { None } else { app.store().get(&PEOPLE, &fact_key(into, kind)).await? };
            let current = read.as_ref().and_then(|r| Fact::from_item(kind, r));
            let joined = current.map_or(incoming, |c| c.join(incoming));
            if current != Some(joined) {
                let feed_id = i.opt_s("feed_id").unwrap_or("relink");
                ops.push(TxOp::Put {
                    table: &PEOPLE,
                    item: fact_item(into, kind, joined, feed_id),
                    cond: Some(unchanged_since(kind, read.as_ref())),
                });
            }
        }
        ops.push(TxOp::Delete { table: &PEOPLE, key: from_key(kind), cond: Some(unchanged_since(kind, Some(i))) });
    }
    Ok(ops)
}

/// An import's progress and report.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    /// 32 hex digits, derived from the kind and the rows (the same file gives the same id).
    pub feed_id: String,
    /// `health_insurance`, `public_funds_account` or `phase1_points`.
    pub kind: String,
    pub rows: i64,
    pub batches: i64,
    pub batches_done: i64,
    /// `processing` or `done`.
    pub status: String,
    /// Rows that gave a person a fact they did not have.
    pub recorded: i64,
    /// Rows that changed a person's fact (an earlier registration, a larger phase-1 total).
    pub updated: i64,
    /// Rows that changed nothing (the fact was already on record, or a later/smaller one).
    pub unchanged: i64,
    /// Rows whose certificate is linked to nobody yet (their facts are kept by certificate and
    /// join the person when the certificate is first linked).
    pub unmatched: i64,
    /// The unmatched rows, by line (at most 1000).
    pub unmatched_rows: Vec<UnmatchedRow>,
    /// When the import was recorded, RFC 3339 (Asia/Tokyo).
    pub created_at: String,
}

/// A row whose certificate is linked to nobody.
#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedRow {
    pub line: u32,
    pub issuer: String,
    pub serial: String,
}

impl FeedView {
    fn new(kind: FactKind, s: feeds::Summary<FactKind>) -> FeedView {
        FeedView {
            recorded: s.count(RowOutcome::Recorded),
            updated: s.count(RowOutcome::Updated),
            unchanged: s.count(RowOutcome::Unchanged),
            unmatched: s.count(RowOutcome::Unmatched),
            feed_id: s.feed_id,
            kind: kind.as_str().into(),
            rows: s.rows,
            batches: s.batches,
            batches_done: s.batches_done,
            status: s.status.into(),
            unmatched_rows: s
                .reported
                .into_iter()
                .map(|r| UnmatchedRow { line: r.row.line, issuer: r.row.issuer, serial: r.row.serial })
                .collect(),
            created_at: s.created_at,
        }
    }
}

/// Imports a feed for background processing: records it and queues its pending batches.
/// Importing the same feed again re-queues what is not done (batches are idempotent). `true`
/// when the import is new.
pub async fn import_feed(
    app: &(impl Audits + Queues),
    ctx: &audit::Context,
    kind: FactKind,
    text: &str,
) -> Result<(FeedView, bool), ImportError> {
    let (summary, created) = feeds::import(app, ctx, kind, text).await?;
    Ok((FeedView::new(kind, summary), created))
}

/// An import of `kind`, if it exists.
pub async fn view(app: &impl Stores, kind: FactKind, feed_id: &str) -> Result<Option<FeedView>, StoreError> {
    let summary = feeds::summary(app, &kind, feed_id).await?;
    Ok(summary.map(|s| FeedView::new(kind, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const I: &str = "1ac100f596a3bc8c4b3df195e32699249e9e308a";

    #[test]
    fn parses_feeds_and_names_bad_lines() {
        let ok = format!("\u{feff}{REGISTRATION_HEADER}\r\n {I} , 0A1B ,2022-07-01\r\n\r\n{I},0d4e,2023-09-30\n");
        let f = parse_feed(FactKind::HealthInsurance, &ok).unwrap();
        assert_eq!(f.rows.len(), 2);
        assert_eq!((f.rows[0].line, f.rows[0].serial.as_str()), (2, "a1b"));
        assert_eq!(f.rows[1].line, 4);
        assert_eq!(f.rows[0].fact().unwrap(), Fact::RegisteredOn(date!(2022 - 07 - 01)));
        assert_eq!(parse_feed(FactKind::HealthInsurance, &ok).unwrap().id, f.id, "the id depends on the rows");
        let other = parse_feed(FactKind::PublicFundsAccount, &ok).unwrap();
        assert_ne!(other.id, f.id, "and on the kind");
        let pts = parse_feed(FactKind::Phase1Points, &format!("{POINTS_HEADER}\n{I},1,3200\n{I},2,0\n")).unwrap();
        assert_eq!(pts.rows[0].fact().unwrap(), Fact::Points(3200));
        // A spreadsheet export quotes every field: the same feed, the same id.
        let quoted = format!("\"issuer\",\"serial\",\"points\"\r\n\"{I}\",\"1\",\"3200\"\r\n\"{I}\",\"2\",\"0\"\r\n");
        assert_eq!(parse_feed(FactKind::Phase1Points, &quoted).unwrap().id, pts.id, "RFC 4180 quoting");

        let cases = [
            (FactKind::HealthInsurance, "issuer,serial\n".to_owned(), 1),
            (FactKind::Phase1Points, format!("{REGISTRATION_HEADER}\n{I},1,2022-07-01\n"), 1),
            (FactKind::HealthInsurance, format!("{REGISTRATION_HEADER}\n"), 2),
            (FactKind::HealthInsurance, format!("{REGISTRATION_HEADER}\n{I},1\n"), 2),
            (FactKind::HealthInsurance, format!("{REGISTRATION_HEADER}\n{I},1,2022-07-01\n{I},zz,2022-07-01\n"), 3),
            (FactKind::HealthInsurance, format!("{REGISTRATION_HEADER}\n{I},1,20220701\n"), 2),
            (FactKind::PublicFundsAccount, format!("{REGISTRATION_HEADER}\nnot-hex,1,2022-07-01\n"), 2),
            (FactKind::Phase1Points, format!("{POINTS_HEADER}\n{I},1,5001\n"), 2),
            (FactKind::Phase1Points, format!("{POINTS_HEADER}\n{I},1,-3\n"), 2),
            (FactKind::Phase1Points, format!("{POINTS_HEADER}\n{I},1,1e3\n"), 2),
            (FactKind::Phase1Points, format!("{POINTS_HEADER}\n{I},1,\n"), 2),
        ];
        for (kind, text, line) in cases {
            assert_eq!(parse_feed(kind, &text).unwrap_err().line, line, "{text}");
        }
    }

    #[test]
    fn facts_move_one_way_whatever_the_order() {
        let (early, late) = (Fact::RegisteredOn(date!(2022 - 07 - 01)), Fact::RegisteredOn(date!(2023 - 11 - 15)));
        assert_eq!(early.join(late), early);
        assert_eq!(late.join(early), early);
        assert_eq!(Fact::Points(3200).join(Fact::Points(1000)), Fact::Points(3200));
        assert_eq!(Fact::Points(1000).join(Fact::Points(3200)), Fact::Points(3200));
        let pid = PersonId::parse(&"a".repeat(32)).unwrap();
        let item = fact_item(&pid, FactKind::PublicFundsAccount, early, "f");
        assert_eq!(item.get("registered_on"), Some(&Value::S("2022-07-01".into())));
        assert_eq!(Fact::from_item(FactKind::PublicFundsAccount, &item), Some(early));
        // What eligibility_check reads is what is written.
        let facts = crate::mynapoint::eligibility_check::Facts::from_items([&item]);
        assert_eq!(facts.public_funds_account_registered_on, Some(date!(2022 - 07 - 01)));
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_names_a_line(body in "[0-9a-fA-F,:\\-\r\n ]{0,300}", junk in ".{0,80}") {
            for kind in FactKind::ALL {
                let h = header(kind);
                for text in [format!("{h}\n{body}"), format!("{h}\n{junk}\n{body}"), body.clone()] {
                    match parse_feed(kind, &text) {
                        Ok(feed) => {
                            proptest::prop_assert!(!feed.rows.is_empty());
                            proptest::prop_assert_eq!(feed.id.len(), 32);
                        }
                        Err(e) => proptest::prop_assert!(e.line >= 1 && e.line as usize <= text.split('\n').count() + 1),
                    }
                }
            }
        }

        #[test]
        fn join_is_a_semilattice(a in 0i64..6000, b in 0i64..6000, c in 0i64..6000) {
            let (a, b, c) = (Fact::Points(a), Fact::Points(b), Fact::Points(c));
            proptest::prop_assert_eq!(a.join(b), b.join(a));
            proptest::prop_assert_eq!(a.join(b).join(c), a.join(b.join(c)));
            proptest::prop_assert_eq!(a.join(a), a);
        }
    }
}
