//! The route table: every HTTP route, queue consumer and scheduled job, declared once.
//!
//! The local platform mounts all of it; each Lambda function serves its one entry (the one
//! binary of `functions/lambda`, told which by its Handler: [`Function::id`]); the OpenAPI
//! document (`GET /openapi.json`) and the infra manifest (`infra/manifest.json`, read by the CDK
//! app) are generated from it. Adding a route means: a handler, one entry here (see
//! `docs/architecture.md`).

use axum::routing::{MethodFilter, MethodRouter};
use serde::Serialize;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::app::App;
use crate::auth::{Access, Role};
use crate::handlers::{
    audit as audit_http, card_auth as card_http, mykey as mykey_http, ops as ops_http, platform, staff as staff_http,
};
use mkpf_core::ports::queue::ConsumeError;
use mkpf_core::ports::{QueueDef, TableDef};
use mkpf_core::{ops, queues, tables};
use std::sync::LazyLock;

pub mod mynapoint;
pub mod mynapoint_catalog;
pub mod mynapoint_dispatch;
pub mod mynapoint_feeds;

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
/// Staff account routes that change an account and may end its sessions.
pub(crate) const STAFF_RW: &[TableUse] = &[write(&tables::STAFF), write(&tables::STAFF_SESSIONS)];
/// Staff account routes that only read accounts.
pub(crate) const STAFF_R: &[TableUse] = &[read(&tables::STAFF)];
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
    handler: |m| axum::routing::on(m, || async { crate::ApiError::internal("a route without a handler") }),
};

/// Every HTTP route.
/// The routes of the foundation, staff, audit, card-auth and MyKey ID areas; the other areas'
/// routes are in their own files of this module, and [`ROUTES`] is all of them.
pub static CORE_ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "health",
        verb: Verb::Get,
        path: "/healthz",
        access: PUBLIC,
        summary: "Store and queue health",
        tag: "platform",
        response: Some(schema::<platform::Health>),
        tables: &[read(&tables::OPS)],
        handler: |m| axum::routing::on(m, platform::health),
        ..ROUTE
    },
    RouteSpec {
        name: "openapi",
        verb: Verb::Get,
        path: "/openapi.json",
        access: PUBLIC,
        summary: "This API's OpenAPI 3.1 document",
        tag: "platform",
        handler: |m| axum::routing::on(m, platform::openapi),
        ..ROUTE
    },
    RouteSpec {
        name: "metrics",
        verb: Verb::Get,
        path: "/metrics",
        access: OPERATOR,
        summary: "Counters and timings of this process, and queue depths",
        tag: "platform",
        response: Some(schema::<platform::MetricsView>),
        inspects_queues: queues::ALL,
        handler: |m| axum::routing::on(m, platform::metrics),
        ..ROUTE
    },
    RouteSpec {
        name: "notices-public-list",
        verb: Verb::Get,
        path: "/v1/notices",
        access: PUBLIC,
        summary: "Notices published now (newest first, at most 50)",
        tag: "notices",
        response: Some(schema::<ops_http::PublicNoticeList>),
        tables: &[read(&tables::OPS)],
        handler: |m| axum::routing::on(m, ops_http::public_list),
        ..ROUTE
    },
    RouteSpec {
        name: "notices-create",
        verb: Verb::Post,
        path: "/v1/ops/notices",
        access: OPERATOR,
        idempotent: true,
        summary: "Create a notice with its publication window",
        tag: "notices",
        request: Some(schema::<ops_http::CreateNoticeRequest>),
        response: Some(schema::<ops_http::NoticeView>),
        status: 201,
        tables: &[write(&tables::OPS), write(&tables::IDEMPOTENCY)],
        handler: |m| axum::routing::on(m, ops_http::create),
        ..ROUTE
    },
    RouteSpec {
        name: "notices-list",
        verb: Verb::Get,
        path: "/v1/ops/notices",
        access: OPERATOR,
        summary: "All notices, newest first, paged",
        tag: "notices",
        query: &[
            ("limit", "page size, 1 to 100 (default 50)", r#"{"type":"integer","minimum":1,"maximum":100}"#),
            ("cursor", "`next_cursor` of the previous page", r#"{"type":"string","maxLength":2048}"#),
        ],
        response: Some(schema::<ops_http::NoticePage>),
        tables: &[read(&tables::OPS)],
        handler: |m| axum::routing::on(m, ops_http::list),
        ..ROUTE
    },
    RouteSpec {
        name: "notices-get",
        verb: Verb::Get,
        path: "/v1/ops/notices/{id}",
        access: OPERATOR,
        summary: "One notice (ETag: its version)",
        tag: "notices",
        response: Some(schema::<ops_http::NoticeView>),
        tables: &[read(&tables::OPS)],
        handler: |m| axum::routing::on(m, ops_http::get),
        ..ROUTE
    },
    RouteSpec {
        name: "notices-update",
        verb: Verb::Patch,
        path: "/v1/ops/notices/{id}",
        access: OPERATOR,
        summary: "Change a notice's text or reschedule it (If-Match: version, optional)",
        tag: "notices",
        request: Some(schema::<ops_http::UpdateNoticeRequest>),
        response: Some(schema::<ops_http::NoticeView>),
        tables: &[write(&tables::OPS)],
        handler: |m| axum::routing::on(m, ops_http::update),
        ..ROUTE
    },
    RouteSpec {
        name: "notices-withdraw",
        verb: Verb::Post,
        path: "/v1/ops/notices/{id}/withdraw",
        access: OPERATOR,
        summary: "Withdraw a notice at once (If-Match: version, optional)",
        tag: "notices",
        response: Some(schema::<ops_http::NoticeView>),
        tables: &[write(&tables::OPS)],
        handler: |m| axum::routing::on(m, ops_http::withdraw),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-sign-in",
        verb: Verb::Post,
        path: "/v1/staff/sessions",
        access: PUBLIC,
        summary: "Sign in with staff id, password and TOTP code",
        tag: "staff",
        request: Some(schema::<staff_http::LoginRequest>),
        response: Some(schema::<staff_http::LoginResponse>),
        status: 201,
        tables: &[write(&tables::STAFF), write(&tables::STAFF_SESSIONS), append(&tables::AUDIT)],
        keys: &[KeyUse::Sign(SigningKey::StaffTokens)],
        needs: &[Need::StaffDataKey],
        handler: |m| axum::routing::on(m, staff_http::sign_in),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-sign-out",
        verb: Verb::Delete,
        path: "/v1/staff/sessions/current",
        access: ANY_STAFF,
        summary: "Sign out (ends this session)",
        tag: "staff",
        status: 204,
        tables: &[write(&tables::STAFF_SESSIONS)],
        handler: |m| axum::routing::on(m, staff_http::sign_out),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-me",
        verb: Verb::Get,
        path: "/v1/staff/me",
        access: ANY_STAFF,
        summary: "The signed-in staff member and pending steps",
        tag: "staff",
        response: Some(schema::<staff_http::Me>),
        tables: STAFF_R,
        handler: |m| axum::routing::on(m, staff_http::me),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-password-change",
        verb: Verb::Post,
        path: "/v1/staff/me/password",
        access: ANY_STAFF,
        summary: "Change your password (ends every session)",
        tag: "staff",
        request: Some(schema::<staff_http::PasswordChange>),
        status: 204,
        tables: STAFF_RW,
        handler: |m| axum::routing::on(m, staff_http::change_password),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-totp-start",
        verb: Verb::Post,
        path: "/v1/staff/me/totp",
        access: ANY_STAFF,
        summary: "Start TOTP enrolment: a secret and provisioning URI, shown once",
        tag: "staff",
        response: Some(schema::<staff_http::TotpEnrolment>),
        status: 201,
        tables: STAFF_RW,
        needs: &[Need::StaffDataKey],
        handler: |m| axum::routing::on(m, staff_http::start_totp),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-totp-confirm",
        verb: Verb::Post,
        path: "/v1/staff/me/totp/confirm",
        access: ANY_STAFF,
        summary: "Confirm TOTP enrolment with a code (ends every session)",
        tag: "staff",
        request: Some(schema::<staff_http::TotpConfirm>),
        status: 204,
        tables: STAFF_RW,
        needs: &[Need::StaffDataKey],
        handler: |m| axum::routing::on(m, staff_http::confirm_totp),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-create",
        verb: Verb::Post,
        path: "/v1/ops/staff",
        access: OPERATOR,
        summary: "Create a staff account; returns a one-time password",
        tag: "staff",
        request: Some(schema::<staff_http::CreateStaffRequest>),
        response: Some(schema::<staff_http::StaffWithPassword>),
        status: 201,
        tables: &[write(&tables::STAFF)],
        handler: |m| axum::routing::on(m, staff_http::create),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-list",
        verb: Verb::Get,
        path: "/v1/ops/staff",
        access: OPERATOR_OR_AUDITOR,
        summary: "Staff accounts of the platform or of one municipality (audited)",
        tag: "staff",
        query: &[
            (
                "municipality",
                "list this municipality's staff (default: the platform's own staff)",
                r#"{"type":"string","pattern":"^[0-9]{6}$"}"#,
            ),
            ("limit", "page size, 1 to 100 (default 50)", r#"{"type":"integer","minimum":1,"maximum":100}"#),
            ("cursor", "`next_cursor` of the previous page", r#"{"type":"string","maxLength":2048}"#),
        ],
        response: Some(schema::<staff_http::StaffPage>),
        tables: STAFF_R,
        handler: |m| axum::routing::on(m, staff_http::list),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-get",
        verb: Verb::Get,
        path: "/v1/ops/staff/{id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "One staff account (audited)",
        tag: "staff",
        response: Some(schema::<staff_http::StaffView>),
        tables: STAFF_R,
        handler: |m| axum::routing::on(m, staff_http::get),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-mfa-reset",
        verb: Verb::Post,
        path: "/v1/ops/staff/{id}/mfa-reset",
        access: OPERATOR,
        summary: "Remove a member's TOTP authenticator (ends their sessions)",
        tag: "staff",
        response: Some(schema::<staff_http::StaffView>),
        tables: STAFF_RW,
        handler: |m| axum::routing::on(m, staff_http::reset_mfa),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-password-reset",
        verb: Verb::Post,
        path: "/v1/ops/staff/{id}/password-reset",
        access: OPERATOR,
        summary: "Set a new one-time password and lift a lock (ends their sessions)",
        tag: "staff",
        response: Some(schema::<staff_http::StaffWithPassword>),
        tables: STAFF_RW,
        handler: |m| axum::routing::on(m, staff_http::reset_password),
        ..ROUTE
    },
    RouteSpec {
        name: "staff-disable",
        verb: Verb::Post,
        path: "/v1/ops/staff/{id}/disable",
        access: OPERATOR,
        summary: "Disable an account (ends its sessions)",
        tag: "staff",
        response: Some(schema::<staff_http::StaffView>),
        tables: STAFF_RW,
        handler: |m| axum::routing::on(m, staff_http::disable),
        ..ROUTE
    },
    RouteSpec {
        name: "municipal-staff-list",
        verb: Verb::Get,
        path: "/v1/municipalities/{code}/staff",
        access: MUNICIPALITY_SCOPED,
        summary: "Staff of one municipality (its own staff, or platform roles; audited)",
        tag: "staff",
        query: &[
            ("limit", "page size, 1 to 100 (default 50)", r#"{"type":"integer","minimum":1,"maximum":100}"#),
            ("cursor", "`next_cursor` of the previous page", r#"{"type":"string","maxLength":2048}"#),
        ],
        response: Some(schema::<staff_http::StaffPage>),
        tables: STAFF_R,
        handler: |m| axum::routing::on(m, staff_http::list_municipal),
        ..ROUTE
    },
    RouteSpec {
        name: "audit-export",
        verb: Verb::Get,
        path: "/v1/audit/records",
        access: AUDITOR,
        summary: "Audit records of a date range as JSON Lines (application/x-ndjson), paged",
        tag: "audit",
        query: &[
            ("from", "first Asia/Tokyo date, YYYY-MM-DD (required)", r#"{"type":"string","format":"date"}"#),
            (
                "to",
                "last Asia/Tokyo date, YYYY-MM-DD, at most 31 days after `from` (required)",
                r#"{"type":"string","format":"date"}"#,
            ),
            ("limit", "records per page, 1 to 5000 (default 1000)", r#"{"type":"integer","minimum":1,"maximum":5000}"#),
            ("cursor", "the `MKPF-Next-Cursor` header of the previous page", r#"{"type":"string","maxLength":512}"#),
        ],
        tables: &[read(&tables::AUDIT)],
        handler: |m| axum::routing::on(m, audit_http::export),
        ..ROUTE
    },
    RouteSpec {
        name: "audit-verify",
        verb: Verb::Get,
        path: "/v1/audit/verification",
        access: AUDITOR,
        summary: "Verify the audit hash chains of a date range",
        tag: "audit",
        query: &[
            ("from", "first Asia/Tokyo date, YYYY-MM-DD (required)", r#"{"type":"string","format":"date"}"#),
            (
                "to",
                "last Asia/Tokyo date, YYYY-MM-DD, at most 31 days after `from` (required)",
                r#"{"type":"string","format":"date"}"#,
            ),
        ],
        response: Some(schema::<audit_http::VerificationView>),
        tables: &[read(&tables::AUDIT)],
        keys: &[KeyUse::Verify(SigningKey::AuditSeal)],
        handler: |m| axum::routing::on(m, audit_http::verification),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-challenge",
        verb: Verb::Post,
        path: "/v1/card-auth/challenges",
        access: PUBLIC,
        summary: "A one-time nonce for the card to sign (5 minutes; rate-limited per source)",
        tag: "card-auth",
        response: Some(schema::<card_http::ChallengeResponse>),
        status: 201,
        tables: &[write(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, card_http::create_challenge),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-session",
        verb: Verb::Post,
        path: "/v1/card-auth/sessions",
        access: PUBLIC,
        summary: "Sign in with the card's authentication certificate and its signature over the nonce",
        tag: "card-auth",
        request: Some(schema::<card_http::SessionRequest>),
        response: Some(schema::<card_http::SessionResponse>),
        status: 201,
        tables: &[write(&tables::CARD_AUTH), write(&tables::PEOPLE), append(&tables::AUDIT)],
        keys: &[KeyUse::Sign(SigningKey::CitizenTokens)],
        needs: &[Need::TrustAnchors],
        handler: |m| axum::routing::on(m, card_http::create_session),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-sign-out",
        verb: Verb::Delete,
        path: "/v1/card-auth/sessions/current",
        access: CITIZEN,
        summary: "Sign out (ends this citizen session)",
        tag: "card-auth",
        status: 204,
        tables: &[write(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, card_http::sign_out),
        ..ROUTE
    },
    RouteSpec {
        name: "crl-import",
        verb: Verb::Post,
        path: "/v1/ops/card-auth/crls",
        access: OPERATOR,
        summary: "Import a DER CRL (application/pkix-crl) signed by a trust anchor",
        tag: "card-auth",
        response: Some(schema::<crate::handlers::card_auth::CrlImport>),
        tables: &[write(&tables::CARD_AUTH)],
        needs: &[Need::TrustAnchors],
        handler: |m| axum::routing::on(m, card_http::import_crl),
        ..ROUTE
    },
    RouteSpec {
        name: "crl-status",
        verb: Verb::Get,
        path: "/v1/ops/card-auth/crls",
        access: OPERATOR_OR_AUDITOR,
        summary: "The current CRL of every trust anchor, and whether it is still current",
        tag: "card-auth",
        response: Some(schema::<card_http::CrlStates>),
        tables: &[read(&tables::CARD_AUTH)],
        needs: &[Need::TrustAnchors],
        handler: |m| axum::routing::on(m, card_http::crl_states),
        ..ROUTE
    },
    RouteSpec {
        name: "linkage-feed-import",
        verb: Verb::Post,
        path: "/v1/ops/card-auth/linkage-feeds",
        access: OPERATOR,
        summary: "Import a renewal linkage feed (text/csv); its rows are re-linked in the background",
        tag: "card-auth",
        response: Some(schema::<crate::handlers::card_auth::LinkageFeedView>),
        status: 202,
        tables: &[write(&tables::CARD_AUTH)],
        sends_to: &[&queues::CARD_RELINK],
        handler: |m| axum::routing::on(m, card_http::import_linkage_feed),
        ..ROUTE
    },
    RouteSpec {
        name: "linkage-feed-get",
        verb: Verb::Get,
        path: "/v1/ops/card-auth/linkage-feeds/{feed_id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "Progress and report of a linkage feed import (unknown old certificates, conflicts; audited)",
        tag: "card-auth",
        response: Some(schema::<crate::handlers::card_auth::LinkageFeedView>),
        tables: &[read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, card_http::linkage_feed),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-create",
        verb: Verb::Post,
        path: "/v1/mykey-ids",
        access: CITIZEN,
        summary: "Create your MyKey ID: 201 when created; 200 with the same ID when you already have one",
        tag: "mykey",
        response: Some(schema::<mykey_http::MyKeyView>),
        status: 201,
        also_status: &[200],
        tables: &[write(&tables::PEOPLE), read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, mykey_http::create),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-me",
        verb: Verb::Get,
        path: "/v1/mykey-ids/me",
        access: CITIZEN,
        summary: "Your MyKey ID, linked certificates and standing (audited)",
        tag: "mykey",
        response: Some(schema::<mykey_http::MyKeyView>),
        tables: &[read(&tables::PEOPLE), read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, mykey_http::me),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-suggestions",
        verb: Verb::Get,
        path: "/v1/mykey-ids/me/suggestions",
        access: CITIZEN,
        summary: "Up to three available MyKey IDs to change to",
        tag: "mykey",
        response: Some(schema::<mykey_http::Suggestions>),
        tables: &[read(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, mykey_http::suggestions),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-change",
        verb: Verb::Put,
        path: "/v1/mykey-ids/me",
        access: CITIZEN,
        summary: "Change your MyKey ID to a chosen or suggested one (audited)",
        tag: "mykey",
        request: Some(schema::<mykey_http::ChangeRequest>),
        response: Some(schema::<mykey_http::MyKeyView>),
        tables: &[write(&tables::PEOPLE), read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, mykey_http::change),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-revoke",
        verb: Verb::Delete,
        path: "/v1/mykey-ids/me",
        access: CITIZEN,
        summary: "Revoke your MyKey ID (you can create a new one later)",
        tag: "mykey",
        status: 204,
        tables: &[write(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, mykey_http::revoke),
        ..ROUTE
    },
];

/// The consumers of the core areas (see [`CONSUMERS`] for all).
pub static CORE_CONSUMERS: &[ConsumerSpec] = &[
    ConsumerSpec {
        name: "ops-tasks",
        queue: &queues::OPS_TASKS,
        summary: "Operations background tasks (notice purges)",
        tables: &[write(&tables::OPS), append(&tables::AUDIT)],
        sends_to: &[],
        needs: &[],
        handler: |app, body| Box::pin(async move { ops::tasks::handle(&app, &body).await }),
    },
    ConsumerSpec {
        name: "card-relink",
        queue: &queues::CARD_RELINK,
        summary: "Re-link renewed certificates to their person, a batch of linkage-feed rows at a time",
        tables: &[write(&tables::PEOPLE), write(&tables::CARD_AUTH), append(&tables::AUDIT)],
        sends_to: &[],
        needs: &[],
        handler: |app, body| Box::pin(async move { mkpf_core::mykey::relink::handle(&app, &body).await }),
    },
];

/// The scheduled jobs of the core areas (see [`JOBS`] for all).
pub static CORE_JOBS: &[JobSpec] = &[
    JobSpec {
        name: "notice-retention",
        schedule: Schedule::DailyJst { hour: 3, minute: 30 },
        summary: "Queue a purge for every notice past its retention period",
        tables: &[read(&tables::OPS)],
        sends_to: &[&queues::OPS_TASKS],
        keys: &[],
        needs: &[],
        run: |app| {
            Box::pin(async move {
                let n = ops::notices::enqueue_purges(&app).await.map_err(|e| e.to_string())?;
                Ok(serde_json::json!({ "purges_queued": n }))
            })
        },
    },
    JobSpec {
        name: "audit-seal",
        schedule: Schedule::DailyJst { hour: 0, minute: 15 },
        summary: "Sign the chain heads of every finished, unsealed day of the last week",
        tables: &[append(&tables::AUDIT)],
        sends_to: &[],
        keys: &[KeyUse::Sign(SigningKey::AuditSeal)],
        needs: &[],
        run: |app| {
            Box::pin(async move {
                let days = mkpf_core::audit::seal::seal_finished_days(&app).await?;
                Ok(serde_json::json!({ "sealed_days": days.iter().map(ToString::to_string).collect::<Vec<_>>() }))
            })
        },
    },
    JobSpec {
        name: "crl-fetch",
        schedule: Schedule::Every { minutes: 60 },
        summary: "Download the CRLs at MKPF_CRL_URLS and import the newer ones",
        tables: &[write(&tables::CARD_AUTH), append(&tables::AUDIT)],
        sends_to: &[],
        keys: &[],
        needs: &[Need::TrustAnchors, Need::CrlUrls],
        run: |app| Box::pin(async move { mkpf_core::card_auth::fetch::run(&app).await }),
    },
];

/// The core list, then each programme area's own list, in table order.
fn gather<T>(core: &'static [T], areas: [&'static [T]; 4]) -> Vec<&'static T> {
    core.iter().chain(areas.into_iter().flatten()).collect()
}

/// Every HTTP route, in table order: the core areas, then each programme area's own list.
pub static ROUTES: LazyLock<Vec<&'static RouteSpec>> = LazyLock::new(|| {
    gather(
        CORE_ROUTES,
        [mynapoint::ROUTES, mynapoint_catalog::ROUTES, mynapoint_dispatch::ROUTES, mynapoint_feeds::ROUTES],
    )
});
/// Every queue consumer.
pub static CONSUMERS: LazyLock<Vec<&'static ConsumerSpec>> = LazyLock::new(|| {
    gather(
        CORE_CONSUMERS,
        [mynapoint::CONSUMERS, mynapoint_catalog::CONSUMERS, mynapoint_dispatch::CONSUMERS, mynapoint_feeds::CONSUMERS],
    )
});
/// Every scheduled job.
pub static JOBS: LazyLock<Vec<&'static JobSpec>> = LazyLock::new(|| {
    gather(CORE_JOBS, [mynapoint::JOBS, mynapoint_catalog::JOBS, mynapoint_dispatch::JOBS, mynapoint_feeds::JOBS])
});

pub fn route(name: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().copied().find(|r| r.name == name)
}
pub fn consumer(name: &str) -> Option<&'static ConsumerSpec> {
    CONSUMERS.iter().copied().find(|c| c.name == name)
}
pub fn job(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().copied().find(|j| j.name == name)
}

/// One Lambda function: an entry of the table.
#[derive(Clone, Copy)]
pub enum Function {
    Route(&'static RouteSpec),
    Consumer(&'static ConsumerSpec),
    Job(&'static JobSpec),
}

impl Function {
    /// The function's id: its Handler (and `mkpf-<stage>-<id>` its name) on AWS. A route's
    /// name, `<name>-consumer` or `<name>-job`.
    pub fn id(self) -> String {
        match self {
            Function::Route(r) => r.name.to_owned(),
            Function::Consumer(c) => format!("{}-consumer", c.name),
            Function::Job(j) => format!("{}-job", j.name),
        }
    }

    /// `route`, `consumer` or `job`.
    pub fn kind(self) -> &'static str {
        match self {
            Function::Route(_) => "route",
            Function::Consumer(_) => "consumer",
            Function::Job(_) => "job",
        }
    }
}

/// Every Lambda function of the table, in table order (routes, consumers, jobs).
pub fn functions() -> Vec<Function> {
    let mut v: Vec<Function> = ROUTES.iter().copied().map(Function::Route).collect();
    v.extend(CONSUMERS.iter().copied().map(Function::Consumer));
    v.extend(JOBS.iter().copied().map(Function::Job));
    v
}

/// The function with this id (see [`Function::id`]).
pub fn function(id: &str) -> Option<Function> {
    functions().into_iter().find(|f| f.id() == id)
}
