//! Manual section 2.1, "DynamoDB tables": step `01-dynamodb`.
//!
//! Tables (on-demand billing): the manual's, with the key schemas its handlers use ([`crate::manual::TABLES`]),
//! and deployer.toml's own (`[tables.NAME]`); `enabled = false` leaves one out:
//!
//! | table                          | partition key       | sort key              | TTL attribute |
//! |--------------------------------|---------------------|-----------------------|---------------|
//! | `SERVICE-conversations`        | `userId` (S)        | `conversationId` (S)  |               |
//! | `SERVICE-prompts`              | `promptId` (S)      |                       |               |
//! | `SERVICE-usage`                | `userId` (S)        | `date` (S)            |               |
//! | `SERVICE-websocket-connections`| `connectionId` (S)  |                       | `ttl`         |
//!
//! Global secondary indexes come from deployer.toml (`indexes.rs`): given to CreateTable, else added and
//! removed one per UpdateTable with everything ACTIVE in between.
//!
//! AWS calls: `DescribeTable`, `CreateTable`, `UpdateTable`, `DeleteTable` (asked only) (billing mode, one index), the `table_exists` waiter,
//! `DescribeTimeToLive`, `UpdateTimeToLive`. The tables are ensured concurrently. A TTL `ENABLING` counts as
//! enabled (AWS takes up to an hour); a changed TTL attribute disables the old one first, and since AWS allows
//! one TTL change per table per hour, the step then says to resume in an hour.
//! A table whose key schema differs cannot be changed in place: the step stops and says so.
//!
//! A table deployer made that the settings no longer have is kept, data and all, with a notice, until
//! `run --delete-data` (`retired.rs`).
//!
//! Outputs: `table_arn.<name>` for each table (e.g. `table_arn.conversations`), `tables` (their names,
//! kept ones included).

use anyhow::{anyhow, bail, Context as _, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_time_to_live::UpdateTimeToLiveError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, TableDescription, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, record_if_changed, remove, Recorder, Resource};
use crate::error::InputError;
use crate::manual::ids;
use crate::outputs;
use crate::settings::{self, IndexSettings};
use indexes::IndexChange;

mod indexes;
mod retired;
use crate::step::{Context, Step, Teardown};

pub const ID: &str = ids::DYNAMODB;

/// How long to wait for a table to become ACTIVE (AWS takes seconds; the waiter polls).
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(300);

pub struct DynamoDb;

#[async_trait(?Send)]
impl Step for DynamoDb {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "2.1 DynamoDB tables"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["tables"])
    }
    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let tables = ctx.settings.deployed_tables().into_iter().map(|spec| Table::of(ctx, spec));
        all(tables.map(|t| async move { ensure(&t, recorder).await })).await?;
        let before = tables_before(|key| recorder.recorded(key));
        let kept = retired::kept_or_deleted(ctx, recorder, &before).await?;
        let mut deployed: Vec<String> = ctx.settings.table_names().into_iter().map(String::from).collect();
        deployed.extend(kept);
        record_if_changed(recorder, &outputs::TABLES.key, &deployed.join("\n"))
    }

    async fn check_teardown(&self, ctx: &Context<'_>, teardown: &Teardown) -> Result<()> {
        if teardown.delete_data {
            return Ok(());
        }
        let tables = every_table(ctx).into_iter().map(|spec| Table::of(ctx, spec));
        let holding: Vec<Option<String>> =
            all(tables.map(|t| async move { Ok(t.holds_items().await?.then(|| t.name.clone())) })).await?;
        let holding: Vec<String> = holding.into_iter().flatten().collect();
        if holding.is_empty() {
            return Ok(());
        }
        Err(InputError(format!(
            "tables {} hold data: back them up if you need it, then pass --delete-data to delete them too; nothing \
             was deleted",
            holding.join(", ")
        ))
        .into())
    }

    /// The tables of the settings, and those deployer made that left them.
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        let tables = every_table(ctx).into_iter().map(|spec| Table::of(ctx, spec));
        all(tables.map(|t| async move { remove(&t, recorder).await })).await?;
        Ok(())
    }
}

/// The tables deployed before this run: as recorded, or (by state files older than that record) the
/// manual's with a recorded ARN.
fn tables_before(recorded: impl Fn(&str) -> Option<String>) -> Vec<String> {
    match recorded(&outputs::TABLES.key) {
        Some(list) => list.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
        None => crate::manual::TABLES
            .iter()
            .map(|t| t.suffix.to_string())
            .filter(|t| recorded(&outputs::table_arn(t).key).is_some_and(|arn| !arn.is_empty()))
            .collect(),
    }
}

/// The settings' tables, then those deployed before that the settings no longer have.
fn every_table(ctx: &Context<'_>) -> Vec<settings::Table> {
    let recorded = |key: &str| ctx.outputs.get(ID).and_then(|o| o.get(key)).cloned();
    let mut tables = ctx.settings.deployed_tables();
    for name in tables_before(recorded) {
        if !tables.iter().any(|t| t.name == name) {
            tables.push(ctx.settings.table(&name));
        }
    }
    tables
}

struct Table<'a> {
    ctx: &'a Context<'a>,
    spec: settings::Table,
    name: String,
}

impl<'a> Table<'a> {
    fn of(ctx: &'a Context<'a>, spec: settings::Table) -> Table<'a> {
        Table { ctx, name: ctx.name(&spec.name), spec }
    }
}

/// A table as AWS describes it, with its TTL setting when the spec has one.
struct LiveTable {
    description: TableDescription,
    ttl: Option<LiveTtl>,
}

/// The table's time-to-live attribute and its status (`ENABLING`/`DISABLING` last up to an hour).
#[derive(Debug, Clone, PartialEq)]
struct LiveTtl {
    attribute: String,
    status: TimeToLiveStatus,
}

impl LiveTtl {
    /// Enabled, or on its way: `ENABLING` is the wanted state in progress, not something to redo.
    fn is_on(&self) -> bool {
        matches!(self.status, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    }
}

impl Table<'_> {
    fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.ctx.aws.dynamodb()
    }

    fn partition_key(&self) -> &str {
        &self.spec.partition_key
    }

    fn sort_key(&self) -> Option<&str> {
        self.spec.sort_key.as_deref()
    }

    fn ttl_attribute(&self) -> Option<&str> {
        self.spec.ttl_attribute.as_deref()
    }

    fn key_schema(&self) -> Result<Vec<KeySchemaElement>> {
        let mut keys = vec![(self.partition_key(), KeyType::Hash)];
        keys.extend(self.sort_key().map(|k| (k, KeyType::Range)));
        keys.into_iter()
            .map(|(name, kind)| Ok(KeySchemaElement::builder().attribute_name(name).key_type(kind).build()?))
            .collect()
    }

    /// deployer.toml's global secondary indexes (none in the manual).
    fn indexes(&self) -> &[IndexSettings] {
        &self.spec.indexes
    }

    /// The table's keys and the given indexes' keys, all strings.
    fn attribute_definitions(&self, indexes: &[IndexSettings]) -> Result<Vec<AttributeDefinition>> {
        let table_keys = std::iter::once(self.partition_key()).chain(self.sort_key());
        indexes::string_attributes(table_keys.chain(indexes::key_attributes(indexes)))
    }

    /// Index changes one at a time, each once the table and its indexes are ACTIVE.
    async fn converge_indexes(&self) -> Result<TableDescription> {
        loop {
            let live = indexes::settled(self.client(), &self.name).await?;
            let Some(change) = indexes::next_change(&live, self.indexes()) else {
                return Ok(live);
            };
            let new_index = match &change {
                IndexChange::Create(index) => std::slice::from_ref(*index),
                IndexChange::Delete(_) => &[],
            };
            indexes::apply(self.client(), &self.name, &change, self.attribute_definitions(new_index)?).await?;
        }
    }

    async fn ttl(&self) -> Result<Option<LiveTtl>> {
        if self.ttl_attribute().is_none() {
            return Ok(None);
        }
        let out = self
            .client()
            .describe_time_to_live()
            .table_name(&self.name)
            .send()
            .await
            .aws_context(|| format!("dynamodb:DescribeTimeToLive {}", self.name))?;
        let ttl = out.time_to_live_description();
        let status = ttl.and_then(|t| t.time_to_live_status()).cloned();
        let attribute = ttl.and_then(|t| t.attribute_name()).map(str::to_string);
        Ok(attribute.zip(status).map(|(attribute, status)| LiveTtl { attribute, status }))
    }

    async fn set_ttl(&self, attribute: &str, enabled: bool) -> Result<(), SdkError<UpdateTimeToLiveError>> {
        let spec = TimeToLiveSpecification::builder().enabled(enabled).attribute_name(attribute).build();
        // Invariant: both required fields are set just above.
        let spec = spec.expect("enabled and attribute_name are set");
        self.client().update_time_to_live().table_name(&self.name).time_to_live_specification(spec).send().await?;
        Ok(())
    }

    /// Enables the wanted TTL attribute, disabling another first (a table has one). AWS allows one TTL
    /// change per table per hour, so a change of attribute takes two runs an hour apart: the error says so.
    async fn converge_ttl(&self, live: Option<&LiveTtl>, wanted: &str) -> Result<LiveTtl> {
        let cooldown = |what: String| {
            anyhow!(
                "table {}: {what}: AWS allows one time-to-live change per table per hour. Run `deployer resume` in \
                 an hour to go on",
                self.name
            )
        };
        if let Some(old) = live.filter(|t| t.attribute != wanted && t.is_on()) {
            match self.set_ttl(&old.attribute, false).await {
                Ok(()) => {}
                Err(err) if is_ttl_cooldown(&err) => {
                    return Err(cooldown(format!(
                        "its time-to-live attribute '{}' cannot be disabled yet",
                        old.attribute
                    )))
                }
                Err(err) => {
                    return Err(err).aws_context(|| {
                        format!("dynamodb:UpdateTimeToLive {} (disable '{}')", self.name, old.attribute)
                    })
                }
            }
            return Err(cooldown(format!(
                "'{}' was just disabled, so the time-to-live attribute cannot become '{wanted}' yet",
                old.attribute
            )));
        }
        match self.set_ttl(wanted, true).await {
            Ok(()) => Ok(LiveTtl { attribute: wanted.to_string(), status: TimeToLiveStatus::Enabling }),
            Err(err) if is_ttl_cooldown(&err) => {
                Err(cooldown(format!("the time-to-live attribute cannot become '{wanted}' yet")))
            }
            Err(err) => Err(err).aws_context(|| format!("dynamodb:UpdateTimeToLive {} (enable '{wanted}')", self.name)),
        }
    }

    /// Whether a scan finds at least one item (an absent table holds none).
    async fn holds_items(&self) -> Result<bool> {
        let scanned = absent_if(self.client().scan().table_name(&self.name).limit(1).send().await, |e| {
            e.is_resource_not_found_exception()
        })
        .aws_context(|| format!("dynamodb:Scan {}", self.name))?;
        Ok(scanned.is_some_and(|out| out.count() > 0))
    }

    async fn wait_active(&self) -> Result<TableDescription> {
        let done = self
            .client()
            .wait_until_table_exists()
            .table_name(&self.name)
            .wait(TABLE_ACTIVE_WAIT)
            .await
            .with_context(|| format!("waiting for table {} to become ACTIVE", self.name))?;
        let table = done.as_result().ok().and_then(|out| out.table().cloned());
        table.with_context(|| format!("dynamodb:DescribeTable {} returned no table", self.name))
    }
}

impl Resource for Table<'_> {
    type Live = LiveTable;

    fn label(&self) -> String {
        format!("table {}", self.name)
    }

    fn key(&self) -> Option<String> {
        Some(outputs::table_arn(&self.spec.name).key.into_owned())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveTable>> {
        let described = absent_if(self.client().describe_table().table_name(&self.name).send().await, |e| {
            e.is_resource_not_found_exception()
        })
        .aws_context(|| format!("dynamodb:DescribeTable {}", self.name))?;
        let Some(description) = described.and_then(|out| out.table().cloned()) else {
            return Ok(None);
        };
        Ok(Some(LiveTable { description, ttl: self.ttl().await? }))
    }

    async fn create(&self) -> Result<LiveTable> {
        self.client()
            .create_table()
            .table_name(&self.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(self.key_schema()?))
            .set_attribute_definitions(Some(self.attribute_definitions(self.indexes())?))
            .set_global_secondary_indexes(indexes::for_create(self.indexes())?)
            .send()
            .await
            .aws_context(|| format!("dynamodb:CreateTable {}", self.name))?;
        let description = self.wait_active().await?;
        Ok(LiveTable { description, ttl: None })
    }

    fn id(&self, live: &LiveTable) -> String {
        live.description.table_arn().unwrap_or_default().to_string()
    }

    /// A table's ARN follows from its name, so a plan can go on to the role that grants access to it.
    fn planned(&self) -> Option<LiveTable> {
        let who = self.ctx.aws.known_identity()?;
        let arn =
            format!("arn:{}:dynamodb:{}:{}:table/{}", who.partition, self.ctx.settings.region, who.account, self.name);
        let description = TableDescription::builder().table_name(&self.name).table_arn(arn).build();
        Some(LiveTable { description, ttl: None })
    }

    async fn delete(&self, _live: LiveTable) -> Result<()> {
        self.client()
            .delete_table()
            .table_name(&self.name)
            .send()
            .await
            .aws_context(|| format!("dynamodb:DeleteTable {}", self.name))?;
        self.client()
            .wait_until_table_not_exists()
            .table_name(&self.name)
            .wait(TABLE_ACTIVE_WAIT)
            .await
            .with_context(|| format!("waiting for table {} to be deleted", self.name))?;
        Ok(())
    }

    fn differences(&self, live: &LiveTable) -> Result<Vec<&'static str>> {
        if live.description.key_schema() != self.key_schema()?.as_slice() {
            bail!(
                "table {} exists with a different key schema than the step wants ({}); a key schema cannot be \
                 changed in place: migrate its data and delete the table, or deploy under another --service",
                self.name,
                describe_keys(live.description.key_schema())
            );
        }
        let mut fields = Vec::new();
        let billing = live.description.billing_mode_summary().and_then(|b| b.billing_mode());
        if billing != Some(&BillingMode::PayPerRequest) {
            fields.push("billing_mode");
        }
        let ttl_on = |wanted: &str| live.ttl.as_ref().is_some_and(|t| t.attribute == wanted && t.is_on());
        if self.ttl_attribute().is_some_and(|wanted| !ttl_on(wanted)) {
            fields.push("ttl");
        }
        if indexes::differ(&live.description, self.indexes()) {
            fields.push("indexes");
        }
        Ok(fields)
    }

    fn values(&self, live: &LiveTable, field: &str) -> Option<(String, String)> {
        match field {
            "ttl" => {
                let now = live.ttl.as_ref().filter(|t| t.is_on()).map_or("off".to_string(), |t| t.attribute.clone());
                Some((now, self.ttl_attribute().unwrap_or("off").to_string()))
            }
            "billing_mode" => {
                let now = live.description.billing_mode_summary().and_then(|b| b.billing_mode());
                Some((now.map_or("PROVISIONED".to_string(), |m| m.as_str().to_string()), "PAY_PER_REQUEST".to_string()))
            }
            _ => None,
        }
    }

    async fn update(&self, mut live: LiveTable, fields: &[&'static str]) -> Result<LiveTable> {
        if fields.contains(&"billing_mode") {
            self.client()
                .update_table()
                .table_name(&self.name)
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .aws_context(|| format!("dynamodb:UpdateTable {} (billing mode)", self.name))?;
            live.description = self.wait_active().await?;
        }
        if fields.contains(&"indexes") {
            live.description = self.converge_indexes().await?;
        }
        if let (true, Some(attribute)) = (fields.contains(&"ttl"), self.ttl_attribute()) {
            live.ttl = Some(self.converge_ttl(live.ttl.as_ref(), attribute).await?);
        }
        Ok(live)
    }
}

/// AWS's refusal of a second time-to-live change within the hour.
fn is_ttl_cooldown(err: &SdkError<UpdateTimeToLiveError>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.meta().code() == Some("ValidationException")
            && e.meta().message().is_some_and(|m| m.contains("multiple times"))
    })
}

fn describe_keys(keys: &[KeySchemaElement]) -> String {
    let parts: Vec<String> = keys.iter().map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str())).collect();
    parts.join(", ")
}
