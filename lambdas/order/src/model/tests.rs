use std::collections::HashMap;

use serde_json::json;
use shop_core::validate::Fields;
use shop_core::RequestError;

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
        payment_method: None,
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
        payment: None,
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

/// The workflow inputs the TS workflow tests compare their builder with
/// (`infra/test/workflow/inputs.golden.json`): written here from `OrderMessage::workflow_input`,
/// so the tests under AWS semantics run the input the consumer really sends.
#[test]
fn the_workflow_input_matches_the_golden_file_the_workflow_tests_read() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/test/workflow/inputs.golden.json"
    );
    let cases = [
        ("o1", vec![("p1", 2, "gucci")]),
        ("o2", vec![("tea", 2, "tea"), ("cup", 3, "cup"), ("pot", 1, "pot")]),
    ];
    let golden: Vec<serde_json::Value> = cases
        .iter()
        .map(|(id, lines)| {
            let message = OrderMessage {
                order_id: (*id).to_owned(),
                customer_email: format!("{id}@buyer.test"),
                items: lines
                    .iter()
                    .map(|(p, q, name)| MessageLine {
                        product_id: (*p).to_owned(),
                        product_name: (*name).to_owned(),
                        quantity: *q,
                    })
                    .collect(),
            };
            json!({ "orderId": id, "lines": lines, "input": message.workflow_input() })
        })
        .collect();
    let text = format!("{}\n", serde_json::to_string_pretty(&golden).unwrap());
    if std::env::var_os("SHOP_UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        committed, text,
        "the workflow input changed: run `SHOP_UPDATE_GOLDEN=1 cargo test -p order golden` and update the TS builder"
    );
}

fn paid(status: PaymentStatus, refunded: i64) -> Payment {
    Payment {
        intent_id: "pi_1".into(),
        status,
        amount: Money::from_cents(1000),
        currency: "usd".into(),
        refunded: Money::from_cents(refunded),
        refunded_lines: vec![],
        disputed: false,
    }
}

#[test]
fn money_moves_only_once_the_workflow_decided() {
    use OrderStatus as O;
    use PaymentStatus as P;
    let due = |o, p, r| money_due(o, &paid(p, r));
    // Pending: the workflow decides first; nothing moves, whatever the payment.
    assert_eq!(due(O::Pending, P::Authorized, 0), None);
    assert_eq!(due(O::Pending, P::ActionRequired, 0), None);
    // Reserved: capture the hold; captured: done.
    assert_eq!(due(O::Shipping, P::Authorized, 0), Some(MoneyMove::Capture));
    assert_eq!(due(O::Shipping, P::Captured, 0), None);
    // Not shipping: release the hold, never capture.
    for o in [O::Rejected, O::Failed, O::Cancelled] {
        assert_eq!(due(o, P::Authorized, 0), Some(MoneyMove::Void));
        assert_eq!(due(o, P::ActionRequired, 0), Some(MoneyMove::Void));
        assert_eq!(due(o, P::Voided, 0), None);
    }
    // Cancelled after the charge: refund the rest, then nothing.
    assert_eq!(due(O::Cancelled, P::Captured, 0), Some(MoneyMove::Refund));
    assert_eq!(due(O::Cancelled, P::Captured, 400), Some(MoneyMove::Refund));
    assert_eq!(due(O::Cancelled, P::Captured, 1000), None);
    assert_eq!(due(O::Cancelled, P::Refunded, 1000), None);
    // A rejected order that was somehow charged is a person's call, not an automatic refund.
    assert_eq!(due(O::Rejected, P::Captured, 0), None);
}

#[test]
fn every_money_move_has_its_own_idempotency_key_per_order() {
    let keys = [MoneyMove::Capture, MoneyMove::Void, MoneyMove::Refund].map(|m| m.key("o1"));
    assert_eq!(keys, ["o1-capture", "o1-void", "o1-refund-cancelled"]);
    assert_ne!(MoneyMove::Capture.key("o1"), MoneyMove::Capture.key("o2"));
    assert_eq!(authorize_key("o1", "pm_a"), "o1-authorize-pm_a");
    assert_ne!(authorize_key("o1", "pm_a"), authorize_key("o1", "pm_b"));
    assert_eq!(refund_key("o1", &[]), "o1-refund-all");
    assert_eq!(refund_key("o1", &[1, 3]), "o1-refund-lines-1-3");
    // The longest of each fits Stripe's limit: an order id is a UUID; a payment method at most
    // MAX_PAYMENT_METHOD; a refund names at most every line of the longest cart (as a digest when
    // the list is too long: the same lines, the same key).
    let id = "0".repeat(36);
    let lines: Vec<usize> = (1..=MAX_ORDER_LINES_LIMIT).collect();
    for key in [
        authorize_key(&id, &"p".repeat(MAX_PAYMENT_METHOD)),
        MoneyMove::Refund.key(&id),
        refund_key(&id, &lines),
    ] {
        assert!(key.len() <= MAX_IDEMPOTENCY_KEY_LEN, "{} characters: {key}", key.len());
    }
    assert_eq!(refund_key(&id, &lines), refund_key(&id, &lines));
    assert_ne!(refund_key(&id, &lines), refund_key(&id, &lines[1..]));
}

#[test]
fn a_payment_method_must_be_a_provider_id_never_card_data() {
    let parse = |body: &str| CreateOrder::parse(&shop_core::validate::Fields::parse(body).unwrap(), 25);
    assert_eq!(
        parse(r#"{"id": "p", "quantity": 1, "paymentMethod": "pm_card_visa"}"#)
            .unwrap()
            .payment_method
            .as_deref(),
        Some("pm_card_visa")
    );
    assert_eq!(parse(r#"{"id": "p", "quantity": 1}"#).unwrap().payment_method, None);
    for bad in ["4242424242424242", "pm_", "pm_a b", "tok_visa", "pm_x;drop"] {
        let body = json!({"id": "p", "quantity": 1, "paymentMethod": bad}).to_string();
        assert!(parse(&body).is_err(), "{bad}");
    }
}

#[test]
fn an_open_hold_marks_the_order_due_and_a_settled_one_does_not() {
    let mut order = order_of(&[("tea", 1, 1000)]);
    let stored = |o: &Order| serde_json::to_value(o).unwrap();
    assert!(stored(&order).get("paymentDue").is_none(), "unpaid");
    order.payment = Some(paid(PaymentStatus::Authorized, 0));
    assert_eq!(stored(&order)["paymentDue"], "open");
    assert_eq!(stored(&order)["payment"]["status"], "authorized");
    order.payment = Some(paid(PaymentStatus::Captured, 0));
    assert!(stored(&order).get("paymentDue").is_none());
    // And it reads back the same.
    let back: Order = serde_json::from_value(stored(&order)).unwrap();
    assert_eq!(back, order);
    let view = serde_json::to_value(OrderView::from(order)).unwrap();
    assert_eq!(
        view["payment"],
        json!({"status": "captured", "amount": 10.0, "currency": "usd"})
    );
}

#[test]
fn every_status_reads_back_from_the_name_it_is_stored_under() {
    for s in OrderStatus::ALL {
        assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
    }
    assert_eq!(OrderStatus::parse("Shipping"), None);
}
