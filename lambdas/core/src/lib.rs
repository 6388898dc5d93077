//! Shared core of the shop backend, written once and used by every service crate.
//!
//! - [`config`]: environment variables read once at cold start into typed structs.
//! - [`error`]: the [`error::ApiError`] contract and the request-level errors every service shares.
//! - [`http`]: API Gateway HTTP API (payload v2) bodies, validated fields, responses with CORS.
//! - [`identity`]: the caller, from the JWT authorizer's claims.
//! - [`dynamo`]: the item codec, put-if-absent and the consistent read every store uses.
//! - [`pagination`]: opaque `nextToken` <-> DynamoDB `ExclusiveStartKey`.
//! - [`aws`]: SDK clients built once, honouring `AWS_ENDPOINT_URL`.
//! - [`lambda`]: thin `main` helpers around `lambda_runtime`.
//! - `catalog` (features `s3`, `cognito`): what banners, categories and products are built from.
//! - `images` (feature `s3`): presigned uploads, S3 event keys, public URLs.
//! - [`cleanup`]: the scheduled sweep of stale items through an index, and its SNS notice.
//! - `email` (feature `ses`): plain-text email through SES v2.
//! - `accounts` (feature `cognito`): the pool's accounts as the admin gate and the operator read
//!   and change them; `mfa`: the admin gate (admins group, TOTP MFA where the stage requires it).
//! - [`telemetry`]: `tracing` setup (JSON on Lambda, readable locally).
//! - `topic` (feature `sns`): an SNS topic as a store (cleanup notices, operations alerts).

#[cfg(feature = "cognito")]
pub mod accounts;
pub mod aws;
#[cfg(all(feature = "s3", feature = "cognito"))]
pub mod catalog;
pub mod cleanup;
pub mod config;
pub mod dynamo;
#[cfg(feature = "ses")]
pub mod email;
pub mod error;
pub mod http;
pub mod identity;
#[cfg(feature = "s3")]
pub mod images;
pub mod lambda;
pub mod metrics;
#[cfg(feature = "cognito")]
pub mod mfa;
pub mod money;
pub mod pagination;
pub mod telemetry;
pub mod time;
#[cfg(feature = "sns")]
pub mod topic;
pub mod validate;

pub use error::{conditional, ApiError, RequestError, Upstream};
pub use http::{Http, Request, Response};
pub use identity::Identity;

/// The product the smoke walk after every deploy orders (`shop-ops smoke`): its status keeps it out
/// of every listing, and its orders out of the business metrics.
pub const SYNTHETIC_PRODUCT_ID: &str = "smoke-synthetic-product";
