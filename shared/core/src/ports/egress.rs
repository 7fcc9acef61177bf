//! `Egress`: outbound HTTP, the only way a use case reaches another host (provider webhook
//! dispatches, CRL downloads). The adapter (`mkpf-runtime`'s `egress`) builds its clients once
//! per process and applies the platform's rules: bounded time; no redirect for webhooks; on the
//! AWS backend only global addresses (every DNS answer and every redirect, see `crate::egress`)
//! and no proxies.

use async_trait::async_trait;

/// How a provider's endpoint answered a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    pub status: u16,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
}

/// Why a webhook got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    Timeout,
    Connect,
    Transport,
}

impl SendError {
    /// The reason recorded with a failed attempt.
    pub fn reason(self) -> &'static str {
        match self {
            SendError::Timeout => "timeout",
            SendError::Connect => "connect",
            SendError::Transport => "transport",
        }
    }
}

#[async_trait]
pub trait Egress: Send + Sync {
    /// POSTs a JSON `body` (bytes) with `headers` to `url` (never following a redirect).
    async fn post_webhook(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<WebhookAnswer, SendError>;

    /// GETs `url` (an `http://` URL; at most 3 redirects, each checked like the URL), refusing a
    /// body over `max_bytes`. The error is a sentence for the job's report.
    async fn download(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, String>;
}

/// Refuses every request (processes that send none, and tests that must not).
pub struct NoEgress;

#[async_trait]
impl Egress for NoEgress {
    async fn post_webhook(&self, _: &str, _: &[(&str, String)], _: Vec<u8>) -> Result<WebhookAnswer, SendError> {
        Err(SendError::Connect)
    }
    async fn download(&self, url: &str, _: usize) -> Result<Vec<u8>, String> {
        Err(format!("download refused: no outbound HTTP in this process ({url})"))
    }
}
