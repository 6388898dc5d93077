//! The declared event sources, driven into the handlers as Lambda would: each S3-triggered
//! function polls its bucket's notification queue, each SQS-triggered one its queue (partial batch
//! failures), each stream-triggered one its table's stream, and the schedules tick every declared
//! schedule. Nothing here names a function: the declaration does.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use shop_core::lambda::{Answer, Invocation};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bridge;
use crate::chaos::Fault;
use crate::declaration::Trigger;
use crate::recorder;
use crate::runner::{AppState, RunnerError};

/// One declared function: its service and name.
type Target = (String, String);

/// Starts a task per declared event source (and one for every schedule).
pub fn spawn(
    st: &Arc<AppState>,
    interval: Duration,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, RunnerError> {
    let mut tasks = Vec::new();
    let mut scheduled = Vec::new();
    for s in &st.decl.services {
        for f in &s.functions {
            let target = (s.name.clone(), f.bin.clone());
            let missing =
                |what: &str| RunnerError::Declaration(format!("{}/{}: no {what} in this stack", s.name, f.bin));
            match f.trigger() {
                Some(Trigger::S3) => {
                    let bucket = f.s3.as_ref().map(|b| b.bucket.as_str()).unwrap_or_default();
                    let queue = st
                        .info
                        .events_queue(&s.name, bucket)
                        .ok_or_else(|| missing("such bucket"))?;
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
                    let table = f.stream.as_ref().map(|t| t.table.as_str()).unwrap_or_default();
                    let arn = st.info.stream(table).ok_or_else(|| missing("table stream"))?.to_owned();
                    tasks.push(tokio::spawn(poll_stream(st.clone(), target, arn, stop.clone())));
                }
                Some(Trigger::Schedule) => scheduled.push(target),
                Some(Trigger::Http) | None => {}
            }
        }
    }
    tasks.push(tokio::spawn(schedules(st.clone(), scheduled, interval, stop.clone())));
    Ok(tasks)
}

/// Invokes `target` with `event` (its AWS calls recorded under its name): its output, or why it
/// failed.
async fn invoke(st: &AppState, (service, bin): &Target, event: Value) -> Result<Value, String> {
    let answer = recorder::scope(service, bin, st.services.invoke(service, bin, Invocation::Event(event))).await;
    match answer {
        Some(Answer::Event(Ok(out))) => Ok(out),
        Some(Answer::Event(Err(d))) => Err(format!("{}: {}", d.error_type, d.error_message)),
        Some(Answer::Http(_)) | None => Err("not an event function of this stack".to_owned()),
    }
}

/// Bucket notifications (queued by the emulator) -> the service's image handler, one event per
/// message; a failed one stays queued and comes again, as Lambda retries.
async fn poll_s3(st: Arc<AppState>, target: Target, queue: String, mut stop: watch::Receiver<bool>) {
    let sqs = aws_sdk_sqs::Client::new(&st.emulator.sdk_config());
    while !*stop.borrow() {
        let msgs = tokio::select! {
            r = bridge::receive(&sqs, &queue, 10, 1) => r.unwrap_or_default(),
            _ = stop.changed() => break,
        };
        let mut failed = Vec::new();
        for m in &msgs {
            let Some(event) = m.body().and_then(bridge::s3_event) else {
                continue; // s3:TestEvent and the like
            };
            match invoke(&st, &target, json!(event)).await {
                Ok(report) => {
                    tracing::info!(function = %target.1, service = %target.0, %report, "image event handled");
                    if st.chaos.strikes(Fault::DuplicateS3Event) {
                        // S3 delivers an event at least once: the same event again.
                        let again = invoke(&st, &target, json!(event)).await;
                        tracing::info!(function = %target.1, ok = again.is_ok(), "chaos: duplicate S3 event delivered");
                    }
                    if st.chaos.strikes(Fault::AsyncRetry) {
                        // As if the handler failed after its work: Lambda invokes it again.
                        failed.extend(m.message_id().map(str::to_owned));
                    }
                }
                Err(e) => {
                    tracing::warn!(service = %target.0, error = %e, "image event failed; will be retried");
                    failed.extend(m.message_id().map(str::to_owned));
                }
            }
        }
        bridge::ack(&sqs, &queue, &msgs, &failed).await;
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

/// A table's change stream -> its function, in batches.
async fn poll_stream(st: Arc<AppState>, target: Target, arn: String, mut stop: watch::Receiver<bool>) {
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
            Some(event) => {
                if let Err(e) = invoke(&st, &target, json!(event)).await {
                    tracing::warn!(function = %target.1, error = %e, "stream batch failed");
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

/// The EventBridge schedules: every scheduled function every `interval`, with the empty event a
/// scheduled rule's target gets.
async fn schedules(st: Arc<AppState>, targets: Vec<Target>, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        for target in &targets {
            match invoke(&st, target, json!({})).await {
                Ok(report) => tracing::info!(service = %target.0, function = %target.1, %report, "scheduled run"),
                Err(e) => tracing::warn!(service = %target.0, function = %target.1, error = %e, "scheduled run failed"),
            }
        }
    }
}
