//! The route table: every HTTP route, queue consumer and scheduled job, declared once.
//!
//! The local platform mounts all of it; each Lambda binary mounts its one entry; the OpenAPI
//! document (`GET /openapi.json`) and the infra manifest (`infra/manifest.json`, read by the CDK
//! app) are generated from it; a test checks that every entry has its binary in `functions/` and
//! every binary has its entry. Adding a route means: a handler, one entry here, one binary.

use axum::routing::{MethodFilter, MethodRouter};
use serde::Serialize;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::app::App;
use crate::http::auth::{Access, Role};
use crate::http::{ops as ops_http, platform};
use crate::ports::{QueueDef, TableDef};
use crate::worker::ConsumeError;
use crate::{ops, queues, tables};

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

/// One HTTP route.
pub struct RouteSpec {
    /// Stable name: metrics dimension, log field, manifest key.
    pub name: &'static str,
    pub verb: Verb,
    /// Path with `{param}` segments (the same syntax for axum, OpenAPI and API Gateway).
    pub path: &'static str,
    /// Who may call it. Empty admits nobody.
    pub access: &'static [Access],
    /// The Lambda binary (a package in `functions/<binary>/`).
    pub binary: &'static str,
    /// A creating POST: requires an `Idempotency-Key` header and replays stored responses.
    pub idempotent: bool,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Query parameters: name, description, JSON Schema of the value (as JSON text).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    pub request: Option<SchemaFn>,
    pub response: Option<SchemaFn>,
    pub status: u16,
    /// Tables the handler reads or writes (least-privilege IAM in infra).
    pub tables: &'static [&'static TableDef],
    /// Queues the handler sends to.
    pub sends_to: &'static [&'static QueueDef],
    pub handler: fn(MethodFilter) -> MethodRouter<App>,
}

/// A queue consumer.
pub struct ConsumerSpec {
    pub name: &'static str,
    pub queue: &'static QueueDef,
    pub binary: &'static str,
    pub summary: &'static str,
    pub tables: &'static [&'static TableDef],
    pub sends_to: &'static [&'static QueueDef],
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
    pub binary: &'static str,
    pub summary: &'static str,
    pub tables: &'static [&'static TableDef],
    pub sends_to: &'static [&'static QueueDef],
    pub run: fn(App) -> BoxFuture<'static, Result<serde_json::Value, String>>,
}

const OPERATOR: &[Access] = &[Access::Staff(Role::Operator)];
const PUBLIC: &[Access] = &[Access::Public];

/// Every HTTP route.
pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "health",
        verb: Verb::Get,
        path: "/healthz",
        access: PUBLIC,
        binary: "health",
        idempotent: false,
        summary: "Store and queue health",
        tag: "platform",
        query: &[],
        request: None,
        response: Some(schema::<platform::Health>),
        status: 200,
        tables: &[&tables::OPS],
        sends_to: &[],
        handler: |m| axum::routing::on(m, platform::health),
    },
    RouteSpec {
        name: "openapi",
        verb: Verb::Get,
        path: "/openapi.json",
        access: PUBLIC,
        binary: "openapi",
        idempotent: false,
        summary: "This API's OpenAPI 3.1 document",
        tag: "platform",
        query: &[],
        request: None,
        response: None,
        status: 200,
        tables: &[],
        sends_to: &[],
        handler: |m| axum::routing::on(m, platform::openapi),
    },
    RouteSpec {
        name: "metrics",
        verb: Verb::Get,
        path: "/metrics",
        access: OPERATOR,
        binary: "metrics",
        idempotent: false,
        summary: "Counters and timings of this process, and queue depths",
        tag: "platform",
        query: &[],
        request: None,
        response: Some(schema::<platform::MetricsView>),
        status: 200,
        tables: &[],
        sends_to: &[],
        handler: |m| axum::routing::on(m, platform::metrics),
    },
    RouteSpec {
        name: "notices-public-list",
        verb: Verb::Get,
        path: "/v1/notices",
        access: PUBLIC,
        binary: "notices-public-list",
        idempotent: false,
        summary: "Notices published now (newest first, at most 50)",
        tag: "notices",
        query: &[],
        request: None,
        response: Some(schema::<ops_http::PublicNoticeList>),
        status: 200,
        tables: &[&tables::OPS],
        sends_to: &[],
        handler: |m| axum::routing::on(m, ops_http::public_list),
    },
    RouteSpec {
        name: "notices-create",
        verb: Verb::Post,
        path: "/v1/ops/notices",
        access: OPERATOR,
        binary: "notices-create",
        idempotent: true,
        summary: "Create a notice with its publication window",
        tag: "notices",
        query: &[],
        request: Some(schema::<ops_http::CreateNoticeRequest>),
        response: Some(schema::<ops_http::NoticeView>),
        status: 201,
        tables: &[&tables::OPS, &tables::IDEMPOTENCY],
        sends_to: &[],
        handler: |m| axum::routing::on(m, ops_http::create),
    },
    RouteSpec {
        name: "notices-list",
        verb: Verb::Get,
        path: "/v1/ops/notices",
        access: OPERATOR,
        binary: "notices-list",
        idempotent: false,
        summary: "All notices, newest first, paged",
        tag: "notices",
        query: &[
            ("limit", "page size, 1 to 100 (default 50)", r#"{"type":"integer","minimum":1,"maximum":100}"#),
            ("cursor", "`next_cursor` of the previous page", r#"{"type":"string","maxLength":2048}"#),
        ],
        request: None,
        response: Some(schema::<ops_http::NoticePage>),
        status: 200,
        tables: &[&tables::OPS],
        sends_to: &[],
        handler: |m| axum::routing::on(m, ops_http::list),
    },
    RouteSpec {
        name: "notices-get",
        verb: Verb::Get,
        path: "/v1/ops/notices/{id}",
        access: OPERATOR,
        binary: "notices-get",
        idempotent: false,
        summary: "One notice (ETag: its version)",
        tag: "notices",
        query: &[],
        request: None,
        response: Some(schema::<ops_http::NoticeView>),
        status: 200,
        tables: &[&tables::OPS],
        sends_to: &[],
        handler: |m| axum::routing::on(m, ops_http::get),
    },
    RouteSpec {
        name: "notices-update",
        verb: Verb::Patch,
        path: "/v1/ops/notices/{id}",
        access: OPERATOR,
        binary: "notices-update",
        idempotent: false,
        summary: "Change a notice's text or reschedule it (If-Match: version, optional)",
        tag: "notices",
        query: &[],
        request: Some(schema::<ops_http::UpdateNoticeRequest>),
        response: Some(schema::<ops_http::NoticeView>),
        status: 200,
        tables: &[&tables::OPS],
        sends_to: &[],
        handler: |m| axum::routing::on(m, ops_http::update),
    },
    RouteSpec {
        name: "notices-withdraw",
        verb: Verb::Post,
        path: "/v1/ops/notices/{id}/withdraw",
        access: OPERATOR,
        binary: "notices-withdraw",
        idempotent: false,
        summary: "Withdraw a notice at once (If-Match: version, optional)",
        tag: "notices",
        query: &[],
        request: None,
        response: Some(schema::<ops_http::NoticeView>),
        status: 200,
        tables: &[&tables::OPS],
        sends_to: &[],
        handler: |m| axum::routing::on(m, ops_http::withdraw),
    },
];

/// Every queue consumer.
pub static CONSUMERS: &[ConsumerSpec] = &[ConsumerSpec {
    name: "ops-tasks",
    queue: &queues::OPS_TASKS,
    binary: "ops-tasks-consumer",
    summary: "Operations background tasks (notice purges)",
    tables: &[&tables::OPS],
    sends_to: &[],
    handler: |app, body| Box::pin(async move { ops::tasks::handle(&app, &body).await }),
}];

/// Every scheduled job.
pub static JOBS: &[JobSpec] = &[JobSpec {
    name: "notice-retention",
    schedule: Schedule::DailyJst { hour: 3, minute: 30 },
    binary: "notice-retention-job",
    summary: "Queue a purge for every notice past its retention period",
    tables: &[&tables::OPS],
    sends_to: &[&queues::OPS_TASKS],
    run: |app| {
        Box::pin(async move {
            let n = ops::notices::enqueue_purges(&app).await.map_err(|e| e.to_string())?;
            Ok(serde_json::json!({ "purges_queued": n }))
        })
    },
}];

pub fn route(name: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.name == name)
}
pub fn consumer(name: &str) -> Option<&'static ConsumerSpec> {
    CONSUMERS.iter().find(|c| c.name == name)
}
pub fn job(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().find(|j| j.name == name)
}

/// Every Lambda binary named in the table, with what it serves.
pub fn binaries() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = ROUTES.iter().map(|r| (r.binary, "route")).collect();
    v.extend(CONSUMERS.iter().map(|c| (c.binary, "consumer")));
    v.extend(JOBS.iter().map(|j| (j.binary, "job")));
    v
}
