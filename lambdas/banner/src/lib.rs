//! Banner service: admins get a presigned PUT URL, the S3 `ObjectCreated` event checks the upload,
//! publishes it and records the banner, and anyone lists banners, newest first.
//!
//! Object keys are `<uuid>/<fileName>`, so two uploads of `banner1.png` never overwrite each other.

use aws_lambda_events::s3::S3Event;
use serde::{Deserialize, Serialize};
use shop_core::config::{required, ConfigError};
use shop_core::images::{requested_size, ImageReport, Images, UploadConfig, PUBLIC, UPLOADS};
use shop_core::mfa::AdminGate;
use shop_core::pagination::{page_request, query_page, IndexQuery};
use shop_core::validate::{file_name, ImageType};
use shop_core::{http::json_body, Http, Request, RequestError, Response, Upstream};

/// GSI (`status`, `uploadedAt`) that lists banners newest first.
pub const STATUS_INDEX: &str = "byStatus";
const READY: &str = "ready";
/// Key attributes of a listing page token: table key plus index keys.
const PAGE_KEY: &[&str] = &["objectKey", "status", "uploadedAt"];

#[derive(Clone, Debug)]
pub struct BannerConfig {
    /// `BANNER_TABLE`: partition key `objectKey`, GSI [`STATUS_INDEX`].
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
    pub db: aws_sdk_dynamodb::Client,
    pub images: Images,
    pub config: BannerConfig,
    /// Who may call the admin routes (`ADMIN_MFA_REQUIRED`: TOTP MFA too).
    pub admins: AdminGate,
    pub http: Http,
}

impl Banners {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = BannerConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self {
            admins: AdminGate::from_env(&sdk)?,
            ..Self::new(&sdk, config)
        })
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: BannerConfig) -> Self {
        Self {
            db: shop_core::aws::dynamodb(sdk),
            images: Images {
                s3: shop_core::aws::s3(sdk),
                config: config.uploads.clone(),
                service: "banner",
            },
            config,
            admins: AdminGate::default(),
            http: Http::from_env(false),
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

/// A banner as stored and as listed (`objectKey` and `status` stay internal).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Banner {
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub object_key: String,
    pub file_name: String,
    pub image_url: String,
    pub uploaded_at: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub status: String,
}

/// Public view of a banner.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BannerView<'a> {
    image_url: &'a str,
    file_name: &'a str,
    uploaded_at: &'a str,
}

/// `POST /upload-url {fileName, fileType, fileSize?}` (admin): `{"uploadURL"}`.
pub async fn upload_url(b: &Banners, req: Request) -> Response {
    b.http.respond(200, upload_url_flow(b, &req).await)
}

async fn upload_url_flow(b: &Banners, req: &Request) -> Result<serde_json::Value, Error> {
    let who = b.admins.admin(req).await?;
    let f = json_body(req)?;
    let name = file_name("fileName", &f.string("fileName", 256)?)?;
    let kind = ImageType::parse("fileType", &f.string("fileType", 64)?)?;
    let size = requested_size(&f, b.config.uploads.max_bytes)?;
    let key = format!("{}/{name}", uuid::Uuid::new_v4());
    let url = b.images.upload_url(&key, kind, size).await?;
    tracing::info!(admin = %who.sub, key = %key, "banner upload URL issued");
    Ok(serde_json::json!({ "uploadURL": url }))
}

/// S3 `ObjectCreated`: checks each upload, publishes it and records the banner once; a bad upload
/// is deleted, a repeated event changes nothing.
pub async fn image_uploaded(b: &Banners, event: S3Event) -> Result<ImageReport, Error> {
    let report = b
        .images
        .record_uploads(&event, |key, _| async move {
            let Some((_, name)) = key.split_once('/').filter(|(id, n)| !id.is_empty() && !n.is_empty()) else {
                return Ok(false);
            };
            b.images
                .copy(&format!("{UPLOADS}{key}"), &format!("{PUBLIC}{key}"))
                .await?;
            let banner = Banner {
                object_key: key.clone(),
                file_name: name.to_owned(),
                image_url: b.images.public_url(&key),
                uploaded_at: shop_core::time::now(),
                status: READY.to_owned(),
            };
            let item = serde_dynamo::to_item(&banner).map_err(|e| Upstream::internal("dynamodb", e.to_string()))?;
            let put =
                b.db.put_item()
                    .table_name(&b.config.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(objectKey)")
                    .send()
                    .await;
            // A failed condition: the event came again and the banner is already recorded.
            Ok::<_, Error>(shop_core::conditional(put)?.is_some())
        })
        .await?;
    Ok(report)
}

/// `GET /banners?limit&nextToken`: `{"banners": [...], "nextToken"}`, newest first.
pub async fn list_banners(b: &Banners, req: Request) -> Response {
    b.http.respond(200, list_flow(b, &req).await)
}

async fn list_flow(b: &Banners, req: &Request) -> Result<serde_json::Value, Error> {
    let q = IndexQuery {
        table: &b.config.table,
        index: STATUS_INDEX,
        pk_attr: "status",
        pk_value: READY.to_owned(),
        newest_first: true,
    };
    let page = page_request(req, 50, 100, PAGE_KEY, &q)?;
    let page = query_page::<Banner>(&b.db, &q, page).await?;
    let banners: Vec<BannerView> = page
        .items
        .iter()
        .map(|x| BannerView {
            image_url: &x.image_url,
            file_name: &x.file_name,
            uploaded_at: &x.uploaded_at,
        })
        .collect();
    Ok(serde_json::json!({ "banners": banners, "nextToken": page.next_token }))
}

// Every function of this service, served by the one `shop-banner` binary (`_HANDLER` names it).
shop_core::functions!(Banners {
    "upload-url" => http upload_url,
    "list-banners" => http list_banners,
    "image-uploaded" => event image_uploaded,
});
