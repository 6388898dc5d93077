//! A hook in the HTTP client of an SDK configuration: for every request a rule decides to send it
//! on, to answer it without sending (an AWS error: throttling, a 5xx, a refusal), or to run
//! something just before it goes out (another writer winning a race). The least-privilege
//! recorder observes through it; tests inject the faults and races the emulator cannot make.
//! Handlers get the configuration as usual and know nothing of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
pub use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
pub use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// What to do with one request.
pub enum Act {
    /// Send it on.
    Pass,
    /// Answer it without sending: an HTTP status and a JSON body (`{"__type": ..., "message": ...}`).
    Answer(u16, String),
    /// Run this first, then send it.
    Before(Pin<Box<dyn Future<Output = ()> + Send>>),
    /// Send it, then hand the answer through this (an answer AWS would give differently).
    After(Box<dyn FnOnce(HttpResponse) -> HttpResponse + Send>),
}

type Rule = dyn Fn(&HttpRequest, usize) -> Act + Send + Sync;

/// `sdk`, with `rule` consulted for every request (with the number of requests seen before it).
pub fn hooked(
    sdk: &aws_config::SdkConfig,
    rule: impl Fn(&HttpRequest, usize) -> Act + Send + Sync + 'static,
) -> aws_config::SdkConfig {
    // The same client the handlers use on Lambda (hyper, rustls on ring), wrapped.
    let inner = shop_core::aws::http_client();
    let client = Hooked {
        inner,
        rule: Arc::new(rule),
        seen: Arc::new(AtomicUsize::new(0)),
    };
    sdk.to_builder().http_client(SharedHttpClient::new(client)).build()
}

/// The operation of a JSON-protocol request (`DynamoDB_20120810.DeleteItem` -> `DeleteItem`).
pub fn operation(req: &HttpRequest) -> &str {
    req.headers()
        .get("x-amz-target")
        .and_then(|t| t.split('.').nth(1))
        .unwrap_or_default()
}

struct Hooked {
    inner: SharedHttpClient,
    rule: Arc<Rule>,
    seen: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Hooked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hooked HTTP client")
    }
}

impl HttpClient for Hooked {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            inner: self.inner.http_connector(settings, components),
            rule: self.rule.clone(),
            seen: self.seen.clone(),
        })
    }
}

struct Connector {
    inner: SharedHttpConnector,
    rule: Arc<Rule>,
    seen: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hooked HTTP connector")
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        match (self.rule)(&request, n) {
            Act::Pass => self.inner.call(request),
            Act::Answer(status, body) => match status.try_into() {
                Ok(status) => {
                    let mut resp = HttpResponse::new(status, aws_smithy_types::body::SdkBody::from(body));
                    resp.headers_mut().insert("content-type", "application/x-amz-json-1.0");
                    HttpConnectorFuture::ready(Ok(resp))
                }
                // Not an HTTP status: nothing to answer with, so the request goes out as it is.
                Err(_) => self.inner.call(request),
            },
            Act::Before(first) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    first.await;
                    inner.call(request).await
                })
            }
            Act::After(then) => {
                let sent = self.inner.call(request);
                HttpConnectorFuture::new(async move { sent.await.map(then) })
            }
        }
    }
}
