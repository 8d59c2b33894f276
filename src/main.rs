//! `deployer`: deploys the serverless backend of the deployment manual, step by step, with resumable
//! checkpoints. See README.md.

/// A line on stdout that a closed pipe (`deployer outputs | head -1`) cannot turn into a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod aws;
mod cli;
mod commands;
mod config;
mod dns;
mod layered;
mod pace;
mod progress;
mod releases;
mod remote;
mod runner;
mod state;
mod summary;

use clap::Parser;
use deployer_steps::InputError;
use std::io::Write;
use std::process::ExitCode;

use cli::Cli;

/// A message as a workflow command's data: `%`, CR and LF escaped.
fn annotation(message: &str) -> String {
    message.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let result = match runtime {
        Ok(rt) => rt.block_on(commands::dispatch(cli)),
        Err(e) => Err(anyhow::Error::new(e).context("starting the async runtime")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<commands::Stopped>() => {
            let _ = writeln!(std::io::stderr(), "{err}");
            ExitCode::from(130)
        }
        Err(err) => {
            // Written without panicking when stderr is closed (`2>&1 | head`).
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
                // A GitHub Actions annotation, shown on the job and the pull request.
                let _ = writeln!(std::io::stderr(), "::error title=deployer::{}", annotation(&format!("{err:#}")));
            }
            // 2: the input, configuration or state file needs fixing; 130: Ctrl-C; 1: a step failed.
            if err.downcast_ref::<InputError>().is_some() {
                ExitCode::from(2)
            } else if err.downcast_ref::<runner::Interrupted>().is_some() {
                ExitCode::from(130)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
