//! One public async function per Lambda: event in, response out. Each parses and validates, calls
//! the adapters, and lets [`shop_core::Http::respond`] map the outcome.

use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
use serde::Serialize;
use shop_core::http::json_body;
use shop_core::{Request, Response};

use crate::cognito::{self, SignedIn, Tokens};
use crate::model::{totp_code, Login, SignUp, User, MAX_CODE, MAX_PASSWORD, MAX_TOKEN};
use crate::store::Claim;
use crate::Auth;
use crate::Error;

/// The original's success shape: `{"msg"}`, plus `tokens` after sign-in and refresh; a sign-in
/// of an account with TOTP MFA answers `challenge` and `session` instead of `tokens`.
#[derive(Debug, Default, Serialize)]
struct Reply {
    msg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<Tokens>,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<String>,
}

fn msg(msg: &'static str) -> Reply {
    Reply {
        msg,
        ..Reply::default()
    }
}

fn signed_in(tokens: Tokens) -> Reply {
    Reply {
        msg: "User successfully signed in!",
        tokens: Some(tokens),
        ..Reply::default()
    }
}

/// `POST /sign-up {email, fullName, password}`.
///
/// Cognito first (it owns uniqueness and the password policy), then the Users record. If the
/// record cannot be written the Cognito user is deleted again; if even that fails, confirmation
/// writes the missing record (see [`confirm_sign_up`]), so neither side is left alone.
pub async fn sign_up(a: &Auth, req: Request) -> Response {
    a.http.respond(200, sign_up_flow(a, &req).await)
}

async fn sign_up_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let s = SignUp::parse(&json_body(req)?)?;
    a.config
        .password_policy
        .check(&s.password)
        .map_err(Error::WeakPassword)?;
    // Only a confirmed account holds an email (its claim, read consistently): an unconfirmed
    // sign-up never locks one, so nobody can squat a stranger's address.
    if live_email_owner(a, &s.email).await?.is_some() {
        return Err(Error::EmailExists);
    }
    let sub = a.pool.sign_up(&s).await?;
    let user = User {
        user_id: sub.clone(),
        username: s.username.clone(),
        email: s.email.clone(),
        full_name: s.full_name.clone(),
        created_at: shop_core::time::now(),
    };
    if let Err(e) = a.users.put_if_absent(&user).await {
        match a.pool.delete_user(&s.username).await {
            Ok(()) => tracing::warn!(user_id = %sub, "users record failed; cognito user removed"),
            Err(_) => {
                tracing::error!(user_id = %sub, "users record failed and cognito user kept; confirmation will repair")
            }
        }
        return Err(e.into());
    }
    tracing::info!(user_id = %sub, "user signed up");
    shop_core::metrics::count(&a.config.metrics_namespace, "auth", "SignUps", 1);
    Ok(msg("Account created. Please verify your email."))
}

/// The username a request names; `not_found` when an email matches no user. An email means the
/// confirmed account that holds it when `owner_first` (sign-in), else the only other sign-up with it.
async fn resolve(a: &Auth, login: Login, not_found: Error, owner_first: bool) -> Result<String, Error> {
    match login {
        Login::Username(u) => Ok(u),
        Login::Email(e) => {
            let owner = a.users.email_owner(&e).await?;
            if let (true, Some(owner)) = (owner_first, &owner) {
                return Ok(owner.clone());
            }
            // Account pre-hijacking: with two sign-ups of one address (the victim's, then an
            // attacker's), "the newest" would send the attacker's code to the victim's inbox and
            // confirm the attacker's account with it. An email names an account only when exactly
            // one sign-up besides the confirmed owner holds it; otherwise it names none (the
            // answer for an unknown user), and the full name must be used.
            a.users
                .only_other_username(&e, owner.as_deref())
                .await?
                .ok_or(not_found)
        }
    }
}

/// Writes the Users record of a pool user if it is missing (idempotent).
async fn ensure_user_record(a: &Auth, username: &str, pool_user: cognito::PoolUser) -> Result<(), Error> {
    let user = User {
        user_id: pool_user.sub.clone(),
        username: username.to_owned(),
        email: pool_user.email.unwrap_or_default().to_lowercase(),
        full_name: pool_user.name.unwrap_or_else(|| username.replace('_', " ")),
        created_at: shop_core::time::now(),
    };
    if a.users.put_if_absent(&user).await? {
        tracing::warn!(user_id = %user.user_id, "missing users record written at confirmation");
    }
    Ok(())
}

/// The confirmed account holding `email`, unless that account no longer exists in the pool: an
/// operator's `AdminDeleteUser` (a GDPR erasure), a user deleting their own account through
/// Cognito, or a purge racing a confirmation leave the claim behind, and an orphaned claim would
/// lock the address for ever. It is released (conditionally: only that owner's) and the email is
/// free. One extra Cognito read, only when the email is claimed.
async fn live_email_owner(a: &Auth, email: &str) -> Result<Option<String>, Error> {
    let Some(owner) = a.users.email_owner(email).await? else {
        return Ok(None);
    };
    match a.pool.get_user(&owner).await {
        Ok(_) => Ok(Some(owner)),
        Err(Error::UserNotFound) => {
            a.users.forget(email, &owner).await?;
            a.users.release_email(email, &owner).await?;
            tracing::warn!("orphaned email claim and records released: their account no longer exists");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `POST /confirm-sign-up {fullName | email, confirmationCode}`.
pub async fn confirm_sign_up(a: &Auth, req: Request) -> Response {
    a.http.respond(200, confirm_flow(a, &req).await)
}

async fn confirm_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let f = json_body(req)?;
    let login = Login::parse(&f)?;
    let code = f.string("confirmationCode", MAX_CODE)?;
    // An unknown user gets the answer a wrong code gets (Cognito's own posture with user existence
    // errors prevented): confirm-sign-up must not tell who has an account.
    let username = resolve(a, login, Error::CodeMismatch, false).await?;
    // A confirmed account answers as a wrong code too (Cognito says NotAuthorized whatever the
    // code): 409 would tell a confirmed account from an unknown one.
    let unknown_as_wrong_code = |e: Error| match e {
        Error::UserNotFound | Error::AlreadyConfirmed => Error::CodeMismatch,
        other => other,
    };
    let pool_user = a.pool.get_user(&username).await.map_err(unknown_as_wrong_code)?;
    // The email goes to the first account confirmed with it: a conditional write decides, so of
    // concurrent confirmations with one email exactly one succeeds.
    // The pool requires an email; a user without one has nothing to claim.
    let email = pool_user.email.as_deref().unwrap_or_default().to_lowercase();
    let mut claim = if email.is_empty() {
        Claim::AlreadyMine
    } else {
        a.users.claim_email(&email, &username).await?
    };
    // A claim whose owner is gone (orphaned) is released, and this account claims again, once.
    if claim == Claim::Taken && live_email_owner(a, &email).await?.is_none() {
        claim = a.users.claim_email(&email, &username).await?;
    }
    if claim == Claim::Taken {
        return Err(Error::EmailExists);
    }
    if let Err(e) = a.pool.confirm_sign_up(&username, &code).await {
        if claim == Claim::Made {
            a.users.release_email(&email, &username).await?;
        }
        return Err(unknown_as_wrong_code(e));
    }
    // Confirmation changes none of what the record takes from the pool user read above.
    ensure_user_record(a, &username, pool_user).await?;
    tracing::info!("user confirmed");
    Ok(msg("User successfully confirmed!"))
}

/// `POST /sign-in {fullName | email, password}`.
pub async fn sign_in(a: &Auth, req: Request) -> Response {
    a.http.respond(200, sign_in_flow(a, &req).await)
}

async fn sign_in_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let f = json_body(req)?;
    let login = Login::parse(&f)?;
    let password = f.secret("password", MAX_PASSWORD)?;
    let username = resolve(a, login, Error::InvalidCredentials, true).await?;
    match a.pool.sign_in(&username, &password).await? {
        SignedIn::Tokens(tokens) => Ok(signed_in(tokens)),
        SignedIn::Totp { session } => Ok(Reply {
            msg: "Enter the code from your authenticator app at /auth/mfa/sign-in.",
            challenge: Some(ChallengeNameType::SoftwareTokenMfa.as_str().to_owned()),
            session: Some(session),
            ..Reply::default()
        }),
    }
}

/// `POST /mfa/sign-in {fullName | email, session, code}`: answers the TOTP challenge of a sign-in.
pub async fn mfa_sign_in(a: &Auth, req: Request) -> Response {
    a.http.respond(200, mfa_sign_in_flow(a, &req).await)
}

async fn mfa_sign_in_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let f = json_body(req)?;
    let login = Login::parse(&f)?;
    let session = f.secret("session", MAX_TOKEN)?;
    let code = totp_code(&f)?;
    let username = resolve(a, login, Error::InvalidToken, true).await?;
    let tokens = a.pool.answer_totp(&username, &session, &code).await?;
    Ok(signed_in(tokens))
}

/// `POST /mfa/setup {accessToken}`: starts TOTP setup; the secret goes into an authenticator app.
pub async fn mfa_setup(a: &Auth, req: Request) -> Response {
    a.http.respond(200, mfa_setup_flow(a, &req).await)
}

async fn mfa_setup_flow(a: &Auth, req: &Request) -> Result<serde_json::Value, Error> {
    let token = json_body(req)?.secret("accessToken", MAX_TOKEN)?;
    let secret = a.pool.start_totp(&token).await?;
    Ok(serde_json::json!({
        "msg": "Add this secret to your authenticator app, then send a code to /auth/mfa/verify.",
        "secretCode": secret,
        "otpauthUri": format!("otpauth://totp/Shop?secret={secret}&issuer=Shop"),
    }))
}

/// The EMF count of admins' TOTP enrolments (`infra/lib/abuse.ts` alarms on each).
pub const ADMIN_MFA_ENROLMENTS: &str = "AdminMfaEnrolments";

/// `POST /mfa/verify {accessToken, code}`: checks a first code and turns TOTP MFA on.
pub async fn mfa_verify(a: &Auth, req: Request) -> Response {
    a.http.respond(200, mfa_verify_flow(a, &req).await)
}

async fn mfa_verify_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let f = json_body(req)?;
    let token = f.secret("accessToken", MAX_TOKEN)?;
    let code = totp_code(&f)?;
    // Sessions count from the first whole second after this one: every ID token of a sign-in
    // before TOTP (auth_time <= now) is refused by the admin gate from here on, while a sign-in
    // with a code (a second later at the earliest) is not. Written before TOTP is turned on, so
    // TOTP is never on with older sessions still counting.
    let username = a.pool.owner_of(&token).await?;
    let admin = a.pool.is_admin(&username).await?;
    let from = shop_core::time::now_secs() + 1;
    a.pool.mark_sessions_valid_from(&username, from).await?;
    a.pool.enable_totp(&token, &code).await?;
    // Every refresh token of the account was minted by a sign-in without a code: revoke them all,
    // or one of them would mint tokens (admin ones too) for 30 days as if MFA had been used.
    a.pool.global_sign_out(&token).await?;
    tracing::info!("TOTP MFA enabled; every session of the account signed out");
    // An admin's authenticator opens admin routes from now on: the operator hears of each one
    // (the AdminMfaEnrolments alarm), so one enrolled by a thief of the password is seen.
    if admin {
        tracing::warn!("an admin enrolled an authenticator");
        shop_core::metrics::count(&a.config.metrics_namespace, "auth", ADMIN_MFA_ENROLMENTS, 1);
    }
    Ok(msg(
        "TOTP MFA is on and every session of this account is signed out: sign in again, with a code.",
    ))
}

/// `POST /sign-out {accessToken}`: global sign-out, which also revokes the refresh token.
pub async fn sign_out(a: &Auth, req: Request) -> Response {
    a.http.respond(200, sign_out_flow(a, &req).await)
}

async fn sign_out_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let token = json_body(req)?.secret("accessToken", MAX_TOKEN)?;
    a.pool.global_sign_out(&token).await?;
    Ok(msg("User successfully signed out!"))
}

/// `POST /resend-confirmation-code {fullName | email}`.
pub async fn resend_confirmation_code(a: &Auth, req: Request) -> Response {
    a.http.respond(200, resend_flow(a, &req).await)
}

/// The one answer of resend-confirmation-code, whoever asks: it must not tell who has an account,
/// nor whether it is confirmed.
const RESENT: &str = "A new confirmation code has been sent if the account exists and is not confirmed yet.";

async fn resend_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let login = Login::parse(&json_body(req)?)?;
    let Some(username) = resolve(a, login, Error::UserNotFound, false)
        .await
        .map(Some)
        .or_else(|e| match e {
            Error::UserNotFound => Ok(None),
            other => Err(other),
        })?
    else {
        return Ok(msg(RESENT));
    };
    let pool_user = match a.pool.get_user(&username).await {
        Ok(u) => u,
        Err(Error::UserNotFound) => return Ok(msg(RESENT)),
        Err(e) => return Err(e),
    };
    if !pool_user.confirmed {
        match a.pool.resend_code(&username).await {
            // Gone or confirmed meanwhile: the same answer as for everyone.
            Ok(()) | Err(Error::UserNotFound | Error::AlreadyConfirmed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(msg(RESENT))
}

/// `POST /refresh-token {refreshToken}`: new access and ID tokens.
pub async fn refresh_token(a: &Auth, req: Request) -> Response {
    a.http.respond(200, refresh_flow(a, &req).await)
}

async fn refresh_flow(a: &Auth, req: &Request) -> Result<Reply, Error> {
    let token = json_body(req)?.secret("refreshToken", MAX_TOKEN)?;
    let tokens = a.pool.refresh(&token).await?;
    Ok(Reply {
        msg: "Tokens refreshed.",
        tokens: Some(tokens),
        ..Reply::default()
    })
}
