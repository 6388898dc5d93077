//! The Orders table's payment writes: each one a conditional transition of the order's status
//! and its payment's status, so two movers (the stream, the reconciler, a cancel, a webhook)
//! never both act on one state. A `false` answer means the order moved on meanwhile: read again.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use shop_core::money::Money;
use shop_core::pagination::IndexQuery;
use shop_core::{conditional, Upstream};

use super::{id_key, status, OrdersTable, DB};
use crate::model::{Order, OrderStatus, PaymentStatus, OPEN_PAYMENT_INDEX, PAYMENT_DUE};

fn pay(s: PaymentStatus) -> AttributeValue {
    AttributeValue::S(s.as_str().to_owned())
}

fn money(m: Money) -> AttributeValue {
    // The stored form of Money (a JSON number with at most two decimals), as serde writes it.
    AttributeValue::N(format!("{}.{:02}", m.cents() / 100, m.cents() % 100))
}

/// Whether a transaction was cancelled, and so not applied (a condition or a conflict).
fn cancelled<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("TransactionCanceledException")
}

impl OrdersTable {
    /// `payment.status`: `from -> to` while the order is `seen`; drops `paymentDue` when `to`
    /// leaves no hold open (`authorized` keeps it: the capture or void is still due).
    pub async fn move_payment(
        &self,
        id: &str,
        seen: OrderStatus,
        from: PaymentStatus,
        to: PaymentStatus,
    ) -> Result<bool, Upstream> {
        let update = if to.is_open() {
            "SET payment.#s = :to, updatedAt = :now"
        } else {
            "SET payment.#s = :to, updatedAt = :now REMOVE paymentDue"
        };
        let moved = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression(update)
            .condition_expression("#s = :seen AND payment.#s = :from")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":seen", status(seen))
            .expression_attribute_values(":from", pay(from))
            .expression_attribute_values(":to", pay(to))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .send()
            .await;
        Ok(conditional(moved)?.is_some())
    }

    /// Nothing is owed any more (the order and the provider agree): `paymentDue` goes.
    pub async fn close_payment(&self, id: &str) -> Result<(), Upstream> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression("REMOVE paymentDue")
            .condition_expression("attribute_exists(id)")
            .send()
            .await
            .map(|_| ())
            .or_else(|e| conditional::<(), _>(Err(e)).map(|_| ()))
    }

    /// A refund of `amount` on top of `before` (refunded so far), with the lines it covers;
    /// `refunded` (and no more `paymentDue`) once the whole amount is back. `false` when
    /// another refund was recorded meanwhile.
    pub async fn record_refund(
        &self,
        order: &Order,
        before: Money,
        after: Money,
        lines: &[usize],
    ) -> Result<bool, Upstream> {
        let Some(p) = &order.payment else {
            return Ok(false);
        };
        let full = after >= p.amount;
        let update = if full {
            "SET payment.refunded = :after, payment.refundedLines = list_append(if_not_exists(payment.refundedLines, :none), :lines), payment.#s = :refunded, updatedAt = :now REMOVE paymentDue"
        } else {
            "SET payment.refunded = :after, payment.refundedLines = list_append(if_not_exists(payment.refundedLines, :none), :lines), updatedAt = :now"
        };
        let mut req = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(&order.id)))
            .update_expression(update)
            .condition_expression(
                "payment.#s = :captured AND (attribute_not_exists(payment.refunded) OR payment.refunded = :before)",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":captured", pay(PaymentStatus::Captured))
            .expression_attribute_values(":before", money(before))
            .expression_attribute_values(":after", money(after))
            .expression_attribute_values(":none", AttributeValue::L(vec![]))
            .expression_attribute_values(
                ":lines",
                AttributeValue::L(lines.iter().map(|l| AttributeValue::N(l.to_string())).collect()),
            )
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()));
        if full {
            req = req.expression_attribute_values(":refunded", pay(PaymentStatus::Refunded));
        }
        Ok(conditional(req.send().await)?.is_some())
    }

    /// `pending -> cancelled`: no stock was taken, the hold is voided next (`paymentDue` stays).
    pub async fn cancel_pending(&self, id: &str) -> Result<bool, Upstream> {
        let cancelled = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression("SET #s = :cancelled, updatedAt = :now")
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":cancelled", status(OrderStatus::Cancelled))
            .expression_attribute_values(":pending", status(OrderStatus::Pending))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .send()
            .await;
        Ok(conditional(cancelled)?.is_some())
    }

    /// `shipping -> cancelled` and every line's stock back, in one transaction: the stock comes
    /// back exactly once, with the status change (the condition on `shipping` makes a repeat a
    /// no-op; the SDK's own client token covers its retries of one call, where a fixed token of
    /// ours would make DynamoDB refuse our next round's new `updatedAt` as a parameter mismatch). A paid order becomes due again (its refund).
    /// `false` when the order is no longer `shipping`.
    pub async fn cancel_reserved(&self, order: &Order, products_table: &str) -> Result<bool, Upstream> {
        let now = AttributeValue::S(shop_core::time::now());
        let paid = order.payment.is_some();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(id_key(&order.id)))
            .update_expression(if paid {
                "SET #s = :cancelled, updatedAt = :now, paymentDue = :due"
            } else {
                "SET #s = :cancelled, updatedAt = :now"
            })
            .condition_expression("#s = :shipping")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":cancelled", status(OrderStatus::Cancelled))
            .expression_attribute_values(":shipping", status(OrderStatus::Shipping))
            .expression_attribute_values(":now", now);
        if paid {
            update = update.expression_attribute_values(":due", AttributeValue::S(PAYMENT_DUE.to_owned()));
        }
        let mut items = vec![TransactWriteItem::builder()
            .update(update.build().map_err(|e| Upstream::internal(DB, e.to_string()))?)
            .build()];
        for line in &order.items {
            let restock = Update::builder()
                .table_name(products_table)
                .set_key(Some(id_key(&line.product_id)))
                .update_expression("SET quantity = quantity + :q")
                .condition_expression("attribute_exists(id)")
                .expression_attribute_values(":q", AttributeValue::N(line.quantity.to_string()))
                .build()
                .map_err(|e| Upstream::internal(DB, e.to_string()))?;
            items.push(TransactWriteItem::builder().update(restock).build());
        }
        let done = self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if cancelled(&e) => Ok(false),
            Err(e) => Err(Upstream::new(DB, e)),
        }
    }

    /// After the customer finished the authorization: `action_required -> authorized` while the
    /// order is pending.
    pub async fn authorized_after_action(&self, id: &str) -> Result<bool, Upstream> {
        self.move_payment(
            id,
            OrderStatus::Pending,
            PaymentStatus::ActionRequired,
            PaymentStatus::Authorized,
        )
        .await
    }

    /// The authorization never completed: the payment `failed`, the pending order `failed`.
    pub async fn payment_never_completed(&self, id: &str) -> Result<bool, Upstream> {
        let failed = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression("SET #s = :failed, payment.#s = :pfailed, updatedAt = :now REMOVE paymentDue")
            .condition_expression("#s = :pending AND payment.#s = :action")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", status(OrderStatus::Failed))
            .expression_attribute_values(":pending", status(OrderStatus::Pending))
            .expression_attribute_values(":pfailed", pay(PaymentStatus::Failed))
            .expression_attribute_values(":action", pay(PaymentStatus::ActionRequired))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .send()
            .await;
        Ok(conditional(failed)?.is_some())
    }

    /// Records provider event `event_id` on the order once (with the dispute it reports, if
    /// any); `false` when this event was recorded before (a replay) or the order is unpaid.
    pub async fn record_event(&self, id: &str, event_id: &str, disputed: bool) -> Result<bool, Upstream> {
        let update = if disputed {
            "SET payment.disputed = :t, updatedAt = :now ADD paymentEvents :e"
        } else {
            "SET updatedAt = :now ADD paymentEvents :e"
        };
        let mut req = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression(update)
            .condition_expression("attribute_exists(payment) AND NOT contains(paymentEvents, :id)")
            .expression_attribute_values(":e", AttributeValue::Ss(vec![event_id.to_owned()]))
            .expression_attribute_values(":id", AttributeValue::S(event_id.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()));
        if disputed {
            req = req.expression_attribute_values(":t", AttributeValue::Bool(true));
        }
        Ok(conditional(req.send().await)?.is_some())
    }

    /// Forgets a recorded event whose effect failed, so the provider's retry acts on it.
    pub async fn forget_event(&self, id: &str, event_id: &str) -> Result<(), Upstream> {
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression("DELETE paymentEvents :e")
            .condition_expression("attribute_exists(id)")
            .expression_attribute_values(":e", AttributeValue::Ss(vec![event_id.to_owned()]))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| conditional::<(), _>(Err(e)).map(|_| ()))
    }

    /// Ids of the orders whose money is still to move, created before `cutoff` (from the sparse
    /// keys-only index), at most `max`; and how many index entries were read.
    pub async fn ids_with_open_payment(&self, cutoff: &str, max: usize) -> Result<(Vec<String>, usize), Upstream> {
        let q = IndexQuery {
            table: &self.table,
            index: OPEN_PAYMENT_INDEX,
            pk_attr: "paymentDue",
            pk_value: PAYMENT_DUE.to_owned(),
            newest_first: false,
            before: Some(("createdAt", cutoff.to_owned())),
        };
        self.ids_in(&q, max).await
    }
}
