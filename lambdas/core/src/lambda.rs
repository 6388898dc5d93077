//! Thin `main` helpers. Each service is one binary that serves every function of the service:
//! Lambda passes the function's configured handler in `_HANDLER`, and [`crate::functions!`] maps that
//! name (the function's name in `lambdas/services.json`) to its handler. One binary per service
//! instead of one per function: a fifth of the release links and of the artifacts to upload.

use std::future::Future;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;
use crate::http::{rest, Request, Response};

/// Serves an HTTP handler behind an HTTP API (payload 2.0) or a REST API (1.0: the request is
/// read as 2.0 and the answer goes back as 1.0, with the CORS headers a REST API leaves to the
/// function; [`crate::http::rest`]). The handler never fails: every error is already a response.
pub async fn serve_http<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let cors = rest::RestCors::from_env();
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<serde_json::Value>| {
        let cors = cors.clone();
        let fut = http_request(ev.payload).map(|(req, rest)| (handler(req), rest));
        async move {
            let (fut, rest) = fut.map_err(invalid)?;
            let mut resp = fut.await;
            if rest {
                cors.apply(&mut resp);
                serde_json::to_value(rest::response_of(resp)).map_err(invalid)
            } else {
                serde_json::to_value(resp).map_err(invalid)
            }
        }
    }))
    .await
}

/// The handlers' request from either API's event, and whether it came from a REST API.
pub fn http_request(event: serde_json::Value) -> Result<(Request, bool), serde_json::Error> {
    if rest::is_rest_event(&event) {
        Ok((rest::request_of(serde_json::from_value(event)?), true))
    } else {
        Ok((serde_json::from_value(event)?, false))
    }
}

/// Serves an event handler (S3, SQS, schedule). An `Err` is reported to Lambda, which retries,
/// as a [`diagnostic`]: its stable code is the invocation's `errorType`.
pub async fn serve_event<Ev, Out, Err, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    Ev: DeserializeOwned + Send + 'static,
    Out: Serialize,
    Err: ApiError,
    F: Fn(Ev) -> Fut,
    Fut: Future<Output = Result<Out, Err>>,
{
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Ev>| {
        let fut = handler(ev.payload);
        async move { fut.await.map_err(|e| diagnostic(&e)) }
    }))
    .await
}

/// What Lambda records of a failed invocation: `errorType` = the error's stable code
/// (`ServiceUnavailable`, `InvalidField`, ...), not the Rust type name; `errorMessage` = its text.
pub fn diagnostic(e: &dyn ApiError) -> Diagnostic {
    Diagnostic {
        error_type: e.code().to_owned(),
        error_message: e.to_string(),
    }
}

/// One invocation delivered in-process (the local runner, tests): an API Gateway request, or the
/// event of any other trigger as the JSON Lambda would pass.
#[derive(Debug)]
pub enum Invocation {
    Http(Box<Request>),
    /// A REST API's event (payload 1.0), with the CORS headers the function's configuration adds.
    Rest(serde_json::Value, rest::RestCors),
    Event(serde_json::Value),
}

/// What an in-process invocation answered: the HTTP response, or an event function's output as
/// JSON or its [`diagnostic`]. An event that does not parse as the function's input is the
/// diagnostic `InvalidEvent`, as the runtime would report it.
#[derive(Debug)]
pub enum Answer {
    Http(Box<Response>),
    Event(Result<serde_json::Value, Diagnostic>),
}

fn invalid(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: "InvalidEvent".to_owned(),
        error_message: e.to_string(),
    }
}

fn invalid_event(e: impl std::fmt::Display) -> Answer {
    Answer::Event(Err(invalid(e)))
}

/// Invokes an HTTP handler in-process, as [`serve_http`] would.
pub async fn invoke_http<F, Fut>(invocation: Invocation, handler: F) -> Answer
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let (req, cors) = match invocation {
        Invocation::Http(req) => (*req, None),
        Invocation::Rest(v, cors) => match serde_json::from_value(v) {
            Ok(req) => (rest::request_of(req), Some(cors)),
            Err(e) => return invalid_event(e),
        },
        Invocation::Event(v) => match http_request(v) {
            Ok((req, _)) => (req, None),
            Err(e) => return invalid_event(e),
        },
    };
    let mut resp = handler(req).await;
    if let Some(cors) = cors {
        cors.apply(&mut resp);
    }
    Answer::Http(Box::new(resp))
}

/// Invokes an event handler in-process, as [`serve_event`] would.
pub async fn invoke_event<Ev, Out, Err, F, Fut>(invocation: Invocation, handler: F) -> Answer
where
    Ev: DeserializeOwned,
    Out: Serialize,
    Err: ApiError,
    F: FnOnce(Ev) -> Fut,
    Fut: Future<Output = Result<Out, Err>>,
{
    let Invocation::Event(v) = invocation else {
        return invalid_event("an HTTP request for an event function");
    };
    let event = match serde_json::from_value(v) {
        Ok(ev) => ev,
        Err(e) => return invalid_event(e),
    };
    Answer::Event(match handler(event).await {
        Ok(out) => serde_json::to_value(out).map_err(|e| Diagnostic {
            error_type: "InvalidOutput".to_owned(),
            error_message: e.to_string(),
        }),
        Err(e) => Err(diagnostic(&e)),
    })
}

/// Ends a cold start that cannot go on (missing config): logs it and exits non-zero.
pub fn fatal(what: &str, err: impl std::fmt::Display) -> ! {
    tracing::error!(error = %err, "{what}");
    eprintln!("{what}: {err}");
    std::process::exit(1)
}

/// The runtime's error type, for the code [`crate::functions!`] generates.
pub use lambda_runtime::Error as RuntimeError;

/// A service's functions, declared once: generates `pub const FUNCTIONS: &[&str]` (their names,
/// which a test and the local runner hold equal to the declaration), `pub async fn serve(name,
/// &Deps)`, which runs the function `name` until the runtime stops, and `pub async fn invoke(name,
/// &Deps, Invocation)`, which runs it once in-process (the local runner, the tests). `http` handlers are
/// `async fn(&Deps, Request) -> Response`; `event` handlers `async fn(&Deps, Event) -> Result<_, _>`.
///
/// ```ignore
/// shop_core::functions!(Auth {
///     "sign-up" => http handlers::sign_up,
///     "purge-unconfirmed" => event purge::purge_unconfirmed,
/// });
/// ```
#[macro_export]
macro_rules! functions {
    ($deps:ty { $($name:literal => $kind:ident $handler:path),* $(,)? }) => {
        /// Every function this service's binary serves, by its name in `lambdas/services.json`
        /// (the Lambda handler setting of each deployed function).
        pub const FUNCTIONS: &[&str] = &[$($name),*];

        /// Serves the function `name` until the runtime stops; an unknown name is an error.
        pub async fn serve(name: &str, deps: &$deps) -> Result<(), $crate::lambda::RuntimeError> {
            match name {
                $($name => $crate::functions!(@serve $kind, deps, $handler),)*
                other => Err(format!("unknown handler {other:?}: this binary serves {FUNCTIONS:?}").into()),
            }
        }

        /// Runs the function `name` once on `invocation`, in-process (the local runner and the
        /// tests dispatch through this); `None` for a name this service does not have.
        pub async fn invoke(
            name: &str,
            deps: &$deps,
            invocation: $crate::lambda::Invocation,
        ) -> Option<$crate::lambda::Answer> {
            Some(match name {
                $($name => $crate::functions!(@invoke $kind, deps, invocation, $handler),)*
                _ => return None,
            })
        }
    };
    // Each function's future is boxed: the dispatch's own future then holds a pointer, not every
    // handler's future nested inside it, whose layout a cold build could not compute within
    // rustc's query depth limit (one allocation per invocation, or per cold start for `serve`).
    (@invoke http, $deps:ident, $inv:ident, $handler:path) => {
        Box::pin($crate::lambda::invoke_http($inv, move |req| $handler($deps, req))).await
    };
    (@invoke event, $deps:ident, $inv:ident, $handler:path) => {
        Box::pin($crate::lambda::invoke_event($inv, move |ev| $handler($deps, ev))).await
    };
    (@serve http, $deps:ident, $handler:path) => {
        Box::pin($crate::lambda::serve_http(move |req| $handler($deps, req))).await
    };
    (@serve event, $deps:ident, $handler:path) => {
        Box::pin($crate::lambda::serve_event(move |ev| $handler($deps, ev))).await
    };
}

/// `main` of a service binary: `service_main!(Deps::from_env(), crate::FUNCTIONS, crate::serve)`.
/// An unknown `_HANDLER` fails the cold start at once, before any configuration is read.
#[macro_export]
macro_rules! service_main {
    ($deps:expr, $functions:path, $serve:path) => {
        #[tokio::main]
        async fn main() -> Result<(), $crate::lambda::RuntimeError> {
            $crate::telemetry::init();
            let name = std::env::var("_HANDLER").unwrap_or_default();
            if !$functions.contains(&name.as_str()) {
                $crate::lambda::fatal(
                    "handler",
                    format!(
                        "unknown handler {name:?} (_HANDLER): this binary serves {:?}",
                        $functions
                    ),
                );
            }
            let deps = match $deps.await {
                Ok(d) => d,
                Err(e) => $crate::lambda::fatal("configuration", e),
            };
            $serve(&name, &deps).await
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::http::{Request, Response};

    pub struct Deps;

    async fn hello(_: &Deps, _: Request) -> Response {
        Response::default()
    }

    async fn tick(_: &Deps, _: serde_json::Value) -> Result<(), crate::Upstream> {
        Ok(())
    }

    crate::functions!(Deps {
        "hello" => http hello,
        "tick" => event tick,
    });

    #[test]
    fn a_failed_event_reports_its_stable_code_as_the_lambda_error_type() {
        let d = super::diagnostic(&crate::Upstream::internal(crate::error::service::DYNAMODB, "boom"));
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("ServiceUnavailable", "dynamodb is unavailable, try again later")
        );
        let d = super::diagnostic(&crate::RequestError::invalid("items", "line 2: too many"));
        assert_eq!(d.error_type, "InvalidField");
    }

    #[test]
    fn a_service_lists_the_functions_it_serves() {
        assert_eq!(FUNCTIONS, ["hello", "tick"]);
    }

    #[tokio::test]
    async fn an_in_process_invocation_reaches_the_named_function_and_parses_its_event() {
        use super::{Answer, Invocation};
        let http = invoke("hello", &Deps, Invocation::Http(Box::default())).await;
        assert!(matches!(http, Some(Answer::Http(_))));
        let ok = invoke("tick", &Deps, Invocation::Event(serde_json::json!({}))).await;
        assert!(matches!(ok, Some(Answer::Event(Ok(serde_json::Value::Null)))), "{ok:?}");
        let wrong = invoke("tick", &Deps, Invocation::Http(Box::default())).await;
        assert!(matches!(wrong, Some(Answer::Event(Err(ref d))) if d.error_type == "InvalidEvent"));
        assert!(invoke("goodbye", &Deps, Invocation::Event(serde_json::json!({})))
            .await
            .is_none());
    }

    #[tokio::test]
    async fn an_unknown_handler_is_refused_by_name_without_serving() {
        let err = serve("goodbye", &Deps).await.unwrap_err().to_string();
        assert!(
            err.contains("unknown handler \"goodbye\"") && err.contains("[\"hello\", \"tick\"]"),
            "{err}"
        );
    }
}
