//! The local runner: serves the declared HTTP routes on 127.0.0.1 with the JWT authorizer's
//! checks, and drives bucket notifications, the order queue and the cleanup schedule into the
//! same handler functions the Lambda binaries wrap.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bridge;
use crate::declaration::{self, Auth, Declaration, Trigger};
use crate::emulator::Emulator;
use crate::jwt::{self, Verifier};
use crate::recorder;
use crate::stack::{self, LocalSettings, Services, StackInfo};

#[derive(Debug, Clone)]
pub struct Options {
    /// API port (0 = any free port).
    pub port: u16,
    /// Port for a moto server we start (ignored when `MOTO_ENDPOINT` is set).
    pub moto_port: u16,
    /// Wipe the emulator and provision from scratch.
    pub reset: bool,
    /// Where `stack.json` goes.
    pub state_dir: PathBuf,
    /// Prefix of every resource name.
    pub prefix: String,
    pub email_from: String,
    pub cleanup_interval: Duration,
    pub cleanup_max_age: Duration,
    /// Age after which the reconciler re-drives a pending order (the stage default on AWS).
    pub reconcile_after: Duration,
    /// The largest image upload accepted (the CDK stages' default).
    pub upload_max_bytes: u64,
    /// Age at which a sign-up never confirmed is purged (the CDK stages' default: a day).
    pub unconfirmed_max_age: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            port: 3000,
            moto_port: 5000,
            reset: false,
            state_dir: PathBuf::from(".local"),
            prefix: "shop-local".into(),
            email_from: "noreply@example.com".into(),
            cleanup_interval: Duration::from_secs(120),
            cleanup_max_age: Duration::from_secs(3600),
            reconcile_after: Duration::from_secs(order::DEFAULT_RECONCILE_AFTER_SECS),
            upload_max_bytes: shop_core::images::DEFAULT_MAX_BYTES,
            unconfirmed_max_age: Duration::from_secs(auth::DEFAULT_UNCONFIRMED_MAX_AGE_SECS),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Emulator(#[from] crate::emulator::EmulatorError),
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error("the declaration is invalid: {0}")]
    Declaration(String),
    #[error("cannot listen on 127.0.0.1:{0}: {1}")]
    Bind(u16, std::io::Error),
    #[error("cannot write the stack description: {0}")]
    State(std::io::Error),
}

struct AppState {
    decl: Declaration,
    services: Services,
    verifier: Verifier,
    emulator: Emulator,
    info: StackInfo,
    s3: aws_sdk_s3::Client,
    /// The stack's name prefix (its metrics namespace is derived from it).
    prefix: String,
}

/// A running local stack.
pub struct Running {
    pub info: StackInfo,
    pub emulator: Emulator,
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops serving and polling, and waits for the tasks to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts everything; answers once the API accepts connections.
pub async fn start(opts: Options) -> Result<Running, RunnerError> {
    crate::metrics::init_telemetry();
    let decl = declaration::load().map_err(|e| RunnerError::Declaration(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|e| RunnerError::Bind(opts.port, e))?;
    let addr = listener.local_addr().map_err(|e| RunnerError::Bind(opts.port, e))?;
    let emulator = Emulator::find_or_start(opts.moto_port).await?;
    let settings = LocalSettings {
        prefix: opts.prefix.clone(),
        api_url: format!("http://{addr}"),
        email_from: opts.email_from.clone(),
        cleanup_max_age: opts.cleanup_max_age,
        reconcile_after: opts.reconcile_after,
        order_max_receives: 5,
        upload_max_bytes: opts.upload_max_bytes,
        unconfirmed_max_age: opts.unconfirmed_max_age,
        workflow_type: aws_sdk_sfn::types::StateMachineType::Express,
    };
    let state_file = opts.state_dir.join("stack.json");
    if opts.reset {
        emulator.reset().await?;
    }
    let kept = if opts.reset {
        None
    } else {
        stack::existing(&emulator, &state_file).await
    };
    let mut info = match kept {
        Some(i) => {
            tracing::info!("reusing the stack recorded in {}", state_file.display());
            i
        }
        None => stack::provision(&emulator, &settings).await?,
    };
    info.api_url = settings.api_url.clone();
    stack::write(&info, &state_file).map_err(RunnerError::State)?;

    let services = Services::new(&emulator, &info, &settings);
    check_wiring(&decl, &services).await?;
    let verifier = Verifier::new(
        &emulator.endpoint,
        &emulator.region,
        &info.user_pool_id,
        &info.client_id,
    );
    let sdk = emulator.sdk_config();
    let state = Arc::new(AppState {
        decl,
        services,
        verifier,
        emulator: emulator.clone(),
        info: info.clone(),
        s3: shop_core::aws::s3(&sdk),
        prefix: opts.prefix.clone(),
    });
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let app = axum::Router::new().fallback(handle).with_state(state.clone());
    let mut stop = rx.clone();
    tasks.push(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "API server stopped");
        }
    }));
    tasks.push(tokio::spawn(poll_images(state.clone(), "banner", rx.clone())));
    tasks.push(tokio::spawn(poll_images(state.clone(), "category", rx.clone())));
    tasks.push(tokio::spawn(poll_images(state.clone(), "product", rx.clone())));
    tasks.push(tokio::spawn(poll_orders(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(poll_order_stream(state.clone(), rx.clone())));
    tasks.push(tokio::spawn(schedules(state.clone(), opts.cleanup_interval, rx)));
    Ok(Running {
        info,
        emulator,
        addr,
        shutdown: tx,
        tasks,
    })
}

/// Every declared function must be reachable here: HTTP ones through `call_http`, event ones
/// through a poller of this runner. A gap stops the runner at start.
async fn check_wiring(decl: &Declaration, services: &Services) -> Result<(), RunnerError> {
    let events: &[(&str, &str, Trigger)] = &[
        ("banner", "image-uploaded", Trigger::S3),
        ("category", "image-uploaded", Trigger::S3),
        ("product", "image-uploaded", Trigger::S3),
        ("category", "cleanup", Trigger::Schedule),
        ("product", "cleanup", Trigger::Schedule),
        ("order", "queue-consumer", Trigger::Sqs),
        ("order", "reconcile", Trigger::Schedule),
        ("order", "status-changed", Trigger::Stream),
        ("auth", "purge-unconfirmed", Trigger::Schedule),
    ];
    for s in &decl.services {
        for f in &s.functions {
            let wired = match f.trigger() {
                Some(Trigger::Http) => {
                    // A bare request: protected and body-taking handlers reject it before any AWS call; public
                    // listings answer it with one query on the stack just provisioned.
                    let probe: shop_core::Request =
                        serde_json::from_value(json!({"requestContext": {"http": {"method": "GET"}}}))
                            .map_err(|e| RunnerError::Declaration(e.to_string()))?;
                    services.call_http(&s.name, &f.bin, probe).await.is_some()
                }
                Some(t) => events.contains(&(s.name.as_str(), f.bin.as_str(), t)),
                None => false,
            };
            if !wired {
                return Err(RunnerError::Declaration(format!(
                    "{}/{} is declared but not wired in the local runner",
                    s.name, f.bin
                )));
            }
        }
    }
    Ok(())
}

/// The handlers' CORS headers on the runner's own answers (preflight, developer endpoints, errors),
/// with the same `CORS_ALLOW_ORIGIN` the handlers read.
fn cors(resp: &mut Response) {
    let origin = shop_core::config::optional("CORS_ALLOW_ORIGIN").unwrap_or_else(|| "*".to_owned());
    shop_core::http::cors_headers(resp.headers_mut(), &origin);
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    cors(&mut resp);
    resp
}

/// The API description, served at `/_local/openapi.yaml`.
const OPENAPI: &str = include_str!("../../openapi.yaml");

/// The reference page: Swagger UI from the pinned `swagger-ui-dist` npm package (no CDN).
const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop API reference</title>
<link rel="stylesheet" href="/_local/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/_local/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/_local/openapi.yaml", dom_id: "#ui" });</script>
</body></html>"##;

fn typed(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    cors(&mut resp);
    resp
}

/// A file of `node_modules/swagger-ui-dist` (installed by `npm ci`).
fn docs_asset(name: &str) -> Response {
    let allowed = ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"];
    if !allowed.contains(&name) {
        return error(StatusCode::NOT_FOUND, "NoSuchRoute", "no such asset");
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/swagger-ui-dist");
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => {
            let ctype = if name.ends_with(".css") {
                "text/css"
            } else if name.ends_with(".js") {
                "application/javascript"
            } else {
                "image/png"
            };
            typed(StatusCode::OK, ctype, bytes)
        }
        Err(_) => error(
            StatusCode::NOT_FOUND,
            "NoSuchRoute",
            "viewer not installed: run npm ci at the repository root",
        ),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "error": message, "code": code }))
}

async fn handle(State(st): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "request body too large",
        );
    };
    let path = parts.uri.path().to_owned();
    if parts.method == Method::OPTIONS {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        cors(&mut resp);
        return resp;
    }
    if parts.method == Method::GET {
        if path == "/_local/emails" {
            return match st.emulator.sent_emails().await {
                Ok(m) => json_response(StatusCode::OK, &json!({ "emails": m })),
                Err(e) => error(StatusCode::BAD_GATEWAY, "EmulatorUnavailable", &e.to_string()),
            };
        }
        if path == "/_local/metrics" {
            let namespace = crate::stack::metrics_namespace(&st.prefix);
            let counts = crate::metrics::snapshot(&namespace);
            return json_response(StatusCode::OK, &json!({ "namespace": namespace, "metrics": counts }));
        }
        if path == "/_local/stack" {
            return json_response(StatusCode::OK, &serde_json::to_value(&st.info).unwrap_or_default());
        }
        if let Some(rest) = path.strip_prefix("/_local/cdn/") {
            return cdn(&st, rest).await;
        }
        if path == "/_local/openapi.yaml" {
            return typed(StatusCode::OK, "application/yaml", OPENAPI.as_bytes().to_vec());
        }
        if path == "/_local/docs" || path == "/_local/docs/" {
            return typed(
                StatusCode::OK,
                "text/html; charset=utf-8",
                DOCS_PAGE.as_bytes().to_vec(),
            );
        }
        if let Some(asset) = path.strip_prefix("/_local/docs/") {
            return docs_asset(asset);
        }
    }
    let Some(m) = st.decl.route(parts.method.as_str(), &path) else {
        let allowed = st.decl.methods_for(&path);
        if allowed.is_empty() {
            return error(
                StatusCode::NOT_FOUND,
                "NoSuchRoute",
                &format!("no route {} {path}", parts.method),
            );
        }
        let message = format!("{} is not allowed on {path}", parts.method);
        let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &message);
        if let Ok(v) = HeaderValue::from_str(&format!("{}, OPTIONS", allowed.join(", "))) {
            resp.headers_mut().insert("allow", v);
        }
        return resp;
    };
    let claims = if m.route.auth == Auth::None {
        None
    } else {
        let header = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
        match st.verifier.verify(header, jwt::now()).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::info!(reason = %e, path = %path, "unauthorized");
                return error(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "missing or invalid bearer token",
                );
            }
        }
    };
    let event = api_event(&parts, &m, &bytes, claims);
    let Ok(event) = serde_json::from_value::<shop_core::Request>(event) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "request could not be represented",
        );
    };
    let call = st.services.call_http(m.service, &m.function.bin, event);
    match recorder::scope(m.service, &m.function.bin, call).await {
        Some(r) => to_http(r),
        None => error(
            StatusCode::NOT_IMPLEMENTED,
            "NotWired",
            "declared route has no handler here",
        ),
    }
}

/// The payload-format-2.0 event API Gateway would send for this request.
fn api_event(
    parts: &http::request::Parts,
    m: &declaration::Matched<'_>,
    body: &[u8],
    claims: Option<HashMap<String, String>>,
) -> Value {
    let mut headers = serde_json::Map::new();
    for (k, v) in &parts.headers {
        if let Ok(v) = v.to_str() {
            headers.insert(k.as_str().to_owned(), Value::String(v.to_owned()));
        }
    }
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query = serde_json::Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        query.insert(dec(k), Value::String(dec(v)));
    }
    let route_key = format!("{} {}", m.route.method, m.route.path);
    let mut ctx = json!({
        "routeKey": route_key,
        "stage": "$default",
        "requestId": uuid_like(),
        "timeEpoch": jwt::now() * 1000,
        "http": {"method": parts.method.as_str(), "path": m.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
    });
    if let Some(c) = claims {
        ctx["authorizer"] = json!({ "jwt": { "claims": c, "scopes": null } });
    }
    let (body, b64) = match std::str::from_utf8(body) {
        Ok(t) => (t.to_owned(), false),
        Err(_) => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(body), true)
        }
    };
    let params: serde_json::Map<String, Value> = m
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut ev = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": m.path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": ctx,
        "isBase64Encoded": b64,
    });
    if !query.is_empty() {
        ev["queryStringParameters"] = Value::Object(query);
    }
    if !params.is_empty() {
        ev["pathParameters"] = Value::Object(params);
    }
    if !body.is_empty() {
        ev["body"] = Value::String(body);
    }
    ev
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}

fn to_http(r: shop_core::Response) -> Response {
    let status =
        StatusCode::from_u16(u16::try_from(r.status_code).unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Body::from(shop_core::http::body_text(&r).to_owned()));
    *resp.status_mut() = status;
    for (k, v) in &r.headers {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

/// The CDN stand-in: serves the published objects of the private buckets (origin path
/// [`shop_core::images::PUBLIC`]) with `nosniff`, as CloudFront does on AWS; uploads and images
/// under review are not reachable here.
async fn cdn(st: &AppState, rest: &str) -> Response {
    let Some((bucket, key)) = rest.split_once('/') else {
        return error(StatusCode::NOT_FOUND, "NoSuchObject", "no such object");
    };
    let known = [
        &st.info.banner_bucket,
        &st.info.category_bucket,
        &st.info.product_bucket,
    ];
    if !known.iter().any(|b| b.as_str() == bucket) {
        return error(StatusCode::NOT_FOUND, "NoSuchObject", "no such object");
    }
    let key = percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .into_owned();
    let key = format!("{}{key}", shop_core::images::PUBLIC);
    match st.s3.get_object().bucket(bucket).key(&key).send().await {
        Ok(o) => {
            let ctype = o.content_type().unwrap_or("application/octet-stream").to_owned();
            match o.body.collect().await {
                Ok(data) => {
                    let mut resp = Response::new(Body::from(data.into_bytes()));
                    if let Ok(v) = HeaderValue::from_str(&ctype) {
                        resp.headers_mut().insert("content-type", v);
                    }
                    resp.headers_mut()
                        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
                    cors(&mut resp);
                    resp
                }
                Err(_) => error(
                    StatusCode::BAD_GATEWAY,
                    "EmulatorUnavailable",
                    "object could not be read",
                ),
            }
        }
        Err(_) => error(StatusCode::NOT_FOUND, "NoSuchObject", "no such object"),
    }
}

/// Bucket notifications (queued by the emulator) -> the service's image handler.
async fn poll_images(st: Arc<AppState>, service: &'static str, mut stop: watch::Receiver<bool>) {
    let queue = match service {
        "banner" => st.info.banner_events_queue.clone(),
        "category" => st.info.category_events_queue.clone(),
        _ => st.info.product_events_queue.clone(),
    };
    let sqs = aws_sdk_sqs::Client::new(&st.emulator.sdk_config());
    while !*stop.borrow() {
        let msgs = tokio::select! {
            r = bridge::receive(&sqs, &queue, 10, 1) => r.unwrap_or_default(),
            _ = stop.changed() => break,
        };
        let mut failed = Vec::new();
        for m in &msgs {
            let Some(event) = m.body().and_then(crate::bridge::s3_event) else {
                continue; // s3:TestEvent and the like
            };
            let handled = async {
                match service {
                    "banner" => banner::image_uploaded(&st.services.banner, event)
                        .await
                        .map(|r| r.recorded)
                        .map_err(|e| e.to_string()),
                    "category" => category::image_uploaded(&st.services.category, event)
                        .await
                        .map(|r| r.recorded)
                        .map_err(|e| e.to_string()),
                    _ => product::image_uploaded(&st.services.product, event)
                        .await
                        .map(|r| r.recorded)
                        .map_err(|e| e.to_string()),
                }
            };
            let ok = recorder::scope(service, "image-uploaded", handled).await;
            match ok {
                Ok(n) => tracing::info!(service, recorded = n, "image event handled"),
                Err(e) => {
                    tracing::warn!(service, error = %e, "image event failed; will be retried");
                    failed.extend(m.message_id().map(str::to_owned));
                }
            }
        }
        bridge::ack(&sqs, &queue, &msgs, &failed).await;
    }
}

/// The order queue -> the queue consumer, with Lambda's partial batch semantics.
async fn poll_orders(st: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let sqs = aws_sdk_sqs::Client::new(&st.emulator.sdk_config());
    let (queue, arn) = (st.info.order_queue.clone(), st.info.order_queue_arn.clone());
    while !*stop.borrow() {
        let msgs = tokio::select! {
            r = bridge::receive(&sqs, &queue, 10, 1) => r.unwrap_or_default(),
            _ = stop.changed() => break,
        };
        if msgs.is_empty() {
            continue;
        }
        let consumed = order::queue_consumer(&st.services.order, bridge::sqs_event(&msgs, &arn));
        let failed = match recorder::scope("order", "queue-consumer", consumed).await {
            Ok(r) => r.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(),
            Err(_) => msgs
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect::<Vec<_>>(),
        };
        bridge::ack(&sqs, &queue, &msgs, &failed).await;
    }
}

/// The Orders table's stream -> `order/status-changed` (the business metrics), in batches.
async fn poll_order_stream(st: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let arn = st.info.orders_stream_arn.clone();
    let reader = if arn.is_empty() {
        None
    } else {
        crate::streams::StreamReader::open(&st.emulator.endpoint, &st.emulator.region, &arn).await
    };
    let Some(mut reader) = reader else {
        tracing::warn!("the Orders table has no stream (a stack from before streams?): run with --reset for metrics");
        return;
    };
    while !*stop.borrow() {
        match reader.next_event().await {
            Some(event) => {
                let handled = order::status_changed(&st.services.order, event);
                if let Err(e) = recorder::scope("order", "status-changed", handled).await {
                    tracing::warn!(error = %e, "order status-changed failed");
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
}

/// The EventBridge schedules: both cleanups, the order reconciler and the purge of unconfirmed
/// sign-ups every `interval`.
async fn schedules(st: Arc<AppState>, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        match recorder::scope(
            "category",
            "cleanup",
            category::cleanup(&st.services.category, json!({})),
        )
        .await
        {
            Ok(r) => tracing::info!(deleted = r.deleted, "category cleanup"),
            Err(e) => tracing::warn!(error = %e, "category cleanup failed"),
        }
        match recorder::scope("product", "cleanup", product::cleanup(&st.services.product, json!({}))).await {
            Ok(r) => tracing::info!(deleted = r.deleted, "product cleanup"),
            Err(e) => tracing::warn!(error = %e, "product cleanup failed"),
        }
        match recorder::scope("order", "reconcile", order::reconcile(&st.services.order, json!({}))).await {
            Ok(r) => tracing::info!(redriven = r.redriven, failed = r.failed, "order reconcile"),
            Err(e) => tracing::warn!(error = %e, "order reconcile failed"),
        }
        let purge = auth::purge_unconfirmed(&st.services.auth, json!({}));
        match recorder::scope("auth", "purge-unconfirmed", purge).await {
            Ok(r) => tracing::info!(purged = r.purged, "unconfirmed sign-ups purge"),
            Err(e) => tracing::warn!(error = %e, "unconfirmed sign-ups purge failed"),
        }
    }
}
