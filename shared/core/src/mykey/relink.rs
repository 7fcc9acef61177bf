//! Renewal re-link: J-LIS tells a verifier that a certificate was succeeded by another one (card
//! renewal or reissue); we import that *linkage feed* and link each new certificate to the person
//! of the old one, so the person keeps their MyKey ID and everything hanging off it.
//!
//! # Feed format (CSV, UTF-8)
//! ```text
//! old_issuer,old_serial,new_issuer,new_serial,linked_on
//! 1ac100f596a3bc8c4b3df195e32699249e9e308a,0a1b2c,1ac100f596a3bc8c4b3df195e32699249e9e308a,0d4e5f,2026-11-20
//! ```
//! The header line is exactly as shown. `*_issuer` is the issuing root's key id (hex, as in
//! `GET /v1/ops/card-auth/crls`), `*_serial` the certificate serial (hex), `linked_on` the JST
//! date of the succession. CRLF line ends, a UTF-8 BOM and blank lines are tolerated; anything
//! else wrong refuses the whole file, naming the line. At most [`MAX_ROWS`] rows.
//!
//! # Processing
//! The pipeline of [`feeds`]: an import is identified by the SHA-256 of its rows
//! (`old_issuer,old_serial,new_issuer,new_serial,linked_on` a line, nothing before them):
//! importing the same feed again returns the same import (and re-sends any batch not yet
//! processed). Rows go in batches of [`BATCH_ROWS`] to the `card-relink` queue; each batch is
//! applied row by row (each link one audited transaction, [`apply_row`]) and then marked done
//! together with the import's counters in one transaction, so a redelivered batch counts nothing
//! twice. The import is audited as `card.linkage_feed_import` (`feed:<id>`). Each row ends as:
//! - `linked`: the new certificate now reaches the old one's person (with any eligibility facts
//!   that feeds had kept by the new certificate, joined in the same transaction); or, when nobody
//!   has the old certificate but somebody has the new one (a smartphone certificate or renewed
//!   card used here before its predecessor ever was), the old certificate now reaches the new
//!   one's person, so a later first sign-in with it cannot make a second person;
//! - `already_linked`: it already did (re-import, or a duplicate row);
//! - `merged`: the new certificate had signed in before the feed arrived and so had made a
//!   person of its own; that person had no MyKey ID ever (so no program data, which always hangs
//!   off a MyKey ID), and is folded into the old one (its sessions end). Eligibility facts are the
//!   exception: feeds bring them for a certificate before its holder has a MyKey ID, so they are
//!   carried over, each kind kept by the rule of `mynapoint::eligibility` (the earliest
//!   registration, the largest phase-1 total), whatever order feed and re-link came in;
//! - `unknown`: no person has either certificate; reported, never guessed;
//! - `conflict`: the new certificate belongs to another person who has (or had) a MyKey ID;
//!   reported for an operator to resolve with a data patch. A person made by a recently issued
//!   certificate may not create a MyKey ID for `MKPF_RELINK_HOLD_DAYS` after its notBefore
//!   (`person::link_pending_until`), so a renewal whose row arrives within that hold is always
//!   `merged`: one human never holds two live applications for one measure; a conflict means the
//!   row came later than the hold.
//!
//! Items (table `card-auth`): `FEED#<id>` / `SUMMARY` (counters), `FEED#<id>` / `BATCH#<n>`
//! (done markers), `FEED#<id>` / `ROW#<line>` (the unknown and conflict rows, with `outcome`).

use serde::{Deserialize, Serialize};
use time::Date;

use super::person::{self, CertRef, LinkedVia, PersonId};
use crate::audit::{self, Event};
use crate::caps::{Audits, Clocks, Queues, Stores};
use crate::card_auth::anchors::IssuerId;
use crate::card_auth::certificate::CertSerial;
use crate::card_auth::sessions;
use crate::feeds::{self, Applied, Family, FeedKind};
use crate::mynapoint::eligibility;
use crate::ports::queue::ConsumeError;
use crate::ports::store::*;
use crate::queues::CARD_RELINK;
use crate::tables::{CARD_AUTH, PEOPLE};

pub use crate::feeds::{BATCH_ROWS, FeedError, MAX_ROWS};

pub const HEADER: &str = "old_issuer,old_serial,new_issuer,new_serial,linked_on";

/// The linkage feed, as a kind of [`feeds`] feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relink;

/// A feed that parsed: its id and rows.
pub type Feed = feeds::Feed<Relink>;
/// One queued batch of an import.
pub type Batch = feeds::Batch<FeedRow>;
pub type ImportError = feeds::ImportError<Relink>;

/// One succession.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRow {
    /// 1-based line in the file.
    pub line: u32,
    pub old_issuer: String,
    pub old_serial: String,
    pub new_issuer: String,
    pub new_serial: String,
    pub linked_on: String,
}

impl feeds::Row for FeedRow {
    fn line(&self) -> u32 {
        self.line
    }
    fn id_line(&self) -> String {
        format!("{},{},{},{},{}", self.old_issuer, self.old_serial, self.new_issuer, self.new_serial, self.linked_on)
    }
}

impl FeedKind for Relink {
    type Row = FeedRow;
    type Outcome = RowOutcome;
    const FAMILY: Family = Family {
        table: &CARD_AUTH,
        prefix: "FEED",
        queue: &CARD_RELINK,
        name: "relink",
        import_event: "card.linkage_feed_import",
        target: "feed",
    };

    fn of_batch(_kind: Option<&str>) -> Result<Relink, StoreError> {
        Ok(Relink)
    }

    fn header(&self) -> &'static str {
        HEADER
    }

    fn parse_row(&self, line: u32, f: &[String]) -> Result<FeedRow, String> {
        let issuer = |i: usize| IssuerId::parse(&f[i]).map_err(|e| format!("field {}: {e}", i + 1));
        let serial = |i: usize| CertSerial::parse(&f[i]).map_err(|e| format!("field {}: {e}", i + 1));
        let (oi, os, ni, ns) = (issuer(0)?, serial(1)?, issuer(2)?, serial(3)?);
        let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
        let on = Date::parse(&f[4], &date_fmt).map_err(|_| "field 5: expected a date YYYY-MM-DD".to_owned())?;
        if oi == ni && os == ns {
            return Err("the old and new certificates are the same".into());
        }
        Ok(FeedRow {
            line,
            old_issuer: oi.as_str().into(),
            old_serial: os.as_str().into(),
            new_issuer: ni.as_str().into(),
            new_serial: ns.as_str().into(),
            linked_on: on.to_string(),
        })
    }

    /// Each row is its own audited transaction ([`apply_row`]); the batch's marker and counters
    /// commit after them.
    async fn apply(
        &self,
        app: &impl Audits,
        ctx: &audit::Context,
        feed_id: &str,
        _batch: u32,
        rows: &[FeedRow],
    ) -> Result<Applied<RowOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            outcomes.push(apply_row(app, ctx, feed_id, row).await?);
        }
        Ok(Applied::outcomes(outcomes))
    }
}

/// Parses and checks a whole feed.
pub fn parse_feed(text: &str) -> Result<Feed, FeedError> {
    feeds::parse(Relink, text)
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    Linked,
    AlreadyLinked,
    Merged,
    Unknown,
    Conflict,
}

impl feeds::Outcome for RowOutcome {
    const ALL: &'static [RowOutcome] =
        &[RowOutcome::Linked, RowOutcome::AlreadyLinked, RowOutcome::Merged, RowOutcome::Unknown, RowOutcome::Conflict];
    fn as_str(self) -> &'static str {
        self.as_str()
    }
    /// Unknown and conflict rows are reported.
    fn reported(self) -> bool {
        matches!(self, RowOutcome::Unknown | RowOutcome::Conflict)
    }
}

impl RowOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Linked => "linked",
            RowOutcome::AlreadyLinked => "already_linked",
            RowOutcome::Merged => "merged",
            RowOutcome::Unknown => "unknown",
            RowOutcome::Conflict => "conflict",
        }
    }
}

fn cert_of(issuer: &str, serial: &str) -> Result<CertRef, StoreError> {
    Ok(CertRef {
        issuer: IssuerId::parse(issuer).map_err(StoreError::Corrupt)?,
        serial: CertSerial::parse(serial).map_err(StoreError::Corrupt)?,
        not_after: None,
    })
}

/// Applies one row (idempotent).
pub async fn apply_row(
    app: &impl Audits,
    ctx: &audit::Context,
    feed_id: &str,
    row: &FeedRow,
) -> Result<RowOutcome, StoreError> {
    let old = cert_of(&row.old_issuer, &row.old_serial)?;
    let new = cert_of(&row.new_issuer, &row.new_serial)?;
    for _ in 0..5 {
        let Some(owner) = person::find_by_certificate(app, &old.issuer, &old.serial).await? else {
            // Nobody has the old certificate, but the new one may have a person (a smartphone
            // certificate used before the card it succeeds, a renewed card used before the old
            // one ever was): the feed says both are one human, so the old certificate joins that
            // person, and a later first sign-in with it reaches them instead of making another.
            let Some(holder) = person::find_by_certificate(app, &new.issuer, &new.serial).await? else {
                return Ok(RowOutcome::Unknown);
            };
            let event = Event::success("person.relink", vec![format!("person:{holder}"), old.target(), new.target()])
                .with_detail(serde_json::json!({"feed": feed_id, "line": row.line, "predecessor": true}));
            let mut ops = person::link_ops(&holder, &old, LinkedVia::Relink, app.clock().now());
            let kept = eligibility::kept_facts(app, &old.issuer, &old.serial).await?;
            ops.extend(eligibility::adopt_ops(app, &old.issuer, &old.serial, &holder, &kept, false).await?);
            match audit::commit(app, ctx, event, ops).await {
                Ok(()) => return Ok(RowOutcome::Linked),
                // A first sign-in with the old certificate (or another row) came first: look again.
                Err(e) if e.failed_condition_index().is_some() => continue,
                Err(e) => return Err(e),
            }
        };
        let detail = serde_json::json!({"feed": feed_id, "line": row.line});
        let result = match person::find_by_certificate(app, &new.issuer, &new.serial).await? {
            Some(p) if p == owner => return Ok(RowOutcome::AlreadyLinked),
            None => {
                let event =
                    Event::success("person.relink", vec![format!("person:{owner}"), old.target(), new.target()])
                        .with_detail(detail);
                let mut ops = person::link_ops(&owner, &new, LinkedVia::Relink, app.clock().now());
                // Eligibility facts kept by the new certificate join the person with the link.
                let kept = eligibility::kept_facts(app, &new.issuer, &new.serial).await?;
                ops.extend(eligibility::adopt_ops(app, &new.issuer, &new.serial, &owner, &kept, false).await?);
                audit::commit(app, ctx, event, ops).await.map(|_| RowOutcome::Linked)
            }
            Some(other) => match merge_ops(app, &other, &owner, &new).await? {
                None => return Ok(RowOutcome::Conflict),
                Some(ops) => {
                    let event = Event::success(
                        "person.relink",
                        vec![format!("person:{owner}"), format!("person:{other}"), old.target(), new.target()],
                    )
                    .with_detail(serde_json::json!({"feed": feed_id, "line": row.line, "merged": true}));
                    audit::commit(app, ctx, event, ops).await.map(|_| RowOutcome::Merged)
                }
            },
        };
        match result {
            Ok(o) => return Ok(o),
            // Someone signed in with the new certificate (or another row ran) meanwhile: look again.
            Err(e) if e.failed_condition_index().is_some() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable("the certificates kept changing while re-linking".into()))
}

/// The writes folding `from` (a person made by a first sign-in with `cert`) into `into`, or
/// `None` when `from` holds anything but that certificate, its profile, sessions and eligibility
/// facts: a MyKey ID, now or ever, or other certificates. Eligibility facts are carried over to
/// `into` (`mynapoint::eligibility::carry_over_ops`: joined with `into`'s own, on the condition
/// that those did not change meanwhile).
async fn merge_ops(
    app: &(impl Stores + Clocks),
    from: &PersonId,
    into: &PersonId,
    cert: &CertRef,
) -> Result<Option<Vec<TxOp>>, StoreError> {
    let items = app.store().query(Query::new(&PEOPLE, person::pk(from)).limit(100)).await?;
    let cert_sk = person::cert_sk(&cert.issuer, &cert.serial);
    let mut cert_item = None;
    let mut facts = Vec::new();
    for i in &items.items {
        let sk = i.s("sk")?;
        if sk == person::PROFILE_SK {
            if i.contains_key("mykey_id") {
                return Ok(None);
            }
        } else if sk == cert_sk {
            cert_item = Some(i.clone());
        } else if sk.starts_with(crate::mynapoint::eligibility_check::ELIG_PREFIX) {
            facts.push(i.clone());
        } else if !sk.starts_with(sessions::SESSION_PREFIX) {
            return Ok(None);
        }
    }
    if items.next.is_some() {
        return Ok(None);
    }
    let not_after = cert_item.as_ref().and_then(|i| i.opt_n("not_after"));
    let moved = CertRef { not_after, ..cert.clone() };
    let mut ops = vec![
        TxOp::Update {
            table: &PEOPLE,
            key: person::link_key(&cert.issuer, &cert.serial),
            update: Update::new()
                .set("person_id", into.as_str())
                .set("linked_at", crate::domain::time_fmt::to_store(app.clock().now())),
            cond: Some(Cond::eq("person_id", from.as_str())),
        },
        TxOp::Delete {
            table: &PEOPLE,
            key: person::profile_key(from),
            cond: Some(Cond::exists("pk").and(Cond::not_exists("mykey_id"))),
        },
        TxOp::Delete { table: &PEOPLE, key: Key::new(person::pk(from), cert_sk), cond: None },
    ];
    // The history item of the person it now belongs to (the link item is updated above).
    ops.push(person::history_op(into, &moved, LinkedVia::Relink, app.clock().now()));
    let carried = eligibility::carry_over_ops(app, from, into, &facts).await?;
    ops.extend(sessions::close_all_ops(app, from, 90usize.saturating_sub(carried.len())).await?);
    ops.extend(carried);
    Ok(Some(ops))
}

/// Applies a batch and records it done with its counters and reported rows (see
/// [`feeds::process_batch`]).
pub async fn process_batch(
    app: &(impl Audits + Queues),
    ctx: &audit::Context,
    b: &Batch,
) -> Result<Vec<RowOutcome>, StoreError> {
    feeds::process_batch::<Relink>(app, ctx, b).await
}

/// The `card-relink` consumer.
pub async fn handle(app: &(impl Audits + Queues), body: &str) -> Result<(), ConsumeError> {
    feeds::handle::<Relink>(app, body).await
}

/// An import's progress and report.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    pub feed_id: String,
    pub rows: i64,
    pub batches: i64,
    pub batches_done: i64,
    /// `processing` or `done`.
    pub status: String,
    pub linked: i64,
    pub already_linked: i64,
    pub merged: i64,
    pub unknown: i64,
    pub conflict: i64,
    /// The rows reported (`unknown`: neither certificate has a person; or `conflict`), at most
    /// 1000, by line.
    pub reported: Vec<ReportedRow>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportedRow {
    pub line: u32,
    /// `unknown` or `conflict`.
    pub outcome: String,
    pub old_issuer: String,
    pub old_serial: String,
    pub new_issuer: String,
    pub new_serial: String,
}

impl From<feeds::Summary<Relink>> for FeedView {
    fn from(s: feeds::Summary<Relink>) -> FeedView {
        FeedView {
            linked: s.count(RowOutcome::Linked),
            already_linked: s.count(RowOutcome::AlreadyLinked),
            merged: s.count(RowOutcome::Merged),
            unknown: s.count(RowOutcome::Unknown),
            conflict: s.count(RowOutcome::Conflict),
            feed_id: s.feed_id,
            rows: s.rows,
            batches: s.batches,
            batches_done: s.batches_done,
            status: s.status.into(),
            reported: s
                .reported
                .into_iter()
                .map(|r| ReportedRow {
                    line: r.row.line,
                    outcome: r.outcome.unwrap_or_default(),
                    old_issuer: r.row.old_issuer,
                    old_serial: r.row.old_serial,
                    new_issuer: r.row.new_issuer,
                    new_serial: r.row.new_serial,
                })
                .collect(),
            created_at: s.created_at,
        }
    }
}

/// Imports a feed for background processing: records it and queues its pending batches.
/// Importing the same feed again re-queues what is not done (batches are idempotent).
pub async fn import_feed(
    app: &(impl Audits + Queues),
    ctx: &audit::Context,
    text: &str,
) -> Result<(FeedView, bool), ImportError> {
    let (summary, created) = feeds::import(app, ctx, Relink, text).await?;
    Ok((summary.into(), created))
}

/// The import's state, if it exists.
pub async fn view(app: &impl Stores, feed_id: &str) -> Result<Option<FeedView>, StoreError> {
    Ok(feeds::summary(app, &Relink, feed_id).await?.map(FeedView::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: &str = "1ac100f596a3bc8c4b3df195e32699249e9e308a";

    #[test]
    fn parses_a_feed_and_names_bad_lines() {
        let ok = format!("\u{feff}{HEADER}\r\n{I},0A1B,{I},0d4e,2026-11-20\r\n\r\n");
        let f = parse_feed(&ok).unwrap();
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0].old_serial, "a1b");
        assert_eq!(f.rows[0].line, 2);
        assert_eq!(parse_feed(&ok).unwrap().id, f.id, "the id depends on the rows only");
        // A spreadsheet export quotes every field: the same feed, the same id.
        let quoted = format!(
            "\"old_issuer\",\"old_serial\",\"new_issuer\",\"new_serial\",\"linked_on\"\r\n\"{I}\",\"0A1B\",\"{I}\",\"0d4e\",\"2026-11-20\"\r\n"
        );
        assert_eq!(parse_feed(&quoted).unwrap().id, f.id, "RFC 4180 quoting");
        assert_eq!(parse_feed(&format!("{HEADER}\n\"{I},1\",{I},2,2026-11-20\n")).unwrap_err().line, 2);
        let cases = [
            ("old,new\n".to_owned(), 1),
            (format!("{HEADER}\n"), 2),
            (format!("{HEADER}\n{I},1,{I},2\n"), 2),
            (format!("{HEADER}\n{I},1,{I},2,2026-11-20\n{I},zz,{I},2,2026-11-20\n"), 3),
            (format!("{HEADER}\n{I},1,{I},1,2026-11-20\n"), 2),
            (format!("{HEADER}\n{I},1,{I},2,20261120\n"), 2),
            (format!("{HEADER}\nnot-hex,1,{I},2,2026-11-20\n"), 2),
        ];
        for (text, line) in cases {
            assert_eq!(parse_feed(&text).unwrap_err().line, line, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_names_a_line(body in "[0-9a-fA-F,:\\-\r\n ]{0,300}", junk in ".{0,80}") {
            for text in [format!("{HEADER}\n{body}"), format!("{HEADER}\n{junk}\n{body}"), body.clone()] {
                match parse_feed(&text) {
                    Ok(feed) => {
                        proptest::prop_assert!(!feed.rows.is_empty());
                        proptest::prop_assert_eq!(feed.id.len(), 32);
                    }
                    Err(e) => proptest::prop_assert!(e.line >= 1 && e.line as usize <= text.split('\n').count() + 1),
                }
            }
        }
    }
}
