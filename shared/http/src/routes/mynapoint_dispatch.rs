//! Route-table entries of the area: National Mynapoint dispatch: delivering applications to providers (consumer, outbox sweep).

#[allow(unused_imports)]
use super::*;

pub static ROUTES: &[RouteSpec] = &[];

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
