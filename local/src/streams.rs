//! The Orders table's change stream -> `order/status-changed`, as Lambda's event source mapping
//! would deliver it: the emulator's DynamoDB Streams records, in order, batched, as the Lambda
//! event. The emulator speaks the plain DynamoDB Streams JSON protocol; it reads the region from
//! the credential scope of the `Authorization` header and checks no signature, so the requests are
//! built here rather than through another SDK crate.

use serde_json::{json, Value};

/// One DynamoDB Streams call on the emulator.
async fn call(http: &reqwest::Client, endpoint: &str, region: &str, op: &str, body: Value) -> Option<Value> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
    );
    let resp = http
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDBStreams_20120810.{op}"))
        .header("authorization", auth)
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        tracing::warn!(op, status = %resp.status(), "stream call failed");
        return None;
    }
    resp.json().await.ok()
}

/// A reader of one stream from its start (every shard's `TRIM_HORIZON`).
pub struct StreamReader {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    arn: String,
    iterators: Vec<String>,
}

impl StreamReader {
    pub async fn open(endpoint: &str, region: &str, arn: &str) -> Option<Self> {
        let http = reqwest::Client::new();
        let desc = call(&http, endpoint, region, "DescribeStream", json!({ "StreamArn": arn })).await?;
        let mut iterators = Vec::new();
        for shard in desc["StreamDescription"]["Shards"].as_array().into_iter().flatten() {
            let body = json!({ "StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON" });
            if let Some(it) = call(&http, endpoint, region, "GetShardIterator", body).await {
                iterators.extend(it["ShardIterator"].as_str().map(str::to_owned));
            }
        }
        Some(Self {
            http,
            endpoint: endpoint.to_owned(),
            region: region.to_owned(),
            arn: arn.to_owned(),
            iterators,
        })
    }

    /// The records that arrived since the last call, as one Lambda DynamoDB event (None if none).
    pub async fn next_event(&mut self) -> Option<aws_lambda_events::dynamodb::Event> {
        let mut records = Vec::new();
        for it in &mut self.iterators {
            let body = json!({ "ShardIterator": it.as_str(), "Limit": 100 });
            let Some(out) = call(&self.http, &self.endpoint, &self.region, "GetRecords", body).await else {
                continue;
            };
            if let Some(next) = out["NextShardIterator"].as_str() {
                *it = next.to_owned();
            }
            for mut r in out["Records"].as_array().cloned().unwrap_or_default() {
                r["eventSourceARN"] = json!(self.arn);
                records.push(r);
            }
        }
        if records.is_empty() {
            return None;
        }
        match serde_json::from_value(json!({ "Records": records })) {
            Ok(event) => Some(event),
            Err(e) => {
                tracing::warn!(error = %e, "stream records do not form a Lambda event");
                None
            }
        }
    }
}
