//! A table's global secondary indexes (deployer.toml `[[tables.X.global_secondary_indexes]]`): given to
//! CreateTable with a new table; on an existing one added and removed one per UpdateTable, with the table
//! and every index ACTIVE in between, as DynamoDB requires ("UpdateTable": one index create or delete per
//! call, none while another is being built). An index still `CREATING` counts as there: it is the wanted
//! state in progress.

use anyhow::{bail, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ScalarAttributeType,
    TableDescription, TableStatus,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::aws::AwsContext;
use crate::settings::{IndexProjection, IndexSettings};

/// How long an index may take to build (DynamoDB backfills it from the table's items).
const INDEX_BUILD_WAIT: Duration = Duration::from_secs(3600);
/// Between two looks at an index being built or deleted.
const INDEX_POLL: Duration = Duration::from_secs(10);

/// What makes two indexes the same: name, keys and projection.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    name: String,
    keys: Vec<(String, String)>,
    projection: (String, BTreeSet<String>),
}

fn wanted_shape(index: &IndexSettings) -> Shape {
    let mut keys = vec![(index.partition_key.clone(), "HASH".to_string())];
    keys.extend(index.sort_key.clone().map(|k| (k, "RANGE".to_string())));
    let projection = match &index.projection {
        IndexProjection::Kind(kind) => (kind.clone(), BTreeSet::new()),
        IndexProjection::Include(attributes) => ("INCLUDE".to_string(), attributes.iter().cloned().collect()),
    };
    Shape { name: index.name.clone(), keys, projection }
}

fn live_shapes(table: &TableDescription) -> Vec<Shape> {
    table
        .global_secondary_indexes()
        .iter()
        .map(|index| Shape {
            name: index.index_name().unwrap_or_default().to_string(),
            keys: index
                .key_schema()
                .iter()
                .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
                .collect(),
            projection: index.projection().map_or_else(Default::default, |p| {
                let kind = p.projection_type().map_or("ALL", |t| t.as_str()).to_string();
                (kind, p.non_key_attributes().iter().cloned().collect())
            }),
        })
        .collect()
}

/// Whether the live indexes differ from the wanted ones.
pub(super) fn differ(table: &TableDescription, wanted: &[IndexSettings]) -> bool {
    let mut live = live_shapes(table);
    let mut wanted: Vec<Shape> = wanted.iter().map(wanted_shape).collect();
    live.sort();
    wanted.sort();
    live != wanted
}

/// One index change, as UpdateTable takes them.
pub(super) enum IndexChange<'w> {
    Delete(String),
    Create(&'w IndexSettings),
}

/// The next change: first an index that is not wanted (or wanted otherwise), then a missing one.
pub(super) fn next_change<'w>(table: &TableDescription, wanted: &'w [IndexSettings]) -> Option<IndexChange<'w>> {
    let live = live_shapes(table);
    let shapes: Vec<Shape> = wanted.iter().map(wanted_shape).collect();
    if let Some(stale) = live.iter().find(|l| !shapes.contains(l)) {
        return Some(IndexChange::Delete(stale.name.clone()));
    }
    wanted.iter().zip(&shapes).find(|(_, shape)| !live.contains(shape)).map(|(index, _)| IndexChange::Create(index))
}

fn key_schema(index: &IndexSettings) -> Result<Vec<KeySchemaElement>> {
    let mut keys = vec![(index.partition_key.as_str(), KeyType::Hash)];
    keys.extend(index.sort_key.as_deref().map(|k| (k, KeyType::Range)));
    keys.into_iter()
        .map(|(name, kind)| Ok(KeySchemaElement::builder().attribute_name(name).key_type(kind).build()?))
        .collect()
}

fn projection(index: &IndexSettings) -> Projection {
    crate::dynamodb::projection(&index.projection)
}

/// The indexes as CreateTable takes them.
pub(super) fn for_create(wanted: &[IndexSettings]) -> Result<Option<Vec<GlobalSecondaryIndex>>> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let indexes = wanted.iter().map(|index| {
        Ok(GlobalSecondaryIndex::builder()
            .index_name(&index.name)
            .set_key_schema(Some(key_schema(index)?))
            .projection(projection(index))
            .build()?)
    });
    Ok(Some(indexes.collect::<Result<_>>()?))
}

/// The string attributes the indexes key on, to declare beside the table's keys.
pub(super) fn key_attributes(wanted: &[IndexSettings]) -> impl Iterator<Item = &str> {
    wanted.iter().flat_map(|i| std::iter::once(i.partition_key.as_str()).chain(i.sort_key.as_deref()))
}

pub(super) fn string_attributes<'n>(names: impl Iterator<Item = &'n str>) -> Result<Vec<AttributeDefinition>> {
    let unique: BTreeSet<&str> = names.collect();
    unique
        .into_iter()
        .map(|name| {
            Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()?)
        })
        .collect()
}

/// Sends one change; `attributes` declares the table's and the new index's keys.
pub(super) async fn apply(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    change: &IndexChange<'_>,
    attributes: Vec<AttributeDefinition>,
) -> Result<()> {
    let (update, what) = match change {
        IndexChange::Delete(name) => {
            let delete = DeleteGlobalSecondaryIndexAction::builder().index_name(name).build()?;
            (GlobalSecondaryIndexUpdate::builder().delete(delete).build(), format!("delete index {name}"))
        }
        IndexChange::Create(index) => {
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(index)?))
                .projection(projection(index))
                .build()?;
            (GlobalSecondaryIndexUpdate::builder().create(create).build(), format!("create index {}", index.name))
        }
    };
    let mut request = client.update_table().table_name(table).global_secondary_index_updates(update);
    if matches!(change, IndexChange::Create(_)) {
        request = request.set_attribute_definitions(Some(attributes));
    }
    request.send().await.aws_context(|| format!("dynamodb:UpdateTable {table} ({what})"))?;
    Ok(())
}

/// The table once it and every index are ACTIVE. DynamoDB has no waiter for indexes, so DescribeTable is
/// polled.
pub(super) async fn settled(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<TableDescription> {
    let started = Instant::now();
    loop {
        let described = client.describe_table().table_name(table).send().await;
        let description = described.aws_context(|| format!("dynamodb:DescribeTable {table}"))?.table;
        let Some(description) = description else { bail!("table {table} vanished while its indexes changed") };
        let indexes_active =
            description.global_secondary_indexes().iter().all(|i| i.index_status() == Some(&IndexStatus::Active));
        if description.table_status() == Some(&TableStatus::Active) && indexes_active {
            return Ok(description);
        }
        if started.elapsed() >= crate::clock::scaled(INDEX_BUILD_WAIT) {
            bail!(
                "the indexes of table {table} are still being built or deleted after an hour: run `deployer resume` \
                 to wait again"
            );
        }
        crate::clock::sleep(INDEX_POLL).await;
    }
}
