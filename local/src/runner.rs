//! The local runner's start-up: the emulator, the stack (kept or provisioned), the services wired
//! to it and held equal to the declaration, then the API ([`crate::gateway`], [`crate::devtools`])
//! and the event sources ([`crate::triggers`]), all dispatching to the functions the Lambda
//! binaries serve.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{Method, StatusCode};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::declaration::{self, Declaration};
use crate::emulator::Emulator;
use crate::gateway::cors;
use crate::jwt::Verifier;
pub use crate::options::Options;
use crate::registry::Services;
use crate::stack::{self, StackInfo};
pub use crate::state::{AppState, RunnerError};

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

/// The payment provider, as the stage says: the local Stripe (found or started), the service's
/// configuration read from the stack's secret as a Lambda reads it at cold start, and the local
/// Stripe's webhooks pointed at this API's `POST /order/payment/webhook`.
async fn payments(
    opts: &Options,
    emulator: &Emulator,
    info: &mut StackInfo,
) -> Result<Option<order::payment::Payments>, RunnerError> {
    if opts.stage.payments != "stripe" {
        return Ok(None);
    }
    let stripe = crate::stripe::Stripe::find_or_start(opts.stripe_port).await?;
    info.payment_api_url = stripe.endpoint.clone();
    let provider = order::ProviderConfig {
        secret_id: info
            .resources
            .secret(crate::provision::resources::PAYMENT_SECRET)?
            .to_owned(),
        api_url: stripe.endpoint.clone(),
        currency: opts.stage.payment_currency.clone(),
    };
    let payments = order::Orders::provider(&emulator.sdk_config(), &provider)
        .await
        .map_err(|e| RunnerError::Payments(e.to_string()))?;
    let webhook = format!("{}/order/payment/webhook", info.api_url);
    stripe
        .register_webhook(&opts.prefix, &webhook, &payments.webhook_secret)
        .await?;
    tracing::info!(provider = %stripe.endpoint, %webhook, "payments: the local Stripe");
    Ok(Some(payments))
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
    let api_url = format!("http://{addr}");
    let state_file = opts.state_dir.join("stack.json");
    if opts.reset {
        emulator.reset().await?;
    }
    let kept = if opts.reset {
        None
    } else {
        stack::existing(&emulator, &decl, &state_file).await?
    };
    let mut info = match kept {
        Some(i) => {
            tracing::info!("reusing the stack recorded in {}", state_file.display());
            i
        }
        None => stack::provision(&emulator, &decl, &opts).await?,
    };
    info.api_url = api_url;
    let payments = payments(&opts, &emulator, &mut info).await?;
    stack::write(&info, &state_file).map_err(RunnerError::State)?;

    let services = Services::new(&emulator, &decl, &info, &opts)?.with_payments(payments);
    check_wiring(&decl)?;
    register_pool_triggers(&emulator, &decl, &info.resources.pool.user_pool_id, &info.api_url).await?;
    let verifier = Verifier::new(
        &emulator.endpoint,
        &opts.stage.cognito_issuer,
        &emulator.region,
        &info.resources.pool.user_pool_id,
        &info.resources.pool.client_id,
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
        chaos: opts.chaos.clone(),
        throttle: crate::throttle::Throttle::new(&opts.stage),
        stage: opts.stage.clone(),
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
    tasks.extend(crate::triggers::spawn(&state, opts.cleanup_interval, &opts.stage, &rx)?);
    Ok(Running {
        info,
        emulator,
        addr,
        shutdown: tx,
        tasks,
    })
}

/// Tells the emulator where each declared user pool trigger runs (every start: a kept stack's
/// runner may listen elsewhere now), as the CDK app wires the pool's LambdaConfig.
async fn register_pool_triggers(
    emulator: &Emulator,
    decl: &Declaration,
    pool_id: &str,
    api_url: &str,
) -> Result<(), RunnerError> {
    for s in &decl.services {
        for f in &s.functions {
            let Some(c) = &f.cognito else { continue };
            let url = format!("{api_url}{}{}/{}", crate::devtools::COGNITO_TRIGGERS, s.name, f.name);
            emulator.register_trigger(pool_id, &c.trigger, &url).await?;
        }
    }
    Ok(())
}

/// The registry equals the declaration: every declared function is served by its service's
/// binary, and no binary serves an undeclared one. A gap stops the runner at start.
fn check_wiring(decl: &Declaration) -> Result<(), RunnerError> {
    for s in &decl.services {
        let served = Services::functions(&s.name)
            .ok_or_else(|| RunnerError::Declaration(format!("service {} is not in the local registry", s.name)))?;
        let mut declared: Vec<&str> = s.functions.iter().map(|f| f.name.as_str()).collect();
        let mut served = served.to_vec();
        declared.sort_unstable();
        served.sort_unstable();
        if served != declared {
            return Err(RunnerError::Declaration(format!(
                "{} declares {declared:?} but its service binary serves {served:?}",
                s.name
            )));
        }
        // A pool trigger starts without pool ids (the CDK app cannot give it them): the binary
        // must know it as one, or its cold start would fail for want of USER_POOL_ID.
        for f in s.functions.iter().filter(|f| f.cognito.is_some()) {
            if s.name != "auth" || !auth::messages::POOL_TRIGGERS.contains(&f.name.as_str()) {
                return Err(RunnerError::Declaration(format!(
                    "{}/{} is declared a pool trigger, which auth::messages::POOL_TRIGGERS does not name",
                    s.name, f.name
                )));
            }
        }
    }
    Ok(())
}

/// Every request: CORS preflight, the developer endpoints, else a declared route.
async fn handle(State(st): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let origin = parts
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let preflight = parts.method == Method::OPTIONS;
    let mut resp = answer(&st, parts, body).await;
    if resp.extensions().get::<crate::gateway::PassedThrough>().is_none() {
        cors(&st.stage, origin.as_deref(), preflight, &mut resp);
    }
    resp
}

async fn answer(st: &Arc<AppState>, parts: http::request::Parts, body: Body) -> Response {
    // Above Lambda's payload limit API Gateway answers 413 itself.
    let Ok(bytes) = axum::body::to_bytes(body, crate::gateway::MAX_EVENT_BYTES).await else {
        return crate::gateway::gateway(StatusCode::PAYLOAD_TOO_LARGE);
    };
    if parts.method == Method::OPTIONS {
        // API Gateway answers every preflight itself (CORS is configured on every API).
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        return resp;
    }
    if parts.method == Method::GET {
        if let Some(resp) = crate::devtools::get(st, parts.uri.path()).await {
            return resp;
        }
    }
    if parts.method == Method::POST {
        if let Some(resp) = crate::devtools::cognito_trigger(st, parts.uri.path(), &bytes).await {
            return resp;
        }
        if let Some(resp) = crate::devtools::run(st, parts.uri.path()).await {
            return resp;
        }
    }
    crate::gateway::route(st, &parts, &bytes).await
}
