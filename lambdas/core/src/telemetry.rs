//! `tracing` setup: JSON on Lambda (CloudWatch parses it), compact text locally. EMF data points
//! ([`crate::metrics`]) are printed as their bare JSON line, which CloudWatch needs to extract them.
//!
//! Handlers log ids and outcomes only; bodies, passwords and tokens are never fields.

use tracing::field::{Field, Visit};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::metrics::TARGET;

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let logs = if on_lambda {
        fmt.json().with_current_span(false).without_time().boxed()
    } else {
        fmt.compact().boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(
            logs.with_filter(filter)
                .with_filter(filter_fn(|m| m.target() != TARGET)),
        )
        .with(EmfLines.with_filter(filter_fn(|m| m.target() == TARGET)))
        .try_init();
}

/// Prints the `emf` field of each EMF event as one line on stdout.
struct EmfLines;

impl<S: tracing::Subscriber> Layer<S> for EmfLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if let Some(line) = emf_field(event) {
            println!("{line}");
        }
    }
}

/// The `emf` field of an event, if it has one.
pub fn emf_field(event: &tracing::Event<'_>) -> Option<String> {
    struct Find(Option<String>);
    impl Visit for Find {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "emf" {
                self.0 = Some(format!("{value:?}"));
            }
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "emf" {
                self.0 = Some(value.to_owned());
            }
        }
    }
    let mut find = Find(None);
    event.record(&mut find);
    find.0
}
