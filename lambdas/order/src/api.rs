//! The customer's routes: place an order (a cart of one or more lines), list and read them back.

use serde_json::json;
use shop_core::http::{header, json_body, path_param};
use shop_core::money::Money;
use shop_core::pagination::page_request;
use shop_core::validate::{text, whole_number};
use shop_core::{Identity, Request, RequestError, Response, Upstream};

use crate::model::{
    authorize_key, order_id, price_cart, refund_key, CreateOrder, MoneyMove, Order, OrderMessage, OrderStatus,
    OrderView, Payment, PaymentStatus, PaymentView,
};
use crate::payment::{self, settle, Intent, Payments, ProviderError};
use crate::{Error, Orders};

/// `POST /create-order {"items": [{id, quantity}, ...], "paymentMethod": "pm_..."}` or `{id,
/// quantity, paymentMethod}` (signed in; optional `Idempotency-Key` header). The cart's total is
/// authorized on the card first: a decline answers 402 and nothing is stored or queued. 201
/// `{"message": "order placed successfully", "orderId", "payment"}` once the order is recorded
/// and queued; 202 with `payment.clientSecret` when the customer must finish the authorization
/// (3-D Secure) first, which queues the order (the provider's webhook, or the same request again).
pub async fn create_order(o: &Orders, req: Request) -> Response {
    match create_flow(o, &req).await {
        Ok(placed) => o.http.json(placed.status(), &placed.body()),
        Err(e) => o.http.error(&e),
    }
}

/// What create-order answers.
struct Placed {
    order: Order,
    /// The provider's answer when the customer must act: `clientSecret`, `nextAction`.
    action: Option<Intent>,
}

impl Placed {
    fn status(&self) -> u16 {
        if self.action.is_some() {
            202
        } else {
            201
        }
    }

    fn body(&self) -> serde_json::Value {
        let mut body = json!({ "message": "order placed successfully", "orderId": self.order.id });
        if let Some(p) = &self.order.payment {
            let mut payment = json!(PaymentView::from(p));
            if let Some(intent) = &self.action {
                body["message"] = json!("the payment needs the customer's confirmation");
                payment["clientSecret"] = json!(intent.client_secret);
                payment["nextAction"] = intent.next_action.clone().unwrap_or(serde_json::Value::Null);
            }
            body["payment"] = payment;
        }
        body
    }
}

async fn create_flow(o: &Orders, req: &Request) -> Result<Placed, Error> {
    let who = Identity::from_request(req)?;
    // The order's emails go to this address: only one Cognito verified (`email_verified`).
    let email = who.verified_email()?.to_owned();
    let body = CreateOrder::parse(&json_body(req)?, o.config.max_order_lines)?;
    let id = order_id(&who.sub, header(req, "idempotency-key"))?;
    // Refused before anything is read or charged: an order the stage cannot take.
    let pm = match (&body.payment_method, &o.payments) {
        // A stage that requires payment without the provider's secret: a deploy error, not the client's.
        (_, None) if !o.config.allow_unpaid => {
            return Err(Upstream::internal(
                "payments",
                "no payment provider (PAYMENT_SECRET_ARN) where payment is required",
            )
            .into())
        }
        (Some(_), None) => return Err(RequestError::invalid("paymentMethod", "this stage takes no payments").into()),
        (None, _) if !o.config.allow_unpaid => {
            return Err(RequestError::invalid("paymentMethod", "is required: orders are paid by card").into())
        }
        (pm, _) => pm.clone(),
    };

    let ids: Vec<&str> = body.lines.iter().map(|l| l.product_id.as_str()).collect();
    let products = o.stock.products(&ids).await?;
    let (items, total) = price_cart(&body, &products)?;
    let (payment, action) = match (&pm, &o.payments) {
        (Some(pm), Some(p)) => authorize(o, p, &id, total, pm).await?,
        _ => (None, None),
    };
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
        payment,
    };
    if !o.orders.put_new(&order).await? {
        return replay(o, &order, &body).await;
    }
    if action.is_some() {
        tracing::info!(order_id = %id, "order waits for the customer's payment confirmation");
        return Ok(Placed { order, action });
    }
    if let Err(e) = enqueue(o, &order).await {
        withdraw(o, &order).await;
        return Err(e.into());
    }
    tracing::info!(order_id = %id, lines = order.items.len(), paid = order.payment.is_some(), "order accepted");
    confirm_by_email(o, &order).await;
    Ok(Placed { order, action: None })
}

/// Authorizes `total` on `pm` for order `id`: the payment to store, and the intent when the
/// customer must act. A decline is the request's answer (402): nothing was stored yet.
async fn authorize(
    o: &Orders,
    p: &Payments,
    id: &str,
    total: Money,
    pm: &str,
) -> Result<(Option<Payment>, Option<Intent>), Error> {
    let ns = &o.config.metrics_namespace;
    let intent = match p
        .provider
        .authorize(id, total.cents(), &p.currency, pm, &authorize_key(id, pm))
        .await
    {
        Ok(intent) => intent,
        Err(e) => {
            if matches!(e, ProviderError::Declined { .. }) {
                payment::count(ns, "PaymentDeclines", Some(total.cents()));
                tracing::info!(order_id = %id, error = %e, "card declined; nothing stored");
            }
            return Err(Error::Payment(e));
        }
    };
    let status = match intent.status.as_str() {
        "requires_capture" => PaymentStatus::Authorized,
        "requires_action" => PaymentStatus::ActionRequired,
        other => {
            // Not a hold we can capture (a synchronous capture, a card needing another method):
            // release it rather than keep money we did not mean to take.
            let _ = p.provider.void(&intent.id, &format!("{id}-void-{}", intent.id)).await;
            return Err(Upstream::internal(
                shop_core::error::service::PAYMENTS,
                format!("authorization ended in {other}"),
            )
            .into());
        }
    };
    if status == PaymentStatus::Authorized {
        payment::count(ns, "PaymentsAuthorized", Some(total.cents()));
    }
    let payment = Payment {
        intent_id: intent.id.clone(),
        status,
        amount: total,
        currency: p.currency.clone(),
        refunded: Money::default(),
        refunded_lines: Vec::new(),
        disputed: false,
    };
    let action = (status == PaymentStatus::ActionRequired).then_some(intent);
    Ok((Some(payment), action))
}

/// A retried request with the same `Idempotency-Key`: the same order, queued again while it is
/// still pending (the consumer starts at most one execution per order). `attempt` is what this
/// request built; a second card's authorization is released, the order keeps its first.
async fn replay(o: &Orders, attempt: &Order, body: &CreateOrder) -> Result<Placed, Error> {
    let id = &attempt.id;
    let mut existing = o
        .orders
        .get(id)
        .await?
        .ok_or_else(|| Upstream::internal(shop_core::error::service::DYNAMODB, "order vanished during replay"))?;
    release_second(o, attempt, &existing).await;
    if !existing.is_cart(body) {
        return Err(Error::IdempotencyKeyReused);
    }
    let awaiting = existing.status == OrderStatus::Pending
        && existing.payment.as_ref().map(|p| p.status) == Some(PaymentStatus::ActionRequired);
    if let (true, Some(p), Some(payment)) = (awaiting, &o.payments, &existing.payment) {
        // Did the customer finish it? Then it is authorized and goes on; else tell them again.
        let intent = p.provider.intent(&payment.intent_id).await.map_err(Error::Payment)?;
        if intent.status != "requires_capture" {
            return Ok(Placed {
                order: existing,
                action: Some(intent),
            });
        }
        o.orders.authorized_after_action(id).await?;
        existing = o.orders.get(id).await?.unwrap_or(existing);
    }
    if existing.status == OrderStatus::Pending {
        enqueue(o, &existing).await?;
    }
    tracing::info!(order_id = %id, "idempotent replay");
    Ok(Placed {
        order: existing,
        action: None,
    })
}

/// The replay authorized another intent (another card) than the order holds: void it.
async fn release_second(o: &Orders, attempt: &Order, existing: &Order) {
    let (Some(p), Some(mine)) = (&o.payments, &attempt.payment) else {
        return;
    };
    if existing.payment.as_ref().map(|e| &e.intent_id) == Some(&mine.intent_id) {
        return;
    }
    if let Err(e) = p
        .provider
        .void(&mine.intent_id, &format!("{}-void-{}", attempt.id, mine.intent_id))
        .await
    {
        tracing::error!(order_id = %attempt.id, error = %e, "second authorization not released; it expires by itself");
    }
}

async fn enqueue(o: &Orders, order: &Order) -> Result<(), Upstream> {
    o.queue.enqueue(&OrderMessage::from(order)).await
}

/// The order could not be queued: remove it and release its hold, so the client's 503 is the
/// whole truth. If even that fails, a retry with the same Idempotency-Key queues it (see [`replay`]).
async fn withdraw(o: &Orders, order: &Order) {
    let id = &order.id;
    match o.orders.withdraw_pending(id).await {
        Ok(true) => tracing::warn!(order_id = %id, "order not queued; withdrawn"),
        _ => {
            tracing::error!(order_id = %id, "order not queued and not withdrawn; stays pending until replayed");
            return;
        }
    }
    if let (Some(p), Some(payment)) = (&o.payments, &order.payment) {
        if let Err(e) = p.provider.void(&payment.intent_id, &MoneyMove::Void.key(id)).await {
            tracing::error!(order_id = %id, error = %e, "withdrawn order's hold not released; it expires by itself");
        }
    }
}

async fn confirm_by_email(o: &Orders, order: &Order) {
    let wording = order.wording();
    let subject = format!("Order received: {}", wording.title);
    let text = format!(
        "Thank you! We received your order {} for {} (total {}). {}",
        order.id,
        wording.summary,
        order.total,
        match &order.payment {
            Some(p) => format!(
                "We hold {} {} on your card and charge it when your order ships.",
                p.amount,
                p.currency.to_uppercase()
            ),
            None => "We will email you when it ships.".to_owned(),
        }
    );
    if o.mailer.send(&order.customer_email, &subject, &text).await.is_err() {
        tracing::error!(order_id = %order.id, "confirmation email failed");
    }
}

/// The order `id` as its reader may see it: a customer (`owner`) only their own, anyone else's
/// answered as missing; an admin (`None`) any.
async fn order_seen_by(o: &Orders, id: &str, owner: Option<&str>) -> Result<Order, Error> {
    o.orders
        .get(id)
        .await?
        .filter(|order| owner.is_none_or(|who| order.customer_id == who))
        .ok_or_else(|| Error::OrderNotFound(id.to_owned()))
}

/// `GET /orders?limit&nextToken`: the caller's orders, newest first.
pub async fn list_orders(o: &Orders, req: Request) -> Response {
    o.http.respond(200, list_flow(o, &req).await)
}

async fn list_flow(o: &Orders, req: &Request) -> Result<serde_json::Value, Error> {
    let who = Identity::from_request(req)?;
    let q = o.orders.of_customer(who.sub);
    let page = page_request(req, 20, 100, crate::model::CUSTOMER_PAGE_KEY, &q)?;
    let page = o.orders.page(&q, page).await?;
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
    order_seen_by(o, &id, Some(&who.sub)).await.map(OrderView::from)
}

/// `POST /orders/{id}/cancel` (signed in, the owner): cancels an order not yet fulfilled. A
/// pending order stops there (its hold is voided, no stock moved); a reserved one gets its stock
/// back, in one transaction with its status, and is refunded (or its hold voided). 200 with the
/// order; again on a cancelled order (idempotent); 409 once it was rejected or failed.
pub async fn cancel_order(o: &Orders, req: Request) -> Response {
    o.http.respond(200, cancel_flow(o, &req).await)
}

async fn cancel_flow(o: &Orders, req: &Request) -> Result<OrderView, Error> {
    let who = Identity::from_request(req)?;
    let id = text("id", path_param(req, "id").unwrap_or_default(), 64)?;
    // A few rounds: the workflow may decide between our read and our write, or hold the order
    // in its reservation transaction while we write.
    for round in 0..4 {
        crate::pause_before(round).await;
        let order = order_seen_by(o, &id, Some(&who.sub)).await?;
        let cancelled = match order.status {
            OrderStatus::Pending => o.orders.cancel_pending(&id).await,
            OrderStatus::Shipping => o.orders.cancel_reserved(&order, &o.config.products_table).await,
            OrderStatus::Cancelled => Ok(true),
            s @ (OrderStatus::Rejected | OrderStatus::Failed) => return Err(Error::NotCancellable(s.as_str())),
        };
        let cancelled = match cancelled {
            Err(u) if u.is_transaction_conflict() => false,
            other => other?,
        };
        if !cancelled {
            continue;
        }
        if order.status != OrderStatus::Cancelled {
            tracing::info!(order_id = %id, was = order.status.as_str(), "order cancelled by its customer");
        }
        // The money now; if the provider is down, the stream and the reconciler finish it.
        if let Err(e) = settle(o, &id).await {
            tracing::warn!(order_id = %id, error = %e, "cancelled; payment left for the reconciler");
        }
        let now = o.orders.get(&id).await?.unwrap_or(order);
        return Ok(OrderView::from(now));
    }
    Err(Upstream::internal(
        shop_core::error::service::DYNAMODB,
        "the order kept changing while it was cancelled",
    )
    .into())
}

/// `POST /orders/{id}/refund {"lines": [1, 3]}` (an admin): refunds those lines of a charged order
/// (1-based, each at most once), or, without `lines`, whatever is not refunded yet. Money only: the
/// order's status and its stock stay (a damaged item is not back on the shelf). Idempotent: the
/// provider call carries a key made of the order and the lines, and the record is conditional on
/// the amount refunded so far. 200 with the order; 409 when nothing (or a line again) can be refunded.
pub async fn refund_order(o: &Orders, req: Request) -> Response {
    o.http.respond(200, refund_flow(o, &req).await)
}

async fn refund_flow(o: &Orders, req: &Request) -> Result<OrderView, Error> {
    let admin = o.admins.admin(req).await?;
    let id = text("id", path_param(req, "id").unwrap_or_default(), 64)?;
    let asked = refund_lines(req)?;
    let p = o.payments.as_ref().ok_or(Error::PaymentsOff)?;
    for round in 0..4 {
        crate::pause_before(round).await;
        let order = order_seen_by(o, &id, None).await?;
        let payment = order.payment.clone().ok_or(Error::NotRefundable("it was not paid"))?;
        if payment.status != PaymentStatus::Captured {
            return Err(Error::NotRefundable(payment.status.as_str()));
        }
        let rest = payment.amount.cents() - payment.refunded.cents();
        let (lines, cents) = match &asked {
            None => (Vec::new(), rest),
            Some(lines) => {
                if lines.iter().any(|l| payment.refunded_lines.contains(l)) {
                    return Err(Error::NotRefundable("a line asked for was refunded already"));
                }
                let mut cents = 0;
                for l in lines {
                    let line = order
                        .items
                        .get(l - 1)
                        .ok_or_else(|| RequestError::invalid("lines", format!("the order has no line {l}")))?;
                    cents += line.line_total.cents();
                }
                (lines.clone(), cents.min(rest))
            }
        };
        if cents <= 0 {
            return Err(Error::NotRefundable("refunded in full already"));
        }
        p.provider
            .refund(&payment.intent_id, cents, &refund_key(&id, &lines))
            .await
            .map_err(Error::Payment)?;
        let after = Money::from_cents(payment.refunded.cents() + cents);
        match o.orders.record_refund(&order, payment.refunded, after, &lines).await {
            Ok(true) => {
                tracing::info!(order_id = %id, admin = %admin.sub, cents, "refunded by an admin");
                crate::payment::settle::tell(o, &order, MoneyMove::Refund, cents).await;
                let now = o.orders.get(&id).await?.unwrap_or(order);
                return Ok(OrderView::from(now));
            }
            // Another refund was recorded meanwhile: read again (ours repeats with its key: a replay).
            Ok(false) => {}
            Err(u) if u.is_transaction_conflict() => {}
            Err(u) => return Err(u.into()),
        }
    }
    Err(Upstream::internal(
        shop_core::error::service::DYNAMODB,
        "the order kept changing while it was refunded",
    )
    .into())
}

/// `lines`: distinct 1-based line numbers, sorted; absent for "the rest".
fn refund_lines(req: &Request) -> Result<Option<Vec<usize>>, Error> {
    let body = shop_core::http::raw_body(req)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| RequestError::MalformedJson("the body is not JSON".into()))?;
    let Some(lines) = value.get("lines") else {
        return Ok(None);
    };
    let invalid = || RequestError::invalid("lines", "must be a list of distinct line numbers from 1");
    let mut out: Vec<usize> = lines
        .as_array()
        .ok_or_else(invalid)?
        .iter()
        .map(|v| {
            whole_number(v)
                .filter(|n| (1..=1000).contains(n))
                .map(|n| n as usize)
                .ok_or_else(invalid)
        })
        .collect::<Result<_, _>>()?;
    out.sort_unstable();
    let n = out.len();
    out.dedup();
    if out.is_empty() || out.len() != n {
        return Err(invalid().into());
    }
    Ok(Some(out))
}
