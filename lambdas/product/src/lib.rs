//! Product service: sellers create products with a presigned image upload, the S3 event attaches
//! the image, admins approve or reject (the seller is emailed), anyone lists approved products
//! through an index, and a scheduled cleanup deletes products that never got their image.
//!
//! - [`model`]: the product, its states and its public JSON; validation of a new product.
//! - [`handlers`]: one public async function per Lambda.

pub mod handlers;
pub mod model;

use std::time::Duration;

use shop_core::config::{parsed_or, required, ConfigError};
use shop_core::{Http, RequestError, Upstream};

pub use handlers::{
    approve_product, approved_page, approved_products, cleanup, get_upload_url, image_uploaded, pending_page,
    pending_products, reject_product,
};

#[derive(Clone, Debug)]
pub struct ProductConfig {
    /// `PRODUCT_TABLE`: partition key `id`; GSIs [`model::STATUS_INDEX`] and [`model::CATEGORY_INDEX`].
    pub table: String,
    /// `PRODUCT_BUCKET`
    pub bucket: String,
    /// `IMAGE_BASE_URL`
    pub image_base_url: String,
    /// `UPLOAD_URL_EXPIRES_SECS` (default 300)
    pub upload_expires: Duration,
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
            bucket: required("PRODUCT_BUCKET")?,
            image_base_url: required("IMAGE_BASE_URL")?,
            upload_expires: Duration::from_secs(parsed_or("UPLOAD_URL_EXPIRES_SECS", 300)?),
            cleanup_topic_arn: required("CLEANUP_TOPIC_ARN")?,
            cleanup_max_age: Duration::from_secs(parsed_or("CLEANUP_MAX_AGE_SECS", 3600)?),
            email_from: required("EMAIL_FROM")?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Products {
    pub db: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub config: ProductConfig,
    pub http: Http,
}

impl Products {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = ProductConfig::from_env()?;
        Ok(Self::new(&shop_core::aws::sdk_config().await, config))
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: ProductConfig) -> Self {
        Self {
            db: shop_core::aws::dynamodb(sdk),
            s3: shop_core::aws::s3(sdk),
            sns: shop_core::aws::sns(sdk),
            ses: shop_core::aws::ses(sdk),
            config,
            http: Http::from_env(false),
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
