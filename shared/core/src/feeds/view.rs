//! Step 6 of the pipeline: an import's progress, counters and reported rows, for each feed
//! module to shape into its own view.

use std::collections::BTreeMap;

use super::{FeedKind, MAX_REPORTED, Outcome, feed_pk};
use crate::caps::Stores;
use crate::ports::store::*;

/// An import's state.
#[derive(Debug, Clone)]
pub struct Summary<K: FeedKind> {
    pub feed_id: String,
    pub rows: i64,
    pub batches: i64,
    pub batches_done: i64,
    /// `processing` or `done`.
    pub status: &'static str,
    counts: BTreeMap<&'static str, i64>,
    /// The reported rows, by line (at most [`MAX_REPORTED`]).
    pub reported: Vec<Reported<K::Row>>,
    /// When the import was recorded, RFC 3339 (Asia/Tokyo).
    pub created_at: String,
}

impl<K: FeedKind> Summary<K> {
    /// How many rows came to `outcome`.
    pub fn count(&self, outcome: K::Outcome) -> i64 {
        self.counts.get(outcome.as_str()).copied().unwrap_or(0)
    }
}

/// A reported row and its outcome (`None` in rows stored before the outcome was, by a family
/// that reports one outcome only).
#[derive(Debug, Clone)]
pub struct Reported<R> {
    pub outcome: Option<String>,
    pub row: R,
}

/// The import `feed_id` of `kind`, if it exists (and is of that kind).
pub async fn summary<K: FeedKind>(
    app: &impl Stores,
    kind: &K,
    feed_id: &str,
) -> Result<Option<Summary<K>>, StoreError> {
    let table = K::FAMILY.table;
    let Some(s) = app.store().get(table, &Key::new(feed_pk::<K>(feed_id), "SUMMARY")).await? else { return Ok(None) };
    if s.opt_s("kind") != kind.kind() {
        return Ok(None);
    }
    let rows = app
        .store()
        .query(Query::new(table, feed_pk::<K>(feed_id)).sk(SkCond::BeginsWith("ROW#".into())).limit(MAX_REPORTED))
        .await?;
    let mut reported = Vec::new();
    for i in &rows.items {
        let row = serde_json::from_str(i.s("row")?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        reported.push(Reported { outcome: i.opt_s("outcome").map(str::to_owned), row });
    }
    let n = |k: &str| s.opt_n(k).unwrap_or(0);
    let created_at = crate::domain::time_fmt::from_store(s.s("created_at")?)
        .map(crate::domain::time_fmt::to_jst)
        .map_err(StoreError::Corrupt)?;
    Ok(Some(Summary {
        feed_id: feed_id.to_owned(),
        rows: n("rows"),
        batches: n("batches"),
        batches_done: n("batches_done"),
        status: if n("batches_done") >= n("batches") { "done" } else { "processing" },
        counts: K::Outcome::ALL.iter().map(|o| (o.as_str(), n(o.as_str()))).collect(),
        reported,
        created_at,
    }))
}
