//! `plan`: what `run` would do, from AWS as it is; writes nothing to AWS or to the state file.

use anyhow::Result;
use deployer_steps::registry;

use super::common::{connect, reporter};
use crate::cli::{Cli, SettingsArgs};
use crate::layered::settings_for;
use crate::progress::{self, Mode};
use crate::runner::Runner;
use crate::state::{self, State};

pub async fn plan(cli: &Cli, args: &SettingsArgs) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    let steps = registry();
    for step in &steps {
        step.validate(&settings)?;
    }
    let mut current = recorded.unwrap_or_else(|| State::new(settings.clone()));
    current.settings = settings.clone();
    let clients = connect(cli, &settings).await?;
    deployer_steps::concurrency_quota::check(&clients, &settings).await?;
    let reporter = reporter(cli, Mode::Plan);
    let runner = Runner::new(&cli.state, current, &clients, reporter.as_ref(), None);
    let all: Vec<&dyn deployer_steps::Step> = steps.iter().map(|s| s.as_ref()).collect();
    let planned = runner.plan(&all).await;
    if cli.timings {
        progress::print_timings(&clients.calls);
    }
    planned.map(|_| ())
}
