//! Lambda `mynapoint-eligibility-import`: serves `POST /v1/ops/mynapoint/eligibility-feeds/{kind}`. Builds its dependencies once, then hands over to the
//! shared crate (see the route table in `mkpf::routes`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = mkpf_aws::bootstrap::lambda_app().await?;
    mkpf::runtime::serve_route(app, "mynapoint-eligibility-import").await
}
