//! Category service: an admin asks for an upload URL (which records the category as waiting for
//! its image), the S3 event checks the upload, publishes it and completes the category, anyone lists completed categories, and a scheduled
//! cleanup deletes categories that never got their image.
//!
//! Object keys are `<base64url(categoryName)>/<fileName>`: the event finds its category from the
//! key alone, without a scan, and names never collide.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::s3::S3Event;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use shop_core::cleanup::{notify, sweep, Sweep, SweepReport};
use shop_core::config::{parsed_or, required, ConfigError};
use shop_core::images::{attach_image, requested_size, ImageReport, Images, UploadConfig, PUBLIC, UPLOADS};
use shop_core::mfa::AdminGate;
use shop_core::pagination::{page_request, query_page, IndexQuery};
use shop_core::validate::{file_name, ImageType};
use shop_core::{http::json_body, Http, Request, RequestError, Response, Upstream};

/// GSI (`status`, `createdAt`): `ready` categories for the listing, `awaitingImage` ones for cleanup.
pub const STATUS_INDEX: &str = "byStatus";
pub const AWAITING_IMAGE: &str = "awaitingImage";
pub const READY: &str = "ready";
pub const MAX_CATEGORY_NAME: usize = 64;
const PAGE_KEY: &[&str] = &["categoryName", "status", "createdAt"];

#[derive(Clone, Debug)]
pub struct CategoryConfig {
    /// `CATEGORY_TABLE`: partition key `categoryName`, GSI [`STATUS_INDEX`].
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

#[derive(Clone, Debug)]
pub struct Categories {
    pub db: aws_sdk_dynamodb::Client,
    pub images: Images,
    pub sns: aws_sdk_sns::Client,
    pub config: CategoryConfig,
    /// Who may call the admin routes (`ADMIN_MFA_REQUIRED`: TOTP MFA too).
    pub admins: AdminGate,
    pub http: Http,
}

impl Categories {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = CategoryConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self {
            admins: AdminGate::from_env(&sdk)?,
            ..Self::new(&sdk, config)
        })
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: CategoryConfig) -> Self {
        Self {
            db: shop_core::aws::dynamodb(sdk),
            images: Images {
                s3: shop_core::aws::s3(sdk),
                config: config.uploads.clone(),
                service: "category",
            },
            sns: shop_core::aws::sns(sdk),
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
    #[error("category {0} already exists")]
    CategoryExists(String),
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

shop_core::api_error!(Error {
    Self::CategoryExists(_) => (409, "CategoryExists"),
});

/// A category as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub category_name: String,
    pub file_name: String,
    pub object_key: String,
    pub created_at: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
}

/// The object key of a category's image.
pub fn object_key(category_name: &str, file_name: &str) -> String {
    format!("{}/{file_name}", URL_SAFE_NO_PAD.encode(category_name))
}

/// The category an object key belongs to, if the key has our shape.
pub fn category_of_key(key: &str) -> Option<String> {
    let (prefix, name) = key.split_once('/')?;
    if name.is_empty() {
        return None;
    }
    String::from_utf8(URL_SAFE_NO_PAD.decode(prefix).ok()?).ok()
}

/// `POST /upload-url {fileName, fileType, categoryName}` (admin): records the category as
/// waiting for its image, then answers `{"uploadUrl"}`. An existing category is a 409.
pub async fn upload_url(c: &Categories, req: Request) -> Response {
    c.http.respond(200, upload_url_flow(c, &req).await)
}

async fn upload_url_flow(c: &Categories, req: &Request) -> Result<serde_json::Value, Error> {
    let who = c.admins.admin(req).await?;
    let f = json_body(req)?;
    let name = file_name("fileName", &f.string("fileName", 256)?)?;
    let kind = ImageType::parse("fileType", &f.string("fileType", 64)?)?;
    let category_name = f.string("categoryName", MAX_CATEGORY_NAME)?;
    let size = requested_size(&f, c.config.uploads.max_bytes)?;
    let key = object_key(&category_name, &name);
    let url = c.images.upload_url(&key, kind, size).await?;
    let category = Category {
        category_name: category_name.clone(),
        file_name: name,
        object_key: key,
        created_at: shop_core::time::now(),
        status: AWAITING_IMAGE.to_owned(),
        image_url: None,
        uploaded_at: None,
    };
    let item = serde_dynamo::to_item(&category).map_err(|e| Upstream::internal("dynamodb", e.to_string()))?;
    let put =
        c.db.put_item()
            .table_name(&c.config.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(categoryName)")
            .send()
            .await;
    if shop_core::conditional(put)?.is_none() {
        return Err(Error::CategoryExists(category_name.clone()));
    }
    tracing::info!(admin = %who.sub, "category upload URL issued");
    Ok(serde_json::json!({ "uploadUrl": url }))
}

/// S3 `ObjectCreated`: completes the category waiting for exactly this object; anything else
/// (unknown key, already completed, replaced upload) is logged and ignored.
pub async fn image_uploaded(c: &Categories, event: S3Event) -> Result<ImageReport, Error> {
    let report = c
        .images
        .record_uploads(&event, |key, _| async move {
            let Some(category_name) = category_of_key(&key) else {
                return Ok(false);
            };
            let public = format!("{PUBLIC}{key}");
            c.images.copy(&format!("{UPLOADS}{key}"), &public).await?;
            let item_key: HashMap<_, _> = [("categoryName".to_owned(), AttributeValue::S(category_name))].into();
            let url = c.images.public_url(&key);
            if attach_image(
                &c.db,
                &c.config.table,
                item_key.clone(),
                &key,
                Some(url),
                (AWAITING_IMAGE, READY),
            )
            .await?
            {
                return Ok(true);
            }
            // Nothing waited: either this event came again (the category already shows this
            // image: keep it), or the category is gone or waits for another upload (the copy
            // just made would be served by nobody's record: withdraw it).
            if !shows_image(c, item_key, &key).await? {
                c.images.delete(&public).await?;
            }
            Ok::<_, Error>(false)
        })
        .await?;
    Ok(report)
}

/// Whether the category at `item_key` is complete with the image `key` (a consistent read).
async fn shows_image(c: &Categories, item_key: HashMap<String, AttributeValue>, key: &str) -> Result<bool, Upstream> {
    let out =
        c.db.get_item()
            .table_name(&c.config.table)
            .set_key(Some(item_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Upstream::new("dynamodb", e))?;
    let attr = |name: &str| {
        out.item()
            .and_then(|i| i.get(name))
            .and_then(|v| v.as_s().ok())
            .cloned()
    };
    Ok(attr("objectKey").as_deref() == Some(key) && attr("status").as_deref() == Some(READY))
}

/// Public view of a category.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CategoryView {
    category_name: String,
    image_url: String,
}

/// `GET /categories?limit&nextToken`: `[{"categoryName", "imageUrl"}]` (the original's bare
/// array), newest first; the next page's token is in the `x-next-token` header.
pub async fn list_categories(c: &Categories, req: Request) -> Response {
    match list_flow(c, &req).await {
        Ok((items, next)) => {
            let mut resp = c.http.json(200, &items);
            if let Some(t) = next.and_then(|t| t.parse().ok()) {
                resp.headers.insert("x-next-token", t);
            }
            resp
        }
        Err(e) => c.http.error(&e),
    }
}

async fn list_flow(c: &Categories, req: &Request) -> Result<(Vec<CategoryView>, Option<String>), Error> {
    let q = IndexQuery {
        table: &c.config.table,
        index: STATUS_INDEX,
        pk_attr: "status",
        pk_value: READY.to_owned(),
        newest_first: true,
    };
    let page = page_request(req, 50, 100, PAGE_KEY, &q)?;
    let page = query_page::<Category>(&c.db, &q, page).await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|x| {
            x.image_url.map(|image_url| CategoryView {
                category_name: x.category_name,
                image_url,
            })
        })
        .collect();
    Ok((items, page.next_token))
}

/// Scheduled cleanup: deletes categories older than the configured age that never got an
/// image, then publishes `Cleanup completed. Deleted N outdated categories` when N > 0.
pub async fn cleanup(c: &Categories, _event: serde_json::Value) -> Result<SweepReport, Error> {
    let mut report = sweep(
        &c.db,
        &Sweep {
            table: &c.config.table,
            index: STATUS_INDEX,
            status_attr: "status",
            stale_status: AWAITING_IMAGE,
            age_attr: "createdAt",
            cutoff: shop_core::time::ago(c.config.cleanup_max_age),
            key_attrs: &["categoryName"],
            max_per_run: 1000,
        },
    )
    .await?;
    notify(&c.sns, &c.config.cleanup_topic_arn, "categories", &mut report).await?;
    tracing::info!(
        deleted = report.deleted,
        items_read = report.items_read,
        "category cleanup done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_leads_back_to_its_category() {
        let key = object_key("Summer / Sale", "a b.png");
        assert!(!key[..key.find('/').unwrap()].contains('/'));
        assert_eq!(category_of_key(&key).as_deref(), Some("Summer / Sale"));
        assert_eq!(category_of_key("!!/x.png"), None);
        assert_eq!(category_of_key("nokey"), None);
    }
}

// Every function of this service, served by the one `shop-category` binary (`_HANDLER` names it).
shop_core::functions!(Categories {
    "upload-url" => http upload_url,
    "list-categories" => http list_categories,
    "image-uploaded" => event image_uploaded,
    "cleanup" => event cleanup,
});
