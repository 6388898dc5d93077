//! The auth service's one error type and its HTTP mapping.

use shop_core::{RequestError, Upstream};

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
    #[error("the confirmation code is wrong")]
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
