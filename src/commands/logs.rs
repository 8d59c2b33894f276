//! `deployer logs`: the functions' recent log lines, or a live tail with `--follow`, from CloudWatch Logs.

use anyhow::Result;
use deployer_steps::apigw::access_logs::group_name;
use deployer_steps::logs::{function_group, now_millis, recent_log_events, LogEvent};
use deployer_steps::outputs::{self, Output as Recorded};
use deployer_steps::settings::parse_duration_seconds;
use deployer_steps::{names, Clients, InputError, Settings};
use std::time::Duration;

use super::common::connect;
use crate::cli::{Cli, Output, SettingsArgs};
use crate::layered::settings_for;
use crate::state;

/// How often `--follow` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// What `deployer logs` reads: a label for people and the log group.
pub struct Source {
    /// `function` or `api`: the key of the label in JSON lines.
    pub kind: &'static str,
    pub label: String,
    pub group: String,
}

/// `deployer logs [FUNCTION | --api] [--follow] [--since] [--limit]`, until Ctrl-C with `--follow`.
/// Which lines `logs` shows: how far back, how many per source, whether it follows, and a filter pattern.
pub struct Query<'a> {
    pub since: &'a str,
    pub limit: usize,
    pub follow: bool,
    pub filter: Option<&'a str>,
}

pub async fn run(cli: &Cli, args: &SettingsArgs, asked: Asked<'_>, query: Query<'_>) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    let sources = match asked {
        Asked::Function(function) => functions(&settings, function)?
            .into_iter()
            .map(|name| Source { kind: "function", group: function_group(&name), label: name })
            .collect(),
        Asked::Api => api_stages(recorded.as_ref(), &settings.stage)?,
    };
    let since = Duration::from_secs(parse_duration_seconds(query.since)?);
    let clients = connect(cli, &settings).await?;
    tokio::select! {
        shown = show(&clients, &sources, since, &query, cli.output) => shown,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// The functions' logs (one, or all), or the API stages' access logs.
pub enum Asked<'a> {
    Function(Option<&'a str>),
    Api,
}

/// The access logs of the stage of both APIs, as 03 and 04 (and 07 for dev) made them.
fn api_stages(recorded: Option<&state::State>, stage: &str) -> Result<Vec<Source>, InputError> {
    let outputs = recorded.map(|s| s.outputs()).unwrap_or_default();
    let recorded_id = |output: &Recorded| outputs.get(output.step).and_then(|o| o.get(output.key.as_ref())).cloned();
    let apis =
        [("rest-api", recorded_id(&outputs::REST_API_ID)), ("websocket-api", recorded_id(&outputs::WEBSOCKET_API_ID))];
    let sources: Vec<Source> = apis
        .into_iter()
        .filter_map(|(label, id)| {
            Some(Source { kind: "api", label: format!("{label}/{stage}"), group: group_name(&id?, stage) })
        })
        .collect();
    if sources.is_empty() {
        return Err(InputError(
            "no API is recorded in the state file: `deployer run` deploys them (their stages write access logs)".into(),
        ));
    }
    Ok(sources)
}

/// The functions asked for: one by its suffix (`conversation-api`) or full name, or all of them.
pub fn functions(settings: &Settings, asked: Option<&str>) -> Result<Vec<String>, InputError> {
    let deployed = settings.function_names();
    let all: Vec<String> = deployed.iter().map(|f| names::resource(&settings.service, f)).collect();
    let Some(asked) = asked else {
        return Ok(all);
    };
    let full = names::resource(&settings.service, asked);
    match all.iter().find(|name| **name == asked || **name == full) {
        Some(name) => Ok(vec![name.clone()]),
        None => Err(InputError(format!(
            "'{asked}' is not a function of {}: use one of {}",
            settings.service,
            deployed.join(", ")
        ))),
    }
}

pub async fn show(
    clients: &Clients,
    sources: &[Source],
    since: Duration,
    query: &Query<'_>,
    output: Output,
) -> Result<()> {
    let mut from = now_millis() - since.as_millis() as i64;
    let mut first = true;
    loop {
        let fetched = futures::future::try_join_all(
            sources.iter().map(|source| recent_log_events(clients, &source.group, from, query.limit, query.filter)),
        )
        .await?;
        let mut lines: Vec<(&Source, LogEvent)> = Vec::new();
        for (source, events) in sources.iter().zip(fetched) {
            let name = &source.label;
            match events {
                None if first => eprintln_safe(&format!("{name}: nothing logged yet (no log group {})", source.group)),
                // The group exists from 02-lambda on (with its retention), invoked or not.
                Some(events) if first && events.is_empty() => {
                    eprintln_safe(&format!("{name}: nothing logged in that time"))
                }
                None => {}
                Some(events) => lines.extend(events.into_iter().map(|e| (source, e))),
            }
        }
        lines.sort_by_key(|(_, e)| e.timestamp);
        for (source, event) in &lines {
            print_line(source, event, output);
            from = from.max(event.timestamp + 1);
        }
        if !query.follow {
            return Ok(());
        }
        first = false;
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

fn print_line(source: &Source, event: &LogEvent, output: Output) {
    match output {
        Output::Json => {
            let line = serde_json::json!({"event": "log", source.kind: source.label, "timestamp": event.timestamp, "message": event.message});
            out!("{line}")
        }
        Output::Text | Output::Markdown => {
            let when = aws_smithy_types::DateTime::from_millis(event.timestamp)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default();
            out!("{when} {} {}", source.label, event.message.trim_end())
        }
    }
}

fn eprintln_safe(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
