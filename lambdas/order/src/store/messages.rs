//! The order's messages: the queue create-order writes (and its dead-letter queue, which the
//! operator re-drives) and the workflow the consumer and the reconciler start (the alerts topic is a
//! [`shop_core::topic::Topic`]).

use aws_sdk_sqs::types::Message;
use shop_core::Upstream;

use crate::model::OrderMessage;

const SQS: &str = shop_core::error::service::SQS;

/// One queue: its client and URL, one method per operation the operator needs.
#[derive(Debug, Clone)]
pub struct Queue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { sqs, url: url.into() }
    }

    /// Up to `max` (at most 10) messages, each hidden for `hide_secs`, waiting at most
    /// `wait_secs` for the first.
    pub async fn receive(&self, max: i32, hide_secs: i32, wait_secs: i32) -> Result<Vec<Message>, Upstream> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10))
            .visibility_timeout(hide_secs)
            .wait_time_seconds(wait_secs)
            .send()
            .await
            .map_err(|e| Upstream::new(SQS, e))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Makes a received message visible again at once.
    pub async fn release(&self, receipt: &str) -> Result<(), Upstream> {
        self.sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| Upstream::new(SQS, e))?;
        Ok(())
    }

    /// Queues `m` for the consumer.
    pub async fn enqueue(&self, m: &OrderMessage) -> Result<(), Upstream> {
        let body = serde_json::to_string(m).map_err(|e| Upstream::internal(SQS, e.to_string()))?;
        self.send(&body).await
    }

    /// Sends `body` as it is.
    pub async fn send(&self, body: &str) -> Result<(), Upstream> {
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| Upstream::new(SQS, e))?;
        Ok(())
    }

    /// Deletes a received message.
    pub async fn delete(&self, receipt: &str) -> Result<(), Upstream> {
        self.sqs
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| Upstream::new(SQS, e))?;
        Ok(())
    }
}

/// How starting an execution went.
pub enum Started {
    New,
    /// An execution of that name exists (running or ended): Standard workflows keep names unique
    /// (Express ones never answer this).
    AlreadyExists,
}

/// The order workflow: its client and state machine.
#[derive(Debug, Clone)]
pub struct Workflow {
    sfn: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl Workflow {
    pub fn new(sfn: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            sfn,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// Starts the order workflow for `m` under `name` (its input: [`OrderMessage::workflow_input`]).
    pub async fn start(&self, m: &OrderMessage, name: &str) -> Result<Started, Upstream> {
        let input = m.workflow_input();
        let started = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match started {
            Ok(_) => Ok(Started::New),
            Err(e) if e.as_service_error().is_some_and(|x| x.is_execution_already_exists()) => {
                Ok(Started::AlreadyExists)
            }
            Err(e) => Err(Upstream::new(shop_core::error::service::STEP_FUNCTIONS, e)),
        }
    }
}
