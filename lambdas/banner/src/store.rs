//! The Banners table: its client and name, one method per operation.

use shop_core::catalog::Catalog;
use shop_core::pagination::{query_page, IndexQuery, Page, PageRequest};
use shop_core::Upstream;

use crate::model::{Banner, Status};

#[derive(Clone, Debug)]
pub struct BannersTable {
    db: aws_sdk_dynamodb::Client,
    table: String,
}

impl BannersTable {
    pub fn new(db: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            db,
            table: table.into(),
        }
    }

    /// Records a published banner once: `false` when it is already recorded (the event came again).
    pub async fn record(&self, banner: &Banner) -> Result<bool, Upstream> {
        shop_core::dynamo::put_if_absent(&self.db, &self.table, "objectKey", banner).await
    }

    /// The listing's query: published banners, newest first.
    pub fn listing(&self) -> IndexQuery<'_> {
        Catalog::newest_in(&self.table, Status::Ready.as_str())
    }

    /// One page of the listing.
    pub async fn page(&self, page: PageRequest) -> Result<Page<Banner>, Upstream> {
        query_page(&self.db, &self.listing(), page).await
    }
}
