//! The banner: as stored, as listed, and the object key of its image.

use serde::{Deserialize, Serialize};

/// Where a banner is: a banner is recorded once its image is published, so `ready` is its only
/// status (the partition of the status index the listing reads).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    #[default]
    Ready,
}

impl Status {
    /// As stored (and as the status index is queried).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
        }
    }
}
/// Key attributes of a listing page token: table key plus index keys.
pub const PAGE_KEY: &[&str] = &["objectKey", "status", "uploadedAt"];

/// A banner as stored and as listed (`objectKey` and `status` stay internal).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Banner {
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub object_key: String,
    pub file_name: String,
    pub image_url: String,
    pub uploaded_at: String,
    #[serde(default)]
    pub status: Status,
}

/// Public view of a banner.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BannerView<'a> {
    pub image_url: &'a str,
    pub file_name: &'a str,
    pub uploaded_at: &'a str,
}

impl<'a> From<&'a Banner> for BannerView<'a> {
    fn from(b: &'a Banner) -> Self {
        Self {
            image_url: &b.image_url,
            file_name: &b.file_name,
            uploaded_at: &b.uploaded_at,
        }
    }
}

/// A fresh key `<uuid>/<fileName>`: two uploads of `banner1.png` never overwrite each other.
pub fn new_object_key(file_name: &str) -> String {
    format!("{}/{file_name}", uuid::Uuid::new_v4())
}

/// The file name in an object key of our shape.
pub fn file_of_key(key: &str) -> Option<&str> {
    let (id, name) = key.split_once('/')?;
    (!id.is_empty() && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_is_stored_as_the_listing_queries_it() {
        assert_eq!(serde_json::to_value(Status::Ready).unwrap(), Status::Ready.as_str());
    }

    #[test]
    fn a_new_key_leads_back_to_its_file_name() {
        assert_eq!(file_of_key(&new_object_key("a b.png")), Some("a b.png"));
        assert_eq!(file_of_key("/x.png"), None);
        assert_eq!(file_of_key("nokey"), None);
    }
}
