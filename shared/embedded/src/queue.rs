//! The embedded `Queue`: SQS semantics inside the embedded redb file.
//!
//! Messages live in `q/msg` keyed by `(queue, id)`; `q/ready` keyed by `(queue, visible_at_ms,
//! id)` orders them by when they become visible, so a receive is one range scan. A dead-letter
//! queue is just another queue name (`<name>-dlq`). Every change goes through the engine's group
//! commit, so a message acknowledged as sent is durable. Long polling waits on a notification
//! from senders, or until the next message becomes visible.

use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::RngCore;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::engine::{Engine, Fatal};
use mkpf_core::ports::Clock;
use mkpf_core::ports::queue::*;

const MSGS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("q/msg");
const READY: TableDefinition<(&str, i64, &str), ()> = TableDefinition::new("q/ready");

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Msg {
    body: String,
    receive_count: u32,
    receipt: String,
    visible_at_ms: i64,
    sent_at_ms: i64,
}

impl From<Fatal> for QueueError {
    fn from(f: Fatal) -> Self {
        QueueError::Unavailable(f.0)
    }
}

/// The embedded queue.
pub struct EmbeddedQueue {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    notify: Arc<Notify>,
}

fn token() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn parse_receipt(r: &str) -> Result<(String, String), QueueError> {
    match r.split_once(':') {
        Some((id, tok)) if !id.is_empty() && !tok.is_empty() => Ok((id.to_owned(), tok.to_owned())),
        _ => Err(QueueError::BadReceipt),
    }
}

fn load(txn: &WriteTransaction, q: &str, id: &str) -> Result<Option<Msg>, Fatal> {
    let t = txn.open_table(MSGS).map_err(Fatal::from)?;
    let got = t.get((q, id)).map_err(Fatal::from)?;
    match got {
        None => Ok(None),
        Some(v) => postcard::from_bytes(v.value()).map(Some).map_err(Fatal::from),
    }
}

fn store(txn: &WriteTransaction, q: &str, id: &str, old_vis: Option<i64>, m: &Msg) -> Result<(), Fatal> {
    let bytes = postcard::to_allocvec(m).map_err(Fatal::from)?;
    txn.open_table(MSGS).map_err(Fatal::from)?.insert((q, id), bytes.as_slice()).map_err(Fatal::from)?;
    let mut ready = txn.open_table(READY).map_err(Fatal::from)?;
    if let Some(v) = old_vis {
        ready.remove((q, v, id)).map_err(Fatal::from)?;
    }
    ready.insert((q, m.visible_at_ms, id), ()).map_err(Fatal::from)?;
    Ok(())
}

fn remove(txn: &WriteTransaction, q: &str, id: &str, vis: i64) -> Result<(), Fatal> {
    txn.open_table(MSGS).map_err(Fatal::from)?.remove((q, id)).map_err(Fatal::from)?;
    txn.open_table(READY).map_err(Fatal::from)?.remove((q, vis, id)).map_err(Fatal::from)?;
    Ok(())
}

/// Ids (with their visibility time) of a queue's messages visible at `now_ms`, oldest first.
fn visible_ids(txn: &WriteTransaction, q: &str, now_ms: i64, max: usize) -> Result<Vec<(i64, String)>, Fatal> {
    let ready = txn.open_table(READY).map_err(Fatal::from)?;
    let range = ready
        .range::<(&str, i64, &str)>((Bound::Included((q, i64::MIN, "")), Bound::Excluded((q, now_ms + 1, ""))))
        .map_err(Fatal::from)?;
    let mut out = Vec::new();
    for e in range.take(max) {
        let (k, _) = e.map_err(Fatal::from)?;
        let (_, vis, id) = k.value();
        out.push((vis, id.to_owned()));
    }
    Ok(out)
}

/// When the next not-yet-visible message of `q` becomes visible.
fn next_visible(txn: &WriteTransaction, q: &str, now_ms: i64) -> Result<Option<i64>, Fatal> {
    let ready = txn.open_table(READY).map_err(Fatal::from)?;
    let mut range = ready
        .range::<(&str, i64, &str)>((
            Bound::Excluded((q, now_ms, "\u{10FFFF}")),
            Bound::Included((q, i64::MAX, "\u{10FFFF}")),
        ))
        .map_err(Fatal::from)?;
    match range.next() {
        Some(e) => {
            let (k, _) = e.map_err(Fatal::from)?;
            Ok(Some(k.value().1))
        }
        None => Ok(None),
    }
}

impl EmbeddedQueue {
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>) -> Self {
        EmbeddedQueue { engine, clock, notify: Arc::new(Notify::new()) }
    }

    async fn receive_once(&self, def: &'static QueueDef, max: u32) -> Result<(Vec<Received>, Option<i64>), QueueError> {
        let now = self.clock.epoch_millis();
        let vis_ms = i64::from(def.visibility_timeout_secs) * 1000;
        let out = self
            .engine
            .write(move |txn| {
                let q = def.name;
                let dlq = def.dlq_name();
                let mut got = Vec::new();
                // Scan a little past `max`: exhausted messages found on the way go to the DLQ.
                for (vis, id) in visible_ids(txn, q, now, max as usize + 16)? {
                    if got.len() == max as usize {
                        break;
                    }
                    let Some(mut m) = load(txn, q, &id)? else { continue };
                    if m.receive_count >= def.max_receives {
                        remove(txn, q, &id, vis)?;
                        m.visible_at_ms = 0;
                        m.receipt = String::new();
                        store(txn, &dlq, &id, None, &m)?;
                        continue;
                    }
                    m.receive_count += 1;
                    m.receipt = token();
                    m.visible_at_ms = now + vis_ms;
                    store(txn, q, &id, Some(vis), &m)?;
                    got.push(Received {
                        receipt: format!("{id}:{}", m.receipt),
                        id,
                        body: m.body,
                        receive_count: m.receive_count,
                    });
                }
                let next = if got.is_empty() { next_visible(txn, q, now)? } else { None };
                Ok((got, next))
            })
            .await?;
        Ok(out)
    }

    fn wake(&self) {
        self.notify.notify_waiters();
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, q: &'static QueueDef, msg: OutMessage) -> Result<String, QueueError> {
        let mut ids = self.send_batch(q, vec![msg]).await?;
        ids.pop().ok_or_else(|| QueueError::Unavailable("send produced no id".into()))
    }

    async fn send_batch(&self, q: &'static QueueDef, msgs: Vec<OutMessage>) -> Result<Vec<String>, QueueError> {
        for m in &msgs {
            validate_message(m)?;
        }
        let now = self.clock.epoch_millis();
        let ids = self
            .engine
            .write(move |txn| {
                let mut ids = Vec::with_capacity(msgs.len());
                for m in msgs {
                    // Time-ordered ids: a new message lands at the end of the table (one page), not at a random
                    // place in it (a page each).
                    let id = uuid::Uuid::now_v7().to_string();
                    let msg = Msg {
                        body: m.body,
                        receive_count: 0,
                        receipt: String::new(),
                        visible_at_ms: now + i64::from(m.delay_secs) * 1000,
                        sent_at_ms: now,
                    };
                    store(txn, q.name, &id, None, &msg)?;
                    ids.push(id);
                }
                Ok(ids)
            })
            .await?;
        self.wake();
        Ok(ids)
    }

    async fn receive(&self, q: &'static QueueDef, max: u32, wait: Duration) -> Result<Vec<Received>, QueueError> {
        validate_receive(max, wait)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (got, next) = self.receive_once(q, max).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let mut until = deadline;
            if let Some(next_ms) = next {
                let delta = (next_ms - self.clock.epoch_millis()).max(1) as u64;
                until = until.min(now + Duration::from_millis(delta));
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn delete(&self, q: &'static QueueDef, receipt: &str) -> Result<(), QueueError> {
        let (id, tok) = parse_receipt(receipt)?;
        self.engine
            .write(move |txn| {
                if let Some(m) = load(txn, q.name, &id)?
                    && m.receipt == tok
                {
                    remove(txn, q.name, &id, m.visible_at_ms)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn change_visibility(&self, q: &'static QueueDef, receipt: &str, secs: u32) -> Result<(), QueueError> {
        if secs > MAX_VISIBILITY_SECS {
            return Err(QueueError::Validation(format!("visibility {secs}s over {MAX_VISIBILITY_SECS}s")));
        }
        let (id, tok) = parse_receipt(receipt)?;
        let now = self.clock.epoch_millis();
        self.engine
            .write(move |txn| {
                if let Some(mut m) = load(txn, q.name, &id)?
                    && m.receipt == tok
                {
                    let old = m.visible_at_ms;
                    m.visible_at_ms = now + i64::from(secs) * 1000;
                    store(txn, q.name, &id, Some(old), &m)?;
                }
                Ok(())
            })
            .await?;
        self.wake();
        Ok(())
    }

    async fn depth(&self, q: &'static QueueDef) -> Result<QueueDepth, QueueError> {
        let now = self.clock.epoch_millis();
        let d = self
            .engine
            .read(move |txn| {
                let mut d = QueueDepth::default();
                let msgs = txn.open_table(MSGS);
                let msgs = match msgs {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(d),
                    Err(e) => return Err(Fatal::from(e)),
                };
                for (name, is_dlq) in [(q.name.to_owned(), false), (q.dlq_name(), true)] {
                    let lo = (name.as_str(), "");
                    let hi = format!("{name}\0");
                    for e in msgs.range::<(&str, &str)>(lo..(hi.as_str(), "")).map_err(Fatal::from)? {
                        let (_, v) = e.map_err(Fatal::from)?;
                        let m: Msg = postcard::from_bytes(v.value()).map_err(Fatal::from)?;
                        if is_dlq {
                            d.dead_letters += 1;
                        } else if m.visible_at_ms <= now {
                            d.visible += 1;
                        } else if m.receive_count > 0 {
                            d.in_flight += 1;
                        }
                    }
                }
                Ok(d)
            })
            .await?;
        Ok(d)
    }

    async fn peek_dead_letters(&self, q: &'static QueueDef, max: u32) -> Result<Vec<Received>, QueueError> {
        let dlq = q.dlq_name();
        let out = self
            .engine
            .read(move |txn| {
                let msgs = match txn.open_table(MSGS) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                    Err(e) => return Err(Fatal::from(e)),
                };
                let hi = format!("{dlq}\0");
                let mut out = Vec::new();
                for e in msgs
                    .range::<(&str, &str)>((dlq.as_str(), "")..(hi.as_str(), ""))
                    .map_err(Fatal::from)?
                    .take(max as usize)
                {
                    let (k, v) = e.map_err(Fatal::from)?;
                    let m: Msg = postcard::from_bytes(v.value()).map_err(Fatal::from)?;
                    let id = k.value().1.to_owned();
                    out.push(Received {
                        receipt: format!("{id}:dead"),
                        id,
                        body: m.body,
                        receive_count: m.receive_count,
                    });
                }
                Ok(out)
            })
            .await?;
        Ok(out)
    }

    async fn redrive(&self, q: &'static QueueDef, max: u32) -> Result<u32, QueueError> {
        let now = self.clock.epoch_millis();
        let moved = self
            .engine
            .write(move |txn| {
                let dlq = q.dlq_name();
                let mut moved = 0;
                for (vis, id) in visible_ids(txn, &dlq, i64::MAX - 1, max as usize)? {
                    let Some(mut m) = load(txn, &dlq, &id)? else { continue };
                    remove(txn, &dlq, &id, vis)?;
                    m.receive_count = 0;
                    m.visible_at_ms = now;
                    store(txn, q.name, &id, None, &m)?;
                    moved += 1;
                }
                Ok(moved)
            })
            .await?;
        self.wake();
        Ok(moved)
    }

    async fn health(&self) -> Result<(), QueueError> {
        self.engine.read(|_txn| Ok(())).await?;
        Ok(())
    }
}
