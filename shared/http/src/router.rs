//! Building routers from the route table, with the conventions every route shares:
//! request id, authentication and deny-by-default authorisation, idempotency, body limit,
//! security headers, problem+json for unknown paths and methods, one access-log line and
//! metrics per request.

use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};

use super::auth::{Access, Principal, SourceIp, authenticate, authorize, context};
use super::idempotency;
use super::json::BodyLimit;
use super::problem::{ApiError, REQUEST_ID};
use crate::app::App;
use crate::routes::{ROUTES, RouteSpec};

/// Set on every response by the route guard: what the access log and metrics report.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    pub name: &'static str,
    pub principal: &'static str,
}

#[derive(Clone)]
struct RouteCtx {
    app: App,
    spec: &'static RouteSpec,
}

/// Per route: who is calling, may they, then the handler (under the idempotency protocol for
/// creating POSTs).
async fn guard(State(ctx): State<RouteCtx>, mut req: Request, next: Next) -> Response {
    let spec = ctx.spec;
    let (mut resp, kind) = match admit(&ctx.app, spec, &mut req).await {
        Err((e, kind)) => (e.into_response(), kind),
        Ok(p) => {
            let kind = p.kind();
            req.extensions_mut().insert(BodyLimit(ctx.app.config.max_body_bytes));
            let resp = if spec.idempotent && !spec.own_idempotency {
                idempotency::run(&ctx.app, spec, &p, req, next).await.unwrap_or_else(IntoResponse::into_response)
            } else {
                next.run(req).await
            };
            (resp, kind)
        }
    };
    resp.extensions_mut().insert(RouteInfo { name: spec.name, principal: kind });
    resp
}

/// Authenticates and authorises; on success the principal is in the request's extensions.
/// A signed-in caller refused by the access list is audited (`auth.denied`); a credential that
/// does not verify is counted and audited in aggregate (`audit::refusals`), never one write per
/// request; a plain anonymous call of a protected route is only logged.
async fn admit(app: &App, spec: &'static RouteSpec, req: &mut Request) -> Result<Principal, (ApiError, &'static str)> {
    let principal = if spec.access.contains(&Access::Public) {
        Ok(Principal::Anonymous)
    } else if spec.access == [Access::Provider] && !req.headers().contains_key(axum::http::header::AUTHORIZATION) {
        // Providers authenticate by signing the request (Standard Webhooks, over the body). The
        // handler of a provider-only route verifies that signature before it does anything else,
        // and the signed body is only reachable through that verification
        // (`handlers::mynapoint::applications::callback`). Bearer tokens are refused below as for
        // any route.
        return Ok(Principal::Anonymous);
    } else {
        authenticate(app, req.headers(), !spec.session_in_handler).await
    };
    match principal {
        Ok(p) => match authorize(spec.access, &p) {
            Ok(()) => {
                req.extensions_mut().insert(p.clone());
                Ok(p)
            }
            Err(e) if p == Principal::Anonymous => Err((e, "anonymous")),
            Err(e) => {
                let kind = p.kind();
                req.extensions_mut().insert(p);
                let ctx = context(req.extensions());
                let ev = mkpf_core::audit::Event::denied("auth.denied", vec![format!("route:{}", spec.name)], e.code);
                if let Err(err) = mkpf_core::audit::commit_event(app, &ctx, ev).await {
                    tracing::error!(error = %err, route = spec.name, "could not audit a refused request");
                }
                Err((e, kind))
            }
        },
        Err(e) if e.status.is_server_error() => Err((e, "invalid_credentials")),
        Err(e) => {
            mkpf_core::audit::refusals::refused(app, &context(req.extensions()), "auth.denied", e.code).await;
            Err((e, "invalid_credentials"))
        }
    }
}

fn request_id(req: &Request) -> String {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) =
        req.extensions().get::<lambda_http::request::RequestContext>()
        && let Some(id) = &c.request_id
    {
        return id.clone();
    }
    uuid::Uuid::new_v4().to_string()
}

/// The key the origin-verify authorizer (`infra/lambda/origin-verify`) puts in its context when a
/// request carried CloudFront's origin secret.
pub const ORIGIN_VERIFIED: &str = "origin_verified";

/// The caller's address. On AWS, API Gateway's `sourceIp` is the CloudFront edge server that
/// forwarded the request; once origin verification has passed (the authorizer's context says so),
/// the viewer address CloudFront supplies in `CloudFront-Viewer-Address` is the caller. Without
/// that context the header is whatever the caller sent, and is ignored.
fn source_ip(req: &Request) -> Option<String> {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) =
        req.extensions().get::<lambda_http::request::RequestContext>()
    {
        let verified = c
            .authorizer
            .as_ref()
            .and_then(|a| a.fields.get(ORIGIN_VERIFIED))
            .is_some_and(|v| v.as_bool() == Some(true));
        if verified
            && let Some(viewer) =
                req.headers().get("cloudfront-viewer-address").and_then(|v| v.to_str().ok()).and_then(viewer_address)
        {
            return Some(viewer);
        }
        return c.http.source_ip.clone();
    }
    req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string())
}

/// The address part of a `CloudFront-Viewer-Address` value: `IP:port`, the IPv6 form bare
/// (`2001:db8::1:443`) or bracketed (`[2001:db8::1]:443`).
pub fn viewer_address(value: &str) -> Option<String> {
    let (ip, port) = value.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ip = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
    ip.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ("referrer-policy", "no-referrer"),
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// Around everything: request id, security headers, access log, metrics.
async fn outer(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let ip = source_ip(&req);
    req.extensions_mut().insert(SourceIp(ip));
    let method = req.method().clone();
    let mut resp = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    // Once a minute at most: the summary of the last window's refusals (audit::refusals).
    mkpf_core::audit::refusals::flush(&app, false).await;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    for (k, v) in SECURITY_HEADERS {
        h.insert(k, HeaderValue::from_static(v));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let info = resp.extensions().get::<RouteInfo>().copied().unwrap_or(RouteInfo { name: "-", principal: "anonymous" });
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "access",
        request_id = %id,
        route = info.name,
        method = %method,
        status,
        latency_ms = (ms * 1000.0).round() / 1000.0,
        principal = info.principal,
        "request"
    );
    let class = match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    app.metrics.count("http_requests", &[("route", info.name), ("status", class)], 1);
    app.metrics.timing("http_latency", &[("route", info.name)], ms);
    app.flush_metrics();
    resp
}

async fn not_found() -> ApiError {
    crate::extract::route_not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        "this path does not accept this method",
    )
}

/// A router serving the given routes.
pub fn router_for(app: App, routes: impl IntoIterator<Item = &'static RouteSpec>) -> Router {
    let mut r: Router<App> = Router::new();
    for spec in routes {
        let mr =
            (spec.handler)(spec.verb.filter()).layer(from_fn_with_state(RouteCtx { app: app.clone(), spec }, guard));
        r = r.route(spec.path, mr);
    }
    r.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(app.clone(), outer))
        .with_state(app)
}

/// Every route (the local platform).
pub fn full_router(app: App) -> Router {
    router_for(app, ROUTES.iter().copied())
}

/// The one route a Lambda binary serves.
pub fn lambda_router(app: App, name: &str) -> Result<Router, String> {
    let spec = crate::routes::route(name).ok_or_else(|| format!("no route named {name:?} in the route table"))?;
    Ok(router_for(app, [spec]))
}

#[cfg(test)]
mod tests {
    use super::viewer_address;

    #[test]
    fn viewer_addresses_parse_in_both_ipv6_forms_and_refuse_garbage() {
        assert_eq!(viewer_address("198.51.100.10:46532").as_deref(), Some("198.51.100.10"));
        assert_eq!(viewer_address("2001:db8::1:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(viewer_address("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        for bad in ["", "198.51.100.10", "host.example:443", "198.51.100.10:99999", "1.2.3.4:x"] {
            assert_eq!(viewer_address(bad), None, "{bad:?}");
        }
    }
}
