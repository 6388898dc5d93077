//! Business metrics in CloudWatch embedded metric format (EMF): one JSON object per data point,
//! written to the function's log, which CloudWatch Logs turns into a metric: no PutMetricData call
//! and no cost per call. A data point is a `tracing` event of target [`TARGET`] carrying the line
//! in its `emf` field; [`crate::telemetry`] prints that line as is on Lambda (EMF must be the
//! whole log event), and the local runner counts the same lines.

use serde_json::{json, Value};

/// The `tracing` target of EMF lines.
pub const TARGET: &str = "emf";

/// One data point as the EMF line of `value` for metric `name` in `namespace`, dimension `Service`.
pub fn emf_line(namespace: &str, service: &str, name: &str, value: u64, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Service"]],
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        "Service": service,
        name: value,
    })
    .to_string()
}

/// Counts `value` of `name` now.
pub fn count(namespace: &str, service: &str, name: &str, value: u64) {
    let line = emf_line(namespace, service, name, value, chrono::Utc::now().timestamp_millis());
    tracing::info!(target: TARGET, emf = %line);
}

/// A data point read back from an EMF line: (namespace, metric, value), for whoever counts them.
pub fn parse(line: &str) -> Option<(String, String, u64)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let directive = v.get("_aws")?.get("CloudWatchMetrics")?.get(0)?;
    let namespace = directive.get("Namespace")?.as_str()?.to_owned();
    let name = directive.get("Metrics")?.get(0)?.get("Name")?.as_str()?.to_owned();
    let value = v.get(&name)?.as_u64()?;
    Some((namespace, name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metric_dimension_and_value_as_cloudwatch_expects() {
        let line = emf_line("Shop/dev", "order", "OrdersShipped", 1, 1_800_000_000_000);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_800_000_000_000i64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "Shop/dev");
        assert_eq!(d["Dimensions"], json!([["Service"]]));
        assert_eq!(d["Metrics"], json!([{ "Name": "OrdersShipped", "Unit": "Count" }]));
        // Every dimension and metric named in the directive is a top-level member.
        assert_eq!(
            (v["Service"].as_str(), v["OrdersShipped"].as_u64()),
            (Some("order"), Some(1))
        );
        assert_eq!(parse(&line), Some(("Shop/dev".into(), "OrdersShipped".into(), 1)));
        assert_eq!(parse("{\"message\": \"not emf\"}"), None);
    }
}
