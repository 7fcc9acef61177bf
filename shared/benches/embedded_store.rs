//! Benchmark of the embedded backend (redb + one writer thread doing group commit).
//!
//! `cargo bench -p mkpf --bench embedded_store` — plain Rust, no harness: prints a table on
//! stdout and progress on stderr, and takes well under a minute.
//!
//! What it measures, on a fresh store in `<target>/bench-data/<uuid>` (override the parent with
//! `MKPF_BENCH_DIR`, e.g. to compare with a tmpfs):
//! - the raw fsync rate of the disk under that directory: write 4 KiB in place + `sync_data`,
//!   in a loop for about two seconds — what one-commit-per-write would be limited to;
//! - conditional puts (`Cond::not_exists`) and two-item transactions (`Store::transact`, each
//!   item conditional) with 1, 8, 64 and 256 concurrent tasks, a fixed count per level:
//!   committed ops/s and p50/p99/max latency per op (every op waits for its durable commit);
//! - the queue: sends (64 tasks), draining that backlog (receive ≤ 10 + delete each, 8
//!   consumers), and a pipeline (32 producers and 8 consumers at once, latency from send to
//!   delete).
//!
//! Durability is the engine's default (redb `Durability::Immediate`): nothing here is cheated
//! with non-durable commits.

use std::fs::OpenOptions;
use std::future::Future;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mkpf::adapters::embedded;
use mkpf::ports::{Cond, Item, OutMessage, Queue, Store, SystemClock, TxOp, Value};
use mkpf::queues::OPS_TASKS;
use mkpf::tables::{IDEMPOTENCY, OPS};

/// (concurrency, ops) per level. Counts are sized so that each level runs for a few seconds
/// on a disk doing a few hundred fsyncs per second.
const LEVELS: [(usize, usize); 4] = [(1, 400), (8, 2_000), (64, 10_000), (256, 20_000)];
const FSYNC_SECS: f64 = 2.0;
const QUEUE_MESSAGES: usize = 5_000;
const PAYLOAD: &str = "負荷試験のための本文です。A benchmark payload about the size of a short notice body, \
                       so that each item is a few hundred bytes like the platform's real items.";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One row of the result table.
struct Row {
    scenario: String,
    concurrency: String,
    ops: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Row {
    fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Where the store files go: `$MKPF_BENCH_DIR`, else `<target dir>/bench-data`.
fn bench_root() -> PathBuf {
    if let Some(d) = std::env::var_os("MKPF_BENCH_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("bench-data")
}

/// Writes 4 KiB in place and `sync_data`s it, for about `secs` seconds.
fn fsync_baseline(dir: &Path, secs: f64) -> Result<Row, BoxError> {
    let path = dir.join("fsync-probe");
    let mut f = OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path)?;
    let block = vec![0x5au8; 4096];
    // Preallocate 1 MiB so the loop only overwrites data (no size change to flush).
    for _ in 0..256 {
        f.write_all(&block)?;
    }
    f.sync_all()?;
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
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(Row { scenario: "fsync baseline (4 KiB + sync_data)".into(), concurrency: "1".into(), ops: latencies.len(), elapsed, latencies })
}

/// Prints `label: done/total` on stderr once a second until `stop`.
fn progress(label: String, done: Arc<AtomicUsize>, total: usize, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let n = done.load(Ordering::Relaxed);
            eprintln!("  {label}: {n}/{total} after {:.0} s", started.elapsed().as_secs_f64());
        }
    })
}

/// Runs `op(i)` for i in 0..total on `concurrency` tasks; every op is timed.
async fn run_level<F, Fut>(scenario: &str, concurrency: usize, total: usize, op: F) -> Result<Row, BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    eprintln!("{scenario}, {concurrency} tasks, {total} ops …");
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = progress(format!("{scenario} ×{concurrency}"), done.clone(), total, stop.clone());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (op, next, done) = (op.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(total / concurrency + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(lat);
                }
                let t = Instant::now();
                op(i).await?;
                lat.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok(Ok(l)) => latencies.extend(l),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(format!("task failed: {e}")),
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    ticker.abort();
    if let Some(e) = failure {
        return Err(format!("{scenario} ×{concurrency}: {e}").into());
    }
    Ok(Row { scenario: scenario.into(), concurrency: concurrency.to_string(), ops: latencies.len(), elapsed, latencies })
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

/// Drains `total` messages with `consumers` tasks: receive up to 10, delete each (as the
/// platform's consumer runner does). Latency per message: receive call start → its delete done.
/// With `sent_at`, latency is measured from the message's send instead (the body holds the
/// send time in nanoseconds since `origin`).
async fn drain(
    queue: Arc<embedded::EmbeddedQueue>,
    consumers: usize,
    total: usize,
    origin: Instant,
    from_send: bool,
    label: String,
) -> Result<(Vec<Duration>, Instant), BoxError> {
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let finished_at = Arc::new(AtomicU64::new(0));
    let ticker = progress(label, done.clone(), total, stop.clone());
    let mut tasks = Vec::new();
    for _ in 0..consumers {
        let (queue, done, finished_at) = (queue.clone(), done.clone(), finished_at.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while done.load(Ordering::Relaxed) < total {
                let t = Instant::now();
                let got = queue.receive(&OPS_TASKS, 10, Duration::from_millis(200)).await.map_err(|e| e.to_string())?;
                for m in got {
                    queue.delete(&OPS_TASKS, &m.receipt).await.map_err(|e| e.to_string())?;
                    let end = Instant::now();
                    let start = if from_send {
                        let nanos: u64 = m.body.parse().map_err(|_| format!("unexpected message body {:?}", m.body))?;
                        origin + Duration::from_nanos(nanos)
                    } else {
                        t
                    };
                    lat.push(end - start);
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

async fn queue_rows(queue: Arc<embedded::EmbeddedQueue>) -> Result<Vec<Row>, BoxError> {
    let mut rows = Vec::new();
    let origin = Instant::now();

    // Sends only: builds a backlog.
    let q = queue.clone();
    let send = run_level("queue send", 64, QUEUE_MESSAGES, move |i| {
        let q = q.clone();
        async move { q.send(&OPS_TASKS, OutMessage::new(format!("{i}"))).await.map(|_| ()).map_err(|e| e.to_string()) }
    })
    .await?;
    rows.push(send);

    // Drain the backlog.
    eprintln!("queue receive+delete (backlog), 8 consumers, {QUEUE_MESSAGES} messages …");
    let started = Instant::now();
    let (latencies, end) = drain(queue.clone(), 8, QUEUE_MESSAGES, origin, false, "queue drain".into()).await?;
    rows.push(Row {
        scenario: "queue receive+delete (backlog)".into(),
        concurrency: "8".into(),
        ops: latencies.len(),
        elapsed: end - started,
        latencies,
    });

    // Pipeline: producers and consumers at once; latency from send to delete.
    eprintln!("queue send→receive→delete pipeline, 32 producers + 8 consumers, {QUEUE_MESSAGES} messages …");
    let origin = Instant::now();
    let consumers = tokio::spawn(drain(queue.clone(), 8, QUEUE_MESSAGES, origin, true, "queue pipeline".into()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut producers = Vec::new();
    for _ in 0..32 {
        let (q, next) = (queue.clone(), next.clone());
        producers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < QUEUE_MESSAGES {
                let at = origin.elapsed().as_nanos() as u64;
                q.send(&OPS_TASKS, OutMessage::new(at.to_string())).await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for p in producers {
        p.await.map_err(|e| format!("producer failed: {e}"))??;
    }
    let (latencies, end) = consumers.await.map_err(|e| format!("consumers failed: {e}"))??;
    rows.push(Row {
        scenario: "queue send→receive→delete".into(),
        concurrency: "32+8".into(),
        ops: latencies.len(),
        elapsed: end - origin,
        latencies,
    });
    Ok(rows)
}

fn print_table(rows: &mut [Row], fsync_rate: f64) {
    println!();
    println!(
        "{:<36} {:>6} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "scenario", "tasks", "ops", "ops/s", "p50 ms", "p99 ms", "max ms", "×fsync"
    );
    println!("{}", "-".repeat(36 + 6 + 7 + 9 + 8 * 4 + 7));
    for r in rows.iter_mut() {
        r.latencies.sort_unstable();
        let max = r.latencies.last().copied().unwrap_or_default();
        println!(
            "{:<36} {:>6} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            r.scenario,
            r.concurrency,
            r.ops,
            r.per_sec(),
            ms(percentile(&r.latencies, 50.0)),
            ms(percentile(&r.latencies, 99.0)),
            ms(max),
            r.per_sec() / fsync_rate,
        );
    }
    println!();
    println!("ops/s counts committed (durable) operations; a transaction is one op (2 items).");
    println!("×fsync = ops/s divided by the fsync baseline: above 1 only thanks to group commit.");
}

async fn bench(dir: &Path) -> Result<(), BoxError> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("embedded store benchmark: {cores} cores, data in {}", dir.display());

    eprintln!("fsync baseline (~{FSYNC_SECS} s) …");
    let fsync = tokio::task::spawn_blocking({
        let dir = dir.to_path_buf();
        move || fsync_baseline(&dir, FSYNC_SECS).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("fsync probe failed: {e}"))??;
    let fsync_rate = fsync.per_sec();

    let (store, queue) = embedded::open(dir, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut rows = vec![fsync];

    // Warm-up (not reported): creates the tables and the file's first pages.
    {
        let (s, run) = (store.clone(), run.clone());
        run_level("warm-up", 8, 200, move |i| {
            let (s, pk) = (s.clone(), format!("WARM#{run}#{i}"));
            async move { s.put(&OPS, item(pk, "x"), Some(Cond::not_exists("pk"))).await.map_err(|e| e.to_string()) }
        })
        .await?;
    }

    for (concurrency, total) in LEVELS {
        let (s, run) = (store.clone(), run.clone());
        rows.push(
            run_level("put, not_exists", concurrency, total, move |i| {
                let (s, pk) = (s.clone(), format!("PUT#{run}#{concurrency}#{i}"));
                async move { s.put(&OPS, item(pk, "x"), Some(Cond::not_exists("pk"))).await.map_err(|e| e.to_string()) }
            })
            .await?,
        );
    }
    for (concurrency, total) in LEVELS {
        let (s, run) = (store.clone(), run.clone());
        rows.push(
            run_level("transact, 2 conditional puts", concurrency, total, move |i| {
                let s = s.clone();
                let ops = vec![
                    TxOp::Put { table: &OPS, item: item(format!("TX#{run}#{concurrency}#{i}"), "x"), cond: Some(Cond::not_exists("pk")) },
                    TxOp::Put {
                        table: &IDEMPOTENCY,
                        item: item(format!("TXU#{run}#{concurrency}#{i}"), ""),
                        cond: Some(Cond::not_exists("pk")),
                    },
                ];
                async move { s.transact(ops).await.map_err(|e| e.to_string()) }
            })
            .await?,
        );
    }
    rows.extend(queue_rows(queue).await?);
    drop(store);

    print_table(&mut rows, fsync_rate);
    Ok(())
}

fn main() -> std::process::ExitCode {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
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
