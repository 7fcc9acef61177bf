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
//! An import is identified by the SHA-256 of its rows: importing the same feed again returns the
//! same import (and re-sends any batch not yet processed). Rows go in batches of [`BATCH_ROWS`] to
//! the `card-relink` queue; each batch is applied row by row (each link one audited transaction)
//! and then marked done together with the import's counters in one transaction, so a redelivered
//! batch counts nothing twice. Each row ends as:
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
//! (done markers), `FEED#<id>` / `ROW#<line>` (the unknown and conflict rows).

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::Date;

use super::person::{self, CertRef, LinkedVia, PersonId};
use crate::Deps;
use crate::audit::{self, Actor, Event};
use crate::card_auth::anchors::IssuerId;
use crate::card_auth::certificate::CertSerial;
use crate::card_auth::sessions;
use crate::domain::csv_rows;
use crate::mynapoint::eligibility;
use crate::ports::queue::ConsumeError;
use crate::ports::queue::OutMessage;
use crate::ports::store::*;
use crate::queues::CARD_RELINK;
use crate::tables::{CARD_AUTH, PEOPLE};

pub const HEADER: &str = "old_issuer,old_serial,new_issuer,new_serial,linked_on";
pub const MAX_ROWS: usize = 100_000;
pub const BATCH_ROWS: usize = 25;

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

/// A feed that parsed: its id and rows.
#[derive(Debug, Clone)]
pub struct Feed {
    pub id: String,
    pub rows: Vec<FeedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct FeedError {
    pub line: u32,
    pub why: String,
}

/// Parses and checks a whole feed.
pub fn parse_feed(text: &str) -> Result<Feed, FeedError> {
    let err = |line: u32, why: String| FeedError { line, why };
    let mut records = csv_rows::records(text);
    match records.next() {
        Some(Ok(h)) if h.joined() == HEADER => {}
        _ => return Err(err(1, format!("the first line must be exactly `{HEADER}`"))),
    }
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| err(e.line, e.why))?;
        let (line, f) = (record.line, &record.fields);
        if rows.len() == MAX_ROWS {
            return Err(err(line, format!("a feed holds at most {MAX_ROWS} rows; split it")));
        }
        if f.len() != 5 {
            return Err(err(line, format!("expected 5 fields, found {}", f.len())));
        }
        let issuer = |i: usize| IssuerId::parse(&f[i]).map_err(|e| err(line, format!("field {}: {e}", i + 1)));
        let serial = |i: usize| CertSerial::parse(&f[i]).map_err(|e| err(line, format!("field {}: {e}", i + 1)));
        let (oi, os, ni, ns) = (issuer(0)?, serial(1)?, issuer(2)?, serial(3)?);
        let on = Date::parse(&f[4], &date_fmt).map_err(|_| err(line, "field 5: expected a date YYYY-MM-DD".into()))?;
        if oi == ni && os == ns {
            return Err(err(line, "the old and new certificates are the same".into()));
        }
        rows.push(FeedRow {
            line,
            old_issuer: oi.as_str().into(),
            old_serial: os.as_str().into(),
            new_issuer: ni.as_str().into(),
            new_serial: ns.as_str().into(),
            linked_on: on.to_string(),
        });
    }
    if rows.is_empty() {
        return Err(err(2, "the feed has no rows".into()));
    }
    let mut h = sha2::Sha256::new();
    for r in &rows {
        h.update(format!("{},{},{},{},{}\n", r.old_issuer, r.old_serial, r.new_issuer, r.new_serial, r.linked_on));
    }
    let id = hex::encode(&h.finalize()[..16]);
    Ok(Feed { id, rows })
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
    app: &Deps,
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
            let mut ops = person::link_ops(&holder, &old, LinkedVia::Relink, app.clock.now());
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
                let mut ops = person::link_ops(&owner, &new, LinkedVia::Relink, app.clock.now());
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
    app: &Deps,
    from: &PersonId,
    into: &PersonId,
    cert: &CertRef,
) -> Result<Option<Vec<TxOp>>, StoreError> {
    let items = app.store.query(Query::new(&PEOPLE, person::pk(from)).limit(100)).await?;
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
                .set("linked_at", crate::domain::time_fmt::to_store(app.clock.now())),
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
    ops.push(person::history_op(into, &moved, LinkedVia::Relink, app.clock.now()));
    let carried = eligibility::carry_over_ops(app, from, into, &facts).await?;
    ops.extend(sessions::close_all_ops(app, from, 90usize.saturating_sub(carried.len())).await?);
    ops.extend(carried);
    Ok(Some(ops))
}

/// One queued batch of an import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    pub feed_id: String,
    pub batch: u32,
    pub rows: Vec<FeedRow>,
}

fn summary_key(feed_id: &str) -> Key {
    Key::new(format!("FEED#{feed_id}"), "SUMMARY")
}

/// Applies a batch and records it done with its counters and reported rows (one transaction; a
/// redelivered batch finds its marker and changes nothing).
pub async fn process_batch(app: &Deps, ctx: &audit::Context, b: &Batch) -> Result<Vec<RowOutcome>, StoreError> {
    let marker = Key::new(format!("FEED#{}", b.feed_id), format!("BATCH#{:06}", b.batch));
    if app.store.get(&CARD_AUTH, &marker).await?.is_some() {
        return Ok(Vec::new());
    }
    let mut outcomes = Vec::with_capacity(b.rows.len());
    for row in &b.rows {
        outcomes.push(apply_row(app, ctx, &b.feed_id, row).await?);
    }
    let mut update = Update::new().add("batches_done", 1);
    for o in
        [RowOutcome::Linked, RowOutcome::AlreadyLinked, RowOutcome::Merged, RowOutcome::Unknown, RowOutcome::Conflict]
    {
        let n = outcomes.iter().filter(|x| **x == o).count() as i64;
        if n > 0 {
            update = update.add(o.as_str(), n);
        }
    }
    let mut m = Item::new();
    m.insert("pk".into(), Value::S(marker.pk.clone()));
    m.insert("sk".into(), Value::S(marker.sk.clone().unwrap_or_default()));
    let mut ops = vec![
        TxOp::Put { table: &CARD_AUTH, item: m, cond: Some(Cond::not_exists("pk")) },
        TxOp::Update { table: &CARD_AUTH, key: summary_key(&b.feed_id), update, cond: Some(Cond::exists("pk")) },
    ];
    for (row, o) in b.rows.iter().zip(&outcomes) {
        if matches!(o, RowOutcome::Unknown | RowOutcome::Conflict) {
            let mut i = Item::new();
            i.insert("pk".into(), Value::S(format!("FEED#{}", b.feed_id)));
            i.insert("sk".into(), Value::S(format!("ROW#{:08}", row.line)));
            i.insert("outcome".into(), o.as_str().into());
            i.insert("row".into(), serde_json::to_string(row).unwrap_or_default().into());
            ops.push(TxOp::Put { table: &CARD_AUTH, item: i, cond: None });
        }
    }
    match app.store.transact(ops).await {
        Ok(()) => Ok(outcomes),
        Err(e) if e.failed_condition_index() == Some(0) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The `card-relink` consumer.
pub async fn handle(app: &Deps, body: &str) -> Result<(), ConsumeError> {
    let b: Batch =
        serde_json::from_str(body).map_err(|e| ConsumeError::Reject(format!("unreadable relink batch: {e}")))?;
    let ctx = audit::Context::new(Actor::job("card-relink"));
    let out = process_batch(app, &ctx, &b).await.map_err(|e| ConsumeError::Retry(e.to_string()))?;
    tracing::info!(feed = %b.feed_id, batch = b.batch, rows = out.len(), "relink batch done");
    Ok(())
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

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Invalid(#[from] FeedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] crate::ports::QueueError),
}

/// Records an import (audited) unless it exists; `true` when it was new.
pub async fn record_import(app: &Deps, ctx: &audit::Context, feed: &Feed) -> Result<bool, StoreError> {
    let batches = feed.rows.len().div_ceil(BATCH_ROWS) as i64;
    let key = summary_key(&feed.id);
    let mut i = Item::new();
    i.insert("pk".into(), Value::S(key.pk));
    i.insert("sk".into(), Value::S("SUMMARY".into()));
    i.insert("feed_id".into(), feed.id.as_str().into());
    i.insert("rows".into(), Value::N(feed.rows.len() as i64));
    i.insert("batches".into(), Value::N(batches));
    i.insert("batches_done".into(), Value::N(0));
    i.insert("created_at".into(), crate::domain::time_fmt::to_store(app.clock.now()).into());
    let event = Event::success("card.linkage_feed_import", vec![format!("feed:{}", feed.id)])
        .with_detail(serde_json::json!({"rows": feed.rows.len(), "batches": batches}));
    match audit::commit(
        app,
        ctx,
        event,
        vec![TxOp::Put { table: &CARD_AUTH, item: i, cond: Some(Cond::not_exists("pk")) }],
    )
    .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.failed_condition_index() == Some(0) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The batches of a feed not yet marked done.
pub async fn pending_batches(app: &Deps, feed: &Feed) -> Result<Vec<Batch>, StoreError> {
    let done = app
        .store
        .query(Query::new(&CARD_AUTH, format!("FEED#{}", feed.id)).sk(SkCond::BeginsWith("BATCH#".into())).limit(1000))
        .await?;
    let mut done_set = std::collections::BTreeSet::new();
    for i in &done.items {
        if let Some(n) = i.s("sk")?.strip_prefix("BATCH#").and_then(|n| n.parse::<u32>().ok()) {
            done_set.insert(n);
        }
    }
    Ok(feed
        .rows
        .chunks(BATCH_ROWS)
        .enumerate()
        .filter(|(n, _)| done.next.is_some() || !done_set.contains(&(*n as u32)))
        .map(|(n, rows)| Batch { feed_id: feed.id.clone(), batch: n as u32, rows: rows.to_vec() })
        .collect())
}

/// Imports a feed for background processing: records it and queues its pending batches.
/// Importing the same feed again re-queues what is not done (batches are idempotent).
pub async fn import_feed(app: &Deps, ctx: &audit::Context, text: &str) -> Result<(FeedView, bool), ImportError> {
    let feed = parse_feed(text)?;
    let created = record_import(app, ctx, &feed).await?;
    let pending = pending_batches(app, &feed).await?;
    for chunk in pending.chunks(10) {
        let msgs = chunk.iter().map(|b| OutMessage::new(serde_json::to_string(b).unwrap_or_default())).collect();
        app.queue.send_batch(&CARD_RELINK, msgs).await?;
    }
    let view = view(app, &feed.id).await?.ok_or_else(|| StoreError::Corrupt("import vanished".into()))?;
    Ok((view, created))
}

/// The import's state, if it exists.
pub async fn view(app: &Deps, feed_id: &str) -> Result<Option<FeedView>, StoreError> {
    let Some(s) = app.store.get(&CARD_AUTH, &summary_key(feed_id)).await? else { return Ok(None) };
    let rows = app
        .store
        .query(Query::new(&CARD_AUTH, format!("FEED#{feed_id}")).sk(SkCond::BeginsWith("ROW#".into())).limit(1000))
        .await?;
    let mut reported = Vec::new();
    for i in &rows.items {
        let r: FeedRow = serde_json::from_str(i.s("row")?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        reported.push(ReportedRow {
            line: r.line,
            outcome: i.s("outcome")?.to_owned(),
            old_issuer: r.old_issuer,
            old_serial: r.old_serial,
            new_issuer: r.new_issuer,
            new_serial: r.new_serial,
        });
    }
    let n = |k: &str| s.opt_n(k).unwrap_or(0);
    let created_at = crate::domain::time_fmt::from_store(s.s("created_at")?)
        .map(crate::domain::time_fmt::to_jst)
        .map_err(StoreError::Corrupt)?;
    Ok(Some(FeedView {
        feed_id: feed_id.to_owned(),
        rows: n("rows"),
        batches: n("batches"),
        batches_done: n("batches_done"),
        status: if n("batches_done") >= n("batches") { "done" } else { "processing" }.into(),
        linked: n("linked"),
        already_linked: n("already_linked"),
        merged: n("merged"),
        unknown: n("unknown"),
        conflict: n("conflict"),
        reported,
        created_at,
    }))
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
