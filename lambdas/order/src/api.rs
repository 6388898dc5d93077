//! The customer's routes: place an order (a cart of one or more lines), list and read them back.

use serde_json::json;
use shop_core::http::{header, json_body, path_param};
use shop_core::pagination::{page_request, query_page, IndexQuery};
use shop_core::validate::text;
use shop_core::{Identity, Request, Response, Upstream};

use crate::model::{order_id, price_cart, CreateOrder, Order, OrderMessage, OrderStatus, OrderView, CUSTOMER_INDEX};
use crate::{store, Error, Orders};

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
    if !o.orders().put_new(&order).await? {
        return replay(o, &id, &body).await;
    }
    if let Err(e) = enqueue(o, &order).await {
        withdraw(o, &order.id).await;
        return Err(e.into());
    }
    tracing::info!(order_id = %id, lines = order.items.len(), "order accepted");
    confirm_by_email(o, &order).await;
    Ok(id)
}

/// A retried request with the same `Idempotency-Key`: same order, queued again while it is
/// still pending (the consumer starts at most one execution per order).
async fn replay(o: &Orders, id: &str, body: &CreateOrder) -> Result<String, Error> {
    let existing = o
        .orders()
        .get(id)
        .await?
        .ok_or_else(|| Upstream::internal("dynamodb", "order vanished during replay"))?;
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
    crate::store::enqueue(&o.sqs, &o.config.queue_url, &OrderMessage::from(order)).await
}

/// The order could not be queued: remove it so the client's 503 is the whole truth. If even
/// that fails, a retry with the same Idempotency-Key queues it (see [`replay`]).
async fn withdraw(o: &Orders, id: &str) {
    match o.orders().withdraw_pending(id).await {
        Ok(true) => tracing::warn!(order_id = %id, "order not queued; withdrawn"),
        _ => tracing::error!(order_id = %id, "order not queued and not withdrawn; stays pending until replayed"),
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
        before: None,
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
    o.orders()
        .get(&id)
        .await?
        .filter(|order| order.customer_id == who.sub)
        .map(OrderView::from)
        .ok_or(Error::OrderNotFound(id))
}
