//! The outbound HTTP adapter (the core's `Egress` port) on `reqwest` + rustls: two clients built
//! once per process. Webhooks: bounded time, no redirects (a provider's redirect would send
//! security codes somewhere nobody configured). CRL downloads: `http://` only, at most 3
//! redirects, each checked. On the AWS backend both connect only to global addresses:
//! [`GlobalOnly`] filters every DNS answer, so a name re-pointed inside after registration is not
//! reached; IP literals (the URL and every redirect) are checked with
//! [`mkpf_core::egress::global_host`]; proxy variables are ignored (the check must see the real
//! destination).

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use mkpf_core::egress::{internal_name, is_global};
use mkpf_core::ports::{Egress, SendError, WebhookAnswer};

/// How long a provider's endpoint may take to answer a webhook.
pub const WEBHOOK_TIMEOUT: Duration = mkpf_core::mynapoint::dispatch::HTTP_TIMEOUT;
/// How long a CRL download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// The process's outbound HTTP. Each client is built on its first use, so a function that never
/// calls out (most of them) pays nothing for it at start.
pub struct HttpEgress {
    webhooks: OnceLock<reqwest::Client>,
    downloads: OnceLock<reqwest::Client>,
    global_only: bool,
}

impl HttpEgress {
    /// `global_only`: the AWS backend's rule (only global addresses, no proxies).
    pub fn new(global_only: bool) -> HttpEgress {
        HttpEgress { webhooks: OnceLock::new(), downloads: OnceLock::new(), global_only }
    }

    fn webhooks(&self) -> Result<&reqwest::Client, String> {
        if let Some(c) = self.webhooks.get() {
            return Ok(c);
        }
        let mut b = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mkpf-dispatch/", env!("CARGO_PKG_VERSION")));
        if self.global_only {
            b = b.dns_resolver(std::sync::Arc::new(GlobalOnly::system())).no_proxy();
        }
        let c = b.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(self.webhooks.get_or_init(|| c))
    }

    fn downloads(&self) -> Result<&reqwest::Client, String> {
        if let Some(c) = self.downloads.get() {
            return Ok(c);
        }
        let global_only = self.global_only;
        let mut b = reqwest::Client::builder().timeout(DOWNLOAD_TIMEOUT).redirect(reqwest::redirect::Policy::custom(
            move |attempt| {
                if attempt.previous().len() >= 3 {
                    attempt.error("more than 3 redirects")
                } else if let Err(e) = reachable(attempt.url(), global_only) {
                    attempt.error(e)
                } else {
                    attempt.follow()
                }
            },
        ));
        if global_only {
            b = b.dns_resolver(std::sync::Arc::new(GlobalOnly::system())).no_proxy();
        }
        let c = b.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(self.downloads.get_or_init(|| c))
    }
}

#[async_trait]
impl Egress for HttpEgress {
    async fn post_webhook(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<WebhookAnswer, SendError> {
        let client = self.webhooks().map_err(|e| {
            tracing::error!(error = %e, "no HTTP client for webhooks");
            SendError::Transport
        })?;
        let mut req = client.post(url);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let resp = req.body(body).send().await.map_err(|e| {
            if e.is_timeout() {
                SendError::Timeout
            } else if e.is_connect() {
                SendError::Connect
            } else {
                SendError::Transport
            }
        })?;
        let retry_after =
            resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(WebhookAnswer { status: resp.status().as_u16(), retry_after })
    }

    async fn download(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        reachable(&parsed, self.global_only).map_err(|e| format!("download refused: {e}"))?;
        let mut resp = self.downloads()?.get(url).send().await.map_err(|e| format!("download failed: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("download failed: HTTP {}", resp.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("download failed: {e}"))? {
            if body.len() + chunk.len() > max_bytes {
                return Err(format!("the CRL exceeds {max_bytes} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// With `global_only`, only a global address may be reached (the operator's URL, and every
/// redirect): never the instance metadata service, the Lambda runtime API or a VPC host. IP
/// literals are checked here; names by the client's resolver.
fn reachable(url: &reqwest::Url, global_only: bool) -> Result<(), String> {
    if !global_only || mkpf_core::egress::global_host(url) {
        Ok(())
    } else {
        Err(format!("{}: not a global address", url.host_str().unwrap_or_default()))
    }
}

/// A `reqwest` resolver that answers only global addresses ([`is_global`]); a name with none is
/// an error ("resolves to no global address"), so the client never connects inside.
#[derive(Debug, Clone, Default)]
pub struct GlobalOnly {
    /// Fixed answers for every name instead of the system resolver (tests).
    fixed: Option<Vec<IpAddr>>,
}

impl GlobalOnly {
    /// Resolves with the system resolver (`getaddrinfo`).
    pub fn system() -> GlobalOnly {
        GlobalOnly { fixed: None }
    }

    /// Answers `addrs` for every name (a stand-in DNS for tests).
    pub fn answering(addrs: Vec<IpAddr>) -> GlobalOnly {
        GlobalOnly { fixed: Some(addrs) }
    }
}

impl reqwest::dns::Resolve for GlobalOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let fixed = self.fixed.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if internal_name(&host) {
                return Err(format!("{host}: an internal name").into());
            }
            let all: Vec<SocketAddr> = match fixed {
                Some(v) => v.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let global: Vec<SocketAddr> = all.into_iter().filter(|a| is_global(a.ip())).collect();
            if global.is_empty() {
                return Err(format!("{host} resolves to no global address").into());
            }
            Ok(Box::new(global.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// A name whose DNS answer is inside (rebinding) is never connected to; the same answer
    /// through an unfiltered override is (so the listener would see it).
    #[tokio::test]
    async fn a_name_resolving_inside_is_not_connected_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, SeqCst);
                drop(s);
            }
        });
        let url = format!("http://rebind.example.jp:{}/hook", addr.port());
        let filtered = reqwest::Client::builder()
            .dns_resolver(Arc::new(GlobalOnly::answering(vec![addr.ip(), "::ffff:127.0.0.1".parse().unwrap()])))
            .no_proxy()
            .build()
            .unwrap();
        let err = filtered.post(&url).send().await.unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert_eq!(connections.load(SeqCst), 0, "connected to a loopback answer");

        let unfiltered = reqwest::Client::builder().resolve("rebind.example.jp", addr).no_proxy().build().unwrap();
        assert!(unfiltered.post(&url).send().await.is_err());
        assert_eq!(connections.load(SeqCst), 1, "the listener counts connections");
    }
}
