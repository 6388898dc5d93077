//! The Cognito adapter: each call's SDK errors become [`Error`] variants here, and only here.
//! This file: accounts (sign-up, confirmation, codes, lookup, deletion); `sessions`: sign-in,
//! TOTP MFA, refresh and sign-out.

use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::confirm_sign_up::ConfirmSignUpError;
use aws_sdk_cognitoidentityprovider::operation::resend_confirmation_code::ResendConfirmationCodeError;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserStatusType};
use aws_sdk_cognitoidentityprovider::Client;
use shop_core::Upstream;

use crate::model::SignUp;
use crate::Error;

mod sessions;
#[cfg(test)]
mod tests;

pub use sessions::{
    answer_totp, enable_totp, global_sign_out, is_admin, mark_sessions_valid_from, owner_of, refresh, sign_in,
    start_totp, SignedIn, Tokens,
};

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

/// Registers the user; answers the new user's `sub`.
pub async fn sign_up(c: &Client, client_id: &str, s: &SignUp) -> Result<String, Error> {
    let out = c
        .sign_up()
        .client_id(client_id)
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
            Some(x) if x.is_invalid_parameter_exception() => Error::InvalidParameter(message(x, "invalid parameter")),
            Some(x) if x.is_too_many_requests_exception() || x.is_limit_exceeded_exception() => Error::TooManyRequests,
            _ => Upstream::new(SERVICE, e).into(),
        })?;
    Ok(out.user_sub().to_owned())
}

pub async fn confirm_sign_up(c: &Client, client_id: &str, username: &str, code: &str) -> Result<(), Error> {
    c.confirm_sign_up()
        .client_id(client_id)
        .username(username)
        .confirmation_code(code)
        .send()
        .await
        .map_err(confirm_error)?;
    Ok(())
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

pub async fn resend_code(c: &Client, client_id: &str, username: &str) -> Result<(), Error> {
    c.resend_confirmation_code()
        .client_id(client_id)
        .username(username)
        .send()
        .await
        .map_err(resend_error)?;
    Ok(())
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

/// The user's `sub`, attributes and status.
pub async fn get_user(c: &Client, pool_id: &str, username: &str) -> Result<PoolUser, Error> {
    let out = c
        .admin_get_user()
        .user_pool_id(pool_id)
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

/// Deletes a user (a sign-up whose Users record could not be written, an unconfirmed one past its
/// age); one already gone is fine.
pub async fn delete_user(c: &Client, pool_id: &str, username: &str) -> Result<(), Upstream> {
    match c
        .admin_delete_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|x| x.is_user_not_found_exception()) => Ok(()),
        Err(e) => Err(Upstream::new(SERVICE, e)),
    }
}
