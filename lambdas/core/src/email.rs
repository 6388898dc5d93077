//! Plain-text email through SES v2, for every service that notifies a person.

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::error::Upstream;

/// A verified SES sender: its client and address.
#[derive(Clone, Debug)]
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    from: String,
}

impl Mailer {
    pub fn new(ses: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self { ses, from: from.into() }
    }

    /// Sends one plain-text email.
    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), Upstream> {
        let content = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(|e| Upstream::internal(crate::error::service::SES, e.to_string()))
        };
        let message = Message::builder()
            .subject(content(subject)?)
            .body(Body::builder().text(content(text)?).build())
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| Upstream::new(crate::error::service::SES, e))?;
        Ok(())
    }
}
