//! Configuration read from the environment once, at cold start.
//!
//! Each service declares its own `Config` struct and fills it with these helpers, so a missing or
//! malformed variable is one clear error that names it.

use std::str::FromStr;

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A variable that must be set and non-empty.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// A variable that may be absent (absent and empty are the same).
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable parsed into `T`, or `default` when absent.
pub fn parsed_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_error_names_it() {
        let err = required("SHOP_CORE_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing environment variable SHOP_CORE_TEST_SURELY_UNSET"
        );
    }

    #[test]
    fn absent_parsed_variable_takes_the_default() {
        assert_eq!(parsed_or("SHOP_CORE_TEST_SURELY_UNSET_2", 42u32), Ok(42));
    }
}
