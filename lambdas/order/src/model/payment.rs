//! How an order is paid, and what money is still to move: a pure function of the order's status
//! and its payment's status, which every mover (the Orders stream, the reconciler, a cancel)
//! evaluates on a fresh read, so they all agree and any of them may finish the job.

use serde::{Deserialize, Serialize};
use shop_core::money::Money;

use super::OrderStatus;

/// Sparse GSI (`paymentDue`, `createdAt`), keys only: the orders whose money is not settled yet.
pub const OPEN_PAYMENT_INDEX: &str = "byOpenPayment";
/// The value of `paymentDue` while money is to move (absent otherwise).
pub const PAYMENT_DUE: &str = "open";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The customer must finish the authorization (3-D Secure); the order is not queued yet.
    ActionRequired,
    /// The amount is held on the card, not charged.
    Authorized,
    /// Charged.
    Captured,
    /// The hold was released; nothing was charged.
    Voided,
    /// Charged, then paid back in full.
    Refunded,
    /// The authorization never completed.
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActionRequired => "action_required",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Voided => "voided",
            Self::Refunded => "refunded",
            Self::Failed => "failed",
        }
    }

    /// Whether the provider may still move money on this payment without us: an open hold.
    pub fn is_open(self) -> bool {
        matches!(self, Self::ActionRequired | Self::Authorized)
    }
}

/// The payment of an order, as stored in its `payment` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// The provider's PaymentIntent id.
    pub intent_id: String,
    pub status: PaymentStatus,
    pub amount: Money,
    /// ISO 4217, lower case, as the provider spells it.
    pub currency: String,
    /// Paid back so far (partial refunds by line leave the status `captured`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refunded: Money,
    /// The 1-based lines an admin refunded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunded_lines: Vec<usize>,
    /// The cardholder disputed the charge (a provider webhook said so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disputed: bool,
}

fn is_zero(m: &Money) -> bool {
    m.cents() == 0
}

/// The payment as the order JSON shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub status: &'static str,
    pub amount: Money,
    pub currency: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub refunded: Money,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disputed: bool,
}

impl From<&Payment> for PaymentView {
    fn from(p: &Payment) -> Self {
        Self {
            status: p.status.as_str(),
            amount: p.amount,
            currency: p.currency.clone(),
            refunded: p.refunded,
            disputed: p.disputed,
        }
    }
}

/// A move of money an order is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyMove {
    /// Reserved: charge the hold.
    Capture,
    /// Not going to ship (rejected, failed, cancelled while held): release the hold.
    Void,
    /// Cancelled after it was charged: pay back what is not paid back yet.
    Refund,
}

impl MoneyMove {
    /// The idempotency key of this move for `order_id`: one per order and action, so every
    /// retry, redelivery and re-drive of it moves the money at most once.
    pub fn key(self, order_id: &str) -> String {
        let action = match self {
            Self::Capture => "capture",
            Self::Void => "void",
            Self::Refund => "refund-cancelled",
        };
        format!("{order_id}-{action}")
    }
}

/// What money `status` and `payment` still owe; `None` when nothing is to move now (pending: the
/// workflow has not decided yet; or settled).
pub fn money_due(status: OrderStatus, payment: &Payment) -> Option<MoneyMove> {
    use OrderStatus as O;
    use PaymentStatus as P;
    match (status, payment.status) {
        (O::Shipping, P::Authorized) => Some(MoneyMove::Capture),
        (O::Rejected | O::Failed | O::Cancelled, P::Authorized | P::ActionRequired) => Some(MoneyMove::Void),
        (O::Cancelled, P::Captured) if payment.refunded < payment.amount => Some(MoneyMove::Refund),
        _ => None,
    }
}

/// Stripe refuses an `Idempotency-Key` longer than this.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The idempotency key of the authorization of `order_id` with `payment_method`: a retry with
/// the same card replays the provider's first answer; another card is another attempt.
pub fn authorize_key(order_id: &str, payment_method: &str) -> String {
    format!("{order_id}-authorize-{payment_method}")
}

/// The idempotency key of an admin's refund of `lines` (sorted, 1-based; empty = the rest).
pub fn refund_key(order_id: &str, lines: &[usize]) -> String {
    if lines.is_empty() {
        return format!("{order_id}-refund-all");
    }
    let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
    let key = format!("{order_id}-refund-lines-{}", lines.join("-"));
    if key.len() <= MAX_IDEMPOTENCY_KEY_LEN {
        return key;
    }
    // Many lines: the same set always gives the same digest.
    let digest = ring::digest::digest(&ring::digest::SHA256, lines.join("-").as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("{order_id}-refund-lines-sha256-{hex}")
}
