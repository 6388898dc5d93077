//! Order service: `POST /create-order` records a pending order of one or more products and queues it; the queue consumer
//! starts one Step Functions execution per order (named by the order id); the state machine in
//! `stepfunctions/order-processing.asl.json` reserves every line's stock in one transaction (or
//! rejects the whole order) and moves the order on. A scheduled
//! reconciler re-drives any order still pending after every execution for it must have ended.
//! Customers read their orders back.
//!
//! - [`model`]: orders, statuses, lines, the queue message and the workflow input, request
//!   validation, idempotency, the cart rules (plain functions, no AWS).
//! - [`store`]: every DynamoDB operation, one method each.
//! - [`api`]: the customer's routes; [`pipeline`]: the queue consumer and the reconciler;
//!   [`outcomes`]: the business metrics; [`ops`]: the operator's repairs.

pub mod api;
pub mod model;
pub mod ops;
pub mod outcomes;
pub mod payment;
pub mod pipeline;
pub mod store;

use std::time::Duration;

use model::{CartProblem, LineRef, DEFAULT_MAX_ORDER_LINES, MAX_ORDER_LINES_LIMIT};
use shop_core::config::{parsed_or, required, ConfigError};
use shop_core::{Http, RequestError, Upstream};

pub use api::{cancel_order, create_order, get_order, list_orders, refund_order};
pub use outcomes::status_changed;
pub use payment::webhook::payment_webhook;
pub use pipeline::{queue_consumer, reconcile, ReconcileReport};

/// Default of `RECONCILE_AFTER_SECS`. The latest an execution can still be running is the queue's
/// whole redelivery window (5 receives x 180 s visibility = 900 s) plus the workflow's
/// `TimeoutSeconds` (300 s): 1200 s. 1800 s leaves a margin.
pub const DEFAULT_RECONCILE_AFTER_SECS: u64 = 1800;

#[derive(Clone, Debug)]
pub struct OrderConfig {
    /// `ORDERS_TABLE`: partition key `id`, GSIs [`model::CUSTOMER_INDEX`] and
    /// [`model::STATUS_INDEX`].
    pub orders_table: String,
    /// `PRODUCTS_TABLE`: read to check the product at order time.
    pub products_table: String,
    /// `ORDER_QUEUE_URL`
    pub queue_url: String,
    /// `STATE_MACHINE_ARN`: the order-processing workflow.
    pub state_machine_arn: String,
    /// `EMAIL_FROM`: verified SES sender of the confirmation email.
    pub email_from: String,
    /// `ALERTS_TOPIC_ARN`: where the reconciler reports an order it gave up on.
    pub alerts_topic_arn: String,
    /// `RECONCILE_AFTER_SECS` (default [`DEFAULT_RECONCILE_AFTER_SECS`]): an order still pending
    /// this long after it was created (or last re-driven) is re-driven. Must exceed the queue's
    /// redelivery window plus the workflow's `TimeoutSeconds`, so every execution for the order
    /// has ended by then (a late one would only find the order decided: stock and emails stay once).
    pub reconcile_after: Duration,
    /// `METRICS_NAMESPACE` (default `Shop`): the CloudWatch namespace of the business metrics.
    pub metrics_namespace: String,
    /// `MAX_ORDER_LINES` (default [`DEFAULT_MAX_ORDER_LINES`], 1 to [`MAX_ORDER_LINES_LIMIT`]): the
    /// most lines one order may hold.
    pub max_order_lines: usize,
    /// `ALLOW_UNPAID_ORDERS` (default false; a stage value, never true in prod): an order without
    /// a payment method is taken unpaid, as before payments (the original clients' migration path).
    pub allow_unpaid: bool,
    /// `SETTLE_AFTER_SECS` (default [`DEFAULT_SETTLE_AFTER_SECS`]): money still open on a decided
    /// order this long after it was created is moved by the reconciler (the stream missed it).
    pub settle_after: Duration,
}

/// Default of `SETTLE_AFTER_SECS`: the stream settles within seconds; ten minutes is missed.
pub const DEFAULT_SETTLE_AFTER_SECS: u64 = 600;
/// The provider holds an authorization about seven days; past six an open one is alerted on.
pub const AUTHORIZATION_WARN_SECS: u64 = 6 * 24 * 3600;

/// Where the payment provider is, read with [`OrderConfig`]: `PAYMENT_SECRET_ARN` (absent: no
/// payments), `PAYMENT_API_URL` (default Stripe's), `PAYMENT_CURRENCY` (default `usd`).
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub secret_id: String,
    pub api_url: String,
    pub currency: String,
}

impl ProviderConfig {
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(secret_id) = shop_core::config::optional("PAYMENT_SECRET_ARN") else {
            return Ok(None);
        };
        Ok(Some(Self {
            secret_id,
            api_url: parsed_or("PAYMENT_API_URL", "https://api.stripe.com".to_owned())?,
            currency: parsed_or("PAYMENT_CURRENCY", "usd".to_owned())?,
        }))
    }
}

impl OrderConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            orders_table: required("ORDERS_TABLE")?,
            products_table: required("PRODUCTS_TABLE")?,
            queue_url: required("ORDER_QUEUE_URL")?,
            state_machine_arn: required("STATE_MACHINE_ARN")?,
            email_from: required("EMAIL_FROM")?,
            alerts_topic_arn: required("ALERTS_TOPIC_ARN")?,
            reconcile_after: Duration::from_secs(parsed_or("RECONCILE_AFTER_SECS", DEFAULT_RECONCILE_AFTER_SECS)?),
            metrics_namespace: parsed_or("METRICS_NAMESPACE", "Shop".to_owned())?,
            max_order_lines: max_order_lines(parsed_or("MAX_ORDER_LINES", DEFAULT_MAX_ORDER_LINES)?)?,
            allow_unpaid: parsed_or("ALLOW_UNPAID_ORDERS", false)?,
            settle_after: Duration::from_secs(parsed_or("SETTLE_AFTER_SECS", DEFAULT_SETTLE_AFTER_SECS)?),
        })
    }
}

/// Before round `round` of a read-decide-write loop: nothing before the first, then 25 ms more
/// each time, so a transaction holding the order (or a writer that won the race) has finished.
pub(crate) async fn pause_before(round: u64) {
    if round > 0 {
        tokio::time::sleep(Duration::from_millis(25 * round)).await;
    }
}

/// A reservation is one transaction of at most 100 items: one per line and one for the order.
pub fn max_order_lines(n: usize) -> Result<usize, ConfigError> {
    if (1..=MAX_ORDER_LINES_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(ConfigError::Invalid {
            name: "MAX_ORDER_LINES",
            reason: format!("must be between 1 and {MAX_ORDER_LINES_LIMIT} (one transaction of 100 items)"),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Orders {
    /// The Orders table.
    pub orders: store::OrdersTable,
    /// The Products table, read for price and stock.
    pub stock: store::Stock,
    /// The order queue the consumer reads.
    pub queue: store::Queue,
    /// The order workflow the consumer and the reconciler start.
    pub workflow: store::Workflow,
    /// The sender of the customer's emails.
    pub mailer: shop_core::email::Mailer,
    /// The operations alerts topic.
    pub alerts: shop_core::topic::Topic,
    pub config: OrderConfig,
    pub http: Http,
    /// The payment provider; `None` where the stage takes no payments (then every order is
    /// unpaid, which [`OrderConfig::allow_unpaid`] must allow).
    pub payments: Option<payment::Payments>,
    /// Who may refund (`ADMIN_MFA_REQUIRED`: TOTP MFA too).
    pub admins: shop_core::mfa::AdminGate,
}

impl Orders {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = OrderConfig::from_env()?;
        let sdk = shop_core::aws::sdk_config().await;
        let payments = match ProviderConfig::from_env()? {
            Some(p) => Some(Self::provider(&sdk, &p).await?),
            None => None,
        };
        let mut orders = Self::new(&sdk, config).with_payments(payments);
        orders.admins = shop_core::mfa::AdminGate::from_env(&sdk)?;
        Ok(orders)
    }

    /// The provider, its secret read once from Secrets Manager.
    pub async fn provider(sdk: &aws_config::SdkConfig, p: &ProviderConfig) -> Result<payment::Payments, ConfigError> {
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        payment::Payments::load(&secrets, &p.secret_id, &p.api_url, &p.currency).await
    }

    /// The service with `payments` (only the functions that move money get the provider's secret).
    pub fn with_payments(mut self, payments: Option<payment::Payments>) -> Self {
        self.payments = payments;
        self
    }

    /// The service without payments (every order unpaid, as [`OrderConfig::allow_unpaid`] must allow).
    pub fn new(sdk: &aws_config::SdkConfig, config: OrderConfig) -> Self {
        Self {
            orders: store::OrdersTable::new(shop_core::aws::dynamodb(sdk), &config.orders_table),
            stock: store::Stock::new(shop_core::aws::dynamodb(sdk), &config.products_table),
            queue: store::Queue::new(aws_sdk_sqs::Client::new(sdk), &config.queue_url),
            workflow: store::Workflow::new(aws_sdk_sfn::Client::new(sdk), &config.state_machine_arn),
            mailer: shop_core::email::Mailer::new(shop_core::aws::ses(sdk), &config.email_from),
            alerts: shop_core::topic::Topic::new(shop_core::aws::sns(sdk), &config.alerts_topic_arn),
            config,
            http: Http::from_env(false),
            payments: None,
            admins: shop_core::mfa::AdminGate::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("{}", not_found(.0))]
    ProductNotFound(Vec<LineRef>),
    #[error("Insufficient stock available")]
    InsufficientStock(Vec<LineRef>),
    #[error("order {0} does not exist")]
    OrderNotFound(String),
    #[error("this Idempotency-Key was already used for a different order")]
    IdempotencyKeyReused,
    #[error("this order can no longer be cancelled: it is {0}")]
    NotCancellable(&'static str),
    #[error("nothing to refund: {0}")]
    NotRefundable(&'static str),
    #[error("{0}")]
    Payment(payment::ProviderError),
    #[error("this stage takes no payments")]
    PaymentsOff,
    #[error(transparent)]
    Upstream(#[from] Upstream),
}

fn not_found(lines: &[LineRef]) -> String {
    match lines {
        [one] => format!("product {} does not exist or is not approved", one.id),
        many => {
            let ids: Vec<&str> = many.iter().map(|l| l.id.as_str()).collect();
            format!("products {} do not exist or are not approved", ids.join(", "))
        }
    }
}

/// The body of a cart error names its offending lines: `"lines": [{"line": 2, "id": "p2"}]`; a
/// decline names the provider's reason: `"reason": "insufficient_funds"`.
fn details_of(e: &Error) -> Option<serde_json::Value> {
    match e {
        Error::ProductNotFound(lines) | Error::InsufficientStock(lines) => Some(serde_json::json!({ "lines": lines })),
        Error::Payment(payment::ProviderError::Declined { reason }) => Some(serde_json::json!({ "reason": reason })),
        _ => None,
    }
}

fn payment_status(e: &payment::ProviderError) -> (u16, &'static str) {
    use payment::ProviderError as P;
    match e {
        P::Declined { .. } => (402, "PaymentDeclined"),
        P::Refused { .. } => (400, "PaymentRefused"),
        P::UnexpectedState(_) => (409, "PaymentStateConflict"),
        P::Unavailable(_) => (503, "PaymentProviderUnavailable"),
    }
}

impl From<CartProblem> for Error {
    fn from(p: CartProblem) -> Self {
        match p {
            CartProblem::NotFound(lines) => Self::ProductNotFound(lines),
            CartProblem::Short(lines) => Self::InsufficientStock(lines),
            CartProblem::TotalTooLarge => RequestError::invalid("items", "the order total is too large").into(),
        }
    }
}

shop_core::api_error!(Error {
    Self::ProductNotFound(_) => (404, "ProductNotFound"),
    Self::OrderNotFound(_) => (404, "OrderNotFound"),
    Self::InsufficientStock(_) => (400, "InsufficientStock"),
    Self::IdempotencyKeyReused => (422, "IdempotencyKeyReused"),
    Self::NotCancellable(_) => (409, "OrderNotCancellable"),
    Self::NotRefundable(_) => (409, "NothingToRefund"),
    Self::Payment(e) => (payment_status(e).0, payment_status(e).1),
    Self::PaymentsOff => (404, "PaymentsNotConfigured"),
} details: details_of);

// Every function of this service, served by the one `shop-order` binary (`_HANDLER` names it).
shop_core::functions!(Orders {
    "create-order" => http create_order,
    "list-orders" => http list_orders,
    "get-order" => http get_order,
    "cancel-order" => http cancel_order,
    "refund-order" => http refund_order,
    "payment-webhook" => http payment_webhook,
    "queue-consumer" => event queue_consumer,
    "reconcile" => event reconcile,
    "status-changed" => event status_changed,
});
