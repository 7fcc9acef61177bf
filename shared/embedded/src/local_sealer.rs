//! The local `Sealer`: AES-256-GCM with a 32-byte key in `<data dir>/keys/data-key.bin` (mode
//! 0600, created on first start). Sealed form: `l1.<key id>.<base64url(nonce ‖ ciphertext)>`,
//! where the key id is the first 16 hex digits of the SHA-256 of the key. For the embedded
//! backend and tests only; on AWS the data key is a KMS key.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::Digest;

use mkpf_core::ports::sealer::{KeyError, Sealer};

pub const DATA_KEY_FILE: &str = "keys/data-key.bin";

pub struct LocalSealer {
    cipher: Aes256Gcm,
    kid: String,
}

impl LocalSealer {
    fn from_key(key: [u8; 32]) -> LocalSealer {
        let kid = hex::encode(&sha2::Sha256::digest(key)[..8]);
        LocalSealer { cipher: Aes256Gcm::new(&key.into()), kid }
    }

    /// A fresh key in memory (tests).
    pub fn generate() -> LocalSealer {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::from_key(key)
    }

    /// Loads `<dir>/keys/data-key.bin`, creating it (mode 0600) if absent.
    pub fn load_or_create(dir: &Path) -> Result<LocalSealer, KeyError> {
        let path = dir.join(DATA_KEY_FILE);
        let io = |e: std::io::Error| KeyError::Unavailable(format!("{}: {e}", path.display()));
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| KeyError::Invalid(format!("{}: a data key is 32 bytes", path.display())))?;
                Ok(Self::from_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                if let Some(parent) = path.parent() {
                    super::private_fs::create_private_dir(parent).map_err(io)?;
                }
                super::local_keys::write_private(&path, &key).map_err(io)?;
                Ok(Self::from_key(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }
}

#[async_trait]
impl Sealer for LocalSealer {
    async fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<String, KeyError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| KeyError::Unavailable("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("l1.{}.{}", self.kid, URL_SAFE_NO_PAD.encode(out)))
    }

    async fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let bad = || KeyError::Invalid("sealed value is malformed or was altered".into());
        let mut parts = sealed.splitn(3, '.');
        let (Some("l1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if kid != self.kid {
            return Err(KeyError::Invalid(format!("sealed under unknown data key {kid}")));
        }
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        if raw.len() < 12 + 16 {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad }).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seals_and_opens_bound_to_the_associated_data() {
        let s = LocalSealer::generate();
        let sealed = s.seal(b"1234", b"app_1").await.unwrap();
        assert!(!sealed.contains("1234"));
        assert_eq!(s.open(&sealed, b"app_1").await.unwrap(), b"1234");
        assert!(s.open(&sealed, b"app_2").await.is_err(), "moved to another record");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(s.open(std::str::from_utf8(&tampered).unwrap(), b"app_1").await.is_err());
        assert!(LocalSealer::generate().open(&sealed, b"app_1").await.is_err(), "another key");
        assert_ne!(s.seal(b"1234", b"app_1").await.unwrap(), sealed, "fresh nonce each time");
    }

    #[tokio::test]
    async fn the_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("mkpf-sealer-{}", uuid::Uuid::new_v4()));
        let a = LocalSealer::load_or_create(&dir).unwrap();
        let sealed = a.seal(b"x", b"").await.unwrap();
        let b = LocalSealer::load_or_create(&dir).unwrap();
        assert_eq!(b.open(&sealed, b"").await.unwrap(), b"x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
