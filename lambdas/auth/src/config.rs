//! Auth configuration, read once at cold start.

use shop_core::config::{parsed_or, required, ConfigError};

use crate::domain::PasswordPolicy;

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
        })
    }
}
