//! Event sources on the emulator: SQS messages turned into the Lambda events the handlers take,
//! and acknowledged the way Lambda's event source mapping does (delete what succeeded).

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::Message;

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
