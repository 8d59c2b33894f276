//! `deployer logs` and 08-verify's activity lines, from log events the test writes to moto.

use crate::support::{sdk_config, Deployment};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

async fn write_log(function: &str, messages: &[&str]) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let group = format!("/aws/lambda/{function}");
    // 02-lambda made the group already (with its retention); a function's first invocation would not fail.
    let _ = logs.create_log_group().log_group_name(&group).send().await;
    logs.create_log_stream().log_group_name(&group).log_stream_name("2026/11/29/[$LATEST]a").send().await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let events = messages
        .iter()
        .enumerate()
        .map(|(i, m)| InputLogEvent::builder().timestamp(now - 1000 + i as i64).message(*m).build().unwrap());
    let put = logs.put_log_events().log_group_name(&group).log_stream_name("2026/11/29/[$LATEST]a");
    put.set_log_events(Some(events.collect())).send().await.unwrap();
}

#[tokio::test]
async fn logs_prints_a_functions_lines_in_order_and_says_which_have_none() {
    let d = Deployment::new("logs-svc");
    d.deploy_without_domain().assert_ok();
    write_log("logs-svc-conversation-api", &["START RequestId: 1", "listed 3 conversations", "END RequestId: 1"]).await;

    let one = d.run(&["logs", "conversation-api"]);
    one.assert_ok();
    let messages: Vec<&str> = one.events.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["START RequestId: 1", "listed 3 conversations", "END RequestId: 1"]);
    assert!(one.events.iter().all(|e| e["function"] == "logs-svc-conversation-api"));
    // The filter pattern goes to FilterLogEvents, which matches it (moto matches plain terms).
    let filtered = d.run(&["logs", "conversation-api", "--filter", "conversations"]);
    filtered.assert_ok();
    let messages: Vec<&str> = filtered.events.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["listed 3 conversations"]);

    let every = d.command(&["logs"]).output().unwrap();
    assert!(every.status.success());
    let text = String::from_utf8_lossy(&every.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.lines().nth(1).unwrap().ends_with("logs-svc-conversation-api listed 3 conversations"), "{text}");
    let said = String::from_utf8_lossy(&every.stderr);
    assert!(said.contains("logs-svc-usage-handler: nothing logged in that time"), "{said}");

    let unknown = d.run(&["logs", "no-such-function"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("use one of conversation-api, prompt-crud"), "{}", unknown.stderr);

    let verified = d.run(&["step", "08-verify"]);
    verified.assert_ok();
    let activity = verified
        .events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .find(|m| m.starts_with("logs-svc-conversation-api:"));
    assert_eq!(
        activity,
        Some(
            "logs-svc-conversation-api: 0 invocations, 0 errors in the last 5 minutes; last log line: END RequestId: 1"
        )
    );
}

#[tokio::test]
async fn logs_follow_prints_lines_written_after_it_started() {
    use std::io::BufRead;
    let d = Deployment::new("logs-follow");
    d.deploy_without_domain().assert_ok();
    write_log("logs-follow-prompt-crud", &["first line"]).await;
    let mut follow = KilledOnDrop(
        d.command(&["logs", "prompt-crud", "--follow", "--output", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Read on a thread, so that a line that never comes fails the test instead of hanging it.
    let stdout = follow.0.stdout.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let next = || -> serde_json::Value {
        let line = lines.recv_timeout(std::time::Duration::from_secs(60)).expect("a line within a minute");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next()["message"], "first line");

    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let event = InputLogEvent::builder().timestamp(now).message("written later").build().unwrap();
    let put = logs.put_log_events().log_group_name("/aws/lambda/logs-follow-prompt-crud");
    put.log_stream_name("2026/11/29/[$LATEST]a").log_events(event).send().await.unwrap();
    assert_eq!(next()["message"], "written later");
}

/// A child process that is killed and reaped when the test ends, however it ends.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn verify_reads_each_functions_last_log_line_in_two_requests_whatever_the_volume_of_logs() {
    let d = Deployment::new("logs-cheap");
    d.deploy_without_domain().assert_ok();
    let function = "logs-cheap-prompt-crud";
    let many: Vec<String> = (0..300).map(|i| format!("older line {i}")).collect();
    write_log(function, &many.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let group = format!("/aws/lambda/{function}");
    let newest = "2026/11/29/[$LATEST]b";
    logs.create_log_stream().log_group_name(&group).log_stream_name(newest).send().await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let last = InputLogEvent::builder().timestamp(now).message("the newest line").build().unwrap();
    logs.put_log_events().log_group_name(&group).log_stream_name(newest).log_events(last).send().await.unwrap();

    let proxy = crate::proxy::Proxy::start(&crate::support::moto().url(), crate::proxy::Rules::default());
    let verified = d.command(&["step", "08-verify", "--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output();
    let verified = crate::support::Outcome::from(verified.unwrap());
    verified.assert_ok();
    let line = verified.events.iter().filter_map(|e| e["message"].as_str()).find(|m| m.starts_with(function));
    assert!(line.is_some_and(|l| l.ends_with("last log line: the newest line")), "{line:?}");
    let reads = proxy.seen(|s| s.reads.clone());
    assert_eq!(reads.get("FilterLogEvents"), None, "no paging through events: {reads:?}");
    let log_reads =
        reads.get("DescribeLogStreams").copied().unwrap_or(0) + reads.get("GetLogEvents").copied().unwrap_or(0);
    assert!(log_reads <= 2 * 6, "at most two requests per function: {reads:?}");
}
