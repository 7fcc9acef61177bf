//! The `crl-fetch` job: downloads each CRL at `MKPF_CRL_URLS` and imports it (see
//! [`super::revocation::import_crl`]); an unchanged CRL is a no-op, an older one is ignored.
//!
//! Only `http://` is fetched: a CRL is signed by its root and verified before import, so the
//! transport adds no trust (RFC 5280 CRL distribution points are plain HTTP for this reason), and
//! the function stays free of a second TLS stack. A failed URL does not stop the others; the job
//! fails (and alarms) if any URL failed. Each failed URL's entry in the report carries the stable
//! problem code an import by hand would answer (`crl_scoped`, `crl_untrusted`, …) or
//! `crl_download_failed`. On the AWS backend only global addresses are connected to (the URL,
//! every redirect — at most 3 — and every DNS answer; see `crate::egress`).

use std::time::Duration;

use crate::app::App;
use crate::audit::{Actor, Context};

/// The largest CRL downloaded.
pub const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;

pub async fn run(app: &App) -> Result<serde_json::Value, String> {
    if app.config.crl_urls.is_empty() {
        return Ok(serde_json::json!({"fetched": 0, "note": "MKPF_CRL_URLS is not set"}));
    }
    let global_only = app.config.backend == crate::config::Backend::Aws;
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(120)).redirect(
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("more than 3 redirects")
            } else if let Err(e) = reachable(attempt.url(), global_only) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        }),
    );
    if global_only {
        // Every DNS answer is filtered too, so a name pointed inside is never connected to.
        builder = builder.dns_resolver(std::sync::Arc::new(crate::egress::GlobalOnly::system())).no_proxy();
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let ctx = Context::new(Actor::job("crl-fetch"));
    let mut results = Vec::new();
    let mut failed = 0;
    for url in &app.config.crl_urls {
        let r = fetch_one(&client, url, global_only).await;
        let entry = match r {
            Ok(der) => match super::revocation::import_crl(app, &ctx, &der, &|_, _| {}).await {
                Ok(imp) => {
                    serde_json::json!({"url": url, "result": imp.result, "issuer": imp.issuer, "entries": imp.entries})
                }
                Err(super::revocation::CrlImportError::Older { .. }) => {
                    serde_json::json!({"url": url, "result": "older_than_current"})
                }
                Err(e) => {
                    failed += 1;
                    serde_json::json!({"url": url, "code": e.code(), "error": e.to_string()})
                }
            },
            Err(e) => {
                failed += 1;
                serde_json::json!({"url": url, "code": "crl_download_failed", "error": e})
            }
        };
        results.push(entry);
    }
    let report = serde_json::json!({"fetched": results.len(), "results": results});
    if failed > 0 { Err(report.to_string()) } else { Ok(report) }
}

/// On the AWS backend (`global_only`) a CRL is fetched only from a global address (the
/// operator's URL, and every redirect): never the instance metadata service, the Lambda runtime
/// API or a VPC host. IP literals are checked here; names by the client's resolver.
fn reachable(url: &reqwest::Url, global_only: bool) -> Result<(), String> {
    if !global_only {
        return Ok(());
    }
    if crate::egress::global_host(url) {
        Ok(())
    } else {
        Err(format!("{}: not a global address", url.host_str().unwrap_or_default()))
    }
}

async fn fetch_one(client: &reqwest::Client, url: &str, global_only: bool) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err("only http:// CRL URLs are fetched (the CRL's signature is what is trusted)".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    reachable(&parsed, global_only).map_err(|e| format!("download refused: {e}"))?;
    let mut resp = client.get(url).send().await.map_err(|e| format!("download failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("download failed: HTTP {}", resp.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("download failed: {e}"))? {
        if body.len() + chunk.len() > MAX_CRL_BYTES {
            return Err(format!("the CRL exceeds {MAX_CRL_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
