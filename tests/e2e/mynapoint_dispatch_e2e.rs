//! End-to-end: the local platform and the provider simulator (`mkpf-provider-sim`) as processes.
//! The provider goes down (503) and the platform is restarted while applications wait for their
//! retry; the provider asks to come back later (`Retry-After`); once the provider is up again every application is
//! delivered exactly once, accepted and granted — nothing lost, nothing doubled.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mkpf_tests::*;
use serde_json::{Value, json};

/// A free loopback port (bound, then released for the process that will listen on it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The simulator process; killed when dropped.
struct Sim {
    child: Child,
    base: String,
}

impl Sim {
    fn start(webhook_secret: &str, callback_secret: &str, platform: &str) -> Sim {
        let mut child = Command::new(bin("mkpf-provider-sim"))
            .args(["--listen", "127.0.0.1:0", "--platform", platform, "--provider-id", "demo"])
            .env("MKPF_SIM_WEBHOOK_SECRET", webhook_secret)
            .env("MKPF_SIM_CALLBACK_SECRET", callback_secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mkpf-provider-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("the simulator's first line: {line:?}"));
        Sim { child, base: format!("http://{}", v["listening"].as_str().unwrap()) }
    }

    async fn mode(&self, body: Value) {
        let r = client().post(format!("{}/control", self.base)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    async fn stats(&self) -> Value {
        client().get(format!("{}/stats", self.base)).send().await.unwrap().json().await.unwrap()
    }

    async fn applications(&self) -> Value {
        client().get(format!("{}/applications", self.base)).send().await.unwrap().json().await.unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `mkpf-admin` and parses its stdout as JSON (it must succeed).
fn admin_json(data: &Path, args: &[&str]) -> Value {
    let out = admin(data, args, &[]);
    assert!(out.status.success(), "mkpf-admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("mkpf-admin {args:?} printed {}", String::from_utf8_lossy(&out.stdout)))
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut req = client().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A citizen with a card of the kit, signed in, with a MyKey ID: their session token.
async fn citizen(p: &Platform, kit: &Path, name: &str) -> String {
    card(kit, &["new", "--name", name]);
    let (s, challenge) = call(reqwest::Method::POST, p.url("/v1/card-auth/challenges"), None, None, None).await;
    assert_eq!(s, 201, "{challenge}");
    let body = card(kit, &["session-request", "--card", name, "--challenge", &challenge.to_string()]);
    let (s, session) = call(
        reqwest::Method::POST,
        p.url("/v1/card-auth/sessions"),
        None,
        Some(serde_json::from_str(&body).unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 201, "{session}");
    let token = session["session_token"].as_str().unwrap().to_owned();
    let (s, created) = call(reqwest::Method::POST, p.url("/v1/mykey-ids"), Some(&token), None, None).await;
    assert_eq!(s, 201, "{created}");
    token
}

async fn apply(p: &Platform, token: &str, account: &str) -> String {
    let body = json!({"measure": "card_acquisition", "service_code": "DEMO_PAY", "service_account_id": account, "security_codes": ["1234"]});
    let (s, v) =
        call(reqwest::Method::POST, p.url("/v1/mynapoint/applications"), Some(token), Some(body), Some(account)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "submitted", "{v}");
    v["application_id"].as_str().unwrap().to_owned()
}

async fn my_applications(p: &Platform, token: &str) -> Vec<Value> {
    let (s, v) = call(reqwest::Method::GET, p.url("/v1/mynapoint/applications"), Some(token), None, None).await;
    assert_eq!(s, 200, "{v}");
    v["applications"].as_array().unwrap().clone()
}

/// Polls `check` every 250 ms until it answers `true` or `limit` passed.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn provider_outages_lose_and_double_nothing() {
    let data = data_dir("dispatch");
    let kit: PathBuf = data.join("card-kit");
    let ca_pem = card(&kit, &["init"]).trim().to_owned();

    // The demo catalogue; its secrets; the simulator; the demo service pointed at it (the seed is
    // idempotent: the second run only changes the endpoint).
    let seed = admin_json(&data, &["mynapoint", "seed", "--demo-endpoint", "http://127.0.0.1:9/webhook"]);
    let (ws, cs) = (seed["webhook_secret"].as_str().unwrap(), seed["callback_secret"].as_str().unwrap());
    let port = free_port();
    let platform_base = format!("http://127.0.0.1:{port}");
    let sim = Sim::start(ws, cs, &platform_base);
    let again = admin_json(&data, &["mynapoint", "seed", "--demo-endpoint", &format!("{}/webhook", sim.base)]);
    assert_eq!(again["webhook_secret"], seed["webhook_secret"]);
    let bind = format!("127.0.0.1:{port}");
    let env = [("MKPF_JPKI_TRUST_ANCHORS", ca_pem.as_str()), ("MKPF_BIND", bind.as_str())];
    let p = Platform::start(&data, &env);
    assert_eq!(p.base, platform_base);
    import_crl(&p, &kit, &[]).await;
    let mut tokens = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        tokens.push(citizen(&p, &kit, name).await);
    }

    // 1. The provider is down: two applications are refused on their first attempt.
    sim.mode(json!({"mode": "down"})).await;
    let a = apply(&p, &tokens[0], "acct-alice").await;
    let b = apply(&p, &tokens[1], "acct-bob").await;
    wait_until("two refused attempts", Duration::from_secs(20), || async {
        sim.stats().await["refused"].as_u64() >= Some(2)
    })
    .await;
    for t in &tokens[..2] {
        assert_eq!(my_applications(&p, t).await[0]["state"], "submitted");
    }

    // 2. The platform restarts while they wait for their retry (the queue and the outbox persist).
    assert!(p.stop().success());
    let p = Platform::start(&data, &env);

    // 3. The provider asks to come back in a second, then recovers.
    sim.mode(json!({"mode": "retry_after", "retry_after_secs": 1})).await;
    let c = apply(&p, &tokens[2], "acct-carol").await;
    let refused_before = sim.stats().await["refused"].as_u64().unwrap();
    wait_until("a refusal with Retry-After", Duration::from_secs(20), || async {
        sim.stats().await["refused"].as_u64().unwrap() > refused_before
    })
    .await;
    sim.mode(json!({"mode": "up"})).await;
    let d = apply(&p, &tokens[3], "acct-dave").await;

    // Everyone's application is delivered, accepted and granted (the first two after their
    // backoff of 15–30 s).
    for t in &tokens {
        wait_until("accepted and granted", Duration::from_secs(90), || async {
            let apps = my_applications(&p, t).await;
            apps.len() == 1 && apps[0]["state"] == "accepted" && apps[0]["points_granted"] == 5000
        })
        .await;
        let apps = my_applications(&p, t).await;
        assert_eq!(apps[0]["points_remaining"], 0);
        assert!(apps[0]["dispatched_at"].is_string());
    }

    // Nothing lost, nothing doubled: each application reached the provider once (with a valid
    // signature), and each callback was taken once.
    let mut ids: Vec<Value> = sim.applications().await.as_array().unwrap().clone();
    ids.sort_by_key(|v| v["application_id"].as_str().unwrap().to_owned());
    let mut expected = [a, b, c, d];
    expected.sort();
    assert_eq!(
        ids,
        expected.iter().map(|id| json!({"application_id": id, "deliveries": 1})).collect::<Vec<_>>(),
        "one delivery each"
    );
    let stats = sim.stats().await;
    assert_eq!(stats["unique"], 4, "{stats}");
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(stats["bad_signatures"], 0, "{stats}");
    assert_eq!(stats["callbacks_sent"], 8, "accepted + granted for each: {stats}");
    assert_eq!(stats["callback_failures"], 0, "{stats}");

    // The platform's log names no service account (personal data).
    let (status, log) = p.stop_with_log();
    assert!(status.success());
    let text = log.join("\n");
    for account in ["acct-alice", "acct-bob", "acct-carol", "acct-dave"] {
        assert!(!text.contains(account), "{account} logged");
    }
    assert!(text.contains("application delivered"), "the deliveries are logged");
}

/// The whole loop for one citizen, through the processes: card sign-in → MyKey ID → the public
/// service list → duplicate and concurrent applications (exactly one is made) → a verifiable
/// webhook at the provider → accepted → granted → the citizen sees the points.
#[tokio::test]
async fn card_to_points_with_duplicate_and_concurrent_applications() {
    let data = data_dir("mynapoint-loop");
    let kit: PathBuf = data.join("card-kit");
    let ca_pem = card(&kit, &["init"]).trim().to_owned();
    let seed = admin_json(&data, &["mynapoint", "seed", "--demo-endpoint", "http://127.0.0.1:9/webhook"]);
    let (ws, cs) = (seed["webhook_secret"].as_str().unwrap(), seed["callback_secret"].as_str().unwrap());
    let port = free_port();
    let sim = Sim::start(ws, cs, &format!("http://127.0.0.1:{port}"));
    admin_json(&data, &["mynapoint", "seed", "--demo-endpoint", &format!("{}/webhook", sim.base)]);
    let bind = format!("127.0.0.1:{port}");
    let p = Platform::start(&data, &[("MKPF_JPKI_TRUST_ANCHORS", ca_pem.as_str()), ("MKPF_BIND", bind.as_str())]);
    import_crl(&p, &kit, &[]).await;
    let token = citizen(&p, &kit, "erin").await;

    let (s, services) =
        call(reqwest::Method::GET, p.url("/v1/mynapoint/services?measure=card_acquisition"), None, None, None).await;
    assert_eq!(s, 200, "{services}");
    assert!(services.to_string().contains("DEMO_PAY"), "{services}");

    // Twelve requests at once: eight with keys of their own, four retries of one key.
    let body = json!({"measure": "card_acquisition", "service_code": "DEMO_PAY", "service_account_id": "acct-erin", "security_codes": ["4321"]});
    let mut tasks = Vec::new();
    for i in 0..12 {
        let key = if i < 4 { "erin-retry".to_owned() } else { format!("erin-{i}") };
        let (url, token, body) = (p.url("/v1/mynapoint/applications"), token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            call(reqwest::Method::POST, url, Some(&token), Some(body), Some(&key)).await
        }));
    }
    let mut made = std::collections::BTreeSet::new();
    let mut codes = Vec::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s {
            201 => {
                made.insert(v["application_id"].as_str().unwrap().to_owned());
            }
            _ => codes.push((s, v["code"].as_str().unwrap_or_default().to_owned())),
        }
    }
    assert_eq!(made.len(), 1, "exactly one application: {made:?} {codes:?}");
    assert!(
        codes.iter().all(|(s, c)| *s == 409 && (c == "already_applied" || c == "idempotency_in_progress")),
        "{codes:?}"
    );
    let id = made.into_iter().next().unwrap();

    wait_until("accepted and granted", Duration::from_secs(60), || async {
        let apps = my_applications(&p, &token).await;
        apps.len() == 1 && apps[0]["state"] == "accepted" && apps[0]["points_granted"] == 5000
    })
    .await;
    let apps = my_applications(&p, &token).await;
    assert_eq!(
        (apps[0]["application_id"].as_str(), apps[0]["points_remaining"].as_i64()),
        (Some(id.as_str()), Some(0))
    );
    let (s, detail) =
        call(reqwest::Method::GET, p.url(&format!("/v1/mynapoint/applications/{id}")), Some(&token), None, None).await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = detail["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"application.accepted") && kinds.contains(&"points.granted"), "{kinds:?}");
    let stats = sim.stats().await;
    assert_eq!((stats["unique"].as_u64(), stats["bad_signatures"].as_u64()), (Some(1), Some(0)), "{stats}");
    let (status, log) = p.stop_with_log();
    assert!(status.success());
    assert!(!log.join("\n").contains("acct-erin"), "no service account in the log");
}
