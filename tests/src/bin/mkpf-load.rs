//! `mkpf-load`: a bounded HTTP load generator for the local platform (`mkpf-local`).
//!
//! It only ever talks to a loopback address (127.0.0.0/8, ::1, localhost): any other target is
//! refused before a single request is made, proxies from the environment are ignored and
//! redirects are not followed. Every run is bounded by a request count and a duration, whichever
//! comes first.
//!
//! The load is closed-loop: `--concurrency` workers each send a request, wait for the whole
//! response, and send the next. Latency is measured per request from just before it is sent to
//! the last byte of its response.
//!
//! ```text
//! mkpf-load --target http://127.0.0.1:8080 --scenario health,public-list,notices-create
//! ```
//!
//! Exit status: 0 when every request got its expected status, 1 when any failed, 2 when the run
//! could not start (bad arguments, refused target, platform not reachable, missing token).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use reqwest::{Client, Method, StatusCode, Url};

/// Drive a running local platform over HTTP (loopback only) and report throughput and latency.
#[derive(Debug, Parser)]
#[command(name = "mkpf-load", version)]
struct Args {
    /// Base URL of the local platform; must be a loopback address (127.0.0.0/8, [::1], localhost).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,

    /// Scenarios to run, one after another (comma-separated or repeated).
    #[arg(long, short, value_enum, value_delimiter = ',', default_value = "health")]
    scenario: Vec<Scenario>,

    /// Stop a scenario after this many requests…
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    requests: u64,

    /// …or after this many seconds, whichever comes first.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,

    /// Requests in flight at once (closed loop: each worker waits for its response).
    #[arg(long, short, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,

    /// Threads of the load generator's own runtime. On a small machine the generator competes
    /// with the platform for CPU; 1 keeps its share small.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    threads: u64,

    /// Per-request timeout in seconds (a timed-out request counts as failed).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,

    /// Operator bearer token for `notices-create` (e.g. from the local demo seed's token file).
    #[arg(long, env = "MKPF_STAFF_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Also report the CPU time this process (the platform) used during each scenario (Linux).
    #[arg(long, value_name = "PID")]
    watch_pid: Option<u32>,

    /// `mkpf-card` directory whose test CA the platform trusts (MKPF_JPKI_TRUST_ANCHORS), for
    /// `card-sign-in`: cards are issued from it, and a fresh CRL of it is imported first (with
    /// the operator token).
    #[arg(long, env = "MKPF_CARD_DIR")]
    card_dir: Option<std::path::PathBuf>,

    /// Software cards `card-sign-in` signs in with, round robin (RSA-2048 keys made at start).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    cards: u64,

    /// Citizens `mynapoint-apply` prepares before the timed phase (each signs in with a card of
    /// their own and creates a MyKey ID, untimed), one application each: this also bounds the
    /// scenario's requests.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=200_000))]
    applicants: u64,

    /// Payment service `mynapoint-apply` applies with (it must take measure 1 and ask for one
    /// 4-digit code, like the local demo seed's DEMO_PAY).
    #[arg(long, default_value = "DEMO_PAY")]
    service: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// POST /v1/ops/notices as the operator, a unique Idempotency-Key per request (expects 201).
    NoticesCreate,
    /// GET /v1/notices, the public list (expects 200).
    PublicList,
    /// GET /healthz (expects 200).
    Health,
    /// A citizen card sign-in: POST /v1/card-auth/challenges, the card signs the nonce, POST
    /// /v1/card-auth/sessions (expects 201). One operation = two requests; latency covers both
    /// and the load generator's RSA signature.
    CardSignIn,
    /// POST /v1/mynapoint/applications (expects 201): each request is another citizen's first
    /// application for measure 1, with a session made in the untimed setup (card sign-in and
    /// MyKey ID creation through the API).
    MynapointApply,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::NoticesCreate => "notices-create",
            Scenario::PublicList => "public-list",
            Scenario::Health => "health",
            Scenario::CardSignIn => "card-sign-in",
            Scenario::MynapointApply => "mynapoint-apply",
        }
    }
    fn method(self) -> Method {
        match self {
            Scenario::NoticesCreate | Scenario::CardSignIn | Scenario::MynapointApply => Method::POST,
            Scenario::PublicList | Scenario::Health => Method::GET,
        }
    }
    fn path(self) -> &'static str {
        match self {
            Scenario::NoticesCreate => "/v1/ops/notices",
            Scenario::PublicList => "/v1/notices",
            Scenario::Health => "/healthz",
            Scenario::CardSignIn => "/v1/card-auth/sessions",
            Scenario::MynapointApply => "/v1/mynapoint/applications",
        }
    }
    fn expected(self) -> StatusCode {
        match self {
            Scenario::NoticesCreate | Scenario::CardSignIn | Scenario::MynapointApply => StatusCode::CREATED,
            Scenario::PublicList | Scenario::Health => StatusCode::OK,
        }
    }
}

/// A target that passed the loopback check.
#[derive(Debug, Clone)]
struct Target {
    /// `http://<host>:<port>` with no path.
    base: String,
    /// For `localhost`: pin name resolution to 127.0.0.1, so /etc/hosts cannot send us elsewhere.
    pin: Option<(String, SocketAddr)>,
}

/// Accepts only `http://` URLs whose host is 127.0.0.0/8, ::1 or `localhost`.
fn loopback_target(raw: &str) -> Result<Target, String> {
    let refuse = |why: &str| {
        format!(
            "refusing target {raw:?}: {why}; mkpf-load only drives a local platform on a loopback address (127.0.0.0/8, [::1], localhost)"
        )
    };
    let url = Url::parse(raw).map_err(|e| refuse(&format!("not a URL ({e})")))?;
    if url.scheme() != "http" {
        return Err(refuse("only http:// is supported"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("credentials in the URL are not allowed"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("give the base URL only (no path, query or fragment)"));
    }
    let host = url.host_str().ok_or_else(|| refuse("no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| refuse("no port"))?;
    if host.eq_ignore_ascii_case("localhost") {
        let pinned = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        return Ok(Target { base: format!("http://localhost:{port}"), pin: Some(("localhost".into(), pinned)) });
    }
    let ip: IpAddr =
        host.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| refuse("not a loopback address"))?;
    if !ip.is_loopback() {
        return Err(refuse("not a loopback address"));
    }
    let base = match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
    };
    Ok(Target { base, pin: None })
}

fn client(target: &Target, concurrency: usize, timeout: Duration) -> Result<Client, String> {
    let mut b = Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .user_agent(concat!("mkpf-load/", env!("CARGO_PKG_VERSION")));
    if let Some((name, addr)) = &target.pin {
        b = b.resolve(name, *addr);
    }
    b.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// What one worker saw.
#[derive(Debug, Default)]
struct Tally {
    /// Latency of every request that got a response, in microseconds.
    latencies_us: Vec<u64>,
    /// Responses by status code (expected or not).
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no response, by kind of failure.
    transport: BTreeMap<String, u64>,
    /// A few examples of unexpected outcomes, for diagnosis.
    samples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.transport {
            *self.transport.entry(k).or_default() += v;
        }
        for s in other.samples {
            if self.samples.len() < MAX_SAMPLES {
                self.samples.push(s);
            }
        }
    }
}

const MAX_SAMPLES: usize = 3;

/// An error with its causes ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = write!(s, ": {c}");
        cur = c.source();
    }
    s
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "error reading the body"
    } else if e.is_request() {
        "request error"
    } else {
        "other transport error"
    }
}

/// Everything a worker needs to make requests of one scenario.
struct Plan {
    scenario: Scenario,
    url: String,
    client: Client,
    token: Option<String>,
    /// Unique per run, so idempotency keys never collide with an earlier run's.
    run_id: String,
    /// `publish_until` of created notices (RFC 3339): a day from the start of the run.
    until: String,
    /// The software cards of `card-sign-in`.
    cards: Vec<mkpf_card_kit::Card>,
    /// The citizens' session tokens of `mynapoint-apply` (one application each).
    sessions: Arc<Vec<String>>,
    service: String,
    base: String,
}

impl Plan {
    fn request(&self, seq: u64) -> reqwest::RequestBuilder {
        let rb = self.client.request(self.scenario.method(), &self.url);
        match self.scenario {
            Scenario::NoticesCreate => {
                let body = serde_json::json!({
                    "title": format!("負荷試験 {seq}"),
                    "body": "mkpf-load による負荷試験のお知らせです。This notice was created by a load test.",
                    "severity": "info",
                    "publish_until": self.until,
                });
                rb.bearer_auth(self.token.as_deref().unwrap_or_default())
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("mkpf-load-{}-{seq}", self.run_id))
                    .body(body.to_string())
            }
            Scenario::MynapointApply => {
                let token = &self.sessions[(seq % self.sessions.len().max(1) as u64) as usize];
                let body = serde_json::json!({
                    "measure": "card_acquisition",
                    "service_code": self.service,
                    "service_account_id": format!("L{}-{seq}", self.run_id),
                    "security_codes": [format!("{:04}", seq % 10_000)],
                });
                rb.bearer_auth(token)
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("mkpf-load-{}-{seq}", self.run_id))
                    .body(body.to_string())
            }
            Scenario::PublicList | Scenario::Health | Scenario::CardSignIn => rb,
        }
    }

    /// One operation: a request, or for `card-sign-in` a challenge, a signature and a session.
    async fn execute(&self, seq: u64) -> Result<(StatusCode, bytes::Bytes), reqwest::Error> {
        if self.scenario != Scenario::CardSignIn {
            let resp = self.request(seq).send().await?;
            let status = resp.status();
            return resp.bytes().await.map(|b| (status, b));
        }
        use base64::Engine;
        let resp = self.client.post(format!("{}/v1/card-auth/challenges", self.base)).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let challenge: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let nonce =
            challenge["nonce"].as_str().and_then(|n| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(n).ok());
        let Some(nonce) = nonce.filter(|_| status == StatusCode::CREATED) else { return Ok((status, body)) };
        let card = &self.cards[(seq % self.cards.len() as u64) as usize];
        let b64 = base64::engine::general_purpose::STANDARD;
        let req = serde_json::json!({
            "challenge_id": challenge["challenge_id"],
            "certificate": b64.encode(card.cert_der()),
            "signature": b64.encode(card.sign(&nonce)),
        });
        let resp = self.request(seq).header("content-type", "application/json").body(req.to_string()).send().await?;
        let status = resp.status();
        resp.bytes().await.map(|b| (status, b))
    }
}

/// Shared between the workers, the progress line and Ctrl-C.
struct Shared {
    issued: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

async fn worker(plan: Arc<Plan>, shared: Arc<Shared>, max_requests: u64, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let expected = plan.scenario.expected();
    loop {
        if shared.stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
            return t;
        }
        let seq = shared.issued.fetch_add(1, Ordering::Relaxed);
        if seq >= max_requests {
            return t;
        }
        let started = Instant::now();
        let outcome = plan.execute(seq).await;
        let elapsed = started.elapsed();
        let ok = match outcome {
            Ok((status, body)) => {
                t.latencies_us.push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
                *t.statuses.entry(status.as_u16()).or_default() += 1;
                if status != expected && t.samples.len() < MAX_SAMPLES {
                    let text = String::from_utf8_lossy(&body);
                    let snippet: String = text.chars().take(300).collect();
                    t.samples.push(format!("HTTP {status}: {snippet}"));
                }
                status == expected
            }
            Err(e) => {
                *t.transport.entry(transport_kind(&e).to_owned()).or_default() += 1;
                if t.samples.len() < MAX_SAMPLES {
                    t.samples.push(format!("{}: {}", transport_kind(&e), chain(&e)));
                }
                false
            }
        };
        shared.done.fetch_add(1, Ordering::Relaxed);
        if !ok {
            shared.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One line on stderr per second while a scenario runs.
fn progress(name: &'static str, shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last = 0;
        loop {
            tick.tick().await;
            let done = shared.done.load(Ordering::Relaxed);
            let failed = shared.failed.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  {name}: {secs:>4.0} s  {done:>8} requests  {failed} failed  {:>8.0} req/s (last second {})",
                done as f64 / secs,
                done - last
            );
            last = done;
        }
    })
}

/// CPU time (user + system, all threads) a process has used so far, from `/proc/<pid>/stat`
/// (Linux; clock ticks of 1/100 s, the fixed USER_HZ of Linux's user ABI). None elsewhere.
fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11); // fields 14 (utime) and 15 (stime)
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// CPU seconds used between two readings.
fn cpu_delta(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}

/// The outcome of one scenario.
struct Report {
    scenario: Scenario,
    url: String,
    concurrency: u64,
    elapsed: Duration,
    stopped_by: &'static str,
    tally: Tally,
    /// CPU seconds used by this load generator and by the watched process during the scenario.
    cpu_self: Option<f64>,
    cpu_watched: Option<f64>,
}

impl Report {
    fn requests(&self) -> u64 {
        self.tally.statuses.values().sum::<u64>() + self.tally.transport.values().sum::<u64>()
    }
    fn failed(&self) -> u64 {
        let expected = self.scenario.expected().as_u16();
        self.tally.statuses.iter().filter(|(s, _)| **s != expected).map(|(_, n)| n).sum::<u64>()
            + self.tally.transport.values().sum::<u64>()
    }
    fn per_sec(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

async fn run_scenario(
    scenario: Scenario,
    args: &Args,
    target: &Target,
    client: Client,
    interrupted: Arc<AtomicBool>,
    cards: Vec<mkpf_card_kit::Card>,
    sessions: Arc<Vec<String>>,
) -> Report {
    let run_id = format!(
        "{:x}-{:x}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
        std::process::id()
    );
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "2099-01-01T00:00:00Z".into());
    let plan = Arc::new(Plan {
        scenario,
        url: format!("{}{}", target.base, scenario.path()),
        client,
        token: args.token.clone(),
        run_id,
        until,
        cards,
        sessions: sessions.clone(),
        service: args.service.clone(),
        base: target.base.clone(),
    });
    // One application per prepared citizen.
    let max_requests =
        if scenario == Scenario::MynapointApply { args.requests.min(sessions.len() as u64) } else { args.requests };
    let shared = Arc::new(Shared {
        issued: AtomicU64::new(0),
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    eprintln!(
        "{}: {} {} — {} workers, up to {} requests or {} s …",
        scenario.name(),
        scenario.method(),
        plan.url,
        args.concurrency,
        max_requests,
        args.duration
    );
    let ticker = progress(scenario.name(), shared.clone());
    // Ctrl-C stops issuing requests; in-flight ones finish and the report is printed.
    let watcher = {
        let (shared, interrupted) = (shared.clone(), interrupted.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::Relaxed);
                shared.stop.store(true, Ordering::Relaxed);
            }
        })
    };
    let (self_before, watched_before) = (cpu_secs(None), args.watch_pid.and_then(|p| cpu_secs(Some(p))));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(plan.clone(), shared.clone(), max_requests, deadline)))
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => tally.merge(t),
            Err(e) => {
                *tally.transport.entry(format!("worker failed: {e}")).or_default() += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    let cpu_self = cpu_delta(self_before, cpu_secs(None));
    let cpu_watched = cpu_delta(watched_before, args.watch_pid.and_then(|p| cpu_secs(Some(p))));
    ticker.abort();
    watcher.abort();
    let stopped_by = if interrupted.load(Ordering::Relaxed) {
        "interrupted"
    } else if shared.issued.load(Ordering::Relaxed) >= max_requests {
        "request limit"
    } else {
        "duration limit"
    };
    Report {
        scenario,
        url: plan.url.clone(),
        concurrency: args.concurrency,
        elapsed,
        stopped_by,
        tally,
        cpu_self,
        cpu_watched,
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// A log-scaled latency histogram: buckets grow by √2 from 0.0625 ms; only the span that holds
/// data is drawn.
fn histogram(sorted_us: &[u64]) -> String {
    const WIDTH: usize = 40;
    if sorted_us.is_empty() {
        return "    (no responses)\n".into();
    }
    let edge = |i: usize| 62.5 * 2f64.powf(i as f64 / 2.0); // microseconds
    let mut counts: Vec<u64> = Vec::new();
    for &us in sorted_us {
        let mut i = 0;
        while (us as f64) >= edge(i + 1) {
            i += 1;
        }
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
    }
    let first = counts.iter().position(|&c| c > 0).unwrap_or(0);
    let peak = counts.iter().copied().max().unwrap_or(1).max(1);
    let total = sorted_us.len() as f64;
    let mut out = String::new();
    for (i, &c) in counts.iter().enumerate().skip(first) {
        let lo = if i == 0 { 0.0 } else { edge(i) / 1000.0 };
        let hi = edge(i + 1) / 1000.0;
        let bar = (c as f64 / peak as f64 * WIDTH as f64).round() as usize;
        let bar = if c > 0 && bar == 0 { 1 } else { bar };
        let _ = writeln!(
            out,
            "    {lo:>8.2} - {hi:>8.2} ms |{:<WIDTH$}| {c:>8} {:>5.1}%",
            "#".repeat(bar),
            c as f64 * 100.0 / total
        );
    }
    out
}

fn print_report(r: &mut Report) {
    r.tally.latencies_us.sort_unstable();
    let l = &r.tally.latencies_us;
    let mean = if l.is_empty() { 0.0 } else { l.iter().sum::<u64>() as f64 / l.len() as f64 / 1000.0 };
    println!();
    println!("== {}  {} {}", r.scenario.name(), r.scenario.method(), r.url);
    println!("   {} workers, stopped by {} after {:.2} s", r.concurrency, r.stopped_by, r.elapsed.as_secs_f64());
    println!("   requests     {} ({} ok, {} failed)", r.requests(), r.requests() - r.failed(), r.failed());
    let mut by_status: Vec<String> = r.tally.statuses.iter().map(|(s, n)| format!("{s} × {n}")).collect();
    by_status.extend(r.tally.transport.iter().map(|(k, n)| format!("{k} × {n}")));
    println!("   by status    {}", if by_status.is_empty() { "-".into() } else { by_status.join(", ") });
    println!("   throughput   {:.1} req/s", r.per_sec());
    println!(
        "   latency ms   p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (mean {mean:.2})",
        percentile(l, 50.0),
        percentile(l, 90.0),
        percentile(l, 99.0),
        l.last().map_or(0.0, |&m| m as f64 / 1000.0)
    );
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut cpu = Vec::new();
    if let Some(c) = r.cpu_watched {
        cpu.push(format!("platform {:.2} cores", c / secs));
    }
    if let Some(c) = r.cpu_self {
        cpu.push(format!("load generator {:.2} cores", c / secs));
    }
    if !cpu.is_empty() {
        println!("   cpu          {} (of {cores})", cpu.join(", "));
    }
    if !r.tally.samples.is_empty() {
        println!("   unexpected outcomes (first {}):", r.tally.samples.len());
        for s in &r.tally.samples {
            println!("     - {s}");
        }
    }
    println!("   latency histogram");
    print!("{}", histogram(l));
}

fn print_summary(reports: &[Report]) {
    println!();
    println!(
        "{:<16} {:>9} {:>7} {:>10} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "scenario", "requests", "failed", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "cpu p/g"
    );
    let cores = |c: Option<f64>, r: &Report| {
        c.map_or("-".to_owned(), |c| format!("{:.2}", c / r.elapsed.as_secs_f64().max(1e-9)))
    };
    for r in reports {
        let l = &r.tally.latencies_us;
        println!(
            "{:<16} {:>9} {:>7} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10}",
            r.scenario.name(),
            r.requests(),
            r.failed(),
            r.per_sec(),
            percentile(l, 50.0),
            percentile(l, 90.0),
            percentile(l, 99.0),
            l.last().map_or(0.0, |&m| m as f64 / 1000.0),
            format!("{}/{}", cores(r.cpu_watched, r), cores(r.cpu_self, r)),
        );
    }
    println!("(cpu p/g: cores used on average by the platform (--watch-pid) and by this load generator)");
}

/// Issues `--cards` software cards from the test CA in `--card-dir` and imports a fresh CRL of
/// that CA (so the platform's revocation check answers), with the operator token.
async fn prepare_cards(args: &Args, target: &Target, client: &Client) -> Result<Vec<mkpf_card_kit::Card>, String> {
    let dir = args.card_dir.as_ref().ok_or(
        "card-sign-in needs --card-dir (or MKPF_CARD_DIR): the mkpf-card directory whose CA the platform trusts",
    )?;
    let token = args
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or("card-sign-in needs an operator token to import the CRL: set MKPF_STAFF_TOKEN or pass --token")?;
    let ca = mkpf_card_kit::TestCa::load(dir).map_err(|e| format!("card-sign-in: {e}"))?;
    let now = time::OffsetDateTime::now_utc();
    eprintln!("card-sign-in: making {} RSA-2048 cards …", args.cards);
    let cards: Vec<_> = (0..args.cards)
        .map(|i| ca.issue(&mkpf_card_kit::CardSpec::jpki(now).with_key(mkpf_card_kit::test_key(2048, i as u32))))
        .collect();
    let crl = ca.crl(&[], now - time::Duration::minutes(5), now + time::Duration::days(1), now.unix_timestamp() as u64);
    let resp = client
        .post(format!("{}/v1/ops/card-auth/crls", target.base))
        .bearer_auth(token)
        .header("content-type", "application/pkix-crl")
        .body(crl)
        .send()
        .await
        .map_err(|e| format!("card-sign-in: importing the CRL: {}", chain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("card-sign-in: the CRL import answered {}", resp.status()));
    }
    Ok(cards)
}

/// The untimed setup of `mynapoint-apply`: `--applicants` citizens, each with a card of their own
/// (certificates from the test CA, over a few RSA keys), signed in through the card-auth API and
/// holding a MyKey ID. Returns their session tokens (valid 15 minutes).
async fn prepare_applicants(args: &Args, target: &Target, client: &Client) -> Result<Vec<String>, String> {
    use base64::Engine;
    let dir = args.card_dir.as_ref().ok_or("mynapoint-apply needs --card-dir (or MKPF_CARD_DIR)")?;
    let ca = Arc::new(mkpf_card_kit::TestCa::load(dir).map_err(|e| format!("mynapoint-apply: {e}"))?);
    let n = args.applicants as usize;
    let now = time::OffsetDateTime::now_utc();
    eprintln!("mynapoint-apply: setup (untimed): issuing {n} cards …");
    let keys: Vec<_> = (0..8u32).map(|i| mkpf_card_kit::test_key(2048, i)).collect();
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    let cards: Vec<mkpf_card_kit::Card> = std::thread::scope(|scope| {
        let chunks: Vec<_> = (0..threads)
            .map(|t| {
                let (ca, keys) = (ca.clone(), &keys);
                scope.spawn(move || {
                    (0..n)
                        .filter(|i| i % threads == t)
                        .map(|i| ca.issue(&mkpf_card_kit::CardSpec::jpki(now).with_key(keys[i % keys.len()].clone())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        chunks.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let token = args.token.as_deref().filter(|t| !t.is_empty()).ok_or("mynapoint-apply needs the operator token")?;
    let crl = ca.crl(&[], now - time::Duration::minutes(5), now + time::Duration::days(1), now.unix_timestamp() as u64);
    let resp = client
        .post(format!("{}/v1/ops/card-auth/crls", target.base))
        .bearer_auth(token)
        .header("content-type", "application/pkix-crl")
        .body(crl)
        .send()
        .await
        .map_err(|e| format!("mynapoint-apply: importing the CRL: {}", chain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("mynapoint-apply: the CRL import answered {}", resp.status()));
    }
    eprintln!("mynapoint-apply: setup (untimed): {n} card sign-ins and MyKey IDs …");
    let cards = Arc::new(cards);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (cards, next, done, client, base) =
            (cards.clone(), next.clone(), done.clone(), client.clone(), target.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(card) = cards.get(i) else { return Ok::<_, String>(out) };
                let fail = |what: &str, e: String| format!("mynapoint-apply setup, citizen {i}: {what}: {e}");
                let c: serde_json::Value = client
                    .post(format!("{base}/v1/card-auth/challenges"))
                    .send()
                    .await
                    .map_err(|e| fail("challenge", chain(&e)))?
                    .json()
                    .await
                    .map_err(|e| fail("challenge", chain(&e)))?;
                let nonce = c["nonce"]
                    .as_str()
                    .and_then(|n| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(n).ok())
                    .ok_or_else(|| fail("challenge", c.to_string()))?;
                let b64 = base64::engine::general_purpose::STANDARD;
                let req = serde_json::json!({
                    "challenge_id": c["challenge_id"],
                    "certificate": b64.encode(card.cert_der()),
                    "signature": b64.encode(card.sign(&nonce)),
                });
                let s: serde_json::Value = client
                    .post(format!("{base}/v1/card-auth/sessions"))
                    .header("content-type", "application/json")
                    .body(req.to_string())
                    .send()
                    .await
                    .map_err(|e| fail("sign-in", chain(&e)))?
                    .json()
                    .await
                    .map_err(|e| fail("sign-in", chain(&e)))?;
                let token = s["session_token"].as_str().ok_or_else(|| fail("sign-in", s.to_string()))?.to_owned();
                let r = client
                    .post(format!("{base}/v1/mykey-ids"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map_err(|e| fail("MyKey ID", chain(&e)))?;
                if !r.status().is_success() {
                    return Err(fail("MyKey ID", r.status().to_string()));
                }
                out.push(token);
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d % 2000 == 0 {
                    eprintln!("mynapoint-apply: setup: {d}/{} citizens ready", cards.len());
                }
            }
        }));
    }
    let mut tokens = Vec::with_capacity(n);
    for t in tasks {
        tokens.extend(t.await.map_err(|e| e.to_string())??);
    }
    eprintln!("mynapoint-apply: setup done: {} citizens signed in with a MyKey ID", tokens.len());
    Ok(tokens)
}

/// Checks that the platform answers before loading it.
async fn preflight(client: &Client, target: &Target) -> Result<(), String> {
    let url = format!("{}/healthz", target.base);
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {} (is mkpf-local running there?)", chain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}: the platform is not healthy", resp.status()));
    }
    Ok(())
}

async fn run(args: Args) -> Result<bool, String> {
    let target = loopback_target(&args.target)?;
    if args.scenario.contains(&Scenario::NoticesCreate) {
        match args.token.as_deref() {
            None | Some("") => {
                return Err("notices-create needs an operator token: set MKPF_STAFF_TOKEN or pass --token".into());
            }
            Some(_) => {}
        }
    }
    let concurrency = usize::try_from(args.concurrency).map_err(|_| "concurrency too large".to_string())?;
    let client = client(&target, concurrency, Duration::from_secs(args.timeout))?;
    preflight(&client, &target).await?;
    let cards = if args.scenario.contains(&Scenario::CardSignIn) {
        prepare_cards(&args, &target, &client).await?
    } else {
        Vec::new()
    };
    let sessions = Arc::new(if args.scenario.contains(&Scenario::MynapointApply) {
        prepare_applicants(&args, &target, &client).await?
    } else {
        Vec::new()
    });
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut reports = Vec::new();
    for &s in &args.scenario {
        if interrupted.load(Ordering::Relaxed) {
            break;
        }
        let mut r =
            run_scenario(s, &args, &target, client.clone(), interrupted.clone(), cards.clone(), sessions.clone()).await;
        print_report(&mut r);
        reports.push(r);
    }
    if reports.len() > 1 {
        print_summary(&reports);
    }
    let failed: u64 = reports.iter().map(Report::failed).sum();
    if failed > 0 {
        eprintln!("mkpf-load: {failed} request(s) failed");
    }
    Ok(failed == 0 && !interrupted.load(Ordering::Relaxed))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let threads = usize::try_from(args.threads).unwrap_or(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mkpf-load: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("mkpf-load: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.8.7:1/",
            "http://[::1]:8080",
            "http://localhost:3000",
            "http://LOCALHOST",
        ] {
            assert!(loopback_target(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "http://10.0.0.1:8080",
            "http://0.0.0.0:8080",
            "http://[::]:8080",
            "http://[::ffff:127.0.0.1]:8080",
            "http://example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "https://127.0.0.1:8443",
            "http://user:pw@127.0.0.1:8080",
            "http://127.0.0.1:8080/v1",
            "127.0.0.1:8080",
        ] {
            assert!(loopback_target(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn localhost_is_pinned_to_127_0_0_1() {
        let t = loopback_target("http://localhost:9000").unwrap();
        assert_eq!(t.pin.map(|(_, a)| a), Some("127.0.0.1:9000".parse().unwrap()));
    }

    #[test]
    fn histogram_spans_the_data() {
        let h = histogram(&[100, 150, 1_000, 1_100, 20_000]);
        assert!(h.contains('#'));
        assert_eq!(h.lines().count(), histogram_buckets(100, 20_000));
    }

    fn histogram_buckets(lo_us: u64, hi_us: u64) -> usize {
        let idx = |us: u64| ((us as f64 / 62.5).log2() * 2.0).floor() as usize;
        idx(hi_us) - idx(lo_us) + 1
    }
}
