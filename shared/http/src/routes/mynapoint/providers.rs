//! Route-table entries of Mynapoint providers (handlers: `handlers::mynapoint::providers`; secret
//! rotation: `handlers::mynapoint::secrets`).

use super::{PROGRAMS_IDEMPOTENT, PROGRAMS_R};
use crate::handlers::mynapoint::{providers as providers_http, secrets as secrets_http};
use crate::routes::spec::*;
use mkpf_core::domain::mynapoint::ProviderId;

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mynapoint-provider-create",
        verb: Verb::Post,
        path: "/v1/ops/mynapoint/providers",
        access: OPERATOR,
        idempotent: true,
        summary: "Create a payment provider; its first callback signing secret is shown once (audited)",
        tag: "mynapoint-catalog",
        request: Some(schema::<providers_http::CreateProviderRequest>),
        response: Some(schema::<providers_http::ProviderCreated>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, providers_http::create_provider),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-provider-list",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/providers",
        access: OPERATOR_OR_AUDITOR,
        summary: "Every payment provider",
        tag: "mynapoint-catalog",
        response: Some(schema::<providers_http::ProviderList>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, providers_http::list_providers),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-provider-get",
        verb: Verb::Get,
        path: "/v1/ops/mynapoint/providers/{provider_id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "One provider and its callback secrets (metadata only, never the secrets)",
        tag: "mynapoint-catalog",
        response: Some(schema::<providers_http::ProviderDetailView>),
        tables: PROGRAMS_R,
        handler: |m| axum::routing::on(m, providers_http::get_provider),
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
        request: Some(schema::<secrets_http::RotateRequest>),
        response: Some(schema::<secrets_http::RotatedSecret>),
        status: 201,
        tables: PROGRAMS_IDEMPOTENT,
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, secrets_http::rotate_secret::<ProviderId>),
        ..ROUTE
    },
];
