//! One public async function per order Lambda.

use std::collections::HashMap;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shop_core::http::{header, json_body, path_param};
use shop_core::pagination::{page_request, query_page, IndexQuery};
use shop_core::validate::text;
use shop_core::{conditional, Identity, Request, Response, Upstream};

use crate::model::{
    order_id, price_cart, CreateOrder, Order, OrderMessage, OrderStatus, OrderView, CUSTOMER_INDEX, MAX_REDRIVES,
    STATUS_INDEX,
};
use crate::{store, Error, Orders};

const DB: &str = "dynamodb";

pub(crate) fn id_key(id: &str) -> HashMap<String, AttributeValue> {
    [("id".to_owned(), AttributeValue::S(id.to_owned()))].into()
}

async fn get_item<T: serde::de::DeserializeOwned>(o: &Orders, table: &str, id: &str) -> Result<Option<T>, Upstream> {
    let out =
        o.db.get_item()
            .table_name(table)
            .set_key(Some(id_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Upstream::new(DB, e))?;
    out.item
        .map(|i| serde_dynamo::from_item(i).map_err(|e| Upstream::internal(DB, format!("unreadable item: {e}"))))
        .transpose()
}

/// `POST /create-order {"items": [{id, quantity}, ...]}` or `{id, quantity}` (signed in; optional
/// `Idempotency-Key` header): 201 `{"message": "order placed successfully", "orderId"}` once the
/// order is recorded and queued.
pub async fn create_order(o: &Orders, req: Request) -> Response {
    match create_flow(o, &req).await {
        Ok(id) => o
            .http
            .json(201, &json!({ "message": "order placed successfully", "orderId": id })),
        Err(e) => o.http.error(&e),
    }
}

async fn create_flow(o: &Orders, req: &Request) -> Result<String, Error> {
    let who = Identity::from_request(req)?;
    // The order's emails go to this address: only one Cognito verified (`email_verified`).
    let email = who.verified_email()?.to_owned();
    let body = CreateOrder::parse(&json_body(req)?, o.config.max_order_lines)?;
    let id = order_id(&who.sub, header(req, "idempotency-key"))?;

    let ids: Vec<&str> = body.lines.iter().map(|l| l.product_id.as_str()).collect();
    let products = store::products(&o.db, &o.config.products_table, &ids).await?;
    let (items, total) = price_cart(&body, &products)?;
    let now = shop_core::time::now();
    let order = Order {
        id: id.clone(),
        items,
        total,
        status: OrderStatus::Pending,
        customer_id: who.sub.clone(),
        customer_email: email,
        created_at: now.clone(),
        updated_at: now,
    };
    let item = serde_dynamo::to_item(&order).map_err(|e| Upstream::internal(DB, e.to_string()))?;
    let put =
        o.db.put_item()
            .table_name(&o.config.orders_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
    match put {
        Ok(_) => {
            if let Err(e) = enqueue(o, &order).await {
                withdraw(o, &order.id).await;
                return Err(e.into());
            }
            tracing::info!(order_id = %id, lines = order.items.len(), "order accepted");
            confirm_by_email(o, &order).await;
            Ok(id)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
        {
            replay(o, &id, &body).await
        }
        Err(e) => Err(Upstream::new(DB, e).into()),
    }
}

/// A retried request with the same `Idempotency-Key`: same order, queued again while it is
/// still pending (the consumer starts at most one execution per order).
async fn replay(o: &Orders, id: &str, body: &CreateOrder) -> Result<String, Error> {
    let existing: Order = get_item(o, &o.config.orders_table, id)
        .await?
        .ok_or_else(|| Upstream::internal(DB, "order vanished during replay"))?;
    if !existing.is_cart(body) {
        return Err(Error::IdempotencyKeyReused);
    }
    if existing.status == OrderStatus::Pending {
        enqueue(o, &existing).await?;
    }
    tracing::info!(order_id = %id, "idempotent replay");
    Ok(existing.id)
}

async fn enqueue(o: &Orders, order: &Order) -> Result<(), Upstream> {
    let body =
        serde_json::to_string(&OrderMessage::from(order)).map_err(|e| Upstream::internal("sqs", e.to_string()))?;
    o.sqs
        .send_message()
        .queue_url(&o.config.queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| Upstream::new("sqs", e))?;
    Ok(())
}

/// The order could not be queued: remove it so the client's 503 is the whole truth. If even
/// that fails, a retry with the same Idempotency-Key queues it (see [`replay`]).
async fn withdraw(o: &Orders, id: &str) {
    let deleted =
        o.db.delete_item()
            .table_name(&o.config.orders_table)
            .set_key(Some(id_key(id)))
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .send()
            .await;
    match deleted {
        Ok(_) => tracing::warn!(order_id = %id, "order not queued; withdrawn"),
        Err(_) => tracing::error!(order_id = %id, "order not queued and not withdrawn; stays pending until replayed"),
    }
}

async fn confirm_by_email(o: &Orders, order: &Order) {
    let wording = order.wording();
    let subject = format!("Order received: {}", wording.title);
    let text = format!(
        "Thank you! We received your order {} for {} (total {}). We will email you when it ships.",
        order.id, wording.summary, order.total
    );
    if shop_core::email::send(&o.ses, &o.config.email_from, &order.customer_email, &subject, &text)
        .await
        .is_err()
    {
        tracing::error!(order_id = %order.id, "confirmation email failed");
    }
}

/// SQS batch: one execution per order, named by the order id. Under a Standard workflow a
/// redelivered message finds its execution already there, which counts as done; under Express it
/// starts another, which the workflow's conditional writes make harmless (stock moves once, one
/// email). Failed records are reported individually so
/// the rest of the batch is not retried; after the queue's max receives they go to the DLQ.
pub async fn queue_consumer(o: &Orders, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let parsed = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<OrderMessage>(b).ok());
        let ok = match parsed {
            None => {
                tracing::error!(%message_id, "unreadable order message; left for the dead-letter queue");
                false
            }
            Some(m) => start_execution(o, &m).await,
        };
        if !ok {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

async fn start_execution(o: &Orders, m: &OrderMessage) -> bool {
    match start(o, m, &m.order_id).await {
        Ok(Started::New) => {
            tracing::info!(order_id = %m.order_id, "workflow started");
            true
        }
        Ok(Started::AlreadyExists) => {
            tracing::info!(order_id = %m.order_id, "workflow already started; duplicate delivery");
            true
        }
        Err(_) => false,
    }
}

pub(crate) enum Started {
    New,
    /// An execution of that name exists (running or ended): Standard workflows keep names unique
    /// (Express ones never answer this).
    AlreadyExists,
}

async fn start(o: &Orders, m: &OrderMessage, name: &str) -> Result<Started, Upstream> {
    start_workflow(&o.sfn, &o.config.state_machine_arn, m, name).await
}

/// Starts the order workflow for `m` under `name` (its input: [`OrderMessage::workflow_input`]).
pub(crate) async fn start_workflow(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    m: &OrderMessage,
    name: &str,
) -> Result<Started, Upstream> {
    let input = m.workflow_input();
    let started = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    match started {
        Ok(_) => Ok(Started::New),
        Err(e) if e.as_service_error().is_some_and(|x| x.is_execution_already_exists()) => Ok(Started::AlreadyExists),
        Err(e) => Err(Upstream::new("stepfunctions", e)),
    }
}

/// What one reconciler run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    /// Index entries DynamoDB read: the stuck orders, not the table.
    pub items_read: usize,
    pub redriven: usize,
    pub failed: usize,
}

/// Scheduled: every order still `pending` [`crate::OrderConfig::reconcile_after`] after it was
/// created (or last re-driven) gets a new execution; after [`MAX_REDRIVES`] it is marked failed
/// and operations are alerted. The workflow's `TimeoutSeconds` is below that age, so no
/// execution for the order is still running: a message lost between the queue and the workflow,
/// an execution that failed without reaching its own error path (`States.Runtime`, a timeout, a
/// manual stop), all end here instead of leaving the order pending for ever.
pub async fn reconcile(o: &Orders, _event: serde_json::Value) -> Result<ReconcileReport, Error> {
    let cutoff = shop_core::time::ago(o.config.reconcile_after);
    let mut report = ReconcileReport::default();
    let mut start_key: Option<HashMap<String, AttributeValue>> = None;
    let mut first_error: Option<Error> = None;
    loop {
        let out =
            o.db.query()
                .table_name(&o.config.orders_table)
                .index_name(STATUS_INDEX)
                .key_condition_expression("#s = :pending AND createdAt < :cutoff")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
                .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.clone()))
                .limit(100)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| Upstream::new(DB, e))?;
        report.items_read += usize::try_from(out.scanned_count()).unwrap_or(0);
        for item in out.items() {
            let Some(AttributeValue::S(id)) = item.get("id") else {
                continue;
            };
            // One order's failure does not stop the others; the run still fails at the end (Lambda
            // error alarm), and the order is retried once its claim is older than the cutoff.
            match redrive(o, id, &cutoff).await {
                Ok(Redrive::Skipped) => {}
                Ok(Redrive::Started) => report.redriven += 1,
                Ok(Redrive::GaveUp) => report.failed += 1,
                Err(e) => {
                    tracing::error!(order_id = %id, error = %e, "re-drive failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start_key = Some(k),
            _ => break,
        }
    }
    tracing::info!(
        items_read = report.items_read,
        redriven = report.redriven,
        failed = report.failed,
        "order reconcile done"
    );
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

enum Redrive {
    /// Decided, or re-driven recently (by this reconciler or a concurrent one), meanwhile.
    Skipped,
    Started,
    GaveUp,
}

async fn redrive(o: &Orders, id: &str, cutoff: &str) -> Result<Redrive, Error> {
    // Claim the order: only one reconciler acts on it per period, and only while it is pending.
    let claimed =
        o.db.update_item()
            .table_name(&o.config.orders_table)
            .set_key(Some(id_key(id)))
            .update_expression("SET redrives = if_not_exists(redrives, :zero) + :one, redrivenAt = :now")
            .condition_expression("#s = :pending AND (attribute_not_exists(redrivenAt) OR redrivenAt < :cutoff)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
    let Some(claimed) = conditional(claimed)? else {
        return Ok(Redrive::Skipped);
    };
    let item = claimed.attributes.unwrap_or_default();
    let redrives = match item.get("redrives") {
        Some(AttributeValue::N(n)) => n.parse::<u64>().unwrap_or(u64::MAX),
        _ => u64::MAX,
    };
    let order: Order =
        serde_dynamo::from_item(item).map_err(|e| Upstream::internal(DB, format!("unreadable order: {e}")))?;
    if redrives > MAX_REDRIVES {
        give_up(o, &order, redrives - 1).await?;
        return Ok(Redrive::GaveUp);
    }
    let message = OrderMessage::from(&order);
    // Its own name first: if the queue never delivered it, this is its first execution.
    let name = match start(o, &message, &order.id).await? {
        Started::New => order.id.clone(),
        Started::AlreadyExists => {
            let name = format!("{}-r{redrives}", order.id);
            start(o, &message, &name).await?;
            name
        }
    };
    tracing::warn!(order_id = %order.id, redrives, execution = %name, "pending order re-driven");
    Ok(Redrive::Started)
}

/// The order was re-driven [`MAX_REDRIVES`] times and is still pending: stop, mark it failed,
/// email the customer, tell operations (the same outcome as the workflow's own failure path).
async fn give_up(o: &Orders, order: &Order, redrives: u64) -> Result<(), Error> {
    let marked =
        o.db.update_item()
            .table_name(&o.config.orders_table)
            .set_key(Some(id_key(&order.id)))
            .update_expression("SET #s = :failed, updatedAt = :now")
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", AttributeValue::S("failed".into()))
            .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .send()
            .await;
    if conditional(marked)?.is_none() {
        return Ok(());
    }
    // The customer hears it from us, as from the workflow's own failure path; a lost email does
    // not stop the alert.
    let wording = order.wording();
    let subject = wording.failed_subject();
    let text = format!(
        "Sorry, we could not process your order {} of {}. You have not been charged.",
        order.id, wording.summary
    );
    if shop_core::email::send(&o.ses, &o.config.email_from, &order.customer_email, &subject, &text)
        .await
        .is_err()
    {
        tracing::error!(order_id = %order.id, "failure email not sent");
    }
    o.sns
        .publish()
        .topic_arn(&o.config.alerts_topic_arn)
        .subject("Order failed")
        .message(format!(
            "Order {} failed: still pending after {redrives} re-drives of its workflow",
            order.id
        ))
        .send()
        .await
        .map_err(|e| Upstream::new("sns", e))?;
    tracing::error!(order_id = %order.id, redrives, "order marked failed by the reconciler; alert sent");
    Ok(())
}

/// `GET /orders?limit&nextToken`: the caller's orders, newest first.
pub async fn list_orders(o: &Orders, req: Request) -> Response {
    o.http.respond(200, list_flow(o, &req).await)
}

async fn list_flow(o: &Orders, req: &Request) -> Result<serde_json::Value, Error> {
    let who = Identity::from_request(req)?;
    let q = IndexQuery {
        table: &o.config.orders_table,
        index: CUSTOMER_INDEX,
        pk_attr: "customerId",
        pk_value: who.sub,
        newest_first: true,
    };
    let page = page_request(req, 20, 100, &["id", "customerId", "createdAt"], &q)?;
    let page = query_page::<Order>(&o.db, &q, page).await?;
    let orders: Vec<OrderView> = page.items.into_iter().map(OrderView::from).collect();
    Ok(json!({ "orders": orders, "nextToken": page.next_token }))
}

/// `GET /orders/{id}`: the order, to its owner only; anyone else gets the same 404 as for a
/// missing order.
pub async fn get_order(o: &Orders, req: Request) -> Response {
    o.http.respond(200, get_flow(o, &req).await)
}

async fn get_flow(o: &Orders, req: &Request) -> Result<OrderView, Error> {
    let who = Identity::from_request(req)?;
    let id = text("id", path_param(req, "id").unwrap_or_default(), 64)?;
    get_item::<Order>(o, &o.config.orders_table, &id)
        .await?
        .filter(|order| order.customer_id == who.sub)
        .map(OrderView::from)
        .ok_or(Error::OrderNotFound(id))
}
