//! Process start-up shared by every binary: JSON logging, and the Lambda entry. Every Lambda
//! function runs the one binary of `functions/lambda`; [`serve_from_env`] reads the function's
//! id from its Handler (`_HANDLER`, set by the CDK app), builds the `App` once, and serves that
//! one route, consumer or job — an unknown id stops the process before it serves anything.
//!
//! On Lambda every log line written during an invocation carries the runtime's `requestId` and
//! the X-Ray trace id (`xrayTraceId`) in its `span` object (the `invocation` span), so one
//! invocation's lines can be found together and joined with its trace; the first invocation of a
//! process counts one `cold_start` (dimension `function`).

use lambda_runtime::{LambdaEvent, service_fn};

use mkpf_http::App;
use mkpf_http::routes;

/// Where log lines go: stdout for services (Lambda ships it to CloudWatch Logs), stderr for
/// command-line tools whose stdout is their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTo {
    Stdout,
    Stderr,
}

/// JSON log lines (one object per event), filtered by `filter` (`MKPF_LOG`).
pub fn init_logging(filter: &str, to: LogTo) {
    let _ = match to {
        LogTo::Stdout => json_subscriber(filter, std::io::stdout).try_init(),
        LogTo::Stderr => json_subscriber(filter, std::io::stderr).try_init(),
    };
}

/// The subscriber every process logs through: one JSON object per line, the event's fields at
/// the top level, the current span's fields (the invocation's ids on Lambda) under `span`.
fn json_subscriber<W>(
    filter: &str,
    writer: W,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    tracing_subscriber::EnvFilter,
    W,
>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(writer)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Whether this process has not served an invocation yet.
static COLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// The span every line of one invocation is written in. Its level is ERROR so that whatever
/// `MKPF_LOG` lets through keeps the invocation's ids (a span's level only decides whether it is
/// enabled; it is not printed as a level).
pub fn invocation_span(
    metrics: &mkpf_core::metrics::Metrics,
    function: &str,
    ctx: &lambda_runtime::Context,
) -> tracing::Span {
    let cold = COLD.swap(false, std::sync::atomic::Ordering::Relaxed);
    if cold {
        metrics.count("cold_start", &[("function", function)], 1);
    }
    tracing::error_span!(
        "invocation",
        requestId = %ctx.request_id,
        xrayTraceId = ctx.xray_trace_id.as_deref().unwrap_or(""),
        coldStart = cold,
    )
}

/// The environment variable Lambda sets from a function's Handler.
pub const HANDLER_VAR: &str = "_HANDLER";

/// The Lambda entry: serves the function named by `_HANDLER` (see [`routes::Function::id`]).
pub async fn serve_from_env() -> Result<(), BoxError> {
    let id = std::env::var(HANDLER_VAR).unwrap_or_default();
    let Some(function) = routes::function(&id) else {
        let e = format!("{HANDLER_VAR}={id:?} names no route, consumer or job of the route table");
        println!("{}", serde_json::json!({"level": "ERROR", "message": "start-up failed", "error": e}));
        return Err(e.into());
    };
    let app = crate::boot::lambda_app().await?;
    match function {
        routes::Function::Route(r) => serve_route(app, r.name).await,
        routes::Function::Consumer(c) => serve_consumer(app, c.name).await,
        routes::Function::Job(j) => serve_job(app, j.name).await,
    }
}

/// Serves one HTTP route on Lambda (API Gateway HTTP API events).
pub async fn serve_route(app: App, route: &str) -> Result<(), BoxError> {
    use tracing::Instrument;
    let name: &'static str = routes::route(route).map(|s| s.name).ok_or_else(|| format!("no route named {route:?}"))?;
    let router = mkpf_http::lambda_router(app.clone(), route)?.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let span =
                req.extensions().get::<lambda_runtime::Context>().map(|ctx| invocation_span(&app.metrics, name, ctx));
            async move {
                match span {
                    Some(span) => next.run(req).instrument(span).await,
                    None => next.run(req).await,
                }
            }
        },
    ));
    lambda_http::run(router).await
}

/// Serves one queue consumer on Lambda (SQS events, partial batch failures).
pub async fn serve_consumer(app: App, name: &str) -> Result<(), BoxError> {
    use tracing::Instrument;
    let spec = routes::consumer(name).ok_or_else(|| format!("no consumer named {name:?}"))?;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
        let app = app.clone();
        let span = invocation_span(&app.metrics, spec.name, &ev.context);
        async move { Ok::<_, BoxError>(crate::worker::handle_sqs_event(&app, spec, ev.payload).await) }.instrument(span)
    }))
    .await
}

/// Serves one scheduled job on Lambda (EventBridge Scheduler events; the payload is ignored).
pub async fn serve_job(app: App, name: &str) -> Result<(), BoxError> {
    use tracing::Instrument;
    let spec = routes::job(name).ok_or_else(|| format!("no job named {name:?}"))?;
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        let span = invocation_span(&app.metrics, spec.name, &ev.context);
        async move { crate::worker::run_job(&app, spec).await.map_err(BoxError::from) }.instrument(span)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_of_an_invocation_carries_its_request_and_trace_ids_and_the_first_counts_a_cold_start() {
        let metrics = mkpf_core::metrics::Metrics::default();
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = json_subscriber("warn", move || writer.clone()).finish();
        let ctx = |id: &str| {
            let mut c = lambda_runtime::Context::default();
            c.request_id = id.into();
            c.xray_trace_id = Some(format!("Root=1-6b06dbd0-{id};Sampled=1"));
            c
        };
        tracing::subscriber::with_default(subscriber, || {
            for id in ["req-one", "req-two"] {
                let _in = invocation_span(&metrics, "notices-create", &ctx(id)).entered();
                tracing::warn!(detail = "x", "inside");
                tracing::info!("filtered out by MKPF_LOG=warn");
            }
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, id) in lines.iter().zip(["req-one", "req-two"]) {
            assert_eq!(line["span"]["requestId"], id, "{line}");
            assert_eq!(line["span"]["xrayTraceId"], format!("Root=1-6b06dbd0-{id};Sampled=1"));
            assert_eq!(line["message"], "inside");
        }
        assert_eq!(
            (lines[0]["span"]["coldStart"].clone(), lines[1]["span"]["coldStart"].clone()),
            (true.into(), false.into())
        );
        let cold: u64 = metrics.snapshot().iter().filter(|s| s.name == "cold_start").map(|s| s.count).sum();
        assert_eq!(cold, 1);
    }
}
