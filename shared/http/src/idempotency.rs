//! `Idempotency-Key` on creating POSTs (draft-ietf-httpapi-idempotency-key-header semantics).
//!
//! The first request with a key claims it (a conditional write of a "pending" record), runs,
//! and stores its response for 24 hours. A retry with the same key and the same request gets
//! the stored response again (`Idempotent-Replayed: true`); the same key with a different
//! request is refused (422); a retry while the first is still running gets 409. Keys are scoped
//! by route and caller. A 5xx response is not stored, so the client may retry. A response that
//! carries a secret shown once ([`SealedReplay`]) is stored sealed with `app.sealer`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::Principal;
use super::json::{BodyLimit, read_body};
use super::problem::ApiError;
use crate::app::App;
use crate::routes::RouteSpec;
use mkpf_core::ports::store::*;
use mkpf_core::tables::IDEMPOTENCY;

pub const HEADER: &str = "idempotency-key";
/// How long a completed response is replayed.
pub const KEEP_SECS: i64 = 24 * 3600;
/// How long a claim of a request that never finished blocks its key.
pub const PENDING_SECS: i64 = 60;
/// Largest response body stored for replay.
const MAX_STORED: usize = 256 * 1024;
/// Response headers replayed with the body.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The request's `Idempotency-Key` (required), checked for shape.
pub fn key_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let v = headers.get(HEADER).ok_or_else(|| {
        ApiError::bad_request("idempotency_key_required", "this request needs an Idempotency-Key header")
    })?;
    let s = v.to_str().ok().map(str::trim).unwrap_or_default();
    let ok = (1..=255).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if !ok {
        return Err(ApiError::bad_request(
            "idempotency_key_invalid",
            "the Idempotency-Key must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(s.to_owned())
}

fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Put on a response whose body holds a secret shown once (e.g. a new webhook signing secret):
/// the copy stored for replay is sealed with `app.sealer` (bound to the record's key), never kept
/// in clear.
#[derive(Debug, Clone, Copy)]
pub struct SealedReplay;

async fn replay(app: &App, item: &Item, pk: &str) -> Result<Response, ApiError> {
    let status = item
        .opt_n("status")
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .ok_or_else(|| ApiError::internal("stored idempotent response has no status"))?;
    let body = match item.opt_s("sealed_body") {
        Some(sealed) => app.sealer.open(sealed, pk.as_bytes()).await.map_err(ApiError::internal)?,
        None => item.get("body").and_then(Value::as_b).map(<[u8]>::to_vec).unwrap_or_default(),
    };
    let mut resp = (status, body).into_response();
    if let Some(Value::M(hs)) = item.get("headers") {
        for (k, v) in hs {
            if let (Ok(name), Some(Ok(val))) = (HeaderName::try_from(k.as_str()), v.as_s().map(HeaderValue::from_str)) {
                resp.headers_mut().insert(name, val);
            }
        }
    }
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(resp)
}

/// Runs `next` under the idempotency protocol.
pub async fn run(app: &App, spec: &RouteSpec, who: &Principal, req: Request, next: Next) -> Result<Response, ApiError> {
    let key = key_of(req.headers())?;
    let limit = req.extensions().get::<BodyLimit>().map_or(64 * 1024, |l| l.0);
    let (parts, body) = req.into_parts();
    let bytes = read_body(body, limit).await?;
    let request_hash = digest(&[parts.uri.path().as_bytes(), &bytes]);
    let pk = digest(&[spec.name.as_bytes(), who.scope().as_bytes(), key.as_bytes()]);
    let now = app.clock.epoch_secs();

    let mut claim = Item::new();
    claim.insert("pk".into(), Value::S(pk.clone()));
    claim.insert("state".into(), Value::S("pending".into()));
    claim.insert("request_hash".into(), Value::S(request_hash.clone()));
    claim.insert("ttl".into(), Value::N(now + PENDING_SECS));
    match app.store.put(&IDEMPOTENCY, claim, Some(Cond::absent_or_expired(&IDEMPOTENCY, now))).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            let existing = app.store.get(&IDEMPOTENCY, &Key::pk_only(&pk)).await?;
            return match existing {
                Some(item) if item.opt_s("request_hash") != Some(request_hash.as_str()) => Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "Idempotency key reused",
                    "this Idempotency-Key was already used for a different request",
                )),
                Some(item) if item.opt_s("state") == Some("done") => replay(app, &item, &pk).await,
                _ => Err(ApiError::conflict(
                    "idempotency_in_progress",
                    "a request with this Idempotency-Key is still being processed",
                )
                .retry_after(1)),
            };
        }
        Err(e) => return Err(e.into()),
    }

    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let k = Key::pk_only(&pk);
    if resp.status().is_server_error() {
        release(app, &k).await;
        return Ok(resp);
    }
    let (rparts, rbody) = resp.into_parts();
    let rbytes = match read_body(rbody, MAX_STORED).await {
        Ok(b) => b,
        Err(_) => {
            release(app, &k).await;
            return Err(ApiError::internal("response too large to store for idempotent replay"));
        }
    };
    let mut hs = std::collections::BTreeMap::new();
    for h in KEPT_HEADERS {
        if let Some(v) = rparts.headers.get(&h).and_then(|v| v.to_str().ok()) {
            hs.insert(h.as_str().to_owned(), Value::S(v.to_owned()));
        }
    }
    let body = if rparts.extensions.get::<SealedReplay>().is_some() {
        match app.sealer.seal(&rbytes, pk.as_bytes()).await {
            Ok(sealed) => ("sealed_body", Value::S(sealed)),
            Err(e) => {
                // Not stored: the pending claim expires by itself.
                tracing::error!(error = %e, route = spec.name, "could not seal the idempotent response");
                return Ok(Response::from_parts(rparts, Body::from(rbytes)));
            }
        }
    } else {
        ("body", Value::B(rbytes.to_vec()))
    };
    let update = Update::new()
        .set("state", "done")
        .set("status", i64::from(rparts.status.as_u16()))
        .set(body.0, body.1)
        .set("headers", Value::M(hs))
        .set("ttl", now + KEEP_SECS);
    if let Err(e) =
        app.store.update(&IDEMPOTENCY, &k, update, Some(Cond::eq("request_hash", request_hash.as_str()))).await
    {
        // The operation itself succeeded; only the replay record is missing. A retry would
        // then run again, which use cases guard against with their own conditional writes.
        tracing::error!(error = %e, route = spec.name, "could not store the idempotent response");
    }
    Ok(Response::from_parts(rparts, Body::from(rbytes)))
}

async fn release(app: &App, k: &Key) {
    if let Err(e) = app.store.delete(&IDEMPOTENCY, k, Some(Cond::eq("state", "pending"))).await {
        tracing::warn!(error = %e, "could not release an idempotency claim; it expires by itself");
    }
}
