//! Banner service: admins get a presigned PUT URL, the S3 `ObjectCreated` event checks the upload,
//! publishes it and records the banner, and anyone lists banners, newest first.
//!
//! - [`model`]: the banner, its object key and its public JSON.
//! - [`store`]: the Banners table, a store that owns its client and name.
//! - [`handlers`]: one public async function per Lambda.

pub mod handlers;
pub mod model;
pub mod store;

use shop_core::catalog::Catalog;
use shop_core::config::{required, ConfigError};
use shop_core::images::UploadConfig;
use shop_core::{RequestError, Upstream};

pub use handlers::{image_uploaded, list_banners, upload_url};

#[derive(Clone, Debug)]
pub struct BannerConfig {
    /// `BANNER_TABLE`: partition key `objectKey`, GSI [`shop_core::catalog::STATUS_INDEX`].
    pub table: String,
    /// `BANNER_BUCKET` and the shared upload settings.
    pub uploads: UploadConfig,
}

impl BannerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("BANNER_TABLE")?,
            uploads: UploadConfig::from_env("BANNER_BUCKET")?,
        })
    }
}

/// Clients and configuration, built once per cold start.
#[derive(Clone, Debug)]
pub struct Banners {
    pub catalog: Catalog,
    pub banners: store::BannersTable,
    pub config: BannerConfig,
}

impl Banners {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = BannerConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self {
            catalog: Catalog::from_env(&sdk, config.uploads.clone(), "banner")?,
            ..Self::new(&sdk, config)
        })
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: BannerConfig) -> Self {
        Self {
            catalog: Catalog::new(sdk, config.uploads.clone(), "banner"),
            banners: store::BannersTable::new(shop_core::aws::dynamodb(sdk), &config.table),
            config,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

shop_core::api_error!(Error {});

// Every function of this service, served by the one `shop-banner` binary (`_HANDLER` names it).
shop_core::functions!(Banners {
    "upload-url" => http upload_url,
    "list-banners" => http list_banners,
    "image-uploaded" => event image_uploaded,
});
