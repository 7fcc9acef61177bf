//! The embedded backend keeps what it acknowledged across a restart, and group commit keeps
//! every concurrent transaction whole.

use std::sync::Arc;

use mkpf_core::ports::store::*;
use mkpf_core::ports::{OutMessage, Queue, Store, SystemClock};
use mkpf_core::testing::queue_conformance::WORK;
use mkpf_core::testing::store_conformance::{ITEMS, SIMPLE};
use mkpf_embedded as embedded;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("durability-{}", uuid::Uuid::new_v4()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_and_messages_survive_reopen() {
    let d = dir();
    {
        let (store, queue) = embedded::open(&d, Arc::new(SystemClock)).unwrap();
        let mut item = Item::new();
        item.insert("pk".into(), "p".into());
        item.insert("sk".into(), "s".into());
        item.insert("v".into(), Value::N(42));
        item.insert("owner".into(), "o".into());
        item.insert("rank".into(), "r".into());
        store.put(&ITEMS, item, None).await.unwrap();
        queue.send(&WORK, OutMessage::new("kept")).await.unwrap();
        let taken = queue.send(&WORK, OutMessage::new("taken")).await.unwrap();
        // Receive both, acknowledge one: the other must come back after the restart.
        let got = queue.receive(&WORK, 10, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 2);
        let t = got.iter().find(|m| m.id == taken).unwrap();
        queue.delete(&WORK, &t.receipt).await.unwrap();
        let k = got.iter().find(|m| m.id != taken).unwrap();
        queue.change_visibility(&WORK, &k.receipt, 0).await.unwrap();
    }
    let (store, queue) = embedded::open(&d, Arc::new(SystemClock)).unwrap();
    let got = store.get(&ITEMS, &Key::new("p", "s")).await.unwrap().unwrap();
    assert_eq!(got.opt_n("v"), Some(42));
    let by_index = store.query(Query::new(&ITEMS, "o").index("by-owner")).await.unwrap();
    assert_eq!(by_index.items.len(), 1, "the index survives too");
    let msgs = queue.receive(&WORK, 10, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(msgs.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["kept"]);
    assert_eq!(msgs[0].receive_count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactions_group_commit_without_mixing() {
    // 200 transactions of 3 items each from 50 tasks: every transaction lands whole, and those
    // that conflict on a shared guard fail whole.
    let (store, _queue) = embedded::open(&dir(), Arc::new(SystemClock)).unwrap();
    let mut tasks = Vec::new();
    for t in 0..50 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..4 {
                let n = t * 4 + i;
                let guard = format!("guard-{}", n % 100);
                let mut a = Item::new();
                a.insert("pk".into(), "tx".into());
                a.insert("sk".into(), format!("{n:04}-a").into());
                let mut b = a.clone();
                b.insert("sk".into(), format!("{n:04}-b").into());
                let mut g = Item::new();
                g.insert("id".into(), guard.into());
                let r = s
                    .transact(vec![
                        TxOp::Put { table: &ITEMS, item: a, cond: None },
                        TxOp::Put { table: &ITEMS, item: b, cond: None },
                        TxOp::Put { table: &SIMPLE, item: g, cond: Some(Cond::not_exists("id")) },
                    ])
                    .await;
                match r {
                    Ok(()) => ok += 1,
                    Err(StoreError::TransactionCanceled { .. }) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            ok
        }));
    }
    let mut committed = 0;
    for t in tasks {
        committed += t.await.unwrap();
    }
    // 200 transactions over 100 guards: exactly 100 win.
    assert_eq!(committed, 100);
    let mut rows = 0;
    let mut cursor = None;
    loop {
        let page = store.query(Query::new(&ITEMS, "tx").limit(500).start(cursor)).await.unwrap();
        rows += page.items.len();
        if page.next.is_none() {
            break;
        }
        cursor = page.next;
    }
    assert_eq!(rows, 200, "two rows per committed transaction, none from failed ones");
}

#[tokio::test]
async fn sweeping_removes_only_expired_items() {
    use mkpf_core::ports::{Clock, SystemClock};
    let (store, _queue) = embedded::open(&dir(), Arc::new(SystemClock)).unwrap();
    let now = SystemClock.epoch_secs();
    for (sk, expires) in [("dead", now - 10), ("live", now + 3600)] {
        let mut item = Item::new();
        item.insert("pk".into(), "ttl".into());
        item.insert("sk".into(), sk.into());
        item.insert("expires".into(), Value::N(expires));
        store.put(&ITEMS, item, None).await.unwrap();
    }
    // Before the sweep the expired item still blocks a conditional create (as on DynamoDB).
    let mut again = Item::new();
    again.insert("pk".into(), "ttl".into());
    again.insert("sk".into(), "dead".into());
    let e = store.put(&ITEMS, again.clone(), Some(Cond::not_exists("pk"))).await.unwrap_err();
    assert_eq!(e, StoreError::ConditionFailed);

    assert_eq!(store.sweep_expired(&ITEMS).await.unwrap(), 1);
    assert_eq!(store.sweep_expired(&SIMPLE).await.unwrap(), 0, "a table without TTL is left alone");
    store.put(&ITEMS, again, Some(Cond::not_exists("pk"))).await.unwrap();
    assert!(store.get(&ITEMS, &Key::new("ttl", "live")).await.unwrap().is_some());
}

/// The data directory and the store file hold personal data: owner-only whatever the umask, and
/// a directory made before this rule (0755) is tightened on the next start.
#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_store_file_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let d = dir().join("nested");
    {
        let _backend = embedded::open(&d, Arc::new(SystemClock)).unwrap();
        assert_eq!(mode(&d), 0o700, "new data directory");
        assert_eq!(mode(d.parent().unwrap()), 0o700, "new parent directory");
        assert_eq!(mode(&d.join("mkpf.redb")), 0o600, "new store file");
    }
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.join("mkpf.redb"), std::fs::Permissions::from_mode(0o644)).unwrap();
    {
        let _backend = embedded::open(&d, Arc::new(SystemClock)).unwrap();
        assert_eq!(mode(&d), 0o700, "existing data directory");
        assert_eq!(mode(&d.join("mkpf.redb")), 0o600, "existing store file");
    }
    std::fs::remove_dir_all(d.parent().unwrap()).unwrap();
}
