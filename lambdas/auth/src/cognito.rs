//! The Cognito adapter: each call's SDK errors become [`Error`] variants here, and only here.

use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::operation::confirm_sign_up::ConfirmSignUpError;
use aws_sdk_cognitoidentityprovider::operation::resend_confirmation_code::ResendConfirmationCodeError;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, SoftwareTokenMfaSettingsType,
    UserStatusType,
};
use aws_sdk_cognitoidentityprovider::Client;
use serde::Serialize;
use shop_core::Upstream;

use crate::domain::SignUp;
use crate::error::Error;

const SERVICE: &str = "cognito";

/// Tokens as the original API returned them (Cognito's own field names).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i32,
    pub id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: String,
}

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
            Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
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
        Some(x) if x.is_too_many_requests_exception() || x.is_too_many_failed_attempts_exception() => {
            Error::TooManyRequests
        }
        _ => Upstream::new(SERVICE, e).into(),
    }
}

fn tokens(r: Option<&AuthenticationResultType>) -> Result<Tokens, Error> {
    let r = r.ok_or_else(|| Upstream::internal(SERVICE, "authentication result missing"))?;
    let missing = || Error::from(Upstream::internal(SERVICE, "token missing from authentication result"));
    Ok(Tokens {
        access_token: r.access_token().ok_or_else(missing)?.to_owned(),
        expires_in: r.expires_in(),
        id_token: r.id_token().ok_or_else(missing)?.to_owned(),
        refresh_token: r.refresh_token().map(str::to_owned),
        token_type: r.token_type().unwrap_or("Bearer").to_owned(),
    })
}

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    Tokens(Tokens),
    /// The account has TOTP MFA: answer the challenge with a code and this session.
    Totp {
        session: String,
    },
}

/// USER_PASSWORD_AUTH. A wrong password and an unknown user are the same 401.
pub async fn sign_in(c: &Client, client_id: &str, username: &str, password: &str) -> Result<SignedIn, Error> {
    let out = c
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(x) if x.is_not_authorized_exception() || x.is_user_not_found_exception() => Error::InvalidCredentials,
            Some(x) if x.is_user_not_confirmed_exception() || x.is_password_reset_required_exception() => {
                Error::UserNotConfirmed
            }
            Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
            _ => Upstream::new(SERVICE, e).into(),
        })?;
    match (out.challenge_name(), out.session()) {
        (Some(ChallengeNameType::SoftwareTokenMfa), Some(session)) => Ok(SignedIn::Totp {
            session: session.to_owned(),
        }),
        (Some(other), _) => Err(Error::ChallengeRequired(other.as_str().to_owned())),
        (None, _) => tokens(out.authentication_result()).map(SignedIn::Tokens),
    }
}

/// Answers the TOTP challenge of a sign-in: the tokens. A wrong code is `CodeMismatch`; an
/// expired, used or forged session `InvalidToken`.
pub async fn answer_totp(
    c: &Client,
    client_id: &str,
    username: &str,
    session: &str,
    code: &str,
) -> Result<Tokens, Error> {
    let out = c
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::SoftwareTokenMfa)
        .session(session)
        .challenge_responses("USERNAME", username)
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(x) if x.is_code_mismatch_exception() => Error::CodeMismatch,
            Some(x) if x.is_expired_code_exception() => Error::CodeExpired,
            Some(x)
                if x.is_not_authorized_exception()
                    || x.is_resource_not_found_exception()
                    || x.is_user_not_found_exception() =>
            {
                Error::InvalidToken
            }
            Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
            _ => Upstream::new(SERVICE, e).into(),
        })?;
    tokens(out.authentication_result())
}

/// The error of a call authorized by the user's access token: a refused, revoked or unknown token
/// is `InvalidToken`, anything else upstream.
fn token_call_error<E>(e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.code() {
        Some("NotAuthorizedException" | "ResourceNotFoundException") => Error::InvalidToken,
        _ => Upstream::new(SERVICE, e).into(),
    }
}

/// Starts TOTP setup for the owner of `access_token`: the shared secret (base32) for their app.
pub async fn start_totp(c: &Client, access_token: &str) -> Result<String, Error> {
    let out = c
        .associate_software_token()
        .access_token(access_token)
        .send()
        .await
        .map_err(token_call_error)?;
    out.secret_code()
        .map(str::to_owned)
        .ok_or_else(|| Upstream::internal(SERVICE, "no secret code").into())
}

/// Verifies a first code from the app and makes TOTP the account's MFA: from then on every
/// sign-in asks for a code.
pub async fn enable_totp(c: &Client, access_token: &str, code: &str) -> Result<(), Error> {
    c.verify_software_token()
        .access_token(access_token)
        .user_code(code)
        .friendly_device_name("authenticator")
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(x) if x.is_code_mismatch_exception() || x.is_enable_software_token_mfa_exception() => {
                Error::CodeMismatch
            }
            Some(x) if x.is_not_authorized_exception() || x.is_resource_not_found_exception() => Error::InvalidToken,
            Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
            _ => Upstream::new(SERVICE, e).into(),
        })?;
    let totp = SoftwareTokenMfaSettingsType::builder()
        .enabled(true)
        .preferred_mfa(true)
        .build();
    c.set_user_mfa_preference()
        .access_token(access_token)
        .software_token_mfa_settings(totp)
        .send()
        .await
        .map_err(token_call_error)?;
    Ok(())
}

/// REFRESH_TOKEN_AUTH: new access and ID tokens (no new refresh token).
pub async fn refresh(c: &Client, client_id: &str, refresh_token: &str) -> Result<Tokens, Error> {
    let out = c
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", refresh_token)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(x) if x.is_not_authorized_exception() || x.is_user_not_found_exception() => Error::InvalidToken,
            Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
            _ => Upstream::new(SERVICE, e).into(),
        })?;
    tokens(out.authentication_result())
}

/// Revokes every token of the user, refresh tokens included.
pub async fn global_sign_out(c: &Client, access_token: &str) -> Result<(), Error> {
    c.global_sign_out()
        .access_token(access_token)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(x) if x.is_not_authorized_exception() => Error::InvalidToken,
            Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
            _ => Upstream::new(SERVICE, e).into(),
        })?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::error::{CodeMismatchException, ExpiredCodeException};
    use shop_core::ApiError;

    // moto accepts any confirmation code, so the wrong- and expired-code answers are proven on
    // the SDK's own error values, through the mapping the handler uses.
    fn service_error(e: ConfirmSignUpError) -> SdkError<ConfirmSignUpError, HttpResponse> {
        let raw = HttpResponse::new(400u16.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty());
        SdkError::service_error(e, raw)
    }

    fn resend_service_error(e: ResendConfirmationCodeError) -> SdkError<ResendConfirmationCodeError, HttpResponse> {
        let raw = HttpResponse::new(400u16.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty());
        SdkError::service_error(e, raw)
    }

    #[test]
    fn an_already_confirmed_user_is_409_on_confirm_and_on_resend() {
        use aws_sdk_cognitoidentityprovider::types::error::{InvalidParameterException, NotAuthorizedException};
        let confirm = confirm_error(service_error(ConfirmSignUpError::NotAuthorizedException(
            NotAuthorizedException::builder()
                .message("User cannot be confirmed. Current status is CONFIRMED")
                .build(),
        )));
        assert_eq!((confirm.status(), confirm.code()), (409, "AlreadyConfirmed"));
        let resend = resend_error(resend_service_error(
            ResendConfirmationCodeError::InvalidParameterException(
                InvalidParameterException::builder()
                    .message("User is already confirmed.")
                    .build(),
            ),
        ));
        assert!(matches!(resend, Error::AlreadyConfirmed), "{resend:?}");
    }

    #[test]
    fn resend_maps_unknown_users_and_throttling() {
        use aws_sdk_cognitoidentityprovider::types::error::{LimitExceededException, UserNotFoundException};
        let unknown = resend_error(resend_service_error(
            ResendConfirmationCodeError::UserNotFoundException(UserNotFoundException::builder().build()),
        ));
        assert!(matches!(unknown, Error::UserNotFound), "{unknown:?}");
        let limited = resend_error(resend_service_error(
            ResendConfirmationCodeError::LimitExceededException(LimitExceededException::builder().build()),
        ));
        assert_eq!((limited.status(), limited.code()), (429, "TooManyRequests"));
    }

    #[test]
    fn wrong_and_expired_codes_are_400() {
        let wrong = confirm_error(service_error(ConfirmSignUpError::CodeMismatchException(
            CodeMismatchException::builder().message("Invalid code").build(),
        )));
        assert_eq!((wrong.status(), wrong.code()), (400, "CodeMismatch"));
        let expired = confirm_error(service_error(ConfirmSignUpError::ExpiredCodeException(
            ExpiredCodeException::builder().message("expired").build(),
        )));
        assert_eq!((expired.status(), expired.code()), (400, "CodeExpired"));
    }
}
