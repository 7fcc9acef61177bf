//! The KMS implementation of the `TokenKeys` port: staff tokens are signed by an asymmetric KMS
//! key (`ECC_NIST_P256`, `ECDSA_SHA_256`), so the private key never leaves KMS. Functions that
//! only verify fetch the public key once per process (`GetPublicKey`) and verify locally.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use mkpf_core::ports::keys::{KeyError, TokenKeys, p256_decoding_key};
use p256::pkcs8::DecodePublicKey;
use sha2::Digest;
use tokio::sync::OnceCell;

pub struct KmsTokenKeys {
    client: aws_sdk_kms::Client,
    key_id: String,
    kid: String,
    public: OnceCell<Arc<jsonwebtoken::DecodingKey>>,
}

impl KmsTokenKeys {
    /// `key_id`: the key's ARN, id or alias (`MKPF_STAFF_TOKEN_KMS_KEY`).
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> KmsTokenKeys {
        let key_id = key_id.into();
        let kid = format!("kms-{}", hex::encode(&sha2::Sha256::digest(key_id.as_bytes())[..8]));
        KmsTokenKeys { client, key_id, kid, public: OnceCell::new() }
    }

    async fn fetch_public(&self) -> Result<Arc<jsonwebtoken::DecodingKey>, KeyError> {
        let out = self.client.get_public_key().key_id(&self.key_id).send().await.map_err(|e| {
            KeyError::Unavailable(format!("KMS GetPublicKey: {}", aws_sdk_kms::error::DisplayErrorContext(e)))
        })?;
        let der = out.public_key().ok_or_else(|| KeyError::Invalid("KMS returned no public key".into()))?;
        let pk = p256::PublicKey::from_public_key_der(der.as_ref())
            .map_err(|e| KeyError::Invalid(format!("the KMS key is not a P-256 key: {e}")))?;
        Ok(Arc::new(p256_decoding_key(&pk)?.1))
    }
}

#[async_trait]
impl TokenKeys for KmsTokenKeys {
    fn current_kid(&self) -> &str {
        &self.kid
    }

    async fn sign(&self, input: &[u8]) -> Result<[u8; 64], KeyError> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(input))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(format!("KMS Sign: {}", aws_sdk_kms::error::DisplayErrorContext(e))))?;
        let der = out.signature().ok_or_else(|| KeyError::Invalid("KMS returned no signature".into()))?;
        let sig = p256::ecdsa::Signature::from_der(der.as_ref())
            .map_err(|e| KeyError::Invalid(format!("KMS signature is not DER ECDSA: {e}")))?;
        let sig = sig.normalize_s().unwrap_or(sig);
        Ok(sig.to_bytes().into())
    }

    async fn verifying_key(&self, kid: &str) -> Result<Option<Arc<jsonwebtoken::DecodingKey>>, KeyError> {
        if kid != self.kid {
            return Ok(None);
        }
        self.public.get_or_try_init(|| self.fetch_public()).await.map(|k| Some(k.clone()))
    }
}
