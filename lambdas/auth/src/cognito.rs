//! The Cognito adapter, [`Pool`]: the user pool and its app client, one method per call, each
//! call's SDK errors turned into [`Error`] variants here, and only here. This file: accounts
//! (sign-up, confirmation, codes, lookup, listing, deletion); `sessions`: sign-in, TOTP MFA,
//! refresh and sign-out.
//!
//! The app client has a secret (docs/api.md, "Sign-up is not a billing lever"): without it the
//! public client id would let anyone call `SignUp` or `ResendConfirmationCode` on Cognito directly,
//! around the API's per-IP limits. Every call the client authorizes carries the `SECRET_HASH` of
//! its username (refresh: the secret itself). The secret is read from Cognito
//! (`DescribeUserPoolClient`) the first time a call needs it, once per cold start: it is never in
//! the function's configuration or the templates.

use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::confirm_sign_up::ConfirmSignUpError;
use aws_sdk_cognitoidentityprovider::operation::resend_confirmation_code::ResendConfirmationCodeError;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserStatusType};
use aws_sdk_cognitoidentityprovider::Client;
use base64::Engine;
use shop_core::Upstream;
use std::sync::Arc;
use tokio::sync::OnceCell;

use crate::model::SignUp;
use crate::Error;

mod sessions;
pub use sessions::{SignedIn, Tokens};

const SERVICE: &str = shop_core::error::service::COGNITO;

/// A user as the pool knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUser {
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub confirmed: bool,
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, Error> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| Upstream::internal(SERVICE, e.to_string()).into())
}

fn message<E: ProvideErrorMetadata>(e: &E, fallback: &str) -> String {
    e.message().unwrap_or(fallback).to_owned()
}

/// The user pool and its app client: what every Cognito call of the service goes through.
#[derive(Clone, Debug)]
pub struct Pool {
    client: Client,
    pool_id: String,
    client_id: String,
    /// The app client's secret (`None` for a client without one), read once when first needed.
    secret: Arc<OnceCell<Option<String>>>,
}

/// The `SECRET_HASH` of a call for `username` on app client `client_id`: Base64 of the
/// HMAC-SHA256 of `username` followed by the client id, keyed with the client's secret (Cognito
/// developer guide, "Computing secret hash values").
pub fn secret_hash(secret: &str, client_id: &str, username: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

impl Pool {
    pub fn new(client: Client, pool_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            client,
            pool_id: pool_id.into(),
            client_id: client_id.into(),
            secret: Arc::new(OnceCell::new()),
        }
    }

    /// The app client's secret, asked of Cognito once; a failed read is asked again next time.
    async fn secret(&self) -> Result<Option<&str>, Error> {
        let secret = self
            .secret
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .describe_user_pool_client()
                    .user_pool_id(&self.pool_id)
                    .client_id(&self.client_id)
                    .send()
                    .await
                    .map_err(|e| match e.as_service_error() {
                        Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
                        _ => Upstream::new(SERVICE, e).into(),
                    })?;
                Ok::<_, Error>(out.user_pool_client.and_then(|c| c.client_secret))
            })
            .await?;
        Ok(secret.as_deref())
    }

    /// The `SECRET_HASH` a call for `username` carries (`None`: the client has no secret).
    async fn hash_for(&self, username: &str) -> Result<Option<String>, Error> {
        Ok(self
            .secret()
            .await?
            .map(|secret| secret_hash(secret, &self.client_id, username)))
    }

    /// Registers the user; answers the new user's `sub`.
    pub async fn sign_up(&self, s: &SignUp) -> Result<String, Error> {
        let out = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .set_secret_hash(self.hash_for(&s.username).await?)
            .username(&s.username)
            .password(&s.password)
            .user_attributes(attribute("email", &s.email)?)
            .user_attributes(attribute("name", &s.full_name)?)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(x) if x.is_username_exists_exception() => Error::UserExists(s.username.clone()),
                Some(x) if x.is_invalid_password_exception() => {
                    Error::WeakPassword(message(x, "rejected by the password policy"))
                }
                Some(x) if x.is_invalid_parameter_exception() => {
                    Error::InvalidParameter(message(x, "invalid parameter"))
                }
                Some(x) if x.is_too_many_requests_exception() || x.is_limit_exceeded_exception() => {
                    Error::TooManyRequests
                }
                _ => Upstream::new(SERVICE, e).into(),
            })?;
        Ok(out.user_sub().to_owned())
    }

    pub async fn confirm_sign_up(&self, username: &str, code: &str) -> Result<(), Error> {
        self.client
            .confirm_sign_up()
            .client_id(&self.client_id)
            .set_secret_hash(self.hash_for(username).await?)
            .username(username)
            .confirmation_code(code)
            .send()
            .await
            .map_err(confirm_error)?;
        Ok(())
    }

    pub async fn resend_code(&self, username: &str) -> Result<(), Error> {
        self.client
            .resend_confirmation_code()
            .client_id(&self.client_id)
            .set_secret_hash(self.hash_for(username).await?)
            .username(username)
            .send()
            .await
            .map_err(resend_error)?;
        Ok(())
    }

    /// The user's `sub`, attributes and status.
    pub async fn get_user(&self, username: &str) -> Result<PoolUser, Error> {
        let out = self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(x) if x.is_user_not_found_exception() => Error::UserNotFound,
                Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
                _ => Upstream::new(SERVICE, e).into(),
            })?;
        let attr = |n: &str| {
            out.user_attributes()
                .iter()
                .find(|a| a.name() == n)
                .and_then(|a| a.value())
                .map(str::to_owned)
        };
        Ok(PoolUser {
            sub: attr("sub").ok_or_else(|| Upstream::internal(SERVICE, "user has no sub"))?,
            email: attr("email"),
            name: attr("name"),
            confirmed: out.user_status() == Some(&UserStatusType::Confirmed),
        })
    }

    /// One page (at most 60) of the users matching Cognito's ListUsers `filter`, and the token of
    /// the next page.
    pub async fn list_users(
        &self,
        filter: &str,
        page: Option<String>,
    ) -> Result<(Vec<aws_sdk_cognitoidentityprovider::types::UserType>, Option<String>), Upstream> {
        let out = self
            .client
            .list_users()
            .user_pool_id(&self.pool_id)
            .filter(filter)
            .limit(60)
            .set_pagination_token(page)
            .send()
            .await
            .map_err(|e| Upstream::new(SERVICE, e))?;
        let next = out.pagination_token().map(str::to_owned);
        Ok((out.users.unwrap_or_default(), next))
    }

    /// Deletes a user (a sign-up whose Users record could not be written, an unconfirmed one past
    /// its age); one already gone is fine.
    pub async fn delete_user(&self, username: &str) -> Result<(), Upstream> {
        match self
            .client
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|x| x.is_user_not_found_exception()) => Ok(()),
            Err(e) => Err(Upstream::new(SERVICE, e)),
        }
    }
}

/// Confirmation failures: wrong and expired codes are the caller's to fix (400).
pub fn confirm_error(e: SdkError<ConfirmSignUpError, HttpResponse>) -> Error {
    match e.as_service_error() {
        Some(x) if x.is_code_mismatch_exception() => Error::CodeMismatch,
        Some(x) if x.is_expired_code_exception() => Error::CodeExpired,
        Some(x) if x.is_user_not_found_exception() => Error::UserNotFound,
        // Cognito answers NotAuthorized when the user is already confirmed.
        Some(x) if x.is_not_authorized_exception() => Error::AlreadyConfirmed,
        // Another confirmed account signs in with this email (an alias): as our own claim says.
        Some(x) if x.is_alias_exists_exception() => Error::EmailExists,
        Some(x)
            if x.is_too_many_requests_exception()
                || x.is_too_many_failed_attempts_exception()
                || x.is_limit_exceeded_exception() =>
        {
            Error::TooManyRequests
        }
        _ => Upstream::new(SERVICE, e).into(),
    }
}

/// Cognito's answers to ResendConfirmationCode as our errors.
pub fn resend_error(e: SdkError<ResendConfirmationCodeError, HttpResponse>) -> Error {
    match e.as_service_error() {
        Some(x) if x.is_user_not_found_exception() => Error::UserNotFound,
        // Cognito answers InvalidParameter when the user is already confirmed.
        Some(x) if x.is_invalid_parameter_exception() => Error::AlreadyConfirmed,
        Some(x) if x.is_too_many_requests_exception() || x.is_limit_exceeded_exception() => Error::TooManyRequests,
        _ => Upstream::new(SERVICE, e).into(),
    }
}

#[cfg(test)]
mod tests;
