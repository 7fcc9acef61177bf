//! Creating the tables and queues the adapters expect, for local runs against moto and for tests
//! (deployed environments get them from infra, from the same `TableDef`s and `QueueDef`s), and
//! building the SDK configuration from the environment.
//!
//! Everything here is idempotent: an existing table is left as it is (no migration of its
//! indexes), an existing queue gets its attributes set again.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use mkpf_core::ports::{QueueDef, TableDef};

/// How long to wait for a new table to become active.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Dead letters are kept as long as SQS allows (14 days), longer than any source queue keeps
/// messages, so nothing expires in the dead-letter queue before someone can look at it.
const DLQ_RETENTION_SECS: u32 = 14 * 24 * 60 * 60;

/// Provisioning failed; the message says which resource and which call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provisioning failed: {0}")]
pub struct ProvisionError(pub String);

/// The SDK configuration from the environment (region, credentials, and endpoint overrides such
/// as `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`).
pub async fn sdk_config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Creates each table (on-demand billing, string key attributes, global secondary indexes
/// projecting all attributes) unless it exists, waits until it is active, and enables TTL where
/// the table declares a TTL attribute. A failure to enable TTL is logged, not returned: reads
/// filter expired items anyway, and moto does not implement every TTL call.
pub async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    prefix: &str,
    tables: &[&TableDef],
) -> Result<(), ProvisionError> {
    for table in tables {
        let name = format!("{prefix}{}", table.name);
        create_table(client, &name, table).await?;
        wait_active(client, &name).await?;
        if let Some(ttl) = table.ttl {
            enable_ttl(client, &name, ttl).await;
        }
    }
    Ok(())
}

fn key_schema(pk: &str, sk: Option<&str>) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    let mut keys = vec![KeySchemaElement::builder().attribute_name(pk).key_type(KeyType::Hash).build()];
    if let Some(sk) = sk {
        keys.push(KeySchemaElement::builder().attribute_name(sk).key_type(KeyType::Range).build());
    }
    keys.into_iter().collect::<Result<_, _>>().map_err(|e| ProvisionError(format!("key schema: {e}")))
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, table: &TableDef) -> Result<(), ProvisionError> {
    // Every key attribute of the table and its indexes, once.
    let mut attrs = BTreeMap::new();
    for a in [Some(table.pk), table.sk].into_iter().flatten() {
        attrs.insert(a, ());
    }
    for i in table.indexes {
        for a in [Some(i.pk), i.sk].into_iter().flatten() {
            attrs.insert(a, ());
        }
    }
    let definitions = attrs
        .keys()
        .map(|a| AttributeDefinition::builder().attribute_name(*a).attribute_type(ScalarAttributeType::S).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProvisionError(format!("{name}: attribute definitions: {e}")))?;
    let mut indexes = Vec::with_capacity(table.indexes.len());
    for i in table.indexes {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(i.name)
            .set_key_schema(Some(key_schema(i.pk, i.sk)?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(|e| ProvisionError(format!("{name}: index {}: {e}", i.name)))?;
        indexes.push(gsi);
    }
    let result = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema(table.pk, table.sk)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match result {
        Ok(_) => {
            tracing::info!(table = name, "table created");
            Ok(())
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
        Err(e) => Err(ProvisionError(format!("{name}: CreateTable: {}", DisplayErrorContext(&e)))),
    }
}

async fn wait_active(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), ProvisionError> {
    let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| ProvisionError(format!("{name}: DescribeTable: {}", DisplayErrorContext(&e))))?;
        let active = out.table().is_some_and(|t| {
            t.table_status() == Some(&TableStatus::Active)
                && t.global_secondary_indexes()
                    .iter()
                    .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active))
        });
        if active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ProvisionError(format!("{name}: not active after {}s", TABLE_ACTIVE_TIMEOUT.as_secs())));
        }
        tokio::time::sleep(TABLE_POLL_INTERVAL).await;
    }
}

async fn enable_ttl(client: &aws_sdk_dynamodb::Client, name: &str, attr: &str) {
    if let Ok(out) = client.describe_time_to_live().table_name(name).send().await {
        let enabled = out.time_to_live_description().is_some_and(|d| {
            d.attribute_name() == Some(attr)
                && matches!(d.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling))
        });
        if enabled {
            return;
        }
    }
    let spec = match TimeToLiveSpecification::builder().attribute_name(attr).enabled(true).build() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(table = name, error = %e, "TTL not enabled");
            return;
        }
    };
    if let Err(e) = client.update_time_to_live().table_name(name).time_to_live_specification(spec).send().await {
        tracing::warn!(table = name, code = e.code().unwrap_or("unknown"), error = %DisplayErrorContext(&e), "TTL not enabled");
    }
}

/// Creates each queue's dead-letter queue, then the queue itself with its visibility timeout,
/// retention and `RedrivePolicy` (`maxReceiveCount` = `max_receives`). An existing queue gets
/// these attributes set again.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    queues: &[&QueueDef],
) -> Result<(), ProvisionError> {
    for q in queues {
        let dlq_name = format!("{prefix}{}", q.dlq_name());
        let dlq_attrs = HashMap::from([(QueueAttributeName::MessageRetentionPeriod, DLQ_RETENTION_SECS.to_string())]);
        let dlq_url = create_queue(client, &dlq_name, dlq_attrs).await?;
        let arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| ProvisionError(format!("{dlq_name}: GetQueueAttributes: {}", DisplayErrorContext(&e))))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| ProvisionError(format!("{dlq_name}: no QueueArn")))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": q.max_receives.to_string(),
        });
        let name = format!("{prefix}{}", q.name);
        let attrs = HashMap::from([
            (QueueAttributeName::VisibilityTimeout, q.visibility_timeout_secs.to_string()),
            (QueueAttributeName::MessageRetentionPeriod, q.retention_secs.to_string()),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ]);
        create_queue(client, &name, attrs).await?;
    }
    Ok(())
}

/// Creates a queue, or sets the attributes of the existing one; returns its URL.
async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> Result<String, ProvisionError> {
    let created = client.create_queue().queue_name(name).set_attributes(Some(attrs.clone())).send().await;
    match created {
        Ok(out) => {
            // Also returned for an existing queue whose attributes are the same.
            out.queue_url.ok_or_else(|| ProvisionError(format!("{name}: CreateQueue returned no URL")))
        }
        // The queue exists with other attributes: bring them up to date.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_queue_name_exists()) => {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| ProvisionError(format!("{name}: GetQueueUrl: {}", DisplayErrorContext(&e))))?
                .queue_url
                .ok_or_else(|| ProvisionError(format!("{name}: GetQueueUrl returned no URL")))?;
            set_queue_attributes(client, name, &url, attrs).await?;
            Ok(url)
        }
        Err(e) => Err(ProvisionError(format!("{name}: CreateQueue: {}", DisplayErrorContext(&e)))),
    }
}

async fn set_queue_attributes(
    client: &aws_sdk_sqs::Client,
    name: &str,
    url: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> Result<(), ProvisionError> {
    client
        .set_queue_attributes()
        .queue_url(url)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| ProvisionError(format!("{name}: SetQueueAttributes: {}", DisplayErrorContext(&e))))?;
    Ok(())
}
