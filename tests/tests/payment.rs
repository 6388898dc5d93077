//! Orders that get paid, on the real SDKs against moto and the local Stripe: authorization at
//! order time, capture on reservation, void otherwise, cancel and refund, webhooks, and the
//! reconciler's re-drive of money left open. Every count of money moved is read from the local
//! Stripe's ledger (what took effect there), never from our own records.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::StateMachineType;
use order::model::{Order, OrderStatus, PaymentStatus};
use order::payment::signature::sign;
use serde_json::{json, Value};
use shop_tests::orders::*;
use shop_tests::{api_request, assert_error, emails_to, order_request, parts, receive, sdk, stripe, unique};

/// `POST /create-order` for `quantity` of `product`, paid with `pm`.
async fn place_paid(
    f: &Fixture,
    who: &Customer,
    product: &str,
    quantity: u64,
    pm: &str,
    key: Option<&str>,
) -> (u16, Value) {
    f.create(
        who,
        &json!({"id": product, "quantity": quantity, "paymentMethod": pm}),
        key,
    )
    .await
}

/// A paid order of `quantity` from `stock`, accepted (201): (product, customer, order id).
async fn paid_order(f: &Fixture, stock: u64, quantity: u64) -> (String, Customer, String) {
    let product = f.product(stock, true).await;
    let buyer = customer();
    let (s, b) = place_paid(f, &buyer, &product, quantity, "pm_card_visa", None).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["payment"]["status"], "authorized", "{b}");
    (product, buyer, b["orderId"].as_str().unwrap().to_owned())
}

async fn stored(f: &Fixture, id: &str) -> Order {
    f.svc.orders.get(id).await.unwrap().unwrap()
}

async fn intent_of(f: &Fixture, id: &str) -> String {
    stored(f, id).await.payment.unwrap().intent_id
}

/// How many times each money movement took effect at the provider for `intent`.
async fn moved(intent: &str) -> (usize, usize, usize) {
    let entries = stripe().await.ledger(Some(intent)).await.unwrap();
    let count = |op: &str| entries.iter().filter(|e| e["op"] == op).count();
    (count("capture"), count("void"), count("refund"))
}

/// `POST /orders/{id}/cancel` as `who`.
async fn cancel(f: &Fixture, who: &Customer, id: &str) -> (u16, Value) {
    let req = order_request("POST", "/cancel", id, None, who.claims.clone());
    parts(&order::cancel_order(&f.svc, req).await)
}

/// Hands the Orders stream to `status-changed`, as Lambda does (every record so far).
async fn stream_once(f: &Fixture) {
    order::status_changed(&f.svc, f.stream_event().await).await.unwrap();
}

/// Delivers a provider event signed with `secret` at `t` to the webhook.
async fn webhook(f: &Fixture, event: &Value, secret: &str, t: i64) -> (u16, Value) {
    let body = event.to_string();
    let mut req = api_request("POST", "/payment/webhook", Some(&body), None);
    req.headers
        .insert("stripe-signature", sign(secret, body.as_bytes(), t).parse().unwrap());
    parts(&order::payment_webhook(&f.svc, req).await)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The provider's intent, as JSON.
async fn intent_json(id: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/v1/payment_intents/{id}", stripe().await.endpoint))
        .bearer_auth(shop_local::stripe::API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_declined_card_answers_402_with_the_reason_and_stores_or_queues_nothing() {
    let f = paid_fixture().await;
    let product = f.product(5, true).await;
    let buyer = customer();
    let (s, b) = place_paid(&f, &buyer, &product, 1, "pm_card_chargeDeclinedInsufficientFunds", None).await;
    assert_eq!((s, b["code"].as_str()), (402, Some("PaymentDeclined")), "{b}");
    assert_eq!(b["reason"], "insufficient_funds");
    let (s, b) = place_paid(&f, &buyer, &product, 1, "pm_card_chargeDeclined", None).await;
    assert_eq!((s, b["reason"].as_str()), (402, Some("generic_decline")), "{b}");
    assert_eq!(f.order_count().await, 0);
    assert!(
        receive(&sdk().await, &f.svc.config.queue_url, 1, Duration::from_millis(500))
            .await
            .is_empty()
    );
    assert_eq!(f.stock(&product).await, 5);
    assert!(
        emails_to(&buyer.email).await.is_empty(),
        "no confirmation for a declined order"
    );
}

#[tokio::test]
async fn where_the_stage_takes_payments_an_order_without_a_payment_method_is_refused() {
    let f = paid_fixture().await;
    let product = f.product(5, true).await;
    let (s, b) = f.place(&customer(), &product, 1, None).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("paymentMethod"), "{b}");
    let (s, b) = place_paid(&f, &customer(), &product, 1, "4242424242424242", None).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("InvalidField")),
        "card numbers never: {b}"
    );
    assert!(b["error"].as_str().unwrap().contains("paymentMethod"), "{b}");
    assert_eq!(f.order_count().await, 0);
}

#[tokio::test]
async fn a_reserved_order_is_captured_exactly_once_though_delivered_three_times_and_run_three_times() {
    let mut f = paid_fixture().await;
    // Express: each delivery starts an execution of its own (at-least-once).
    let express = fixture_of(StateMachineType::Express).await;
    f.use_resources_of(&express);
    let (product, buyer, id) = paid_order(&f, 10, 3).await;
    f.deliver_three_times().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    // The stream hands the decision over twice (a retried batch), and the reconciler looks too.
    stream_once(&f).await;
    stream_once(&f).await;
    f.age(&id, Duration::from_secs(3600), None).await;
    order::reconcile(&f.svc, json!({})).await.unwrap();
    let intent = intent_of(&f, &id).await;
    assert_eq!(moved(&intent).await, (1, 0, 0), "one capture, nothing else");
    let ledger = stripe().await.ledger(Some(&intent)).await.unwrap();
    let capture = ledger.iter().find(|e| e["op"] == "capture").unwrap();
    assert_eq!(
        capture["key"],
        format!("{id}-capture"),
        "the capture carries the order's key"
    );
    assert_eq!(intent_json(&intent).await["status"], "succeeded");
    let order = stored(&f, &id).await;
    assert_eq!(order.payment.as_ref().unwrap().status, PaymentStatus::Captured);
    assert_eq!(f.stock(&product).await, 7);
    let charged: Vec<_> = emails_to(&buyer.email)
        .await
        .into_iter()
        .filter(|m| m.subject.starts_with("Payment received"))
        .collect();
    assert_eq!(charged.len(), 1, "one receipt");
    assert!(charged[0].body.contains("59.97 USD"), "{}", charged[0].body);
    // Nothing is left for the reconciler: the sparse index no longer lists it.
    let (open, _) = f
        .svc
        .orders
        .ids_with_open_payment(&shop_core::time::now(), 100)
        .await
        .unwrap();
    assert!(!open.contains(&id));
}

#[tokio::test]
async fn a_rejected_order_is_voided_and_never_charged() {
    let f = paid_fixture().await;
    let (product, _, id) = paid_order(&f, 5, 3).await;
    f.set_stock(&product, AttributeValue::N("1".into())).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Rejected));
    stream_once(&f).await;
    let intent = intent_of(&f, &id).await;
    assert_eq!(moved(&intent).await, (0, 1, 0));
    assert_eq!(intent_json(&intent).await["status"], "canceled");
    assert_eq!(stored(&f, &id).await.payment.unwrap().status, PaymentStatus::Voided);
}

#[tokio::test]
async fn a_cancelled_pending_order_is_voided_and_no_stock_moves_even_when_its_workflow_runs_later() {
    let f = paid_fixture().await;
    let (product, buyer, id) = paid_order(&f, 5, 2).await;
    let (s, b) = cancel(&f, &buyer, &id).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("cancelled")), "{b}");
    assert_eq!(b["payment"]["status"], "voided", "{b}");
    // Its message was already queued: the workflow runs and finds it decided.
    f.drain_queue().await;
    f.executions_ended().await;
    assert_eq!(f.status(&id).await, Some(OrderStatus::Cancelled));
    assert_eq!(f.stock(&product).await, 5);
    let intent = intent_of(&f, &id).await;
    assert_eq!(moved(&intent).await, (0, 1, 0));
    // Cancelling again changes nothing; someone else's cancel is a 404.
    let (s, _) = cancel(&f, &buyer, &id).await;
    assert_eq!(s, 200);
    let (s, _) = cancel(&f, &customer(), &id).await;
    assert_eq!(s, 404);
    assert_eq!(moved(&intent).await, (0, 1, 0));
}

#[tokio::test]
async fn a_cancelled_reserved_order_gets_its_stock_back_once_and_is_refunded_once() {
    let f = paid_fixture().await;
    let (product, buyer, id) = paid_order(&f, 5, 2).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    stream_once(&f).await;
    assert_eq!(f.stock(&product).await, 3);
    let (s, b) = cancel(&f, &buyer, &id).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("cancelled")), "{b}");
    assert_eq!(b["payment"]["status"], "refunded", "{b}");
    // A second cancel, a stream retry and the reconciler: nothing more moves.
    cancel(&f, &buyer, &id).await;
    stream_once(&f).await;
    f.age(&id, Duration::from_secs(3600), None).await;
    order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!(f.stock(&product).await, 5, "stock back exactly once");
    let intent = intent_of(&f, &id).await;
    assert_eq!(moved(&intent).await, (1, 0, 1), "charged once, refunded once");
    let refund = stripe().await.ledger(Some(&intent)).await.unwrap();
    let refunded: i64 = refund
        .iter()
        .filter(|e| e["op"] == "refund")
        .map(|e| e["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(refunded, 3998);
    // A rejected order cannot be cancelled.
    let (product2, buyer2, id2) = paid_order(&f, 1, 1).await;
    f.set_stock(&product2, AttributeValue::N("0".into())).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id2).await, Some(OrderStatus::Rejected));
    let (s, b) = cancel(&f, &buyer2, &id2).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("OrderNotCancellable")), "{b}");
}

#[tokio::test]
async fn cancels_racing_reservations_end_cancelled_with_stock_back_or_reserved_never_half() {
    let f = paid_fixture().await;
    let product = f.product(12, true).await;
    let mut placed = Vec::new();
    for _ in 0..6 {
        let buyer = customer();
        let (s, b) = place_paid(&f, &buyer, &product, 2, "pm_card_visa", None).await;
        assert_eq!(s, 201, "{b}");
        placed.push((buyer, b["orderId"].as_str().unwrap().to_owned()));
    }
    // The workflow and the customers race: each cancel comes a little later than the last.
    let drain = f.drain_queue();
    let cancels = futures::future::join_all(placed.iter().enumerate().map(|(i, (buyer, id))| {
        let f = &f;
        async move {
            if i == 5 {
                // The last one is certainly reserved and charged first: both paths run every time.
                f.outcome(id).await;
                stream_once(f).await;
            } else {
                tokio::time::sleep(Duration::from_millis(100 * i as u64)).await;
            }
            cancel(f, buyer, id).await
        }
    }));
    let (_, answers) = tokio::join!(drain, cancels);
    for (s, b) in &answers {
        assert_eq!(*s, 200, "{b}");
    }
    let ids: Vec<String> = placed.iter().map(|(_, id)| id.clone()).collect();
    f.executions_ended().await;
    stream_once(&f).await;
    let mut reserved = 0;
    for id in &ids {
        let order = stored(&f, id).await;
        let payment = order.payment.unwrap();
        let (captures, voids, refunds) = moved(&payment.intent_id).await;
        match order.status {
            OrderStatus::Cancelled => {
                // Voided before a capture, or captured and refunded: never charged in the end.
                assert!(
                    (captures, voids, refunds) == (0, 1, 0) || (captures, voids, refunds) == (1, 0, 1),
                    "{id}: {captures} captures, {voids} voids, {refunds} refunds"
                );
                assert!(matches!(
                    payment.status,
                    PaymentStatus::Voided | PaymentStatus::Refunded
                ));
            }
            other => panic!("{id} ended {other:?}: every order was cancelled"),
        }
        if captures == 1 {
            reserved += 1;
        }
    }
    assert!(reserved >= 1, "the last order was charged before its cancel");
    // Every cancelled order's stock is back, whether or not it had been reserved.
    assert_eq!(f.stock(&product).await, 12, "{reserved} of 6 had been reserved");
}

#[tokio::test]
async fn a_card_needing_3d_secure_waits_unqueued_then_goes_on_when_the_provider_says_it_is_authorized() {
    let f = paid_fixture().await;
    let product = f.product(5, true).await;
    let buyer = customer();
    let key = unique("key");
    let (s, b) = place_paid(&f, &buyer, &product, 1, "pm_card_authenticationRequired", Some(&key)).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["payment"]["status"], "action_required");
    let secret = b["payment"]["clientSecret"].as_str().unwrap().to_owned();
    let id = b["orderId"].as_str().unwrap().to_owned();
    let sdk = sdk().await;
    assert!(receive(&sdk, &f.svc.config.queue_url, 1, Duration::from_millis(300))
        .await
        .is_empty());
    // The same request again, before the customer acts: the same answer, still nothing queued.
    let (s, again) = place_paid(&f, &buyer, &product, 1, "pm_card_authenticationRequired", Some(&key)).await;
    assert_eq!((s, again["orderId"].as_str()), (202, Some(id.as_str())));
    // The customer finishes 3-D Secure in the browser (Stripe.js); the provider tells us.
    let intent = intent_of(&f, &id).await;
    assert!(stripe().await.complete_3ds(&secret).await.unwrap());
    let event = json!({
        "id": unique("evt"), "type": "payment_intent.amount_capturable_updated",
        "data": { "object": intent_json(&intent).await },
    });
    let (s, b) = webhook(&f, &event, WEBHOOK_SECRET, now()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(stored(&f, &id).await.payment.unwrap().status, PaymentStatus::Authorized);
    // Delivered again (providers retry): acknowledged, nothing queued twice.
    let (s, b) = webhook(&f, &event, WEBHOOK_SECRET, now()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(f.drain_queue().await, 1, "queued once");
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    stream_once(&f).await;
    assert_eq!(moved(&intent).await, (1, 0, 0));
}

#[tokio::test]
async fn a_forged_stale_or_replayed_webhook_is_refused_or_does_nothing() {
    let f = paid_fixture().await;
    let (_, _, id) = paid_order(&f, 5, 1).await;
    let intent = intent_of(&f, &id).await;
    let dispute = json!({
        "id": unique("evt"), "type": "charge.dispute.created",
        "data": { "object": { "id": "dp_1", "object": "dispute", "payment_intent": intent,
                              "amount": 1999, "currency": "usd", "reason": "fraudulent" } },
    });
    // Forged: signed with another secret. Stale: signed ten minutes ago (a captured request replayed).
    let (s, b) = webhook(&f, &dispute, "whsec_attacker", now()).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = webhook(&f, &dispute, WEBHOOK_SECRET, now() - 600).await;
    assert_eq!(s, 400, "{b}");
    // Unsigned.
    let req = api_request("POST", "/payment/webhook", Some(&dispute.to_string()), None);
    assert_error(&order::payment_webhook(&f.svc, req).await, 400, "InvalidField");
    assert!(!stored(&f, &id).await.payment.unwrap().disputed);
    // The real one: the order is marked and operations hear it, once, however often it comes.
    let (s, _) = webhook(&f, &dispute, WEBHOOK_SECRET, now()).await;
    assert_eq!(s, 200);
    let (s, b) = webhook(&f, &dispute, WEBHOOK_SECRET, now()).await;
    assert_eq!((s, b["duplicate"].as_bool()), (200, Some(true)));
    assert!(stored(&f, &id).await.payment.unwrap().disputed);
    let alerts = receive(&sdk().await, &f.alerts, 2, Duration::from_secs(2)).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("disputed"), "{}", alerts[0]);
}

#[tokio::test]
async fn a_capture_the_stream_missed_is_redriven_by_the_reconciler_once_past_the_window() {
    let f = paid_fixture().await;
    let (_, _, id) = paid_order(&f, 5, 1).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    let intent = intent_of(&f, &id).await;
    // The stream's batch was lost (or the provider was down): nothing moved. Within the window
    // the reconciler leaves it to the stream.
    let report = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!(report.settled, 0);
    assert_eq!(moved(&intent).await, (0, 0, 0));
    f.age(&id, f.svc.config.settle_after + Duration::from_secs(60), None)
        .await;
    let report = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(moved(&intent).await, (1, 0, 0));
    assert_eq!(stored(&f, &id).await.payment.unwrap().status, PaymentStatus::Captured);
    let report = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!(report.settled, 0, "settled once");
}

#[tokio::test]
async fn a_retried_create_order_with_another_card_keeps_the_first_hold_and_releases_the_second() {
    let f = paid_fixture().await;
    let product = f.product(5, true).await;
    let buyer = customer();
    let key = unique("key");
    let (s, first) = place_paid(&f, &buyer, &product, 1, "pm_card_visa", Some(&key)).await;
    assert_eq!(s, 201, "{first}");
    let id = first["orderId"].as_str().unwrap();
    let intent = intent_of(&f, id).await;
    let (s, again) = place_paid(&f, &buyer, &product, 1, "pm_card_visa", Some(&key)).await;
    assert_eq!((s, again["orderId"].as_str()), (201, Some(id)));
    let (s, other) = place_paid(&f, &buyer, &product, 1, "pm_card_mastercard", Some(&key)).await;
    assert_eq!((s, other["orderId"].as_str()), (201, Some(id)), "{other}");
    assert_eq!(intent_of(&f, id).await, intent, "the order keeps its first hold");
    let authorized: Vec<Value> = stripe()
        .await
        .ledger(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e["op"] == "authorize" && e["key"].as_str().is_some_and(|k| k.starts_with(id)))
        .collect();
    assert_eq!(authorized.len(), 2, "one hold per card: {authorized:?}");
    let second = authorized.iter().find(|e| e["intent"] != intent.as_str()).unwrap();
    assert_eq!(
        moved(second["intent"].as_str().unwrap()).await,
        (0, 1, 0),
        "the second hold is released"
    );
    assert_eq!(f.order_count().await, 1);
}

#[tokio::test]
async fn a_hold_lost_before_its_capture_alerts_operations_and_the_order_is_not_taken_as_paid() {
    let f = paid_fixture().await;
    let (_, _, id) = paid_order(&f, 5, 1).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    // The authorization is cancelled at the provider (expired, or someone in its dashboard).
    let intent = intent_of(&f, &id).await;
    let gone = reqwest::Client::new()
        .post(format!(
            "{}/v1/payment_intents/{intent}/cancel",
            stripe().await.endpoint
        ))
        .bearer_auth(shop_local::stripe::API_KEY)
        .send()
        .await
        .unwrap();
    assert!(gone.status().is_success());
    stream_once(&f).await;
    assert_eq!(moved(&intent).await, (0, 1, 0), "no capture of a hold that is gone");
    assert_eq!(stored(&f, &id).await.payment.unwrap().status, PaymentStatus::Voided);
    let alerts = receive(&sdk().await, &f.alerts, 1, Duration::from_secs(5)).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("not captured"), "{}", alerts[0]);
}

/// `POST /orders/{id}/refund` as `claims`, with `body`.
async fn refund(f: &Fixture, claims: Value, id: &str, body: Option<Value>) -> (u16, Value) {
    let text = body.map(|b| b.to_string());
    let req = order_request("POST", "/refund", id, text.as_deref(), claims);
    parts(&order::refund_order(&f.svc, req).await)
}

#[tokio::test]
async fn an_admin_refunds_a_charged_order_by_line_then_the_rest_each_once() {
    let f = paid_fixture().await;
    let (tea, cup) = (
        f.product_named("tea", 5, true).await,
        f.product_named("cup", 5, true).await,
    );
    let buyer = customer();
    let body =
        json!({"items": [{"id": tea, "quantity": 2}, {"id": cup, "quantity": 1}], "paymentMethod": "pm_card_visa"});
    let (s, b) = f.create(&buyer, &body, None).await;
    assert_eq!(s, 201, "{b}");
    let id = b["orderId"].as_str().unwrap().to_owned();
    let admin = shop_tests::admin_claims(&unique("admin"));
    // Nothing charged yet: nothing to refund.
    let (s, b) = refund(&f, admin.clone(), &id, None).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("NothingToRefund")), "{b}");
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    stream_once(&f).await;
    // A customer is not an admin.
    let (s, _) = refund(&f, buyer.claims.clone(), &id, None).await;
    assert_eq!(s, 403);
    // Line 1 (two teas, 39.98), twice: refunded once.
    let (s, b) = refund(&f, admin.clone(), &id, Some(json!({"lines": [1]}))).await;
    assert_eq!((s, b["payment"]["refunded"].as_f64()), (200, Some(39.98)), "{b}");
    assert_eq!(b["payment"]["status"], "captured");
    let (s, b) = refund(&f, admin.clone(), &id, Some(json!({"lines": [1]}))).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("NothingToRefund")), "{b}");
    let (s, _) = refund(&f, admin.clone(), &id, Some(json!({"lines": [7]}))).await;
    assert_eq!(s, 400);
    // The rest.
    let (s, b) = refund(&f, admin.clone(), &id, None).await;
    assert_eq!((s, b["payment"]["status"].as_str()), (200, Some("refunded")), "{b}");
    let (s, _) = refund(&f, admin, &id, None).await;
    assert_eq!(s, 409);
    let intent = intent_of(&f, &id).await;
    let refunds: Vec<i64> = stripe()
        .await
        .ledger(Some(&intent))
        .await
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "refund")
        .map(|e| e["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(refunds, vec![3998, 1999], "line 1, then the rest; nothing twice");
    // Money only: the stock stays sold.
    assert_eq!((f.stock(&tea).await, f.stock(&cup).await), (3, 4));
}
