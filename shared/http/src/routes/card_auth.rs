//! Route-table entries of card authentication (`mkpf_core::card_auth`): challenges and
//! citizen sessions (directly or by hand-off), CRL imports and state, renewal linkage feeds, and the CRL fetch job
//! (handlers: `handlers::card_auth`).

use super::spec::*;
use crate::handlers::card_auth as card_http;
use crate::handlers::card_handoff as handoff_http;
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
        name: "card-auth-handoff-start",
        verb: Verb::Post,
        path: "/v1/card-auth/handoffs",
        access: PUBLIC,
        summary: "Start a hand-off sign-in: a short code for the card holder's device, and a secret only this browser holds (5 minutes; rate-limited per source)",
        tag: "card-auth",
        response: Some(schema::<handoff_http::HandoffStarted>),
        status: 201,
        tables: &[write(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, handoff_http::start),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-handoff-challenge",
        verb: Verb::Get,
        path: "/v1/card-auth/handoffs/by-code/{code}",
        access: PUBLIC,
        summary: "The card holder's device reads the challenge of a hand-off by its code",
        tag: "card-auth",
        response: Some(schema::<card_http::ChallengeResponse>),
        status: 200,
        tables: &[read(&tables::CARD_AUTH)],
        handler: |m| axum::routing::on(m, handoff_http::for_device),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-handoff-sign-in",
        verb: Verb::Post,
        path: "/v1/card-auth/handoffs/by-code/{code}/sign-in",
        access: PUBLIC,
        summary: "The card holder's device signs in for the browser that started the hand-off (the session goes to that browser only)",
        tag: "card-auth",
        request: Some(schema::<card_http::SessionRequest>),
        status: 204,
        tables: &[write(&tables::CARD_AUTH), write(&tables::PEOPLE), append(&tables::AUDIT)],
        keys: &[KeyUse::Sign(SigningKey::CitizenTokens)],
        needs: &[Need::TrustAnchors, Need::DataKey],
        handler: |m| axum::routing::on(m, handoff_http::sign_in),
        ..ROUTE
    },
    RouteSpec {
        name: "card-auth-handoff-session",
        verb: Verb::Post,
        path: "/v1/card-auth/handoffs/{handoff_id}/session",
        access: PUBLIC,
        summary: "The browser that started a hand-off receives its session (202 until the device has signed; 200 once)",
        tag: "card-auth",
        request: Some(schema::<handoff_http::PickupRequest>),
        response: Some(schema::<card_http::SessionResponse>),
        other_response: Some((202, schema::<handoff_http::HandoffPending>)),
        status: 200,
        tables: &[write(&tables::CARD_AUTH), append(&tables::AUDIT)],
        needs: &[Need::DataKey],
        handler: |m| axum::routing::on(m, handoff_http::pickup),
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
