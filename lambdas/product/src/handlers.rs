//! One public async function per product Lambda.

use aws_lambda_events::s3::S3Event;
use serde_json::json;
use shop_core::cleanup::SweepReport;
use shop_core::http::{json_body, query};
use shop_core::images::{requested_size, CopyOf, ImageReport, PUBLIC, REVIEW, UPLOADS};
use shop_core::pagination::page_request;
use shop_core::validate::text;
use shop_core::{Identity, Request, RequestError, Response};

use crate::model::{product_of_key, NewProduct, Product, ProductView, Status, MAX_CATEGORY, MAX_REASON};
use crate::{Error, Products};

/// `POST /get-upload-url` (signed in): creates the product waiting for its image and answers
/// `{"uploadUrl", "productId"}`.
pub async fn get_upload_url(p: &Products, req: Request) -> Response {
    p.catalog.http.respond(200, upload_flow(p, &req).await)
}

async fn upload_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    let seller = Identity::from_request(req)?;
    let body = json_body(req)?;
    let new = NewProduct::parse(&body)?;
    let size = requested_size(&body, p.config.uploads.max_bytes)?;
    let kind = new.file_type;
    let id = uuid::Uuid::new_v4().to_string();
    let product = new.into_product(
        id.clone(),
        seller.sub.clone(),
        seller.email.clone(),
        shop_core::time::now(),
    );
    let url = p.catalog.images.upload_url(&product.object_key, kind, size).await?;
    p.products.put_new(&product).await?;
    tracing::info!(product_id = %id, seller = %seller.sub, "product created, awaiting image");
    Ok(json!({ "uploadUrl": url, "productId": id }))
}

/// S3 `ObjectCreated`: checks the upload and puts it up for review (under [`REVIEW`], not served),
/// completing the product named by the key (a key lookup, no scan); bad uploads are deleted,
/// unknown keys and repeated events are logged and ignored.
pub async fn image_uploaded(p: &Products, event: S3Event) -> Result<ImageReport, Error> {
    let images = &p.catalog.images;
    let report = images
        .record_uploads(&event, |key, checked| async move {
            let Some(id) = product_of_key(&key) else {
                return Ok(false);
            };
            // Only a product still waiting for this very image gets it under review: a PUT
            // replayed after the product went to review never replaces what the admin reviews.
            let waiting = p
                .products
                .current(id)
                .await?
                .is_some_and(|pr| pr.status == Status::AwaitingImage && pr.object_key == key);
            if !waiting {
                return Ok(false);
            }
            // The review copy's ETag is recorded: approval publishes that copy and no other.
            let Some(review_etag) = images
                .copy(
                    &format!("{UPLOADS}{key}"),
                    &format!("{REVIEW}{key}"),
                    CopyOf::Checked(&checked),
                )
                .await?
            else {
                return Ok(false);
            };
            Ok::<_, Error>(p.products.image_arrived(id, &key, review_etag).await?)
        })
        .await?;
    Ok(report)
}

fn listing(items: Vec<Product>, next: Option<String>) -> serde_json::Value {
    let products: Vec<ProductView> = items.into_iter().map(ProductView::from).collect();
    json!({ "products": products, "nextToken": next })
}

/// `GET /approve-products?limit&nextToken&category`: approved products, newest first, plain JSON.
pub async fn approved_products(p: &Products, req: Request) -> Response {
    p.catalog.http.respond(200, approved_flow(p, &req).await)
}

async fn approved_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    let category = query(req, "category")
        .map(|c| text("category", &c, MAX_CATEGORY))
        .transpose()
        .map_err(RequestError::in_query)?;
    let approved = p.products.approved(category);
    let page = page_request(req, 20, 100, approved.page_key, &approved.query)?;
    let page = p.products.page(&approved, page).await?;
    Ok(listing(page.items, page.next_token))
}

/// `GET /pending-products` (admin): products with an image that wait for review, oldest first.
pub async fn pending_products(p: &Products, req: Request) -> Response {
    p.catalog.http.respond(200, pending_flow(p, &req).await)
}

async fn pending_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    p.catalog.admins.admin(req).await?;
    let pending = p.products.pending();
    let page = page_request(req, 20, 100, pending.page_key, &pending.query)?;
    let page = p.products.page(&pending, page).await?;
    let mut products = Vec::with_capacity(page.items.len());
    for item in page.items {
        let link = p.catalog.images.review_url(&item.object_key).await?;
        let mut view = ProductView::from(item);
        view.review_image_url = Some(link);
        products.push(view);
    }
    Ok(json!({ "products": products, "nextToken": page.next_token }))
}

/// Emails the seller; a failure is logged, never undoes the decision.
async fn tell_seller(p: &Products, product: &Product, subject: &str, text: &str) {
    let Some(to) = product.seller_email.as_deref() else {
        tracing::warn!(product_id = %product.id, "seller has no email; decision not sent");
        return;
    };
    if p.mailer.send(to, subject, text).await.is_err() {
        tracing::error!(product_id = %product.id, "decision email failed");
    }
}

/// `POST /approve-product {id}` (admin): only a product whose checked image is under review (or
/// already approved); publishes the image, then records the approval. Approving twice is a no-op.
pub async fn approve_product(p: &Products, req: Request) -> Response {
    p.catalog.http.respond(200, approve_flow(p, &req).await)
}

async fn approve_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    let admin = p.catalog.admins.admin(req).await?;
    let id = json_body(req)?.string("id", 64)?;
    let product = p
        .products
        .current(&id)
        .await?
        .ok_or_else(|| Error::NotFound(id.clone()))?;
    if product.uploaded_at.is_none() {
        return Err(Error::ImageMissing(id));
    }
    let images = &p.catalog.images;
    let key = product.object_key;
    let public = format!("{PUBLIC}{key}");
    // The review copy's metadata is already the checked one (replaced when it was made); it is
    // published only while it is the copy that was made (its recorded ETag), never one swapped in.
    let reviewed = CopyOf::Made(product.review_etag.as_deref().filter(|e| !e.is_empty()));
    if images
        .copy(&format!("{REVIEW}{key}"), &public, reviewed)
        .await?
        .is_none()
    {
        tracing::warn!(product_id = %id, "the review copy is not the one made from the checked upload: not published");
        return Err(Error::ImageMissing(id));
    }
    let Some(before) = p.products.approve(&id, &key, images.public_url(&key)).await? else {
        // Rejected (or deleted) since the read: the copy just published must not stay served.
        images.delete(&public).await?;
        return Err(Error::ImageMissing(id));
    };
    if before.status != Status::Approved {
        tracing::info!(product_id = %id, admin = %admin.sub, "product approved");
        let text = format!(
            "Good news: your product \"{}\" was approved and is now listed.",
            before.product_name
        );
        tell_seller(p, &before, &format!("{} approved", before.product_name), &text).await;
    }
    Ok(json!({ "message": "product approved", "id": id }))
}

/// `POST /reject-product {id, reason}` (admin): takes the product off the listing, deletes its
/// image everywhere (upload, review, published) and tells the seller why.
pub async fn reject_product(p: &Products, req: Request) -> Response {
    p.catalog.http.respond(200, reject_flow(p, &req).await)
}

async fn reject_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    let admin = p.catalog.admins.admin(req).await?;
    let f = json_body(req)?;
    let id = f.string("id", 64)?;
    let reason = f.string("reason", MAX_REASON)?;
    let product = p
        .products
        .reject(&id, &reason)
        .await?
        .ok_or_else(|| Error::NotFound(id.clone()))?;
    // The decision is recorded first; if a delete fails the admin sees a 503 and rejecting again
    // (the same answer) deletes what is left.
    p.catalog.images.delete_everywhere(&product.object_key).await?;
    tracing::info!(product_id = %id, admin = %admin.sub, "product rejected");
    let text = format!(
        "Your product \"{}\" was not approved. Reason: {reason}",
        product.product_name
    );
    tell_seller(p, &product, &format!("{} not approved", product.product_name), &text).await;
    Ok(json!({ "message": "product rejected", "id": id }))
}

/// Scheduled cleanup: deletes products older than the configured age that never got an image,
/// then publishes `Cleanup completed. Deleted N outdated products` when N > 0.
pub async fn cleanup(p: &Products, _event: serde_json::Value) -> Result<SweepReport, Error> {
    let swept = p.products.delete_stale(p.config.cleanup_max_age).await?;
    Ok(p.notices.report("products", swept).await?)
}
