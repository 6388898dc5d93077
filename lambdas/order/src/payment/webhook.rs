//! `POST /payment/webhook` (on the order API): the provider's events about payments that moved
//! outside our calls. The signature is checked first (forged and stale requests get 400), each
//! event is recorded on its order once by event id (a replay is acknowledged and does nothing),
//! then acted on:
//!
//! - `payment_intent.amount_capturable_updated`: the customer finished 3-D Secure; the order is
//!   authorized and queued.
//! - `payment_intent.payment_failed`: the authorization never completed; the order fails.
//! - `payment_intent.succeeded` / `.canceled`: the provider's state is taken and the order settled.
//! - `charge.dispute.created`: the order is marked disputed and operations are alerted.

use serde::Deserialize;
use serde_json::{json, Value};
use shop_core::http::{header, raw_body};
use shop_core::{Request, RequestError, Response};

use super::signature::{verify, SignatureError};
use super::{settle, Payments};
use crate::model::{Order, OrderStatus, PaymentStatus};
use crate::{Error, Orders};

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

pub async fn payment_webhook(o: &Orders, req: Request) -> Response {
    o.http.respond(200, webhook_flow(o, &req).await)
}

async fn webhook_flow(o: &Orders, req: &Request) -> Result<Value, Error> {
    let Some(p) = &o.payments else {
        return Err(Error::PaymentsOff);
    };
    let body = raw_body(req)?;
    let signature = header(req, "stripe-signature").unwrap_or_default();
    verify(&p.webhook_secret, signature, &body, chrono::Utc::now().timestamp()).map_err(|e| {
        tracing::warn!(reason = %e, "webhook refused");
        match e {
            SignatureError::Stale => RequestError::invalid("Stripe-Signature", "is too old (replayed?)"),
            _ => RequestError::invalid("Stripe-Signature", "does not match the payload"),
        }
    })?;
    let event: Event =
        serde_json::from_slice(&body).map_err(|_| RequestError::MalformedJson("not a provider event".into()))?;
    let Some(order_id) = order_of(p, &event).await? else {
        tracing::info!(event_type = %event.kind, "webhook event for no order of ours; ignored");
        return Ok(json!({ "received": true }));
    };
    // Most events only confirm what our own calls did (the authorization, the capture): they
    // change nothing, so they cost a read, not a write.
    let Some(order) = o.orders.get(&order_id).await? else {
        return Ok(json!({ "received": true }));
    };
    if !changes_anything(&order, &event.kind) {
        return Ok(json!({ "received": true }));
    }
    let disputed = event.kind == "charge.dispute.created";
    if !o.orders.record_event(&order_id, &event.id, disputed).await? {
        tracing::info!(%order_id, event_type = %event.kind, "webhook event already recorded (or order unpaid)");
        return Ok(json!({ "received": true, "duplicate": true }));
    }
    if let Err(e) = act(o, &order_id, &event).await {
        // Not acted on: forget it, so the provider's retry acts.
        o.orders.forget_event(&order_id, &event.id).await?;
        return Err(e);
    }
    tracing::info!(%order_id, event_type = %event.kind, "webhook event applied");
    Ok(json!({ "received": true }))
}

/// The order an event is about: the intent's `metadata.order_id`; a dispute names its intent,
/// which is read from the provider.
async fn order_of(p: &Payments, event: &Event) -> Result<Option<String>, Error> {
    let object = &event.data.object;
    if let Some(id) = object.pointer("/metadata/order_id").and_then(Value::as_str) {
        return Ok(Some(id.to_owned()));
    }
    let Some(intent) = object.get("payment_intent").and_then(Value::as_str) else {
        return Ok(None);
    };
    let intent = p.provider.intent(intent).await.map_err(Error::Payment)?;
    Ok(intent.order_id().map(str::to_owned))
}

/// Whether `kind` can change `order`: a confirmation of a state the order already records cannot.
fn changes_anything(order: &Order, kind: &str) -> bool {
    let Some(payment) = &order.payment else {
        return false;
    };
    let awaiting = order.status == OrderStatus::Pending && payment.status == PaymentStatus::ActionRequired;
    match kind {
        "payment_intent.amount_capturable_updated" | "payment_intent.payment_failed" => awaiting,
        "payment_intent.succeeded" => !matches!(payment.status, PaymentStatus::Captured | PaymentStatus::Refunded),
        "payment_intent.canceled" => !matches!(payment.status, PaymentStatus::Voided | PaymentStatus::Failed),
        "charge.dispute.created" => true,
        _ => false,
    }
}

async fn act(o: &Orders, order_id: &str, event: &Event) -> Result<(), Error> {
    match event.kind.as_str() {
        "payment_intent.amount_capturable_updated" if o.orders.authorized_after_action(order_id).await? => {
            if let Some(order) = o.orders.get(order_id).await? {
                o.queue.enqueue(&(&order).into()).await?;
            }
        }
        "payment_intent.payment_failed" => {
            o.orders.payment_never_completed(order_id).await?;
        }
        "payment_intent.succeeded" | "payment_intent.canceled" => {
            settle(o, order_id).await?;
        }
        "charge.dispute.created" => {
            let object = &event.data.object;
            let message = format!(
                "Order {order_id}: the cardholder disputed {} {} ({})",
                object.get("amount").and_then(Value::as_i64).unwrap_or_default(),
                object.get("currency").and_then(Value::as_str).unwrap_or_default(),
                object
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given"),
            );
            o.alerts.publish("Payment disputed", &message).await?;
        }
        _ => {}
    }
    Ok(())
}
