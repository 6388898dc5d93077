//! The payment provider of the local stack: localstripe, patched to answer as Stripe does
//! (`local/emulator/stripe_server.py` lists each difference). Reuse the one `STRIPE_ENDPOINT`
//! names, or start one on a free port, as for moto.

use std::time::{Duration, Instant};

/// The secret key every local stack uses: localstripe takes any `sk_` key.
pub const API_KEY: &str = "sk_test_local";

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("could not start the local Stripe (install it with: pip install localstripe==1.15.10): {0}")]
    Spawn(std::io::Error),
    #[error("the local Stripe at {0} did not answer within {1:?}")]
    NotReady(String, Duration),
    #[error("the local Stripe at {0} refused the webhook endpoint: {1}")]
    Webhook(String, String),
}

/// A running local Stripe.
#[derive(Debug, Clone)]
pub struct Stripe {
    pub endpoint: String,
}

impl Stripe {
    /// `STRIPE_ENDPOINT` if set, otherwise a new local Stripe on `port` (0 = any free port) that
    /// exits when this process does.
    pub async fn find_or_start(port: u16) -> Result<Self, StripeError> {
        let endpoint = match std::env::var("STRIPE_ENDPOINT") {
            Ok(e) if !e.is_empty() => e.trim_end_matches('/').to_owned(),
            _ => {
                let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/emulator/stripe_server.py");
                crate::emulator::spawn_watched(launcher, "--port", port).map_err(StripeError::Spawn)?
            }
        };
        let stripe = Self { endpoint };
        stripe.wait_ready(Duration::from_secs(30)).await?;
        Ok(stripe)
    }

    async fn wait_ready(&self, limit: Duration) -> Result<(), StripeError> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < limit {
            if let Ok(r) = client.get(format!("{}/_config/ledger", self.endpoint)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StripeError::NotReady(self.endpoint.clone(), limit))
    }

    /// Has the local Stripe send its events to `url`, signed with `secret`, as a webhook
    /// endpoint registered in Stripe's dashboard would be.
    pub async fn register_webhook(&self, id: &str, url: &str, secret: &str) -> Result<(), StripeError> {
        let r = reqwest::Client::new()
            .post(format!("{}/_config/webhooks/{id}", self.endpoint))
            .json(&serde_json::json!({ "url": url, "secret": secret }))
            .send()
            .await
            .map_err(|e| StripeError::Webhook(self.endpoint.clone(), e.to_string()))?;
        if !r.status().is_success() {
            return Err(StripeError::Webhook(self.endpoint.clone(), r.status().to_string()));
        }
        Ok(())
    }

    /// The customer finishes 3-D Secure, as Stripe.js does in the browser with the client secret
    /// (`<intent id>_secret_<...>`, which names the intent); whether the local Stripe took it.
    pub async fn complete_3ds(&self, client_secret: &str) -> Result<bool, reqwest::Error> {
        let intent = client_secret.split("_secret_").next().unwrap_or_default();
        let done = reqwest::Client::new()
            .post(format!("{}/v1/payment_intents/{intent}/_authenticate", self.endpoint))
            .form(&[
                ("client_secret", client_secret),
                ("success", "true"),
                ("key", "pk_test_local"),
            ])
            .send()
            .await?;
        Ok(done.status().is_success())
    }

    /// Every money movement that took effect, and every replay an idempotency key answered
    /// (`/_config/ledger`), for one intent or all.
    pub async fn ledger(&self, intent: Option<&str>) -> Result<Vec<serde_json::Value>, reqwest::Error> {
        let mut req = reqwest::Client::new().get(format!("{}/_config/ledger", self.endpoint));
        if let Some(i) = intent {
            req = req.query(&[("intent", i)]);
        }
        let body: serde_json::Value = req.send().await?.json().await?;
        Ok(body["entries"].as_array().cloned().unwrap_or_default())
    }
}
