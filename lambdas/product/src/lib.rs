//! Product service: sellers create products with a presigned image upload, the S3 event checks the
//! upload and puts it up for review (not public), admins review it through short-lived links and
//! approve (which publishes the image) or reject (which deletes it; the seller is emailed), anyone lists approved products
//! through an index, and a scheduled cleanup deletes products that never got their image.
//!
//! - [`model`]: the product, its states and its public JSON; validation of a new product.
//! - [`store`]: the Products table, a store that owns its client and name.
//! - [`handlers`]: one public async function per Lambda.

pub mod handlers;
pub mod model;
pub mod store;

use std::time::Duration;

use shop_core::catalog::Catalog;
use shop_core::cleanup::Notices;
use shop_core::config::{parsed_or, required, ConfigError};
use shop_core::email::Mailer;
use shop_core::images::UploadConfig;
use shop_core::{RequestError, Upstream};

pub use handlers::{
    approve_product, approved_products, cleanup, get_upload_url, image_uploaded, pending_products, reject_product,
};

#[derive(Clone, Debug)]
pub struct ProductConfig {
    /// `PRODUCT_TABLE`: partition key `id`; GSIs [`model::STATUS_INDEX`] and [`model::CATEGORY_INDEX`].
    pub table: String,
    /// `PRODUCT_BUCKET` and the shared upload settings (review links live as long as upload URLs).
    pub uploads: UploadConfig,
    /// `CLEANUP_TOPIC_ARN`
    pub cleanup_topic_arn: String,
    /// `CLEANUP_MAX_AGE_SECS` (default 3600)
    pub cleanup_max_age: Duration,
    /// `EMAIL_FROM`: the verified SES sender of decision emails.
    pub email_from: String,
}

impl ProductConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("PRODUCT_TABLE")?,
            uploads: UploadConfig::from_env("PRODUCT_BUCKET")?,
            cleanup_topic_arn: required("CLEANUP_TOPIC_ARN")?,
            cleanup_max_age: Duration::from_secs(parsed_or("CLEANUP_MAX_AGE_SECS", 3600)?),
            email_from: required("EMAIL_FROM")?,
        })
    }
}

/// Clients and configuration, built once per cold start.
#[derive(Clone, Debug)]
pub struct Products {
    pub catalog: Catalog,
    pub products: store::ProductsTable,
    /// The cleanup topic.
    pub notices: Notices,
    /// The sender of decision emails.
    pub mailer: Mailer,
    pub config: ProductConfig,
}

impl Products {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = ProductConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self {
            catalog: Catalog::from_env(&sdk, config.uploads.clone(), "product")?,
            ..Self::new(&sdk, config)
        })
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: ProductConfig) -> Self {
        Self {
            catalog: Catalog::new(sdk, config.uploads.clone(), "product"),
            products: store::ProductsTable::new(shop_core::aws::dynamodb(sdk), &config.table),
            notices: Notices::new(shop_core::aws::sns(sdk), &config.cleanup_topic_arn),
            mailer: Mailer::new(shop_core::aws::ses(sdk), &config.email_from),
            config,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("product {0} does not exist")]
    NotFound(String),
    #[error("product {0} has no image yet and cannot be approved")]
    ImageMissing(String),
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

shop_core::api_error!(Error {
    Self::NotFound(_) => (404, "ProductNotFound"),
    Self::ImageMissing(_) => (409, "ImageMissing"),
});

// Every function of this service, served by the one `shop-product` binary (`_HANDLER` names it).
shop_core::functions!(Products {
    "get-upload-url" => http get_upload_url,
    "approved-products" => http approved_products,
    "pending-products" => http pending_products,
    "approve-product" => http approve_product,
    "reject-product" => http reject_product,
    "image-uploaded" => event image_uploaded,
    "cleanup" => event cleanup,
});
