//! Cost growth: items DynamoDB reads for one approved-listing page, one pending-listing page and one
//! cleanup run, at growing table sizes. Each size holds the same 20 approved products, 50 stale
//! image-less products and 40 pending ones; the rest is filler (fresh products still waiting for
//! their image). A flat column means cost follows the page, not the table.
//!
//! `cargo run --release -p shop-tests --example cost_growth -- 1000 10000 50000`

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use product::model::{Product, Status};
use product::{ProductConfig, Products};
use shop_core::money::Money;
use shop_core::pagination::PageRequest;
use shop_local::provision;
use shop_tests::{sdk, unique};

fn product(i: usize, status: Status, age: Duration) -> Product {
    let approved = status == Status::Approved;
    Product {
        product_name: format!("product {i}"),
        product_price: Money::from_cents(999),
        quantity: 10,
        category: "c".into(),
        approved_category: approved.then(|| "c".into()),
        seller_id: "s".into(),
        ..shop_tests::sample_product(&format!("p{i:06}"), status, age)
    }
}

async fn seed(db: &aws_sdk_dynamodb::Client, p: &Products, size: usize) {
    let mut items = Vec::with_capacity(size);
    for i in 0..size {
        let (status, age) = match i {
            0..20 => (Status::Approved, Duration::from_secs(7200)),
            20..70 => (Status::AwaitingImage, Duration::from_secs(7200)),
            70..110 => (Status::PendingReview, Duration::from_secs(600)),
            _ => (Status::AwaitingImage, Duration::from_secs(60)),
        };
        items.push(product(i, status, age));
    }
    for chunk in items.chunks(25) {
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .filter_map(|x| serde_dynamo::to_item(x).ok())
            .filter_map(|item| PutRequest::builder().set_item(Some(item)).build().ok())
            .map(|put| WriteRequest::builder().put_request(put).build())
            .collect();
        if let Err(e) = db
            .batch_write_item()
            .request_items(&p.config.table, writes)
            .send()
            .await
        {
            panic!("seeding failed: {e:?}");
        }
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 50_000]
    } else {
        sizes
    };
    let sdk = sdk().await;
    println!("| products in table | approved page (20): items read | pending page (20): items read | cleanup run: deleted / items read | seed time s |");
    println!("|---:|---:|---:|---:|---:|");
    for size in sizes {
        let table = unique("cost-products");
        provision::table(&sdk, &table, &provision::declared_table("products").unwrap())
            .await
            .expect("table");
        let topic = provision::topic(&sdk, &unique("cost-cleanup")).await.expect("topic");
        let p = Products::new(
            &sdk,
            ProductConfig {
                table,
                uploads: shop_tests::upload_config("unused", shop_core::images::DEFAULT_MAX_BYTES).await,
                cleanup_topic_arn: topic,
                cleanup_max_age: Duration::from_secs(3600),
                email_from: "noreply@example.com".into(),
            },
        );
        let started = Instant::now();
        seed(&aws_sdk_dynamodb::Client::new(&sdk), &p, size).await;
        let seeded = started.elapsed().as_secs_f64();
        let first = || PageRequest { limit: 20, start: None };
        let approved = p
            .products
            .page(&p.products.approved(None), first())
            .await
            .expect("approved");
        let pending = p.products.page(&p.products.pending(), first()).await.expect("pending");
        let cleanup = product::cleanup(&p, serde_json::json!({})).await.expect("cleanup");
        println!(
            "| {size} | {} | {} | {} / {} | {seeded:.0} |",
            approved.items_read, pending.items_read, cleanup.deleted, cleanup.items_read
        );
    }
}
