//! The composition root: configuration → `App` on the configured backend (embedded or AWS).
//! Every process calls [`boot`] once at start; SDK clients are built here, once per process (the
//! outbound HTTP clients on first use, see `crate::egress`). [`app`] and [`app_with_keys`]
//! compose an `App` on given adapters (tests, tools).

use std::sync::Arc;

use mkpf_aws::{DynamoStore, KmsSealer, KmsTokenKeys, SqsQueue, sdk_config_from_env};
use mkpf_core::card_auth::revocation::CrlRevocation;
use mkpf_core::config::{Backend, Config};
use mkpf_core::deps::{Adapters, Deps, KeySet};
use mkpf_core::ports::{Clock, Queue, Sealer, Store, SystemClock, TokenKeys};
use mkpf_embedded::local_keys::{CITIZEN_KEY_FILE, LocalKeys, SEAL_KEY_FILE};
use mkpf_embedded::local_sealer::LocalSealer;
use mkpf_embedded::{self as embedded, EmbeddedStore};
use mkpf_http::App;

use crate::egress::HttpEgress;
use crate::lambda::LogTo;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a process runs on.
pub struct Booted {
    pub app: App,
    /// Set on the embedded backend: the local process sweeps expired items (DynamoDB's TTL does
    /// it on AWS).
    pub embedded_store: Option<Arc<EmbeddedStore>>,
    /// Set on the AWS backend, for provisioning and diagnostics.
    pub aws: Option<AwsClients>,
}

pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub store: Arc<DynamoStore>,
}

/// An `App` on these adapters, with a key of its own for each purpose (as deployed): the
/// revocation check reads the store's CRLs, outbound HTTP follows the backend's egress rules.
pub fn app_with_keys(
    config: Config,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    keys: KeySet,
) -> App {
    let revocation = Arc::new(CrlRevocation::new(store.clone(), clock.clone(), config.crl_grace_secs));
    let egress = Arc::new(HttpEgress::new(config.backend == Backend::Aws));
    let adapters = Adapters { store, queue, clock, keys, revocation, egress };
    App::new(Deps::new(config, adapters))
}

/// An `App` with one key for every token and the audit seals, and fresh data keys (tests and
/// benchmarks); see [`app_with_keys`].
pub fn app(
    config: Config,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    clock: Arc<dyn Clock>,
    keys: Arc<dyn TokenKeys>,
) -> App {
    let data = Arc::new(LocalSealer::generate());
    let staff_data = Arc::new(LocalSealer::generate());
    let set = KeySet { staff: keys.clone(), citizen: keys.clone(), seal: keys, data, staff_data };
    app_with_keys(config, store, queue, clock, set)
}

/// Builds the `App` for `config`.
pub async fn boot(config: Config, clock: Arc<dyn Clock>) -> Result<Booted, BoxError> {
    match config.backend {
        Backend::Embedded => {
            let (store, queue) = embedded::open(&config.data_dir, clock.clone())?;
            // Locally one data key file seals both; staff seeds are kept apart by their
            // associated data (`staff::account::seed_aad`).
            let data: Arc<dyn Sealer> = Arc::new(LocalSealer::load_or_create(&config.data_dir)?);
            let keys = KeySet {
                staff: Arc::new(LocalKeys::load_or_create(&config.data_dir)?),
                citizen: Arc::new(LocalKeys::load_or_create_file(&config.data_dir, CITIZEN_KEY_FILE)?),
                seal: Arc::new(LocalKeys::load_or_create_file(&config.data_dir, SEAL_KEY_FILE)?),
                staff_data: data.clone(),
                data,
            };
            let app = app_with_keys(config, store.clone(), queue, clock, keys);
            Ok(Booted { app, embedded_store: Some(store), aws: None })
        }
        Backend::Aws => {
            let sdk = sdk_config_from_env().await;
            let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            let store = Arc::new(DynamoStore::new(dynamodb.clone(), config.table_prefix.clone(), clock.clone()));
            let queue = Arc::new(SqsQueue::new(sqs.clone(), config.queue_prefix.clone()));
            // Functions that neither sign nor verify with a key get no key (and no KMS permission).
            let kms = aws_sdk_kms::Client::new(&sdk);
            let key = |id: &Option<String>| -> Arc<dyn TokenKeys> {
                match id {
                    Some(key_id) => Arc::new(KmsTokenKeys::new(kms.clone(), key_id.clone())),
                    None => Arc::new(mkpf_core::ports::keys::NoKeys),
                }
            };
            let keys = KeySet {
                staff: key(&config.staff_token_kms_key),
                citizen: key(&config.citizen_token_kms_key),
                seal: key(&config.audit_seal_kms_key),
                // Secrets at rest (security codes, webhook secrets): only functions that seal or
                // open them get the data key (and kms:GenerateDataKey/Decrypt on it).
                data: match &config.data_kms_key {
                    Some(key_id) => Arc::new(KmsSealer::new(kms.clone(), key_id.clone())),
                    None => Arc::new(mkpf_core::ports::sealer::NoSealer),
                },
                // Staff TOTP seeds: the staff-only encryption context, which only the staff
                // sign-in and enrolment functions are granted.
                staff_data: match &config.staff_data_kms_key {
                    Some(key_id) => Arc::new(KmsSealer::with_context(
                        kms.clone(),
                        key_id.clone(),
                        mkpf_aws::sealer::STAFF_ENCRYPTION_CONTEXT,
                    )),
                    None => Arc::new(mkpf_core::ports::sealer::NoSealer),
                },
            };
            let app = app_with_keys(config, store.clone(), queue, clock, keys);
            Ok(Booted { app, embedded_store: None, aws: Some(AwsClients { dynamodb, sqs, store }) })
        }
    }
}

/// Reads and validates the environment, starts JSON logging to `log_to`, and boots.
pub async fn boot_from_env(log_to: LogTo) -> Result<Booted, BoxError> {
    let config = Config::from_env()?;
    crate::lambda::init_logging(&config.log_filter, log_to);
    boot(config, Arc::new(SystemClock)).await
}

/// For Lambda functions (logs on stdout, which Lambda ships to CloudWatch Logs). A function
/// never falls back to the embedded default: `MKPF_BACKEND` must be named (`aws` when deployed;
/// `embedded` only for `cargo lambda watch` on a workstation). A start-up failure is reported as
/// one JSON line before the error is returned.
pub async fn lambda_app() -> Result<App, BoxError> {
    let result = async {
        if std::env::var_os("MKPF_BACKEND").is_none() {
            return Err(BoxError::from(
                "MKPF_BACKEND is not set: Lambda functions need MKPF_BACKEND=aws \
                 (or MKPF_BACKEND=embedded for cargo lambda watch on a workstation)",
            ));
        }
        Ok(boot_from_env(LogTo::Stdout).await?.app)
    }
    .await;
    if let Err(e) = &result {
        println!("{}", serde_json::json!({"level": "ERROR", "message": "start-up failed", "error": e.to_string()}));
    }
    result
}
