//! Product service against the emulator: the seller -> admin story, listing cost by index,
//! cleanup, bad input.

use std::time::Duration;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use aws_sdk_sfn::types::StateMachineType;
use product::model::{Product, Status};
use product::{ProductConfig, Products};
use serde_json::{json, Value};
use shop_core::images::{PUBLIC, REVIEW, UPLOADS};
use shop_core::money::Money;
use shop_core::pagination::PageRequest;
use shop_tests::{
    admin_claims, assert_error, emails_to, get, keys, listener, parts, post, provisioned, receive, s3_events,
    scan_table, sdk, unique, upload, upload_config, user_claims, PNG,
};

const SENDER: &str = "shop@example.com";

struct Fixture {
    svc: Products,
    /// The test's own DynamoDB client: seeds many products at once, scans what is left.
    db: aws_sdk_dynamodb::Client,
    events_queue: String,
    notices: String,
}

async fn fixture() -> Fixture {
    let sdk = sdk().await;
    let res = provisioned("product", SENDER, StateMachineType::Standard).await;
    let (bucket, topic) = (res.image_bucket("product").unwrap(), res.topic("cleanup").unwrap());
    let config = ProductConfig {
        uploads: upload_config(&bucket.name, shop_core::images::DEFAULT_MAX_BYTES).await,
        table: res.table("products").unwrap().to_owned(),
        cleanup_topic_arn: topic.to_owned(),
        cleanup_max_age: Duration::from_secs(3600),
        email_from: res.email_from.clone(),
    };
    Fixture {
        svc: Products::new(&sdk, config),
        db: aws_sdk_dynamodb::Client::new(&sdk),
        events_queue: bucket.events_queue.clone(),
        notices: listener(topic).await,
    }
}

struct Seller {
    email: String,
    claims: Value,
}

fn seller() -> Seller {
    let sub = unique("seller");
    let email = format!("{sub}@example.com");
    Seller {
        claims: user_claims(&sub, &email),
        email,
    }
}

fn admin() -> Option<Value> {
    Some(admin_claims(&unique("admin")))
}

fn new_product(name: &str) -> Value {
    json!({"fileName": "shoes.png", "fileType": "image/png", "productName": name, "productPrice": 19.99,
           "description": "I love it.", "quantity": 40, "category": "Clothes"})
}

impl Fixture {
    /// Seller creates a product and uploads its image for real; the bucket's event attaches it.
    async fn product_with_image(&self, seller: &Seller, name: &str) -> String {
        let (s, b) = parts(
            &product::get_upload_url(
                &self.svc,
                post("/get-upload-url", &new_product(name), Some(seller.claims.clone())),
            )
            .await,
        );
        assert_eq!(s, 200, "{b}");
        assert_eq!(upload(b["uploadUrl"].as_str().unwrap(), "image/png", PNG).await, 200);
        let events = s3_events(&sdk().await, &self.events_queue, 1).await;
        assert_eq!(events.len(), 1, "no S3 event");
        let report = product::image_uploaded(&self.svc, events[0].clone()).await.unwrap();
        assert_eq!(report.recorded, 1);
        b["productId"].as_str().unwrap().to_owned()
    }

    /// Product `id` as stored now (a consistent read).
    async fn stored(&self, id: &str) -> Option<Product> {
        self.svc.products.current(id).await.unwrap()
    }

    async fn approved(&self, query: &[(&str, &str)]) -> Value {
        let (s, b) = parts(&product::approved_products(&self.svc, get("/approve-products", query, None)).await);
        assert_eq!(s, 200, "{b}");
        b
    }

    async fn pending(&self) -> Value {
        let (s, b) = parts(&product::pending_products(&self.svc, get("/pending-products", &[], admin())).await);
        assert_eq!(s, 200, "{b}");
        b
    }

    async fn decide(&self, route: &str, body: Value, claims: Option<Value>) -> shop_core::Response {
        let req = post(route, &body, claims);
        match route {
            "/approve-product" => product::approve_product(&self.svc, req).await,
            _ => product::reject_product(&self.svc, req).await,
        }
    }

    async fn put_products(&self, products: Vec<Product>) {
        for chunk in products.chunks(25) {
            let writes = chunk
                .iter()
                .map(|p| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(serde_dynamo::to_item(p).unwrap()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            self.db
                .batch_write_item()
                .request_items(&self.svc.config.table, writes)
                .send()
                .await
                .unwrap();
        }
    }
}

fn stored(i: usize, status: Status, age: Duration, category: &str) -> Product {
    let approved = status == Status::Approved;
    Product {
        product_name: format!("product {i}"),
        product_price: Money::from_cents(1000 + i as i64),
        category: category.into(),
        approved_category: approved.then(|| category.to_owned()),
        seller_id: "s".into(),
        ..shop_tests::sample_product(&format!("p-{i:05}"), status, age)
    }
}

#[tokio::test]
async fn a_seller_product_is_reviewed_approved_and_listed() {
    let f = fixture().await;
    let s = seller();
    let id = f.product_with_image(&s, "gucci").await;

    assert_eq!(f.approved(&[]).await["products"], json!([]), "listed before approval");
    let pending = f.pending().await;
    assert_eq!(pending["products"].as_array().unwrap().len(), 1);
    assert_eq!(pending["products"][0]["id"], id.as_str());

    let resp = f.decide("/approve-product", json!({"id": id}), admin()).await;
    assert_eq!(parts(&resp).0, 200, "{}", parts(&resp).1);
    let listed = f.approved(&[]).await;
    let p = &listed["products"][0];
    assert_eq!(p["id"], id.as_str());
    assert_eq!(p["productName"], "gucci");
    assert_eq!(p["productPrice"].to_string(), "19.99");
    assert_eq!(p["quantity"], 40);
    assert_eq!(p["isApproved"], true);
    assert!(p["imageUrl"].as_str().unwrap().ends_with("/shoes.png"));
    let mut fields: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "category",
            "createdAt",
            "description",
            "id",
            "imageUrl",
            "isApproved",
            "productName",
            "productPrice",
            "quantity"
        ],
        "the public product JSON is exactly the spec's fields"
    );
    assert!(p.get("sellerEmail").is_none() && p.get("email").is_none());
    assert_eq!(f.pending().await["products"], json!([]));
    assert_eq!(
        f.approved(&[("category", "Clothes")]).await["products"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(f.approved(&[("category", "Shoes")]).await["products"], json!([]));

    // Approving twice is fine and sends no second email.
    assert_eq!(
        parts(&f.decide("/approve-product", json!({"id": id}), admin()).await).0,
        200
    );
    let mails = emails_to(&s.email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].subject.contains("approved"), "{mails:?}");
    assert_eq!(mails[0].from, SENDER);
}

#[tokio::test]
async fn a_rejected_product_is_not_listed_and_the_seller_learns_why() {
    let f = fixture().await;
    let s = seller();
    let id = f.product_with_image(&s, "fake watch").await;
    let resp = f
        .decide("/reject-product", json!({"id": id, "reason": "counterfeit"}), admin())
        .await;
    assert_eq!(parts(&resp).0, 200);
    assert_eq!(f.approved(&[]).await["products"], json!([]));
    assert_eq!(f.pending().await["products"], json!([]));
    // Kept, not deleted: rejected, with the reason the seller was told.
    let stored = f.stored(&id).await.expect("a rejected product is kept");
    assert_eq!(stored.status, Status::Rejected);
    assert_eq!(stored.rejection_reason.as_deref(), Some("counterfeit"));
    assert!(!stored.is_approved);
    let mails = emails_to(&s.email).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains("counterfeit"), "{mails:?}");
    // Its image is gone from every place, and it cannot be approved any more.
    let left: Vec<String> = keys(&f.svc.catalog.images.s3, &f.svc.catalog.images.config.bucket)
        .await
        .into_iter()
        .filter(|k| k.contains(&id))
        .collect();
    assert!(left.is_empty(), "a rejected product's objects remain: {left:?}");
    assert_error(
        &f.decide("/approve-product", json!({"id": id}), admin()).await,
        409,
        "ImageMissing",
    );
}

#[tokio::test]
async fn a_product_image_is_reviewed_privately_and_public_only_once_approved() {
    let f = fixture().await;
    let id = f.product_with_image(&seller(), "lamp").await;
    let key = format!("{id}/shoes.png");
    let bucket_keys = || async { keys(&f.svc.catalog.images.s3, &f.svc.catalog.images.config.bucket).await };
    assert!(bucket_keys().await.contains(&format!("{REVIEW}{key}")));
    assert!(
        !bucket_keys().await.iter().any(|k| k.starts_with(PUBLIC)),
        "published before approval"
    );

    let pending = f.pending().await;
    let p = &pending["products"][0];
    assert!(p["imageUrl"].is_null(), "a public URL before approval: {p}");
    let link = p["reviewImageUrl"].as_str().expect("a review link");
    assert!(
        link.contains("X-Amz-Signature=") && link.contains("X-Amz-Expires=300"),
        "{link}"
    );
    let fetched = reqwest::get(link).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(&fetched.bytes().await.unwrap()[..], PNG);

    assert_eq!(
        parts(&f.decide("/approve-product", json!({"id": id}), admin()).await).0,
        200
    );
    assert!(bucket_keys().await.contains(&format!("{PUBLIC}{key}")));
    let listed = f.approved(&[]).await;
    let url = listed["products"][0]["imageUrl"].as_str().unwrap();
    assert!(url.ends_with(&format!("/{PUBLIC}{key}")), "{url}");
    assert!(listed["products"][0].get("reviewImageUrl").is_none());
}

#[tokio::test]
async fn an_image_uploaded_again_after_the_product_went_to_review_never_replaces_the_reviewed_one() {
    let f = fixture().await;
    let id = f.product_with_image(&seller(), "lamp").await;
    let key = format!("{id}/shoes.png");
    let images = &f.svc.catalog.images;
    let review_key = format!("{REVIEW}{key}");
    let reviewed = || shop_tests::object_bytes(&images.s3, &images.config.bucket, &review_key);
    assert_eq!(&reviewed().await[..], PNG);
    // The seller replays the upload URL with another valid image: checked, but nothing waits.
    let mut other = PNG.to_vec();
    other.extend_from_slice(b"another picture");
    let (s3, bucket) = (&images.s3, &images.config.bucket);
    shop_tests::put_bytes(s3, bucket, &format!("{UPLOADS}{key}"), "image/png", &other).await;
    let events = s3_events(&sdk().await, &f.events_queue, 1).await;
    let report = product::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!((report.recorded, report.ignored), (0, 1), "{report:?}");
    assert_eq!(&reviewed().await[..], PNG, "the image under review was replaced");
}

/// Approval publishes the review copy that was made from the checked upload, and no other: one
/// swapped in under `review/` afterwards (by whoever could write there) is never published, and
/// the product stays unapproved.
#[tokio::test]
async fn a_review_copy_swapped_after_it_was_made_is_never_published() {
    let f = fixture().await;
    let id = f.product_with_image(&seller(), "vase").await;
    let key = format!("{id}/shoes.png");
    let images = &f.svc.catalog.images;
    let swapped = b"<svg onload=alert(1)>";
    let (s3, bucket) = (&images.s3, &images.config.bucket);
    shop_tests::put_bytes(s3, bucket, &format!("{REVIEW}{key}"), "image/png", swapped).await;
    assert_error(
        &f.decide("/approve-product", json!({"id": id}), admin()).await,
        409,
        "ImageMissing",
    );
    let published = images
        .s3
        .head_object()
        .bucket(&images.config.bucket)
        .key(format!("{PUBLIC}{key}"))
        .send()
        .await;
    assert!(published.is_err(), "the swapped review copy was published");
    assert_eq!(f.approved(&[]).await["products"], json!([]));
}

#[tokio::test]
async fn only_admins_review_products() {
    let f = fixture().await;
    let s = seller();
    let id = f.product_with_image(&s, "bag").await;
    let user = Some(s.claims.clone());
    assert_error(
        &f.decide("/approve-product", json!({"id": id}), user.clone()).await,
        403,
        "Forbidden",
    );
    assert_error(
        &f.decide("/reject-product", json!({"id": id, "reason": "x"}), user.clone())
            .await,
        403,
        "Forbidden",
    );
    assert_error(
        &f.decide("/approve-product", json!({"id": id}), None).await,
        401,
        "Unauthorized",
    );
    assert_error(
        &product::pending_products(&f.svc, get("/pending-products", &[], user)).await,
        403,
        "Forbidden",
    );
    assert_eq!(f.approved(&[]).await["products"], json!([]));
}

#[tokio::test]
async fn approval_needs_an_existing_product_with_an_image() {
    let f = fixture().await;
    let s = seller();
    let (_, b) = parts(
        &product::get_upload_url(
            &f.svc,
            post("/get-upload-url", &new_product("no image"), Some(s.claims.clone())),
        )
        .await,
    );
    let id = b["productId"].as_str().unwrap();
    assert_error(
        &f.decide("/approve-product", json!({"id": id}), admin()).await,
        409,
        "ImageMissing",
    );
    assert_error(
        &f.decide("/approve-product", json!({"id": "nope"}), admin()).await,
        404,
        "ProductNotFound",
    );
    assert_error(
        &f.decide("/reject-product", json!({"id": "nope", "reason": "x"}), admin())
            .await,
        404,
        "ProductNotFound",
    );
    assert_error(
        &f.decide("/reject-product", json!({"id": id}), admin()).await,
        400,
        "MissingField",
    );
    assert_error(
        &f.decide("/approve-product", json!({"id": 5}), admin()).await,
        400,
        "InvalidField",
    );
}

#[tokio::test]
async fn two_sellers_uploading_the_same_file_name_do_not_collide() {
    let f = fixture().await;
    let (a, b) = (seller(), seller());
    let (_, ra) =
        parts(&product::get_upload_url(&f.svc, post("/get-upload-url", &new_product("a"), Some(a.claims))).await);
    let (_, rb) =
        parts(&product::get_upload_url(&f.svc, post("/get-upload-url", &new_product("b"), Some(b.claims))).await);
    let path = |v: &Value| v["uploadUrl"].as_str().unwrap().split('?').next().unwrap().to_owned();
    assert_ne!(path(&ra), path(&rb));
    assert!(path(&ra).contains(ra["productId"].as_str().unwrap()));
}

#[tokio::test]
async fn get_upload_url_rejects_bad_input_with_4xx() {
    let f = fixture().await;
    let s = seller();
    assert_error(
        &product::get_upload_url(&f.svc, post("/get-upload-url", &new_product("x"), None)).await,
        401,
        "Unauthorized",
    );
    let mut cases = Vec::new();
    for (field, value, code) in [
        ("productPrice", json!(0), "InvalidField"),
        ("productPrice", json!(-3), "InvalidField"),
        ("productPrice", json!(19.999), "InvalidField"),
        ("productPrice", json!("19.99"), "InvalidField"),
        ("quantity", json!(0), "InvalidField"),
        ("quantity", json!(2.5), "InvalidField"),
        ("quantity", json!(-1), "InvalidField"),
        ("quantity", json!(10_000_000), "InvalidField"),
        ("fileType", json!("application/pdf"), "InvalidField"),
        ("fileName", json!("../../x.png"), "InvalidField"),
        ("productName", json!(""), "InvalidField"),
        ("description", json!("d".repeat(2001)), "InvalidField"),
        ("category", json!(null), "MissingField"),
    ] {
        let mut body = new_product("x");
        body[field] = value;
        cases.push((body, code));
    }
    for (body, code) in cases {
        let resp = product::get_upload_url(&f.svc, post("/get-upload-url", &body, Some(s.claims.clone()))).await;
        assert_error(&resp, 400, code);
    }
    let scan = scan_table(&f.db, &f.svc.config.table).await;
    assert_eq!(scan.count(), 0, "a rejected request created a product");
    let long = "c".repeat(65);
    assert_error(
        &product::approved_products(&f.svc, get("/approve-products", &[("category", &long)], None)).await,
        400,
        "InvalidQueryParameter",
    );
    assert_error(
        &product::approved_products(&f.svc, get("/approve-products", &[("nextToken", "zzz")], None)).await,
        400,
        "InvalidPageToken",
    );
}

#[tokio::test]
async fn the_approved_listing_reads_the_page_not_the_table() {
    let f = fixture().await;
    let mut all = Vec::new();
    for i in 0..2000 {
        let status = if i % 100 == 0 {
            Status::Approved
        } else if i % 2 == 0 {
            Status::PendingReview
        } else {
            Status::AwaitingImage
        };
        let category = if i % 200 == 0 { "Shoes" } else { "Clothes" };
        all.push(stored(i, status, Duration::from_secs(10 + i as u64), category));
    }
    f.put_products(all).await;

    let first = |limit| PageRequest { limit, start: None };
    let page = f
        .svc
        .products
        .page(&f.svc.products.approved(None), first(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 20);
    assert!(
        page.items_read <= 21,
        "read {} items for 20 approved of 2,000",
        page.items_read
    );
    assert!(page.next_token.is_none());

    let page = f
        .svc
        .products
        .page(&f.svc.products.approved(None), first(5))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.items_read), (5, 5));
    assert!(page.next_token.is_some());

    let page = f
        .svc
        .products
        .page(&f.svc.products.approved(Some("Shoes".into())), first(20))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.items_read), (10, 10));
    assert!(page.items.iter().all(|p| p.category == "Shoes" && p.is_approved));
}

#[tokio::test]
async fn cleanup_removes_exactly_the_stale_products_without_an_image_and_notifies_once() {
    let f = fixture().await;
    let hours = |h: u64| Duration::from_secs(h * 3600);
    f.put_products(vec![
        stored(1, Status::AwaitingImage, hours(2), "c"),
        stored(2, Status::AwaitingImage, hours(30), "c"),
        stored(3, Status::AwaitingImage, Duration::from_secs(120), "c"),
        stored(4, Status::PendingReview, hours(5), "c"),
        stored(5, Status::Approved, hours(5), "c"),
        stored(6, Status::Rejected, hours(5), "c"),
    ])
    .await;
    let report = product::cleanup(&f.svc, json!({})).await.unwrap();
    assert_eq!((report.deleted, report.items_read, report.notified), (2, 2, true));
    let scan = scan_table(&f.db, &f.svc.config.table).await;
    let mut left: Vec<String> = scan.items().iter().map(|i| i["id"].as_s().unwrap().clone()).collect();
    left.sort();
    assert_eq!(left, ["p-00003", "p-00004", "p-00005", "p-00006"]);
    let sdk = sdk().await;
    assert_eq!(
        receive(&sdk, &f.notices, 1, Duration::from_secs(5)).await,
        ["Cleanup completed. Deleted 2 outdated products"]
    );
    let second = product::cleanup(&f.svc, json!({})).await.unwrap();
    assert_eq!((second.deleted, second.notified), (0, false));
    assert!(receive(&sdk, &f.notices, 1, Duration::from_secs(2)).await.is_empty());
}

#[tokio::test]
async fn the_review_queue_is_oldest_first_and_the_shop_newest_first() {
    let f = fixture().await;
    let s = seller();
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        ids.push(f.product_with_image(&s, name).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed = |page: &Value, key: &str| -> Vec<String> {
        page["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[key].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed(&f.pending().await, "id"), ids, "pending: oldest first");
    for id in &ids {
        assert_eq!(
            parts(&f.decide("/approve-product", json!({"id": id}), admin()).await).0,
            200
        );
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(
        listed(&f.approved(&[]).await, "id"),
        newest_first,
        "approved: newest first"
    );
}

#[tokio::test]
async fn a_seller_whose_email_is_not_verified_is_never_emailed() {
    let f = fixture().await;
    let mut s = seller();
    s.claims["email_verified"] = json!("false");
    let id = f.product_with_image(&s, "quiet").await;
    assert_eq!(
        parts(&f.decide("/approve-product", json!({"id": id}), admin()).await).0,
        200
    );
    let stored = f.stored(&id).await.unwrap();
    assert_eq!(stored.seller_email, None, "an unproven address was stored");
    assert!(emails_to(&s.email).await.is_empty());
}
