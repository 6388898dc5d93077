//! Every AWS operation of the order service, one function or method each, named for what it does:
//! the attribute names, conditions and builder chains live here and nowhere else. This file: the
//! tables; `messages`: the queues and the workflow, each a store that owns its
//! client and resource.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use shop_core::dynamo::{self, Item};
use shop_core::pagination::{query_index, query_page, IndexQuery, Page, PageRequest};
use shop_core::{conditional, Upstream};

use crate::model::{Order, OrderStatus, ProductStock, CUSTOMER_INDEX, STATUS_INDEX};

const DB: &str = "dynamodb";
/// BatchGetItem may leave keys unprocessed under load; we ask again this many times, with
/// growing pauses, before answering 503.
const BATCH_ATTEMPTS: u32 = 5;

fn id_key(id: &str) -> Item {
    dynamo::key("id", id)
}

fn status(s: OrderStatus) -> AttributeValue {
    AttributeValue::S(s.as_str().to_owned())
}

/// The Products table as the order service reads it: price and stock at order time.
#[derive(Clone, Debug)]
pub struct Stock {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl Stock {
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// The products with these ids (at most 100), read consistently; an id with no product is absent.
    pub async fn products(&self, ids: &[&str]) -> Result<HashMap<String, ProductStock>, Upstream> {
        let (db, table) = (&self.db, self.table.as_str());
        let keys = ids.iter().map(|id| id_key(id)).collect();
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .projection_expression("id, productName, productPrice, quantity, isApproved")
            .build()
            .map_err(|e| Upstream::internal(DB, e.to_string()))?;
        let items = read_all(request, |keys| async move {
            let out = db
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await
                .map_err(|e| Upstream::new(DB, e))?;
            let items = out.responses.and_then(|mut r| r.remove(table)).unwrap_or_default();
            Ok((items, out.unprocessed_keys.and_then(|mut u| u.remove(table))))
        })
        .await?;
        let mut found = HashMap::with_capacity(items.len());
        for item in items {
            let p: ProductStock = dynamo::from_item(item)?;
            found.insert(p.id.clone(), p);
        }
        Ok(found)
    }
}

/// One BatchGetItem round after another until no key is left unprocessed. DynamoDB may answer
/// only part of a batch under load (moto never does), so the rest is asked again after a growing
/// pause, at most [`BATCH_ATTEMPTS`] rounds in all; then 503.
async fn read_all<F, Fut>(request: KeysAndAttributes, mut round: F) -> Result<Vec<Item>, Upstream>
where
    F: FnMut(KeysAndAttributes) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<Item>, Option<KeysAndAttributes>), Upstream>>,
{
    let mut pending = Some(request);
    let mut items = Vec::new();
    for attempt in 0..BATCH_ATTEMPTS {
        let Some(keys) = pending.take() else { break };
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
        }
        let (answered, unprocessed) = round(keys).await?;
        items.extend(answered);
        pending = unprocessed.filter(|k| !k.keys.is_empty());
    }
    match pending {
        None => Ok(items),
        Some(_) => Err(Upstream::internal(DB, "products left unprocessed after every retry")),
    }
}

/// The Orders table: its client and name, one method per operation.
#[derive(Clone, Debug)]
pub struct OrdersTable {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

/// An order the reconciler claimed, with how many times it has been re-driven (this claim included).
pub struct Claimed {
    pub order: Order,
    pub redrives: u64,
}

impl OrdersTable {
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// The order, read consistently.
    pub async fn get(&self, id: &str) -> Result<Option<Order>, Upstream> {
        dynamo::get(&self.db, &self.table, id_key(id)).await
    }

    /// Writes a new order; `false` when one with its id exists (an idempotent replay). A retried
    /// request can meet the workflow's transaction on its order (`TransactionConflictException`):
    /// it is tried again after a moment.
    pub async fn put_new(&self, order: &Order) -> Result<bool, Upstream> {
        let mut round = 0;
        loop {
            match dynamo::put_if_absent(&self.db, &self.table, "id", order).await {
                Err(u) if u.is_transaction_conflict() && round < 3 => round += 1,
                other => return other,
            }
            crate::pause_before(round).await;
        }
    }

    /// The query of `customer`'s orders, newest first.
    pub fn of_customer(&self, customer: String) -> IndexQuery<'_> {
        IndexQuery {
            table: &self.table,
            index: CUSTOMER_INDEX,
            pk_attr: "customerId",
            pk_value: customer,
            newest_first: true,
            before: None,
        }
    }

    /// One page of `q`, an index query of this table.
    pub async fn page(&self, q: &IndexQuery<'_>, page: PageRequest) -> Result<Page<Order>, Upstream> {
        query_page(&self.db, q, page).await
    }

    /// Deletes the order while it is still pending; `false` when it is not (or not there).
    pub async fn withdraw_pending(&self, id: &str) -> Result<bool, Upstream> {
        let deleted = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", status(OrderStatus::Pending))
            .send()
            .await;
        Ok(conditional(deleted)?.is_some())
    }

    /// Ids of the orders in `wanted` status (created before `cutoff`, when given), from the
    /// keys-only status index, at most `max`; and how many index entries were read.
    pub async fn ids_in_status(
        &self,
        wanted: OrderStatus,
        cutoff: Option<&str>,
        max: usize,
    ) -> Result<(Vec<String>, usize), Upstream> {
        let q = IndexQuery {
            table: &self.table,
            index: STATUS_INDEX,
            pk_attr: "status",
            pk_value: wanted.as_str().to_owned(),
            newest_first: false,
            before: cutoff.map(|c| ("createdAt", c.to_owned())),
        };
        self.ids_in(&q, max).await
    }

    /// Ids read from a keys-only index query, page after page, at most `max`; and how many index
    /// entries were read.
    async fn ids_in(&self, q: &IndexQuery<'_>, max: usize) -> Result<(Vec<String>, usize), Upstream> {
        let mut ids = Vec::new();
        let mut read = 0;
        let mut start = None;
        loop {
            let limit = i32::try_from((max - ids.len()).min(100)).unwrap_or(100);
            let page = query_index(&self.db, q, limit, start.take()).await?;
            read += page.items_read;
            ids.extend(page.items.iter().filter_map(|i| i.get("id")?.as_s().ok().cloned()));
            match page.last_key {
                Some(k) if ids.len() < max => start = Some(k),
                _ => return Ok((ids, read)),
            }
        }
    }

    /// Claims a pending order for a re-drive: only while it is pending and not re-driven since
    /// `cutoff`, so one reconciler acts on it per period. `None` when the claim is not ours.
    pub async fn claim_for_redrive(&self, id: &str, cutoff: &str) -> Result<Option<Claimed>, Upstream> {
        let claimed = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression("SET redrives = if_not_exists(redrives, :zero) + :one, redrivenAt = :now")
            .condition_expression("#s = :pending AND (attribute_not_exists(redrivenAt) OR redrivenAt < :cutoff)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", status(OrderStatus::Pending))
            .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let Some(claimed) = conditional(claimed)? else {
            return Ok(None);
        };
        let item = claimed.attributes.unwrap_or_default();
        let redrives = match item.get("redrives") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().unwrap_or(u64::MAX),
            _ => u64::MAX,
        };
        Ok(Some(Claimed {
            order: dynamo::from_item(item)?,
            redrives,
        }))
    }

    /// `pending -> failed`; `false` when the order was decided meanwhile.
    pub async fn mark_failed(&self, id: &str) -> Result<bool, Upstream> {
        let marked = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression("SET #s = :failed, updatedAt = :now")
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", status(OrderStatus::Failed))
            .expression_attribute_values(":pending", status(OrderStatus::Pending))
            .expression_attribute_values(":now", AttributeValue::S(shop_core::time::now()))
            .send()
            .await;
        Ok(conditional(marked)?.is_some())
    }

    /// `failed -> pending` for an operator's re-run, re-drive count reset and the decider
    /// forgotten; `None` when the order left `failed` meanwhile.
    pub async fn reopen_failed(&self, id: &str) -> Result<Option<Order>, Upstream> {
        let now = shop_core::time::now();
        let reopened = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key(id)))
            .update_expression(
                "SET #s = :pending, updatedAt = :now, redrives = :zero, redrivenAt = :now REMOVE decidedBy",
            )
            .condition_expression("#s = :failed")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", status(OrderStatus::Pending))
            .expression_attribute_values(":failed", status(OrderStatus::Failed))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":now", AttributeValue::S(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        conditional(reopened)?
            .map(|r| dynamo::from_item(r.attributes.unwrap_or_default()))
            .transpose()
    }
}

mod messages;
mod payments;
pub use messages::{Queue, Started, Workflow};

#[cfg(test)]
mod tests;
