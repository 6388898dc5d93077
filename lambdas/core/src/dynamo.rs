//! The DynamoDB pieces every store is written with: the item codec under our error type, the
//! conditional put of a new item and the consistent read by key.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Upstream;

/// The GSI (`status`, `createdAt` or `uploadedAt`) the catalog tables list and clean up through,
/// and the Orders table's reconciler reads (`lambdas/tables.json` declares each).
pub const STATUS_INDEX: &str = "byStatus";

/// A DynamoDB item (or key).
pub type Item = HashMap<String, AttributeValue>;

const DB: &str = "dynamodb";

/// `value` as an item.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, Upstream> {
    serde_dynamo::to_item(value).map_err(|e| Upstream::internal(DB, e.to_string()))
}

/// An item read back as `T`; an item of another shape is our fault, never the caller's (a 503).
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Upstream> {
    serde_dynamo::from_item(item).map_err(|e| Upstream::internal(DB, format!("unreadable item: {e}")))
}

/// The key `{attr: value}` of a table whose partition key is a string.
pub fn key(attr: &str, value: impl Into<String>) -> Item {
    [(attr.to_owned(), AttributeValue::S(value.into()))].into()
}

/// Writes `value` unless an item with the same `key_attr` exists: `false` when one does (the
/// existing item is left as it is).
pub async fn put_if_absent<T: Serialize>(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    key_attr: &str,
    value: &T,
) -> Result<bool, Upstream> {
    let put = db
        .put_item()
        .table_name(table)
        .set_item(Some(to_item(value)?))
        .condition_expression("attribute_not_exists(#k)")
        .expression_attribute_names("#k", key_attr)
        .send()
        .await;
    Ok(crate::conditional(put)?.is_some())
}

/// The item at `key` as stored now (a strongly consistent read), if there is one.
pub async fn get<T: DeserializeOwned>(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    key: Item,
) -> Result<Option<T>, Upstream> {
    let out = db
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Upstream::new(DB, e))?;
    out.item.map(from_item).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Thing {
        id: String,
        count: u32,
    }

    #[test]
    fn an_item_reads_back_as_written_and_a_foreign_shape_is_a_503_not_a_4xx() {
        let t = Thing {
            id: "a".into(),
            count: 3,
        };
        let item = to_item(&t).unwrap();
        assert_eq!(item.get("id"), Some(&AttributeValue::S("a".into())));
        assert_eq!(from_item::<Thing>(item).unwrap(), t);
        let err = from_item::<Thing>(key("id", "a")).unwrap_err();
        assert_eq!(crate::ApiError::status(&err), 503);
    }
}
