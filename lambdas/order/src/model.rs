//! Orders: stored item, statuses, the queue message that starts the workflow, validation, and the
//! rules of a cart (every line served or none).

use serde::{Deserialize, Serialize};
use shop_core::money::Money;

mod cart;
mod message;
mod payment;
pub use cart::*;
pub use message::*;
pub use payment::*;

/// GSI (`customerId`, `createdAt`): a customer's orders, newest first.
pub const CUSTOMER_INDEX: &str = "byCustomer";
/// The page key of a customer's orders: the table's key, then [`CUSTOMER_INDEX`]'s (the
/// `lambdas/tables.json` test ties both to the declaration).
pub const CUSTOMER_PAGE_KEY: &[&str] = &["id", "customerId", "createdAt"];
/// GSI (`status`, `createdAt`), keys only: the reconciler finds old pending orders without
/// reading the rest of the table.
pub use shop_core::dynamo::STATUS_INDEX;
/// How many times the reconciler re-drives one order before it marks it failed and alerts.
pub const MAX_REDRIVES: u64 = 3;
pub const MAX_ORDER_QUANTITY: u64 = 1000;
/// Default of `MAX_ORDER_LINES`: the most lines one order may hold.
pub const DEFAULT_MAX_ORDER_LINES: usize = 25;
/// The most `MAX_ORDER_LINES` may be: the reservation is one DynamoDB transaction of at most 100
/// items, one per line plus the order.
pub const MAX_ORDER_LINES_LIMIT: usize = 99;
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Accepted and queued; the workflow has not decided yet.
    Pending,
    /// Stock reserved; the customer was told it ships.
    Shipping,
    /// Not enough stock (or the product was withdrawn) when the workflow ran.
    Rejected,
    /// The workflow could not finish; an alert was raised.
    Failed,
    /// The customer cancelled it (before it shipped); any stock it held is back.
    Cancelled,
}

impl OrderStatus {
    /// Every status, in the order an order meets them.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Shipping,
        Self::Rejected,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The status stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Shipping => "shipping",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One line of an order: a product, its price when ordered, how many.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: String,
    pub product_name: String,
    pub unit_price: Money,
    pub quantity: u64,
    pub line_total: Money,
}

/// The original single-product fields, kept at the top level of a one-line order (stored, shown
/// and queued) so clients and messages from before carts keep working.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SingleProduct {
    pub product_id: String,
    pub product_name: String,
    pub quantity: u64,
    pub unit_price: Money,
}

/// An order as stored (attribute names are the API's field names). Orders stored before carts
/// have no `items`; they read as one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredOrder", into = "StoredOrder")]
pub struct Order {
    pub id: String,
    pub items: Vec<OrderLine>,
    pub total: Money,
    pub status: OrderStatus,
    pub customer_id: String,
    pub customer_email: String,
    pub created_at: String,
    pub updated_at: String,
    /// How it is paid; `None` for an unpaid order (only where the stage allows them).
    pub payment: Option<Payment>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredOrder {
    id: String,
    #[serde(default)]
    items: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantity: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit_price: Option<Money>,
    total: Money,
    status: OrderStatus,
    customer_id: String,
    customer_email: String,
    created_at: String,
    updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment: Option<Payment>,
    /// Set (to [`PAYMENT_DUE`]) while money is still to move; the sparse index
    /// [`OPEN_PAYMENT_INDEX`] lists exactly these orders for the reconciler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_due: Option<String>,
}

impl From<StoredOrder> for Order {
    fn from(s: StoredOrder) -> Self {
        let items = match (
            s.items.is_empty(),
            s.product_id,
            s.product_name,
            s.quantity,
            s.unit_price,
        ) {
            (true, Some(product_id), Some(product_name), Some(quantity), Some(unit_price)) => vec![OrderLine {
                product_id,
                product_name,
                unit_price,
                quantity,
                line_total: s.total,
            }],
            _ => s.items,
        };
        Self {
            id: s.id,
            items,
            total: s.total,
            status: s.status,
            customer_id: s.customer_id,
            customer_email: s.customer_email,
            created_at: s.created_at,
            updated_at: s.updated_at,
            payment: s.payment,
        }
    }
}

impl From<Order> for StoredOrder {
    fn from(o: Order) -> Self {
        let single = o.single();
        Self {
            product_id: single.as_ref().map(|s| s.product_id.clone()),
            product_name: single.as_ref().map(|s| s.product_name.clone()),
            quantity: single.as_ref().map(|s| s.quantity),
            unit_price: single.as_ref().map(|s| s.unit_price),
            id: o.id,
            items: o.items,
            total: o.total,
            status: o.status,
            customer_id: o.customer_id,
            customer_email: o.customer_email,
            created_at: o.created_at,
            updated_at: o.updated_at,
            payment_due: o
                .payment
                .as_ref()
                .filter(|p| p.status.is_open())
                .map(|_| PAYMENT_DUE.to_owned()),
            payment: o.payment,
        }
    }
}

impl Order {
    /// The top-level fields of a one-line order; `None` for a cart.
    pub fn single(&self) -> Option<SingleProduct> {
        match self.items.as_slice() {
            [l] => Some(SingleProduct {
                product_id: l.product_id.clone(),
                product_name: l.product_name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
            }),
            _ => None,
        }
    }

    /// How emails name this order's contents.
    pub fn wording(&self) -> Wording {
        Wording::of(self.items.iter().map(|l| (l.product_name.as_str(), l.quantity)))
    }

    /// The same cart as `request`: the same products in the same quantities, in any order.
    pub fn is_cart(&self, request: &CreateOrder) -> bool {
        let mut mine: Vec<(&str, u64)> = self.items.iter().map(|l| (l.product_id.as_str(), l.quantity)).collect();
        let mut asked: Vec<(&str, u64)> = request
            .lines
            .iter()
            .map(|l| (l.product_id.as_str(), l.quantity))
            .collect();
        mine.sort_unstable();
        asked.sort_unstable();
        mine == asked
    }
}

/// The order JSON the API shows to its owner: `items` always, and for a one-line order also the
/// original `productId`, `productName`, `quantity`, `unitPrice`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: String,
    #[serde(flatten)]
    pub single: Option<SingleProduct>,
    pub items: Vec<OrderLine>,
    pub total: Money,
    pub status: OrderStatus,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentView>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            id: o.id.clone(),
            single: o.single(),
            items: o.items,
            total: o.total,
            status: o.status,
            created_at: o.created_at,
            updated_at: o.updated_at,
            payment: o.payment.as_ref().map(PaymentView::from),
        }
    }
}

#[cfg(test)]
mod tests;
