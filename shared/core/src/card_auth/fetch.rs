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

use crate::audit::{Actor, Context};
use crate::caps::{Audits, Configured, Outbound};

/// The largest CRL downloaded.
pub const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;

pub async fn run(app: &(impl Audits + Configured + Outbound)) -> Result<serde_json::Value, String> {
    if app.config().crl_urls.is_empty() {
        return Ok(serde_json::json!({"fetched": 0, "note": "MKPF_CRL_URLS is not set"}));
    }
    let ctx = Context::new(Actor::job("crl-fetch"));
    let mut results = Vec::new();
    let mut failed = 0;
    for url in &app.config().crl_urls {
        let r = fetch_one(app, url).await;
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

async fn fetch_one(app: &impl Outbound, url: &str) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err("only http:// CRL URLs are fetched (the CRL's signature is what is trusted)".into());
    }
    app.egress().download(url, MAX_CRL_BYTES).await
}
