//! The pool's accounts as the admin gate and the operator read and change them: a store that owns
//! its Cognito client and pool id (auth's own calls, which need the app client, are
//! `auth::cognito::Pool`).

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType, UserStatusType};
use aws_sdk_cognitoidentityprovider::Client;

use crate::error::Upstream;
use crate::identity::{ADMIN_GROUP, SESSIONS_VALID_FROM};

const SERVICE: &str = crate::error::service::COGNITO;

/// Cognito's name of TOTP MFA in a user's MFA settings.
pub const TOTP: &str = "SOFTWARE_TOKEN_MFA";

/// An account as the admin checks read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its email is confirmed.
    pub confirmed: bool,
    pub enabled: bool,
    /// TOTP MFA is on: every sign-in asks for a code.
    pub totp: bool,
    /// Sessions from before this second are not accepted on admin routes (0: all are).
    pub sessions_valid_from: u64,
}

/// The user pool's accounts.
#[derive(Clone, Debug)]
pub struct Accounts {
    cognito: Client,
    pool_id: String,
}

impl Accounts {
    pub fn new(cognito: Client, pool_id: impl Into<String>) -> Self {
        Self {
            cognito,
            pool_id: pool_id.into(),
        }
    }

    /// The account `username` now (`AdminGetUser`); `None` when the pool has none.
    pub async fn get(&self, username: &str) -> Result<Option<Account>, Upstream> {
        let user = match self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(u) => u,
            Err(e) if e.as_service_error().is_some_and(|x| x.is_user_not_found_exception()) => return Ok(None),
            Err(e) => return Err(Upstream::new(SERVICE, e)),
        };
        let sessions_valid_from = user
            .user_attributes()
            .iter()
            .find(|a| a.name() == SESSIONS_VALID_FROM)
            .and_then(|a| a.value()?.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(Some(Account {
            confirmed: user.user_status() == Some(&UserStatusType::Confirmed),
            enabled: user.enabled(),
            totp: user.user_mfa_setting_list().iter().any(|m| m == TOTP),
            sessions_valid_from,
        }))
    }

    /// Puts `username` in the admins group (on AWS this raises the admin group alert).
    pub async fn add_to_admins(&self, username: &str) -> Result<(), Upstream> {
        self.cognito
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(ADMIN_GROUP)
            .send()
            .await
            .map_err(|e| Upstream::new(SERVICE, e))?;
        Ok(())
    }

    /// Makes sure a confirmed account `username` with these attributes exists, signing in with
    /// `password` (set again every time): how the operator keeps its synthetic account. No email
    /// is sent.
    pub async fn ensure_confirmed(
        &self,
        username: &str,
        attributes: &[(&str, &str)],
        password: &str,
    ) -> Result<(), Upstream> {
        let attributes = attributes
            .iter()
            .map(|(n, v)| AttributeType::builder().name(*n).value(*v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Upstream::internal(SERVICE, e.to_string()))?;
        let created = self
            .cognito
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .set_user_attributes(Some(attributes))
            .message_action(MessageActionType::Suppress)
            .send()
            .await;
        if let Err(e) = created {
            if !e.as_service_error().is_some_and(|e| e.is_username_exists_exception()) {
                return Err(Upstream::new(SERVICE, e));
            }
        }
        self.cognito
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .map_err(|e| Upstream::new(SERVICE, e))?;
        Ok(())
    }
}
