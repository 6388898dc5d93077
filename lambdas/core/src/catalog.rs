//! What each catalog service (banners, categories, products) is built from beside its table: its
//! image bucket, the admin gate and the HTTP answers, plus the listing of one status of its
//! `byStatus` index.

use crate::config::ConfigError;
use crate::images::{Images, UploadConfig};
use crate::mfa::AdminGate;
use crate::pagination::IndexQuery;
use crate::Http;

pub use crate::dynamo::STATUS_INDEX;

/// The clients and settings a catalog service shares with the others.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub images: Images,
    /// Who may call the admin routes (`ADMIN_MFA_REQUIRED`: TOTP MFA too).
    pub admins: AdminGate,
    pub http: Http,
}

impl Catalog {
    /// `service` names the rejected-upload metric; admins are the admins group (no MFA check).
    pub fn new(sdk: &aws_config::SdkConfig, uploads: UploadConfig, service: &'static str) -> Self {
        Self {
            images: Images {
                s3: crate::aws::s3(sdk),
                config: uploads,
                service,
            },
            admins: AdminGate::default(),
            http: Http::from_env(false),
        }
    }

    /// As on Lambda: the admin gate as the stage configures it.
    pub fn from_env(
        sdk: &aws_config::SdkConfig,
        uploads: UploadConfig,
        service: &'static str,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            admins: AdminGate::from_env(sdk)?,
            ..Self::new(sdk, uploads, service)
        })
    }

    /// The query of `table`'s items in `status`, newest first.
    pub fn newest_in<'a>(table: &'a str, status: &str) -> IndexQuery<'a> {
        IndexQuery {
            table,
            index: STATUS_INDEX,
            pk_attr: "status",
            pk_value: status.to_owned(),
            newest_first: true,
            before: None,
        }
    }
}
