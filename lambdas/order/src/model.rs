//! Orders: stored item, statuses, the queue message that starts the workflow, validation, and the
//! rules of a cart (every line served or none).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shop_core::money::Money;
use shop_core::validate::{text, Fields};
use shop_core::RequestError;

/// GSI (`customerId`, `createdAt`): a customer's orders, newest first.
pub const CUSTOMER_INDEX: &str = "byCustomer";
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
}

impl OrderStatus {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Shipping => "shipping",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
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
        }
    }
}

/// How the customer's emails name an order: `summary` lists the lines ("2 x Tea, 1 x Cup"),
/// `title` names the whole ("Tea" for one line, "3 products" for a cart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub lines: Vec<String>,
    pub summary: String,
    pub title: String,
    single: bool,
}

impl Wording {
    pub fn of<'a>(lines: impl Iterator<Item = (&'a str, u64)>) -> Self {
        let mut names = Vec::new();
        let lines: Vec<String> = lines
            .map(|(name, quantity)| {
                names.push(name);
                format!("{quantity} x {name}")
            })
            .collect();
        let single = names.len() == 1;
        let title = match names.as_slice() {
            [one] => (*one).to_owned(),
            many => format!("{} products", many.len()),
        };
        Self {
            summary: lines.join(", "),
            lines,
            title,
            single,
        }
    }

    /// The subjects of the workflow's emails. A one-line order keeps the original ones.
    pub fn subjects(&self) -> Value {
        let t = &self.title;
        if self.single {
            json!({
                "shipping": format!("{t} now shipping"),
                "rejected": format!("{t} is out of stock"),
                "failed": self.failed_subject(),
            })
        } else {
            json!({
                "shipping": format!("Your order of {t} is now shipping"),
                "rejected": format!("Your order of {t} could not be reserved"),
                "failed": self.failed_subject(),
            })
        }
    }

    pub fn failed_subject(&self) -> String {
        format!("Your order of {} could not be processed", self.title)
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

/// One line of the queue message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageLine {
    pub product_id: String,
    pub product_name: String,
    pub quantity: u64,
}

/// The queue message: everything the workflow needs, so it never reads the order to start. A
/// one-line order's message also carries the original `productId`, `productName`, `quantity`
/// (what a consumer from before carts reads); a message from before carts reads as one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawMessage", into = "RawMessage")]
pub struct OrderMessage {
    pub order_id: String,
    pub customer_email: String,
    pub items: Vec<MessageLine>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    order_id: String,
    customer_email: String,
    #[serde(default)]
    items: Vec<MessageLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantity: Option<u64>,
}

impl From<RawMessage> for OrderMessage {
    fn from(r: RawMessage) -> Self {
        let items = match (r.items.is_empty(), r.product_id, r.product_name, r.quantity) {
            (true, Some(product_id), Some(product_name), Some(quantity)) => vec![MessageLine {
                product_id,
                product_name,
                quantity,
            }],
            _ => r.items,
        };
        Self {
            order_id: r.order_id,
            customer_email: r.customer_email,
            items,
        }
    }
}

impl From<OrderMessage> for RawMessage {
    fn from(m: OrderMessage) -> Self {
        let single = match m.items.as_slice() {
            [l] => Some(l.clone()),
            _ => None,
        };
        Self {
            product_id: single.as_ref().map(|l| l.product_id.clone()),
            product_name: single.as_ref().map(|l| l.product_name.clone()),
            quantity: single.as_ref().map(|l| l.quantity),
            order_id: m.order_id,
            customer_email: m.customer_email,
            items: m.items,
        }
    }
}

impl From<&Order> for OrderMessage {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.id.clone(),
            customer_email: o.customer_email.clone(),
            items: o
                .items
                .iter()
                .map(|l| MessageLine {
                    product_id: l.product_id.clone(),
                    product_name: l.product_name.clone(),
                    quantity: l.quantity,
                })
                .collect(),
        }
    }
}

impl OrderMessage {
    /// The workflow's execution input (`stepfunctions/order-processing.asl.json` checks each field
    /// before it reads it): the order, the customer, the emails' wording, and one entry per line.
    /// A one-line order also carries the original fields, so an execution of the workflow version
    /// from before carts still runs it.
    pub fn workflow_input(&self) -> Value {
        let wording = Wording::of(self.items.iter().map(|l| (l.product_name.as_str(), l.quantity)));
        let lines: Vec<Value> = self
            .items
            .iter()
            .zip(&wording.lines)
            .map(|(l, text)| json!({ "productId": l.product_id, "quantity": l.quantity, "line": text }))
            .collect();
        let mut input = json!({
            "orderId": self.order_id,
            "customerEmail": self.customer_email,
            "attempt": 0,
            "summary": wording.summary,
            "subjects": wording.subjects(),
            "lines": lines,
        });
        if let [l] = self.items.as_slice() {
            input["productId"] = json!(l.product_id);
            input["productName"] = json!(l.product_name);
            input["quantity"] = json!(l.quantity);
        }
        input
    }
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
}

impl CreateOrder {
    pub fn parse(f: &Fields, max_lines: usize) -> Result<Self, RequestError> {
        let Some(items) = f.objects("items", max_lines)? else {
            return Ok(Self {
                lines: vec![LineRequest {
                    product_id: f.string("id", 64)?,
                    quantity: f.positive_int("quantity", MAX_ORDER_QUANTITY)?,
                }],
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
        Ok(Self { lines })
    }
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
        let all = [
            OrderStatus::Pending,
            OrderStatus::Shipping,
            OrderStatus::Rejected,
            OrderStatus::Failed,
        ];
        let s = serde_json::to_string(&all).unwrap();
        assert_eq!(s, r#"["pending","shipping","rejected","failed"]"#);
        assert_eq!(serde_json::to_string(&all.map(OrderStatus::as_str)).unwrap(), s);
    }

    fn fields(body: &str) -> Fields {
        Fields::parse(body).unwrap()
    }

    fn stock(id: &str, price_cents: i64, quantity: u64, approved: bool) -> (String, ProductStock) {
        let p = ProductStock {
            id: id.to_owned(),
            product_name: format!("name-{id}"),
            product_price: Money::from_cents(price_cents),
            quantity,
            is_approved: approved,
        };
        (id.to_owned(), p)
    }

    fn cart(lines: &[(&str, u64)]) -> CreateOrder {
        CreateOrder {
            lines: lines
                .iter()
                .map(|(id, q)| LineRequest {
                    product_id: (*id).into(),
                    quantity: *q,
                })
                .collect(),
        }
    }

    #[test]
    fn a_cart_body_and_the_original_body_parse_to_lines() {
        let cart = CreateOrder::parse(
            &fields(r#"{"items": [{"id": "a", "quantity": 2}, {"id": "b", "quantity": 1}]}"#),
            25,
        )
        .unwrap();
        assert_eq!(
            cart.lines
                .iter()
                .map(|l| (l.product_id.as_str(), l.quantity))
                .collect::<Vec<_>>(),
            [("a", 2), ("b", 1)]
        );
        let original = CreateOrder::parse(&fields(r#"{"id": "a", "quantity": 3}"#), 25).unwrap();
        assert_eq!(
            original.lines,
            [LineRequest {
                product_id: "a".into(),
                quantity: 3
            }]
        );
    }

    #[test]
    fn bad_carts_are_invalid_fields_that_name_the_line() {
        let reason = |body: &str, max: usize| match CreateOrder::parse(&fields(body), max) {
            Err(RequestError::InvalidField { field: "items", reason }) => reason,
            other => panic!("{body}: {other:?}"),
        };
        assert_eq!(
            reason(
                r#"{"items": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 1}, {"id": "a", "quantity": 2}]}"#,
                25
            ),
            "line 3: product a is already on line 1"
        );
        assert_eq!(
            reason(r#"{"items": [{"id": "a", "quantity": 0}]}"#, 25),
            "line 1: field `quantity` must be between 1 and 1000"
        );
        assert_eq!(
            reason(r#"{"items": [{"id": "a", "quantity": 1}, {"quantity": 1}]}"#, 25),
            "line 2: missing field `id`"
        );
        assert!(reason(
            r#"{"items": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 1}]}"#,
            1
        )
        .contains("1 to 1"));
        assert!(reason(r#"{"items": []}"#, 25).contains("1 to 25"));
        assert!(reason(r#"{"items": [{"id": "a", "quantity": 1}], "id": "a"}"#, 25).contains("not both"));
        assert!(reason(r#"{"items": ["a"]}"#, 25).contains("line 1 must be an object"));
        let original = CreateOrder::parse(&fields(r#"{"id": "a"}"#), 25);
        assert_eq!(original, Err(RequestError::MissingField("quantity")));
    }

    #[test]
    fn a_cart_is_priced_line_by_line_or_refused_naming_the_lines() {
        let products: HashMap<_, _> = [
            stock("a", 1999, 5, true),
            stock("b", 250, 1, true),
            stock("c", 100, 9, false),
        ]
        .into();
        let (items, total) = price_cart(&cart(&[("a", 2), ("b", 1)]), &products).unwrap();
        assert_eq!(
            items.iter().map(|l| l.line_total.cents()).collect::<Vec<_>>(),
            [3998, 250]
        );
        assert_eq!(total.cents(), 4248);
        assert_eq!(items[1].product_name, "name-b");
        let short = price_cart(
            &cart(&[("a", 6), ("b", 1), ("b2", 0)]),
            &[stock("a", 1, 5, true), stock("b", 1, 1, true), stock("b2", 1, 0, true)].into(),
        );
        assert_eq!(
            short,
            Err(CartProblem::Short(vec![LineRef {
                line: 1,
                id: "a".into()
            }]))
        );
        // Missing and unapproved products come first, even with short lines beside them.
        let missing = price_cart(&cart(&[("a", 9), ("c", 1), ("zz", 1)]), &products);
        assert_eq!(
            missing,
            Err(CartProblem::NotFound(vec![
                LineRef {
                    line: 2,
                    id: "c".into()
                },
                LineRef {
                    line: 3,
                    id: "zz".into()
                }
            ]))
        );
        let dear: HashMap<_, _> = [
            stock("x", 999_999_999_999, 1000, true),
            stock("y", 999_999_999_999, 1000, true),
        ]
        .into();
        assert_eq!(
            price_cart(&cart(&[("x", 1), ("y", 1)]), &dear),
            Err(CartProblem::TotalTooLarge)
        );
    }

    fn order_of(lines: &[(&str, u64, i64)]) -> Order {
        let items: Vec<OrderLine> = lines
            .iter()
            .map(|(id, q, cents)| OrderLine {
                product_id: (*id).into(),
                product_name: format!("{id}-name"),
                unit_price: Money::from_cents(*cents),
                quantity: *q,
                line_total: Money::from_cents(*cents * *q as i64),
            })
            .collect();
        Order {
            id: "o1".into(),
            total: Money::from_cents(items.iter().map(|l| l.line_total.cents()).sum()),
            items,
            status: OrderStatus::Pending,
            customer_id: "c".into(),
            customer_email: "c@shop.test".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
        }
    }

    #[test]
    fn a_one_line_order_keeps_the_original_fields_and_a_cart_does_not() {
        let one = serde_json::to_value(OrderView::from(order_of(&[("tea", 2, 150)]))).unwrap();
        assert_eq!(
            (
                &one["productId"],
                &one["productName"],
                &one["quantity"],
                &one["unitPrice"]
            ),
            (&json!("tea"), &json!("tea-name"), &json!(2), &json!(1.5))
        );
        assert_eq!(one["items"][0]["lineTotal"], json!(3.0));
        assert_eq!(one["total"], json!(3.0));
        let cart = serde_json::to_value(OrderView::from(order_of(&[("tea", 2, 150), ("cup", 1, 500)]))).unwrap();
        assert!(
            cart.get("productId").is_none() && cart.get("quantity").is_none(),
            "{cart}"
        );
        assert_eq!(cart["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(cart["total"], json!(8.0));
    }

    #[test]
    fn orders_and_messages_from_before_carts_read_as_one_line() {
        let stored = json!({
            "id": "o1", "productId": "tea", "productName": "Tea", "quantity": 2, "unitPrice": 1.5, "total": 3.0,
            "status": "pending", "customerId": "c", "customerEmail": "c@shop.test", "createdAt": "t", "updatedAt": "t",
            "redrives": 1
        });
        let order: Order = serde_json::from_value(stored).unwrap();
        assert_eq!(order.items.len(), 1);
        assert_eq!(
            (
                order.items[0].product_id.as_str(),
                order.items[0].quantity,
                order.items[0].line_total.cents()
            ),
            ("tea", 2, 300)
        );
        // Written back, it carries both shapes.
        let written = serde_json::to_value(&order).unwrap();
        assert_eq!(
            (&written["productId"], &written["items"][0]["productId"]),
            (&json!("tea"), &json!("tea"))
        );

        let old: OrderMessage = serde_json::from_str(
            r#"{"orderId":"o1","productId":"tea","productName":"Tea","quantity":2,"customerEmail":"c@shop.test"}"#,
        )
        .unwrap();
        assert_eq!(
            old.items,
            [MessageLine {
                product_id: "tea".into(),
                product_name: "Tea".into(),
                quantity: 2
            }]
        );
        let again = serde_json::to_value(&old).unwrap();
        assert_eq!(
            (&again["productId"], &again["quantity"], &again["items"][0]["quantity"]),
            (&json!("tea"), &json!(2), &json!(2))
        );
        let cart = serde_json::to_value(OrderMessage::from(&order_of(&[("tea", 2, 1), ("cup", 1, 1)]))).unwrap();
        assert!(cart.get("productId").is_none(), "{cart}");
    }

    #[test]
    fn the_workflow_input_words_a_one_line_order_as_before_and_a_cart_by_its_lines() {
        let one = OrderMessage::from(&order_of(&[("tea", 2, 150)])).workflow_input();
        assert_eq!(one["summary"], "2 x tea-name");
        assert_eq!(
            one["subjects"],
            json!({"shipping": "tea-name now shipping", "rejected": "tea-name is out of stock", "failed": "Your order of tea-name could not be processed"})
        );
        assert_eq!(
            one["lines"],
            json!([{"productId": "tea", "quantity": 2, "line": "2 x tea-name"}])
        );
        assert_eq!(
            (&one["productId"], &one["quantity"], &one["attempt"]),
            (&json!("tea"), &json!(2), &json!(0))
        );
        let cart = OrderMessage::from(&order_of(&[("tea", 2, 1), ("cup", 1, 1), ("pot", 3, 1)])).workflow_input();
        assert_eq!(cart["summary"], "2 x tea-name, 1 x cup-name, 3 x pot-name");
        assert_eq!(cart["subjects"]["shipping"], "Your order of 3 products is now shipping");
        assert_eq!(
            cart["lines"][2],
            json!({"productId": "pot", "quantity": 3, "line": "3 x pot-name"})
        );
        assert!(cart.get("productId").is_none());
        assert_eq!(
            (&cart["orderId"], &cart["customerEmail"]),
            (&json!("o1"), &json!("c@shop.test"))
        );
    }

    #[test]
    fn a_replayed_cart_is_the_same_in_any_line_order_and_only_with_the_same_quantities() {
        let order = order_of(&[("tea", 2, 1), ("cup", 1, 1)]);
        assert!(order.is_cart(&cart(&[("cup", 1), ("tea", 2)])));
        assert!(!order.is_cart(&cart(&[("cup", 1), ("tea", 3)])));
        assert!(!order.is_cart(&cart(&[("tea", 2)])));
    }
}
