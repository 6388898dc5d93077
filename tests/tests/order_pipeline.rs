//! The order pipeline on the emulator with state machine execution on: the queue, the consumer,
//! the ASL workflow, stock, emails, redelivery, concurrency, the reconciler, the operator's
//! repairs and transaction conflicts. The customer's side: `order_api.rs`.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::StateMachineType;
use order::model::{MessageLine, OrderMessage, OrderStatus};
use serde_json::json;
use shop_local::{bridge, provision};
use shop_tests::orders::*;
use shop_tests::{emails_eventually, emails_to, get, parts, receive, sdk, unique};

#[tokio::test]
async fn an_order_ships_decrements_stock_once_and_emails_twice() {
    let f = fixture().await;
    let product = f.product(10, true).await;
    let buyer = customer();
    let (s, b) = f.place(&buyer, &product, 3, None).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["message"], "order placed successfully");
    let id = b["orderId"].as_str().unwrap().to_owned();
    assert_eq!(f.status(&id).await, Some(OrderStatus::Pending));

    assert_eq!(f.drain_queue().await, 1);
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.stock(&product).await, 7);

    let (s, o) = parts(&order::get_order(&f.svc, order_path(&id, &buyer.claims)).await);
    assert_eq!(s, 200);
    assert_eq!(
        (o["status"].as_str(), o["quantity"].as_u64()),
        (Some("shipping"), Some(3))
    );
    assert_eq!(o["unitPrice"].to_string(), "19.99");
    assert_eq!(o["total"].to_string(), "59.97");

    let mails = emails_eventually(&buyer.email, |s| s == "gucci now shipping").await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.contains(&"gucci now shipping"), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("Order received")), "{subjects:?}");
}

#[tokio::test]
async fn stock_short_at_processing_time_rejects_the_order_and_keeps_stock() {
    let f = fixture().await;
    let product = f.product(2, true).await;
    let buyer = customer();
    let (s, b) = f.place(&buyer, &product, 2, None).await;
    assert_eq!(s, 201, "{b}");
    let id = b["orderId"].as_str().unwrap().to_owned();
    // Someone else bought one in between.
    f.set_stock(&product, AttributeValue::N("1".into())).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Rejected));
    assert_eq!(f.stock(&product).await, 1);
    let mails = emails_eventually(&buyer.email, |s| s == "gucci is out of stock").await;
    assert!(mails.iter().any(|m| m.subject == "gucci is out of stock"), "{mails:?}");
    assert!(!mails.iter().any(|m| m.subject.contains("shipping")), "{mails:?}");
}

#[tokio::test]
async fn sixty_concurrent_orders_against_stock_25_never_oversell() {
    let f = fixture().await;
    let product = f.product(25, true).await;
    let buyers: Vec<Customer> = (0..60).map(|_| customer()).collect();
    let placed = futures::future::join_all(buyers.iter().map(|b| f.place(b, &product, 1, None))).await;
    let ids = accepted_ids(&placed);
    assert_eq!(f.drain_queue().await, 60);
    let settled = f.settled(&ids).await;
    assert_eq!(settled.len(), 60, "orders left pending");
    let count = |s: OrderStatus| settled.values().filter(|v| **v == s).count();
    let stock = f.stock(&product).await;
    let summary = format!(
        "shipping {}, rejected {}, failed {}, stock {stock}",
        count(OrderStatus::Shipping),
        count(OrderStatus::Rejected),
        count(OrderStatus::Failed)
    );
    assert_eq!(count(OrderStatus::Shipping), 25, "{summary}");
    assert_eq!(count(OrderStatus::Rejected), 35);
    assert_eq!(f.stock(&product).await, 0);
}

#[tokio::test]
async fn a_message_delivered_three_times_starts_one_execution_and_sends_one_shipping_email() {
    let f = fixture().await;
    let (product, buyer, id) = f.one_order(5, 1).await;
    f.deliver_three_times().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.executions().await.len(), 1);
    assert_eq!(f.stock(&product).await, 4);
    assert_eq!(shipping_emails(&buyer.email).await, 1);
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue() {
    let f = fixture().await;
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    sqs.send_message()
        .queue_url(&f.svc.config.queue_url)
        .message_body("{not an order")
        .send()
        .await
        .unwrap();
    let (mut failures, mut empty) = (0, 0);
    let started = Instant::now();
    // Keep polling as Lambda would: the receive after the last allowed one moves it to the DLQ.
    while started.elapsed() < Duration::from_secs(20) && empty < 3 {
        let msgs = bridge::receive(&sqs, &f.svc.config.queue_url, 10, 1).await.unwrap();
        if msgs.is_empty() {
            if failures >= 3 {
                empty += 1;
            }
            continue;
        }
        let resp = order::queue_consumer(&f.svc, bridge::sqs_event(&msgs, &f.queue_arn))
            .await
            .unwrap();
        assert_eq!(resp.batch_item_failures.len(), msgs.len());
        failures += resp.batch_item_failures.len();
        let failed: Vec<String> = resp
            .batch_item_failures
            .iter()
            .map(|x| x.item_identifier.clone())
            .collect();
        bridge::ack(&sqs, &f.svc.config.queue_url, &msgs, &failed).await;
    }
    assert_eq!(failures, 3, "expected one failure per receive up to maxReceiveCount");
    let dead = receive(&sdk, &f.dlq_url, 1, Duration::from_secs(5)).await;
    assert_eq!(dead, ["{not an order"]);
    assert!(f.executions().await.is_empty());
}

#[tokio::test]
async fn an_unrecoverable_error_fails_the_order_emails_the_customer_and_raises_an_alert() {
    let f = fixture().await;
    let (_, buyer, id) = f.one_order(5, 1).await;
    // An error no retry can fix: the products table is gone (a broken deployment).
    f.db.delete_table()
        .table_name(&f.svc.config.products_table)
        .send()
        .await
        .unwrap();
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Failed));
    let alerts = receive(&sdk().await, &f.alerts, 1, Duration::from_secs(10)).await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].starts_with(&format!("Order {id} failed")), "{alerts:?}");
    let mails = emails_eventually(&buyer.email, |s| s.ends_with("could not be processed")).await;
    assert!(mails.iter().all(|m| !m.subject.contains("shipping")), "{mails:?}");
    let started = Instant::now();
    loop {
        let status = f.executions().await[0].status().as_str().to_owned();
        if status == "FAILED" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "execution ended {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_product_deleted_before_processing_rejects_the_order_instead_of_failing_it() {
    let f = fixture().await;
    let (product, _, id) = f.one_order(5, 1).await;
    f.db.delete_item()
        .table_name(&f.svc.config.products_table)
        .key("id", AttributeValue::S(product.clone()))
        .send()
        .await
        .unwrap();
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Rejected));
    let ended = f.executions_ended().await;
    assert_eq!(ended[0].status().as_str(), "SUCCEEDED");
}

#[tokio::test]
async fn a_pending_order_whose_message_was_lost_is_started_by_the_reconciler() {
    let f = fixture().await;
    let (product, buyer, id) = f.one_order(5, 2).await;
    // The queue message is not consumed yet (lost, or stuck behind a broken consumer).
    f.age(&id, past_the_window(), None).await;

    let report = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!((report.items_read, report.redriven, report.failed), (1, 1, 0));
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.stock(&product).await, 3);
    // The message shows up after all: the consumer finds the execution and starts nothing.
    assert_eq!(f.drain_queue().await, 1);
    let names: Vec<String> = f.executions_ended().await.iter().map(|e| e.name().to_owned()).collect();
    assert_eq!(names, std::slice::from_ref(&id));
    let mails = emails_eventually(&buyer.email, |s| s == "gucci now shipping").await;
    assert_eq!(mails.iter().filter(|m| m.subject == "gucci now shipping").count(), 1);
    // A second run finds nothing pending.
    let again = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!((again.items_read, again.redriven), (0, 0));
}

#[tokio::test]
async fn an_order_left_pending_by_an_ended_execution_is_redriven_once_under_a_new_name() {
    let f = fixture().await;
    let (product, buyer, id) = f.one_order(5, 1).await;
    // An execution under the order's name that ended without deciding it (as one killed by a
    // States.Runtime error or a timeout does): it worked on an order that does not exist.
    let ghost = OrderMessage {
        order_id: unique("ghost"),
        customer_email: buyer.email.clone(),
        items: vec![MessageLine {
            product_id: product.clone(),
            product_name: "gucci".into(),
            quantity: 1,
        }],
    }
    .workflow_input();
    aws_sdk_sfn::Client::new(&sdk().await)
        .start_execution()
        .state_machine_arn(&f.svc.config.state_machine_arn)
        .name(&id)
        .input(ghost.to_string())
        .send()
        .await
        .unwrap();
    let ended = f.executions_ended().await;
    assert_eq!(
        ended[0].status().as_str(),
        "SUCCEEDED",
        "a withdrawn order ends the workflow quietly"
    );
    assert_eq!(f.status(&id).await, Some(OrderStatus::Pending));
    assert_eq!(f.stock(&product).await, 5);
    f.age(&id, past_the_window(), None).await;

    // Two reconcilers at once (an overlapping schedule): one claims the order, the other skips it.
    let (a, b) = tokio::join!(order::reconcile(&f.svc, json!({})), order::reconcile(&f.svc, json!({})));
    assert_eq!(a.unwrap().redriven + b.unwrap().redriven, 1);
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.stock(&product).await, 4);
    let mut names: Vec<String> = f.executions_ended().await.iter().map(|e| e.name().to_owned()).collect();
    names.sort();
    assert_eq!(names, [id.clone(), format!("{id}-r1")]);
    let mails = emails_eventually(&buyer.email, |s| s == "gucci now shipping").await;
    assert_eq!(mails.iter().filter(|m| m.subject == "gucci now shipping").count(), 1);
}

#[tokio::test]
async fn an_order_still_pending_after_three_redrives_is_marked_failed_emailed_and_alerted() {
    let mut f = fixture().await;
    let (product, buyer, id) = f.one_order(5, 1).await;
    // Executions that end without deciding anything (as ones killed by a timeout would): the
    // reconciler's re-drives go to a workflow that only passes.
    let account = provision::account_of(&f.svc.config.alerts_topic_arn)
        .unwrap()
        .to_owned();
    let noop = r#"{"StartAt": "Nothing", "States": {"Nothing": {"Type": "Pass", "End": true}}}"#;
    f.svc.config.state_machine_arn = provision::state_machine(
        &sdk().await,
        &unique("undeciding"),
        noop,
        &account,
        StateMachineType::Standard,
    )
    .await
    .unwrap();
    f.svc.workflow =
        order::store::Workflow::new(aws_sdk_sfn::Client::new(&sdk().await), &f.svc.config.state_machine_arn);
    f.age(&id, past_the_window(), None).await;
    // Three rounds, each after the previous re-drive is older than the window: three executions.
    for round in 1..=3u32 {
        let report = order::reconcile(&f.svc, json!({})).await.unwrap();
        assert_eq!((report.redriven, report.failed), (1, 0), "round {round}");
        assert_eq!(f.status(&id).await, Some(OrderStatus::Pending));
        f.age(&id, past_the_window(), Some((round, past_the_window()))).await;
    }
    let mut names: Vec<String> = f.executions_ended().await.iter().map(|e| e.name().to_owned()).collect();
    names.sort();
    assert_eq!(names, [id.clone(), format!("{id}-r2"), format!("{id}-r3")]);

    let report = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!((report.redriven, report.failed), (0, 1));
    assert_eq!(f.status(&id).await, Some(OrderStatus::Failed));
    let alerts = receive(&sdk().await, &f.alerts, 1, Duration::from_secs(10)).await;
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].starts_with(&format!("Order {id} failed: still pending after 3 re-drives")),
        "{alerts:?}"
    );
    assert_eq!(f.executions().await.len(), 3, "giving up starts nothing");
    assert_eq!(f.stock(&product).await, 5);
    let mails = emails_eventually(&buyer.email, |s| s == "Your order of gucci could not be processed").await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.ends_with("could not be processed"))
            .count(),
        1
    );
}

#[tokio::test]
async fn recent_and_recently_redriven_orders_are_left_alone() {
    let f = fixture().await;
    let (_, _, id) = f.one_order(5, 1).await;
    let fresh = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!(
        (fresh.items_read, fresh.redriven),
        (0, 0),
        "a new order is the queue's, not ours"
    );

    f.age(&id, past_the_window(), Some((1, Duration::ZERO))).await;
    let redriven_recently = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!((redriven_recently.items_read, redriven_recently.redriven), (1, 0));
    assert_eq!(f.status(&id).await, Some(OrderStatus::Pending));
    assert!(f.executions().await.is_empty());
}

#[tokio::test]
async fn on_express_one_order_run_three_times_under_different_names_moves_stock_once_and_emails_once() {
    let f = fixture_of(StateMachineType::Express).await;
    let (product, buyer, id) = f.one_order(5, 2).await;
    // Express keeps no names and runs at least once: a redelivered message, a re-drive and a
    // duplicate run each start a full execution of the same order.
    // The input the consumer builds from the order's message (an older one-line message shape
    // reads the same), so every one of these executions really runs the order.
    let message: OrderMessage = serde_json::from_value(json!({
        "orderId": id, "productId": product, "productName": "gucci", "quantity": 2,
        "customerEmail": buyer.email
    }))
    .unwrap();
    let input = message.workflow_input();
    let sfn = aws_sdk_sfn::Client::new(&sdk().await);
    for name in ["a", "b", "c"] {
        sfn.start_execution()
            .state_machine_arn(&f.svc.config.state_machine_arn)
            .name(format!("{id}-{name}"))
            .input(input.to_string())
            .send()
            .await
            .unwrap();
    }
    // And the queue delivers the order's message: a fourth execution (Express never answers
    // ExecutionAlreadyExists, so the consumer just starts it).
    assert_eq!(f.drain_queue().await, 1);
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    emails_eventually(&buyer.email, |s| s == "gucci now shipping").await;
    // Every execution ran to its end, and none was refused for its input: four full runs.
    let started = Instant::now();
    let ended = loop {
        let all = f.executions().await;
        if all.len() >= 4 && all.iter().all(|e| e.status().as_str() != "RUNNING") {
            break all;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "executions still running: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let statuses: Vec<&str> = ended.iter().map(|e| e.status().as_str()).collect();
    assert_eq!(statuses, ["SUCCEEDED"; 4], "an execution failed (InvalidInput?)");
    assert_eq!(f.stock(&product).await, 3);
    let shipping = emails_to(&buyer.email)
        .await
        .into_iter()
        .filter(|m| m.subject == "gucci now shipping")
        .count();
    assert_eq!(shipping, 1);
}

#[tokio::test]
async fn an_operator_redrives_the_dlq_and_reprocesses_failed_orders_after_a_dry_run() {
    let f = fixture().await;
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let op = order::ops::Operator::new(
        &sdk,
        &f.svc.config.queue_url,
        &f.dlq_url,
        &f.svc.config.orders_table,
        &f.svc.config.state_machine_arn,
    );
    // An accepted order whose message ended in the DLQ (its consumer kept failing), and a poison message.
    let (product, _, stuck) = f.one_order(5, 1).await;
    let msgs = bridge::receive(&sqs, &f.svc.config.queue_url, 10, 1).await.unwrap();
    assert_eq!(msgs.len(), 1);
    for body in [msgs[0].body().unwrap(), "{not an order"] {
        sqs.send_message()
            .queue_url(&f.dlq_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    bridge::ack(&sqs, &f.svc.config.queue_url, &msgs, &[]).await;

    let dry = op.redrive_dlq(10, true).await.unwrap();
    assert_eq!(dry.len(), 2, "{dry:?}");
    assert!(dry.iter().all(|m| !m.moved));
    assert_eq!(
        dry.iter().filter_map(|m| m.order_id.as_deref()).collect::<Vec<_>>(),
        [stuck.as_str()]
    );
    let done = op.redrive_dlq(10, false).await.unwrap();
    assert_eq!(done.iter().filter(|m| m.moved).count(), 1, "{done:?}");
    assert_eq!(f.drain_queue().await, 1);
    assert_eq!(f.outcome(&stuck).await, Some(OrderStatus::Shipping));
    let left = receive(&sdk, &f.dlq_url, 1, Duration::from_secs(3)).await;
    assert_eq!(left, ["{not an order"], "the poison message stays for a person to read");

    // An order the workflow gave up on, once its cause is fixed.
    let (_, _, failed) = f.one_order(5, 2).await;
    f.db.update_item()
        .table_name(&f.svc.config.orders_table)
        .key("id", AttributeValue::S(failed.clone()))
        .update_expression("SET #s = :failed")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":failed", AttributeValue::S("failed".into()))
        .send()
        .await
        .unwrap();
    let dry = op.reprocess_failed(10, true).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(
        (dry[0].order_id.as_str(), dry[0].execution.as_deref()),
        (failed.as_str(), None)
    );
    assert_eq!(
        f.status(&failed).await,
        Some(OrderStatus::Failed),
        "a dry run changes nothing"
    );
    let done = op.reprocess_failed(10, false).await.unwrap();
    assert!(done[0]
        .execution
        .as_deref()
        .is_some_and(|n| n.starts_with(&format!("{failed}-ops-"))));
    assert_eq!(f.outcome(&failed).await, Some(OrderStatus::Shipping));
    assert_eq!(f.stock(&product).await, 4);
    assert!(
        op.reprocess_failed(10, false).await.unwrap().is_empty(),
        "nothing is failed any more"
    );
}

#[tokio::test]
async fn a_cart_ships_every_line_in_one_reservation_and_reads_back_line_by_line() {
    let f = fixture().await;
    let tea = f.product_named("Tea", 5, true).await;
    let cup = f.product_named("Cup", 2, true).await;
    let pot = f.product_named("Pot", 1, true).await;
    let buyer = customer();
    let id = f.accepted_cart(&buyer, &[(&tea, 2), (&cup, 2), (&pot, 1)]).await;
    assert_eq!(f.drain_queue().await, 1);
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(
        (f.stock(&tea).await, f.stock(&cup).await, f.stock(&pot).await),
        (3, 0, 0)
    );
    let (s, o) = parts(&order::get_order(&f.svc, order_path(&id, &buyer.claims)).await);
    assert_eq!(s, 200, "{o}");
    assert!(
        o.get("productId").is_none() && o.get("quantity").is_none(),
        "a cart has no single product: {o}"
    );
    let lines: Vec<(&str, u64, String)> = o["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["productName"].as_str().unwrap(),
                l["quantity"].as_u64().unwrap(),
                l["lineTotal"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("Tea", 2, "39.98".into()),
            ("Cup", 2, "39.98".into()),
            ("Pot", 1, "19.99".into())
        ]
    );
    assert_eq!(o["total"].to_string(), "99.95");
    let (_, list) = parts(&order::list_orders(&f.svc, get("/orders", &[], Some(buyer.claims.clone()))).await);
    assert_eq!(list["orders"][0]["items"].as_array().map(Vec::len), Some(3), "{list}");
    let mails = emails_eventually(&buyer.email, |s| s == "Your order of 3 products is now shipping").await;
    let received = mails
        .iter()
        .find(|m| m.subject == "Order received: 3 products")
        .expect("confirmation");
    assert!(
        received.body.contains("2 x Tea, 2 x Cup, 1 x Pot (total 99.95)"),
        "{}",
        received.body
    );
    let shipping = mails.iter().find(|m| m.subject.ends_with("now shipping")).unwrap();
    assert!(shipping.body.contains("2 x Tea, 2 x Cup, 1 x Pot"), "{}", shipping.body);
}

#[tokio::test]
async fn a_cart_with_one_line_short_at_processing_time_is_rejected_whole_and_no_stock_moves() {
    let f = fixture().await;
    let tea = f.product_named("Tea", 5, true).await;
    let pot = f.product_named("Pot", 2, true).await;
    let buyer = customer();
    let id = f.accepted_cart(&buyer, &[(&tea, 2), (&pot, 2)]).await;
    f.set_stock(&pot, AttributeValue::N("1".into())).await;
    f.drain_queue().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Rejected));
    assert_eq!(
        (f.stock(&tea).await, f.stock(&pot).await),
        (5, 1),
        "no line was reserved"
    );
    let mails = emails_eventually(&buyer.email, |s| s == "Your order of 2 products could not be reserved").await;
    let rejected = mails
        .iter()
        .find(|m| m.subject.contains("could not be reserved"))
        .unwrap();
    // The short line is named; the one that had enough is not among them.
    let short = rejected.body.split("Not enough stock for: ").nth(1).unwrap_or_default();
    assert!(short.contains("2 x Pot") && !short.contains("Tea"), "{}", rejected.body);
    assert!(!mails.iter().any(|m| m.subject.contains("shipping")), "{mails:?}");
}

#[tokio::test]
async fn twenty_overlapping_carts_racing_for_five_scarce_products_never_oversell_or_half_reserve() {
    let f = fixture().await;
    // Twenty here, where every state of every execution costs the emulator's one Python process
    // about as much as 30 concurrent executions cost it in ~100 s; the AWS-semantics model
    // (infra/test/workflow.test.ts) runs thirty with real conflicts and backoff.
    let start = [4u64, 4, 3, 4, 2];
    let mut products = Vec::new();
    for (i, n) in start.iter().enumerate() {
        products.push(f.product_named(&format!("P{i}"), *n, true).await);
    }
    // Twenty carts of three distinct products each, quantities 1-2, overlapping on every product.
    let carts: Vec<Vec<(usize, u64)>> = (0..20)
        .map(|i| (0..3).map(|k| ((i + k * 2) % 5, 1 + ((i + k) % 2) as u64)).collect())
        .collect();
    let buyers: Vec<Customer> = (0..20).map(|_| customer()).collect();
    let began = Instant::now();
    let (f_ref, products_ref) = (&f, &products);
    let placed = futures::future::join_all(carts.iter().zip(&buyers).map(|(cart, buyer)| async move {
        let lines: Vec<(&str, u64)> = cart.iter().map(|(p, q)| (products_ref[*p].as_str(), *q)).collect();
        f_ref.place_cart(buyer, &lines, None).await
    }))
    .await;
    // Create-order checks stock at order time; with these stocks every cart is servable then.
    let ids = accepted_ids(&placed);
    assert_eq!(f.drain_queue().await, 20);
    let settled = f.settled(&ids).await;
    let elapsed = began.elapsed();
    assert_eq!(settled.len(), 20, "orders left pending");
    let shipped: Vec<&Vec<(usize, u64)>> = ids
        .iter()
        .zip(&carts)
        .filter(|(id, _)| settled[*id] == OrderStatus::Shipping)
        .map(|(_, c)| c)
        .collect();
    let rejected: Vec<&Vec<(usize, u64)>> = ids
        .iter()
        .zip(&carts)
        .filter(|(id, _)| settled[*id] == OrderStatus::Rejected)
        .map(|(_, c)| c)
        .collect();
    let mut stocks = Vec::new();
    for p in &products {
        stocks.push(f.stock(p).await);
    }
    let summary = format!(
        "shipping {}, rejected {}, other {}, stock {stocks:?} of {start:?}, {} ms",
        shipped.len(),
        rejected.len(),
        20 - shipped.len() - rejected.len(),
        elapsed.as_millis()
    );
    eprintln!("cart race: {summary}");
    assert_eq!(shipped.len() + rejected.len(), 20, "{summary}");
    assert!(!shipped.is_empty(), "{summary}");
    for (i, p_start) in start.iter().enumerate() {
        let taken: u64 = shipped
            .iter()
            .flat_map(|c| c.iter())
            .filter(|(p, _)| *p == i)
            .map(|(_, q)| q)
            .sum();
        assert_eq!(
            stocks[i] + taken,
            *p_start,
            "product {i} moved by other than the shipped lines: {summary}"
        );
    }
    // Stock only goes down, so a cart rejected on the data is still short of some line now.
    for cart in &rejected {
        assert!(
            cart.iter().any(|(p, q)| stocks[*p] < *q),
            "a rejected cart could ship: {cart:?}, {summary}"
        );
    }
}

#[tokio::test]
async fn a_cart_message_delivered_three_times_reserves_once_and_sends_one_shipping_email() {
    let f = fixture().await;
    let tea = f.product_named("Tea", 5, true).await;
    let cup = f.product_named("Cup", 5, true).await;
    let buyer = customer();
    let id = f.accepted_cart(&buyer, &[(&tea, 2), (&cup, 3)]).await;
    f.deliver_three_times().await;
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.executions().await.len(), 1);
    assert_eq!((f.stock(&tea).await, f.stock(&cup).await), (3, 2));
    assert_eq!(shipping_emails(&buyer.email).await, 1);
}

#[tokio::test]
async fn a_pending_cart_whose_message_was_lost_is_reserved_whole_by_the_reconciler() {
    let f = fixture().await;
    let tea = f.product_named("Tea", 5, true).await;
    let cup = f.product_named("Cup", 5, true).await;
    let buyer = customer();
    let id = f.accepted_cart(&buyer, &[(&tea, 2), (&cup, 4)]).await;
    // The message is never consumed; the reconciler rebuilds the workflow input from the stored order.
    f.age(&id, past_the_window(), None).await;
    let report = order::reconcile(&f.svc, json!({})).await.unwrap();
    assert_eq!((report.redriven, report.failed), (1, 0));
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!((f.stock(&tea).await, f.stock(&cup).await), (3, 1));
}

/// Tags the products table so that a transaction stays in flight, holding its items, for `ms` (the
/// emulator's contention, `local/emulator/moto_server.py`); tagging 0 lands one in flight.
async fn hold_transactions_on_products(f: &Fixture, ms: u64) {
    let db = &f.db;
    let arn = db
        .describe_table()
        .table_name(&f.svc.config.products_table)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|t| t.table_arn)
        .unwrap();
    db.tag_resource()
        .resource_arn(arn)
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("shop-emu:transaction-hold-ms")
                .value(ms.to_string())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// A transaction that touches `product` (a condition check: it writes nothing).
async fn touch_in_a_transaction(
    f: &Fixture,
    product: &str,
) -> Result<
    (),
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
> {
    touch(&f.db, &f.svc.config.products_table, product).await
}

/// [`touch_in_a_transaction`], with what a spawned task can own.
async fn touch(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    product: &str,
) -> Result<
    (),
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
> {
    let check = aws_sdk_dynamodb::types::ConditionCheck::builder()
        .table_name(table)
        .key("id", AttributeValue::S(product.to_owned()))
        .condition_expression("attribute_exists(id)")
        .build()
        .unwrap();
    db.transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .condition_check(check)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
}

#[tokio::test]
async fn two_overlapping_transactions_on_one_item_give_one_success_and_one_transaction_conflict() {
    let f = fixture().await;
    let product = f.product(5, true).await;
    hold_transactions_on_products(&f, 2000).await;
    // The first is in flight for 2 s (unanswered, as a real transaction is for its few ms).
    let first = {
        let (db, table, product) = (f.db.clone(), f.svc.config.products_table.clone(), product.clone());
        tokio::spawn(async move { touch(&db, &table, &product).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = touch_in_a_transaction(&f, &product).await.unwrap_err();
    let cancelled = err.as_service_error().expect("a DynamoDB error");
    let reasons = match cancelled {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => {
            e.cancellation_reasons().to_vec()
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    };
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].code(), Some("TransactionConflict"));
    // A single-item write to the held item is refused too; a read is not.
    let write =
        f.db.update_item()
            .table_name(&f.svc.config.products_table)
            .key("id", AttributeValue::S(product.clone()))
            .update_expression("SET quantity = quantity - :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .unwrap_err();
    assert!(
        write
            .as_service_error()
            .is_some_and(|e| e.is_transaction_conflict_exception()),
        "{write:?}"
    );
    assert_eq!(f.stock(&product).await, 5);
    first.await.unwrap().expect("the first transaction commits");
    // Answered: its items are free at once (DynamoDB holds them only while a transaction is in flight).
    hold_transactions_on_products(&f, 20).await;
    touch_in_a_transaction(&f, &product)
        .await
        .expect("a transaction after the first one answered");
}

#[tokio::test]
async fn an_order_whose_reservation_meets_a_transaction_conflict_backs_off_and_ships_once() {
    let f = fixture().await;
    let product = f.product(5, true).await;
    let buyer = customer();
    let (s, b) = f.place(&buyer, &product, 2, None).await;
    assert_eq!(s, 201, "{b}");
    let id = b["orderId"].as_str().unwrap().to_owned();
    // Another transaction holds the product until the workflow's reservation has met it.
    hold_transactions_on_products(&f, 600_000).await;
    let holder = {
        let (db, table, product) = (f.db.clone(), f.svc.config.products_table.clone(), product.clone());
        tokio::spawn(async move { touch(&db, &table, &product).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.drain_queue().await, 1);
    let sfn = aws_sdk_sfn::Client::new(&sdk().await);
    let entered = |events: &[aws_sdk_sfn::types::HistoryEvent], name: &str| {
        events
            .iter()
            .filter(|e| e.state_entered_event_details().is_some_and(|d| d.name() == name))
            .count()
    };
    let history = || async {
        let Some(execution) = f.executions().await.into_iter().next() else {
            return Vec::new();
        };
        sfn.get_execution_history()
            .execution_arn(execution.execution_arn())
            .max_results(1000)
            .send()
            .await
            .unwrap()
            .events
    };
    let started = Instant::now();
    while entered(&history().await, "BackOff") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the reservation never met the conflict"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        f.status(&id).await,
        Some(OrderStatus::Pending),
        "nothing decided while held"
    );
    hold_transactions_on_products(&f, 0).await;
    holder
        .await
        .unwrap()
        .expect("the holding transaction commits when it lands");
    assert_eq!(f.outcome(&id).await, Some(OrderStatus::Shipping));
    assert_eq!(f.stock(&product).await, 3, "reserved exactly once");
    let events = history().await;
    assert_eq!(entered(&events, "ReserveStock"), entered(&events, "BackOff") + 1);
    let mails = emails_eventually(&buyer.email, |s| s == "gucci now shipping").await;
    assert_eq!(mails.iter().filter(|m| m.subject == "gucci now shipping").count(), 1);
}
