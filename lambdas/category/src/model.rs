//! The category: as stored and as listed, its statuses, and the object key that names it.
//!
//! Object keys are `<base64url(categoryName)>/<fileName>`: the S3 event finds its category from
//! the key alone, without a scan, and names never collide.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Where a category is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Recorded at upload-URL time; the cleanup deletes it if no image arrives.
    AwaitingImage,
    /// Has its published image: listed.
    Ready,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingImage => "awaitingImage",
            Self::Ready => "ready",
        }
    }
}

pub const MAX_CATEGORY_NAME: usize = 64;
/// Key attributes of a listing page token: table key plus index keys.
pub const PAGE_KEY: &[&str] = &["categoryName", "status", "createdAt"];

/// A category as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub category_name: String,
    pub file_name: String,
    pub object_key: String,
    pub created_at: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<String>,
}

impl Category {
    /// A new category waiting for the image `file_name`.
    pub fn awaiting(category_name: String, file_name: String, now: String) -> Self {
        Self {
            object_key: object_key(&category_name, &file_name),
            category_name,
            file_name,
            created_at: now,
            status: Status::AwaitingImage,
            image_url: None,
            uploaded_at: None,
        }
    }
}

/// Public view of a category.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    pub category_name: String,
    pub image_url: String,
}

impl CategoryView {
    /// The listed view; `None` for a category without its image.
    pub fn of(c: Category) -> Option<Self> {
        c.image_url.map(|image_url| Self {
            category_name: c.category_name,
            image_url,
        })
    }
}

/// The object key of a category's image.
pub fn object_key(category_name: &str, file_name: &str) -> String {
    format!("{}/{file_name}", URL_SAFE_NO_PAD.encode(category_name))
}

/// The category an object key belongs to, if the key has our shape.
pub fn category_of_key(key: &str) -> Option<String> {
    let (prefix, name) = key.split_once('/')?;
    if name.is_empty() {
        return None;
    }
    String::from_utf8(URL_SAFE_NO_PAD.decode(prefix).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_leads_back_to_its_category() {
        let key = object_key("Summer / Sale", "a b.png");
        assert!(!key[..key.find('/').unwrap()].contains('/'));
        assert_eq!(category_of_key(&key).as_deref(), Some("Summer / Sale"));
        assert_eq!(category_of_key("!!/x.png"), None);
        assert_eq!(category_of_key("nokey"), None);
    }

    #[test]
    fn statuses_are_stored_as_their_names() {
        for s in [Status::AwaitingImage, Status::Ready] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
