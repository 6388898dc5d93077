//! How to run the local stack: the local stage's values and what only the runner has.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::stage::StageValues;

/// How to run the local stack: the local stage's values (`infra/stages.json`), which the command
/// line and the tests override in place, and what only the runner has (ports, state, names, faults).
#[derive(Debug, Clone)]
pub struct Options {
    /// API port (0 = any free port).
    pub port: u16,
    /// Port for a moto server we start (ignored when `MOTO_ENDPOINT` is set).
    pub moto_port: u16,
    /// Port for the local Stripe we start (ignored when `STRIPE_ENDPOINT` is set; 0 = any free
    /// port). Only when the stage's `payments` is `stripe`.
    pub stripe_port: u16,
    /// Wipe the emulator and provision from scratch.
    pub reset: bool,
    /// Where `stack.json` goes.
    pub state_dir: PathBuf,
    /// Prefix of every resource name.
    pub prefix: String,
    /// The verified sender of every email (a stage's SES identity on AWS).
    pub email_from: String,
    /// How often the cleanups run: the stage's `cleanupEveryMinutes`, which `--cleanup-every`
    /// overrides in seconds.
    pub cleanup_interval: Duration,
    /// The local stage's values.
    pub stage: StageValues,
    /// The faults to inject (`--chaos`): none by default.
    pub chaos: Arc<crate::chaos::Chaos>,
}

impl Options {
    /// The local stage's values, on port 3000, state in `.local/`.
    pub fn local() -> Result<Self, String> {
        let stage = crate::stage::values("local")?;
        Ok(Self {
            port: 3000,
            moto_port: 5000,
            stripe_port: 8420,
            reset: false,
            state_dir: PathBuf::from(".local"),
            prefix: "shop-local".into(),
            email_from: "noreply@example.com".into(),
            cleanup_interval: Duration::from_secs(stage.cleanup_every_minutes * 60),
            stage,
            chaos: Arc::new(crate::chaos::Chaos::off()),
        })
    }
}
