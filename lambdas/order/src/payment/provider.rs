//! The payment provider: Stripe's PaymentIntents API with manual capture, over the HTTPS client
//! the SDKs already use (hyper with rustls on ring). Five calls, each carrying an idempotency key
//! derived from the order and the action, so a retried call replays the first answer instead of
//! moving money twice. Locally the same client talks to localstripe (`local/emulator/stripe_server.py`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde::Deserialize;
use serde_json::Value;

/// How long one call may take, all its attempts together: the functions that call the provider
/// are declared with 20 s (lambdas/services.json), room for this and their AWS calls.
const CALL_BUDGET: Duration = Duration::from_secs(8);
/// Attempts of one call on a network error, a timeout, a 429 or a 5xx; the idempotency key makes
/// each repeat safe (Stripe replays the first answer for the same key).
const ATTEMPTS: u32 = 3;

/// What Stripe says of one PaymentIntent, the fields we use.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub next_action: Option<Value>,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

impl Intent {
    /// The order this intent pays for (set at authorization).
    pub fn order_id(&self) -> Option<&str> {
        self.metadata.get("order_id").map(String::as_str)
    }
}

/// A refund as Stripe records it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub status: String,
}

/// Why a provider call did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The card was declined: the provider's reason (`decline_code`, else `code`).
    #[error("the card was declined ({reason})")]
    Declined { reason: String },
    /// The intent is not in a state that allows the call (already captured, already cancelled...).
    #[error("the payment is not in a state that allows this ({0})")]
    UnexpectedState(String),
    /// The request was refused for a reason a retry will not fix (an unknown payment method...).
    #[error("the payment provider refused the request: {code}")]
    Refused { code: String, message: String },
    /// Network, timeout, 429 or 5xx, after every attempt: try again later.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The provider client: its base URL and secret key, read once at cold start.
#[derive(Clone)]
pub struct Provider {
    client: Client<Https, Full<Bytes>>,
    base: String,
    api_key: String,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Provider")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Provider {
    pub fn new(base: &str, api_key: &str) -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .unwrap_or_else(|_| hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots())
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build(https),
            base: base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
        }
    }

    /// Creates and confirms a manual-capture PaymentIntent for `amount` (minor units): the card
    /// is authorized, not charged. `requires_capture` when authorized, `requires_action` when
    /// the customer must finish it (3-D Secure).
    pub async fn authorize(
        &self,
        order_id: &str,
        amount: i64,
        currency: &str,
        payment_method: &str,
        key: &str,
    ) -> Result<Intent, ProviderError> {
        let amount = amount.to_string();
        let form = [
            ("amount", amount.as_str()),
            ("currency", currency),
            ("payment_method", payment_method),
            ("payment_method_types[]", "card"),
            ("capture_method", "manual"),
            ("confirm", "true"),
            ("metadata[order_id]", order_id),
        ];
        self.post("/v1/payment_intents", &form, key).await
    }

    /// Captures the whole authorized amount.
    pub async fn capture(&self, intent: &str, key: &str) -> Result<Intent, ProviderError> {
        self.post(&format!("/v1/payment_intents/{}/capture", segment(intent)), &[], key)
            .await
    }

    /// Releases an authorization (or abandons an intent awaiting the customer).
    pub async fn void(&self, intent: &str, key: &str) -> Result<Intent, ProviderError> {
        self.post(&format!("/v1/payment_intents/{}/cancel", segment(intent)), &[], key)
            .await
    }

    /// Refunds `amount` (minor units) of a captured intent.
    pub async fn refund(&self, intent: &str, amount: i64, key: &str) -> Result<Refund, ProviderError> {
        let amount = amount.to_string();
        self.post(
            "/v1/refunds",
            &[("payment_intent", intent), ("amount", amount.as_str())],
            key,
        )
        .await
    }

    /// The intent as the provider holds it now.
    pub async fn intent(&self, id: &str) -> Result<Intent, ProviderError> {
        self.call(
            http::Method::GET,
            &format!("/v1/payment_intents/{}", segment(id)),
            String::new(),
            None,
        )
        .await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        key: &str,
    ) -> Result<T, ProviderError> {
        self.call(http::Method::POST, path, encode_form(form), Some(key)).await
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: http::Method,
        path: &str,
        body: String,
        key: Option<&str>,
    ) -> Result<T, ProviderError> {
        let deadline = tokio::time::Instant::now() + CALL_BUDGET;
        let mut last = ProviderError::Unavailable("no attempt".into());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            let attempt_of = || self.once(method.clone(), path, body.clone(), key);
            let answer = match tokio::time::timeout_at(deadline, attempt_of()).await {
                Ok(answer) => answer,
                Err(_) => Err(ProviderError::Unavailable(format!("no answer within {CALL_BUDGET:?}"))),
            };
            match answer {
                Err(e @ ProviderError::Unavailable(_)) => {
                    tracing::warn!(path, attempt, error = %e, "payment provider call failed; retrying with its key");
                    last = e;
                    if tokio::time::Instant::now() >= deadline {
                        break;
                    }
                }
                other => return other,
            }
        }
        Err(last)
    }

    async fn once<T: serde::de::DeserializeOwned>(
        &self,
        method: http::Method,
        path: &str,
        body: String,
        key: Option<&str>,
    ) -> Result<T, ProviderError> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.api_key))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let unavailable = |e: &dyn std::fmt::Display| ProviderError::Unavailable(e.to_string());
        let resp = self.client.request(req).await.map_err(|e| unavailable(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| unavailable(&e))?
            .to_bytes();
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| unavailable(&e));
        }
        Err(classify(status, &bytes))
    }
}

/// Stripe's error body `{"error": {type, code, decline_code, message}}` as one of ours.
pub fn classify(status: u16, body: &[u8]) -> ProviderError {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .unwrap_or(Value::Null);
    let field = |name: &str| error.get(name).and_then(Value::as_str).map(str::to_owned);
    let code = field("code").unwrap_or_default();
    match status {
        402 => ProviderError::Declined {
            reason: field("decline_code")
                .or_else(|| (!code.is_empty()).then(|| code.clone()))
                .unwrap_or_else(|| "card_declined".into()),
        },
        400 if code == "payment_intent_unexpected_state" => ProviderError::UnexpectedState(code),
        409 | 429 | 500..=599 => ProviderError::Unavailable(format!("HTTP {status} {code}")),
        _ => ProviderError::Refused {
            code: if code.is_empty() {
                format!("http_{status}")
            } else {
                code
            },
            message: field("message").unwrap_or_default(),
        },
    }
}

fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_part(k), form_part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Everything but the unreserved characters of RFC 3986 is escaped.
const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn form_part(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, FORM).to_string()
}

/// An id in a URL path: only the characters a provider id has.
fn segment(id: &str) -> String {
    form_part(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decline_names_the_decline_code_else_the_error_code() {
        let body =
            br#"{"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}}"#;
        assert_eq!(
            classify(402, body),
            ProviderError::Declined {
                reason: "insufficient_funds".into()
            }
        );
        let body = br#"{"error": {"type": "card_error", "code": "expired_card"}}"#;
        assert_eq!(
            classify(402, body),
            ProviderError::Declined {
                reason: "expired_card".into()
            }
        );
    }

    #[test]
    fn state_conflicts_retries_and_refusals_are_told_apart() {
        let unexpected = br#"{"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state"}}"#;
        assert!(matches!(classify(400, unexpected), ProviderError::UnexpectedState(_)));
        assert!(matches!(classify(429, b"{}"), ProviderError::Unavailable(_)));
        assert!(matches!(classify(503, b"not json"), ProviderError::Unavailable(_)));
        let missing = br#"{"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such PaymentMethod"}}"#;
        assert!(matches!(classify(400, missing), ProviderError::Refused { code, .. } if code == "resource_missing"));
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(
            encode_form(&[("metadata[order_id]", "a b&c"), ("amount", "1999")]),
            "metadata%5Border_id%5D=a%20b%26c&amount=1999"
        );
    }
}
