//! One public async function per banner Lambda.

use aws_lambda_events::s3::S3Event;
use shop_core::images::{requested_size, CopyOf, ImageReport, PUBLIC, UPLOADS};
use shop_core::pagination::page_request;
use shop_core::validate::{file_name, ImageType};
use shop_core::{http::json_body, Request, Response};

use crate::model::{file_of_key, new_object_key, Banner, BannerView, Status, PAGE_KEY};
use crate::{Banners, Error};

/// `POST /upload-url {fileName, fileType, fileSize?}` (admin): `{"uploadURL"}`.
pub async fn upload_url(b: &Banners, req: Request) -> Response {
    b.catalog.http.respond(200, upload_url_flow(b, &req).await)
}

async fn upload_url_flow(b: &Banners, req: &Request) -> Result<serde_json::Value, Error> {
    let who = b.catalog.admins.admin(req).await?;
    let f = json_body(req)?;
    let name = file_name("fileName", &f.string("fileName", 256)?)?;
    let kind = ImageType::parse("fileType", &f.string("fileType", 64)?)?;
    let size = requested_size(&f, b.config.uploads.max_bytes)?;
    let key = new_object_key(&name);
    let url = b.catalog.images.upload_url(&key, kind, size).await?;
    tracing::info!(admin = %who.sub, key = %key, "banner upload URL issued");
    Ok(serde_json::json!({ "uploadURL": url }))
}

/// S3 `ObjectCreated`: checks each upload, publishes it and records the banner once; a bad upload
/// is deleted, a repeated event changes nothing.
pub async fn image_uploaded(b: &Banners, event: S3Event) -> Result<ImageReport, Error> {
    let images = &b.catalog.images;
    let report = images
        .record_uploads(&event, |key, checked| async move {
            let Some(name) = file_of_key(&key) else {
                return Ok(false);
            };
            let copied = images
                .copy(
                    &format!("{UPLOADS}{key}"),
                    &format!("{PUBLIC}{key}"),
                    CopyOf::Checked(&checked),
                )
                .await?;
            if copied.is_none() {
                return Ok(false);
            }
            let banner = Banner {
                file_name: name.to_owned(),
                image_url: images.public_url(&key),
                uploaded_at: shop_core::time::now(),
                status: Status::Ready,
                object_key: key,
            };
            Ok::<_, Error>(b.banners.record(&banner).await?)
        })
        .await?;
    Ok(report)
}

/// `GET /banners?limit&nextToken`: `{"banners": [...], "nextToken"}`, newest first.
pub async fn list_banners(b: &Banners, req: Request) -> Response {
    b.catalog.http.respond(200, list_flow(b, &req).await)
}

async fn list_flow(b: &Banners, req: &Request) -> Result<serde_json::Value, Error> {
    let page = page_request(req, 50, 100, PAGE_KEY, &b.banners.listing())?;
    let page = b.banners.page(page).await?;
    let banners: Vec<BannerView> = page.items.iter().map(BannerView::from).collect();
    Ok(serde_json::json!({ "banners": banners, "nextToken": page.next_token }))
}
