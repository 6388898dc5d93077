//! A create-order request and the rules of a cart: every line served or none, priced exactly.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use shop_core::money::Money;
use shop_core::validate::{text, Fields};
use shop_core::RequestError;

use super::*;

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

/// One requested line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub product_id: String,
    pub quantity: u64,
}

/// A validated `POST /create-order` body: `{"items": [{"id", "quantity"}, ...]}` or the original
/// `{"id", "quantity"}` (a one-line cart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub lines: Vec<LineRequest>,
    /// The provider's id of a payment method the client tokenized with the provider's own tools
    /// (card data never reaches us): `pm_...`.
    pub payment_method: Option<String>,
}

impl CreateOrder {
    pub fn parse(f: &Fields, max_lines: usize) -> Result<Self, RequestError> {
        let payment_method = payment_method(f)?;
        let Some(items) = f.objects("items", max_lines)? else {
            return Ok(Self {
                lines: vec![LineRequest {
                    product_id: f.string("id", 64)?,
                    quantity: f.positive_int("quantity", MAX_ORDER_QUANTITY)?,
                }],
                payment_method,
            });
        };
        if f.has("id") || f.has("quantity") {
            return Err(RequestError::invalid(
                "items",
                "send either items or id and quantity, not both",
            ));
        }
        let mut lines: Vec<LineRequest> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = |e: RequestError| RequestError::invalid("items", format!("line {}: {e}", i + 1));
            let product_id = item.string("id", 64).map_err(at)?;
            let quantity = item.positive_int("quantity", MAX_ORDER_QUANTITY).map_err(at)?;
            if let Some(j) = lines.iter().position(|l| l.product_id == product_id) {
                return Err(RequestError::invalid(
                    "items",
                    format!("line {}: product {product_id} is already on line {}", i + 1, j + 1),
                ));
            }
            lines.push(LineRequest { product_id, quantity });
        }
        Ok(Self { lines, payment_method })
    }
}

/// The longest payment method id taken: Stripe's are under 30 characters, and every idempotency
/// key made of an order id and one ([`authorize_key`]) must stay within Stripe's 255.
pub const MAX_PAYMENT_METHOD: usize = 64;

/// `paymentMethod`: a provider payment method id (`pm_` and letters, digits or `_`), never card data.
fn payment_method(f: &Fields) -> Result<Option<String>, RequestError> {
    let Some(pm) = f.opt_string("paymentMethod", MAX_PAYMENT_METHOD)? else {
        return Ok(None);
    };
    let well_formed =
        pm.len() > 3 && pm.starts_with("pm_") && pm.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(RequestError::invalid(
            "paymentMethod",
            "must be a payment method id (pm_...) from the provider's client library",
        ));
    }
    Ok(Some(pm))
}

/// A line of a request that cannot be ordered (1-based, as the client numbers its cart).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineRef {
    pub line: usize,
    pub id: String,
}

/// Why a cart cannot be ordered now. Missing products are reported before short ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartProblem {
    /// Lines whose product does not exist or is not approved.
    NotFound(Vec<LineRef>),
    /// Lines whose product has less stock than asked.
    Short(Vec<LineRef>),
    /// The order's total is past what we represent.
    TotalTooLarge,
}

/// Prices every line of `request` from `products` (read at order time): all lines or the problem.
pub fn price_cart(
    request: &CreateOrder,
    products: &HashMap<String, ProductStock>,
) -> Result<(Vec<OrderLine>, Money), CartProblem> {
    let found = |l: &LineRequest| products.get(&l.product_id).filter(|p| p.is_approved);
    let refs = |keep: &dyn Fn(&LineRequest) -> bool| -> Vec<LineRef> {
        (request.lines.iter().enumerate())
            .filter(|(_, l)| keep(l))
            .map(|(i, l)| LineRef {
                line: i + 1,
                id: l.product_id.clone(),
            })
            .collect()
    };
    let missing = refs(&|l| found(l).is_none());
    if !missing.is_empty() {
        return Err(CartProblem::NotFound(missing));
    }
    let short = refs(&|l| found(l).is_some_and(|p| p.quantity < l.quantity));
    if !short.is_empty() {
        return Err(CartProblem::Short(short));
    }
    let mut items = Vec::with_capacity(request.lines.len());
    let mut total = Money::default();
    for l in &request.lines {
        let p = found(l).ok_or(CartProblem::NotFound(Vec::new()))?;
        let line_total = p.product_price.times(l.quantity).ok_or(CartProblem::TotalTooLarge)?;
        total = total.plus(line_total).ok_or(CartProblem::TotalTooLarge)?;
        items.push(OrderLine {
            product_id: p.id.clone(),
            product_name: p.product_name.clone(),
            unit_price: p.product_price,
            quantity: l.quantity,
            line_total,
        });
    }
    Ok((items, total))
}

/// Fixed namespace for order ids derived from idempotency keys.
const ORDER_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f72_6465_722d_6964_656d_706f_7465_6e74);

/// The order id: random, or derived from the customer and their `Idempotency-Key` so a retried
/// request lands on the same order.
pub fn order_id(customer_id: &str, idempotency_key: Option<&str>) -> Result<String, RequestError> {
    match idempotency_key {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(raw) => {
            let key = text("Idempotency-Key", raw, MAX_IDEMPOTENCY_KEY).map_err(RequestError::in_query)?;
            let name = format!("{customer_id}\n{key}");
            Ok(uuid::Uuid::new_v5(&ORDER_NAMESPACE, name.as_bytes()).to_string())
        }
    }
}
