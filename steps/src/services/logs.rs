//! CloudWatch Logs of the functions and the API stages, read by `08-verify` (the last line of each function)
//! and `deployer logs`.

use anyhow::Result;
use aws_sdk_cloudwatchlogs::types::OrderBy;
use std::time::SystemTime;

use crate::aws::{absent_if, AwsContext, Clients};

pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A log event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
}

/// The log group of a function.
pub fn function_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// The group's log events since `since_millis` that match `filter` (a CloudWatch Logs filter pattern),
/// the last `limit` of them; `None` when there is no such group (a function never invoked, an API stage
/// not deployed).
pub async fn recent_log_events(
    aws: &Clients,
    group: &str,
    since_millis: i64,
    limit: usize,
    filter: Option<&str>,
) -> Result<Option<Vec<LogEvent>>> {
    let request = aws.logs().filter_log_events().log_group_name(group).start_time(since_millis);
    let pages = request.set_filter_pattern(filter.map(String::from)).into_paginator().send();
    let pages: Vec<_> = pages.collect().await;
    let mut events = Vec::new();
    for page in pages {
        let Some(page) = absent_if(page, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("logs:FilterLogEvents {group}"))?
        else {
            return Ok(None);
        };
        events.extend(page.events().iter().map(|e| LogEvent {
            timestamp: e.timestamp().unwrap_or_default(),
            message: e.message().unwrap_or_default().to_string(),
        }));
    }
    events.sort_by_key(|e| e.timestamp);
    let skip = events.len().saturating_sub(limit);
    Ok(Some(events.split_off(skip)))
}

/// The function's last log line, in two small requests (its newest stream, then that stream's last event)
/// whatever its volume of logs; `None` when it has no log group yet (it was never invoked), `Some(None)` when
/// the group holds no event.
pub async fn last_log_event(aws: &Clients, function: &str) -> Result<Option<Option<LogEvent>>> {
    let group = format!("/aws/lambda/{function}");
    let logs = aws.logs();
    let newest = logs.describe_log_streams().log_group_name(&group).order_by(OrderBy::LastEventTime).descending(true);
    let streams = absent_if(newest.limit(1).send().await, |e| e.is_resource_not_found_exception())
        .aws_context(|| format!("logs:DescribeLogStreams {group}"))?;
    let Some(streams) = streams else { return Ok(None) };
    let Some(stream) = streams.log_streams().first().and_then(|s| s.log_stream_name()) else {
        return Ok(Some(None));
    };
    let last = logs.get_log_events().log_group_name(&group).log_stream_name(stream).limit(1).start_from_head(false);
    let events = last.send().await.aws_context(|| format!("logs:GetLogEvents {group} {stream}"))?;
    Ok(Some(events.events().last().map(|e| LogEvent {
        timestamp: e.timestamp().unwrap_or_default(),
        message: e.message().unwrap_or_default().to_string(),
    })))
}
