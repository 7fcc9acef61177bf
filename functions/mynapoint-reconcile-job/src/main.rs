//! Lambda `mynapoint-reconcile-job`: runs the daily `mynapoint-reconcile` job (02:00 JST). Builds its dependencies once, then hands over to the
//! shared crate (see the route table in `mkpf::routes`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = mkpf_aws::bootstrap::lambda_app().await?;
    mkpf::runtime::serve_job(app, "mynapoint-reconcile").await
}
