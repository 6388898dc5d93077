//! Sessions on the user pool: sign-in (with its TOTP challenge), TOTP set-up, token refresh and
//! global sign-out.

use aws_sdk_cognitoidentityprovider::config::http::HttpResponse;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType, SoftwareTokenMfaSettingsType,
};
use serde::Serialize;
use shop_core::Upstream;

use super::{Pool, SERVICE};
use crate::Error;

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

impl Pool {
    /// USER_PASSWORD_AUTH. A wrong password and an unknown user are the same 401.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<SignedIn, Error> {
        let mut call = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password);
        if let Some(hash) = self.hash_for(username).await? {
            call = call.auth_parameters("SECRET_HASH", hash);
        }
        let out = call.send().await.map_err(|e| match e.as_service_error() {
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
    pub async fn answer_totp(&self, username: &str, session: &str, code: &str) -> Result<Tokens, Error> {
        let mut call = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session(session)
            .challenge_responses("USERNAME", username)
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", code);
        if let Some(hash) = self.hash_for(username).await? {
            call = call.challenge_responses("SECRET_HASH", hash);
        }
        let out = call.send().await.map_err(|e| match e.as_service_error() {
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

    /// The username of the owner of `access_token` (Cognito checks the token: no IAM).
    pub async fn owner_of(&self, access_token: &str) -> Result<String, Error> {
        let owner = self
            .client
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(token_call_error)?;
        Ok(owner.username().to_owned())
    }

    /// Marks `from` (seconds since the epoch) as the moment the sessions of `username` count from:
    /// the account's [`shop_core::identity::SESSIONS_VALID_FROM`] attribute, which the app client
    /// may not write (so only this IAM-signed call sets it). The admin gate refuses an ID token whose
    /// sign-in (`auth_time`) came before it.
    pub async fn mark_sessions_valid_from(&self, username: &str, from: u64) -> Result<(), Error> {
        self.client
            .admin_update_user_attributes()
            .user_pool_id(&self.pool_id)
            .username(username)
            .user_attributes(super::attribute(
                shop_core::identity::SESSIONS_VALID_FROM,
                &from.to_string(),
            )?)
            .send()
            .await
            .map_err(|e| Upstream::new(SERVICE, e))?;
        Ok(())
    }

    /// Whether `username` is in the admins group (asked of the pool, not of a token).
    pub async fn is_admin(&self, username: &str) -> Result<bool, Error> {
        let groups = self
            .client
            .admin_list_groups_for_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| Upstream::new(SERVICE, e))?;
        Ok(groups
            .groups()
            .iter()
            .any(|g| g.group_name() == Some(shop_core::identity::ADMIN_GROUP)))
    }

    /// Starts TOTP setup for the owner of `access_token`: the shared secret (base32) for their app.
    pub async fn start_totp(&self, access_token: &str) -> Result<String, Error> {
        let out = self
            .client
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
    pub async fn enable_totp(&self, access_token: &str, code: &str) -> Result<(), Error> {
        self.client
            .verify_software_token()
            .access_token(access_token)
            .user_code(code)
            .friendly_device_name("authenticator")
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(x) if x.is_code_mismatch_exception() || x.is_enable_software_token_mfa_exception() => {
                    Error::CodeMismatch
                }
                Some(x) if x.is_not_authorized_exception() || x.is_resource_not_found_exception() => {
                    Error::InvalidToken
                }
                Some(x) if x.is_too_many_requests_exception() => Error::TooManyRequests,
                _ => Upstream::new(SERVICE, e).into(),
            })?;
        let totp = SoftwareTokenMfaSettingsType::builder()
            .enabled(true)
            .preferred_mfa(true)
            .build();
        self.client
            .set_user_mfa_preference()
            .access_token(access_token)
            .software_token_mfa_settings(totp)
            .send()
            .await
            .map_err(token_call_error)?;
        Ok(())
    }

    /// New access and ID tokens (no new refresh token: rotation is off). `GetTokensFromRefreshToken`,
    /// not `REFRESH_TOKEN_AUTH`: with a client secret the latter needs the `SECRET_HASH` of the
    /// token's username, which a refresh request does not carry; this one takes the secret itself.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, Error> {
        let out = self
            .client
            .get_tokens_from_refresh_token()
            .client_id(&self.client_id)
            .set_client_secret(self.secret().await?.map(str::to_owned))
            .refresh_token(refresh_token)
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
    pub async fn global_sign_out(&self, access_token: &str) -> Result<(), Error> {
        self.client
            .global_sign_out()
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
}
