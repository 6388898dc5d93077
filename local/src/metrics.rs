//! The local view of the business metrics: the runner's `tracing` subscriber counts every EMF
//! line the handlers emit (`shop_core::metrics`), the same lines CloudWatch turns into metrics on
//! AWS, and `GET /_local/metrics` shows the counts of this stack's namespace.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

type Counts = BTreeMap<String, BTreeMap<String, u64>>;

fn counts() -> &'static Mutex<Counts> {
    static COUNTS: OnceLock<Mutex<Counts>> = OnceLock::new();
    COUNTS.get_or_init(|| Mutex::new(Counts::new()))
}

/// Installs the runner's subscriber once: compact logs, and the EMF counter.
pub fn init_telemetry() {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let emf = shop_core::metrics::TARGET;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .compact()
                .with_target(false)
                // print!, so a test harness running runners in-process captures the lines.
                .with_test_writer()
                .with_filter(filter)
                .with_filter(filter_fn(move |m| m.target() != emf)),
        )
        .with(EmfCounter.with_filter(filter_fn(move |m| m.target() == emf)))
        .try_init();
}

struct EmfCounter;

impl<S: tracing::Subscriber> Layer<S> for EmfCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let Some((namespace, name, value)) =
            shop_core::telemetry::emf_field(event).and_then(|line| shop_core::metrics::parse(&line))
        else {
            return;
        };
        if let Ok(mut c) = counts().lock() {
            *c.entry(namespace).or_default().entry(name).or_default() += value;
        }
    }
}

/// The counts of `namespace` so far, by metric.
pub fn snapshot(namespace: &str) -> BTreeMap<String, u64> {
    counts()
        .lock()
        .ok()
        .and_then(|c| c.get(namespace).cloned())
        .unwrap_or_default()
}
