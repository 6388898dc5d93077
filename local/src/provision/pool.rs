//! The user pool, as the CDK app defines it.

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, IssuerConfigurationType, IssuerType, PasswordPolicyType,
    SchemaAttributeType, UserPoolPolicyType, VerifiedAttributeType,
};

use super::{created, fail, ProvisionError};
use crate::stage::StageValues;

/// What the CDK app sets on the pool and its app client from the stage values.
#[derive(Debug, Clone)]
pub struct PoolPolicy {
    /// Passwords of at least this many characters, with upper, lower, digit and symbol.
    pub password_min_length: usize,
    /// The standard attributes the app client may write: the emulator refuses a SignUp that
    /// writes any other, as Cognito does.
    pub write_attributes: Vec<String>,
    /// The pool's issuer format (`ORIGINAL` or `UPDATED`), as the CDK app sets it.
    pub issuer: String,
}

impl From<&StageValues> for PoolPolicy {
    fn from(s: &StageValues) -> Self {
        Self {
            password_min_length: s.password_min_length,
            write_attributes: s.app_client_write_attributes.clone(),
            issuer: s.cognito_issuer.clone(),
        }
    }
}

/// A user pool as the CDK app defines it, with its app client and `admins` group.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPool {
    #[serde(default)]
    pub user_pool_id: String,
    #[serde(default)]
    pub client_id: String,
    /// The app client's secret (the handlers read it from Cognito; direct callers need it; never
    /// written to `stack.json`).
    #[serde(skip)]
    pub client_secret: String,
}

impl UserPool {
    /// The `SECRET_HASH` a direct call for `username` through the app client carries.
    pub fn secret_hash(&self, username: &str) -> String {
        auth::cognito::secret_hash(&self.client_secret, &self.client_id, username)
    }
}

/// The pool `name` with its app client and `admins` group, under `policy`.
pub async fn user_pool(sdk: &SdkConfig, name: &str, policy: &PoolPolicy) -> Result<UserPool, ProvisionError> {
    let min_length = i32::try_from(policy.password_min_length).map_err(|e| fail("password policy", e))?;
    let c = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let attr = |n: &str| {
        SchemaAttributeType::builder()
            .name(n)
            .attribute_data_type(AttributeDataType::String)
            .mutable(true)
            .required(true)
            .build()
    };
    let sent = c
        .create_user_pool()
        .pool_name(name)
        .issuer_configuration(
            IssuerConfigurationType::builder()
                .r#type(IssuerType::from(policy.issuer.as_str()))
                .build(),
        )
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .schema(attr("email"))
        .schema(attr("name"))
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(min_length)
                        .require_lowercase(true)
                        .require_uppercase(true)
                        .require_numbers(true)
                        .require_symbols(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await;
    let pool_id = created("user pool".into(), sent, |o| o.user_pool?.id)?;
    let sent = c
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name(format!("{name}-client"))
        // As the CDK client: a secret, so the public client id alone authorizes nothing.
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        // The ID token carries what the client may read: the handlers need `email`.
        .read_attributes("email")
        .read_attributes("email_verified")
        .read_attributes("name")
        .set_write_attributes(Some(policy.write_attributes.clone()))
        .send()
        .await;
    let (client_id, client_secret) = created("user pool client".into(), sent, |o| {
        let client = o.user_pool_client?;
        Some((client.client_id?, client.client_secret?))
    })?;
    // As the CDK pool: MFA optional, TOTP only.
    c.set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .mfa_configuration(aws_sdk_cognitoidentityprovider::types::UserPoolMfaType::Optional)
        .software_token_mfa_configuration(
            aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaConfigType::builder()
                .enabled(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| fail("user pool MFA", e))?;
    c.create_group()
        .user_pool_id(&pool_id)
        .group_name(shop_core::identity::ADMIN_GROUP)
        .send()
        .await
        .map_err(|e| fail("admins group", e))?;
    Ok(UserPool {
        user_pool_id: pool_id,
        client_id,
        client_secret,
    })
}
