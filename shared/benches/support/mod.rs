//! What the benchmarks share: the result row and its percentiles, where store files go, the
//! block device's flush counters, progress on stderr, and running a level of concurrent timed
//! operations. Each bench uses part of it.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const PAYLOAD: &str = "負荷試験のための本文です。A benchmark payload about the size of a short notice body, \
                       so that each item is a few hundred bytes like the platform's real items.";

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One row of the result table.
pub struct Row {
    pub scenario: String,
    pub concurrency: String,
    pub ops: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    /// Flush requests the block device completed meanwhile, and the milliseconds they took
    /// (None: not available).
    pub flushes: Option<Flushes>,
}

impl Row {
    pub fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Where the store files go: `$MKPF_BENCH_DIR`, else `<target dir>/bench-data`.
pub fn bench_root() -> PathBuf {
    if let Some(d) = std::env::var_os("MKPF_BENCH_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    target.join("bench-data")
}

#[derive(Debug, Clone, Copy)]
pub struct Flushes {
    pub count: u64,
    pub millis: u64,
    /// 512-byte sectors written.
    pub sectors: u64,
}

/// The block device under a directory, for counting its completed flush requests.
#[derive(Clone)]
pub struct Disk {
    stat: Option<PathBuf>,
}

impl Disk {
    #[cfg(target_os = "linux")]
    pub fn of(dir: &Path) -> Disk {
        use std::os::unix::fs::MetadataExt;
        let stat = std::fs::metadata(dir).ok().map(|m| {
            let dev = m.dev();
            let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
            let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
            PathBuf::from(format!("/sys/dev/block/{major}:{minor}/stat"))
        });
        let disk = Disk { stat };
        if disk.flushes().is_some() { disk } else { Disk { stat: None } }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn of(_dir: &Path) -> Disk {
        Disk { stat: None }
    }

    /// Sectors written, completed flush requests and the time spent on them so far (fields 7,
    /// 16 and 17 of the block device's stat file, Linux ≥ 5.5).
    pub fn flushes(&self) -> Option<Flushes> {
        let text = std::fs::read_to_string(self.stat.as_ref()?).ok()?;
        let fields: Vec<u64> = text.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
        Some(Flushes { sectors: *fields.get(6)?, count: *fields.get(15)?, millis: *fields.get(16)? })
    }

    pub fn since(&self, before: Option<Flushes>) -> Option<Flushes> {
        let (now, before) = (self.flushes()?, before?);
        Some(Flushes {
            count: now.count.saturating_sub(before.count),
            millis: now.millis.saturating_sub(before.millis),
            sectors: now.sectors.saturating_sub(before.sectors),
        })
    }

    pub fn name(&self) -> String {
        self.stat.as_ref().map_or("not available".into(), |p| p.display().to_string())
    }
}

/// Prints `label: done/total` on stderr once a second until `stop`.
pub fn progress(
    label: String,
    done: Arc<AtomicUsize>,
    total: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
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

/// Runs `op(i)` for i in 0..total on `concurrency` tasks; every op is timed. With `disk`, the
/// row counts the device's flushes meanwhile. The first failing op stops every task.
pub async fn run_level<F, Fut>(
    scenario: &str,
    concurrency: usize,
    total: usize,
    disk: Option<&Disk>,
    op: F,
) -> Result<Row, BoxError>
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
    let flushes = disk.and_then(Disk::flushes);
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
                if let Err(e) = op(i).await {
                    next.store(total, Ordering::Relaxed); // the other tasks stop too
                    return Err(e);
                }
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
    let flushes = disk.and_then(|d| d.since(flushes));
    stop.store(true, Ordering::Relaxed);
    ticker.abort();
    if let Some(e) = failure {
        return Err(format!("{scenario} ×{concurrency}: {e}").into());
    }
    Ok(Row {
        scenario: scenario.into(),
        concurrency: concurrency.to_string(),
        ops: latencies.len(),
        elapsed,
        latencies,
        flushes,
    })
}
