//! Auth configuration, read once at cold start.

use std::time::Duration;

use shop_core::config::{parsed_or, required, ConfigError};

use crate::domain::PasswordPolicy;

/// A day: as long as Cognito's confirmation codes live.
pub const DEFAULT_UNCONFIRMED_MAX_AGE_SECS: u64 = 86_400;

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `USER_POOL_ID`
    pub user_pool_id: String,
    /// `USER_POOL_CLIENT_ID`: the app client that allows USER_PASSWORD_AUTH and refresh.
    pub client_id: String,
    /// `USERS_TABLE`: partition key `userId` (the Cognito `sub`), GSI [`crate::users::EMAIL_INDEX`].
    pub users_table: String,
    /// `PASSWORD_MIN_LENGTH` (default 8): mirrors the pool's policy to explain a rejection.
    pub password_policy: PasswordPolicy,
    /// `UNCONFIRMED_MAX_AGE_SECS` (default 86400): an unconfirmed sign-up older than this is purged.
    pub unconfirmed_max_age: Duration,
}

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            user_pool_id: required("USER_POOL_ID")?,
            client_id: required("USER_POOL_CLIENT_ID")?,
            users_table: required("USERS_TABLE")?,
            password_policy: PasswordPolicy {
                min_length: parsed_or("PASSWORD_MIN_LENGTH", 8)?,
            },
            unconfirmed_max_age: Duration::from_secs(parsed_or(
                "UNCONFIRMED_MAX_AGE_SECS",
                DEFAULT_UNCONFIRMED_MAX_AGE_SECS,
            )?),
        })
    }
}
