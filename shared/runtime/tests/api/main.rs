//! The API test suite of the runtime crate: the platform composed on the embedded adapters (or
//! fakes), driven through its router, worker and Lambda entry. One binary, one module per area;
//! `helpers` holds what they share (harness, software cards, clocks).

mod helpers;

mod audit_trail;
mod card_auth;
mod card_certificates;
mod card_handoff;
mod certificate_links;
mod feeds;
mod health;
mod http_notices;
mod lambda_events;
mod ledger_job;
mod mykey_ids;
mod mynapoint_applications;
mod mynapoint_catalog;
mod mynapoint_dispatch;
mod mynapoint_feeds;
mod ops_tasks;
mod route_table;
mod staff_accounts;
