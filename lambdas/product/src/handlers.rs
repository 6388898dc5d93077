//! One public async function per product Lambda.

use std::collections::HashMap;

use aws_lambda_events::s3::S3Event;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde_json::json;
use shop_core::cleanup::{notify, sweep, Sweep, SweepReport};
use shop_core::http::{json_body, query};
use shop_core::images::{attach_image, requested_size, ImageReport, PUBLIC, REVIEW, UPLOADS};
use shop_core::pagination::{page_request, query_page, IndexQuery, Page, PageRequest};
use shop_core::validate::text;
use shop_core::{conditional, Identity, Request, RequestError, Response, Upstream};

use crate::model::{
    product_of_key, NewProduct, Product, ProductView, Status, CATEGORY_INDEX, MAX_CATEGORY, MAX_REASON, STATUS_INDEX,
};
use crate::{Error, Products};

const DB: &str = "dynamodb";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn id_key(id: &str) -> HashMap<String, AttributeValue> {
    [("id".to_owned(), s(id))].into()
}

/// `POST /get-upload-url` (signed in): creates the product waiting for its image and answers
/// `{"uploadUrl", "productId"}`.
pub async fn get_upload_url(p: &Products, req: Request) -> Response {
    p.http.respond(200, upload_flow(p, &req).await)
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
    let url = p.images.upload_url(&product.object_key, kind, size).await?;
    let item = serde_dynamo::to_item(&product).map_err(|e| Upstream::internal(DB, e.to_string()))?;
    p.db.put_item()
        .table_name(&p.config.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(id)")
        .send()
        .await
        .map_err(|e| Upstream::new(DB, e))?;
    tracing::info!(product_id = %id, seller = %seller.sub, "product created, awaiting image");
    Ok(json!({ "uploadUrl": url, "productId": id }))
}

/// S3 `ObjectCreated`: checks the upload and puts it up for review (under [`REVIEW`], not served),
/// completing the product named by the key (a key lookup, no scan); bad uploads are deleted,
/// unknown keys and repeated events are logged and ignored.
pub async fn image_uploaded(p: &Products, event: S3Event) -> Result<ImageReport, Error> {
    let report = p
        .images
        .record_uploads(&event, |key, _| async move {
            let Some(id) = product_of_key(&key) else {
                return Ok(false);
            };
            p.images
                .copy(&format!("{UPLOADS}{key}"), &format!("{REVIEW}{key}"))
                .await?;
            let states = (Status::AwaitingImage.as_str(), Status::PendingReview.as_str());
            Ok::<_, Error>(attach_image(&p.db, &p.config.table, id_key(id), &key, None, states).await?)
        })
        .await?;
    Ok(report)
}

fn listing(items: Vec<Product>, next: Option<String>) -> serde_json::Value {
    let products: Vec<ProductView> = items.into_iter().map(ProductView::from).collect();
    json!({ "products": products, "nextToken": next })
}

/// One page of approved products, newest first, optionally of one category. Public so the
/// read cost (`items_read`) can be measured.
pub async fn approved_page(p: &Products, req: &Request) -> Result<Page<Product>, Error> {
    let category = query(req, "category")
        .map(|c| text("category", c, MAX_CATEGORY))
        .transpose()
        .map_err(|e| match e {
            RequestError::InvalidField { reason, .. } => RequestError::InvalidQuery {
                name: "category",
                reason,
            },
            other => other,
        })?;
    let (q, key): (IndexQuery, &[&str]) = match category {
        Some(c) => (
            IndexQuery {
                table: &p.config.table,
                index: CATEGORY_INDEX,
                pk_attr: "approvedCategory",
                pk_value: c,
                newest_first: true,
            },
            &["id", "approvedCategory", "createdAt"],
        ),
        None => (
            IndexQuery {
                table: &p.config.table,
                index: STATUS_INDEX,
                pk_attr: "status",
                pk_value: Status::Approved.as_str().to_owned(),
                newest_first: true,
            },
            &["id", "status", "createdAt"],
        ),
    };
    let page = page_request(req, 20, 100, key, &q)?;
    Ok(query_page(&p.db, &q, page).await?)
}

/// `GET /approve-products?limit&nextToken&category`: approved products, plain JSON.
pub async fn approved_products(p: &Products, req: Request) -> Response {
    let result = approved_page(p, &req)
        .await
        .map(|page| listing(page.items, page.next_token));
    p.http.respond(200, result)
}

/// `GET /pending-products` (admin): products with an image that wait for review, oldest first.
pub async fn pending_products(p: &Products, req: Request) -> Response {
    p.http.respond(200, pending_flow(p, &req).await)
}

async fn pending_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    p.admins.admin(req).await?;
    let page = pending_page(p, req).await?;
    let mut products = Vec::with_capacity(page.items.len());
    for item in page.items {
        let link = p.images.review_url(&item.object_key).await?;
        let mut view = ProductView::from(item);
        view.review_image_url = Some(link);
        products.push(view);
    }
    Ok(json!({ "products": products, "nextToken": page.next_token }))
}

/// One page of the review queue, oldest first (public so its read cost can be measured).
pub async fn pending_page(p: &Products, req: &Request) -> Result<Page<Product>, Error> {
    let q = IndexQuery {
        table: &p.config.table,
        index: STATUS_INDEX,
        pk_attr: "status",
        pk_value: Status::PendingReview.as_str().to_owned(),
        newest_first: false,
    };
    let page: PageRequest = page_request(req, 20, 100, &["id", "status", "createdAt"], &q)?;
    Ok(query_page::<Product>(&p.db, &q, page).await?)
}

/// The product as stored now (a consistent read), or `NotFound`.
async fn current(p: &Products, id: &str) -> Result<Product, Error> {
    let out =
        p.db.get_item()
            .table_name(&p.config.table)
            .set_key(Some(id_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Upstream::new(DB, e))?;
    let item = out.item.ok_or_else(|| Error::NotFound(id.to_owned()))?;
    serde_dynamo::from_item(item).map_err(|e| Upstream::internal(DB, e.to_string()).into())
}

/// Emails the seller; a failure is logged, never undoes the decision.
async fn tell_seller(p: &Products, product: &Product, subject: &str, text: &str) {
    let Some(to) = product.seller_email.as_deref() else {
        tracing::warn!(product_id = %product.id, "seller has no email; decision not sent");
        return;
    };
    if shop_core::email::send(&p.ses, &p.config.email_from, to, subject, text)
        .await
        .is_err()
    {
        tracing::error!(product_id = %product.id, "decision email failed");
    }
}

/// `POST /approve-product {id}` (admin): only a product whose checked image is under review (or
/// already approved); publishes the image, then records the approval. Approving twice is a no-op.
pub async fn approve_product(p: &Products, req: Request) -> Response {
    p.http.respond(200, approve_flow(p, &req).await)
}

async fn approve_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    let admin = p.admins.admin(req).await?;
    let id = json_body(req)?.string("id", 64)?;
    let product = current(p, &id).await?;
    if product.uploaded_at.is_none() {
        return Err(Error::ImageMissing(id));
    }
    let key = product.object_key.clone();
    let public = format!("{PUBLIC}{key}");
    p.images.copy(&format!("{REVIEW}{key}"), &public).await?;
    let out = p
        .db
        .update_item()
        .table_name(&p.config.table)
        .set_key(Some(id_key(&id)))
        .update_expression("SET isApproved = :t, #s = :approved, approvedCategory = category, imageUrl = :url, reviewedAt = :now REMOVE rejectionReason")
        .condition_expression("attribute_exists(uploadedAt) AND objectKey = :key")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .expression_attribute_values(":approved", s(Status::Approved.as_str()))
        .expression_attribute_values(":url", s(p.images.public_url(&key)))
        .expression_attribute_values(":key", s(key.clone()))
        .expression_attribute_values(":now", s(shop_core::time::now()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    let Some(out) = conditional(out)? else {
        // Rejected (or deleted) since the read: the copy just published must not stay served.
        p.images.delete(&public).await?;
        return Err(Error::ImageMissing(id));
    };
    let before: Product = serde_dynamo::from_item(out.attributes.unwrap_or_default())
        .map_err(|e| Upstream::internal(DB, e.to_string()))?;
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
    p.http.respond(200, reject_flow(p, &req).await)
}

async fn reject_flow(p: &Products, req: &Request) -> Result<serde_json::Value, Error> {
    let admin = p.admins.admin(req).await?;
    let f = json_body(req)?;
    let id = f.string("id", 64)?;
    let reason = f.string("reason", MAX_REASON)?;
    let out = p
        .db
        .update_item()
        .table_name(&p.config.table)
        .set_key(Some(id_key(&id)))
        .update_expression(
            "SET isApproved = :f, #s = :rejected, rejectionReason = :reason, reviewedAt = :now REMOVE approvedCategory, imageUrl, uploadedAt",
        )
        .condition_expression("attribute_exists(id)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .expression_attribute_values(":rejected", s(Status::Rejected.as_str()))
        .expression_attribute_values(":reason", s(reason.clone()))
        .expression_attribute_values(":now", s(shop_core::time::now()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    let new = match conditional(out)? {
        Some(o) => o.attributes.unwrap_or_default(),
        None => return Err(Error::NotFound(id)),
    };
    let product: Product = serde_dynamo::from_item(new).map_err(|e| Upstream::internal(DB, e.to_string()))?;
    // The decision is recorded first; if a delete fails the admin sees a 503 and rejecting again
    // (the same answer) deletes what is left.
    p.images.delete_everywhere(&product.object_key).await?;
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
    let mut report = sweep(
        &p.db,
        &Sweep {
            table: &p.config.table,
            index: STATUS_INDEX,
            status_attr: "status",
            stale_status: Status::AwaitingImage.as_str(),
            age_attr: "createdAt",
            cutoff: shop_core::time::ago(p.config.cleanup_max_age),
            key_attrs: &["id"],
            max_per_run: 1000,
        },
    )
    .await?;
    notify(&p.sns, &p.config.cleanup_topic_arn, "products", &mut report).await?;
    tracing::info!(
        deleted = report.deleted,
        items_read = report.items_read,
        "product cleanup done"
    );
    Ok(report)
}
