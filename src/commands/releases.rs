//! `releases`: the releases known to the state file and to the record in AWS (which another machine, or a
//! lost state file, relies on), newest first, the live one marked.

use anyhow::Result;
use deployer_steps::InputError;

use super::common::connect;
use crate::cli::{Cli, Output, SettingsArgs};
use crate::layered::settings_for;
use crate::releases::{record, show, Releases};
use crate::state;

pub async fn list(cli: &Cli, args: &SettingsArgs) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    let clients = connect(cli, &settings).await?;
    let in_aws = record::read(&clients, &record::bucket(&settings)).await?.unwrap_or_default();
    let releases: Releases = recorded.map(|s| s.releases).unwrap_or_default().merged(&in_aws);
    if releases.list.is_empty() {
        return Err(InputError(format!(
            "{} has no release yet: each `deployer run` that changes what is live makes one",
            settings.service
        ))
        .into());
    }
    match cli.output {
        Output::Json => {
            let mut list = releases.list.clone();
            list.sort_by_key(|r| std::cmp::Reverse(r.number));
            out!("{}", serde_json::json!({"live": releases.live, "releases": list}));
        }
        Output::Text | Output::Markdown => show::table(&releases).iter().for_each(|line| out!("{line}")),
    }
    Ok(())
}
