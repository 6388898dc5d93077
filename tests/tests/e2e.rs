//! End to end: a local runner (the same one `shop-local` starts) on a free port, driven over real
//! HTTP with real Cognito tokens from the emulator, real uploads, the real queue and workflow.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use reqwest::StatusCode;
use serde_json::{json, Value};
use shop_local::declaration;
use shop_local::jwt::Verifier;
use shop_local::runner::{self, Options, Running};
use shop_tests::{emulator, unique};

const PASSWORD: &str = "Str0ng!Passw0rd";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nimage-bytes";

async fn runner() -> Running {
    runner_with(|_| {}).await
}

/// A runner of its own (state, prefix, any free port), the local stage's options changed by `change`.
async fn runner_with(change: impl FnOnce(&mut Options)) -> Running {
    emulator().await; // MOTO_ENDPOINT, or a moto of this test binary
    shop_tests::stripe().await; // STRIPE_ENDPOINT, or a local Stripe of this test binary
    let mut opts = Options {
        port: 0,
        moto_port: 0,
        stripe_port: 0,
        reset: false,
        state_dir: std::env::temp_dir().join(unique("shop-e2e")),
        prefix: unique("e2e"),
        cleanup_interval: Duration::from_secs(3600),
        ..Options::local().unwrap()
    };
    change(&mut opts);
    runner::start(opts)
        .await
        .unwrap_or_else(|e| panic!("runner did not start: {e}"))
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(r: &Running) -> Self {
        Self {
            base: r.info.api_url.clone(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        record(method, path, status, &text);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, token, Some(body)).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call("GET", path, token, None).await
    }

    /// Delivers a provider event to the webhook as Stripe does: the raw body, signed.
    async fn webhook(&self, body: &str, signature: &str) -> (StatusCode, Value) {
        let path = "/order/payment/webhook";
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        record("POST", path, status, &text);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Signs up, confirms and signs in; answers the tokens.
    async fn user(&self, name: &str) -> (String, Value) {
        let email = format!("{}@example.com", unique("e2e"));
        self.register(&email, name).await;
        (email.clone(), self.sign_in(&email).await)
    }

    /// Signs `name` up with `email` and confirms it (the emulator takes any code).
    async fn register(&self, email: &str, name: &str) {
        let (s, b) = self
            .post(
                "/auth/sign-up",
                None,
                json!({"email": email, "fullName": name, "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = self
            .post(
                "/auth/confirm-sign-up",
                None,
                json!({"email": email, "confirmationCode": "123456"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    async fn sign_in(&self, email: &str) -> Value {
        let (s, b) = self
            .post("/auth/sign-in", None, json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(s, 200, "{b}");
        b["tokens"].clone()
    }

    /// Polls `path` until `done` holds (events and workflows are asynchronous).
    async fn eventually(&self, path: &str, token: Option<&str>, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let (s, b) = self.get(path, token).await;
            if s == StatusCode::OK && done(&b) {
                return b;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting on {path}: {s} {b}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Appends the exchange to `target/tmp/e2e-exchanges.jsonl`; `scripts/openapi_check.py`
/// validates every recorded response against `openapi.yaml`.
fn record(method: &str, path: &str, status: StatusCode, body: &str) {
    use std::io::Write;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let path = path.split('?').next().unwrap_or(path);
    let line = json!({"method": method, "path": path, "status": status.as_u16(), "body": body}).to_string();
    let _guard = LOCK.lock();
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-exchanges.jsonl");
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
        let _ = writeln!(f, "{line}");
    }
}

fn id_token(tokens: &Value) -> String {
    tokens["IdToken"].as_str().unwrap().to_owned()
}

async fn make_admin(r: &Running, full_name: &str) {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&r.emulator.sdk_config());
    shop_core::accounts::Accounts::new(cognito, &r.info.resources.pool.user_pool_id)
        .add_to_admins(&auth::model::username_for(full_name))
        .await
        .unwrap();
}

async fn put(url: &str, content_type: &str) {
    assert_eq!(shop_tests::upload(url, content_type, PNG).await, 200, "upload to {url}");
}

/// The Products table of the runner's stack, written and read as the product service does.
fn products_of(r: &Running) -> product::store::ProductsTable {
    let db = aws_sdk_dynamodb::Client::new(&r.emulator.sdk_config());
    product::store::ProductsTable::new(db, &r.info.resources.tables["products"])
}
#[tokio::test]
async fn the_whole_shop_works_end_to_end() {
    let r = runner().await;
    let api = Api::new(&r);
    let c = cast(&r, &api).await;
    images_appear_in_the_listings(&api, &c).await;
    let sneaker = a_listed_product_is_reviewed_and_approved(&r, &api, &c).await;
    an_order_ships_and_its_stock_falls(&api, &c, &sneaker).await;
    the_shipping_email_follows_the_status(&api, &c).await;
    let (lace, cart) = a_paid_cart_is_checked_reserved_and_charged_together(&api, &c, &sneaker).await;
    the_business_metrics_count_the_walk(&api).await;
    let (secured, intent) = a_3ds_order_waits_for_the_customer(&r, &api, &c, &lace).await;
    a_cancelled_paid_cart_returns_its_stock_and_money(&api, &c, &sneaker, &lace, &cart).await;
    a_dispute_counts_only_when_signed_with_the_stage_secret(&r, &api, &c, &secured, &intent).await;
    an_admin_refunds_a_line_once(&api, &c, &secured).await;
    cors_is_answered_as_api_gateway_answers_it(&r).await;
    sign_out_revokes_the_refresh_token(&api, &c).await;
    r.stop().await;
}

/// The walk's people: an admin, a seller and a buyer, each signed up, confirmed and signed in.
struct Cast {
    admin: String,
    seller: String,
    seller_email: String,
    buyer: String,
    buyer_email: String,
    buyer_tokens: Value,
}

async fn cast(r: &Running, api: &Api) -> Cast {
    let admin_name = format!("Admin {}", unique("a"));
    let (admin_email, _) = api.user(&admin_name).await;
    make_admin(r, &admin_name).await;
    let admin = id_token(&api.sign_in(&admin_email).await);
    let (seller_email, seller_tokens) = api.user(&format!("Seller {}", unique("s"))).await;
    let seller = id_token(&seller_tokens);
    let (buyer_email, buyer_tokens) = api.user(&format!("Buyer {}", unique("b"))).await;
    let buyer = id_token(&buyer_tokens);
    Cast {
        admin,
        seller,
        seller_email,
        buyer,
        buyer_email,
        buyer_tokens,
    }
}

/// Banner and category images, uploaded for real, appear in the listings.
async fn images_appear_in_the_listings(api: &Api, c: &Cast) {
    let (s, b) = api
        .post(
            "/banner/upload-url",
            Some(&c.admin),
            json!({"fileName": "hero.png", "fileType": "image/png"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    put(b["uploadURL"].as_str().unwrap(), "image/png").await;
    let banners = api
        .eventually("/banner/banners", None, |b| {
            b["banners"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let image = reqwest::get(banners["banners"][0]["imageUrl"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(image.status(), 200, "the CDN stand-in does not serve the banner");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(&image.bytes().await.unwrap()[..], PNG);

    let (s, b) = api
        .post(
            "/category/upload-url",
            Some(&c.admin),
            json!({"fileName": "shoes.png", "fileType": "image/png", "categoryName": "Shoes"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    put(b["uploadUrl"].as_str().unwrap(), "image/png").await;
    let cats = api
        .eventually("/category/categories", None, |b| {
            b.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(cats[0]["categoryName"], "Shoes");
}

/// A seller lists a product; an admin approves it.
async fn a_listed_product_is_reviewed_and_approved(r: &Running, api: &Api, c: &Cast) -> String {
    let (s, b) = api
        .post(
            "/product/get-upload-url",
            Some(&c.seller),
            json!({"fileName": "sneaker.png", "fileType": "image/png", "productName": "Sneaker", "productPrice": 49.9,
                   "description": "Light and fast.", "quantity": 5, "category": "Shoes"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let product_id = b["productId"].as_str().unwrap().to_owned();
    put(b["uploadUrl"].as_str().unwrap(), "image/png").await;
    let pending = api
        .eventually("/product/pending-products", Some(&c.admin), |b| {
            b["products"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    // Under review the image is reachable through the admin's short-lived link only, not the CDN.
    let review = reqwest::get(pending["products"][0]["reviewImageUrl"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(review.status(), 200);
    assert_eq!(&review.bytes().await.unwrap()[..], PNG);
    assert!(pending["products"][0]["imageUrl"].is_null(), "{pending}");
    let cdn_url = format!(
        "{}/_local/cdn/{}/{product_id}/sneaker.png",
        r.info.api_url, r.info.resources.buckets["product-images"].name
    );
    let before = reqwest::get(&cdn_url).await.unwrap();
    assert_eq!(before.status(), 404, "an unapproved product's image is on the CDN");
    let (s, b) = api
        .post("/product/approve-product", Some(&c.admin), json!({"id": product_id}))
        .await;
    assert_eq!(s, 200, "{b}");
    let after = reqwest::get(&cdn_url).await.unwrap();
    assert_eq!(after.status(), 200, "the approved product's image is not on the CDN");
    assert_eq!(&after.bytes().await.unwrap()[..], PNG);
    let listed = api
        .eventually("/product/approve-products?category=Shoes", None, |b| {
            b["products"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    assert_eq!(listed["products"][0]["productPrice"].to_string(), "49.9");
    assert_eq!(listed["products"][0]["imageUrl"], cdn_url.as_str());
    product_id
}

/// A buyer orders; the workflow ships it and decrements stock.
async fn an_order_ships_and_its_stock_falls(api: &Api, c: &Cast, product_id: &str) {
    let (s, b) = api
        .post(
            "/order/create-order",
            Some(&c.buyer),
            json!({"id": product_id, "quantity": 2}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let order_id = b["orderId"].as_str().unwrap().to_owned();
    let order = api
        .eventually(&format!("/order/orders/{order_id}"), Some(&c.buyer), |o| {
            o["status"] == "shipping"
        })
        .await;
    assert_eq!(order["total"].to_string(), "99.8");
    let listed = api
        .eventually("/product/approve-products", None, |b| b["products"][0]["quantity"] == 3)
        .await;
    assert_eq!(listed["products"][0]["id"], product_id);
    let (_, mine) = api.get("/order/orders", Some(&c.buyer)).await;
    assert_eq!(mine["orders"][0]["id"], order_id.as_str());
    let (s, _) = api.get(&format!("/order/orders/{order_id}"), Some(&c.seller)).await;
    assert_eq!(s, 404, "another user's order must look missing");
}

/// The shipping email follows the status change: wait for it.
async fn the_shipping_email_follows_the_status(api: &Api, c: &Cast) {
    let mails = api
        .eventually("/_local/emails", None, |m| {
            m["emails"].as_array().is_some_and(|all| {
                all.iter().any(|e| {
                    e["subject"] == "Sneaker now shipping"
                        && e["to"]
                            .as_array()
                            .is_some_and(|to| to.iter().any(|t| t == &c.buyer_email))
                })
            })
        })
        .await;
    let to = |who: &str| -> Vec<String> {
        mails["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == who))
            .map(|m| m["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        to(&c.buyer_email).contains(&"Sneaker now shipping".to_owned()),
        "{mails}"
    );
    assert!(
        to(&c.buyer_email).iter().any(|s| s.starts_with("Order received")),
        "{mails}"
    );
    assert!(to(&c.seller_email).iter().any(|s| s.contains("approved")), "{mails}");
}

/// A cart: a second product, then one order of both, checked line by line and reserved together.
async fn a_paid_cart_is_checked_reserved_and_charged_together(
    api: &Api,
    c: &Cast,
    product_id: &str,
) -> (String, String) {
    let (s, b) = api
        .post(
            "/product/get-upload-url",
            Some(&c.seller),
            json!({"fileName": "lace.png", "fileType": "image/png", "productName": "Lace", "productPrice": 2.5,
                   "description": "Spare laces.", "quantity": 4, "category": "Shoes"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let lace = b["productId"].as_str().unwrap().to_owned();
    put(b["uploadUrl"].as_str().unwrap(), "image/png").await;
    api.eventually("/product/pending-products", Some(&c.admin), |b| {
        b["products"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p["id"] == lace))
    })
    .await;
    let (s, b) = api
        .post("/product/approve-product", Some(&c.admin), json!({"id": lace}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api
        .post(
            "/order/create-order",
            Some(&c.buyer),
            json!({"items": [{"id": product_id, "quantity": 4}, {"id": lace, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["code"].as_str()),
        (400, Some("InsufficientStock")),
        "{b}"
    );
    assert_eq!(b["lines"], json!([{"line": 1, "id": product_id}]));
    // The cart is paid: the card is authorized when it is placed, charged once it is reserved.
    let (s, b) = api
        .post(
            "/order/create-order",
            Some(&c.buyer),
            json!({"items": [{"id": product_id, "quantity": 1}, {"id": lace, "quantity": 3}],
                   "paymentMethod": "pm_card_visa"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["payment"],
        json!({"status": "authorized", "amount": 57.4, "currency": "usd"})
    );
    let cart_id = b["orderId"].as_str().unwrap().to_owned();
    let cart = api
        .eventually(&format!("/order/orders/{cart_id}"), Some(&c.buyer), |o| {
            o["status"] == "shipping" && o["payment"]["status"] == "captured"
        })
        .await;
    assert_eq!(cart["total"].to_string(), "57.4", "{cart}");
    assert_eq!(cart["items"].as_array().map(Vec::len), Some(2), "{cart}");
    assert!(cart.get("productId").is_none(), "{cart}");
    let stocks = api
        .eventually("/product/approve-products?category=Shoes", None, |b| {
            b["products"].as_array().is_some_and(|a| {
                a.iter().any(|p| p["id"] == product_id && p["quantity"] == 2)
                    && a.iter().any(|p| p["id"] == lace && p["quantity"] == 1)
            })
        })
        .await;
    assert_eq!(stocks["products"].as_array().map(Vec::len), Some(2), "{stocks}");
    (lace, cart_id)
}

/// The business metrics, counted from the EMF lines order/status-changed emits for this stack's
/// own stream: two orders accepted, two shipped, nothing else; and the walk's three sign-ups
/// (auth/sign-up counts each: the sign-up alarm watches the count) with their three code
/// emails (the pool's CustomMessage trigger counts each).
async fn the_business_metrics_count_the_walk(api: &Api) {
    let metrics = api
        .eventually("/_local/metrics", None, |m| {
            m["metrics"]["OrdersShipped"] == 2 && m["metrics"]["PaymentsCaptured"] == 1
        })
        .await;
    assert_eq!(
        metrics["metrics"],
        json!({"OrdersAccepted": 2, "OrdersShipped": 2,
               "PaymentsAuthorized": 1, "PaymentsAuthorizedCents": 5740,
               "PaymentsCaptured": 1, "PaymentsCapturedCents": 5740, "SignUps": 3, "CodeEmails": 3}),
        "{metrics}"
    );
}

/// A card that needs 3-D Secure: the order waits, unqueued, until the customer finishes it in
/// the browser; the local Stripe then tells the runner's webhook, which queues it.
async fn a_3ds_order_waits_for_the_customer(r: &Running, api: &Api, c: &Cast, lace: &str) -> (String, String) {
    let (s, b) = api
        .post(
            "/order/create-order",
            Some(&c.buyer),
            json!({"id": lace, "quantity": 1, "paymentMethod": "pm_card_authenticationRequired"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["payment"]["status"].as_str()),
        (202, Some("action_required")),
        "{b}"
    );
    let secured = b["orderId"].as_str().unwrap().to_owned();
    let (_, pending) = api.get(&format!("/order/orders/{secured}"), Some(&c.buyer)).await;
    assert_eq!(pending["status"], "pending");
    // What Stripe.js gets: the client secret, `<intent id>_secret_<...>`.
    let client_secret = b["payment"]["clientSecret"].as_str().unwrap().to_owned();
    let intent = client_secret.split("_secret_").next().unwrap().to_owned();
    let local_stripe = shop_local::stripe::Stripe {
        endpoint: r.info.payment_api_url.clone(),
    };
    assert!(local_stripe.complete_3ds(&client_secret).await.unwrap());
    api.eventually(&format!("/order/orders/{secured}"), Some(&c.buyer), |o| {
        o["status"] == "shipping" && o["payment"]["status"] == "captured"
    })
    .await;
    (secured, intent)
}

/// The buyer cancels the paid cart: its stock comes back and the charge is refunded.
async fn a_cancelled_paid_cart_returns_its_stock_and_money(
    api: &Api,
    c: &Cast,
    product_id: &str,
    lace: &str,
    cart_id: &str,
) {
    let (s, b) = api
        .post(&format!("/order/orders/{cart_id}/cancel"), Some(&c.buyer), json!({}))
        .await;
    assert_eq!((s.as_u16(), b["status"].as_str()), (200, Some("cancelled")), "{b}");
    api.eventually(&format!("/order/orders/{cart_id}"), Some(&c.buyer), |o| {
        o["payment"]["status"] == "refunded"
    })
    .await;
    api.eventually("/product/approve-products?category=Shoes", None, |b| {
        b["products"].as_array().is_some_and(|a| {
            a.iter().any(|p| p["id"] == product_id && p["quantity"] == 3)
                && a.iter().any(|p| p["id"] == lace && p["quantity"] == 3)
        })
    })
    .await;
}

/// A dispute reaches the webhook signed with the stage's secret; a forged one does not count.
async fn a_dispute_counts_only_when_signed_with_the_stage_secret(
    r: &Running,
    api: &Api,
    c: &Cast,
    secured: &str,
    intent: &str,
) {
    let secret = aws_sdk_secretsmanager::Client::new(&r.emulator.sdk_config())
        .get_secret_value()
        .secret_id(&r.info.resources.secrets["payment-provider"])
        .send()
        .await
        .unwrap();
    let secret: Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    let webhook_secret = secret["webhookSecret"].as_str().unwrap();
    let dispute = json!({
        "id": unique("evt"), "type": "charge.dispute.created",
        "data": { "object": { "id": "dp_e2e", "object": "dispute", "payment_intent": intent,
                              "amount": 2500, "currency": "usd", "reason": "fraudulent" } },
    })
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let forged = order::payment::signature::sign("whsec_attacker", dispute.as_bytes(), now);
    let (s, _) = api.webhook(&dispute, &forged).await;
    assert_eq!(s, 400);
    let signed = order::payment::signature::sign(webhook_secret, dispute.as_bytes(), now);
    let (s, b) = api.webhook(&dispute, &signed).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api.webhook(&dispute, &signed).await;
    assert_eq!((s.as_u16(), b["duplicate"].as_bool()), (200, Some(true)), "{b}");
    let (_, disputed) = api.get(&format!("/order/orders/{secured}"), Some(&c.buyer)).await;
    assert_eq!(disputed["payment"]["disputed"], true, "{disputed}");
}

/// An admin refunds the 3-D Secure order's only line: money only, once.
async fn an_admin_refunds_a_line_once(api: &Api, c: &Cast, secured: &str) {
    let refund_path = format!("/order/orders/{secured}/refund");
    let refund_line_1 = || api.post(&refund_path, Some(&c.admin), json!({"lines": [1]}));
    let (s, b) = refund_line_1().await;
    assert_eq!(
        (s.as_u16(), b["payment"]["status"].as_str()),
        (200, Some("refunded")),
        "{b}"
    );
    let (s, b) = refund_line_1().await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (409, Some("NothingToRefund")), "{b}");
}

/// CORS as API Gateway applies the stage's configuration: a preflight is answered by the
/// gateway; an answer carries CORS headers only when the request had an Origin.
async fn cors_is_answered_as_api_gateway_answers_it(r: &Running) {
    let http = reqwest::Client::new();
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/order/create-order", r.info.api_url),
        )
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let header = |resp: &reqwest::Response, h: &str| resp.headers().get(h).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header(&preflight, "access-control-allow-origin").as_deref(), Some("*"));
    assert_eq!(
        header(&preflight, "access-control-allow-methods").as_deref(),
        Some("GET,POST,OPTIONS")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers").as_deref(),
        Some("Content-Type,Authorization,Idempotency-Key")
    );
    assert_eq!(header(&preflight, "access-control-max-age").as_deref(), Some("3600"));
    let from_a_page = http
        .get(format!("{}/banner/banners", r.info.api_url))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&from_a_page, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(
        header(&from_a_page, "access-control-expose-headers").as_deref(),
        Some("x-next-token")
    );
    assert_eq!(
        header(&from_a_page, "access-control-allow-methods"),
        None,
        "only a preflight names methods"
    );
    let from_a_server = reqwest::get(format!("{}/banner/banners", r.info.api_url))
        .await
        .unwrap();
    assert_eq!(
        header(&from_a_server, "access-control-allow-origin"),
        None,
        "no Origin, no CORS headers"
    );
    // The auth API is a REST API (a WAF fronts it): its functions get payload 1.0 and add the
    // stage's CORS headers themselves, which it passes on, Origin or not.
    let from_the_auth_api = http
        .post(format!("{}/auth/sign-in", r.info.api_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(from_the_auth_api.status(), 400);
    assert_eq!(
        header(&from_the_auth_api, "access-control-allow-origin").as_deref(),
        Some("*")
    );
}

/// Until sign-out, the refresh token mints new tokens; sign-out revokes it.
async fn sign_out_revokes_the_refresh_token(api: &Api, c: &Cast) {
    let refresh = || {
        api.post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": c.buyer_tokens["RefreshToken"]}),
        )
    };
    let (s, b) = refresh().await;
    assert_eq!(s, 200, "{b}");
    assert!(b["tokens"]["IdToken"].is_string(), "{b}");
    let (s, _) = api
        .post(
            "/auth/sign-out",
            None,
            json!({"accessToken": c.buyer_tokens["AccessToken"]}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = refresh().await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn an_account_turns_on_totp_and_then_signs_in_with_a_code() {
    let r = runner().await;
    let api = Api::new(&r);
    let (email, tokens) = api.user(&format!("Careful {}", unique("c"))).await;
    let access = tokens["AccessToken"].clone();
    let (s, setup) = api.post("/auth/mfa/setup", None, json!({"accessToken": access})).await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secretCode"].as_str().unwrap().to_owned();
    let code = shop_tests::totp_now(&secret).await;
    let (s, b) = api
        .post(
            "/auth/mfa/verify",
            None,
            json!({"accessToken": access, "code": shop_tests::other_code(&code)}),
        )
        .await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (400, Some("CodeMismatch")), "{b}");
    let (s, b) = api
        .post("/auth/mfa/verify", None, json!({"accessToken": access, "code": code}))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, challenged) = api
        .post("/auth/sign-in", None, json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(
        (s.as_u16(), challenged["challenge"].as_str()),
        (200, Some("SOFTWARE_TOKEN_MFA")),
        "{challenged}"
    );
    let code = shop_tests::totp_now(&secret).await;
    let answer = json!({"email": email, "session": challenged["session"], "code": code});
    let (s, signed) = api.post("/auth/mfa/sign-in", None, answer.clone()).await;
    assert_eq!(s, 200, "{signed}");
    // The new ID token opens protected routes.
    let id = signed["tokens"]["IdToken"].as_str().unwrap();
    let (s, b) = api.get("/order/orders", Some(id)).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api.post("/auth/mfa/sign-in", None, answer).await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (401, Some("InvalidToken")), "{b}");
    r.stop().await;
}

/// Where the stage requires MFA for admins (staging, prod), an admin route opens only to a session
/// signed in with a code: not before TOTP is on (403 `MfaRequired`), not to an ID token or a refresh
/// token of a sign-in from before TOTP was turned on (both valid for up to an hour and 30 days
/// before this), and not to a disabled account, at its next request.
#[tokio::test]
async fn where_the_stage_requires_mfa_only_a_sign_in_with_a_code_opens_admin_routes() {
    let r = runner_with(|o| o.stage.admin_mfa_required = true).await;
    let api = Api::new(&r);
    let name = format!("Guarded {}", unique("a"));
    let (email, _) = api.user(&name).await;
    make_admin(&r, &name).await;
    let before = api.sign_in(&email).await; // the group is in tokens minted from now on
    let old_id = id_token(&before);
    let body = json!({"fileName": "b.png", "fileType": "image/png"});
    let ask = |token: String| {
        let body = body.clone();
        let api = &api;
        async move { api.post("/banner/upload-url", Some(&token), body).await }
    };
    let (s, b) = ask(old_id.clone()).await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (403, Some("MfaRequired")), "{b}");

    // TOTP on, through the API, with the password-only session's access token.
    let access = before["AccessToken"].clone();
    let (s, setup) = api.post("/auth/mfa/setup", None, json!({"accessToken": access})).await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secretCode"].as_str().unwrap().to_owned();
    let code = shop_tests::totp_now(&secret).await;
    let (s, b) = api
        .post("/auth/mfa/verify", None, json!({"accessToken": access, "code": code}))
        .await;
    assert_eq!(s, 200, "{b}");
    // The account has TOTP now, but this ID token's sign-in had no code.
    let (s, b) = ask(old_id).await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (401, Some("Unauthorized")), "{b}");
    let (s, b) = api
        .post(
            "/auth/refresh-token",
            None,
            json!({"refreshToken": before["RefreshToken"]}),
        )
        .await;
    assert_eq!(
        s, 401,
        "a refresh token of the password-only sign-in still mints tokens: {b}"
    );

    // A sign-in with a code (sessions count from the second after TOTP was turned on).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, challenged) = api
        .post("/auth/sign-in", None, json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(s, 200, "{challenged}");
    let code = shop_tests::totp_now(&secret).await;
    let (s, signed) = api
        .post(
            "/auth/mfa/sign-in",
            None,
            json!({"email": email, "session": challenged["session"], "code": code}),
        )
        .await;
    assert_eq!(s, 200, "{signed}");
    let new_id = id_token(&signed["tokens"]);
    let (s, b) = ask(new_id.clone()).await;
    assert_eq!(s, 200, "{b}");

    // Disabled (the usual incident response): refused at the next admin request.
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&r.emulator.sdk_config());
    cognito
        .admin_disable_user()
        .user_pool_id(&r.info.resources.pool.user_pool_id)
        .username(auth::model::username_for(&name))
        .send()
        .await
        .unwrap();
    let (s, b) = ask(new_id).await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (401, Some("Unauthorized")), "{b}");
    r.stop().await;
}

#[tokio::test]
async fn protected_routes_refuse_missing_forged_expired_and_non_admin_tokens() {
    let r = runner().await;
    let api = Api::new(&r);
    let (_, tokens) = api.user(&format!("Plain {}", unique("u"))).await;
    let user = id_token(&tokens);
    let decl = declaration::load().unwrap();

    // A forged token: the real one with its payload swapped (the signature no longer matches).
    let parts: Vec<&str> = user.split('.').collect();
    use base64::Engine;
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"sub": "x", "cognito:groups": ["admins"], "aud": r.info.resources.pool.client_id, "exp": 4_000_000_000u64}).to_string(),
    );
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);

    for s in &decl.services {
        for f in &s.functions {
            let Some(route) = &f.http else { continue };
            if route.auth == declaration::Auth::None {
                continue;
            }
            let path = format!("{}{}", s.prefix, route.path.replace("{id}", "some-id"));
            for token in [None, Some(forged.as_str()), Some("not.a.jwt")] {
                let (status, body) = api.call(&route.method, &path, token, Some(json!({}))).await;
                assert_eq!(status, 401, "{} {path} with {token:?}: {body}", route.method);
            }
            if route.auth == declaration::Auth::Admin {
                let (status, body) = api.call(&route.method, &path, Some(&user), Some(json!({}))).await;
                assert_eq!(status, 403, "{} {path} as a non-admin: {body}", route.method);
            }
        }
    }

    // Expiry, issuer and audience as the authorizer checks them.
    let verifier = Verifier::new(
        &r.emulator.endpoint,
        "ORIGINAL",
        &r.emulator.region,
        &r.info.resources.pool.user_pool_id,
        &r.info.resources.pool.client_id,
    );
    let bearer = format!("Bearer {user}");
    let now = shop_local::jwt::now();
    assert!(verifier.verify(Some(&bearer), now).await.is_ok());
    assert_eq!(
        verifier.verify(Some(&bearer), now + 2 * 3600).await,
        Err(shop_local::jwt::JwtError::Expired)
    );
    let other_client = Verifier::new(
        &r.emulator.endpoint,
        "ORIGINAL",
        &r.emulator.region,
        &r.info.resources.pool.user_pool_id,
        "another-client",
    );
    assert_eq!(
        other_client.verify(Some(&bearer), now).await,
        Err(shop_local::jwt::JwtError::WrongAudience)
    );
    let access = format!("Bearer {}", tokens["AccessToken"].as_str().unwrap());
    assert!(
        verifier.verify(Some(&access), now).await.is_ok(),
        "access tokens carry client_id instead of aud"
    );
    r.stop().await;
}

#[tokio::test]
async fn every_declared_route_reaches_its_handler_and_each_service_binary_serves_exactly_its_declared_functions() {
    let r = runner().await;
    let api = Api::new(&r);
    let decl = declaration::load().unwrap();
    // Valid tokens, so protected routes get past the authorizer to their handler.
    let (_, user_tokens) = api.user(&format!("Route User {}", unique("u"))).await;
    let user = id_token(&user_tokens);
    let admin_name = format!("Route Admin {}", unique("a"));
    let (admin_email, _) = api.user(&admin_name).await;
    make_admin(&r, &admin_name).await;
    let admin = id_token(&api.sign_in(&admin_email).await);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for s in &decl.services {
        // One binary per service, `shop-<service>`, serving exactly the declared functions.
        let on_disk: Vec<String> = std::fs::read_dir(root.join("lambdas").join(&s.name).join("src/bin"))
            .unwrap()
            .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(on_disk, [format!("shop-{}", s.name)], "binaries of {}", s.name);
        let served: &[&str] = match s.name.as_str() {
            "auth" => auth::FUNCTIONS,
            "banner" => banner::FUNCTIONS,
            "category" => category::FUNCTIONS,
            "product" => product::FUNCTIONS,
            "order" => order::FUNCTIONS,
            other => panic!("service {other} has no binary"),
        };
        let mut served: Vec<&str> = served.to_vec();
        served.sort_unstable();
        let mut declared: Vec<&str> = s.functions.iter().map(|f| f.name.as_str()).collect();
        declared.sort_unstable();
        assert_eq!(
            served, declared,
            "the shop-{} binary serves other functions than the declaration",
            s.name
        );
        for f in &s.functions {
            let Some(route) = &f.http else { continue };
            let path = format!("{}{}", s.prefix, route.path.replace("{id}", "x"));
            let token = match route.auth {
                declaration::Auth::None => None,
                declaration::Auth::User => Some(user.as_str()),
                declaration::Auth::Admin => Some(admin.as_str()),
            };
            let (status, body) = api.call(&route.method, &path, token, Some(json!({}))).await;
            assert_ne!(body["code"], "NoSuchRoute", "{path}");
            assert!(status.as_u16() < 500, "{} {path}: {status} {body}", route.method);
            // The handler answered (a 400 for the empty body, a 404, a 200), not the authorizer.
            assert!(
                !matches!(status.as_u16(), 401 | 403),
                "{} {path} with a valid token: {status} {body}",
                route.method
            );
        }
    }
    r.stop().await;
}

/// What API Gateway answers itself, the runner answers the same way: bodies `{"message"}`, never
/// ours; 404 for an unknown route or method (never 405); the authorizer's 401 with
/// `www-authenticate`, and a bare token accepted; 413 above Lambda's payload limit; repeated
/// headers joined with commas; a function past its timeout is a 500.
#[tokio::test]
async fn the_runner_answers_what_api_gateway_answers_itself_as_api_gateway_does() {
    let r = runner().await;
    let api = Api::new(&r);
    let (email, tokens) = api.user(&format!("Gate {}", unique("u"))).await;
    let user = id_token(&tokens);
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", r.info.api_url);
    let answer = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, challenge, resp.json::<Value>().await.unwrap_or(Value::Null))
    };

    let (s, b) = api.get("/nowhere", None).await;
    assert_eq!((s.as_u16(), &b), (404, &json!({"message": "Not Found"})));
    let wrong_method = http.delete(url("/order/orders")).send().await.unwrap();
    assert!(wrong_method.headers().get("allow").is_none());
    let (s, _, b) = answer(wrong_method).await;
    assert_eq!(
        (s, b),
        (404, json!({"message": "Not Found"})),
        "a wrong method is a 404, not a 405"
    );

    let (s, challenge, b) = answer(http.get(url("/order/orders")).send().await.unwrap()).await;
    assert_eq!(
        (s, b, challenge.as_deref()),
        (401, json!({"message": "Unauthorized"}), Some("Bearer"))
    );
    let (s, challenge, _) = answer(
        http.get(url("/order/orders"))
            .bearer_auth("not.a.jwt")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401);
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    // A body without a Content-Type reaches the function base64-encoded, and is read all the same.
    let untyped = json!({"email": email, "password": PASSWORD}).to_string();
    let (s, _, b) = answer(http.post(url("/auth/sign-in")).body(untyped).send().await.unwrap()).await;
    assert_eq!(s, 200, "{b}");
    let bare = http
        .get(url("/order/orders"))
        .header("authorization", &user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.status(),
        200,
        "API Gateway takes the token without its Bearer prefix"
    );

    let huge = vec![b'x'; shop_local::gateway::MAX_EVENT_BYTES + 1];
    let (s, _, b) = answer(
        http.post(url("/order/create-order"))
            .bearer_auth(&user)
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, b), (413, json!({"message": "Request Entity Too Large"})));

    // Idempotency-Key twice: the handler sees "k1,k2", the same as one header saying so.
    let product = {
        let id = unique("gate-product");
        let gate = product::model::Product {
            quantity: 10,
            ..shop_tests::sample_product(&id, product::model::Status::Approved, Duration::ZERO)
        };
        products_of(&r).put_new(&gate).await.unwrap();
        id
    };
    let order = |keys: &[&str]| {
        let mut req = http
            .post(url("/order/create-order"))
            .bearer_auth(&user)
            .json(&json!({"id": product, "quantity": 1}));
        for k in keys {
            req = req.header("idempotency-key", *k);
        }
        req.send()
    };
    let (k1, k2) = (unique("k1"), unique("k2"));
    let (s, _, twice) = answer(order(&[&k1, &k2]).await.unwrap()).await;
    assert_eq!(s, 201, "{twice} ({email})");
    let (s, _, joined) = answer(order(&[&format!("{k1},{k2}")]).await.unwrap()).await;
    assert_eq!(s, 201, "{joined}");
    assert_eq!(
        twice["orderId"], joined["orderId"],
        "repeated headers arrive joined with commas"
    );

    // Throttling: sign-in's strict limit (a burst of 20, then 10/s) answers API Gateway's 429.
    let burst = shop_local::stage::values("local").unwrap().auth_burst_limit as usize;
    let body = json!({"email": email, "password": PASSWORD});
    let at_once = futures::future::join_all(
        (0..burst + 10)
            .map(|_| async { answer(http.post(url("/auth/sign-in")).json(&body).send().await.unwrap()).await }),
    )
    .await;
    let throttled = at_once.iter().filter(|(s, _, _)| *s == 429).count();
    for (_, _, b) in at_once.iter().filter(|(s, _, _)| *s == 429) {
        assert_eq!(b, &json!({"message": "Too Many Requests"}));
    }
    assert!(throttled >= 5, "{throttled} of {} sign-ins throttled", burst + 10);
    r.stop().await;

    // Stalled AWS calls. One call stalled past the SDK's operation timeout (8 s): the handler
    // answers its own 503 before its function's timeout (10 s). Calls of 4 s each, four in a row
    // (a sign-up): the function outlives its timeout, and API Gateway answers 500.
    let chaos =
        std::sync::Arc::new(shop_local::chaos::Chaos::new(1.0, vec![shop_local::chaos::Fault::SlowCall]).unwrap());
    let stalled = runner_with(|o| o.chaos = chaos.clone()).await;
    let started = Instant::now();
    chaos.set_slow_calls(Duration::from_secs(11));
    let slow_url = |p: &str| format!("{}{p}", stalled.info.api_url);
    let (s, _, b) = answer(http.get(slow_url("/banner/banners")).send().await.unwrap()).await;
    assert_eq!((s, b["code"].as_str()), (503, Some("ServiceUnavailable")), "{b}");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "the handler answered at the SDK's timeout: {waited:?}"
    );
    chaos.set_slow_calls(Duration::from_secs(4));
    let started = Instant::now();
    let body =
        json!({"email": format!("{}@example.com", unique("slow")), "fullName": "Slow Sam", "password": PASSWORD});
    let (s, _, b) = answer(http.post(slow_url("/auth/sign-up")).json(&body).send().await.unwrap()).await;
    assert_eq!((s, b), (500, json!({"message": "Internal Server Error"})));
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "answered at the function's timeout"
    );
    stalled.stop().await;
}

/// A runner whose schedules run every second and find everything stale at once: cleanups and the
/// reconciler act on what this test leaves for them.
async fn eager_runner() -> Running {
    runner_with(|o| {
        o.cleanup_interval = Duration::from_secs(1);
        o.stage.cleanup_max_age_seconds = 0;
        o.stage.reconcile_after_seconds = 0;
    })
    .await
}

/// The paths the whole-shop walk does not take, through the runner (so the least-privilege check
/// sees their AWS calls): rejection, a failed approval, resend, both cleanups deleting, the
/// reconciler re-driving one order and giving up on another.
#[tokio::test]
async fn rejections_cleanups_and_reconciles_work_through_the_runner() {
    let r = eager_runner().await;
    let api = Api::new(&r);
    let db = aws_sdk_dynamodb::Client::new(&r.emulator.sdk_config());
    let admin_name = format!("Admin {}", unique("a"));
    let (admin_email, _) = api.user(&admin_name).await;
    make_admin(&r, &admin_name).await;
    let admin = id_token(&api.sign_in(&admin_email).await);
    let (_, seller_tokens) = api.user(&format!("Seller {}", unique("s"))).await;
    let seller = id_token(&seller_tokens);

    // Resend for a confirmed user: the same 200 as for anyone (no email goes out).
    let (s, b) = api
        .post("/auth/resend-confirmation-code", None, json!({"email": admin_email}))
        .await;
    assert_eq!(s.as_u16(), 200, "{b}");

    // Scripts disguised as images are deleted by each image handler and counted; nothing is
    // listed or waits for review.
    let script = b"<script>fetch('/steal')</script>0123";
    let asks = [
        (
            "/banner/upload-url",
            "uploadURL",
            json!({"fileName": "evil.png", "fileType": "image/png", "fileSize": 36}),
        ),
        (
            "/category/upload-url",
            "uploadUrl",
            json!({"fileName": "evil.png", "fileType": "image/png", "categoryName": unique("evil")}),
        ),
        (
            "/product/get-upload-url",
            "uploadUrl",
            json!({"fileName": "evil.png", "fileType": "image/png", "productName": "Evil",
            "productPrice": 1, "description": "d", "quantity": 1, "category": "c"}),
        ),
    ];
    for (route, field, body) in asks {
        let token = if route.starts_with("/product") { &seller } else { &admin };
        let (s, b) = api.post(route, Some(token), body).await;
        assert_eq!(s, 200, "{route}: {b}");
        assert_eq!(
            shop_tests::upload(b[field].as_str().unwrap(), "image/png", script).await,
            200
        );
    }
    api.eventually("/_local/metrics", None, |m| m["metrics"]["UploadsRejected"] == 3)
        .await;
    let (_, banners) = api.get("/banner/banners", None).await;
    assert_eq!(banners["banners"], json!([]), "{banners}");
    let (_, pending) = api.get("/product/pending-products", Some(&admin)).await;
    assert_eq!(pending["products"], json!([]), "{pending}");

    // A product waiting for review, rejected with a reason; an approval of a missing one.
    let product = product::model::Product {
        product_name: "Boot".into(),
        product_price: shop_core::money::Money::from_cents(2500),
        quantity: 3,
        category: "Shoes".into(),
        file_name: "b.png".into(),
        object_key: "x/b.png".into(),
        image_url: Some("http://img/b.png".into()),
        uploaded_at: None,
        seller_email: Some(admin_email.clone()),
        ..shop_tests::sample_product(&unique("p"), product::model::Status::PendingReview, Duration::ZERO)
    };
    products_of(&r).put_new(&product).await.unwrap();
    let (s, b) = api
        .post(
            "/product/reject-product",
            Some(&admin),
            json!({"id": product.id, "reason": "blurry"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api
        .post("/product/approve-product", Some(&admin), json!({"id": "missing"}))
        .await;
    assert_eq!((s.as_u16(), b["code"].as_str()), (404, Some("ProductNotFound")), "{b}");

    // Upload URLs nobody uses: both cleanups delete the records (maximum age zero here).
    let category = format!("c{}", unique("x").replace('-', ""));
    let (s, b) = api
        .post(
            "/category/upload-url",
            Some(&admin),
            json!({"fileName": "c.png", "fileType": "image/png", "categoryName": category}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = api
        .post(
            "/product/get-upload-url",
            Some(&seller),
            json!({"fileName": "p.png", "fileType": "image/png", "productName": "Hat", "productPrice": 5,
                   "description": "d", "quantity": 1, "category": "Hats"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let stale_product = b["productId"].as_str().unwrap().to_owned();

    // Two orders the queue never saw: one to re-drive, one whose re-drives ran out.
    let order = |id: &str, redrives: u32| {
        json!({
            "id": id, "productId": "gone", "productName": "Gone", "quantity": 1, "unitPrice": 1, "total": 1,
            "status": "pending", "customerId": "c", "customerEmail": admin_email,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
            "redrives": redrives, "redrivenAt": "2026-01-01T00:00:00Z"
        })
    };
    let (redrive, give_up) = (unique("o"), unique("o"));
    for (id, n) in [(&redrive, 0), (&give_up, 3)] {
        db.put_item()
            .table_name(&r.info.resources.tables["orders"])
            .set_item(Some(serde_dynamo::to_item(order(id, n)).unwrap()))
            .send()
            .await
            .unwrap();
    }

    // The orders as the order service reads them; the re-drive count only the reconciler reads.
    let orders = order::store::OrdersTable::new(db.clone(), &r.info.resources.tables["orders"]);
    let get = |table: String, id: String| {
        let db = db.clone();
        async move {
            db.get_item()
                .table_name(table)
                .key("id", aws_sdk_dynamodb::types::AttributeValue::S(id))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
        }
    };
    let started = Instant::now();
    loop {
        let failed = orders.get(&give_up).await.unwrap().map(|o| o.status);
        let redriven = get(r.info.resources.tables["orders"].clone(), redrive.clone())
            .await
            .and_then(|i| i.get("redrives").and_then(|n| n.as_n().ok().cloned()));
        let product_gone = products_of(&r).current(&stale_product).await.unwrap().is_none();
        let category_gone = db
            .get_item()
            .table_name(&r.info.resources.tables["categories"])
            .key(
                "categoryName",
                aws_sdk_dynamodb::types::AttributeValue::S(category.clone()),
            )
            .send()
            .await
            .unwrap()
            .item
            .is_none();
        if failed == Some(order::model::OrderStatus::Failed)
            && redriven.as_deref().is_some_and(|n| n != "0")
            && product_gone
            && category_gone
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "schedules did not act: failed={failed:?} redriven={redriven:?} product_gone={product_gone} category_gone={category_gone}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The hourly purge of unconfirmed sign-ups, run now as `aws lambda invoke` would (its schedule
    // keeps its declared rate: 30 s at this runner's scale).
    let (s, b) = api.post("/_local/run/auth/purge-unconfirmed", None, json!({})).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = api.post("/_local/run/auth/sign-up", None, json!({})).await;
    assert_eq!(s, 404, "only scheduled functions run on demand");
    r.stop().await;
}

/// An S3 event whose function keeps failing is tried three times (Lambda's two retries of an
/// asynchronous invocation), then kept in the failure queue with the event and the error, and
/// never delivered again.
#[tokio::test]
async fn a_failing_s3_event_is_retried_twice_then_kept_in_the_failure_queue() {
    let chaos =
        std::sync::Arc::new(shop_local::chaos::Chaos::new(1.0, vec![shop_local::chaos::Fault::Throttle]).unwrap());
    let r = runner_with(|o| o.chaos = chaos.clone()).await;
    let sdk = r.emulator.sdk_config();
    let key = format!("{}{}/failing.png", shop_core::images::UPLOADS, uuid::Uuid::new_v4());
    shop_core::aws::s3(&sdk)
        .put_object()
        .bucket(&r.info.resources.buckets["banner-images"].name)
        .key(&key)
        .content_type("image/png")
        .body(PNG.to_vec().into())
        .send()
        .await
        .unwrap();
    let kept = failure_records(&r, 1).await.remove(0);
    assert_eq!(kept["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(kept["requestContext"]["approximateInvokeCount"], 3);
    assert!(kept["requestPayload"].to_string().contains("failing.png"), "{kept}");
    // Not delivered again: the bucket's notification queue is empty.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let throttled = chaos.counts().get("throttle").copied().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        chaos.counts().get("throttle").copied().unwrap_or(0),
        throttled,
        "the event came again"
    );
    r.stop().await;
}

/// S3 delivers an event at least once. A second delivery of the event of a rejected (so deleted)
/// upload finds no object: S3 answers that 404 only to a role that may list the bucket, 403 to
/// any other (the runner answers as AWS does). The image handler may list its bucket, so the
/// repeat is a logged no-op: nothing is retried, nothing reaches the failure queue, nobody is paged.
#[tokio::test]
async fn a_repeated_s3_event_for_a_deleted_upload_leaves_the_failure_queue_empty() {
    let chaos = std::sync::Arc::new(
        shop_local::chaos::Chaos::new(1.0, vec![shop_local::chaos::Fault::DuplicateS3Event]).unwrap(),
    );
    let r = runner_with(|o| o.chaos = chaos.clone()).await;
    let sdk = r.emulator.sdk_config();
    let s3 = shop_core::aws::s3(&sdk);
    let key = format!(
        "{}{}/not-an-image.png",
        shop_core::images::UPLOADS,
        uuid::Uuid::new_v4()
    );
    s3.put_object()
        .bucket(&r.info.resources.buckets["banner-images"].name)
        .key(&key)
        .content_type("image/png")
        .body(b"not a png at all".to_vec().into())
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    while chaos.counts().get("duplicate-s3-event").copied().unwrap_or(0) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the event was never repeated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The repeat runs after the first delivery deleted the upload; give its retries (0.2 s, 0.4 s)
    // time to happen if it failed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gone = s3
        .head_object()
        .bucket(&r.info.resources.buckets["banner-images"].name)
        .key(&key)
        .send()
        .await;
    assert!(gone.is_err(), "the bad upload was not deleted");
    let kept = failure_queue_now(&r).await;
    assert!(kept.is_empty(), "the repeated event failed and was kept: {kept:?}");
    r.stop().await;
}

/// The records in the stack's failure queue now (one receive of up to 10, waiting a second).
async fn failure_queue_now(r: &Running) -> Vec<Value> {
    aws_sdk_sqs::Client::new(&r.emulator.sdk_config())
        .receive_message()
        .queue_url(&r.info.resources.queues["async-failures"].url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str::<Value>(m.body().unwrap()).unwrap())
        .collect()
}

/// The first `n` records of the stack's failure queue (the on-failure destination), waiting up
/// to 30 s for them.
async fn failure_records(r: &Running, n: usize) -> Vec<Value> {
    let started = Instant::now();
    let mut kept = Vec::new();
    while kept.len() < n {
        kept.extend(failure_queue_now(r).await);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} of {n} records reached the failure queue: {kept:?}",
            kept.len()
        );
    }
    kept
}

/// The Orders stream's mapping as the CDK app declares it (lambdas/services.json): INSERT and
/// MODIFY only, a failing batch retried twice, then bisected, then each record that still fails
/// set aside in the failure queue. Every batch fails here (`stream-error` at rate 1).
#[tokio::test]
async fn a_failing_stream_batch_is_retried_then_bisected_then_set_aside_and_removals_are_filtered_out() {
    let chaos =
        std::sync::Arc::new(shop_local::chaos::Chaos::new(1.0, vec![shop_local::chaos::Fault::StreamError]).unwrap());
    let r = runner_with(|o| o.chaos = chaos.clone()).await;
    let ddb = aws_sdk_dynamodb::Client::new(&r.emulator.sdk_config());
    let ids = [
        format!("stream-{}", uuid::Uuid::new_v4()),
        format!("stream-{}", uuid::Uuid::new_v4()),
    ];
    let item = |id: &str| {
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&r.info.resources.tables["orders"])
                    .item("id", AttributeValue::S(id.to_owned()))
                    .item("status", AttributeValue::S("pending".into()))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    // One transaction: both records are on the shard together, so one batch of two meets the function.
    ddb.transact_write_items()
        .transact_items(item(&ids[0]))
        .transact_items(item(&ids[1]))
        .send()
        .await
        .unwrap();
    let kept = failure_records(&r, 2).await;
    let mut sequences = Vec::new();
    for k in &kept {
        assert_eq!(k["requestContext"]["condition"], "RetryAttemptsExhausted", "{k}");
        assert_eq!(k["requestContext"]["approximateInvokeCount"], 3, "{k}");
        assert_eq!(k["requestContext"]["functionArn"], "order/status-changed", "{k}");
        assert_eq!(
            k["DDBStreamBatchInfo"]["batchSize"], 1,
            "bisected down to one record: {k}"
        );
        assert_eq!(
            k["DDBStreamBatchInfo"]["streamArn"],
            r.info.resources.streams["orders"].as_str()
        );
        sequences.push(
            k["DDBStreamBatchInfo"]["startSequenceNumber"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    sequences.dedup();
    assert_eq!(sequences.len(), 2, "each record set aside once: {kept:?}");
    // The batch of two: 3 attempts; then each half: 3 attempts each.
    assert_eq!(
        chaos.counts().get("stream-error").copied(),
        Some(9),
        "{:?}",
        chaos.counts()
    );
    // Removals are not delivered at all (the mapping's filter): no attempt, nothing set aside.
    for id in &ids {
        ddb.delete_item()
            .table_name(&r.info.resources.tables["orders"])
            .key("id", AttributeValue::S(id.clone()))
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        chaos.counts().get("stream-error").copied(),
        Some(9),
        "a REMOVE reached the function"
    );
    r.stop().await;
}

/// The smoke walk deploy.yml runs after every deploy, on the local stack: it passes on a working
/// stage, and a broken one fails it naming the step (the synthetic product leaking into a listing;
/// an order that cannot be placed).
#[tokio::test]
async fn the_smoke_walk_passes_on_a_working_stage_and_names_the_step_a_broken_one_fails() {
    use shop_ops::smoke;
    let r = runner_with(|_| {}).await;
    let sdk = r.emulator.sdk_config();
    let stage = smoke_stage(&r, true);
    smoke::provision(&sdk, &stage).await.unwrap();
    let passed = smoke::walk(&stage).await.unwrap();
    assert_eq!(passed.len(), 6, "{passed:?}");
    assert!(passed[4].contains("decided shipping"), "{passed:?}");
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    assert_eq!(
        shop_tests::orders::stock_of(&ddb, &r.info.resources.tables["products"], smoke::PRODUCT_ID).await,
        1000,
        "the cancelled order's unit is back"
    );
    // A transaction of the pipeline (the cancel's release of the unit) may still be in flight on
    // the product: DynamoDB refuses a write to an item a transaction in flight holds, so a
    // conflict is retried, as a client on AWS would.
    let set = |attr: &'static str, v: AttributeValue| {
        let ddb = ddb.clone();
        let table = r.info.resources.tables["products"].clone();
        async move {
            for _ in 0..20 {
                let sent = ddb
                    .update_item()
                    .table_name(&table)
                    .key("id", AttributeValue::S(smoke::PRODUCT_ID.into()))
                    .update_expression("SET #a = :v")
                    .expression_attribute_names("#a", attr)
                    .expression_attribute_values(":v", v.clone())
                    .send()
                    .await;
                match sent {
                    Ok(_) => return,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_transaction_conflict_exception()) =>
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            panic!("the product stayed held");
        }
    };
    set("status", AttributeValue::S("approved".into())).await;
    let e = smoke::walk(&stage).await.unwrap_err();
    assert_eq!(e.step, "listings", "{e}");
    assert!(e.why.contains("shows the synthetic product"), "{e}");
    set("status", AttributeValue::S(smoke::SYNTHETIC_STATUS.into())).await;
    set("quantity", AttributeValue::N("0".into())).await;
    let e = smoke::walk(&stage).await.unwrap_err();
    assert_eq!(e.step, "order", "{e}");
    assert!(e.why.contains("InsufficientStock"), "{e}");
    r.stop().await;
}

/// A pool set to Cognito's UPDATED issuer format (infra/stages.json `cognitoIssuer`) issues tokens
/// from `issuer-cognito-idp`, and the runner's authorizer accepts exactly those, as the CDK app's
/// authorizers do: a signed-in walk through protected routes passes.
#[tokio::test]
async fn a_pool_with_the_updated_issuer_format_signs_tokens_the_authorizer_accepts() {
    use shop_ops::smoke;
    let r = runner_with(|o| o.stage.cognito_issuer = "UPDATED".into()).await;
    let stage = smoke_stage(&r, false);
    smoke::provision(&r.emulator.sdk_config(), &stage).await.unwrap();
    let passed = smoke::walk(&stage).await.unwrap();
    assert!(passed.iter().any(|p| p.starts_with("my-orders")), "{passed:?}");
    r.stop().await;
}

/// The smoke walk's view of a local runner (its five APIs under one address).
fn smoke_stage(r: &Running, order: bool) -> shop_ops::smoke::Stage {
    shop_ops::smoke::Stage {
        apis: shop_ops::smoke::SERVICES
            .iter()
            .map(|s| (s.to_string(), format!("http://{}/{s}", r.addr)))
            .collect(),
        user_pool_id: r.info.resources.pool.user_pool_id.clone(),
        products_table: r.info.resources.tables["products"].clone(),
        password: format!("Sm0ke!{}", uuid::Uuid::new_v4().simple()),
        payment_method: None,
        order,
        decide_within: Duration::from_secs(30),
    }
}

/// An account deleted in Cognito (an operator's AdminDeleteUser, a GDPR erasure) leaves its email
/// claim behind; the next sign-up and confirmation with that email release the orphaned claim and
/// go on, through the runner, instead of answering 409 for ever.
#[tokio::test]
async fn an_orphaned_email_claim_no_longer_blocks_a_sign_up() {
    let r = runner_with(|_| {}).await;
    let api = Api::new(&r);
    let (email, _) = api.user("Erased Person").await;
    aws_sdk_cognitoidentityprovider::Client::new(&r.emulator.sdk_config())
        .admin_delete_user()
        .user_pool_id(&r.info.resources.pool.user_pool_id)
        .username("Erased_Person")
        .send()
        .await
        .unwrap();
    api.register(&email, "New Owner").await;
    // The email is the new account's now: a third sign-up with it is refused.
    let body = json!({"email": email, "fullName": "Third Person", "password": PASSWORD});
    let (s, b) = api.post("/auth/sign-up", None, body).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("EmailExists")),
        "{b}"
    );
    r.stop().await;
}

/// Pre-hijacking needs a code to reach someone who takes it for theirs: every code email names
/// the account it confirms (the pool's CustomMessage trigger, which the emulator calls through
/// the runner as Cognito calls the function), so a second sign-up with the victim's address
/// sends the victim a code that says whose account it is.
#[tokio::test]
async fn every_code_email_names_the_account_it_confirms() {
    let r = runner_with(|_| {}).await;
    let api = Api::new(&r);
    let email = format!("{}@example.com", unique("victim"));
    for name in ["Ada Lovelace", "Mallory <b>Evil</b>"] {
        let body = json!({"email": email, "fullName": name, "password": PASSWORD});
        let (s, b) = api.post("/auth/sign-up", None, body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, b) = api
        .post(
            "/auth/resend-confirmation-code",
            None,
            json!({"fullName": "Ada Lovelace"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mails = shop_tests::emails_to(&email).await;
    let codes: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "Your Shop confirmation code")
        .collect();
    assert_eq!(codes.len(), 3, "two sign-ups and a resend: {mails:?}");
    let names = |needle: &str| codes.iter().filter(|m| m.body.contains(needle)).count();
    assert_eq!(
        names("the Shop account of <b>Ada Lovelace</b> (sign-in name Ada_Lovelace)"),
        2
    );
    // The attacker's name is shown as text, never as markup.
    assert_eq!(names("<b>Mallory &lt;b&gt;Evil&lt;/b&gt;</b>"), 1);
    for m in &codes {
        assert!(
            !m.body.contains("{####}"),
            "the code placeholder is replaced: {}",
            m.body
        );
        assert!(
            m.body
                .split("<b>")
                .nth(1)
                .is_some_and(|c| c.len() > 6 && c[..6].chars().all(|d| d.is_ascii_digit())),
            "a six-digit code first: {}",
            m.body
        );
        assert!(m.body.contains("Not you?"), "{}", m.body);
    }
    // Each one counted (EMF `CodeEmails`, beside `SignUps`).
    api.eventually("/_local/metrics", None, |m| m["metrics"]["CodeEmails"] == 3)
        .await;
    r.stop().await;
}

/// A second start on the same state reuses the stack it recorded; a recorded stack that lacks a
/// declared resource (an older runner's, or the declaration grew) is refused with the resource
/// named and the way out (`--reset`), not served half-wired.
#[tokio::test]
async fn a_kept_stack_is_reused_and_one_missing_a_declared_resource_is_refused_by_name() {
    let (dir, prefix) = (std::env::temp_dir().join(unique("shop-kept")), unique("kept"));
    let same = |o: &mut Options| {
        o.state_dir = dir.clone();
        o.prefix = prefix.clone();
    };
    let first = runner_with(same).await;
    // As recorded (the app client's secret is never written down).
    let recorded = serde_json::to_value(&first.info.resources).unwrap();
    first.stop().await;
    let second = runner_with(same).await;
    let kept = serde_json::to_value(&second.info.resources).unwrap();
    assert_eq!(kept, recorded, "the kept stack was provisioned again");
    second.stop().await;

    let file = dir.join("stack.json");
    let mut stack: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    stack["topics"].as_object_mut().unwrap().remove("alerts");
    std::fs::write(&file, stack.to_string()).unwrap();
    let mut opts = Options::local().unwrap();
    (opts.port, opts.moto_port, opts.stripe_port) = (0, 0, 0);
    same(&mut opts);
    let refused = runner::start(opts)
        .await
        .err()
        .expect("a stack without its alerts topic was served");
    let said = refused.to_string();
    assert!(said.contains("alerts") && said.contains("--reset"), "{said}");
}
