//! Benchmark of the embedded backend (redb + one writer thread doing group commit).
//!
//! `cargo bench -p mkpf-embedded --bench embedded_store` — plain Rust, no harness: prints a table on
//! stdout and progress on stderr, and takes well under a minute.
//!
//! What it measures, on a fresh store in `<target>/bench-data/<uuid>` (override the parent with
//! `MKPF_BENCH_DIR`, e.g. to compare with a tmpfs):
//! - the raw fsync rate of the disk under that directory: write 4 KiB in place + `sync_data`,
//!   in a loop for about two seconds, once before and once after the store runs (the rate of a
//!   virtual disk drifts) — what one commit per write would be limited to;
//! - conditional puts (`Cond::not_exists`) and two-item transactions (`Store::transact`, each
//!   item conditional) with 1, 8, 64 and 256 concurrent tasks, a fixed count per level:
//!   committed ops/s and p50/p99/max latency per op (every op waits for its durable commit).
//!   Keys are random (the costly case for a copy-on-write B-tree); one extra row uses ordered
//!   keys;
//! - the queue: sends (64 tasks), draining that backlog (receive ≤ 10 + delete each, 8
//!   consumers, as the consumer runner does), and a closed loop of 32 producers that each send
//!   one message and wait until a consumer has deleted it (latency: send → delete);
//! - on Linux, the flush requests the block device completed and the bytes it wrote during each
//!   row (from `/sys/dev/block/<maj>:<min>/stat`, device-wide, so other processes count too):
//!   ops per device flush is the observed group-commit factor, KiB per op the write
//!   amplification.
//!
//! Durability is the engine's default (redb `Durability::Immediate`, one `sync_data` per
//! commit): nothing here is cheated with non-durable commits.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mkpf_core::ports::{Cond, Item, OutMessage, Queue, Store, SystemClock, TxOp, Value};
use mkpf_core::queues::OPS_TASKS;
use mkpf_core::tables::{IDEMPOTENCY, OPS};
use mkpf_embedded as embedded;
use tokio::sync::Notify;

/// (concurrency, ops) per level. Counts are sized so that each level runs for at most a few
/// seconds on a disk doing a few hundred fsyncs per second.
const LEVELS: [(usize, usize); 4] = [(1, 400), (8, 2_000), (64, 10_000), (256, 20_000)];
const FSYNC_SECS: f64 = 2.0;
const QUEUE_MESSAGES: usize = 5_000;
const PIPELINE_MESSAGES: usize = 3_000;
/// A queue phase that has not finished by then has lost messages: fail instead of hanging.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
#[path = "../../benches/support/mod.rs"]
mod support;

use support::*;

/// Writes 4 KiB in place and `sync_data`s it, for about `secs` seconds.
fn fsync_baseline(dir: &Path, secs: f64, label: &str, disk: &Disk) -> Result<Row, BoxError> {
    let path = dir.join("fsync-probe");
    let mut f = OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path)?;
    let block = vec![0x5au8; 4096];
    // Preallocate 1 MiB so the loop only overwrites data (no size change to flush).
    for _ in 0..256 {
        f.write_all(&block)?;
    }
    f.sync_all()?;
    let flushes = disk.flushes();
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut i = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        f.seek(SeekFrom::Start((i % 256) * 4096))?;
        f.write_all(&block)?;
        f.sync_data()?;
        latencies.push(t.elapsed());
        i += 1;
    }
    let elapsed = started.elapsed();
    let flushes = disk.since(flushes);
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(Row {
        scenario: format!("fsync baseline, {label} (4 KiB+sync_data)"),
        concurrency: "1".into(),
        ops: latencies.len(),
        elapsed,
        latencies,
        flushes,
    })
}

/// A random partition key (UUID v4, hex) under a prefix.
fn random_key(prefix: &str) -> String {
    format!("{prefix}#{}", uuid::Uuid::new_v4().simple())
}

fn item(pk: String, sk: &str) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), Value::S(pk));
    if !sk.is_empty() {
        i.insert("sk".into(), Value::S(sk.into()));
    }
    i.insert("body".into(), Value::S(PAYLOAD.into()));
    i.insert("version".into(), Value::N(1));
    i
}

/// Drains `total` messages with `consumers` tasks: receive up to 10, delete each in turn (as the
/// platform's consumer runner does). With `acks`, the body names a producer (`<index>`) whose
/// `Notify` is signalled once the message is deleted. Returns per-message latency (receive call
/// start → delete done) and when the last message was deleted.
async fn drain(
    queue: Arc<embedded::EmbeddedQueue>,
    consumers: usize,
    total: usize,
    acks: Option<Arc<Vec<Notify>>>,
    label: String,
) -> Result<(Vec<Duration>, Instant), BoxError> {
    let origin = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let finished_at = Arc::new(AtomicU64::new(0));
    let ticker = progress(label, done.clone(), total, stop.clone());
    let mut tasks = Vec::new();
    for _ in 0..consumers {
        let (queue, done, finished_at, acks) = (queue.clone(), done.clone(), finished_at.clone(), acks.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while done.load(Ordering::Relaxed) < total {
                if origin.elapsed() > DRAIN_LIMIT {
                    return Err(format!(
                        "queue drain stalled: {} of {total} messages after {DRAIN_LIMIT:?}",
                        done.load(Ordering::Relaxed)
                    ));
                }
                let t = Instant::now();
                let got = queue.receive(&OPS_TASKS, 10, Duration::from_millis(200)).await.map_err(|e| e.to_string())?;
                for m in got {
                    queue.delete(&OPS_TASKS, &m.receipt).await.map_err(|e| e.to_string())?;
                    let end = Instant::now();
                    lat.push(end - t);
                    if let Some(acks) = &acks {
                        let producer: usize =
                            m.body.parse().map_err(|_| format!("unexpected message body {:?}", m.body))?;
                        acks.get(producer).ok_or_else(|| format!("no producer {producer}"))?.notify_one();
                    }
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == total {
                        finished_at.store((end - origin).as_nanos() as u64, Ordering::Relaxed);
                    }
                }
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut latencies = Vec::new();
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok(Ok(l)) => latencies.extend(l),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(format!("consumer failed: {e}")),
        }
    }
    stop.store(true, Ordering::Relaxed);
    ticker.abort();
    if let Some(e) = failure {
        return Err(e.into());
    }
    if latencies.len() != total {
        return Err(format!("drained {} messages, expected {total}", latencies.len()).into());
    }
    Ok((latencies, origin + Duration::from_nanos(finished_at.load(Ordering::Relaxed))))
}

async fn queue_rows(queue: Arc<embedded::EmbeddedQueue>, disk: &Disk) -> Result<Vec<Row>, BoxError> {
    let mut rows = Vec::new();

    // Sends only: builds a backlog.
    let q = queue.clone();
    let send = run_level("queue send", 64, QUEUE_MESSAGES, Some(disk), move |i| {
        let q = q.clone();
        async move { q.send(&OPS_TASKS, OutMessage::new(format!("{i}"))).await.map(|_| ()).map_err(|e| e.to_string()) }
    })
    .await?;
    rows.push(send);

    // Drain the backlog.
    eprintln!("queue receive+delete (backlog), 8 consumers, {QUEUE_MESSAGES} messages …");
    let flushes = disk.flushes();
    let started = Instant::now();
    let (latencies, end) = drain(queue.clone(), 8, QUEUE_MESSAGES, None, "queue drain".into()).await?;
    rows.push(Row {
        scenario: "queue receive+delete (backlog)".into(),
        concurrency: "8".into(),
        ops: latencies.len(),
        elapsed: end - started,
        latencies,
        flushes: disk.since(flushes),
    });

    // Closed loop: each producer sends one message and waits until a consumer has deleted it.
    // Latency: send start → delete done (at most PRODUCERS messages in flight, so no backlog).
    const PRODUCERS: usize = 32;
    eprintln!(
        "queue send→receive→delete, {PRODUCERS} producers (closed loop) + 8 consumers, {PIPELINE_MESSAGES} messages …"
    );
    let acks: Arc<Vec<Notify>> = Arc::new((0..PRODUCERS).map(|_| Notify::new()).collect());
    let flushes = disk.flushes();
    let started = Instant::now();
    let consumers =
        tokio::spawn(drain(queue.clone(), 8, PIPELINE_MESSAGES, Some(acks.clone()), "queue pipeline".into()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let (q, next, acks) = (queue.clone(), next.clone(), acks.clone());
        producers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < PIPELINE_MESSAGES {
                let t = Instant::now();
                q.send(&OPS_TASKS, OutMessage::new(p.to_string())).await.map_err(|e| e.to_string())?;
                let ack = acks.get(p).ok_or("producer index out of range")?;
                tokio::time::timeout(Duration::from_secs(30), ack.notified())
                    .await
                    .map_err(|_| "a message was not consumed within 30 s".to_string())?;
                lat.push(t.elapsed());
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut latencies = Vec::new();
    for p in producers {
        latencies.extend(p.await.map_err(|e| format!("producer failed: {e}"))??);
    }
    let (_, end) = consumers.await.map_err(|e| format!("consumers failed: {e}"))??;
    rows.push(Row {
        scenario: "queue send→receive→delete".into(),
        concurrency: format!("{PRODUCERS}+8"),
        ops: latencies.len(),
        elapsed: end - started,
        latencies,
        flushes: disk.since(flushes),
    });
    Ok(rows)
}

fn print_table(rows: &mut [Row], fsync_rate: f64) {
    println!();
    println!(
        "{:<40} {:>6} {:>6} {:>8} {:>7} {:>7} {:>7} {:>6} {:>7} {:>6} {:>6}",
        "scenario", "tasks", "ops", "ops/s", "p50 ms", "p99 ms", "max ms", "×fsync", "ops/fl", "fl ms", "KB/op"
    );
    println!("{}", "-".repeat(40 + 7 + 7 + 9 + 8 * 3 + 7 + 8 + 7 + 7));
    for r in rows.iter_mut() {
        r.latencies.sort_unstable();
        let max = r.latencies.last().copied().unwrap_or_default();
        let (per_flush, flush_ms, kb_per_op) = match r.flushes {
            Some(f) if f.count > 0 => (
                format!("{:.1}", r.ops as f64 / f.count as f64),
                format!("{:.2}", f.millis as f64 / f.count as f64),
                format!("{:.1}", f.sectors as f64 * 512.0 / 1024.0 / r.ops.max(1) as f64),
            ),
            _ => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<40} {:>6} {:>6} {:>8.0} {:>7.2} {:>7.2} {:>7.2} {:>6.2} {:>7} {:>6} {:>6}",
            r.scenario,
            r.concurrency,
            r.ops,
            r.per_sec(),
            ms(percentile(&r.latencies, 50.0)),
            ms(percentile(&r.latencies, 99.0)),
            ms(max),
            r.per_sec() / fsync_rate,
            per_flush,
            flush_ms,
            kb_per_op,
        );
    }
    println!();
    println!("ops/s: committed (durable) operations per second; a transaction (2 items) is one op.");
    println!("×fsync: ops/s divided by the faster of the two fsync baselines (above 1 only by group commit).");
    println!("ops/fl: ops per flush request the block device completed meanwhile (device-wide, so");
    println!("        other processes' flushes count too); fl ms: the device's mean time per flush;");
    println!("KB/op:  KiB the device wrote per op (device-wide): redb's copy-on-write page amplification.");
}

async fn bench(dir: &Path) -> Result<(), BoxError> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let disk = Disk::of(dir);
    eprintln!("embedded store benchmark: {cores} cores, data in {}, device stats {}", dir.display(), disk.name());

    let baseline = |label: &'static str| {
        let dir = dir.to_path_buf();
        let disk = disk.clone();
        eprintln!("fsync baseline ({label}, ~{FSYNC_SECS} s) …");
        tokio::task::spawn_blocking(move || fsync_baseline(&dir, FSYNC_SECS, label, &disk).map_err(|e| e.to_string()))
    };
    let before = baseline("before").await.map_err(|e| format!("fsync probe failed: {e}"))??;

    let (store, queue) = embedded::open(dir, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut rows = Vec::new();

    // Warm-up (not reported): creates the tables and the file's first pages.
    {
        let (s, run) = (store.clone(), run.clone());
        run_level("warm-up", 8, 200, Some(&disk), move |i| {
            let (s, pk) = (s.clone(), format!("WARM#{run}#{i}"));
            async move { s.put(&OPS, item(pk, "x"), Some(Cond::not_exists("pk"))).await.map_err(|e| e.to_string()) }
        })
        .await?;
    }

    // Keys are random (like the idempotency table's hashed keys), so each op lands on its own
    // B-tree leaf: the costly case for a copy-on-write B-tree. One row with ordered keys (like
    // the notices' UUID v7 ids) shows the cheap case.
    for (concurrency, total) in LEVELS {
        let s = store.clone();
        rows.push(
            run_level("put, not_exists", concurrency, total, Some(&disk), move |_| {
                let (s, pk) = (s.clone(), random_key("PUT"));
                async move { s.put(&OPS, item(pk, "x"), Some(Cond::not_exists("pk"))).await.map_err(|e| e.to_string()) }
            })
            .await?,
        );
    }
    {
        let (concurrency, total) = LEVELS[LEVELS.len() - 1];
        let (s, run) = (store.clone(), run.clone());
        rows.push(
            run_level("put, not_exists, ordered keys", concurrency, total, Some(&disk), move |i| {
                let (s, pk) = (s.clone(), format!("SEQ#{run}#{i:010}"));
                async move { s.put(&OPS, item(pk, "x"), Some(Cond::not_exists("pk"))).await.map_err(|e| e.to_string()) }
            })
            .await?,
        );
    }
    for (concurrency, total) in LEVELS {
        let s = store.clone();
        rows.push(
            run_level("transact, 2 conditional puts", concurrency, total, Some(&disk), move |_| {
                let s = s.clone();
                let ops = vec![
                    TxOp::Put { table: &OPS, item: item(random_key("TX"), "x"), cond: Some(Cond::not_exists("pk")) },
                    TxOp::Put {
                        table: &IDEMPOTENCY,
                        item: item(random_key("TXU"), ""),
                        cond: Some(Cond::not_exists("pk")),
                    },
                ];
                async move { s.transact(ops).await.map_err(|e| e.to_string()) }
            })
            .await?,
        );
    }
    rows.extend(queue_rows(queue, &disk).await?);
    drop(store);

    let after = baseline("after").await.map_err(|e| format!("fsync probe failed: {e}"))??;
    let fsync_rate = before.per_sec().max(after.per_sec());
    let mut all = vec![before];
    all.extend(rows);
    all.push(after);
    print_table(&mut all, fsync_rate);
    Ok(())
}

fn main() -> std::process::ExitCode {
    // `cargo bench` passes `--bench` (and maybe a filter); both are ignored.
    let dir = bench_root().join(uuid::Uuid::new_v4().to_string());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("embedded_store bench: cannot create {}: {e}", dir.display());
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("embedded_store bench: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(bench(&dir));
    drop(runtime);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("embedded_store bench: could not remove {}: {e}", dir.display());
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embedded_store bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
