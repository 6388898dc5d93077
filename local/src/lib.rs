//! The local stack: everything needed to run the backend on the moto emulator.
//!
//! - [`bridge`]: SQS messages -> Lambda events, acknowledged as Lambda does.
//! - [`emulator`]: find or start a moto server and switch on state machine execution.
//! - [`provision`]: create the same tables, pools, buckets and queues the CDK app deploys.

pub mod bridge;
pub mod emulator;
pub mod provision;
