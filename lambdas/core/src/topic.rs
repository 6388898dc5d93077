//! An SNS topic as a store: its client and ARN. The cleanup notices and the operations alerts
//! are each one.

use crate::error::Upstream;

#[derive(Clone, Debug)]
pub struct Topic {
    sns: aws_sdk_sns::Client,
    arn: String,
}

impl Topic {
    pub fn new(sns: aws_sdk_sns::Client, arn: impl Into<String>) -> Self {
        Self { sns, arn: arn.into() }
    }

    /// Publishes one message with its subject.
    pub async fn publish(&self, subject: &str, message: &str) -> Result<(), Upstream> {
        self.sns
            .publish()
            .topic_arn(&self.arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| Upstream::new(crate::error::service::SNS, e))?;
        Ok(())
    }
}
