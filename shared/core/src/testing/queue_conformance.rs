//! The queue conformance suite: one set of cases every `Queue` adapter must pass.
//!
//! Each case takes a fresh queue backend on which the queues in [`QUEUES`] (and their dead-letter
//! queues) exist. Time is never simulated: redelivery is forced with `change_visibility(.., 0)`,
//! which behaves the same on SQS and on the embedded queue.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::ports::queue::*;

/// A queue with a short redelivery budget.
pub static WORK: QueueDef = QueueDef {
    name: "conf-work",
    visibility_timeout_secs: 30,
    max_receives: 2,
    retention_secs: 3600,
    batch_size: 10,
    max_concurrency: 2,
    retry_base_secs: 2,
    retry_max_secs: 900,
    purpose: "conformance suite",
};

/// A second queue, to show queues are separate.
pub static OTHER: QueueDef = QueueDef {
    name: "conf-other",
    visibility_timeout_secs: 30,
    max_receives: 5,
    retention_secs: 3600,
    batch_size: 10,
    max_concurrency: 2,
    retry_base_secs: 2,
    retry_max_secs: 900,
    purpose: "conformance suite",
};

pub static QUEUES: &[&QueueDef] = &[&WORK, &OTHER];

type Q = Arc<dyn Queue>;
const NOW: Duration = Duration::ZERO;

async fn drain(q: &Q, def: &'static QueueDef) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        let got = q.receive(def, 10, NOW).await.unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

pub async fn send_receive_delete(q: Q) {
    let id = q.send(&WORK, OutMessage::new("hello")).await.unwrap();
    let got = q.receive(&WORK, 10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].body, "hello");
    assert_eq!(got[0].receive_count, 1);
    q.delete(&WORK, &got[0].receipt).await.unwrap();
    q.change_visibility(&WORK, &got[0].receipt, 0).await.ok();
    assert!(q.receive(&WORK, 10, NOW).await.unwrap().is_empty());
    assert!(q.receive(&OTHER, 10, NOW).await.unwrap().is_empty());
}

pub async fn batch_send_delivers_each_once(q: Q) {
    let bodies: Vec<String> = (0..25).map(|i| format!("{{\"n\":{i}}}")).collect();
    let ids = q.send_batch(&WORK, bodies.iter().map(OutMessage::new).collect()).await.unwrap();
    assert_eq!(ids.len(), 25);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 25, "ids are distinct");
    let got = drain(&q, &WORK).await;
    let got_bodies: BTreeSet<String> = got.iter().map(|m| m.body.clone()).collect();
    assert_eq!(got.len(), 25, "each delivered once while invisible");
    assert_eq!(got_bodies, bodies.into_iter().collect::<BTreeSet<_>>());
}

pub async fn received_message_is_invisible_until_released(q: Q) {
    q.send(&WORK, OutMessage::new("m")).await.unwrap();
    let first = q.receive(&WORK, 1, NOW).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(q.receive(&WORK, 10, NOW).await.unwrap().is_empty());
    let depth = q.depth(&WORK).await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (0, 1));
    q.change_visibility(&WORK, &first[0].receipt, 0).await.unwrap();
    let again = q.receive(&WORK, 1, NOW).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, first[0].receipt);
    q.delete(&WORK, &again[0].receipt).await.unwrap();
    let depth = q.depth(&WORK).await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (0, 0));
}

pub async fn exhausted_message_goes_to_dead_letters_and_redrives(q: Q) {
    q.send(&WORK, OutMessage::new("poison")).await.unwrap();
    for attempt in 1..=WORK.max_receives {
        let got = q.receive(&WORK, 1, NOW).await.unwrap();
        assert_eq!(got.len(), 1, "attempt {attempt}");
        assert_eq!(got[0].receive_count, attempt);
        q.change_visibility(&WORK, &got[0].receipt, 0).await.unwrap();
    }
    // The next receive moves it to the dead-letter queue instead of delivering it.
    assert!(q.receive(&WORK, 10, NOW).await.unwrap().is_empty());
    let dead = q.peek_dead_letters(&WORK, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(q.depth(&WORK).await.unwrap().dead_letters, 1);
    // Peeking leaves it there.
    assert_eq!(q.peek_dead_letters(&WORK, 10).await.unwrap().len(), 1);

    assert_eq!(q.redrive(&WORK, 10).await.unwrap(), 1);
    assert_eq!(q.depth(&WORK).await.unwrap().dead_letters, 0);
    let back = q.receive(&WORK, 1, NOW).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, "poison");
    assert_eq!(back[0].receive_count, 1, "a redriven message starts afresh");
    assert_eq!(q.redrive(&WORK, 10).await.unwrap(), 0);
}

pub async fn delayed_message_is_not_yet_visible(q: Q) {
    q.send(&WORK, OutMessage::new("later").delayed(600)).await.unwrap();
    q.send(&WORK, OutMessage::new("now")).await.unwrap();
    let got = drain(&q, &WORK).await;
    assert_eq!(got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["now"]);
}

pub async fn bad_requests_are_refused(q: Q) {
    let e = q.send(&WORK, OutMessage::new("")).await.unwrap_err();
    assert!(matches!(e, QueueError::Validation(_)), "{e:?}");
    let e = q.send(&WORK, OutMessage::new("x".repeat(MAX_BODY_BYTES + 1))).await.unwrap_err();
    assert!(matches!(e, QueueError::Validation(_)), "{e:?}");
    let e = q.send(&WORK, OutMessage::new("x").delayed(MAX_DELAY_SECS + 1)).await.unwrap_err();
    assert!(matches!(e, QueueError::Validation(_)), "{e:?}");
    for max in [0, 11] {
        let e = q.receive(&WORK, max, NOW).await.unwrap_err();
        assert!(matches!(e, QueueError::Validation(_)), "{e:?}");
    }
    let e = q.delete(&WORK, "").await.unwrap_err();
    assert_eq!(e, QueueError::BadReceipt);
    assert!(q.receive(&WORK, 10, NOW).await.unwrap().is_empty(), "nothing was sent");
}

pub async fn long_poll_wakes_on_send(q: Q) {
    let waiter = {
        let q = q.clone();
        tokio::spawn(async move { q.receive(&WORK, 1, Duration::from_secs(10)).await })
    };
    // The waiter may or may not already be parked; either way it must get the message.
    tokio::task::yield_now().await;
    q.send(&WORK, OutMessage::new("wake")).await.unwrap();
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "wake");
}

/// Concurrent receivers between them get every message; the port promises at-least-once
/// delivery (as SQS does), so a duplicate is allowed but must stay rare. (The embedded queue
/// hands out each message exactly once — its own test says so; moto's server, like SQS, may
/// return one message to two receive calls racing on another thread, seen under CPU load.)
pub async fn concurrent_receivers_get_each_message_once(q: Q) {
    let msgs: Vec<OutMessage> = (0..40).map(|i| OutMessage::new(format!("c{i}"))).collect();
    q.send_batch(&WORK, msgs).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move { drain(&q, &WORK).await }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let ids: BTreeSet<String> = all.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), 40, "every message delivered");
    assert!(all.len() <= 44, "duplicates stay rare: {} deliveries of 40 messages", all.len());
}

pub async fn health_answers(q: Q) {
    q.health().await.unwrap();
}

/// Instantiates every queue conformance case as a `#[tokio::test]`, each on a fresh backend from
/// `$factory` (an `async fn() -> Arc<dyn Queue>` on which [`QUEUES`] exist).
#[macro_export]
macro_rules! queue_conformance_suite {
    ($factory:path) => {
        $crate::queue_conformance_suite!(@cases $factory;
            send_receive_delete, batch_send_delivers_each_once,
            received_message_is_invisible_until_released,
            exhausted_message_goes_to_dead_letters_and_redrives, delayed_message_is_not_yet_visible,
            bad_requests_are_refused, long_poll_wakes_on_send,
            concurrent_receivers_get_each_message_once, health_answers);
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let queue = $factory().await;
                $crate::testing::queue_conformance::$case(queue).await;
            }
        )*
    };
}
