//! The registry: every service configured for a stack (the same structs the Lambda binaries
//! build), the functions each one's binary serves, and the in-process dispatch to them. Adding a
//! service is one line in each of [`Services::functions`] and [`Services::invoke`]; adding a
//! function to a service, none.

use shop_core::lambda::{Answer, Invocation};

use std::sync::Arc;

use crate::declaration::Declaration;
use crate::emulator::Emulator;
use crate::http_hook::Act;
use crate::listing::Listing;
use crate::options::Options;
use crate::provision::resources::ORDER_WORKFLOW;
use crate::provision::ProvisionError;
use crate::recorder::Sink;
use crate::stack::{metrics_namespace, StackInfo};

/// Every service, configured for this stack: the same structs the Lambda binaries build.
#[derive(Clone, Debug)]
pub struct Services {
    pub auth: auth::Auth,
    pub banner: banner::Banners,
    pub category: category::Categories,
    pub product: product::Products,
    pub order: order::Orders,
}

impl Services {
    pub fn new(emu: &Emulator, decl: &Declaration, info: &StackInfo, o: &Options) -> Result<Self, ProvisionError> {
        let (stage, r) = (&o.stage, &info.resources);
        let secs = std::time::Duration::from_secs;
        // The handlers' calls are recorded for the least-privilege check, meet the faults
        // --chaos asks for, and get S3's answers for their roles: one hook does all three.
        let sink = crate::recorder::target().map(|file| Arc::new(Sink::new(file, &o.prefix, stage.admin_mfa_required)));
        let listing = Listing::new(decl, info, sink.clone());
        let chaos = o.chaos.clone();
        let sdk = crate::http_hook::hooked(&emu.sdk_config(), move |req, _| {
            if let Some(sink) = &sink {
                sink.observe(req);
            }
            match chaos.act(req) {
                Act::Pass => listing.act(req).unwrap_or(Act::Pass),
                act => act,
            }
        });
        let uploads = |service: &str| {
            let bucket = &r.image_bucket(service)?.name;
            Ok::<_, ProvisionError>(shop_core::images::UploadConfig {
                bucket: bucket.to_owned(),
                image_base_url: format!("{}/_local/cdn/{bucket}", info.api_url),
                expires: secs(stage.upload_url_expires_seconds),
                max_bytes: stage.upload_max_bytes,
                metrics_namespace: metrics_namespace(&o.prefix),
            })
        };
        Ok(Self {
            auth: auth::Auth::new(
                &sdk,
                auth::AuthConfig {
                    user_pool_id: r.pool.user_pool_id.clone(),
                    client_id: r.pool.client_id.clone(),
                    users_table: r.table("users")?.to_owned(),
                    password_policy: auth::model::PasswordPolicy {
                        min_length: stage.password_min_length,
                    },
                    unconfirmed_max_age: secs(stage.unconfirmed_max_age_seconds),
                    metrics_namespace: metrics_namespace(&o.prefix),
                },
            ),
            banner: banner::Banners::new(
                &sdk,
                banner::BannerConfig {
                    table: r.table("banners")?.to_owned(),
                    uploads: uploads("banner")?,
                },
            ),
            category: category::Categories::new(
                &sdk,
                category::CategoryConfig {
                    table: r.table("categories")?.to_owned(),
                    uploads: uploads("category")?,
                    cleanup_topic_arn: r.topic("cleanup")?.to_owned(),
                    cleanup_max_age: secs(stage.cleanup_max_age_seconds),
                },
            ),
            product: product::Products::new(
                &sdk,
                product::ProductConfig {
                    table: r.table("products")?.to_owned(),
                    uploads: uploads("product")?,
                    cleanup_topic_arn: r.topic("cleanup")?.to_owned(),
                    cleanup_max_age: secs(stage.cleanup_max_age_seconds),
                    email_from: r.email_from.clone(),
                },
            ),
            order: order::Orders::new(
                &sdk,
                order::OrderConfig {
                    orders_table: r.table("orders")?.to_owned(),
                    products_table: r.table("products")?.to_owned(),
                    queue_url: r.queue("orders")?.url.clone(),
                    state_machine_arn: r.workflow(ORDER_WORKFLOW)?.to_owned(),
                    email_from: r.email_from.clone(),
                    alerts_topic_arn: r.topic("alerts")?.to_owned(),
                    reconcile_after: secs(stage.reconcile_after_seconds),
                    metrics_namespace: metrics_namespace(&o.prefix),
                    max_order_lines: stage.max_order_lines,
                    allow_unpaid: stage.allow_unpaid_orders,
                    settle_after: secs(stage.settle_after_seconds),
                },
            ),
        }
        .gated(&sdk, info, stage.admin_mfa_required))
    }

    /// Every admin gate asking `info`'s pool for TOTP and the session's age, as the stage requires.
    fn gated(mut self, sdk: &aws_config::SdkConfig, info: &StackInfo, mfa_required: bool) -> Self {
        if mfa_required {
            let gate = shop_core::mfa::AdminGate::requiring_mfa(
                aws_sdk_cognitoidentityprovider::Client::new(sdk),
                info.resources.pool.user_pool_id.clone(),
            );
            self.banner.catalog.admins = gate.clone();
            self.category.catalog.admins = gate.clone();
            self.product.catalog.admins = gate.clone();
            self.order.admins = gate;
        }
        self
    }

    /// The order service with its payment provider (`None`: every order unpaid).
    pub fn with_payments(mut self, payments: Option<order::payment::Payments>) -> Self {
        self.order = self.order.with_payments(payments);
        self
    }

    /// The registry: the functions each service's binary serves (held equal to the declaration
    /// at start-up), by service name.
    pub fn functions(service: &str) -> Option<&'static [&'static str]> {
        Some(match service {
            "auth" => auth::FUNCTIONS,
            "banner" => banner::FUNCTIONS,
            "category" => category::FUNCTIONS,
            "product" => product::FUNCTIONS,
            "order" => order::FUNCTIONS,
            _ => return None,
        })
    }

    /// Runs `service`/`function` once on `invocation`: the same function its Lambda serves.
    pub async fn invoke(&self, service: &str, function: &str, invocation: Invocation) -> Option<Answer> {
        match service {
            "auth" => auth::invoke(function, &self.auth, invocation).await,
            "banner" => banner::invoke(function, &self.banner, invocation).await,
            "category" => category::invoke(function, &self.category, invocation).await,
            "product" => product::invoke(function, &self.product, invocation).await,
            "order" => order::invoke(function, &self.order, invocation).await,
            _ => None,
        }
    }
}
