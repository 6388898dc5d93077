//! What the runner's parts share: the state the API and the event sources read
//! ([`AppState`]), and why the runner could not start ([`RunnerError`]). Below every part that
//! uses them, so that [`crate::runner`] (start-up) is the top floor.

use std::sync::Arc;

use crate::declaration::Declaration;
use crate::emulator::Emulator;
use crate::jwt::Verifier;
use crate::registry::Services;
use crate::stack::StackInfo;
use crate::stage::StageValues;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error("the declaration is invalid: {0}")]
    Declaration(String),
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Bind(u16, std::io::Error),
    #[error("cannot write the stack description: {0}")]
    State(std::io::Error),
    #[error(transparent)]
    Stripe(#[from] crate::stripe::StripeError),
    #[error("the payment provider's configuration is invalid: {0}")]
    Payments(String),
}

/// What the API and the event sources share.
pub struct AppState {
    pub decl: Declaration,
    pub services: Services,
    pub verifier: Verifier,
    pub emulator: Emulator,
    pub info: StackInfo,
    pub s3: aws_sdk_s3::Client,
    /// The stack's name prefix (its metrics namespace is derived from it).
    pub prefix: String,
    /// The faults injected, and their counts.
    pub chaos: Arc<crate::chaos::Chaos>,
    /// API Gateway's throttling of each route.
    pub throttle: crate::throttle::Throttle,
    /// The local stage's values (CORS, among others), read once at start-up.
    pub stage: StageValues,
}
