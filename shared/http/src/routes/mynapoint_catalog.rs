//! Route-table entries of the area: National Mynapoint catalogue: providers, payment services (secrets, intake) and measures.

#[allow(unused_imports)]
use super::*;
use crate::handlers::mynapoint_catalog as cat;
use mkpf_core::domain::mynapoint::{ProviderId, ServiceCode};

/// The catalogue's own table, written (secrets are sealed with the data key).
const PROGRAMS_RW: &[TableUse] = &[write(&tables::PROGRAMS)];
/// Creating routes also keep their idempotency records.
const PROGRAMS_IDEMPOTENT: &[TableUse] = &[write(&tables::PROGRAMS), write(&tables::IDEMPOTENCY)];
const PROGRAMS_R: &[TableUse] = &[read(&tables::PROGRAMS)];

const MEASURE_QUERY: &[(&str, &str, &str)] = &[(
    "measure",
    "only services taking this measure (name or number); absent: every accepting service",
    r#"{"type":"string","enum":["card_acquisition","health_insurance","public_funds_account","1","2","3"]}"#,
)];
const PROVIDER_QUERY: &[(&str, &str, &str)] =
    &[("provider_id", "only this provider's services", r#"{"type":"string","pattern":"^[a-z0-9-]{2,32}$"}"#)];

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mynapoint-provider-create",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/providers",
        access: OPERATOR,
        idempotent: true,
        summary: "Create a payment provider; its first callback signing secret is shown once (audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::CreateProviderRequest>),
        response: Some(schema::<cat::ProviderCreated>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, cat::create_provider),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-provider-list",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/providers",
        access: OPERATOR_OR_AUDITOR,
        summary: "Every payment provider",
        tag: "mynapoint-catalog",
        response: Some(schema::<cat::ProviderList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::list_providers),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-provider-get",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/providers/{provider_id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "One provider and its callback secrets (metadata only, never the secrets)",
        tag: "mynapoint-catalog",
        response: Some(schema::<cat::ProviderDetailView>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::get_provider),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-provider-secret-rotate",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/providers/{provider_id}/secrets",
        access: OPERATOR,
        idempotent: true,
        summary: "Rotate a provider's callback secret: the new one is shown once, the old ones retire after the overlap (audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::RotateRequest>),
        response: Some(schema::<cat::RotatedSecret>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, cat::rotate_secret::<ProviderId>),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-create",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/services",
        access: OPERATOR,
        idempotent: true,
        summary: "Create a payment service of a provider; its first webhook signing secret is shown once (audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::CreateServiceRequest>),
        response: Some(schema::<cat::ServiceCreated>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, cat::create_service),
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
        response: Some(schema::<cat::ServiceList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::list_services),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-get",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/services/{code}",
        access: OPERATOR_OR_AUDITOR,
        summary: "One payment service and its webhook secrets (metadata only; ETag: version)",
        tag: "mynapoint-catalog",
        response: Some(schema::<cat::ServiceDetailView>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::get_service),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-update",
        verb: Verb::Patch,
        path: "/v1/ops/mynapoint/services/{code}",
        access: OPERATOR,
        summary: "Change a service's name, measures, security-code rules or endpoint (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::UpdateServiceRequest>),
        response: Some(schema::<cat::ServiceDetailView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, cat::update_service),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-service-intake",
        verb: Verb::Put,
        path: "/v1/ops/mynapoint/services/{code}/intake",
        access: OPERATOR,
        summary: "Set a service's intake: accepting, intake_closed or withdrawn (final) (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::IntakeRequest>),
        response: Some(schema::<cat::ServiceDetailView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, cat::set_intake),
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
        request: Some(schema::<cat::RotateRequest>),
        response: Some(schema::<cat::RotatedSecret>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, cat::rotate_secret::<ServiceCode>),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-list",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/measures",
        access: OPERATOR_OR_AUDITOR,
        summary: "The configured measures with status, last status change and version",
        tag: "mynapoint-catalog",
        response: Some(schema::<cat::MeasureList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::list_measures),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-seed",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/measures/seed",
        access: OPERATOR,
        summary: "Configure the phase-2 measures not configured yet from their defaults (repeating it changes nothing; audited)",
        tag: "mynapoint-catalog",
        response: Some(schema::<cat::SeedReport>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, cat::seed_measures),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-update",
        verb: Verb::Patch,
        path: "/v1/ops/mynapoint/measures/{measure}",
        access: OPERATOR,
        summary: "Change (extend) a measure's dates (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::UpdateMeasureRequest>),
        response: Some(schema::<cat::MeasureView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, cat::update_measure),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-suspend",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/measures/{measure}/suspend",
        access: OPERATOR,
        summary: "Suspend a measure: new applications are refused at once (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::StatusChangeRequest>),
        response: Some(schema::<cat::MeasureView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, cat::suspend_measure),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measure-resume",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/measures/{measure}/resume",
        access: OPERATOR,
        summary: "Resume a suspended measure (If-Match: version, optional; audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<cat::StatusChangeRequest>),
        response: Some(schema::<cat::MeasureView>),
        tables: PROGRAMS_RW,
        handler: |m| axum::routing::on(m, cat::resume_measure),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-measures-public",
        verb: Verb::Get,
        path: "/v1/mynapoint/measures",
        access: PUBLIC,
        summary: "The measures, their points rules and periods (Asia/Tokyo), and whether each takes applications now",
        tag: "mynapoint-catalog",
        response: Some(schema::<cat::PublicMeasureList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::public_measures),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-services-public",
        verb: Verb::Get,
        path: "/v1/mynapoint/services",
        access: PUBLIC,
        summary: "Payment services taking applications now (for a measure), with their security-code rules",
        tag: "mynapoint-catalog",
        query: MEASURE_QUERY,
        response: Some(schema::<cat::PublicServiceList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, cat::public_services),
        ..ROUTE
    },
];
pub static CONSUMERS: &[ConsumerSpec] = &[];
pub static JOBS: &[JobSpec] = &[];
