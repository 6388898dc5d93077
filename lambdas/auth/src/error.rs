//! The auth service's one error type and its HTTP mapping.

use shop_core::{ApiError, RequestError, Upstream};

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

impl ApiError for Error {
    fn status(&self) -> u16 {
        match self {
            Self::Request(e) => e.status(),
            Self::WeakPassword(_) | Self::InvalidParameter(_) | Self::CodeMismatch | Self::CodeExpired => 400,
            Self::InvalidCredentials | Self::InvalidToken => 401,
            Self::UserNotConfirmed | Self::ChallengeRequired(_) => 403,
            Self::UserNotFound => 404,
            Self::UserExists(_) | Self::EmailExists | Self::AlreadyConfirmed => 409,
            Self::TooManyRequests => 429,
            Self::Upstream(e) => e.status(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Request(e) => e.code(),
            Self::UserExists(_) => "UserExists",
            Self::EmailExists => "EmailExists",
            Self::WeakPassword(_) => "WeakPassword",
            Self::InvalidParameter(_) => "InvalidParameter",
            Self::CodeMismatch => "CodeMismatch",
            Self::CodeExpired => "CodeExpired",
            Self::UserNotFound => "UserNotFound",
            Self::AlreadyConfirmed => "AlreadyConfirmed",
            Self::InvalidCredentials => "InvalidCredentials",
            Self::UserNotConfirmed => "UserNotConfirmed",
            Self::ChallengeRequired(_) => "ChallengeRequired",
            Self::InvalidToken => "InvalidToken",
            Self::TooManyRequests => "TooManyRequests",
            Self::Upstream(e) => e.code(),
        }
    }
}
