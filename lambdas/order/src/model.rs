//! Orders: stored item, statuses, the queue message that starts the workflow, validation.

use serde::{Deserialize, Serialize};
use shop_core::money::Money;
use shop_core::validate::{text, Fields};
use shop_core::RequestError;

/// GSI (`customerId`, `createdAt`): a customer's orders, newest first.
pub const CUSTOMER_INDEX: &str = "byCustomer";
/// GSI (`status`, `createdAt`), keys only: the reconciler finds old pending orders without
/// reading the rest of the table.
pub const STATUS_INDEX: &str = "byStatus";
/// How many times the reconciler re-drives one order before it marks it failed and alerts.
pub const MAX_REDRIVES: u64 = 3;
pub const MAX_ORDER_QUANTITY: u64 = 1000;
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
}

/// An order as stored (attribute names are the API's field names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    pub quantity: u64,
    pub unit_price: Money,
    pub total: Money,
    pub status: OrderStatus,
    pub customer_id: String,
    pub customer_email: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The order JSON the API shows to its owner.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    pub quantity: u64,
    pub unit_price: Money,
    pub total: Money,
    pub status: OrderStatus,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            product_id: o.product_id,
            product_name: o.product_name,
            quantity: o.quantity,
            unit_price: o.unit_price,
            total: o.total,
            status: o.status,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// The product fields an order needs (the Products table holds more).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProductStock {
    pub id: String,
    pub product_name: String,
    pub product_price: Money,
    pub quantity: u64,
    pub is_approved: bool,
}

/// The queue message and the workflow's input: everything the state machine needs, so it
/// never reads the order to start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderMessage {
    pub order_id: String,
    pub product_id: String,
    pub product_name: String,
    pub quantity: u64,
    pub customer_email: String,
}

impl From<&Order> for OrderMessage {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.id.clone(),
            product_id: o.product_id.clone(),
            product_name: o.product_name.clone(),
            quantity: o.quantity,
            customer_email: o.customer_email.clone(),
        }
    }
}

/// A validated `POST /create-order` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub product_id: String,
    pub quantity: u64,
}

impl CreateOrder {
    pub fn parse(f: &Fields) -> Result<Self, RequestError> {
        Ok(Self {
            product_id: f.string("id", 64)?,
            quantity: f.positive_int("quantity", MAX_ORDER_QUANTITY)?,
        })
    }
}

/// Fixed namespace for order ids derived from idempotency keys.
const ORDER_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f72_6465_722d_6964_656d_706f_7465_6e74);

/// The order id: random, or derived from the customer and their `Idempotency-Key` so a retried
/// request lands on the same order.
pub fn order_id(customer_id: &str, idempotency_key: Option<&str>) -> Result<String, RequestError> {
    match idempotency_key {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(raw) => {
            let key = text("Idempotency-Key", raw, MAX_IDEMPOTENCY_KEY).map_err(|e| match e {
                RequestError::InvalidField { reason, .. } => RequestError::InvalidQuery {
                    name: "Idempotency-Key",
                    reason,
                },
                other => other,
            })?;
            let name = format!("{customer_id}\n{key}");
            Ok(uuid::Uuid::new_v5(&ORDER_NAMESPACE, name.as_bytes()).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_idempotency_key_gives_the_same_order_id_per_customer() {
        let a = order_id("alice", Some("k1")).unwrap();
        assert_eq!(a, order_id("alice", Some("k1")).unwrap());
        assert_ne!(a, order_id("bob", Some("k1")).unwrap());
        assert_ne!(a, order_id("alice", Some("k2")).unwrap());
        assert_ne!(order_id("alice", None).unwrap(), order_id("alice", None).unwrap());
        assert!(order_id("alice", Some("  ")).is_err());
    }

    #[test]
    fn statuses_serialize_as_the_api_names_them() {
        let s = serde_json::to_string(&[
            OrderStatus::Pending,
            OrderStatus::Shipping,
            OrderStatus::Rejected,
            OrderStatus::Failed,
        ])
        .unwrap();
        assert_eq!(s, r#"["pending","shipping","rejected","failed"]"#);
    }
}
