//! Business metrics of the order pipeline, from the Orders table's stream: every order accepted
//! (inserted `pending`), and every decision (`pending` -> `shipping`, `rejected`, `failed`), as
//! CloudWatch EMF data points. The decisions are taken inside the workflow, where no code of ours
//! runs; the table's change stream sees each one exactly as stored, whoever made it.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use serde_dynamo::AttributeValue;

use crate::model::OrderStatus::{self, Cancelled, Failed, Pending, Rejected, Shipping};
use crate::{Error, Orders};

/// What one stream batch counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeReport {
    pub accepted: u64,
    pub shipped: u64,
    pub rejected: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Orders whose money this batch moved (capture, void, refund).
    pub settled: u64,
}

fn status(image: &serde_dynamo::Item) -> Option<OrderStatus> {
    match image.get("status") {
        Some(AttributeValue::S(s)) => OrderStatus::parse(s),
        _ => None,
    }
}

/// An order of the smoke walk's synthetic product: the walk's, not a customer's.
fn synthetic(image: &serde_dynamo::Item) -> bool {
    matches!(image.get("productId"), Some(AttributeValue::S(p)) if p == shop_core::SYNTHETIC_PRODUCT_ID)
}

/// The metric a stream record counts toward, if any (never for the smoke walk's orders).
pub fn outcome(record: &EventRecord) -> Option<&'static str> {
    if synthetic(&record.change.new_image) || synthetic(&record.change.old_image) {
        return None;
    }
    let old = status(&record.change.old_image);
    let new = status(&record.change.new_image);
    match (record.event_name.as_str(), old, new) {
        ("INSERT", _, Some(Pending)) => Some("OrdersAccepted"),
        ("MODIFY", Some(Pending), Some(Shipping)) => Some("OrdersShipped"),
        ("MODIFY", Some(Pending), Some(Rejected)) => Some("OrdersRejected"),
        ("MODIFY", Some(Pending), Some(Failed)) => Some("OrdersFailed"),
        ("MODIFY", Some(Pending | Shipping), Some(Cancelled)) => Some("OrdersCancelled"),
        _ => None,
    }
}

/// The orders of a batch whose new image owes money (a decided order with `paymentDue`), once each.
fn owing(records: &[EventRecord]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for r in records {
        let image = &r.change.new_image;
        let decided = !matches!(status(image), None | Some(Pending));
        let due = image.get("paymentDue").is_some();
        if let (true, true, Some(AttributeValue::S(id))) = (decided, due, image.get("id")) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// Stream trigger of the Orders table: one EMF data point per outcome in the batch.
pub async fn status_changed(o: &Orders, event: Event) -> Result<OutcomeReport, Error> {
    let mut report = OutcomeReport::default();
    for record in &event.records {
        let Some(metric) = outcome(record) else { continue };
        match metric {
            "OrdersAccepted" => report.accepted += 1,
            "OrdersShipped" => report.shipped += 1,
            "OrdersRejected" => report.rejected += 1,
            "OrdersCancelled" => report.cancelled += 1,
            _ => report.failed += 1,
        }
    }
    // The money each decision owes moves here, outside the workflow. A failure is counted
    // (CaptureFailures alarm) and left to the reconciler, so the batch never blocks the shard.
    // One order after another: a batch of 100 decisions is 100 provider calls of about 400 ms,
    // inside the function's declared timeout (60 s, lambdas/services.json).
    for id in owing(&event.records) {
        match crate::payment::settle(o, &id).await {
            Ok(crate::payment::Settled::Moved(_)) => report.settled += 1,
            Ok(_) => {}
            Err(e) => tracing::error!(order_id = %id, error = %e, "payment not settled from the stream"),
        }
    }
    for (metric, n) in [
        ("OrdersAccepted", report.accepted),
        ("OrdersShipped", report.shipped),
        ("OrdersRejected", report.rejected),
        ("OrdersFailed", report.failed),
        ("OrdersCancelled", report.cancelled),
    ] {
        if n > 0 {
            shop_core::metrics::count(&o.config.metrics_namespace, "order", metric, n);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, old: Option<&str>, new: Option<&str>) -> EventRecord {
        let image = |s: Option<&str>| match s {
            Some(s) => serde_json::json!({ "id": { "S": "o1" }, "status": { "S": s } }),
            None => serde_json::json!({}),
        };
        serde_json::from_value(serde_json::json!({
            "eventID": "1", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "test-region-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1.8e9, "Keys": { "id": { "S": "o1" } },
                "OldImage": image(old), "NewImage": image(new),
                "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"
            },
            "eventSourceARN": "arn:aws:dynamodb:test-region-1:test-account:table/orders/stream/x"
        }))
        .unwrap()
    }

    #[test]
    fn only_acceptance_and_decisions_count() {
        assert_eq!(
            outcome(&record("INSERT", None, Some("pending"))),
            Some("OrdersAccepted")
        );
        assert_eq!(
            outcome(&record("MODIFY", Some("pending"), Some("shipping"))),
            Some("OrdersShipped")
        );
        assert_eq!(
            outcome(&record("MODIFY", Some("pending"), Some("rejected"))),
            Some("OrdersRejected")
        );
        assert_eq!(
            outcome(&record("MODIFY", Some("pending"), Some("failed"))),
            Some("OrdersFailed")
        );
        // A re-drive claim, an operator's re-open, a withdrawal, a repeated decision: no outcome.
        assert_eq!(outcome(&record("MODIFY", Some("pending"), Some("pending"))), None);
        assert_eq!(outcome(&record("MODIFY", Some("failed"), Some("pending"))), None);
        assert_eq!(outcome(&record("REMOVE", Some("pending"), None)), None);
        assert_eq!(outcome(&record("MODIFY", Some("shipping"), Some("shipping"))), None);
    }

    #[test]
    fn the_smoke_walks_orders_count_toward_no_business_metric() {
        let mut accepted = record("INSERT", None, Some("pending"));
        accepted.change.new_image.insert(
            "productId".into(),
            AttributeValue::S(shop_core::SYNTHETIC_PRODUCT_ID.into()),
        );
        assert_eq!(outcome(&accepted), None);
        let mut shipped = record("MODIFY", Some("pending"), Some("shipping"));
        for image in [&mut shipped.change.old_image, &mut shipped.change.new_image] {
            image.insert(
                "productId".into(),
                AttributeValue::S(shop_core::SYNTHETIC_PRODUCT_ID.into()),
            );
        }
        assert_eq!(outcome(&shipped), None);
        let mut real = record("MODIFY", Some("pending"), Some("shipping"));
        real.change
            .new_image
            .insert("productId".into(), AttributeValue::S("p1".into()));
        assert_eq!(outcome(&real), Some("OrdersShipped"));
    }
}
