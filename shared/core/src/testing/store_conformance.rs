//! The store conformance suite: one set of cases that every `Store` adapter must pass.
//!
//! Each case takes a fresh store on which the tables in [`TABLES`] exist. Adapters instantiate
//! the suite with [`crate::store_conformance_suite!`], which turns every case into a `#[tokio::test]`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::ports::store::*;
use crate::ports::{Clock, SystemClock};

/// A table with a sort key, a sparse index and a TTL attribute.
pub static ITEMS: TableDef = TableDef {
    name: "conf-items",
    pk: "pk",
    sk: Some("sk"),
    indexes: &[IndexDef { name: "by-owner", pk: "owner", sk: Some("rank") }],
    ttl: Some("expires"),
    purpose: "conformance suite",
};

/// A table with a partition key only.
pub static SIMPLE: TableDef =
    TableDef { name: "conf-simple", pk: "id", sk: None, indexes: &[], ttl: None, purpose: "conformance suite" };

pub static TABLES: &[&TableDef] = &[&ITEMS, &SIMPLE];

type S = Arc<dyn Store>;

fn item(pairs: &[(&str, Value)]) -> Item {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn row(pk: &str, sk: &str) -> Item {
    item(&[("pk", pk.into()), ("sk", sk.into())])
}

fn simple(id: &str) -> Item {
    item(&[("id", id.into())])
}

fn sks(page: &Page) -> Vec<String> {
    page.items.iter().map(|i| i.s("sk").unwrap().to_owned()).collect()
}

pub async fn put_get_roundtrip_all_types(s: S) {
    let mut nested = BTreeMap::new();
    nested.insert("inner".to_owned(), Value::L(vec![Value::N(-7), Value::S("x".into()), Value::Bool(false)]));
    let it = item(&[
        ("pk", "p1".into()),
        ("sk", "s1".into()),
        ("str", "日本語テキスト".into()),
        ("num", Value::N(-9_007_199_254_740_993)),
        ("big", Value::N(i64::MAX)),
        ("bin", Value::B(vec![0, 1, 2, 255])),
        ("yes", Value::Bool(true)),
        ("nothing", Value::Null),
        ("list", Value::L(vec![Value::S("a".into()), Value::N(1)])),
        ("map", Value::M(nested)),
    ]);
    s.put(&ITEMS, it.clone(), None).await.unwrap();
    let got = s.get(&ITEMS, &Key::new("p1", "s1")).await.unwrap();
    assert_eq!(got, Some(it));
}

pub async fn get_missing_is_none(s: S) {
    assert_eq!(s.get(&ITEMS, &Key::new("nope", "nope")).await.unwrap(), None);
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("nope")).await.unwrap(), None);
}

pub async fn key_shape_is_checked(s: S) {
    let e = s.get(&ITEMS, &Key::pk_only("p")).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
    let e = s.put(&ITEMS, item(&[("pk", "p".into())]), None).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
    let e = s.get(&SIMPLE, &Key::new("a", "b")).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
}

pub async fn put_if_absent_refuses_second(s: S) {
    let mut first = row("p", "s");
    first.insert("v".into(), "first".into());
    s.put(&ITEMS, first.clone(), Some(Cond::not_exists("pk"))).await.unwrap();
    let mut second = row("p", "s");
    second.insert("v".into(), "second".into());
    let e = s.put(&ITEMS, second, Some(Cond::not_exists("pk"))).await.unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), Some(first));
}

pub async fn put_replaces_whole_item(s: S) {
    let mut a = row("p", "s");
    a.insert("old".into(), Value::N(1));
    s.put(&ITEMS, a, None).await.unwrap();
    let mut b = row("p", "s");
    b.insert("new".into(), Value::N(2));
    s.put(&ITEMS, b.clone(), None).await.unwrap();
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), Some(b));
}

pub async fn update_creates_missing_item_and_returns_it(s: S) {
    let got = s.update(&ITEMS, &Key::new("p", "s"), Update::new().set("a", "x").add("n", 5), None).await.unwrap();
    let want = item(&[("pk", "p".into()), ("sk", "s".into()), ("a", "x".into()), ("n", Value::N(5))]);
    assert_eq!(got, want);
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), Some(want));
}

pub async fn update_actions(s: S) {
    let mut a = row("p", "s");
    a.insert("keep".into(), "k".into());
    a.insert("gone".into(), "g".into());
    a.insert("count".into(), Value::N(10));
    a.insert("first".into(), "original".into());
    s.put(&ITEMS, a, None).await.unwrap();
    let got = s
        .update(
            &ITEMS,
            &Key::new("p", "s"),
            Update::new()
                .set("fresh", Value::N(1))
                .add("count", -3)
                .remove("gone")
                .set_if_absent("first", "replaced?")
                .set_if_absent("second", "set"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(got.opt_s("keep"), Some("k"));
    assert_eq!(got.opt_n("fresh"), Some(1));
    assert_eq!(got.opt_n("count"), Some(7));
    assert!(!got.contains_key("gone"));
    assert_eq!(got.opt_s("first"), Some("original"));
    assert_eq!(got.opt_s("second"), Some("set"));
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), Some(got));
}

pub async fn update_condition_failure_changes_nothing(s: S) {
    let mut a = row("p", "s");
    a.insert("state".into(), "open".into());
    s.put(&ITEMS, a.clone(), None).await.unwrap();
    let e = s
        .update(&ITEMS, &Key::new("p", "s"), Update::new().set("state", "closed"), Some(Cond::eq("state", "closed")))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), Some(a));
    // A condition on a missing item fails and creates nothing.
    let e = s
        .update(&ITEMS, &Key::new("p", "other"), Update::new().set("x", "y"), Some(Cond::exists("pk")))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    assert_eq!(s.get(&ITEMS, &Key::new("p", "other")).await.unwrap(), None);
}

pub async fn update_refuses_key_attributes(s: S) {
    let e = s.update(&ITEMS, &Key::new("p", "s"), Update::new().set("sk", "other"), None).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
}

pub async fn delete_returns_old_and_honours_condition(s: S) {
    let mut a = row("p", "s");
    a.insert("state".into(), "open".into());
    s.put(&ITEMS, a.clone(), None).await.unwrap();
    let e = s.delete(&ITEMS, &Key::new("p", "s"), Some(Cond::eq("state", "closed"))).await.unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), Some(a.clone()));
    let old = s.delete(&ITEMS, &Key::new("p", "s"), Some(Cond::eq("state", "open"))).await.unwrap();
    assert_eq!(old, Some(a));
    assert_eq!(s.get(&ITEMS, &Key::new("p", "s")).await.unwrap(), None);
    assert_eq!(s.delete(&ITEMS, &Key::new("p", "s"), None).await.unwrap(), None);
}

pub async fn condition_operators(s: S) {
    let mut a = row("p", "s");
    a.insert("n".into(), Value::N(10));
    a.insert("t".into(), "mango".into());
    s.put(&ITEMS, a, None).await.unwrap();
    let k = Key::new("p", "s");
    let cases: Vec<(Cond, bool)> = vec![
        (Cond::eq("n", Value::N(10)), true),
        (Cond::eq("n", Value::N(11)), false),
        (Cond::ne("n", Value::N(11)), true),
        (Cond::lt("n", Value::N(11)), true),
        (Cond::lt("n", Value::N(10)), false),
        (Cond::le("n", Value::N(10)), true),
        (Cond::gt("n", Value::N(9)), true),
        (Cond::gt("n", Value::N(10)), false),
        (Cond::ge("n", Value::N(10)), true),
        (Cond::lt("t", "melon"), true),
        (Cond::gt("t", "melon"), false),
        (Cond::gt("t", "mandarin"), true),
        (Cond::begins_with("t", "man"), true),
        (Cond::begins_with("t", "mon"), false),
        (Cond::exists("t"), true),
        (Cond::not_exists("t"), false),
        (Cond::lt("missing", Value::N(100)), false),
        (Cond::eq("n", "10"), false),
        (Cond::exists("t").and(Cond::eq("n", Value::N(10))), true),
        (Cond::exists("t").and(Cond::eq("n", Value::N(9))), false),
        (Cond::not_exists("t").or(Cond::eq("n", Value::N(10))), true),
        (Cond::eq("n", Value::N(9)).not(), true),
        (Cond::eq("n", Value::N(10)).not(), false),
    ];
    for (i, (cond, expect)) in cases.into_iter().enumerate() {
        let r = s.update(&ITEMS, &k, Update::new().add("probe", 1), Some(cond.clone())).await;
        match (expect, r) {
            (true, Ok(_)) => {}
            (false, Err(StoreError::ConditionFailed)) => {}
            (e, r) => panic!("case {i} {cond:?}: expected {e}, got {r:?}"),
        }
    }
}

pub async fn transaction_is_all_or_nothing(s: S) {
    let mut guard = row("g", "1");
    guard.insert("state".into(), "closed".into());
    s.put(&ITEMS, guard.clone(), None).await.unwrap();
    let e = s
        .transact(vec![
            TxOp::Put { table: &ITEMS, item: row("t", "a"), cond: Some(Cond::not_exists("pk")) },
            TxOp::Update {
                table: &ITEMS,
                key: Key::new("g", "1"),
                update: Update::new().set("state", "taken"),
                cond: Some(Cond::eq("state", "open")),
            },
            TxOp::Put { table: &SIMPLE, item: simple("x"), cond: None },
        ])
        .await
        .unwrap_err();
    match &e {
        StoreError::TransactionCanceled { reasons } => {
            assert_eq!(reasons.len(), 3, "{reasons:?}");
            assert_eq!(reasons[1], CancelReason::ConditionFailed);
            assert_eq!(reasons[0], CancelReason::None);
            assert_eq!(reasons[2], CancelReason::None);
        }
        other => panic!("expected TransactionCanceled, got {other:?}"),
    }
    assert_eq!(e.failed_condition_index(), Some(1));
    assert_eq!(s.get(&ITEMS, &Key::new("t", "a")).await.unwrap(), None);
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("x")).await.unwrap(), None);
    assert_eq!(s.get(&ITEMS, &Key::new("g", "1")).await.unwrap(), Some(guard));
}

pub async fn transaction_applies_every_kind(s: S) {
    s.put(&ITEMS, row("d", "1"), None).await.unwrap();
    let mut c = row("c", "1");
    c.insert("open".into(), Value::Bool(true));
    s.put(&ITEMS, c, None).await.unwrap();
    s.transact(vec![
        TxOp::Put { table: &ITEMS, item: row("n", "1"), cond: Some(Cond::not_exists("pk")) },
        TxOp::Update { table: &SIMPLE, key: Key::pk_only("ctr"), update: Update::new().add("n", 3), cond: None },
        TxOp::Delete { table: &ITEMS, key: Key::new("d", "1"), cond: Some(Cond::exists("pk")) },
        TxOp::Check { table: &ITEMS, key: Key::new("c", "1"), cond: Cond::eq("open", true) },
    ])
    .await
    .unwrap();
    assert!(s.get(&ITEMS, &Key::new("n", "1")).await.unwrap().is_some());
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("ctr")).await.unwrap().unwrap().opt_n("n"), Some(3));
    assert_eq!(s.get(&ITEMS, &Key::new("d", "1")).await.unwrap(), None);
    // A failing check alone cancels the rest.
    let e = s
        .transact(vec![
            TxOp::Update { table: &SIMPLE, key: Key::pk_only("ctr"), update: Update::new().add("n", 1), cond: None },
            TxOp::Check { table: &ITEMS, key: Key::new("c", "1"), cond: Cond::eq("open", false) },
        ])
        .await
        .unwrap_err();
    assert_eq!(e.failed_condition_index(), Some(1));
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("ctr")).await.unwrap().unwrap().opt_n("n"), Some(3));
}

pub async fn transaction_shape_is_checked(s: S) {
    let e = s
        .transact(vec![
            TxOp::Put { table: &SIMPLE, item: simple("same"), cond: None },
            TxOp::Update { table: &SIMPLE, key: Key::pk_only("same"), update: Update::new().add("n", 1), cond: None },
        ])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
    let too_many: Vec<TxOp> = (0..=MAX_TRANSACTION_ITEMS)
        .map(|i| TxOp::Put { table: &SIMPLE, item: simple(&format!("i{i}")), cond: None })
        .collect();
    let e = s.transact(too_many).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("i0")).await.unwrap(), None);
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("same")).await.unwrap(), None);
    // Exactly the maximum is fine.
    let max: Vec<TxOp> = (0..MAX_TRANSACTION_ITEMS)
        .map(|i| TxOp::Put { table: &SIMPLE, item: simple(&format!("m{i}")), cond: Some(Cond::not_exists("id")) })
        .collect();
    s.transact(max).await.unwrap();
    assert!(s.get(&SIMPLE, &Key::pk_only("m99")).await.unwrap().is_some());
}

pub async fn query_sort_key_conditions_and_order(s: S) {
    for sk in ["a#1", "a#2", "a#3", "b#1", "b#2", "c"] {
        s.put(&ITEMS, row("q", sk), None).await.unwrap();
    }
    s.put(&ITEMS, row("other", "a#1"), None).await.unwrap();
    let run = |c: Option<SkCond>, fwd: bool| {
        let s = s.clone();
        async move {
            let mut q = Query::new(&ITEMS, "q");
            q.sk = c;
            q.forward = fwd;
            sks(&s.query(q).await.unwrap())
        }
    };
    assert_eq!(run(None, true).await, ["a#1", "a#2", "a#3", "b#1", "b#2", "c"]);
    assert_eq!(run(None, false).await, ["c", "b#2", "b#1", "a#3", "a#2", "a#1"]);
    assert_eq!(run(Some(SkCond::Eq("b#1".into())), true).await, ["b#1"]);
    assert_eq!(run(Some(SkCond::BeginsWith("a#".into())), true).await, ["a#1", "a#2", "a#3"]);
    assert_eq!(run(Some(SkCond::BeginsWith("a#".into())), false).await, ["a#3", "a#2", "a#1"]);
    assert_eq!(run(Some(SkCond::Between("a#2".into(), "b#1".into())), true).await, ["a#2", "a#3", "b#1"]);
    assert_eq!(run(Some(SkCond::Lt("a#3".into())), true).await, ["a#1", "a#2"]);
    assert_eq!(run(Some(SkCond::Le("a#3".into())), true).await, ["a#1", "a#2", "a#3"]);
    assert_eq!(run(Some(SkCond::Gt("b#2".into())), true).await, ["c"]);
    assert_eq!(run(Some(SkCond::Ge("b#2".into())), true).await, ["b#2", "c"]);
    assert!(run(Some(SkCond::BeginsWith("z".into())), true).await.is_empty());
}

async fn collect_pages(s: &S, base: Query, limit: u32) -> Vec<Item> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..100 {
        let mut q = base.clone();
        q.limit = Some(limit);
        q.start = cursor;
        let page = s.query(q).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
    panic!("paging did not terminate");
}

pub async fn query_pages_through_everything_once(s: S) {
    let want: Vec<String> = (0..23).map(|i| format!("k{i:03}")).collect();
    for sk in &want {
        s.put(&ITEMS, row("pg", sk), None).await.unwrap();
    }
    let fwd = collect_pages(&s, Query::new(&ITEMS, "pg"), 5).await;
    let got: Vec<String> = fwd.iter().map(|i| i.s("sk").unwrap().to_owned()).collect();
    assert_eq!(got, want);
    let back = collect_pages(&s, Query::new(&ITEMS, "pg").reverse(), 7).await;
    let mut got: Vec<String> = back.iter().map(|i| i.s("sk").unwrap().to_owned()).collect();
    got.reverse();
    assert_eq!(got, want);
    let first = s.query(Query::new(&ITEMS, "pg").limit(4)).await.unwrap();
    assert_eq!(sks(&first), ["k000", "k001", "k002", "k003"]);
    assert!(first.next.is_some());
}

pub async fn index_query_is_sparse_ordered_and_paged(s: S) {
    for i in 0..12 {
        let mut it = row("ix", &format!("{i:02}"));
        if i % 3 != 0 {
            it.insert("owner".into(), "alice".into());
            it.insert("rank".into(), format!("r{:02}", 20 - i).into());
        }
        s.put(&ITEMS, it, None).await.unwrap();
    }
    let mut bob = row("ix2", "x");
    bob.insert("owner".into(), "bob".into());
    bob.insert("rank".into(), "r00".into());
    s.put(&ITEMS, bob, None).await.unwrap();

    let all = collect_pages(&s, Query::new(&ITEMS, "alice").index("by-owner"), 3).await;
    let ranks: Vec<&str> = all.iter().map(|i| i.s("rank").unwrap()).collect();
    assert_eq!(ranks, ["r09", "r10", "r12", "r13", "r15", "r16", "r18", "r19"]);
    // Projection is ALL: the base table attributes come back.
    assert!(all.iter().all(|i| i.opt_s("pk") == Some("ix")));
    let desc = s
        .query(Query::new(&ITEMS, "alice").index("by-owner").reverse().sk(SkCond::BeginsWith("r1".into())).limit(2))
        .await
        .unwrap();
    let ranks: Vec<&str> = desc.items.iter().map(|i| i.s("rank").unwrap()).collect();
    assert_eq!(ranks, ["r19", "r18"]);
    // Dropping the index attribute takes the item out of the index.
    s.update(&ITEMS, &Key::new("ix", "01"), Update::new().remove("owner"), None).await.unwrap();
    let all = collect_pages(&s, Query::new(&ITEMS, "alice").index("by-owner"), 100).await;
    assert_eq!(all.len(), 7);
    let e = s.query(Query::new(&ITEMS, "alice").index("no-such-index")).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
}

pub async fn expired_items_are_invisible_to_reads_but_not_to_conditions(s: S) {
    let now = SystemClock.epoch_secs();
    let mut dead = row("ttl", "dead");
    dead.insert("expires".into(), Value::N(now - 3600));
    let mut live = row("ttl", "live");
    live.insert("expires".into(), Value::N(now + 3600));
    s.put(&ITEMS, dead.clone(), None).await.unwrap();
    s.put(&ITEMS, live.clone(), None).await.unwrap();
    assert_eq!(s.get(&ITEMS, &Key::new("ttl", "dead")).await.unwrap(), None);
    assert_eq!(s.get(&ITEMS, &Key::new("ttl", "live")).await.unwrap(), Some(live));
    assert_eq!(sks(&s.query(Query::new(&ITEMS, "ttl")).await.unwrap()), ["live"]);
    // The expired item still exists for conditions until physically removed...
    let mut again = row("ttl", "dead");
    again.insert("v".into(), Value::N(1));
    let e = s.put(&ITEMS, again.clone(), Some(Cond::not_exists("pk"))).await.unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    // ...and absent_or_expired treats it as gone.
    s.put(&ITEMS, again.clone(), Some(Cond::absent_or_expired(&ITEMS, now))).await.unwrap();
    assert_eq!(s.get(&ITEMS, &Key::new("ttl", "dead")).await.unwrap(), Some(again));
    let e = s.put(&ITEMS, row("ttl", "live"), Some(Cond::absent_or_expired(&ITEMS, now))).await.unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
}

pub async fn delete_of_an_expired_item_returns_nothing(s: S) {
    let now = SystemClock.epoch_secs();
    let mut dead = row("ttl", "gone");
    dead.insert("expires".into(), Value::N(now - 60));
    s.put(&ITEMS, dead, None).await.unwrap();
    assert_eq!(s.delete(&ITEMS, &Key::new("ttl", "gone"), None).await.unwrap(), None);
    // It was removed all the same: a conditional create now succeeds.
    s.put(&ITEMS, row("ttl", "gone"), Some(Cond::not_exists("pk"))).await.unwrap();
}

pub async fn failed_condition_is_reported_before_a_bad_update(s: S) {
    let mut a = row("p", "s");
    a.insert("text".into(), "not a number".into());
    s.put(&ITEMS, a, None).await.unwrap();
    let e = s
        .update(&ITEMS, &Key::new("p", "s"), Update::new().add("text", 1), Some(Cond::not_exists("pk")))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);
    let e = s.update(&ITEMS, &Key::new("p", "s"), Update::new().add("text", 1), None).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
}

pub async fn query_limit_zero_is_refused(s: S) {
    let e = s.query(Query::new(&ITEMS, "p").limit(0)).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
}

pub async fn oversized_item_is_refused(s: S) {
    let mut big = row("big", "1");
    big.insert("blob".into(), Value::B(vec![7; MAX_ITEM_BYTES + 1]));
    let e = s.put(&ITEMS, big, None).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
    assert_eq!(s.get(&ITEMS, &Key::new("big", "1")).await.unwrap(), None);
}

pub async fn racing_conditional_puts_exactly_one_wins(s: S) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut it = simple("contested");
            it.insert("writer".into(), Value::N(i));
            s.put(&SIMPLE, it, Some(Cond::not_exists("id"))).await.map(|_| i)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(i) => winners.push(i),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored = s.get(&SIMPLE, &Key::pk_only("contested")).await.unwrap().unwrap();
    assert_eq!(stored.opt_n("writer"), Some(winners[0]));
}

pub async fn racing_transactions_keep_uniqueness(s: S) {
    // Each writer tries to create its own record plus a shared uniqueness guard.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.transact(vec![
                TxOp::Put { table: &ITEMS, item: row("app", &format!("{i:02}")), cond: Some(Cond::not_exists("pk")) },
                TxOp::Put { table: &SIMPLE, item: simple("unique#person#measure"), cond: Some(Cond::not_exists("id")) },
            ])
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::TransactionCanceled { .. }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let apps = s.query(Query::new(&ITEMS, "app")).await.unwrap();
    assert_eq!(apps.items.len(), 1);
}

pub async fn racing_counter_updates_are_atomic(s: S) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.update(&SIMPLE, &Key::pk_only("counter"), Update::new().add("n", 1), None).await
        }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        let item = t.await.unwrap().unwrap();
        seen.insert(item.opt_n("n").unwrap());
    }
    // Every update saw a distinct value: 1..=20.
    assert_eq!(seen, (1..=20).collect::<BTreeSet<i64>>());
    assert_eq!(s.get(&SIMPLE, &Key::pk_only("counter")).await.unwrap().unwrap().opt_n("n"), Some(20));
}

pub async fn health_answers(s: S) {
    s.health().await.unwrap();
}

/// Instantiates every store conformance case as a `#[tokio::test]`, each on a fresh store from
/// `$factory` (an `async fn() -> Arc<dyn Store>` on which [`TABLES`] exist).
#[macro_export]
macro_rules! store_conformance_suite {
    ($factory:path) => {
        $crate::store_conformance_suite!(@cases $factory;
            put_get_roundtrip_all_types, get_missing_is_none, key_shape_is_checked,
            put_if_absent_refuses_second, put_replaces_whole_item,
            update_creates_missing_item_and_returns_it, update_actions,
            update_condition_failure_changes_nothing, update_refuses_key_attributes,
            delete_returns_old_and_honours_condition, condition_operators,
            transaction_is_all_or_nothing, transaction_applies_every_kind, transaction_shape_is_checked,
            query_sort_key_conditions_and_order, query_pages_through_everything_once,
            index_query_is_sparse_ordered_and_paged,
            expired_items_are_invisible_to_reads_but_not_to_conditions, delete_of_an_expired_item_returns_nothing,
            failed_condition_is_reported_before_a_bad_update, query_limit_zero_is_refused, oversized_item_is_refused,
            racing_conditional_puts_exactly_one_wins, racing_transactions_keep_uniqueness,
            racing_counter_updates_are_atomic, health_answers);
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $factory().await;
                $crate::testing::store_conformance::$case(store).await;
            }
        )*
    };
}
