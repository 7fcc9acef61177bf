//! `mkpf-function`: the one binary behind every Lambda function. Each function (route, queue
//! consumer or job) gets its own role and settings from the CDK app, which sets the function's
//! Handler to its id (`_HANDLER`): the route name, `<consumer>-consumer` or `<job>-job` from the
//! route table. The binary builds its dependencies once, then serves that one entry and nothing
//! else (see `docs/architecture.md`, "One function package").

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    mkpf_runtime::lambda::serve_from_env().await
}
