//! The scheduled purge of sign-ups never confirmed: an unconfirmed account older than the
//! configured age (default 24 h) is deleted from Cognito and from the Users table, so a name or an
//! address typed by someone else never stays taken (emails are claimed only at confirmation, so
//! an unconfirmed account holds no claim to release).

use crate::{Auth, Error};
use aws_sdk_cognitoidentityprovider::types::UserType;
use serde::Serialize;

/// Users deleted per run at most: the rest wait for the next run (Cognito's ListUsers and
/// AdminDeleteUser quotas are per account).
pub const MAX_PER_RUN: usize = 500;
/// The filter Cognito's ListUsers applies on its side: no confirmed user is ever read.
const UNCONFIRMED: &str = "cognito:user_status = \"UNCONFIRMED\"";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Unconfirmed users listed.
    pub listed: usize,
    /// Of those, deleted (older than the cutoff).
    pub purged: usize,
}

/// Whether `user` was created before `cutoff_secs` (epoch seconds).
fn created_before(user: &UserType, cutoff_secs: i64) -> bool {
    user.user_create_date().is_some_and(|d| d.secs() < cutoff_secs)
}

/// Schedule: deletes unconfirmed users created more than `unconfirmed_max_age` ago.
///
/// Each is asked again just before it is deleted (a confirmation since the listing keeps it), then
/// deleted record first, then from Cognito, then its email claim if it made one: if a later step
/// fails, the user is still listed as unconfirmed next run (and a confirmation meanwhile writes
/// its record again), so the sides converge. Cognito has no conditional delete: a user who
/// confirms in the instant between that check and the delete loses the account (and its claim
/// with it), 24 hours after signing up.
pub async fn purge_unconfirmed(a: &Auth, _event: serde_json::Value) -> Result<PurgeReport, Error> {
    let cutoff =
        chrono::Utc::now().timestamp() - i64::try_from(a.config.unconfirmed_max_age.as_secs()).unwrap_or(i64::MAX);
    let mut report = PurgeReport::default();
    let mut token = None;
    loop {
        let (users, next) = a.pool.list_users(UNCONFIRMED, token).await?;
        for user in &users {
            report.listed += 1;
            let Some(username) = user.username().filter(|_| created_before(user, cutoff)) else {
                continue;
            };
            // Asked again just before deleting: one confirmed since the listing is kept.
            let now = match a.pool.get_user(username).await {
                Ok(u) if !u.confirmed => u,
                Ok(_) => {
                    tracing::info!("confirmed since the listing: kept");
                    continue;
                }
                Err(Error::UserNotFound) => continue,
                Err(e) => return Err(e),
            };
            a.users.delete(&now.sub).await?;
            a.pool.delete_user(username).await?;
            // A confirmation in the instant between the check and the delete claimed the email:
            // the claim goes with the account (only this account's).
            if let Some(email) = &now.email {
                a.users.release_email(email, username).await?;
            }
            report.purged += 1;
            if report.purged >= MAX_PER_RUN {
                tracing::info!(purged = report.purged, "purge stopped at its per-run bound");
                return Ok(report);
            }
        }
        token = next;
        if token.is_none() {
            break;
        }
    }
    tracing::info!(
        listed = report.listed,
        purged = report.purged,
        "unconfirmed sign-ups purged"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    #[test]
    fn only_users_created_before_the_cutoff_are_old_enough() {
        let user = |secs: i64| UserType::builder().user_create_date(DateTime::from_secs(secs)).build();
        assert!(created_before(&user(99), 100));
        assert!(!created_before(&user(100), 100));
        assert!(!created_before(&UserType::builder().build(), 100), "no date: keep");
    }
}
