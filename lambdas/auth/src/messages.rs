//! The user pool's CustomMessage trigger: every confirmation-code email names the account it
//! confirms. Account pre-hijacking rests on a code reaching someone who thinks it is for them:
//! with the account's full name and sign-in name in the email, a person who never signed up with
//! that name knows the code is not theirs (docs/api.md, "No pre-hijacking").

use serde_json::Value;

use crate::{Auth, Error};

/// The functions of this service that are triggers of the user pool (`lambdas/services.json`,
/// `"cognito"`).
pub const POOL_TRIGGERS: [&str; 1] = ["custom-message"];

/// The trigger sources whose email carries a sign-up confirmation code.
const CONFIRMATION_SOURCES: [&str; 2] = ["CustomMessage_SignUp", "CustomMessage_ResendCode"];

/// The code placeholder Cognito replaces (the event's `codeParameter`, `{####}` on Cognito).
const DEFAULT_CODE_PARAMETER: &str = "{####}";

/// The EMF count of confirmation-code emails (each one a message from the shop's SES sender:
/// the number to watch beside `SignUps` when sign-up is abused).
pub const CODE_EMAILS: &str = "CodeEmails";

/// Sets the subject and the body of a confirmation-code email, and counts it; every other message
/// (a password reset, an attribute verification) is left to Cognito's template.
pub async fn custom_message(a: &Auth, event: Value) -> Result<Value, Error> {
    let out = with_confirmation_email(event);
    if out
        .get("response")
        .and_then(|r| r.get("emailMessage"))
        .is_some_and(Value::is_string)
    {
        shop_core::metrics::count(&a.config.metrics_namespace, "auth", CODE_EMAILS, 1);
    }
    Ok(out)
}

/// `event` with its `response` set when it is a confirmation-code message.
pub fn with_confirmation_email(mut event: Value) -> Value {
    let source = event
        .get("triggerSource")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !CONFIRMATION_SOURCES.contains(&source.as_str()) {
        return event;
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let request = event.get("request");
    let username = text(event.get("userName"));
    let full_name = text(
        request
            .and_then(|r| r.get("userAttributes"))
            .and_then(|a| a.get("name")),
    );
    let code = request
        .and_then(|r| r.get("codeParameter"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_CODE_PARAMETER)
        .to_owned();
    let (subject, body) = confirmation_email(&full_name, &username, &code);
    if let Some(fields) = event.as_object_mut() {
        let mut response = serde_json::Map::new();
        response.insert("emailSubject".into(), Value::String(subject));
        response.insert("emailMessage".into(), Value::String(body));
        response.insert("smsMessage".into(), Value::Null);
        fields.insert("response".into(), Value::Object(response));
    }
    tracing::info!(source = %source, "confirmation email names its account");
    event
}

/// The subject and HTML body of the email that carries `code` for the account `username`
/// (`full_name` as the person typed it, escaped: it is theirs, not ours).
pub fn confirmation_email(full_name: &str, username: &str, code: &str) -> (String, String) {
    let name = if full_name.is_empty() { username } else { full_name };
    let body = format!(
        "Hello,<br><br>Your code <b>{code}</b> confirms the Shop account of <b>{name}</b> (sign-in name {username}), \
         signed up with this email address.<br><br>Not you? If you did not sign up with this name, do not use the code \
         and do not pass it on: someone else typed your address. Do nothing and that sign-up is removed within a day; \
         to open your own account, sign up with your own name.",
        name = escape(name),
        username = escape(username),
    );
    ("Your Shop confirmation code".to_owned(), body)
}

/// Text made safe inside HTML: the five characters that could start markup or end an attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(source: &str, name: &str) -> Value {
        json!({
            "version": "1", "triggerSource": source, "region": "r", "userPoolId": "p",
            "userName": "Ada_Lovelace", "callerContext": {"awsSdkVersion": "x", "clientId": "c"},
            "request": {"userAttributes": {"name": name, "email": "ada@example.com"}, "codeParameter": "{####}"},
            "response": {"smsMessage": null, "emailMessage": null, "emailSubject": null}
        })
    }

    #[test]
    fn a_confirmation_code_email_names_the_account_it_confirms() {
        for source in CONFIRMATION_SOURCES {
            let out = with_confirmation_email(event(source, "Ada Lovelace"));
            let body = out["response"]["emailMessage"].as_str().unwrap();
            assert!(body.contains("{####}"), "Cognito needs the code placeholder: {body}");
            assert!(
                body.contains("<b>Ada Lovelace</b>") && body.contains("Ada_Lovelace"),
                "{body}"
            );
            assert_eq!(out["response"]["emailSubject"], "Your Shop confirmation code");
            assert_eq!(
                out["userName"], "Ada_Lovelace",
                "the rest of the event goes back as it came"
            );
        }
    }

    #[test]
    fn a_name_cannot_put_markup_into_the_email() {
        let out = with_confirmation_email(event("CustomMessage_SignUp", "<a href=\"https://evil\">Bank</a> & Co"));
        let body = out["response"]["emailMessage"].as_str().unwrap();
        assert!(!body.contains("<a "), "{body}");
        assert!(
            body.contains("&lt;a href=&quot;https://evil&quot;&gt;Bank&lt;/a&gt; &amp; Co"),
            "{body}"
        );
    }

    #[test]
    fn other_messages_and_odd_events_are_left_to_cognito() {
        let reset = event("CustomMessage_ForgotPassword", "Ada");
        assert_eq!(with_confirmation_email(reset.clone()), reset);
        assert_eq!(with_confirmation_email(json!("not an object")), json!("not an object"));
        // No request at all: the username stands in for the name, the placeholder is Cognito's.
        let bare = with_confirmation_email(json!({"triggerSource": "CustomMessage_ResendCode", "userName": "Bo"}));
        let body = bare["response"]["emailMessage"].as_str().unwrap();
        assert!(body.contains("<b>Bo</b>") && body.contains("{####}"), "{body}");
    }
}
