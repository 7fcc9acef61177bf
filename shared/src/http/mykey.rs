//! HTTP handlers of the MyKey ID lifecycle (STUB: being written).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::CurrentCitizen;
use super::problem::ApiError;
use crate::app::App;

/// The caller's MyKey ID and standing.
#[derive(Serialize, ToSchema)]
pub struct MyKeyView {
    pub mykey_id: Option<String>,
}

/// Up to three available MyKey IDs.
#[derive(Serialize, ToSchema)]
pub struct Suggestions {
    pub suggestions: Vec<String>,
}

/// Body of `PUT /v1/mykey-ids/me`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    pub mykey_id: String,
}

fn todo() -> ApiError {
    ApiError::internal("not implemented yet")
}

pub async fn create(State(_app): State<App>, CurrentCitizen(_me): CurrentCitizen) -> Result<Json<MyKeyView>, ApiError> {
    Err(todo())
}
pub async fn me(State(_app): State<App>, CurrentCitizen(_me): CurrentCitizen) -> Result<Json<MyKeyView>, ApiError> {
    Err(todo())
}
pub async fn suggestions(State(_app): State<App>, CurrentCitizen(_me): CurrentCitizen) -> Result<Json<Suggestions>, ApiError> {
    Err(todo())
}
pub async fn change(State(_app): State<App>, CurrentCitizen(_me): CurrentCitizen) -> Result<Json<MyKeyView>, ApiError> {
    Err(todo())
}
pub async fn revoke(State(_app): State<App>, CurrentCitizen(_me): CurrentCitizen) -> Result<axum::http::StatusCode, ApiError> {
    Err(todo())
}
