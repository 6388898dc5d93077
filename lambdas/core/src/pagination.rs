//! Pagination: `limit` and an opaque `nextToken` that carries DynamoDB's `LastEvaluatedKey`.
//!
//! The token is base64url of a small JSON object of the key's attributes. Every key attribute of
//! our tables and indexes is a string. A token that does not decode, names other attributes than
//! the index's key, gives one of them another type, or starts in another partition than the query
//! is a 400: DynamoDB would reject such a start key (`ValidationException`, a 5xx for the client),
//! although the emulator accepts it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::http::{query, Request};

pub type Key = HashMap<String, AttributeValue>;

/// One page request: how many items, and where to start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    pub limit: i32,
    pub start: Option<Key>,
}

/// Reads `limit` (1..=`max`, default `default`) and `nextToken` whose key must have exactly
/// `key_attrs`, all strings, and lie in the partition `q` reads.
pub fn page_request(
    req: &Request,
    default: i32,
    max: i32,
    key_attrs: &[&str],
    q: &IndexQuery<'_>,
) -> Result<PageRequest, RequestError> {
    let limit = match query(req, "limit") {
        None => default,
        Some(raw) => match raw.trim().parse::<i32>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(RequestError::InvalidQuery {
                    name: "limit",
                    reason: format!("must be an integer between 1 and {max}"),
                })
            }
        },
    };
    let start = match query(req, "nextToken").as_deref() {
        None => None,
        Some("") => None,
        Some(t) => {
            let key = decode_token(t, key_attrs)?;
            if key.get(q.pk_attr) != Some(&AttributeValue::S(q.pk_value.clone())) {
                return Err(RequestError::BadPageToken);
            }
            Some(key)
        }
    };
    Ok(PageRequest { limit, start })
}

/// The token for the next page, `None` on the last page.
pub fn encode_token(last: Option<&Key>) -> Option<String> {
    let last = last.filter(|k| !k.is_empty())?;
    let mut m = Map::new();
    for (k, v) in last {
        let AttributeValue::S(s) = v else {
            return None;
        };
        let tagged = serde_json::json!({ "S": s });
        m.insert(k.clone(), tagged);
    }
    let json = Value::Object(m).to_string();
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a token, accepting only the expected key attributes, each a non-empty string.
pub fn decode_token(token: &str, key_attrs: &[&str]) -> Result<Key, RequestError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim().trim_end_matches('='))
        .map_err(|_| RequestError::BadPageToken)?;
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(RequestError::BadPageToken);
    };
    if m.len() != key_attrs.len() || !key_attrs.iter().all(|a| m.contains_key(*a)) {
        return Err(RequestError::BadPageToken);
    }
    let mut key = Key::new();
    for (k, v) in m {
        let value = match v.as_object().map(|o| (o.len(), o.get("S"))) {
            Some((1, Some(Value::String(s)))) if !s.is_empty() && s.len() <= 1024 => AttributeValue::S(s.clone()),
            _ => return Err(RequestError::BadPageToken),
        };
        key.insert(k, value);
    }
    Ok(key)
}

/// A query on one partition of an index, newest (highest sort key) first by default.
#[derive(Debug, Clone)]
pub struct IndexQuery<'a> {
    pub table: &'a str,
    pub index: &'a str,
    pub pk_attr: &'a str,
    pub pk_value: String,
    pub newest_first: bool,
    /// Only the items whose sort key (this attribute) is before this value.
    pub before: Option<(&'a str, String)>,
}

/// One page of a query as DynamoDB answers it: the items, the key to continue from, and how many
/// items it read.
#[derive(Debug, Clone, Default)]
pub struct RawPage {
    pub items: Vec<Key>,
    pub last_key: Option<Key>,
    pub items_read: usize,
}

/// Reads one page of `q`: at most `limit` items from `start`. Every index pager (listings,
/// cleanups, the reconciler) reads through here.
pub async fn query_index(
    db: &aws_sdk_dynamodb::Client,
    q: &IndexQuery<'_>,
    limit: i32,
    start: Option<Key>,
) -> Result<RawPage, crate::Upstream> {
    let mut query = db
        .query()
        .table_name(q.table)
        .index_name(q.index)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", q.pk_attr)
        .expression_attribute_values(":pk", AttributeValue::S(q.pk_value.clone()))
        .scan_index_forward(!q.newest_first)
        .limit(limit)
        .set_exclusive_start_key(start);
    if let Some((attr, bound)) = &q.before {
        query = query
            .key_condition_expression("#pk = :pk AND #sk < :before")
            .expression_attribute_names("#sk", *attr)
            .expression_attribute_values(":before", AttributeValue::S(bound.clone()));
    }
    let out = query
        .send()
        .await
        .map_err(|e| crate::Upstream::new(crate::error::service::DYNAMODB, e))?;
    Ok(RawPage {
        items_read: usize::try_from(out.scanned_count()).unwrap_or(0),
        last_key: out.last_evaluated_key.filter(|k| !k.is_empty()),
        items: out.items.unwrap_or_default(),
    })
}

/// One page of items, the token for the next, and how many items DynamoDB read for it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
    pub items_read: usize,
}

/// Reads one page of `q`: cost grows with the page, not with the table.
pub async fn query_page<T: serde::de::DeserializeOwned>(
    db: &aws_sdk_dynamodb::Client,
    q: &IndexQuery<'_>,
    page: PageRequest,
) -> Result<Page<T>, crate::Upstream> {
    let raw = query_index(db, q, page.limit, page.start).await?;
    let next_token = encode_token(raw.last_key.as_ref());
    let items_read = raw.items_read;
    let items = raw
        .items
        .into_iter()
        .map(crate::dynamo::from_item)
        .collect::<Result<Vec<T>, _>>()?;
    Ok(Page {
        items,
        next_token,
        items_read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_the_key() {
        let mut key = Key::new();
        key.insert("id".into(), AttributeValue::S("abc".into()));
        key.insert("createdAt".into(), AttributeValue::S("2026-11-28T04:00:00Z".into()));
        let token = encode_token(Some(&key)).unwrap();
        assert_eq!(decode_token(&token, &["id", "createdAt"]).unwrap(), key);
    }

    fn raw(json: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    #[test]
    fn a_token_with_the_right_names_but_wrong_types_is_a_bad_page_token() {
        // DynamoDB answers ValidationException for each of these start keys; the emulator accepts them.
        for bad in [
            serde_json::json!({"id": {"N": "5"}, "createdAt": {"S": "x"}}),
            serde_json::json!({"id": {"B": "AAAA"}, "createdAt": {"S": "x"}}),
            serde_json::json!({"id": {"S": 5}, "createdAt": {"S": "x"}}),
            serde_json::json!({"id": {"S": "a", "N": "1"}, "createdAt": {"S": "x"}}),
            serde_json::json!({"id": "a", "createdAt": {"S": "x"}}),
            serde_json::json!({"id": {"S": ""}, "createdAt": {"S": "x"}}),
            serde_json::json!({"id": {"S": "a".repeat(1025)}, "createdAt": {"S": "x"}}),
        ] {
            assert_eq!(
                decode_token(&raw(bad.clone()), &["id", "createdAt"]).unwrap_err(),
                RequestError::BadPageToken,
                "{bad}"
            );
        }
    }

    #[test]
    fn garbage_or_foreign_tokens_are_bad_page_tokens() {
        let mut key = Key::new();
        key.insert("other".into(), AttributeValue::S("abc".into()));
        let foreign = encode_token(Some(&key)).unwrap();
        for bad in ["!!!", "e30", foreign.as_str(), "bm90IGpzb24"] {
            assert_eq!(
                decode_token(bad, &["id"]).unwrap_err(),
                RequestError::BadPageToken,
                "{bad}"
            );
        }
    }

    #[test]
    fn no_last_key_means_no_token() {
        assert_eq!(encode_token(None), None);
        assert_eq!(encode_token(Some(&Key::new())), None);
    }
}
