//! Route-table entries of staff accounts (`mkpf_core::staff`): sign-in and sign-out,
//! self-service, account management by operators, a municipality's staff (handlers:
//! `handlers::staff`).

use super::spec::*;
use crate::handlers::staff as staff_http;
use mkpf_core::tables;

/// Staff account routes that change an account and may end its sessions.
const STAFF_RW: &[TableUse] = &[write(&tables::STAFF), write(&tables::STAFF_SESSIONS)];
/// Staff account routes that only read accounts.
const STAFF_R: &[TableUse] = &[read(&tables::STAFF)];

pub static ROUTES: &[RouteSpec] = &[
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
];
