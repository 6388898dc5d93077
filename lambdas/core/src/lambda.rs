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

/// `main` of an HTTP function: `http_main!(Deps::from_env(), handler)` where `handler` is
/// `async fn(&Deps, Request) -> Response`.
#[macro_export]
macro_rules! http_main {
    ($deps:expr, $handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_runtime::Error> {
            $crate::telemetry::init();
            let deps = match $deps.await {
                Ok(d) => d,
                Err(e) => $crate::lambda::fatal("configuration", e),
            };
            let deps = &deps;
            $crate::lambda::serve_http(move |req| $handler(deps, req)).await
        }
    };
}

/// `main` of an event function (S3, SQS, schedule): `handler` is
/// `async fn(&Deps, Event) -> Result<Out, Error>`.
#[macro_export]
macro_rules! event_main {
    ($deps:expr, $handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_runtime::Error> {
            $crate::telemetry::init();
            let deps = match $deps.await {
                Ok(d) => d,
                Err(e) => $crate::lambda::fatal("configuration", e),
            };
            let deps = &deps;
            $crate::lambda::serve_event(move |ev| $handler(deps, ev)).await
        }
    };
}
