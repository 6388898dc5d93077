//! One public async function per category Lambda.

use aws_lambda_events::s3::S3Event;
use shop_core::cleanup::SweepReport;
use shop_core::images::{requested_size, CopyOf, ImageReport, PUBLIC, UPLOADS};
use shop_core::pagination::page_request;
use shop_core::validate::{file_name, ImageType};
use shop_core::{http::json_body, Request, Response};

use crate::model::{category_of_key, Category, CategoryView, MAX_CATEGORY_NAME, PAGE_KEY};
use crate::{Categories, Error};

/// `POST /upload-url {fileName, fileType, categoryName}` (admin): records the category as
/// waiting for its image, then answers `{"uploadUrl"}`. An existing category is a 409.
pub async fn upload_url(c: &Categories, req: Request) -> Response {
    c.catalog.http.respond(200, upload_url_flow(c, &req).await)
}

async fn upload_url_flow(c: &Categories, req: &Request) -> Result<serde_json::Value, Error> {
    let who = c.catalog.admins.admin(req).await?;
    let f = json_body(req)?;
    let name = file_name("fileName", &f.string("fileName", 256)?)?;
    let kind = ImageType::parse("fileType", &f.string("fileType", 64)?)?;
    let category_name = f.string("categoryName", MAX_CATEGORY_NAME)?;
    let size = requested_size(&f, c.config.uploads.max_bytes)?;
    let category = Category::awaiting(category_name, name, shop_core::time::now());
    let url = c.catalog.images.upload_url(&category.object_key, kind, size).await?;
    if !c.categories.put_new(&category).await? {
        return Err(Error::CategoryExists(category.category_name));
    }
    tracing::info!(admin = %who.sub, "category upload URL issued");
    Ok(serde_json::json!({ "uploadUrl": url }))
}

/// S3 `ObjectCreated`: completes the category waiting for exactly this object; anything else
/// (unknown key, already completed, replaced upload) is logged and ignored.
pub async fn image_uploaded(c: &Categories, event: S3Event) -> Result<ImageReport, Error> {
    let images = &c.catalog.images;
    let report = images
        .record_uploads(&event, |key, checked| async move {
            let Some(name) = category_of_key(&key) else {
                return Ok(false);
            };
            let public = format!("{PUBLIC}{key}");
            let copied = images
                .copy(&format!("{UPLOADS}{key}"), &public, CopyOf::Checked(&checked))
                .await?;
            if copied.is_none() {
                return Ok(false);
            }
            if c.categories.complete(&name, &key, images.public_url(&key)).await? {
                return Ok(true);
            }
            // Nothing waited: either this event came again (the category already shows this
            // image: keep it), or the category is gone or waits for another upload (the copy
            // just made would be served by nobody's record: withdraw it).
            if !c.categories.shows_image(&name, &key).await? {
                images.delete(&public).await?;
            }
            Ok::<_, Error>(false)
        })
        .await?;
    Ok(report)
}

/// `GET /categories?limit&nextToken`: `[{"categoryName", "imageUrl"}]` (the original's bare
/// array), newest first; the next page's token is in the `x-next-token` header.
pub async fn list_categories(c: &Categories, req: Request) -> Response {
    let http = &c.catalog.http;
    match list_flow(c, &req).await {
        Ok((items, next)) => {
            let mut resp = http.json(200, &items);
            if let Some(t) = next.and_then(|t| t.parse().ok()) {
                resp.headers.insert("x-next-token", t);
            }
            resp
        }
        Err(e) => http.error(&e),
    }
}

async fn list_flow(c: &Categories, req: &Request) -> Result<(Vec<CategoryView>, Option<String>), Error> {
    let page = page_request(req, 50, 100, PAGE_KEY, &c.categories.listing())?;
    let page = c.categories.page(page).await?;
    let items = page.items.into_iter().filter_map(CategoryView::of).collect();
    Ok((items, page.next_token))
}

/// Scheduled cleanup: deletes categories older than the configured age that never got an
/// image, then publishes `Cleanup completed. Deleted N outdated categories` when N > 0.
pub async fn cleanup(c: &Categories, _event: serde_json::Value) -> Result<SweepReport, Error> {
    let swept = c.categories.delete_stale(c.config.cleanup_max_age).await?;
    Ok(c.notices.report("categories", swept).await?)
}
