//! The backend's resources by declared name (`lambdas/resources.json`): what each service's stack
//! holds, provisioned by one function for the local runner (every service, the stack's names) and
//! for the tests (one service, unique names), and what a provisioned set is called, as maps keyed
//! by declared name. A new table, bucket, queue or topic is one line in the declaration (and its
//! wiring into the service's configuration).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

use super::{fail, PoolPolicy, ProvisionError, UserPool};

/// The declaration, compiled in.
pub const RESOURCES_JSON: &str = include_str!("../../../lambdas/resources.json");

/// One resource of a service's stack, as declared (the CDK logical ids are the least-privilege
/// check's and the infra tests' business).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Resource {
    /// A table of `lambdas/tables.json`, with its change stream when one is declared.
    Table {
        name: String,
    },
    /// The user pool and its app client.
    UserPool {
        name: String,
    },
    /// A service's private image bucket (its declared S3 trigger's `images`), with the queue its
    /// upload events go to.
    ImageBucket {
        name: String,
        events: String,
    },
    /// A work queue with its dead-letter queue.
    WorkQueue {
        name: String,
        dlq: String,
    },
    /// A queue (the on-failure destination of asynchronous invocations).
    Queue {
        name: String,
    },
    Topic {
        name: String,
    },
    /// The verified SES sender.
    Sender,
    /// The payment provider's secret, as the platform team stores it per stage.
    PaymentSecret {
        name: String,
    },
    /// The order workflow, wired to the products and orders tables, the sender and the alerts
    /// topic (which come before it).
    OrderWorkflow {
        name: String,
    },
}

#[derive(Deserialize)]
struct Declaration {
    services: BTreeMap<String, Vec<Resource>>,
    stack: Vec<Resource>,
}

/// The declaration, parsed once. A malformed one is a build-time mistake (the unit test below
/// parses it) and reads as declaring nothing.
fn declaration() -> &'static Declaration {
    static PARSED: LazyLock<Declaration> = LazyLock::new(|| {
        serde_json::from_str(RESOURCES_JSON).unwrap_or(Declaration {
            services: BTreeMap::new(),
            stack: Vec::new(),
        })
    });
    &PARSED
}

/// What the stack of `service` holds, in creation order, shared ones included (the order
/// service reads the products table; categories and products report to one cleanup topic).
pub fn of_service(service: &str) -> &'static [Resource] {
    declaration().services.get(service).map_or(&[], Vec::as_slice)
}

/// The whole backend: every service's resources once, then the stacks' own (the on-failure queue).
pub fn of_stack<'a>(services: impl IntoIterator<Item = &'a str>) -> Vec<Resource> {
    let mut all: Vec<Resource> = Vec::new();
    let wanted = services.into_iter().flat_map(of_service);
    for r in wanted.chain(&declaration().stack) {
        if !all.contains(r) {
            all.push(r.clone());
        }
    }
    all
}

/// The declared name of the image bucket of `service`.
fn image_bucket_of(service: &str) -> Option<&'static str> {
    of_service(service).iter().find_map(|r| match r {
        Resource::ImageBucket { name, .. } => Some(name.as_str()),
        _ => None,
    })
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
    /// Image bucket by declared name.
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
    /// The first of `wanted` this set does not hold.
    pub fn missing<'a>(&self, wanted: &'a [Resource]) -> Option<&'a Resource> {
        wanted.iter().find(|r| !self.holds(r))
    }

    fn holds(&self, r: &Resource) -> bool {
        match r {
            Resource::Table { name } => self.tables.contains_key(name),
            Resource::UserPool { .. } => !self.pool.user_pool_id.is_empty(),
            Resource::ImageBucket { name, .. } => self.buckets.contains_key(name),
            Resource::WorkQueue { name, .. } | Resource::Queue { name } => self.queues.contains_key(name),
            Resource::Topic { name } => self.topics.contains_key(name),
            Resource::Sender => !self.email_from.is_empty(),
            Resource::PaymentSecret { name } => self.secrets.contains_key(name),
            Resource::OrderWorkflow { name } => self.workflows.contains_key(name),
        }
    }

    pub fn table(&self, name: &str) -> Result<&str, ProvisionError> {
        named(&self.tables, "table", name).map(String::as_str)
    }

    pub fn stream(&self, table: &str) -> Result<&str, ProvisionError> {
        named(&self.streams, "stream of table", table).map(String::as_str)
    }

    /// The image bucket of `service` (the one its declared S3 trigger's `images` names).
    pub fn image_bucket(&self, service: &str) -> Result<&Bucket, ProvisionError> {
        let name =
            image_bucket_of(service).ok_or_else(|| fail(format!("image bucket of {service}"), "not declared"))?;
        named(&self.buckets, "bucket", name)
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

/// The declared names of the payment provider's secret, of the order workflow and of the stack's
/// on-failure queue (which the configuration and the runner look up).
pub const PAYMENT_SECRET: &str = "payment-provider";
pub const ORDER_WORKFLOW: &str = "order-processing";
pub const ASYNC_FAILURES: &str = "async-failures";

/// Creates `wanted` (in order) on the emulator as `plan` names and sets them up.
pub async fn provision(sdk: &SdkConfig, wanted: &[Resource], plan: &Plan<'_>) -> Result<Resources, ProvisionError> {
    let n = plan.name;
    let mut r = Resources::default();
    for resource in wanted {
        match resource {
            Resource::Table { name: t } => {
                let name = n(t);
                if let Some(stream) = super::table(sdk, &name, &super::declared_table(t)?).await? {
                    r.streams.insert(t.clone(), stream);
                }
                r.tables.insert(t.clone(), name);
            }
            Resource::UserPool { name } => r.pool = super::user_pool(sdk, &n(name), plan.pool).await?,
            Resource::ImageBucket { name, events } => {
                let bucket = n(name);
                let events_queue = super::image_bucket(sdk, &bucket, &n(events)).await?;
                r.buckets.insert(
                    name.clone(),
                    Bucket {
                        name: bucket,
                        events_queue,
                    },
                );
            }
            Resource::WorkQueue { name, dlq } => {
                let (url, arn, dlq) =
                    super::queue_with_dlq(sdk, &n(name), &n(dlq), plan.max_receives, plan.visibility_timeout_secs)
                        .await?;
                let dlq_url = Some(dlq);
                r.queues.insert(name.clone(), Queue { url, arn, dlq_url });
            }
            Resource::Queue { name } => {
                let (url, arn) = super::queue(sdk, &n(name)).await?;
                r.queues.insert(
                    name.clone(),
                    Queue {
                        url,
                        arn,
                        dlq_url: None,
                    },
                );
            }
            Resource::Topic { name } => {
                r.topics.insert(name.clone(), super::topic(sdk, &n(name)).await?);
            }
            Resource::Sender => {
                super::email_identity(sdk, plan.sender).await?;
                r.email_from = plan.sender.to_owned();
            }
            Resource::PaymentSecret { name } => {
                let key = crate::stripe::API_KEY;
                let arn = super::payment_secret(sdk, &n(name), key, plan.webhook_secret).await?;
                r.secrets.insert(name.clone(), arn);
            }
            Resource::OrderWorkflow { name } => {
                let wiring = super::OrderWorkflow {
                    products_table: r.table("products")?,
                    orders_table: r.table("orders")?,
                    sender: plan.sender,
                    alerts_topic_arn: r.topic("alerts")?,
                };
                let arn = super::order_workflow(sdk, &n(name), &wiring, plan.workflow_type.clone()).await?;
                r.workflows.insert(name.clone(), arn);
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
        let d: Declaration = serde_json::from_str(RESOURCES_JSON).unwrap();
        let services: Vec<&str> = d.services.keys().map(String::as_str).collect();
        assert_eq!(services, ["auth", "banner", "category", "order", "product"]);
        let all = of_stack(["auth", "banner", "category", "product", "order"]);
        let tables: Vec<&str> = all
            .iter()
            .filter_map(|r| match r {
                Resource::Table { name } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(tables, ["users", "banners", "categories", "products", "orders"]);
        let cleanup = Resource::Topic { name: "cleanup".into() };
        assert_eq!(all.iter().filter(|r| **r == cleanup).count(), 1);
        assert_eq!(
            all.last(),
            Some(&Resource::Queue {
                name: ASYNC_FAILURES.into()
            })
        );
        // The workflow comes after everything it is wired to, in the one service that has it.
        let at = |x: &Resource| all.iter().position(|r| r == x).unwrap();
        let workflow = Resource::OrderWorkflow {
            name: ORDER_WORKFLOW.into(),
        };
        for before in [
            Resource::Table {
                name: "products".into(),
            },
            Resource::Table { name: "orders".into() },
            Resource::Topic { name: "alerts".into() },
            Resource::Sender,
        ] {
            assert!(at(&before) < at(&workflow), "{before:?}");
        }
        assert!(of_service("order").contains(&Resource::PaymentSecret {
            name: PAYMENT_SECRET.into()
        }));
        // Every declared table belongs to a service; every service with an image trigger has a bucket.
        for t in super::super::tables::declared() {
            assert!(
                tables.contains(&t.name.as_str()),
                "table {} is provisioned by no service",
                t.name
            );
        }
        for s in ["banner", "category", "product"] {
            assert_eq!(image_bucket_of(s), Some(format!("{s}-images").as_str()));
        }
        assert!(of_service("nobody").is_empty());
    }

    #[test]
    fn a_recorded_stack_without_a_declared_resource_says_which() {
        let wanted = of_service("banner");
        let mut r = Resources::default();
        assert_eq!(r.missing(wanted), Some(&Resource::Table { name: "banners".into() }));
        r.tables.insert("banners".into(), "p-banners".into());
        assert!(matches!(r.missing(wanted), Some(Resource::ImageBucket { .. })));
        r.buckets.insert("banner-images".into(), Bucket::default());
        assert_eq!(r.missing(wanted), None);
        // A stack.json of the older shape (fields, not maps) reads as a set that holds nothing.
        let old: Resources = serde_json::from_str(r#"{"userPoolId": "p", "bannersTable": "t"}"#).unwrap();
        assert!(old.missing(wanted).is_some());
    }
}
