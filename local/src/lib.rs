//! The local stack: everything needed to run the backend on the moto emulator.
//!
//! - [`declaration`]: the one declaration of functions, routes and triggers (shared with CDK).
//! - [`emulator`]: find or start a moto server and switch on state machine execution.
//! - [`stripe`]: find or start the local Stripe (the payment provider) and point its webhooks here.
//! - [`provision`]: create the same tables, pools, buckets and queues the CDK app deploys.
//! - [`stage`]: the local stage's values, from the stage data the CDK app deploys; [`options`]:
//!   them with the runner's own settings (ports, prefix, faults), as the command line sets them.
//! - [`stack`]: the whole backend provisioned under one prefix; [`registry`]: its services and
//!   the functions each serves.
//! - [`jwt`]: the API Gateway JWT authorizer's checks; [`throttle`]: its throttling.
//! - [`bridge`]: SQS messages -> Lambda events, acknowledged as Lambda does.
//! - [`streams`]: the Orders table's change stream -> Lambda DynamoDB events.
//! - [`metrics`]: the business metrics, counted from the handlers' EMF lines.
//! - [`http_hook`]: answer, or act before, chosen AWS requests of an SDK configuration.
//! - [`recorder`]: every AWS call a handler makes, for the least-privilege check.
//! - [`listing`]: S3's 403 for a missing object to a role that may not list its bucket.
//! - [`runner`]: start-up, the top floor; [`gateway`]: the HTTP API as API Gateway serves it (and
//!   its events, shared with the tests); [`devtools`]: `/_local/` endpoints and the CDN stand-in;
//!   [`triggers`]: the declared event sources; [`state`]: what they share; [`replies`]: the
//!   runner's own answers.

pub mod bridge;
pub mod chaos;
pub mod declaration;
pub mod devtools;
pub mod emulator;
pub mod gateway;
pub mod http_hook;
pub mod jwt;
pub mod listing;
pub mod metrics;
pub mod options;
pub mod provision;
pub mod recorder;
pub mod registry;
pub mod replies;
pub mod runner;
pub mod stack;
pub mod stage;
pub mod state;
pub mod streams;
pub mod stripe;
pub mod throttle;
pub mod triggers;
