//! Banner and category services against the emulator: presigned uploads with real PUTs, S3
//! events taken from the buckets' notification queues, listings, cleanup with SNS.

use std::time::Duration;

use aws_lambda_events::s3::S3Event;
use banner::{BannerConfig, Banners};
use category::{Categories, Category, CategoryConfig};
use serde_json::{json, Value};
use shop_local::provision;
use shop_tests::{
    admin_claims, assert_error, emulator, get, parts, post, receive, s3_events, sdk, unique, upload, user_claims,
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-not-really-an-image";

struct BannerFixture {
    svc: Banners,
    events_queue: String,
}

async fn banners() -> BannerFixture {
    let sdk = sdk().await;
    let table = unique("banners");
    let bucket = unique("banner-images");
    provision::table(&sdk, &table, &provision::banners_table())
        .await
        .unwrap();
    let events_queue = provision::image_bucket(&sdk, &bucket, &unique("banner-events"))
        .await
        .unwrap();
    let config = BannerConfig {
        image_base_url: format!("{}/{bucket}", emulator().await.endpoint),
        table,
        bucket,
        upload_expires: Duration::from_secs(300),
    };
    BannerFixture {
        svc: Banners::new(&sdk, config),
        events_queue,
    }
}

struct CategoryFixture {
    svc: Categories,
    events_queue: String,
    notices: String,
}

async fn categories() -> CategoryFixture {
    let sdk = sdk().await;
    let table = unique("categories");
    let bucket = unique("category-images");
    provision::table(&sdk, &table, &provision::categories_table())
        .await
        .unwrap();
    let events_queue = provision::image_bucket(&sdk, &bucket, &unique("category-events"))
        .await
        .unwrap();
    let topic = provision::topic(&sdk, &unique("cleanup")).await.unwrap();
    let notices = provision::topic_listener(&sdk, &topic, &unique("notices"))
        .await
        .unwrap();
    let config = CategoryConfig {
        image_base_url: format!("{}/{bucket}", emulator().await.endpoint),
        table,
        bucket,
        upload_expires: Duration::from_secs(300),
        cleanup_topic_arn: topic,
        cleanup_max_age: Duration::from_secs(3600),
    };
    CategoryFixture {
        svc: Categories::new(&sdk, config),
        events_queue,
        notices,
    }
}

/// The bucket is private (served by the CDN on AWS), so read the object through the SDK: the one
/// stored object holds the uploaded bytes and `image_url` ends with its (encoded) key.
async fn assert_image_url_names_the_upload(s3: &aws_sdk_s3::Client, bucket: &str, image_url: &str) {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    let key = listed.contents()[0].key().unwrap().to_owned();
    let body = s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    assert_eq!(&body.into_bytes()[..], PNG, "stored object differs from the upload");
    let encoded = shop_core::images::public_url("", &key);
    assert!(image_url.ends_with(&encoded), "{image_url} does not name {key}");
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
    shop_core::images::normalize_notification(&json!({ "Records": records }).to_string()).unwrap()
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
    assert_image_url_names_the_upload(&f.svc.s3, &f.svc.config.bucket, image_url).await;

    // The same event again changes nothing.
    let again = banner::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!((again.recorded, again.ignored), (0, 1));
    let (_, list) = parts(&banner::list_banners(&f.svc, get("/banners", &[], None)).await);
    assert_eq!(list["banners"].as_array().unwrap().len(), 1);
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
        banner::image_uploaded(&f.svc, event(&f.svc.config.bucket, &[k]))
            .await
            .unwrap();
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
    assert_image_url_names_the_upload(&f.svc.s3, &f.svc.config.bucket, image_url).await;

    let again = category::image_uploaded(&f.svc, events[0].clone()).await.unwrap();
    assert_eq!((again.recorded, again.ignored), (0, 1));
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
async fn an_image_with_no_waiting_category_is_ignored() {
    let f = categories().await;
    let unknown = category::object_key("Nobody", "x.png");
    let report = category::image_uploaded(&f.svc, event(&f.svc.config.bucket, &[&unknown, "not-our-shape"]))
        .await
        .unwrap();
    assert_eq!((report.recorded, report.ignored), (0, 2));
    let scan = f.svc.db.scan().table_name(&f.svc.config.table).send().await.unwrap();
    assert_eq!(scan.count(), 0, "an ignored event created a record");
}

async fn put_category(f: &CategoryFixture, name: &str, age: Duration, with_image: bool) {
    let created = shop_core::time::format(chrono_like_ago(age));
    let c = Category {
        category_name: name.to_owned(),
        file_name: "x.png".into(),
        object_key: category::object_key(name, "x.png"),
        created_at: created,
        status: if with_image {
            category::READY
        } else {
            category::AWAITING_IMAGE
        }
        .to_owned(),
        image_url: with_image.then(|| "http://img/x.png".to_owned()),
        uploaded_at: None,
    };
    f.svc
        .db
        .put_item()
        .table_name(&f.svc.config.table)
        .set_item(Some(serde_dynamo::to_item(&c).unwrap()))
        .send()
        .await
        .unwrap();
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

    let scan = f.svc.db.scan().table_name(&f.svc.config.table).send().await.unwrap();
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
    let plain = f.svc.clone();
    let racing_sdk = shop_local::http_hook::hooked(&sdk().await, move |req, _| {
        if shop_local::http_hook::operation(req) != "DeleteItem" {
            return shop_local::http_hook::Act::Pass;
        }
        let db = plain.db.clone();
        let table = plain.config.table.clone();
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
                    aws_sdk_dynamodb::types::AttributeValue::S(category::READY.into()),
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
    let kept = f
        .svc
        .db
        .get_item()
        .table_name(&f.svc.config.table)
        .key(
            "categoryName",
            aws_sdk_dynamodb::types::AttributeValue::S("late".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the category whose image arrived was deleted");
    assert_eq!(kept["status"].as_s().unwrap(), category::READY);
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
