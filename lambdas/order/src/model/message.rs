//! The queue message that starts the workflow, the workflow's input, and how emails word an order.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::*;

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
