//! Payment providers (決済事業者): create, list, read, and rotate the secret they sign their
//! callbacks with.
//!
//! Items (table `programs`): `PROVIDER#<id>` / `PROFILE` (`provider_id`, `name`, `status`,
//! `created_at`, `version`; `gsi1pk = PROVIDERS`, `gsi1sk = <id>` lists them) and the inbound
//! callback secrets `PROVIDER#<id>` / `SECRET#<secret id>` ([`super::secrets`]). Creating a
//! provider writes the profile and its first secret in one audited transaction
//! (`mynapoint.provider_create`); the secret is returned once. Reads are not audited: the
//! catalogue holds no personal data.

use serde_json::json;
use time::OffsetDateTime;

use super::catalog::{self, PROVIDERS_GSI};
use super::secrets::{self, NewSecret, Overlap, RotateError, SecretMeta, SecretOwner};
use crate::audit::{self, Context, Event};
use crate::caps::{Audits, Secrets, Stores};
use crate::domain::mynapoint::{ParseError, ProviderId};
use crate::ports::KeyError;
use crate::ports::store::*;
use crate::tables::PROGRAMS;

/// A display name in the catalogue (provider, payment service): 1–100 characters after trimming,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogName(String);

impl CatalogName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(s: &str) -> Result<CatalogName, ParseError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > Self::MAX_CHARS {
            return Err(ParseError(format!("1 to {} characters", Self::MAX_CHARS)));
        }
        if t.chars().any(char::is_control) {
            return Err(ParseError("no control characters (one line)".into()));
        }
        Ok(CatalogName(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a provider is in business with the platform. (Only `active` exists so far: a provider
/// that leaves withdraws its services' intake; see `services::set_intake`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderStatus {
    Active,
}

impl ProviderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::Active => "active",
        }
    }
}

/// A provider's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub id: ProviderId,
    pub name: CatalogName,
    pub status: ProviderStatus,
    pub created_at: OffsetDateTime,
    pub version: i64,
}

impl Provider {
    pub fn to_item(&self) -> Item {
        let mut i = PROGRAMS.key_item(&catalog::provider_key(&self.id));
        i.insert("kind".into(), "provider".into());
        i.insert("provider_id".into(), self.id.as_str().into());
        i.insert("name".into(), self.name.as_str().into());
        i.insert("status".into(), self.status.as_str().into());
        i.insert("created_at".into(), Value::N(self.created_at.unix_timestamp()));
        i.insert("version".into(), Value::N(self.version));
        i.insert("gsi1pk".into(), PROVIDERS_GSI.into());
        i.insert("gsi1sk".into(), self.id.as_str().into());
        i
    }

    pub fn from_item(i: &Item) -> Result<Provider, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("provider record: {what}"));
        Ok(Provider {
            id: ProviderId::parse(i.s("provider_id")?).map_err(|_| corrupt("provider_id"))?,
            name: CatalogName::parse(i.s("name")?).map_err(|_| corrupt("name"))?,
            status: match i.s("status")? {
                "active" => ProviderStatus::Active,
                _ => return Err(corrupt("status")),
            },
            created_at: OffsetDateTime::from_unix_timestamp(i.n("created_at")?).map_err(|_| corrupt("created_at"))?,
            version: i.n("version")?,
        })
    }
}

/// What an operator supplies to create a provider.
#[derive(Debug, Clone)]
pub struct NewProvider {
    pub id: ProviderId,
    pub name: CatalogName,
}

/// A provider with the metadata of its callback secrets (never the secrets).
#[derive(Debug, Clone)]
pub struct ProviderDetail {
    pub provider: Provider,
    /// Every stored secret, newest first (retired ones until their TTL removes them).
    pub secrets: Vec<SecretMeta>,
}

/// A provider just created, with its first callback secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedProvider {
    pub provider: Provider,
    pub secret: NewSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateProviderError {
    #[error("a provider with this id exists")]
    Exists,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("secret could not be sealed: {0}")]
    Sealer(#[from] KeyError),
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderReadError {
    #[error("no such provider")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn target(id: &ProviderId) -> String {
    format!("provider:{id}")
}

/// Creates a provider and its first inbound callback secret, in one audited transaction.
pub async fn create(
    app: &(impl Audits + Secrets),
    ctx: &Context,
    new: NewProvider,
) -> Result<CreatedProvider, CreateProviderError> {
    let now = app.clock().now();
    let provider = Provider { id: new.id, name: new.name, status: ProviderStatus::Active, created_at: now, version: 1 };
    let owner = SecretOwner::Provider(provider.id.clone());
    let (secret, secret_op) = secrets::first_secret(app, &owner).await?;
    let ops =
        vec![TxOp::Put { table: &PROGRAMS, item: provider.to_item(), cond: Some(Cond::not_exists("pk")) }, secret_op];
    let ev = Event::success("mynapoint.provider_create", vec![target(&provider.id)])
        .with_detail(json!({ "secret_id": secret.meta.id.to_string() }));
    match audit::commit(app, ctx, ev, ops).await {
        Ok(()) => {
            secrets::forget(app, &owner);
            Ok(CreatedProvider { provider, secret })
        }
        Err(e) if e.failed_condition_index().is_some() => Err(CreateProviderError::Exists),
        Err(e) => Err(e.into()),
    }
}

/// A provider's profile, if it exists (one read).
pub async fn find(app: &impl Stores, id: &ProviderId) -> Result<Option<Provider>, StoreError> {
    app.store().get(&PROGRAMS, &catalog::provider_key(id)).await?.map(|i| Provider::from_item(&i)).transpose()
}

/// A provider and its secrets' metadata (one query of its partition).
pub async fn get(app: &impl Stores, id: &ProviderId) -> Result<ProviderDetail, ProviderReadError> {
    let pk = catalog::provider_key(id).pk;
    let items = query_all(app.store().as_ref(), Query::new(&PROGRAMS, pk).limit(100)).await?;
    let profile = items.iter().find(|i| i.opt_s("sk") == Some("PROFILE")).ok_or(ProviderReadError::NotFound)?;
    Ok(ProviderDetail { provider: Provider::from_item(profile)?, secrets: secrets::metas_of(&items)? })
}

/// Every provider, by id (one index query per 100; there are tens).
pub async fn list(app: &impl Stores) -> Result<Vec<Provider>, StoreError> {
    let q = Query::new(&PROGRAMS, PROVIDERS_GSI).index("gsi1").limit(100);
    query_all(app.store().as_ref(), q).await?.iter().map(Provider::from_item).collect()
}

/// Rotates the provider's callback secret (`mynapoint.provider_secret_rotate`): the new secret is
/// returned once; the previous ones retire after `overlap`.
pub async fn rotate_secret(
    app: &(impl Audits + Secrets),
    ctx: &Context,
    id: &ProviderId,
    overlap: Overlap,
) -> Result<NewSecret, RotateError> {
    secrets::rotate(app, ctx, &SecretOwner::Provider(id.clone()), overlap, "mynapoint.provider_secret_rotate").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(CatalogName::parse("  Demo Pay ").unwrap().as_str(), "Demo Pay");
        assert!(CatalogName::parse("   ").is_err());
        assert!(CatalogName::parse("a\nb").is_err());
        assert!(CatalogName::parse(&"あ".repeat(100)).is_ok(), "characters, not bytes");
        assert!(CatalogName::parse(&"あ".repeat(101)).is_err());
    }

    #[test]
    fn profiles_round_trip() {
        let p = Provider {
            id: ProviderId::parse("demo").unwrap(),
            name: CatalogName::parse("Demo").unwrap(),
            status: ProviderStatus::Active,
            created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            version: 2,
        };
        assert_eq!(Provider::from_item(&p.to_item()).unwrap(), p);
    }
}
