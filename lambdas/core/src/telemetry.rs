//! `tracing` setup: JSON on Lambda (CloudWatch parses it), compact text locally. EMF data points
//! ([`crate::metrics`]) are printed as their bare JSON line, which CloudWatch needs to extract them.
//!
//! Handlers log ids and outcomes only; bodies, passwords and tokens are never fields.

use tracing::field::{Field, Visit};
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::metrics::TARGET;

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter = level_filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
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

/// The filter from `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`. Both take a level
/// (any case) or `target=level` pairs separated by commas; an empty value or one that does not parse
/// is skipped.
/// `Targets`, not `EnvFilter`: the same syntax for what we use, without a regex engine in every binary.
fn level_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    [rust_log, lambda_level]
        .into_iter()
        .flatten()
        .find_map(|value| {
            value
                .trim()
                .parse::<Targets>()
                .ok()
                .filter(|_| !value.trim().is_empty())
        })
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
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

#[cfg(test)]
mod tests {
    use super::level_filter;
    use tracing::Level;

    #[test]
    fn the_log_level_comes_from_rust_log_then_lambda_then_info() {
        let info = level_filter(None, None);
        assert!(info.would_enable("shop", &Level::INFO) && !info.would_enable("shop", &Level::DEBUG));
        let lambda = level_filter(None, Some("DEBUG"));
        assert!(lambda.would_enable("shop", &Level::DEBUG));
        let warn = level_filter(Some("warn"), Some("DEBUG"));
        assert!(!warn.would_enable("shop", &Level::INFO) && warn.would_enable("shop", &Level::WARN));
        let per_target = level_filter(Some("info,aws_smithy_runtime=warn"), None);
        assert!(per_target.would_enable("order", &Level::INFO));
        assert!(!per_target.would_enable("aws_smithy_runtime::client", &Level::INFO));
        let unparsable = level_filter(Some("shop=loud"), Some(""));
        assert!(unparsable.would_enable("shop", &Level::INFO) && !unparsable.would_enable("shop", &Level::DEBUG));
    }
}
