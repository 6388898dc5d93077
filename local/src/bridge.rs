//! Event sources on the emulator: SQS messages turned into the Lambda events the handlers take,
//! and acknowledged the way Lambda's event source mapping does (delete what succeeded).

use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::Message;
use serde_json::Value;

/// Up to `max` messages, waiting at most `wait_secs` for the first.
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    max: i32,
    wait_secs: i32,
) -> Result<Vec<Message>, String> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max.clamp(1, 10))
        .wait_time_seconds(wait_secs)
        .send()
        .await
        .map(|o| o.messages.unwrap_or_default())
        .map_err(|e| format!("{e:?}"))
}

/// The `SqsEvent` Lambda would deliver for these messages.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> SqsEvent {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap_or_default()
}

/// Deletes every message except those the handler reported as failed (they come back after the
/// visibility timeout and, after the queue's max receives, go to its dead-letter queue).
pub async fn ack(sqs: &aws_sdk_sqs::Client, queue_url: &str, messages: &[Message], failed: &[String]) {
    for m in messages {
        if m.message_id().is_some_and(|id| failed.iter().any(|f| f == id)) {
            continue;
        }
        if let Some(h) = m.receipt_handle() {
            if let Err(e) = sqs.delete_message().queue_url(queue_url).receipt_handle(h).send().await {
                tracing::warn!(error = ?e, "could not delete a handled message");
            }
        }
    }
}

/// Turns an S3 notification as the emulator delivers it to a queue into an [`S3Event`].
///
/// moto's JSON lacks `userIdentity`, `requestParameters` and a zone on `eventTime`; AWS's own
/// `s3:TestEvent` has no records at all (answers `None`).
pub fn s3_event(body: &str) -> Option<S3Event> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    let records = v.get_mut("Records")?.as_array_mut()?;
    for r in records.iter_mut() {
        let obj = r.as_object_mut()?;
        obj.entry("userIdentity").or_insert_with(|| serde_json::json!({}));
        obj.entry("requestParameters").or_insert_with(|| serde_json::json!({}));
        if let Some(Value::String(t)) = obj.get_mut("eventTime") {
            let has_zone = t.ends_with('Z') || t.rfind(['+', '-']).is_some_and(|i| i > 10);
            if !has_zone {
                t.push('Z');
            }
        }
    }
    serde_json::from_value(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emulator_notification_becomes_an_s3_event_with_every_record() {
        let body = r#"{"Records":[
          {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"r","eventTime":"2026-01-01T00:00:00.000",
           "eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b.png","size":1}}},
          {"eventTime":"2026-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
           "s3":{"bucket":{"name":"b"},"object":{"key":"x%2Fy.png"}}}]}"#;
        let ev = s3_event(body).unwrap();
        let objs = shop_core::images::created_objects(&ev);
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].key, "a b.png");
        assert_eq!(objs[1].key, "x/y.png");
        assert!(s3_event(r#"{"Event":"s3:TestEvent"}"#).is_none());
    }
}
