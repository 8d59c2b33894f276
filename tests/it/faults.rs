//! Reliability through the fault-injecting proxy: requests seen on the wire, injected faults, kills.

use crate::proxy::{Proxy, Rules};
use crate::support::{full_inventory, inventory, moto, Deployment};

/// `deployer ARGS` through the proxy, with short retry backoff so injected faults cost little time.
fn through(d: &Deployment, proxy: &Proxy, args: &[&str]) -> crate::support::Outcome {
    let output = d
        .command(args)
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("DEPLOYER_RETRY_BACKOFF_MS", "20")
        .output()
        .unwrap();
    crate::support::Outcome::from(output)
}

#[tokio::test]
async fn a_no_op_run_and_a_re_check_make_no_write_on_the_wire() {
    let d = Deployment::new("wire-noop");
    d.deploy().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules::default());
    let args = d.deploy_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    through(&d, &proxy, &args).assert_ok();
    assert_eq!(proxy.seen(|s| s.write_count()), 0, "{:?}", proxy.seen(|s| s.writes.clone()));
    for step in ["02-lambda", "03-api-gateway", "05-frontend", "06-domain", "07-stages"] {
        through(&d, &proxy, &["step", step]).assert_ok();
    }
    let mut plan = args.clone();
    plan[0] = "plan";
    through(&d, &proxy, &plan).assert_ok();
    assert_eq!(proxy.seen(|s| s.write_count()), 0, "{:?}", proxy.seen(|s| s.writes.clone()));
    assert!(proxy.seen(|s| s.reads.values().sum::<u32>()) > 30, "the re-checks read every resource");
}

#[tokio::test]
async fn a_deploy_with_a_third_of_requests_failing_transiently_completes() {
    let d = Deployment::new("wire-flaky");
    let proxy = Proxy::start(&moto().url(), Rules { fault_rate: 0.3, seed: 7, ..Rules::default() });
    let mut args = d.deploy_args();
    args.extend(["--max-attempts".to_string(), "12".to_string()]);
    let run = through(&d, &proxy, &args.iter().map(String::as_str).collect::<Vec<_>>());
    run.assert_ok();
    assert!(proxy.seen(|s| s.faults) > 30, "faults injected: {}", proxy.seen(|s| s.faults));
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn an_operation_that_always_fails_names_itself_and_resume_finishes_once_it_works() {
    let d = Deployment::new("wire-broken");
    // Lambda's CreateFunction is `POST /2015-03-31/functions`.
    let proxy =
        Proxy::start(&moto().url(), Rules { always_fail: Some("POST /2015-03-31/*".into()), ..Rules::default() });
    let mut args = d.deploy_args();
    args.extend(["--max-attempts".to_string(), "2".to_string()]);
    let failed = through(&d, &proxy, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    for expected in [
        "lambda:CreateFunction",
        &format!("{}-conversation-api", d.service),
        "HTTP 500",
        "injected persistent failure",
        "deployer resume",
    ] {
        assert!(failed.stderr.contains(expected), "missing {expected:?}: {}", failed.stderr);
    }
    let state = d.state();
    assert_eq!(state["steps"]["01-dynamodb"]["status"], "done");
    assert_eq!(state["steps"]["02-lambda"]["status"], "failed");
    assert!(state["steps"]["02-lambda"]["outputs"]["role_arn"].is_string(), "what was made is kept");

    d.run(&["resume"]).assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn killed_after_any_request_then_resumed_gives_one_of_everything() {
    // How many requests an uninterrupted deploy makes, to spread the kill points over all of them.
    let counting = Deployment::new("wire-count");
    let proxy = Proxy::start(&moto().url(), Rules::default());
    let args = counting.deploy_args();
    through(&counting, &proxy, &args.iter().map(String::as_str).collect::<Vec<_>>()).assert_ok();
    let total = proxy.seen(|s| s.forwarded);
    assert!(total > 100, "a full deploy makes {total} requests");

    let points: Vec<u32> = (0..20).map(|i| 1 + i * (total - 2) / 19).collect();
    for (i, k) in points.into_iter().enumerate() {
        let d = Deployment::new(&format!("wire-kill-{i}"));
        let proxy = Proxy::start(&moto().url(), Rules { stall_after: Some(k), ..Rules::default() });
        let args = d.deploy_args();
        let mut child = proxy.spawn_until_stalled(&d, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let _ = child.kill(); // SIGKILL right after request k
        let _ = child.wait();

        let resumed = if d.state_path().exists() { d.run(&["resume"]) } else { d.deploy() };
        resumed.assert_ok();
        assert_eq!(inventory(&d.service).await, full_inventory(&d.service), "killed after request {k}");
        assert_eq!(d.deploy().assert_ok().changed(), 0, "nothing left to do after request {k}");
    }
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_does_not_make_a_second_api() {
    let d = Deployment::new("wire-lost");
    // CreateRestApi and apigatewayv2 CreateApi: the service makes the API, the answer is a 500.
    let lost = vec!["POST /restapis".to_string(), "POST /v2/*".to_string()];
    let proxy = Proxy::start(&moto().url(), Rules { lose_answer_once: lost.clone(), ..Rules::default() });
    let args = d.deploy_args();
    through(&d, &proxy, &args.iter().map(String::as_str).collect::<Vec<_>>()).assert_ok();
    // 03 and 04 run at once: the two answers are lost in either order.
    let mut answers_lost = proxy.seen(|s| s.answers_lost.clone());
    answers_lost.sort();
    assert_eq!(answers_lost, lost);
    // Exactly one REST API and one WebSocket API, found again after the lost answers.
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

/// An endpoint that goes silent (no answer at all, or an answer frozen halfway through its body) fails
/// the step within the read timeout and the retries, naming the endpoint and `deployer resume`, once; the
/// resume then finishes the deploy.
#[tokio::test]
async fn a_frozen_endpoint_fails_the_step_in_bounded_time_naming_it_and_resume() {
    let rules = [
        ("silent", Rules { stall_after: Some(40), ..Rules::default() }),
        ("half", Rules { freeze_mid_answer_after: Some(40), ..Rules::default() }),
    ];
    for (how, rules) in rules {
        let d = Deployment::new(&format!("frozen-{how}"));
        let proxy = Proxy::start(&moto().url(), rules);
        let args = d.deploy_args();
        let started = std::time::Instant::now();
        let output = d
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .env("DEPLOYER_READ_TIMEOUT", "2")
            .env("DEPLOYER_RETRY_BACKOFF_MS", "20")
            .output()
            .unwrap();
        let took = started.elapsed();
        proxy.release();
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{how}: {said}");
        // A few attempts of 2 s each, and the backoff (12-16 s here; a loaded machine takes longer): far
        // from the minutes of a hang.
        assert!(took < std::time::Duration::from_secs(60), "{how}: failed after {took:?}: {said}");
        assert!(said.contains(&format!("The endpoint {} did not answer in time", proxy.url)), "{how}: {said}");
        assert!(said.contains("run `deployer resume`") && said.contains("DEPLOYER_READ_TIMEOUT"), "{how}: {said}");
        let error = said.lines().find(|l| l.starts_with("error: step ")).expect("an error line");
        let call = error.split(": ").nth(1).unwrap();
        assert_eq!(said.matches(call).count(), 1, "{how}: the error once: {said}");

        d.run(&["resume"]).assert_ok();
        assert_eq!(inventory(&d.service).await, full_inventory(&d.service), "{how}");
    }
}

/// Wherever the endpoint goes silent (reads of many functions at once, the wait after a create, a
/// listing), the error names the endpoint and the timeout: the silence stays typed through the
/// concurrent reads and the create's own wrapper.
#[tokio::test]
async fn an_endpoint_gone_silent_at_any_of_several_requests_is_named_with_the_timeout() {
    for k in [30, 34, 36, 38] {
        let d = Deployment::new(&format!("silent-at-{k}"));
        let proxy = Proxy::start(&moto().url(), Rules { stall_after: Some(k), ..Rules::default() });
        let args = d.deploy_args();
        let output = d
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .env("DEPLOYER_READ_TIMEOUT", "1")
            .env("DEPLOYER_RETRY_BACKOFF_MS", "20")
            .output()
            .unwrap();
        proxy.release();
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "after request {k}: {said}");
        assert!(
            said.contains(&format!("The endpoint {} did not answer in time", proxy.url)),
            "after request {k}: {said}"
        );
    }
}
