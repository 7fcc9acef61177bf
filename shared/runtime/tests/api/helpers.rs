//! Test harness: the real router on a fresh embedded store, a manual clock, and a small client.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mkpf_core::config::Config;
use mkpf_core::domain::staff::Role;
use mkpf_core::ports::{Clock, ManualClock};
use mkpf_embedded::local_keys::LocalKeys;
use mkpf_http::App;
use tower::ServiceExt;

pub struct Harness {
    pub app: App,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    /// Tokens minted for test staff (id → token), reused across calls.
    tokens: tokio::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// A test staff identity: id, roles, municipality.
#[derive(Clone)]
pub struct As(pub &'static str, pub &'static [Role], pub Option<&'static str>);

pub const OPERATOR: As = As("test-operator", &[Role::Operator], None);
pub const AUDITOR: As = As("test-auditor", &[Role::Auditor], None);
pub const APPROVER: As = As("test-approver", &[Role::PatchApprover], None);
pub const CHIYODA: As = As("test-chiyoda", &[Role::MunicipalStaff], Some("131016"));
pub const OSAKA: As = As("test-osaka", &[Role::MunicipalStaff], Some("271004"));

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn harness() -> Harness {
    harness_with(|_| {})
}

pub fn harness_with(tweak: impl FnOnce(&mut Config)) -> Harness {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("http-{}", uuid::Uuid::new_v4()));
    let mut config = Config::for_tests(dir.clone());
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(time::macros::datetime!(2026-11-25 12:00 UTC)));
    let (store, queue) = mkpf_embedded::open(&dir, clock.clone() as Arc<dyn Clock>).expect("embedded backend");
    let app = mkpf_runtime::app(config, store, queue, clock.clone(), Arc::new(LocalKeys::generate()));
    let router = mkpf_http::full_router(app.clone());
    Harness { app, router, clock, tokens: Default::default() }
}

/// A request under construction.
pub struct Call<'a> {
    h: &'a Harness,
    req: axum::http::request::Builder,
    body: Body,
    staff: Option<As>,
}

impl Harness {
    pub fn call(&self, method: &str, path: &str) -> Call<'_> {
        Call { h: self, req: Request::builder().method(method).uri(path), body: Body::empty(), staff: None }
    }
    /// A call as the test operator.
    pub fn op(&self, method: &str, path: &str) -> Call<'_> {
        self.call(method, path).staff(OPERATOR)
    }
    /// A (cached) token of a passwordless test account, valid ten years from the harness clock (so
    /// tests may move the clock; expiry has tests of its own).
    pub async fn token(&self, who: &As) -> String {
        let mut t = self.tokens.lock().await;
        if let Some(tok) = t.get(who.0) {
            return tok.clone();
        }
        let tok =
            mkpf_core::staff::demo::token_for(&self.app, who.0, who.1, who.2, 3650 * 86_400).await.expect("test token");
        t.insert(who.0.to_owned(), tok.clone());
        tok
    }
    /// The same harness as the AWS backend runs it (`config.backend = aws`): the operator's
    /// token is minted first, since demo accounts are local-only.
    pub async fn into_aws(self) -> Harness {
        self.token(&OPERATOR).await;
        let a = &self.app;
        let mut config = a.config.clone();
        config.backend = mkpf_core::config::Backend::Aws;
        let keys = mkpf_core::KeySet {
            staff: a.staff_keys.clone(),
            citizen: a.citizen_keys.clone(),
            seal: a.seal_keys.clone(),
            data: a.sealer.clone(),
            staff_data: a.staff_sealer.clone(),
        };
        let app = mkpf_runtime::app_with_keys(config, a.store.clone(), a.queue.clone(), a.clock.clone(), keys);
        let router = mkpf_http::full_router(app.clone());
        Harness { app, router, clock: self.clock, tokens: self.tokens }
    }
}

impl Call<'_> {
    /// Sends the call with a token of this test staff member.
    pub fn staff(mut self, who: As) -> Self {
        self.staff = Some(who);
        self
    }
    pub fn bearer(mut self, token: &str) -> Self {
        self.req = self.req.header("authorization", format!("Bearer {token}"));
        self
    }
    /// Sends the call from this address (as the socket peer of the local platform).
    pub fn source_ip(mut self, ip: &str) -> Self {
        let addr = std::net::SocketAddr::new(ip.parse().expect("an IP address"), 50_000);
        self.req = self.req.extension(axum::extract::ConnectInfo(addr));
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.req = self.req.header(k, v);
        self
    }
    pub fn json(mut self, v: serde_json::Value) -> Self {
        self.req = self.req.header("content-type", "application/json");
        self.body = Body::from(v.to_string());
        self
    }
    pub fn raw(mut self, content_type: &str, body: impl Into<Body>) -> Self {
        self.req = self.req.header("content-type", content_type);
        self.body = body.into();
        self
    }
    pub async fn send(self) -> Resp {
        let mut req = self.req;
        if let Some(who) = &self.staff {
            req = req.header("authorization", format!("Bearer {}", self.h.token(who).await));
        }
        let resp = self.h.router.clone().oneshot(req.body(self.body).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let raw = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(serde_json::Value::Null);
        Resp { status, headers, body, raw }
    }
}

/// Every audit record of the harness's current day (and the day before), in export order.
pub async fn all_records(h: &Harness) -> Vec<mkpf_core::audit::AuditRecord> {
    let today = h.app.clock.now().to_offset(mkpf_core::ports::JST).date();
    let from = today.previous_day().unwrap();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = mkpf_core::audit::export_page(h.app.store.as_ref(), from, today, cursor, 500).await.unwrap();
        out.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// A person created directly in the store (as a first card sign-in would) with an open citizen
/// session: for tests of citizen routes that are not about card authentication itself.
pub struct TestCitizen {
    pub person_id: mkpf_core::mykey::person::PersonId,
    pub token: String,
    pub cert: mkpf_core::mykey::person::CertRef,
}

impl Harness {
    /// A new person whose (fictitious) certificate is valid for five years and has no CRL entry;
    /// the issuer gets an empty, current CRL so that revocation checks answer.
    pub async fn citizen(&self) -> TestCitizen {
        use mkpf_core::card_auth::anchors::IssuerId;
        use mkpf_core::card_auth::certificate::CertSerial;
        use mkpf_core::mykey::person::{self, CertRef, PersonId};
        let pid = PersonId::generate();
        let issuer = IssuerId::parse("00112233445566778899aabbccddeeff00112233").unwrap();
        let serial = CertSerial::parse(&uuid::Uuid::new_v4().simple().to_string()).unwrap();
        let now = self.app.clock.now();
        let cert = CertRef { issuer: issuer.clone(), serial, not_after: Some(now.unix_timestamp() + 5 * 365 * 86_400) };
        self.mark_crl_current(&issuer).await;
        let session = mkpf_core::card_auth::sessions::open(&self.app, &pid, &cert).await.unwrap();
        let mut ops = person::create_ops(&pid, &cert, now);
        ops.push(session.op);
        self.app.store.transact(ops).await.unwrap();
        TestCitizen { person_id: pid, token: session.token, cert }
    }

    /// Records a current (empty) CRL for `issuer`, valid a year from the harness clock.
    pub async fn mark_crl_current(&self, issuer: &mkpf_core::card_auth::anchors::IssuerId) {
        use mkpf_core::ports::store::{Item, Value};
        let key = mkpf_core::card_auth::revocation::crl_key(issuer);
        let now = self.app.clock.epoch_secs();
        let mut item = Item::new();
        item.insert("pk".into(), Value::S(key.pk));
        item.insert("sk".into(), Value::S(key.sk.unwrap()));
        item.insert("issuer".into(), Value::S(issuer.as_str().into()));
        item.insert("this_update".into(), Value::N(now - 3600));
        item.insert("next_update".into(), Value::N(now + 365 * 86_400));
        item.insert("entries".into(), Value::N(0));
        item.insert("imported_at".into(), Value::S("2026-11-25T00:00:00Z".into()));
        self.app.store.put(&mkpf_core::tables::CARD_AUTH, item, None).await.unwrap();
    }

    /// Marks a certificate revoked, as an imported CRL would.
    pub async fn revoke_cert(&self, cert: &mkpf_core::mykey::person::CertRef) {
        use mkpf_core::ports::store::{Item, Value};
        let key = mkpf_core::card_auth::revocation::revoked_key(&cert.issuer, &cert.serial);
        let mut item = Item::new();
        item.insert("pk".into(), Value::S(key.pk));
        item.insert("sk".into(), Value::S(key.sk.unwrap()));
        item.insert("revoked_at".into(), Value::N(self.app.clock.epoch_secs()));
        self.app.store.put(&mkpf_core::tables::CARD_AUTH, item, None).await.unwrap();
    }
}

/// Receives and settles every message of `queue` with the named consumer (each must be done);
/// the number handled.
pub async fn drain(h: &Harness, queue: &'static mkpf_core::ports::QueueDef, name: &str) -> usize {
    let spec = mkpf_http::routes::consumer(name).unwrap();
    let mut n = 0;
    loop {
        let got = h.app.queue.receive(queue, 10, std::time::Duration::ZERO).await.unwrap();
        if got.is_empty() {
            return n;
        }
        for m in &got {
            assert_eq!(mkpf_runtime::worker::settle(&h.app, spec, m, true).await, mkpf_runtime::worker::Outcome::Done);
            n += 1;
        }
    }
}
