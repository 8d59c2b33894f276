//! The suite's main scenarios with the proxy in strict mode (every behaviour of `strict.rs`, at
//! `SCALE`): deployer paces, waits and retries as a real account needs, and ends with the same inventory as
//! on moto alone.

use crate::proxy::{Proxy, Rules};
use crate::strict::Strict;
use crate::support::{full_inventory, inventory, moto, Deployment, Inventory, Outcome};

/// Every AWS duration (and deployer's deliberate waits with it) at 1 % of real time: ACM's five minutes are
/// three seconds, CloudFront's four are 2.4 s, the TTL's hour is 36 s.
pub const SCALE: f64 = 0.01;

pub fn strict_proxy() -> Proxy {
    strict_proxy_with(Strict::all(SCALE))
}

pub fn strict_proxy_with(strict: Strict) -> Proxy {
    Proxy::start(&moto().url(), Rules { strict: Some(strict), ..Rules::default() })
}

/// `deployer ARGS --output json` through `proxy`, on the proxy's clock.
pub fn through(d: &Deployment, proxy: &Proxy, args: &[&str]) -> Outcome {
    let scale = proxy.model.as_ref().map_or(1.0, |m| m.config.scale);
    let output = d
        .command(args)
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("DEPLOYER_TIME_SCALE", scale.to_string())
        // The proxy models AWS's quotas, so deployer paces to them as it does on AWS.
        .env("DEPLOYER_PACE", "aws")
        .output()
        .expect("run deployer");
    Outcome::from(output)
}

/// What a full deploy leaves on AWS: moto's inventory, and the `ws.` alias record that moto cannot have
/// (its v2 custom domains report no target; the strict model reports one as AWS does).
pub fn strict_inventory(service: &str) -> Inventory {
    let mut expected = full_inventory(service);
    expected.records.push(format!("ws.{service}.com A"));
    expected.records.sort();
    expected
}

fn deploy(d: &Deployment, proxy: &Proxy) -> Outcome {
    let args = d.deploy_args();
    through(d, proxy, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[tokio::test]
async fn strict_revisions_that_change_again_as_functions_settle_still_spare_the_next_run_every_policy_read() {
    let d = Deployment::new("strict-revisions");
    let proxy = strict_proxy();
    deploy(&d, &proxy).assert_ok();
    let args = d.deploy_args();
    let mut again: Vec<&str> = args.iter().map(String::as_str).collect();
    again.push("--timings");
    let noop = through(&d, &proxy, &again);
    noop.assert_ok();
    assert_eq!(noop.changed(), 0);
    assert_eq!(noop.calls_of("lambda:GetPolicy"), 0, "{}", noop.stderr);
    assert_eq!(noop.requests().1, 0);
}

#[tokio::test]
async fn strict_the_certificate_is_requested_at_the_start_of_a_run_beside_the_steps_before_06() {
    let d = Deployment::new("strict-early");
    let proxy = strict_proxy();
    let fresh = deploy(&d, &proxy);
    fresh.assert_ok();
    let order = proxy.seen(|s| s.order.clone());
    let first = |op: &str| order.iter().position(|o| o == op).unwrap_or_else(|| panic!("no {op} in {order:?}"));
    // 03's CreateRestApi comes after 01's tables and 02's functions, which run at once from the start;
    // the certificate beside them, before 03.
    assert!(first("RequestCertificate") < first("POST /restapis"), "{order:?}");
    let early = fresh.events.iter().position(|e| e["event"] == "notice" && e["step"] == "06-domain");
    let third_step = fresh.events.iter().position(|e| e["event"] == "step_started" && e["step"] == "03-api-gateway");
    let (early, third_step) = (early.expect("a head-start notice"), third_step.expect("03 started"));
    assert!(early < third_step, "the head start is announced at the start");
    assert_eq!(inventory(&d.service).await, strict_inventory(&d.service));
    // Done, 06 gets no head start on the next run.
    let again = deploy(&d, &proxy);
    again.assert_ok();
    assert!(!again.stdout.contains("started early"), "{}", again.stdout);
}

#[tokio::test]
async fn strict_a_fresh_deploy_completes_and_an_immediate_second_run_writes_nothing() {
    let d = Deployment::new("strict-fresh");
    let proxy = strict_proxy();
    let fresh = deploy(&d, &proxy);
    fresh.assert_ok();
    assert_eq!(inventory(&d.service).await, strict_inventory(&d.service));
    println!("refused on the way: {:?}", proxy.refusals());
    // Its AAAA alias records answer only if the distribution serves IPv6, which AWS's API leaves off.
    let config = crate::strict_model::via(&proxy).await;
    let distribution = d.state()["steps"]["05-frontend"]["outputs"]["distribution_id"].as_str().unwrap().to_string();
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let got = cloudfront.get_distribution_config().id(&distribution).send().await.unwrap();
    assert_eq!(got.distribution_config().unwrap().is_ipv6_enabled(), Some(true), "AAAA records need IPv6");

    // The TTL is still ENABLING, the distribution InProgress, the last records PENDING: none of it is drift.
    let writes_before = proxy.seen(|s| s.write_count());
    let again = deploy(&d, &proxy);
    again.assert_ok();
    assert_eq!(again.changed(), 0, "{:?}", again.changes());
    assert_eq!(proxy.seen(|s| s.write_count()), writes_before, "{:?}", proxy.seen(|s| s.writes.clone()));
}

#[tokio::test]
async fn strict_a_changed_ttl_attribute_disables_the_old_one_and_says_to_wait_the_hour_aws_imposes() {
    let d = Deployment::new("strict-ttl");
    let scale = 0.003; // AWS's hour is 10.8 s
    let proxy = strict_proxy_with(Strict::all(scale));
    deploy(&d, &proxy).assert_ok();
    std::fs::write(d.path("deployer.toml"), "[tables.websocket-connections]\nttl_attribute = \"expires\"\n").unwrap();

    // Within the hour of enabling 'ttl', AWS refuses to disable it; an hour later it may be disabled, and
    // only an hour after that may 'expires' be enabled.
    let hour = std::time::Duration::from_secs_f64(3600.0 * scale);
    let refused = deploy(&d, &proxy);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("'ttl' cannot be disabled yet"), "{}", refused.stderr);
    assert!(refused.stderr.contains("one time-to-live change per table per hour"), "{}", refused.stderr);
    std::thread::sleep(hour);
    let disabled = through(&d, &proxy, &["resume"]);
    assert_eq!(disabled.code, 1, "{}", disabled.stderr);
    assert!(disabled.stderr.contains("'ttl' was just disabled"), "{}", disabled.stderr);
    std::thread::sleep(hour);
    through(&d, &proxy, &["resume"]).assert_ok();
    let dynamodb = aws_sdk_dynamodb::Client::new(&crate::support::sdk_config().await);
    let table = format!("{}-websocket-connections", d.service);
    let ttl = dynamodb.describe_time_to_live().table_name(&table).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(
        (ttl.attribute_name(), ttl.time_to_live_status().map(|s| s.as_str())),
        (Some("expires"), Some("ENABLED"))
    );
    let again = deploy(&d, &proxy);
    again.assert_ok();
    assert_eq!(again.changed(), 0, "ENABLING is the wanted state: {:?}", again.changes());
}

#[tokio::test]
async fn strict_destroy_with_everything_then_run_again_builds_the_same_service() {
    let d = Deployment::new("strict-again");
    let proxy = strict_proxy();
    deploy(&d, &proxy).assert_ok();
    let destroyed = through(&d, &proxy, &["destroy", "--yes", "--delete-data", "--delete-zone"]);
    destroyed.assert_ok();
    let left = inventory(&d.service).await;
    assert_eq!(left, crate::support::empty_inventory(), "destroy leaves nothing");

    // The zone's and the distribution's caller references are one-shot: a redeploy needs new ones.
    let again = deploy(&d, &proxy);
    again.assert_ok();
    assert_eq!(inventory(&d.service).await, strict_inventory(&d.service));
    let refused = proxy.refusals();
    println!("refused on the way: {refused:?}");
    // Two custom domains deleted, then made again, at one per 30 s each: paced, never refused.
    for one_shot in ["HostedZoneAlreadyExists", "DistributionAlreadyExists", "TooManyRequestsException"] {
        assert!(!refused.contains_key(one_shot), "{refused:?}");
    }
}

#[tokio::test]
async fn strict_a_site_file_changed_then_reverted_is_invalidated_both_times() {
    let d = Deployment::new("strict-revert");
    let proxy = strict_proxy();
    deploy(&d, &proxy).assert_ok();
    let file = d.path("frontend/dist/assets/app.8b2e4d.js");
    let original = std::fs::read_to_string(&file).unwrap();
    let made = proxy.invalidations().len();

    std::fs::write(&file, format!("{original}\n// B\n")).unwrap();
    deploy(&d, &proxy).assert_ok();
    std::fs::write(&file, &original).unwrap();
    deploy(&d, &proxy).assert_ok();

    let path = "/assets/app.8b2e4d.js".to_string();
    let later: Vec<Vec<String>> = proxy.invalidations()[made..].iter().map(|(_, paths)| paths.clone()).collect();
    assert_eq!(later, vec![vec![path.clone()], vec![path]], "A → B and B → A are each invalidated");
}

/// `deployer ARGS` under strict mode, killed (SIGKILL) once the proxy has forwarded `after` requests; the
/// proxy, released, for the resume.
pub fn killed_after(d: &Deployment, args: &[&str], after: u32) -> Proxy {
    let rules = Rules { strict: Some(Strict::all(SCALE)), stall_after: Some(after), ..Rules::default() };
    let proxy = Proxy::start(&moto().url(), rules);
    let mut child = d
        .command(args)
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("DEPLOYER_TIME_SCALE", SCALE.to_string())
        .env("DEPLOYER_PACE", "aws")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stalled = proxy.wait_for_stall(&mut child);
    assert!(stalled, "the deploy ended before request {after}: every kill point must fall inside it");
    let _ = child.kill(); // SIGKILL: no chance to clean up
    let _ = child.wait();
    proxy.release();
    proxy
}

#[tokio::test]
async fn strict_killed_at_ten_points_then_resumed_gives_one_of_everything() {
    // Kill points spread over a deploy as an uninterrupted one goes (about 250 requests, the waits' polls
    // varying with the machine's speed): its third request, then each eleventh of it up to nine.
    let reference = Deployment::new("strict-kill-ref");
    let proxy = strict_proxy();
    deploy(&reference, &proxy).assert_ok();
    let requests = proxy.seen(|s| s.forwarded);
    let points = std::iter::once(3).chain((1..=9).map(|k| requests * k / 11));
    for (i, after) in points.enumerate() {
        let d = Deployment::new(&format!("strict-kill-{i}"));
        let args = d.deploy_args();
        let proxy = killed_after(&d, &args.iter().map(String::as_str).collect::<Vec<_>>(), after);

        let resumed = if d.state_path().exists() { through(&d, &proxy, &["resume"]) } else { deploy(&d, &proxy) };
        resumed.assert_ok();
        assert_eq!(inventory(&d.service).await, strict_inventory(&d.service), "killed after {after} requests");
        let again = deploy(&d, &proxy);
        again.assert_ok();
        assert_eq!(again.changed(), 0, "a run after the resume changes nothing (killed after {after})");
    }
}
