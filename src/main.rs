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
mod config;
mod logs;
mod outputs;
mod progress;
mod remote;
mod runner;
mod state;

use anyhow::{Context as _, Result};
use clap::Parser;
use deployer_steps::settings::{
    parse_duration_seconds, DEFAULT_CERT_WAIT_SECONDS, DEFAULT_PRICE_CLASS, DEFAULT_REGION, DEFAULT_RUNTIME,
    DEFAULT_STAGE, DEFAULT_THROTTLE_BURST, DEFAULT_THROTTLE_RATE,
};
use deployer_steps::{registry, Clients, InputError, Settings, Teardown};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use cli::{Cli, Command, Output, SettingsArgs};
use progress::{Mode, Reporter};
use runner::{Runner, Selection};
use state::State;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let result = match runtime {
        Ok(rt) => rt.block_on(dispatch(cli)),
        Err(e) => Err(anyhow::Error::new(e).context("starting the async runtime")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Written without panicking when stderr is closed (`2>&1 | head`).
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
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

/// With a remote state: the lock (for commands that write), the working copy, the upload at the end.
async fn dispatch(mut cli: Cli) -> Result<()> {
    let Some(remote) = open_remote(&cli).await? else {
        return command(&cli, None).await;
    };
    if let Command::Unlock { lock_id } = &cli.command {
        remote.unlock(lock_id).await?;
        out!("removed lock {lock_id}");
        return Ok(());
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
            return Err(InputError("unlock is for a remote state: pass --state s3://BUCKET/KEY".into()).into());
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
    let config = aws::load(&region, endpoint.as_deref(), cli.max_attempts).await;
    Ok(Some(remote::Remote::new(Clients::new(config), bucket, key)))
}

async fn command(cli: &Cli, remote: Option<&remote::Remote>) -> Result<()> {
    match &cli.command {
        Command::Run(args) => deploy(cli, args, Selection::All, remote).await,
        Command::Step { id, settings } => deploy(cli, settings, Selection::One(id.clone()), remote).await,
        Command::Plan(args) => plan(cli, args).await,
        // A destroy that was cut short is continued: the user confirmed it when it started.
        Command::Resume => match state::load(&cli.state)?.and_then(|s| s.destroying) {
            Some(teardown) => destroy(cli, &SettingsArgs::default(), teardown, true, remote).await,
            None => deploy(cli, &SettingsArgs::default(), Selection::Resume, remote).await,
        },
        Command::Logs { function, follow, since, limit, settings } => {
            let recorded = state::load(&cli.state)?;
            let settings = settings_for(cli, settings, recorded.as_ref()).await?;
            settings.validate()?;
            let functions = logs::functions(&settings, function.as_deref())?;
            let since = std::time::Duration::from_secs(parse_duration_seconds(since)?);
            let clients = connect(cli, &settings).await?;
            tokio::select! {
                shown = logs::show(&clients, &functions, since, *limit, *follow, cli.output) => shown,
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
        Command::Destroy { yes, delete_zone, delete_data, settings } => {
            let teardown = Teardown { delete_zone: *delete_zone, delete_data: *delete_data };
            destroy(cli, settings, teardown, *yes, remote).await
        }
        Command::Status => show_status(cli),
        Command::Steps => {
            list_steps(cli.output);
            Ok(())
        }
        Command::Outputs { format } => outputs::show(&cli.state, cli.output, *format),
        Command::Init { service, domain } => init(cli, service, domain.as_deref()),
        Command::Unlock { .. } => {
            Err(InputError("unlock is for a remote state: pass --state s3://BUCKET/KEY".into()).into())
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "deployer", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// `init`: writes a commented deployer.toml with the manual's values; never overwrites one.
fn init(cli: &Cli, service: &str, domain: Option<&str>) -> Result<()> {
    deployer_steps::names::validate_service(service)?;
    if let Some(domain) = domain {
        deployer_steps::names::validate_domain(domain)?;
    }
    let path = cli.config.clone().unwrap_or_else(|| config::DEFAULT_PATH.into());
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(InputError(format!("{} exists already: edit it, or remove it first", path.display())).into())
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("creating {}", path.display()))),
    };
    file.write_all(config::template(service, domain).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    out!("wrote {}: check it, then `deployer run`", path.display());
    Ok(())
}

/// The settings of a command: its flags over deployer.toml (when there is one) over the state file's.
async fn settings_for(cli: &Cli, args: &SettingsArgs, recorded: Option<&State>) -> Result<Settings, InputError> {
    let path = cli.config.clone().unwrap_or_else(|| config::DEFAULT_PATH.into());
    let (args, functions) = match config::load(&path, cli.config.is_some())? {
        Some(file) => (config::overlay(args, &file), Some(file.structure())),
        None => (args.clone(), None),
    };
    resolve_settings(&args, functions, recorded.map(|s| &s.settings), &cli.state).await
}

/// Settings from the command line over those recorded in the state file over the defaults. The service
/// and region may not change under an existing state file: its resources live there.
async fn resolve_settings(
    args: &SettingsArgs,
    structure: Option<config::Structure>,
    recorded: Option<&Settings>,
    state_path: &Path,
) -> Result<Settings, InputError> {
    let pinned = |flag: &str, given: &Option<String>, kept: Option<&String>| match (given, kept) {
        (Some(given), Some(kept)) if given != kept => Err(InputError(format!(
            "the state file {} belongs to {flag} '{kept}', not '{given}': pass --state with another file to deploy \
             a different {flag}",
            state_path.display()
        ))),
        _ => Ok(()),
    };
    pinned("--service", &args.service, recorded.map(|r| &r.service))?;
    pinned("--region", &args.region, recorded.map(|r| &r.region))?;

    let service = args.service.clone().or_else(|| recorded.map(|r| r.service.clone())).ok_or_else(|| {
        InputError(format!(
            "no --service given and no state file at {}: start with `deployer run --service NAME --domain DOMAIN`",
            state_path.display()
        ))
    })?;
    let region = match args.region.clone().or_else(|| recorded.map(|r| r.region.clone())) {
        Some(region) => region,
        None => aws::environment_region().await.unwrap_or_else(|| DEFAULT_REGION.to_string()),
    };
    let pick = |given: &Option<String>, kept: Option<&String>, default: &str| {
        given.clone().or_else(|| kept.cloned()).unwrap_or_else(|| default.to_string())
    };
    Ok(Settings {
        service,
        domain: args.domain.clone().or_else(|| recorded.and_then(|r| r.domain.clone())),
        stage: pick(&args.stage, recorded.map(|r| &r.stage), DEFAULT_STAGE),
        region,
        backend: args
            .backend
            .clone()
            .or_else(|| recorded.map(|r| r.backend.clone()))
            .unwrap_or_else(|| "backend".into()),
        frontend: args
            .frontend
            .clone()
            .or_else(|| recorded.map(|r| r.frontend.clone()))
            .unwrap_or_else(|| "frontend".into()),
        runtime: pick(&args.runtime, recorded.map(|r| &r.runtime), DEFAULT_RUNTIME),
        throttle_rate: args.throttle_rate.or(recorded.map(|r| r.throttle_rate)).unwrap_or(DEFAULT_THROTTLE_RATE),
        throttle_burst: args.throttle_burst.or(recorded.map(|r| r.throttle_burst)).unwrap_or(DEFAULT_THROTTLE_BURST),
        frontend_build: args.frontend_build.clone().or_else(|| recorded.and_then(|r| r.frontend_build.clone())),
        price_class: pick(&args.price_class, recorded.map(|r| &r.price_class), DEFAULT_PRICE_CLASS),
        spa_fallback: args.spa_fallback.or(recorded.map(|r| r.spa_fallback)).unwrap_or(true),
        cert_wait_seconds: match &args.cert_wait {
            Some(text) => parse_duration_seconds(text)?,
            None => recorded.map_or(DEFAULT_CERT_WAIT_SECONDS, |r| r.cert_wait_seconds),
        },
        endpoint_url: args.endpoint_url.clone().or_else(|| recorded.and_then(|r| r.endpoint_url.clone())),
        cors_origin: args.cors_origin.clone().or_else(|| recorded.and_then(|r| r.cors_origin.clone())),
        functions: structure
            .as_ref()
            .map_or_else(|| recorded.map(|r| r.functions.clone()).unwrap_or_default(), |s| s.functions.clone()),
        routes: structure
            .as_ref()
            .map_or_else(|| recorded.map(|r| r.routes.clone()).unwrap_or_default(), |s| s.routes.clone()),
        tables: structure.map_or_else(|| recorded.map(|r| r.tables.clone()).unwrap_or_default(), |s| s.tables),
        verify_http_url: args.verify_http_url.clone(),
        verify_ws_url: args.verify_ws_url.clone(),
    })
}

/// Spinners only on a terminal that wants them (`NO_COLOR` and `TERM=dumb` ask for plain lines).
fn animated() -> bool {
    std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

fn reporter(cli: &Cli, mode: Mode) -> Box<dyn Reporter> {
    let detail = match (cli.quiet, cli.verbose) {
        (true, _) => progress::Detail::Quiet,
        (_, true) => progress::Detail::Everything,
        _ => progress::Detail::Changes,
    };
    match cli.output {
        Output::Json => Box::new(progress::Json { mode }),
        Output::Text if animated() && detail != progress::Detail::Quiet => {
            Box::new(progress::Terminal::new(detail, mode))
        }
        Output::Text => Box::new(progress::Plain { detail, mode }),
    }
}

async fn deploy(cli: &Cli, args: &SettingsArgs, selection: Selection, remote: Option<&remote::Remote>) -> Result<()> {
    let resume = selection == Selection::Resume;
    // Everything that can be refused without AWS is checked before anything is written.
    let recorded = state::load(&cli.state)?;
    if resume && recorded.is_none() {
        return Err(InputError(format!(
            "there is no state file at {}, so nothing to resume: start with `deployer run --service NAME --domain DOMAIN` \
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

    let (_lock, current) = locked_state(cli, &settings)?;
    let selected = runner::select(&steps, &selection, Some(&current))?;

    let clients = connect(cli, &settings).await?;
    let reporter = reporter(cli, Mode::Apply);
    let runner = Runner {
        state_path: &cli.state,
        state: current.into(),
        clients: &clients,
        reporter: reporter.as_ref(),
        remote,
    };
    if interrupted(cli, &clients, runner.run(&selected, &selection)).await? {
        return Err(runner.mark_interrupted()?.into());
    }
    Ok(())
}

/// `destroy`: every step's teardown in reverse order, after the user confirmed.
async fn destroy(
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
    let runner = Runner {
        state_path: &cli.state,
        state: current.into(),
        clients: &clients,
        reporter: reporter.as_ref(),
        remote,
    };
    let steps = registry();
    let all: Vec<&dyn deployer_steps::Step> = steps.iter().map(|s| s.as_ref()).collect();
    // Interrupted, the state still says a destroy is under way: `resume` continues it.
    if interrupted(cli, &clients, runner.destroy(&all, teardown)).await? {
        return Err(runner::Interrupted.into());
    }
    Ok(())
}

/// The state file under its lock, with these settings. It is read again under the lock: another process
/// may have finished in between.
fn locked_state(cli: &Cli, settings: &Settings) -> Result<(state::StateLock, State)> {
    let lock = state::lock(&cli.state)?;
    let mut current = state::load(&cli.state)?.unwrap_or_else(|| State::new(settings.clone()));
    current.settings = settings.clone();
    Ok((lock, current))
}

/// Awaits `work` unless Ctrl-C comes first (then `true`); prints `--timings` either way. Ctrl-C drops the
/// running step's future: calls in flight are abandoned, and what they may have made is found again by
/// its recorded ID or its name on `resume`.
async fn interrupted<T>(
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

/// `plan`: what `run` would do, from AWS as it is; writes nothing to AWS or to the state file.
async fn plan(cli: &Cli, args: &SettingsArgs) -> Result<()> {
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
    let reporter = reporter(cli, Mode::Plan);
    let runner = Runner {
        state_path: &cli.state,
        state: current.into(),
        clients: &clients,
        reporter: reporter.as_ref(),
        remote: None,
    };
    let all: Vec<&dyn deployer_steps::Step> = steps.iter().map(|s| s.as_ref()).collect();
    let planned = runner.plan(&all).await;
    if cli.timings {
        progress::print_timings(&clients.calls);
    }
    planned.map(|_| ())
}

/// The clients for these settings, once the endpoint has answered with working credentials.
async fn connect(cli: &Cli, settings: &Settings) -> Result<Clients> {
    let config = aws::load(&settings.region, settings.endpoint_url.as_deref(), cli.max_attempts).await;
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

fn list_steps(output: Output) {
    for step in registry() {
        match output {
            Output::Json => {
                out!("{}", serde_json::json!({"id": step.id(), "title": step.title(), "requires": step.requires()}))
            }
            Output::Text => out!("{:<16} {}", step.id(), step.title()),
        }
    }
}

fn show_status(cli: &Cli) -> Result<()> {
    let Some(state) = state::load(&cli.state)? else {
        return Err(InputError(format!(
            "there is no state file at {}: nothing has been deployed with it yet (`deployer run --service NAME ...`)",
            cli.state.display()
        ))
        .into());
    };
    let steps = registry();
    if cli.output == Output::Json {
        let listed: Vec<_> = steps
            .iter()
            .map(|step| {
                let record = state.steps.get(step.id());
                serde_json::json!({
                    "id": step.id(),
                    "title": step.title(),
                    "status": record.map_or(serde_json::json!("pending"), |r| serde_json::json!(r.status)),
                    "finished_at": record.and_then(|r| r.finished_at.clone()),
                    "error": record.and_then(|r| r.error.clone()),
                    "outputs": record.map(|r| r.outputs.clone()).unwrap_or_default(),
                })
            })
            .collect();
        out!("{}", serde_json::json!({"settings": state.settings, "steps": listed}));
        return Ok(());
    }
    let s = &state.settings;
    out!(
        "service {} (domain {}, stage {}, region {})",
        s.service,
        s.domain.as_deref().unwrap_or("none"),
        s.stage,
        s.region
    );
    for step in &steps {
        let record = state.steps.get(step.id());
        let status = record.map_or("pending".to_string(), |r| format!("{:?}", r.status).to_lowercase());
        let when = record.and_then(|r| r.finished_at.clone().or_else(|| r.started_at.clone())).unwrap_or_default();
        out!("{:<16} {:<8} {:<28} {when}", step.id(), status, step.title());
        if let Some(error) = record.and_then(|r| r.error.as_ref()) {
            out!("    error: {error}");
        }
        for (key, value) in record.map(|r| &r.outputs).into_iter().flatten() {
            out!("    {key} = {value}");
        }
    }
    Ok(())
}
