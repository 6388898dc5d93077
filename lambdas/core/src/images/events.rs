//! What arrives in an image bucket: the check of an upload's size, type and first bytes, the
//! created objects of an S3 event, and the completion of the item that waited for its image.

use aws_lambda_events::s3::S3Event;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Checked, Images, REJECTED_METRIC, UPLOADS};
use crate::error::Upstream;
use crate::validate::ImageType;

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

impl Images {
    /// Calls `record(key, checked)` for every created object of the event under [`UPLOADS`] that
    /// passes [`Images::verify`] (`key` without the prefix). A failing one is deleted, logged
    /// with its reason and counted; the item that waits for it keeps waiting. `Ok(false)` from
    /// `record` means nothing waited for that image (an unknown key, or an event delivered again).
    pub async fn record_uploads<E, F, Fut>(&self, event: &S3Event, mut record: F) -> Result<ImageReport, E>
    where
        E: From<Upstream>,
        F: FnMut(String, Checked) -> Fut,
        Fut: std::future::Future<Output = Result<bool, E>>,
    {
        let mut report = ImageReport::default();
        for obj in created_objects(event) {
            let Some(key) = obj.key.strip_prefix(UPLOADS).filter(|k| !k.is_empty()) else {
                tracing::info!(key = %obj.key, "not an upload; ignored");
                report.ignored += 1;
                continue;
            };
            let (verdict, etag) = self.verify(key).await?;
            match verdict {
                Verdict::Image(kind) => {
                    if record(key.to_owned(), Checked { kind, etag }).await? {
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

/// `summer+sale%281%29.png` -> `summer sale(1).png`: S3 events encode keys as form values.
pub fn decode_key(raw: &str) -> String {
    crate::http::form_decode(raw)
}

/// What an S3 event changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageReport {
    pub recorded: usize,
    pub ignored: usize,
    /// Uploads that failed the check and were deleted.
    pub rejected: usize,
}

/// Completes the item at `key` that waits for `object_key`: sets `uploadedAt`, `status = done` and
/// each of `set` (attribute name, value: `imageUrl`, `reviewEtag`), only while its status is
/// `awaiting` and its `objectKey` matches, so a repeated event changes nothing. Answers whether it
/// changed the item.
pub async fn attach_image(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    key: std::collections::HashMap<String, AttributeValue>,
    object_key: &str,
    set: &[(&str, String)],
    (awaiting, done): (&str, &str),
) -> Result<bool, Upstream> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let mut expression = "SET uploadedAt = :now, #s = :done".to_owned();
    let mut values: std::collections::HashMap<String, AttributeValue> = [
        (":now", s(&crate::time::now())),
        (":done", s(done)),
        (":awaiting", s(awaiting)),
        (":key", s(object_key)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut names = std::collections::HashMap::from([("#s".to_owned(), "status".to_owned())]);
    for (i, (name, value)) in set.iter().enumerate() {
        expression.push_str(&format!(", #a{i} = :a{i}"));
        names.insert(format!("#a{i}"), (*name).to_owned());
        values.insert(format!(":a{i}"), s(value));
    }
    let updated = db
        .update_item()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .condition_expression("objectKey = :key AND #s = :awaiting")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .send()
        .await;
    Ok(crate::conditional(updated)?.is_some())
}
