//! Creates the backend's resources on the emulator, as the CDK app declares them on AWS.
//!
//! Tests call these with unique names so they can run in parallel; the local runner calls them
//! once with the stack's names.

use aws_config::SdkConfig;

mod pool;
pub mod resources;
mod tables;

pub use pool::{user_pool, PoolPolicy, UserPool};
pub use resources::{Resource, Resources};

pub use tables::{declared_table, table, Index, Projection, TableSpec, TABLES_JSON};

#[derive(Debug, thiserror::Error)]
#[error("provisioning {what} failed: {detail}")]
pub struct ProvisionError {
    pub what: String,
    pub detail: String,
}

pub(crate) fn fail(what: impl Into<String>, e: impl std::fmt::Debug) -> ProvisionError {
    ProvisionError {
        what: what.into(),
        detail: format!("{e:?}").chars().take(500).collect(),
    }
}

/// What a create call answered, by `id`: its failure, or an answer without it, names `what`.
pub(crate) fn created<O, E: std::fmt::Debug, T>(
    what: String,
    answer: Result<O, E>,
    id: impl FnOnce(O) -> Option<T>,
) -> Result<T, ProvisionError> {
    let out = answer.map_err(|e| fail(what.clone(), e))?;
    id(out).ok_or_else(|| fail(what, "no id in the answer"))
}

/// A queue; answers its URL and ARN.
pub async fn queue(sdk: &SdkConfig, name: &str) -> Result<(String, String), ProvisionError> {
    let sent = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name)
        .send()
        .await;
    let url = created(format!("queue {name}"), sent, |o| o.queue_url)?;
    let arn = queue_arn(sdk, &url).await?;
    Ok((url, arn))
}

async fn queue_arn(sdk: &SdkConfig, url: &str) -> Result<String, ProvisionError> {
    let attrs = aws_sdk_sqs::Client::new(sdk)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| fail("queue arn", e))?;
    attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| fail("queue arn", "missing"))
}

/// A private image bucket whose `ObjectCreated` notifications of uploads (keys under
/// [`shop_core::images::UPLOADS`]) go to a new queue (how the local stack turns uploads into S3
/// events), with the CDK bucket's lifecycle rule (the emulator keeps it but never expires
/// anything). Answers the queue URL.
pub async fn image_bucket(sdk: &SdkConfig, bucket: &str, events_queue: &str) -> Result<String, ProvisionError> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, Event, ExpirationStatus, FilterRule, FilterRuleName, LifecycleExpiration,
        LifecycleRule, LifecycleRuleFilter, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    use shop_core::images::UPLOADS;
    let s3 = aws_sdk_s3::Client::new(sdk);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| fail(format!("bucket {bucket}"), e))?;
    let (url, arn) = queue(sdk, events_queue).await?;
    let notification = NotificationConfiguration::builder()
        .queue_configurations(
            QueueConfiguration::builder()
                .queue_arn(arn)
                .events(Event::from("s3:ObjectCreated:*"))
                .filter(
                    NotificationConfigurationFilter::builder()
                        .key(
                            S3KeyFilter::builder()
                                .filter_rules(
                                    FilterRule::builder()
                                        .name(FilterRuleName::Prefix)
                                        .value(UPLOADS)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
                .map_err(|e| fail("bucket notification", e))?,
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(notification)
        .send()
        .await
        .map_err(|e| fail("bucket notification", e))?;
    let expire_uploads = LifecycleRule::builder()
        .id("expire-unpublished-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(UPLOADS).build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .map_err(|e| fail("bucket lifecycle", e))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(expire_uploads)
                .build()
                .map_err(|e| fail("bucket lifecycle", e))?,
        )
        .send()
        .await
        .map_err(|e| fail("bucket lifecycle", e))?;
    Ok(url)
}

/// An SNS topic; answers its ARN.
pub async fn topic(sdk: &SdkConfig, name: &str) -> Result<String, ProvisionError> {
    let sent = aws_sdk_sns::Client::new(sdk).create_topic().name(name).send().await;
    created(format!("topic {name}"), sent, |o| o.topic_arn)
}

/// A queue subscribed (raw delivery) to `topic_arn`, to observe what the topic publishes.
pub async fn topic_listener(sdk: &SdkConfig, topic_arn: &str, name: &str) -> Result<String, ProvisionError> {
    let (url, arn) = queue(sdk, name).await?;
    aws_sdk_sns::Client::new(sdk)
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .map_err(|e| fail("topic subscription", e))?;
    Ok(url)
}

/// A verified SES sender identity.
pub async fn email_identity(sdk: &SdkConfig, address: &str) -> Result<(), ProvisionError> {
    aws_sdk_sesv2::Client::new(sdk)
        .create_email_identity()
        .email_identity(address)
        .send()
        .await
        .map_err(|e| fail(format!("email identity {address}"), e))?;
    Ok(())
}

/// The payment provider's secret as the platform team stores it per stage (Secrets Manager, JSON
/// `{"apiKey", "webhookSecret"}`); answers its ARN.
pub async fn payment_secret(
    sdk: &SdkConfig,
    name: &str,
    api_key: &str,
    webhook_secret: &str,
) -> Result<String, ProvisionError> {
    let value = serde_json::json!({ "apiKey": api_key, "webhookSecret": webhook_secret }).to_string();
    let sent = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    created(format!("secret {name}"), sent, |o| o.arn)
}

/// A work queue with its dead-letter queue `dlq`: a message received `max_receives` times without
/// being deleted moves to the DLQ. Answers (queue URL, queue ARN, DLQ URL).
pub async fn queue_with_dlq(
    sdk: &SdkConfig,
    name: &str,
    dlq: &str,
    max_receives: u32,
    visibility_timeout_secs: u32,
) -> Result<(String, String, String), ProvisionError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let (dlq_url, dlq_arn) = queue(sdk, dlq).await?;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}).to_string();
    let sent = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_timeout_secs.to_string(),
        )
        .send()
        .await;
    let url = created(format!("queue {name}"), sent, |o| o.queue_url)?;
    let arn = queue_arn(sdk, &url).await?;
    Ok((url, arn, dlq_url))
}

/// Fills `${Name}` placeholders of an ASL template, as CDK's `definitionSubstitutions` does.
/// A placeholder left without a value is an error.
pub fn render_asl(template: &str, values: &[(&str, &str)]) -> Result<String, ProvisionError> {
    let mut out = template.to_owned();
    for (k, v) in values {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    match out.find("${") {
        Some(i) => Err(fail(
            "state machine definition",
            format!("no value for {}", &out[i..(i + 40).min(out.len())]),
        )),
        None => Ok(out),
    }
}

/// The account id the emulator uses, read from any ARN it issued.
pub fn account_of(arn: &str) -> Result<&str, ProvisionError> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| fail("account id", format!("not an ARN: {arn}")))
}

/// A state machine from an ASL definition, Standard or Express (the stage default); answers its ARN.
pub async fn state_machine(
    sdk: &SdkConfig,
    name: &str,
    definition: &str,
    account: &str,
    kind: aws_sdk_sfn::types::StateMachineType,
) -> Result<String, ProvisionError> {
    let role = format!("arn:aws:iam::{account}:role/{name}-role");
    let out = aws_sdk_sfn::Client::new(sdk)
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(role)
        .r#type(kind)
        .send()
        .await
        .map_err(|e| fail(format!("state machine {name}"), e))?;
    Ok(out.state_machine_arn().to_owned())
}

/// The order-processing workflow, as the CDK app deploys it.
pub const ORDER_ASL: &str = include_str!("../../stepfunctions/order-processing.asl.json");

/// What the order workflow is wired to (the CDK app's `definitionSubstitutions`).
#[derive(Debug, Clone, Copy)]
pub struct OrderWorkflow<'a> {
    pub products_table: &'a str,
    pub orders_table: &'a str,
    pub sender: &'a str,
    pub alerts_topic_arn: &'a str,
}

/// The order workflow ([`ORDER_ASL`]) wired to `w`, as the state machine `name` of `kind`;
/// answers its ARN.
pub async fn order_workflow(
    sdk: &SdkConfig,
    name: &str,
    w: &OrderWorkflow<'_>,
    kind: aws_sdk_sfn::types::StateMachineType,
) -> Result<String, ProvisionError> {
    let definition = render_asl(
        ORDER_ASL,
        &[
            ("ProductsTable", w.products_table),
            ("OrdersTable", w.orders_table),
            ("Sender", w.sender),
            ("AlertsTopicArn", w.alerts_topic_arn),
        ],
    )?;
    let account = account_of(w.alerts_topic_arn)?.to_owned();
    state_machine(sdk, name, &definition, &account, kind).await
}
