//! `destroy`: every step's teardown in reverse order, once the user confirmed; resumable.

use anyhow::Result;
use deployer_steps::{registry, InputError, Settings, Teardown};
use std::io::{IsTerminal, Write};

use super::common::{connect, interrupted, locked_state, reporter};
use crate::cli::{Cli, SettingsArgs};
use crate::layered::settings_for;
use crate::progress::Mode;
use crate::remote;
use crate::runner::{self, Runner};
use crate::state;

pub async fn destroy(
    cli: &Cli,
    args: &SettingsArgs,
    teardown: Teardown,
    yes: bool,
    remote: Option<&remote::Remote>,
) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    if !yes {
        confirm_destroy(&settings)?;
    }
    let (_lock, current) = locked_state(cli, &settings)?;
    let clients = connect(cli, &settings).await?;
    let reporter = reporter(cli, Mode::Apply);
    let runner = Runner::new(&cli.state, current, &clients, reporter.as_ref(), remote);
    let steps = registry();
    let all: Vec<&dyn deployer_steps::Step> = steps.iter().map(|s| s.as_ref()).collect();
    // Interrupted, the state still says a destroy is under way: `resume` continues it.
    if interrupted(cli, &clients, runner.destroy(&all, teardown)).await? {
        return Err(runner::Interrupted.into());
    }
    Ok(())
}

/// On a terminal, the user types the service's name; elsewhere `--yes` is required.
fn confirm_destroy(settings: &Settings) -> Result<(), InputError> {
    let service = &settings.service;
    if !std::io::stdin().is_terminal() {
        return Err(InputError(format!(
            "destroy deletes every resource of {service}: pass --yes to confirm when not on a terminal; nothing was deleted"
        )));
    }
    let _ = write!(
        std::io::stderr(),
        "This deletes every resource of {service} in {} (tables with data only with --delete-data).\nType the \
         service name to go on: ",
        settings.region
    );
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim() == service {
        Ok(())
    } else {
        Err(InputError("not confirmed: nothing was deleted".into()))
    }
}
