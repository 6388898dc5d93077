//! The backend's resources by declared name: what each service's stack holds, provisioned by one
//! function for the local runner (every service, the stack's names) and for the tests (one
//! service, unique names), and what a provisioned set is called, as maps keyed by declared name.
//! A new table, bucket, queue or topic is one line in [`of_service`].

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

use super::{fail, PoolPolicy, ProvisionError, UserPool};

/// One resource of a service's stack, by its declared name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A table of `lambdas/tables.json`, with its change stream when one is declared.
    Table(&'static str),
    /// A service's private image bucket (its declared S3 trigger's `images`), with the queue its
    /// upload events go to.
    ImageBucket(&'static str),
    /// A work queue with its dead-letter queue.
    WorkQueue(&'static str),
    /// A queue (the on-failure destination of asynchronous invocations).
    Queue(&'static str),
    Topic(&'static str),
    /// The verified SES sender.
    Sender,
    /// The user pool and its app client.
    UserPool,
    /// The payment provider's secret, as the platform team stores it per stage.
    PaymentSecret,
    /// The order workflow, wired to the products and orders tables, the sender and the alerts
    /// topic (which come before it).
    OrderWorkflow,
}

/// What the stack of `service` holds, in creation order, shared ones included (the order
/// service reads the products table; categories and products report to one cleanup topic).
pub fn of_service(service: &str) -> &'static [Resource] {
    use Resource::*;
    match service {
        "auth" => &[Table("users"), UserPool],
        "banner" => &[Table("banners"), ImageBucket("banner")],
        "category" => &[Table("categories"), ImageBucket("category"), Topic("cleanup")],
        "product" => &[Table("products"), ImageBucket("product"), Topic("cleanup"), Sender],
        "order" => &[
            Table("products"),
            Table("orders"),
            WorkQueue("orders"),
            Topic("alerts"),
            Sender,
            PaymentSecret,
            OrderWorkflow,
        ],
        _ => &[],
    }
}

/// The whole backend: every service's resources once, then the stacks' on-failure queue.
pub fn of_stack<'a>(services: impl IntoIterator<Item = &'a str>) -> Vec<Resource> {
    let mut all: Vec<Resource> = Vec::new();
    for r in services
        .into_iter()
        .flat_map(of_service)
        .chain(&[Resource::Queue(ASYNC_FAILURES)])
    {
        if !all.contains(r) {
            all.push(*r);
        }
    }
    all
}

/// How resources are named and set up: the runner names them `<prefix>-<name>` with the stage's
/// values; the tests give them unique names and shorter timeouts.
pub struct Plan<'a> {
    /// The name of the resource declared as the argument (`orders`, `banner-images`, ...).
    pub name: &'a (dyn Fn(&str) -> String + Sync),
    pub sender: &'a str,
    pub pool: &'a PoolPolicy,
    /// Receives of a work queue's message before it moves to the dead-letter queue.
    pub max_receives: u32,
    pub visibility_timeout_secs: u32,
    pub workflow_type: aws_sdk_sfn::types::StateMachineType,
    /// The webhook signing secret stored with the payment provider's key.
    pub webhook_secret: &'a str,
}

/// A provisioned image bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub name: String,
    /// The URL of the queue its upload events go to.
    pub events_queue: String,
}

/// A provisioned queue.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub url: String,
    pub arn: String,
    /// A work queue's dead-letter queue URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq_url: Option<String>,
}

/// What provisioned resources are called, by declared name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// The user pool and its app client.
    #[serde(flatten)]
    pub pool: UserPool,
    #[serde(default)]
    pub email_from: String,
    /// Table name by declared table.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Change stream ARN by declared table.
    #[serde(default)]
    pub streams: BTreeMap<String, String>,
    /// Image bucket by service.
    #[serde(default)]
    pub buckets: BTreeMap<String, Bucket>,
    #[serde(default)]
    pub queues: BTreeMap<String, Queue>,
    /// Topic ARN by name.
    #[serde(default)]
    pub topics: BTreeMap<String, String>,
    /// Secret ARN by name.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// State machine ARN by name.
    #[serde(default)]
    pub workflows: BTreeMap<String, String>,
}

fn named<'a, T>(map: &'a BTreeMap<String, T>, kind: &str, name: &str) -> Result<&'a T, ProvisionError> {
    map.get(name)
        .ok_or_else(|| fail(format!("{kind} {name}"), "not provisioned in this stack"))
}

impl Resources {
    pub fn table(&self, name: &str) -> Result<&str, ProvisionError> {
        named(&self.tables, "table", name).map(String::as_str)
    }

    pub fn stream(&self, table: &str) -> Result<&str, ProvisionError> {
        named(&self.streams, "stream of table", table).map(String::as_str)
    }

    /// The image bucket of `service`.
    pub fn bucket(&self, service: &str) -> Result<&Bucket, ProvisionError> {
        named(&self.buckets, "image bucket of", service)
    }

    pub fn queue(&self, name: &str) -> Result<&Queue, ProvisionError> {
        named(&self.queues, "queue", name)
    }

    pub fn topic(&self, name: &str) -> Result<&str, ProvisionError> {
        named(&self.topics, "topic", name).map(String::as_str)
    }

    pub fn secret(&self, name: &str) -> Result<&str, ProvisionError> {
        named(&self.secrets, "secret", name).map(String::as_str)
    }

    pub fn workflow(&self, name: &str) -> Result<&str, ProvisionError> {
        named(&self.workflows, "workflow", name).map(String::as_str)
    }
}

/// The declared names of the payment provider's secret and of the order workflow.
pub const PAYMENT_SECRET: &str = "payment-provider";
pub const ORDER_WORKFLOW: &str = "order-processing";
/// The declared name of the stack's on-failure queue.
pub const ASYNC_FAILURES: &str = "async-failures";

/// Creates `wanted` (in order) on the emulator as `plan` names and sets them up.
pub async fn provision(sdk: &SdkConfig, wanted: &[Resource], plan: &Plan<'_>) -> Result<Resources, ProvisionError> {
    let n = plan.name;
    let mut r = Resources::default();
    for resource in wanted {
        match *resource {
            Resource::Table(t) => {
                let name = n(t);
                if let Some(stream) = super::table(sdk, &name, &super::declared_table(t)?).await? {
                    r.streams.insert(t.to_owned(), stream);
                }
                r.tables.insert(t.to_owned(), name);
            }
            Resource::ImageBucket(service) => {
                let name = n(&format!("{service}-images"));
                let events_queue = super::image_bucket(sdk, &name, &n(&format!("{service}-image-events"))).await?;
                r.buckets.insert(service.to_owned(), Bucket { name, events_queue });
            }
            Resource::WorkQueue(q) => {
                let (url, arn, dlq) =
                    super::queue_with_dlq(sdk, &n(q), plan.max_receives, plan.visibility_timeout_secs).await?;
                let dlq_url = Some(dlq);
                r.queues.insert(q.to_owned(), Queue { url, arn, dlq_url });
            }
            Resource::Queue(q) => {
                let (url, arn) = super::queue(sdk, &n(q)).await?;
                r.queues.insert(
                    q.to_owned(),
                    Queue {
                        url,
                        arn,
                        dlq_url: None,
                    },
                );
            }
            Resource::Topic(t) => {
                r.topics.insert(t.to_owned(), super::topic(sdk, &n(t)).await?);
            }
            Resource::Sender => {
                super::email_identity(sdk, plan.sender).await?;
                r.email_from = plan.sender.to_owned();
            }
            Resource::UserPool => {
                r.pool = super::user_pool(sdk, &n("users"), plan.pool).await?;
            }
            Resource::PaymentSecret => {
                let arn =
                    super::payment_secret(sdk, &n(PAYMENT_SECRET), crate::stripe::API_KEY, plan.webhook_secret).await?;
                r.secrets.insert(PAYMENT_SECRET.to_owned(), arn);
            }
            Resource::OrderWorkflow => {
                let wiring = super::OrderWorkflow {
                    products_table: r.table("products")?,
                    orders_table: r.table("orders")?,
                    sender: plan.sender,
                    alerts_topic_arn: r.topic("alerts")?,
                };
                let arn = super::order_workflow(sdk, &n(ORDER_WORKFLOW), &wiring, plan.workflow_type.clone()).await?;
                r.workflows.insert(ORDER_WORKFLOW.to_owned(), arn);
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_holds_each_declared_resource_once_and_each_service_what_it_uses() {
        let all = of_stack(["auth", "banner", "category", "product", "order"]);
        let tables: Vec<_> = all
            .iter()
            .filter_map(|r| match r {
                Resource::Table(t) => Some(*t),
                _ => None,
            })
            .collect();
        assert_eq!(tables, ["users", "banners", "categories", "products", "orders"]);
        assert_eq!(all.iter().filter(|r| **r == Resource::Topic("cleanup")).count(), 1);
        assert_eq!(all.last(), Some(&Resource::Queue(ASYNC_FAILURES)));
        // The workflow comes after everything it is wired to.
        let at = |x: Resource| all.iter().position(|r| *r == x).unwrap();
        for before in [
            Resource::Table("products"),
            Resource::Table("orders"),
            Resource::Topic("alerts"),
            Resource::Sender,
        ] {
            assert!(at(before) < at(Resource::OrderWorkflow), "{before:?}");
        }
        // Every declared table belongs to a service.
        for t in super::super::tables::declared() {
            assert!(
                tables.contains(&t.name.as_str()),
                "table {} is provisioned by no service",
                t.name
            );
        }
        assert!(of_service("nobody").is_empty());
    }
}
