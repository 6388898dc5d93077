//! The customer's side of ordering, on the emulator through the real handlers: create-order's
//! answers (idempotency, refusals, carts, what is stored), the order list and reads, and what a
//! customer sees when the queue or an email fails. The pipeline behind it: `order_pipeline.rs`.

use std::time::Duration;

use order::model::OrderStatus;
use serde_json::{json, Value};
use shop_tests::orders::*;
use shop_tests::{api_request, assert_error, emails_eventually, emails_to, get, parts, sdk, unique};

#[tokio::test]
async fn an_idempotency_key_replay_returns_the_same_order() {
    let f = fixture().await;
    let product = f.product(5, true).await;
    let buyer = customer();
    let (s1, a) = f.place(&buyer, &product, 2, Some("retry-42")).await;
    let (s2, b) = f.place(&buyer, &product, 2, Some("retry-42")).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a["orderId"], b["orderId"]);
    let (_, list) = parts(&order::list_orders(&f.svc, get("/orders", &[], Some(buyer.claims.clone()))).await);
    assert_eq!(list["orders"].as_array().unwrap().len(), 1, "{list}");
    let (s, e) = f.place(&buyer, &product, 3, Some("retry-42")).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("IdempotencyKeyReused")));
    // The replay queued the order again: both deliveries end in one execution.
    assert_eq!(
        f.drain_queue().await,
        2,
        "the replay did not queue the pending order again"
    );
    let id = a["orderId"].as_str().unwrap().to_owned();
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.executions().await.len(), 1);
    assert_eq!(f.stock(&product).await, 3);
}

#[tokio::test]
async fn unknown_or_unapproved_products_are_404_and_bad_requests_4xx() {
    let f = fixture().await;
    let buyer = customer();
    let unapproved = f.product(5, false).await;
    let (s, b) = f.place(&buyer, &unapproved, 1, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("ProductNotFound")), "{b}");
    let (s, b) = f.place(&buyer, "no-such-product", 1, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("ProductNotFound")), "{b}");
    let approved = f.product(2, true).await;
    let (s, b) = f.place(&buyer, &approved, 3, None).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("Insufficient stock available")),
        "{b}"
    );

    for (body, code) in [
        (json!({"id": approved, "quantity": 0}), "InvalidField"),
        (json!({"id": approved, "quantity": -1}), "InvalidField"),
        (json!({"id": approved, "quantity": 1.5}), "InvalidField"),
        (json!({"id": approved, "quantity": "1"}), "InvalidField"),
        (json!({"id": approved}), "MissingField"),
        (json!({"quantity": 1}), "MissingField"),
        (json!({"id": "", "quantity": 1}), "InvalidField"),
    ] {
        let (s, b) = f.create(&buyer, &body, None).await;
        assert_eq!((s, b["code"].as_str()), (400, Some(code)), "{body} -> {b}");
    }
    let req = api_request("POST", "/create-order", Some("{nope"), Some(buyer.claims.clone()));
    assert_error(&order::create_order(&f.svc, req).await, 400, "MalformedJson");
    let req = api_request(
        "POST",
        "/create-order",
        Some(&json!({"id": approved, "quantity": 1}).to_string()),
        None,
    );
    assert_error(&order::create_order(&f.svc, req).await, 401, "Unauthorized");
    assert_eq!(f.order_count().await, 0, "a rejected request recorded an order");
}

#[tokio::test]
async fn orders_are_listed_newest_first_and_only_to_their_owner() {
    let f = fixture().await;
    let product = f.product(10, true).await;
    let (alice, bob) = (customer(), customer());
    let mut ids = Vec::new();
    for q in 1..=3 {
        ids.push(
            f.place(&alice, &product, q, None).await.1["orderId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, p1) =
        parts(&order::list_orders(&f.svc, get("/orders", &[("limit", "2")], Some(alice.claims.clone()))).await);
    let got: Vec<&str> = p1["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let token = p1["nextToken"].as_str().unwrap();
    let (_, p2) = parts(
        &order::list_orders(
            &f.svc,
            get(
                "/orders",
                &[("limit", "2"), ("nextToken", token)],
                Some(alice.claims.clone()),
            ),
        )
        .await,
    );
    assert_eq!(p2["orders"][0]["id"], ids[0].as_str());
    assert!(p2["orders"][0].get("customerEmail").is_none());

    let (_, empty) = parts(&order::list_orders(&f.svc, get("/orders", &[], Some(bob.claims.clone()))).await);
    assert_eq!(empty["orders"], json!([]));
    // Alice's token in Bob's request starts outside Bob's partition, and a token with the right
    // names but a number for a string: DynamoDB rejects both start keys (moto does not), so they
    // must be 400s here, never a 5xx from DynamoDB.
    assert_error(
        &order::list_orders(
            &f.svc,
            get("/orders", &[("nextToken", token)], Some(bob.claims.clone())),
        )
        .await,
        400,
        "InvalidPageToken",
    );
    let retyped = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut key: Value = serde_json::from_slice(&engine.decode(token).unwrap()).unwrap();
        key["createdAt"] = json!({"N": "1"});
        engine.encode(key.to_string())
    };
    assert_error(
        &order::list_orders(
            &f.svc,
            get("/orders", &[("nextToken", &retyped)], Some(alice.claims.clone())),
        )
        .await,
        400,
        "InvalidPageToken",
    );
    assert_error(
        &order::get_order(&f.svc, order_path(&ids[0], &bob.claims)).await,
        404,
        "OrderNotFound",
    );
    assert_error(
        &order::get_order(&f.svc, order_path("missing", &alice.claims)).await,
        404,
        "OrderNotFound",
    );
    assert_eq!(
        parts(&order::get_order(&f.svc, order_path(&ids[0], &alice.claims)).await).0,
        200
    );
    assert_error(
        &order::list_orders(&f.svc, get("/orders", &[], None)).await,
        401,
        "Unauthorized",
    );
}

#[tokio::test]
async fn an_order_that_cannot_be_queued_gets_no_201_and_is_not_kept() {
    let mut f = fixture().await;
    let product = f.product(5, true).await;
    let gone = format!("{}-gone", f.svc.config.queue_url);
    f.svc.queue = order::store::Queue::new(aws_sdk_sqs::Client::new(&sdk().await), gone);
    let buyer = customer();
    let (s, b) = f.place(&buyer, &product, 1, None).await;
    assert_eq!((s, b["code"].as_str()), (503, Some("ServiceUnavailable")), "{b}");
    assert_eq!(f.order_count().await, 0, "an order nobody will process was kept");
}

#[tokio::test]
async fn an_order_is_accepted_and_ships_when_its_confirmation_email_fails() {
    let mut f = fixture().await;
    // SES refuses the confirmation (an unverified sender: MessageRejected) before any decision.
    let mut config = f.svc.config.clone();
    config.email_from = format!("{}@unverified.example.com", unique("nobody"));
    f.svc = order::Orders::new(&shop_tests::sdk().await, config);
    let (product, buyer, id) = f.one_order(5, 1).await;
    assert_eq!(f.drain_queue().await, 1);
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.stock(&product).await, 4);
    let mails = emails_eventually(&buyer.email, |s| s == "gucci now shipping").await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["gucci now shipping"],
        "the confirmation was never sent, the decision's email was"
    );
}

#[tokio::test]
async fn an_order_from_an_unverified_email_is_refused_and_nothing_is_stored_or_sent() {
    let f = fixture().await;
    let product = f.product(5, true).await;
    let mut buyer = customer();
    for verified in [Some("false"), None] {
        match verified {
            Some(v) => buyer.claims["email_verified"] = json!(v),
            None => {
                buyer.claims.as_object_mut().unwrap().remove("email_verified");
            }
        }
        let (s, b) = f.place(&buyer, &product, 1, None).await;
        assert_eq!((s, b["code"].as_str()), (403, Some("EmailNotVerified")), "{b}");
    }
    assert_eq!(f.order_count().await, 0, "an order to an unproven address was kept");
    assert_eq!(f.stock(&product).await, 5);
    assert!(emails_to(&buyer.email).await.is_empty());
}

#[tokio::test]
async fn bad_carts_get_4xx_that_name_the_offending_lines_and_store_nothing() {
    let f = fixture().await;
    let tea = f.product_named("Tea", 5, true).await;
    let cup = f.product_named("Cup", 1, true).await;
    let hidden = f.product_named("Hidden", 5, false).await;
    let buyer = customer();
    let (s, b) = f
        .place_cart(&buyer, &[(&tea, 1), (&hidden, 1), ("no-such-product", 1)], None)
        .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("ProductNotFound")), "{b}");
    assert_eq!(
        b["lines"],
        json!([{"line": 2, "id": hidden}, {"line": 3, "id": "no-such-product"}])
    );
    let (s, b) = f.place_cart(&buyer, &[(&tea, 5), (&cup, 2)], None).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("InsufficientStock")), "{b}");
    assert_eq!(b["lines"], json!([{"line": 2, "id": cup}]));
    let (s, b) = f.place_cart(&buyer, &[(&tea, 1), (&cup, 1), (&tea, 2)], None).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("line 3"), "{b}");
    let many: Vec<(&str, u64)> = (0..26).map(|_| (tea.as_str(), 1)).collect();
    let (s, b) = f.place_cart(&buyer, &many, None).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{b}");
    let (s, b) = f.place_cart(&buyer, &[], None).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{b}");
    for body in [
        json!({"items": [{"id": tea, "quantity": 1}], "id": tea, "quantity": 1}),
        json!({"items": [{"id": tea, "quantity": "1"}]}),
        json!({"items": [{"id": 7, "quantity": 1}]}),
        json!({"items": {"id": tea}}),
    ] {
        let (s, b) = f.create(&buyer, &body, None).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{body} -> {b}");
    }
    assert_eq!(f.order_count().await, 0);
    assert_eq!((f.stock(&tea).await, f.stock(&cup).await), (5, 1));
}

#[tokio::test]
async fn a_replayed_cart_is_the_same_order_in_any_line_order_and_another_cart_is_refused() {
    let f = fixture().await;
    let tea = f.product_named("Tea", 5, true).await;
    let cup = f.product_named("Cup", 5, true).await;
    let buyer = customer();
    let (s1, a) = f.place_cart(&buyer, &[(&tea, 2), (&cup, 1)], Some("cart-1")).await;
    let (s2, b) = f.place_cart(&buyer, &[(&cup, 1), (&tea, 2)], Some("cart-1")).await;
    assert_eq!((s1, s2), (201, 201), "{a} {b}");
    assert_eq!(a["orderId"], b["orderId"]);
    let (s, e) = f.place_cart(&buyer, &[(&tea, 2)], Some("cart-1")).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("IdempotencyKeyReused")));
    assert_eq!(f.order_count().await, 1);
}
