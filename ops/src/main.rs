//! `shop-ops`: repairs an operator runs by hand, against any stage (the caller's AWS credentials
//! and region, resources named by flags from the Order stack's outputs) or the local stack.
//!
//! ```text
//! shop-ops redrive-dlq      [--dry-run] [--max N] STAGE-OR-LOCAL
//! shop-ops reprocess-failed [--dry-run] [--max N] STAGE-OR-LOCAL
//! shop-ops smoke [--no-order] [--payment-method PM] [--decide-within SECS] SMOKE-STAGE-OR-LOCAL
//! shop-ops make-admin [--without-totp] (--local [.local/stack.json] | --user-pool-id ID) USERNAME
//!
//! STAGE-OR-LOCAL: --local [.local/stack.json]
//!              or --queue-url URL --dlq-url URL --orders-table NAME --state-machine-arn ARN
//! SMOKE-STAGE-OR-LOCAL: --local [.local/stack.json]
//!              or --api SERVICE=URL (each of auth, banner, category, product, order)
//!                 --user-pool-id ID --products-table NAME
//! ```
//! Repairs print one JSON line per message or order, then a summary line. The smoke walk
//! (`shop_ops::smoke`) prints one line per step that passed and exits 1 naming the step that
//! failed.

use order::ops::Operator;

const USAGE: &str = "usage: shop-ops redrive-dlq|reprocess-failed [--dry-run] [--max N] (--local [stack.json] | --queue-url URL --dlq-url URL --orders-table NAME --state-machine-arn ARN)
       shop-ops smoke [--no-order] [--payment-method PM] [--decide-within SECS] (--local [stack.json] | --api SERVICE=URL ... --user-pool-id ID --products-table NAME)
       shop-ops make-admin [--without-totp] (--local [stack.json] | --user-pool-id ID) USERNAME";

struct Args {
    command: String,
    dry_run: bool,
    max: usize,
    local: Option<String>,
    queue_url: Option<String>,
    dlq_url: Option<String>,
    orders_table: Option<String>,
    state_machine_arn: Option<String>,
    apis: std::collections::BTreeMap<String, String>,
    user_pool_id: Option<String>,
    products_table: Option<String>,
    no_order: bool,
    payment_method: Option<String>,
    decide_within: u64,
    without_totp: bool,
    username: Option<String>,
}

fn parse(raw: &[String]) -> Result<Args, String> {
    let mut it = raw.iter().peekable();
    let command = it.next().cloned().ok_or(USAGE)?;
    if !["redrive-dlq", "reprocess-failed", "smoke", "make-admin"].contains(&command.as_str()) {
        return Err(format!("unknown command {command}\n{USAGE}"));
    }
    let mut a = Args {
        command,
        dry_run: false,
        max: 100,
        local: None,
        queue_url: None,
        dlq_url: None,
        orders_table: None,
        state_machine_arn: None,
        apis: Default::default(),
        user_pool_id: None,
        products_table: None,
        no_order: false,
        payment_method: None,
        decide_within: 60,
        without_totp: false,
        username: None,
    };
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--dry-run" => a.dry_run = true,
            "--max" => a.max = value("--max")?.parse().map_err(|_| "--max takes a number".to_owned())?,
            "--local" => {
                a.local = Some(match it.peek() {
                    Some(p) if !p.starts_with("--") => it.next().cloned().unwrap_or_default(),
                    _ => ".local/stack.json".to_owned(),
                })
            }
            "--queue-url" => a.queue_url = Some(value(flag)?),
            "--dlq-url" => a.dlq_url = Some(value(flag)?),
            "--orders-table" => a.orders_table = Some(value(flag)?),
            "--state-machine-arn" => a.state_machine_arn = Some(value(flag)?),
            "--api" => {
                let v = value(flag)?;
                let (service, url) = v.split_once('=').ok_or(format!("--api takes SERVICE=URL, not {v}"))?;
                a.apis.insert(service.to_owned(), url.to_owned());
            }
            "--user-pool-id" => a.user_pool_id = Some(value(flag)?),
            "--products-table" => a.products_table = Some(value(flag)?),
            "--no-order" => a.no_order = true,
            "--payment-method" => a.payment_method = Some(value(flag)?),
            "--decide-within" => {
                a.decide_within = value(flag)?
                    .parse()
                    .map_err(|_| "--decide-within takes seconds".to_owned())?
            }
            "--without-totp" => a.without_totp = true,
            other if a.command == "make-admin" && !other.starts_with("--") && a.username.is_none() => {
                a.username = Some(other.to_owned())
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// The operator for the local stack (`.local/stack.json` names the emulator and every resource)
/// or for a stage (the caller's credentials, resources from flags).
async fn operator(a: &Args) -> Result<Operator, String> {
    if let Some(path) = &a.local {
        let (sdk, field) = local_stack(path).await?;
        return Ok(Operator::new(
            &sdk,
            &field("/queues/orders/url")?,
            &field("/queues/orders/dlqUrl")?,
            &field("/tables/orders")?,
            &field("/workflows/order-processing")?,
        ));
    }
    let need = |v: &Option<String>, name: &str| v.clone().ok_or(format!("{name} is required without --local\n{USAGE}"));
    let sdk = shop_core::aws::sdk_config().await;
    Ok(Operator::new(
        &sdk,
        &need(&a.queue_url, "--queue-url")?,
        &need(&a.dlq_url, "--dlq-url")?,
        &need(&a.orders_table, "--orders-table")?,
        &need(&a.state_machine_arn, "--state-machine-arn")?,
    ))
}

/// The local stack's SDK configuration (the emulator) and a reader of `.local/stack.json`'s fields,
/// by JSON pointer (`/tables/orders`: resources are maps by declared name).
async fn local_stack(path: &str) -> Result<(aws_config::SdkConfig, impl Fn(&str) -> Result<String, String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e} (is the local stack running?)"))?;
    let stack: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let path = path.to_owned();
    let field = move |k: &str| {
        stack
            .pointer(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("{path} has no {k}"))
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(field("/emulatorEndpoint")?)
        .region(aws_config::Region::new(field("/region")?))
        .credentials_provider(aws_credential_types::Credentials::new(
            "local", "local", None, None, "shop-ops",
        ))
        .http_client(shop_core::aws::http_client())
        .load()
        .await;
    Ok((sdk, field))
}

/// `smoke`: provisions the synthetic account (a new random password every run: nothing to keep
/// secret) and product, then walks the stage.
async fn smoke(a: &Args) -> Result<(), String> {
    let need = |v: &Option<String>, name: &str| v.clone().ok_or(format!("{name} is required without --local\n{USAGE}"));
    let (sdk, apis, user_pool_id, products_table) = if let Some(path) = &a.local {
        let (sdk, field) = local_stack(path).await?;
        let runner = field("/apiUrl")?;
        let apis = shop_ops::smoke::SERVICES
            .iter()
            .map(|s| (s.to_string(), format!("{runner}/{s}")))
            .collect();
        (sdk, apis, field("/userPoolId")?, field("/tables/products")?)
    } else {
        if let Some(missing) = shop_ops::smoke::SERVICES.iter().find(|s| !a.apis.contains_key(**s)) {
            return Err(format!("--api {missing}=URL is required without --local\n{USAGE}"));
        }
        let sdk = shop_core::aws::sdk_config().await;
        (
            sdk,
            a.apis.clone(),
            need(&a.user_pool_id, "--user-pool-id")?,
            need(&a.products_table, "--products-table")?,
        )
    };
    let stage = shop_ops::smoke::Stage {
        apis,
        user_pool_id,
        products_table,
        password: format!("Sm0ke!{}", uuid::Uuid::new_v4().simple()),
        payment_method: a.payment_method.clone(),
        order: !a.no_order,
        decide_within: std::time::Duration::from_secs(a.decide_within),
    };
    shop_ops::smoke::provision(&sdk, &stage)
        .await
        .map_err(|e| e.to_string())?;
    let passed = shop_ops::smoke::walk(&stage).await.map_err(|e| e.to_string())?;
    for line in &passed {
        println!("smoke: {line}");
    }
    println!("smoke: all {} steps passed against {:?}", passed.len(), stage.apis);
    Ok(())
}

/// `make-admin`: the checked account joins the admins group (`shop_ops::admins`).
async fn make_admin(a: &Args) -> Result<(), String> {
    let username = a
        .username
        .clone()
        .ok_or(format!("make-admin needs a USERNAME\n{USAGE}"))?;
    let (sdk, pool) = if let Some(path) = &a.local {
        let (sdk, field) = local_stack(path).await?;
        (sdk, field("/userPoolId")?)
    } else {
        let pool = a
            .user_pool_id
            .clone()
            .ok_or(format!("--user-pool-id is required without --local\n{USAGE}"))?;
        (shop_core::aws::sdk_config().await, pool)
    };
    let accounts = shop_core::accounts::Accounts::new(aws_sdk_cognitoidentityprovider::Client::new(&sdk), pool);
    shop_ops::admins::make_admin(&accounts, &username, !a.without_totp)
        .await
        .map_err(|e| e.to_string())?;
    println!("{username} is now an admin; it signs in again (with its code) for a token that says so");
    Ok(())
}

async fn run(raw: &[String]) -> Result<(), String> {
    let a = parse(raw)?;
    if a.command == "smoke" {
        return smoke(&a).await;
    }
    if a.command == "make-admin" {
        return make_admin(&a).await;
    }
    let op = operator(&a).await?;
    let mode = if a.dry_run { "dry run: nothing changed" } else { "done" };
    if a.command == "redrive-dlq" {
        let seen = op.redrive_dlq(a.max, a.dry_run).await.map_err(|e| e.to_string())?;
        for m in &seen {
            println!("{}", serde_json::to_string(m).unwrap_or_default());
        }
        let moved = seen.iter().filter(|m| m.moved).count();
        let orders = seen.iter().filter(|m| m.order_id.is_some()).count();
        println!("redrive-dlq ({mode}): {} message(s) in the DLQ, {orders} order message(s), {moved} moved to the order queue", seen.len());
    } else {
        let found = op.reprocess_failed(a.max, a.dry_run).await.map_err(|e| e.to_string())?;
        for o in &found {
            println!("{}", serde_json::to_string(o).unwrap_or_default());
        }
        let started = found.iter().filter(|o| o.execution.is_some()).count();
        println!(
            "reprocess-failed ({mode}): {} failed order(s), {started} execution(s) started",
            found.len()
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    shop_core::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0] == "-h" || args[0] == "--help" {
        println!("{USAGE}");
        return;
    }
    if let Err(e) = run(&args).await {
        eprintln!("shop-ops: {e}");
        std::process::exit(1);
    }
}
