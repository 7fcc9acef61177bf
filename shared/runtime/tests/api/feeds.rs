//! The batched-feed pipeline of `mkpf_core::feeds` on the embedded store, with a tiny feed kind
//! of its own (`name,count`; odd counts are reported): import, queue and consume; a redelivered
//! batch counts nothing twice; a batch whose reads changed is applied again and counted once;
//! reported rows are capped in the view; a view is of its kind only.

use crate::helpers::*;
use mkpf_core::audit::{Actor, Context};
use mkpf_core::caps::{Audits, Queues};
use mkpf_core::feeds::{self, Applied, Batch, Family, FeedKind, MAX_REPORTED};
use mkpf_core::ports::store::{Cond, ItemExt, Key, Query, SkCond, StoreError, TxOp};
use mkpf_core::tables::PROGRAMS;
use mkpf_core::testing::tally_feed::{Seen, TallyRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    /// Each row commits on its own.
    Plain,
    /// The first application of a batch finds its read changed before the commit.
    Contended,
}

impl FeedKind for Tally {
    type Row = TallyRow;
    type Outcome = Seen;
    const FAMILY: Family = Family {
        table: &PROGRAMS,
        prefix: "TFEED",
        queue: &mkpf_core::queues::OPS_TASKS,
        name: "tally",
        import_event: "test.tally_import",
        target: "tfeed",
    };
    fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Tally::Plain => "plain",
            Tally::Contended => "contended",
        })
    }
    fn of_batch(kind: Option<&str>) -> Result<Tally, StoreError> {
        match kind {
            Some("plain") => Ok(Tally::Plain),
            Some("contended") => Ok(Tally::Contended),
            k => Err(StoreError::Corrupt(format!("no tally kind {k:?}"))),
        }
    }
    fn header(&self) -> &'static str {
        "name,count"
    }
    fn parse_row(&self, line: u32, f: &[String]) -> Result<TallyRow, String> {
        let count = f[1].parse().map_err(|_| "field 2: expected a count".to_owned())?;
        Ok(TallyRow { line, name: f[0].clone(), count })
    }
    fn id_salt(&self) -> String {
        format!("tally {}\n", self.kind().unwrap_or_default())
    }
    async fn apply(
        &self,
        app: &(impl Audits + Queues),
        _ctx: &Context,
        feed_id: &str,
        batch: u32,
        rows: &[TallyRow],
    ) -> Result<Applied<Seen>, StoreError> {
        let outcomes = rows.iter().map(|r| if r.count % 2 == 1 { Seen::Odd } else { Seen::Counted }).collect();
        let mut applied = Applied::outcomes(outcomes);
        if *self == Tally::Contended {
            // Read a flag, then (first time only) change it before the commit: the check fails.
            let flag = Key::new(format!("TFLAG#{feed_id}"), format!("{batch}"));
            let read = app.store().get(&PROGRAMS, &flag).await?;
            if read.is_none() {
                app.store().put(&PROGRAMS, PROGRAMS.key_item(&flag), None).await?;
            }
            let cond = if read.is_some() { Cond::exists("pk") } else { Cond::not_exists("pk") };
            applied.ops.push(TxOp::Check { table: &PROGRAMS, key: flag, cond });
        }
        Ok(applied)
    }
}

fn csv(counts: impl IntoIterator<Item = u32>) -> String {
    let mut text = String::from("name,count\n");
    for (i, c) in counts.into_iter().enumerate() {
        text.push_str(&format!("n{i},{c}\n"));
    }
    text
}

fn ctx() -> Context {
    Context::new(Actor::job("test"))
}

/// Counters and progress of an import.
async fn counts(h: &Harness, kind: Tally, id: &str) -> (i64, i64, i64, &'static str) {
    let s = feeds::summary(&h.app, &kind, id).await.unwrap().unwrap();
    (s.batches_done, s.count(Seen::Counted), s.count(Seen::Odd), s.status)
}

#[tokio::test]
async fn imports_queue_batches_and_a_redelivered_batch_counts_nothing_twice() {
    let h = harness();
    let text = csv(1..=30); // two batches: 25 + 5 rows; 15 odd counts
    let (s, created) = feeds::import(&h.app, &ctx(), Tally::Plain, &text).await.unwrap();
    assert!(created);
    assert_eq!((s.rows, s.batches, s.batches_done, s.status), (30, 2, 0, "processing"));
    let audited = all_records(&h).await.into_iter().filter(|r| r.action == "test.tally_import").count();
    assert_eq!(audited, 1);

    // The queued messages are the batches, as JSON, with the kind.
    let got = h.app.queue.receive(&mkpf_core::queues::OPS_TASKS, 10, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 2);
    let first: Batch<TallyRow> = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!((first.kind.as_deref(), first.batch, first.rows.len()), (Some("plain"), 0, 25));
    for m in &got {
        feeds::handle::<Tally>(&h.app, &m.body).await.unwrap();
    }
    assert_eq!(counts(&h, Tally::Plain, &s.feed_id).await, (2, 15, 15, "done"));

    // The same delivery again: its marker is there, nothing is counted.
    for m in &got {
        feeds::handle::<Tally>(&h.app, &m.body).await.unwrap();
    }
    let again = feeds::process_batch::<Tally>(&h.app, &ctx(), &first).await.unwrap();
    assert!(again.is_empty(), "an already done batch has no outcomes");
    assert_eq!(counts(&h, Tally::Plain, &s.feed_id).await, (2, 15, 15, "done"));

    // Importing the same rows (spelled otherwise) is the same import, with nothing left to send.
    let respelled = text.replace('\n', "\r\n").replace("name,count", "\"name\",\"count\"");
    let (s2, created) = feeds::import(&h.app, &ctx(), Tally::Plain, &respelled).await.unwrap();
    assert_eq!((s2.feed_id.as_str(), created), (s.feed_id.as_str(), false));
    assert!(
        h.app.queue.receive(&mkpf_core::queues::OPS_TASKS, 10, std::time::Duration::ZERO).await.unwrap().is_empty()
    );
    let audited = all_records(&h).await.into_iter().filter(|r| r.action == "test.tally_import").count();
    assert_eq!(audited, 1, "a re-import records nothing");

    // The reported rows: the odd ones, by line, with their outcome.
    let lines: Vec<u32> = s2.reported.iter().map(|r| r.row.line).collect();
    assert_eq!(lines, (2..=31).step_by(2).collect::<Vec<_>>());
    assert!(s2.reported.iter().all(|r| r.outcome.as_deref() == Some("odd") && r.row.count % 2 == 1));

    // Unreadable messages and unknown kinds are dead-lettered.
    let bad = feeds::handle::<Tally>(&h.app, "{").await.unwrap_err();
    assert!(
        matches!(bad, mkpf_core::ports::queue::ConsumeError::Reject(ref why) if why.starts_with("unreadable tally batch"))
    );
    let stranger = serde_json::to_string(&Batch { kind: Some("other".into()), batch: 7, ..first.clone() }).unwrap();
    assert!(matches!(
        feeds::handle::<Tally>(&h.app, &stranger).await,
        Err(mkpf_core::ports::queue::ConsumeError::Reject(_))
    ));
}

#[tokio::test]
async fn a_batch_whose_reads_changed_is_applied_again_and_counted_once() {
    let h = harness();
    let feed = feeds::parse(Tally::Contended, &csv([1, 2, 4])).unwrap();
    assert!(feeds::record_import(&h.app, &ctx(), &feed).await.unwrap());
    assert!(!feeds::record_import(&h.app, &ctx(), &feed).await.unwrap(), "recorded once");
    let pending = feeds::pending_batches(&h.app, &feed).await.unwrap();
    assert_eq!(pending.len(), 1);
    let out = feeds::process_batch::<Tally>(&h.app, &ctx(), &pending[0]).await.unwrap();
    assert_eq!(out, [Seen::Odd, Seen::Counted, Seen::Counted]);
    assert_eq!(counts(&h, Tally::Contended, &feed.id).await, (1, 2, 1, "done"));
    assert!(feeds::pending_batches(&h.app, &feed).await.unwrap().is_empty());
    // A view is of its kind only.
    assert!(feeds::summary(&h.app, &Tally::Plain, &feed.id).await.unwrap().is_none());
}

#[tokio::test]
async fn reported_rows_are_capped_in_the_view_but_all_counted_and_kept() {
    let h = harness();
    let n = MAX_REPORTED as usize + 30;
    let feed = feeds::parse(Tally::Plain, &csv((0..n).map(|i| 2 * i as u32 + 1))).unwrap();
    feeds::record_import(&h.app, &ctx(), &feed).await.unwrap();
    let pending = feeds::pending_batches(&h.app, &feed).await.unwrap();
    assert_eq!(pending.len(), n.div_ceil(feeds::BATCH_ROWS));
    for b in &pending {
        feeds::process_batch::<Tally>(&h.app, &ctx(), b).await.unwrap();
    }
    let s = feeds::summary(&h.app, &Tally::Plain, &feed.id).await.unwrap().unwrap();
    assert_eq!((s.count(Seen::Odd), s.status), (n as i64, "done"));
    assert_eq!(s.reported.len(), MAX_REPORTED as usize);
    assert_eq!(s.reported.last().unwrap().row.line, MAX_REPORTED + 1, "the first ones, by line");
    let kept = h
        .app
        .store
        .query(Query::new(&PROGRAMS, format!("TFEED#{}", feed.id)).sk(SkCond::BeginsWith("ROW#".into())).limit(2000))
        .await
        .unwrap();
    assert_eq!(kept.items.len(), n);
    assert_eq!(kept.items[0].s("outcome").unwrap(), "odd");
}
