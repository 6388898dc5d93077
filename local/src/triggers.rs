//! The declared event sources, driven into the handlers as Lambda would: each S3-triggered
//! function polls its bucket's notification queue, each SQS-triggered one its queue (partial batch
//! failures), each stream-triggered one its table's stream (filtered, retried, bisected), and each
//! schedule ticks at its declared rate. S3 events and schedules are asynchronous invocations: two
//! retries, then the failure queue, as on AWS. Nothing here names a function: the declaration does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use shop_core::lambda::{Answer, Invocation};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bridge;
use crate::chaos::Fault;
use crate::declaration::Trigger;
use crate::provision::resources::ASYNC_FAILURES;
use crate::recorder;
use crate::state::{AppState, RunnerError};

/// One declared function: its service and name.
type Target = (String, String);

/// Lambda's retries of an asynchronous invocation that failed, before the on-failure destination.
const ASYNC_RETRIES: u32 = 2;

/// Starts a task per declared event source and per schedule. `interval` is the cleanup
/// schedule's period locally; every other schedule keeps its declared rate at the same scale.
pub fn spawn(
    st: &Arc<AppState>,
    interval: Duration,
    stage: &crate::stage::StageValues,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, RunnerError> {
    let mut tasks = Vec::new();
    for s in &st.decl.services {
        for f in &s.functions {
            let target = (s.name.clone(), f.name.clone());
            let missing =
                |what: &str| RunnerError::Declaration(format!("{}/{}: no {what} in this stack", s.name, f.name));
            match f.trigger() {
                Some(Trigger::S3) => {
                    let bucket = f.s3.as_ref().map(|b| b.bucket.as_str()).unwrap_or_default();
                    let queue = &st
                        .info
                        .bucket(&s.name, bucket)
                        .ok_or_else(|| missing("such bucket"))?
                        .events_queue;
                    tasks.push(tokio::spawn(poll_s3(
                        st.clone(),
                        target,
                        queue.to_owned(),
                        stop.clone(),
                    )));
                }
                Some(Trigger::Sqs) => {
                    let name = f.sqs.as_ref().map(|q| q.queue.as_str()).unwrap_or_default();
                    let (url, arn) = st.info.queue(name).ok_or_else(|| missing("queue"))?;
                    let queue = (url.to_owned(), arn.to_owned());
                    tasks.push(tokio::spawn(poll_sqs(st.clone(), target, queue, stop.clone())));
                }
                Some(Trigger::Stream) => {
                    let Some(decl) = f.stream.clone() else { continue };
                    let arn = st
                        .info
                        .stream(&decl.table)
                        .ok_or_else(|| missing("table stream"))?
                        .to_owned();
                    tasks.push(tokio::spawn(poll_stream(st.clone(), target, arn, decl, stop.clone())));
                }
                Some(Trigger::Schedule) => {
                    let every = f.schedule.as_ref().map(|e| e.every.as_str()).unwrap_or_default();
                    let period = schedule_period(stage, every, interval).ok_or_else(|| missing("schedule rate"))?;
                    tasks.push(tokio::spawn(schedule(st.clone(), target, period, stop.clone())));
                }
                // HTTP: the gateway; Cognito: the emulator calls it (registered at start).
                Some(Trigger::Http | Trigger::Cognito) | None => {}
            }
        }
    }
    Ok(tasks)
}

/// The local period of schedule `every`: its declared rate, at the scale that makes the cleanup
/// schedule tick every `cleanup_interval` (the default 120 s is the deployed rate: scale 1).
pub fn schedule_period(stage: &crate::stage::StageValues, every: &str, cleanup_interval: Duration) -> Option<Duration> {
    let scale = cleanup_interval.as_secs_f64() / (stage.cleanup_every_minutes.max(1) * 60) as f64;
    let minutes = stage.every_minutes(every)?;
    Some(Duration::from_secs_f64((minutes * 60) as f64 * scale).max(Duration::from_millis(200)))
}

/// An asynchronous invocation as Lambda runs it: on failure two retries (after a pause each),
/// then the event goes to the failure queue with what went wrong. Answers whether it succeeded.
async fn invoke_async(st: &AppState, target: &Target, event: Value) -> bool {
    let mut last = String::new();
    for attempt in 0..=ASYNC_RETRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        match invoke(st, target, event.clone()).await {
            Ok(report) => {
                tracing::info!(service = %target.0, function = %target.1, %report, attempt, "asynchronous invocation handled");
                return true;
            }
            Err(e) => {
                tracing::warn!(service = %target.0, function = %target.1, error = %e, attempt, "asynchronous invocation failed");
                last = e;
            }
        }
    }
    let record = json!({
        "version": "1.0",
        "requestContext": { "condition": "RetriesExhausted", "approximateInvokeCount": ASYNC_RETRIES + 1, "functionArn": format!("{}/{}", target.0, target.1) },
        "requestPayload": event,
        "responseContext": { "statusCode": 200, "functionError": "Unhandled" },
        "responsePayload": { "errorMessage": last },
    });
    on_failure(st, target, record).await;
    false
}

/// Sends a record to the stack's failure queue (the on-failure destination).
async fn on_failure(st: &AppState, target: &Target, record: Value) {
    let sqs = aws_sdk_sqs::Client::new(&st.emulator.sdk_config());
    let Some((queue, _)) = st.info.queue(ASYNC_FAILURES) else {
        tracing::error!(service = %target.0, function = %target.1, "no failure queue in this stack: record lost");
        return;
    };
    let sent = sqs
        .send_message()
        .queue_url(queue)
        .message_body(record.to_string())
        .send()
        .await;
    tracing::error!(service = %target.0, function = %target.1, kept = sent.is_ok(), "sent to the failure queue");
}

/// Invokes `target` with `event` (its AWS calls recorded under its name): its output, or why it
/// failed.
pub(crate) async fn invoke(st: &AppState, (service, name): &Target, event: Value) -> Result<Value, String> {
    let answer = recorder::scope(
        service,
        name,
        st.services.invoke(service, name, Invocation::Event(event)),
    )
    .await;
    match answer {
        Some(Answer::Event(Ok(out))) => Ok(out),
        Some(Answer::Event(Err(d))) => Err(format!("{}: {}", d.error_type, d.error_message)),
        Some(Answer::Http(_)) | None => Err("not an event function of this stack".to_owned()),
    }
}

/// Bucket notifications (queued by the emulator) -> the service's image handler, one asynchronous
/// invocation per event (two retries, then the failure queue).
async fn poll_s3(st: Arc<AppState>, target: Target, queue: String, mut stop: watch::Receiver<bool>) {
    let sqs = aws_sdk_sqs::Client::new(&st.emulator.sdk_config());
    while !*stop.borrow() {
        let msgs = tokio::select! {
            r = bridge::receive(&sqs, &queue, 10, 1) => r.unwrap_or_default(),
            _ = stop.changed() => break,
        };
        for m in &msgs {
            let Some(event) = m.body().and_then(bridge::s3_event) else {
                continue; // s3:TestEvent and the like
            };
            if !invoke_async(&st, &target, json!(event)).await {
                continue;
            }
            // Each again as Lambda runs it: a failure is retried, then kept in the failure queue.
            if st.chaos.strikes(Fault::DuplicateS3Event) {
                // S3 delivers an event at least once: the same event again.
                let ok = invoke_async(&st, &target, json!(event)).await;
                tracing::info!(function = %target.1, ok, "chaos: duplicate S3 event delivered");
            }
            if st.chaos.strikes(Fault::AsyncRetry) {
                // As if the handler failed after its work: Lambda invokes it again.
                let ok = invoke_async(&st, &target, json!(event)).await;
                tracing::info!(function = %target.1, ok, "chaos: asynchronous invocation retried");
            }
        }
        // Every event was handled, or kept in the failure queue: none comes again.
        bridge::ack(&sqs, &queue, &msgs, &[]).await;
    }
}

/// A queue -> its consumer, in batches, with Lambda's partial batch semantics.
async fn poll_sqs(st: Arc<AppState>, target: Target, (queue, arn): (String, String), mut stop: watch::Receiver<bool>) {
    let sqs = aws_sdk_sqs::Client::new(&st.emulator.sdk_config());
    while !*stop.borrow() {
        let msgs = tokio::select! {
            r = bridge::receive(&sqs, &queue, 10, 1) => r.unwrap_or_default(),
            _ = stop.changed() => break,
        };
        if msgs.is_empty() {
            continue;
        }
        let all = || {
            msgs.iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let event = json!(bridge::sqs_event(&msgs, &arn));
        if st.chaos.strikes(Fault::DuplicateDelivery) {
            // SQS delivers at least once: the same batch, once more, first.
            let again = invoke(&st, &target, event.clone()).await;
            tracing::info!(function = %target.1, ok = again.is_ok(), "chaos: batch delivered twice");
        }
        let failed = match invoke(&st, &target, event).await {
            Ok(out) => match serde_json::from_value::<aws_lambda_events::sqs::SqsBatchResponse>(out) {
                Ok(r) => r.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(),
                Err(_) => all(),
            },
            Err(e) => {
                tracing::warn!(service = %target.0, error = %e, "queue batch failed; every message will be retried");
                all()
            }
        };
        bridge::ack(&sqs, &queue, &msgs, &failed).await;
    }
}

/// A table's change stream -> its function, in batches: only the declared event names (the
/// mapping's filter); a failing batch is retried `retryAttempts` times, then bisected, and a
/// single record that still fails goes to the failure queue, so the shard moves on.
async fn poll_stream(
    st: Arc<AppState>,
    target: Target,
    arn: String,
    decl: crate::declaration::StreamTrigger,
    mut stop: watch::Receiver<bool>,
) {
    let reader = if arn.is_empty() {
        None
    } else {
        crate::streams::StreamReader::open(&st.emulator.endpoint, &st.emulator.region, &arn).await
    };
    let Some(mut reader) = reader else {
        tracing::warn!("the table has no stream (a stack from before streams?): run with --reset for metrics");
        return;
    };
    while !*stop.borrow() {
        match reader.next_event().await {
            Some(mut event) => {
                if !decl.events.is_empty() {
                    event.records.retain(|r| decl.events.contains(&r.event_name));
                }
                if !event.records.is_empty() {
                    deliver_stream(&st, &target, event.records, decl.retry_attempts, &arn).await;
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
}

/// One stream batch: retried, then bisected, then set aside (boxed: it recurses on each half).
fn deliver_stream<'a>(
    st: &'a AppState,
    target: &'a Target,
    records: Vec<aws_lambda_events::dynamodb::EventRecord>,
    retries: u32,
    arn: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let mut last = String::new();
        for attempt in 0..=retries {
            let mut event = aws_lambda_events::dynamodb::Event::default();
            event.records = records.clone();
            let answer = if st.chaos.strikes(Fault::StreamError) {
                Err("chaos: Runtime.ExitError: the function crashed".to_owned())
            } else {
                invoke(st, target, json!(event)).await
            };
            match answer {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(function = %target.1, error = %e, attempt, records = records.len(), "stream batch failed");
                    last = e;
                }
            }
        }
        if records.len() > 1 {
            let mut first = records;
            let second = first.split_off(first.len() / 2);
            deliver_stream(st, target, first, retries, arn).await;
            deliver_stream(st, target, second, retries, arn).await;
            return;
        }
        let sequence = records
            .first()
            .and_then(|r| r.change.sequence_number.clone())
            .unwrap_or_default();
        let record = json!({
            "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": retries + 1, "functionArn": format!("{}/{}", target.0, target.1) },
            "responseContext": { "functionError": "Unhandled", "errorMessage": last },
            "DDBStreamBatchInfo": { "batchSize": 1, "streamArn": arn, "startSequenceNumber": sequence, "endSequenceNumber": sequence },
        });
        on_failure(st, target, record).await;
    })
}

/// One EventBridge schedule: `target` every `period`, with the empty event a scheduled rule's
/// target gets, as an asynchronous invocation.
async fn schedule(st: Arc<AppState>, target: Target, period: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        invoke_async(&st, &target, json!({})).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schedule_ticks_at_its_declared_rate_at_one_scale() {
        let stage = crate::stage::values("local").unwrap();
        let at = |every: &str, interval: u64| schedule_period(&stage, every, Duration::from_secs(interval)).unwrap();
        // The default local interval is the deployed cleanup rate: every schedule as deployed.
        assert_eq!(
            at("cleanup", 120),
            Duration::from_secs(stage.cleanup_every_minutes * 60)
        );
        assert_eq!(
            at("reconcile", 120),
            Duration::from_secs(stage.reconcile_every_minutes * 60)
        );
        assert_eq!(at("purge", 120), Duration::from_secs(stage.purge_every_minutes * 60));
        // Faster locally: the same scale for all (reconcile every 5 min -> 2.5 s when cleanup ticks every 1 s).
        assert_eq!(at("reconcile", 1), Duration::from_millis(2500));
        assert!(at("purge", 1) > at("reconcile", 1));
        assert!(schedule_period(&stage, "never", Duration::from_secs(1)).is_none());
    }
}
