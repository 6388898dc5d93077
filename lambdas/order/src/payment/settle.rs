//! Moving the money an order is owed, once: read the order, work out the move
//! ([`money_due`]), ask the provider with the move's idempotency key, then record the new payment
//! status conditionally. Whoever calls it (the stream, a cancel, the reconciler), however often,
//! the provider sees one capture, one void or one refund per order.

use shop_core::Upstream;

use super::{count, Payments, ProviderError};
use crate::model::{money_due, MoneyMove, Order, OrderStatus, PaymentStatus};
use crate::{Error, Orders};

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Nothing was owed (unpaid, pending, or settled already).
    Nothing,
    Moved(MoneyMove),
}

/// A few rounds: each either moves the money, or finds the order (or the provider) moved on and
/// reads again.
const ROUNDS: u64 = 4;

/// Moves whatever money order `id` is owed now.
pub async fn settle(o: &Orders, id: &str) -> Result<Settled, Error> {
    let Some(p) = &o.payments else {
        return Ok(Settled::Nothing);
    };
    for round in 0..ROUNDS {
        // Another writer (a transaction on the order) may still hold it: let it finish.
        crate::pause_before(round).await;
        let Some(order) = o.orders.get(id).await? else {
            return Ok(Settled::Nothing);
        };
        let Some(payment) = &order.payment else {
            return Ok(Settled::Nothing);
        };
        let Some(mv) = money_due(order.status, payment) else {
            return Ok(Settled::Nothing);
        };
        let moved = match mv {
            MoneyMove::Capture => p.provider.capture(&payment.intent_id, &mv.key(id)).await.map(|_| ()),
            MoneyMove::Void => p.provider.void(&payment.intent_id, &mv.key(id)).await.map(|_| ()),
            MoneyMove::Refund => {
                let rest = payment.amount.cents() - payment.refunded.cents();
                match p.provider.refund(&payment.intent_id, rest, &mv.key(id)).await {
                    Err(ProviderError::Refused { code, .. }) if code == "charge_already_refunded" => Ok(()),
                    other => other.map(|_| ()),
                }
            }
        };
        match moved {
            Ok(()) => match record(o, &order, mv).await {
                Ok(true) => {
                    let cents = match mv {
                        MoneyMove::Refund => payment.amount.cents() - payment.refunded.cents(),
                        _ => payment.amount.cents(),
                    };
                    tell(o, &order, mv, cents).await;
                    return Ok(Settled::Moved(mv));
                }
                // The order moved on meanwhile (another mover recorded it, or a cancel), or a
                // transaction on it is in progress: read again. The provider call repeats with
                // its key, so it is a replay, not a second move.
                Ok(false) => {}
                Err(Error::Upstream(u)) if u.is_transaction_conflict() => {}
                Err(e) => return Err(e),
            },
            Err(ProviderError::UnexpectedState(_)) => adopt(o, p, &order).await?,
            Err(e) => {
                let metric = match mv {
                    MoneyMove::Capture => "CaptureFailures",
                    MoneyMove::Void => "VoidFailures",
                    MoneyMove::Refund => "RefundFailures",
                };
                count(&o.config.metrics_namespace, metric, None);
                tracing::error!(order_id = %id, action = ?mv, error = %e, "payment move failed; the reconciler retries it");
                return Err(Error::Payment(e));
            }
        }
    }
    Err(Upstream::internal(
        "payments",
        format!("order {id}: the payment kept changing while it was settled"),
    )
    .into())
}

/// Records `mv` as done; `false` when the order is no longer in the state it was decided on.
async fn record(o: &Orders, order: &Order, mv: MoneyMove) -> Result<bool, Error> {
    let Some(payment) = &order.payment else {
        return Ok(false);
    };
    let to = match mv {
        MoneyMove::Capture => PaymentStatus::Captured,
        MoneyMove::Void => PaymentStatus::Voided,
        MoneyMove::Refund => {
            return Ok(o
                .orders
                .record_refund(order, payment.refunded, payment.amount, &[])
                .await?)
        }
    };
    Ok(o.orders
        .move_payment(&order.id, order.status, payment.status, to)
        .await?)
}

/// The provider refused the move because its intent is not where our record says (a move of
/// ours that was done but not recorded, a capture that raced a cancel, an expiry): take the
/// provider's word for it, then decide again.
async fn adopt(o: &Orders, p: &Payments, order: &Order) -> Result<(), Error> {
    let Some(payment) = &order.payment else {
        return Ok(());
    };
    let intent = p.provider.intent(&payment.intent_id).await.map_err(Error::Payment)?;
    let actual = match intent.status.as_str() {
        "requires_capture" => PaymentStatus::Authorized,
        "succeeded" => PaymentStatus::Captured,
        "canceled" => PaymentStatus::Voided,
        "requires_action" | "requires_confirmation" => PaymentStatus::ActionRequired,
        "requires_payment_method" => PaymentStatus::Failed,
        other => {
            return Err(Upstream::internal(
                shop_core::error::service::PAYMENTS,
                format!("intent in unexpected state {other}"),
            )
            .into());
        }
    };
    if actual == payment.status {
        return Err(Upstream::internal(
            shop_core::error::service::PAYMENTS,
            "the provider refuses a move its intent's state allows",
        )
        .into());
    }
    tracing::warn!(order_id = %order.id, from = payment.status.as_str(), to = actual.as_str(), "payment status taken from the provider");
    let moved = o
        .orders
        .move_payment(&order.id, order.status, payment.status, actual)
        .await?;
    if moved && order.status == OrderStatus::Shipping && actual != PaymentStatus::Captured {
        // Stock was reserved but the hold is gone (expired, cancelled outside our calls): the
        // order would ship unpaid. A person decides.
        count(&o.config.metrics_namespace, "CaptureFailures", None);
        let message = format!(
            "Order {} is reserved but its payment {} is {} at the provider: not captured",
            order.id,
            payment.intent_id,
            actual.as_str()
        );
        o.alerts.publish("Order not paid", &message).await?;
    }
    Ok(())
}

/// The dashboard counts `cents` moved by `mv`, and the customer hears what happened to their
/// money: a charge, a refund, a released hold (only when they cancelled: a rejected or failed
/// order's email comes from the workflow and already says "not charged").
pub(crate) async fn tell(o: &Orders, order: &Order, mv: MoneyMove, cents: i64) {
    let Some(payment) = &order.payment else { return };
    let sum = format!(
        "{} {}",
        shop_core::money::Money::from_cents(cents),
        payment.currency.to_uppercase()
    );
    let id = &order.id;
    let (metric, subject, text) = match mv {
        MoneyMove::Capture => (
            "PaymentsCaptured",
            format!("Payment received for order {id}"),
            format!("We charged {sum} to your card for order {id}."),
        ),
        MoneyMove::Void => (
            "PaymentsVoided",
            format!("No charge for order {id}"),
            format!("The hold of {sum} on your card for order {id} is released; you were not charged."),
        ),
        MoneyMove::Refund => (
            "PaymentsRefunded",
            format!("Refund for order {id}"),
            format!("We refunded {sum} to your card for order {id}."),
        ),
    };
    count(&o.config.metrics_namespace, metric, Some(cents));
    tracing::info!(order_id = %id, action = ?mv, cents, "payment settled");
    if mv == MoneyMove::Void && order.status != OrderStatus::Cancelled {
        return;
    }
    if o.mailer.send(&order.customer_email, &subject, &text).await.is_err() {
        tracing::error!(order_id = %id, "payment email not sent");
    }
}
