//! The `Sealer` port: authenticated encryption of small secrets at rest (security codes until
//! the provider has them, webhook signing secrets). A sealed value is self-describing text
//! (`<scheme>.<key id>.<…>`), bound to an "associated data" string (e.g. the application id) so
//! that a sealed value cannot be moved to another record. Locally the key is a file under the data
//! directory (AES-256-GCM, `adapters::local_sealer`); on AWS it is a KMS key used in envelope mode
//! (`mkpf-aws::KmsSealer`).

use async_trait::async_trait;

pub use super::keys::KeyError;

#[async_trait]
pub trait Sealer: Send + Sync {
    /// Encrypts `plain`, bound to `aad`.
    async fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<String, KeyError>;
    /// Decrypts what [`Sealer::seal`] produced with the same `aad`. A value that was altered,
    /// moved to another `aad` or sealed under an unknown key is an error.
    async fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, KeyError>;
}

/// For processes configured without a data key: every use fails with a clear cause.
pub struct NoSealer;

#[async_trait]
impl Sealer for NoSealer {
    async fn seal(&self, _: &[u8], _: &[u8]) -> Result<String, KeyError> {
        Err(KeyError::Unavailable("no data key configured (MKPF_DATA_KMS_KEY)".into()))
    }
    async fn open(&self, _: &str, _: &[u8]) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::Unavailable("no data key configured (MKPF_DATA_KMS_KEY)".into()))
    }
}
