//! The Banners table: one method per operation.

use shop_core::catalog::Catalog;
use shop_core::pagination::{IndexQuery, Page, PageRequest};
use shop_core::Upstream;

use crate::model::{Banner, READY};
use crate::Banners;

impl Banners {
    /// Records a published banner once: `false` when it is already recorded (the event came again).
    pub async fn record(&self, banner: &Banner) -> Result<bool, Upstream> {
        shop_core::dynamo::put_if_absent(&self.catalog.db, &self.config.table, "objectKey", banner).await
    }

    /// The listing's query: published banners, newest first.
    pub fn listing(&self) -> IndexQuery<'_> {
        Catalog::newest_in(&self.config.table, READY)
    }

    /// One page of the listing.
    pub async fn page(&self, page: PageRequest) -> Result<Page<Banner>, Upstream> {
        self.catalog.page(&self.listing(), page).await
    }
}
