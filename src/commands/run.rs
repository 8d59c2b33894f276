//! `run`, `step` and `resume`: the steps in order, each checked against AWS, with checkpoints.

use anyhow::Result;
use deployer_steps::live_alias::CANARY_PREFIX;
use deployer_steps::{registry, Clients, InputError, Settings};

use super::common::{connect, interrupted, locked_state, reporter};
use crate::cli::{Cli, SettingsArgs};
use crate::layered::settings_for;
use crate::progress::Mode;
use crate::releases;
use crate::releases::canary::{self, Canary, Ended, Watcher, Watching};
use crate::remote;
use crate::runner::{self, Runner, Selection};
use crate::state;

pub async fn deploy(
    cli: &Cli,
    args: &SettingsArgs,
    selection: Selection,
    remote: Option<&remote::Remote>,
) -> Result<()> {
    let resume = selection == Selection::Resume;
    // Everything that can be refused without AWS is checked before anything is written.
    let recorded = state::load(&cli.state)?;
    if resume && recorded.is_none() {
        return Err(InputError(format!(
            "there is no state file at {}, so nothing to resume: start with `deployer init --service NAME` (it writes deployer.toml), then `deployer run` \
             (or pass --state with the file of an earlier run)",
            cli.state.display()
        ))
        .into());
    }
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    let steps = registry();
    let selected = runner::select(&steps, &selection, recorded.as_ref())?;
    for step in &selected {
        step.validate(&settings)?;
    }
    let work_dir = cli.state.parent().unwrap_or(std::path::Path::new("."));
    for step in &selected {
        step.prepare(&settings, work_dir)?;
    }

    let (_lock, mut current) = locked_state(cli, &settings)?;
    let selected = runner::select(&steps, &selection, Some(&current))?;

    let clients = connect(cli, &settings).await?;
    if selected.iter().any(|s| s.id() == deployer_steps::s02_lambda::ID) {
        deployer_steps::concurrency_quota::check(&clients, &settings).await?;
    }
    let whole = matches!(selection, Selection::All | Selection::Resume);
    // Only `resume` continues a canary a killed run left; anything else first takes its weights away.
    let pending = match resume {
        false => canary::roll_back_pending(&clients, &mut current).await?,
        true => None,
    };
    if pending.is_some() {
        state::save(&cli.state, &current)?;
    }
    if !resume {
        current.canary = settings.canary().map(canary::planned);
    }
    // A resume skips the steps done, unlooked: there is nothing to catch up with for them.
    let caught_up = match selection {
        Selection::All => releases::numbering::catch_up(&mut current, &clients).await?,
        _ => None,
    };
    let reporter = reporter(cli, Mode::Apply);
    let runner = Runner::new(&cli.state, current, &clients, reporter.as_ref(), remote);
    if let Some(notice) = caught_up {
        runner.notice("releases", &notice);
    }
    if let Some(notice) = pending {
        runner.notice("canary", &notice);
    }
    let outcome = interrupted(cli, &clients, runner.run(&selected, &selection)).await;
    runner.remember_notices()?;
    if outcome? {
        return Err(runner.mark_interrupted()?.into());
    }
    let canary_failed = watch_canary(cli, &settings, &clients, &runner).await?;
    if whole {
        let ran = runner.state.borrow().clone();
        if let Some((releases, new)) = releases::numbering::after_run(&ran, &clients).await? {
            runner.change_state(|state| state.releases = releases)?;
            if let Some(release) = new {
                reporter.released(&release);
            }
        }
        reporter.deployed(&super::outputs::urls(&runner.state.borrow()));
    }
    if let Some(failed) = canary_failed {
        return Err(failed);
    }
    if let Selection::One(id) = &selection {
        let all: Vec<&dyn deployer_steps::Step> = steps.iter().map(|s| s.as_ref()).collect();
        let stale = runner.stale_dependents(id, &all).await?;
        if !stale.is_empty() {
            let message = format!(
                "{} read what this step recorded, so their resources may be out of date: run `deployer resume` \
                 to bring them up to date",
                stale.join(" and ")
            );
            runner.notice(id, &message);
        }
    }
    Ok(())
}

/// The canary of this run's new versions (or the one a killed run recorded, on `resume`), to its end.
/// Returns the error a rolled-back canary ends the run with.
async fn watch_canary(
    cli: &Cli,
    settings: &Settings,
    clients: &Clients,
    runner: &Runner<'_>,
) -> Result<Option<anyhow::Error>> {
    let stages = settings.canary().unwrap_or_default();
    let found = canary::to_watch(&runner.state.borrow(), stages);
    let Some(canary) = found else {
        let leftovers =
            runner.state.borrow().steps.values().any(|s| s.outputs.keys().any(|k| k.starts_with(CANARY_PREFIX)));
        if leftovers || runner.state.borrow().canary.is_some() {
            runner.change_state(|state| {
                canary::drop_leftovers(state);
                state.canary = None;
            })?;
        }
        return Ok(None);
    };
    let watcher = RunWatcher { runner };
    let ended = tokio::select! {
        ended = canary::run(clients, settings, canary.clone(), &watcher) => ended?,
        _ = tokio::signal::ctrl_c() => {
            if cli.timings {
                crate::progress::print_timings(&clients.calls);
            }
            return Err(anyhow::anyhow!(
                "interrupted (Ctrl-C) during the canary, which is recorded: `deployer resume` continues it, and any \
                 other command rolls it back first"
            ));
        }
    };
    let promoted = matches!(ended, Ended::Promoted);
    canary::settle_aliases(clients, &settings.service, &canary, promoted).await?;
    runner.change_state(|state| canary::settled(state, &canary, promoted))?;
    match ended {
        Ended::Promoted => {
            let message = format!("{} functions' new versions take all their traffic", canary.functions.len());
            runner.reporter.canary_ended(true, &message);
            Ok(None)
        }
        Ended::RolledBack(why) => {
            runner.reporter.canary_ended(false, &why);
            Ok(Some(canary::rolled_back_error(&canary, &why)))
        }
    }
}

/// The runner's state file and reporter, for the canary.
struct RunWatcher<'r, 'a> {
    runner: &'r Runner<'a>,
}

impl Watcher for RunWatcher<'_, '_> {
    fn record(&self, canary: &Canary) -> Result<()> {
        self.runner.change_state(|state| state.canary = Some(canary.clone()))
    }
    fn watching(&self, now: &Watching) {
        self.runner.reporter.canary(now);
    }
}
