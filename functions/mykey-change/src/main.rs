//! Lambda `mykey-change`: serves `PUT /v1/mykey-ids/me`. Builds its dependencies once, then hands over to the
//! shared crate (see the route table in `mkpf::routes`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = mkpf_aws::bootstrap::lambda_app().await?;
    mkpf::runtime::serve_route(app, "mykey-change").await
}
