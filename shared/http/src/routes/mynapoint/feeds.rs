//! Route-table entries of Mynapoint data in and out: eligibility feeds, reconciliation reports,
//! the operator inquiry, their consumer and job (handlers: `handlers::mynapoint::feeds`).

use crate::handlers::mynapoint::feeds as feeds_http;
use crate::routes::spec::*;
use mkpf_core::{queues, tables};

/// Operators and patch approvers (who investigate before approving a data patch). Auditors
/// review the trail, not citizens' applications.
const OPERATOR_OR_APPROVER: &[Access] = &[Access::Staff(Role::Operator), Access::Staff(Role::PatchApprover)];

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mynapoint-eligibility-import",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/eligibility-feeds/{kind}",
        access: OPERATOR,
        summary: "Import an eligibility feed (text/csv) of a kind (health_insurance, public_funds_account, phase1_points); its rows are matched in the background",
        tag: "mynapoint",
        response: Some(schema::<feeds_http::FeedView>),
        status: 202,
        tables: &[write(&tables::PROGRAMS)],
        sends_to: &[&queues::MYNAPOINT_ELIGIBILITY],
        handler: |m| axum::routing::on(m, feeds_http::import_eligibility),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-eligibility-get",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/eligibility-feeds/{kind}/{feed_id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "Progress and unmatched rows of an eligibility feed import (audited)",
        tag: "mynapoint",
        response: Some(schema::<feeds_http::FeedView>),
        tables: &[read(&tables::PROGRAMS)],
        handler: |m| axum::routing::on(m, feeds_http::eligibility_feed),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-reports-list",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/reports/{provider_id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "A provider's reconciliation reports (daily CSVs, monthly summaries), newest first",
        tag: "mynapoint",
        query: &[
            ("kind", "daily or monthly (default: both)", r#"{"type":"string","enum":["daily","monthly"]}"#),
            ("limit", "page size, 1 to 100 (default 50)", r#"{"type":"integer","minimum":1,"maximum":100}"#),
            ("cursor", "`next_cursor` of the previous page", r#"{"type":"string","maxLength":2048}"#),
        ],
        response: Some(schema::<feeds_http::ReportPage>),
        tables: &[read(&tables::PROGRAMS)],
        handler: |m| axum::routing::on(m, feeds_http::list_reports),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-report-download",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/reports/{provider_id}/{kind}/{period}",
        access: OPERATOR_OR_AUDITOR,
        summary: "Download a reconciliation report as text/csv (kind daily with period YYYY-MM-DD, or monthly with YYYY-MM; audited)",
        tag: "mynapoint",
        query: &[(
            "part",
            "only this part (1-based; each part is a CSV file with the header); required for reports over 5 MiB",
            r#"{"type":"integer","minimum":1}"#,
        )],
        tables: &[read(&tables::PROGRAMS)],
        handler: |m| axum::routing::on(m, feeds_http::download_report),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-inquiry",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/inquiries",
        access: OPERATOR_OR_APPROVER,
        summary: "Look up a person's applications by MyKey ID, application id, or service code + service account id (audited)",
        tag: "mynapoint",
        request: Some(schema::<feeds_http::InquiryRequest>),
        response: Some(schema::<feeds_http::InquiryResponse>),
        tables: &[read(&tables::APPLICATIONS), read(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, feeds_http::inquire),
        ..ROUTE
    },
];

pub static CONSUMERS: &[ConsumerSpec] = &[ConsumerSpec {
    name: "mynapoint-eligibility",
    queue: &queues::MYNAPOINT_ELIGIBILITY,
    summary: "Match eligibility-feed rows to people and record their facts, a batch of rows at a time",
    tables: &[write(&tables::PEOPLE), write(&tables::PROGRAMS), append(&tables::AUDIT)],
    sends_to: &[],
    needs: &[],
    handler: |app, body| Box::pin(async move { mkpf_core::mynapoint::eligibility::handle(&app, &body).await }),
}];

pub static JOBS: &[JobSpec] = &[JobSpec {
    name: "mynapoint-reconcile",
    schedule: Schedule::DailyJst { hour: 2, minute: 0 },
    summary: "Write each provider's reconciliation CSV of the day before (and, on the 1st, the monthly summaries)",
    tables: &[read(&tables::APPLICATIONS), write(&tables::PROGRAMS), append(&tables::AUDIT)],
    sends_to: &[],
    keys: &[],
    needs: &[],
    run: |app| Box::pin(async move { mkpf_core::mynapoint::reconciliation::run_job(&app).await }),
}];
