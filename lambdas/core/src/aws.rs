//! AWS SDK configuration, loaded once per cold start.
//!
//! `aws-config` already honours `AWS_ENDPOINT_URL`, so the same code talks to AWS on Lambda and
//! to the local emulator on a laptop. S3 then needs path-style addressing (no virtual hosts).

/// The shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
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
