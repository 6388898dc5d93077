//! The caller, as the API Gateway JWT authorizer describes it in
//! `requestContext.authorizer.jwt.claims`.

use crate::error::RequestError;
use crate::http::Request;

/// Name of the Cognito group whose members are admins.
pub const ADMIN_GROUP: &str = "admins";

/// The account attribute holding the moment (seconds since the epoch) from which its sessions
/// count: the standard `updated_at`, which the app client may not write (`infra/stages.json`
/// `appClientWriteAttributes`), so neither the user nor a thief of their tokens can move it back;
/// only auth's IAM-signed mfa-verify sets it; the admin gate (`mfa`) reads it. A standard attribute, so no schema change of the pool.
pub const SESSIONS_VALID_FROM: &str = "updated_at";

/// Who is calling, from verified token claims (the authorizer, not this code, verified the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    /// The caller's email, only when the token says Cognito verified it (`email_verified`):
    /// nothing is ever sent to an address its owner has not proven.
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// `cognito:username` (ID tokens carry it).
    pub username: Option<String>,
    /// When the sign-in behind the token happened (`auth_time`, seconds since the epoch; tokens
    /// refreshed from it keep it).
    pub auth_time: Option<u64>,
}

impl Identity {
    /// The caller of a protected route; `Unauthorized` when the authorizer left no `sub`.
    pub fn from_request(req: &Request) -> Result<Self, RequestError> {
        let claims = req
            .request_context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|j| &j.claims)
            .ok_or(RequestError::Unauthorized)?;
        let sub = claims
            .get("sub")
            .filter(|s| !s.is_empty())
            .ok_or(RequestError::Unauthorized)?
            .clone();
        // API Gateway passes every claim as a string: `"true"`.
        let verified = claims.get("email_verified").is_some_and(|v| v == "true");
        let email = claims.get("email").filter(|s| verified && !s.is_empty()).cloned();
        let groups = claims
            .get("cognito:groups")
            .map(|g| parse_groups(g))
            .unwrap_or_default();
        let username = claims.get("cognito:username").filter(|s| !s.is_empty()).cloned();
        let auth_time = claims.get("auth_time").and_then(|t| t.parse().ok());
        Ok(Self {
            sub,
            email,
            groups,
            username,
            auth_time,
        })
    }

    /// The caller, who must be a member of [`ADMIN_GROUP`].
    pub fn admin_from_request(req: &Request) -> Result<Self, RequestError> {
        let who = Self::from_request(req)?;
        if who.is_admin() {
            Ok(who)
        } else {
            Err(RequestError::Forbidden)
        }
    }

    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }

    /// The verified email of the caller, for handlers that write to them.
    pub fn verified_email(&self) -> Result<&str, RequestError> {
        self.email.as_deref().ok_or(RequestError::EmailNotVerified)
    }
}

/// API Gateway flattens the `cognito:groups` array to a string: `[admins sellers]`, names apart
/// by spaces (Cognito group names hold no whitespace, but may hold commas). A JSON array string is
/// accepted too. Never split at commas: a group named `x,admins` is not `admins`.
fn parse_groups(raw: &str) -> Vec<String> {
    if let Ok(v) = serde_json::from_str::<Vec<String>>(raw) {
        return v;
    }
    let inner = raw.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    inner.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_in_every_shape_api_gateway_may_send() {
        assert_eq!(parse_groups("[admins sellers]"), vec!["admins", "sellers"]);
        assert_eq!(parse_groups(r#"["admins"]"#), vec!["admins"]);
        assert!(parse_groups("[]").is_empty());
    }

    #[test]
    fn a_group_whose_name_holds_a_comma_is_not_the_groups_around_it() {
        assert_eq!(parse_groups("[x,admins]"), vec!["x,admins"]);
        assert_eq!(parse_groups("[sellers x,admins,y]"), vec!["sellers", "x,admins,y"]);
        let sneaky = request(serde_json::json!({"sub": "u1", "cognito:groups": "[x,admins]"}));
        assert_eq!(
            Identity::admin_from_request(&sneaky).unwrap_err(),
            RequestError::Forbidden
        );
    }

    fn request(claims: serde_json::Value) -> Request {
        serde_json::from_value(serde_json::json!({
            "rawPath": "/x",
            "requestContext": {"http": {"method": "GET"}, "authorizer": {"jwt": {"claims": claims}}},
        }))
        .unwrap()
    }

    #[test]
    fn admin_check_needs_the_admins_group() {
        let admin = request(serde_json::json!({"sub": "u1", "cognito:groups": "[admins]"}));
        assert!(Identity::admin_from_request(&admin).is_ok());
        let user = request(serde_json::json!({"sub": "u2", "email": "a@example.com", "email_verified": "true"}));
        assert_eq!(
            Identity::admin_from_request(&user).unwrap_err(),
            RequestError::Forbidden
        );
        let who = Identity::from_request(&user).unwrap();
        assert_eq!(who.email.as_deref(), Some("a@example.com"));
    }

    #[test]
    fn an_email_counts_only_when_the_token_says_it_is_verified() {
        for (verified, expected) in [
            (Some("true"), Some("a@example.com")),
            (Some("false"), None),
            (None, None),
        ] {
            let mut claims = serde_json::json!({"sub": "u", "email": "a@example.com"});
            if let Some(v) = verified {
                claims["email_verified"] = v.into();
            }
            let who = Identity::from_request(&request(claims)).unwrap();
            assert_eq!(who.email.as_deref(), expected, "email_verified = {verified:?}");
            assert_eq!(who.verified_email().is_ok(), expected.is_some());
        }
    }

    #[test]
    fn missing_claims_are_unauthorized() {
        let anon: Request = serde_json::from_value(serde_json::json!({
            "rawPath": "/x", "requestContext": {"http": {"method": "GET"}}
        }))
        .unwrap();
        assert_eq!(Identity::from_request(&anon).unwrap_err(), RequestError::Unauthorized);
    }
}
