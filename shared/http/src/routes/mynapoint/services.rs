//! Route-table entries of Mynapoint payment services: the operator routes ([`ROUTES`]) and the
//! public list ([`PUBLIC_ROUTES`], after the measures' in the table) (handlers:
//! `handlers::mynapoint::services`; secret rotation: `handlers::mynapoint::secrets`).

use super::{PROGRAMS_IDEMPOTENT, PROGRAMS_R, PROGRAMS_RW};
use crate::handlers::mynapoint::{secrets as secrets_http, services as services_http};
use crate::routes::spec::*;
use mkpf_core::domain::mynapoint::ServiceCode;

const MEASURE_QUERY: &[(&str, &str, &str)] = &[(
    "measure",
    "only services taking this measure (name or number); absent: every accepting service",
    r#"{"type":"string","enum":["card_acquisition","health_insurance","public_funds_account","1","2","3"]}"#,
)];
const PROVIDER_QUERY: &[(&str, &str, &str)] =
    &[("provider_id", "only this provider's services", r#"{"type":"string","pattern":"^[a-z0-9-]{2,32}$"}"#)];

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mynapoint-service-create",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/services",
        access: OPERATOR,
        idempotent: true,
        summary: "Create a payment service of a provider; its first webhook signing secret is shown once (audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<services_http::CreateServiceRequest>),
        response: Some(schema::<services_http::ServiceCreated>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, services_http::create_service),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-list",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/services",
        access: OPERATOR_OR_AUDITOR,
        summary: "Every payment service (optionally one provider's)",
        tag: "mynapoint-catalog",
        query: PROVIDER_QUERY,
        response: Some(schema::<services_http::ServiceList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, services_http::list_services),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-get",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/services/{code}",
        access: OPERATOR_OR_AUDITOR,
        summary: "One payment service and its webhook secrets (metadata only; ETag: version)",
        tag: "mynapoint-catalog",
        response: Some(schema::<services_http::ServiceDetailView>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, services_http::get_service),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-update",
        verb: Verb::Patch,
        path: "/v1/ops/mynapoint/services/{code}",
        access: OPERATOR,
        summary: "Change a service's name, measures, security-code rules or endpoint (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<services_http::UpdateServiceRequest>),
        response: Some(schema::<services_http::ServiceDetailView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, services_http::update_service),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-intake",
        verb: Verb::Put,
        path: "/v1/ops/mynapoint/services/{code}/intake",
        access: OPERATOR,
        summary: "Set a service's intake: accepting, intake_closed or withdrawn (final) (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<services_http::IntakeRequest>),
        response: Some(schema::<services_http::ServiceDetailView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, services_http::set_intake),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-secret-rotate",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/services/{code}/secrets",
        access: OPERATOR,
        idempotent: true,
        summary: "Rotate a service's webhook signing secret: the new one is shown once, the old ones retire after the overlap (audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<secrets_http::RotateRequest>),
        response: Some(schema::<secrets_http::RotatedSecret>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, secrets_http::rotate_secret::<ServiceCode>),
        ..ROUTE
    },
];

pub static PUBLIC_ROUTES: &[RouteSpec] = &[RouteSpec {
    name: "mynapoint-services-public",
    verb: Verb::Get,
    path: "/v1/mynapoint/services",
    access: PUBLIC,
    summary: "Payment services taking applications now (for a measure), with their security-code rules",
    tag: "mynapoint-catalog",
    query: MEASURE_QUERY,
    response: Some(schema::<services_http::PublicServiceList>),
    tables: PROGRAMS_R,
    handler: |m| axum::routing::on(m, services_http::public_services),
    ..ROUTE
}];
