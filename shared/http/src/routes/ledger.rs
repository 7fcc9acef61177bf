//! Route-table entries of the point ledger (`mkpf_core::ledger`): the daily verification job,
//! which recomputes every account from its entries and fails (and so alarms) on any difference.

use super::spec::*;
use mkpf_core::tables;

pub static JOBS: &[JobSpec] = &[JobSpec {
    name: "ledger-verify",
    schedule: Schedule::DailyJst { hour: 3, minute: 30 },
    summary: "Recompute every ledger account from its entries; fail on any difference, broken limit or imbalance",
    tables: &[read(&tables::LEDGER)],
    sends_to: &[],
    keys: &[],
    needs: &[],
    run: |app| {
        Box::pin(async move {
            let v = mkpf_core::ledger::verify(&app).await.map_err(|e| e.to_string())?;
            if v.differences.is_empty() {
                Ok(serde_json::json!({ "accounts": v.accounts, "entries": v.entries }))
            } else {
                Err(format!("the ledger has {} difference(s): {}", v.differences.len(), v.differences.join("; ")))
            }
        })
    },
}];
