//! The moto server: reuse the one `MOTO_ENDPOINT` names, or start one on a free port.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Region the local stack uses unless `AWS_REGION` says otherwise. moto files unsigned calls
/// (Cognito's `GlobalSignOut` carries only the access token) under its default region, so the
/// local stack lives there too; on AWS the region comes from the stage's environment.
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not start moto_server (install it with: pip install \"moto[server]==5.2.5\"): {0}")]
    Spawn(std::io::Error),
    #[error("the emulator at {0} did not answer within {1:?}")]
    NotReady(String, Duration),
    #[error("the emulator at {0} refused its configuration: {1}")]
    Config(String, String),
}

/// A running emulator.
#[derive(Debug, Clone)]
pub struct Emulator {
    pub endpoint: String,
    pub region: String,
}

impl Emulator {
    /// `MOTO_ENDPOINT` if set, otherwise a new moto server on `port` (0 = any free port) that
    /// exits when this process does.
    pub async fn find_or_start(port: u16) -> Result<Self, EmulatorError> {
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| DEFAULT_REGION.to_owned());
        let endpoint = match std::env::var("MOTO_ENDPOINT") {
            Ok(e) if !e.is_empty() => e.trim_end_matches('/').to_owned(),
            _ => start_moto(port)?,
        };
        let emu = Self { endpoint, region };
        emu.wait_ready(Duration::from_secs(30)).await?;
        emu.enable_state_machine_execution().await?;
        Ok(emu)
    }

    async fn wait_ready(&self, limit: Duration) -> Result<(), EmulatorError> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < limit {
            if let Ok(r) = client.get(format!("{}/moto-api/", self.endpoint)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(EmulatorError::NotReady(self.endpoint.clone(), limit))
    }

    /// moto runs ASL state machines only when told to.
    async fn enable_state_machine_execution(&self) -> Result<(), EmulatorError> {
        let r = reqwest::Client::new()
            .post(format!("{}/moto-api/config", self.endpoint))
            .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
            .send()
            .await
            .map_err(|e| EmulatorError::Config(self.endpoint.clone(), e.to_string()))?;
        if !r.status().is_success() {
            return Err(EmulatorError::Config(self.endpoint.clone(), r.status().to_string()));
        }
        Ok(())
    }

    /// Registers `url` as the user pool `pool_id`'s `trigger` (`CustomMessage`): the emulator
    /// calls it when Cognito would invoke that trigger (`local/emulator/moto_server.py`).
    pub async fn register_trigger(&self, pool_id: &str, trigger: &str, url: &str) -> Result<(), EmulatorError> {
        reqwest::Client::new()
            .post(format!("{}/moto-api/shop/triggers", self.endpoint))
            .json(&serde_json::json!({ "userPoolId": pool_id, "trigger": trigger, "url": url }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| EmulatorError::Config(self.endpoint.clone(), format!("trigger registration: {e}")))?;
        Ok(())
    }

    /// Wipes every resource in the emulator (keeps its configuration).
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        reqwest::Client::new()
            .post(format!("{}/moto-api/reset", self.endpoint))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EmulatorError::Config(self.endpoint.clone(), e.to_string()))
    }

    /// SDK configuration aimed at the emulator, with throwaway static credentials.
    pub fn sdk_config(&self) -> SdkConfig {
        let creds = aws_credential_types::Credentials::new("local", "local", None, None, "shop-local");
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
            .http_client(shop_core::aws::http_client())
            .timeout_config(shop_core::aws::timeouts())
            .build()
    }
}

fn start_moto(port: u16) -> Result<String, EmulatorError> {
    // moto with DynamoDB writes serialized (local/emulator/moto_server.py says why).
    let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/emulator/moto_server.py");
    spawn_watched(launcher, "-H 127.0.0.1 -p", port).map_err(EmulatorError::Spawn)
}

/// Starts `python3 <launcher> <port_flag> <port>` (a free port when `port` is 0) under a watchdog
/// shell that stops it when this process exits, so no emulator outlives its owner; answers its URL.
pub(crate) fn spawn_watched(launcher: &str, port_flag: &str, port: u16) -> std::io::Result<String> {
    let port = if port == 0 { free_port()? } else { port };
    let script = format!(
        "python3 {launcher} {port_flag} {port} >/dev/null 2>&1 & m=$!; \
         while kill -0 {owner} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
        owner = std::process::id()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(format!("http://127.0.0.1:{port}"))
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// An email the emulator's SES accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentEmail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl Emulator {
    /// The emulator's whole state (`/moto-api/data.json`). moto serializes it while executions
    /// write to it and now and then fails (an HTML 500): such a read is retried with backoff.
    async fn state(&self) -> Result<serde_json::Value, EmulatorError> {
        let url = format!("{}/moto-api/data.json", self.endpoint);
        let mut attempt = 0;
        loop {
            let read = async { reqwest::get(&url).await?.error_for_status()?.json().await };
            match read.await {
                Ok(v) => return Ok(v),
                Err(_) if attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => return Err(EmulatorError::Config(self.endpoint.clone(), e.to_string())),
            }
        }
    }

    /// Every email sent so far, by any service or state machine task.
    pub async fn sent_emails(&self) -> Result<Vec<SentEmail>, EmulatorError> {
        let data = self.state().await?;
        let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
        let messages = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
        Ok(messages
            .iter()
            .map(|m| SentEmail {
                from: text(m, "source"),
                to: m["destinations"]["ToAddresses"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default(),
                subject: text(m, "subject"),
                body: text(m, "body"),
            })
            .collect())
    }
}
