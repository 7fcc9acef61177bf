//! `mkpf-provider-sim`: a payment provider for tests and the local demo. It receives the
//! platform's dispatches at `POST /webhook`, verifies their Standard Webhooks signature with its
//! own HMAC code (not the platform's, so it checks the platform independently), dedupes them by
//! `webhook-id`, answers 200, and then reports back through signed callbacks to
//! `POST <platform>/v1/providers/{provider_id}/callbacks`: `application.accepted` (or
//! `application.rejected`, reason `account_mismatch`, for a `--reject-account`), then
//! `points.granted` (measure 1: 25% of a `--charge-yen` charge, capped by the application's
//! `points_cap`; measures 2 and 3: the cap).
//!
//! Knobs: `POST /control {"mode": "up"|"down"|"gone"|"retry_after", "retry_after_secs": N}`
//! (down answers 503, gone 410, retry_after 503 with `Retry-After: N`); `GET /stats` counts;
//! `GET /applications` lists the application ids received, with their deliveries. Loopback only:
//! it listens on and calls back to 127.0.0.0/8, ::1 or localhost, nothing else. On start it prints
//! one JSON line on stdout: `{"listening": "<addr>", "webhook_url": "http://<addr>/webhook"}`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How far a dispatch's `webhook-timestamp` may be from this process's clock.
const TOLERANCE_SECS: i64 = 300;
/// Attempts per callback (with a doubling pause from 200 ms) before it counts as failed.
const CALLBACK_ATTEMPTS: u32 = 6;

#[derive(Parser, Debug)]
#[command(name = "mkpf-provider-sim", about = "A payment provider simulator for the MyKey Platform (loopback only)")]
struct Args {
    /// Address to listen on (loopback only); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The service's outbound signing secret (`whsec_…`) that dispatches are signed with.
    #[arg(long, env = "MKPF_SIM_WEBHOOK_SECRET")]
    webhook_secret: String,
    /// The platform's base URL for callbacks (`http://127.0.0.1:PORT`); without it, no callbacks.
    #[arg(long)]
    platform: Option<String>,
    /// The provider id the callbacks are posted for.
    #[arg(long, default_value = "demo")]
    provider_id: String,
    /// The provider's inbound callback secret (`whsec_…`); required with --platform.
    #[arg(long, env = "MKPF_SIM_CALLBACK_SECRET")]
    callback_secret: Option<String>,
    /// The charge reported with measure 1 grants, in yen.
    #[arg(long, default_value_t = 20_000)]
    charge_yen: i64,
    /// Reject applications for this service account (reason `account_mismatch`); repeatable.
    #[arg(long)]
    reject_account: Vec<String>,
}

/// What `POST /webhook` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    Gone,
    RetryAfter(u64),
}

#[derive(Debug, Default, Clone, serde::Serialize)]
struct Stats {
    /// Every POST /webhook.
    received: u64,
    /// Distinct applications accepted (200).
    unique: u64,
    /// Deliveries of an application already accepted (200, no second callback).
    duplicates: u64,
    /// Refused with 401: missing or wrong signature, or a stale timestamp.
    bad_signatures: u64,
    /// Answered 503 or 410 because of the control mode.
    refused: u64,
    /// Refused with 400: not the documented body.
    malformed: u64,
    callbacks_sent: u64,
    callback_failures: u64,
}

struct Sim {
    webhook_key: Vec<u8>,
    callback: Option<Callback>,
    charge_yen: i64,
    reject: BTreeSet<String>,
    mode: Mutex<Mode>,
    stats: Mutex<Stats>,
    /// Application id → deliveries answered 200.
    seen: Mutex<BTreeMap<String, u64>>,
    http: reqwest::Client,
}

struct Callback {
    url: String,
    key: Vec<u8>,
}

fn key_of(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix("whsec_").ok_or("a webhook secret starts with whsec_")?;
    STANDARD.decode(b64).map_err(|_| "a webhook secret is whsec_ followed by base64".to_owned())
}

fn mac(key: &[u8], id: &str, ts: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(ts.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks `--platform`: `http://` on a loopback host, no path.
fn platform_base(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or("--platform must be http://<loopback host>:<port>")?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err("--platform is a base URL without a path".into());
    }
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    if !is_loopback_host(host) {
        return Err(format!("--platform must be a loopback address (127.0.0.1, ::1, localhost), not {host:?}"));
    }
    Ok(format!("http://{authority}"))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn jst(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::from_hms(9, 0, 0).expect("JST"))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Verifies a dispatch's signature (any `v1` entry, constant-time) and timestamp.
fn verify(sim: &Sim, h: &HeaderMap, body: &[u8]) -> Result<String, &'static str> {
    let (Some(id), Some(ts), Some(sig)) =
        (header(h, "webhook-id"), header(h, "webhook-timestamp"), header(h, "webhook-signature"))
    else {
        return Err("signature headers missing");
    };
    let t: i64 = ts.parse().map_err(|_| "bad webhook-timestamp")?;
    if (now().unix_timestamp() - t).abs() > TOLERANCE_SECS {
        return Err("stale webhook-timestamp");
    }
    for entry in sig.split(' ') {
        let Some(raw) = entry.strip_prefix("v1,").and_then(|b| STANDARD.decode(b).ok()) else { continue };
        if mac(&sim.webhook_key, id, ts, body).verify_slice(&raw).is_ok() {
            return Ok(id.to_owned());
        }
    }
    Err("no signature matches")
}

async fn webhook(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    sim.stats.lock().unwrap().received += 1;
    let mode = *sim.mode.lock().unwrap();
    match mode {
        Mode::Up => {}
        Mode::Down => {
            sim.stats.lock().unwrap().refused += 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
        }
        Mode::Gone => {
            sim.stats.lock().unwrap().refused += 1;
            return (StatusCode::GONE, "gone").into_response();
        }
        Mode::RetryAfter(secs) => {
            sim.stats.lock().unwrap().refused += 1;
            return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", secs.to_string())], "later").into_response();
        }
    }
    let id = match verify(&sim, &headers, &body) {
        Ok(id) => id,
        Err(why) => {
            sim.stats.lock().unwrap().bad_signatures += 1;
            return (StatusCode::UNAUTHORIZED, Json(json!({"error": why}))).into_response();
        }
    };
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        sim.stats.lock().unwrap().malformed += 1;
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "not JSON"}))).into_response();
    };
    let d = &msg["data"];
    let (Some(app_id), Some(measure), Some(account), Some(cap)) = (
        d["application_id"].as_str(),
        d["measure"].as_str(),
        d["service_account_id"].as_str(),
        d["points_cap"].as_i64(),
    ) else {
        sim.stats.lock().unwrap().malformed += 1;
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "not an application.submitted body"}))).into_response();
    };
    if msg["type"] != "application.submitted" || app_id != id || !d["security_codes"].is_array() {
        sim.stats.lock().unwrap().malformed += 1;
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "type, webhook-id or data do not match"})))
            .into_response();
    }
    let first = {
        let mut seen = sim.seen.lock().unwrap();
        let n = seen.entry(id.clone()).or_insert(0);
        *n += 1;
        *n == 1
    };
    if !first {
        sim.stats.lock().unwrap().duplicates += 1;
        return Json(json!({"duplicate": true})).into_response();
    }
    sim.stats.lock().unwrap().unique += 1;
    if sim.callback.is_some() {
        let reject = sim.reject.contains(account);
        let points = if measure == "card_acquisition" { (sim.charge_yen * 25 / 100).min(cap) } else { cap };
        let charge = (measure == "card_acquisition").then_some(sim.charge_yen);
        let sim = sim.clone();
        tokio::spawn(async move { report(&sim, &id, reject, points, charge).await });
    }
    Json(json!({"received": true})).into_response()
}

/// The callbacks of one application, in order.
async fn report(sim: &Sim, app_id: &str, reject: bool, points: i64, charge: Option<i64>) {
    if reject {
        let data = json!({"application_id": app_id, "reason": "account_mismatch"});
        callback(sim, &format!("cb_{app_id}_rejected"), "application.rejected", data).await;
        return;
    }
    if !callback(sim, &format!("cb_{app_id}_accepted"), "application.accepted", json!({"application_id": app_id})).await
    {
        return;
    }
    let today = jst(now()).date();
    let mut data = json!({
        "application_id": app_id,
        "points": points,
        "granted_on": format!("{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day()),
    });
    if let Some(c) = charge {
        data["charge_amount"] = json!(c);
    }
    callback(sim, &format!("cb_{app_id}_granted"), "points.granted", data).await;
}

/// Posts one signed callback, retrying transport failures and 5xx; `true` once it was taken
/// (2xx, or `duplicate`).
async fn callback(sim: &Sim, webhook_id: &str, kind: &str, data: Value) -> bool {
    let Some(cb) = &sim.callback else { return false };
    let mut pause = Duration::from_millis(200);
    for attempt in 1..=CALLBACK_ATTEMPTS {
        let t = now();
        let body =
            json!({"type": kind, "timestamp": jst(t).format(&Rfc3339).unwrap_or_default(), "data": data}).to_string();
        let ts = t.unix_timestamp().to_string();
        let sig = STANDARD.encode(mac(&cb.key, webhook_id, &ts, body.as_bytes()).finalize().into_bytes());
        let r = sim
            .http
            .post(&cb.url)
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", &ts)
            .header("webhook-signature", format!("v1,{sig}"))
            .body(body)
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => {
                sim.stats.lock().unwrap().callbacks_sent += 1;
                return true;
            }
            Ok(resp) if resp.status().is_client_error() => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                eprintln!("mkpf-provider-sim: {kind} for {} refused: {status} {text}", data["application_id"]);
                break;
            }
            Ok(resp) => eprintln!("mkpf-provider-sim: {kind} attempt {attempt}: HTTP {}", resp.status().as_u16()),
            Err(e) => eprintln!("mkpf-provider-sim: {kind} attempt {attempt}: {}", e.without_url()),
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    sim.stats.lock().unwrap().callback_failures += 1;
    false
}

async fn control(State(sim): State<Arc<Sim>>, Json(v): Json<Value>) -> Response {
    let mode = match v["mode"].as_str() {
        Some("up") => Mode::Up,
        Some("down") => Mode::Down,
        Some("gone") => Mode::Gone,
        Some("retry_after") => Mode::RetryAfter(v["retry_after_secs"].as_u64().unwrap_or(60)),
        _ => {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": "mode is up, down, gone or retry_after"})))
                .into_response();
        }
    };
    *sim.mode.lock().unwrap() = mode;
    Json(json!({"mode": v["mode"], "retry_after_secs": match mode { Mode::RetryAfter(s) => Some(s), _ => None }}))
        .into_response()
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<Stats> {
    Json(sim.stats.lock().unwrap().clone())
}

async fn applications(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let seen = sim.seen.lock().unwrap();
    Json(json!(seen.iter().map(|(id, n)| json!({"application_id": id, "deliveries": n})).collect::<Vec<_>>()))
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("mkpf-provider-sim: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        fail("--listen must be a loopback address");
    }
    let webhook_key = key_of(&args.webhook_secret).unwrap_or_else(|e| fail(format!("--webhook-secret: {e}")));
    let callback = match &args.platform {
        None => None,
        Some(p) => {
            let base = platform_base(p).unwrap_or_else(|e| fail(e));
            let secret = args
                .callback_secret
                .as_deref()
                .unwrap_or_else(|| fail("--callback-secret is required with --platform"));
            let key = key_of(secret).unwrap_or_else(|e| fail(format!("--callback-secret: {e}")));
            Some(Callback { url: format!("{base}/v1/providers/{}/callbacks", args.provider_id), key })
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_else(|e| fail(e));
    let sim = Arc::new(Sim {
        webhook_key,
        callback,
        charge_yen: args.charge_yen,
        reject: args.reject_account.into_iter().collect(),
        mode: Mutex::new(Mode::Up),
        stats: Mutex::new(Stats::default()),
        seen: Mutex::new(BTreeMap::new()),
        http,
    });
    let router = axum::Router::new()
        .route("/webhook", axum::routing::post(webhook))
        .route("/control", axum::routing::post(control))
        .route("/stats", axum::routing::get(stats))
        .route("/applications", axum::routing::get(applications))
        .with_state(sim);
    let listener = tokio::net::TcpListener::bind(args.listen).await.unwrap_or_else(|e| fail(e));
    let addr = listener.local_addr().unwrap_or_else(|e| fail(e));
    println!("{}", json!({"listening": addr.to_string(), "webhook_url": format!("http://{addr}/webhook")}));
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    };
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        fail(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_platforms() {
        assert_eq!(platform_base("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert!(platform_base("http://localhost:1").is_ok());
        assert!(platform_base("http://[::1]:1").is_ok());
        for bad in [
            "http://10.0.0.1:80",
            "https://127.0.0.1:1",
            "http://example.com",
            "http://127.0.0.1:1/x",
            "http://[::2]:1",
        ] {
            assert!(platform_base(bad).is_err(), "{bad}");
        }
    }

    /// The reference vector of the Standard Webhooks libraries.
    #[test]
    fn signs_like_the_reference() {
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let m = mac(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", br#"{"test": 2432232314}"#);
        assert_eq!(STANDARD.encode(m.finalize().into_bytes()), "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
