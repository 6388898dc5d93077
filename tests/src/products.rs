//! The one sample product the tests store and vary (struct update syntax: `Product { quantity: 3,
//! ..sample_product(..) }`).

use product::model::{Product, Status};
use shop_core::money::Money;

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
