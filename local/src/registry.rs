//! The registry: every service configured for a stack (the same structs the Lambda binaries
//! build), the functions each one's binary serves, and the in-process dispatch to them. Adding a
//! service is one line in each of [`Services::functions`] and [`Services::invoke`]; adding a
//! function to a service, none.

use shop_core::lambda::{Answer, Invocation};

use std::sync::Arc;

use crate::chaos::Chaos;
use crate::declaration::Declaration;
use crate::emulator::Emulator;
use crate::http_hook::Act;
use crate::listing::Listing;
use crate::recorder::Sink;
use crate::stack::{metrics_namespace, LocalSettings, StackInfo};

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
    pub fn new(emu: &Emulator, decl: &Declaration, info: &StackInfo, s: &LocalSettings, chaos: &Arc<Chaos>) -> Self {
        // The handlers' calls are recorded for the least-privilege check, meet the faults
        // --chaos asks for, and get S3's answers for their roles: one hook does all three.
        let sink = crate::recorder::target().map(|file| Arc::new(Sink::new(file, &s.prefix, s.admin_mfa_required)));
        let listing = Listing::new(decl, info, sink.clone());
        let chaos = chaos.clone();
        let sdk = crate::http_hook::hooked(&emu.sdk_config(), move |req, _| {
            if let Some(sink) = &sink {
                sink.observe(req);
            }
            match chaos.act(req) {
                Act::Pass => listing.act(req).unwrap_or(Act::Pass),
                act => act,
            }
        });
        let uploads = |bucket: &str| shop_core::images::UploadConfig {
            bucket: bucket.to_owned(),
            image_base_url: format!("{}/_local/cdn/{bucket}", info.api_url),
            expires: s.upload_url_expires,
            max_bytes: s.upload_max_bytes,
            metrics_namespace: metrics_namespace(&s.prefix),
        };
        Self {
            auth: auth::Auth::new(
                &sdk,
                auth::AuthConfig {
                    user_pool_id: info.user_pool_id.clone(),
                    client_id: info.client_id.clone(),
                    users_table: info.users_table.clone(),
                    password_policy: auth::model::PasswordPolicy {
                        min_length: s.pool.password_min_length,
                    },
                    unconfirmed_max_age: s.unconfirmed_max_age,
                    metrics_namespace: metrics_namespace(&s.prefix),
                },
            ),
            banner: banner::Banners::new(
                &sdk,
                banner::BannerConfig {
                    table: info.banners_table.clone(),
                    uploads: uploads(&info.banner_bucket),
                },
            ),
            category: category::Categories::new(
                &sdk,
                category::CategoryConfig {
                    table: info.categories_table.clone(),
                    uploads: uploads(&info.category_bucket),
                    cleanup_topic_arn: info.cleanup_topic_arn.clone(),
                    cleanup_max_age: s.cleanup_max_age,
                },
            ),
            product: product::Products::new(
                &sdk,
                product::ProductConfig {
                    table: info.products_table.clone(),
                    uploads: uploads(&info.product_bucket),
                    cleanup_topic_arn: info.cleanup_topic_arn.clone(),
                    cleanup_max_age: s.cleanup_max_age,
                    email_from: info.email_from.clone(),
                },
            ),
            order: order::Orders::new(
                &sdk,
                order::OrderConfig {
                    orders_table: info.orders_table.clone(),
                    products_table: info.products_table.clone(),
                    queue_url: info.order_queue.clone(),
                    state_machine_arn: info.state_machine_arn.clone(),
                    email_from: info.email_from.clone(),
                    alerts_topic_arn: info.alerts_topic_arn.clone(),
                    reconcile_after: s.reconcile_after,
                    metrics_namespace: metrics_namespace(&s.prefix),
                    max_order_lines: s.max_order_lines,
                    allow_unpaid: s.allow_unpaid,
                    settle_after: s.settle_after,
                },
            ),
        }
        .gated(&sdk, info, s)
    }

    /// Every admin gate asking `info`'s pool for TOTP and the session's age, as the stage requires.
    fn gated(mut self, sdk: &aws_config::SdkConfig, info: &StackInfo, s: &LocalSettings) -> Self {
        if s.admin_mfa_required {
            let gate = shop_core::mfa::AdminGate::requiring_mfa(
                aws_sdk_cognitoidentityprovider::Client::new(sdk),
                info.user_pool_id.clone(),
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
