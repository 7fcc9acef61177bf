//! Reading the records of a date range in a stable order (date, shard, sequence), a page at a
//! time: the JSON Lines export of auditors and the CLI.

use serde::{Deserialize, Serialize};
use time::Date;

use super::SHARDS;
use super::chain::{SEQ_PREFIX, chain_pk, seq_sk};
use super::record::AuditRecord;
use crate::ports::store::*;
use crate::tables::AUDIT;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportCursor {
    pub date: Date,
    pub shard: u32,
    /// Last sequence number returned in this chain.
    pub after: u64,
}

/// Up to `limit` records of `from..=to` after `cursor`, and the cursor of the next page (none
/// when the range is exhausted). Records are returned as stored, unverified; verify separately.
pub async fn export_page(
    store: &dyn Store,
    from: Date,
    to: Date,
    cursor: Option<ExportCursor>,
    limit: usize,
) -> Result<(Vec<AuditRecord>, Option<ExportCursor>), StoreError> {
    let limit = limit.max(1);
    let mut at = cursor.unwrap_or(ExportCursor { date: from, shard: 0, after: 0 });
    if at.date < from {
        at = ExportCursor { date: from, shard: 0, after: 0 };
    }
    let mut out = Vec::new();
    while at.date <= to {
        let chain = format!("{}/{:02}", at.date, at.shard);
        let want = (limit - out.len()).min(1000) as u32;
        let page = store
            .query(
                Query::new(&AUDIT, chain_pk(&chain))
                    .sk(SkCond::Between(seq_sk(at.after + 1), format!("{SEQ_PREFIX}~")))
                    .limit(want),
            )
            .await?;
        for item in &page.items {
            let body = item.s("body")?;
            let rec: AuditRecord =
                serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("audit record: {e}")))?;
            at.after = item.s("sk")?.strip_prefix(SEQ_PREFIX).and_then(|s| s.parse().ok()).unwrap_or(at.after + 1);
            out.push(rec);
        }
        if page.next.is_none() {
            // This chain is exhausted: move to the next shard / day.
            at.after = 0;
            at.shard += 1;
            if at.shard == SHARDS {
                at.shard = 0;
                match at.date.next_day() {
                    Some(d) => at.date = d,
                    None => break,
                }
            }
        }
        if out.len() >= limit {
            return Ok((out, (at.date <= to).then_some(at)));
        }
    }
    Ok((out, None))
}
