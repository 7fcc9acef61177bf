//! MyKey Platform AWS adapters: the DynamoDB implementation of the `Store` port
//! ([`DynamoStore`]), the SQS implementation of the `Queue` port ([`SqsQueue`]), and the
//! provisioning and SDK configuration helpers local runs and tests use ([`provision`]), and
//! process bootstrap onto the configured backend ([`bootstrap`]), the KMS token signer
//! ([`KmsTokenKeys`]), and the KMS envelope sealer of secrets at rest ([`KmsSealer`]).
//!
//! Both adapters pass the conformance suites in `mkpf_core::testing` (run against moto by
//! `tests/moto_conformance.rs`).

pub mod dynamodb;
pub mod kms;
pub mod provision;
mod sdk_error;
pub mod sealer;
pub mod sqs;

pub use dynamodb::DynamoStore;
pub use kms::KmsTokenKeys;
pub use provision::{ProvisionError, create_queues, create_tables, sdk_config_from_env};
pub use sealer::KmsSealer;
pub use sqs::SqsQueue;
