//! Platform routes: health, the OpenAPI document, metrics.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::problem::ApiError;
use mkpf_core::metrics::Series;
use mkpf_core::ports::QueueDepth;

/// `GET /healthz`: 200 when the store and the queue answer, 503 otherwise (same shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    pub store: String,
    pub queue: String,
}

/// How long a health answer is reused.
pub const HEALTH_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The outcome of one dependency check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub store: bool,
    pub queue: bool,
}

async fn checks(app: &App) -> Checks {
    let now = std::time::Instant::now();
    if let Some((at, c)) = *app.health_cache.lock().unwrap_or_else(|e| e.into_inner())
        && now.duration_since(at) < HEALTH_TTL
    {
        return c;
    }
    let (s, q) = tokio::join!(app.store.health(), app.queue.health());
    if let Err(e) = &s {
        tracing::error!(error = %e, "health: store unavailable");
    }
    if let Err(e) = &q {
        tracing::error!(error = %e, "health: queue unavailable");
    }
    let c = Checks { store: s.is_ok(), queue: q.is_ok() };
    *app.health_cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, c));
    c
}

pub async fn health(State(app): State<App>) -> Response {
    let c = checks(&app).await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" }.to_owned();
    let ok = c.store && c.queue;
    let body = Health { status: word(ok), store: word(c.store), queue: word(c.queue) };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document_json()).into_response()
}

/// `GET /metrics`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsView {
    /// Since this process started (locally) or since the last invocation flushed (on Lambda).
    #[schema(value_type = Vec<Object>)]
    pub series: Vec<Series>,
    #[schema(value_type = Object)]
    pub queues: BTreeMap<&'static str, QueueDepth>,
}

pub async fn metrics(State(app): State<App>) -> Result<Json<MetricsView>, ApiError> {
    let mut queues = BTreeMap::new();
    for q in mkpf_core::queues::ALL {
        queues.insert(q.name, app.queue.depth(q).await?);
    }
    Ok(Json(MetricsView { series: app.metrics.snapshot(), queues }))
}
