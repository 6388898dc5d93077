//! The Categories table: one method per operation.

use shop_core::catalog::Catalog;
use shop_core::cleanup::{Sweep, SweepReport};
use shop_core::dynamo::{self, key};
use shop_core::images::attach_image;
use shop_core::pagination::{IndexQuery, Page, PageRequest};
use shop_core::Upstream;

use crate::model::{Category, Status, AWAITING_IMAGE, READY};
use crate::Categories;

const KEY: &str = "categoryName";

impl Categories {
    /// Records a new category: `false` when one of that name exists (it is left as it is).
    pub async fn put_new(&self, category: &Category) -> Result<bool, Upstream> {
        dynamo::put_if_absent(&self.catalog.db, &self.config.table, KEY, category).await
    }

    /// Completes the category that waits for exactly the image `object_key`: `false` when none
    /// waits (the event came again, or the category is gone or waits for another upload).
    pub async fn complete(&self, name: &str, object_key: &str, image_url: String) -> Result<bool, Upstream> {
        let states = (AWAITING_IMAGE, READY);
        let db = &self.catalog.db;
        attach_image(
            db,
            &self.config.table,
            key(KEY, name),
            object_key,
            &[("imageUrl", image_url)],
            states,
        )
        .await
    }

    /// Whether the category `name` is complete with the image `object_key` (a consistent read).
    pub async fn shows_image(&self, name: &str, object_key: &str) -> Result<bool, Upstream> {
        let now: Option<Category> = dynamo::get(&self.catalog.db, &self.config.table, key(KEY, name)).await?;
        Ok(now.is_some_and(|c| c.object_key == object_key && c.status == Status::Ready))
    }

    /// The listing's query: completed categories, newest first.
    pub fn listing(&self) -> IndexQuery<'_> {
        Catalog::newest_in(&self.config.table, READY)
    }

    /// One page of the listing.
    pub async fn page(&self, page: PageRequest) -> Result<Page<Category>, Upstream> {
        self.catalog.page(&self.listing(), page).await
    }

    /// Deletes the categories older than the configured age that never got an image, and tells
    /// the cleanup topic how many.
    pub async fn delete_stale(&self) -> Result<SweepReport, Upstream> {
        let cutoff = shop_core::time::ago(self.config.cleanup_max_age);
        let stale = Sweep::by_status(&self.config.table, AWAITING_IMAGE, cutoff, &[KEY]);
        let topic = &self.config.cleanup_topic_arn;
        shop_core::cleanup::run(&self.catalog.db, &self.sns, topic, "categories", &stale).await
    }
}
