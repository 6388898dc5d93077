//! Auth service against the emulator's Cognito and DynamoDB, through the real handlers.

use auth::model::PasswordPolicy;
use auth::{Auth, AuthConfig};
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_sfn::types::StateMachineType;
use serde_json::{json, Value};
use shop_local::provision;
use shop_tests::{assert_error, emails_to, other_code, parts, post, scan_table, sdk, totp_now, unique};

const PASSWORD: &str = "Str0ng!Passw0rd";

struct Fixture {
    auth: Auth,
    pool: provision::UserPool,
}

async fn fixture() -> Fixture {
    let sdk = sdk().await;
    // The pool and the handlers' policy as the stages deploy them.
    let res = shop_tests::provisioned("auth", "shop@example.com", StateMachineType::Standard).await;
    let stage = shop_local::stage::values("local").unwrap();
    let min_length = stage.password_min_length;
    let pool = res.pool.clone();
    let config = AuthConfig {
        user_pool_id: pool.user_pool_id.clone(),
        client_id: pool.client_id.clone(),
        users_table: res.table("users").unwrap().to_owned(),
        password_policy: PasswordPolicy { min_length },
        unconfirmed_max_age: std::time::Duration::from_secs(stage.unconfirmed_max_age_seconds),
        metrics_namespace: unique("Shop/auth-test"),
    };
    Fixture {
        auth: Auth::new(&sdk, config),
        pool,
    }
}

impl Fixture {
    async fn call(&self, route: &str, body: Value) -> (u16, Value) {
        let req = post(route, &body, None);
        let a = &self.auth;
        let resp = match route {
            "/sign-up" => auth::sign_up(a, req).await,
            "/confirm-sign-up" => auth::confirm_sign_up(a, req).await,
            "/sign-in" => auth::sign_in(a, req).await,
            "/sign-out" => auth::sign_out(a, req).await,
            "/resend-confirmation-code" => auth::resend_confirmation_code(a, req).await,
            "/refresh-token" => auth::refresh_token(a, req).await,
            "/mfa/setup" => auth::mfa_setup(a, req).await,
            "/mfa/verify" => auth::mfa_verify(a, req).await,
            "/mfa/sign-in" => auth::mfa_sign_in(a, req).await,
            other => panic!("no route {other}"),
        };
        parts(&resp)
    }

    async fn raw(&self, route: &str, body: &str) -> shop_core::Response {
        let req = shop_tests::api_request("POST", route, Some(body), None);
        match route {
            "/sign-up" => auth::sign_up(&self.auth, req).await,
            "/sign-in" => auth::sign_in(&self.auth, req).await,
            _ => auth::confirm_sign_up(&self.auth, req).await,
        }
    }

    async fn sign_up(&self, name: &str, email: &str) -> (u16, Value) {
        self.call(
            "/sign-up",
            json!({"email": email, "fullName": name, "password": PASSWORD}),
        )
        .await
    }

    async fn signed_up_and_confirmed(&self, name: &str, email: &str) {
        assert_eq!(self.sign_up(name, email).await.0, 200);
        let (s, b) = self
            .call(
                "/confirm-sign-up",
                json!({"fullName": name, "confirmationCode": "123456"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    async fn sign_in(&self, name: &str) -> Value {
        let (s, b) = self
            .call("/sign-in", json!({"fullName": name, "password": PASSWORD}))
            .await;
        assert_eq!(s, 200, "{b}");
        b["tokens"].clone()
    }

    /// The Users records (an email's claim item, `email#<address>`, is not one).
    async fn users(&self) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        scan_table(&self.auth.users.db, &self.auth.users.table)
            .await
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|i| !i["userId"].as_s().unwrap().starts_with("email#"))
            .collect()
    }

    async fn pool_user_exists(&self, username: &str) -> bool {
        self.auth.pool.get_user(username).await.is_ok()
    }
}

fn email() -> String {
    format!("{}@example.com", unique("user"))
}

#[tokio::test]
async fn sign_up_creates_the_cognito_user_and_its_users_record() {
    let f = fixture().await;
    let mail = email();
    let (s, b) = f.sign_up("Ada  Lovelace", &mail).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["msg"], "Account created. Please verify your email.");
    assert!(f.pool_user_exists("Ada_Lovelace").await);
    let users = f.users().await;
    assert_eq!(users.len(), 1);
    let u = &users[0];
    assert_eq!(u["username"].as_s().unwrap(), "Ada_Lovelace");
    assert_eq!(u["email"].as_s().unwrap(), &mail);
    assert_eq!(u["fullName"].as_s().unwrap(), "Ada  Lovelace");
    let sub = f.auth.pool.get_user("Ada_Lovelace").await.unwrap().sub;
    assert_eq!(u["userId"].as_s().unwrap(), &sub);
}

#[tokio::test]
async fn sign_up_with_a_taken_full_name_is_409() {
    let f = fixture().await;
    assert_eq!(f.sign_up("Grace Hopper", &email()).await.0, 200);
    let (s, b) = f.sign_up("Grace  Hopper", &email()).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("UserExists")), "{b}");
    assert!(b["msg"].as_str().is_some(), "auth errors keep msg: {b}");
    assert_eq!(f.users().await.len(), 1);
}

#[tokio::test]
async fn sign_up_with_the_email_of_a_confirmed_account_is_409_whatever_its_case() {
    let f = fixture().await;
    let mail = email();
    f.signed_up_and_confirmed("Alan Turing", &mail).await;
    let (s, b) = f.sign_up("Someone Else", &mail.to_uppercase()).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("EmailExists")), "{b}");
    assert!(!f.pool_user_exists("Someone_Else").await);
}

#[tokio::test]
async fn an_unconfirmed_sign_up_does_not_lock_its_email() {
    let f = fixture().await;
    let mail = email();
    // A squatter signs up with a stranger's address and never confirms.
    assert_eq!(f.sign_up("Squatter Sam", &mail).await.0, 200);
    // The owner signs up at once, confirms, and signs in with the email.
    f.signed_up_and_confirmed("Real Owner", &mail).await;
    let (s, b) = f
        .call("/sign-in", json!({"email": mail.to_uppercase(), "password": PASSWORD}))
        .await;
    assert_eq!(s, 200, "{b}");
    // The squatter's account can no longer take it.
    let (s, b) = f
        .call(
            "/confirm-sign-up",
            json!({"fullName": "Squatter Sam", "confirmationCode": "1"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("EmailExists")), "{b}");
}

#[tokio::test]
async fn six_concurrent_sign_ups_with_one_email_end_with_exactly_one_confirmed_account() {
    let f = fixture().await;
    let mail = email();
    let names: Vec<String> = (0..6).map(|i| format!("Racer Number{i}")).collect();
    let signed = futures::future::join_all(names.iter().map(|n| f.sign_up(n, &mail))).await;
    assert!(signed.iter().all(|(s, _)| *s == 200), "{signed:?}");
    let confirmed = futures::future::join_all(
        names
            .iter()
            .map(|n| f.call("/confirm-sign-up", json!({"fullName": n, "confirmationCode": "1"}))),
    )
    .await;
    let ok = confirmed.iter().filter(|(s, _)| *s == 200).count();
    let taken = confirmed
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "EmailExists")
        .count();
    assert_eq!((ok, taken), (1, 5), "{confirmed:?}");
    let (s, b) = f.sign_up("Latecomer Lee", &mail).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("EmailExists")), "{b}");
}

#[tokio::test]
async fn sign_up_with_a_weak_password_is_400_with_the_reason() {
    let f = fixture().await;
    let (s, b) = f
        .call(
            "/sign-up",
            json!({"email": email(), "fullName": "Weak Pw", "password": "short"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("WeakPassword")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("at least 8 characters"), "{b}");
    assert!(!f.pool_user_exists("Weak_Pw").await);
}

#[tokio::test]
async fn sign_up_with_bad_bodies_is_400_and_creates_nothing() {
    let f = fixture().await;
    for body in ["", "{", "[]", "null", "\"x\"", "{\"email\": 5}"] {
        let r = f.raw("/sign-up", body).await;
        assert_eq!(parts(&r).0, 400, "{body}");
    }
    let cases = [
        (json!({"fullName": "A B", "password": PASSWORD}), "MissingField"),
        (json!({"email": email(), "password": PASSWORD}), "MissingField"),
        (json!({"email": email(), "fullName": "A B"}), "MissingField"),
        (
            json!({"email": "not-an-email", "fullName": "A B", "password": PASSWORD}),
            "InvalidField",
        ),
        (
            json!({"email": email(), "fullName": "   ", "password": PASSWORD}),
            "InvalidField",
        ),
        (
            json!({"email": email(), "fullName": 42, "password": PASSWORD}),
            "InvalidField",
        ),
        (
            json!({"email": email(), "fullName": "x".repeat(101), "password": PASSWORD}),
            "InvalidField",
        ),
        (
            json!({"email": email(), "fullName": "A B", "password": ["x"]}),
            "InvalidField",
        ),
    ];
    for (body, code) in cases {
        let (s, b) = f.call("/sign-up", body.clone()).await;
        assert_eq!((s, b["code"].as_str()), (400, Some(code)), "{body} -> {b}");
    }
    assert!(f.users().await.is_empty());
}

#[tokio::test]
async fn a_failed_users_record_removes_the_cognito_user_again() {
    // Only the Users record's put fails (a throttled or failing table, injected at the SDK's HTTP
    // layer): the email claim's read answers and Cognito creates the user first, as on AWS.
    let f = fixture().await;
    let failing_sdk = shop_local::http_hook::hooked(&sdk().await, |req, _| {
        if shop_local::http_hook::operation(req) == "PutItem" {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;
            shop_local::http_hook::Act::Answer(500, body.to_owned())
        } else {
            shop_local::http_hook::Act::Pass
        }
    });
    let failing = Fixture {
        auth: Auth::new(&failing_sdk, f.auth.config.clone()),
        pool: f.pool.clone(),
    };
    let (s, b) = failing.sign_up("Half Way", &email()).await;
    assert_eq!((s, b["code"].as_str()), (503, Some("ServiceUnavailable")), "{b}");
    assert!(
        !f.pool_user_exists("Half_Way").await,
        "cognito user left without its record"
    );
    // The same sign-up with a working table keeps its user: the clean-up is what removed it.
    assert_eq!(f.sign_up("Half Way", &email()).await.0, 200);
    assert!(f.pool_user_exists("Half_Way").await);
}

#[tokio::test]
async fn confirmation_writes_a_users_record_that_sign_up_could_not() {
    let f = fixture().await;
    let mail = email();
    // A pool user whose sign-up died before its Users record was written.
    aws_sdk_cognitoidentityprovider::Client::new(&sdk().await)
        .sign_up()
        .client_id(&f.pool.client_id)
        .secret_hash(f.pool.secret_hash("Orphan_User"))
        .username("Orphan_User")
        .password(PASSWORD)
        .user_attributes(AttributeType::builder().name("email").value(&mail).build().unwrap())
        .user_attributes(
            AttributeType::builder()
                .name("name")
                .value("Orphan User")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(f.users().await.is_empty());
    let (s, b) = f
        .call(
            "/confirm-sign-up",
            json!({"fullName": "Orphan User", "confirmationCode": "1"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let users = f.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"].as_s().unwrap(), "Orphan_User");
    assert_eq!(users[0]["email"].as_s().unwrap(), &mail);
}

#[tokio::test]
async fn confirm_sign_up_by_email_confirms_the_user() {
    let f = fixture().await;
    let mail = email();
    f.sign_up("Mary Shelley", &mail).await;
    let (s, b) = f
        .call(
            "/confirm-sign-up",
            json!({"email": mail.to_uppercase(), "confirmationCode": "274023"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["msg"], "User successfully confirmed!");
    f.sign_in("Mary Shelley").await;
}

#[tokio::test]
async fn confirm_sign_up_for_an_unknown_user_answers_exactly_as_a_wrong_code_does() {
    let f = fixture().await;
    // What a wrong code for a real user answers (the emulator accepts any code, so the answer is
    // rendered from the error the handler maps Cognito's CodeMismatchException to).
    let wrong_code = parts(&f.auth.http.error(&auth::Error::CodeMismatch));
    assert_eq!(wrong_code.0, 400);
    for body in [
        json!({"fullName": "Nobody Here", "confirmationCode": "1"}),
        json!({"email": email(), "confirmationCode": "1"}),
    ] {
        let answer = f.call("/confirm-sign-up", body.clone()).await;
        assert_eq!(answer, wrong_code, "{body}");
    }
    // A confirmed account too (Cognito answers NotAuthorized, whatever the code): the route does
    // not tell a confirmed account from an unknown one or a wrong code.
    let mail = email();
    f.signed_up_and_confirmed("Confirmed Already", &mail).await;
    for body in [
        json!({"fullName": "Confirmed Already", "confirmationCode": "1"}),
        json!({"email": mail, "confirmationCode": "1"}),
    ] {
        let answer = f.call("/confirm-sign-up", body.clone()).await;
        assert_eq!(answer, wrong_code, "{body}");
    }
}

#[tokio::test]
async fn confirm_sign_up_without_a_code_is_400() {
    let f = fixture().await;
    for body in [
        json!({"fullName": "A B"}),
        json!({"fullName": "A B", "confirmationCode": ""}),
        json!({"confirmationCode": "1"}),
        json!({"fullName": "A B", "confirmationCode": 123456}),
    ] {
        let (s, b) = f.call("/confirm-sign-up", body.clone()).await;
        assert_eq!(s, 400, "{body} -> {b}");
    }
}

#[tokio::test]
async fn sign_in_returns_the_original_token_shape() {
    let f = fixture().await;
    let mail = email();
    f.signed_up_and_confirmed("Katherine Johnson", &mail).await;
    let (s, b) = f
        .call(
            "/sign-in",
            json!({"fullName": "Katherine Johnson", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["msg"], "User successfully signed in!");
    for k in ["AccessToken", "IdToken", "RefreshToken"] {
        assert!(
            b["tokens"][k].as_str().is_some_and(|t| t.len() > 20),
            "{k} missing: {b}"
        );
    }
    assert_eq!(b["tokens"]["TokenType"], "Bearer");
    assert!(b["tokens"]["ExpiresIn"].as_i64().is_some_and(|n| n > 0));
}

#[tokio::test]
async fn sign_in_by_email_works() {
    let f = fixture().await;
    let mail = email();
    f.signed_up_and_confirmed("Hedy Lamarr", &mail).await;
    let (s, b) = f.call("/sign-in", json!({"email": mail, "password": PASSWORD})).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["tokens"]["IdToken"].is_string());
}

#[tokio::test]
async fn sign_in_with_a_wrong_password_or_unknown_user_is_401() {
    let f = fixture().await;
    f.signed_up_and_confirmed("Emmy Noether", &email()).await;
    let (s, b) = f
        .call(
            "/sign-in",
            json!({"fullName": "Emmy Noether", "password": "Wr0ng!Password"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidCredentials")), "{b}");
    let (s, b) = f
        .call("/sign-in", json!({"fullName": "No Such", "password": PASSWORD}))
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidCredentials")), "{b}");
    let (s, b) = f
        .call("/sign-in", json!({"email": email(), "password": PASSWORD}))
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidCredentials")), "{b}");
}

#[tokio::test]
async fn sign_in_before_confirmation_is_403() {
    let f = fixture().await;
    f.sign_up("Rosalind Franklin", &email()).await;
    let (s, b) = f
        .call(
            "/sign-in",
            json!({"fullName": "Rosalind Franklin", "password": PASSWORD}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("UserNotConfirmed")), "{b}");
}

#[tokio::test]
async fn sign_in_with_bad_bodies_is_400() {
    let f = fixture().await;
    assert_error(&f.raw("/sign-in", "{not json").await, 400, "MalformedJson");
    let (s, b) = f.call("/sign-in", json!({"fullName": "A B"})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("MissingField")), "{b}");
    let (s, b) = f.call("/sign-in", json!({"fullName": "A B", "password": ""})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{b}");
}

#[tokio::test]
async fn refresh_token_returns_new_tokens() {
    let f = fixture().await;
    f.signed_up_and_confirmed("Barbara Liskov", &email()).await;
    let tokens = f.sign_in("Barbara Liskov").await;
    let (s, b) = f
        .call("/refresh-token", json!({"refreshToken": tokens["RefreshToken"]}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["tokens"]["AccessToken"].as_str().is_some_and(|t| t.len() > 20), "{b}");
    assert!(b["tokens"]["IdToken"].is_string(), "{b}");
    let (s, b) = f.call("/refresh-token", json!({"refreshToken": "garbage"})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
}

#[tokio::test]
async fn sign_out_revokes_the_refresh_token() {
    let f = fixture().await;
    f.signed_up_and_confirmed("Margaret Hamilton", &email()).await;
    let tokens = f.sign_in("Margaret Hamilton").await;
    let (s, b) = f.call("/sign-out", json!({"accessToken": tokens["AccessToken"]})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["msg"], "User successfully signed out!");
    let (s, b) = f
        .call("/refresh-token", json!({"refreshToken": tokens["RefreshToken"]}))
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
    let (s, _) = f.call("/sign-out", json!({"accessToken": tokens["AccessToken"]})).await;
    assert_eq!(s, 401, "a revoked access token cannot sign out again");
}

#[tokio::test]
async fn sign_out_with_a_bad_token_is_401_and_without_one_400() {
    let f = fixture().await;
    let (s, b) = f.call("/sign-out", json!({"accessToken": "not-a-token"})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
    let (s, b) = f.call("/sign-out", json!({})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("MissingField")), "{b}");
}

#[tokio::test]
async fn resend_answers_an_unknown_and_a_confirmed_user_the_same_way() {
    let f = fixture().await;
    let mail = email();
    f.signed_up_and_confirmed("Ida Rhodes", &mail).await;
    let confirmed = f.call("/resend-confirmation-code", json!({"email": mail})).await;
    assert_eq!(confirmed.0, 200, "{:?}", confirmed.1);
    for unknown in [json!({"fullName": "Not There"}), json!({"email": email()})] {
        let answer = f.call("/resend-confirmation-code", unknown.clone()).await;
        assert_eq!(answer, confirmed, "{unknown}");
    }
    let (s, b) = f.call("/resend-confirmation-code", json!({})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("MissingField")), "{b}");
}

#[tokio::test]
async fn a_second_sign_up_with_an_email_cannot_hijack_the_first_by_resend_and_confirm_by_email() {
    let f = fixture().await;
    let mail = email();
    // The victim signs up; an attacker signs up a second account with the victim's address.
    assert_eq!(f.sign_up("Victim Person", &mail).await.0, 200);
    assert_eq!(f.sign_up("Attacker Person", &mail).await.0, 200);
    // By email, neither account is named: no code is sent, nothing is confirmed, and the answers
    // are those for an unknown user.
    let before = emails_to(&mail).await.len();
    let resent = f.call("/resend-confirmation-code", json!({"email": mail})).await;
    assert_eq!(resent.0, 200, "{:?}", resent.1);
    assert_eq!(
        emails_to(&mail).await.len(),
        before,
        "a code went out for an ambiguous email"
    );
    let (s, b) = f
        .call("/confirm-sign-up", json!({"email": mail, "confirmationCode": "1"}))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("CodeMismatch")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("fullName"), "{b}");
    let (s, b) = f
        .call("/sign-in", json!({"fullName": "Attacker Person", "password": PASSWORD}))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (403, Some("UserNotConfirmed")),
        "the attacker's account was confirmed: {b}"
    );
    // By full name, the victim confirms their own account, and the email is theirs.
    let (s, b) = f
        .call(
            "/confirm-sign-up",
            json!({"fullName": "Victim Person", "confirmationCode": "1"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = f.call("/sign-in", json!({"email": mail, "password": PASSWORD})).await;
    assert_eq!(s, 200, "the owner signs in by email: {b}");
}

#[tokio::test]
async fn handlers_answer_json_and_leave_cors_to_the_gateway() {
    // API Gateway adds CORS headers (and ignores a function's): the stage's configuration, in one place.
    let f = fixture().await;
    let r = f.raw("/sign-in", "{}").await;
    assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
    assert!(
        r.headers.keys().all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        r.headers
    );
}

#[tokio::test]
async fn a_body_over_128_kib_is_413_payload_too_large() {
    let f = fixture().await;
    let big = json!({"email": email(), "fullName": "x".repeat(129 * 1024), "password": PASSWORD});
    let (s, b) = f.call("/sign-up", big).await;
    assert_eq!((s, b["code"].as_str()), (413, Some("PayloadTooLarge")), "{b}");
}

#[tokio::test]
async fn a_refused_confirmation_releases_its_email_claim() {
    let f = fixture().await;
    let mail = email();
    assert_eq!(f.sign_up("Wrong Code", &mail).await.0, 200);
    // Cognito refuses the code (the emulator accepts any, so the refusal is injected).
    let refusing_sdk = shop_local::http_hook::hooked(&sdk().await, |req, _| {
        if shop_local::http_hook::operation(req) == "ConfirmSignUp" {
            let body = r#"{"__type":"CodeMismatchException","message":"Invalid verification code provided, please try again."}"#;
            shop_local::http_hook::Act::Answer(400, body.to_owned())
        } else {
            shop_local::http_hook::Act::Pass
        }
    });
    let refusing = Fixture {
        auth: Auth::new(&refusing_sdk, f.auth.config.clone()),
        pool: f.pool.clone(),
    };
    let (s, b) = refusing
        .call(
            "/confirm-sign-up",
            json!({"fullName": "Wrong Code", "confirmationCode": "1"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("CodeMismatch")), "{b}");
    // The email is free again: another account can confirm with it.
    f.signed_up_and_confirmed("Right Person", &mail).await;
}

/// The purge asks again just before it deletes: a sign-up confirmed after the listing (here,
/// confirmed just as the purge asks about it) keeps its account.
#[tokio::test]
async fn a_sign_up_confirmed_after_the_purge_listed_it_is_kept() {
    let f = fixture().await;
    let late = unique("Late");
    assert_eq!(f.sign_up(&late, &format!("{late}@example.com")).await.0, 200);
    let username = auth::model::username_for(&late);
    let plain = aws_sdk_cognitoidentityprovider::Client::new(&sdk().await);
    let pool = f.auth.config.user_pool_id.clone();
    let confirming_sdk = shop_local::http_hook::hooked(&sdk().await, move |req, _| {
        if shop_local::http_hook::operation(req) != "AdminGetUser" {
            return shop_local::http_hook::Act::Pass;
        }
        let (plain, pool, username) = (plain.clone(), pool.clone(), username.clone());
        shop_local::http_hook::Act::Before(Box::pin(async move {
            // The user confirms between the purge's listing and its delete.
            let _ = plain
                .admin_confirm_sign_up()
                .user_pool_id(pool)
                .username(username)
                .send()
                .await;
        }))
    });
    let mut racing = Fixture {
        auth: Auth::new(&confirming_sdk, f.auth.config.clone()),
        pool: f.pool.clone(),
    };
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    racing.auth.config.unconfirmed_max_age = std::time::Duration::ZERO;
    let report = auth::purge_unconfirmed(&racing.auth, json!({})).await.unwrap();
    assert_eq!((report.listed, report.purged), (1, 0), "{report:?}");
    assert!(
        f.pool_user_exists(&auth::model::username_for(&late)).await,
        "a confirmed account was purged"
    );
}

#[tokio::test]
async fn unconfirmed_sign_ups_past_their_age_are_purged_from_cognito_and_the_users_table() {
    let mut f = fixture().await;
    let (kept, squat) = (unique("Kept"), unique("Squat"));
    f.signed_up_and_confirmed(&kept, &format!("{kept}@example.com")).await;
    let squatted = format!("{squat}@example.com");
    assert_eq!(f.sign_up(&squat, &squatted).await.0, 200);
    let records_of = |name: String| {
        let users = f.auth.users.clone();
        async move {
            let scan = scan_table(&users.db, &users.table).await;
            let username = auth::model::username_for(&name);
            scan.items()
                .iter()
                .filter(|i| i.get("username").and_then(|v| v.as_s().ok()) == Some(&username))
                .count()
        }
    };
    assert_eq!(records_of(squat.clone()).await, 1);

    // Younger than the age: listed (Cognito filters the confirmed out), not purged.
    let young = auth::purge_unconfirmed(&f.auth, json!({})).await.unwrap();
    assert_eq!((young.listed, young.purged), (1, 0));

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    f.auth.config.unconfirmed_max_age = std::time::Duration::ZERO;
    let old = auth::purge_unconfirmed(&f.auth, json!({})).await.unwrap();
    assert_eq!((old.listed, old.purged), (1, 1));
    let gone = f.auth.pool.get_user(&auth::model::username_for(&squat)).await;
    assert!(matches!(gone, Err(auth::Error::UserNotFound)), "{gone:?}");
    assert_eq!(
        records_of(squat.clone()).await,
        0,
        "the Users record outlived its Cognito user"
    );
    // The confirmed account is untouched (its record and its email claim): it still signs in.
    assert_eq!(records_of(kept.clone()).await, 2);
    let (s, b) = f
        .call("/sign-in", json!({"fullName": kept, "password": PASSWORD}))
        .await;
    assert_eq!(s, 200, "{b}");
    // The name is free again, and a run with nothing to do does nothing.
    assert_eq!(f.sign_up(&squat, &squatted).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(auth::purge_unconfirmed(&f.auth, json!({})).await.unwrap().purged, 1);
    let none = auth::purge_unconfirmed(&f.auth, json!({})).await.unwrap();
    assert_eq!((none.listed, none.purged), (0, 0));
}

#[tokio::test]
async fn the_totp_challenge_round_trip_works_and_wrong_codes_are_refused() {
    let f = fixture().await;
    let name = unique("Totp User");
    let email = format!("{}@example.com", unique("totp"));
    f.signed_up_and_confirmed(&name, &email).await;
    let (s, b) = f
        .call("/sign-in", json!({"fullName": name, "password": PASSWORD}))
        .await;
    assert_eq!(s, 200, "{b}");
    let access = b["tokens"]["AccessToken"].clone();
    let refresh = b["tokens"]["RefreshToken"].clone();

    let (s, setup) = f.call("/mfa/setup", json!({"accessToken": access})).await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secretCode"].as_str().unwrap().to_owned();
    assert!(setup["otpauthUri"]
        .as_str()
        .unwrap()
        .contains(&format!("secret={secret}")));
    let code = totp_now(&secret).await;
    let (s, b) = f
        .call("/mfa/verify", json!({"accessToken": access, "code": other_code(&code)}))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("CodeMismatch")), "{b}");
    let (s, b) = f
        .call("/mfa/verify", json!({"accessToken": access, "code": code}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["msg"].as_str().unwrap().contains("sign in again"), "{b}");
    // The refresh token of the sign-in without a code is revoked: it cannot mint tokens any more.
    let (s, b) = f.call("/refresh-token", json!({"refreshToken": refresh})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");

    // The password alone now answers a challenge, not tokens.
    let (s, challenged) = f.call("/sign-in", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(s, 200, "{challenged}");
    assert_eq!(challenged["challenge"], "SOFTWARE_TOKEN_MFA");
    assert!(challenged.get("tokens").is_none(), "{challenged}");
    let session = challenged["session"].as_str().unwrap().to_owned();
    let answer = |code: String| json!({"email": email, "session": session, "code": code});
    let code = totp_now(&secret).await;
    let (s, b) = f.call("/mfa/sign-in", answer(other_code(&code))).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("CodeMismatch")), "{b}");
    let (s, signed) = f.call("/mfa/sign-in", answer(code.clone())).await;
    assert_eq!(s, 200, "{signed}");
    assert!(signed["tokens"]["IdToken"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    // A used session is spent.
    let (s, b) = f.call("/mfa/sign-in", answer(code)).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
}

#[tokio::test]
async fn totp_routes_refuse_bad_codes_and_tokens_with_4xx() {
    let f = fixture().await;
    for code in [
        json!("12345"),
        json!("1234567"),
        json!("abcdef"),
        json!(123456),
        json!(""),
    ] {
        let (s, b) = f.call("/mfa/verify", json!({"accessToken": "x", "code": code})).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("InvalidField")), "{code}: {b}");
    }
    let (s, b) = f.call("/mfa/setup", json!({"accessToken": "forged"})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
    let (s, b) = f
        .call("/mfa/verify", json!({"accessToken": "forged", "code": "123456"}))
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
    let (s, b) = f
        .call(
            "/mfa/sign-in",
            json!({"fullName": "Nobody Here", "session": "forged", "code": "123456"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
    let (s, b) = f
        .call("/mfa/sign-in", json!({"fullName": "Nobody Here", "code": "123456"}))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("MissingField")), "{b}");
}

#[tokio::test]
async fn sign_up_through_a_client_that_may_not_write_email_is_refused_as_cognito_refuses_it() {
    // The deployed client lists what SignUp may write; Cognito refuses anything else. The local
    // pool's client gets the stage's list, and the emulator enforces it (moto itself does not).
    let sdk = sdk().await;
    let stage = shop_local::stage::values("local").unwrap();
    let narrow = provision::PoolPolicy {
        write_attributes: vec!["name".into()],
        ..provision::PoolPolicy::from(&stage)
    };
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let sign_up = |pool: provision::UserPool, name: String| {
        let cognito = cognito.clone();
        async move {
            cognito
                .sign_up()
                .client_id(&pool.client_id)
                .secret_hash(pool.secret_hash(&name))
                .username(name)
                .password(PASSWORD)
                .user_attributes(
                    AttributeType::builder()
                        .name("email")
                        .value("ada@example.com")
                        .build()
                        .unwrap(),
                )
                .user_attributes(AttributeType::builder().name("name").value("Ada").build().unwrap())
                .send()
                .await
        }
    };
    let refused = provision::user_pool(&sdk, &unique("pool"), &narrow).await.unwrap();
    let err = sign_up(refused, unique("Ada")).await.unwrap_err();
    let service = err.as_service_error().expect("a Cognito error");
    assert!(service.is_not_authorized_exception(), "{service:?}");
    assert!(format!("{service:?}").contains("unauthorized attribute"), "{service:?}");

    let deployed = provision::user_pool(&sdk, &unique("pool"), &(&stage).into())
        .await
        .unwrap();
    sign_up(deployed, unique("Ada"))
        .await
        .expect("the stage's client may write what sign-up sends");
}

#[tokio::test]
async fn resend_to_an_unconfirmed_user_mails_a_new_code() {
    // The emulator answers ResendConfirmationCode as Cognito does (moto itself lacks it) and keeps
    // the code's email in its outbox.
    let f = fixture().await;
    let mail = email();
    assert_eq!(f.sign_up("Code Again", &mail).await.0, 200);
    let (s, b) = f
        .call("/resend-confirmation-code", json!({"fullName": "Code Again"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let mails = shop_tests::emails_eventually(&mail, |s| s == "Your verification code").await;
    assert!(
        mails.iter().any(|m| m.body.starts_with("Your confirmation code is ")),
        "{:?}",
        mails.iter().map(|m| &m.body).collect::<Vec<_>>()
    );
}

/// The app client has a secret, so its public id alone opens nothing: a direct `SignUp` or
/// `ResendConfirmationCode` on Cognito (around the API and its per-IP limits) is refused without
/// the `SECRET_HASH` only the handlers can compute, while the handlers' own calls go through.
#[tokio::test]
async fn the_public_client_id_alone_cannot_sign_up_or_mail_codes_around_the_api() {
    let f = fixture().await;
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk().await);
    let name = unique("Direct");
    let direct = cognito
        .sign_up()
        .client_id(&f.pool.client_id)
        .username(&name)
        .password(PASSWORD)
        .user_attributes(AttributeType::builder().name("email").value(email()).build().unwrap())
        .send()
        .await;
    let refused = direct.expect_err("a sign-up with the client id alone was accepted");
    assert!(
        refused
            .as_service_error()
            .is_some_and(|e| e.is_not_authorized_exception()),
        "{refused:?}"
    );
    assert!(!f.pool_user_exists(&name).await, "the refused sign-up left a user");

    assert_eq!(f.sign_up("Through Api", &email()).await.0, 200);
    let resend = cognito
        .resend_confirmation_code()
        .client_id(&f.pool.client_id)
        .username("Through_Api")
        .send()
        .await;
    assert!(
        resend
            .as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_not_authorized_exception()),
        "a resend with the client id alone: {resend:?}"
    );
    let wrong = cognito
        .resend_confirmation_code()
        .client_id(&f.pool.client_id)
        .username("Through_Api")
        .secret_hash(f.pool.secret_hash("Someone_Else"))
        .send()
        .await;
    assert!(wrong.is_err(), "a hash of another username was accepted");
    let (s, b) = f
        .call("/resend-confirmation-code", json!({"fullName": "Through Api"}))
        .await;
    assert_eq!(s, 200, "{b}");
}

/// The SECRET_HASH is over the username's UTF-8 bytes, as Cognito computes it: a name in any
/// script signs up, confirms, signs in and refreshes through the client with a secret (the
/// contract fuzzer found a 503 here when the emulator hashed Latin-1, as moto does).
#[tokio::test]
async fn a_name_in_any_script_signs_up_and_signs_in_through_the_secret_client() {
    let f = fixture().await;
    let name = format!("Ωmega 𒇗 {}", unique("x"));
    f.signed_up_and_confirmed(&name, &email()).await;
    let (s, b) = f
        .call("/sign-in", json!({"fullName": name, "password": PASSWORD}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = f
        .call("/refresh-token", json!({"refreshToken": b["tokens"]["RefreshToken"]}))
        .await;
    assert_eq!(s, 200, "{b}");
}
