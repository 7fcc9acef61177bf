//! Signing keys on local disk: ES256 (P-256) private keys in PKCS#8 PEM under `<data dir>/keys/`
//! (one for staff tokens, one for audit seals), created on first start with owner-only
//! permissions. For the embedded backend and tests only; on AWS the keys live in KMS.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use mkpf_core::ports::keys::{KeyError, TokenKeys, p256_decoding_key};

pub const KEY_FILE: &str = "keys/staff-token-es256.pem";
pub const SEAL_KEY_FILE: &str = "keys/audit-seal-es256.pem";
/// The local key file signing citizen session tokens.
pub const CITIZEN_KEY_FILE: &str = "keys/citizen-token-es256.pem";

pub struct LocalKeys {
    signing: SigningKey,
    kid: String,
    decoding: Arc<DecodingKey>,
}

impl LocalKeys {
    /// A fresh key in memory (tests).
    pub fn generate() -> LocalKeys {
        Self::from_signing(SigningKey::random(&mut rand::rngs::OsRng)).expect("a fresh key is valid")
    }

    fn from_signing(signing: SigningKey) -> Result<LocalKeys, KeyError> {
        let public = p256::PublicKey::from(signing.verifying_key());
        let (kid, decoding) = p256_decoding_key(&public)?;
        Ok(LocalKeys { signing, kid, decoding: Arc::new(decoding) })
    }

    /// Loads `<dir>/keys/staff-token-es256.pem`, creating it (mode 0600) if absent.
    pub fn load_or_create(dir: &Path) -> Result<LocalKeys, KeyError> {
        Self::load_or_create_file(dir, KEY_FILE)
    }

    /// Loads `<dir>/<file>`, creating it (mode 0600) if absent.
    pub fn load_or_create_file(dir: &Path, file: &str) -> Result<LocalKeys, KeyError> {
        let path = dir.join(file);
        let io = |e: std::io::Error| KeyError::Unavailable(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(&path) {
            Ok(pem) => {
                let key = SigningKey::from_pkcs8_pem(&pem)
                    .map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))?;
                Self::from_signing(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::random(&mut rand::rngs::OsRng);
                let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Invalid(e.to_string()))?;
                if let Some(parent) = path.parent() {
                    super::private_fs::create_private_dir(parent).map_err(io)?;
                }
                write_private(&path, pem.as_bytes()).map_err(io)?;
                Self::from_signing(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[async_trait]
impl TokenKeys for LocalKeys {
    fn current_kid(&self) -> &str {
        &self.kid
    }
    async fn sign(&self, input: &[u8]) -> Result<[u8; 64], KeyError> {
        let sig: Signature = self.signing.sign(input);
        Ok(sig.to_bytes().into())
    }
    async fn verifying_key(&self, kid: &str) -> Result<Option<Arc<DecodingKey>>, KeyError> {
        Ok((kid == self.kid).then(|| self.decoding.clone()))
    }
}
