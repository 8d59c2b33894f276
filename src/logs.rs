//! `deployer logs`: the functions' recent log lines, or a live tail with `--follow`, from CloudWatch Logs.

use anyhow::Result;
use deployer_steps::s02_lambda::FUNCTIONS;
use deployer_steps::s08_verify::{now_millis, recent_log_events, LogEvent};
use deployer_steps::{names, Clients, InputError, Settings};
use std::time::Duration;

use crate::cli::Output;

/// How often `--follow` asks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

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
        Output::Text => {
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
