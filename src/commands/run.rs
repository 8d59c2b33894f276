//! `run`, `step` and `resume`: the steps in order, each checked against AWS, with checkpoints.

use anyhow::Result;
use deployer_steps::{registry, InputError};

use super::common::{connect, interrupted, locked_state, reporter};
use crate::cli::{Cli, SettingsArgs};
use crate::layered::settings_for;
use crate::progress::Mode;
use crate::releases;
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
    let outcome = interrupted(cli, &clients, runner.run(&selected, &selection)).await;
    runner.remember_notices()?;
    if outcome? {
        return Err(runner.mark_interrupted()?.into());
    }
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
