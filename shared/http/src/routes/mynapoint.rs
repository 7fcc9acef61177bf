//! Route-table entries of the area: National Mynapoint applications (citizens) and provider
//! callbacks (providers, signed).

use super::*;
use crate::handlers::mynapoint as mp;

const PROVIDER: &[Access] = &[Access::Provider];

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mynapoint-apply",
        verb: Verb::Post,
        path: "/v1/mynapoint/applications",
        access: CITIZEN,
        idempotent: true,
        own_idempotency: true,
        session_in_handler: true,
        summary: "Apply for a measure with one payment service (Idempotency-Key required)",
        tag: "mynapoint",
        request: Some(schema::<mp::ApplyBody>),
        response: Some(schema::<mp::ApplicationView>),
        status: 201,
        tables: &[
            write(&tables::APPLICATIONS),
            read(&tables::PROGRAMS),
            read(&tables::PEOPLE),
            read(&tables::CARD_AUTH),
        ],
        sends_to: &[&queues::PROVIDER_DISPATCH],
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, mp::apply),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-applications-list",
        verb: Verb::Get,
        path: "/v1/mynapoint/applications",
        access: CITIZEN,
        summary: "Your applications with state and points granted / remaining (audited)",
        tag: "mynapoint",
        response: Some(schema::<mp::ApplicationList>),
        tables: &[read(&tables::APPLICATIONS)],
        handler: |m| axum::routing::on(m, mp::list),
        ..ROUTE
    },
    RouteSpec {
        name: "mynapoint-application-get",
        verb: Verb::Get,
        path: "/v1/mynapoint/applications/{application_id}",
        access: CITIZEN,
        summary: "One of your applications and what the provider reported (audited)",
        tag: "mynapoint",
        response: Some(schema::<mp::ApplicationDetail>),
        tables: &[read(&tables::APPLICATIONS)],
        handler: |m| axum::routing::on(m, mp::get),
        ..ROUTE
    },
    RouteSpec {
        name: "provider-callbacks",
        verb: Verb::Post,
        path: "/v1/providers/{provider_id}/callbacks",
        access: PROVIDER,
        summary: "A payment provider's signed report on an application (Standard Webhooks)",
        tag: "providers",
        response: Some(schema::<mp::CallbackResult>),
        tables: &[write(&tables::APPLICATIONS), read(&tables::PROGRAMS)],
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, mp::callback),
        ..ROUTE
    },
];
pub static CONSUMERS: &[ConsumerSpec] = &[];
pub static JOBS: &[JobSpec] = &[];
