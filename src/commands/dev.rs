//! `deployer dev`: the settings resolved as for a deploy, then handed to the `deployer-dev` crate,
//! which serves until Ctrl-C (exit 130, like an interrupted run).

use anyhow::Result;
use deployer_dev::{Backend, Options, TablesAt};
use deployer_steps::manual::DEV_STAGE;

use crate::cli::{Cli, DevTables, Output, SettingsArgs};
use crate::layered::settings_for;
use crate::state;

/// The flags of `deployer dev` besides the settings.
pub struct Asked {
    pub port: u16,
    pub ws_port: u16,
    pub tables: DevTables,
    pub frontend_dev: Option<String>,
}

pub async fn dev(cli: &Cli, args: &SettingsArgs, asked: Asked) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    // --stage names the local stage; the deployed main stage (deployer.toml's) is not the default here.
    let stage = args.stage.clone().unwrap_or_else(|| DEV_STAGE.to_string());
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    deployer_steps::names::validate_stage(&stage)?;
    let backend = Backend::of(&settings, &stage)?;
    let work_dir = cli.state.parent().map_or_else(|| std::path::PathBuf::from("."), std::path::Path::to_path_buf);
    let options = Options {
        port: asked.port,
        ws_port: asked.ws_port,
        tables: match asked.tables {
            DevTables::Local => TablesAt::Local,
            DevTables::Aws => TablesAt::Aws,
        },
        frontend_dev: asked.frontend_dev,
        json: cli.output == Output::Json,
        cache: work_dir.join("cache"),
    };
    deployer_dev::serve(backend, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Err(Stopped.into())
}

/// Ctrl-C ended `deployer dev`: exit 130, as an interrupted command, without calling it an error.
#[derive(Debug)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deployer dev stopped: everything it started has exited")
    }
}

impl std::error::Error for Stopped {}
