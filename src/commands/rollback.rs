//! `rollback [RELEASE]`: back to an earlier release at once, after the checks that could refuse it, and a
//! confirmation like destroy's.

use anyhow::Result;
use deployer_steps::live_alias::version_key;
use deployer_steps::manual::ids;
use deployer_steps::outputs::DEPLOYMENT_ID;
use deployer_steps::{InputError, Settings};
use std::io::{IsTerminal, Write};
use std::time::Instant;

use super::common::{connect, locked_state};
use crate::cli::{Cli, Output, SettingsArgs};
use crate::layered::settings_for;
use crate::releases::numbering::forget_aliases;
use crate::releases::{record, rollback, Release};
use crate::state::{self, State};

pub async fn rollback(cli: &Cli, args: &SettingsArgs, asked: Option<u32>, yes: bool) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    let (_lock, mut current) = locked_state(cli, &settings)?;
    let clients = connect(cli, &settings).await?;
    if let Some(notice) = crate::releases::canary::roll_back_pending(&clients, &mut current).await? {
        state::save(&cli.state, &current)?;
        let _ = writeln!(std::io::stderr(), "note: {notice}");
    }
    let bucket = record::bucket(&settings);
    let in_aws = record::read(&clients, &bucket).await?.unwrap_or_default();
    let mut releases = current.releases.merged(&in_aws);
    let target = rollback::choose(&releases, asked)?;
    let live = releases.live_release().cloned();
    let refusals = rollback::refusals(&clients, &settings, &target, live.as_ref()).await?;
    if !refusals.is_empty() {
        return Err(InputError(format!(
            "release {} cannot be returned to, and nothing was moved:\n  - {}",
            target.number,
            refusals.join("\n  - ")
        ))
        .into());
    }
    if !yes {
        confirm(&settings, releases.live, &target)?;
    }
    let clock = Instant::now();
    let moved = rollback::apply(&clients, &settings, &target, live.as_ref()).await?;
    let took = clock.elapsed();
    releases.live = Some(target.number);
    record::write(&clients, &bucket, &releases).await?;
    current.releases = releases;
    point_outputs_at(&mut current, &target);
    state::save(&cli.state, &current)?;
    match cli.output {
        Output::Json => out!(
            "{}",
            serde_json::json!({"event": "rolled_back", "release": target.number, "functions": moved,
                "rest_deployment": target.content.rest_deployment, "seconds": took.as_secs_f64()})
        ),
        Output::Text | Output::Markdown => out!(
            "Rolled back to release {} in {:.1} s: {moved} functions' aliases moved{}. Tables keep their data and \
             the site stays as it is. The next `deployer run` deploys this project again, as a new release.",
            target.number,
            took.as_secs_f64(),
            target
                .content
                .rest_deployment
                .as_ref()
                .map_or(String::new(), |d| format!(", the REST stage {} on deployment {d}", target.content.stage))
        ),
    }
    Ok(())
}

fn confirm(settings: &Settings, live: Option<u32>, target: &Release) -> Result<(), InputError> {
    let service = &settings.service;
    let live = live.map_or("none".to_string(), |n| n.to_string());
    if !std::io::stdin().is_terminal() {
        return Err(InputError(format!(
            "rollback moves {service} from release {live} to release {}: pass --yes to confirm when not on a \
             terminal; nothing was moved",
            target.number
        )));
    }
    let _ = write!(
        std::io::stderr(),
        "This moves {service} from release {live} back to release {} ({}): {} functions and the REST stage. \
         Tables keep their data.\nType the service name to go on: ",
        target.number,
        target.time,
        target.content.functions.len()
    );
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim() == service {
        Ok(())
    } else {
        Err(InputError("not confirmed: nothing was moved".into()))
    }
}

/// The outputs now name what the release put live, and the aliases are read again on the next look: what
/// the project holds then differs from it, and `plan` shows it.
fn point_outputs_at(state: &mut State, release: &Release) {
    forget_aliases(state);
    for (function, version) in &release.content.functions {
        let key = version_key(function);
        for step in [ids::LAMBDA, ids::WEBSOCKET] {
            if let Some(recorded) = state.steps.get_mut(step).and_then(|s| s.outputs.get_mut(&key)) {
                *recorded = version.clone();
            }
        }
    }
    if let (Some(deployment), Some(api)) = (&release.content.rest_deployment, state.steps.get_mut(ids::API_GATEWAY)) {
        api.outputs.insert(DEPLOYMENT_ID.key.to_string(), deployment.clone());
    }
}
