//! Route-table entries of operations (`mkpf_core::ops`): notices, operator routes and the
//! public list, the notice-purge consumer and the retention job (handlers: `handlers::ops`).

use super::spec::*;
use crate::handlers::ops as ops_http;
use mkpf_core::{ops, queues, tables};

pub static ROUTES: &[RouteSpec] = &[
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
];

pub static CONSUMERS: &[ConsumerSpec] = &[ConsumerSpec {
    name: "ops-tasks",
    queue: &queues::OPS_TASKS,
    summary: "Operations background tasks (notice purges)",
    tables: &[write(&tables::OPS), append(&tables::AUDIT)],
    sends_to: &[],
    needs: &[],
    handler: |app, body| Box::pin(async move { ops::tasks::handle(&app, &body).await }),
}];

pub static JOBS: &[JobSpec] = &[JobSpec {
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
}];
