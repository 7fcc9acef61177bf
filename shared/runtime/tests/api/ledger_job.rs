//! The `ledger-verify` job: quiet on a consistent ledger, failing (so its alarm fires) on an
//! account whose sums were changed behind the ledger's back.

use crate::helpers::*;
use mkpf_core::ledger::{AccountId, Limit, NewTransfer, TransferId, make_transfer, open_account};
use mkpf_core::ports::store::{Key, Update};
use mkpf_core::tables::LEDGER;
use serde_json::json;

#[tokio::test]
async fn the_verification_job_passes_a_consistent_ledger_and_fails_on_a_difference() {
    let h = harness();
    let job = mkpf_http::routes::job("ledger-verify").unwrap();
    assert_eq!(mkpf_runtime::worker::run_job(&h.app, job).await.unwrap(), json!({"accounts": 0, "entries": 0}));

    let (source, budget) = (AccountId::parse("source:131016").unwrap(), AccountId::parse("budget:131016:m1").unwrap());
    open_account(&h.app, &source, Limit::None).await.unwrap();
    open_account(&h.app, &budget, Limit::DebitsWithinCredits).await.unwrap();
    let fund = NewTransfer {
        id: TransferId::parse("fund:m1").unwrap(),
        debit: source,
        credit: budget,
        amount: 5000,
        pending: false,
    };
    make_transfer(&h.app, &fund).await.unwrap();
    assert_eq!(mkpf_runtime::worker::run_job(&h.app, job).await.unwrap(), json!({"accounts": 2, "entries": 2}));

    // Someone adds points to the budget without a transfer.
    let key = Key::new("ACCOUNT#budget:131016:m1", "ACCOUNT");
    h.app
        .store
        .update(&LEDGER, &key, Update::new().add("credits_posted", 100).add("dr_avail", 100), None)
        .await
        .unwrap();
    let e = mkpf_runtime::worker::run_job(&h.app, job).await.unwrap_err();
    assert!(e.contains("budget:131016:m1") && e.contains("does not balance"), "{e}");
}
