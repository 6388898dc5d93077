//! Image uploads, written once for every service: where objects live in an image bucket, presigned
//! PUT URLs bounded in size, the check of what actually arrived, publishing, and S3 event records.
//!
//! An image bucket has three places ([`UPLOADS`], [`REVIEW`], [`PUBLIC`]); only [`PUBLIC`] is the
//! CDN's origin, so nothing a client uploads is served before the image handler has checked it and
//! the service has published it.

use std::time::Duration;

use aws_lambda_events::s3::S3Event;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::presigning::PresigningConfig;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::config::{parsed_or, required, ConfigError};
use crate::error::{RequestError, Upstream};
use crate::validate::{Fields, ImageType};

/// Where presigned PUTs land: never served, expired by the bucket's lifecycle rule after a day.
pub const UPLOADS: &str = "uploads/";
/// Checked images waiting for an admin's decision (products): never served.
pub const REVIEW: &str = "review/";
/// Published images: the CDN's origin path, the only objects anyone can fetch without a signature.
pub const PUBLIC: &str = "public/";

/// Largest upload by default (5 MiB); `UPLOAD_MAX_BYTES` sets the stage's bound.
pub const DEFAULT_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Bytes read from the head of an upload to recognise its format.
const HEAD_BYTES: u64 = 16;
/// The EMF metric counting uploads that failed the check (deleted).
pub const REJECTED_METRIC: &str = "UploadsRejected";

/// The upload settings every image service shares.
#[derive(Clone, Debug)]
pub struct UploadConfig {
    /// The private image bucket (`<SERVICE>_BUCKET`).
    pub bucket: String,
    /// `IMAGE_BASE_URL`: public base of published images (the CDN, whose origin path is [`PUBLIC`]).
    pub image_base_url: String,
    /// `UPLOAD_URL_EXPIRES_SECS` (default 300): lifetime of upload and review URLs.
    pub expires: Duration,
    /// `UPLOAD_MAX_BYTES` (default [`DEFAULT_MAX_BYTES`]): the largest image accepted.
    pub max_bytes: u64,
    /// `METRICS_NAMESPACE` (default `Shop`): where rejected uploads are counted.
    pub metrics_namespace: String,
}

impl UploadConfig {
    /// Reads the shared variables; `bucket_var` names the service's bucket variable.
    pub fn from_env(bucket_var: &'static str) -> Result<Self, ConfigError> {
        Ok(Self {
            bucket: required(bucket_var)?,
            image_base_url: required("IMAGE_BASE_URL")?,
            expires: Duration::from_secs(parsed_or("UPLOAD_URL_EXPIRES_SECS", 300)?),
            max_bytes: parsed_or("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)?,
            metrics_namespace: parsed_or("METRICS_NAMESPACE", "Shop".to_owned())?,
        })
    }
}

/// The optional `fileSize` of an upload request: when given, a whole number in `1..=max` bytes.
pub fn requested_size(f: &Fields, max: u64) -> Result<Option<u64>, RequestError> {
    if f.has("fileSize") {
        f.positive_int("fileSize", max).map(Some)
    } else {
        Ok(None)
    }
}

/// The image format the first bytes of a file announce, if any.
pub fn sniff(head: &[u8]) -> Option<ImageType> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageType::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageType::Jpeg)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(ImageType::Gif)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some(ImageType::Webp)
    } else {
        None
    }
}

/// What the check of an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the bound, an allowed type, and its bytes are that type.
    Image(ImageType),
    /// Not acceptable, and why (a stable word for logs).
    Rejected(&'static str),
    /// No such object (already handled and deleted, or expired): nothing to do.
    Gone,
}

/// The verdict on an object from its size, declared content type and first bytes.
pub fn judge(size: u64, content_type: Option<&str>, head: &[u8], max_bytes: u64) -> Verdict {
    if size == 0 {
        return Verdict::Rejected("empty");
    }
    if size > max_bytes {
        return Verdict::Rejected("too-large");
    }
    let Some(declared) = content_type.and_then(|t| ImageType::parse("contentType", t).ok()) else {
        return Verdict::Rejected("content-type");
    };
    match sniff(head) {
        Some(found) if found == declared => Verdict::Image(found),
        Some(_) => Verdict::Rejected("type-mismatch"),
        None => Verdict::Rejected("not-an-image"),
    }
}

/// The total size in a `Content-Range: bytes 0-15/1234` header.
fn total_of_range(range: &str) -> Option<u64> {
    range.rsplit_once('/')?.1.trim().parse().ok()
}

/// One image bucket, as a service uses it.
#[derive(Clone, Debug)]
pub struct Images {
    pub s3: aws_sdk_s3::Client,
    pub config: UploadConfig,
    /// The service name of rejected-upload metrics.
    pub service: &'static str,
}

impl Images {
    /// A presigned PUT of `key` under [`UPLOADS`], bound to its content type and, when the client
    /// stated it, to exactly `size` bytes (S3 refuses any other `Content-Length`).
    pub async fn upload_url(&self, key: &str, kind: ImageType, size: Option<u64>) -> Result<String, Upstream> {
        let cfg =
            PresigningConfig::expires_in(self.config.expires).map_err(|e| Upstream::internal("s3", e.to_string()))?;
        let size = size
            .map(i64::try_from)
            .transpose()
            .map_err(|e| Upstream::internal("s3", e.to_string()))?;
        let req = self
            .s3
            .put_object()
            .bucket(&self.config.bucket)
            .key(format!("{UPLOADS}{key}"))
            .content_type(kind.mime())
            .set_content_length(size)
            .presigned(cfg)
            .await
            .map_err(|e| Upstream::new("s3", e))?;
        Ok(req.uri().to_owned())
    }

    /// A short-lived GET of `key` under [`REVIEW`] (for admins deciding on it).
    pub async fn review_url(&self, key: &str) -> Result<String, Upstream> {
        let cfg =
            PresigningConfig::expires_in(self.config.expires).map_err(|e| Upstream::internal("s3", e.to_string()))?;
        let req = self
            .s3
            .get_object()
            .bucket(&self.config.bucket)
            .key(format!("{REVIEW}{key}"))
            .presigned(cfg)
            .await
            .map_err(|e| Upstream::new("s3", e))?;
        Ok(req.uri().to_owned())
    }

    /// The public URL of `key` once published under [`PUBLIC`].
    pub fn public_url(&self, key: &str) -> String {
        public_url(&self.config.image_base_url, key)
    }

    /// Checks `key` under [`UPLOADS`] with one ranged GET of its head: the range answer carries
    /// the object's total size and content type, and the bytes its format.
    pub async fn verify(&self, key: &str) -> Result<Verdict, Upstream> {
        let got = self
            .s3
            .get_object()
            .bucket(&self.config.bucket)
            .key(format!("{UPLOADS}{key}"))
            .range(format!("bytes=0-{}", HEAD_BYTES - 1))
            .send()
            .await;
        let out = match got {
            Ok(o) => o,
            Err(e) => {
                let err = e.into_service_error();
                return match aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&err) {
                    Some("NoSuchKey") => Ok(Verdict::Gone),
                    // An empty object has no byte 0: S3 answers 416 InvalidRange.
                    Some("InvalidRange") => Ok(Verdict::Rejected("empty")),
                    _ => Err(Upstream::new("s3", err)),
                };
            }
        };
        let size = out
            .content_range()
            .and_then(total_of_range)
            .or_else(|| out.content_length().and_then(|n| u64::try_from(n).ok()))
            .unwrap_or(0);
        let content_type = out.content_type().map(str::to_owned);
        let head = out
            .body
            .collect()
            .await
            .map_err(|e| Upstream::internal("s3", e.to_string()))?
            .into_bytes();
        Ok(judge(size, content_type.as_deref(), &head, self.config.max_bytes))
    }

    /// Copies `from` to `to` (full keys) inside the bucket.
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), Upstream> {
        let source = format!("{}/{}", self.config.bucket, encode_key(from));
        self.s3
            .copy_object()
            .bucket(&self.config.bucket)
            .copy_source(source)
            .key(to)
            .send()
            .await
            .map_err(|e| Upstream::new("s3", e))?;
        Ok(())
    }

    /// Deletes `key` (a full key); deleting what is not there succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), Upstream> {
        self.s3
            .delete_object()
            .bucket(&self.config.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Upstream::new("s3", e))?;
        Ok(())
    }

    /// Deletes every copy of `key`: the upload, the one under review and the published one.
    pub async fn delete_everywhere(&self, key: &str) -> Result<(), Upstream> {
        for place in [UPLOADS, REVIEW, PUBLIC] {
            self.delete(&format!("{place}{key}")).await?;
        }
        Ok(())
    }

    /// Calls `record(key, type)` for every created object of the event under [`UPLOADS`] that
    /// passes [`Images::verify`] (`key` without the prefix). A failing one is deleted, logged
    /// with its reason and counted; the item that waits for it keeps waiting. `Ok(false)` from
    /// `record` means nothing waited for that image (an unknown key, or an event delivered again).
    pub async fn record_uploads<E, F, Fut>(&self, event: &S3Event, mut record: F) -> Result<ImageReport, E>
    where
        E: From<Upstream>,
        F: FnMut(String, ImageType) -> Fut,
        Fut: std::future::Future<Output = Result<bool, E>>,
    {
        let mut report = ImageReport::default();
        for obj in created_objects(event) {
            let Some(key) = obj.key.strip_prefix(UPLOADS).filter(|k| !k.is_empty()) else {
                tracing::info!(key = %obj.key, "not an upload; ignored");
                report.ignored += 1;
                continue;
            };
            match self.verify(key).await? {
                Verdict::Image(kind) => {
                    if record(key.to_owned(), kind).await? {
                        report.recorded += 1;
                    } else {
                        tracing::info!(key = %key, "nothing waits for this image; ignored");
                        report.ignored += 1;
                    }
                }
                Verdict::Rejected(reason) => {
                    self.delete(&obj.key).await?;
                    tracing::warn!(key = %key, reason, "upload rejected and deleted");
                    crate::metrics::count(&self.config.metrics_namespace, self.service, REJECTED_METRIC, 1);
                    report.rejected += 1;
                }
                Verdict::Gone => {
                    tracing::info!(key = %key, "upload already gone; ignored");
                    report.ignored += 1;
                }
            }
        }
        Ok(report)
    }
}

/// A key as the `x-amz-copy-source` header wants it: each segment percent-encoded.
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// One created object from an S3 event, with its key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    pub key: String,
}

/// Every created object of the event. Keys arrive URL-encoded with `+` for spaces; records that
/// are not `ObjectCreated:*` or lack a bucket or key are skipped (and logged).
pub fn created_objects(event: &S3Event) -> Vec<CreatedObject> {
    let mut out = Vec::new();
    for r in &event.records {
        let created = r.event_name.as_deref().is_none_or(|n| n.starts_with("ObjectCreated"));
        match (&r.s3.bucket.name, &r.s3.object.key) {
            (Some(bucket), Some(key)) if created => out.push(CreatedObject {
                bucket: bucket.clone(),
                key: decode_key(key),
            }),
            _ => tracing::warn!(event_name = r.event_name.as_deref(), "skipping S3 record"),
        }
    }
    out
}

/// `summer+sale%281%29.png` -> `summer sale(1).png`.
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Characters kept as is in a URL path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The public URL of `key` under `base` (the CDN on AWS, the emulator's bucket URL locally).
pub fn public_url(base: &str, key: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), encode_key(key))
}

/// What an S3 event changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageReport {
    pub recorded: usize,
    pub ignored: usize,
    /// Uploads that failed the check and were deleted.
    pub rejected: usize,
}

/// Completes the item at `key` that waits for `object_key`: sets `uploadedAt`, `status = done` and,
/// when given, `imageUrl`, only while its status is `awaiting` and its `objectKey` matches, so a
/// repeated event changes nothing. Answers whether it changed the item.
pub async fn attach_image(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    key: std::collections::HashMap<String, AttributeValue>,
    object_key: &str,
    image_url: Option<String>,
    (awaiting, done): (&str, &str),
) -> Result<bool, Upstream> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let set_url = if image_url.is_some() { ", imageUrl = :url" } else { "" };
    let updated = db
        .update_item()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(format!("SET uploadedAt = :now, #s = :done{set_url}"))
        .condition_expression("objectKey = :key AND #s = :awaiting")
        .expression_attribute_names("#s", "status")
        .set_expression_attribute_values(Some(
            [
                (":now", s(&crate::time::now())),
                (":done", s(done)),
                (":awaiting", s(awaiting)),
                (":key", s(object_key)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(image_url.map(|u| (":url".to_owned(), AttributeValue::S(u))))
            .collect(),
        ))
        .send()
        .await;
    Ok(crate::conditional(updated)?.is_some())
}

/// Turns an S3 notification as the emulator delivers it to a queue into an [`S3Event`].
///
/// moto's JSON lacks `userIdentity`, `requestParameters` and a zone on `eventTime`; AWS's own
/// `s3:TestEvent` has no records at all (answers `None`).
pub fn normalize_notification(body: &str) -> Option<S3Event> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    let records = v.get_mut("Records")?.as_array_mut()?;
    for r in records.iter_mut() {
        let obj = r.as_object_mut()?;
        obj.entry("userIdentity").or_insert_with(|| serde_json::json!({}));
        obj.entry("requestParameters").or_insert_with(|| serde_json::json!({}));
        if let Some(Value::String(t)) = obj.get_mut("eventTime") {
            let has_zone = t.ends_with('Z') || t.rfind(['+', '-']).is_some_and(|i| i > 10);
            if !has_zone {
                t.push('Z');
            }
        }
    }
    serde_json::from_value(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded_with_plus_as_space() {
        assert_eq!(decode_key("summer+sale%281%29.png"), "summer sale(1).png");
        assert_eq!(decode_key("abc/caf%C3%A9.png"), "abc/café.png");
        assert_eq!(decode_key("plain.png"), "plain.png");
    }

    #[test]
    fn formats_are_recognised_by_their_first_bytes_not_their_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(ImageType::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(ImageType::Jpeg));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(ImageType::Gif));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"\x89PN"), None);
    }

    #[test]
    fn an_upload_is_accepted_only_within_the_bound_with_matching_type_and_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(judge(100, Some("image/png"), png, 100), Verdict::Image(ImageType::Png));
        assert_eq!(judge(101, Some("image/png"), png, 100), Verdict::Rejected("too-large"));
        assert_eq!(judge(0, Some("image/png"), b"", 100), Verdict::Rejected("empty"));
        assert_eq!(
            judge(10, Some("text/html"), png, 100),
            Verdict::Rejected("content-type")
        );
        assert_eq!(judge(10, None, png, 100), Verdict::Rejected("content-type"));
        assert_eq!(
            judge(10, Some("image/jpeg"), png, 100),
            Verdict::Rejected("type-mismatch")
        );
        assert_eq!(
            judge(10, Some("image/png"), b"<svg onload=x>", 100),
            Verdict::Rejected("not-an-image")
        );
    }

    #[test]
    fn the_total_size_is_read_from_the_content_range() {
        assert_eq!(total_of_range("bytes 0-15/5242881"), Some(5_242_881));
        assert_eq!(total_of_range("bytes 0-2/3"), Some(3));
        assert_eq!(total_of_range("bytes */*"), None);
    }

    #[tokio::test]
    async fn a_stated_file_size_is_signed_into_the_upload_url() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("test-region-1"))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("AKIDTEST", "secret", None, None, "test"),
            ))
            .http_client(crate::aws::http_client())
            .build();
        let images = Images {
            s3: aws_sdk_s3::Client::new(&sdk),
            config: UploadConfig {
                bucket: "images".into(),
                image_base_url: "https://cdn.test".into(),
                expires: Duration::from_secs(60),
                max_bytes: DEFAULT_MAX_BYTES,
                metrics_namespace: "Shop/test".into(),
            },
            service: "test",
        };
        let signed = |url: &str| {
            let q = url.split_once('?').map(|x| x.1).unwrap_or_default();
            q.split('&')
                .find_map(|kv| kv.strip_prefix("X-Amz-SignedHeaders="))
                .map(decode_key)
                .unwrap_or_default()
        };
        let sized = images.upload_url("id/a.png", ImageType::Png, Some(1234)).await.unwrap();
        assert!(sized.contains("/uploads/id/a.png?"), "{sized}");
        let headers = signed(&sized);
        assert!(headers.split(';').any(|h| h == "content-length"), "{headers}");
        assert!(headers.split(';').any(|h| h == "content-type"), "{headers}");
        let unbounded = images.upload_url("id/a.png", ImageType::Png, None).await.unwrap();
        assert!(!signed(&unbounded).contains("content-length"));
    }

    #[test]
    fn public_urls_encode_each_segment() {
        assert_eq!(
            public_url("https://cdn.example/", "id/summer sale.png"),
            "https://cdn.example/id/summer%20sale.png"
        );
    }

    #[test]
    fn an_emulator_notification_becomes_an_s3_event_with_every_record() {
        let body = r#"{"Records":[
          {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"r","eventTime":"2026-01-01T00:00:00.000",
           "eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b.png","size":1}}},
          {"eventTime":"2026-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
           "s3":{"bucket":{"name":"b"},"object":{"key":"x%2Fy.png"}}}]}"#;
        let ev = normalize_notification(body).unwrap();
        let objs = created_objects(&ev);
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].key, "a b.png");
        assert_eq!(objs[1].key, "x/y.png");
        assert!(normalize_notification(r#"{"Event":"s3:TestEvent"}"#).is_none());
    }
}
