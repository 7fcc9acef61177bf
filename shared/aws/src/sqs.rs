//! The SQS adapter of the [`Queue`] port.
//!
//! Physical queue names are the configured prefix followed by [`QueueDef::name`] (dead-letter
//! queue: prefix + [`QueueDef::dlq_name`]); queue URLs are resolved once with `GetQueueUrl` and
//! cached. The dead-letter policy itself (`RedrivePolicy`, `maxReceiveCount`) lives on the queue
//! and is set up by infra or [`crate::provision::create_queues`].
//!
//! Dead letters are inspected by receiving from the dead-letter queue and making the messages
//! visible again; redriving sends each body to the source queue as a new message (so its receive
//! count starts afresh) and then deletes it from the dead-letter queue. Both are at-least-once:
//! a failure between the send and the delete leaves a copy in each queue, which idempotent
//! consumers absorb.
//!
//! IAM: `SendMessage`, `ReceiveMessage`, `DeleteMessage`, `ChangeMessageVisibility`,
//! `GetQueueUrl`, `GetQueueAttributes` on the queues and their dead-letter queues, and
//! `ListQueues` for [`Queue::health`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use mkpf_core::ports::queue::{MAX_BATCH, MAX_BODY_BYTES, MAX_VISIBILITY_SECS, validate_message, validate_receive};
use mkpf_core::ports::{OutMessage, Queue, QueueDef, QueueDepth, QueueError, Received};

use crate::sdk_error::{short, transport_fault};

/// SQS's longest long poll.
const MAX_WAIT_SECS: u64 = 20;
/// How long peeked dead letters stay hidden if releasing them fails.
const PEEK_VISIBILITY_SECS: i32 = 30;
/// How long dead letters being redriven stay hidden if the adapter dies mid-way.
const REDRIVE_VISIBILITY_SECS: i32 = 120;
/// Long poll for the first receive from a dead-letter queue: a zero-wait receive samples only
/// some SQS servers and can come back empty while messages exist.
const DLQ_FIRST_WAIT_SECS: i32 = 1;
/// Attempts for batch entries that fail on the server side.
const BATCH_ATTEMPTS: usize = 3;

/// [`Queue`] on SQS (standard queues).
pub struct SqsQueue {
    client: Client,
    queue_prefix: String,
    urls: RwLock<HashMap<String, String>>,
}

impl fmt::Debug for SqsQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqsQueue").field("queue_prefix", &self.queue_prefix).finish_non_exhaustive()
    }
}

impl SqsQueue {
    pub fn new(client: Client, queue_prefix: impl Into<String>) -> Self {
        SqsQueue { client, queue_prefix: queue_prefix.into(), urls: RwLock::new(HashMap::new()) }
    }

    /// The physical name of a queue.
    pub fn queue_name(&self, q: &QueueDef) -> String {
        format!("{}{}", self.queue_prefix, q.name)
    }

    /// The physical name of a queue's dead-letter queue.
    pub fn dlq_name(&self, q: &QueueDef) -> String {
        format!("{}{}", self.queue_prefix, q.dlq_name())
    }

    async fn source_url(&self, q: &QueueDef) -> Result<String, QueueError> {
        self.url(self.queue_name(q)).await
    }

    async fn dlq_url(&self, q: &QueueDef) -> Result<String, QueueError> {
        self.url(self.dlq_name(q)).await
    }

    /// The URL of a queue, from the cache or `GetQueueUrl`.
    async fn url(&self, name: String) -> Result<String, QueueError> {
        if let Some(u) = self.urls.read().unwrap_or_else(|e| e.into_inner()).get(&name) {
            return Ok(u.clone());
        }
        let out =
            self.client.get_queue_url().queue_name(&name).send().await.map_err(|e| map_sdk_err("GetQueueUrl", &e))?;
        let url = out.queue_url.ok_or_else(|| QueueError::Unavailable("GetQueueUrl: no queue URL".into()))?;
        self.urls.write().unwrap_or_else(|e| e.into_inner()).insert(name, url.clone());
        Ok(url)
    }

    /// Maps an error from a call on `url`, forgetting the cached URL when the queue is gone (it
    /// may have been recreated with a new URL).
    fn fail<E, R>(&self, op: &'static str, url: &str, err: &SdkError<E, R>) -> QueueError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        if err.as_service_error().and_then(ProvideErrorMetadata::code).is_some_and(is_missing_queue) {
            self.urls.write().unwrap_or_else(|e| e.into_inner()).retain(|_, u| u != url);
        }
        map_sdk_err(op, err)
    }

    async fn receive_raw(
        &self,
        url: &str,
        max: usize,
        wait_secs: i32,
        visibility_secs: i32,
    ) -> Result<Vec<Received>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(max.min(MAX_BATCH)).unwrap_or(1))
            .wait_time_seconds(wait_secs)
            .visibility_timeout(visibility_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.fail("ReceiveMessage", url, &e))?;
        Ok(out.messages().iter().filter_map(to_received).collect())
    }

    /// Sends bodies to `url` in as few `SendMessageBatch` calls as SQS allows (10 entries and
    /// 256 KiB per call), retrying entries that failed on the server side. One result per
    /// message, in order.
    async fn send_entries(&self, url: &str, msgs: &[OutMessage]) -> Vec<Result<String, QueueError>> {
        let mut results: Vec<Option<Result<String, QueueError>>> = vec![None; msgs.len()];
        for chunk in chunks(msgs) {
            let mut pending: Vec<usize> = chunk;
            for attempt in 1..=BATCH_ATTEMPTS {
                let mut entries = Vec::with_capacity(pending.len());
                for &i in &pending {
                    let m = &msgs[i];
                    let entry = SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(m.body.clone())
                        .delay_seconds(to_i32(m.delay_secs))
                        .build();
                    match entry {
                        Ok(e) => entries.push(e),
                        Err(e) => {
                            tracing::error!(error = %e, "SendMessageBatch: could not build an entry");
                            results[i] =
                                Some(Err(QueueError::Unavailable("SendMessageBatch: could not build request".into())));
                        }
                    }
                }
                if entries.is_empty() {
                    break;
                }
                let out = match self.client.send_message_batch().queue_url(url).set_entries(Some(entries)).send().await
                {
                    Ok(out) => out,
                    Err(e) => {
                        let err = self.fail("SendMessageBatch", url, &e);
                        for &i in &pending {
                            results[i].get_or_insert_with(|| Err(err.clone()));
                        }
                        break;
                    }
                };
                for ok in out.successful() {
                    if let Some(slot) = ok.id().parse::<usize>().ok().and_then(|i| results.get_mut(i)) {
                        *slot = Some(Ok(ok.message_id().to_owned()));
                    }
                }
                let mut retry = Vec::new();
                for failed in out.failed() {
                    let Some(i) = failed.id().parse::<usize>().ok().filter(|i| *i < msgs.len()) else { continue };
                    if failed.sender_fault() {
                        let msg = short(failed.message().unwrap_or(failed.code()));
                        results[i] = Some(Err(QueueError::Validation(msg)));
                    } else if attempt < BATCH_ATTEMPTS {
                        retry.push(i);
                    } else {
                        tracing::warn!(code = failed.code(), "SendMessageBatch: entry failed");
                        results[i] = Some(Err(QueueError::Unavailable(format!("SendMessageBatch: {}", failed.code()))));
                    }
                }
                pending = retry;
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(QueueError::Unavailable("SendMessageBatch: no result for a message".into())))
            })
            .collect()
    }

    /// Makes received messages visible again now. Best effort: failures are logged, and the
    /// messages come back anyway when their visibility timeout ends.
    async fn release(&self, url: &str, receipts: &[String]) {
        for chunk in receipts.chunks(MAX_BATCH) {
            let entries: Result<Vec<_>, _> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .visibility_timeout(0)
                        .build()
                })
                .collect();
            let Ok(entries) = entries else {
                tracing::error!("ChangeMessageVisibilityBatch: could not build request");
                continue;
            };
            match self.client.change_message_visibility_batch().queue_url(url).set_entries(Some(entries)).send().await {
                Ok(out) if !out.failed().is_empty() => {
                    tracing::warn!(
                        failed = out.failed().len(),
                        "ChangeMessageVisibilityBatch: some messages not released"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %self.fail("ChangeMessageVisibilityBatch", url, &e), "messages not released");
                }
            }
        }
    }

    /// Deletes received messages; returns how many were deleted.
    async fn delete_batch(&self, url: &str, receipts: &[String]) -> Result<usize, QueueError> {
        let mut deleted = 0;
        for chunk in receipts.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(r).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| QueueError::Unavailable("DeleteMessageBatch: could not build request".into()))?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.fail("DeleteMessageBatch", url, &e))?;
            if !out.failed().is_empty() {
                tracing::warn!(failed = out.failed().len(), "DeleteMessageBatch: some messages not deleted");
            }
            deleted += out.successful().len();
        }
        Ok(deleted)
    }

    async fn counts(&self, url: &str) -> Result<(u64, u64), QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| self.fail("GetQueueAttributes", url, &e))?;
        let get = |name: &QueueAttributeName| -> Result<u64, QueueError> {
            match out.attributes().and_then(|a| a.get(name)) {
                None => Ok(0),
                Some(v) => v.parse().map_err(|_| QueueError::Unavailable("GetQueueAttributes: malformed count".into())),
            }
        };
        Ok((
            get(&QueueAttributeName::ApproximateNumberOfMessages)?,
            get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
        ))
    }

    /// Receives up to `max` distinct messages from a dead-letter queue, hiding them for
    /// `visibility_secs`. Returns the messages and every receipt obtained.
    async fn receive_dead(
        &self,
        url: &str,
        max: usize,
        visibility_secs: i32,
    ) -> (Vec<Received>, Vec<String>, Option<QueueError>) {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut receipts = Vec::new();
        let mut wait = DLQ_FIRST_WAIT_SECS;
        while out.len() < max {
            match self.receive_raw(url, max - out.len(), wait, visibility_secs).await {
                Ok(got) if got.is_empty() => break,
                Ok(got) => {
                    for m in got {
                        receipts.push(m.receipt.clone());
                        if seen.insert(m.id.clone()) {
                            out.push(m);
                        }
                    }
                }
                Err(e) => return (out, receipts, Some(e)),
            }
            wait = 0;
        }
        (out, receipts, None)
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, q: &'static QueueDef, msg: OutMessage) -> Result<String, QueueError> {
        validate_message(&msg)?;
        let url = self.source_url(q).await?;
        let out = self
            .client
            .send_message()
            .queue_url(&url)
            .message_body(msg.body)
            .delay_seconds(to_i32(msg.delay_secs))
            .send()
            .await
            .map_err(|e| self.fail("SendMessage", &url, &e))?;
        out.message_id.ok_or_else(|| QueueError::Unavailable("SendMessage: no message id".into()))
    }

    async fn send_batch(&self, q: &'static QueueDef, msgs: Vec<OutMessage>) -> Result<Vec<String>, QueueError> {
        for m in &msgs {
            validate_message(m)?;
        }
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.source_url(q).await?;
        let results = self.send_entries(&url, &msgs).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        let mut ids = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(id) => ids.push(id),
                Err(e) => {
                    tracing::warn!(failed, sent = msgs.len() - failed, "send_batch: some messages were not sent");
                    return Err(match e {
                        QueueError::Validation(m) => QueueError::Validation(m),
                        _ => QueueError::Unavailable(format!(
                            "SendMessageBatch: {failed} of {} messages failed",
                            msgs.len()
                        )),
                    });
                }
            }
        }
        Ok(ids)
    }

    async fn receive(&self, q: &'static QueueDef, max: u32, wait: Duration) -> Result<Vec<Received>, QueueError> {
        validate_receive(max, wait)?;
        let url = self.source_url(q).await?;
        let wait_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).min(MAX_WAIT_SECS);
        self.receive_raw(
            &url,
            max as usize,
            i32::try_from(wait_secs).unwrap_or(0),
            to_i32(q.visibility_timeout_secs.min(MAX_VISIBILITY_SECS)),
        )
        .await
    }

    async fn delete(&self, q: &'static QueueDef, receipt: &str) -> Result<(), QueueError> {
        check_receipt(receipt)?;
        let url = self.source_url(q).await?;
        self.client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| receipt_error(self.fail("DeleteMessage", &url, &e), &e))?;
        Ok(())
    }

    async fn change_visibility(&self, q: &'static QueueDef, receipt: &str, secs: u32) -> Result<(), QueueError> {
        check_receipt(receipt)?;
        if secs > MAX_VISIBILITY_SECS {
            return Err(QueueError::Validation(format!("visibility {secs}s exceeds {MAX_VISIBILITY_SECS}s")));
        }
        let url = self.source_url(q).await?;
        self.client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(receipt)
            .visibility_timeout(to_i32(secs))
            .send()
            .await
            .map_err(|e| receipt_error(self.fail("ChangeMessageVisibility", &url, &e), &e))?;
        Ok(())
    }

    async fn depth(&self, q: &'static QueueDef) -> Result<QueueDepth, QueueError> {
        let (src, dlq) = (self.source_url(q).await?, self.dlq_url(q).await?);
        let (visible, in_flight) = self.counts(&src).await?;
        let (dead_visible, dead_in_flight) = self.counts(&dlq).await?;
        Ok(QueueDepth { visible, in_flight, dead_letters: dead_visible + dead_in_flight })
    }

    async fn peek_dead_letters(&self, q: &'static QueueDef, max: u32) -> Result<Vec<Received>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let url = self.dlq_url(q).await?;
        let (msgs, receipts, err) = self.receive_dead(&url, max as usize, PEEK_VISIBILITY_SECS).await;
        self.release(&url, &receipts).await;
        match err {
            Some(e) => Err(e),
            None => Ok(msgs),
        }
    }

    async fn redrive(&self, q: &'static QueueDef, max: u32) -> Result<u32, QueueError> {
        if max == 0 {
            return Ok(0);
        }
        let (src, dlq) = (self.source_url(q).await?, self.dlq_url(q).await?);
        let mut moved: u32 = 0;
        let mut wait = DLQ_FIRST_WAIT_SECS;
        while moved < max {
            let want = (max - moved) as usize;
            let batch = self.receive_raw(&dlq, want, wait, REDRIVE_VISIBILITY_SECS).await?;
            wait = 0;
            if batch.is_empty() {
                break;
            }
            let msgs: Vec<OutMessage> = batch.iter().map(|m| OutMessage::new(m.body.clone())).collect();
            let results = self.send_entries(&src, &msgs).await;
            let (mut sent, mut unsent) = (Vec::new(), Vec::new());
            let mut first_err = None;
            for (m, r) in batch.into_iter().zip(results) {
                match r {
                    Ok(_) => sent.push(m.receipt),
                    Err(e) => {
                        unsent.push(m.receipt);
                        first_err.get_or_insert(e);
                    }
                }
            }
            // Count what reached the source queue, even if the dead-letter copy lingers.
            let sent_count = u32::try_from(sent.len()).unwrap_or(u32::MAX);
            let deleted = self.delete_batch(&dlq, &sent).await;
            moved = moved.saturating_add(sent_count);
            self.release(&dlq, &unsent).await;
            if let Some(e) = first_err {
                tracing::warn!(moved, "redrive stopped: a message could not be sent to the source queue");
                return Err(e);
            }
            if let Err(e) = deleted {
                tracing::warn!(moved, "redrive stopped: sent messages could not be deleted from the dead-letter queue");
                return Err(e);
            }
        }
        Ok(moved)
    }

    async fn health(&self) -> Result<(), QueueError> {
        let mut req = self.client.list_queues().max_results(1);
        if !self.queue_prefix.is_empty() {
            req = req.queue_name_prefix(&self.queue_prefix);
        }
        req.send().await.map_err(|e| map_sdk_err("ListQueues", &e))?;
        Ok(())
    }
}

/// Splits message indexes into batches SQS accepts: at most 10 entries and 256 KiB of bodies.
fn chunks(msgs: &[OutMessage]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for (i, m) in msgs.iter().enumerate() {
        if !cur.is_empty() && (cur.len() == MAX_BATCH || bytes + m.body.len() > MAX_BODY_BYTES) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += m.body.len();
        cur.push(i);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn to_received(m: &Message) -> Option<Received> {
    let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
        tracing::warn!("ReceiveMessage: message without id or receipt handle skipped");
        return None;
    };
    let receive_count = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    Some(Received {
        id: id.to_owned(),
        receipt: receipt.to_owned(),
        body: m.body().unwrap_or_default().to_owned(),
        receive_count,
    })
}

/// A receipt handle SQS could have issued: non-empty printable ASCII.
fn check_receipt(receipt: &str) -> Result<(), QueueError> {
    if receipt.is_empty() || !receipt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(QueueError::BadReceipt);
    }
    Ok(())
}

/// On calls that take a receipt, SQS reports an unknown receipt as `InvalidParameterValue`
/// naming the receipt handle.
fn receipt_error<E: ProvideErrorMetadata>(mapped: QueueError, err: &SdkError<E, impl fmt::Debug>) -> QueueError {
    let about_receipt = err.as_service_error().is_some_and(|e| {
        e.code() == Some("InvalidParameterValue")
            && e.message().is_some_and(|m| m.to_ascii_lowercase().replace(' ', "").contains("receipthandle"))
    });
    if about_receipt { QueueError::BadReceipt } else { mapped }
}

fn is_missing_queue(code: &str) -> bool {
    matches!(code, "AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Maps an SDK error to the port's error. Faults are logged with their full context here and
/// reported with a short description only.
fn map_sdk_err<E, R>(op: &'static str, err: &SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let fault = match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().unwrap_or("UnknownError");
            match code {
                "ReceiptHandleIsInvalid" | "MessageNotInflight" => return QueueError::BadReceipt,
                "InvalidParameterValue"
                | "InvalidAttributeValue"
                | "InvalidMessageContents"
                | "MissingParameter"
                | "InvalidParameterCombination"
                | "ValidationError"
                | "BatchRequestTooLong"
                | "TooManyEntriesInBatchRequest" => {
                    return QueueError::Validation(short(e.message().unwrap_or("rejected by SQS")));
                }
                c if is_missing_queue(c) => format!("{op}: queue does not exist"),
                "RequestThrottled" | "ThrottlingException" | "OverLimit" => format!("{op}: throttled"),
                _ => format!("{op}: {code}"),
            }
        }
        other => transport_fault(op, "SQS", other).unwrap_or_else(|| format!("{op}: request failed")),
    };
    tracing::warn!(op, error = %DisplayErrorContext(err), "SQS request failed");
    QueueError::Unavailable(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        let small: Vec<OutMessage> = (0..25).map(|i| OutMessage::new(format!("m{i}"))).collect();
        let c = chunks(&small);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(c.concat(), (0..25).collect::<Vec<_>>());
        let big: Vec<OutMessage> = (0..3).map(|_| OutMessage::new("x".repeat(MAX_BODY_BYTES / 2 + 1))).collect();
        assert_eq!(chunks(&big).iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1]);
        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn receipts_are_checked_locally() {
        assert_eq!(check_receipt(""), Err(QueueError::BadReceipt));
        assert_eq!(check_receipt("has space"), Err(QueueError::BadReceipt));
        assert_eq!(check_receipt("bad\nline"), Err(QueueError::BadReceipt));
        assert_eq!(check_receipt("AQEBzbVv+/x=="), Ok(()));
    }
}
