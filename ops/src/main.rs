//! `shop-ops`: repairs an operator runs by hand, against any stage (the caller's AWS credentials
//! and region, resources named by flags from the Order stack's outputs) or the local stack.
//!
//! ```text
//! shop-ops redrive-dlq      [--dry-run] [--max N] STAGE-OR-LOCAL
//! shop-ops reprocess-failed [--dry-run] [--max N] STAGE-OR-LOCAL
//!
//! STAGE-OR-LOCAL: --local [.local/stack.json]
//!              or --queue-url URL --dlq-url URL --orders-table NAME --state-machine-arn ARN
//! ```
//! Prints one JSON line per message or order, then a summary line.

use order::ops::Operator;

const USAGE: &str = "usage: shop-ops redrive-dlq|reprocess-failed [--dry-run] [--max N] (--local [stack.json] | --queue-url URL --dlq-url URL --orders-table NAME --state-machine-arn ARN)";

struct Args {
    command: String,
    dry_run: bool,
    max: usize,
    local: Option<String>,
    queue_url: Option<String>,
    dlq_url: Option<String>,
    orders_table: Option<String>,
    state_machine_arn: Option<String>,
}

fn parse(raw: &[String]) -> Result<Args, String> {
    let mut it = raw.iter().peekable();
    let command = it.next().cloned().ok_or(USAGE)?;
    if command != "redrive-dlq" && command != "reprocess-failed" {
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
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// The operator for the local stack (`.local/stack.json` names the emulator and every resource)
/// or for a stage (the caller's credentials, resources from flags).
async fn operator(a: &Args) -> Result<Operator, String> {
    if let Some(path) = &a.local {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e} (is the local stack running?)"))?;
        let stack: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        let field = |k: &str| stack[k].as_str().map(str::to_owned).ok_or(format!("{path} has no {k}"));
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(field("emulatorEndpoint")?)
            .region(aws_config::Region::new(field("region")?))
            .credentials_provider(aws_credential_types::Credentials::new(
                "local", "local", None, None, "shop-ops",
            ))
            .http_client(shop_core::aws::http_client())
            .load()
            .await;
        return Ok(Operator::new(
            &sdk,
            &field("orderQueue")?,
            &field("orderDlq")?,
            &field("ordersTable")?,
            &field("stateMachineArn")?,
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

async fn run(raw: &[String]) -> Result<(), String> {
    let a = parse(raw)?;
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
