//! Checking the chains of a date range: every record's hash, every link to its predecessor,
//! gap-free sequence numbers, records at the position their sequence number says, the head
//! matching the last record, and — for sealed days — every chain matching the signed seal. Each
//! problem is reported with the chain and sequence number where it shows.

use serde::Serialize;
use time::Date;

use super::SHARDS;
use super::chain::{HEAD_SK, SEQ_PREFIX, chain_pk};
use super::record::{AuditRecord, genesis};
use super::seal::{load_seal, open_seal};
use crate::ports::keys::TokenKeys;
use crate::ports::store::*;
use crate::tables::AUDIT;

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub chain: String,
    /// The position (sequence number) where the problem shows.
    pub seq: Option<u64>,
    pub problem: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub chains: usize,
    pub records: u64,
    pub findings: Vec<Finding>,
    /// Days whose chains were checked against a valid seal.
    pub sealed_days: Vec<Date>,
    /// Days with records but no seal (today, or the seal job has not run yet): their chains are
    /// checked, but a consistent rewrite of a whole chain tail would not show.
    pub unsealed_days: Vec<Date>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

fn seq_of(sk: &str) -> Option<u64> {
    sk.strip_prefix(SEQ_PREFIX)?.parse().ok()
}

/// Verifies every chain of every Asia/Tokyo date in `from..=to`, and each day against its seal
/// when `seal_keys` is given. `progress` is told after each chain (done, total).
pub async fn verify(
    store: &dyn Store,
    seal_keys: Option<&dyn TokenKeys>,
    from: Date,
    to: Date,
    mut progress: impl FnMut(usize, usize),
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let days = (to - from).whole_days().max(-1) + 1;
    let total = days as usize * SHARDS as usize;
    let mut day = from;
    let mut done = 0;
    while day <= to {
        let mut lasts = Vec::new();
        for shard in 0..SHARDS {
            let chain = format!("{day}/{shard:02}");
            lasts.push(verify_chain(store, &chain, &mut report).await?);
            done += 1;
            progress(done, total);
        }
        check_seal(store, seal_keys, day, &lasts, &mut report).await?;
        match day.next_day() {
            Some(d) => day = d,
            None => break,
        }
    }
    Ok(report)
}

/// Compares a day's chains (their last records) with the day's seal.
async fn check_seal(
    store: &dyn Store,
    keys: Option<&dyn TokenKeys>,
    day: Date,
    lasts: &[Option<(u64, String)>],
    report: &mut VerifyReport,
) -> Result<(), StoreError> {
    let has_records = lasts.iter().any(Option::is_some);
    let Some(jws) = load_seal(store, day).await? else {
        if has_records {
            report.unsealed_days.push(day);
        }
        return Ok(());
    };
    let Some(keys) = keys else {
        report.unsealed_days.push(day);
        return Ok(());
    };
    let claims = match open_seal(keys, &jws, day).await {
        Ok(c) => c,
        Err(crate::audit::seal::SealError::Key(k)) => return Err(StoreError::Unavailable(k.to_string())),
        Err(e) => {
            report.findings.push(Finding {
                chain: day.to_string(),
                seq: None,
                problem: format!("the day's seal: {e}"),
            });
            return Ok(());
        }
    };
    for (shard, last) in lasts.iter().enumerate() {
        let (seq, hash) = last.clone().unwrap_or((0, String::new()));
        let sealed = claims.heads.iter().find(|h| h.shard as usize == shard);
        let (sealed_seq, sealed_hash) = sealed.map(|h| (h.seq, h.hash.clone())).unwrap_or((0, String::new()));
        if (seq, &hash) != (sealed_seq, &sealed_hash) {
            report.findings.push(Finding {
                chain: format!("{day}/{shard:02}"),
                seq: Some(sealed_seq.min(seq).max(1)),
                problem: format!(
                    "the chain no longer matches its signed seal (sealed: {sealed_seq} records, now {seq}): \
                     records were rewritten, removed or added after the day was sealed"
                ),
            });
        }
    }
    report.sealed_days.push(day);
    Ok(())
}

/// Checks one chain; returns its last record's (seq, hash), if any.
async fn verify_chain(
    store: &dyn Store,
    chain: &str,
    report: &mut VerifyReport,
) -> Result<Option<(u64, String)>, StoreError> {
    let pk = chain_pk(chain);
    let mut find = |seq: Option<u64>, problem: String| {
        report.findings.push(Finding { chain: chain.to_owned(), seq, problem });
    };
    let mut expected_seq = 1u64;
    let mut prev_hash = genesis(chain);
    let mut last: Option<(u64, String)> = None;
    let mut records = 0u64;
    let mut cursor = None;
    loop {
        let page = store
            .query(Query::new(&AUDIT, pk.clone()).sk(SkCond::BeginsWith(SEQ_PREFIX.into())).limit(500).start(cursor))
            .await?;
        for item in &page.items {
            records += 1;
            let sk = item.opt_s("sk").unwrap_or_default();
            let Some(pos) = seq_of(sk) else {
                find(None, format!("an item with a malformed key {sk:?} sits in the chain"));
                continue;
            };
            if pos != expected_seq {
                if pos > expected_seq {
                    let what = if pos == expected_seq + 1 {
                        format!("record {expected_seq} is missing")
                    } else {
                        format!("records {expected_seq} to {} are missing", pos - 1)
                    };
                    find(Some(expected_seq), what);
                } else {
                    find(Some(pos), format!("position {pos} appears out of order"));
                }
            }
            let rec = match item.opt_s("body").map(serde_json::from_str::<AuditRecord>) {
                Some(Ok(r)) => r,
                _ => {
                    find(Some(pos), format!("record {pos} is unreadable (altered)"));
                    expected_seq = pos + 1;
                    prev_hash = String::new();
                    continue;
                }
            };
            if rec.seq != pos || rec.chain != chain {
                find(
                    Some(pos),
                    format!(
                        "position {pos} holds record {} of chain {} (records were moved or reordered)",
                        rec.seq, rec.chain
                    ),
                );
            }
            if rec.compute_hash() != rec.hash {
                find(Some(pos), format!("record {pos} was altered: its content does not match its hash"));
            }
            if !prev_hash.is_empty() && rec.prev_hash != prev_hash && pos == expected_seq {
                find(
                    Some(pos),
                    format!("record {pos} does not link to record {}: a predecessor was altered or replaced", pos - 1),
                );
            }
            expected_seq = pos + 1;
            prev_hash = rec.hash.clone();
            last = Some((pos, rec.hash));
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    report.records += records;
    let head = store.get(&AUDIT, &Key::new(pk.clone(), HEAD_SK)).await?;
    let result = last.clone();
    match (head, last) {
        (None, None) => return Ok(None),
        (None, Some((seq, _))) => find(Some(seq), "the chain head is missing".into()),
        (Some(h), last) => {
            let head_seq = h.opt_n("seq").unwrap_or(-1);
            let head_hash = h.opt_s("hash").unwrap_or_default();
            let (last_seq, last_hash) = last.unwrap_or((0, String::new()));
            if head_seq != last_seq as i64 {
                let problem = if head_seq > last_seq as i64 {
                    format!(
                        "the head records {head_seq} records but the chain ends at {last_seq}: the last records were removed"
                    )
                } else {
                    format!(
                        "the chain runs past its head ({last_seq} > {head_seq}): records were appended outside the platform"
                    )
                };
                find(Some(last_seq), problem);
            } else if head_hash != last_hash {
                find(Some(last_seq), format!("record {last_seq} does not match the chain head (last record altered)"));
            }
        }
    }
    report.chains += 1;
    Ok(result)
}
