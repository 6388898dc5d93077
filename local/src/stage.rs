//! The local stage's values, from the stage data the CDK app deploys (`infra/stages.json`: the
//! defaults with the `local` stage's changes).

use serde::Deserialize;
use serde_json::Value;

/// The stage data, compiled in.
pub const STAGES_JSON: &str = include_str!("../../infra/stages.json");

/// The values the local stack uses (the rest are AWS-only: memory, throttling, retention, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageValues {
    pub cleanup_every_minutes: u64,
    pub purge_every_minutes: u64,
    pub reconcile_every_minutes: u64,
    pub cleanup_max_age_seconds: u64,
    pub unconfirmed_max_age_seconds: u64,
    pub upload_url_expires_seconds: u64,
    pub upload_max_bytes: u64,
    pub order_max_receives: u32,
    /// The user pool's minimum password length.
    pub password_min_length: usize,
    /// The standard attributes the app client may write (Cognito refuses a SignUp writing others).
    pub app_client_write_attributes: Vec<String>,
    pub reconcile_after_seconds: u64,
    pub max_order_lines: usize,
    /// `EXPRESS` or `STANDARD`.
    pub workflow_type: String,
    /// `stripe` (locally: the local Stripe) or `none`.
    pub payments: String,
    pub payment_currency: String,
    /// An order without a payment method is taken unpaid (the original clients).
    pub allow_unpaid_orders: bool,
    pub settle_after_seconds: u64,
    /// API Gateway's throttling: the strict routes' rate and burst, every other route's.
    pub auth_rate_limit: f64,
    pub auth_burst_limit: f64,
    pub route_rate_limit: f64,
    pub route_burst_limit: f64,
    /// The browser origin the APIs allow (`*` or one origin).
    pub cors_origin: String,
    /// The APIs' CORS configuration, as API Gateway applies it.
    pub cors: Cors,
    /// The user pool's issuer format: `ORIGINAL` or `UPDATED` (`iss` of its tokens).
    pub cognito_issuer: String,
    /// Admin routes also require TOTP on the account and a sign-in made with it.
    pub admin_mfa_required: bool,
}

/// `infra/stages.json` "cors": what API Gateway answers a preflight with, and adds to answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: u64,
}

impl StageValues {
    /// The order workflow's type (`workflowType`).
    pub fn workflow_type(&self) -> aws_sdk_sfn::types::StateMachineType {
        aws_sdk_sfn::types::StateMachineType::from(self.workflow_type.to_ascii_uppercase().as_str())
    }

    /// The rate of a declared schedule (`every`: `cleanup` -> `cleanupEveryMinutes`), as the CDK
    /// app deploys it.
    pub fn every_minutes(&self, every: &str) -> Option<u64> {
        match every {
            "cleanup" => Some(self.cleanup_every_minutes),
            "purge" => Some(self.purge_every_minutes),
            "reconcile" => Some(self.reconcile_every_minutes),
            _ => None,
        }
    }
}

/// The values of `stage`: the defaults, overridden by the stage's own.
pub fn values(stage: &str) -> Result<StageValues, String> {
    let data: Value = serde_json::from_str(STAGES_JSON).map_err(|e| format!("infra/stages.json: {e}"))?;
    let mut merged = data.get("defaults").cloned().unwrap_or_default();
    let changes = data
        .get("stages")
        .and_then(|s| s.get(stage))
        .and_then(Value::as_object)
        .ok_or_else(|| format!("infra/stages.json has no stage {stage:?}"))?;
    if let Some(m) = merged.as_object_mut() {
        m.extend(changes.clone());
    }
    serde_json::from_value(merged).map_err(|e| format!("infra/stages.json, stage {stage}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_stage_is_the_defaults_with_its_changes() {
        let local = values("local").unwrap();
        assert_eq!((local.cleanup_every_minutes, local.max_order_lines), (2, 25));
        assert_eq!(local.workflow_type, "EXPRESS");
        assert_eq!(
            values("prod").unwrap().reconcile_after_seconds,
            local.reconcile_after_seconds
        );
        assert!(values("nowhere").is_err());
    }
}
