//! The Users table: one record per Cognito user, keyed by its `sub`, findable by email.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};
use shop_core::Upstream;

use crate::error::Error;

/// GSI on `email` (projection: keys + `username`), used to resolve an email to a username.
pub const EMAIL_INDEX: &str = "byEmail";
const SERVICE: &str = "dynamodb";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: String,
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub created_at: String,
}

/// Writes the record unless one exists for this `sub`. Answers whether it wrote it.
pub async fn put_if_absent(db: &Client, table: &str, user: &User) -> Result<bool, Upstream> {
    let item = serde_dynamo::to_item(user).map_err(|e| Upstream::internal(SERVICE, e.to_string()))?;
    match db
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(userId)")
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(Upstream::new(SERVICE, e)),
    }
}

/// The username registered with this (lower-cased) email, if any.
pub async fn username_for_email(db: &Client, table: &str, email: &str) -> Result<Option<String>, Error> {
    let out = db
        .query()
        .table_name(table)
        .index_name(EMAIL_INDEX)
        .key_condition_expression("email = :e")
        .expression_attribute_values(":e", AttributeValue::S(email.to_owned()))
        .limit(1)
        .send()
        .await
        .map_err(|e| Upstream::new(SERVICE, e))?;
    Ok(out
        .items()
        .first()
        .and_then(|i| i.get("username"))
        .and_then(|v| v.as_s().ok())
        .cloned())
}

/// The record of a `sub`, if any.
pub async fn get(db: &Client, table: &str, user_id: &str) -> Result<Option<User>, Upstream> {
    let out = db
        .get_item()
        .table_name(table)
        .key("userId", AttributeValue::S(user_id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Upstream::new(SERVICE, e))?;
    out.item
        .map(|i| serde_dynamo::from_item(i).map_err(|e| Upstream::internal(SERVICE, e.to_string())))
        .transpose()
}
