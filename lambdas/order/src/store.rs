//! The Products reads of `create-order`: every product of a cart in one round trip.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use shop_core::Upstream;

use crate::model::ProductStock;

const DB: &str = "dynamodb";
/// BatchGetItem may leave keys unprocessed under load; we ask again this many times, with
/// growing pauses, before answering 503.
const BATCH_ATTEMPTS: u32 = 5;

/// The products with these ids (at most 100), read consistently; an id with no product is absent.
pub async fn products(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    ids: &[&str],
) -> Result<HashMap<String, ProductStock>, Upstream> {
    let keys = ids
        .iter()
        .map(|id| [("id".to_owned(), AttributeValue::S((*id).to_owned()))].into())
        .collect();
    let mut pending = Some(
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .projection_expression("id, productName, productPrice, quantity, isApproved")
            .build()
            .map_err(|e| Upstream::internal(DB, e.to_string()))?,
    );
    let mut found = HashMap::with_capacity(ids.len());
    for attempt in 0..BATCH_ATTEMPTS {
        let Some(request) = pending.take() else { break };
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
        }
        let out = db
            .batch_get_item()
            .request_items(table, request)
            .send()
            .await
            .map_err(|e| Upstream::new(DB, e))?;
        for item in out.responses.and_then(|mut r| r.remove(table)).unwrap_or_default() {
            let p: ProductStock = serde_dynamo::from_item(item)
                .map_err(|e| Upstream::internal(DB, format!("unreadable product: {e}")))?;
            found.insert(p.id.clone(), p);
        }
        pending = out
            .unprocessed_keys
            .and_then(|mut u| u.remove(table))
            .filter(|k| !k.keys.is_empty());
    }
    match pending {
        None => Ok(found),
        Some(_) => Err(Upstream::internal(DB, "products left unprocessed after every retry")),
    }
}
