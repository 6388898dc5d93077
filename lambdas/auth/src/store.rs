//! The Users table: one record per Cognito user, keyed by its `sub`, findable by email, and one
//! claim item per email that a confirmed account holds.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};
use shop_core::dynamo::{self, key};
use shop_core::Upstream;

use crate::model::User;

/// GSI on `email` and `createdAt` (projection: keys + `username`): an email's sign-ups, newest
/// first. Only confirmed accounts claim an email (see [`Users::claim_email`]); unconfirmed ones
/// share it.
pub const EMAIL_INDEX: &str = "byEmail";
const KEY: &str = "userId";
const DB: &str = "dynamodb";

/// How a claim went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This call wrote it: undo it with [`Users::release_email`] if the confirmation then fails.
    Made,
    /// The account already held it (a repeated confirmation).
    AlreadyMine,
    /// Another confirmed account holds the email.
    Taken,
}

/// The item that claims a (lower-cased) email for the one confirmed account that has it. It has
/// no `email` attribute, so the byEmail index never lists it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailClaim {
    user_id: String,
    username: String,
    #[serde(default)]
    claimed_at: String,
}

fn claim_id(email: &str) -> String {
    format!("email#{email}")
}

/// The Users table.
#[derive(Clone, Debug)]
pub struct Users {
    pub db: Client,
    pub table: String,
}

impl Users {
    pub fn new(db: Client, table: String) -> Self {
        Self { db, table }
    }

    /// Writes the record unless one exists for this `sub`. Answers whether it wrote it.
    pub async fn put_if_absent(&self, user: &User) -> Result<bool, Upstream> {
        dynamo::put_if_absent(&self.db, &self.table, KEY, user).await
    }

    /// The sign-ups with this (canonical) email, as (userId, username), at most `limit` of them.
    async fn with_email(&self, email: &str, limit: Option<i32>) -> Result<Vec<(String, String)>, Upstream> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(EMAIL_INDEX)
            .key_condition_expression("email = :e")
            .expression_attribute_values(":e", AttributeValue::S(email.to_owned()))
            .set_limit(limit)
            .send()
            .await
            .map_err(|e| Upstream::new(DB, e))?;
        let field = |item: &std::collections::HashMap<String, AttributeValue>, k: &str| {
            item.get(k).and_then(|v| v.as_s().ok()).cloned()
        };
        Ok(out
            .items()
            .iter()
            .filter_map(|i| Some((field(i, KEY)?, field(i, "username")?)))
            .collect())
    }

    /// The username of the one sign-up with this (canonical) email besides `owner` (the confirmed
    /// account holding it); `None` when there is none, or more than one: an email then names no
    /// account (see the auth handlers' `resolve`).
    pub async fn only_other_username(&self, email: &str, owner: Option<&str>) -> Result<Option<String>, Upstream> {
        // Two names besides the owner are enough to know there is more than one.
        let found = self.with_email(email, Some(3)).await?;
        let mut others = found.into_iter().map(|(_, u)| u).filter(|u| Some(u.as_str()) != owner);
        match (others.next(), others.next()) {
            (Some(only), None) => Ok(Some(only)),
            _ => Ok(None),
        }
    }

    /// Deletes the records of `username` that have `email` (an account gone from the pool): its
    /// sign-up would otherwise still count as one holding the address.
    pub async fn forget(&self, email: &str, username: &str) -> Result<(), Upstream> {
        for (id, name) in self.with_email(email, None).await? {
            if name == username {
                self.delete(&id).await?;
            }
        }
        Ok(())
    }

    /// Deletes the record of a `sub` (deleting a missing one succeeds).
    pub async fn delete(&self, user_id: &str) -> Result<(), Upstream> {
        self.db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY, user_id)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Upstream::new(DB, e))
    }

    /// The record of a `sub`, if any (a consistent read).
    pub async fn get(&self, user_id: &str) -> Result<Option<User>, Upstream> {
        dynamo::get(&self.db, &self.table, key(KEY, user_id)).await
    }

    /// Claims `email` for `username`, by a conditional write: of any number of concurrent claims
    /// for one email exactly one is `Made`.
    pub async fn claim_email(&self, email: &str, username: &str) -> Result<Claim, Upstream> {
        let claim = EmailClaim {
            user_id: claim_id(email),
            username: username.to_owned(),
            claimed_at: shop_core::time::now(),
        };
        if dynamo::put_if_absent(&self.db, &self.table, KEY, &claim).await? {
            return Ok(Claim::Made);
        }
        Ok(match self.email_owner(email).await? {
            Some(owner) if owner == username => Claim::AlreadyMine,
            _ => Claim::Taken,
        })
    }

    /// Undoes a claim this account made (only its own).
    pub async fn release_email(&self, email: &str, username: &str) -> Result<(), Upstream> {
        let deleted = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY, claim_id(email))))
            .condition_expression("username = :u")
            .expression_attribute_values(":u", AttributeValue::S(username.to_owned()))
            .send()
            .await;
        shop_core::conditional(deleted)?;
        Ok(())
    }

    /// The username of the confirmed account that holds `email`, read consistently.
    pub async fn email_owner(&self, email: &str) -> Result<Option<String>, Upstream> {
        let claim: Option<EmailClaim> = dynamo::get(&self.db, &self.table, key(KEY, claim_id(email))).await?;
        Ok(claim.map(|c| c.username))
    }
}
