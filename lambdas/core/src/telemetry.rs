//! `tracing` setup: JSON on Lambda (CloudWatch parses it), compact text locally.
//!
//! Handlers log ids and outcomes only; bodies, passwords and tokens are never fields.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if on_lambda {
        builder.json().with_current_span(false).without_time().try_init()
    } else {
        builder.compact().try_init()
    };
}
