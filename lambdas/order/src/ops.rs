//! Operator repairs, run by people (the `shop-ops` command), never by a trigger: move the order
//! dead-letter queue back onto the order queue, and give `failed` orders another execution. Both
//! have a dry run that changes nothing and reports what would be done.

use shop_core::Upstream;

use crate::model::{OrderMessage, OrderStatus};
use crate::store::{OrdersTable, Queue, Workflow};

/// Where the operator acts: the stage's resources, with the caller's credentials.
#[derive(Debug, Clone)]
pub struct Operator {
    pub queue: Queue,
    pub dlq: Queue,
    pub orders: OrdersTable,
    pub workflow: Workflow,
}

/// One message found in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub message_id: String,
    /// The order it carries, when the body is an order message.
    pub order_id: Option<String>,
    /// Moved back onto the order queue (false in a dry run, or for a body that is no order).
    pub moved: bool,
}

/// One failed order found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reprocessed {
    pub order_id: String,
    /// The execution started for it (none in a dry run, or when the order left `failed` meanwhile).
    pub execution: Option<String>,
}

impl Operator {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        queue_url: &str,
        dlq_url: &str,
        orders_table: &str,
        state_machine_arn: &str,
    ) -> Self {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Self {
            queue: Queue::new(sqs.clone(), queue_url),
            dlq: Queue::new(sqs, dlq_url),
            orders: OrdersTable::new(shop_core::aws::dynamodb(sdk), orders_table),
            workflow: Workflow::new(aws_sdk_sfn::Client::new(sdk), state_machine_arn),
        }
    }

    /// Moves up to `max` messages from the DLQ to the order queue (the consumer then starts their
    /// workflows; an order already decided is left as it is by the workflow). A body that is not an
    /// order message stays in the DLQ. A dry run makes every message it saw visible again at once.
    pub async fn redrive_dlq(&self, max: usize, dry_run: bool) -> Result<Vec<DeadLetter>, Upstream> {
        let mut seen = Vec::new();
        while seen.len() < max {
            let batch = i32::try_from((max - seen.len()).min(10)).unwrap_or(10);
            let messages = self.dlq.receive(batch, 60, 1).await?;
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let body = m.body().unwrap_or_default();
                let order_id = serde_json::from_str::<OrderMessage>(body).ok().map(|o| o.order_id);
                let receipt = m.receipt_handle().unwrap_or_default();
                let moved = if dry_run || order_id.is_none() {
                    // Leave it where it was, visible again for the next look.
                    self.dlq.release(receipt).await?;
                    false
                } else {
                    // Send first, delete after: a crash in between leaves a duplicate, never a loss.
                    self.queue.send(body).await?;
                    self.dlq.delete(receipt).await?;
                    true
                };
                seen.push(DeadLetter {
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    order_id,
                    moved,
                });
            }
            if dry_run {
                // Every message was made visible again: another receive would see the same ones.
                break;
            }
        }
        Ok(seen)
    }

    /// Gives up to `max` `failed` orders another execution: each goes back to `pending` (a
    /// conditional update, so two operators never double up) with its re-drive count reset, and
    /// starts under `<orderId>-ops-<unix seconds>`. A dry run only lists them.
    pub async fn reprocess_failed(&self, max: usize, dry_run: bool) -> Result<Vec<Reprocessed>, Upstream> {
        let (ids, _) = self.orders.ids_in_status(OrderStatus::Failed, None, max).await?;
        let mut done = Vec::new();
        for id in ids {
            let execution = if dry_run { None } else { self.reprocess(&id).await? };
            done.push(Reprocessed {
                order_id: id,
                execution,
            });
        }
        Ok(done)
    }

    async fn reprocess(&self, id: &str) -> Result<Option<String>, Upstream> {
        let Some(order) = self.orders.reopen_failed(id).await? else {
            return Ok(None);
        };
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let name = format!("{id}-ops-{seconds}");
        self.workflow.start(&OrderMessage::from(&order), &name).await?;
        tracing::warn!(order_id = %id, execution = %name, "failed order re-processed by an operator");
        Ok(Some(name))
    }
}
