//! The order service's test fixture: a pipeline of its own on the emulator (tables, queue, topic,
//! workflow), customers, products, and the waits the order tests share. With payments, the
//! provider is the local Stripe (`local/emulator/stripe_server.py`, `STRIPE_ENDPOINT`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::types::StateMachineType;
use order::model::OrderStatus;
use order::{OrderConfig, Orders};
use product::model::{Product, Status};
use serde_json::{json, Value};
use shop_local::{bridge, provision};

use crate::{api_request, parts, sdk, stripe, unique, user_claims};

const SENDER: &str = "orders@example.com";

/// The window after which the reconciler re-drives a pending order, as the stages deploy it
/// (`infra/stages.json`, `reconcileAfterSeconds`).
pub fn reconcile_after() -> Duration {
    Duration::from_secs(shop_local::stage::values("local").unwrap().reconcile_after_seconds)
}

/// An age just past that window.
pub fn past_the_window() -> Duration {
    reconcile_after() + Duration::from_secs(60)
}

pub struct Fixture {
    pub svc: Orders,
    /// The test's own DynamoDB client: seeds what other services write, tampers, probes raw items.
    pub db: aws_sdk_dynamodb::Client,
    pub queue_arn: String,
    pub dlq_url: String,
    pub alerts: String,
    /// The Orders table's change stream (what `status-changed` consumes on AWS).
    pub orders_stream: String,
    /// The payment provider's secret (signs webhooks with [`WEBHOOK_SECRET`]).
    pub payment_secret: String,
}

pub async fn fixture() -> Fixture {
    fixture_of(StateMachineType::Standard).await
}

/// The pipeline with its workflow of `kind` (the stage default is Express; Standard keeps
/// execution names unique, which some tests count on).
pub async fn fixture_of(kind: StateMachineType) -> Fixture {
    let sdk = sdk().await;
    let res = crate::provisioned("order", SENDER, kind).await;
    let queue = res.queue("orders").unwrap();
    let topic = res.topic("alerts").unwrap().to_owned();
    let config = OrderConfig {
        orders_table: res.table("orders").unwrap().to_owned(),
        products_table: res.table("products").unwrap().to_owned(),
        queue_url: queue.url.clone(),
        state_machine_arn: res.workflow(provision::resources::ORDER_WORKFLOW).unwrap().to_owned(),
        email_from: res.email_from.clone(),
        alerts_topic_arn: topic.clone(),
        reconcile_after: reconcile_after(),
        metrics_namespace: "Shop/test".to_owned(),
        max_order_lines: order::model::DEFAULT_MAX_ORDER_LINES,
        allow_unpaid: true,
        settle_after: Duration::from_secs(shop_local::stage::values("local").unwrap().settle_after_seconds),
    };
    Fixture {
        svc: Orders::new(&sdk, config),
        db: aws_sdk_dynamodb::Client::new(&sdk),
        queue_arn: queue.arn.clone(),
        dlq_url: queue.dlq_url.clone().unwrap_or_default(),
        alerts: crate::listener(&topic).await,
        orders_stream: res.stream("orders").unwrap().to_owned(),
        payment_secret: res.secret(provision::resources::PAYMENT_SECRET).unwrap().to_owned(),
    }
}

/// The webhook signing secret of the paid fixtures.
pub const WEBHOOK_SECRET: &str = "whsec_test_fixture";

/// The pipeline with payments on, as staging and prod run it: every order must carry a payment
/// method, authorized by the local Stripe; its secret read from Secrets Manager as at cold start.
pub async fn paid_fixture() -> Fixture {
    let mut f = fixture().await;
    let sdk = sdk().await;
    let provider = order::ProviderConfig {
        secret_id: f.payment_secret.clone(),
        api_url: stripe().await.endpoint.clone(),
        currency: "usd".into(),
    };
    let payments = Orders::provider(&sdk, &provider).await.unwrap();
    f.svc.config.allow_unpaid = false;
    f.svc.payments = Some(payments);
    f
}

pub struct Customer {
    pub email: String,
    pub claims: Value,
}

pub fn customer() -> Customer {
    let sub = unique("buyer");
    let email = format!("{sub}@example.com");
    Customer {
        claims: user_claims(&sub, &email),
        email,
    }
}

impl Fixture {
    /// Runs this fixture's service (its payments, its customers) on `other`'s resources: its
    /// configuration and every store built from it (the tables, the queue, the workflow, the
    /// sender, the alerts topic), its queue and its stream.
    pub fn use_resources_of(&mut self, other: &Fixture) {
        self.svc.config = other.svc.config.clone();
        self.svc.orders = other.svc.orders.clone();
        self.svc.stock = other.svc.stock.clone();
        self.svc.mailer = other.svc.mailer.clone();
        self.svc.queue = other.svc.queue.clone();
        self.svc.workflow = other.svc.workflow.clone();
        self.svc.alerts = other.svc.alerts.clone();
        self.queue_arn = other.queue_arn.clone();
        self.orders_stream = other.orders_stream.clone();
    }

    pub async fn product(&self, stock: u64, approved: bool) -> String {
        self.product_named("gucci", stock, approved).await
    }

    pub async fn product_named(&self, name: &str, stock: u64, approved: bool) -> String {
        let id = unique("prod");
        let status = if approved {
            Status::Approved
        } else {
            Status::PendingReview
        };
        let p = Product {
            product_name: name.into(),
            quantity: stock,
            image_url: Some("http://img/x.png".into()),
            uploaded_at: None,
            ..crate::sample_product(&id, status, Duration::ZERO)
        };
        // Written as the product service writes it.
        product::store::ProductsTable::new(self.db.clone(), &self.svc.config.products_table)
            .put_new(&p)
            .await
            .unwrap();
        id
    }

    /// How many orders the table holds.
    pub async fn order_count(&self) -> i32 {
        let scan = self
            .db
            .scan()
            .table_name(&self.svc.config.orders_table)
            .send()
            .await
            .unwrap();
        scan.count()
    }

    pub async fn stock(&self, product_id: &str) -> u64 {
        stock_of(&self.db, &self.svc.config.products_table, product_id).await
    }

    pub async fn set_stock(&self, product_id: &str, value: AttributeValue) {
        self.db
            .update_item()
            .table_name(&self.svc.config.products_table)
            .key("id", AttributeValue::S(product_id.into()))
            .update_expression("SET quantity = :q")
            .expression_attribute_values(":q", value)
            .send()
            .await
            .unwrap();
    }

    pub async fn place(&self, who: &Customer, product_id: &str, quantity: u64, key: Option<&str>) -> (u16, Value) {
        self.create(who, &json!({"id": product_id, "quantity": quantity}), key)
            .await
    }

    /// `POST /create-order {"items": [...]}`.
    pub async fn place_cart(&self, who: &Customer, lines: &[(&str, u64)], key: Option<&str>) -> (u16, Value) {
        let items: Vec<Value> = lines.iter().map(|(id, q)| json!({"id": id, "quantity": q})).collect();
        self.create(who, &json!({ "items": items }), key).await
    }

    /// `POST /create-order` with `body` as it is, by `who`, with an idempotency key if given.
    pub async fn create(&self, who: &Customer, body: &Value, key: Option<&str>) -> (u16, Value) {
        let mut req = api_request(
            "POST",
            "/create-order",
            Some(&body.to_string()),
            Some(who.claims.clone()),
        );
        if let Some(k) = key {
            req.headers.insert("idempotency-key", k.parse().unwrap());
        }
        parts(&order::create_order(&self.svc, req).await)
    }

    /// Places a cart that must be accepted (201); answers its order id.
    pub async fn accepted_cart(&self, who: &Customer, lines: &[(&str, u64)]) -> String {
        let (s, b) = self.place_cart(who, lines, None).await;
        assert_eq!(s, 201, "{b}");
        b["orderId"].as_str().unwrap().to_owned()
    }

    /// Hands the one queued message to the consumer three times (an at-least-once redelivery),
    /// then deletes it; every delivery must count as handled.
    pub async fn deliver_three_times(&self) {
        let sqs = aws_sdk_sqs::Client::new(&sdk().await);
        let msgs = bridge::receive(&sqs, &self.svc.config.queue_url, 10, 1).await.unwrap();
        assert_eq!(msgs.len(), 1);
        for _ in 0..3 {
            let resp = order::queue_consumer(&self.svc, bridge::sqs_event(&msgs, &self.queue_arn))
                .await
                .unwrap();
            assert!(
                resp.batch_item_failures.is_empty(),
                "a duplicate delivery was reported as failed"
            );
        }
        bridge::ack(&sqs, &self.svc.config.queue_url, &msgs, &[]).await;
    }

    /// Runs the queue consumer as Lambda's event source mapping would until the queue is empty.
    pub async fn drain_queue(&self) -> usize {
        let sqs = aws_sdk_sqs::Client::new(&sdk().await);
        let mut handled = 0;
        let mut empty = 0;
        while empty < 2 {
            let msgs = bridge::receive(&sqs, &self.svc.config.queue_url, 10, 0).await.unwrap();
            if msgs.is_empty() {
                empty += 1;
                continue;
            }
            empty = 0;
            let resp = order::queue_consumer(&self.svc, bridge::sqs_event(&msgs, &self.queue_arn))
                .await
                .unwrap();
            let failed: Vec<String> = resp
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect();
            bridge::ack(&sqs, &self.svc.config.queue_url, &msgs, &failed).await;
            handled += msgs.len() - failed.len();
        }
        handled
    }

    pub async fn status(&self, order_id: &str) -> Option<OrderStatus> {
        let order = self.svc.orders.get(order_id).await.unwrap()?;
        Some(order.status)
    }

    /// Waits until the order has left `pending`; answers its final status.
    pub async fn outcome(&self, id: &str) -> Option<OrderStatus> {
        self.settled(&[id.to_owned()]).await.remove(id)
    }

    /// Waits until every order has left `pending`; answers their final statuses.
    pub async fn settled(&self, ids: &[String]) -> HashMap<String, OrderStatus> {
        let started = Instant::now();
        loop {
            let mut done = HashMap::new();
            for id in ids {
                if let Some(s) = self.status(id).await.filter(|s| *s != OrderStatus::Pending) {
                    done.insert(id.clone(), s);
                }
            }
            // The emulator runs every execution in its own thread; 60 at once on 2 busy cores
            // take a while, so be patient before calling an order stuck.
            if done.len() == ids.len() || started.elapsed() > Duration::from_secs(300) {
                if done.len() < ids.len() {
                    for e in self.executions().await {
                        if !done.contains_key(e.name()) {
                            eprintln!("still pending: {} execution {:?}", e.name(), e.status());
                        }
                    }
                }
                return done;
            }
            // Each poll reads every order; polling 30-60 orders every 250 ms kept the emulator
            // (one Python process) busier answering reads than running the executions.
            tokio::time::sleep(Duration::from_millis(if ids.len() > 5 { 1000 } else { 250 })).await;
        }
    }

    /// One approved product with `stock`, one customer, one accepted order of `quantity` (queued,
    /// not yet consumed): (product id, customer, order id).
    pub async fn one_order(&self, stock: u64, quantity: u64) -> (String, Customer, String) {
        let product = self.product(stock, true).await;
        let buyer = customer();
        let (s, b) = self.place(&buyer, &product, quantity, None).await;
        assert_eq!(s, 201, "{b}");
        let id = b["orderId"].as_str().unwrap_or_default().to_owned();
        (product, buyer, id)
    }

    /// Makes the order look `age` old to the reconciler; `redriven` = (re-drives so far, how long
    /// ago the last one was).
    pub async fn age(&self, order_id: &str, age: Duration, redriven: Option<(u32, Duration)>) {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.svc.config.orders_table)
            .key("id", AttributeValue::S(order_id.into()))
            .update_expression("SET createdAt = :old")
            .expression_attribute_values(":old", AttributeValue::S(shop_core::time::ago(age)));
        if let Some((count, ago)) = redriven {
            update = update
                .update_expression("SET createdAt = :old, redrives = :n, redrivenAt = :at")
                .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
                .expression_attribute_values(":at", AttributeValue::S(shop_core::time::ago(ago)));
        }
        update.send().await.unwrap();
    }

    /// Every record of the Orders table's stream so far, as one Lambda event (from the start:
    /// handing it over twice is Lambda retrying a batch).
    pub async fn stream_event(&self) -> aws_lambda_events::dynamodb::Event {
        let emu = crate::emulator().await;
        let mut reader = shop_local::streams::StreamReader::open(&emu.endpoint, &emu.region, &self.orders_stream)
            .await
            .unwrap();
        let mut all = aws_lambda_events::dynamodb::Event::default();
        while let Some(e) = reader.next_event().await {
            all.records.extend(e.records);
        }
        all
    }

    /// Waits until at least one execution exists and none is running.
    pub async fn executions_ended(&self) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
        let started = Instant::now();
        loop {
            let all = self.executions().await;
            let done = !all.is_empty() && all.iter().all(|e| e.status().as_str() != "RUNNING");
            if done || started.elapsed() > Duration::from_secs(60) {
                assert!(!all.is_empty(), "no execution started");
                return all;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn executions(&self) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
        aws_sdk_sfn::Client::new(&sdk().await)
            .list_executions()
            .state_machine_arn(&self.svc.config.state_machine_arn)
            .send()
            .await
            .unwrap()
            .executions
    }
}

/// A product's stock as stored now (a consistent read).
pub async fn stock_of(db: &aws_sdk_dynamodb::Client, table: &str, product_id: &str) -> u64 {
    let item = db
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::S(product_id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    item["quantity"].as_n().unwrap().parse().unwrap()
}

/// `GET /orders/{id}` by the holder of `claims`.
pub fn order_path(id: &str, claims: &Value) -> shop_core::Request {
    crate::order_request("GET", "", id, None, claims.clone())
}

/// How many "... now shipping" emails `to` got, once one has arrived and a duplicate, if there
/// were one, has had time to arrive too.
pub async fn shipping_emails(to: &str) -> usize {
    crate::emails_eventually(to, |s| s.ends_with("now shipping")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    crate::emails_to(to)
        .await
        .into_iter()
        .filter(|m| m.subject.ends_with("now shipping"))
        .count()
}

/// The order ids of create-order answers that must all be accepted (201).
pub fn accepted_ids(placed: &[(u16, Value)]) -> Vec<String> {
    placed
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b}");
            b["orderId"].as_str().unwrap().to_owned()
        })
        .collect()
}
