//! Payments: the card is authorized when the order is placed, captured when the workflow
//! reserves the stock, voided when it does not, refunded when a charged order is cancelled.
//! None of it runs in the ASL (the local interpreter must run the ASL that deploys): the money
//! moves in [`settle`], which the Orders stream calls on every decision, a cancel calls at once,
//! and the reconciler calls for anything left open. Each move is idempotent twice over: a
//! provider idempotency key per order and action, and a conditional write of the new payment
//! status.
//!
//! - [`provider`]: the Stripe client (five calls); [`signature`]: the webhook signature scheme.
//! - [`settle`]: what money an order is owed, moved once; [`webhook`]: the provider's events.

pub mod provider;
pub mod settle;
pub mod signature;
pub mod webhook;

use shop_core::config::ConfigError;

pub use provider::{Intent, Provider, ProviderError};
pub use settle::{settle, Settled};

/// The provider's configuration, read once at cold start.
#[derive(Clone, Debug)]
pub struct Payments {
    pub provider: Provider,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: String,
    /// ISO 4217, lower case (`usd`): every order of the stage is charged in it, in cents.
    pub currency: String,
}

/// The secret the platform team stores per stage (Secrets Manager, a JSON string).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderSecret {
    api_key: String,
    webhook_secret: String,
}

impl Payments {
    /// Reads the provider's secret `secret_id` (`{"apiKey", "webhookSecret"}`) from Secrets
    /// Manager, once: the key never sits in an environment variable.
    pub async fn load(
        secrets: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
        api_url: &str,
        currency: &str,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: "PAYMENT_SECRET_ARN",
            reason,
        };
        let value = secrets
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                invalid(format!(
                    "cannot be read: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                ))
            })?;
        let text = value.secret_string().ok_or_else(|| invalid("holds no string".into()))?;
        let secret: ProviderSecret =
            serde_json::from_str(text).map_err(|_| invalid("must be JSON {\"apiKey\", \"webhookSecret\"}".into()))?;
        let currency = currency.trim().to_ascii_lowercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(ConfigError::Invalid {
                name: "PAYMENT_CURRENCY",
                reason: "must be an ISO 4217 code such as usd".into(),
            });
        }
        Ok(Self {
            provider: Provider::new(api_url, &secret.api_key),
            webhook_secret: secret.webhook_secret,
            currency,
        })
    }
}

/// Counts a payment outcome (`PaymentsAuthorized`, `PaymentDeclines`, `CaptureFailures`...) on
/// the order service's business metrics; amounts are counted in cents under `<Name>Cents`.
pub fn count(namespace: &str, metric: &str, cents: Option<i64>) {
    shop_core::metrics::count(namespace, "order", metric, 1);
    if let Some(c) = cents.and_then(|c| u64::try_from(c).ok()) {
        shop_core::metrics::count(namespace, "order", &format!("{metric}Cents"), c);
    }
}
