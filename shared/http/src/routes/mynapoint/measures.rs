//! Route-table entries of Mynapoint measures: the operator routes ([`ROUTES`]) and the public
//! list ([`PUBLIC_ROUTES`]) (handlers: `handlers::mynapoint::measures`).

use super::{PROGRAMS_R, PROGRAMS_RW};
use crate::handlers::mynapoint::measures as measures_http;
use crate::routes::spec::*;

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mynapoint-measure-list",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/measures",
        access: OPERATOR_OR_AUDITOR,
        summary: "The configured measures with status, last status change and version",
        tag: "mynapoint-catalog",
        response: Some(schema::<measures_http::MeasureList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, measures_http::list_measures),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-seed",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/measures/seed",
        access: OPERATOR,
        summary: "Configure the phase-2 measures not configured yet from their defaults (repeating it changes nothing; audited)",
        tag: "mynapoint-catalog",
        response: Some(schema::<measures_http::SeedReport>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, measures_http::seed_measures),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-update",
        verb: Verb::Patch,
        path: "/v1/ops/mynapoint/measures/{measure}",
        access: OPERATOR,
        summary: "Change (extend) a measure's dates (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<measures_http::UpdateMeasureRequest>),
        response: Some(schema::<measures_http::MeasureView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, measures_http::update_measure),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-suspend",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/measures/{measure}/suspend",
        access: OPERATOR,
        summary: "Suspend a measure: new applications are refused at once (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<measures_http::StatusChangeRequest>),
        response: Some(schema::<measures_http::MeasureView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, measures_http::suspend_measure),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-resume",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/measures/{measure}/resume",
        access: OPERATOR,
        summary: "Resume a suspended measure (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<measures_http::StatusChangeRequest>),
        response: Some(schema::<measures_http::MeasureView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, measures_http::resume_measure),
        ..ROUTE
    },
];

pub static PUBLIC_ROUTES: &[RouteSpec] = &[RouteSpec {
    name: "mynapoint-measures-public",
    verb: Verb::Get,
    path: "/v1/mynapoint/measures",
    access: PUBLIC,
    summary: "The measures, their points rules and periods (Asia/Tokyo), and whether each takes applications now",
    tag: "mynapoint-catalog",
    response: Some(schema::<measures_http::PublicMeasureList>),
    tables: PROGRAMS_R,
    handler: |m| axum::routing::on(m, measures_http::public_measures),
    ..ROUTE
}];
