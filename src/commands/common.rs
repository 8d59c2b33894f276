//! What several commands share: the clients and their pre-flight check, the reporter, the state file under
//! its lock, Ctrl-C.

use anyhow::Result;
use deployer_steps::{Clients, InputError, Settings};
use std::io::IsTerminal;

use crate::aws;
use crate::cli::{Cli, Output};
use crate::progress::{self, Mode, Reporter};
use crate::state::{self, State};

/// Spinners only on a terminal that wants them (`NO_COLOR` and `TERM=dumb` ask for plain lines).
fn animated() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

pub(super) fn reporter(cli: &Cli, mode: Mode) -> Box<dyn Reporter> {
    let detail = match (cli.quiet, cli.verbose) {
        (true, _) => progress::Detail::Quiet,
        (_, true) => progress::Detail::Everything,
        _ => progress::Detail::Changes,
    };
    match cli.output {
        Output::Json => Box::new(progress::Json { mode }),
        Output::Markdown => Box::new(crate::summary::Markdown::new(mode)),
        Output::Text if animated() && detail != progress::Detail::Quiet => {
            Box::new(progress::Terminal::new(detail, mode))
        }
        Output::Text => Box::new(progress::Plain { detail, mode }),
    }
}

/// The state file under its lock, with these settings. It is read again under the lock: another process
/// may have finished in between.
pub(super) fn locked_state(cli: &Cli, settings: &Settings) -> Result<(state::StateLock, State)> {
    let lock = state::lock(&cli.state)?;
    let mut current = state::load(&cli.state)?.unwrap_or_else(|| State::new(settings.clone()));
    current.settings = settings.clone();
    Ok((lock, current))
}

/// Awaits `work` unless Ctrl-C comes first (then `true`); prints `--timings` either way. Ctrl-C drops the
/// running step's future: calls in flight are abandoned, and what they may have made is found again by
/// its recorded ID or its name on `resume`.
pub(super) async fn interrupted<T>(
    cli: &Cli,
    clients: &Clients,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<bool> {
    let outcome = tokio::select! {
        result = work => result.map(|_| false),
        _ = tokio::signal::ctrl_c() => Ok(true),
    };
    if cli.timings {
        progress::print_timings(&clients.calls);
    }
    outcome
}

/// The clients for these settings, once the endpoint has answered with working credentials.
pub(super) async fn connect(cli: &Cli, settings: &Settings) -> Result<Clients> {
    let timeouts = aws::Timeouts::from_env()?;
    let config = aws::load(&settings.region, settings.endpoint_url.as_deref(), cli.max_attempts, timeouts).await;
    let clients = Clients::new(config);
    preflight(&clients, settings).await?;
    Ok(clients)
}

/// One cheap call that proves the endpoint answers and the credentials work, before any step starts.
async fn preflight(clients: &Clients, settings: &Settings) -> Result<()> {
    if let Err(err) = clients.identity().await {
        let endpoint = settings.endpoint_url.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
        let target =
            endpoint.map_or_else(|| format!("AWS in {}", settings.region), |url| format!("the endpoint {url}"));
        return Err(InputError(format!(
            "cannot reach {target} with working credentials ({err:#}): check --endpoint-url or AWS_ENDPOINT_URL, \
             your network, and your credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); \
             nothing was changed"
        ))
        .into());
    }
    Ok(())
}
