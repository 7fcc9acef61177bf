//! Route-table entries of MyKey IDs (`mkpf_core::mykey`): create, read, change, revoke, and the
//! consumer re-linking renewed certificates (handlers: `handlers::mykey`).

use super::spec::*;
use crate::handlers::mykey as mykey_http;
use mkpf_core::{queues, tables};

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "mykey-create",
        verb: Verb::Post,
        path: "/v1/mykey-ids",
        access: CITIZEN,
        summary: "Create your MyKey ID: 201 when created; 200 with the same ID when you already have one",
        tag: "mykey",
        response: Some(schema::<mykey_http::MyKeyView>),
        status: 201,
        also_status: &[200],
        tables: &[write(&tables::PEOPLE), read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, mykey_http::create),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-me",
        verb: Verb::Get,
        path: "/v1/mykey-ids/me",
        access: CITIZEN,
        summary: "Your MyKey ID, linked certificates and standing (audited)",
        tag: "mykey",
        response: Some(schema::<mykey_http::MyKeyView>),
        tables: &[read(&tables::PEOPLE), read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, mykey_http::me),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-suggestions",
        verb: Verb::Get,
        path: "/v1/mykey-ids/me/suggestions",
        access: CITIZEN,
        summary: "Up to three available MyKey IDs to change to",
        tag: "mykey",
        response: Some(schema::<mykey_http::Suggestions>),
        tables: &[read(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, mykey_http::suggestions),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-change",
        verb: Verb::Put,
        path: "/v1/mykey-ids/me",
        access: CITIZEN,
        summary: "Change your MyKey ID to a chosen or suggested one (audited)",
        tag: "mykey",
        request: Some(schema::<mykey_http::ChangeRequest>),
        response: Some(schema::<mykey_http::MyKeyView>),
        tables: &[write(&tables::PEOPLE), read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, mykey_http::change),
        ..ROUTE
    },
    RouteSpec {
        name: "mykey-revoke",
        verb: Verb::Delete,
        path: "/v1/mykey-ids/me",
        access: CITIZEN,
        summary: "Revoke your MyKey ID (you can create a new one later)",
        tag: "mykey",
        status: 204,
        tables: &[write(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, mykey_http::revoke),
        ..ROUTE
    },
];

pub static CONSUMERS: &[ConsumerSpec] = &[ConsumerSpec {
    name: "card-relink",
    queue: &queues::CARD_RELINK,
    summary: "Re-link renewed certificates to their person, a batch of linkage-feed rows at a time",
    tables: &[write(&tables::PEOPLE), write(&tables::CARD_AUTH), append(&tables::AUDIT)],
    sends_to: &[],
    needs: &[],
    handler: |app, body| Box::pin(async move { mkpf_core::mykey::relink::handle(&app, &body).await }),
}];
