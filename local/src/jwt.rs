//! Verifies Cognito JWTs as the API Gateway JWT authorizer does: RS256 against the pool's JWKS,
//! issuer (required), audience (`aud` on ID tokens, `client_id` on access tokens), expiry and
//! not-before; then hands the claims on flattened to strings, the way API Gateway passes them to
//! Lambda. A token naming a key id the JWKS lacks refetches the JWKS at most once a minute, so
//! forged key ids cannot turn the runner into a JWKS request loop.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token is for another issuer or client")]
    WrongAudience,
}

/// The `iss` of a pool's tokens by its issuer format (Cognito API reference,
/// IssuerConfigurationType): `UPDATED` pools issue from `issuer-cognito-idp`.
pub fn issuer_url(format: &str, region: &str, pool_id: &str) -> String {
    let host = if format == "UPDATED" {
        "issuer-cognito-idp"
    } else {
        "cognito-idp"
    };
    format!("https://{host}.{region}.amazonaws.com/{pool_id}")
}

/// A verifier for one user pool and app client.
#[derive(Debug)]
pub struct Verifier {
    jwks_url: String,
    issuer: String,
    client_id: String,
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// When the JWKS was last fetched: unknown key ids do not refetch it sooner than [`REFETCH`].
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

/// The shortest time between two JWKS fetches.
const REFETCH: Duration = Duration::from_secs(60);

impl Verifier {
    /// `endpoint` serves `/<pool>/.well-known/jwks.json` (Cognito or the emulator); `format` is
    /// the pool's issuer format (`ORIGINAL` or `UPDATED`, infra/stages.json `cognitoIssuer`).
    pub fn new(endpoint: &str, format: &str, region: &str, pool_id: &str, client_id: &str) -> Self {
        Self {
            jwks_url: format!("{}/{pool_id}/.well-known/jwks.json", endpoint.trim_end_matches('/')),
            issuer: issuer_url(format, region, pool_id),
            client_id: client_id.to_owned(),
            keys: RwLock::new(HashMap::new()),
            fetched: tokio::sync::Mutex::new(None),
        }
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, JwtError> {
        if let Some(k) = self.keys.read().await.get(kid) {
            return Ok(k.clone());
        }
        {
            let mut fetched = self.fetched.lock().await;
            if fetched.is_some_and(|at| at.elapsed() < REFETCH) {
                return Err(JwtError::Invalid("unknown key id".into()));
            }
            *fetched = Some(Instant::now());
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

    /// Verifies `Authorization: Bearer <token>` (or the bare token) at time `now` (seconds since the epoch).
    pub async fn verify(&self, authorization: Option<&str>, now: u64) -> Result<HashMap<String, String>, JwtError> {
        // API Gateway's JWT authorizer takes the token with or without the `Bearer ` prefix.
        let token = authorization
            .map(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
                    .unwrap_or(h)
            })
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
        validation.validate_nbf = false;
        validation.required_spec_claims = ["iss".to_owned()].into();
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
        if claims
            .get("nbf")
            .is_some_and(|nbf| nbf.as_u64().is_none_or(|nbf| nbf > now))
        {
            return Err(JwtError::NotYetValid);
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A throwaway RSA key made for these tests (PKCS#1 DER, base64; it signs nothing anywhere else).
    const TEST_KEY_DER: &str = "MIIEogIBAAKCAQEAxqICgpR7kPTj4nxnGMwZneDhUmwdzb5u1P7I5uXvZsRDFLhIwkJPwIBr5yQ+vj6NIM9dGzlvZm9hyHsSpiEioTeETjWFFMmfqEiMrkX9/8WinLKAnkn5kvTsJAuVWPtP3TDoawPi3P5sArwWAH8ZfnGu+mrlpL242+DmNUFztfXLqs+vmMW0Z93Xh5nauA3PFxoW1moaOIDQ7BqKqnhCPToAZjXKgx8awWoPcGBjkUwwuCoGJRuChZpYMI+urXQDcyGAPblZEmKjImqjlXDyQKkNq3rmS80y9+cJdp78d4bLCcWHXz2uEDP7zhjMyuQGPVRyxAFanOYqXpdZk484rQIDAQABAoIBADXtjGLpbzbm1ewKvG7mEtpjUKlxAxJ17l9ToTXXHY04IcJBWjeriz2HYERL+eDq2KQcyHl4uX8FJHYqu+BwxJcinIAjVbNUHk2xDMjP5esIPGLwr6zKBsFYT7hlkLGs4Xz7J07Oqkw3oxmG+S4/U6uZr9j7Jsf4XnUL9VRmJcUzsRF5ImJbnqbx+Ir8D64Mw5t34VPwiQoMrBsu6+vCRd0cIk+qZS5nI0CeAG+hHa//G1N0CJKVjPqebfVmDM/TLDDYnO1V44oO84hxxT4U2xYGXJlsJGWVfaXv/mlr0etEO0NCTh/P4D8gtLb9H1wrFrmlqlHMgdYvJLdU8FrnVj0CgYEA5xCDX8n9u6zqwtMUydq0oEbmRUtoSbuMuPRL2TRtgzoI8COowPiMyeP9CyBTfUFOkzDI+dJAbF8lSluIM/wHgLltewaIYHabFL8D7QQ2TR1irQRUE0UMOYEyOfMspLlfIrGJsoSuprLmCoBZsDVfvtuEBSc8rC1TUtK04L9rfjsCgYEA3BGGoIepq8beMoResuH5jYnW8vB8QP3I8VbSv8Cutq0uoD2IqmYCAyzMjN8ZYjQCdZhO56erXm52Ml1snyOME7W0zPI0e8ghMoRqpT8lXP/q/g6pDMDyRxfs5zQ5iQijRNjHi3I0cW4ukLk9PlGob8Wot/nCI9f/6ppvgSlRrjcCgYBsLtMTmiLuJ7uSk/l7uKYxFIDjmLavLtxoDBknDODpO9bLeCaeksB4FgJ3nx732gfL6l9ud/4pvzJaahiPHkT1A9w6aYiYgW+Cexx/cCVsXYHBt/EVRJLAqbi2YSBZz2C3gaASsQSEj+YcrJNRaOv3FBfvwbsqcd49POHrCDRv2QKBgH6qE7vn+a+mOhQHfl4llLZzpOWVp17c88B9AbZel/ELAvA2GqhBKF1ddqqKapjMaLH4pUnOhuNGXv+kKDX8hs59YoAn1C9+xCTIdH2CN+YsYrwyAfkWQRzMV43H0GngL+EbiNbpN+gly+V+yRJKe9FBilfCCI0K8QC+PPmxp5LHAoGAZqG/Ya743uJ6gnK+3elFawfDVzGQ7d25hSmOEkN8kKte3N6Z49al2GAK9twGiYu2/Xzfiz/wmxQ1FZ0jei2UX0g4uD1fvCAbZzp6yTI1bzAx4H7ltgSEIcTg6X/GYB+k+pIQQUL5aeVsr8jSYfT5qs1YDf4Y/I70Uocb8tCAvFg=";
    const TEST_N: &str = "xqICgpR7kPTj4nxnGMwZneDhUmwdzb5u1P7I5uXvZsRDFLhIwkJPwIBr5yQ-vj6NIM9dGzlvZm9hyHsSpiEioTeETjWFFMmfqEiMrkX9_8WinLKAnkn5kvTsJAuVWPtP3TDoawPi3P5sArwWAH8ZfnGu-mrlpL242-DmNUFztfXLqs-vmMW0Z93Xh5nauA3PFxoW1moaOIDQ7BqKqnhCPToAZjXKgx8awWoPcGBjkUwwuCoGJRuChZpYMI-urXQDcyGAPblZEmKjImqjlXDyQKkNq3rmS80y9-cJdp78d4bLCcWHXz2uEDP7zhjMyuQGPVRyxAFanOYqXpdZk484rQ";
    const REGION: &str = "test-region-1";
    const POOL: &str = "test-region-1_pool";
    const CLIENT: &str = "client-1";

    /// Serves a JWKS with the test key as `kid` "k1" on a loopback port; counts the fetches.
    async fn jwks_server() -> (String, Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            let body =
                serde_json::json!({"keys": [{"kid": "k1", "kty": "RSA", "alg": "RS256", "n": TEST_N, "e": "AQAB"}]})
                    .to_string();
            while let Ok((mut sock, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        (url, hits)
    }

    fn token(kid: &str, claims: serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, TEST_KEY_DER).unwrap();
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&der);
        format!("Bearer {}", jsonwebtoken::encode(&header, &claims, &key).unwrap())
    }

    fn issuer() -> String {
        format!("https://cognito-idp.{REGION}.amazonaws.com/{POOL}")
    }

    #[tokio::test]
    async fn a_token_without_iss_or_before_its_nbf_is_refused_like_the_authorizer_does() {
        let (url, _) = jwks_server().await;
        let v = Verifier::new(&url, "ORIGINAL", REGION, POOL, CLIENT);
        let now = 1_800_000_000;
        let good = serde_json::json!({"sub": "s", "aud": CLIENT, "iss": issuer(), "exp": now + 600, "token_use": "id"});
        assert!(v.verify(Some(&token("k1", good.clone())), now).await.is_ok());

        let mut no_iss = good.clone();
        no_iss.as_object_mut().unwrap().remove("iss");
        assert!(matches!(
            v.verify(Some(&token("k1", no_iss)), now).await,
            Err(JwtError::Invalid(_))
        ));

        let mut later = good.clone();
        later["nbf"] = serde_json::json!(now + 60);
        assert_eq!(
            v.verify(Some(&token("k1", later.clone())), now).await,
            Err(JwtError::NotYetValid)
        );
        assert!(
            v.verify(Some(&token("k1", later)), now + 60).await.is_ok(),
            "valid from nbf on"
        );

        let mut other_issuer = good;
        other_issuer["iss"] = serde_json::json!(format!("https://cognito-idp.{REGION}.amazonaws.com/other"));
        assert_eq!(
            v.verify(Some(&token("k1", other_issuer)), now).await,
            Err(JwtError::WrongAudience)
        );
    }

    #[tokio::test]
    async fn a_pool_with_the_updated_issuer_format_has_its_tokens_accepted_and_the_original_format_refused() {
        let (url, _) = jwks_server().await;
        let v = Verifier::new(&url, "UPDATED", REGION, POOL, CLIENT);
        let now = 1_800_000_000;
        let updated = format!("https://issuer-cognito-idp.{REGION}.amazonaws.com/{POOL}");
        let claims = |iss: &str| serde_json::json!({"sub": "s", "aud": CLIENT, "iss": iss, "exp": now + 600});
        assert!(v.verify(Some(&token("k1", claims(&updated))), now).await.is_ok());
        assert_eq!(
            v.verify(Some(&token("k1", claims(&issuer()))), now).await,
            Err(JwtError::WrongAudience)
        );
    }

    #[tokio::test]
    async fn unknown_key_ids_fetch_the_jwks_at_most_once_a_minute() {
        let (url, hits) = jwks_server().await;
        let v = Verifier::new(&url, "ORIGINAL", REGION, POOL, CLIENT);
        let now = 1_800_000_000;
        let claims = serde_json::json!({"sub": "s", "aud": CLIENT, "iss": issuer(), "exp": now + 600});
        for i in 0..20 {
            let forged = token(&format!("nope-{i}"), claims.clone());
            assert!(matches!(v.verify(Some(&forged), now).await, Err(JwtError::Invalid(_))));
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "one JWKS fetch for twenty unknown key ids"
        );
    }

    #[test]
    fn claims_are_flattened_like_api_gateway_does() {
        assert_eq!(flatten(&serde_json::json!(["admins", "sellers"])), "[admins sellers]");
        assert_eq!(flatten(&serde_json::json!("x")), "x");
        assert_eq!(flatten(&serde_json::json!(17)), "17");
    }
}
