//! `deployer logs`: the functions' recent log lines, or a live tail with `--follow`, from CloudWatch Logs.

use anyhow::Result;
use deployer_steps::logs::{now_millis, recent_log_events, LogEvent};
use deployer_steps::manual::FUNCTIONS;
use deployer_steps::settings::parse_duration_seconds;
use deployer_steps::{names, Clients, InputError, Settings};
use std::time::Duration;

use super::common::connect;
use crate::cli::{Cli, Output, SettingsArgs};
use crate::settings::settings_for;
use crate::state;

/// How often `--follow` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// `deployer logs [FUNCTION] [--follow] [--since] [--limit]`, until Ctrl-C with `--follow`.
pub async fn run(
    cli: &Cli,
    args: &SettingsArgs,
    function: Option<&str>,
    since: &str,
    limit: usize,
    follow: bool,
) -> Result<()> {
    let recorded = state::load(&cli.state)?;
    let settings = settings_for(cli, args, recorded.as_ref()).await?;
    settings.validate()?;
    let functions = functions(&settings, function)?;
    let since = Duration::from_secs(parse_duration_seconds(since)?);
    let clients = connect(cli, &settings).await?;
    tokio::select! {
        shown = show(&clients, &functions, since, limit, follow, cli.output) => shown,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// The functions asked for: one by its suffix (`conversation-api`) or full name, or all of them.
pub fn functions(settings: &Settings, asked: Option<&str>) -> Result<Vec<String>, InputError> {
    let all: Vec<String> = FUNCTIONS.iter().map(|f| names::resource(&settings.service, f.suffix)).collect();
    let Some(asked) = asked else {
        return Ok(all);
    };
    let full = names::resource(&settings.service, asked);
    match all.iter().find(|name| **name == asked || **name == full) {
        Some(name) => Ok(vec![name.clone()]),
        None => {
            let suffixes: Vec<&str> = FUNCTIONS.iter().map(|f| f.suffix).collect();
            Err(InputError(format!(
                "'{asked}' is not a function of {}: use one of {}",
                settings.service,
                suffixes.join(", ")
            )))
        }
    }
}

pub async fn show(
    clients: &Clients,
    functions: &[String],
    since: Duration,
    limit: usize,
    follow: bool,
    output: Output,
) -> Result<()> {
    let mut from = now_millis() - since.as_millis() as i64;
    let mut first = true;
    loop {
        let fetched =
            futures::future::try_join_all(functions.iter().map(|name| recent_log_events(clients, name, from, limit)))
                .await?;
        let mut lines: Vec<(&str, LogEvent)> = Vec::new();
        for (name, events) in functions.iter().zip(fetched) {
            match events {
                None if first => eprintln_safe(&format!("{name}: no invocations yet (no log group)")),
                // The group exists from 02-lambda on (with its retention), invoked or not.
                Some(events) if first && events.is_empty() => {
                    eprintln_safe(&format!("{name}: nothing logged in that time"))
                }
                None => {}
                Some(events) => lines.extend(events.into_iter().map(|e| (name.as_str(), e))),
            }
        }
        lines.sort_by_key(|(_, e)| e.timestamp);
        for (name, event) in &lines {
            print_line(name, event, output);
            from = from.max(event.timestamp + 1);
        }
        if !follow {
            return Ok(());
        }
        first = false;
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

fn print_line(function: &str, event: &LogEvent, output: Output) {
    match output {
        Output::Json => out!(
            "{}",
            serde_json::json!({"event": "log", "function": function, "timestamp": event.timestamp, "message": event.message})
        ),
        Output::Text | Output::Markdown => {
            let when = aws_smithy_types::DateTime::from_millis(event.timestamp)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default();
            out!("{when} {function} {}", event.message.trim_end())
        }
    }
}

fn eprintln_safe(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
