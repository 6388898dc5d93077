//! What the image services' tests share: their resources, provisioned by one call, and the one
//! sample product the tests store and vary (struct update syntax: `Product { quantity: 3,
//! ..sample_product(..) }`).

use product::model::{Product, Status};
use shop_core::money::Money;

/// One image service's resources on the emulator, as the stacks declare them: its table, its image
/// bucket with the queue of its object events, and a cleanup topic with a queue listening to it.
pub struct ImageServiceResources {
    pub table: String,
    pub bucket: String,
    pub events_queue: String,
    pub cleanup_topic: String,
    pub notices: String,
}

/// Provisions the resources of the image service whose table is declared as `table`
/// (`banners`, `categories`, `products`), each under a new unique name.
pub async fn image_service(table: &str) -> ImageServiceResources {
    let sdk = crate::sdk().await;
    let name = crate::unique(table);
    let bucket = crate::unique(&format!("{table}-images"));
    shop_local::provision::table(&sdk, &name, &shop_local::provision::declared_table(table).unwrap())
        .await
        .unwrap();
    let events_queue = shop_local::provision::image_bucket(&sdk, &bucket, &crate::unique(&format!("{table}-events")))
        .await
        .unwrap();
    let cleanup_topic = shop_local::provision::topic(&sdk, &crate::unique("cleanup"))
        .await
        .unwrap();
    let notices = shop_local::provision::topic_listener(&sdk, &cleanup_topic, &crate::unique("notices"))
        .await
        .unwrap();
    ImageServiceResources {
        table: name,
        bucket,
        events_queue,
        cleanup_topic,
        notices,
    }
}

/// A stored product `id` in `status`, created `age` ago: approved ones are listed in "Clothes" with
/// an image, ones past their upload have an upload time.
pub fn sample_product(id: &str, status: Status, age: std::time::Duration) -> Product {
    let created = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or_default();
    let approved = status == Status::Approved;
    Product {
        id: id.to_owned(),
        product_name: format!("product {id}"),
        product_price: Money::from_cents(1999),
        description: "d".into(),
        quantity: 5,
        category: "Clothes".into(),
        file_name: "x.png".into(),
        object_key: format!("{id}/x.png"),
        image_url: approved.then(|| "http://img/x.png".into()),
        uploaded_at: (status != Status::AwaitingImage).then(|| shop_core::time::format(created)),
        is_approved: approved,
        status,
        seller_id: "seller".into(),
        seller_email: None,
        created_at: shop_core::time::format(created),
        approved_category: approved.then(|| "Clothes".into()),
        rejection_reason: None,
        review_etag: None,
    }
}
