//! The Users table: one record per Cognito user, keyed by its `sub`, findable by email.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};
use shop_core::Upstream;

use crate::error::Error;

/// GSI on `email` and `createdAt` (projection: keys + `username`): an email's sign-ups, newest
/// first. Only confirmed accounts claim an email (see [`claim_email`]); unconfirmed ones share it.
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
    let put = db
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(userId)")
        .send()
        .await;
    Ok(shop_core::conditional(put)?.is_some())
}

/// The username of the newest sign-up with this (lower-cased) email, if any.
pub async fn username_for_email(db: &Client, table: &str, email: &str) -> Result<Option<String>, Error> {
    let out = db
        .query()
        .table_name(table)
        .index_name(EMAIL_INDEX)
        .key_condition_expression("email = :e")
        .expression_attribute_values(":e", AttributeValue::S(email.to_owned()))
        .scan_index_forward(false)
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

/// Deletes the record of a `sub` (deleting a missing one succeeds).
pub async fn delete(db: &Client, table: &str, user_id: &str) -> Result<(), Upstream> {
    db.delete_item()
        .table_name(table)
        .key("userId", AttributeValue::S(user_id.to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Upstream::new(SERVICE, e))
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

/// The key of the item that claims a (lower-cased) email for the one confirmed account that has it.
fn claim_key(email: &str) -> AttributeValue {
    AttributeValue::S(format!("email#{email}"))
}

/// How a claim went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This call wrote it: undo it with [`release_email`] if the confirmation then fails.
    Made,
    /// The account already held it (a repeated confirmation).
    AlreadyMine,
    /// Another confirmed account holds the email.
    Taken,
}

/// Claims `email` for `username`, by a conditional write: of any number of concurrent claims for
/// one email exactly one is `Made`. The claim item has no `email` attribute, so the byEmail index
/// never lists it.
pub async fn claim_email(db: &Client, table: &str, email: &str, username: &str) -> Result<Claim, Upstream> {
    let put = db
        .put_item()
        .table_name(table)
        .item("userId", claim_key(email))
        .item("username", AttributeValue::S(username.to_owned()))
        .item("claimedAt", AttributeValue::S(shop_core::time::now()))
        .condition_expression("attribute_not_exists(userId)")
        .send()
        .await;
    if shop_core::conditional(put)?.is_some() {
        return Ok(Claim::Made);
    }
    Ok(match email_owner(db, table, email).await? {
        Some(owner) if owner == username => Claim::AlreadyMine,
        _ => Claim::Taken,
    })
}

/// Undoes a claim this account made (only its own).
pub async fn release_email(db: &Client, table: &str, email: &str, username: &str) -> Result<(), Upstream> {
    let deleted = db
        .delete_item()
        .table_name(table)
        .key("userId", claim_key(email))
        .condition_expression("username = :u")
        .expression_attribute_values(":u", AttributeValue::S(username.to_owned()))
        .send()
        .await;
    shop_core::conditional(deleted)?;
    Ok(())
}

/// The username of the confirmed account that holds `email`, read consistently.
pub async fn email_owner(db: &Client, table: &str, email: &str) -> Result<Option<String>, Upstream> {
    let out = db
        .get_item()
        .table_name(table)
        .key("userId", claim_key(email))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Upstream::new(SERVICE, e))?;
    Ok(out
        .item
        .and_then(|i| i.get("username").and_then(|v| v.as_s().ok()).cloned()))
}
