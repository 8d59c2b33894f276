//! The benchmarks' harness: one `deployer` command through the proxy, timed, its events and requests
//! counted.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::proxy::Proxy;
use crate::support::{Deployment, Outcome};

/// One measured command: how long, what it asked of AWS, and when each event came.
pub struct Measured {
    pub took: Duration,
    pub outcome: Outcome,
    /// (time since start, event) for each JSON event line.
    pub timeline: Vec<(Duration, Value)>,
    /// Requests forwarded to moto, by service.
    pub by_service: BTreeMap<String, u32>,
    /// Answers the model refused with a quota error (429 and its kin).
    pub throttled: u32,
}

impl Measured {
    /// The requests the command reported making; for one that reports none (`rollback`), those the proxy
    /// saw.
    pub fn requests(&self) -> u64 {
        match self.outcome.event("run_finished") {
            Some(_) => {
                let (reads, writes) = self.outcome.requests();
                reads + writes
            }
            None => self.by_service.values().map(|n| u64::from(*n)).sum(),
        }
    }

    /// When the step's `step_finished` event came, from the start of the command.
    pub fn finished(&self, step: &str) -> Option<Duration> {
        self.timeline.iter().find(|(_, e)| e["event"] == "step_finished" && e["step"] == step).map(|(t, _)| *t)
    }

    /// When each step finished: "01-dynamodb 0.4 s, …".
    pub fn steps_finished(&self) -> String {
        let steps: Vec<String> = self
            .timeline
            .iter()
            .filter(|(_, e)| e["event"] == "step_finished")
            .map(|(t, e)| format!("{} {:.1} s", e["step"].as_str().unwrap_or("?"), t.as_secs_f64()))
            .collect();
        steps.join(", ")
    }

    /// Steps that failed (on throttling or anything else) before the command succeeded.
    pub fn steps_failed(&self) -> usize {
        self.timeline.iter().filter(|(_, e)| e["event"] == "step_failed").count()
    }

    pub fn services(&self) -> String {
        let parts: Vec<String> = self.by_service.iter().map(|(s, n)| format!("{s} {n}")).collect();
        parts.join(", ")
    }
}

pub fn quota_refusals(proxy: &Proxy) -> u32 {
    let refusals = proxy.refusals();
    ["TooManyRequestsException", "Throttling", "ThrottlingException"].iter().filter_map(|c| refusals.get(*c)).sum()
}

/// `deployer ARGS --output json` through the proxy, its events timed as they come.
pub fn measure(d: &Deployment, proxy: &Proxy, scale: f64, args: &[&str]) -> Measured {
    let services_before = proxy.seen(|s| s.by_service.clone());
    let throttled_before = quota_refusals(proxy);
    let started = Instant::now();
    let mut child = d
        .command(args)
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("DEPLOYER_TIME_SCALE", scale.to_string())
        .env("DEPLOYER_QUOTA_SCALE", "1")
        .env("DEPLOYER_PACE", "aws")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start deployer");
    let mut timeline = Vec::new();
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let line = line.expect("deployer's stdout");
        if let Ok(event) = serde_json::from_str::<Value>(&line) {
            timeline.push((started.elapsed(), event));
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let output = child.wait_with_output().expect("deployer's exit");
    let took = started.elapsed();
    let outcome = Outcome::from(std::process::Output { stdout: stdout.into_bytes(), ..output });
    outcome.assert_ok();
    let mut by_service = proxy.seen(|s| s.by_service.clone());
    for (service, before) in services_before {
        *by_service.entry(service).or_default() -= before;
    }
    by_service.retain(|_, n| *n > 0);
    Measured { took, outcome, timeline, by_service, throttled: quota_refusals(proxy) - throttled_before }
}

pub fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The most memory any deployer run so far held (its peak resident set, in MB): getrusage's children's
/// maximum, which counts each command once it has been waited for.
pub fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if got != 0 {
        return 0.0;
    }
    usage.ru_maxrss as f64 / 1024.0
}
