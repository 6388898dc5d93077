//! The scheduled cleanup loop shared by categories and products: find stale items through an
//! index (cost grows with what is deleted, not with the table), delete each one only if it is
//! still stale, then publish one SNS notice when anything was deleted.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::error::Upstream;
use crate::pagination::{query_index, IndexQuery};

/// Where stale items are and how to recognise them.
#[derive(Debug, Clone)]
pub struct Sweep<'a> {
    pub table: &'a str,
    /// GSI with partition key `status_attr` and sort key `age_attr` (an RFC 3339 string).
    pub index: &'a str,
    pub status_attr: &'a str,
    /// The status of an item that still waits for its image.
    pub stale_status: &'a str,
    pub age_attr: &'a str,
    /// Items whose `age_attr` is before this are stale.
    pub cutoff: String,
    /// The table's key attributes.
    pub key_attrs: &'a [&'a str],
    /// At most this many deletions per run (the next run continues).
    pub max_per_run: usize,
}

impl<'a> Sweep<'a> {
    /// The items of `table` still `stale_status` in its `byStatus` index (`status`, `createdAt`)
    /// created before `cutoff`, at most 1000 per run.
    pub fn by_status(table: &'a str, stale_status: &'a str, cutoff: String, key_attrs: &'a [&'a str]) -> Self {
        Self {
            table,
            index: crate::dynamo::STATUS_INDEX,
            status_attr: "status",
            stale_status,
            age_attr: "createdAt",
            cutoff,
            key_attrs,
            max_per_run: 1000,
        }
    }
}

/// What one run did; `items_read` is what DynamoDB reported reading from the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub deleted: usize,
    pub items_read: usize,
    pub notified: bool,
}

/// Deletes the stale items. An item that got its image since the query is kept (the delete is
/// conditional on the status).
pub async fn sweep(db: &aws_sdk_dynamodb::Client, s: &Sweep<'_>) -> Result<SweepReport, Upstream> {
    let mut report = SweepReport::default();
    let stale = IndexQuery {
        table: s.table,
        index: s.index,
        pk_attr: s.status_attr,
        pk_value: s.stale_status.to_owned(),
        newest_first: false,
        before: Some((s.age_attr, s.cutoff.clone())),
    };
    let mut start = None;
    loop {
        let page = query_index(db, &stale, 100, start.take()).await?;
        report.items_read += page.items_read;
        for item in &page.items {
            let key: HashMap<String, AttributeValue> = s
                .key_attrs
                .iter()
                .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect();
            if key.len() != s.key_attrs.len() {
                continue;
            }
            let deleted = db
                .delete_item()
                .table_name(s.table)
                .set_key(Some(key))
                .condition_expression("#s = :stale")
                .expression_attribute_names("#s", s.status_attr)
                .expression_attribute_values(":stale", AttributeValue::S(s.stale_status.to_owned()))
                .send()
                .await;
            if crate::conditional(deleted)?.is_some() {
                report.deleted += 1;
            }
            if report.deleted >= s.max_per_run {
                return Ok(report);
            }
        }
        match page.last_key {
            Some(k) => start = Some(k),
            None => return Ok(report),
        }
    }
}

/// The cleanup topic. Each scheduled cleanup reports to it.
#[cfg(feature = "sns")]
#[derive(Clone, Debug)]
pub struct Notices(crate::topic::Topic);

#[cfg(feature = "sns")]
impl Notices {
    pub fn new(sns: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self(crate::topic::Topic::new(sns, topic_arn))
    }

    /// Reports a finished sweep of `noun`: publishes `Cleanup completed. Deleted N outdated
    /// <noun>` when N > 0 (and marks the report notified).
    pub async fn report(&self, noun: &str, mut report: SweepReport) -> Result<SweepReport, Upstream> {
        if report.deleted > 0 {
            let message = format!("Cleanup completed. Deleted {} outdated {noun}", report.deleted);
            self.0.publish("Cleanup completed", &message).await?;
            report.notified = true;
        }
        tracing::info!(
            noun,
            deleted = report.deleted,
            items_read = report.items_read,
            notified = report.notified,
            "cleanup done"
        );
        Ok(report)
    }
}
