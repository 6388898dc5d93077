//! The error contract every service follows.
//!
//! Each crate has one `Error` enum (`thiserror`) implementing [`ApiError`]; [`crate::Http::error`]
//! is the one place that turns it into a status and `{"error", "code"}`.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// An error that knows its HTTP status and a stable, machine-readable code.
pub trait ApiError: std::error::Error {
    /// HTTP status code (4xx for the caller's mistakes, 5xx only for our own or upstream failures).
    fn status(&self) -> u16;
    /// Stable code clients can match on, e.g. `MissingField`.
    fn code(&self) -> &'static str;
    /// Extra fields of the error body beside `error` and `code` (a JSON object), if any: e.g. the
    /// lines of a cart that cannot be ordered.
    fn details(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Problems with the request itself, shared by every endpoint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}` {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("query parameter `{name}` {reason}")]
    InvalidQuery { name: &'static str, reason: String },
    #[error("nextToken is not a valid page token")]
    BadPageToken,
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("this action needs membership of the admins group")]
    Forbidden,
    #[error("this action emails you: confirm your email address first")]
    EmailNotVerified,
    #[error("admins must sign in with TOTP MFA: set it up with /auth/mfa/setup and /auth/mfa/verify")]
    MfaRequired,
}

impl RequestError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field,
            reason: reason.into(),
        }
    }

    /// The same complaint about a query parameter or header (`InvalidQueryParameter`) rather
    /// than a body field; other errors are left as they are.
    pub fn in_query(self) -> Self {
        match self {
            Self::InvalidField { field, reason } => Self::InvalidQuery { name: field, reason },
            other => other,
        }
    }
}

impl ApiError for RequestError {
    fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::EmailNotVerified | Self::MfaRequired => 403,
            Self::TooLarge(_) => 413,
            _ => 400,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) | Self::NotAnObject => "MalformedJson",
            Self::TooLarge(_) => "PayloadTooLarge",
            Self::MissingField(_) => "MissingField",
            Self::InvalidField { .. } => "InvalidField",
            Self::InvalidQuery { .. } => "InvalidQueryParameter",
            Self::BadPageToken => "InvalidPageToken",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::EmailNotVerified => "EmailNotVerified",
            Self::MfaRequired => "MfaRequired",
        }
    }
}

/// The AWS service labels an [`Upstream`] carries (its `service`, in logs and in the 503's
/// message): one spelling each, whichever crate reports the failure.
pub mod service {
    pub const COGNITO: &str = "cognito-idp";
    pub const DYNAMODB: &str = "dynamodb";
    pub const S3: &str = "s3";
    pub const SES: &str = "ses";
    pub const SNS: &str = "sns";
    pub const SQS: &str = "sqs";
    pub const STEP_FUNCTIONS: &str = "stepfunctions";
    /// The payment provider (not AWS, reported the same way).
    pub const PAYMENTS: &str = "payments";
}

/// An AWS dependency failed in a way the caller cannot fix (throttling, outage, misconfiguration).
///
/// Keeps the service's name and the SDK's error code for logs; answers 503 so clients retry.
#[derive(Debug, thiserror::Error)]
#[error("{service} is unavailable, try again later")]
pub struct Upstream {
    pub service: &'static str,
    pub aws_code: Option<String>,
    pub detail: String,
}

/// The result of a conditional DynamoDB write: `Some(output)` when it was written, `None` when
/// its condition did not hold (`ConditionalCheckFailedException`), anything else as [`Upstream`].
pub fn conditional<T, E>(result: Result<T, E>) -> Result<Option<T>, Upstream>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(e) => Err(Upstream::new(crate::error::service::DYNAMODB, e)),
    }
}

/// `text` with every word holding an `@` replaced by `<address>`: AWS error messages can name
/// recipients (SES: "The following identities failed the check: ada@example.com"), and no
/// address reaches our logs.
pub fn without_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| if word.contains('@') { "<address>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Upstream {
    /// Wraps any SDK error (or operation error) of `service`.
    pub fn new<E>(service: &'static str, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::fmt::Debug,
    {
        let aws_code = err.code().map(str::to_owned);
        let detail = without_addresses(
            &err.message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{err:?}").chars().take(300).collect::<String>()),
        );
        tracing::error!(service, aws_code = aws_code.as_deref(), %detail, "dependency call failed");
        Self {
            service,
            aws_code,
            detail,
        }
    }

    /// DynamoDB refused a write because a transaction on the item was in progress
    /// (`TransactionConflictException`): read again and retry after a moment.
    pub fn is_transaction_conflict(&self) -> bool {
        self.aws_code.as_deref() == Some("TransactionConflictException")
    }

    /// A failure of ours that is not an SDK error (a record we wrote cannot be read back, ...).
    pub fn internal(service: &'static str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        tracing::error!(service, %detail, "internal failure");
        Self {
            service,
            aws_code: None,
            detail,
        }
    }
}

impl ApiError for Upstream {
    fn status(&self) -> u16 {
        503
    }
    fn code(&self) -> &'static str {
        "ServiceUnavailable"
    }
}

/// Why an access check refused the caller ([`RequestError`]), or why it could not tell ([`Upstream`]).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

/// Implements [`ApiError`] for a crate's `Error` enum (and `From<AccessError>`), which must have the variants
/// `Request(RequestError)` and `Upstream(Upstream)` (delegated), plus its own, each mapped to a
/// status and a stable code:
///
/// ```ignore
/// shop_core::api_error!(Error { Self::CategoryExists(_) => (409, "CategoryExists") });
/// ```
///
/// A trailing `details: path` names a `fn(&Self) -> Option<serde_json::Value>` for
/// [`ApiError::details`].
#[macro_export]
macro_rules! api_error {
    ($ty:ty { $($pat:pat => ($status:expr, $code:expr)),* $(,)? } $(details: $details:path)?) => {
        impl From<$crate::error::AccessError> for $ty {
            fn from(e: $crate::error::AccessError) -> Self {
                match e {
                    $crate::error::AccessError::Request(r) => Self::Request(r),
                    $crate::error::AccessError::Upstream(u) => Self::Upstream(u),
                }
            }
        }
        impl $crate::ApiError for $ty {
            fn status(&self) -> u16 {
                match self {
                    Self::Request(e) => $crate::ApiError::status(e),
                    Self::Upstream(e) => $crate::ApiError::status(e),
                    $($pat => $status,)*
                }
            }
            fn code(&self) -> &'static str {
                match self {
                    Self::Request(e) => $crate::ApiError::code(e),
                    Self::Upstream(e) => $crate::ApiError::code(e),
                    $($pat => $code,)*
                }
            }
            $(
                fn details(&self) -> Option<serde_json::Value> {
                    $details(self)
                }
            )?
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_error_text_reaches_the_logs_without_the_addresses_it_names() {
        let ses = "Email address is not verified. The following identities failed the check in region EU-WEST-1: ada@example.com, bob@example.org";
        let clean = without_addresses(ses);
        assert!(!clean.contains('@'), "{clean}");
        assert!(clean.starts_with("Email address is not verified."), "{clean}");
        assert_eq!(
            without_addresses("Throttling: rate exceeded"),
            "Throttling: rate exceeded"
        );
    }

    #[test]
    fn a_bad_query_value_is_reported_as_a_query_parameter_not_a_body_field() {
        let e = RequestError::invalid("category", "is too long").in_query();
        assert_eq!((e.status(), e.code()), (400, "InvalidQueryParameter"));
        assert_eq!(e.to_string(), "query parameter `category` is too long");
        assert_eq!(RequestError::Unauthorized.in_query(), RequestError::Unauthorized);
    }
}
