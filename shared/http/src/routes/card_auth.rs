//! Route-table entries of card authentication (`mkpf_core::card_auth`): challenges and
//! citizen sessions, CRL imports and state, renewal linkage feeds, and the CRL fetch job
//! (handlers: `handlers::card_auth`).

use super::spec::*;
use crate::handlers::card_auth as card_http;
use mkpf_core::{queues, tables};

pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        name: "card-auth-challenge",
        verb: Verb::Post,
        path: "/v1/card-auth/challenges",
        access: PUBLIC,
        summary: "A one-time nonce for the card to sign (5 minutes; rate-limited per source)",
        tag: "card-auth",
        response: Some(schema::<card_http::ChallengeResponse>),
        status: 201,
        tables: &[write(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, card_http::create_challenge),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-session",
        verb: Verb::Post,
        path: "/v1/card-auth/sessions",
        access: PUBLIC,
        summary: "Sign in with the card's authentication certificate and its signature over the nonce",
        tag: "card-auth",
        request: Some(schema::<card_http::SessionRequest>),
        response: Some(schema::<card_http::SessionResponse>),
        status: 201,
        tables: &[write(&tables::CARD_AUTH), write(&tables::PEOPLE), append(&tables::AUDIT)],
        keys: &[KeyUse::Sign(SigningKey::CitizenTokens)],
        needs: &[Need::TrustAnchors],
        handler: |m| axum::routing::on(m, card_http::create_session),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-sign-out",
        verb: Verb::Delete,
        path: "/v1/card-auth/sessions/current",
        access: CITIZEN,
        summary: "Sign out (ends this citizen session)",
        tag: "card-auth",
        status: 204,
        tables: &[write(&tables::PEOPLE)],
        handler: |m| axum::routing::on(m, card_http::sign_out),
        ..ROUTE
    },
    RouteSpec {
        name: "crl-import",
        verb: Verb::Post,
        path: "/v1/ops/card-auth/crls",
        access: OPERATOR,
        summary: "Import a DER CRL (application/pkix-crl) signed by a trust anchor",
        tag: "card-auth",
        response: Some(schema::<crate::handlers::card_auth::CrlImport>),
        tables: &[write(&tables::CARD_AUTH)],
        needs: &[Need::TrustAnchors],
        handler: |m| axum::routing::on(m, card_http::import_crl),
        ..ROUTE
    },
    RouteSpec {
        name: "crl-status",
        verb: Verb::Get,
        path: "/v1/ops/card-auth/crls",
        access: OPERATOR_OR_AUDITOR,
        summary: "The current CRL of every trust anchor, and whether it is still current",
        tag: "card-auth",
        response: Some(schema::<card_http::CrlStates>),
        tables: &[read(&tables::CARD_AUTH)],
        needs: &[Need::TrustAnchors],
        handler: |m| axum::routing::on(m, card_http::crl_states),
        ..ROUTE
    },
    RouteSpec {
        name: "linkage-feed-import",
        verb: Verb::Post,
        path: "/v1/ops/card-auth/linkage-feeds",
        access: OPERATOR,
        summary: "Import a renewal linkage feed (text/csv); its rows are re-linked in the background",
        tag: "card-auth",
        response: Some(schema::<crate::handlers::card_auth::LinkageFeedView>),
        status: 202,
        tables: &[write(&tables::CARD_AUTH)],
        sends_to: &[&queues::CARD_RELINK],
        handler: |m| axum::routing::on(m, card_http::import_linkage_feed),
        ..ROUTE
    },
    RouteSpec {
        name: "linkage-feed-get",
        verb: Verb::Get,
        path: "/v1/ops/card-auth/linkage-feeds/{feed_id}",
        access: OPERATOR_OR_AUDITOR,
        summary: "Progress and report of a linkage feed import (unknown old certificates, conflicts; audited)",
        tag: "card-auth",
        response: Some(schema::<crate::handlers::card_auth::LinkageFeedView>),
        tables: &[read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, card_http::linkage_feed),
        ..ROUTE
    },
];

pub static JOBS: &[JobSpec] = &[JobSpec {
    name: "crl-fetch",
    schedule: Schedule::Every { minutes: 60 },
    summary: "Download the CRLs at MKPF_CRL_URLS and import the newer ones",
    tables: &[write(&tables::CARD_AUTH), append(&tables::AUDIT)],
    sends_to: &[],
    keys: &[],
    needs: &[Need::TrustAnchors, Need::CrlUrls],
    run: |app| Box::pin(async move { mkpf_core::card_auth::fetch::run(&app).await }),
}];
