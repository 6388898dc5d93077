//! The whole backend on the emulator: every resource under one name prefix, the services wired
//! to them, and `.local/stack.json` describing it all.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::emulator::Emulator;
use crate::provision::{self, ProvisionError};

/// Names and ids of every resource; written to `.local/stack.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StackInfo {
    pub api_url: String,
    pub emulator_endpoint: String,
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    pub email_from: String,
    pub users_table: String,
    pub banners_table: String,
    pub categories_table: String,
    pub products_table: String,
    pub orders_table: String,
    pub banner_bucket: String,
    pub category_bucket: String,
    pub product_bucket: String,
    pub banner_events_queue: String,
    pub category_events_queue: String,
    pub product_events_queue: String,
    pub order_queue: String,
    pub order_queue_arn: String,
    pub order_dlq: String,
    pub cleanup_topic_arn: String,
    pub alerts_topic_arn: String,
    pub state_machine_arn: String,
    /// The Orders table's change stream (feeds `order/status-changed`).
    #[serde(default)]
    pub orders_stream_arn: String,
    /// The payment provider's secret (Secrets Manager), as the platform team stores it per stage.
    #[serde(default)]
    pub payment_secret_arn: String,
    /// Where the local Stripe answers (for the front end's Stripe.js); set at every start.
    #[serde(default)]
    pub payment_api_url: String,
    /// The on-failure destination of asynchronous invocations (S3 events, schedules) and of stream
    /// batches that kept failing, as each service stack's `AsyncFailures` queue on AWS.
    #[serde(default)]
    pub async_failures_queue: String,
}

impl StackInfo {
    /// The private image buckets (the CDN stand-in serves their published objects).
    pub fn image_buckets(&self) -> impl Iterator<Item = &str> {
        [&self.banner_bucket, &self.category_bucket, &self.product_bucket]
            .into_iter()
            .map(String::as_str)
    }

    /// The bucket `bucket` (a declared S3 trigger's name: `images`) of `service`.
    pub fn bucket(&self, service: &str, bucket: &str) -> Option<&str> {
        if bucket != "images" {
            return None;
        }
        match service {
            "banner" => Some(&self.banner_bucket),
            "category" => Some(&self.category_bucket),
            "product" => Some(&self.product_bucket),
            _ => None,
        }
    }

    /// The queue the bucket `bucket` (a declared S3 trigger's name: `images`, the service's image
    /// bucket) of `service` sends its object-created notifications to.
    pub fn events_queue(&self, service: &str, bucket: &str) -> Option<&str> {
        if bucket != "images" {
            return None;
        }
        match service {
            "banner" => Some(&self.banner_events_queue),
            "category" => Some(&self.category_events_queue),
            "product" => Some(&self.product_events_queue),
            _ => None,
        }
    }

    /// The URL and ARN of a queue a function is triggered by, by its name in the declaration.
    pub fn queue(&self, name: &str) -> Option<(&str, &str)> {
        (name == "orders").then_some((&self.order_queue, &self.order_queue_arn))
    }

    /// The change stream of a table, by its name in the declaration.
    pub fn stream(&self, table: &str) -> Option<&str> {
        (table == "orders").then_some(&self.orders_stream_arn)
    }
}

/// The CloudWatch namespace of a local stack's business metrics (`Shop/<stage>` on AWS).
pub fn metrics_namespace(prefix: &str) -> String {
    format!("Shop/{prefix}")
}

/// Local settings that on AWS come from the stage configuration.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub prefix: String,
    pub api_url: String,
    pub email_from: String,
    pub cleanup_max_age: Duration,
    pub reconcile_after: Duration,
    pub order_max_receives: u32,
    /// The largest image upload accepted (the stage's `uploadMaxBytes`).
    pub upload_max_bytes: u64,
    /// Lifetime of upload and review URLs.
    pub upload_url_expires: Duration,
    /// Age at which a sign-up never confirmed is purged.
    pub unconfirmed_max_age: Duration,
    /// The most lines one order may hold.
    pub max_order_lines: usize,
    /// An order without a payment method is taken unpaid (the stage's `allowUnpaidOrders`).
    pub allow_unpaid: bool,
    /// Age after which the reconciler moves money the stream left open.
    pub settle_after: Duration,
    /// The pool's password policy (the auth handlers explain a rejection with it) and its
    /// client's writable attributes.
    pub pool: provision::PoolPolicy,
    /// The order workflow's type: Express, as the CDK app's default stage configuration.
    pub workflow_type: aws_sdk_sfn::types::StateMachineType,
    /// The admin gate asks the pool for TOTP and the session's age (the stage's `adminMfaRequired`).
    pub admin_mfa_required: bool,
}

/// Creates every resource of the backend on the emulator.
pub async fn provision(emu: &Emulator, s: &LocalSettings) -> Result<StackInfo, ProvisionError> {
    let sdk = emu.sdk_config();
    let n = |x: &str| format!("{}-{x}", s.prefix);
    let (users, banners, categories, products, orders) =
        (n("users"), n("banners"), n("categories"), n("products"), n("orders"));
    provision::table(&sdk, &users, &provision::declared_table("users")?).await?;
    provision::table(&sdk, &banners, &provision::declared_table("banners")?).await?;
    provision::table(&sdk, &categories, &provision::declared_table("categories")?).await?;
    provision::table(&sdk, &products, &provision::declared_table("products")?).await?;
    let orders_stream_arn = provision::table(&sdk, &orders, &provision::declared_table("orders")?)
        .await?
        .unwrap_or_default();
    let pool = provision::user_pool(&sdk, &n("users"), &s.pool).await?;
    let (banner_bucket, category_bucket, product_bucket) =
        (n("banner-images"), n("category-images"), n("product-images"));
    let banner_events_queue = provision::image_bucket(&sdk, &banner_bucket, &n("banner-image-events")).await?;
    let category_events_queue = provision::image_bucket(&sdk, &category_bucket, &n("category-image-events")).await?;
    let product_events_queue = provision::image_bucket(&sdk, &product_bucket, &n("product-image-events")).await?;
    let (order_queue, order_queue_arn, order_dlq) =
        provision::queue_with_dlq(&sdk, &n("orders"), s.order_max_receives, 30).await?;
    let cleanup_topic_arn = provision::topic(&sdk, &n("cleanup")).await?;
    let alerts_topic_arn = provision::topic(&sdk, &n("alerts")).await?;
    let (async_failures_queue, _) = provision::queue(&sdk, &n("async-failures")).await?;
    // A webhook signing secret of this stack's own (the local Stripe signs with it).
    let webhook_secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
    let payment_secret_arn =
        provision::payment_secret(&sdk, &n("payment-provider"), crate::stripe::API_KEY, &webhook_secret).await?;
    provision::email_identity(&sdk, &s.email_from).await?;
    let wiring = provision::OrderWorkflow {
        products_table: &products,
        orders_table: &orders,
        sender: &s.email_from,
        alerts_topic_arn: &alerts_topic_arn,
    };
    let state_machine_arn =
        provision::order_workflow(&sdk, &n("order-processing"), &wiring, s.workflow_type.clone()).await?;
    Ok(StackInfo {
        api_url: s.api_url.clone(),
        emulator_endpoint: emu.endpoint.clone(),
        region: emu.region.clone(),
        user_pool_id: pool.user_pool_id,
        client_id: pool.client_id,
        email_from: s.email_from.clone(),
        users_table: users,
        banners_table: banners,
        categories_table: categories,
        products_table: products,
        orders_table: orders,
        banner_bucket,
        category_bucket,
        product_bucket,
        banner_events_queue,
        category_events_queue,
        product_events_queue,
        order_queue,
        order_queue_arn,
        order_dlq,
        cleanup_topic_arn,
        alerts_topic_arn,
        state_machine_arn,
        orders_stream_arn,
        payment_secret_arn,
        payment_api_url: String::new(),
        async_failures_queue,
    })
}

/// A stack recorded earlier whose user pool still exists in the emulator (kept state).
pub async fn existing(emu: &Emulator, path: &Path) -> Option<StackInfo> {
    let info: StackInfo = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    if info.emulator_endpoint != emu.endpoint {
        return None;
    }
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&emu.sdk_config());
    cognito
        .describe_user_pool()
        .user_pool_id(&info.user_pool_id)
        .send()
        .await
        .ok()?;
    Some(info)
}

/// Writes the stack description for scripts and tests.
pub fn write(info: &StackInfo, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(info).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
