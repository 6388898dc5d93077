//! Category service: an admin asks for an upload URL (which records the category as waiting for
//! its image), the S3 event checks the upload, publishes it and completes the category, anyone
//! lists completed categories, and a scheduled cleanup deletes categories that never got their image.
//!
//! - [`model`]: the category, its statuses, and the object key that names it.
//! - [`store`]: the Categories table, a store that owns its client and name.
//! - [`handlers`]: one public async function per Lambda.

pub mod handlers;
pub mod model;
pub mod store;

use std::time::Duration;

use shop_core::catalog::Catalog;
use shop_core::cleanup::Notices;
use shop_core::config::{parsed_or, required, ConfigError};
use shop_core::images::UploadConfig;
use shop_core::{RequestError, Upstream};

pub use handlers::{cleanup, image_uploaded, list_categories, upload_url};
pub use model::{category_of_key, object_key, Category, Status};

#[derive(Clone, Debug)]
pub struct CategoryConfig {
    /// `CATEGORY_TABLE`: partition key `categoryName`, GSI [`shop_core::catalog::STATUS_INDEX`].
    pub table: String,
    /// `CATEGORY_BUCKET` and the shared upload settings.
    pub uploads: UploadConfig,
    /// `CLEANUP_TOPIC_ARN`: where cleanup notices go.
    pub cleanup_topic_arn: String,
    /// `CLEANUP_MAX_AGE_SECS` (default 3600): a category without image older than this is deleted.
    pub cleanup_max_age: Duration,
}

impl CategoryConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("CATEGORY_TABLE")?,
            uploads: UploadConfig::from_env("CATEGORY_BUCKET")?,
            cleanup_topic_arn: required("CLEANUP_TOPIC_ARN")?,
            cleanup_max_age: Duration::from_secs(parsed_or("CLEANUP_MAX_AGE_SECS", 3600)?),
        })
    }
}

/// Clients and configuration, built once per cold start.
#[derive(Clone, Debug)]
pub struct Categories {
    pub catalog: Catalog,
    pub categories: store::CategoriesTable,
    /// The cleanup topic.
    pub notices: Notices,
    pub config: CategoryConfig,
}

impl Categories {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = CategoryConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self {
            catalog: Catalog::from_env(&sdk, config.uploads.clone(), "category")?,
            ..Self::new(&sdk, config)
        })
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: CategoryConfig) -> Self {
        Self {
            catalog: Catalog::new(sdk, config.uploads.clone(), "category"),
            categories: store::CategoriesTable::new(shop_core::aws::dynamodb(sdk), &config.table),
            notices: Notices::new(shop_core::aws::sns(sdk), &config.cleanup_topic_arn),
            config,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("category {0} already exists")]
    CategoryExists(String),
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

shop_core::api_error!(Error {
    Self::CategoryExists(_) => (409, "CategoryExists"),
});

// Every function of this service, served by the one `shop-category` binary (`_HANDLER` names it).
shop_core::functions!(Categories {
    "upload-url" => http upload_url,
    "list-categories" => http list_categories,
    "image-uploaded" => event image_uploaded,
    "cleanup" => event cleanup,
});
