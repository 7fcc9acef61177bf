//! The KMS implementation of the `Sealer` port: envelope encryption under a symmetric KMS key
//! (`MKPF_DATA_KMS_KEY`).
//!
//! - **Sealing.** The first seal of a process asks KMS for a data key (`GenerateDataKey`,
//!   AES_256, with [`ENCRYPTION_CONTEXT`]); the process keeps the plaintext key in memory and
//!   seals locally with AES-256-GCM (random 96-bit nonce, the caller's associated data) until the
//!   key is [`Limits::max_age`] old or has sealed [`Limits::max_seals`] values, then asks for a
//!   new one. So a seal costs no KMS request, and a data key never seals more than a million
//!   values (random nonces stay far below GCM's 2^32 bound).
//! - **Sealed form.** `k1.<base64url(encrypted data key)>.<base64url(nonce ‖ ciphertext ‖ tag)>`:
//!   the value carries its own data key, encrypted under the KMS key, so any process holding
//!   `kms:Decrypt` on that key can open it, and a data key can be retired by simply ceasing to
//!   use it.
//! - **Opening.** The encrypted data key is decrypted once (`Decrypt`, with the same encryption
//!   context and the configured key id, so a value sealed under another KMS key is refused by
//!   KMS) and the plaintext key is cached by the SHA-256 of its encrypted form (at most
//!   [`Limits::max_cached`] keys, least recently used evicted). Concurrent opens of values under
//!   the same uncached data key share one `Decrypt`. A process that sealed a value opens it with
//!   no KMS request at all.
//!
//! Key material is never logged: [`KmsSealer`]'s `Debug` shows the KMS key id and counters only,
//! and errors name the operation, never a key or a value.
//!
//! KMS requests: one `GenerateDataKey` per process per hour (or million seals), and one `Decrypt`
//! per process per distinct data key it opens. Both count against the account's shared
//! symmetric-cryptography request quota (thousands per second); a busy consumer opening values
//! sealed by many processes makes at most one `Decrypt` per sealing process's key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mkpf_core::ports::sealer::{KeyError, Sealer};
use rand::RngCore;
use sha2::Digest;
use tokio::sync::OnceCell;

/// The scheme tag of values this sealer produces.
pub const SCHEME: &str = "k1";

/// The KMS encryption context of every data key (`GenerateDataKey` and `Decrypt`). Fixed, since
/// one data key seals many values; each value is bound to its own associated data by AES-GCM.
/// The CDK app may require it in the functions' grants (`kms:EncryptionContext:purpose`).
pub const ENCRYPTION_CONTEXT: (&str, &str) = ("purpose", "mkpf-sealer");

/// The KMS encryption context of the staff sealer (`MKPF_STAFF_DATA_KMS_KEY`, staff TOTP seeds).
/// The CDK app grants it only to the functions that need `staff_data_key`, so a function granted
/// [`ENCRYPTION_CONTEXT`] cannot open a staff seed, and the other way round.
pub const STAFF_ENCRYPTION_CONTEXT: (&str, &str) = ("purpose", "mkpf-staff-totp");

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// When a process's data key is replaced, and how many opened data keys it keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A data key seals for at most this long (default 1 hour).
    pub max_age: Duration,
    /// A data key seals at most this many values (default 1,000,000).
    pub max_seals: u64,
    /// Plaintext data keys kept for opening (default 1,024).
    pub max_cached: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_age: Duration::from_secs(3600), max_seals: 1_000_000, max_cached: 1024 }
    }
}

/// The data key this process seals with.
struct Current {
    cipher: Arc<Aes256Gcm>,
    /// base64url of the encrypted data key, as written into each sealed value.
    encrypted_b64: Arc<str>,
    created: Instant,
    seals: u64,
}

/// An opened data key, or the place for it while one request decrypts it.
type KeyCell = Arc<OnceCell<Arc<Aes256Gcm>>>;

/// Opened data keys by the SHA-256 of their encrypted form; each with its last use, for eviction.
#[derive(Default)]
struct Opened {
    entries: HashMap<[u8; 32], (KeyCell, u64)>,
    tick: u64,
}

pub struct KmsSealer {
    client: aws_sdk_kms::Client,
    key_id: String,
    /// The encryption context of every `GenerateDataKey` and `Decrypt`.
    context: (&'static str, &'static str),
    limits: Limits,
    current: tokio::sync::Mutex<Option<Current>>,
    opened: Mutex<Opened>,
    generated: AtomicU64,
    decrypted: AtomicU64,
}

impl std::fmt::Debug for KmsSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSealer")
            .field("key_id", &self.key_id)
            .field("context", &self.context)
            .field("limits", &self.limits)
            .field("generate_data_key_requests", &self.generated.load(Ordering::Relaxed))
            .field("decrypt_requests", &self.decrypted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn kms_error<E>(op: &str, e: aws_sdk_kms::error::SdkError<E>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
{
    format!("KMS {op}: {}", aws_sdk_kms::error::DisplayErrorContext(e))
}

fn malformed() -> KeyError {
    KeyError::Invalid("sealed value is malformed or was altered".into())
}

impl KmsSealer {
    /// `key_id`: the symmetric KMS key's ARN, id or alias (`MKPF_DATA_KMS_KEY`).
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> KmsSealer {
        Self::with_limits(client, key_id, Limits::default())
    }

    /// A sealer whose data keys carry `context` instead of [`ENCRYPTION_CONTEXT`] (the staff
    /// sealer: [`STAFF_ENCRYPTION_CONTEXT`]).
    pub fn with_context(
        client: aws_sdk_kms::Client,
        key_id: impl Into<String>,
        context: (&'static str, &'static str),
    ) -> KmsSealer {
        KmsSealer { context, ..Self::with_limits(client, key_id, Limits::default()) }
    }

    pub fn with_limits(client: aws_sdk_kms::Client, key_id: impl Into<String>, limits: Limits) -> KmsSealer {
        KmsSealer {
            client,
            key_id: key_id.into(),
            context: ENCRYPTION_CONTEXT,
            limits: Limits { max_cached: limits.max_cached.max(1), max_seals: limits.max_seals.max(1), ..limits },
            current: tokio::sync::Mutex::new(None),
            opened: Mutex::new(Opened::default()),
            generated: AtomicU64::new(0),
            decrypted: AtomicU64::new(0),
        }
    }

    /// `GenerateDataKey` requests this sealer has made.
    pub fn generate_data_key_requests(&self) -> u64 {
        self.generated.load(Ordering::Relaxed)
    }

    /// `Decrypt` requests this sealer has made.
    pub fn decrypt_requests(&self) -> u64 {
        self.decrypted.load(Ordering::Relaxed)
    }

    /// The cipher to seal with now, and the encrypted data key to write next to the value;
    /// asks KMS for a new data key when there is none or the current one is used up. The lock
    /// is held across the request, so concurrent first seals make one request.
    async fn sealing_key(&self) -> Result<(Arc<Aes256Gcm>, Arc<str>), KeyError> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_mut()
            && c.seals < self.limits.max_seals
            && c.created.elapsed() < self.limits.max_age
        {
            c.seals += 1;
            return Ok((c.cipher.clone(), c.encrypted_b64.clone()));
        }
        self.generated.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(self.context.0, self.context.1)
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(kms_error("GenerateDataKey", e)))?;
        let encrypted = out
            .ciphertext_blob
            .ok_or_else(|| KeyError::Invalid("KMS GenerateDataKey returned no ciphertext".into()))?;
        let plain =
            out.plaintext.ok_or_else(|| KeyError::Invalid("KMS GenerateDataKey returned no plaintext".into()))?;
        let cipher = Arc::new(cipher_of(plain)?);
        // The process opens what it sealed without asking KMS.
        self.remember(hash(encrypted.as_ref()), cipher.clone());
        let encrypted_b64: Arc<str> = URL_SAFE_NO_PAD.encode(encrypted.as_ref()).into();
        *current = Some(Current {
            cipher: cipher.clone(),
            encrypted_b64: encrypted_b64.clone(),
            created: Instant::now(),
            seals: 1,
        });
        Ok((cipher, encrypted_b64))
    }

    /// The cache cell of an encrypted data key (created empty if absent), marked as just used;
    /// the least recently used entry goes when the cache is full.
    fn cell(&self, h: [u8; 32]) -> KeyCell {
        let mut o = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        o.tick += 1;
        let tick = o.tick;
        if let Some((cell, used)) = o.entries.get_mut(&h) {
            *used = tick;
            return cell.clone();
        }
        if o.entries.len() >= self.limits.max_cached
            && let Some(oldest) = o.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k)
        {
            o.entries.remove(&oldest);
        }
        let cell = Arc::new(OnceCell::new());
        o.entries.insert(h, (cell.clone(), tick));
        cell
    }

    fn remember(&self, h: [u8; 32], cipher: Arc<Aes256Gcm>) {
        let _ = self.cell(h).set(cipher);
    }

    /// The cipher of an encrypted data key: cached, or decrypted by KMS (once per key, also
    /// under concurrent opens).
    async fn opening_key(&self, encrypted: &[u8]) -> Result<Arc<Aes256Gcm>, KeyError> {
        let cell = self.cell(hash(encrypted));
        cell.get_or_try_init(|| async {
            self.decrypted.fetch_add(1, Ordering::Relaxed);
            let out = self
                .client
                .decrypt()
                .key_id(&self.key_id)
                .ciphertext_blob(Blob::new(encrypted))
                .encryption_context(self.context.0, self.context.1)
                .send()
                .await
                .map_err(|e| {
                    use aws_sdk_kms::operation::decrypt::DecryptError;
                    match e.as_service_error() {
                        // Altered, or sealed under another KMS key (or another context).
                        Some(DecryptError::InvalidCiphertextException(_) | DecryptError::IncorrectKeyException(_)) => {
                            KeyError::Invalid(format!("sealed value not opened: {}", kms_error("Decrypt", e)))
                        }
                        _ => KeyError::Unavailable(kms_error("Decrypt", e)),
                    }
                })?;
            let plain = out.plaintext.ok_or_else(|| KeyError::Invalid("KMS Decrypt returned no plaintext".into()))?;
            Ok(Arc::new(cipher_of(plain)?))
        })
        .await
        .cloned()
    }
}

fn hash(encrypted: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(encrypted).into()
}

/// An AES-256-GCM cipher from a plaintext data key; the key bytes are overwritten after use.
fn cipher_of(plain: Blob) -> Result<Aes256Gcm, KeyError> {
    let mut bytes = plain.into_inner();
    let cipher = if bytes.len() == 32 {
        Ok(Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeyError::Invalid("bad data key".into()))?)
    } else {
        Err(KeyError::Invalid(format!("KMS returned a {}-byte data key; AES_256 is 32 bytes", bytes.len())))
    };
    bytes.iter_mut().for_each(|b| *b = 0);
    cipher
}

#[async_trait]
impl Sealer for KmsSealer {
    async fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<String, KeyError> {
        let (cipher, encrypted_b64) = self.sealing_key().await?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| KeyError::Unavailable("encryption failed".into()))?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&ct);
        Ok(format!("{SCHEME}.{encrypted_b64}.{}", URL_SAFE_NO_PAD.encode(body)))
    }

    async fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(SCHEME), Some(key), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        let encrypted = URL_SAFE_NO_PAD.decode(key).map_err(|_| malformed())?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed())?;
        // KMS ciphertexts of a 32-byte key are well over 32 bytes and below 6 KiB.
        if encrypted.len() < 32 || encrypted.len() > 6144 || raw.len() < NONCE_LEN + TAG_LEN {
            return Err(malformed());
        }
        let cipher = self.opening_key(&encrypted).await?;
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad }).map_err(|_| malformed())
    }
}
