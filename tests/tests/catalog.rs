//! Banner and category services against the emulator: presigned uploads with real PUTs, S3
//! events taken from the buckets' notification queues, the check and publishing of uploads,
//! listings, cleanup with SNS.

use std::time::Duration;

use aws_lambda_events::s3::S3Event;
use aws_sdk_sfn::types::StateMachineType::Standard;
use banner::{BannerConfig, Banners};
use category::{Categories, Category, CategoryConfig};
use serde_json::{json, Value};
use shop_core::images::{PUBLIC, UPLOADS};
use shop_local::provision;
use shop_tests::{
    admin_claims, assert_error, get, keys, listener, parts, post, provisioned, receive, s3_events, scan_table, sdk,
    unique, upload, upload_config, user_claims, PNG,
};

const SENDER: &str = "shop@example.com";

/// The fixtures' bound on uploads (small, so an oversized one costs nothing to send).
const MAX_BYTES: u64 = 1024;

struct BannerFixture {
    svc: Banners,
    events_queue: String,
}

async fn banners() -> BannerFixture {
    let res = provisioned("banner", SENDER, Standard).await;
    let bucket = res.image_bucket("banner").unwrap();
    let config = BannerConfig {
        uploads: upload_config(&bucket.name, MAX_BYTES).await,
        table: res.table("banners").unwrap().to_owned(),
    };
    BannerFixture {
        svc: Banners::new(&sdk().await, config),
        events_queue: bucket.events_queue.clone(),
    }
}

struct CategoryFixture {
    svc: Categories,
    /// The test's own DynamoDB client: probes raw items, races the cleanup.
    db: aws_sdk_dynamodb::Client,
    events_queue: String,
    notices: String,
}

async fn categories() -> CategoryFixture {
    let sdk = sdk().await;
    let res = provisioned("category", SENDER, Standard).await;
    let (bucket, topic) = (res.image_bucket("category").unwrap(), res.topic("cleanup").unwrap());
    let config = CategoryConfig {
        uploads: upload_config(&bucket.name, MAX_BYTES).await,
        table: res.table("categories").unwrap().to_owned(),
        cleanup_topic_arn: topic.to_owned(),
        cleanup_max_age: Duration::from_secs(3600),
    };
    CategoryFixture {
        svc: Categories::new(&sdk, config),
        db: aws_sdk_dynamodb::Client::new(&sdk),
        events_queue: bucket.events_queue.clone(),
        notices: listener(topic).await,
    }
}

/// The bucket is private (served by the CDN on AWS), so read the object through the SDK: the
/// published copy holds the uploaded bytes and `image_url` names it.
async fn assert_image_url_names_the_published_upload(images: &shop_core::images::Images, image_url: &str) {
    let bucket = &images.config.bucket;
    let public: Vec<String> = keys(&images.s3, bucket)
        .await
        .into_iter()
        .filter(|k| k.starts_with(PUBLIC))
        .collect();
    assert_eq!(public.len(), 1, "{public:?}");
    let body = shop_tests::object_bytes(&images.s3, bucket, &public[0]).await;
    assert_eq!(&body[..], PNG, "published object differs from the upload");
    let encoded = shop_core::images::public_url("", &public[0]);
    assert!(image_url.ends_with(&encoded), "{image_url} does not name {}", public[0]);
}

/// Puts `body` at `uploads/<key>` as a client's PUT would, and answers the S3 event for it.
async fn uploaded(images: &shop_core::images::Images, key: &str, content_type: &str, body: &[u8]) -> S3Event {
    uploaded_with(images, key, content_type, body, |put| put).await
}

/// [`uploaded`], with the headers `extra` adds to the PUT (what a client may add unsigned).
async fn uploaded_with(
    images: &shop_core::images::Images,
    key: &str,
    content_type: &str,
    body: &[u8],
    extra: impl FnOnce(
        aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
) -> S3Event {
    let full = format!("{UPLOADS}{key}");
    let put = images
        .s3
        .put_object()
        .bucket(&images.config.bucket)
        .key(&full)
        .content_type(content_type)
        .body(body.to_vec().into());
    extra(put).send().await.unwrap();
    event(&images.config.bucket, &[&full])
}

fn admin() -> Option<Value> {
    Some(admin_claims(&unique("admin")))
}

/// An S3 event for `keys` in `bucket`, shaped as the emulator delivers it (keys URL-encoded).
fn event(bucket: &str, keys: &[&str]) -> S3Event {
    let records: Vec<Value> = keys
        .iter()
        .map(|k| {
            let encoded = k.replace(' ', "+");
            json!({"eventName": "ObjectCreated:Put", "eventTime": "2026-01-01T00:00:00.000",
                   "s3": {"bucket": {"name": bucket}, "object": {"key": encoded, "size": 3}}})
        })
        .collect();
    shop_local::bridge::s3_event(&json!({ "Records": records }).to_string()).unwrap()
}

#[tokio::test]
async fn a_banner_uploaded_through_its_presigned_url_appears_in_the_listing() {
    let f = banners().await;
    let resp = banner::upload_url(
        &f.svc,
        post(
            "/upload-url",
            &json!({"fileName": "summer sale.png", "fileType": "image/png"}),
            admin(),
        ),
    )
    .await;
    let (s, b) = parts(&resp);
    assert_eq!(s, 200, "{b}");
    let url = b["uploadURL"].as_str().unwrap();
    assert_eq!(upload(url, "image/png", PNG).await, 200);

    let events = s3_events(&sdk().await, &f.events_queue, 1).await;
    assert_eq!(events.len(), 1, "the bucket notification delivered no event");
    let report = banner::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!(report.recorded, 1);

    let (s, list) = parts(&banner::list_banners(&f.svc, get("/banners", &[], None)).await);
    assert_eq!(s, 200);
    let banners = list["banners"].as_array().unwrap();
    assert_eq!(banners.len(), 1, "{list}");
    assert_eq!(banners[0]["fileName"], "summer sale.png");
    assert!(banners[0]["uploadedAt"].is_string());
    let image_url = banners[0]["imageUrl"].as_str().unwrap();
    assert!(image_url.ends_with("/summer%20sale.png"), "{image_url}");
    assert_image_url_names_the_published_upload(&f.svc.catalog.images, image_url).await;

    // The same event again changes nothing.
    let again = banner::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!((again.recorded, again.ignored), (0, 1));
    let (_, list) = parts(&banner::list_banners(&f.svc, get("/banners", &[], None)).await);
    assert_eq!(list["banners"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_published_image_carries_the_checked_type_and_our_cache_control_never_the_uploaders_headers() {
    let f = banners().await;
    let images = &f.svc.catalog.images;
    // The uploader adds headers the presigned URL does not sign: a year of caching, a download
    // disposition, an encoding.
    let key = format!("{}/sneaky.png", uuid::Uuid::new_v4());
    let ev = uploaded_with(images, &key, "image/png", PNG, |put| {
        put.cache_control("public, max-age=31536000, immutable")
            .content_disposition("attachment; filename=evil.html")
            .content_encoding("gzip")
    })
    .await;
    let report = banner::image_uploaded(&f.svc, ev).await.unwrap();
    assert_eq!(report.recorded, 1, "{report:?}");
    let head = images
        .s3
        .head_object()
        .bucket(&images.config.bucket)
        .key(format!("{PUBLIC}{key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("image/png"));
    assert_eq!(head.cache_control(), Some(shop_core::images::IMAGE_CACHE_CONTROL));
    assert_eq!(head.content_disposition(), None);
    assert_eq!(head.content_encoding(), None);
}

#[tokio::test]
async fn an_upload_replaced_between_its_check_and_its_copy_is_never_published() {
    let f = banners().await;
    let images = &f.svc.catalog.images;
    let key = format!("{}/swap.png", uuid::Uuid::new_v4());
    uploaded(images, &key, "image/png", PNG).await;
    let (verdict, etag) = images.verify(&key).await.unwrap();
    let shop_core::images::Verdict::Image(kind) = verdict else {
        panic!("{verdict:?}")
    };
    // A replayed presigned PUT lands after the check, before the copy: any bytes.
    uploaded(images, &key, "image/png", b"<script>not an image</script>").await;
    let checked = shop_core::images::Checked { kind, etag };
    let public = format!("{PUBLIC}{key}");
    let copied = images
        .copy(
            &format!("{UPLOADS}{key}"),
            &public,
            shop_core::images::CopyOf::Checked(&checked),
        )
        .await
        .unwrap();
    assert_eq!(copied, None, "the swapped object was copied");
    assert!(keys(&images.s3, &images.config.bucket)
        .await
        .iter()
        .all(|k| k != &public));
}

#[tokio::test]
async fn two_uploads_of_the_same_file_name_get_different_keys() {
    let f = banners().await;
    let body = json!({"fileName": "b.png", "fileType": "image/png"});
    let (_, a) = parts(&banner::upload_url(&f.svc, post("/upload-url", &body, admin())).await);
    let (_, b) = parts(&banner::upload_url(&f.svc, post("/upload-url", &body, admin())).await);
    let path = |v: &Value| v["uploadURL"].as_str().unwrap().split('?').next().unwrap().to_owned();
    assert_ne!(path(&a), path(&b));
}

#[tokio::test]
async fn banner_upload_url_needs_an_admin() {
    let f = banners().await;
    let body = json!({"fileName": "b.png", "fileType": "image/png"});
    assert_error(
        &banner::upload_url(&f.svc, post("/upload-url", &body, None)).await,
        401,
        "Unauthorized",
    );
    let user = Some(user_claims("u1", "u1@example.com"));
    assert_error(
        &banner::upload_url(&f.svc, post("/upload-url", &body, user)).await,
        403,
        "Forbidden",
    );
}

#[tokio::test]
async fn banner_upload_url_rejects_bad_input_with_400() {
    let f = banners().await;
    let cases = [
        (json!({"fileType": "image/png"}), "MissingField"),
        (json!({"fileName": "b.png"}), "MissingField"),
        (json!({"fileName": "b.html", "fileType": "text/html"}), "InvalidField"),
        (
            json!({"fileName": "../../etc/passwd", "fileType": "image/png"}),
            "InvalidField",
        ),
        (json!({"fileName": "a/b.png", "fileType": "image/png"}), "InvalidField"),
        (json!({"fileName": 7, "fileType": "image/png"}), "InvalidField"),
        (json!({"fileName": "", "fileType": "image/png"}), "InvalidField"),
        (
            json!({"fileName": "x".repeat(300), "fileType": "image/png"}),
            "InvalidField",
        ),
    ];
    for (body, code) in cases {
        let resp = banner::upload_url(&f.svc, post("/upload-url", &body, admin())).await;
        assert_error(&resp, 400, code);
    }
    let raw = shop_tests::api_request("POST", "/upload-url", Some("{oops"), admin());
    assert_error(&banner::upload_url(&f.svc, raw).await, 400, "MalformedJson");
}

#[tokio::test]
async fn banner_listing_is_empty_then_paginates_newest_first() {
    let f = banners().await;
    let (s, b) = parts(&banner::list_banners(&f.svc, get("/banners", &[], None)).await);
    assert_eq!((s, b["banners"].as_array().map(Vec::len)), (200, Some(0)));
    assert!(b["nextToken"].is_null());

    for k in ["k1/one.png", "k2/two.png", "k3/three.png"] {
        let ev = uploaded(&f.svc.catalog.images, k, "image/png", PNG).await;
        assert_eq!(banner::image_uploaded(&f.svc, ev).await.unwrap().recorded, 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, p1) = parts(&banner::list_banners(&f.svc, get("/banners", &[("limit", "2")], None)).await);
    let names: Vec<&str> = p1["banners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["three.png", "two.png"]);
    let token = p1["nextToken"].as_str().unwrap();
    let (_, p2) =
        parts(&banner::list_banners(&f.svc, get("/banners", &[("limit", "2"), ("nextToken", token)], None)).await);
    let names: Vec<&str> = p2["banners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one.png"]);

    assert_error(
        &banner::list_banners(&f.svc, get("/banners", &[("nextToken", "garbage!")], None)).await,
        400,
        "InvalidPageToken",
    );
    for bad in ["0", "-1", "abc", "1000"] {
        assert_error(
            &banner::list_banners(&f.svc, get("/banners", &[("limit", bad)], None)).await,
            400,
            "InvalidQueryParameter",
        );
    }
}

#[tokio::test]
async fn a_category_uploaded_through_its_presigned_url_appears_in_the_listing() {
    let f = categories().await;
    let body = json!({"fileName": "fashion 1.png", "fileType": "image/png", "categoryName": "Fashion"});
    let (s, b) = parts(&category::upload_url(&f.svc, post("/upload-url", &body, admin())).await);
    assert_eq!(s, 200, "{b}");
    // Waiting for its image, the category is not listed yet.
    let (_, list) = parts(&category::list_categories(&f.svc, get("/categories", &[], None)).await);
    assert_eq!(list, json!([]));

    assert_eq!(upload(b["uploadUrl"].as_str().unwrap(), "image/png", PNG).await, 200);
    let events = s3_events(&sdk().await, &f.events_queue, 1).await;
    assert_eq!(events.len(), 1);
    let report = category::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!(report.recorded, 1);

    let (s, list) = parts(&category::list_categories(&f.svc, get("/categories", &[], None)).await);
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["categoryName"], "Fashion");
    let image_url = list[0]["imageUrl"].as_str().unwrap();
    assert_image_url_names_the_published_upload(&f.svc.catalog.images, image_url).await;

    // The same event again changes nothing and keeps the published image.
    let again = category::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!((again.recorded, again.ignored), (0, 1));
    assert_image_url_names_the_published_upload(&f.svc.catalog.images, image_url).await;
}

#[tokio::test]
async fn an_existing_category_name_is_409() {
    let f = categories().await;
    let body = json!({"fileName": "a.png", "fileType": "image/png", "categoryName": "Shoes"});
    assert_eq!(
        parts(&category::upload_url(&f.svc, post("/upload-url", &body, admin())).await).0,
        200
    );
    assert_error(
        &category::upload_url(&f.svc, post("/upload-url", &body, admin())).await,
        409,
        "CategoryExists",
    );
}

#[tokio::test]
async fn category_upload_url_rejects_bad_input_and_non_admins() {
    let f = categories().await;
    let good = json!({"fileName": "a.png", "fileType": "image/png", "categoryName": "Shoes"});
    assert_error(
        &category::upload_url(&f.svc, post("/upload-url", &good, None)).await,
        401,
        "Unauthorized",
    );
    let user = Some(user_claims("u1", "u1@example.com"));
    assert_error(
        &category::upload_url(&f.svc, post("/upload-url", &good, user)).await,
        403,
        "Forbidden",
    );
    let cases = [
        (json!({"fileName": "a.png", "fileType": "image/png"}), "MissingField"),
        (
            json!({"fileName": "a.png", "fileType": "image/png", "categoryName": "  "}),
            "InvalidField",
        ),
        (
            json!({"fileName": "a.png", "fileType": "image/png", "categoryName": ["x"]}),
            "InvalidField",
        ),
        (
            json!({"fileName": "a.png", "fileType": "image/png", "categoryName": "x".repeat(65)}),
            "InvalidField",
        ),
        (
            json!({"fileName": "a.svg", "fileType": "image/svg+xml", "categoryName": "Shoes"}),
            "InvalidField",
        ),
        (
            json!({"fileName": "..\\a.png", "fileType": "image/png", "categoryName": "Shoes"}),
            "InvalidField",
        ),
    ];
    for (body, code) in cases {
        assert_error(
            &category::upload_url(&f.svc, post("/upload-url", &body, admin())).await,
            400,
            code,
        );
    }
}

#[tokio::test]
async fn an_image_with_no_waiting_category_is_ignored_and_not_left_published() {
    let f = categories().await;
    let unknown = category::object_key("Nobody", "x.png");
    let ev = uploaded(&f.svc.catalog.images, &unknown, "image/png", PNG).await;
    let report = category::image_uploaded(&f.svc, ev).await.unwrap();
    assert_eq!((report.recorded, report.ignored, report.rejected), (0, 1, 0));
    let odd = uploaded(&f.svc.catalog.images, "not-our-shape", "image/png", PNG).await;
    let outside = event(&f.svc.catalog.images.config.bucket, &["public/elsewhere/x.png"]);
    for ev in [odd, outside] {
        let report = category::image_uploaded(&f.svc, ev).await.unwrap();
        assert_eq!((report.recorded, report.ignored), (0, 1));
    }
    let scan = scan_table(&f.db, &f.svc.config.table).await;
    assert_eq!(scan.count(), 0, "an ignored event created a record");
    let published: Vec<String> = keys(&f.svc.catalog.images.s3, &f.svc.catalog.images.config.bucket)
        .await
        .into_iter()
        .filter(|k| k.starts_with(PUBLIC))
        .collect();
    assert!(
        published.is_empty(),
        "an image nobody waits for stays served: {published:?}"
    );
}

#[tokio::test]
async fn an_oversized_upload_is_deleted_and_never_recorded() {
    let f = banners().await;
    let mut big = PNG.to_vec();
    big.resize(MAX_BYTES as usize + 1, 0);
    let ev = uploaded(&f.svc.catalog.images, "b1/big.png", "image/png", &big).await;
    let report = banner::image_uploaded(&f.svc, ev).await.unwrap();
    assert_eq!((report.recorded, report.rejected), (0, 1));
    assert!(
        keys(&f.svc.catalog.images.s3, &f.svc.catalog.images.config.bucket)
            .await
            .is_empty(),
        "the oversized upload was kept"
    );
    let (_, list) = parts(&banner::list_banners(&f.svc, get("/banners", &[], None)).await);
    assert_eq!(list["banners"], json!([]));
    // Exactly at the bound is fine.
    let mut fits = PNG.to_vec();
    fits.resize(MAX_BYTES as usize, 0);
    let ev = uploaded(&f.svc.catalog.images, "b2/fits.png", "image/png", &fits).await;
    assert_eq!(banner::image_uploaded(&f.svc, ev).await.unwrap().recorded, 1);
}

#[tokio::test]
async fn a_non_image_with_an_image_content_type_is_deleted_and_its_category_keeps_waiting() {
    let f = categories().await;
    let body = json!({"fileName": "x.png", "fileType": "image/png", "categoryName": "Sneaky"});
    let (s, b) = parts(&category::upload_url(&f.svc, post("/upload-url", &body, admin())).await);
    assert_eq!(s, 200, "{b}");
    let html = b"<html><script>alert(document.cookie)</script></html>";
    assert_eq!(upload(b["uploadUrl"].as_str().unwrap(), "image/png", html).await, 200);
    let events = s3_events(&sdk().await, &f.events_queue, 1).await;
    assert_eq!(events.len(), 1);
    let report = category::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!((report.recorded, report.rejected), (0, 1));
    assert!(keys(&f.svc.catalog.images.s3, &f.svc.catalog.images.config.bucket)
        .await
        .is_empty());
    let (_, list) = parts(&category::list_categories(&f.svc, get("/categories", &[], None)).await);
    assert_eq!(list, json!([]));
    let item = stored_category(&f, "Sneaky")
        .await
        .expect("the category is kept, waiting");
    assert_eq!(item["status"].as_s().unwrap(), category::Status::AwaitingImage.as_str());
    // A real image of another type than the one declared is refused too; an empty object as well.
    let gif = b"GIF89a\x01\0\x01\0\0\0\0;";
    for (ctype, bytes) in [("image/png", &gif[..]), ("image/png", &b""[..])] {
        let ev = uploaded(
            &f.svc.catalog.images,
            &category::object_key("Sneaky", "x.png"),
            ctype,
            bytes,
        )
        .await;
        assert_eq!(category::image_uploaded(&f.svc, ev).await.unwrap().rejected, 1);
    }
}

#[tokio::test]
async fn a_stated_file_size_is_bounded_and_signed_into_the_upload_url() {
    let f = banners().await;
    let ask = |size: Value| json!({"fileName": "s.png", "fileType": "image/png", "fileSize": size});
    let (s, b) = parts(&banner::upload_url(&f.svc, post("/upload-url", &ask(json!(MAX_BYTES)), admin())).await);
    assert_eq!(s, 200, "{b}");
    let url = b["uploadURL"].as_str().unwrap();
    let signed = url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(signed.contains("content-length"), "{signed}");
    for bad in [json!(MAX_BYTES + 1), json!(0), json!("12"), json!(1.5), json!(-3)] {
        assert_error(
            &banner::upload_url(&f.svc, post("/upload-url", &ask(bad), admin())).await,
            400,
            "InvalidField",
        );
    }
}

/// The stored category `name` (a consistent read).
async fn stored_category(
    f: &CategoryFixture,
    name: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    f.db.get_item()
        .table_name(&f.svc.config.table)
        .key("categoryName", aws_sdk_dynamodb::types::AttributeValue::S(name.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

async fn put_category(f: &CategoryFixture, name: &str, age: Duration, with_image: bool) {
    let created = shop_core::time::format(chrono_like_ago(age));
    let c = Category {
        category_name: name.to_owned(),
        file_name: "x.png".into(),
        object_key: category::object_key(name, "x.png"),
        created_at: created,
        status: if with_image {
            category::model::Status::Ready
        } else {
            category::model::Status::AwaitingImage
        },
        image_url: with_image.then(|| "http://img/x.png".to_owned()),
        uploaded_at: None,
    };
    // Written as the service writes a new category.
    assert!(f.svc.categories.put_new(&c).await.unwrap());
}

fn chrono_like_ago(age: Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::from_std(age).unwrap()
}

#[tokio::test]
async fn cleanup_deletes_only_old_categories_without_an_image_and_notifies_once() {
    let f = categories().await;
    let hours = |h: u64| Duration::from_secs(h * 3600);
    put_category(&f, "stale-1", hours(2), false).await;
    put_category(&f, "stale-2", hours(5), false).await;
    put_category(&f, "fresh", Duration::from_secs(60), false).await;
    put_category(&f, "old-with-image", hours(3), true).await;

    let report = category::cleanup(&f.svc, json!({})).await.unwrap();
    assert_eq!(report.deleted, 2);
    assert!(report.notified);
    assert_eq!(report.items_read, 2, "cleanup read more than the stale items");

    let scan = scan_table(&f.db, &f.svc.config.table).await;
    let mut left: Vec<String> = scan
        .items()
        .iter()
        .map(|i| i["categoryName"].as_s().unwrap().clone())
        .collect();
    left.sort();
    assert_eq!(left, ["fresh", "old-with-image"]);

    let sdk = sdk().await;
    let notices = receive(&sdk, &f.notices, 1, Duration::from_secs(5)).await;
    assert_eq!(notices, ["Cleanup completed. Deleted 2 outdated categories"]);

    let second = category::cleanup(&f.svc, json!({})).await.unwrap();
    assert_eq!((second.deleted, second.notified), (0, false));
    assert!(
        receive(&sdk, &f.notices, 1, Duration::from_secs(2)).await.is_empty(),
        "published with nothing deleted"
    );
}

#[tokio::test]
async fn category_listing_pages_through_the_next_token_header() {
    let f = categories().await;
    for (n, age) in [("a", 30), ("b", 20), ("c", 10)] {
        put_category(&f, n, Duration::from_secs(age), true).await;
    }
    let names = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|c| c["categoryName"].as_str().unwrap().to_owned())
            .collect()
    };
    let r1 = category::list_categories(&f.svc, get("/categories", &[("limit", "2")], None)).await;
    let (_, p1) = parts(&r1);
    assert_eq!(names(&p1), ["c", "b"], "newest first");
    let token = r1.headers.get("x-next-token").unwrap().to_str().unwrap().to_owned();
    let r2 = category::list_categories(
        &f.svc,
        get("/categories", &[("limit", "2"), ("nextToken", &token)], None),
    )
    .await;
    assert_eq!(names(&parts(&r2).1), ["a"], "the rest, once each");
    assert!(r2.headers.get("x-next-token").is_none());
    assert_error(
        &category::list_categories(&f.svc, get("/categories", &[("nextToken", "AAAA")], None)).await,
        400,
        "InvalidPageToken",
    );
}

#[tokio::test]
async fn an_image_that_arrives_while_the_cleanup_runs_wins() {
    let f = categories().await;
    put_category(&f, "late", Duration::from_secs(7200), false).await;
    // The image lands between the cleanup's query and its delete: the race the conditional
    // delete exists for, made to happen every time.
    let plain = (f.db.clone(), f.svc.config.table.clone());
    let racing_sdk = shop_local::http_hook::hooked(&sdk().await, move |req, _| {
        if shop_local::http_hook::operation(req) != "DeleteItem" {
            return shop_local::http_hook::Act::Pass;
        }
        let (db, table) = plain.clone();
        shop_local::http_hook::Act::Before(Box::pin(async move {
            db.update_item()
                .table_name(table)
                .key(
                    "categoryName",
                    aws_sdk_dynamodb::types::AttributeValue::S("late".into()),
                )
                .update_expression("SET #s = :ready, imageUrl = :url")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(
                    ":ready",
                    aws_sdk_dynamodb::types::AttributeValue::S(category::Status::Ready.as_str().into()),
                )
                .expression_attribute_values(
                    ":url",
                    aws_sdk_dynamodb::types::AttributeValue::S("http://img/late.png".into()),
                )
                .send()
                .await
                .unwrap();
        }))
    });
    let racing = Categories::new(&racing_sdk, f.svc.config.clone());
    let report = category::cleanup(&racing, json!({})).await.unwrap();
    assert_eq!((report.items_read, report.deleted, report.notified), (1, 0, false));
    let kept = stored_category(&f, "late")
        .await
        .expect("the category whose image arrived was deleted");
    assert_eq!(kept["status"].as_s().unwrap(), category::Status::Ready.as_str());
}

#[tokio::test]
async fn a_listing_answers_through_throttling_and_a_server_error() {
    let f = categories().await;
    put_category(&f, "shoes", Duration::from_secs(60), true).await;
    // DynamoDB throttles the first query and fails the second with a 500; the SDK's standard
    // retry (3 attempts, backoff with jitter) carries the third through.
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = attempts.clone();
    let flaky_sdk = shop_local::http_hook::hooked(&sdk().await, move |req, _| {
        if shop_local::http_hook::operation(req) != "Query" {
            return shop_local::http_hook::Act::Pass;
        }
        let error =
            |name: &str| format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{name}","message":"injected"}}"#);
        match seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => shop_local::http_hook::Act::Answer(400, error("ThrottlingException")),
            1 => shop_local::http_hook::Act::Answer(500, error("InternalServerError")),
            _ => shop_local::http_hook::Act::Pass,
        }
    });
    let flaky = Categories::new(&flaky_sdk, f.svc.config.clone());
    let (s, b) = parts(&category::list_categories(&flaky, get("/categories", &[], None)).await);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["categoryName"], "shoes");
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// Turns TOTP on for the owner of `access` as /auth/mfa/setup and /auth/mfa/verify do.
async fn turn_on_totp(cognito: &aws_sdk_cognitoidentityprovider::Client, access: &str) {
    let secret = cognito
        .associate_software_token()
        .access_token(access)
        .send()
        .await
        .unwrap()
        .secret_code()
        .unwrap()
        .to_owned();
    cognito
        .verify_software_token()
        .access_token(access)
        .user_code(shop_tests::totp_now(&secret).await)
        .send()
        .await
        .unwrap();
    cognito
        .set_user_mfa_preference()
        .access_token(access)
        .software_token_mfa_settings(
            aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// `shop-ops make-admin` grants the admins group only to a confirmed, enabled account with TOTP
/// on (`--without-totp`, for stages that do not require it, skips that check alone).
#[tokio::test]
async fn make_admin_grants_the_group_only_to_an_account_with_totp() {
    use shop_ops::admins::{make_admin, Refused};
    let (pool, cognito) = local_pool().await;
    let accounts = shop_core::accounts::Accounts::new(cognito.clone(), &pool.user_pool_id);
    let groups = |username: String| {
        let cognito = cognito.clone();
        let pool = pool.user_pool_id.clone();
        async move {
            let out = cognito
                .admin_list_groups_for_user()
                .user_pool_id(pool)
                .username(username)
                .send()
                .await
                .unwrap();
            out.groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    let (username, access) = pool_user(&cognito, &pool).await;
    assert_eq!(
        make_admin(&accounts, &username, true).await,
        Err(Refused::NoTotp(username.clone()))
    );
    assert!(groups(username.clone()).await.is_empty(), "refused, but joined");
    turn_on_totp(&cognito, &access).await;
    make_admin(&accounts, &username, true).await.unwrap();
    assert_eq!(groups(username.clone()).await, vec!["admins"]);
    assert_eq!(
        make_admin(&accounts, "nobody-here", true).await,
        Err(Refused::NoSuchAccount("nobody-here".into()))
    );
    // Unconfirmed: refused even without the TOTP check.
    let pending = pool_sign_up(&cognito, &pool).await;
    assert_eq!(
        make_admin(&accounts, &pending, false).await,
        Err(Refused::NotConfirmed(pending.clone()))
    );
}

/// A new user pool as the local stage provisions it, and a Cognito client.
async fn local_pool() -> (provision::UserPool, aws_sdk_cognitoidentityprovider::Client) {
    let sdk = sdk().await;
    let stage = shop_local::stage::values("local").unwrap();
    let pool = provision::user_pool(&sdk, &unique("pool"), &(&stage).into())
        .await
        .unwrap();
    (pool, aws_sdk_cognitoidentityprovider::Client::new(&sdk))
}

/// A new, unconfirmed user of `pool`: answers the username.
async fn pool_sign_up(cognito: &aws_sdk_cognitoidentityprovider::Client, pool: &provision::UserPool) -> String {
    let username = unique("admin");
    cognito
        .sign_up()
        .client_id(&pool.client_id)
        .secret_hash(pool.secret_hash(&username))
        .username(&username)
        .password("Str0ng!Passw0rd")
        .send()
        .await
        .unwrap();
    username
}

/// A confirmed user of `pool`, signed in: answers the username and the access token.
async fn pool_user(cognito: &aws_sdk_cognitoidentityprovider::Client, pool: &provision::UserPool) -> (String, String) {
    let username = pool_sign_up(cognito, pool).await;
    cognito
        .admin_confirm_sign_up()
        .user_pool_id(&pool.user_pool_id)
        .username(&username)
        .send()
        .await
        .unwrap();
    let auth = cognito
        .initiate_auth()
        .client_id(&pool.client_id)
        .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", &username)
        .auth_parameters("PASSWORD", "Str0ng!Passw0rd")
        .auth_parameters("SECRET_HASH", pool.secret_hash(&username))
        .send()
        .await
        .unwrap();
    let access = auth.authentication_result().unwrap().access_token().unwrap().to_owned();
    (username, access)
}

#[tokio::test]
async fn where_the_stage_requires_it_an_admin_without_totp_gets_403_mfa_required() {
    let mut f = banners().await;
    let (pool, cognito) = local_pool().await;
    f.svc.catalog.admins = shop_core::mfa::AdminGate::requiring_mfa(cognito.clone(), pool.user_pool_id.clone());
    let (username, access) = pool_user(&cognito, &pool).await;
    let body = json!({"fileName": "b.png", "fileType": "image/png"});
    let mut claims = admin_claims(&unique("admin"));
    claims["cognito:username"] = json!(username);
    // API Gateway passes every claim as a string; a token without auth_time is never admitted.
    claims["auth_time"] = json!(shop_core::time::now_secs().to_string());
    let ask = |claims: Value| banner::upload_url(&f.svc, post("/upload-url", &body, Some(claims)));
    assert_error(&ask(claims.clone()).await, 403, "MfaRequired");
    // Not an admin at all is still plain 403 Forbidden, without asking Cognito.
    assert_error(&ask(user_claims("u", "u@example.com")).await, 403, "Forbidden");

    // TOTP on (set up and verified as /auth/mfa/setup and /auth/mfa/verify do): admitted.
    turn_on_totp(&cognito, &access).await;
    let (s, b) = parts(&ask(claims.clone()).await);
    assert_eq!(s, 200, "{b}");
    // Disabled (the usual incident response): refused at the next request, token still valid.
    cognito
        .admin_disable_user()
        .user_pool_id(&pool.user_pool_id)
        .username(&username)
        .send()
        .await
        .unwrap();
    assert_error(&ask(claims.clone()).await, 401, "Unauthorized");
    cognito
        .admin_enable_user()
        .user_pool_id(&pool.user_pool_id)
        .username(&username)
        .send()
        .await
        .unwrap();
    assert_eq!(parts(&ask(claims.clone()).await).0, 200);
    // A token without `cognito:username` cannot be checked: 401.
    claims.as_object_mut().unwrap().remove("cognito:username");
    assert_error(&ask(claims).await, 401, "Unauthorized");
}
