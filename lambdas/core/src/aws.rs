//! AWS SDK configuration, loaded once per cold start.
//!
//! `aws-config` already honours `AWS_ENDPOINT_URL`, so the same code talks to AWS on Lambda and
//! to the local emulator on a laptop. S3 then needs path-style addressing (no virtual hosts).

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The HTTPS client of every SDK client: hyper with rustls on ring (the SDKs' default is rustls on
/// aws-lc, a C library that makes every binary about 1.8 MiB bigger and a cold build slower).
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// How long one AWS operation (all its attempts) may take: below every function's timeout (10 s
/// unless declared longer), so a stalled call ends in the handler's own 503 (or its event's
/// failure) instead of Lambda killing the function and API Gateway answering 500.
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// The SDK timeouts of every client: [`OPERATION_TIMEOUT`], and a connect timeout.
pub fn timeouts() -> aws_smithy_types::timeout::TimeoutConfig {
    aws_smithy_types::timeout::TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .connect_timeout(std::time::Duration::from_secs(3))
        .build()
}

/// The shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .load()
        .await
}

/// The DynamoDB client.
pub fn dynamodb(cfg: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(cfg)
}

/// The S3 client; path-style when an endpoint override (the emulator) is set.
#[cfg(feature = "s3")]
pub fn s3(cfg: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(cfg.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The SNS client.
#[cfg(feature = "sns")]
pub fn sns(cfg: &aws_config::SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(cfg)
}

/// The SES v2 client.
#[cfg(feature = "ses")]
pub fn ses(cfg: &aws_config::SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(cfg)
}
