//! The product: stored item, states, public JSON, and validation of a new one.

use serde::{Deserialize, Serialize};
use shop_core::money::Money;
use shop_core::validate::{file_name, Fields, ImageType};
use shop_core::RequestError;

/// The GSI [`shop_core::catalog::STATUS_INDEX`] (`status`, `createdAt`) serves the cleanup
/// (`awaitingImage`), the review queue (`pendingReview`) and the listing (`approved`).
pub use shop_core::catalog::STATUS_INDEX;
/// Sparse GSI (`approvedCategory`, `createdAt`): approved products of one category.
pub const CATEGORY_INDEX: &str = "approvedByCategory";
/// The page key of a listing by [`STATUS_INDEX`]: the table's key, then the index's (the
/// `lambdas/tables.json` test ties both to the declaration).
pub const STATUS_PAGE_KEY: &[&str] = &["id", "status", "createdAt"];
/// The page key of a listing by [`CATEGORY_INDEX`].
pub const CATEGORY_PAGE_KEY: &[&str] = &["id", "approvedCategory", "createdAt"];

/// Where a product is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Created; the image upload has not arrived.
    AwaitingImage,
    /// Has its image; waits for an admin.
    PendingReview,
    Approved,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingImage => "awaitingImage",
            Self::PendingReview => "pendingReview",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

pub const MAX_PRODUCT_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_CATEGORY: usize = 64;
pub const MAX_QUANTITY: u64 = 1_000_000;
pub const MAX_PRICE: Money = Money::from_cents(100_000_000);
pub const MAX_REASON: usize = 500;

/// A product as stored. Attribute names are the API's field names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    pub product_name: String,
    pub product_price: Money,
    pub description: String,
    /// Current stock.
    pub quantity: u64,
    pub category: String,
    pub file_name: String,
    pub object_key: String,
    /// The published image: set at approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// When the checked image arrived (it then waits under review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
    pub is_approved: bool,
    pub status: Status,
    pub seller_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_email: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// The ETag of the review copy made from the checked upload: approval publishes only it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_etag: Option<String>,
}

/// The product JSON the API shows (no seller email, no internal state).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    pub id: String,
    pub product_name: String,
    pub product_price: Money,
    pub description: String,
    pub quantity: u64,
    pub category: String,
    /// Public (CDN) URL: only once the product is approved.
    pub image_url: Option<String>,
    /// A short-lived link to the image under review (admins' review queue only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_image_url: Option<String>,
    pub is_approved: bool,
    pub created_at: String,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            id: p.id,
            product_name: p.product_name,
            product_price: p.product_price,
            description: p.description,
            quantity: p.quantity,
            category: p.category,
            image_url: p.image_url,
            review_image_url: None,
            is_approved: p.is_approved,
            created_at: p.created_at,
        }
    }
}

/// A validated `POST /get-upload-url` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub file_name: String,
    pub file_type: ImageType,
    pub product_name: String,
    pub product_price: Money,
    pub description: String,
    pub quantity: u64,
    pub category: String,
}

impl NewProduct {
    pub fn parse(f: &Fields) -> Result<Self, RequestError> {
        Ok(Self {
            file_name: file_name("fileName", &f.string("fileName", 256)?)?,
            file_type: ImageType::parse("fileType", &f.string("fileType", 64)?)?,
            product_name: f.string("productName", MAX_PRODUCT_NAME)?,
            product_price: f.money("productPrice", MAX_PRICE)?,
            description: f.string("description", MAX_DESCRIPTION)?,
            quantity: f.positive_int("quantity", MAX_QUANTITY)?,
            category: f.string("category", MAX_CATEGORY)?,
        })
    }

    /// The stored product, waiting for its image under `<id>/<fileName>`.
    pub fn into_product(self, id: String, seller_id: String, seller_email: Option<String>, now: String) -> Product {
        Product {
            object_key: object_key(&id, &self.file_name),
            id,
            product_name: self.product_name,
            product_price: self.product_price,
            description: self.description,
            quantity: self.quantity,
            category: self.category,
            file_name: self.file_name,
            image_url: None,
            uploaded_at: None,
            is_approved: false,
            status: Status::AwaitingImage,
            seller_id,
            seller_email,
            created_at: now,
            approved_category: None,
            rejection_reason: None,
            review_etag: None,
        }
    }
}

/// `<productId>/<fileName>`: two sellers' `shoes.png` never collide.
pub fn object_key(id: &str, file_name: &str) -> String {
    format!("{id}/{file_name}")
}

/// The product id an object key belongs to.
pub fn product_of_key(key: &str) -> Option<&str> {
    let (id, name) = key.split_once('/')?;
    (!id.is_empty() && !name.is_empty() && !name.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_product_is_validated_field_by_field() {
        let ok = Fields::parse(r#"{"fileName":"shoes.png","fileType":"image/png","productName":"gucci","productPrice":19.99,"description":"I love it.","quantity":40,"category":"Clothes"}"#).unwrap();
        let p = NewProduct::parse(&ok).unwrap();
        assert_eq!(p.product_price.cents(), 1999);
        assert_eq!(p.quantity, 40);
        for bad in [
            r#"{"fileName":"shoes.png","fileType":"image/png","productName":"g","productPrice":0,"description":"d","quantity":1,"category":"c"}"#,
            r#"{"fileName":"shoes.png","fileType":"image/png","productName":"g","productPrice":1.999,"description":"d","quantity":1,"category":"c"}"#,
            r#"{"fileName":"shoes.png","fileType":"image/png","productName":"g","productPrice":"5","description":"d","quantity":1,"category":"c"}"#,
            r#"{"fileName":"shoes.png","fileType":"image/png","productName":"g","productPrice":5,"description":"d","quantity":1.5,"category":"c"}"#,
            r#"{"fileName":"shoes.png","fileType":"image/png","productName":"g","productPrice":5,"description":"d","quantity":0,"category":"c"}"#,
            r#"{"fileName":"shoes.png","fileType":"image/png","productName":"g","productPrice":5,"description":"d","quantity":1,"category":""}"#,
        ] {
            assert!(NewProduct::parse(&Fields::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_lead_back_to_their_product() {
        assert_eq!(product_of_key(&object_key("p1", "shoes.png")), Some("p1"));
        assert_eq!(product_of_key("shoes.png"), None);
        assert_eq!(product_of_key("a/b/c.png"), None);
    }
}
