//! `shop-ops smoke`: one read-only and synthetic walk of a stage, the same code locally and
//! deployed. It provisions (idempotently) a synthetic account and a synthetic product through the
//! AWS SDK, then walks the public API as a client would:
//!
//! 1. `listings`: banners, categories and approved products answer 200 with their lists;
//! 2. `sign-in` and `refresh`: the synthetic account signs in by full name and refreshes its tokens;
//! 3. `my-orders`: its own orders list;
//! 4. `order` (unless skipped): one unit of the synthetic product goes through the whole pipeline
//!    and is decided; then `clean-up` cancels it (stock back, any hold released).
//!
//! The synthetic product has `status = "synthetic"`: it is in no listing (they read the `approved`
//! status and the sparse `approvedCategory` index) and no review queue, and the cleanup never
//! touches it; its orders count toward no business metric (the order service's `outcomes.rs`).
//! The account's email is the SES mailbox simulator's success address: nothing is delivered and
//! the sender's bounce rate is untouched. Where an order would move real money (a
//! stage whose payment key is live), the order step is skipped (`--no-order`): deploy.yml passes it
//! for prod, whose pipeline the staging smoke proves with the same artifacts.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use shop_core::accounts::Accounts;

/// The services whose APIs the walk calls.
pub const SERVICES: [&str; 5] = ["auth", "banner", "category", "product", "order"];

/// The synthetic product's id and its status, which no listing reads.
pub const PRODUCT_ID: &str = shop_core::SYNTHETIC_PRODUCT_ID;
pub const SYNTHETIC_STATUS: &str = "synthetic";
/// The synthetic account (sign-in by full name: the username is `Shop_Smoke`).
pub const FULL_NAME: &str = "Shop Smoke";
/// SES's mailbox simulator: accepted, never delivered, not counted as a bounce.
pub const EMAIL: &str = "success@simulator.amazonses.com";

/// What a stage offers the smoke walk.
pub struct Stage {
    /// Each service's API base URL by service name (`auth`, `banner`, ...): on AWS each service
    /// has its own HTTP API; locally they are `<runner>/<service>`.
    pub apis: std::collections::BTreeMap<String, String>,
    pub user_pool_id: String,
    pub products_table: String,
    /// The synthetic account's password (deployed: from the stage's secret store, never a literal).
    pub password: String,
    /// A payment method for the order step where the stage takes payments (`pm_card_visa` in
    /// test mode); `None` where unpaid orders are allowed.
    pub payment_method: Option<String>,
    pub order: bool,
    /// How long the order may take to be decided.
    pub decide_within: Duration,
}

/// A step that failed, by name, and why.
#[derive(Debug)]
pub struct Failed {
    pub step: &'static str,
    pub why: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "smoke step `{}` failed: {}", self.step, self.why)
    }
}

fn fail(step: &'static str) -> impl Fn(String) -> Failed {
    move |why| Failed { step, why }
}

/// Creates the synthetic account and product if they are missing, and tops the product's stock up.
pub async fn provision(sdk: &aws_config::SdkConfig, s: &Stage) -> Result<(), Failed> {
    let step = fail("provision");
    let username = FULL_NAME.replace(' ', "_");
    let accounts = Accounts::new(aws_sdk_cognitoidentityprovider::Client::new(sdk), &s.user_pool_id);
    let attributes = [("email", EMAIL), ("email_verified", "true"), ("name", FULL_NAME)];
    accounts
        .ensure_confirmed(&username, &attributes, &s.password)
        .await
        .map_err(|e| step(e.to_string()))?;
    let now = shop_core::time::now();
    aws_sdk_dynamodb::Client::new(sdk)
        .put_item()
        .table_name(&s.products_table)
        .item("id", AttributeValue::S(PRODUCT_ID.into()))
        .item(
            "productName",
            AttributeValue::S("Smoke test item (never listed)".into()),
        )
        .item("productPrice", AttributeValue::N("1".into()))
        .item("quantity", AttributeValue::N("1000".into()))
        .item("isApproved", AttributeValue::Bool(true))
        .item("status", AttributeValue::S(SYNTHETIC_STATUS.into()))
        .item("category", AttributeValue::S("Synthetic".into()))
        .item(
            "description",
            AttributeValue::S("Bought and cancelled by shop-ops smoke.".into()),
        )
        .item("fileName", AttributeValue::S("none.png".into()))
        .item("objectKey", AttributeValue::S(format!("synthetic/{PRODUCT_ID}")))
        .item("sellerId", AttributeValue::S("shop-ops-smoke".into()))
        .item("createdAt", AttributeValue::S(now))
        .send()
        .await
        .map_err(|e| step(format!("PutItem: {}", DisplayErrorContext(&e))))?;
    Ok(())
}

/// The walk; each line printed names a step that passed.
pub async fn walk(s: &Stage) -> Result<Vec<String>, Failed> {
    let api = Api::new(&s.apis);
    let mut done = Vec::new();

    let step = fail("listings");
    for path in ["/banner/banners", "/category/categories", "/product/approve-products"] {
        let v = api
            .call("GET", path, None, None)
            .await
            .map_err(&step)?
            .ok(200)
            .map_err(&step)?;
        let list = ["banners", "products"].iter().find_map(|k| v.get(*k)).unwrap_or(&v);
        if !list.is_array() {
            return Err(step(format!("GET {path}: not a list: {v}")));
        }
        if v.to_string().contains(PRODUCT_ID) {
            return Err(step(format!("GET {path} shows the synthetic product")));
        }
    }
    done.push("listings: banners, categories and approved products answer, without the synthetic product".to_owned());

    let step = fail("sign-in");
    let body = json!({ "fullName": FULL_NAME, "password": s.password });
    let signed = api
        .call("POST", "/auth/sign-in", Some(body), None)
        .await
        .map_err(&step)?
        .ok(200)
        .map_err(&step)?;
    let id_token = signed["tokens"]["IdToken"]
        .as_str()
        .ok_or_else(|| step("no IdToken".into()))?
        .to_owned();
    let refresh = signed["tokens"]["RefreshToken"]
        .as_str()
        .ok_or_else(|| step("no RefreshToken".into()))?
        .to_owned();
    done.push("sign-in: the synthetic account signs in".to_owned());

    let step = fail("refresh");
    let body = json!({ "refreshToken": refresh });
    let refreshed = api
        .call("POST", "/auth/refresh-token", Some(body), None)
        .await
        .map_err(&step)?
        .ok(200)
        .map_err(&step)?;
    refreshed["tokens"]["IdToken"]
        .as_str()
        .ok_or_else(|| step("no IdToken".into()))?;
    done.push("refresh: its tokens refresh".to_owned());

    let step = fail("my-orders");
    let mine = api
        .call("GET", "/order/orders", None, Some(&id_token))
        .await
        .map_err(&step)?
        .ok(200)
        .map_err(&step)?;
    mine["orders"]
        .as_array()
        .ok_or_else(|| step(format!("no orders list: {mine}")))?;
    done.push("my-orders: its orders list".to_owned());

    if !s.order {
        done.push("order: skipped (--no-order)".to_owned());
        return Ok(done);
    }
    let step = fail("order");
    let mut body = json!({ "id": PRODUCT_ID, "quantity": 1 });
    if let Some(pm) = &s.payment_method {
        body["paymentMethod"] = json!(pm);
    }
    let created = api
        .call("POST", "/order/create-order", Some(body), Some(&id_token))
        .await
        .map_err(&step)?
        .ok(201)
        .map_err(&step)?;
    let order_id = created["orderId"]
        .as_str()
        .ok_or_else(|| step(format!("no orderId: {created}")))?
        .to_owned();
    let started = Instant::now();
    let status = loop {
        let path = format!("/order/orders/{order_id}");
        let o = api
            .call("GET", &path, None, Some(&id_token))
            .await
            .map_err(&step)?
            .ok(200)
            .map_err(&step)?;
        let status = o["status"].as_str().unwrap_or_default().to_owned();
        if status != "pending" {
            break status;
        }
        if started.elapsed() > s.decide_within {
            return Err(step(format!(
                "order {order_id} still pending after {:?}",
                s.decide_within
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if status != "shipping" {
        return Err(step(format!(
            "order {order_id} ended {status}, not shipping (the product has stock)"
        )));
    }
    done.push(format!(
        "order: {order_id} decided shipping in {} ms",
        started.elapsed().as_millis()
    ));

    let step = fail("clean-up");
    let path = format!("/order/orders/{order_id}/cancel");
    let cancelled = api
        .call("POST", &path, None, Some(&id_token))
        .await
        .map_err(&step)?
        .ok(200)
        .map_err(&step)?;
    if cancelled["status"] != "cancelled" {
        return Err(step(format!("not cancelled: {cancelled}")));
    }
    done.push("clean-up: the order is cancelled, its unit back in stock".to_owned());
    Ok(done)
}

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// The stage's APIs as a client sees them (HTTPS deployed, HTTP locally), 30 s per call.
struct Api<'a> {
    client: hyper_util::client::legacy::Client<Https, http_body_util::Full<bytes::Bytes>>,
    bases: &'a std::collections::BTreeMap<String, String>,
}

struct Answer {
    what: String,
    status: u16,
    body: Value,
}

impl Answer {
    fn ok(self, want: u16) -> Result<Value, String> {
        if self.status == want {
            Ok(self.body)
        } else {
            Err(format!(
                "{} answered {} (wanted {want}): {}",
                self.what, self.status, self.body
            ))
        }
    }
}

impl<'a> Api<'a> {
    fn new(bases: &'a std::collections::BTreeMap<String, String>) -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https),
            bases,
        }
    }

    /// `/auth/sign-in` -> the auth API's base + `/sign-in`.
    fn url(&self, path: &str) -> Result<String, String> {
        let (service, rest) = path.trim_start_matches('/').split_once('/').unwrap_or((path, ""));
        let base = self
            .bases
            .get(service)
            .ok_or(format!("no API URL for the {service} service"))?;
        Ok(format!("{}/{rest}", base.trim_end_matches('/')))
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> Result<Answer, String> {
        use http_body_util::BodyExt;
        let what = format!("{method} {path}");
        let mut req = http::Request::builder()
            .method(method)
            .uri(self.url(path)?)
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let req = req
            .body(http_body_util::Full::new(bytes::Bytes::from(payload)))
            .map_err(|e| format!("{what}: {e}"))?;
        let resp = tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
            .await
            .map_err(|_| format!("{what}: no answer within 30 s"))?
            .map_err(|e| format!("{what}: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{what}: {e}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer { what, status, body })
    }
}
