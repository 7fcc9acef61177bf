//! The `TokenKeys` port: signs access tokens (ES256, ECDSA P-256 with SHA-256) and hands out the
//! public keys that verify them. Locally the private key is a file under the data directory; on
//! AWS it never leaves KMS (an asymmetric `ECC_NIST_P256` key, `mkpf-aws::KmsTokenKeys`).

use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
    #[error("signing key misconfigured: {0}")]
    Invalid(String),
}

#[async_trait]
pub trait TokenKeys: Send + Sync {
    /// The key id (`kid`) of tokens signed now.
    fn current_kid(&self) -> &str;
    /// The raw 64-byte `r || s` ES256 signature of `input`.
    async fn sign(&self, input: &[u8]) -> Result<[u8; 64], KeyError>;
    /// The public key of `kid`, or `None` for a key this deployment does not know.
    async fn verifying_key(&self, kid: &str) -> Result<Option<Arc<DecodingKey>>, KeyError>;
}

/// A decoding key from a P-256 public key, and the key id derived from it (first 16 hex digits
/// of the SHA-256 of the uncompressed point).
pub fn p256_decoding_key(public: &p256::PublicKey) -> Result<(String, DecodingKey), KeyError> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use sha2::Digest;
    let point = public.to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        return Err(KeyError::Invalid("the public key is the point at infinity".into()));
    };
    let key = DecodingKey::from_ec_components(&URL_SAFE_NO_PAD.encode(x), &URL_SAFE_NO_PAD.encode(y))
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    let kid = hex::encode(&sha2::Sha256::digest(point.as_bytes())[..8]);
    Ok((kid, key))
}

/// For processes configured without a signing key: every use fails with a clear cause (a
/// function that needs a key but was deployed without one answers 503 and logs why).
pub struct NoKeys;

#[async_trait]
impl TokenKeys for NoKeys {
    fn current_kid(&self) -> &str {
        "none"
    }
    async fn sign(&self, _: &[u8]) -> Result<[u8; 64], KeyError> {
        Err(KeyError::Unavailable("no token signing key configured (MKPF_STAFF_TOKEN_KMS_KEY)".into()))
    }
    async fn verifying_key(&self, _: &str) -> Result<Option<Arc<DecodingKey>>, KeyError> {
        Err(KeyError::Unavailable("no token signing key configured (MKPF_STAFF_TOKEN_KMS_KEY)".into()))
    }
}
