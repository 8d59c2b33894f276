//! The commands, one file each; this file dispatches them, with the remote state's lock around those that
//! write it. What several commands share is in `common.rs`.

mod common;
mod destroy;
mod dev;
pub use dev::Stopped;
mod doctor;
mod init;
mod logs;
pub mod outputs;
mod plan;
mod releases;
mod rollback;
mod run;
mod status;
mod unlock;

use anyhow::{Context as _, Result};
use deployer_steps::settings::DEFAULT_REGION;
use deployer_steps::{Clients, Teardown};

use crate::aws;
use crate::cli::{Cli, Command, SettingsArgs};
use crate::remote;
use crate::runner::Selection;
use crate::state;

/// With a remote state: the lock (for commands that write), the working copy, the upload at the end.
pub async fn dispatch(mut cli: Cli) -> Result<()> {
    let Some(remote) = open_remote(&cli).await? else {
        return command(&cli, None).await;
    };
    if let Command::Unlock { lock_id } = &cli.command {
        return unlock::unlock(&remote, lock_id).await;
    }
    let writes = cli.command.writes_state();
    if writes {
        remote.lock().await?;
    }
    let result = match remote.pull().await {
        Ok(()) => {
            cli.state = remote.local.clone();
            command(&cli, Some(&remote)).await
        }
        Err(err) => Err(err),
    };
    let pushed = if writes { remote.push().await } else { Ok(()) };
    remote.release().await;
    result.and(pushed)
}

/// The remote state `--state s3://…` names, reached with the command's or the environment's region.
async fn open_remote(cli: &Cli) -> Result<Option<remote::Remote>> {
    let Some((bucket, key)) = remote::parse(&cli.state)? else {
        if matches!(cli.command, Command::Unlock { .. }) {
            return Err(unlock::not_remote().into());
        }
        return Ok(None);
    };
    if !cli.command.reads_state() && !matches!(cli.command, Command::Unlock { .. }) {
        return Ok(None);
    }
    let given = cli.command.settings();
    let region = match given.and_then(|s| s.region.clone()) {
        Some(region) => region,
        None => aws::environment_region().await.unwrap_or_else(|| DEFAULT_REGION.to_string()),
    };
    let endpoint = given.and_then(|s| s.endpoint_url.clone());
    let config = aws::load(&region, endpoint.as_deref(), cli.max_attempts, aws::Timeouts::from_env()?).await;
    Ok(Some(remote::Remote::new(Clients::new(config), bucket, key)))
}

async fn command(cli: &Cli, remote: Option<&remote::Remote>) -> Result<()> {
    match &cli.command {
        Command::Run(args) => run::deploy(cli, args, Selection::All, remote).await,
        Command::Step { id, settings } => run::deploy(cli, settings, Selection::One(id.clone()), remote).await,
        Command::Plan(args) => plan::plan(cli, args).await,
        Command::Doctor(args) => doctor::doctor(cli, args).await,
        // A destroy that was cut short is continued: the user confirmed it when it started.
        Command::Resume => match state::load(&cli.state)?.and_then(|s| s.destroying) {
            Some(teardown) => destroy::destroy(cli, &SettingsArgs::default(), teardown, true, remote).await,
            None => run::deploy(cli, &SettingsArgs::default(), Selection::Resume, remote).await,
        },
        Command::Logs { function, api, follow, since, limit, filter, settings } => {
            let asked = if *api { logs::Asked::Api } else { logs::Asked::Function(function.as_deref()) };
            let query = logs::Query { since, limit: *limit, follow: *follow, filter: filter.as_deref() };
            logs::run(cli, settings, asked, query).await
        }
        Command::Destroy { yes, delete_zone, settings } => {
            let teardown = Teardown { delete_zone: *delete_zone, delete_data: settings.delete_data };
            destroy::destroy(cli, settings, teardown, *yes, remote).await
        }
        Command::Dev { port, ws_port, tables, frontend_dev, settings } => {
            let options =
                dev::Asked { port: *port, ws_port: *ws_port, tables: *tables, frontend_dev: frontend_dev.clone() };
            dev::dev(cli, settings, options).await
        }
        Command::Releases(args) => releases::list(cli, args).await,
        Command::Rollback { release, yes, settings } => rollback::rollback(cli, settings, *release, *yes).await,
        Command::Status => status::show(cli),
        Command::Steps => {
            status::list_steps(cli.output);
            Ok(())
        }
        Command::Outputs { format } => outputs::show(cli, *format).await,
        Command::Init { service, domain } => init::init(cli, service, domain.as_deref()),
        Command::Unlock { .. } => Err(unlock::not_remote().into()),
        Command::Schema => {
            out!("{}", serde_json::to_string_pretty(&crate::config::schema()).context("printing the schema")?);
            Ok(())
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "deployer", &mut std::io::stdout());
            Ok(())
        }
    }
}
