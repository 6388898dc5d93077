//! Auth rules that need no AWS: usernames, emails, the password policy, who a request names, and
//! the user record.

use serde::{Deserialize, Serialize};
use shop_core::validate::{text, Fields};
use shop_core::RequestError;

pub const MAX_FULL_NAME: usize = 100;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PASSWORD: usize = 256;
pub const MAX_CODE: usize = 64;
pub const MAX_TOKEN: usize = 8192;

/// The Cognito username for a full name: trimmed, every whitespace run turned into one `_`
/// (`"Jay  S Prajapati"` -> `"Jay_S_Prajapati"`), as the original derived it.
pub fn username_for(full_name: &str) -> String {
    full_name.split_whitespace().collect::<Vec<_>>().join("_")
}

/// A syntactically valid email, lower-cased so lookups are case-insensitive.
pub fn email(field: &'static str, raw: &str) -> Result<String, RequestError> {
    let e = text(field, raw, MAX_EMAIL)?.to_lowercase();
    let invalid = || RequestError::invalid(field, "must be an email address");
    let (local, domain) = e.split_once('@').ok_or_else(invalid)?;
    if local.is_empty() || e.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    // SES delivers only to 7-bit local parts: an address it can never mail is refused here, not
    // claimed and left unconfirmable.
    if !local.is_ascii() {
        return Err(RequestError::invalid(
            field,
            "must have an ASCII part before the @ (email cannot be delivered to any other)",
        ));
    }
    // One canonical form per address: an internationalized domain as its punycode (what SES and
    // Cognito store), so `ada@bücher.example` and `ada@xn--bcher-kva.example` claim one address.
    let domain = idna::domain_to_ascii(domain).map_err(|_| invalid())?;
    let valid = !domain.contains('@') && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.');
    if valid {
        Ok(format!("{local}@{domain}"))
    } else {
        Err(invalid())
    }
}

/// The pool's password policy, mirrored so a rejection can say why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
}

impl PasswordPolicy {
    /// Every rule the password breaks, joined; `Ok` when Cognito's policy should accept it.
    pub fn check(&self, password: &str) -> Result<(), String> {
        let mut broken = Vec::new();
        if password.chars().count() < self.min_length {
            broken.push(format!("at least {} characters", self.min_length));
        }
        if !password.chars().any(|c| c.is_ascii_lowercase()) {
            broken.push("a lowercase letter".to_owned());
        }
        if !password.chars().any(|c| c.is_ascii_uppercase()) {
            broken.push("an uppercase letter".to_owned());
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            broken.push("a number".to_owned());
        }
        if !password.chars().any(|c| c.is_ascii_punctuation()) {
            broken.push("a symbol".to_owned());
        }
        if broken.is_empty() {
            Ok(())
        } else {
            Err(format!("it needs {}", broken.join(", ")))
        }
    }
}

/// A sign-up request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    pub email: String,
    pub full_name: String,
    pub username: String,
    pub password: String,
}

impl SignUp {
    pub fn parse(f: &Fields) -> Result<Self, RequestError> {
        let full_name = f.string("fullName", MAX_FULL_NAME)?;
        Ok(Self {
            email: email("email", &f.string("email", MAX_EMAIL)?)?,
            username: username_for(&full_name),
            full_name,
            password: f.secret("password", MAX_PASSWORD)?,
        })
    }
}

/// A TOTP code from an authenticator app: exactly six digits.
pub fn totp_code(f: &Fields) -> Result<String, RequestError> {
    let code = f.string("code", 6)?;
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(RequestError::invalid(
            "code",
            "must be the 6 digits your authenticator app shows",
        ))
    }
}

/// How a request names its user: by full name (the original) or by email (resolved by us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Username(String),
    Email(String),
}

impl Login {
    /// `fullName` wins when both are given; one of them is required. A field that is given must
    /// be valid even when the other one wins (found by fuzzing: an oversized `email` beside a
    /// `fullName` was accepted).
    pub fn parse(f: &Fields) -> Result<Self, RequestError> {
        let mail = if f.has("email") {
            Some(email("email", &f.string("email", MAX_EMAIL)?)?)
        } else {
            None
        };
        if f.has("fullName") {
            return Ok(Self::Username(username_for(&f.string("fullName", MAX_FULL_NAME)?)));
        }
        mail.map(Self::Email).ok_or(RequestError::MissingField("fullName"))
    }
}

/// A user's record in the Users table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: String,
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_replaces_whitespace_runs_with_one_underscore() {
        assert_eq!(username_for("Jay S Prajapati"), "Jay_S_Prajapati");
        assert_eq!(username_for("  Ada \t Lovelace "), "Ada_Lovelace");
        assert_eq!(username_for("Zoë"), "Zoë");
    }

    #[test]
    fn a_given_login_field_must_be_valid_even_when_the_other_one_wins() {
        let parse = |j: serde_json::Value| Login::parse(&Fields::parse(&j.to_string()).unwrap());
        assert!(matches!(
            parse(serde_json::json!({"fullName": "Ada", "email": "x".repeat(300)})),
            Err(RequestError::InvalidField { field: "email", .. })
        ));
        assert!(
            matches!(parse(serde_json::json!({"fullName": "Ada", "email": null})), Ok(Login::Username(u)) if u == "Ada")
        );
        assert!(
            matches!(parse(serde_json::json!({"email": "Ada@Example.com"})), Ok(Login::Email(e)) if e == "ada@example.com")
        );
    }

    #[test]
    fn emails_are_canonical_before_they_are_claimed_ascii_local_part_and_punycode_domain() {
        assert_eq!(
            email("email", "Ada@Bücher.Example").unwrap(),
            "ada@xn--bcher-kva.example"
        );
        assert_eq!(
            email("email", "ada@xn--bcher-kva.example").unwrap(),
            "ada@xn--bcher-kva.example"
        );
        let refused = email("email", "zoë@example.com").unwrap_err();
        assert!(refused.to_string().contains("ASCII"), "{refused}");
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(email("email", "Ada@Example.COM").unwrap(), "ada@example.com");
        for bad in ["ada", "ada@", "@x.com", "a@b", "a b@c.com", "a@@b.com", "a@b.com."] {
            assert!(email("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn weak_password_reason_lists_every_broken_rule() {
        let p = PasswordPolicy { min_length: 8 };
        assert!(p.check("Str0ng!pass").is_ok());
        let reason = p.check("abc").unwrap_err();
        assert!(reason.contains("at least 8 characters"), "{reason}");
        assert!(reason.contains("an uppercase letter"), "{reason}");
        assert!(reason.contains("a number"), "{reason}");
        assert!(reason.contains("a symbol"), "{reason}");
        assert!(!reason.contains("lowercase"), "{reason}");
    }

    #[test]
    fn login_takes_full_name_or_email() {
        let by_name = Fields::parse(r#"{"fullName":"Ada Lovelace","email":"x@y.z"}"#).unwrap();
        assert_eq!(Login::parse(&by_name).unwrap(), Login::Username("Ada_Lovelace".into()));
        let by_email = Fields::parse(r#"{"email":"Ada@Y.io"}"#).unwrap();
        assert_eq!(Login::parse(&by_email).unwrap(), Login::Email("ada@y.io".into()));
        let neither = Fields::parse(r#"{"password":"x"}"#).unwrap();
        assert_eq!(
            Login::parse(&neither).unwrap_err(),
            RequestError::MissingField("fullName")
        );
    }
}
