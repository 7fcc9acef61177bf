//! The route table: every HTTP route, queue consumer and scheduled job, declared once.
//!
//! The local platform mounts all of it; each Lambda function serves its one entry (the one
//! binary of `functions/lambda`, told which by its Handler: [`Function::id`]); the OpenAPI
//! document (`GET /openapi.json`) and the infra manifest (`infra/manifest.json`, read by the CDK
//! app) are generated from it. Adding a route means: a handler, one entry in its area's file here
//! (see `docs/architecture.md`).
//!
//! One file per area, each the twin of the same file in `crate::handlers` and named after the
//! core's module (`mkpf_core::{ops, staff, audit, card_auth, mykey, mynapoint}`; `platform` is the
//! platform's own routes); an area's consumers and jobs are in its file too. The types are in
//! [`spec`]; [`ROUTES`], [`CONSUMERS`] and [`JOBS`] assemble the areas' lists in table order.

use std::sync::LazyLock;

pub mod audit;
pub mod card_auth;
pub mod ledger;
pub mod mykey;
pub mod mynapoint;
pub mod ops;
pub mod platform;
pub mod spec;
pub mod staff;

pub use spec::*;

/// The lists in table order, one after the other.
fn gather<T>(lists: &[&'static [T]]) -> Vec<&'static T> {
    lists.iter().copied().flatten().collect()
}

/// Every HTTP route, in table order (the order of the OpenAPI document's operations, the
/// manifest and `docs/api.md`): the core areas, then Mynapoint's; the two public catalogue lists
/// come after the operator routes of measures.
pub static ROUTES: LazyLock<Vec<&'static RouteSpec>> = LazyLock::new(|| {
    gather(&[
        platform::ROUTES,
        ops::ROUTES,
        staff::ROUTES,
        audit::ROUTES,
        card_auth::ROUTES,
        mykey::ROUTES,
        mynapoint::applications::ROUTES,
        mynapoint::providers::ROUTES,
        mynapoint::services::ROUTES,
        mynapoint::measures::ROUTES,
        mynapoint::measures::PUBLIC_ROUTES,
        mynapoint::services::PUBLIC_ROUTES,
        mynapoint::feeds::ROUTES,
    ])
});
/// Every queue consumer, in table order.
pub static CONSUMERS: LazyLock<Vec<&'static ConsumerSpec>> = LazyLock::new(|| {
    gather(&[ops::CONSUMERS, mykey::CONSUMERS, mynapoint::applications::CONSUMERS, mynapoint::feeds::CONSUMERS])
});
/// Every scheduled job, in table order.
pub static JOBS: LazyLock<Vec<&'static JobSpec>> = LazyLock::new(|| {
    gather(&[
        ops::JOBS,
        audit::JOBS,
        card_auth::JOBS,
        mynapoint::applications::JOBS,
        mynapoint::feeds::JOBS,
        ledger::JOBS,
    ])
});

pub fn route(name: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().copied().find(|r| r.name == name)
}
pub fn consumer(name: &str) -> Option<&'static ConsumerSpec> {
    CONSUMERS.iter().copied().find(|c| c.name == name)
}
pub fn job(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().copied().find(|j| j.name == name)
}

/// One Lambda function: an entry of the table.
#[derive(Clone, Copy)]
pub enum Function {
    Route(&'static RouteSpec),
    Consumer(&'static ConsumerSpec),
    Job(&'static JobSpec),
}

impl Function {
    /// The function's id: its Handler (and `mkpf-<stage>-<id>` its name) on AWS. A route's
    /// name, `<name>-consumer` or `<name>-job`.
    pub fn id(self) -> String {
        match self {
            Function::Route(r) => r.name.to_owned(),
            Function::Consumer(c) => format!("{}-consumer", c.name),
            Function::Job(j) => format!("{}-job", j.name),
        }
    }

    /// `route`, `consumer` or `job`.
    pub fn kind(self) -> &'static str {
        match self {
            Function::Route(_) => "route",
            Function::Consumer(_) => "consumer",
            Function::Job(_) => "job",
        }
    }
}

/// Every Lambda function of the table, in table order (routes, consumers, jobs).
pub fn functions() -> Vec<Function> {
    let mut v: Vec<Function> = ROUTES.iter().copied().map(Function::Route).collect();
    v.extend(CONSUMERS.iter().copied().map(Function::Consumer));
    v.extend(JOBS.iter().copied().map(Function::Job));
    v
}

/// The function with this id (see [`Function::id`]).
pub fn function(id: &str) -> Option<Function> {
    functions().into_iter().find(|f| f.id() == id)
}
