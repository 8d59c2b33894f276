//! Tables that left deployer.toml: their data is never deleted unless asked. Each is kept, with a notice,
//! until `run --delete-data` deletes it (plan lists that as a delete).

use anyhow::Result;

use super::Table;
use crate::ensure::{remove, Recorder};
use crate::outputs;
use crate::step::Context;

/// Deletes the tables of `before` that the settings no longer have when `--delete-data` asks, and keeps
/// the others with a notice; returns those kept.
pub(super) async fn kept_or_deleted(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    before: &[String],
) -> Result<Vec<String>> {
    let wanted = ctx.settings.table_names();
    let mut kept = Vec::new();
    for name in before.iter().filter(|t| !wanted.contains(&t.as_str())) {
        let table = Table::of(ctx, ctx.settings.table(name));
        if ctx.settings.delete_data {
            remove(&table, recorder).await?;
            if !recorder.planning() {
                recorder.record(&outputs::table_arn(name).key, "")?;
            }
            continue;
        }
        recorder.notice(&format!(
            "table {} is no longer in deployer.toml and is kept, with its data: back it up, then `deployer run \
             --delete-data` deletes it (or put [tables.{name}] back)",
            table.name
        ));
        kept.push(name.clone());
    }
    Ok(kept)
}
