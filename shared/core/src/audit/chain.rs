//! Appending to the hash chains. Each process keeps the last head it wrote per shard, so an
//! audited change normally costs one transaction (the change, the new head, the record); a head
//! moved by another process sends the write, after a short random pause, to another shard.

use rand::Rng;
use time::OffsetDateTime;
use time::macros::format_description;

use super::SHARDS;
use super::record::{AuditRecord, Context, Event, genesis};
use crate::caps::{Audits, Stores};
use crate::ports::JST;
use crate::ports::store::*;
use crate::tables::AUDIT;

/// Attempts before an audited write gives up on a contended chain head.
const ATTEMPTS: usize = 8;

#[derive(Debug, Clone)]
struct Head {
    chain: String,
    seq: u64,
    hash: String,
}

/// Per-process state of the chains: one lock and cached head per shard.
pub struct Chains {
    shards: Vec<tokio::sync::Mutex<Option<Head>>>,
}

impl Default for Chains {
    fn default() -> Self {
        Chains { shards: (0..SHARDS).map(|_| tokio::sync::Mutex::new(None)).collect() }
    }
}

/// The chain id of a shard on the Asia/Tokyo date of `at`.
pub(super) fn chain_id(at: OffsetDateTime, shard: u32) -> String {
    let d = at.to_offset(JST).date();
    format!("{}/{shard:02}", d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default())
}

pub(super) fn chain_pk(chain: &str) -> String {
    format!("CHAIN#{}", chain.replace('/', "#"))
}

pub(super) const HEAD_SK: &str = "HEAD";
pub(super) const SEQ_PREFIX: &str = "SEQ#";

pub(super) fn seq_sk(seq: u64) -> String {
    format!("{SEQ_PREFIX}{seq:020}")
}

fn timestamp(at: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default()
}

async fn read_head(app: &impl Stores, chain: &str) -> Result<Head, StoreError> {
    let item = app.store().get(&AUDIT, &Key::new(chain_pk(chain), HEAD_SK)).await?;
    Ok(match item {
        None => Head { chain: chain.to_owned(), seq: 0, hash: genesis(chain) },
        Some(i) => Head {
            chain: chain.to_owned(),
            seq: u64::try_from(i.n("seq")?).map_err(|_| StoreError::Corrupt("negative audit head".into()))?,
            hash: i.s("hash")?.to_owned(),
        },
    })
}

/// Reads today's head of every shard into this process's cache (16 reads), so that the next
/// audited writes cost exactly one transaction each: for measurements and long-lived processes.
pub async fn warm(app: &impl Audits) -> Result<(), StoreError> {
    let chain_day = app.clock().now();
    for (shard, slot) in app.audit_chains().shards.iter().enumerate() {
        let head = read_head(app, &chain_id(chain_day, shard as u32)).await?;
        *slot.lock().await = Some(head);
    }
    Ok(())
}

/// A shard of this process that no other task holds (starting at a random one, never `avoid`
/// when there is a choice), or, when all are busy, waits for a random one.
async fn pick_shard(chains: &Chains, avoid: Option<usize>) -> (usize, tokio::sync::MutexGuard<'_, Option<Head>>) {
    let shards = SHARDS as usize;
    let start = rand::thread_rng().gen_range(0..shards);
    for i in 0..shards {
        let idx = (start + i) % shards;
        if Some(idx) == avoid {
            continue;
        }
        if let Ok(g) = chains.shards[idx].try_lock() {
            return (idx, g);
        }
    }
    let idx = if Some(start) == avoid { (start + 1) % shards } else { start };
    (idx, chains.shards[idx].lock().await)
}

/// Writes `ops` and an audit record of `event` in one transaction: both happen or neither.
///
/// If one of `ops` fails its condition, the error is `TransactionCanceled` with the reasons of
/// `ops` only (indexes as the caller passed them), so use cases map it as they would without
/// auditing. At most 98 ops (two actions are the chain's).
pub async fn commit(app: &impl Audits, ctx: &Context, event: Event, ops: Vec<TxOp>) -> Result<(), StoreError> {
    if ops.len() + 2 > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Validation("too many actions to audit in one transaction".into()));
    }
    let n = ops.len();
    let mut avoid = None;
    for attempt in 0..ATTEMPTS {
        // A contended shard (another process wrote it meanwhile) is left for another one, after a
        // short random pause, so that two writers do not keep colliding on the same head.
        if attempt > 0 {
            let cap_us = 1000u64 << attempt.min(5);
            let pause = std::time::Duration::from_micros(rand::thread_rng().gen_range(0..cap_us));
            tokio::time::sleep(pause).await;
        }
        let (shard, mut cached) = pick_shard(app.audit_chains(), avoid).await;
        let now = app.clock().now();
        let chain = chain_id(now, shard as u32);
        let head = match cached.as_ref() {
            Some(h) if h.chain == chain => h.clone(),
            _ => read_head(app, &chain).await?,
        };
        let mut rec = AuditRecord {
            chain: chain.clone(),
            seq: head.seq + 1,
            at: timestamp(now),
            actor: ctx.actor.clone(),
            action: event.action.to_owned(),
            targets: event.targets.clone(),
            outcome: event.outcome,
            request_id: ctx.request_id.clone(),
            source_ip: ctx.source_ip.clone(),
            detail: event.detail.clone(),
            prev_hash: head.hash.clone(),
            hash: String::new(),
        };
        rec.hash = rec.compute_hash();
        let pk = chain_pk(&chain);
        let head_cond = if head.seq == 0 { Cond::not_exists("pk") } else { Cond::eq("seq", head.seq as i64) };
        let mut item = Item::new();
        item.insert("pk".into(), Value::S(pk.clone()));
        item.insert("sk".into(), Value::S(seq_sk(rec.seq)));
        item.insert("body".into(), Value::S(rec.to_json()));
        let mut tx = ops.clone();
        tx.push(TxOp::Update {
            table: &AUDIT,
            key: Key::new(pk, HEAD_SK),
            update: Update::new().set("seq", rec.seq as i64).set("hash", rec.hash.clone()),
            cond: Some(head_cond),
        });
        tx.push(TxOp::Put { table: &AUDIT, item, cond: Some(Cond::not_exists("pk")) });
        match app.store().transact(tx).await {
            Ok(()) => {
                *cached = Some(Head { chain, seq: rec.seq, hash: rec.hash });
                app.metrics().count("audit_records", &[("outcome", outcome_label(&event))], 1);
                return Ok(());
            }
            Err(StoreError::TransactionCanceled { reasons }) => {
                *cached = None;
                let own = &reasons[..n.min(reasons.len())];
                if own.contains(&CancelReason::ConditionFailed) {
                    return Err(StoreError::TransactionCanceled { reasons: own.to_vec() });
                }
                // The head moved (another process wrote this shard) or a write conflicted: re-read,
                // on another shard.
                app.metrics().count("audit_head_retries", &[], 1);
                avoid = Some(shard);
            }
            Err(e) => {
                *cached = None;
                return Err(e);
            }
        }
    }
    Err(StoreError::Unavailable("the audit chain stayed contended; try again".into()))
}

fn outcome_label(e: &Event) -> &'static str {
    match e.outcome {
        super::Outcome::Success => "success",
        super::Outcome::Denied => "denied",
        super::Outcome::Failed => "failed",
    }
}

/// An audit record with no accompanying change (a read of personal data, a refusal).
pub async fn commit_event(app: &impl Audits, ctx: &Context, event: Event) -> Result<(), StoreError> {
    commit(app, ctx, event, Vec::new()).await
}
