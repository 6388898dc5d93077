//! Image uploads, written once for every service: where objects live in an image bucket, presigned
//! PUT URLs bounded in size, the check of what actually arrived, publishing, and S3 event records.
//!
//! An image bucket has three places ([`UPLOADS`], [`REVIEW`], [`PUBLIC`]); only [`PUBLIC`] is the
//! CDN's origin, so nothing a client uploads is served before the image handler has checked it and
//! the service has published it.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::{parsed_or, required, ConfigError};
use crate::error::{RequestError, Upstream};
use crate::validate::{Fields, ImageType};

mod events;
pub use events::{attach_image, created_objects, decode_key, judge, sniff, CreatedObject, ImageReport, Verdict};

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
        let cfg = PresigningConfig::expires_in(self.config.expires)
            .map_err(|e| Upstream::internal(crate::error::service::S3, e.to_string()))?;
        let size = size
            .map(i64::try_from)
            .transpose()
            .map_err(|e| Upstream::internal(crate::error::service::S3, e.to_string()))?;
        let req = self
            .s3
            .put_object()
            .bucket(&self.config.bucket)
            .key(format!("{UPLOADS}{key}"))
            .content_type(kind.mime())
            .set_content_length(size)
            .presigned(cfg)
            .await
            .map_err(|e| Upstream::new(crate::error::service::S3, e))?;
        Ok(req.uri().to_owned())
    }

    /// A short-lived GET of `key` under [`REVIEW`] (for admins deciding on it).
    pub async fn review_url(&self, key: &str) -> Result<String, Upstream> {
        let cfg = PresigningConfig::expires_in(self.config.expires)
            .map_err(|e| Upstream::internal(crate::error::service::S3, e.to_string()))?;
        let req = self
            .s3
            .get_object()
            .bucket(&self.config.bucket)
            .key(format!("{REVIEW}{key}"))
            .presigned(cfg)
            .await
            .map_err(|e| Upstream::new(crate::error::service::S3, e))?;
        Ok(req.uri().to_owned())
    }

    /// The public URL of `key` once published under [`PUBLIC`].
    pub fn public_url(&self, key: &str) -> String {
        public_url(&self.config.image_base_url, key)
    }

    /// Checks `key` under [`UPLOADS`] with one ranged GET of its head: the range answer carries
    /// the object's total size and content type, and the bytes its format; and the ETag of the
    /// object that was checked, to which the copy is bound.
    pub async fn verify(&self, key: &str) -> Result<(Verdict, Option<String>), Upstream> {
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
                    Some("NoSuchKey") => Ok((Verdict::Gone, None)),
                    // An empty object has no byte 0: S3 answers 416 InvalidRange.
                    Some("InvalidRange") => Ok((Verdict::Rejected("empty"), None)),
                    _ => Err(Upstream::new(crate::error::service::S3, err)),
                };
            }
        };
        let size = out
            .content_range()
            .and_then(total_of_range)
            .or_else(|| out.content_length().and_then(|n| u64::try_from(n).ok()))
            .unwrap_or(0);
        let content_type = out.content_type().map(str::to_owned);
        let etag = out.e_tag().map(str::to_owned);
        let head = out
            .body
            .collect()
            .await
            .map_err(|e| Upstream::internal(crate::error::service::S3, e.to_string()))?
            .into_bytes();
        Ok((judge(size, content_type.as_deref(), &head, self.config.max_bytes), etag))
    }

    /// Copies `from` to `to` (full keys) inside the bucket, only while `from` is still the object
    /// `of` names (`x-amz-copy-source-if-match`): a checked upload is copied only as the check read
    /// it (a PUT replayed between the check and the copy is never copied, its own event decides),
    /// with its metadata replaced: the content type its bytes were sniffed as and
    /// [`IMAGE_CACHE_CONTROL`], nothing else, so no `Cache-Control`, `Content-Disposition` or
    /// `Content-Encoding` an uploader added (unsigned) reaches the CDN. A copy made from one (the
    /// review copy) is copied as it was made, metadata kept. `Ok(Some(etag))`: copied, the new
    /// object's ETag; `Ok(None)`: the source changed or went since, nothing was copied.
    pub async fn copy(&self, from: &str, to: &str, of: CopyOf<'_>) -> Result<Option<String>, Upstream> {
        let source = format!("{}/{}", self.config.bucket, encode_key(from));
        let copy = self
            .s3
            .copy_object()
            .bucket(&self.config.bucket)
            .copy_source(source)
            .key(to);
        let copy = match of {
            CopyOf::Checked(c) => copy
                .set_copy_source_if_match(c.etag.clone())
                .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
                .content_type(c.kind.mime())
                .cache_control(IMAGE_CACHE_CONTROL),
            CopyOf::Made(etag) => copy
                .set_copy_source_if_match(etag.map(str::to_owned))
                .metadata_directive(aws_sdk_s3::types::MetadataDirective::Copy),
        };
        match copy.send().await {
            Ok(out) => Ok(Some(
                out.copy_object_result()
                    .and_then(|r| r.e_tag())
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Err(e)
                if matches!(
                    aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e),
                    Some("PreconditionFailed" | "NoSuchKey")
                ) =>
            {
                tracing::warn!(key = %from, "source replaced or removed since it was checked: not copied");
                Ok(None)
            }
            Err(e) => Err(Upstream::new(crate::error::service::S3, e)),
        }
    }

    /// Deletes `key` (a full key); deleting what is not there succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), Upstream> {
        self.s3
            .delete_object()
            .bucket(&self.config.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Upstream::new(crate::error::service::S3, e))?;
        Ok(())
    }

    /// Deletes every copy of `key`: the upload, the one under review and the published one.
    pub async fn delete_everywhere(&self, key: &str) -> Result<(), Upstream> {
        for place in [UPLOADS, REVIEW, PUBLIC] {
            self.delete(&format!("{place}{key}")).await?;
        }
        Ok(())
    }
}

/// What a copy is bound to.
#[derive(Debug, Clone, Copy)]
pub enum CopyOf<'a> {
    /// An upload that passed the check.
    Checked(&'a Checked),
    /// A copy made from a checked upload, with the ETag it was made with (`None`: recorded before
    /// ETags were, copied unbound).
    Made(Option<&'a str>),
}

/// An upload that passed the check: the type its bytes are, and the ETag of the object checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub kind: ImageType,
    pub etag: Option<String>,
}

/// The `Cache-Control` of every published image: five minutes, so that a withdrawn image (rejected,
/// deleted, replaced) leaves browsers and the CDN (whose cache policy caps its TTL the same) within
/// five minutes, without an invalidation.
pub const IMAGE_CACHE_CONTROL: &str = "public, max-age=300";

/// A key as the `x-amz-copy-source` header wants it: each segment percent-encoded.
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Characters kept as is in a URL path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The public URL of `key` under `base` (the CDN on AWS, the emulator's bucket URL locally).
pub fn public_url(base: &str, key: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), encode_key(key))
}

#[cfg(test)]
mod tests;
