//! Verifies Cognito JWTs as the API Gateway JWT authorizer does: RS256 against the pool's JWKS,
//! issuer, audience (`aud` on ID tokens, `client_id` on access tokens) and expiry; then hands the
//! claims on flattened to strings, the way API Gateway passes them to Lambda.

use std::collections::HashMap;

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::RwLock;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("no bearer token")]
    Missing,
    #[error("token is not a valid RS256 JWT of this pool: {0}")]
    Invalid(String),
    #[error("token has expired")]
    Expired,
    #[error("token is for another issuer or client")]
    WrongAudience,
}

/// A verifier for one user pool and app client.
#[derive(Debug)]
pub struct Verifier {
    jwks_url: String,
    issuer: String,
    client_id: String,
    keys: RwLock<HashMap<String, DecodingKey>>,
}

impl Verifier {
    /// `endpoint` serves `/<pool>/.well-known/jwks.json` (Cognito or the emulator).
    pub fn new(endpoint: &str, region: &str, pool_id: &str, client_id: &str) -> Self {
        Self {
            jwks_url: format!("{}/{pool_id}/.well-known/jwks.json", endpoint.trim_end_matches('/')),
            issuer: format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}"),
            client_id: client_id.to_owned(),
            keys: RwLock::new(HashMap::new()),
        }
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, JwtError> {
        if let Some(k) = self.keys.read().await.get(kid) {
            return Ok(k.clone());
        }
        let jwks: Value = reqwest::get(&self.jwks_url)
            .await
            .map_err(|e| JwtError::Invalid(format!("JWKS unavailable: {e}")))?
            .json()
            .await
            .map_err(|e| JwtError::Invalid(format!("JWKS unreadable: {e}")))?;
        let mut keys = self.keys.write().await;
        for k in jwks["keys"].as_array().into_iter().flatten() {
            if let (Some(id), Some(n), Some(e)) = (k["kid"].as_str(), k["n"].as_str(), k["e"].as_str()) {
                if let Ok(dk) = DecodingKey::from_rsa_components(n, e) {
                    keys.insert(id.to_owned(), dk);
                }
            }
        }
        keys.get(kid)
            .cloned()
            .ok_or_else(|| JwtError::Invalid("unknown key id".into()))
    }

    /// Verifies `Authorization: Bearer <token>` at time `now` (seconds since the epoch).
    pub async fn verify(&self, authorization: Option<&str>, now: u64) -> Result<HashMap<String, String>, JwtError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(JwtError::Missing)?;
        let header = decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(JwtError::Invalid("algorithm is not RS256".into()));
        }
        let kid = header.kid.ok_or_else(|| JwtError::Invalid("no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        // Expiry is checked below against `now`; audience by token use (ID vs access token).
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[&self.issuer]);
        let data = decode::<HashMap<String, Value>>(token, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => JwtError::WrongAudience,
            _ => JwtError::Invalid(e.to_string()),
        })?;
        let claims = data.claims;
        let exp = claims.get("exp").and_then(Value::as_u64).ok_or(JwtError::Expired)?;
        if exp <= now {
            return Err(JwtError::Expired);
        }
        let audience = match claims.get("token_use").and_then(Value::as_str) {
            Some("access") => claims.get("client_id"),
            _ => claims.get("aud"),
        };
        if audience.and_then(Value::as_str) != Some(self.client_id.as_str()) {
            return Err(JwtError::WrongAudience);
        }
        Ok(claims.into_iter().map(|(k, v)| (k, flatten(&v))).collect())
    }
}

/// API Gateway's rendering of a claim: strings as is, arrays as `[a b]`, others as JSON.
fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(flatten).collect();
            format!("[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_flattened_like_api_gateway_does() {
        assert_eq!(flatten(&serde_json::json!(["admins", "sellers"])), "[admins sellers]");
        assert_eq!(flatten(&serde_json::json!("x")), "x");
        assert_eq!(flatten(&serde_json::json!(17)), "17");
    }
}
