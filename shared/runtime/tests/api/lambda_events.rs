//! The sample Lambda events in `events/` fed to the real handlers, the way the Lambda runtime
//! feeds them, with no sockets:
//! - API Gateway HTTP API (payload 2.0) events go through `lambda_http`'s own conversion into
//!   the one-route router a function binary serves (`mkpf_http::lambda_router`) and into the
//!   full router of the local platform;
//! - the SQS event goes through the consumer entry point (`mkpf_runtime::worker::handle_sqs_event`), whose
//!   partial batch response is what the SQS event source mapping acts on;
//! - the scheduled event (an `EventBridge` Scheduler payload) triggers the `notice-retention` job.
//!
//! Every test runs on the embedded backend in its own directory, with a manual clock set to the
//! event's own timestamp so that results do not depend on when the suite runs.

use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use mkpf_core::domain::notice::NoticeId;
use mkpf_core::ops::notices::{self, NoticeError};
use mkpf_core::ports::ManualClock;
use mkpf_http::App;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt;

const HEALTH: &str = include_str!("../../../../events/apigw-health.json");
const PUBLIC_LIST: &str = include_str!("../../../../events/apigw-notices-public-list.json");
const CREATE: &str = include_str!("../../../../events/apigw-notices-create.json");
const CREATE_UNAUTHENTICATED: &str = include_str!("../../../../events/apigw-notices-create-unauthenticated.json");
const SQS_OPS_TASKS: &str = include_str!("../../../../events/sqs-ops-tasks.json");
const CHALLENGE: &str = include_str!("../../../../events/apigw-card-auth-challenge.json");
const CHALLENGE_VIA_CLOUDFRONT: &str = include_str!("../../../../events/apigw-card-auth-challenge-via-cloudfront.json");
const RETENTION_SCHEDULE: &str = include_str!("../../../../events/eventbridge-notice-retention.json");

/// An `App` on the embedded backend in a fresh directory, with a clock the test controls.
struct Platform {
    app: App,
    clock: Arc<ManualClock>,
    dir: PathBuf,
}

impl Platform {
    fn at(now: OffsetDateTime) -> Platform {
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lambda_events").join(uuid::Uuid::new_v4().to_string());
        let clock = Arc::new(ManualClock::new(now));
        let config = mkpf_core::config::Config::for_tests(dir.clone());
        let (store, queue) = mkpf_embedded::open(&dir, clock.clone())
            .unwrap_or_else(|e| panic!("open the embedded store in {}: {e}", dir.display()));
        let keys = Arc::new(mkpf_embedded::local_keys::LocalKeys::generate());
        let app = mkpf_runtime::app(config, store, queue, clock.clone(), keys);
        Platform { app, clock, dir }
    }

    /// The platform with its clock at the instant API Gateway received `event`.
    fn at_event(event: &str) -> Platform {
        Platform::at(received_at(event))
    }

    /// The event with `${STAFF_TOKEN}` replaced by an operator token of this platform.
    async fn signed(&self, event: &str) -> String {
        let token = mkpf_core::staff::demo::token_for(
            &self.app,
            "events-operator",
            &[mkpf_core::domain::staff::Role::Operator],
            None,
            3600,
        )
        .await
        .expect("a test operator token");
        event.replace("${STAFF_TOKEN}", &token)
    }

    fn function(&self, route: &str) -> Router {
        mkpf_http::lambda_router(self.app.clone(), route).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // Best effort: the files are in the target directory either way.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parse(event: &str) -> Value {
    serde_json::from_str(event).expect("sample events are JSON")
}

/// `requestContext.requestId` of an API Gateway event.
fn request_id(event: &str) -> String {
    parse(event)["requestContext"]["requestId"].as_str().expect("requestContext.requestId").to_owned()
}

/// `requestContext.timeEpoch` of an API Gateway event.
fn received_at(event: &str) -> OffsetDateTime {
    let ms = parse(event)["requestContext"]["timeEpoch"].as_i64().expect("requestContext.timeEpoch");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).expect("a valid epoch")
}

/// The JSON request body an API Gateway event carries.
fn request_body(event: &str) -> Value {
    let body = parse(event)["body"].as_str().expect("the event has a body").to_owned();
    serde_json::from_str(&body).expect("the event body is JSON")
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header value"))
    }
}

/// Converts `event` the way `lambda_http::run` does and serves it with `router`.
async fn invoke(router: &Router, event: &str) -> Reply {
    let request = lambda_http::request::from_str(event).expect("an API Gateway HTTP API (2.0) event");
    let response = router.clone().oneshot(request).await.expect("routers are infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("a readable response body").to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply { status: parts.status, headers: parts.headers, body }
}

fn public_ids(reply: &Reply) -> Vec<&str> {
    reply.body["items"].as_array().expect("items").iter().map(|n| n["id"].as_str().expect("id")).collect()
}

fn sqs_event() -> SqsEvent {
    serde_json::from_str(SQS_OPS_TASKS).expect("an SQS event")
}

fn failed_ids(resp: &SqsBatchResponse) -> Vec<&str> {
    resp.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

/// The sum of a counter with exactly these dimensions.
fn counter(app: &App, name: &str, dims: &[(&str, &str)]) -> f64 {
    app.metrics
        .snapshot()
        .iter()
        .filter(|s| {
            s.name == name
                && s.dimensions.len() == dims.len()
                && dims.iter().all(|(k, v)| s.dimensions.get(k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.sum)
        .sum()
}

#[tokio::test]
async fn health_event_is_answered_by_the_health_function() {
    let p = Platform::at_event(HEALTH);
    let r = invoke(&p.function("health"), HEALTH).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({ "status": "ok", "store": "ok", "queue": "ok" }));
    assert_eq!(
        r.header("x-request-id"),
        Some(request_id(HEALTH).as_str()),
        "the API Gateway request id is the request id"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn a_function_serves_only_its_own_route() {
    let p = Platform::at_event(HEALTH);
    let health = p.function("health");
    for event in [PUBLIC_LIST, CREATE] {
        let r = invoke(&health, event).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(r.body["code"], "route_not_found");
        assert_eq!(r.header("x-request-id"), Some(request_id(event).as_str()));
    }
    let r = invoke(&p.function("notices-public-list"), HEALTH).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(mkpf_http::lambda_router(p.app.clone(), "no-such-route").is_err());
}

#[tokio::test]
async fn create_event_creates_a_notice_that_the_public_list_event_shows() {
    let p = Platform::at_event(CREATE);
    let sent = request_body(CREATE);

    let created = invoke(&p.function("notices-create"), &p.signed(CREATE).await).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("x-request-id"), Some(request_id(CREATE).as_str()));
    assert_eq!(created.header("idempotent-replayed"), None, "a first request is not a replay");
    let n = &created.body;
    let id = n["id"].as_str().expect("the new notice's id").to_owned();
    NoticeId::parse(&id).expect("a notice id");
    assert_eq!(n["title"], sent["title"]);
    assert_eq!(n["body"], sent["body"]);
    assert_eq!(n["severity"], "important");
    assert_eq!(n["publish_from"], sent["publish_from"]);
    assert_eq!(n["publish_until"], sent["publish_until"]);
    assert_eq!(n["state"], "published", "the event's clock is inside the window");
    assert_eq!(n["version"], 1);
    assert_eq!(created.header("location"), Some(format!("/v1/ops/notices/{id}").as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""));

    // The public list, a minute later, from its own function.
    p.clock.advance(time::Duration::minutes(1));
    let list = invoke(&p.function("notices-public-list"), PUBLIC_LIST).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.header("x-request-id"), Some(request_id(PUBLIC_LIST).as_str()));
    assert_eq!(public_ids(&list), [id.as_str()]);
    let item = &list.body["items"][0];
    assert_eq!(item["title"], sent["title"]);
    assert_eq!(item["publish_until"], sent["publish_until"]);
    assert!(item.get("created_by").is_none() && item.get("version").is_none(), "citizens see no internals: {item}");
}

#[tokio::test]
async fn replaying_the_create_event_returns_the_first_response() {
    let p = Platform::at_event(CREATE);
    let first = invoke(&p.function("notices-create"), &p.signed(CREATE).await).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    // API Gateway may deliver the client's retry to another (fresh) instance of the function.
    p.clock.advance(time::Duration::seconds(30));
    let again = invoke(&p.function("notices-create"), &p.signed(CREATE).await).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body, first.body, "the stored response, byte for byte");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("x-request-id"), Some(request_id(CREATE).as_str()));

    let list = invoke(&p.function("notices-public-list"), PUBLIC_LIST).await;
    assert_eq!(public_ids(&list).len(), 1, "the replay created nothing: {}", list.body);
}

#[tokio::test]
async fn create_event_without_authorization_is_refused_with_a_problem() {
    let p = Platform::at_event(CREATE_UNAUTHENTICATED);
    let create = p.function("notices-create");

    let r = invoke(&create, CREATE_UNAUTHENTICATED).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(r.header(header::CONTENT_TYPE.as_str()), Some("application/problem+json"));
    assert_eq!(r.body["code"], "authentication_required");
    assert_eq!(r.body["status"], 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let id = request_id(CREATE_UNAUTHENTICATED);
    assert_eq!(r.header("x-request-id"), Some(id.as_str()));
    assert_eq!(r.body["request_id"], id.as_str(), "the problem quotes the request id");

    let list = invoke(&p.function("notices-public-list"), PUBLIC_LIST).await;
    assert!(public_ids(&list).is_empty(), "nothing was created: {}", list.body);

    // The refused request did not claim the Idempotency-Key the real request then uses.
    let created = invoke(&create, &p.signed(CREATE).await).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn the_local_platform_router_serves_every_http_event() {
    let p = Platform::at_event(CREATE);
    let all = mkpf_http::full_router(p.app.clone());

    assert_eq!(invoke(&all, HEALTH).await.status, StatusCode::OK);
    let refused = invoke(&all, CREATE_UNAUTHENTICATED).await;
    assert_eq!((refused.status, &refused.body["code"]), (StatusCode::UNAUTHORIZED, &json!("authentication_required")));
    let signed = p.signed(CREATE).await;
    let created = invoke(&all, &signed).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let replayed = invoke(&all, &signed).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body["id"], created.body["id"]);
    let list = invoke(&all, PUBLIC_LIST).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(public_ids(&list), [created.body["id"].as_str().expect("id")]);
}

#[tokio::test]
async fn sqs_event_reports_only_the_unreadable_record_as_failed() {
    let event = sqs_event();
    assert_eq!(event.records.len(), 2);
    let valid = event.records[0].message_id.clone().expect("messageId");
    let unreadable = event.records[1].message_id.clone().expect("messageId");
    let task: Value =
        serde_json::from_str(event.records[0].body.as_deref().expect("body")).expect("the valid task is JSON");
    assert_eq!(task["task"], "purge_notice");
    assert_eq!(uuid::Uuid::parse_str(task["id"].as_str().expect("id")).expect("a uuid").get_version_num(), 7);

    let p = Platform::at(OffsetDateTime::from_unix_timestamp(1_795_631_400).expect("instant"));
    let spec = mkpf_http::routes::consumer("ops-tasks").expect("the ops-tasks consumer");
    let resp = mkpf_runtime::worker::handle_sqs_event(&p.app, spec, event).await;

    assert_eq!(failed_ids(&resp), [unreadable.as_str()]);
    assert!(!failed_ids(&resp).contains(&valid.as_str()));
    // The exact JSON the SQS event source mapping reads (ReportBatchItemFailures).
    assert_eq!(
        serde_json::to_value(&resp).expect("serialisable"),
        json!({ "batchItemFailures": [{ "itemIdentifier": unreadable }] })
    );
    let done = counter(&p.app, "consumer_messages", &[("consumer", "ops-tasks"), ("outcome", "done")]);
    let rejected = counter(&p.app, "consumer_messages", &[("consumer", "ops-tasks"), ("outcome", "rejected")]);
    assert_eq!((done, rejected), (1.0, 1.0), "the valid task ran, the unreadable one was rejected");
}

#[tokio::test]
async fn retention_schedule_queues_a_purge_that_the_sqs_consumer_carries_out() {
    // The schedule event is what EventBridge Scheduler delivers; the job ignores its content but
    // the function must accept it (`serve_job` takes any JSON).
    let schedule: EventBridgeEvent = serde_json::from_str(RETENTION_SCHEDULE).expect("an EventBridge event");
    assert_eq!((schedule.source.as_str(), schedule.detail_type.as_str()), ("aws.scheduler", "Scheduled Event"));
    assert!(schedule.resources.unwrap_or_default().iter().any(|r| r.ends_with("/mkpf-notice-retention")));
    let job = mkpf_http::routes::job("notice-retention").expect("the notice-retention job");

    // A notice created by the sample event; it ends at its `publish_until`.
    let p = Platform::at_event(CREATE);
    let created = invoke(&p.function("notices-create"), &p.signed(CREATE).await).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = NoticeId::parse(created.body["id"].as_str().expect("id")).expect("a notice id");
    let until = OffsetDateTime::parse(request_body(CREATE)["publish_until"].as_str().expect("publish_until"), &Rfc3339)
        .expect("an RFC 3339 instant");
    let purge_after = until + time::Duration::days(i64::from(p.app.config.notice_retention_days));

    // One second before the retention period ends: nothing to purge.
    p.clock.set(purge_after - time::Duration::seconds(1));
    assert_eq!(mkpf_runtime::worker::run_job(&p.app, job).await, Ok(json!({ "purges_queued": 0 })));
    let none =
        p.app.queue.receive(&mkpf_core::queues::OPS_TASKS, 10, std::time::Duration::ZERO).await.expect("receive");
    assert!(none.is_empty(), "{none:?}");

    // When it ends: one purge task on the ops-tasks queue.
    p.clock.set(purge_after);
    assert_eq!(mkpf_runtime::worker::run_job(&p.app, job).await, Ok(json!({ "purges_queued": 1 })));
    let queued =
        p.app.queue.receive(&mkpf_core::queues::OPS_TASKS, 10, std::time::Duration::ZERO).await.expect("receive");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let msg = &queued[0];
    let task: Value = serde_json::from_str(&msg.body).expect("a JSON task");
    assert_eq!(task, json!({ "task": "purge_notice", "id": id.as_str() }));

    // Deliver it as SQS would: the sample event's record shape, carrying the queued message.
    let mut event = sqs_event();
    event.records.truncate(1);
    let record = &mut event.records[0];
    record.message_id = Some(msg.id.clone());
    record.receipt_handle = Some(msg.receipt.clone());
    record.body = Some(msg.body.clone());
    record.md5_of_body = None; // the sample's digest is of the sample body
    record.attributes.insert("ApproximateReceiveCount".into(), msg.receive_count.to_string());
    let spec = mkpf_http::routes::consumer("ops-tasks").expect("the ops-tasks consumer");

    let resp = mkpf_runtime::worker::handle_sqs_event(&p.app, spec, event.clone()).await;
    assert!(resp.batch_item_failures.is_empty(), "{:?}", failed_ids(&resp));
    assert!(matches!(notices::get(&p.app, &id).await, Err(NoticeError::NotFound)), "the notice was purged");

    // SQS delivers at least once: the same record again changes nothing and does not fail.
    let resp = mkpf_runtime::worker::handle_sqs_event(&p.app, spec, event).await;
    assert!(resp.batch_item_failures.is_empty(), "{:?}", failed_ids(&resp));
    assert_eq!(
        mkpf_runtime::worker::run_job(&p.app, job).await,
        Ok(json!({ "purges_queued": 0 })),
        "nothing left to purge"
    );
}

/// The challenge function limits per API Gateway `sourceIp` (the socket peer is API Gateway's).
#[tokio::test]
async fn challenges_are_limited_per_api_gateway_source_ip() {
    let p = Platform::at_event(CHALLENGE);
    let f = p.function("card-auth-challenge");
    let per_minute = p.app.config.challenges_per_minute;
    for _ in 0..per_minute {
        let r = invoke(&f, CHALLENGE).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["nonce"].as_str().map(str::len), Some(43), "base64url of 32 bytes");
    }
    let r = invoke(&f, CHALLENGE).await;
    assert_eq!((r.status, r.body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(r.header("retry-after").is_some());
    let other = CHALLENGE.replace("203.0.113.10", "198.51.100.7");
    assert_eq!(invoke(&f, &other).await.status, StatusCode::CREATED, "another source has its own budget");
}

/// Behind CloudFront, API Gateway's `sourceIp` is an edge server shared by many viewers: once the
/// origin-verify authorizer has passed the request (its context says so), the limit is keyed by
/// the viewer address CloudFront supplies (`CloudFront-Viewer-Address`); without that context the
/// header is the caller's own word and is ignored.
#[tokio::test]
async fn behind_cloudfront_challenges_are_limited_per_viewer_not_per_edge() {
    let p = Platform::at_event(CHALLENGE_VIA_CLOUDFRONT);
    let f = p.function("card-auth-challenge");
    let per_minute = p.app.config.challenges_per_minute;
    let edge = "130.176.98.41";
    let via = |viewer: &str| CHALLENGE_VIA_CLOUDFRONT.replace("198.51.100.23:50114", viewer);
    // Exhaust the edge address's own budget with requests that did not pass origin verification.
    let unverified = CHALLENGE.replace("203.0.113.10", edge);
    for _ in 0..per_minute {
        assert_eq!(invoke(&f, &unverified).await.status, StatusCode::CREATED);
    }
    let forged =
        unverified.replace("\"headers\": {", "\"headers\": {\n    \"cloudfront-viewer-address\": \"192.0.2.77:443\",");
    assert_eq!(
        invoke(&f, &forged).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a viewer address without origin verification is not believed"
    );
    // Verified requests through the same edge: each viewer has its own budget.
    for _ in 0..per_minute {
        let r = invoke(&f, CHALLENGE_VIA_CLOUDFRONT).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    assert_eq!(invoke(&f, CHALLENGE_VIA_CLOUDFRONT).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(invoke(&f, &via("[2001:db8:7:7::1]:443")).await.status, StatusCode::CREATED, "bracketed IPv6 viewer");
    assert_eq!(invoke(&f, &via("2001:db8:9:9::1:443")).await.status, StatusCode::CREATED, "bare IPv6 viewer");
    assert_eq!(invoke(&f, &via("203.0.113.200:1")).await.status, StatusCode::CREATED, "another viewer");
}
