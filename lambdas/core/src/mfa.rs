//! The admin gate: admin routes need the `admins` group and, where the stage requires it (every
//! stage but dev), TOTP MFA enabled on the admin's account: Cognito then asks every sign-in of
//! that account for a code, so a stolen password alone no longer opens admin routes.
//!
//! ID tokens say nothing about MFA, so the gate asks Cognito (`AdminGetUser`: one call per admin
//! request, admin traffic only). The answer is about the account now: a disabled account is
//! refused at its next request. The gate also refuses a session older than the account's
//! [`SESSIONS_VALID_FROM`]: turning TOTP on (auth's mfa-verify) sets it to the next second and
//! signs the account out everywhere, so neither an ID token nor a refresh token of a sign-in
//! without a code opens an admin route after it.

use aws_sdk_cognitoidentityprovider::Client;

use crate::accounts::Accounts;
use crate::config::{parsed_or, required, ConfigError};
use crate::error::{AccessError, RequestError};
use crate::http::Request;
use crate::identity::Identity;

pub use crate::accounts::TOTP;
pub use crate::identity::SESSIONS_VALID_FROM;

/// Who may call an admin route.
#[derive(Clone, Debug, Default)]
pub struct AdminGate {
    /// The pool's accounts, asked whether an admin has TOTP on; `None` when the stage does not
    /// require it.
    mfa: Option<Accounts>,
}

impl AdminGate {
    /// `ADMIN_MFA_REQUIRED` (default false) and, when true, `USER_POOL_ID`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        if parsed_or("ADMIN_MFA_REQUIRED", false)? {
            Ok(Self::requiring_mfa(Client::new(sdk), required("USER_POOL_ID")?))
        } else {
            Ok(Self::default())
        }
    }

    /// A gate that also requires TOTP MFA on the admin's account in `user_pool_id`.
    pub fn requiring_mfa(cognito: Client, user_pool_id: String) -> Self {
        Self {
            mfa: Some(Accounts::new(cognito, user_pool_id)),
        }
    }

    /// The caller, if an admin who passes the gate: 401 without a caller, 403 `Forbidden` outside
    /// the admins group, 403 `MfaRequired` without TOTP where it is required.
    pub async fn admin(&self, req: &Request) -> Result<Identity, AccessError> {
        let who = Identity::admin_from_request(req)?;
        let Some(accounts) = &self.mfa else {
            return Ok(who);
        };
        let username = who.username.as_deref().ok_or(RequestError::Unauthorized)?;
        let account = accounts.get(username).await?.ok_or(RequestError::Unauthorized)?;
        // A disabled account (AdminDisableUser, the usual incident response) is out at once, not
        // when its token expires.
        if !account.enabled {
            tracing::warn!(admin = %who.sub, "disabled admin account refused");
            return Err(RequestError::Unauthorized.into());
        }
        if !account.totp {
            tracing::warn!(admin = %who.sub, "admin without TOTP MFA refused");
            return Err(RequestError::MfaRequired.into());
        }
        // A sign-in from before TOTP was turned on (or one whose time the token does not say)
        // is not a sign-in with a code: sign in again.
        if who.auth_time.is_none_or(|t| t < account.sessions_valid_from) {
            tracing::warn!(admin = %who.sub, "admin session from before TOTP was turned on refused");
            return Err(RequestError::Unauthorized.into());
        }
        Ok(who)
    }
}
