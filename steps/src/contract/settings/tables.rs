//! deployer.toml `[tables.NAME]`: changes to the manual's tables, and tables of the file's own.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{table_variable, InputError, Settings};
use crate::manual::TABLES;
use crate::names;

/// One table's departures from the manual's key schema (`""` removes the sort key or the TTL), or a table
/// of deployer.toml's own (a `partition_key` then is needed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// `false` leaves the table out of what is deployed; a table deployed already keeps its data until
    /// `deployer run --delete-data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The partition key (a string attribute), instead of the manual's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// The sort key, instead of the manual's; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// The TTL attribute, instead of the manual's; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_attribute: Option<String>,
    /// Global secondary indexes, by query pattern (string keys); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<IndexSettings>,
}

/// One global secondary index: `{ name, partition_key, sort_key, projection }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexSettings {
    /// The index's name (3 to 255 of `A-Za-z0-9_.-`).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]{3,255}$"))]
    pub name: String,
    /// Its partition key (a string attribute).
    pub partition_key: String,
    /// Its sort key (a string attribute), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// `"ALL"` (default), `"KEYS_ONLY"`, or the attributes to include beside the keys.
    #[serde(default)]
    pub projection: IndexProjection,
}

/// `"ALL"` (the default), `"KEYS_ONLY"`, or the attributes to include beside the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum IndexProjection {
    #[schemars(extend("enum" = ["ALL", "KEYS_ONLY"]))]
    Kind(String),
    Include(Vec<String>),
}

impl Default for IndexProjection {
    fn default() -> Self {
        IndexProjection::Kind("ALL".to_string())
    }
}

impl Settings {
    pub(super) fn validate_tables(&self) -> Result<(), InputError> {
        let mut variables = BTreeMap::new();
        for name in self.table_names() {
            if let Some(other) = variables.insert(table_variable(name), name) {
                return Err(InputError(format!(
                    "[tables.{other}] and [tables.{name}] would both reach the functions as {}: rename one",
                    table_variable(name)
                )));
            }
        }
        for (name, table) in &self.tables {
            let added = !TABLES.iter().any(|t| t.suffix == name);
            if added {
                names::validate_added(&self.service, "tables", name, names::TABLE_NAME_MOST)?;
                if table.partition_key.is_none() {
                    return Err(InputError(format!(
                        "[tables.{name}] is not one of the manual's tables, so it needs its partition_key, e.g. \
                         partition_key = \"id\""
                    )));
                }
            }
            if table.partition_key.as_deref() == Some("") {
                return Err(InputError(format!("[tables.{name}] partition_key cannot be empty")));
            }
            validate_indexes(name, &table.global_secondary_indexes)?;
        }
        Ok(())
    }
}

/// What DynamoDB would refuse of a table's indexes ("Service, account, and table quotas": 20 per table;
/// names of 3 to 255 letters, digits, `_`, `-`, `.`).
fn validate_indexes(table: &str, indexes: &[IndexSettings]) -> Result<(), InputError> {
    if indexes.len() > 20 {
        return Err(InputError(format!("[tables.{table}] has {} indexes: DynamoDB allows 20", indexes.len())));
    }
    let mut names = std::collections::BTreeSet::new();
    for index in indexes {
        let name = &index.name;
        let well_formed = (3..=255).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !well_formed {
            return Err(InputError(format!(
                "[tables.{table}] index name '{name}' must be 3 to 255 letters, digits, '_', '-' or '.'"
            )));
        }
        if !names.insert(name) {
            return Err(InputError(format!("[tables.{table}] names the index '{name}' twice")));
        }
        if index.partition_key.is_empty() || index.sort_key.as_deref() == Some("") {
            return Err(InputError(format!(
                "[tables.{table}] index '{name}' needs a partition_key (and no empty sort_key)"
            )));
        }
        match &index.projection {
            IndexProjection::Kind(kind) if kind != "ALL" && kind != "KEYS_ONLY" => {
                return Err(InputError(format!(
                    "[tables.{table}] index '{name}' projection must be \"ALL\", \"KEYS_ONLY\" or a list of attributes"
                )));
            }
            IndexProjection::Include(attributes) if attributes.is_empty() || attributes.len() > 100 => {
                return Err(InputError(format!(
                    "[tables.{table}] index '{name}' projection lists 1 to 100 attributes (or say \"ALL\")"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}
