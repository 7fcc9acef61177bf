//! The `ops-tasks` queue: operations background tasks and their consumer.

use serde::{Deserialize, Serialize};

use super::notices::{self, PurgeNotice};
use crate::caps::Audits;
use crate::ports::queue::ConsumeError;

/// One task. The JSON form is `{"task": "<kind>", ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum OpsTask {
    PurgeNotice(PurgeNotice),
}

impl OpsTask {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Handles one `ops-tasks` message. Unreadable messages are rejected (they go to the
/// dead-letter queue); store faults are retried.
pub async fn handle(app: &impl Audits, body: &str) -> Result<(), ConsumeError> {
    let task: OpsTask =
        serde_json::from_str(body).map_err(|e| ConsumeError::Reject(format!("unreadable ops task: {e}")))?;
    match task {
        OpsTask::PurgeNotice(t) => {
            let deleted = notices::purge(app, &t).await.map_err(|e| ConsumeError::Retry(e.to_string()))?;
            tracing::info!(task = "purge_notice", notice_id = %t.id, deleted, "ops task done");
            Ok(())
        }
    }
}
