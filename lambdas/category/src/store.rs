//! The Categories table: its client and name, one method per operation.

use std::time::Duration;

use shop_core::catalog::Catalog;
use shop_core::cleanup::{Sweep, SweepReport};
use shop_core::dynamo::{self, key};
use shop_core::images::attach_image;
use shop_core::pagination::{query_page, IndexQuery, Page, PageRequest};
use shop_core::Upstream;

use crate::model::{Category, Status};

const KEY: &str = "categoryName";

#[derive(Clone, Debug)]
pub struct CategoriesTable {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl CategoriesTable {
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// Records a new category: `false` when one of that name exists (it is left as it is).
    pub async fn put_new(&self, category: &Category) -> Result<bool, Upstream> {
        dynamo::put_if_absent(&self.db, &self.table, KEY, category).await
    }

    /// Completes the category that waits for exactly the image `object_key`: `false` when none
    /// waits (the event came again, or the category is gone or waits for another upload).
    pub async fn complete(&self, name: &str, object_key: &str, image_url: String) -> Result<bool, Upstream> {
        let states = (Status::AwaitingImage.as_str(), Status::Ready.as_str());
        let url = [("imageUrl", image_url)];
        attach_image(&self.db, &self.table, key(KEY, name), object_key, &url, states).await
    }

    /// Whether the category `name` is complete with the image `object_key` (a consistent read).
    pub async fn shows_image(&self, name: &str, object_key: &str) -> Result<bool, Upstream> {
        let now: Option<Category> = dynamo::get(&self.db, &self.table, key(KEY, name)).await?;
        Ok(now.is_some_and(|c| c.object_key == object_key && c.status == Status::Ready))
    }

    /// The listing's query: completed categories, newest first.
    pub fn listing(&self) -> IndexQuery<'_> {
        Catalog::newest_in(&self.table, Status::Ready.as_str())
    }

    /// One page of the listing.
    pub async fn page(&self, page: PageRequest) -> Result<Page<Category>, Upstream> {
        query_page(&self.db, &self.listing(), page).await
    }

    /// Deletes the categories older than `max_age` that never got an image.
    pub async fn delete_stale(&self, max_age: Duration) -> Result<SweepReport, Upstream> {
        let stale = Sweep::by_status(
            &self.table,
            Status::AwaitingImage.as_str(),
            shop_core::time::ago(max_age),
            &[KEY],
        );
        shop_core::cleanup::sweep(&self.db, &stale).await
    }
}
