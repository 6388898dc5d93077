//! Auth service: sign-up, confirmation, sign-in, sign-out, confirmation-code resend and token
//! refresh on a Cognito user pool, with a Users table record per Cognito user.
//!
//! - [`domain`]: usernames, emails and the password policy; plain functions, no AWS.
//! - [`cognito`] and [`users`]: the adapters, each turning SDK errors into [`Error`] variants.
//! - [`handlers`]: one public async function per Lambda, callable in-process by the local runner.
//! - [`purge`]: the schedule that deletes sign-ups never confirmed.

pub mod cognito;
pub mod config;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod purge;
pub mod users;

pub use config::AuthConfig;
pub use error::Error;
pub use handlers::{
    confirm_sign_up, mfa_setup, mfa_sign_in, mfa_verify, refresh_token, resend_confirmation_code, sign_in, sign_out,
    sign_up,
};
pub use purge::purge_unconfirmed;

use shop_core::Http;

/// Everything an auth handler needs, built once per cold start.
#[derive(Clone, Debug)]
pub struct Auth {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub config: AuthConfig,
    pub http: Http,
}

impl Auth {
    /// Reads the configuration and builds the clients from the environment.
    pub async fn from_env() -> Result<Self, shop_core::config::ConfigError> {
        let config = AuthConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self::new(&sdk, config))
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: AuthConfig) -> Self {
        Self {
            cognito: aws_sdk_cognitoidentityprovider::Client::new(sdk),
            dynamodb: shop_core::aws::dynamodb(sdk),
            config,
            http: Http::from_env(true),
        }
    }
}

// Every function of this service, served by the one `shop-auth` binary (`_HANDLER` names it).
shop_core::functions!(Auth {
    "sign-up" => http sign_up,
    "confirm-sign-up" => http confirm_sign_up,
    "sign-in" => http sign_in,
    "sign-out" => http sign_out,
    "resend-confirmation-code" => http resend_confirmation_code,
    "refresh-token" => http refresh_token,
    "mfa-setup" => http mfa_setup,
    "mfa-verify" => http mfa_verify,
    "mfa-sign-in" => http mfa_sign_in,
    "purge-unconfirmed" => event purge_unconfirmed,
});
