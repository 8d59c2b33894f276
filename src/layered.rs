//! A command's settings: its flags over deployer.toml (when there is one) over the state file's over the
//! manual's defaults. The service and region may not change under an existing state file.

use deployer_steps::settings::{
    parse_duration_seconds, DEFAULT_ARCHITECTURE, DEFAULT_CERT_WAIT_SECONDS, DEFAULT_DEV_CORS_ORIGINS,
    DEFAULT_LOG_RETENTION_DAYS, DEFAULT_PRICE_CLASS, DEFAULT_REGION, DEFAULT_RUNTIME, DEFAULT_STAGE,
    DEFAULT_THROTTLE_BURST, DEFAULT_THROTTLE_RATE,
};
use deployer_steps::{names, InputError, Settings};
use std::io::Write as _;
use std::path::Path;

use crate::aws;
use crate::cli::{Cli, SettingsArgs};
use crate::config::{self, given_or};
use crate::state::State;

/// The settings of a command: its flags over deployer.toml (when there is one) over the state file's.
pub async fn settings_for(cli: &Cli, args: &SettingsArgs, recorded: Option<&State>) -> Result<Settings, InputError> {
    let path = cli.config.clone().unwrap_or_else(|| config::DEFAULT_PATH.into());
    let (mut args, functions) = match config::load(&path, cli.config.is_some())? {
        Some(file) => (config::overlay(args, &file), Some(file.structure())),
        None => (args.clone(), None),
    };
    if let Some(given) = args.domain.take() {
        let domain = names::normalise_domain(&given);
        if domain != given && !cli.quiet && cli.output != crate::cli::Output::Json {
            let _ = writeln!(std::io::stderr(), "note: domain '{given}' read as '{domain}'");
        }
        args.domain = Some(domain);
    }
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
    check_pinned(args, recorded, state_path)?;

    let service = args.service.clone().or_else(|| recorded.map(|r| r.service.clone())).ok_or_else(|| {
        InputError(format!(
            "no --service given, no deployer.toml and no state file at {}: start with `deployer init --service NAME` (it writes deployer.toml), then `deployer run`",
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
        architecture: pick(&args.architecture, recorded.map(|r| &r.architecture), DEFAULT_ARCHITECTURE),
        throttle_rate: args.throttle_rate.or(recorded.map(|r| r.throttle_rate)).unwrap_or(DEFAULT_THROTTLE_RATE),
        throttle_burst: args.throttle_burst.or(recorded.map(|r| r.throttle_burst)).unwrap_or(DEFAULT_THROTTLE_BURST),
        frontend_build: args.frontend_build.clone().or_else(|| recorded.and_then(|r| r.frontend_build.clone())),
        price_class: pick(&args.price_class, recorded.map(|r| &r.price_class), DEFAULT_PRICE_CLASS),
        spa_fallback: args.spa_fallback.or(recorded.map(|r| r.spa_fallback)).unwrap_or(true),
        log_retention_days: args
            .log_retention_days
            .or(recorded.map(|r| r.log_retention_days))
            .unwrap_or(DEFAULT_LOG_RETENTION_DAYS),
        cert_wait_seconds: match &args.cert_wait {
            Some(text) => parse_duration_seconds(text)?,
            None => recorded.map_or(DEFAULT_CERT_WAIT_SECONDS, |r| r.cert_wait_seconds),
        },
        endpoint_url: args.endpoint_url.clone().or_else(|| recorded.and_then(|r| r.endpoint_url.clone())),
        cors_origins: given_or(&args.cors_origins, || recorded.map(|r| r.cors_origins.clone()).unwrap_or_default()),
        dev_cors_origins: given_or(&args.dev_cors_origins, || {
            recorded.map_or_else(
                || DEFAULT_DEV_CORS_ORIGINS.iter().map(|o| o.to_string()).collect(),
                |r| r.dev_cors_origins.clone(),
            )
        }),
        functions: structure
            .as_ref()
            .map_or_else(|| recorded.map(|r| r.functions.clone()).unwrap_or_default(), |s| s.functions.clone()),
        routes: structure
            .as_ref()
            .map_or_else(|| recorded.map(|r| r.routes.clone()).unwrap_or_default(), |s| s.routes.clone()),
        vpc: structure.as_ref().map_or_else(|| recorded.and_then(|r| r.vpc.clone()), |s| s.vpc.clone()),
        auth: structure.as_ref().map_or_else(
            || recorded.map(|r| r.auth.clone()).unwrap_or_default(),
            |s| s.auth.clone().unwrap_or_default(),
        ),
        release: structure.as_ref().map_or_else(
            || recorded.map(|r| r.release.clone()).unwrap_or_default(),
            |s| s.release.clone().unwrap_or_default(),
        ),
        websocket: structure
            .as_ref()
            .map_or_else(|| recorded.map(|r| r.websocket.clone()).unwrap_or_default(), |s| s.websocket.clone()),
        tables: structure.map_or_else(|| recorded.map(|r| r.tables.clone()).unwrap_or_default(), |s| s.tables),
        verify_http_url: args.verify_http_url.clone(),
        verify_ws_url: args.verify_ws_url.clone(),
        delete_data: args.delete_data,
        canary_flag: args.canary.clone(),
    })
}

/// The service and region may not change under an existing state file: its resources live there.
fn check_pinned(args: &SettingsArgs, recorded: Option<&Settings>, state_path: &Path) -> Result<(), InputError> {
    let pinned = |flag: &str, given: &Option<String>, kept: Option<&String>| match (given, kept) {
        (Some(given), Some(kept)) if given != kept => Err(InputError(format!(
            "the state file {} belongs to {flag} '{kept}', not '{given}': pass --state with another file to deploy \
             a different {flag}",
            state_path.display()
        ))),
        _ => Ok(()),
    };
    pinned("--service", &args.service, recorded.map(|r| &r.service))?;
    pinned("--region", &args.region, recorded.map(|r| &r.region))
}
