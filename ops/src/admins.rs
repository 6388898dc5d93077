//! `shop-ops make-admin`: adds an account to the `admins` group, only if the account is confirmed,
//! enabled and has TOTP on. Where the stage requires MFA of admins (staging, prod), an admin
//! without TOTP could enrol the authenticator of whoever has their password on first use; so
//! the account enrols first (`/auth/mfa/setup`, `/auth/mfa/verify`), then joins. `--without-totp`
//! is for stages that do not require it (dev, the local stack). The change raises the admin
//! group alert (infra/lib/admin-watch.ts) on AWS.

use aws_sdk_cognitoidentityprovider::types::UserStatusType;
use aws_sdk_cognitoidentityprovider::Client;

/// Why an account may not become an admin, or the call that failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    NoSuchAccount(String),
    NotConfirmed(String),
    Disabled(String),
    NoTotp(String),
    Cognito(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchAccount(u) => write!(f, "no account {u} in the pool"),
            Self::NotConfirmed(u) => write!(f, "{u} has not confirmed its email"),
            Self::Disabled(u) => write!(f, "{u} is disabled"),
            Self::NoTotp(u) => write!(
                f,
                "{u} has no TOTP: turn it on first (/auth/mfa/setup, /auth/mfa/verify), or pass --without-totp on a stage that does not require it"
            ),
            Self::Cognito(e) => write!(f, "Cognito: {e}"),
        }
    }
}

/// Adds `username` of `pool` to the admins group after checking the account; `require_totp`
/// false skips the TOTP check only.
pub async fn make_admin(c: &Client, pool: &str, username: &str, require_totp: bool) -> Result<(), Refused> {
    let user = match c.admin_get_user().user_pool_id(pool).username(username).send().await {
        Ok(u) => u,
        Err(e) if e.as_service_error().is_some_and(|x| x.is_user_not_found_exception()) => {
            return Err(Refused::NoSuchAccount(username.to_owned()))
        }
        Err(e) => return Err(Refused::Cognito(format!("{e:?}"))),
    };
    if user.user_status() != Some(&UserStatusType::Confirmed) {
        return Err(Refused::NotConfirmed(username.to_owned()));
    }
    if !user.enabled() {
        return Err(Refused::Disabled(username.to_owned()));
    }
    if require_totp && !user.user_mfa_setting_list().iter().any(|m| m == shop_core::mfa::TOTP) {
        return Err(Refused::NoTotp(username.to_owned()));
    }
    c.admin_add_user_to_group()
        .user_pool_id(pool)
        .username(username)
        .group_name(shop_core::identity::ADMIN_GROUP)
        .send()
        .await
        .map_err(|e| Refused::Cognito(format!("{e:?}")))?;
    Ok(())
}
