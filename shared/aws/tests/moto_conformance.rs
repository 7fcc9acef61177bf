//! The store and queue conformance suites, run against a moto server.
//!
//! `MKPF_TEST_AWS_ENDPOINT` names the server (e.g. `http://127.0.0.1:5055`); `scripts/test`
//! starts moto and sets it. Every test provisions its own tables and queues under a unique
//! prefix, so the tests run in parallel on one server without resetting it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const REGION: &str = "ap-northeast-1";

fn endpoint() -> String {
    match std::env::var("MKPF_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "MKPF_TEST_AWS_ENDPOINT is not set: these tests need a moto server \
             (scripts/test starts moto and sets it, e.g. MKPF_TEST_AWS_ENDPOINT=http://127.0.0.1:5055)"
        ),
    }
}

/// A prefix no other test (in this run or an earlier one on the same server) uses.
fn unique_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("t{:x}-{}-{}-", nanos, std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The ledger suite on DynamoDB: its limits are conditional writes that moto evaluates as
/// DynamoDB does. It runs on a moto that serves one request at a time
/// (`MKPF_TEST_AWS_SERIAL_ENDPOINT`, `scripts/lib/moto_serial.py`): moto rolls a cancelled
/// transaction back by restoring a snapshot of its tables, which on the threaded server also
/// erases what concurrent requests wrote meanwhile (DynamoDB never does). Served one at a time,
/// each transaction is atomic and the suite's concurrent clients still interleave them.
mod ledger {
    use std::sync::Arc;

    use mkpf_aws::{DynamoStore, create_tables};
    use mkpf_core::ports::{Store, SystemClock};
    use mkpf_core::testing::ledger_conformance::LEDGER;

    async fn factory() -> Arc<dyn Store> {
        let endpoint = match std::env::var("MKPF_TEST_AWS_SERIAL_ENDPOINT") {
            Ok(e) if !e.is_empty() => e,
            _ => panic!(
                "MKPF_TEST_AWS_SERIAL_ENDPOINT is not set: the ledger suite needs a moto serving one request \
                 at a time (scripts/test starts scripts/lib/moto_serial.py and sets it)"
            ),
        };
        let client = super::store::client_at(&endpoint);
        let prefix = super::unique_prefix();
        create_tables(&client, &prefix, &[&LEDGER]).await.expect("create the ledger table on moto");
        Arc::new(DynamoStore::new(client, prefix, Arc::new(SystemClock)))
    }

    mkpf_core::ledger_conformance_suite!(factory, 16);
}

mod store {
    use std::sync::Arc;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use mkpf_aws::{DynamoStore, create_tables};
    use mkpf_core::ports::{Store, SystemClock};
    use mkpf_core::testing::store_conformance::TABLES;

    fn client() -> aws_sdk_dynamodb::Client {
        client_at(&super::endpoint())
    }

    pub(super) fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(super::REGION))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    async fn factory() -> Arc<dyn Store> {
        let client = client();
        let prefix = super::unique_prefix();
        create_tables(&client, &prefix, TABLES).await.expect("create tables on moto");
        Arc::new(DynamoStore::new(client, prefix, Arc::new(SystemClock)))
    }

    mkpf_core::store_conformance_suite!(factory);

    /// Adapter-specific: the round-trip counter counts requests, and local validation costs none.
    #[tokio::test]
    async fn round_trips_are_counted() {
        use mkpf_core::ports::{Key, Update};
        use mkpf_core::testing::store_conformance::{ITEMS, SIMPLE};
        let client = client();
        let prefix = super::unique_prefix();
        create_tables(&client, &prefix, TABLES).await.expect("create tables on moto");
        let store = DynamoStore::new(client, prefix, Arc::new(SystemClock));
        assert_eq!(store.round_trips(), 0);
        store.get(&SIMPLE, &Key::pk_only("a")).await.unwrap();
        store.update(&SIMPLE, &Key::pk_only("a"), Update::new().add("n", 1), None).await.unwrap();
        assert_eq!(store.round_trips(), 2);
        store.get(&ITEMS, &Key::pk_only("no sort key")).await.unwrap_err();
        store.update(&SIMPLE, &Key::pk_only("a"), Update::new(), None).await.unwrap_err();
        assert_eq!(store.round_trips(), 2, "locally refused requests cost no round trip");
    }

    /// `Ne` with a missing attribute is false, as `Cond::eval` says (and so its negation holds).
    #[tokio::test]
    async fn ne_on_missing_attribute_is_false() {
        use mkpf_core::ports::{Cond, Key, StoreError, Update};
        use mkpf_core::testing::store_conformance::SIMPLE;
        let store = factory().await;
        let k = Key::pk_only("ne");
        store.update(&SIMPLE, &k, Update::new().set("present", "x"), None).await.unwrap();
        let e = store.update(&SIMPLE, &k, Update::new().add("n", 1), Some(Cond::ne("absent", "y"))).await.unwrap_err();
        assert_eq!(e, StoreError::ConditionFailed);
        store.update(&SIMPLE, &k, Update::new().add("n", 1), Some(Cond::ne("absent", "y").not())).await.unwrap();
        store.update(&SIMPLE, &k, Update::new().add("n", 1), Some(Cond::ne("present", "y"))).await.unwrap();
    }

    /// `delete` does not hand back an item whose TTL has passed (it is gone for reads), but does
    /// remove it.
    #[tokio::test]
    async fn delete_does_not_return_expired_items() {
        use mkpf_core::ports::{Clock, Item, Key, Value};
        use mkpf_core::testing::store_conformance::ITEMS;
        let store = factory().await;
        let now = SystemClock.epoch_secs();
        let mut it = Item::new();
        it.insert("pk".into(), "d".into());
        it.insert("sk".into(), "1".into());
        it.insert("expires".into(), Value::N(now - 10));
        store.put(&ITEMS, it, None).await.unwrap();
        assert_eq!(store.delete(&ITEMS, &Key::new("d", "1"), None).await.unwrap(), None);
        let mut it = Item::new();
        it.insert("pk".into(), "d".into());
        it.insert("sk".into(), "1".into());
        store.put(&ITEMS, it.clone(), Some(mkpf_core::ports::Cond::not_exists("pk"))).await.unwrap();
        assert_eq!(store.delete(&ITEMS, &Key::new("d", "1"), None).await.unwrap(), Some(it));
    }

    /// A store that cannot be reached is `Unavailable`, with a short message naming the call.
    #[tokio::test]
    async fn unreachable_store_is_unavailable() {
        use mkpf_core::ports::{Key, StoreError};
        use mkpf_core::testing::store_conformance::SIMPLE;
        let store = DynamoStore::new(client_at("http://127.0.0.1:9"), "x-", Arc::new(SystemClock));
        let e = store.get(&SIMPLE, &Key::pk_only("a")).await.unwrap_err();
        assert_eq!(e, StoreError::Unavailable("GetItem: could not reach DynamoDB".into()));
        assert!(matches!(store.health().await, Err(StoreError::Unavailable(_))));
    }

    /// Provisioning twice is harmless, and TTL is enabled on the declared attribute.
    #[tokio::test]
    async fn provisioning_is_idempotent_and_enables_ttl() {
        use aws_sdk_dynamodb::types::TimeToLiveStatus;
        use mkpf_core::testing::store_conformance::ITEMS;
        let client = client();
        let prefix = super::unique_prefix();
        create_tables(&client, &prefix, TABLES).await.expect("create tables");
        create_tables(&client, &prefix, TABLES).await.expect("create tables again");
        let ttl = client.describe_time_to_live().table_name(format!("{prefix}{}", ITEMS.name)).send().await.unwrap();
        let d = ttl.time_to_live_description().expect("TTL description");
        assert_eq!(d.attribute_name(), ITEMS.ttl);
        assert_eq!(d.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    }

    /// Adapter-specific: an ADD that would leave i64 fails as on the embedded adapter
    /// (`Validation`), and a caller's own failed condition is still `ConditionFailed`.
    #[tokio::test]
    async fn add_overflow_is_a_validation_error() {
        use mkpf_core::ports::{Cond, Key, StoreError, TxOp, Update, Value};
        use mkpf_core::testing::store_conformance::SIMPLE;
        let store = factory().await;
        let k = Key::pk_only("big");
        store.update(&SIMPLE, &k, Update::new().set("n", Value::N(i64::MAX - 1)), None).await.unwrap();
        let e = store.update(&SIMPLE, &k, Update::new().add("n", 2), None).await.unwrap_err();
        assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
        let e = store.update(&SIMPLE, &k, Update::new().add("n", 2), Some(Cond::not_exists("id"))).await.unwrap_err();
        assert_eq!(e, StoreError::ConditionFailed);
        let e = store
            .transact(vec![TxOp::Update {
                table: &SIMPLE,
                key: k.clone(),
                update: Update::new().add("n", 5),
                cond: None,
            }])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
        let got = store.update(&SIMPLE, &k, Update::new().add("n", 1), None).await.unwrap();
        assert_eq!(got.get("n"), Some(&Value::N(i64::MAX)));
        // ADD on a string is refused the same way.
        store.update(&SIMPLE, &k, Update::new().set("s", "text"), None).await.unwrap();
        let e = store.update(&SIMPLE, &k, Update::new().add("s", 1), None).await.unwrap_err();
        assert!(matches!(e, StoreError::Validation(_)), "{e:?}");
    }
}

mod queue {
    use std::sync::Arc;

    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
    use mkpf_aws::{SqsQueue, create_queues};
    use mkpf_core::ports::Queue;
    use mkpf_core::testing::queue_conformance::QUEUES;

    async fn factory() -> Arc<dyn Queue> {
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(super::REGION))
            .endpoint_url(super::endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build();
        let client = aws_sdk_sqs::Client::from_conf(conf);
        let prefix = super::unique_prefix();
        create_queues(&client, &prefix, QUEUES).await.expect("create queues on moto");
        // Provisioning twice is harmless.
        create_queues(&client, &prefix, QUEUES).await.expect("create queues again");
        Arc::new(SqsQueue::new(client, prefix))
    }

    mkpf_core::queue_conformance_suite!(factory);

    /// A queue that cannot be reached is `Unavailable`, with a short message naming the call.
    #[tokio::test]
    async fn unreachable_queue_is_unavailable() {
        use mkpf_core::ports::{OutMessage, QueueError};
        use mkpf_core::testing::queue_conformance::WORK;
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(super::REGION))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build();
        let queue = SqsQueue::new(aws_sdk_sqs::Client::from_conf(conf), "x-");
        let e = queue.send(&WORK, OutMessage::new("m")).await.unwrap_err();
        assert_eq!(e, QueueError::Unavailable("GetQueueUrl: could not reach SQS".into()));
        assert!(matches!(queue.health().await, Err(QueueError::Unavailable(_))));
    }

    /// Peeking more than one receive's worth of dead letters, and redriving part of them.
    #[tokio::test]
    async fn dead_letters_beyond_one_batch() {
        use std::time::Duration;

        use mkpf_core::ports::OutMessage;
        use mkpf_core::testing::queue_conformance::WORK;
        let q = factory().await;
        let ids = q.send_batch(&WORK, (0..13).map(|i| OutMessage::new(format!("d{i}"))).collect()).await.unwrap();
        assert_eq!(ids.len(), 13);
        // Exhaust every message's receives.
        for _ in 0..WORK.max_receives {
            let mut round = Vec::new();
            while round.len() < 13 {
                let batch = q.receive(&WORK, 10, Duration::ZERO).await.unwrap();
                assert!(!batch.is_empty());
                round.extend(batch);
            }
            for m in &round {
                q.change_visibility(&WORK, &m.receipt, 0).await.unwrap();
            }
        }
        assert!(q.receive(&WORK, 10, Duration::ZERO).await.unwrap().is_empty());
        assert_eq!(q.depth(&WORK).await.unwrap().dead_letters, 13);
        let peeked = q.peek_dead_letters(&WORK, 20).await.unwrap();
        assert_eq!(peeked.len(), 13);
        assert_eq!(q.peek_dead_letters(&WORK, 4).await.unwrap().len(), 4);
        assert_eq!(q.redrive(&WORK, 11).await.unwrap(), 11);
        assert_eq!(q.depth(&WORK).await.unwrap().dead_letters, 2);
        assert_eq!(q.depth(&WORK).await.unwrap().visible, 11);
        assert_eq!(q.redrive(&WORK, 0).await.unwrap(), 0);
        assert_eq!(q.redrive(&WORK, 10).await.unwrap(), 2);
    }
}

/// The KMS token signer against moto's KMS: an ECC_NIST_P256 key signs tokens that verify with
/// the public key KMS hands out, and tokens of another key are refused.
mod kms {
    use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    use mkpf_aws::KmsTokenKeys;
    use mkpf_core::ports::TokenKeys;
    use mkpf_core::tokens::{self, Claims, TokenError};

    fn client() -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(super::REGION))
            .endpoint_url(super::endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    async fn new_key(client: &aws_sdk_kms::Client) -> String {
        let out = client
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .expect("create a KMS key on moto");
        out.key_metadata().expect("metadata").key_id().to_owned()
    }

    fn claims() -> Claims {
        Claims {
            iss: tokens::ISSUER.into(),
            aud: tokens::STAFF_AUDIENCE.into(),
            sub: "op".into(),
            sid: "s".into(),
            iat: 1_000,
            exp: 2_000,
            roles: vec!["operator".into()],
            muni: None,
            pending: vec![],
        }
    }

    #[tokio::test]
    async fn kms_signed_tokens_verify_and_other_keys_are_refused() {
        let client = client();
        let keys = KmsTokenKeys::new(client.clone(), new_key(&client).await);
        let t = tokens::issue(&keys, &claims()).await.expect("KMS Sign");
        assert_eq!(tokens::verify(&keys, &t, &[tokens::STAFF_AUDIENCE], 1_500).await, Ok(claims()));
        // Every signature verifies (ECDSA is randomised; s is normalised to the low half).
        for _ in 0..5 {
            let t = tokens::issue(&keys, &claims()).await.unwrap();
            assert!(tokens::verify(&keys, &t, &[tokens::STAFF_AUDIENCE], 1_500).await.is_ok());
        }
        let other = KmsTokenKeys::new(client.clone(), new_key(&client).await);
        assert_ne!(other.current_kid(), keys.current_kid());
        let foreign = tokens::issue(&other, &claims()).await.unwrap();
        assert_eq!(
            tokens::verify(&keys, &foreign, &[tokens::STAFF_AUDIENCE], 1_500).await,
            Err(TokenError::BadSignature)
        );
        // A key that does not exist: a clear unavailability, never a panic or a valid token.
        let missing = KmsTokenKeys::new(client, "alias/does-not-exist");
        assert!(matches!(tokens::issue(&missing, &claims()).await, Err(mkpf_core::ports::KeyError::Unavailable(_))));
    }
}

/// The KMS envelope sealer (`KmsSealer`) on moto's KMS: GenerateDataKey once per process,
/// AES-256-GCM locally, Decrypt once per data key; every KMS request is counted by an
/// interceptor on the client, independently of the sealer's own counters.
mod sealer {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use aws_sdk_kms::config::interceptors::BeforeSerializationInterceptorContextRef;
    use aws_sdk_kms::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region};
    use aws_sdk_kms::operation::decrypt::DecryptInput;
    use aws_sdk_kms::operation::generate_data_key::GenerateDataKeyInput;
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    use mkpf_aws::KmsSealer;
    use mkpf_aws::sealer::Limits;
    use mkpf_core::ports::{KeyError, Sealer};

    /// KMS requests made through a client, by operation.
    #[derive(Debug, Default)]
    struct Calls {
        generate: AtomicU64,
        decrypt: AtomicU64,
        other: AtomicU64,
    }

    #[derive(Debug, Clone)]
    struct Counter(Arc<Calls>);

    impl Intercept for Counter {
        fn name(&self) -> &'static str {
            "kms-call-counter"
        }
        fn read_before_execution(
            &self,
            ctx: &BeforeSerializationInterceptorContextRef<'_>,
            _: &mut ConfigBag,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            let input = ctx.input();
            let n = if input.downcast_ref::<GenerateDataKeyInput>().is_some() {
                &self.0.generate
            } else if input.downcast_ref::<DecryptInput>().is_some() {
                &self.0.decrypt
            } else {
                &self.0.other
            };
            n.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    impl Calls {
        fn get(&self) -> (u64, u64) {
            assert_eq!(self.other.load(Ordering::SeqCst), 0, "only GenerateDataKey and Decrypt");
            (self.generate.load(Ordering::SeqCst), self.decrypt.load(Ordering::SeqCst))
        }
    }

    /// A KMS client on moto whose requests are counted.
    fn counted_client() -> (aws_sdk_kms::Client, Arc<Calls>) {
        let calls = Arc::new(Calls::default());
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(super::REGION))
            .endpoint_url(super::endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .interceptor(Counter(calls.clone()))
            .build();
        (aws_sdk_kms::Client::from_conf(conf), calls)
    }

    /// A symmetric (ENCRYPT_DECRYPT) key, as infra creates for `MKPF_DATA_KMS_KEY`.
    async fn new_key() -> String {
        let (client, _) = counted_client();
        let out = client
            .create_key()
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .send()
            .await
            .expect("create a KMS key on moto");
        out.key_metadata().expect("metadata").key_id().to_owned()
    }

    /// Flips one character of the part `i` (0 scheme, 1 encrypted data key, 2 body) of a sealed value.
    fn tamper(sealed: &str, i: usize) -> String {
        let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
        let p = &mut parts[i];
        let mid = p.len() / 2;
        let c = p.as_bytes()[mid];
        p.replace_range(mid..=mid, if c == b'A' { "B" } else { "A" });
        parts.join(".")
    }

    #[tokio::test]
    async fn seals_and_opens_bound_to_the_associated_data() {
        let key = new_key().await;
        let (client, calls) = counted_client();
        let s = KmsSealer::new(client, key);
        let sealed = s.seal(b"1234", b"app_1").await.expect("seal");
        assert!(sealed.starts_with("k1."), "{sealed}");
        assert_eq!(sealed.split('.').count(), 3);
        assert!(!sealed.contains("1234"));
        assert_eq!(s.open(&sealed, b"app_1").await.expect("open"), b"1234");
        assert_ne!(s.seal(b"1234", b"app_1").await.unwrap(), sealed, "fresh nonce each time");
        assert_eq!(s.open(&s.seal(b"", b"").await.unwrap(), b"").await.unwrap(), b"", "empty value and aad");
        let big = vec![7u8; 10_000];
        assert_eq!(s.open(&s.seal(&big, b"x").await.unwrap(), b"x").await.unwrap(), big);

        // Moved to another record: the associated data differs.
        assert!(matches!(s.open(&sealed, b"app_2").await, Err(KeyError::Invalid(_))));
        // Altered body, altered encrypted data key, malformed values.
        assert!(matches!(s.open(&tamper(&sealed, 2), b"app_1").await, Err(KeyError::Invalid(_))));
        assert!(s.open(&tamper(&sealed, 1), b"app_1").await.is_err(), "an altered data key");
        for bad in [
            "",
            "k1",
            "k1..",
            "l1.abc.def",
            "k1.!!!.AAAA",
            &sealed.replacen("k1.", "k2.", 1),
            &sealed[..sealed.len() - 20],
        ] {
            assert!(matches!(s.open(bad, b"app_1").await, Err(KeyError::Invalid(_))), "{bad:?}");
        }
        // One data key for all those seals; opening what this process sealed asks KMS nothing
        // (the one Decrypt is the altered data key's).
        assert_eq!(calls.get(), (1, 1));
        assert_eq!((s.generate_data_key_requests(), s.decrypt_requests()), (1, 1));
        let shown = format!("{s:?}");
        assert!(shown.contains("KmsSealer") && !shown.contains("cipher"), "{shown}");

        // The data key was generated under the encryption context: KMS opens it with the
        // context only.
        use base64::Engine;
        let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sealed.split('.').nth(1).unwrap()).unwrap();
        let (client, _) = counted_client();
        let blob = aws_sdk_kms::primitives::Blob::new(blob);
        assert!(client.decrypt().ciphertext_blob(blob.clone()).send().await.is_err(), "no context");
        let (k, v) = mkpf_aws::sealer::ENCRYPTION_CONTEXT;
        let out =
            client.decrypt().ciphertext_blob(blob).encryption_context(k, v).send().await.expect("with the context");
        assert_eq!(out.plaintext().map(|p| p.as_ref().len()), Some(32), "an AES-256 data key");
    }

    /// The staff sealer's data keys carry the staff-only context: the general context cannot
    /// open them through KMS (so a function granted only that context cannot read TOTP seeds),
    /// nor can a sealer of the general context open what the staff sealer sealed.
    #[tokio::test]
    async fn the_staff_sealer_is_bound_to_its_own_encryption_context() {
        let key = new_key().await;
        let (client, _) = counted_client();
        let staff = KmsSealer::with_context(client.clone(), key.clone(), mkpf_aws::sealer::STAFF_ENCRYPTION_CONTEXT);
        let sealed = staff.seal(b"totp seed", b"mkpf-staff-totp:tanaka").await.expect("seal");
        assert_eq!(staff.open(&sealed, b"mkpf-staff-totp:tanaka").await.expect("open"), b"totp seed");
        let general = KmsSealer::new(client.clone(), key);
        assert!(general.open(&sealed, b"mkpf-staff-totp:tanaka").await.is_err(), "the general context opens nothing");

        use base64::Engine;
        let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sealed.split('.').nth(1).unwrap()).unwrap();
        let blob = aws_sdk_kms::primitives::Blob::new(blob);
        let (k, v) = mkpf_aws::sealer::ENCRYPTION_CONTEXT;
        let r = client.decrypt().ciphertext_blob(blob.clone()).encryption_context(k, v).send().await;
        assert!(r.is_err(), "KMS refuses the staff data key under the general context");
        let (k, v) = mkpf_aws::sealer::STAFF_ENCRYPTION_CONTEXT;
        let out = client.decrypt().ciphertext_blob(blob).encryption_context(k, v).send().await.expect("staff context");
        assert_eq!(out.plaintext().map(|p| p.as_ref().len()), Some(32));
    }

    #[tokio::test]
    async fn a_second_seal_does_not_call_kms_and_another_process_decrypts_once() {
        let key = new_key().await;
        let (client, calls) = counted_client();
        let a = KmsSealer::new(client, key.clone());
        let first = a.seal(b"whsec_one", b"SERVICE#DEMO_PAY#s1").await.unwrap();
        assert_eq!(calls.get(), (1, 0), "the first seal generates a data key");
        let mut more = Vec::new();
        for i in 0..50 {
            more.push((a.seal(format!("code {i}").as_bytes(), format!("app_{i}").as_bytes()).await.unwrap(), i));
        }
        // Concurrent seals share the process's data key too.
        let a = Arc::new(a);
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let a = a.clone();
                tokio::spawn(async move { a.seal(&[i as u8], b"c").await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(calls.get(), (1, 0), "no KMS request after the first seal");
        assert_eq!(a.open(&first, b"SERVICE#DEMO_PAY#s1").await.unwrap(), b"whsec_one");
        assert_eq!(calls.get(), (1, 0), "the sealing process opens its own values without KMS");

        // Another process (a consumer) with the same key: one Decrypt for the data key, then
        // none, also under concurrent opens.
        let (client_b, calls_b) = counted_client();
        let b = Arc::new(KmsSealer::new(client_b, key));
        let tasks: Vec<_> = more
            .iter()
            .cloned()
            .map(|(sealed, i)| {
                let b = b.clone();
                tokio::spawn(async move {
                    assert_eq!(
                        b.open(&sealed, format!("app_{i}").as_bytes()).await.unwrap(),
                        format!("code {i}").as_bytes()
                    );
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(b.open(&first, b"SERVICE#DEMO_PAY#s1").await.unwrap(), b"whsec_one");
        assert_eq!(calls_b.get(), (0, 1), "one Decrypt per data key per process");
    }

    #[tokio::test]
    async fn a_value_sealed_under_another_key_is_refused() {
        let (client, calls) = counted_client();
        let a = KmsSealer::new(client.clone(), new_key().await);
        let b = KmsSealer::new(client, new_key().await);
        let sealed = a.seal(b"1234", b"app_1").await.unwrap();
        assert!(b.open(&sealed, b"app_1").await.is_err(), "KMS refuses a data key of another key");
        assert!(b.open(&sealed, b"app_1").await.is_err(), "and again: a failure is not cached as a key");
        assert_eq!(a.open(&sealed, b"app_1").await.unwrap(), b"1234");
        assert_eq!(calls.get(), (1, 2));
        // A key that does not exist: a clear unavailability, never a panic.
        let (client, _) = counted_client();
        let missing = KmsSealer::new(client, "alias/does-not-exist");
        assert!(matches!(missing.seal(b"x", b"").await, Err(KeyError::Unavailable(_))));
    }

    #[tokio::test]
    async fn the_data_key_is_replaced_after_its_seals_or_its_age_and_old_values_still_open() {
        let key = new_key().await;
        let (client, calls) = counted_client();
        let limits = Limits { max_seals: 3, ..Limits::default() };
        let s = KmsSealer::with_limits(client.clone(), key.clone(), limits);
        let mut sealed = Vec::new();
        for i in 0..7u8 {
            sealed.push(s.seal(&[i], b"a").await.unwrap());
        }
        // Seals 1-3, 4-6, 7: three data keys, each written into its values.
        assert_eq!(calls.get(), (3, 0));
        let keys: std::collections::BTreeSet<&str> = sealed.iter().map(|v| v.split('.').nth(1).unwrap()).collect();
        assert_eq!(keys.len(), 3);
        for (i, v) in sealed.iter().enumerate() {
            assert_eq!(s.open(v, b"a").await.unwrap(), [i as u8]);
        }
        assert_eq!(calls.get(), (3, 0), "its own data keys stay cached");

        let aged = KmsSealer::with_limits(
            client.clone(),
            key.clone(),
            Limits { max_age: Duration::ZERO, ..Limits::default() },
        );
        aged.seal(b"x", b"").await.unwrap();
        aged.seal(b"y", b"").await.unwrap();
        assert_eq!(calls.get(), (5, 0), "an expired data key is replaced");

        // A bounded cache of opened data keys: evicted keys are decrypted again.
        let small = KmsSealer::with_limits(client, key, Limits { max_cached: 2, ..Limits::default() });
        for (i, v) in sealed.iter().enumerate() {
            assert_eq!(small.open(v, b"a").await.unwrap(), [i as u8]);
        }
        assert_eq!(calls.get(), (5, 3), "three data keys, in order: one Decrypt each");
        small.open(&sealed[0], b"a").await.unwrap();
        assert_eq!(calls.get(), (5, 4), "the first was evicted (capacity 2)");
        small.open(&sealed[6], b"a").await.unwrap();
        assert_eq!(calls.get(), (5, 4), "the last is still cached");
    }
}

/// Staff accounts and the audit trail on DynamoDB (moto): audited changes are one
/// TransactWriteItems each, chains stay intact under concurrent writers, and an edited record is
/// found by `verify`.
mod audit_on_dynamodb {
    use std::sync::Arc;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use mkpf_aws::{DynamoStore, SqsQueue, create_tables};
    use mkpf_core::audit::{self, Actor, Context, Event};
    use mkpf_core::domain::staff::{DisplayName, Role, StaffId};
    use mkpf_core::ports::store::*;
    use mkpf_core::ports::{Clock, JST, SystemClock};
    use mkpf_embedded::local_keys::LocalKeys;
    use mkpf_http::App;

    async fn app() -> (App, Arc<DynamoStore>) {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(super::REGION))
            .endpoint_url(super::endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(conf);
        let prefix = super::unique_prefix();
        create_tables(&client, &prefix, mkpf_core::tables::ALL).await.expect("create tables on moto");
        let store = Arc::new(DynamoStore::new(client, prefix.clone(), Arc::new(SystemClock)));
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
                .region(aws_sdk_sqs::config::Region::new(super::REGION))
                .endpoint_url(super::endpoint())
                .credentials_provider(aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "static"))
                .build(),
        );
        mkpf_aws::create_queues(&sqs, &prefix, mkpf_core::queues::ALL).await.expect("create queues on moto");
        let dir = std::env::temp_dir().join(format!("mkpf-moto-{prefix}"));
        let mut config = mkpf_core::config::Config::for_tests(dir);
        config.trust_anchors =
            Some(Arc::new(mkpf_core::card_auth::anchors::TrustAnchors::from_pem(&ca().pem()).unwrap()));
        let app = mkpf_runtime::app(
            config,
            store.clone(),
            Arc::new(SqsQueue::new(sqs, prefix)),
            Arc::new(SystemClock),
            Arc::new(LocalKeys::generate()),
        );
        (app, store)
    }

    fn ca() -> mkpf_card_kit::TestCa {
        static CA: std::sync::OnceLock<mkpf_card_kit::TestCa> = std::sync::OnceLock::new();
        CA.get_or_init(|| {
            let now = time::OffsetDateTime::now_utc();
            mkpf_card_kit::TestCa::generate_with_key(
                "Moto CA",
                mkpf_card_kit::test_key(2048, 0),
                now - time::Duration::days(30),
                now + time::Duration::days(3650),
            )
        })
        .clone()
    }

    /// Card sign-in, MyKey ID creation and a CRL import on DynamoDB, with their round trips.
    #[tokio::test]
    async fn card_sign_in_and_mykey_ids_on_dynamodb() {
        use mkpf_core::card_auth::{challenge, revocation, sign_in};
        let (app, store) = app().await;
        let now = time::OffsetDateTime::now_utc();
        let ca = ca();
        let ctx = Context::new(Actor::cli("moto-test"));
        let card = ca.issue(&mkpf_card_kit::CardSpec::jpki(now).with_key(mkpf_card_kit::test_key(2048, 1)));
        let crl = ca.crl(&[], now - time::Duration::hours(1), now + time::Duration::days(7), 1);
        let imported = revocation::import_crl(&app, &ctx, &crl, &|_, _| {}).await.unwrap();
        assert_eq!(imported.result, "imported");
        let attempt = |c: challenge::Challenge| sign_in::SignInRequest {
            challenge_id: c.id.clone(),
            certificate: card.cert_der().to_vec(),
            signature: card.sign(&c.nonce),
            handoff: None,
        };
        let anon = Context::new(Actor::new("anonymous", None));
        let first = sign_in::sign_in(&app, &anon, attempt(challenge::issue(&app).await.unwrap())).await.unwrap();
        assert!(first.new_person);
        let c = challenge::issue(&app).await.unwrap();
        audit::warm(&app).await.unwrap();
        let before = store.round_trips();
        let again = sign_in::sign_in(&app, &anon, attempt(c.clone())).await.unwrap();
        // Challenge update, revoked-serial read, link read, the audited transaction, profile read
        // (the CRL dates and the chain head are cached by then).
        assert_eq!(store.round_trips() - before, 5);
        assert_eq!(again.person_id, first.person_id);
        // The challenge is spent on DynamoDB too.
        let replay = sign_in::sign_in(&app, &anon, attempt(c)).await.unwrap_err();
        assert!(matches!(replay, sign_in::SignInError::Challenge(challenge::ChallengeError::Used)), "{replay:?}");

        let pctx = Context::new(Actor::new("citizen", Some(first.person_id.as_str())));
        let created = mkpf_core::mykey::lifecycle::create(&app, &pctx, &first.person_id).await.unwrap();
        let same = mkpf_core::mykey::lifecycle::create(&app, &pctx, &first.person_id).await.unwrap();
        assert_eq!((created.created, same.created, &created.id), (true, false, &same.id));
        let third = sign_in::sign_in(&app, &anon, attempt(challenge::issue(&app).await.unwrap())).await.unwrap();
        assert_eq!(third.mykey_id.as_deref(), Some(created.id.as_str()));

        // Revoked by the next CRL: refused.
        let crl2 = ca.crl(&[(&card.serial_hex(), now)], now, now + time::Duration::days(7), 2);
        revocation::import_crl(&app, &ctx, &crl2, &|_, _| {}).await.unwrap();
        let refused = sign_in::sign_in(&app, &anon, attempt(challenge::issue(&app).await.unwrap())).await.unwrap_err();
        assert!(matches!(refused, sign_in::SignInError::Revoked), "{refused:?}");
    }

    /// A Mynapoint application on DynamoDB + SQS: one query and one transaction (warm caches),
    /// and its dispatch message on the queue.
    #[tokio::test]
    async fn an_application_costs_two_dynamodb_round_trips_and_one_message() {
        use mkpf_core::card_auth::{challenge, revocation, sign_in};
        use mkpf_core::domain::mynapoint::{MeasureId, ServiceAccountId, ServiceCode};
        use mkpf_core::mynapoint::applications::{self, ApplyRequest};
        let (app, store) = app().await;
        let now = time::OffsetDateTime::now_utc();
        let ca = ca();
        let ctx = Context::new(Actor::cli("moto-test"));
        let crl = ca.crl(&[], now - time::Duration::hours(1), now + time::Duration::days(7), 1);
        revocation::import_crl(&app, &ctx, &crl, &|_, _| {}).await.unwrap();
        mkpf_core::mynapoint::services::seed_demo(&app, &ctx, "http://127.0.0.1:9/hook").await.unwrap();
        let anon = Context::new(Actor::new("anonymous", None));
        let mut people = Vec::new();
        for k in 2..4 {
            let card = ca.issue(&mkpf_card_kit::CardSpec::jpki(now).with_key(mkpf_card_kit::test_key(2048, k)));
            let c = challenge::issue(&app).await.unwrap();
            let req = sign_in::SignInRequest {
                challenge_id: c.id.clone(),
                certificate: card.cert_der().to_vec(),
                signature: card.sign(&c.nonce),
                handoff: None,
            };
            let grant = sign_in::sign_in(&app, &anon, req).await.unwrap();
            let pctx = Context::new(Actor::new("citizen", Some(grant.person_id.as_str())));
            mkpf_core::mykey::lifecycle::create(&app, &pctx, &grant.person_id).await.unwrap();
            let claims = mkpf_core::tokens::verify(
                app.citizen_keys.as_ref(),
                &grant.token,
                &[mkpf_core::tokens::CITIZEN_AUDIENCE],
                now.unix_timestamp(),
            )
            .await
            .unwrap();
            people.push((grant.person_id, claims.sid, pctx));
        }
        let req = |n: usize| ApplyRequest {
            measure: MeasureId::CardAcquisition,
            service: ServiceCode::parse("DEMO_PAY").unwrap(),
            account: ServiceAccountId::parse(&format!("MOTO-{n}")).unwrap(),
            codes: vec!["1234".into()],
        };
        // The first application warms this process's caches (catalogue, CRL dates, chain head).
        let (pid, sid, pctx) = &people[0];
        let view = applications::person_view(&app, pid, sid).await.unwrap();
        applications::apply(&app, pctx, &view, "k", req(0)).await.unwrap();
        audit::warm(&app).await.unwrap();
        let (pid, sid, pctx) = &people[1];
        let before = store.round_trips();
        let view = applications::person_view(&app, pid, sid).await.unwrap();
        let done = applications::apply(&app, pctx, &view, "k", req(1)).await.unwrap();
        assert_eq!(store.round_trips() - before, 2, "the person's partition and one transaction");
        assert!(!done.replayed);
        // The same request again: replayed (the failed transaction, then one read).
        let view = applications::person_view(&app, pid, sid).await.unwrap();
        let again = applications::apply(&app, pctx, &view, "k", req(1)).await.unwrap();
        assert!(again.replayed && again.application.id == done.application.id);
        let view = applications::person_view(&app, pid, sid).await.unwrap();
        let second = applications::apply(&app, pctx, &view, "k2", req(2)).await.unwrap_err();
        assert!(matches!(second, applications::ApplyError::AlreadyApplied), "{second:?}");
        let msgs = app
            .queue
            .receive(&mkpf_core::queues::PROVIDER_DISPATCH, 10, std::time::Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(msgs.len(), 2, "one dispatch message per application, none for the replay");
    }

    #[tokio::test]
    async fn audited_changes_commit_in_one_transaction_and_tampering_is_found() {
        let (app, store) = app().await;
        let ctx = Context::new(Actor::cli("moto-test"));
        let before = store.round_trips();
        let s = mkpf_core::staff::admin::NewStaff::new(
            StaffId::parse("moto.op").unwrap(),
            DisplayName::parse("Moto").unwrap(),
            vec![Role::Operator],
            None,
        )
        .unwrap();
        mkpf_core::staff::admin::create(&app, &ctx, s.clone()).await.unwrap();
        // One head read (a fresh process knows no chain head) and one transaction.
        assert_eq!(store.round_trips() - before, 2);
        assert!(matches!(
            mkpf_core::staff::admin::create(&app, &ctx, s).await,
            Err(mkpf_core::staff::admin::AdminError::Exists)
        ));

        let mut tasks = Vec::new();
        for i in 0..24 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let ctx = Context::new(Actor::new("staff", Some("w")));
                audit::commit_event(&app, &ctx, Event::success("test.write", vec![format!("item:{i}")])).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let day = SystemClock.now().to_offset(JST).date();
        let report = audit::verify(store.as_ref(), Some(app.seal_keys.as_ref()), day, day, |_, _| {}).await.unwrap();
        assert!(report.ok(), "{:?}", report.findings);
        assert_eq!(report.records, 25, "the create and 24 writes (the refused duplicate rolled back with its record)");

        let (records, _) = audit::export_page(store.as_ref(), day, day, None, 100).await.unwrap();
        let victim = records.iter().find(|r| r.action == "staff.create").unwrap();
        let key = Key::new(format!("CHAIN#{}", victim.chain.replace('/', "#")), format!("SEQ#{:020}", victim.seq));
        let mut item = store.get(&mkpf_core::tables::AUDIT, &key).await.unwrap().unwrap();
        let body = item.get("body").unwrap().as_s().unwrap().replace("moto-test", "intruder");
        item.insert("body".into(), Value::S(body));
        store.put(&mkpf_core::tables::AUDIT, item, None).await.unwrap();
        let report = audit::verify(store.as_ref(), Some(app.seal_keys.as_ref()), day, day, |_, _| {}).await.unwrap();
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(
            (report.findings[0].chain.as_str(), report.findings[0].seq),
            (victim.chain.as_str(), Some(victim.seq))
        );
    }
}
