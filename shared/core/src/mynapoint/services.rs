//! Payment services (決済サービス): create, read, list, update, change intake, rotate the
//! outbound signing secret, the public search of accepting services, and the local demo seed.
//!
//! Items (table `programs`): `SERVICE#<code>` / `CONFIG` ([`catalog::ServiceConfig`], listed by
//! `gsi1pk = SERVICES`) and the outbound webhook secrets `SERVICE#<code>` / `SECRET#<secret id>`
//! ([`super::secrets`]). Creating a service checks, in the same audited transaction, that its
//! provider exists. Updates and intake changes are audited transactions that set only the changed
//! attributes (and the derived `accepting_<n>` flags), bump `version`, and hold only while the
//! version is the one read (optimistic concurrency; `If-Match` on the wire). Audit actions:
//! `mynapoint.service_create`, `mynapoint.service_update` (detail: the changed field names),
//! `mynapoint.service_intake` (from, to), `mynapoint.service_secret_rotate`.
//!
//! Endpoints are `https://…`, or `http://…` only to a loopback host (`localhost`, 127.0.0.0/8,
//! `[::1]`) so the local provider simulator needs no certificate; no user or password in the URL
//! (the signing secret is the credential), no fragment, no IP-literal host that is unspecified,
//! link-local, multicast or broadcast. On the AWS backend, moreover, only `https://` to a global
//! address (an IP literal that is [`crate::egress::is_global`], or a name that is not
//! [`crate::egress::internal_name`]); the dispatch checks the resolved address again.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::catalog::{self, SERVICES_GSI, ServiceConfig, accepting_attr};
use super::measures::{self, MeasureChangeError, Seeded};
use super::providers::{self, CatalogName, CreateProviderError, NewProvider};
use super::secrets::{self, NewSecret, Overlap, RotateError, ScopedCache, SecretMeta, SecretOwner, SecretsError};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Catalogue, Configured, Secrets, Stores};
use crate::config::Backend;
use crate::domain::mynapoint::{
    CodeCharset, CodeRule, CodeRules, IntakeStatus, MeasureId, ParseError, ProviderId, ServiceCode, ServiceKind,
};
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::PROGRAMS;
use crate::webhooks::WebhookSecret;
use serde_json::json;

/// A provider's webhook endpoint (see the module doc for the rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

/// Why an endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL the platform takes on any backend (`invalid_field`).
    #[error("{0}")]
    Invalid(ParseError),
    /// A destination this backend does not send to (`endpoint_not_allowed`).
    #[error("{0}")]
    NotAllowed(String),
}

impl From<ParseError> for EndpointError {
    fn from(e: ParseError) -> Self {
        EndpointError::Invalid(e)
    }
}

impl Endpoint {
    pub const MAX_LEN: usize = 2048;

    /// An endpoint the platform on `backend` may send to (the module doc has the rules).
    pub fn parse(s: &str, backend: Backend) -> Result<Endpoint, EndpointError> {
        let e = Self::parse_any(s)?;
        if backend == Backend::Aws {
            Self::global_https(&e.0).map_err(|m| EndpointError::NotAllowed(m.into()))?;
        }
        Ok(e)
    }

    /// On AWS: `https://` to a global IP literal or a name that is not internal.
    fn global_https(s: &str) -> Result<(), &'static str> {
        let url = url::Url::parse(s).map_err(|_| "an absolute https:// URL")?;
        if url.scheme() != "https" {
            return Err("on AWS only https:// (http:// to a loopback host is for the local backend)");
        }
        if !crate::egress::global_host(&url) {
            return Err(
                "the host must be a global address or a public name (no loopback, private, link-local, shared, \
                        reserved or IPv4-mapped address, no internal name)",
            );
        }
        Ok(())
    }

    fn parse_any(s: &str) -> Result<Endpoint, ParseError> {
        let err = |m: &str| Err(ParseError(m.to_owned()));
        if s.len() > Self::MAX_LEN {
            return err("at most 2048 characters");
        }
        if s.trim() != s || s.is_empty() {
            return err("an absolute https:// URL without surrounding spaces");
        }
        let url = url::Url::parse(s).map_err(|_| ParseError("an absolute https:// URL".into()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return err("no user name or password in the URL (the signing secret authenticates the platform)");
        }
        if url.fragment().is_some() {
            return err("no #fragment");
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return err("a host is required");
        };
        let ip: Option<IpAddr> = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
        };
        let loopback = host == "localhost" || ip.is_some_and(|i| i.is_loopback());
        let unroutable = ip.is_some_and(|i| match i {
            IpAddr::V4(a) => a.is_unspecified() || a.is_link_local() || a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80,
        });
        match url.scheme() {
            _ if unroutable => err("the host is an unspecified, link-local, multicast or broadcast address"),
            "https" => Ok(Endpoint(url.to_string())),
            "http" if loopback => Ok(Endpoint(url.to_string())),
            "http" => err("http:// only to a loopback host (localhost, 127.0.0.0/8, [::1]); use https://"),
            _ => err("an https:// URL"),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The measures a service takes: 1 to 3, each once, kept in programme order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureSet(Vec<MeasureId>);

impl MeasureSet {
    pub fn parse(mut v: Vec<MeasureId>) -> Result<MeasureSet, ParseError> {
        let n = v.len();
        v.sort();
        v.dedup();
        if v.len() != n {
            return Err(ParseError("each measure at most once".into()));
        }
        if v.is_empty() {
            return Err(ParseError("at least one measure".into()));
        }
        Ok(MeasureSet(v))
    }
    pub fn all() -> MeasureSet {
        MeasureSet(MeasureId::ALL.to_vec())
    }
    pub fn as_slice(&self) -> &[MeasureId] {
        &self.0
    }
}

/// What an operator supplies to create a payment service.
#[derive(Debug, Clone)]
pub struct NewService {
    pub code: ServiceCode,
    pub provider: ProviderId,
    pub name: CatalogName,
    pub kind: ServiceKind,
    pub measures: MeasureSet,
    pub code_rules: CodeRules,
    pub endpoint: Endpoint,
}

/// A partial change of a service; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct ServiceChange {
    pub name: Option<CatalogName>,
    pub measures: Option<MeasureSet>,
    pub code_rules: Option<CodeRules>,
    pub endpoint: Option<Endpoint>,
    pub endpoint_enabled: Option<bool>,
}

impl ServiceChange {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.measures.is_none()
            && self.code_rules.is_none()
            && self.endpoint.is_none()
            && self.endpoint_enabled.is_none()
    }
}

/// A service with the metadata of its signing secrets (never the secrets).
#[derive(Debug, Clone)]
pub struct ServiceDetail {
    pub config: ServiceConfig,
    /// Every stored secret, newest first (retired ones until their TTL removes them).
    pub secrets: Vec<SecretMeta>,
}

/// A service just created, with its first signing secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedService {
    pub config: ServiceConfig,
    pub secret: NewSecret,
}

/// What citizens see of an accepting service: never its endpoint or secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicService {
    pub code: ServiceCode,
    pub name: String,
    pub kind: ServiceKind,
    pub provider_name: String,
    pub measures: Vec<MeasureId>,
    pub code_rules: CodeRules,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateServiceError {
    #[error("a service with this code exists")]
    Exists,
    #[error("no such provider")]
    ProviderUnknown,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("secret could not be sealed: {0}")]
    Sealer(#[from] KeyError),
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceReadError {
    #[error("no such service")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateServiceError {
    #[error("no such service")]
    NotFound,
    #[error("the service changed meanwhile (now version {current})")]
    VersionMismatch { current: i64 },
    #[error("the service was withdrawn; its intake cannot change any more")]
    Withdrawn,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn target(code: &ServiceCode) -> String {
    format!("service:{code}")
}

/// This process's copy of the public list (every accepting service with its provider's name).
static PUBLIC: ScopedCache<Vec<PublicService>> = ScopedCache::new();
const PUBLIC_KEY: &str = "public-services";

/// Forgets what this process cached about the catalogue after a change.
fn changed(app: &(impl Stores + Catalogue)) {
    app.catalog().clear();
    PUBLIC.forget(app, PUBLIC_KEY);
}

/// Creates a payment service and its first outbound signing secret, in one audited transaction
/// that also checks that the provider exists. New services are `accepting`.
pub async fn create(
    app: &(impl Audits + Secrets + Catalogue),
    ctx: &Context,
    new: NewService,
) -> Result<CreatedService, CreateServiceError> {
    let now = app.clock().now();
    let config = ServiceConfig {
        code: new.code,
        provider: new.provider,
        name: new.name.as_str().to_owned(),
        kind: new.kind,
        measures: new.measures.0,
        code_rules: new.code_rules,
        intake: IntakeStatus::Accepting,
        intake_changed_at: now,
        endpoint: Some(new.endpoint.0),
        endpoint_enabled: true,
        version: 1,
    };
    let owner = SecretOwner::Service(config.code.clone());
    let (secret, secret_op) = secrets::first_secret(app, &owner).await?;
    let ops = vec![
        TxOp::Check { table: &PROGRAMS, key: catalog::provider_key(&config.provider), cond: Cond::exists("pk") },
        TxOp::Put { table: &PROGRAMS, item: config.to_item(), cond: Some(Cond::not_exists("pk")) },
        secret_op,
    ];
    let ev =
        Event::success("mynapoint.service_create", vec![target(&config.code), format!("provider:{}", config.provider)])
            .with_detail(json!({
                "secret_id": secret.meta.id.to_string(),
                "measures": config.measures.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "intake": config.intake.as_str(),
            }));
    match audit::commit(app, ctx, ev, ops).await {
        Ok(()) => {
            secrets::forget(app, &owner);
            changed(app);
            Ok(CreatedService { config, secret })
        }
        Err(e) => match e.failed_condition_index() {
            Some(0) => Err(CreateServiceError::ProviderUnknown),
            Some(_) => Err(CreateServiceError::Exists),
            None => Err(e.into()),
        },
    }
}

async fn read(app: &impl Stores, code: &ServiceCode) -> Result<Option<ServiceConfig>, StoreError> {
    app.store().get(&PROGRAMS, &catalog::service_key(code)).await?.map(|i| ServiceConfig::from_item(&i)).transpose()
}

/// A service and its secrets' metadata (one query of its partition; never cached).
pub async fn get(app: &impl Stores, code: &ServiceCode) -> Result<ServiceDetail, ServiceReadError> {
    let pk = catalog::service_key(code).pk;
    let items = query_all(app.store().as_ref(), Query::new(&PROGRAMS, pk).limit(100)).await?;
    let config = items.iter().find(|i| i.opt_s("sk") == Some("CONFIG")).ok_or(ServiceReadError::NotFound)?;
    Ok(ServiceDetail { config: ServiceConfig::from_item(config)?, secrets: secrets::metas_of(&items)? })
}

/// Every service by code, optionally only one provider's (one index query per 100; there are
/// tens).
pub async fn list(app: &impl Stores, provider: Option<&ProviderId>) -> Result<Vec<ServiceConfig>, StoreError> {
    let q = Query::new(&PROGRAMS, SERVICES_GSI).index("gsi1").limit(100);
    let mut out = Vec::new();
    for i in &query_all(app.store().as_ref(), q).await? {
        let s = ServiceConfig::from_item(i)?;
        if provider.is_none_or(|p| *p == s.provider) {
            out.push(s);
        }
    }
    Ok(out)
}

fn check_version(cur: &ServiceConfig, expected: Option<i64>) -> Result<(), UpdateServiceError> {
    match expected {
        Some(v) if v != cur.version => Err(UpdateServiceError::VersionMismatch { current: cur.version }),
        _ => Ok(()),
    }
}

/// Writes the attributes of `next` named in `fields` (plus the derived `accepting_<n>` flags and
/// the version bump) if the service is still at `cur.version`, with its audit record.
async fn write(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    cur: &ServiceConfig,
    next: &ServiceConfig,
    fields: &[&str],
    ev: Event,
) -> Result<(), UpdateServiceError> {
    let item = next.to_item();
    let mut update = Update::new();
    let derived: Vec<String> = MeasureId::ALL.iter().map(|m| accepting_attr(*m)).collect();
    for (name, v) in &item {
        if fields.contains(&name.as_str()) || derived.contains(name) {
            update = update.set(name, v.clone());
        }
    }
    let op = TxOp::Update {
        table: &PROGRAMS,
        key: catalog::service_key(&cur.code),
        update: update.set("version", next.version),
        cond: Some(Cond::eq("version", cur.version)),
    };
    match audit::commit(app, ctx, ev, vec![op]).await {
        Ok(()) => {
            changed(app);
            Ok(())
        }
        Err(e) if e.failed_condition_index().is_some() => match read(app, &cur.code).await? {
            Some(now) => Err(UpdateServiceError::VersionMismatch { current: now.version }),
            None => Err(UpdateServiceError::NotFound),
        },
        Err(e) => Err(e.into()),
    }
}

/// Changes a service's name, measures, code rules, endpoint or whether the endpoint is enabled.
/// Changing nothing writes nothing. Allowed in every intake status (a withdrawn service's
/// endpoint may still need to change while its applications are settled).
pub async fn update(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    code: &ServiceCode,
    change: ServiceChange,
    expected_version: Option<i64>,
) -> Result<ServiceConfig, UpdateServiceError> {
    let cur = read(app, code).await?.ok_or(UpdateServiceError::NotFound)?;
    check_version(&cur, expected_version)?;
    let mut next = cur.clone();
    let mut fields: Vec<&str> = Vec::new();
    if let Some(n) = change.name
        && n.as_str() != cur.name
    {
        next.name = n.as_str().to_owned();
        fields.push("name");
    }
    if let Some(m) = change.measures
        && m.0 != cur.measures
    {
        next.measures = m.0;
        fields.push("measures");
    }
    if let Some(r) = change.code_rules
        && r != cur.code_rules
    {
        next.code_rules = r;
        fields.push("code_rules");
    }
    if let Some(e) = change.endpoint
        && Some(e.as_str()) != cur.endpoint.as_deref()
    {
        next.endpoint = Some(e.0);
        fields.push("endpoint");
    }
    if let Some(on) = change.endpoint_enabled
        && on != cur.endpoint_enabled
    {
        next.endpoint_enabled = on;
        fields.push("endpoint_enabled");
    }
    if fields.is_empty() {
        return Ok(cur);
    }
    next.version += 1;
    let ev = Event::success("mynapoint.service_update", vec![target(code)])
        .with_detail(json!({ "changed": fields, "version": next.version }));
    write(app, ctx, &cur, &next, &fields, ev).await?;
    Ok(next)
}

/// Changes a service's intake status (and `intake_changed_at`). `withdrawn` is final. Setting the
/// current status again writes nothing.
pub async fn set_intake(
    app: &(impl Audits + Catalogue),
    ctx: &Context,
    code: &ServiceCode,
    to: IntakeStatus,
    expected_version: Option<i64>,
) -> Result<ServiceConfig, UpdateServiceError> {
    let cur = read(app, code).await?.ok_or(UpdateServiceError::NotFound)?;
    check_version(&cur, expected_version)?;
    if cur.intake == to {
        return Ok(cur);
    }
    if cur.intake == IntakeStatus::Withdrawn {
        return Err(UpdateServiceError::Withdrawn);
    }
    let mut next = cur.clone();
    next.intake = to;
    next.intake_changed_at = app.clock().now();
    next.version += 1;
    let ev = Event::success("mynapoint.service_intake", vec![target(code)]).with_detail(json!({
        "from": cur.intake.as_str(),
        "to": to.as_str(),
        "version": next.version,
    }));
    write(app, ctx, &cur, &next, &["intake", "intake_changed_at"], ev).await?;
    Ok(next)
}

/// Rotates the service's outbound signing secret (`mynapoint.service_secret_rotate`): the new
/// secret is returned once; dispatches are signed with the old ones too until they retire.
pub async fn rotate_secret(
    app: &(impl Audits + Secrets),
    ctx: &Context,
    code: &ServiceCode,
    overlap: Overlap,
) -> Result<NewSecret, RotateError> {
    secrets::rotate(app, ctx, &SecretOwner::Service(code.clone()), overlap, "mynapoint.service_secret_rotate").await
}

async fn public_list(app: &impl Stores) -> Result<Vec<PublicService>, StoreError> {
    if let Some(v) = PUBLIC.get(app, PUBLIC_KEY) {
        return Ok(v);
    }
    let providers: std::collections::HashMap<ProviderId, String> =
        providers::list(app).await?.into_iter().map(|p| (p.id, p.name.as_str().to_owned())).collect();
    let v: Vec<PublicService> = list(app, None)
        .await?
        .into_iter()
        .filter(|s| s.intake == IntakeStatus::Accepting)
        .map(|s| PublicService {
            provider_name: providers.get(&s.provider).cloned().unwrap_or_else(|| s.provider.to_string()),
            code: s.code,
            name: s.name,
            kind: s.kind,
            measures: s.measures,
            code_rules: s.code_rules,
        })
        .collect();
    PUBLIC.put(app, PUBLIC_KEY, v.clone());
    Ok(v)
}

/// The services taking applications now, for one measure or (without one) for any, by code.
/// Cached per process for at most [`catalog::CACHE_SECS`] (a public route); an application's own
/// transaction re-checks that its service is accepting.
pub async fn search(app: &impl Stores, measure: Option<MeasureId>) -> Result<Vec<PublicService>, StoreError> {
    Ok(public_list(app).await?.into_iter().filter(|s| measure.is_none_or(|m| s.measures.contains(&m))).collect())
}

/// The local demo's provider id.
pub const DEMO_PROVIDER: &str = "demo";
/// The local demo's payment service code.
pub const DEMO_SERVICE: &str = "DEMO_PAY";

/// What [`seed_demo`] leaves behind. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct DemoSeed {
    pub provider_id: ProviderId,
    pub service_code: ServiceCode,
    /// Signs dispatches to the demo service's endpoint (the simulator verifies with it).
    pub webhook_secret: WebhookSecret,
    /// Signs the demo provider's callbacks (the simulator signs with it).
    pub callback_secret: WebhookSecret,
    pub measures: Vec<Seeded>,
    /// Measures whose period was moved so that they are open now.
    pub opened: Vec<MeasureId>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo seed is local-only and refused with MKPF_BACKEND=aws")]
    NotLocal,
    #[error("endpoint: {0}")]
    Endpoint(EndpointError),
    #[error("service {DEMO_SERVICE} exists and belongs to provider {0}")]
    ForeignService(ProviderId),
    #[error("the demo {0} has no active secret")]
    NoSecret(&'static str),
    #[error(transparent)]
    Measures(#[from] MeasureChangeError),
    #[error(transparent)]
    Provider(#[from] CreateProviderError),
    #[error(transparent)]
    Service(#[from] CreateServiceError),
    #[error(transparent)]
    Update(#[from] UpdateServiceError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// **Local demo only** (refused on the AWS backend): seeds the measures, moves the period of each
/// closed (not suspended) measure so that it is open from now for a year, and makes sure the demo
/// provider `demo` and its service `DEMO_PAY` (measures 1–3, one 4-digit PIN) exist, the service
/// pointing at `endpoint` (changed if it pointed elsewhere, and enabled). Idempotent: running it
/// again rotates nothing; secrets made earlier are opened again and returned, which only this
/// demo seed does (everywhere else a secret is shown once). Every change is audited as usual.
pub async fn seed_demo(
    app: &(impl Audits + Configured + Secrets + Catalogue),
    ctx: &Context,
    endpoint: &str,
) -> Result<DemoSeed, DemoError> {
    if app.config().backend == Backend::Aws {
        return Err(DemoError::NotLocal);
    }
    let endpoint = Endpoint::parse(endpoint, app.config().backend).map_err(DemoError::Endpoint)?;
    let seeded = measures::seed(app, ctx).await?;
    let opened = measures::open_for_demo(app, ctx).await?;
    let provider_id = ProviderId::parse(DEMO_PROVIDER).map_err(|e| StoreError::Corrupt(e.0))?;
    let code = ServiceCode::parse(DEMO_SERVICE).map_err(|e| StoreError::Corrupt(e.0))?;
    let demo_name = |s: &str| CatalogName::parse(s).map_err(|e| StoreError::Corrupt(e.0));

    let callback_secret = match providers::find(app, &provider_id).await? {
        Some(_) => None,
        None => {
            let new = NewProvider { id: provider_id.clone(), name: demo_name("Demo Provider")? };
            match providers::create(app, ctx, new).await {
                Ok(c) => Some(c.secret.secret),
                Err(CreateProviderError::Exists) => None,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let callback_secret = match callback_secret {
        Some(s) => s,
        None => secrets::reveal_newest(app, &SecretOwner::Provider(provider_id.clone()))
            .await?
            .ok_or(DemoError::NoSecret("provider"))?,
    };

    let webhook_secret = match read(app, &code).await? {
        Some(cur) => {
            if cur.provider != provider_id {
                return Err(DemoError::ForeignService(cur.provider));
            }
            let change = ServiceChange { endpoint: Some(endpoint), endpoint_enabled: Some(true), ..Default::default() };
            update(app, ctx, &code, change, None).await?;
            None
        }
        None => {
            let pin = CodeRule { label: "PIN".into(), charset: CodeCharset::Digits, min_len: 4, max_len: 4 };
            let new = NewService {
                code: code.clone(),
                provider: provider_id.clone(),
                name: demo_name("Demo Pay")?,
                kind: ServiceKind::QrCode,
                measures: MeasureSet::all(),
                code_rules: CodeRules::parse(vec![pin]).map_err(|e| StoreError::Corrupt(e.0))?,
                endpoint,
            };
            match create(app, ctx, new).await {
                Ok(c) => Some(c.secret.secret),
                Err(CreateServiceError::Exists) => None,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let webhook_secret = match webhook_secret {
        Some(s) => s,
        None => secrets::reveal_newest(app, &SecretOwner::Service(code.clone()))
            .await?
            .ok_or(DemoError::NoSecret("service"))?,
    };
    Ok(DemoSeed { provider_id, service_code: code, webhook_secret, callback_secret, measures: seeded, opened })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        for ok in [
            "https://pay.example.jp/mkpf/hook",
            "https://203.0.113.5:8443/hook",
            "http://127.0.0.1:9000/hook",
            "http://127.8.9.10/",
            "http://localhost:8080/x",
            "http://[::1]:8080/x",
            "https://localhost/x",
        ] {
            assert!(Endpoint::parse(ok, Backend::Embedded).is_ok(), "{ok}");
        }
        for bad in [
            "http://pay.example.jp/hook",
            "http://10.0.0.1/hook",
            "ftp://pay.example.jp/",
            "https://user:pw@pay.example.jp/",
            "https://pay.example.jp/#x",
            "https://169.254.169.254/latest",
            "https://0.0.0.0/",
            "https://[fe80::1]/",
            "https://224.0.0.1/",
            " https://pay.example.jp/",
            "pay.example.jp/hook",
            "",
            "http://localhost.evil.example/",
        ] {
            assert!(Endpoint::parse(bad, Backend::Embedded).is_err(), "{bad}");
            assert!(matches!(Endpoint::parse(bad, Backend::Aws), Err(EndpointError::Invalid(_))), "{bad}");
        }
        assert!(Endpoint::parse(&format!("https://e.jp/{}", "a".repeat(2048)), Backend::Embedded).is_err());
        // On AWS: https to global addresses and public names only.
        assert!(Endpoint::parse("https://pay.example.jp/mkpf/hook", Backend::Aws).is_ok());
        assert!(Endpoint::parse("https://8.8.8.8/hook", Backend::Aws).is_ok());
        for inside in
            ["http://127.0.0.1:9000/hook", "https://localhost/x", "https://203.0.113.5:8443/hook", "https://[::1]/"]
        {
            assert!(matches!(Endpoint::parse(inside, Backend::Aws), Err(EndpointError::NotAllowed(_))), "{inside}");
        }
    }

    #[test]
    fn measure_sets() {
        use MeasureId::*;
        assert_eq!(
            MeasureSet::parse(vec![PublicFundsAccount, CardAcquisition]).unwrap().as_slice(),
            &[CardAcquisition, PublicFundsAccount]
        );
        assert!(MeasureSet::parse(vec![]).is_err());
        assert!(MeasureSet::parse(vec![HealthInsurance, HealthInsurance]).is_err());
    }
}
