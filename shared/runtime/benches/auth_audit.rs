//! Benchmark of what authentication and the audit trail cost.
//!
//! `cargo bench -p mkpf-runtime --bench auth_audit` — plain Rust, no harness: prints a table on stdout
//! and progress on stderr, and takes well under a minute. Everything runs in this process; no
//! network is used.
//!
//! What it measures:
//! - argon2id (`staff::secrets`, 19 MiB, 2 passes, 1 lane): `hash_password`, and
//!   `verify_password` with 1 and 2 concurrent tasks (both run on tokio's blocking pool), so the
//!   cost of one sign-in's password check and how it scales over the cores;
//! - ES256 access tokens (`tokens::issue` / `tokens::verify` with an in-memory `LocalKeys`):
//!   signings and verifications per second on one task;
//! - audited writes on a fresh embedded store in `<target>/bench-data/<uuid>` (override the
//!   parent with `MKPF_BENCH_DIR`), at 1, 16 and 64 concurrent tasks, each op awaiting its
//!   durable commit:
//!   - `audit::commit_event` (an audit record alone: chain head update + record put, one
//!     transaction);
//!   - `audit::commit` with one conditional put (a change and its record, one transaction);
//!   - a plain conditional put without audit, as a reference measured in the same run (the
//!     disk's fsync rate drifts between runs);
//! - `audit::verify` (with the seal key) over every record written: records verified per second;
//! - `GET /v1/staff/me` through the full router (`tower::ServiceExt::oneshot`, no socket) with a
//!   staff bearer token, 16 concurrent tasks: token verification, the session read, the
//!   handler's account read and JSON.
//!
//! On Linux, the store rows also show ops per flush request of the block device under the data
//! directory (device-wide, so other processes count too): the observed group-commit factor.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mkpf_core::audit::{self, Actor, Context, Event};
use mkpf_core::config::Config;
use mkpf_core::domain::staff::{NewPassword, Role};
use mkpf_core::ports::{Clock, Cond, Item, JST, SystemClock, TokenKeys, TxOp, Value};
use mkpf_core::tables::OPS;
use mkpf_core::tokens::{self, Claims};
use mkpf_embedded as embedded;
use mkpf_embedded::local_keys::LocalKeys;
use mkpf_http::App;
use tower::ServiceExt;

/// argon2id: (tasks, verifications). One verification takes tens of milliseconds.
const ARGON_LEVELS: [(usize, usize); 2] = [(1, 24), (2, 48)];
const ARGON_HASHES: usize = 8;
const TOKEN_SIGNS: usize = 2_000;
const TOKEN_VERIFIES: usize = 4_000;
/// Store writes: (concurrency, ops) per level, for each kind of write.
const WRITE_LEVELS: [(usize, usize); 3] = [(1, 400), (16, 3_000), (64, 6_000)];
const ROUTER_CONCURRENCY: usize = 16;
const ROUTER_REQUESTS: usize = 8_000;
#[path = "../../benches/support/mod.rs"]
mod support;

use support::*;

fn item(pk: String) -> Item {
    let mut i = Item::new();
    i.insert("pk".into(), Value::S(pk));
    i.insert("sk".into(), Value::S("x".into()));
    i.insert("body".into(), Value::S(PAYLOAD.into()));
    i.insert("version".into(), Value::N(1));
    i
}

/// A random partition key (UUID v4, hex), like the idempotency table's hashed keys.
fn random_key() -> String {
    format!("BENCH#{}", uuid::Uuid::new_v4().simple())
}

/// A conditional put of a fresh item with a random key on `ops`.
fn random_put() -> TxOp {
    TxOp::Put { table: &OPS, item: item(random_key()), cond: Some(Cond::not_exists("pk")) }
}

fn bench_ctx() -> Context {
    Context {
        actor: Actor::new("staff", Some("bench-operator")),
        request_id: Some(uuid::Uuid::new_v4().to_string()),
        source_ip: Some("127.0.0.1".into()),
    }
}

async fn argon_rows() -> Result<Vec<Row>, BoxError> {
    let mut rows = Vec::new();
    rows.push(
        run_level("argon2id hash_password", 1, ARGON_HASHES, None, |_| async {
            mkpf_core::staff::secrets::hash_password(&NewPassword::generate()).await.map(|_| ())
        })
        .await?,
    );
    let password = NewPassword::generate();
    let hash = Arc::new(mkpf_core::staff::secrets::hash_password(&password).await?);
    let password = Arc::new(password.expose().to_owned());
    for (concurrency, total) in ARGON_LEVELS {
        let (password, hash) = (password.clone(), hash.clone());
        rows.push(
            run_level("argon2id verify_password", concurrency, total, None, move |_| {
                let (password, hash) = (password.clone(), hash.clone());
                async move {
                    if mkpf_core::staff::secrets::verify_password(&password, Some(&hash)).await {
                        Ok(())
                    } else {
                        Err("the right password did not verify".into())
                    }
                }
            })
            .await?,
        );
    }
    Ok(rows)
}

async fn token_rows() -> Result<Vec<Row>, BoxError> {
    let keys: Arc<dyn TokenKeys> = Arc::new(LocalKeys::generate());
    let now = SystemClock.epoch_secs();
    let claims = Arc::new(Claims {
        iss: tokens::ISSUER.into(),
        aud: tokens::STAFF_AUDIENCE.into(),
        sub: "bench-operator".into(),
        sid: uuid::Uuid::new_v4().simple().to_string(),
        iat: now,
        exp: now + 900,
        roles: vec!["operator".into()],
        muni: None,
        pending: vec![],
    });
    let mut rows = Vec::new();
    {
        let (keys, claims) = (keys.clone(), claims.clone());
        rows.push(
            run_level("ES256 token issue (sign)", 1, TOKEN_SIGNS, None, move |_| {
                let (keys, claims) = (keys.clone(), claims.clone());
                async move { tokens::issue(keys.as_ref(), &claims).await.map(|_| ()).map_err(|e| e.to_string()) }
            })
            .await?,
        );
    }
    let token = Arc::new(tokens::issue(keys.as_ref(), &claims).await?);
    rows.push(
        run_level("ES256 token verify", 1, TOKEN_VERIFIES, None, move |_| {
            let (keys, token) = (keys.clone(), token.clone());
            async move {
                tokens::verify(keys.as_ref(), &token, &[tokens::STAFF_AUDIENCE], now)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await?,
    );
    Ok(rows)
}

/// Plain puts, audit records and audited puts at every level (interleaved by level, so a drift
/// of the disk's fsync rate hits all three alike). Returns the rows and the audit records
/// written.
async fn write_rows(app: &App, disk: &Disk) -> Result<(Vec<Row>, usize), BoxError> {
    let mut rows = Vec::new();
    let mut records = 0;
    // Warm-up (not reported): creates the tables and every shard's chain head.
    {
        let app = app.clone();
        run_level("warm-up", 16, 320, Some(disk), move |_| {
            let app = app.clone();
            async move {
                audit::commit(&app, &bench_ctx(), Event::success("bench.warmup", vec![]), vec![random_put()])
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
        records += 320;
    }
    for (concurrency, total) in WRITE_LEVELS {
        let store = app.store.clone();
        rows.push(
            run_level("plain put, not_exists (no audit)", concurrency, total, Some(disk), move |_| {
                let store = store.clone();
                async move {
                    store.put(&OPS, item(random_key()), Some(Cond::not_exists("pk"))).await.map_err(|e| e.to_string())
                }
            })
            .await?,
        );
        let a = app.clone();
        rows.push(
            run_level("audit::commit_event (record only)", concurrency, total, Some(disk), move |i| {
                let app = a.clone();
                async move {
                    let event = Event::success("bench.write", vec![format!("bench:{i}")]);
                    audit::commit_event(&app, &bench_ctx(), event).await.map_err(|e| e.to_string())
                }
            })
            .await?,
        );
        let a = app.clone();
        rows.push(
            run_level("audit::commit, put + record", concurrency, total, Some(disk), move |i| {
                let app = a.clone();
                async move {
                    let event = Event::success("bench.write", vec![format!("bench:{i}")]);
                    audit::commit(&app, &bench_ctx(), event, vec![random_put()]).await.map_err(|e| e.to_string())
                }
            })
            .await?,
        );
        records += 2 * total;
    }
    Ok((rows, records))
}

/// Verifies every chain of the days the writes touched.
async fn verify_row(app: &App, from: time::Date, expected: usize) -> Result<Row, BoxError> {
    let to = app.clock.now().to_offset(JST).date();
    eprintln!("audit::verify {from}..={to} ({expected} records expected) …");
    let started = Instant::now();
    let report = audit::verify(app.store.as_ref(), Some(app.seal_keys.as_ref()), from, to, |_, _| {}).await?;
    let elapsed = started.elapsed();
    if !report.ok() {
        return Err(format!("audit verification found problems: {:?}", report.findings).into());
    }
    // The demo account's creation is audited too, so the chains may hold a few more records.
    if (report.records as usize) < expected {
        return Err(format!("verified {} records, expected at least {expected}", report.records).into());
    }
    eprintln!("  {} chains, {} records, unsealed days {:?}", report.chains, report.records, report.unsealed_days);
    Ok(Row {
        scenario: format!("audit::verify with seal key ({} chains)", report.chains),
        concurrency: "1".into(),
        ops: report.records as usize,
        elapsed,
        latencies: vec![],
        flushes: None,
    })
}

async fn router_row(app: &App) -> Result<Row, BoxError> {
    let token = mkpf_core::staff::demo::token_for(app, "bench-operator", &[Role::Operator], None, 3600).await?;
    let auth = Arc::new(format!("Bearer {token}"));
    let router = mkpf_http::full_router(app.clone());
    let call = move |_: usize| {
        let (router, auth) = (router.clone(), auth.clone());
        async move {
            let req = Request::builder()
                .method("GET")
                .uri("/v1/staff/me")
                .header("authorization", auth.as_str())
                .body(Body::empty())
                .map_err(|e| e.to_string())?;
            let resp = router.oneshot(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            if status != StatusCode::OK {
                return Err(format!("GET /v1/staff/me answered {status}: {}", String::from_utf8_lossy(&body)));
            }
            Ok(())
        }
    };
    let call = Arc::new(call);
    {
        let call = call.clone();
        run_level("warm-up", ROUTER_CONCURRENCY, 200, None, move |i| call(i)).await?;
    }
    run_level("GET /v1/staff/me (full router)", ROUTER_CONCURRENCY, ROUTER_REQUESTS, None, move |i| call(i)).await
}

fn print_table(rows: &mut [Row]) {
    println!();
    println!(
        "{:<44} {:>5} {:>6} {:>9} {:>8} {:>8} {:>8} {:>6}",
        "scenario", "tasks", "ops", "ops/s", "p50 ms", "p99 ms", "max ms", "ops/fl"
    );
    println!("{}", "-".repeat(44 + 6 + 7 + 10 + 9 * 3 + 7));
    for r in rows.iter_mut() {
        r.latencies.sort_unstable();
        let lat = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.3}", ms(d)));
        let some = !r.latencies.is_empty();
        let per_flush = match r.flushes {
            Some(f) if f.count > 0 => format!("{:.1}", r.ops as f64 / f.count as f64),
            _ => "-".into(),
        };
        println!(
            "{:<44} {:>5} {:>6} {:>9.0} {:>8} {:>8} {:>8} {:>6}",
            r.scenario,
            r.concurrency,
            r.ops,
            r.per_sec(),
            lat(some.then(|| percentile(&r.latencies, 50.0))),
            lat(some.then(|| percentile(&r.latencies, 99.0))),
            lat(r.latencies.last().copied()),
            per_flush,
        );
    }
    println!();
    println!("argon2id: 19 MiB, 2 passes, 1 lane, on tokio's blocking pool (one thread per concurrent call).");
    println!("Store rows: every op awaits its durable commit. commit_event = chain head update + record put in");
    println!("one transaction; commit, put + record = the same plus one conditional put (3 items).");
    println!("ops/fl: ops per flush request the block device completed meanwhile (device-wide).");
    println!("audit::verify: ops = records verified (hash, link, sequence, head; today's chains have no seal yet).");
}

async fn bench(dir: &Path) -> Result<(), BoxError> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let disk = Disk::of(dir);
    eprintln!("auth and audit benchmark: {cores} cores, data in {}, device stats {}", dir.display(), disk.name());

    let mut rows = argon_rows().await?;
    rows.extend(token_rows().await?);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, queue) = embedded::open(dir, clock.clone()).map_err(|e| e.to_string())?;
    let app =
        mkpf_runtime::app(Config::for_tests(dir.to_path_buf()), store, queue, clock, Arc::new(LocalKeys::generate()));
    let first_day = app.clock.now().to_offset(JST).date();
    let (writes, records) = write_rows(&app, &disk).await?;
    rows.extend(writes);
    rows.push(verify_row(&app, first_day, records).await?);
    rows.push(router_row(&app).await?);
    drop(app);

    print_table(&mut rows);
    Ok(())
}

fn main() -> std::process::ExitCode {
    // `cargo bench` passes `--bench` (and maybe a filter); both are ignored.
    let dir = bench_root().join(uuid::Uuid::new_v4().to_string());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("auth_audit bench: cannot create {}: {e}", dir.display());
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("auth_audit bench: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(bench(&dir));
    drop(runtime);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("auth_audit bench: could not remove {}: {e}", dir.display());
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auth_audit bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
