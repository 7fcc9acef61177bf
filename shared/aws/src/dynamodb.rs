//! The DynamoDB adapter of the [`Store`] port.
//!
//! Requests are validated locally with the port's own checks before any call, so validation
//! errors are the same as the embedded adapter's. Conditions and updates are rendered with
//! placeholders by [`expr`]; values are converted by [`convert`]. Reads drop items whose TTL has
//! passed (DynamoDB deletes expired items lazily, up to days later).
//!
//! IAM: the role needs `GetItem`, `PutItem`, `UpdateItem`, `DeleteItem`, `Query` (tables and
//! their indexes), `TransactWriteItems` (granted through the item actions), and `ListTables` for
//! [`Store::health`].

mod convert;
mod expr;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    CancellationReason, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update as DdbUpdate,
};
use mkpf_core::ports::store::{check_item_size, is_expired, validate_transaction};
use mkpf_core::ports::{
    CancelReason, Clock, Cond, Cursor, Item, Key, Page, Query, Store, StoreError, TableDef, TxOp, Update,
};

use convert::{AvMap, item_from_av, item_to_av};
use expr::Exprs;

use crate::sdk_error::{short, transport_fault};

/// Attempts of a transaction cancelled only by conflicts with concurrent requests.
const TX_CONFLICT_ATTEMPTS: u32 = 4;
/// First backoff after a conflict; doubled per attempt, plus up to as much again of jitter.
const TX_CONFLICT_BACKOFF: Duration = Duration::from_millis(20);

/// [`Store`] on DynamoDB. Physical table names are the configured prefix followed by
/// [`TableDef::name`].
pub struct DynamoStore {
    client: Client,
    table_prefix: String,
    clock: Arc<dyn Clock>,
    round_trips: AtomicU64,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table_prefix", &self.table_prefix)
            .field("round_trips", &self.round_trips())
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// `clock` decides which items have expired (TTL attribute at or before now).
    pub fn new(client: Client, table_prefix: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        DynamoStore { client, table_prefix: table_prefix.into(), clock, round_trips: AtomicU64::new(0) }
    }

    /// How many DynamoDB requests this store has sent (SDK retries of one request count once).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// The physical name of a table.
    pub fn table_name(&self, table: &TableDef) -> String {
        format!("{}{}", self.table_prefix, table.name)
    }

    fn count_round_trip(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }

    fn now(&self) -> i64 {
        self.clock.epoch_secs()
    }

    fn live(&self, table: &TableDef, item: Item) -> Option<Item> {
        (!is_expired(table, &item, self.now())).then_some(item)
    }

    fn tx_item(&self, op: &TxOp) -> Result<TransactWriteItem, StoreError> {
        let table = op.table();
        let name = self.table_name(table);
        let mut ex = Exprs::new();
        let item = match op {
            TxOp::Put { item, cond, .. } => {
                let ce = cond.as_ref().and_then(|c| expr::condition(c, table.pk, &mut ex));
                let (names, values) = ex.into_maps();
                let put = Put::builder()
                    .table_name(name)
                    .set_item(Some(item_to_av(item)))
                    .set_condition_expression(ce)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build();
                TransactWriteItem::builder().put(built(put)?).build()
            }
            TxOp::Update { key, update, cond, .. } => {
                let ue = expr::update(update, &mut ex);
                let guarded = expr::has_add_guards(update);
                let ce = expr::update_condition(cond.as_ref(), update, table.pk, &mut ex);
                let (names, values) = ex.into_maps();
                let mut upd = DdbUpdate::builder()
                    .table_name(name)
                    .set_key(Some(item_to_av(&table.key_item(key))))
                    .update_expression(ue)
                    .set_condition_expression(ce)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values);
                if guarded {
                    upd = upd.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
                }
                TransactWriteItem::builder().update(built(upd.build())?).build()
            }
            TxOp::Delete { key, cond, .. } => {
                let ce = cond.as_ref().and_then(|c| expr::condition(c, table.pk, &mut ex));
                let (names, values) = ex.into_maps();
                let del = Delete::builder()
                    .table_name(name)
                    .set_key(Some(item_to_av(&table.key_item(key))))
                    .set_condition_expression(ce)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build();
                TransactWriteItem::builder().delete(built(del)?).build()
            }
            TxOp::Check { key, cond, .. } => {
                let ce = expr::required_condition(cond, table.pk, &mut ex);
                let (names, values) = ex.into_maps();
                let check = ConditionCheck::builder()
                    .table_name(name)
                    .set_key(Some(item_to_av(&table.key_item(key))))
                    .condition_expression(ce)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build();
                TransactWriteItem::builder().condition_check(built(check)?).build()
            }
        };
        Ok(item)
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, table: &'static TableDef, key: &Key) -> Result<Option<Item>, StoreError> {
        table.check_key(key)?;
        self.count_round_trip();
        let out = self
            .client
            .get_item()
            .table_name(self.table_name(table))
            .set_key(Some(item_to_av(&table.key_item(key))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_sdk_err("GetItem", &e))?;
        match out.item {
            Some(m) if !m.is_empty() => Ok(self.live(table, item_from_av(&m)?)),
            _ => Ok(None),
        }
    }

    async fn put(&self, table: &'static TableDef, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        table.key_of(&item)?;
        check_item_size(&item)?;
        let mut ex = Exprs::new();
        let ce = cond.as_ref().and_then(|c| expr::condition(c, table.pk, &mut ex));
        let (names, values) = ex.into_maps();
        self.count_round_trip();
        self.client
            .put_item()
            .table_name(self.table_name(table))
            .set_item(Some(item_to_av(&item)))
            .set_condition_expression(ce)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(|e| map_sdk_err("PutItem", &e))?;
        Ok(())
    }

    async fn update(
        &self,
        table: &'static TableDef,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        table.check_key(key)?;
        update.validate(table)?;
        let mut ex = Exprs::new();
        let ue = expr::update(&update, &mut ex);
        let guarded = expr::has_add_guards(&update);
        let ce = expr::update_condition(cond.as_ref(), &update, table.pk, &mut ex);
        let (names, values) = ex.into_maps();
        let mut req = self
            .client
            .update_item()
            .table_name(self.table_name(table))
            .set_key(Some(item_to_av(&table.key_item(key))))
            .update_expression(ue)
            .set_condition_expression(ce)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew);
        if guarded {
            req = req.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        self.count_round_trip();
        match req.send().await {
            Ok(out) => match out.attributes {
                Some(m) if !m.is_empty() => item_from_av(&m),
                _ => Err(StoreError::Corrupt("UpdateItem returned no item".into())),
            },
            Err(err) => {
                if guarded
                    && let Some(UpdateItemError::ConditionalCheckFailedException(e)) = err.as_service_error()
                    && let Some(v) = guard_violation(table, key, &update, cond.as_ref(), e.item())?
                {
                    return Err(v);
                }
                Err(map_sdk_err("UpdateItem", &err))
            }
        }
    }

    async fn delete(
        &self,
        table: &'static TableDef,
        key: &Key,
        cond: Option<Cond>,
    ) -> Result<Option<Item>, StoreError> {
        table.check_key(key)?;
        let mut ex = Exprs::new();
        let ce = cond.as_ref().and_then(|c| expr::condition(c, table.pk, &mut ex));
        let (names, values) = ex.into_maps();
        self.count_round_trip();
        let out = self
            .client
            .delete_item()
            .table_name(self.table_name(table))
            .set_key(Some(item_to_av(&table.key_item(key))))
            .set_condition_expression(ce)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| map_sdk_err("DeleteItem", &e))?;
        // An expired item was already gone as far as reads are concerned.
        match out.attributes {
            Some(m) if !m.is_empty() => Ok(self.live(table, item_from_av(&m)?)),
            _ => Ok(None),
        }
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let items = ops.iter().map(|op| self.tx_item(op)).collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 1;
        loop {
            self.count_round_trip();
            let err = match self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() else {
                return Err(map_sdk_err("TransactWriteItems", &err));
            };
            let cancel = cancelled(&ops, e.cancellation_reasons());
            // Cancelled only because another request was writing the same items at that moment:
            // nothing was written and no condition failed, so running it again is safe, and it
            // lets the conditions decide (otherwise two racing transactions can both lose).
            if attempt >= TX_CONFLICT_ATTEMPTS || !only_conflicts(&cancel) {
                return Err(cancel);
            }
            tokio::time::sleep(conflict_backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn query(&self, q: Query) -> Result<Page, StoreError> {
        let (pk_attr, sk_attr) = q.key_attrs()?;
        if q.pk.is_empty() {
            return Err(StoreError::Validation(format!("{}: empty partition key in query", q.table.name)));
        }
        if q.limit == Some(0) {
            return Err(StoreError::Validation("query limit must be at least 1".into()));
        }
        let start = match &q.start {
            Some(Cursor(c)) if c.is_empty() => return Err(StoreError::Validation("empty query cursor".into())),
            Some(Cursor(c)) => Some(item_to_av(c)),
            None => None,
        };
        let mut ex = Exprs::new();
        let kce = expr::key_condition(pk_attr, &q.pk, sk_attr, q.sk.as_ref(), &mut ex)?;
        let (names, values) = ex.into_maps();
        self.count_round_trip();
        let out = self
            .client
            .query()
            .table_name(self.table_name(q.table))
            .set_index_name(q.index.map(str::to_owned))
            .key_condition_expression(kce)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(q.forward)
            // Indexes are eventually consistent (DynamoDB rejects ConsistentRead on a GSI).
            .consistent_read(q.index.is_none())
            .set_limit(q.limit.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_sdk_err("Query", &e))?;
        let now = self.now();
        let mut items = Vec::with_capacity(out.items.as_ref().map_or(0, Vec::len));
        for m in out.items.unwrap_or_default() {
            let item = item_from_av(&m)?;
            if !is_expired(q.table, &item, now) {
                items.push(item);
            }
        }
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(Cursor(item_from_av(&k)?)),
            _ => None,
        };
        Ok(Page { items, next })
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.count_round_trip();
        self.client.list_tables().limit(1).send().await.map_err(|e| map_sdk_err("ListTables", &e))?;
        Ok(())
    }
}

/// After a failed conditional update that carried add guards: when the caller's own condition
/// held on the old item (`old`, returned by DynamoDB), a guard is what failed, and the update is
/// invalid for that item. Returns the `Validation` error [`Update::apply`] gives, as the embedded
/// adapter does; `None` when it was the caller's condition that failed.
fn guard_violation(
    table: &TableDef,
    key: &Key,
    update: &Update,
    cond: Option<&Cond>,
    old: Option<&AvMap>,
) -> Result<Option<StoreError>, StoreError> {
    let old = match old {
        Some(m) if !m.is_empty() => Some(item_from_av(m)?),
        _ => None,
    };
    if cond.is_some_and(|c| !c.eval(old.as_ref())) {
        return Ok(None);
    }
    Ok(update.apply(old.unwrap_or_else(|| table.key_item(key))).err())
}

/// Maps DynamoDB's cancellation reasons to one [`CancelReason`] per action, in order.
fn cancelled(ops: &[TxOp], reasons: &[CancellationReason]) -> StoreError {
    if reasons.len() != ops.len() {
        tracing::warn!(actions = ops.len(), reasons = reasons.len(), "TransactWriteItems: reason count mismatch");
    }
    let mut out = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let reason = reasons.get(i);
        let code = reason.and_then(CancellationReason::code).unwrap_or("None");
        out.push(match code {
            "None" => CancelReason::None,
            "ConditionalCheckFailed" => {
                if let TxOp::Update { table, key, update, cond } = op
                    && expr::has_add_guards(update)
                {
                    match guard_violation(table, key, update, cond.as_ref(), reason.and_then(|r| r.item())) {
                        Ok(Some(e)) | Err(e) => return e,
                        Ok(None) => {}
                    }
                }
                CancelReason::ConditionFailed
            }
            "TransactionConflict" => CancelReason::Conflict,
            other => CancelReason::Other(other.to_owned()),
        });
    }
    StoreError::TransactionCanceled { reasons: out }
}

/// True for a cancellation caused by conflicting concurrent requests alone.
fn only_conflicts(err: &StoreError) -> bool {
    match err {
        StoreError::TransactionCanceled { reasons } => {
            reasons.contains(&CancelReason::Conflict)
                && reasons.iter().all(|r| matches!(r, CancelReason::None | CancelReason::Conflict))
        }
        _ => false,
    }
}

/// Exponential backoff with jitter for the `attempt`-th retry (1-based).
fn conflict_backoff(attempt: u32) -> Duration {
    let base = TX_CONFLICT_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    // Jitter from the clock's sub-second digits: spread, not secrecy, is what matters here.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let span = u32::try_from(base.as_micros()).unwrap_or(u32::MAX).max(1);
    base + Duration::from_micros(u64::from(nanos % span))
}

fn built<T>(r: Result<T, BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| {
        tracing::error!(error = %e, "TransactWriteItems: could not build an action");
        StoreError::Unavailable("TransactWriteItems: could not build request".into())
    })
}

/// Maps an SDK error to the port's error. Faults are logged with their full context here and
/// reported with a short description only.
fn map_sdk_err<E, R>(op: &'static str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let fault = match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().unwrap_or("UnknownError");
            match code {
                "ConditionalCheckFailedException" => return StoreError::ConditionFailed,
                "ValidationException" => {
                    return StoreError::Validation(short(e.message().unwrap_or("rejected by DynamoDB")));
                }
                "ThrottlingException" | "ProvisionedThroughputExceededException" | "RequestLimitExceeded" => {
                    tracing::warn!(op, code, "DynamoDB throttled the request");
                    return StoreError::Throttled;
                }
                _ => format!("{op}: {code}"),
            }
        }
        other => transport_fault(op, "DynamoDB", other).unwrap_or_else(|| format!("{op}: request failed")),
    };
    tracing::warn!(op, error = %DisplayErrorContext(err), "DynamoDB request failed");
    StoreError::Unavailable(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pure_conflicts_are_retried() {
        let c = |reasons: Vec<CancelReason>| StoreError::TransactionCanceled { reasons };
        assert!(only_conflicts(&c(vec![CancelReason::None, CancelReason::Conflict])));
        assert!(!only_conflicts(&c(vec![CancelReason::Conflict, CancelReason::ConditionFailed])));
        assert!(!only_conflicts(&c(vec![CancelReason::None, CancelReason::None])));
        assert!(!only_conflicts(&c(vec![CancelReason::Conflict, CancelReason::Other("ThrottlingError".into())])));
        assert!(!only_conflicts(&StoreError::ConditionFailed));
    }

    #[test]
    fn conflict_backoff_grows_with_jitter() {
        for attempt in 1..=3 {
            let base = TX_CONFLICT_BACKOFF * (1 << (attempt - 1));
            let d = conflict_backoff(attempt);
            assert!(d >= base && d < base * 2, "attempt {attempt}: {d:?}");
        }
        assert!(conflict_backoff(u32::MAX) <= TX_CONFLICT_BACKOFF * 128);
    }
}
