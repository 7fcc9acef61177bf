//! The embedded `Store`: DynamoDB semantics on redb.
//!
//! Each logical table is a redb table `t/<name>` keyed by `(pk, sk)` (sk is "" for tables
//! without a sort key) holding the postcard-encoded item. Each index is a redb table
//! `i/<table>/<index>` keyed by `(index pk, index sk, pk, sk)` with no value; an item without
//! the index's key attributes has no entry (sparse, like a GSI). All writes go through the
//! engine's group commit; every operation, single or transactional, is checked in full before
//! anything is written.

use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::engine::{Engine, Fatal};
use mkpf_core::ports::Clock;
use mkpf_core::ports::store::*;

type MainDef<'a> = TableDefinition<'a, (&'static str, &'static str), &'static [u8]>;
type IndexTableDef<'a> = TableDefinition<'a, (&'static str, &'static str, &'static str, &'static str), ()>;

fn main_name(t: &TableDef) -> String {
    format!("t/{}", t.name)
}
fn index_name(t: &TableDef, i: &IndexDef) -> String {
    format!("i/{}/{}", t.name, i.name)
}

fn encode(item: &Item) -> Result<Vec<u8>, Fatal> {
    postcard::to_allocvec(item).map_err(Fatal::from)
}
fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("undecodable item: {e}")))
}

impl From<Fatal> for StoreError {
    fn from(f: Fatal) -> Self {
        StoreError::Unavailable(f.0)
    }
}

/// The embedded store.
pub struct EmbeddedStore {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
}

impl EmbeddedStore {
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>) -> Self {
        EmbeddedStore { engine, clock }
    }

    /// Physically removes items whose TTL has passed (DynamoDB does this in the background);
    /// returns how many went.
    pub async fn sweep_expired(&self, table: &'static TableDef) -> Result<usize, StoreError> {
        if table.ttl.is_none() {
            return Ok(0);
        }
        let now = self.clock.epoch_secs();
        let expired: Vec<Key> = self
            .engine
            .read(move |txn| {
                let name = main_name(table);
                let t = match txn.open_table(MainDef::new(&name)) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Ok(Vec::new())),
                    Err(e) => return Err(Fatal::from(e)),
                };
                let mut keys = Vec::new();
                for entry in t.iter().map_err(Fatal::from)? {
                    let (k, v) = entry.map_err(Fatal::from)?;
                    let item = match decode(v.value()) {
                        Ok(i) => i,
                        Err(e) => return Ok(Err(e)),
                    };
                    if is_expired(table, &item, now) {
                        let (pk, sk) = k.value();
                        keys.push(Key { pk: pk.to_owned(), sk: table.sk.map(|_| sk.to_owned()) });
                    }
                }
                Ok(Ok(keys))
            })
            .await??;
        let mut removed = 0;
        let cond = table.ttl.map(|ttl| Cond::le(ttl, now));
        for key in &expired {
            match self.delete(table, key, cond.clone()).await {
                Ok(_) => removed += 1,
                Err(StoreError::ConditionFailed) => {} // renewed meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    async fn run(&self, ops: Vec<TxOp>) -> Result<Vec<(Option<Item>, Option<Item>)>, StoreError> {
        validate_transaction(&ops)?;
        self.engine.write(move |txn| apply(txn, &ops)).await?
    }
}

/// Checks every action of a transaction against the current state, then (only if all pass)
/// writes them. Returns (old, new) per action. Logical failures are the inner `Err`.
#[allow(clippy::type_complexity)]
fn apply(txn: &WriteTransaction, ops: &[TxOp]) -> Result<Result<Vec<(Option<Item>, Option<Item>)>, StoreError>, Fatal> {
    let mut plan = Vec::with_capacity(ops.len());
    let mut reasons = Vec::with_capacity(ops.len());
    let mut failed = false;
    for op in ops {
        let table = op.table();
        let key = match op.key() {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let old = match load(txn, table, &key)? {
            Ok(o) => o,
            Err(e) => return Ok(Err(e)),
        };
        let cond = match op {
            TxOp::Put { cond, .. } | TxOp::Update { cond, .. } | TxOp::Delete { cond, .. } => cond.as_ref(),
            TxOp::Check { cond, .. } => Some(cond),
        };
        let ok = cond.is_none_or(|c| c.eval(old.as_ref()));
        reasons.push(if ok { CancelReason::None } else { CancelReason::ConditionFailed });
        failed |= !ok;
        if failed {
            // As on DynamoDB, a failed condition is reported before any error of the update.
            continue;
        }
        let new = match op {
            TxOp::Put { item, .. } => Some(item.clone()),
            TxOp::Update { update, .. } => {
                let base = old.clone().unwrap_or_else(|| table.key_item(&key));
                match update.apply(base) {
                    Ok(n) => Some(n),
                    Err(e) => return Ok(Err(e)),
                }
            }
            TxOp::Delete { .. } => None,
            TxOp::Check { .. } => old.clone(),
        };
        if let Some(n) = &new
            && let Err(e) = check_item_size(n)
        {
            return Ok(Err(e));
        }
        plan.push((table, key, old, new, matches!(op, TxOp::Check { .. })));
    }
    if failed {
        return Ok(Err(StoreError::TransactionCanceled { reasons }));
    }
    let mut out = Vec::with_capacity(plan.len());
    for (table, key, old, new, check_only) in plan {
        if !check_only {
            write(txn, table, &key, old.as_ref(), new.as_ref())?;
        }
        out.push((old, new));
    }
    Ok(Ok(out))
}

fn sk_str(key: &Key) -> &str {
    key.sk.as_deref().unwrap_or("")
}

fn load(txn: &WriteTransaction, table: &TableDef, key: &Key) -> Result<Result<Option<Item>, StoreError>, Fatal> {
    let name = main_name(table);
    let t = txn.open_table(MainDef::new(&name)).map_err(Fatal::from)?;
    let got = t.get((key.pk.as_str(), sk_str(key))).map_err(Fatal::from)?;
    Ok(match got {
        None => Ok(None),
        Some(v) => decode(v.value()).map(Some),
    })
}

fn index_key<'a>(idx: &IndexDef, item: &'a Item) -> Option<(&'a str, &'a str)> {
    let pk = item.get(idx.pk)?.as_s()?;
    let sk = match idx.sk {
        Some(s) => item.get(s)?.as_s()?,
        None => "",
    };
    Some((pk, sk))
}

fn write(
    txn: &WriteTransaction,
    table: &TableDef,
    key: &Key,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<(), Fatal> {
    let name = main_name(table);
    {
        let mut t = txn.open_table(MainDef::new(&name)).map_err(Fatal::from)?;
        match new {
            Some(item) => {
                let bytes = encode(item)?;
                t.insert((key.pk.as_str(), sk_str(key)), bytes.as_slice()).map_err(Fatal::from)?;
            }
            None => {
                t.remove((key.pk.as_str(), sk_str(key))).map_err(Fatal::from)?;
            }
        }
    }
    for idx in table.indexes {
        let before = old.and_then(|o| index_key(idx, o));
        let after = new.and_then(|n| index_key(idx, n));
        if before == after {
            continue;
        }
        let iname = index_name(table, idx);
        let mut it = txn.open_table(IndexTableDef::new(&iname)).map_err(Fatal::from)?;
        if let Some((gp, gs)) = before {
            it.remove((gp, gs, key.pk.as_str(), sk_str(key))).map_err(Fatal::from)?;
        }
        if let Some((gp, gs)) = after {
            it.insert((gp, gs, key.pk.as_str(), sk_str(key)), ()).map_err(Fatal::from)?;
        }
    }
    Ok(())
}

fn single_result(e: StoreError) -> StoreError {
    match e {
        StoreError::TransactionCanceled { .. } => StoreError::ConditionFailed,
        other => other,
    }
}

/// The smallest string greater than every string starting with `prefix` (None: no such bound).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Sort-key bounds of a query, before the cursor is applied.
fn sk_bounds(c: Option<&SkCond>) -> (Bound<String>, Bound<String>) {
    use Bound::*;
    match c {
        None => (Unbounded, Unbounded),
        Some(SkCond::Eq(v)) => (Included(v.clone()), Included(v.clone())),
        Some(SkCond::BeginsWith(p)) => (Included(p.clone()), prefix_end(p).map_or(Unbounded, Excluded)),
        Some(SkCond::Between(a, b)) => (Included(a.clone()), Included(b.clone())),
        Some(SkCond::Lt(v)) => (Unbounded, Excluded(v.clone())),
        Some(SkCond::Le(v)) => (Unbounded, Included(v.clone())),
        Some(SkCond::Gt(v)) => (Excluded(v.clone()), Unbounded),
        Some(SkCond::Ge(v)) => (Included(v.clone()), Unbounded),
    }
}

/// The tuple bound for a partition: `pk` followed by a sort-key bound. `Unbounded` sort keys
/// become the partition's edges ("" is the least string; `pk + "\0"` the next partition).
fn lower(pk: &str, b: &Bound<String>) -> Bound<(String, String)> {
    match b {
        Bound::Unbounded => Bound::Included((pk.to_owned(), String::new())),
        Bound::Included(s) => Bound::Included((pk.to_owned(), s.clone())),
        Bound::Excluded(s) => Bound::Excluded((pk.to_owned(), s.clone())),
    }
}
fn upper(pk: &str, b: &Bound<String>) -> Bound<(String, String)> {
    match b {
        Bound::Unbounded => Bound::Excluded((format!("{pk}\0"), String::new())),
        Bound::Included(s) => Bound::Included((pk.to_owned(), s.clone())),
        Bound::Excluded(s) => Bound::Excluded((pk.to_owned(), s.clone())),
    }
}

fn borrow2(b: &Bound<(String, String)>) -> Bound<(&str, &str)> {
    match b {
        Bound::Included((a, c)) => Bound::Included((a.as_str(), c.as_str())),
        Bound::Excluded((a, c)) => Bound::Excluded((a.as_str(), c.as_str())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn cursor_attr<'a>(c: &'a Cursor, name: &str) -> Result<&'a str, StoreError> {
    c.0.get(name).and_then(Value::as_s).ok_or_else(|| StoreError::Validation(format!("cursor lacks {name}")))
}

fn query_sync(txn: &redb::ReadTransaction, q: &Query, now: i64) -> Result<Result<Page, StoreError>, Fatal> {
    let table = q.table;
    let limit = q.limit.map_or(usize::MAX, |l| l as usize);
    let (lo, hi) = sk_bounds(q.sk.as_ref());
    let main = main_name(table);
    let main_t = match txn.open_table(MainDef::new(&main)) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Ok(Page::default())),
        Err(e) => return Err(Fatal::from(e)),
    };
    let mut items = Vec::new();
    let mut more = false;
    match q.index {
        None => {
            let mut lo_b = lower(&q.pk, &lo);
            let mut hi_b = upper(&q.pk, &hi);
            if let Some(c) = &q.start {
                let sk = match table.sk {
                    Some(n) => match cursor_attr(c, n) {
                        Ok(s) => s.to_owned(),
                        Err(e) => return Ok(Err(e)),
                    },
                    None => return Ok(Ok(Page::default())),
                };
                if q.forward {
                    lo_b = Bound::Excluded((q.pk.clone(), sk));
                } else {
                    hi_b = Bound::Excluded((q.pk.clone(), sk));
                }
            }
            if empty_range(&lo_b, &hi_b) {
                return Ok(Ok(Page::default()));
            }
            let range = main_t.range::<(&str, &str)>((borrow2(&lo_b), borrow2(&hi_b))).map_err(Fatal::from)?;
            let iter: Box<dyn Iterator<Item = _>> = if q.forward { Box::new(range) } else { Box::new(range.rev()) };
            for entry in iter {
                let (_, v) = entry.map_err(Fatal::from)?;
                let item = match decode(v.value()) {
                    Ok(i) => i,
                    Err(e) => return Ok(Err(e)),
                };
                if is_expired(table, &item, now) {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(item);
            }
        }
        Some(iname) => {
            let Some(idx) = table.index(iname) else {
                return Ok(Err(StoreError::Validation(format!("{} has no index {iname}", table.name))));
            };
            let idx_name = index_name(table, idx);
            let it = match txn.open_table(IndexTableDef::new(&idx_name)) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Ok(Page::default())),
                Err(e) => return Err(Fatal::from(e)),
            };
            let mut lo4 = index_lower(&q.pk, &lo);
            let mut hi4 = index_upper(&q.pk, &hi);
            if let Some(c) = &q.start {
                let (Some(isk), Some(tsk)) = (idx.sk, table.sk) else {
                    return Ok(Err(StoreError::Validation("cursor on an index without sort keys".into())));
                };
                let parts = (|| -> Result<_, StoreError> {
                    Ok((
                        cursor_attr(c, idx.pk)?.to_owned(),
                        cursor_attr(c, isk)?.to_owned(),
                        cursor_attr(c, table.pk)?.to_owned(),
                        cursor_attr(c, tsk)?.to_owned(),
                    ))
                })();
                let parts = match parts {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                if q.forward {
                    lo4 = Bound::Excluded(parts);
                } else {
                    hi4 = Bound::Excluded(parts);
                }
            }
            if empty_range(&lo4, &hi4) {
                return Ok(Ok(Page::default()));
            }
            let range = it.range::<(&str, &str, &str, &str)>((borrow4(&lo4), borrow4(&hi4))).map_err(Fatal::from)?;
            let iter: Box<dyn Iterator<Item = _>> = if q.forward { Box::new(range) } else { Box::new(range.rev()) };
            for entry in iter {
                let (k, _) = entry.map_err(Fatal::from)?;
                let (gp, gs, pk, sk) = k.value();
                if gp != q.pk || !q.sk.as_ref().is_none_or(|c| c.matches(gs)) {
                    continue;
                }
                let Some(v) = main_t.get((pk, sk)).map_err(Fatal::from)? else {
                    continue;
                };
                let item = match decode(v.value()) {
                    Ok(i) => i,
                    Err(e) => return Ok(Err(e)),
                };
                if is_expired(table, &item, now) {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(item);
            }
        }
    }
    let next = if more {
        let last = items.last().expect("more implies at least one item");
        let mut c = Item::new();
        let mut keep = vec![table.pk];
        keep.extend(table.sk);
        if let Some(idx) = q.index.and_then(|i| table.index(i)) {
            keep.push(idx.pk);
            keep.extend(idx.sk);
        }
        for k in keep {
            if let Some(v) = last.get(k) {
                c.insert(k.to_owned(), v.clone());
            }
        }
        Some(Cursor(c))
    } else {
        None
    };
    Ok(Ok(Page { items, next }))
}

fn empty_range<T: Ord>(lo: &Bound<T>, hi: &Bound<T>) -> bool {
    use Bound::*;
    match (lo, hi) {
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a >= b,
        _ => false,
    }
}

type Key4 = (String, String, String, String);

/// Lower bound of an index range: (index pk, index sk bound, then the least base key).
/// The least string above `s` is `s + "\0"`, which turns exclusive sort-key bounds inclusive.
fn index_lower(pk: &str, b: &Bound<String>) -> Bound<Key4> {
    let sk = match b {
        Bound::Unbounded => String::new(),
        Bound::Included(s) => s.clone(),
        Bound::Excluded(s) => format!("{s}\0"),
    };
    Bound::Included((pk.to_owned(), sk, String::new(), String::new()))
}

/// Upper bound of an index range (exclusive).
fn index_upper(pk: &str, b: &Bound<String>) -> Bound<Key4> {
    let (p, sk) = match b {
        Bound::Unbounded => (format!("{pk}\0"), String::new()),
        Bound::Included(s) => (pk.to_owned(), format!("{s}\0")),
        Bound::Excluded(s) => (pk.to_owned(), s.clone()),
    };
    Bound::Excluded((p, sk, String::new(), String::new()))
}

fn borrow4(b: &Bound<Key4>) -> Bound<(&str, &str, &str, &str)> {
    match b {
        Bound::Included((a, b, c, d)) => Bound::Included((a.as_str(), b.as_str(), c.as_str(), d.as_str())),
        Bound::Excluded((a, b, c, d)) => Bound::Excluded((a.as_str(), b.as_str(), c.as_str(), d.as_str())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, table: &'static TableDef, key: &Key) -> Result<Option<Item>, StoreError> {
        table.check_key(key)?;
        let key = key.clone();
        let now = self.clock.epoch_secs();
        self.engine
            .read(move |txn| {
                let name = main_name(table);
                let t = match txn.open_table(MainDef::new(&name)) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Ok(None)),
                    Err(e) => return Err(Fatal::from(e)),
                };
                let got = t.get((key.pk.as_str(), sk_str(&key))).map_err(Fatal::from)?;
                Ok(match got {
                    None => Ok(None),
                    Some(v) => decode(v.value()).map(|i| (!is_expired(table, &i, now)).then_some(i)),
                })
            })
            .await?
    }

    async fn put(&self, table: &'static TableDef, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.run(vec![TxOp::Put { table, item, cond }]).await.map_err(single_result)?;
        Ok(())
    }

    async fn update(
        &self,
        table: &'static TableDef,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        let mut out =
            self.run(vec![TxOp::Update { table, key: key.clone(), update, cond }]).await.map_err(single_result)?;
        out.pop().and_then(|(_, new)| new).ok_or_else(|| StoreError::Unavailable("update produced no item".into()))
    }

    async fn delete(
        &self,
        table: &'static TableDef,
        key: &Key,
        cond: Option<Cond>,
    ) -> Result<Option<Item>, StoreError> {
        let mut out = self.run(vec![TxOp::Delete { table, key: key.clone(), cond }]).await.map_err(single_result)?;
        // Like a read, the answer never shows an item whose TTL has passed.
        let now = self.clock.epoch_secs();
        Ok(out.pop().and_then(|(old, _)| old).filter(|o| !is_expired(table, o, now)))
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        self.run(ops).await.map(|_| ())
    }

    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        q.key_attrs()?;
        if q.limit == Some(0) {
            return Err(StoreError::Validation("query limit must be at least 1".into()));
        }
        if q.pk.is_empty() {
            return Err(StoreError::Validation("empty partition key in query".into()));
        }
        let now = self.clock.epoch_secs();
        self.engine.read(move |txn| query_sync(txn, &q, now)).await?
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.engine
            .read(|txn| {
                txn.list_tables().map_err(Fatal::from)?.for_each(|t| {
                    let _ = t.name();
                });
                Ok(())
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_string() {
        assert_eq!(prefix_end("a#").as_deref(), Some("a$"));
        assert_eq!(prefix_end("").as_deref(), None);
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
