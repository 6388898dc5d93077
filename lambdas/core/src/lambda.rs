//! Thin `main` helpers: each binary reads its config, builds its clients and calls one of these.

use std::future::Future;

use lambda_runtime::{service_fn, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::http::{Request, Response};

/// Serves an HTTP API handler. The handler never fails: every error is already a response.
pub async fn serve_http<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Request>| {
        let fut = handler(ev.payload);
        async move { Ok::<_, std::convert::Infallible>(fut.await) }
    }))
    .await
}

/// Serves an event handler (S3, SQS, schedule). An `Err` is reported to Lambda, which retries.
pub async fn serve_event<Ev, Out, Err, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    Ev: DeserializeOwned + Send + 'static,
    Out: Serialize,
    Err: std::fmt::Display + std::fmt::Debug,
    F: Fn(Ev) -> Fut,
    Fut: Future<Output = Result<Out, Err>>,
{
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Ev>| {
        let fut = handler(ev.payload);
        async move { fut.await.map_err(|e| lambda_runtime::Error::from(e.to_string())) }
    }))
    .await
}

/// Ends a cold start that cannot go on (missing config): logs it and exits non-zero.
pub fn fatal(what: &str, err: impl std::fmt::Display) -> ! {
    tracing::error!(error = %err, "{what}");
    eprintln!("{what}: {err}");
    std::process::exit(1)
}
