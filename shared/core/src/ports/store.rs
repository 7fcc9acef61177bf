//! The `Store` port: a key–value store with DynamoDB's semantics.
//!
//! Items are maps of attribute name → [`Value`]. Every table has a string partition key and
//! optionally a string sort key ([`TableDef`]); secondary indexes are sparse (an item without the
//! index's key attributes is not in the index). Writes take typed conditions ([`Cond`]) and typed
//! updates ([`Update`]); the DynamoDB adapter renders them to expression strings with
//! placeholders, the embedded adapter evaluates them natively. Nobody parses expression strings.
//!
//! TTL: a table may name a numeric TTL attribute (epoch seconds). Reads (`get`, `query`) never
//! return an item whose TTL has passed, on both adapters. Conditions still see such an item until
//! it is physically removed (DynamoDB deletes lazily), so a write that must treat an expired item
//! as absent uses [`Cond::absent_or_expired`].

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// DynamoDB's limit on the number of actions in one `TransactWriteItems` call.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's item size limit (attribute names plus values), in bytes.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An attribute value. Numbers are 64-bit signed integers: every number the platform stores is a
/// count, an amount of points or yen, or an epoch second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    S(String),
    N(i64),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<Value>),
    M(BTreeMap<String, Value>),
}

impl Value {
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_n(&self) -> Option<i64> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_b(&self) -> Option<&[u8]> {
        match self {
            Value::B(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Approximate stored size, computed the way DynamoDB documents it (UTF-8 bytes of strings,
    /// raw bytes of binaries, about 21 bytes for a number).
    pub fn size(&self) -> usize {
        match self {
            Value::S(s) => s.len(),
            Value::N(_) => 21,
            Value::B(b) => b.len(),
            Value::Bool(_) | Value::Null => 1,
            Value::L(l) => 3 + l.iter().map(|v| 1 + v.size()).sum::<usize>(),
            Value::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + v.size()).sum::<usize>(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::S(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::S(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::N(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::B(b)
    }
}

/// One stored item: attribute name → value.
pub type Item = BTreeMap<String, Value>;

/// Approximate size of an item in bytes (names plus values).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + v.size()).sum()
}

/// Reading typed attributes out of an item, with a clear error when the stored shape is wrong.
pub trait ItemExt {
    fn s(&self, name: &str) -> Result<&str, StoreError>;
    fn n(&self, name: &str) -> Result<i64, StoreError>;
    fn opt_s(&self, name: &str) -> Option<&str>;
    fn opt_n(&self, name: &str) -> Option<i64>;
}

impl ItemExt for Item {
    fn s(&self, name: &str) -> Result<&str, StoreError> {
        self.get(name)
            .and_then(Value::as_s)
            .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} missing or not a string")))
    }
    fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.get(name)
            .and_then(Value::as_n)
            .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} missing or not a number")))
    }
    fn opt_s(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_s)
    }
    fn opt_n(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_n)
    }
}

/// A table, declared once in code (see `crate::tables`) and used by both adapters and by infra.
/// Key attributes are always strings.
#[derive(Debug, PartialEq, Eq)]
pub struct TableDef {
    /// Logical name; the physical name is the configured prefix followed by this.
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: Option<&'static str>,
    pub indexes: &'static [IndexDef],
    /// Numeric attribute holding the expiry as epoch seconds.
    pub ttl: Option<&'static str>,
    /// What lives in the table (written into the infra manifest and docs).
    pub purpose: &'static str,
}

/// A global secondary index (projection: all attributes).
#[derive(Debug, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: Option<&'static str>,
}

impl TableDef {
    pub fn index(&self, name: &str) -> Option<&'static IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }

    /// The key attributes of this table, taken from an item.
    pub fn key_of(&self, item: &Item) -> Result<Key, StoreError> {
        let pk = item
            .get(self.pk)
            .and_then(Value::as_s)
            .ok_or_else(|| StoreError::Validation(format!("item lacks string key attribute {}", self.pk)))?;
        let sk = match self.sk {
            Some(sk) => Some(
                item.get(sk)
                    .and_then(Value::as_s)
                    .ok_or_else(|| StoreError::Validation(format!("item lacks string key attribute {sk}")))?
                    .to_owned(),
            ),
            None => None,
        };
        let key = Key { pk: pk.to_owned(), sk };
        self.check_key(&key)?;
        Ok(key)
    }

    /// Checks that a key has the shape this table needs (sort key present iff declared, non-empty).
    pub fn check_key(&self, key: &Key) -> Result<(), StoreError> {
        if key.pk.is_empty() {
            return Err(StoreError::Validation(format!("{}: empty partition key", self.name)));
        }
        match (&self.sk, &key.sk) {
            (Some(_), Some(sk)) if sk.is_empty() => {
                Err(StoreError::Validation(format!("{}: empty sort key", self.name)))
            }
            (Some(_), Some(_)) | (None, None) => Ok(()),
            (Some(_), None) => Err(StoreError::Validation(format!("{}: sort key required", self.name))),
            (None, Some(_)) => Err(StoreError::Validation(format!("{}: table has no sort key", self.name))),
        }
    }

    /// The key as an item (just the key attributes).
    pub fn key_item(&self, key: &Key) -> Item {
        let mut item = Item::new();
        item.insert(self.pk.to_owned(), Value::S(key.pk.clone()));
        if let (Some(name), Some(sk)) = (self.sk, &key.sk) {
            item.insert(name.to_owned(), Value::S(sk.clone()));
        }
        item
    }
}

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: Option<String>,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: Some(sk.into()) }
    }
    pub fn pk_only(pk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: None }
    }
}

/// Comparison operators for conditions. Comparing values of different types, or comparing with a
/// missing attribute, is false (as in DynamoDB); ordering comparisons apply to strings (by UTF-8
/// bytes) and numbers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A condition on the current version of an item (top-level attributes only).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Exists(String),
    NotExists(String),
    Cmp(String, CmpOp, Value),
    BeginsWith(String, String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    pub fn exists(attr: &str) -> Self {
        Cond::Exists(attr.to_owned())
    }
    pub fn not_exists(attr: &str) -> Self {
        Cond::NotExists(attr.to_owned())
    }
    pub fn eq(attr: &str, v: impl Into<Value>) -> Self {
        Cond::Cmp(attr.to_owned(), CmpOp::Eq, v.into())
    }
    pub fn ne(attr: &str, v: impl Into<Value>) -> Self {
        Cond::Cmp(attr.to_owned(), CmpOp::Ne, v.into())
    }
    pub fn lt(attr: &str, v: impl Into<Value>) -> Self {
        Cond::Cmp(attr.to_owned(), CmpOp::Lt, v.into())
    }
    pub fn le(attr: &str, v: impl Into<Value>) -> Self {
        Cond::Cmp(attr.to_owned(), CmpOp::Le, v.into())
    }
    pub fn gt(attr: &str, v: impl Into<Value>) -> Self {
        Cond::Cmp(attr.to_owned(), CmpOp::Gt, v.into())
    }
    pub fn ge(attr: &str, v: impl Into<Value>) -> Self {
        Cond::Cmp(attr.to_owned(), CmpOp::Ge, v.into())
    }
    pub fn begins_with(attr: &str, prefix: &str) -> Self {
        Cond::BeginsWith(attr.to_owned(), prefix.to_owned())
    }
    pub fn and(self, other: Cond) -> Self {
        match self {
            Cond::And(mut v) => {
                v.push(other);
                Cond::And(v)
            }
            c => Cond::And(vec![c, other]),
        }
    }
    pub fn or(self, other: Cond) -> Self {
        match self {
            Cond::Or(mut v) => {
                v.push(other);
                Cond::Or(v)
            }
            c => Cond::Or(vec![c, other]),
        }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Cond::Not(Box::new(self))
    }

    /// "No live item here": the item is absent, or its TTL attribute has passed `now_epoch`.
    pub fn absent_or_expired(table: &TableDef, now_epoch: i64) -> Self {
        let absent = Cond::not_exists(table.pk);
        match table.ttl {
            Some(ttl) => absent.or(Cond::le(ttl, now_epoch)),
            None => absent,
        }
    }

    /// Evaluates the condition against the current item (`None` when absent). Used by the
    /// embedded adapter, and the reference for what the DynamoDB rendering must mean.
    pub fn eval(&self, item: Option<&Item>) -> bool {
        let get = |a: &str| item.and_then(|i| i.get(a));
        match self {
            Cond::Exists(a) => get(a).is_some(),
            Cond::NotExists(a) => get(a).is_none(),
            Cond::Cmp(a, op, v) => match get(a) {
                None => false,
                Some(cur) => compare(cur, *op, v),
            },
            Cond::BeginsWith(a, p) => matches!(get(a), Some(Value::S(s)) if s.starts_with(p.as_str())),
            Cond::And(cs) => cs.iter().all(|c| c.eval(item)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(item)),
            Cond::Not(c) => !c.eval(item),
        }
    }
}

fn compare(cur: &Value, op: CmpOp, v: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (cur, v) {
        (Value::S(a), Value::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
        (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        CmpOp::Eq => cur == v,
        CmpOp::Ne => cur != v,
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// One action of an update (top-level attributes only; key attributes may not be updated).
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    Set(String, Value),
    /// Sets the attribute only if it does not exist yet (`if_not_exists`).
    SetIfAbsent(String, Value),
    /// Adds to a number attribute (a missing attribute counts as 0).
    Add(String, i64),
    Remove(String),
}

/// A typed update expression.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub actions: Vec<UpdateAction>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, attr: &str, v: impl Into<Value>) -> Self {
        self.actions.push(UpdateAction::Set(attr.to_owned(), v.into()));
        self
    }
    pub fn set_if_absent(mut self, attr: &str, v: impl Into<Value>) -> Self {
        self.actions.push(UpdateAction::SetIfAbsent(attr.to_owned(), v.into()));
        self
    }
    pub fn add(mut self, attr: &str, n: i64) -> Self {
        self.actions.push(UpdateAction::Add(attr.to_owned(), n));
        self
    }
    pub fn remove(mut self, attr: &str) -> Self {
        self.actions.push(UpdateAction::Remove(attr.to_owned()));
        self
    }

    /// The attribute names this update touches.
    pub fn attrs(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(|a| match a {
            UpdateAction::Set(n, _)
            | UpdateAction::SetIfAbsent(n, _)
            | UpdateAction::Add(n, _)
            | UpdateAction::Remove(n) => n.as_str(),
        })
    }

    /// Checks the update is well formed for `table`: non-empty, no key attribute, no attribute
    /// touched twice.
    pub fn validate(&self, table: &TableDef) -> Result<(), StoreError> {
        if self.actions.is_empty() {
            return Err(StoreError::Validation("empty update".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in self.attrs() {
            if a == table.pk || Some(a) == table.sk {
                return Err(StoreError::Validation(format!("update may not change key attribute {a}")));
            }
            if !seen.insert(a) {
                return Err(StoreError::Validation(format!("attribute {a} updated twice")));
            }
        }
        Ok(())
    }

    /// Applies the update to the current item (or to the bare key when absent), producing the new
    /// item. Fails when `Add` meets a non-number.
    pub fn apply(&self, mut item: Item) -> Result<Item, StoreError> {
        for a in &self.actions {
            match a {
                UpdateAction::Set(n, v) => {
                    item.insert(n.clone(), v.clone());
                }
                UpdateAction::SetIfAbsent(n, v) => {
                    item.entry(n.clone()).or_insert_with(|| v.clone());
                }
                UpdateAction::Add(n, d) => {
                    let cur = match item.get(n) {
                        None => 0,
                        Some(Value::N(x)) => *x,
                        Some(_) => return Err(StoreError::Validation(format!("ADD on non-number attribute {n}"))),
                    };
                    let next =
                        cur.checked_add(*d).ok_or_else(|| StoreError::Validation(format!("number overflow on {n}")))?;
                    item.insert(n.clone(), Value::N(next));
                }
                UpdateAction::Remove(n) => {
                    item.remove(n);
                }
            }
        }
        Ok(item)
    }
}

/// One action inside a transactional write.
#[derive(Debug, Clone)]
pub enum TxOp {
    Put {
        table: &'static TableDef,
        item: Item,
        cond: Option<Cond>,
    },
    Update {
        table: &'static TableDef,
        key: Key,
        update: Update,
        cond: Option<Cond>,
    },
    Delete {
        table: &'static TableDef,
        key: Key,
        cond: Option<Cond>,
    },
    /// Only checks a condition; writes nothing.
    Check {
        table: &'static TableDef,
        key: Key,
        cond: Cond,
    },
}

impl TxOp {
    pub fn table(&self) -> &'static TableDef {
        match self {
            TxOp::Put { table, .. }
            | TxOp::Update { table, .. }
            | TxOp::Delete { table, .. }
            | TxOp::Check { table, .. } => table,
        }
    }
    pub fn key(&self) -> Result<Key, StoreError> {
        match self {
            TxOp::Put { table, item, .. } => table.key_of(item),
            TxOp::Update { key, .. } | TxOp::Delete { key, .. } | TxOp::Check { key, .. } => Ok(key.clone()),
        }
    }
}

/// Why one action of a cancelled transaction failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// This action was fine; the transaction failed because of another one.
    None,
    ConditionFailed,
    /// Another transaction was writing the same item at the same time.
    Conflict,
    Other(String),
}

/// Sort-key condition of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SkCond {
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

impl SkCond {
    pub fn matches(&self, sk: &str) -> bool {
        let b = sk.as_bytes();
        match self {
            SkCond::Eq(v) => sk == v,
            SkCond::BeginsWith(p) => sk.starts_with(p.as_str()),
            SkCond::Between(lo, hi) => b >= lo.as_bytes() && b <= hi.as_bytes(),
            SkCond::Lt(v) => b < v.as_bytes(),
            SkCond::Le(v) => b <= v.as_bytes(),
            SkCond::Gt(v) => b > v.as_bytes(),
            SkCond::Ge(v) => b >= v.as_bytes(),
        }
    }
}

/// Where a query resumes: the key attributes (table and index keys) of the last item returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub Item);

/// A query by partition key on a table or one of its indexes.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: &'static TableDef,
    pub index: Option<&'static str>,
    pub pk: String,
    pub sk: Option<SkCond>,
    /// Ascending sort-key order when true.
    pub forward: bool,
    pub limit: Option<u32>,
    pub start: Option<Cursor>,
}

impl Query {
    pub fn new(table: &'static TableDef, pk: impl Into<String>) -> Self {
        Query { table, index: None, pk: pk.into(), sk: None, forward: true, limit: None, start: None }
    }
    pub fn index(mut self, name: &'static str) -> Self {
        self.index = Some(name);
        self
    }
    pub fn sk(mut self, c: SkCond) -> Self {
        self.sk = Some(c);
        self
    }
    pub fn reverse(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn start(mut self, c: Option<Cursor>) -> Self {
        self.start = c;
        self
    }

    /// The (partition, sort) key attribute names this query walks.
    pub fn key_attrs(&self) -> Result<(&'static str, Option<&'static str>), StoreError> {
        match self.index {
            None => Ok((self.table.pk, self.table.sk)),
            Some(i) => {
                let idx = self
                    .table
                    .index(i)
                    .ok_or_else(|| StoreError::Validation(format!("{} has no index {i}", self.table.name)))?;
                Ok((idx.pk, idx.sk))
            }
        }
    }
}

/// One page of query results. `next` is set when there may be more; a page may hold fewer items
/// than the limit (expired items are dropped) while `next` is still set.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Cursor>,
}

/// What can go wrong in a store call. Only `ConditionFailed` and `TransactionCanceled` are
/// expected outcomes that use cases turn into domain errors; the rest are faults.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("condition failed")]
    ConditionFailed,
    #[error("transaction cancelled: {reasons:?}")]
    TransactionCanceled { reasons: Vec<CancelReason> },
    #[error("invalid store request: {0}")]
    Validation(String),
    #[error("store throttled")]
    Throttled,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data has an unexpected shape: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Index of the first action whose own condition failed, for a cancelled transaction.
    pub fn failed_condition_index(&self) -> Option<usize> {
        match self {
            StoreError::TransactionCanceled { reasons } => {
                reasons.iter().position(|r| *r == CancelReason::ConditionFailed)
            }
            _ => None,
        }
    }
}

/// The store port. Reads are strongly consistent on tables (indexes are eventually consistent on
/// DynamoDB; the embedded adapter's are immediate).
#[async_trait]
pub trait Store: Send + Sync {
    async fn get(&self, table: &'static TableDef, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Writes a whole item, replacing any existing one, if `cond` holds.
    async fn put(&self, table: &'static TableDef, item: Item, cond: Option<Cond>) -> Result<(), StoreError>;
    /// Updates (or creates) an item if `cond` holds; returns the new item.
    async fn update(
        &self,
        table: &'static TableDef,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError>;
    /// Deletes an item if `cond` holds; returns the old item if there was one.
    async fn delete(&self, table: &'static TableDef, key: &Key, cond: Option<Cond>)
    -> Result<Option<Item>, StoreError>;
    /// Up to [`MAX_TRANSACTION_ITEMS`] actions on distinct items, all or nothing. On a failed
    /// condition: `TransactionCanceled` with one reason per action, in order.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError>;
    async fn query(&self, q: Query) -> Result<Page, StoreError>;
    /// A cheap round trip proving the store answers.
    async fn health(&self) -> Result<(), StoreError>;
}

/// Checks the shape of a transaction before any adapter runs it.
pub fn validate_transaction(ops: &[TxOp]) -> Result<(), StoreError> {
    if ops.is_empty() {
        return Err(StoreError::Validation("empty transaction".into()));
    }
    if ops.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Validation(format!(
            "transaction of {} actions exceeds {MAX_TRANSACTION_ITEMS}",
            ops.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for op in ops {
        let table = op.table();
        let key = op.key()?;
        table.check_key(&key)?;
        if let TxOp::Update { update, .. } = op {
            update.validate(table)?;
        }
        if let TxOp::Put { item, .. } = op {
            check_item_size(item)?;
        }
        if !seen.insert((table.name, key)) {
            return Err(StoreError::Validation("transaction touches the same item twice".into()));
        }
    }
    Ok(())
}

/// Refuses items over DynamoDB's 400 KB limit.
pub fn check_item_size(item: &Item) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Validation(format!("item of {size} bytes exceeds {MAX_ITEM_BYTES}")));
    }
    Ok(())
}

/// True when the item's TTL attribute (if the table has one) is at or before `now_epoch`.
pub fn is_expired(table: &TableDef, item: &Item, now_epoch: i64) -> bool {
    match table.ttl.and_then(|t| item.get(t)).and_then(Value::as_n) {
        Some(exp) => exp <= now_epoch,
        None => false,
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sk {
            Some(sk) => write!(f, "{}/{}", self.pk, sk),
            None => write!(f, "{}", self.pk),
        }
    }
}

/// Every item a query matches, following its pages (the query's `limit` is the page size). For
/// small partitions and indexes: a person's items, a provider's secrets, the list of services.
pub async fn query_all(store: &dyn Store, q: Query) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(q.clone().start(cursor)).await?;
        out.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Deletes of every item of partition `pk` whose sort key starts with `prefix` (for the caller's
/// transaction; at most `max`). Sessions use it to end all of someone's sessions at once.
pub async fn prefix_delete_ops(
    store: &dyn Store,
    table: &'static TableDef,
    pk: String,
    prefix: &str,
    max: usize,
) -> Result<Vec<TxOp>, StoreError> {
    let mut ops = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .query(Query::new(table, pk.clone()).sk(SkCond::BeginsWith(prefix.into())).limit(100).start(cursor))
            .await?;
        for i in page.items {
            if ops.len() == max {
                return Ok(ops);
            }
            ops.push(TxOp::Delete { table, key: table.key_of(&i)?, cond: None });
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(ops),
        }
    }
}
