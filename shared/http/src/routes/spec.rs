//! The route table's types: a route ([`RouteSpec`]), a queue consumer ([`ConsumerSpec`]), a
//! scheduled job ([`JobSpec`]), what their functions use (tables, queues, keys, deployment
//! inputs), the access lists the areas share, and [`ROUTE`], the defaults of a route entry.

use axum::routing::{MethodFilter, MethodRouter};
use serde::Serialize;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::app::App;
pub(crate) use crate::auth::{Access, Role};
use mkpf_core::ports::queue::ConsumeError;
use mkpf_core::ports::{QueueDef, TableDef};
use mkpf_core::tables;

/// A boxed, sendable future (what consumer handlers and jobs return).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// HTTP methods used by routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
    pub fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// Adds a schema (and the schemas it refers to) to the list and returns a reference to it.
pub type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema>;

/// `schema::<T>` as a [`SchemaFn`].
pub fn schema<T: utoipa::ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

/// How a function uses a table (least-privilege IAM in infra).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TableAccess {
    Read,
    /// Read, put and update, never delete: for the append-only audit trail (records are put,
    /// chain heads updated).
    Append,
    ReadWrite,
}

impl TableAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            TableAccess::Read => "read",
            TableAccess::Append => "append",
            TableAccess::ReadWrite => "read_write",
        }
    }
}

/// One table a function uses, and how.
#[derive(Debug, Clone, Copy)]
pub struct TableUse {
    pub table: &'static TableDef,
    pub access: TableAccess,
}

/// The function only reads `t`.
pub const fn read(t: &'static TableDef) -> TableUse {
    TableUse { table: t, access: TableAccess::Read }
}
/// The function reads and writes `t`.
pub const fn write(t: &'static TableDef) -> TableUse {
    TableUse { table: t, access: TableAccess::ReadWrite }
}
/// The function reads `t` and adds to it, but never deletes from it.
pub const fn append(t: &'static TableDef) -> TableUse {
    TableUse { table: t, access: TableAccess::Append }
}

/// The platform's signing keys: an asymmetric KMS key each on AWS, a key file each locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    /// Signs staff access tokens.
    StaffTokens,
    /// Signs citizen session tokens (card authentication); a separate key, so the public
    /// card-auth route can never mint a staff token.
    CitizenTokens,
    /// Signs the daily seals of the audit chains; only the seal job may sign with it.
    AuditSeal,
}

impl SigningKey {
    pub const ALL: [SigningKey; 3] = [SigningKey::StaffTokens, SigningKey::CitizenTokens, SigningKey::AuditSeal];
    pub fn name(self) -> &'static str {
        match self {
            SigningKey::StaffTokens => "staff-tokens",
            SigningKey::CitizenTokens => "citizen-tokens",
            SigningKey::AuditSeal => "audit-seal",
        }
    }
    /// The variable naming the KMS key on AWS.
    pub fn env(self) -> &'static str {
        match self {
            SigningKey::StaffTokens => "MKPF_STAFF_TOKEN_KMS_KEY",
            SigningKey::CitizenTokens => "MKPF_CITIZEN_TOKEN_KMS_KEY",
            SigningKey::AuditSeal => "MKPF_AUDIT_SEAL_KMS_KEY",
        }
    }
    pub fn purpose(self) -> &'static str {
        match self {
            SigningKey::StaffTokens => {
                "signs staff access tokens (ES256 JWTs); functions that only verify get the public key"
            }
            SigningKey::CitizenTokens => {
                "signs citizen session tokens (ES256 JWTs) after card authentication; citizen routes verify"
            }
            SigningKey::AuditSeal => "signs the daily seal of the audit chains' heads (ES256); only the seal job signs",
        }
    }
}

/// How a function uses a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Sign(SigningKey),
    Verify(SigningKey),
}

/// One HTTP route.
pub struct RouteSpec {
    /// Stable name: metrics dimension, log field, manifest key.
    pub name: &'static str,
    pub verb: Verb,
    /// Path with `{param}` segments (the same syntax for axum, OpenAPI and API Gateway).
    pub path: &'static str,
    /// Who may call it. Empty admits nobody.
    pub access: &'static [Access],
    /// A creating POST: requires an `Idempotency-Key` header and replays stored responses.
    pub idempotent: bool,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Query parameters: name, description, JSON Schema of the value (as JSON text).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    pub request: Option<SchemaFn>,
    pub response: Option<SchemaFn>,
    pub status: u16,
    /// Tables the handler reads or writes (least-privilege IAM in infra). Routes that need
    /// credentials also read `staff-sessions` and `people` (sessions) and write `audit`
    /// (refusals), never `staff` (accounts: staff sign-in and account routes only); see
    /// [`RouteSpec::table_uses`].
    pub tables: &'static [TableUse],
    /// Queues the handler sends to.
    pub sends_to: &'static [&'static QueueDef],
    /// Signing keys the handler signs with or verifies with, beyond the staff-token verification
    /// every route that needs credentials does (see [`RouteSpec::key_uses`]).
    pub keys: &'static [KeyUse],
    /// Queues whose depths the handler reads (their dead-letter queues too).
    pub inspects_queues: &'static [&'static QueueDef],
    /// Deployment inputs the function needs besides tables, queues and keys.
    pub needs: &'static [Need],
    /// The handler implements `Idempotency-Key` itself, atomically with its own write (the
    /// generic protocol costs two extra writes); `idempotent` still documents the header.
    /// Other success statuses the route answers with the same body (documented in OpenAPI).
    pub also_status: &'static [u16],
    /// Another success status with a body of its own (e.g. `202` "not yet" of a poll).
    pub other_response: Option<(u16, SchemaFn)>,
    pub own_idempotency: bool,
    /// The citizen's session item is checked by the use case (it reads the person's whole
    /// partition in one query anyway), not by the guard. Only for routes whose use case does so.
    pub session_in_handler: bool,
    pub handler: fn(MethodFilter) -> MethodRouter<App>,
}

/// A deployment input a function needs (infra sets the matching environment variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The JPKI root bundle (`MKPF_JPKI_TRUST_ANCHORS`): verifying card certificates and CRLs.
    TrustAnchors,
    /// Where the J-LIS CRLs are published (`MKPF_CRL_URLS`).
    CrlUrls,
    /// The symmetric KMS key sealing secrets at rest (`MKPF_DATA_KMS_KEY`): functions that seal
    /// or open security codes or webhook secrets (`app.sealer`); infra grants
    /// kms:GenerateDataKey and kms:Decrypt on it to them only.
    DataKey,
    /// The same KMS key under the staff-only encryption context (`MKPF_STAFF_DATA_KMS_KEY`):
    /// functions that seal or open staff TOTP seeds (`app.staff_sealer`); infra grants
    /// kms:GenerateDataKey and kms:Decrypt only with that context, so no other function can open
    /// a seed even if it could read one.
    StaffDataKey,
}

impl Need {
    pub fn name(self) -> &'static str {
        match self {
            Need::TrustAnchors => "trust_anchors",
            Need::CrlUrls => "crl_urls",
            Need::DataKey => "data_key",
            Need::StaffDataKey => "staff_data_key",
        }
    }
    pub fn env(self) -> &'static str {
        match self {
            Need::TrustAnchors => "MKPF_JPKI_TRUST_ANCHORS",
            Need::CrlUrls => "MKPF_CRL_URLS",
            Need::DataKey => "MKPF_DATA_KMS_KEY",
            Need::StaffDataKey => "MKPF_STAFF_DATA_KMS_KEY",
        }
    }
}

impl RouteSpec {
    pub fn is_public(&self) -> bool {
        self.access.contains(&Access::Public)
    }

    /// Every table the route's function touches: the declared ones, plus, for a route that
    /// needs credentials, the session reads and the audit appends of the route guard (the wider
    /// access wins where a table is both).
    pub fn table_uses(&self) -> Vec<TableUse> {
        let mut v: Vec<TableUse> = self.tables.to_vec();
        if !self.is_public() {
            for implicit in [read(&tables::STAFF_SESSIONS), read(&tables::PEOPLE), append(&tables::AUDIT)] {
                match v.iter_mut().find(|u| u.table.name == implicit.table.name) {
                    Some(u) => u.access = u.access.max(implicit.access),
                    None => v.push(implicit),
                }
            }
        }
        v
    }

    /// Every key use of the route's function: its declared ones, plus, for a route that needs
    /// credentials, verifying staff and citizen tokens (any caller may present either; a token of
    /// the wrong kind must be refused as such, not as an outage).
    pub fn key_uses(&self) -> Vec<KeyUse> {
        let mut v = self.keys.to_vec();
        if !self.is_public() {
            for k in [SigningKey::StaffTokens, SigningKey::CitizenTokens] {
                if !v.contains(&KeyUse::Sign(k)) {
                    v.push(KeyUse::Verify(k));
                }
            }
        }
        v
    }
}

/// A queue consumer.
pub struct ConsumerSpec {
    pub name: &'static str,
    pub queue: &'static QueueDef,
    pub summary: &'static str,
    pub tables: &'static [TableUse],
    pub sends_to: &'static [&'static QueueDef],
    /// Deployment inputs the function needs besides tables, queues and keys.
    pub needs: &'static [Need],
    pub handler: fn(App, String) -> BoxFuture<'static, Result<(), ConsumeError>>,
}

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every day at this Asia/Tokyo wall-clock time.
    DailyJst { hour: u8, minute: u8 },
    /// Every `minutes` minutes.
    Every { minutes: u32 },
}

impl Schedule {
    /// The EventBridge Scheduler expression (evaluated in the `Asia/Tokyo` time zone).
    pub fn expression(self) -> String {
        match self {
            Schedule::DailyJst { hour, minute } => format!("cron({minute} {hour} * * ? *)"),
            Schedule::Every { minutes: 1 } => "rate(1 minute)".into(),
            Schedule::Every { minutes } => format!("rate({minutes} minutes)"),
        }
    }
}

/// A scheduled job.
pub struct JobSpec {
    pub name: &'static str,
    pub schedule: Schedule,
    pub summary: &'static str,
    pub tables: &'static [TableUse],
    pub sends_to: &'static [&'static QueueDef],
    pub keys: &'static [KeyUse],
    pub needs: &'static [Need],
    pub run: fn(App) -> BoxFuture<'static, Result<serde_json::Value, String>>,
}

pub(crate) const OPERATOR: &[Access] = &[Access::Staff(Role::Operator)];
pub(crate) const OPERATOR_OR_AUDITOR: &[Access] = &[Access::Staff(Role::Operator), Access::Staff(Role::Auditor)];
pub(crate) const AUDITOR: &[Access] = &[Access::Staff(Role::Auditor)];
pub(crate) const ANY_STAFF: &[Access] = &[Access::AnyStaff];
pub(crate) const MUNICIPALITY_SCOPED: &[Access] =
    &[Access::Staff(Role::MunicipalStaff), Access::Staff(Role::Operator), Access::Staff(Role::Auditor)];
pub(crate) const PUBLIC: &[Access] = &[Access::Public];
pub(crate) const CITIZEN: &[Access] = &[Access::Citizen];

/// The defaults of a route entry: not idempotent, no query parameters or bodies, 200, no tables,
/// queues or keys of its own. Access and handler are always spelled out.
pub(crate) const ROUTE: RouteSpec = RouteSpec {
    name: "",
    verb: Verb::Get,
    path: "",
    access: &[],
    idempotent: false,
    summary: "",
    tag: "",
    query: &[],
    request: None,
    response: None,
    status: 200,
    tables: &[],
    sends_to: &[],
    keys: &[],
    inspects_queues: &[],
    needs: &[],
    own_idempotency: false,
    session_in_handler: false,
    also_status: &[],
    other_response: None,
    handler: |m| axum::routing::on(m, || async { crate::ApiError::internal("a route without a handler") }),
};
