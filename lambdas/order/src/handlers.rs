//! One public async function per order Lambda.

use std::collections::HashMap;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use shop_core::http::{header, json_body, path_param};
use shop_core::pagination::{page_request, query_page, IndexQuery};
use shop_core::validate::text;
use shop_core::{Identity, Request, RequestError, Response, Upstream};

use crate::model::{order_id, CreateOrder, Order, OrderMessage, OrderStatus, OrderView, ProductStock, CUSTOMER_INDEX};
use crate::{Error, Orders};

const DB: &str = "dynamodb";

fn id_key(id: &str) -> HashMap<String, AttributeValue> {
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

/// `POST /create-order {id, quantity}` (signed in; optional `Idempotency-Key` header): 201
/// `{"message": "order placed successfully", "orderId"}` once the order is recorded and queued.
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
    // Cognito ID tokens always carry `email`; without it we could not tell the customer anything.
    let email = who.email.clone().ok_or(RequestError::Unauthorized)?;
    let body = CreateOrder::parse(&json_body(req)?)?;
    let id = order_id(&who.sub, header(req, "idempotency-key"))?;

    let product: ProductStock = get_item(o, &o.config.products_table, &body.product_id)
        .await?
        .filter(|p: &ProductStock| p.is_approved)
        .ok_or_else(|| Error::ProductNotFound(body.product_id.clone()))?;
    if product.quantity < body.quantity {
        return Err(Error::InsufficientStock);
    }
    let total = product
        .product_price
        .times(body.quantity)
        .ok_or_else(|| Upstream::internal("order", "order total out of range"))?;
    let now = shop_core::time::now();
    let order = Order {
        id: id.clone(),
        product_id: product.id,
        product_name: product.product_name,
        quantity: body.quantity,
        unit_price: product.product_price,
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
            tracing::info!(order_id = %id, product_id = %order.product_id, quantity = order.quantity, "order accepted");
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
    if existing.product_id != body.product_id || existing.quantity != body.quantity {
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
    let subject = format!("Order received: {}", order.product_name);
    let text = format!(
        "Thank you! We received your order {} for {} x {} (total {}). We will email you when it ships.",
        order.id, order.quantity, order.product_name, order.total
    );
    if shop_core::email::send(&o.ses, &o.config.email_from, &order.customer_email, &subject, &text)
        .await
        .is_err()
    {
        tracing::error!(order_id = %order.id, "confirmation email failed");
    }
}

/// SQS batch: one execution per order, named by the order id. A redelivered message finds its
/// execution already there, which counts as done. Failed records are reported individually so
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
    let mut input = serde_json::to_value(m).unwrap_or_default();
    input["attempt"] = json!(0);
    let started = o
        .sfn
        .start_execution()
        .state_machine_arn(&o.config.state_machine_arn)
        .name(&m.order_id)
        .input(input.to_string())
        .send()
        .await;
    match started {
        Ok(_) => {
            tracing::info!(order_id = %m.order_id, "workflow started");
            true
        }
        Err(e) if e.as_service_error().is_some_and(|x| x.is_execution_already_exists()) => {
            tracing::info!(order_id = %m.order_id, "workflow already started; duplicate delivery");
            true
        }
        Err(e) => {
            let _ = Upstream::new("stepfunctions", e);
            false
        }
    }
}

/// `GET /orders?limit&nextToken`: the caller's orders, newest first.
pub async fn list_orders(o: &Orders, req: Request) -> Response {
    o.http.respond(200, list_flow(o, &req).await)
}

async fn list_flow(o: &Orders, req: &Request) -> Result<serde_json::Value, Error> {
    let who = Identity::from_request(req)?;
    let page = page_request(req, 20, 100, &["id", "customerId", "createdAt"])?;
    let q = IndexQuery {
        table: &o.config.orders_table,
        index: CUSTOMER_INDEX,
        pk_attr: "customerId",
        pk_value: who.sub,
        newest_first: true,
    };
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
