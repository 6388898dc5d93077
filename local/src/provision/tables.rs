//! The data plane as `lambdas/tables.json` declares it (the CDK app reads the same file), and
//! its creation on the emulator.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection as DynamoProjection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use serde::Deserialize;

use super::{fail, ProvisionError};

/// The declaration, compiled in.
pub const TABLES_JSON: &str = include_str!("../../../lambdas/tables.json");

/// A table: its partition key (a string, as every key attribute), indexes and stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// The short name (`orders`); a stack's table is `<prefix>-<name>`.
    pub name: String,
    pub key: String,
    #[serde(default)]
    pub indexes: Vec<Index>,
    /// `NEW_AND_OLD_IMAGES` when the table has a change stream.
    #[serde(default)]
    pub stream: Option<String>,
}

/// A global secondary index: partition key and optional sort key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub name: String,
    pub key: Vec<String>,
    pub projection: Projection,
    /// Why the index exists, when its shape is not obvious (documentation only).
    #[serde(default)]
    pub why: Option<String>,
}

/// What an index carries besides its keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Projection {
    /// `"all"` or `"keys"`.
    Named(String),
    /// Keys plus these attributes.
    Include(Vec<String>),
}

#[derive(Deserialize)]
struct Declaration {
    tables: Vec<TableSpec>,
}

/// Every declared table; a malformed file is a build-time mistake (a unit test parses it).
pub fn declared() -> Vec<TableSpec> {
    serde_json::from_str::<Declaration>(TABLES_JSON)
        .map(|d| d.tables)
        .unwrap_or_default()
}

/// The declared table `name` (`users`, `banners`, `categories`, `products`, `orders`).
pub fn declared_table(name: &str) -> Result<TableSpec, ProvisionError> {
    declared()
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| fail(format!("table {name}"), "not declared in lambdas/tables.json"))
}

fn key_schema(keys: &[String]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    keys.iter()
        .zip([KeyType::Hash, KeyType::Range])
        .map(|(k, kind)| {
            KeySchemaElement::builder()
                .attribute_name(k)
                .key_type(kind)
                .build()
                .map_err(|e| fail(k.as_str(), e))
        })
        .collect()
}

fn projection(p: &Projection) -> Result<DynamoProjection, ProvisionError> {
    Ok(match p {
        Projection::Named(n) if n == "all" => DynamoProjection::builder().projection_type(ProjectionType::All).build(),
        Projection::Named(n) if n == "keys" => DynamoProjection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
        Projection::Named(other) => return Err(fail("projection", format!("unknown projection {other:?}"))),
        Projection::Include(extra) => DynamoProjection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(extra.clone()))
            .build(),
    })
}

/// Creates `spec` as the on-demand table `name` with its indexes; answers its stream's ARN when it
/// has one.
pub async fn table(sdk: &SdkConfig, name: &str, spec: &TableSpec) -> Result<Option<String>, ProvisionError> {
    let db = aws_sdk_dynamodb::Client::new(sdk);
    let mut req = db
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(std::slice::from_ref(&spec.key))?));
    let mut attrs: Vec<&String> = vec![&spec.key];
    for i in &spec.indexes {
        attrs.extend(&i.key);
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&i.name)
                .set_key_schema(Some(key_schema(&i.key)?))
                .projection(projection(&i.projection)?)
                .build()
                .map_err(|e| fail(i.name.as_str(), e))?,
        );
    }
    attrs.sort();
    attrs.dedup();
    for a in attrs {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| fail(a.as_str(), e))?,
        );
    }
    if let Some(view) = &spec.stream {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| fail(name, e))?,
        );
    }
    let out = req.send().await.map_err(|e| fail(format!("table {name}"), e))?;
    Ok(out
        .table_description
        .and_then(|d| d.latest_stream_arn)
        .filter(|_| spec.stream.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_table_and_index_is_well_formed() {
        let tables: Declaration = serde_json::from_str(TABLES_JSON).unwrap();
        let names: Vec<&str> = tables.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["users", "banners", "categories", "products", "orders"]);
        for t in &tables.tables {
            for i in &t.indexes {
                assert!((1..=2).contains(&i.key.len()), "{}.{}", t.name, i.name);
                projection(&i.projection).unwrap();
            }
        }
    }

    /// The index names the service crates query are the declared ones.
    #[test]
    fn every_index_a_crate_queries_is_declared_on_its_table() {
        let index = |table: &str, name: &str| {
            let t = declared_table(table).unwrap();
            assert!(t.indexes.iter().any(|i| i.name == name), "{table} has no index {name}");
        };
        index("users", auth::store::EMAIL_INDEX);
        index("banners", shop_core::catalog::STATUS_INDEX);
        index("categories", shop_core::catalog::STATUS_INDEX);
        index("products", product::model::STATUS_INDEX);
        index("products", product::model::CATEGORY_INDEX);
        index("orders", order::model::STATUS_INDEX);
        index("orders", order::model::CUSTOMER_INDEX);
        index("orders", order::model::OPEN_PAYMENT_INDEX);
        assert_eq!(
            declared_table("orders").unwrap().stream.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
    }

    /// Every page token a handler decodes names the table's key and its index's keys, as the
    /// declaration has them (a page key spelled differently would refuse every second page).
    #[test]
    fn every_page_key_is_the_table_key_and_its_index_keys() {
        let page_key = |table: &str, index: &str| {
            let t = declared_table(table).unwrap();
            let i = t.indexes.iter().find(|i| i.name == index).unwrap();
            let mut key = vec![t.key.clone()];
            key.extend(i.key.iter().cloned());
            key
        };
        assert_eq!(
            banner::model::PAGE_KEY,
            page_key("banners", shop_core::catalog::STATUS_INDEX)
        );
        assert_eq!(
            category::model::PAGE_KEY,
            page_key("categories", shop_core::catalog::STATUS_INDEX)
        );
        assert_eq!(
            product::model::STATUS_PAGE_KEY,
            page_key("products", product::model::STATUS_INDEX)
        );
        assert_eq!(
            product::model::CATEGORY_PAGE_KEY,
            page_key("products", product::model::CATEGORY_INDEX)
        );
        assert_eq!(
            order::model::CUSTOMER_PAGE_KEY,
            page_key("orders", order::model::CUSTOMER_INDEX)
        );
    }
}
