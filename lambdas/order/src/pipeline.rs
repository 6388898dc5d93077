//! The order pipeline: the queue consumer starts one workflow execution per order; the scheduled
//! reconciler re-drives what an execution left pending, and gives up on an order after
//! [`MAX_REDRIVES`].

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shop_core::Upstream;

use crate::model::{MoneyMove, Order, OrderMessage, OrderStatus, PaymentStatus, MAX_REDRIVES};
use crate::payment::{settle, Settled};
use crate::store::{Claimed, Started};
use crate::{Error, Orders};

/// SQS batch: one execution per order, named by the order id. Under a Standard workflow a
/// redelivered message finds its execution already there, which counts as done; under Express it
/// starts another, which the workflow's conditional writes make harmless (stock moves once, one
/// email). Failed records are reported individually so
/// the rest of the batch is not retried; after the queue's max receives they go to the DLQ.
pub async fn queue_consumer(o: &Orders, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let parsed = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<OrderMessage>(b).ok());
        let ok = match parsed {
            None => {
                tracing::error!(%message_id, "unreadable order message; left for the dead-letter queue");
                false
            }
            Some(m) => start_execution(o, &m).await,
        };
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

async fn start_execution(o: &Orders, m: &OrderMessage) -> bool {
    match start(o, m, &m.order_id).await {
        Ok(Started::New) => {
            tracing::info!(order_id = %m.order_id, "workflow started");
            true
        }
        Ok(Started::AlreadyExists) => {
            tracing::info!(order_id = %m.order_id, "workflow already started; duplicate delivery");
            true
        }
        Err(_) => false,
    }
}

async fn start(o: &Orders, m: &OrderMessage, name: &str) -> Result<Started, Upstream> {
    o.workflow.start(m, name).await
}

/// What one reconciler run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    /// Index entries DynamoDB read: the stuck orders, not the table.
    pub items_read: usize,
    pub redriven: usize,
    pub failed: usize,
    /// Orders whose open money (capture, void, refund) the reconciler moved.
    pub settled: usize,
}

/// Scheduled: every order still `pending` [`crate::OrderConfig::reconcile_after`] after it was
/// created (or last re-driven) gets a new execution; after [`MAX_REDRIVES`] it is marked failed
/// and operations are alerted. The workflow's `TimeoutSeconds` is below that age, so no
/// execution for the order is still running: a message lost between the queue and the workflow,
/// an execution that failed without reaching its own error path (`States.Runtime`, a timeout, a
/// manual stop), all end here instead of leaving the order pending for ever.
pub async fn reconcile(o: &Orders, _event: serde_json::Value) -> Result<ReconcileReport, Error> {
    let cutoff = shop_core::time::ago(o.config.reconcile_after);
    let (stuck, items_read) = o
        .orders
        .ids_in_status(OrderStatus::Pending, Some(&cutoff), usize::MAX)
        .await?;
    let mut report = ReconcileReport {
        items_read,
        ..ReconcileReport::default()
    };
    let mut first_error: Option<Error> = None;
    for id in &stuck {
        // One order's failure does not stop the others; the run still fails at the end (Lambda
        // error alarm), and the order is retried once its claim is older than the cutoff.
        match redrive(o, id, &cutoff).await {
            Ok(Redrive::Skipped) => {}
            Ok(Redrive::Started) => report.redriven += 1,
            Ok(Redrive::GaveUp) => report.failed += 1,
            Err(e) => {
                tracing::error!(order_id = %id, error = %e, "re-drive failed");
                first_error.get_or_insert(e);
            }
        }
    }
    if o.payments.is_some() {
        let cutoff = shop_core::time::ago(o.config.settle_after);
        let (open, read) = o.orders.ids_with_open_payment(&cutoff, usize::MAX).await?;
        report.items_read += read;
        for id in &open {
            match settle_stuck(o, id).await {
                Ok(true) => report.settled += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(order_id = %id, error = %e, "stuck payment not settled");
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    tracing::info!(
        items_read = report.items_read,
        redriven = report.redriven,
        failed = report.failed,
        settled = report.settled,
        "order reconcile done"
    );
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

enum Redrive {
    /// Decided, or re-driven recently (by this reconciler or a concurrent one), meanwhile.
    Skipped,
    Started,
    GaveUp,
}

async fn redrive(o: &Orders, id: &str, cutoff: &str) -> Result<Redrive, Error> {
    // Claim the order: only one reconciler acts on it per period, and only while it is pending.
    let Some(Claimed { order, redrives }) = o.orders.claim_for_redrive(id, cutoff).await? else {
        return Ok(Redrive::Skipped);
    };
    if redrives > MAX_REDRIVES {
        give_up(o, &order, redrives - 1).await?;
        return Ok(Redrive::GaveUp);
    }
    if order
        .payment
        .as_ref()
        .is_some_and(|p| p.status == PaymentStatus::ActionRequired)
    {
        return awaited_payment(o, &order).await;
    }
    let message = OrderMessage::from(&order);
    // Its own name first: if the queue never delivered it, this is its first execution.
    let name = match start(o, &message, &order.id).await? {
        Started::New => order.id.clone(),
        Started::AlreadyExists => {
            let name = format!("{}-r{redrives}", order.id);
            start(o, &message, &name).await?;
            name
        }
    };
    tracing::warn!(order_id = %order.id, redrives, execution = %name, "pending order re-driven");
    Ok(Redrive::Started)
}

/// A pending order still waiting for its customer's payment confirmation after the whole window:
/// authorized meanwhile (its webhook lost)? Then it goes on. Otherwise it is abandoned: the
/// intent is voided and the order fails.
async fn awaited_payment(o: &Orders, order: &Order) -> Result<Redrive, Error> {
    let (Some(p), Some(payment)) = (&o.payments, &order.payment) else {
        return Ok(Redrive::Skipped);
    };
    let intent = p.provider.intent(&payment.intent_id).await.map_err(Error::Payment)?;
    if intent.status == "requires_capture" {
        if o.orders.authorized_after_action(&order.id).await? {
            start(o, &OrderMessage::from(order), &order.id).await?;
        }
        return Ok(Redrive::Started);
    }
    if intent.status != "canceled" {
        p.provider
            .void(&payment.intent_id, &MoneyMove::Void.key(&order.id))
            .await
            .map_err(Error::Payment)?;
    }
    if o.orders.payment_never_completed(&order.id).await? {
        tracing::warn!(order_id = %order.id, "payment never confirmed; order failed");
    }
    Ok(Redrive::GaveUp)
}

/// An order whose money is still open past the settle window: the stream missed it (or the
/// provider was down). Settle it now; warn operations when a hold nears its expiry.
async fn settle_stuck(o: &Orders, id: &str) -> Result<bool, Error> {
    let moved = matches!(settle(o, id).await?, Settled::Moved(_));
    if !moved {
        if let Some(order) = o.orders.get(id).await? {
            let open = order.payment.as_ref().is_some_and(|p| p.status.is_open());
            let expiring = shop_core::time::ago(std::time::Duration::from_secs(crate::AUTHORIZATION_WARN_SECS));
            if open && order.created_at < expiring {
                let message =
                    format!("Order {id}: its card authorization is about to expire and is neither captured nor voided");
                o.alerts.publish("Payment hold expiring", &message).await?;
            }
            if !open && order.status != OrderStatus::Pending {
                // Settled by someone else (the stream, a webhook): nothing is due any more.
                o.orders.close_payment(id).await?;
            }
        }
    }
    Ok(moved)
}

/// The order was re-driven [`MAX_REDRIVES`] times and is still pending: stop, mark it failed,
/// email the customer, tell operations (the same outcome as the workflow's own failure path).
async fn give_up(o: &Orders, order: &Order, redrives: u64) -> Result<(), Error> {
    if !o.orders.mark_failed(&order.id).await? {
        return Ok(());
    }
    // The customer hears it from us, as from the workflow's own failure path; a lost email does
    // not stop the alert.
    let wording = order.wording();
    let subject = wording.failed_subject();
    let text = format!(
        "Sorry, we could not process your order {} of {}. You have not been charged.",
        order.id, wording.summary
    );
    if o.mailer.send(&order.customer_email, &subject, &text).await.is_err() {
        tracing::error!(order_id = %order.id, "failure email not sent");
    }
    let message = format!(
        "Order {} failed: still pending after {redrives} re-drives of its workflow",
        order.id
    );
    o.alerts.publish("Order failed", &message).await?;
    tracing::error!(order_id = %order.id, redrives, "order marked failed by the reconciler; alert sent");
    Ok(())
}
