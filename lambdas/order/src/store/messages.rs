//! The order's messages: the queue create-order writes, the workflow the consumer and the
//! reconciler start, and the alerts topic.

use shop_core::Upstream;

use crate::model::OrderMessage;

/// Queues `m` for the consumer.
pub async fn enqueue(sqs: &aws_sdk_sqs::Client, queue_url: &str, m: &OrderMessage) -> Result<(), Upstream> {
    let body =
        serde_json::to_string(m).map_err(|e| Upstream::internal(shop_core::error::service::SQS, e.to_string()))?;
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| Upstream::new(shop_core::error::service::SQS, e))?;
    Ok(())
}

/// How starting an execution went.
pub enum Started {
    New,
    /// An execution of that name exists (running or ended): Standard workflows keep names unique
    /// (Express ones never answer this).
    AlreadyExists,
}

/// Starts the order workflow for `m` under `name` (its input: [`OrderMessage::workflow_input`]).
pub async fn start_workflow(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    m: &OrderMessage,
    name: &str,
) -> Result<Started, Upstream> {
    let input = m.workflow_input();
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    match started {
        Ok(_) => Ok(Started::New),
        Err(e) if e.as_service_error().is_some_and(|x| x.is_execution_already_exists()) => Ok(Started::AlreadyExists),
        Err(e) => Err(Upstream::new(shop_core::error::service::STEP_FUNCTIONS, e)),
    }
}

/// Publishes an alert to operations.
pub async fn alert(sns: &aws_sdk_sns::Client, topic_arn: &str, subject: &str, message: &str) -> Result<(), Upstream> {
    sns.publish()
        .topic_arn(topic_arn)
        .subject(subject)
        .message(message)
        .send()
        .await
        .map_err(|e| Upstream::new(shop_core::error::service::SNS, e))?;
    Ok(())
}
