//! The ledger's conformance suite: the same cases on every `Store` adapter (embedded, DynamoDB on
//! moto). The invariants — a budget is never over-committed, debits equal credits, every account
//! equals its entries — must hold under concurrent transfers, and they are held by conditional
//! writes inside the store, so this is where adapters prove it. Adapters instantiate the suite
//! with [`crate::ledger_conformance_suite!`] and a factory of stores on which [`LEDGER`] exists.

use std::sync::Arc;

use crate::caps::Stores;
use crate::ledger::*;
use crate::ports::Store;
pub use crate::tables::LEDGER;

/// A store as the only port, for the ledger's functions.
pub struct OnlyStore(pub Arc<dyn Store>);

impl Stores for OnlyStore {
    fn store(&self) -> &Arc<dyn Store> {
        &self.0
    }
}

fn acc(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

fn tid(s: &str) -> TransferId {
    TransferId::parse(s).unwrap()
}

fn new(id: &str, debit: &str, credit: &str, amount: i64, pending: bool) -> NewTransfer {
    NewTransfer { id: tid(id), debit: acc(debit), credit: acc(credit), amount, pending }
}

/// A funding source (unlimited), a budget funded with `budget` points, a citizen and a provider.
async fn funded(l: &OnlyStore, budget: i64) {
    open_account(l, &acc("source"), Limit::None).await.unwrap();
    open_account(l, &acc("budget"), Limit::DebitsWithinCredits).await.unwrap();
    open_account(l, &acc("citizen"), Limit::None).await.unwrap();
    if budget > 0 {
        make_transfer(l, &new("fund", "source", "budget", budget, false)).await.unwrap();
    }
}

async fn clean(l: &OnlyStore) -> Verification {
    let v = verify(l).await.unwrap();
    assert_eq!(v.differences, Vec::<String>::new());
    v
}

pub async fn accounts_open_once_with_one_limit(s: Arc<dyn Store>) {
    let l = OnlyStore(s);
    open_account(&l, &acc("budget:131016:m1"), Limit::DebitsWithinCredits).await.unwrap();
    open_account(&l, &acc("budget:131016:m1"), Limit::DebitsWithinCredits).await.unwrap();
    let e = open_account(&l, &acc("budget:131016:m1"), Limit::None).await.unwrap_err();
    assert!(matches!(e, LedgerError::AccountLimitDiffers(_)), "{e:?}");
    let a = account(&l, &acc("budget:131016:m1")).await.unwrap().unwrap();
    assert_eq!((a.limit, a.debits_available()), (Limit::DebitsWithinCredits, 0));
    assert_eq!(account(&l, &acc("nobody")).await.unwrap(), None);
    assert!(AccountId::parse("has space").is_none() && AccountId::parse("").is_none());
    assert_eq!(clean(&l).await.accounts, 1);
}

pub async fn posted_transfers_move_points_once(s: Arc<dyn Store>) {
    let l = OnlyStore(s);
    funded(&l, 1000).await;
    let t = new("grant:a1", "budget", "citizen", 300, false);
    let made = make_transfer(&l, &t).await.unwrap();
    assert_eq!((made.state, made.posted), (State::Posted, 300));
    // A retry is the same transfer; the same id with another amount is refused; nothing moves twice.
    assert_eq!(make_transfer(&l, &t).await.unwrap(), made);
    let e = make_transfer(&l, &new("grant:a1", "budget", "citizen", 301, false)).await.unwrap_err();
    assert!(matches!(e, LedgerError::TransferDiffers(_)), "{e:?}");
    let b = account(&l, &acc("budget")).await.unwrap().unwrap();
    let c = account(&l, &acc("citizen")).await.unwrap().unwrap();
    assert_eq!((b.credits_posted, b.debits_posted, b.debits_available()), (1000, 300, 700));
    assert_eq!((c.credits_posted, c.debits_posted), (300, 0));
    // Bad transfers change nothing.
    for (t, what) in [
        (new("x1", "budget", "nobody", 1, false), "missing credit account"),
        (new("x2", "nobody", "citizen", 1, false), "missing debit account"),
        (new("x3", "budget", "citizen", 701, false), "past the budget"),
    ] {
        let e = make_transfer(&l, &t).await.unwrap_err();
        assert!(matches!(e, LedgerError::AccountMissing(_) | LedgerError::ExceedsLimit(_)), "{what}: {e:?}");
        assert_eq!(transfer(&l, &t.id).await.unwrap(), None, "{what}");
    }
    assert!(matches!(
        make_transfer(&l, &new("x4", "budget", "citizen", 0, false)).await,
        Err(LedgerError::InvalidAmount)
    ));
    assert!(matches!(make_transfer(&l, &new("x5", "budget", "budget", 1, false)).await, Err(LedgerError::SameAccount)));
    assert_eq!(account(&l, &acc("budget")).await.unwrap().unwrap(), b);
    let v = clean(&l).await;
    assert_eq!((v.accounts, v.entries), (3, 4));
}

pub async fn pending_transfers_reserve_then_post_or_void(s: Arc<dyn Store>) {
    let l = OnlyStore(s);
    funded(&l, 1000).await;
    make_transfer(&l, &new("r1", "budget", "citizen", 600, true)).await.unwrap();
    make_transfer(&l, &new("r2", "budget", "citizen", 400, true)).await.unwrap();
    // Reserved to the last point: nothing more fits.
    let e = make_transfer(&l, &new("r3", "budget", "citizen", 1, true)).await.unwrap_err();
    assert!(matches!(e, LedgerError::ExceedsLimit(ref a) if a == "budget"), "{e:?}");
    assert_eq!(account(&l, &acc("budget")).await.unwrap().unwrap().debits_available(), 0);

    // r1 is posted for less than it reserved (a proportional grant): the rest is free again.
    let p = settle(&l, &tid("r1"), Some(450)).await.unwrap();
    assert_eq!((p.state, p.posted), (State::Posted, 450));
    assert_eq!(settle(&l, &tid("r1"), Some(450)).await.unwrap(), p, "the same settlement again is a retry");
    assert!(matches!(settle(&l, &tid("r1"), None).await, Err(LedgerError::NotPending(_))));
    // r2 is voided: all of it is free again.
    let v = settle(&l, &tid("r2"), None).await.unwrap();
    assert_eq!((v.state, v.posted), (State::Voided, 0));
    assert!(matches!(settle(&l, &tid("r2"), Some(1)).await, Err(LedgerError::NotPending(_))));
    assert!(matches!(settle(&l, &tid("nope"), None).await, Err(LedgerError::TransferMissing(_))));
    make_transfer(&l, &new("r4", "budget", "citizen", 10, true)).await.unwrap();
    assert!(matches!(settle(&l, &tid("r4"), Some(11)).await, Err(LedgerError::InvalidPostAmount)));

    let b = account(&l, &acc("budget")).await.unwrap().unwrap();
    assert_eq!((b.debits_pending, b.debits_posted, b.debits_available()), (10, 450, 540));
    let c = account(&l, &acc("citizen")).await.unwrap().unwrap();
    assert_eq!((c.credits_pending, c.credits_posted), (10, 450));
    clean(&l).await;
}

pub async fn racing_reservations_never_overcommit_the_budget(s: Arc<dyn Store>) {
    let l = Arc::new(OnlyStore(s));
    funded(&l, 1000).await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let l = l.clone();
        tasks.push(tokio::spawn(async move {
            make_transfer(&*l, &new(&format!("race{i}"), "budget", "citizen", 100, true)).await
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(t) => won.push(t.id),
            Err(LedgerError::ExceedsLimit(_)) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!(won.len(), 10, "exactly the budget's capacity is reserved");
    let b = account(&*l, &acc("budget")).await.unwrap().unwrap();
    assert_eq!((b.debits_pending, b.debits_available()), (1000, 0));
    // Racing settlements of one reservation that won: one wins, the other is refused.
    let first = &won[0];
    let (a, b2) = tokio::join!(settle(&*l, first, Some(100)), settle(&*l, first, None));
    assert!(a.is_ok() != b2.is_ok(), "one settlement wins: {a:?} / {b2:?}");
    clean(&l).await;
}

/// A factory of fresh stores that have the [`LEDGER`] table.
pub type StoreFactory = fn() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>>;

/// The invariants under random concurrent reservations, direct grants, posts and voids.
pub fn invariants_hold_under_random_concurrent_transfers(factory: StoreFactory, cases: u32) {
    use proptest::prelude::*;
    #[derive(Debug, Clone)]
    enum Op {
        Reserve(i64),
        Grant(i64),
    }
    #[derive(Debug, Clone, Copy)]
    enum Then {
        Post(u8),
        Void,
        Both,
        Leave,
    }
    let op = prop_oneof![3 => (1i64..400).prop_map(Op::Reserve), 1 => (1i64..200).prop_map(Op::Grant)];
    let then = prop_oneof![(1u8..=100).prop_map(Then::Post), Just(Then::Void), Just(Then::Both), Just(Then::Leave)];
    let strategy = (500i64..3000, proptest::collection::vec((op, then), 1..24));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    runner
        .run(&strategy, |(budget, ops)| {
            rt.block_on(async {
                let l = Arc::new(OnlyStore(factory().await));
                funded(&l, budget).await;
                // Phase 1: every reservation and grant at once.
                let mut tasks = Vec::new();
                for (i, (op, _)) in ops.iter().cloned().enumerate() {
                    let l = l.clone();
                    tasks.push(tokio::spawn(async move {
                        let t = match op {
                            Op::Reserve(a) => new(&format!("t{i}"), "budget", "citizen", a, true),
                            Op::Grant(a) => new(&format!("t{i}"), "budget", "citizen", a, false),
                        };
                        make_transfer(&*l, &t).await.map(|t| (i, t))
                    }));
                }
                let mut made = Vec::new();
                for t in tasks {
                    match t.await.unwrap() {
                        Ok(m) => made.push(m),
                        Err(LedgerError::ExceedsLimit(_)) => {}
                        Err(e) => panic!("unexpected: {e:?}"),
                    }
                }
                // Phase 2: settle the pending ones at once (some twice, racing each other).
                let mut tasks = Vec::new();
                for (i, t) in made.iter().filter(|(_, t)| t.state == State::Pending) {
                    let settlements = match ops[*i].1 {
                        Then::Post(pct) => vec![Some((t.amount * i64::from(pct) / 100).max(1))],
                        Then::Void => vec![None],
                        Then::Both => vec![Some(t.amount), None],
                        Then::Leave => vec![],
                    };
                    for post in settlements {
                        let (l, id) = (l.clone(), t.id.clone());
                        tasks.push(tokio::spawn(async move { settle(&*l, &id, post).await }));
                    }
                }
                for t in tasks {
                    match t.await.unwrap() {
                        Ok(_) | Err(LedgerError::NotPending(_)) => {}
                        Err(e) => panic!("unexpected: {e:?}"),
                    }
                }
                let v = verify(&*l).await.unwrap();
                prop_assert_eq!(v.differences, Vec::<String>::new());
                let b = account(&*l, &acc("budget")).await.unwrap().unwrap();
                prop_assert!(b.debits_pending + b.debits_posted <= b.credits_posted, "{b:?}");
                prop_assert_eq!(b.credits_posted, budget);
                // What the citizen holds is exactly what the budget gave.
                let c = account(&*l, &acc("citizen")).await.unwrap().unwrap();
                prop_assert_eq!((c.credits_pending, c.credits_posted), (b.debits_pending, b.debits_posted));
                Ok(())
            })
        })
        .unwrap();
}

/// Instantiates the ledger suite for an adapter: `$factory` is an `async fn() -> Arc<dyn Store>`
/// whose store has the [`LEDGER`] table; `$cases` is how many random cases the property runs.
#[macro_export]
macro_rules! ledger_conformance_suite {
    ($factory:path, $cases:expr) => {
        $crate::ledger_conformance_suite!(@cases $factory;
            accounts_open_once_with_one_limit, posted_transfers_move_points_once,
            pending_transfers_reserve_then_post_or_void, racing_reservations_never_overcommit_the_budget);

        #[test]
        fn invariants_hold_under_random_concurrent_transfers() {
            fn boxed() -> std::pin::Pin<Box<dyn std::future::Future<Output = std::sync::Arc<dyn $crate::ports::Store>> + Send>> {
                Box::pin($factory())
            }
            $crate::testing::ledger_conformance::invariants_hold_under_random_concurrent_transfers(boxed, $cases);
        }
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $factory().await;
                $crate::testing::ledger_conformance::$case(store).await;
            }
        )*
    };
}
