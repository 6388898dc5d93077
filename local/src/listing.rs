//! S3's answer for a missing object, as AWS gives it. `GetObject`, `HeadObject` and the source
//! read of `CopyObject` on a key that does not exist answer 404 `NoSuchKey` only to a caller
//! whose role may `s3:ListBucket` the bucket; any other caller gets 403 `AccessDenied`, so that
//! it learns nothing about what is not there ("If you don't have the s3:ListBucket permission,
//! Amazon S3 returns an HTTP status code 403 Access Denied error": the `GetObject` API
//! reference, Permissions). moto ignores IAM and answers `NoSuchKey` to everyone, which once hid
//! that a repeated event for a deleted upload failed, retried and paged on AWS.
//!
//! The runner answers as AWS does for the roles the CDK app deploys: the function an S3 trigger
//! invokes may list the bucket that invokes it (the CDK app grants exactly that, from the same
//! declaration); every other handler gets the 403. Each 404 a lister receives is recorded as an
//! `s3:ListBucket` it relied on, so the least-privilege check (`scripts/iam_check.py`) holds the
//! deployed roles to it.

use std::collections::HashSet;
use std::sync::Arc;

use crate::declaration::Declaration;
use crate::http_hook::{Act, HttpRequest, HttpResponse};
use crate::recorder::{self, Sink};
use crate::stack::StackInfo;

/// Who may list which bucket, and where the reliance on it is recorded.
#[derive(Debug, Default)]
pub struct Listing {
    /// `(service/bin, bucket)`.
    listers: HashSet<(String, String)>,
    sink: Option<Arc<Sink>>,
}

impl Listing {
    /// The listers of a stack: each function an S3 trigger invokes, on the bucket that invokes it.
    pub fn new(decl: &Declaration, info: &StackInfo, sink: Option<Arc<Sink>>) -> Self {
        let mut listers = HashSet::new();
        for s in &decl.services {
            for f in &s.functions {
                let Some(trigger) = &f.s3 else { continue };
                if let Some(bucket) = info.bucket(&s.name, &trigger.bucket) {
                    listers.insert((format!("{}/{}", s.name, f.name), bucket.name.clone()));
                }
            }
        }
        Self { listers, sink }
    }

    /// For a handler's read of an object (`GET`/`HEAD`, or the source of a copy): the answer as
    /// AWS gives it to that handler's role. `None` for anything else.
    pub fn act(&self, req: &HttpRequest) -> Option<Act> {
        let function = recorder::current()?;
        if req.headers().get("x-amz-target").is_some() {
            return None;
        }
        let (bucket, key) = recorder::s3_object(req);
        let read = match (req.method(), recorder::copy_source(req)) {
            ("PUT", Some(src)) => src.split_once('/').map(|(b, _)| b.to_owned())?,
            ("GET" | "HEAD", None) if !key.is_empty() && !bucket.is_empty() => bucket,
            _ => return None,
        };
        let lists = self.listers.contains(&(function.clone(), read.clone()));
        let sink = self.sink.clone();
        Some(Act::After(Box::new(move |resp| {
            if !missing_key(&resp) {
                return resp;
            }
            if lists {
                if let Some(sink) = sink {
                    sink.implied(&function, "s3:ListBucket", &read);
                }
                return resp;
            }
            tracing::info!(function = %function, bucket = %read, "missing object: 403 AccessDenied, as AWS answers a role without s3:ListBucket");
            access_denied().unwrap_or(resp)
        })))
    }
}

/// A 404 for a key (a `HEAD` has no body to say which; a missing bucket is `NoSuchBucket`).
fn missing_key(resp: &HttpResponse) -> bool {
    if resp.status().as_u16() != 404 {
        return false;
    }
    let body = resp.body().bytes().unwrap_or_default();
    body.is_empty() || String::from_utf8_lossy(body).contains("<Code>NoSuchKey</Code>")
}

/// S3's 403, as its REST XML protocol writes it.
fn access_denied() -> Option<HttpResponse> {
    let status = 403u16.try_into().ok()?;
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"#;
    let mut resp = HttpResponse::new(status, aws_smithy_types::body::SdkBody::from(body));
    resp.headers_mut().insert("content-type", "application/xml");
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;

    fn answer(status: u16, body: &'static str) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
    }

    #[test]
    fn only_a_missing_key_is_a_missing_key() {
        assert!(missing_key(&answer(404, "<Error><Code>NoSuchKey</Code></Error>")));
        assert!(missing_key(&answer(404, "")), "a HEAD's 404 has no body");
        assert!(!missing_key(&answer(404, "<Error><Code>NoSuchBucket</Code></Error>")));
        assert!(!missing_key(&answer(200, "")));
    }

    #[test]
    fn the_refusal_reads_as_s3s_access_denied() {
        let r = access_denied().unwrap();
        assert_eq!(r.status().as_u16(), 403);
        assert!(String::from_utf8_lossy(r.body().bytes().unwrap()).contains("<Code>AccessDenied</Code>"));
    }
}
