//! The Products table: its client and name, one method per operation.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use shop_core::cleanup::{Sweep, SweepReport};
use shop_core::dynamo::{self, key, Item};
use shop_core::images::attach_image;
use shop_core::pagination::{query_page, IndexQuery, Page, PageRequest};
use shop_core::Upstream;

use crate::model::{Product, Status, CATEGORY_INDEX};

const KEY: &str = "id";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Which products a listing reads, and the key attributes of its page tokens.
pub struct Listing<'a> {
    pub query: IndexQuery<'a>,
    pub page_key: &'static [&'static str],
}

#[derive(Clone, Debug)]
pub struct ProductsTable {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl ProductsTable {
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// Records a new product (its id is fresh: an existing one is a failure, not a conflict).
    pub async fn put_new(&self, product: &Product) -> Result<(), Upstream> {
        if dynamo::put_if_absent(&self.db, &self.table, KEY, product).await? {
            Ok(())
        } else {
            Err(Upstream::internal(
                shop_core::error::service::DYNAMODB,
                "a fresh product id already exists",
            ))
        }
    }

    /// Puts the product `id` waiting for the image `object_key` up for review, recording the ETag
    /// of its review copy: `false` when none waits for it (unknown product, repeated event).
    pub async fn image_arrived(&self, id: &str, object_key: &str, review_etag: String) -> Result<bool, Upstream> {
        let states = (Status::AwaitingImage.as_str(), Status::PendingReview.as_str());
        attach_image(
            &self.db,
            &self.table,
            key(KEY, id),
            object_key,
            &[("reviewEtag", review_etag)],
            states,
        )
        .await
    }

    /// Approved products, newest first: of one category (its sparse index), or all.
    pub fn approved(&self, category: Option<String>) -> Listing<'_> {
        let table = &self.table;
        match category {
            Some(c) => Listing {
                query: IndexQuery {
                    table,
                    index: CATEGORY_INDEX,
                    pk_attr: "approvedCategory",
                    pk_value: c,
                    newest_first: true,
                    before: None,
                },
                page_key: crate::model::CATEGORY_PAGE_KEY,
            },
            None => Listing {
                query: shop_core::catalog::Catalog::newest_in(table, Status::Approved.as_str()),
                page_key: crate::model::STATUS_PAGE_KEY,
            },
        }
    }

    /// The review queue: products with an image waiting for a decision, oldest first.
    pub fn pending(&self) -> Listing<'_> {
        let mut query = shop_core::catalog::Catalog::newest_in(&self.table, Status::PendingReview.as_str());
        query.newest_first = false;
        Listing {
            query,
            page_key: crate::model::STATUS_PAGE_KEY,
        }
    }

    /// One page of a listing.
    pub async fn page(&self, listing: &Listing<'_>, page: PageRequest) -> Result<Page<Product>, Upstream> {
        query_page(&self.db, &listing.query, page).await
    }

    /// The product as stored now (a consistent read).
    pub async fn current(&self, id: &str) -> Result<Option<Product>, Upstream> {
        dynamo::get(&self.db, &self.table, key(KEY, id)).await
    }

    /// Records the approval of the product whose checked image is `object_key`, published at
    /// `image_url`: the product as it was before, or `None` if it was rejected or deleted since.
    pub async fn approve(&self, id: &str, object_key: &str, image_url: String) -> Result<Option<Product>, Upstream> {
        self.decide(
            id,
            "SET isApproved = :yes, #s = :status, approvedCategory = category, imageUrl = :url, reviewedAt = :now REMOVE rejectionReason",
            "attribute_exists(uploadedAt) AND objectKey = :key",
            (true, Status::Approved),
            vec![(":url", s(image_url)), (":key", s(object_key))],
            ReturnValue::AllOld,
        )
        .await
    }

    /// Records the rejection of product `id` (off the listing, image fields cleared): the product
    /// as it is now, or `None` if there is no such product.
    pub async fn reject(&self, id: &str, reason: &str) -> Result<Option<Product>, Upstream> {
        self.decide(
            id,
            "SET isApproved = :yes, #s = :status, rejectionReason = :reason, reviewedAt = :now REMOVE approvedCategory, imageUrl, uploadedAt",
            "attribute_exists(id)",
            (false, Status::Rejected),
            vec![(":reason", s(reason))],
            ReturnValue::AllNew,
        )
        .await
    }

    /// An admin's decision on product `id`: `update` when `condition` holds (with `:yes`,
    /// `:status`, `:now` and `values` bound), answering the item as `returned`, or `None`.
    async fn decide(
        &self,
        id: &str,
        update: &str,
        condition: &str,
        (approved, status): (bool, Status),
        values: Vec<(&str, AttributeValue)>,
        returned: ReturnValue,
    ) -> Result<Option<Product>, Upstream> {
        let bound = [
            (":yes", AttributeValue::Bool(approved)),
            (":status", s(status.as_str())),
            (":now", s(shop_core::time::now())),
        ];
        let out = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(KEY, id)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#s", "status")
            .set_expression_attribute_values(Some(
                bound
                    .into_iter()
                    .chain(values)
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ))
            .return_values(returned)
            .send()
            .await;
        let item: Option<Item> = shop_core::conditional(out)?.map(|o| o.attributes.unwrap_or_default());
        item.map(dynamo::from_item).transpose()
    }

    /// Deletes the products older than `max_age` that never got an image.
    pub async fn delete_stale(&self, max_age: Duration) -> Result<SweepReport, Upstream> {
        let stale = Status::AwaitingImage.as_str();
        let stale = Sweep::by_status(&self.table, stale, shop_core::time::ago(max_age), &[KEY]);
        shop_core::cleanup::sweep(&self.db, &stale).await
    }
}
