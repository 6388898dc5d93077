//! The whole backend on the emulator: every resource under one name prefix, the services wired
//! to them, and `.local/stack.json` describing it all.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::declaration::Declaration;
use crate::emulator::Emulator;
use crate::options::Options;
use crate::provision::resources::{self, Bucket, Plan, Resources};
use crate::provision::ProvisionError;

/// Names and ids of every resource, by declared name; written to `.local/stack.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StackInfo {
    pub api_url: String,
    pub emulator_endpoint: String,
    pub region: String,
    /// Where the local Stripe answers (for the front end's Stripe.js); set at every start.
    #[serde(default)]
    pub payment_api_url: String,
    /// Every resource of the stack: the pool, the sender, and maps of tables, streams, buckets,
    /// queues, topics, secrets and workflows by declared name
    /// ([`provision::resources::of_service`]).
    #[serde(flatten)]
    pub resources: Resources,
}

impl StackInfo {
    /// The private image buckets (the CDN stand-in serves their published objects).
    pub fn image_buckets(&self) -> impl Iterator<Item = &str> {
        self.resources.buckets.values().map(|b| b.name.as_str())
    }

    /// The image bucket of `service`, by a declared S3 trigger's name (`images`, its only one).
    pub fn bucket(&self, service: &str, bucket: &str) -> Option<&Bucket> {
        (bucket == "images")
            .then(|| self.resources.image_bucket(service).ok())
            .flatten()
    }

    /// The URL and ARN of a queue a function is triggered by, by its name in the declaration.
    pub fn queue(&self, name: &str) -> Option<(&str, &str)> {
        let q = self.resources.queues.get(name)?;
        Some((&q.url, &q.arn))
    }

    /// The change stream of a table, by its name in the declaration.
    pub fn stream(&self, table: &str) -> Option<&str> {
        self.resources.streams.get(table).map(String::as_str)
    }
}

/// The CloudWatch namespace of a local stack's business metrics (`Shop/<stage>` on AWS).
pub fn metrics_namespace(prefix: &str) -> String {
    format!("Shop/{prefix}")
}

/// Creates every resource of the backend on the emulator: every declared service's, named
/// `<prefix>-<declared name>`.
pub async fn provision(emu: &Emulator, decl: &Declaration, o: &Options) -> Result<StackInfo, ProvisionError> {
    let sdk = emu.sdk_config();
    let name = |x: &str| format!("{}-{x}", o.prefix);
    // A webhook signing secret of this stack's own (the local Stripe signs with it).
    let webhook_secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
    let plan = Plan {
        name: &name,
        sender: &o.email_from,
        pool: &(&o.stage).into(),
        max_receives: o.stage.order_max_receives,
        visibility_timeout_secs: 30,
        workflow_type: o.stage.workflow_type(),
        webhook_secret: &webhook_secret,
    };
    let wanted = resources::of_stack(decl.services.iter().map(|s| s.name.as_str()));
    Ok(StackInfo {
        api_url: String::new(),
        emulator_endpoint: emu.endpoint.clone(),
        region: emu.region.clone(),
        payment_api_url: String::new(),
        resources: resources::provision(&sdk, &wanted, &plan).await?,
    })
}

/// A stack recorded earlier whose user pool still exists in the emulator (kept state). One that
/// lacks a declared resource (recorded by an older runner, or the declaration grew since) is an
/// error naming it: its other resources still hold the names a fresh provisioning would take.
pub async fn existing(emu: &Emulator, decl: &Declaration, path: &Path) -> Result<Option<StackInfo>, ProvisionError> {
    let Some(info) = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<StackInfo>(&text).ok())
    else {
        return Ok(None);
    };
    if info.emulator_endpoint != emu.endpoint {
        return Ok(None);
    }
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&emu.sdk_config());
    let pool = cognito
        .describe_user_pool()
        .user_pool_id(&info.resources.pool.user_pool_id)
        .send()
        .await;
    if pool.is_err() {
        return Ok(None);
    }
    let wanted = resources::of_stack(decl.services.iter().map(|s| s.name.as_str()));
    match info.resources.missing(&wanted) {
        None => Ok(Some(info)),
        Some(r) => Err(ProvisionError {
            what: format!("the stack recorded in {}", path.display()),
            detail: format!("it has no {r:?}; start with --reset to provision afresh"),
        }),
    }
}

/// Writes the stack description for scripts and tests.
pub fn write(info: &StackInfo, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(info).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
