//! Image uploads, written once for every service: presigned PUT URLs, S3 event records with their
//! keys decoded, and the public URL of an object.

use std::time::Duration;

use aws_lambda_events::s3::S3Event;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::presigning::PresigningConfig;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::error::Upstream;
use crate::validate::ImageType;

/// A presigned PUT URL bound to the bucket, key and content type.
pub async fn presign_put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: ImageType,
    expires: Duration,
) -> Result<String, Upstream> {
    let cfg = PresigningConfig::expires_in(expires).map_err(|e| Upstream::internal("s3", e.to_string()))?;
    let req = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type.mime())
        .presigned(cfg)
        .await
        .map_err(|e| Upstream::new("s3", e))?;
    Ok(req.uri().to_owned())
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
    let path: Vec<String> = key
        .split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    format!("{}/{}", base.trim_end_matches('/'), path.join("/"))
}

/// What an S3 event changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageReport {
    pub recorded: usize,
    pub ignored: usize,
}

/// Calls `record` for every created object of the event. `Ok(false)` means nothing waited for
/// that object (an unknown key, or an event delivered again): it is logged and counted as ignored.
pub async fn record_uploads<E, F, Fut>(event: &S3Event, mut record: F) -> Result<ImageReport, E>
where
    F: FnMut(CreatedObject) -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
{
    let mut report = ImageReport::default();
    for obj in created_objects(event) {
        let key = obj.key.clone();
        if record(obj).await? {
            report.recorded += 1;
        } else {
            tracing::info!(key = %key, "nothing waits for this object; ignored");
            report.ignored += 1;
        }
    }
    Ok(report)
}

/// Completes the item at `key` that waits for `object_key`: sets `imageUrl`, `uploadedAt` and
/// `status = done`, only while its status is `awaiting` and its `objectKey` matches, so a repeated
/// event changes nothing. Answers whether it changed the item.
pub async fn attach_image(
    db: &aws_sdk_dynamodb::Client,
    table: &str,
    key: std::collections::HashMap<String, AttributeValue>,
    object_key: &str,
    image_url: String,
    (awaiting, done): (&str, &str),
) -> Result<bool, Upstream> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let updated = db
        .update_item()
        .table_name(table)
        .set_key(Some(key))
        .update_expression("SET imageUrl = :url, uploadedAt = :now, #s = :done")
        .condition_expression("objectKey = :key AND #s = :awaiting")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":url", AttributeValue::S(image_url))
        .expression_attribute_values(":now", AttributeValue::S(crate::time::now()))
        .expression_attribute_values(":done", s(done))
        .expression_attribute_values(":awaiting", s(awaiting))
        .expression_attribute_values(":key", s(object_key))
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
