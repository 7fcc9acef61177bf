//! Steps 3 to 5 of the pipeline: recording an import, queueing its batches, and applying a
//! batch exactly once (the consumer).

use std::collections::BTreeSet;

use super::{Applied, BATCH_ROWS, Batch, Feed, FeedKind, ImportError, Outcome, Row, Summary, feed_pk, parse, summary};
use crate::audit::{self, Actor, Event};
use crate::caps::{Audits, Queues, Stores};
use crate::ports::queue::{ConsumeError, OutMessage};
use crate::ports::store::*;

/// Attempts of a batch whose kind's writes met changed data.
const BATCH_ATTEMPTS: usize = 5;
/// Messages per `send_batch`.
const SEND_CHUNK: usize = 10;

fn summary_key<K: FeedKind>(feed_id: &str) -> Key {
    Key::new(feed_pk::<K>(feed_id), "SUMMARY")
}

/// Records an import (audited) unless it exists; `true` when it was new.
pub async fn record_import<K: FeedKind>(
    app: &impl Audits,
    ctx: &audit::Context,
    feed: &Feed<K>,
) -> Result<bool, StoreError> {
    let family = &K::FAMILY;
    let batches = feed.rows.len().div_ceil(BATCH_ROWS) as i64;
    let mut i = family.table.key_item(&summary_key::<K>(&feed.id));
    i.insert("feed_id".into(), feed.id.as_str().into());
    let mut detail = serde_json::Map::new();
    if let Some(kind) = feed.kind.kind() {
        i.insert("kind".into(), kind.into());
        detail.insert("kind".into(), kind.into());
    }
    i.insert("rows".into(), Value::N(feed.rows.len() as i64));
    i.insert("batches".into(), Value::N(batches));
    i.insert("batches_done".into(), Value::N(0));
    i.insert("created_at".into(), crate::domain::time_fmt::to_store(app.clock().now()).into());
    detail.insert("rows".into(), feed.rows.len().into());
    detail.insert("batches".into(), batches.into());
    let event = Event::success(family.import_event, vec![format!("{}:{}", family.target, feed.id)])
        .with_detail(serde_json::Value::Object(detail));
    let put = TxOp::Put { table: family.table, item: i, cond: Some(Cond::not_exists("pk")) };
    match audit::commit(app, ctx, event, vec![put]).await {
        Ok(()) => Ok(true),
        Err(e) if e.failed_condition_index() == Some(0) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The batches of a feed not yet marked done.
pub async fn pending_batches<K: FeedKind>(app: &impl Stores, feed: &Feed<K>) -> Result<Vec<Batch<K::Row>>, StoreError> {
    let q = Query::new(K::FAMILY.table, feed_pk::<K>(&feed.id)).sk(SkCond::BeginsWith("BATCH#".into())).limit(1000);
    let mut done = BTreeSet::new();
    for i in query_all(app.store().as_ref(), q).await? {
        if let Some(n) = i.s("sk")?.strip_prefix("BATCH#").and_then(|n| n.parse::<u32>().ok()) {
            done.insert(n);
        }
    }
    Ok(feed
        .rows
        .chunks(BATCH_ROWS)
        .enumerate()
        .filter(|(n, _)| !done.contains(&(*n as u32)))
        .map(|(n, rows)| Batch {
            feed_id: feed.id.clone(),
            kind: feed.kind.kind().map(str::to_owned),
            batch: n as u32,
            rows: rows.to_vec(),
        })
        .collect())
}

/// Imports a feed of `kind` for background processing: parses it, records it and queues its
/// pending batches (importing the same rows again re-queues what is not done; batches are
/// idempotent). The import's view, and `true` when the import is new.
pub async fn import<K: FeedKind>(
    app: &(impl Audits + Queues),
    ctx: &audit::Context,
    kind: K,
    text: &str,
) -> Result<(Summary<K>, bool), ImportError<K>> {
    let feed = parse(kind, text)?;
    let created = record_import(app, ctx, &feed).await?;
    let pending = pending_batches(app, &feed).await?;
    for chunk in pending.chunks(SEND_CHUNK) {
        let msgs = chunk.iter().map(|b| OutMessage::new(serde_json::to_string(b).unwrap_or_default())).collect();
        app.queue().send_batch(K::FAMILY.queue, msgs).await?;
    }
    let view = summary(app, &kind, &feed.id).await?.ok_or_else(|| StoreError::Corrupt("import vanished".into()))?;
    Ok((view, created))
}

/// Applies a batch and records it done with its counters, the kind's writes and the reported
/// rows, in one transaction (a redelivered batch finds its marker and changes nothing). The
/// outcomes; none when the batch was already done.
pub async fn process_batch<K: FeedKind>(
    app: &(impl Audits + Queues),
    ctx: &audit::Context,
    b: &Batch<K::Row>,
) -> Result<Vec<K::Outcome>, StoreError> {
    let family = &K::FAMILY;
    let pk = feed_pk::<K>(&b.feed_id);
    let marker = Key::new(pk.clone(), format!("BATCH#{:06}", b.batch));
    if app.store().get(family.table, &marker).await?.is_some() {
        return Ok(Vec::new());
    }
    let kind = K::of_batch(b.kind.as_deref())?;
    for _ in 0..BATCH_ATTEMPTS {
        let Applied { outcomes, ops: writes, event } = kind.apply(app, ctx, &b.feed_id, b.batch, &b.rows).await?;
        if outcomes.len() != b.rows.len() {
            return Err(StoreError::Corrupt(format!(
                "{} batch: {} outcomes for {} rows",
                family.name,
                outcomes.len(),
                b.rows.len()
            )));
        }
        let mut update = Update::new().add("batches_done", 1);
        for o in K::Outcome::ALL {
            let n = outcomes.iter().filter(|x| *x == o).count() as i64;
            if n > 0 {
                update = update.add(o.as_str(), n);
            }
        }
        let mut m = family.table.key_item(&marker);
        m.insert("rows".into(), Value::N(b.rows.len() as i64));
        let mut ops = vec![
            TxOp::Put { table: family.table, item: m, cond: Some(Cond::not_exists("pk")) },
            TxOp::Update {
                table: family.table,
                key: summary_key::<K>(&b.feed_id),
                update,
                cond: Some(Cond::exists("pk")),
            },
        ];
        ops.extend(writes);
        for (row, o) in b.rows.iter().zip(&outcomes) {
            if o.reported() {
                let mut i = family.table.key_item(&Key::new(pk.clone(), format!("ROW#{:08}", row.line())));
                i.insert("outcome".into(), o.as_str().into());
                i.insert("row".into(), serde_json::to_string(row).unwrap_or_default().into());
                ops.push(TxOp::Put { table: family.table, item: i, cond: None });
            }
        }
        let committed = match event {
            Some(event) => audit::commit(app, ctx, event, ops).await,
            None => app.store().transact(ops).await,
        };
        match committed {
            Ok(()) => return Ok(outcomes),
            // Another delivery of this batch finished first.
            Err(e) if e.failed_condition_index() == Some(0) => return Ok(Vec::new()),
            Err(e) if e.failed_condition_index() == Some(1) => {
                return Err(StoreError::Corrupt(format!("{} import {} has no summary", family.name, b.feed_id)));
            }
            // What the kind read changed meanwhile: apply again.
            Err(e) if e.failed_condition_index().is_some() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(format!("{} data kept changing while importing a batch", family.name)))
}

/// The consumer of a family's queue: applies one batch. An unreadable message or corrupt data is
/// dead-lettered; any other failure retried.
pub async fn handle<K: FeedKind>(app: &(impl Audits + Queues), body: &str) -> Result<(), ConsumeError> {
    let family = &K::FAMILY;
    let b: Batch<K::Row> = serde_json::from_str(body)
        .map_err(|e| ConsumeError::Reject(format!("unreadable {} batch: {e}", family.name)))?;
    let ctx = audit::Context::new(Actor::job(family.queue.name));
    let out = process_batch::<K>(app, &ctx, &b).await.map_err(|e| match e {
        StoreError::Corrupt(why) => ConsumeError::Reject(why),
        e => ConsumeError::Retry(e.to_string()),
    })?;
    tracing::info!(feed = %b.feed_id, batch = b.batch, rows = out.len(), "{} batch done", family.name);
    Ok(())
}
