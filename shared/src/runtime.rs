//! Process start-up shared by every binary: JSON logging, and the Lambda entry points that a
//! function's `main` hands over to after building its `App`.

use lambda_runtime::{LambdaEvent, service_fn};

use crate::app::App;
use crate::routes;

/// Where log lines go: stdout for services (Lambda ships it to CloudWatch Logs), stderr for
/// command-line tools whose stdout is their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    Stdout,
    Stderr,
}

/// JSON log lines (one object per event), filtered by `filter` (`MKPF_LOG`).
pub fn init_logging(filter: &str, to: LogTo) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter);
    let _ = match to {
        LogTo::Stdout => builder.with_writer(std::io::stdout).try_init(),
        LogTo::Stderr => builder.with_writer(std::io::stderr).try_init(),
    };
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves one HTTP route on Lambda (API Gateway HTTP API events).
pub async fn serve_route(app: App, route: &str) -> Result<(), BoxError> {
    let router = crate::http::lambda_router(app, route)?;
    lambda_http::run(router).await
}

/// Serves one queue consumer on Lambda (SQS events, partial batch failures).
pub async fn serve_consumer(app: App, name: &str) -> Result<(), BoxError> {
    let spec = routes::consumer(name).ok_or_else(|| format!("no consumer named {name:?}"))?;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
        let app = app.clone();
        async move { Ok::<_, BoxError>(crate::worker::handle_sqs_event(&app, spec, ev.payload).await) }
    }))
    .await
}

/// Serves one scheduled job on Lambda (EventBridge Scheduler events; the payload is ignored).
pub async fn serve_job(app: App, name: &str) -> Result<(), BoxError> {
    let spec = routes::job(name).ok_or_else(|| format!("no job named {name:?}"))?;
    lambda_runtime::run(service_fn(move |_ev: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move { crate::worker::run_job(&app, spec).await.map_err(BoxError::from) }
    }))
    .await
}
