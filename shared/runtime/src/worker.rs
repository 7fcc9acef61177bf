//! Running queue consumers and scheduled jobs, on Lambda and in the local process.
//!
//! A consumer handles one message at a time and answers Ok (delete), `Retry` (make it visible
//! again after an exponential backoff with jitter), `RetryAfter` (make it visible again after the
//! delay the handler names, e.g. a provider's `Retry-After`) or `Reject` (make it visible at once,
//! so it reaches the dead-letter queue after the queue's `max_receives` without waiting). On
//! Lambda the SQS event source deletes what succeeded; failures are reported as partial batch
//! failures (after the visibility change that delays their retry).

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use rand::Rng;
use time::{OffsetDateTime, Time};

use mkpf_core::ports::{JST, Received};
use mkpf_http::App;
use mkpf_http::routes::{ConsumerSpec, JobSpec, Schedule};

pub use mkpf_core::ports::queue::ConsumeError;

/// What happened to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Retried { after_secs: u32 },
    Rejected,
}

/// Handles one received message and settles it on the queue (delete, or delay the retry).
/// `delete` is false on Lambda, where the event source mapping deletes successes itself.
pub async fn settle(app: &App, spec: &ConsumerSpec, msg: &Received, delete: bool) -> Outcome {
    let q = spec.queue;
    let started = std::time::Instant::now();
    let result = (spec.handler)(app.clone(), msg.body.clone()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    app.metrics.timing("consumer_latency", &[("consumer", spec.name)], ms);
    let outcome = match result {
        Ok(()) => {
            if delete && let Err(e) = app.queue.delete(q, &msg.receipt).await {
                tracing::warn!(consumer = spec.name, message_id = %msg.id, error = %e, "delete failed; the message will be redelivered");
            }
            Outcome::Done
        }
        Err(ConsumeError::Retry(why)) => {
            let after = q.backoff_secs(msg.receive_count, rand::thread_rng().gen_range(0.0..1.0));
            tracing::warn!(consumer = spec.name, message_id = %msg.id, attempt = msg.receive_count, retry_in_secs = after, reason = %why, "message failed; will retry");
            if let Err(e) = app.queue.change_visibility(q, &msg.receipt, after).await {
                tracing::warn!(consumer = spec.name, error = %e, "could not delay the retry");
            }
            Outcome::Retried { after_secs: after }
        }
        Err(ConsumeError::RetryAfter(secs, why)) => {
            let after = secs.min(mkpf_core::ports::queue::MAX_VISIBILITY_SECS);
            tracing::warn!(consumer = spec.name, message_id = %msg.id, attempt = msg.receive_count, retry_in_secs = after, reason = %why, "message failed; will retry when told");
            if let Err(e) = app.queue.change_visibility(q, &msg.receipt, after).await {
                tracing::warn!(consumer = spec.name, error = %e, "could not delay the retry");
            }
            Outcome::Retried { after_secs: after }
        }
        Err(ConsumeError::Reject(why)) => {
            tracing::error!(consumer = spec.name, message_id = %msg.id, attempt = msg.receive_count, reason = %why, "message rejected; it goes to the dead-letter queue");
            if let Err(e) = app.queue.change_visibility(q, &msg.receipt, 0).await {
                tracing::warn!(consumer = spec.name, error = %e, "could not release the rejected message");
            }
            Outcome::Rejected
        }
    };
    let label = match outcome {
        Outcome::Done => "done",
        Outcome::Retried { .. } => "retried",
        Outcome::Rejected => "rejected",
    };
    app.metrics.count("consumer_messages", &[("consumer", spec.name), ("outcome", label)], 1);
    outcome
}

/// The Lambda entry of a consumer: handles an SQS batch and reports the failed ones.
pub async fn handle_sqs_event(app: &App, spec: &ConsumerSpec, event: SqsEvent) -> SqsBatchResponse {
    let mut resp = SqsBatchResponse::default();
    for m in event.records {
        let id = m.message_id.clone().unwrap_or_default();
        let (Some(receipt), Some(body)) = (m.receipt_handle.clone(), m.body.clone()) else {
            // Never acknowledge what was not handled: report it, so SQS keeps it.
            tracing::error!(consumer = spec.name, message_id = %id, "SQS record without receipt or body");
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            resp.batch_item_failures.push(f);
            continue;
        };
        let receive_count = m.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        let msg = Received { id: id.clone(), receipt, body, receive_count };
        if settle(app, spec, &msg, false).await != Outcome::Done {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            resp.batch_item_failures.push(f);
        }
    }
    app.flush_metrics();
    resp
}

/// Local: polls the consumer's queue until `stop` fires.
pub async fn run_consumer(app: App, spec: &'static ConsumerSpec, mut stop: tokio::sync::watch::Receiver<bool>) {
    let q = spec.queue;
    loop {
        let got = tokio::select! {
            r = app.queue.receive(q, q.batch_size.min(10), Duration::from_secs(20)) => r,
            _ = stop.changed() => return,
        };
        match got {
            Ok(msgs) => {
                for m in &msgs {
                    settle(&app, spec, m, true).await;
                }
            }
            Err(e) => {
                tracing::error!(consumer = spec.name, error = %e, "receive failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// Runs a job once and logs its report.
pub async fn run_job(app: &App, spec: &JobSpec) -> Result<serde_json::Value, String> {
    let started = std::time::Instant::now();
    let r = (spec.run)(app.clone()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    app.metrics.timing("job_duration", &[("job", spec.name)], ms);
    app.metrics.count("job_runs", &[("job", spec.name), ("outcome", if r.is_ok() { "ok" } else { "failed" })], 1);
    match &r {
        Ok(report) => tracing::info!(job = spec.name, report = %report, duration_ms = ms, "job finished"),
        Err(e) => tracing::error!(job = spec.name, error = %e, duration_ms = ms, "job failed"),
    }
    app.flush_metrics();
    r
}

/// The next instant strictly after `now` at which `schedule` fires (Asia/Tokyo wall clock).
pub fn next_fire(schedule: Schedule, now: OffsetDateTime) -> OffsetDateTime {
    match schedule {
        Schedule::Every { minutes } => {
            let step = i64::from(minutes.max(1)) * 60;
            let t = now.unix_timestamp();
            let next = (t / step + 1) * step;
            OffsetDateTime::from_unix_timestamp(next).unwrap_or(now)
        }
        Schedule::DailyJst { hour, minute } => {
            let local = now.to_offset(JST);
            let at = Time::from_hms(hour, minute, 0).unwrap_or(Time::MIDNIGHT);
            let today = local.replace_time(at);
            if today > local { today } else { today + time::Duration::days(1) }
        }
    }
}

/// Local: fires the job on its schedule until `stop` fires.
pub async fn run_scheduler(app: App, spec: &'static JobSpec, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = app.clock.now();
        let next = next_fire(spec.schedule, now);
        let wait = (next - now).max(time::Duration::ZERO);
        let wait = Duration::from_secs_f64(wait.as_seconds_f64());
        tokio::select! {
            _ = tokio::time::sleep(wait) => { let _ = run_job(&app, spec).await; }
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn daily_fires_at_the_tokyo_wall_clock() {
        let s = Schedule::DailyJst { hour: 3, minute: 30 };
        // 2026-11-25 17:00 UTC is 02:00 JST on the 26th: next is 03:30 JST the same day.
        assert_eq!(next_fire(s, datetime!(2026-11-25 17:00 UTC)), datetime!(2026-11-26 3:30 +9));
        // At exactly the firing time, the next one is a day later.
        assert_eq!(next_fire(s, datetime!(2026-11-26 3:30 +9)), datetime!(2026-11-27 3:30 +9));
        assert_eq!(
            next_fire(Schedule::Every { minutes: 10 }, datetime!(2026-11-25 17:03 UTC)),
            datetime!(2026-11-25 17:10 UTC)
        );
    }

    proptest! {
        #[test]
        fn next_fire_is_after_now_and_within_a_period(secs in 1_600_000_000i64..2_000_000_000, h in 0u8..24, m in 0u8..60, every in 1u32..1440) {
            let now = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let d = next_fire(Schedule::DailyJst { hour: h, minute: m }, now);
            prop_assert!(d > now && d - now <= time::Duration::days(1));
            let local = d.to_offset(JST);
            prop_assert_eq!((local.hour(), local.minute(), local.second()), (h, m, 0));
            let e = next_fire(Schedule::Every { minutes: every }, now);
            prop_assert!(e > now && e - now <= time::Duration::minutes(i64::from(every)));
        }
    }
}
