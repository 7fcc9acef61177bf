//! Route-table entries of the audit trail (`mkpf_core::audit`): export and verification for
//! auditors, and the daily seal job (handlers: `handlers::audit`).

use super::spec::*;
use crate::handlers::audit as audit_http;
use mkpf_core::tables;

pub static ROUTES: &[RouteSpec] = &[
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
];

pub static JOBS: &[JobSpec] = &[JobSpec {
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
}];
