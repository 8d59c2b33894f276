//! `make bench`'s second table: deployer (the release build) against AWS as the strict proxy simulates it
//! in front of moto. Every request is held as long as AWS's round trips take (reads ~120 ms, writes ~250 ms,
//! log-normal), the quotas are enforced at their real rates, and the long in-between states (certificate
//! validation, CloudFront, Route 53, IAM, tables, Lambda) last their typical durations times `SIM_SCALE`
//! (default 0.2), so the run takes minutes, not a quarter of an hour. It prints a Markdown table with the
//! goals beside the figures. A benchmark, not a test: `cargo bench --bench simulated_aws`.

// The integration tests' harness, shared as it is; this uses a part of it.
#![allow(dead_code)]

#[path = "../it/proxy.rs"]
mod proxy;
#[path = "../it/strict/mod.rs"]
mod strict;
#[path = "../it/support.rs"]
mod support;
#[path = "../it/velocity.rs"]
mod velocity;

#[path = "measure.rs"]
mod measure;

use measure::{measure, seconds};
use proxy::{Latency, Proxy, Rules};
use std::time::Duration;
use strict::Strict;
use support::{moto, Deployment};

/// The longest chain of things that must wait for each other in a first deploy with a domain, in the
/// model's own figures: (what, seconds).
fn critical_path(config: &Strict, latency: Latency) -> Vec<(&'static str, f64)> {
    let (read, write) = (latency.read.as_secs_f64(), latency.write.as_secs_f64());
    let s = config.scale;
    vec![
        ("find, then create the hosted zone", read + write),
        ("find, then request the certificate", read + write),
        ("its validation records shown", config.records_after_request * s + read),
        ("the validation CNAMEs written", write),
        ("ACM's validation, after the CNAMEs exist", strict::ACM_VALIDATION * s),
        ("ISSUED, after the validation", config.issued_after_validation * s + read),
        ("CreateDomainName api.", write),
        ("CreateDomainName ws., one quota interval later", strict::CREATE_DOMAIN_NAME_EVERY),
        ("CreateApiMapping ws.", write),
        ("the alias records written", write),
        ("08-verify's smoke test", read),
    ]
}

/// A frontend of 2,000 pages beside the fixture's site.
fn big_site(d: &Deployment) {
    let pages = d.path("frontend/dist/pages");
    std::fs::create_dir_all(&pages).expect("pages folder");
    for n in 0..2000 {
        std::fs::write(pages.join(format!("page-{n:04}.html")), format!("<p>page {n}</p>\n")).expect("a page");
    }
}

fn main() {
    let scale: f64 = std::env::var("SIM_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(0.2);
    let latency = Latency::AWS;
    let config = Strict::typical(scale);
    let rules = || Rules { strict: Some(config.clone()), latency: Some(latency), seed: 7, ..Rules::default() };
    let proxy = Proxy::start(&moto().url(), rules());
    eprintln!("simulated AWS: latency {latency:?}, waits x{scale}; a fresh deploy takes a few minutes...");

    let d = Deployment::new("simaws");
    let args = d.deploy_args();
    let fresh = measure(&d, &proxy, scale, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let path = critical_path(&config, latency);
    let critical = Duration::from_secs_f64(path.iter().map(|(_, s)| s).sum());

    eprintln!("no-op run...");
    let noop = measure(&d, &proxy, scale, &["run"]);

    eprintln!("one handler changed...");
    let handler = d.path("backend/handlers/api/prompt.py");
    let code = std::fs::read_to_string(&handler).expect("the handler");
    std::fs::write(&handler, format!("{code}\n# edited by the benchmark\n")).expect("edit the handler");
    let hot = measure(&d, &proxy, scale, &["run"]);
    let live = hot.finished("02-lambda").unwrap_or(hot.took);
    eprintln!("rollback to the release before...");
    let back = measure(&d, &proxy, scale, &["rollback", "--yes"]);
    eprintln!("a canary of one handler changed again (10% for 10 s)...");
    std::fs::write(&handler, format!("{code}\n# edited again by the benchmark\n")).expect("edit the handler");
    let canary = measure(&d, &proxy, scale, &["run", "--canary", "10%:10s"]);
    let at = |event: &str| canary.timeline.iter().find(|(_, e)| e["event"] == event).map(|(t, _)| *t);
    let (shared, ended) = (at("canary").unwrap_or_default(), at("canary_ended").unwrap_or_default());
    let promoted = canary.outcome.event("canary_ended").is_some_and(|e| e["promoted"] == true);

    eprintln!("a 2,000-file frontend (deploy, then one file changed)...");
    let site = Deployment::new("simsite");
    big_site(&site);
    measure(&site, &proxy, scale, &["run", "--service", &site.service]);
    std::fs::write(site.path("frontend/dist/pages/page-0500.html"), "<p>page 500, edited</p>\n").expect("edit a page");
    let frontend = measure(&site, &proxy, scale, &["step", "05-frontend"]);
    let uploads = frontend.outcome.changes().iter().filter(|(r, _, _)| r.starts_with("object ")).count();

    println!("Simulated AWS: requests held {} ms (reads) / {} ms (writes) median, log-normal sigma {}; quotas at their real rates; in-between states at {scale} x their typical durations (certificate validation {} s, CloudFront {} s, Route 53 {} s).\n",
        latency.read.as_millis(), latency.write.as_millis(), latency.sigma,
        strict::ACM_VALIDATION * scale, 240.0 * scale, 40.0 * scale);
    println!("| measurement | deployer | requests (by service) | 429s | goal |");
    println!("|---|---|---|---|---|");
    let ratio = fresh.took.as_secs_f64() / critical.as_secs_f64();
    println!(
        "| fresh deploy with a domain, steps 01-08 | {} ({ratio:.2} x the critical path, {}) | {} ({}) | {} | <= 1.15 x critical path |",
        seconds(fresh.took), seconds(critical), fresh.requests(), fresh.services(), fresh.throttled
    );
    println!(
        "| no-op `run` | {} | {} ({}) | {} | <= 3 s, <= 60 requests, <= 20 to API Gateway, no 429 |",
        seconds(noop.took),
        noop.requests(),
        noop.services(),
        noop.throttled
    );
    println!(
        "| one handler changed, `run` | code live at {}, run done at {} | {} ({}) | {} | <= 5 s |",
        seconds(live),
        seconds(hot.took),
        hot.requests(),
        hot.services(),
        hot.throttled
    );
    println!(
        "| `rollback` to the release before (the one function changed, and the REST stage) | {} | {} ({}) | {} | <= 5 s |",
        seconds(back.took),
        back.requests(),
        back.services(),
        back.throttled
    );
    println!(
        "| `run --canary 10%:10s`, one handler changed | share given and first read at {}, {} at {} ({:.2} s after that first reading, for a window of 10 s), run done at {} | {} ({}) | {} | promoted <= 2 s after the window |",
        seconds(shared),
        if promoted { "promoted" } else { "NOT promoted" },
        seconds(ended),
        ended.saturating_sub(shared).as_secs_f64(),
        seconds(canary.took),
        canary.requests(),
        canary.services(),
        canary.throttled
    );
    println!(
        "| one page of 2,000 changed, `step 05-frontend` | {}, {uploads} upload(s) | {} ({}) | {} | <= 2 s |",
        seconds(frontend.took),
        frontend.requests(),
        frontend.services(),
        frontend.throttled
    );
    println!("\nThe critical path, from the model's figures:\n");
    for (what, s) in &path {
        println!("- {what}: {s:.2} s");
    }
    println!("\nThe fresh deploy's steps finished at: {}", fresh.steps_finished());
}
