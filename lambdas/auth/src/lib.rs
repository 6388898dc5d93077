//! Auth service: sign-up, confirmation, sign-in, sign-out, confirmation-code resend and token
//! refresh on a Cognito user pool, with a Users table record per Cognito user.
//!
//! - [`model`]: usernames, emails, the password policy and the user record; plain functions, no AWS.
//! - [`store`]: the Users table, one method per operation.
//! - [`cognito`]: the user pool and its app client ([`cognito::Pool`]), each call's SDK errors
//!   turned into [`Error`] variants there only.
//! - [`handlers`]: one public async function per HTTP Lambda; [`purge`]: the scheduled one that
//!   deletes sign-ups never confirmed; [`messages`]: the pool's CustomMessage trigger.

pub mod cognito;
pub mod handlers;
pub mod messages;
pub mod model;
pub mod purge;
pub mod store;

use std::time::Duration;

use shop_core::config::{optional, parsed_or, required, ConfigError};
use shop_core::{Http, RequestError, Upstream};

use model::PasswordPolicy;
use store::Users;

pub use handlers::{
    confirm_sign_up, mfa_setup, mfa_sign_in, mfa_verify, refresh_token, resend_confirmation_code, sign_in, sign_out,
    sign_up,
};
pub use messages::custom_message;
pub use purge::purge_unconfirmed;

/// Everything an auth handler needs, built once per cold start.
#[derive(Clone, Debug)]
pub struct Auth {
    pub pool: cognito::Pool,
    pub users: Users,
    pub config: AuthConfig,
    pub http: Http,
}

impl Auth {
    /// Reads the configuration and builds the clients from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = AuthConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        Ok(Self::new(&sdk, config))
    }

    pub fn new(sdk: &aws_config::SdkConfig, config: AuthConfig) -> Self {
        Self {
            pool: cognito::Pool::new(
                aws_sdk_cognitoidentityprovider::Client::new(sdk),
                &config.user_pool_id,
                &config.client_id,
            ),
            users: Users::new(shop_core::aws::dynamodb(sdk), config.users_table.clone()),
            config,
            http: Http::from_env(true),
        }
    }
}

/// A day: as long as Cognito's confirmation codes live.
pub const DEFAULT_UNCONFIRMED_MAX_AGE_SECS: u64 = 86_400;

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `USER_POOL_ID`
    pub user_pool_id: String,
    /// `USER_POOL_CLIENT_ID`: the app client that allows USER_PASSWORD_AUTH and refresh.
    pub client_id: String,
    /// `USERS_TABLE`: partition key `userId` (the Cognito `sub`), GSI [`store::EMAIL_INDEX`].
    pub users_table: String,
    /// `PASSWORD_MIN_LENGTH` (default 8): mirrors the pool's policy to explain a rejection.
    pub password_policy: PasswordPolicy,
    /// `UNCONFIRMED_MAX_AGE_SECS` (default 86400): an unconfirmed sign-up older than this is purged.
    pub unconfirmed_max_age: Duration,
    /// `METRICS_NAMESPACE` (default `Shop`): where sign-ups are counted (each is a billed user and
    /// an email: the sign-up alarm watches the count).
    pub metrics_namespace: String,
}

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        // A trigger of the pool is built beside the pool, which cannot name itself to its own
        // trigger (CloudFormation would see a cycle): it gets no pool ids, and never calls the
        // pool (each event names its pool).
        let trigger = messages::POOL_TRIGGERS.contains(&std::env::var("_HANDLER").unwrap_or_default().as_str());
        let pool_value = |name: &'static str| {
            if trigger {
                Ok(optional(name).unwrap_or_default())
            } else {
                required(name)
            }
        };
        Ok(Self {
            user_pool_id: pool_value("USER_POOL_ID")?,
            client_id: pool_value("USER_POOL_CLIENT_ID")?,
            users_table: required("USERS_TABLE")?,
            password_policy: PasswordPolicy {
                min_length: parsed_or("PASSWORD_MIN_LENGTH", 8)?,
            },
            unconfirmed_max_age: Duration::from_secs(parsed_or(
                "UNCONFIRMED_MAX_AGE_SECS",
                DEFAULT_UNCONFIRMED_MAX_AGE_SECS,
            )?),
            metrics_namespace: parsed_or("METRICS_NAMESPACE", "Shop".to_owned())?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("a user named {0} already exists")]
    UserExists(String),
    #[error("an account with this email already exists")]
    EmailExists,
    #[error("password is too weak: {0}")]
    WeakPassword(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("the confirmation code is wrong (if others signed up with this email too, confirm with your fullName)")]
    CodeMismatch,
    #[error("the confirmation code has expired, request a new one")]
    CodeExpired,
    #[error("no such user")]
    UserNotFound,
    #[error("the user is already confirmed")]
    AlreadyConfirmed,
    #[error("incorrect username or password")]
    InvalidCredentials,
    #[error("the user is not confirmed yet, confirm the sign-up first")]
    UserNotConfirmed,
    #[error("the user must complete the {0} challenge first")]
    ChallengeRequired(String),
    #[error("the token is invalid, expired or revoked")]
    InvalidToken,
    #[error("too many requests, try again later")]
    TooManyRequests,
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

shop_core::api_error!(Error {
    Self::UserExists(_) => (409, "UserExists"),
    Self::EmailExists => (409, "EmailExists"),
    Self::WeakPassword(_) => (400, "WeakPassword"),
    Self::InvalidParameter(_) => (400, "InvalidParameter"),
    Self::CodeMismatch => (400, "CodeMismatch"),
    Self::CodeExpired => (400, "CodeExpired"),
    Self::UserNotFound => (404, "UserNotFound"),
    Self::AlreadyConfirmed => (409, "AlreadyConfirmed"),
    Self::InvalidCredentials => (401, "InvalidCredentials"),
    Self::UserNotConfirmed => (403, "UserNotConfirmed"),
    Self::ChallengeRequired(_) => (403, "ChallengeRequired"),
    Self::InvalidToken => (401, "InvalidToken"),
    Self::TooManyRequests => (429, "TooManyRequests"),
});

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
    "custom-message" => event custom_message,
});
