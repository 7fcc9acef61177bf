//! RFC 9457 problem details: every error response of the platform.
//!
//! A problem has a stable machine-readable `code` (clients branch on it), a human `title` and
//! `detail`, and the request id. Internal causes are logged, never put into a response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

tokio::task_local! {
    /// The id of the request being served (set by the outer HTTP layer).
    pub static REQUEST_ID: String;
}

/// The current request id, if called while serving a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub retry_after_secs: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, title, detail: detail.into(), retry_after_secs: None }
    }

    /// 403 `certificate_link_pending`: the person, made by a recently issued certificate, waits
    /// for a renewal linkage until `until` (epoch seconds; `now` is the clock's), with
    /// `Retry-After` saying how long at most. Used by MyKey ID creation and applications.
    pub fn link_pending(until: i64, now: i64) -> Self {
        let at = time::OffsetDateTime::from_unix_timestamp(until)
            .map(mkpf_core::domain::time_fmt::to_jst)
            .unwrap_or_default();
        Self::new(
            StatusCode::FORBIDDEN,
            "certificate_link_pending",
            "Waiting for card renewal link",
            format!(
                "your card's certificate was issued recently and may replace an earlier card (renewal, reissue or \
                 smartphone certificate); until J-LIS's linkage data says whose it is, MyKey ID creation and \
                 applications wait: at the latest until {at}"
            ),
        )
        .retry_after(u32::try_from((until - now).max(1)).unwrap_or(u32::MAX))
    }

    pub fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, "Not found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict", detail)
    }

    pub fn invalid_field(field: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "Invalid field", format!("{field}: {detail}"))
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    /// An internal fault. The cause goes to the log with the request id; the caller sees only that
    /// something failed on our side.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(request_id = current_request_id().as_deref().unwrap_or("-"), error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "The request could not be completed. Quote the request id when contacting the operators.",
        )
    }

    /// A dependency (store, queue) is unavailable or throttled: the client may retry.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(request_id = current_request_id().as_deref().unwrap_or("-"), error = %cause, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service unavailable",
            "The service is temporarily unavailable; retry later.",
        )
        .retry_after(2)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

impl From<mkpf_core::ports::StoreError> for ApiError {
    fn from(e: mkpf_core::ports::StoreError) -> Self {
        use mkpf_core::ports::StoreError::*;
        match e {
            Throttled | Unavailable(_) => ApiError::unavailable(e),
            _ => ApiError::internal(e),
        }
    }
}

impl From<mkpf_core::ports::QueueError> for ApiError {
    fn from(e: mkpf_core::ports::QueueError) -> Self {
        match e {
            mkpf_core::ports::QueueError::Unavailable(_) => ApiError::unavailable(e),
            _ => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            kind: format!("urn:mkpf:problem:{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.detail,
            request_id: current_request_id(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = (self.status, bytes).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(s) = self.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
