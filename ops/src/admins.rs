//! `shop-ops make-admin`: adds an account to the `admins` group, only if the account is confirmed,
//! enabled and has TOTP on. Where the stage requires MFA of admins (staging, prod), an admin
//! without TOTP could enrol the authenticator of whoever has their password on first use; so
//! the account enrols first (`/auth/mfa/setup`, `/auth/mfa/verify`), then joins. `--without-totp`
//! is for stages that do not require it (dev, the local stack). The change raises the admin
//! group alert (infra/lib/admin-watch.ts) on AWS.

use shop_core::accounts::Accounts;

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

/// Adds `username` to the admins group after checking the account; `require_totp` false skips
/// the TOTP check only.
pub async fn make_admin(accounts: &Accounts, username: &str, require_totp: bool) -> Result<(), Refused> {
    let cognito = |e: shop_core::Upstream| Refused::Cognito(e.to_string());
    let account = accounts
        .get(username)
        .await
        .map_err(cognito)?
        .ok_or_else(|| Refused::NoSuchAccount(username.to_owned()))?;
    if !account.confirmed {
        return Err(Refused::NotConfirmed(username.to_owned()));
    }
    if !account.enabled {
        return Err(Refused::Disabled(username.to_owned()));
    }
    if require_totp && !account.totp {
        return Err(Refused::NoTotp(username.to_owned()));
    }
    accounts.add_to_admins(username).await.map_err(cognito)
}
