//! Test support: one emulator per test binary, unique resource names, API Gateway events.
//!
//! Uses the emulator at `MOTO_ENDPOINT` when set, otherwise starts a moto server of its own; the
//! same for the local Stripe (`STRIPE_ENDPOINT`). [`orders`]: the order service's fixture.

pub mod orders;
pub mod products;

pub use products::sample_product;

use aws_sdk_sfn::types::StateMachineType;
use serde_json::{json, Value};
use shop_core::http::body_text;
use shop_core::{Request, Response};
use shop_local::emulator::Emulator;
use shop_local::gateway::{api_event, query_string, HttpCall};
use shop_local::provision::resources::{Plan, Resources};
use tokio::sync::OnceCell;

static EMULATOR: OnceCell<Emulator> = OnceCell::const_new();

/// The shared emulator (started on first use).
pub async fn emulator() -> &'static Emulator {
    EMULATOR
        .get_or_init(|| async {
            match Emulator::find_or_start(0).await {
                Ok(e) => {
                    // Local runners the tests start find it too, instead of each starting its own
                    // moto (three or four on 2 cores compete with the tests' own timing).
                    std::env::set_var("MOTO_ENDPOINT", &e.endpoint);
                    e
                }
                Err(e) => panic!("no emulator for the tests: {e}"),
            }
        })
        .await
}

/// The shared local Stripe (the payment provider): `STRIPE_ENDPOINT`, or one started on first use
/// (then named in `STRIPE_ENDPOINT`, so the local runners a test starts use it too).
pub async fn stripe() -> &'static shop_local::stripe::Stripe {
    static STRIPE: OnceCell<shop_local::stripe::Stripe> = OnceCell::const_new();
    STRIPE
        .get_or_init(|| async {
            match shop_local::stripe::Stripe::find_or_start(0).await {
                Ok(s) => {
                    std::env::set_var("STRIPE_ENDPOINT", &s.endpoint);
                    s
                }
                Err(e) => panic!("no local Stripe for the tests: {e}"),
            }
        })
        .await
}

/// SDK configuration aimed at the shared emulator.
pub async fn sdk() -> aws_config::SdkConfig {
    emulator().await.sdk_config()
}

/// The resources of `service`'s stack (`shop_local::provision::resources::of_service`),
/// provisioned by the runner's own function under unique names: the sender `sender`, an order
/// queue that redelivers after 1 s and dead-letters on the 4th receive, the order workflow of
/// `workflow` (the stage default is Express; Standard keeps execution names unique, which some
/// tests count on), the pool as the local stage deploys it.
pub async fn provisioned(service: &str, sender: &str, workflow: StateMachineType) -> Resources {
    let stage = shop_local::stage::values("local").unwrap();
    let plan = Plan {
        name: &unique,
        sender,
        pool: &(&stage).into(),
        max_receives: 3,
        visibility_timeout_secs: 1,
        workflow_type: workflow,
        webhook_secret: orders::WEBHOOK_SECRET,
    };
    let wanted = shop_local::provision::resources::of_service(service);
    assert!(!wanted.is_empty(), "no service {service}");
    shop_local::provision::resources::provision(&sdk().await, wanted, &plan)
        .await
        .unwrap_or_else(|e| panic!("provisioning {service}: {e}"))
}

/// A queue that receives what `topic_arn` publishes (raw), to observe it.
pub async fn listener(topic_arn: &str) -> String {
    shop_local::provision::topic_listener(&sdk().await, topic_arn, &unique("listener"))
        .await
        .unwrap()
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// An HTTP API (payload v2) event as API Gateway sends it (the local runner's own event builder);
/// `claims` as its JWT authorizer would.
pub fn api_request(method: &str, path: &str, body: Option<&str>, claims: Option<Value>) -> Request {
    request(method, path, "", body, claims)
}

fn request(method: &str, path: &str, raw_query: &str, body: Option<&str>, claims: Option<Value>) -> Request {
    let call = HttpCall {
        method,
        path,
        raw_query,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.unwrap_or_default().as_bytes(),
        claims,
        ..HttpCall::default()
    };
    serde_json::from_value(api_event(&call)).unwrap_or_else(|e| panic!("bad test event: {e}"))
}

/// A request to the order `id` (`/orders/{id}` plus `suffix`), its `{id}` path parameter set as
/// API Gateway's route match sets it.
pub fn order_request(method: &str, suffix: &str, id: &str, body: Option<&str>, claims: Value) -> Request {
    let mut req = api_request(method, &format!("/orders/{id}{suffix}"), body, Some(claims));
    req.path_parameters.insert("id".to_owned(), id.to_owned());
    req
}

/// A POST with a JSON body.
pub fn post(path: &str, body: &Value, claims: Option<Value>) -> Request {
    api_request("POST", path, Some(&body.to_string()), claims)
}

/// A request with query parameters.
pub fn get(path: &str, query: &[(&str, &str)], claims: Option<Value>) -> Request {
    request("GET", path, &query_string(query), None, claims)
}

/// Claims of a signed-in user, as the authorizer passes them.
pub fn user_claims(sub: &str, email: &str) -> Value {
    json!({"sub": sub, "email": email, "email_verified": "true", "cognito:groups": "[]"})
}

/// Claims of an admin.
pub fn admin_claims(sub: &str) -> Value {
    json!({"sub": sub, "email": format!("{sub}@example.com"), "email_verified": "true", "cognito:groups": "[admins]"})
}

/// Status and JSON body of a response.
pub fn parts(resp: &Response) -> (u16, Value) {
    let status = u16::try_from(resp.status_code).unwrap_or(0);
    let body = serde_json::from_str(body_text(resp)).unwrap_or(Value::Null);
    (status, body)
}

/// Asserts a 4xx JSON error with the given status and code.
#[track_caller]
pub fn assert_error(resp: &Response, status: u16, code: &str) {
    let (s, body) = parts(resp);
    assert_eq!(s, status, "unexpected status, body: {body}");
    assert_eq!(body["code"], code, "unexpected code, body: {body}");
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "no error message: {body}"
    );
}

/// The first bytes of a real PNG (signature, then the IHDR chunk's start): what the image handlers
/// accept as an image.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-test-image";

/// Upload settings of a test bucket: images up to `max_bytes`, published images under the
/// emulator's URL of the bucket's `public/` place (the CDN's origin path on AWS).
pub async fn upload_config(bucket: &str, max_bytes: u64) -> shop_core::images::UploadConfig {
    shop_core::images::UploadConfig {
        bucket: bucket.to_owned(),
        image_base_url: format!("{}/{bucket}/public", emulator().await.endpoint),
        expires: std::time::Duration::from_secs(300),
        max_bytes,
        metrics_namespace: "Shop/test".into(),
    }
}

/// Every item of `table` (one scan: test tables are small).
pub async fn scan_table(db: &aws_sdk_dynamodb::Client, table: &str) -> aws_sdk_dynamodb::operation::scan::ScanOutput {
    db.scan().table_name(table).send().await.unwrap()
}

/// Every key in `bucket`, sorted.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// The bytes of object `key` in `bucket`.
pub async fn object_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let got = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

/// PUTs `body` at `key` of `bucket` with `content_type`, as whoever may write there would.
pub async fn put_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, content_type: &str, body: &[u8]) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

/// PUTs `body` to a presigned URL with the content type it was signed for; answers the status.
pub async fn upload(url: &str, content_type: &str, body: &[u8]) -> u16 {
    reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Message bodies that arrive on `queue_url` until `want` have arrived or `wait` has passed
/// (received messages are deleted).
pub async fn receive(
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
    want: usize,
    wait: std::time::Duration,
) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let started = std::time::Instant::now();
    let mut bodies = Vec::new();
    while bodies.len() < want && started.elapsed() < wait {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive failed: {e:?}"));
        for m in out.messages() {
            if let Some(b) = m.body() {
                bodies.push(b.to_owned());
            }
            if let Some(h) = m.receipt_handle() {
                let _ = sqs.delete_message().queue_url(queue_url).receipt_handle(h).send().await;
            }
        }
    }
    bodies
}

/// S3 events delivered by a bucket's notification queue, normalized as the local runner does;
/// waits for `want` events (the `s3:TestEvent` does not count).
pub async fn s3_events(
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
    want: usize,
) -> Vec<aws_lambda_events::s3::S3Event> {
    let mut events = Vec::new();
    let started = std::time::Instant::now();
    while events.len() < want && started.elapsed() < std::time::Duration::from_secs(15) {
        for b in receive(sdk, queue_url, 1, std::time::Duration::from_secs(2)).await {
            events.extend(shop_local::bridge::s3_event(&b));
        }
    }
    events
}

/// Emails the emulator's SES accepted for `to`.
pub async fn emails_to(to: &str) -> Vec<shop_local::emulator::SentEmail> {
    let all = emulator().await.sent_emails().await.unwrap_or_else(|e| panic!("{e}"));
    all.into_iter().filter(|m| m.to.iter().any(|t| t == to)).collect()
}

/// Emails for `to`, once one whose subject satisfies `wanted` has arrived (workflows send
/// their emails after the order's status changes); waits up to 20 s.
pub async fn emails_eventually(to: &str, wanted: impl Fn(&str) -> bool) -> Vec<shop_local::emulator::SentEmail> {
    let started = std::time::Instant::now();
    loop {
        let mails = emails_to(to).await;
        if mails.iter().any(|m| wanted(&m.subject)) || started.elapsed() > std::time::Duration::from_secs(20) {
            return mails;
        }
        // The read is the emulator's whole state: do not hammer it while workflows run.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// The current TOTP code of a base32 `secret` (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits),
/// as an authenticator app shows it. Waits for the next step when this one ends within 5 seconds,
/// so the code is still valid when the emulator checks it.
pub async fn totp_now(secret: &str) -> String {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    if now() % 30 >= 25 {
        tokio::time::sleep(std::time::Duration::from_secs(30 - now() % 30 + 1)).await;
    }
    format!("{:06}", hotp(&base32_decode(secret), now() / 30) % 1_000_000)
}

/// RFC 4226's dynamically truncated HMAC-SHA1 of `counter` (before the modulo of the digits).
fn hotp(key: &[u8], counter: u64) -> u32 {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let at = (h[h.len() - 1] & 0x0f) as usize;
    u32::from_be_bytes([h[at] & 0x7f, h[at + 1], h[at + 2], h[at + 3]])
}

/// RFC 4648 base32, case-insensitive, padding ignored.
fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()).unwrap() as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// A code that is not `code` (for wrong-code checks that cannot collide with the right one).
pub fn other_code(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn totp_matches_the_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B: secret "12345678901234567890", 8 digits.
        let key = super::base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(key, b"12345678901234567890");
        for (t, code) in [
            (59u64, 94_287_082),
            (1_111_111_109, 7_081_804),
            (2_000_000_000, 69_279_037),
        ] {
            assert_eq!(super::hotp(&key, t / 30) % 100_000_000, code, "T = {t}");
        }
    }
}
