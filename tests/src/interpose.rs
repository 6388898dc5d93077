//! Faults and races the emulator cannot make on its own, injected at the HTTP layer of the SDK
//! configuration a test hands a handler: answer a chosen request with an AWS error (throttling, a
//! 5xx), or run something just before it goes out (another writer winning a race).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// What to do with one request.
pub enum Act {
    /// Send it on.
    Pass,
    /// Answer it without sending: an HTTP status and a JSON body (`{"__type": ..., "message": ...}`).
    Answer(u16, String),
    /// Run this first, then send it.
    Before(Pin<Box<dyn Future<Output = ()> + Send>>),
}

type Rule = dyn Fn(&HttpRequest, usize) -> Act + Send + Sync;

/// `sdk`, with `rule` consulted for every request (with the number of requests seen before it).
pub fn interpose(
    sdk: &aws_config::SdkConfig,
    rule: impl Fn(&HttpRequest, usize) -> Act + Send + Sync + 'static,
) -> aws_config::SdkConfig {
    let inner = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    let client = Interposer {
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

struct Interposer {
    inner: SharedHttpClient,
    rule: Arc<Rule>,
    seen: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Interposer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Interposer")
    }
}

impl HttpClient for Interposer {
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
        f.write_str("Interposer connector")
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        match (self.rule)(&request, n) {
            Act::Pass => self.inner.call(request),
            Act::Answer(status, body) => HttpConnectorFuture::ready(Ok(answer(status, body))),
            Act::Before(first) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    first.await;
                    inner.call(request).await
                })
            }
        }
    }
}

fn answer(status: u16, body: String) -> HttpResponse {
    let mut resp = HttpResponse::new(
        status
            .try_into()
            .unwrap_or_else(|_| 500u16.try_into().expect("500 is a status")),
        aws_smithy_types::body::SdkBody::from(body),
    );
    resp.headers_mut().insert("content-type", "application/x-amz-json-1.0");
    resp
}
