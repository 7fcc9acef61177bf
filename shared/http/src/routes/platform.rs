//! Route-table entries of the platform itself: health, the OpenAPI document, metrics
//! (handlers: `handlers::platform`).

use super::spec::*;
use crate::handlers::platform;
use mkpf_core::{queues, tables};

pub static ROUTES: &[RouteSpec] = &[
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
];
