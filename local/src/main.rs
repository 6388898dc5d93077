//! `shop-local`: runs the whole backend on this machine.
//!
//! ```text
//! shop-local [--port 3000] [--moto-port 5000] [--stripe-port 8420] [--reset] [--cleanup-every SECS] [--reconcile-after SECS] [--settle-after SECS] [--upload-max-bytes N] [--prefix shop-local]
//!            [--chaos RATE [--chaos-kinds all|throttle,server-error,slow-call,ses-failure,duplicate-delivery,duplicate-s3-event,async-retry,stream-error]]
//! shop-local make-admin <fullName | email>
//! ```

use std::time::Duration;

use shop_local::chaos::{Chaos, Fault};
use shop_local::runner::{self, Options};
use shop_local::stack::StackInfo;

const USAGE: &str = "usage: shop-local [--port N] [--moto-port N] [--stripe-port N] [--reset] [--cleanup-every SECS] [--reconcile-after SECS] [--settle-after SECS] [--upload-max-bytes N] [--prefix NAME] [--chaos RATE [--chaos-kinds LIST]]\n       shop-local make-admin <fullName | email>";

#[tokio::main]
async fn main() {
    shop_local::metrics::init_telemetry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("make-admin") => make_admin(args.get(1..).map(|a| a.join(" ")).unwrap_or_default()).await,
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => serve(&args).await,
    };
    if let Err(e) = result {
        eprintln!("shop-local: {e}");
        std::process::exit(1);
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::local()?;
    let mut it = args.iter();
    let (mut rate, mut kinds) = (0.0, Fault::ALL.to_vec());
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--port" => o.port = value("--port")?.parse().map_err(|_| "bad --port".to_owned())?,
            "--moto-port" => {
                o.moto_port = value("--moto-port")?
                    .parse()
                    .map_err(|_| "bad --moto-port".to_owned())?
            }
            "--stripe-port" => {
                o.stripe_port = value("--stripe-port")?
                    .parse()
                    .map_err(|_| "bad --stripe-port".to_owned())?
            }
            "--cleanup-every" => o.cleanup_interval = seconds(&value("--cleanup-every")?, "--cleanup-every")?,
            "--reconcile-after" => {
                o.stage.reconcile_after_seconds = seconds(&value("--reconcile-after")?, "--reconcile-after")?.as_secs()
            }
            "--settle-after" => {
                o.stage.settle_after_seconds = seconds(&value("--settle-after")?, "--settle-after")?.as_secs()
            }
            "--upload-max-bytes" => {
                o.stage.upload_max_bytes = value("--upload-max-bytes")?
                    .parse()
                    .map_err(|_| "bad --upload-max-bytes".to_owned())?
            }
            "--prefix" => o.prefix = value("--prefix")?,
            "--reset" => o.reset = true,
            "--chaos" => {
                rate = value("--chaos")?
                    .parse()
                    .map_err(|_| "--chaos takes a rate from 0 to 1".to_owned())?
            }
            "--chaos-kinds" => kinds = Fault::parse_list(&value("--chaos-kinds")?)?,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let chaos = Chaos::new(rate, kinds)?;
    // The workflow's emails are sent by the emulator: a moto this runner starts fails them too.
    let ses = chaos.rate_of(Fault::SesFailure);
    if ses > 0.0 {
        std::env::set_var("SHOP_EMU_SES_FAILURE_RATE", ses.to_string());
    }
    o.chaos = std::sync::Arc::new(chaos);
    Ok(o)
}

fn seconds(raw: &str, name: &str) -> Result<Duration, String> {
    raw.parse()
        .map(Duration::from_secs)
        .map_err(|_| format!("bad {name}: {raw}"))
}

async fn serve(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    let started = std::time::Instant::now();
    let running = runner::start(opts).await.map_err(|e| e.to_string())?;
    let api = &running.info.api_url;
    println!(
        "shop-local ready in {:.1}s: API {api} (/auth /banner /category /product /order), emulator {}, stack .local/stack.json, emails {api}/_local/emails. Ctrl-C stops.",
        started.elapsed().as_secs_f64(),
        running.emulator.endpoint
    );
    let _ = tokio::signal::ctrl_c().await;
    println!("shop-local: stopping");
    running.stop().await;
    Ok(())
}

/// Adds a signed-up user to the `admins` group (sign in again for a token that says so).
async fn make_admin(who: String) -> Result<(), String> {
    if who.trim().is_empty() {
        return Err(USAGE.to_owned());
    }
    let text = std::fs::read_to_string(".local/stack.json")
        .map_err(|e| format!("no .local/stack.json ({e}): start shop-local first"))?;
    let info: StackInfo = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    std::env::set_var("MOTO_ENDPOINT", &info.emulator_endpoint);
    let emu = shop_local::emulator::Emulator::find_or_start(0)
        .await
        .map_err(|e| e.to_string())?;
    let sdk = emu.sdk_config();
    let username = if who.contains('@') {
        let email = who.trim().to_lowercase();
        // The confirmed account that holds the email (an admin is a confirmed account).
        auth::store::Users::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            info.resources.table("users").map_err(|e| e.to_string())?.to_owned(),
        )
        .email_owner(&email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or(format!("no confirmed account with email {email}"))?
    } else {
        auth::model::username_for(&who)
    };
    shop_core::accounts::Accounts::new(
        aws_sdk_cognitoidentityprovider::Client::new(&sdk),
        &info.resources.pool.user_pool_id,
    )
    .add_to_admins(&username)
    .await
    .map_err(|e| format!("could not make {username} an admin: {e}"))?;
    println!("{username} is now an admin; sign in again to get a token with the admins group");
    Ok(())
}
