//! Route-table entries of Mynapoint applications: citizens' applications, providers' signed
//! callbacks on them (handlers: `handlers::mynapoint::applications`), and their delivery to the
//! providers (`mkpf_core::mynapoint::dispatch`: the consumer and the outbox sweep).

use crate::handlers::mynapoint::applications as mp;
use crate::routes::spec::*;
use mkpf_core::{queues, tables};

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

pub static CONSUMERS: &[ConsumerSpec] = &[ConsumerSpec {
    name: "provider-dispatch",
    queue: &queues::PROVIDER_DISPATCH,
    summary: "Deliver each application to its payment service's webhook endpoint (Standard Webhooks; backoff, Retry-After, 410 disables the endpoint, dead letter after 3 days)",
    // programs: the service's endpoint and signing secrets, and disabling an endpoint after a 410.
    tables: &[write(&tables::APPLICATIONS), write(&tables::PROGRAMS), append(&tables::AUDIT)],
    sends_to: &[],
    needs: &[Need::DataKey],
    handler: |app, body| Box::pin(async move { mkpf_core::mynapoint::dispatch::handle(&app, &body).await }),
}];

pub static JOBS: &[JobSpec] = &[JobSpec {
    name: "dispatch-sweep",
    schedule: Schedule::Every { minutes: 1 },
    summary: "Send again the applications whose dispatch message was lost, and those whose service endpoint is usable again",
    tables: &[write(&tables::APPLICATIONS), read(&tables::PROGRAMS)],
    sends_to: &[&queues::PROVIDER_DISPATCH],
    keys: &[],
    needs: &[],
    run: |app| Box::pin(async move { mkpf_core::mynapoint::dispatch::run_sweep(&app).await }),
}];
