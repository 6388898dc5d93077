//! Image uploads, written once for every service: presigned PUT URLs, S3 event records with their
//! keys decoded, and the public URL of an object.

use std::time::Duration;

use aws_lambda_events::s3::S3Event;
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
