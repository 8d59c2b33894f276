//! Canaries (`run --canary SHARE:DURATION`): the changed functions' new versions get their share through
//! the alias's weights, CloudWatch is watched, and the run promotes them or rolls them back by itself. A
//! killed canary is continued by `resume` and never leaves weights behind. Read back with the SDK.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::proxy::{Proxy, Rules};
use crate::strict::Strict;
use crate::strict_scenarios::{strict_proxy, through, SCALE};
use crate::support::{moto, sdk_config, Deployment, Outcome};

const FUNCTION: &str = "usage-handler";

async fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config().await)
}

/// The alias `live`: (its version, the weights it gives other versions).
async fn alias(d: &Deployment) -> (String, Vec<(String, f64)>) {
    let name = format!("{}-{FUNCTION}", d.service);
    let alias = lambda().await.get_alias().function_name(name).name("live").send().await.unwrap();
    let weights = alias.routing_config().and_then(|r| r.additional_version_weights()).cloned().unwrap_or_default();
    (alias.function_version().unwrap().to_string(), weights.into_iter().collect())
}

fn edit_handler(d: &Deployment, edit: &str) {
    let handler = d.path("backend/handlers/api/usage.py");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{text}\n# {edit}\n")).unwrap();
}

fn write_config(d: &Deployment) {
    let file = format!("service = \"{}\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n", d.service);
    std::fs::write(d.path("deployer.toml"), file).unwrap();
}

/// `deployer ARGS --output json` started, through `proxy` if given (on its clock).
fn spawn(d: &Deployment, proxy: Option<&Proxy>, args: &[&str]) -> Child {
    let mut command: Command = d.command(args);
    command.args(["--output", "json"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(proxy) = proxy {
        let scale = proxy.model.as_ref().map_or(1.0, |m| m.config.scale);
        command.env("AWS_ENDPOINT_URL", &proxy.url).env("DEPLOYER_TIME_SCALE", scale.to_string());
        command.env("DEPLOYER_PACE", "aws");
    }
    command.spawn().expect("start deployer")
}

/// The rest of a child's stdout, read aside.
type Rest = std::thread::JoinHandle<String>;

/// Reads the child's events until the first `canary` one, and returns it, and the rest read aside.
fn until_watching(child: &mut Child) -> (Value, Rest) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap_or(Value::Null);
        if event["event"] == "canary" {
            let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
            return (event, rest);
        }
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    panic!("no canary event; stderr:\n{stderr}");
}

/// The canary's versions of the function, as the state file records them while it watches.
fn recorded_versions(d: &Deployment) -> (String, String) {
    let versions = &d.state()["canary"]["functions"][FUNCTION];
    (versions["from"].as_str().unwrap().to_string(), versions["to"].as_str().unwrap().to_string())
}

/// The child's outcome, with the events after the first `canary` one.
fn finish(child: Child, rest: Rest) -> Outcome {
    let output = child.wait_with_output().unwrap();
    Outcome::from(std::process::Output { stdout: rest.join().unwrap().into_bytes(), ..output })
}

fn ended(outcome: &Outcome) -> Value {
    outcome.event("canary_ended").cloned().unwrap_or_else(|| panic!("no canary_ended: {}", outcome.stderr))
}

#[tokio::test]
async fn a_canary_gives_the_new_version_its_share_then_all_of_it_and_leaves_no_weight() {
    let d = Deployment::new("canary-ok");
    write_config(&d);
    d.run(&["run"]).assert_ok();
    let (before, _) = alias(&d).await;
    edit_handler(&d, "v2");

    let mut child = spawn(&d, None, &["run", "--canary", "30%:3s"]);
    let (watching, rest) = until_watching(&mut child);
    assert_eq!((watching["percent"].as_f64(), watching["functions"].as_u64()), (Some(30.0), Some(1)), "{watching}");
    let (from, to) = recorded_versions(&d);
    assert_eq!(from, before);
    assert_eq!(alias(&d).await, (before.clone(), vec![(to.clone(), 0.3)]), "the old version live, 30% to the new");

    let outcome = finish(child, rest);
    outcome.assert_ok();
    assert_eq!(ended(&outcome)["promoted"], true);
    assert_eq!(alias(&d).await, (to.clone(), vec![]), "promoted: the new version, no weights");
    assert!(d.state().get("canary").is_none(), "the state keeps no canary once it ended");
    let release = outcome.event("release").expect("a release");
    assert_eq!(release["release"]["functions"][FUNCTION], to.as_str());

    let again = d.run(&["run", "--canary", "30%:3s"]);
    again.assert_ok();
    assert_eq!(again.changed(), 0, "{:?}", again.changes());
    assert!(again.event("canary").is_none() && again.event("release").is_none(), "nothing new to watch");
}

#[tokio::test]
async fn a_canary_whose_new_version_errs_is_rolled_back_naming_the_metric_and_exits_1() {
    let d = Deployment::new("canary-errs");
    write_config(&d);
    d.run(&["run"]).assert_ok();
    let (before, _) = alias(&d).await;
    edit_handler(&d, "v2 that fails");

    let mut child = spawn(&d, None, &["run", "--canary", "10%:3s"]);
    let (_, rest) = until_watching(&mut child);
    let (_, to) = recorded_versions(&d);
    // What Lambda publishes for the new version's failed invocations through the alias.
    let name = format!("{}-{FUNCTION}", d.service);
    let dimension = |n: &str, v: &str| aws_sdk_cloudwatch::types::Dimension::builder().name(n).value(v).build();
    let datum = aws_sdk_cloudwatch::types::MetricDatum::builder()
        .metric_name("Errors")
        .dimensions(dimension("FunctionName", &name))
        .dimensions(dimension("Resource", &format!("{name}:live")))
        .dimensions(dimension("ExecutedVersion", &to))
        .value(2.0)
        .timestamp(std::time::SystemTime::now().into())
        .build();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk_config().await);
    cloudwatch.put_metric_data().namespace("AWS/Lambda").metric_data(datum).send().await.unwrap();

    let outcome = finish(child, rest);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    let named = format!("Errors of {name} version {to} was 2");
    assert!(outcome.stderr.contains(&named), "names the metric and its value: {}", outcome.stderr);
    assert_eq!(ended(&outcome)["promoted"], false);
    assert_eq!(alias(&d).await, (before.clone(), vec![]), "back on the old version, no weights");
    assert_eq!(d.state()["steps"]["02-lambda"]["outputs"][format!("live_version.{FUNCTION}")], before.as_str());
    assert!(d.state().get("canary").is_none());
    assert!(outcome.event("release").is_none(), "nothing new went live: no release");
}

#[tokio::test]
async fn strict_cloudwatch_that_cannot_be_read_rolls_the_canary_back() {
    let d = Deployment::new("strict-canary-blind");
    write_config(&d);
    let rules =
        Rules { strict: Some(Strict::all(SCALE)), always_fail: Some("GetMetricData".into()), ..Rules::default() };
    let proxy = Proxy::start(&moto().url(), rules);
    through(&d, &proxy, &["run"]).assert_ok();
    let (before, _) = alias(&d).await;
    edit_handler(&d, "v2");

    let outcome = through(&d, &proxy, &["run", "--canary", "20%:2s"]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(outcome.stderr.contains("CloudWatch could not be read"), "{}", outcome.stderr);
    assert_eq!(alias(&d).await, (before, vec![]), "not watched, not promoted: the old version, no weights");
    assert!(d.state().get("canary").is_none());
}

#[tokio::test]
async fn strict_a_canary_killed_mid_window_is_continued_by_resume_and_leaves_no_weight() {
    let d = Deployment::new("strict-canary-kill");
    write_config(&d);
    let proxy = strict_proxy();
    through(&d, &proxy, &["run"]).assert_ok();
    edit_handler(&d, "v2");

    let mut child = spawn(&d, Some(&proxy), &["run", "--canary", "25%:5s"]);
    until_watching(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let (from, to) = recorded_versions(&d);
    assert_eq!(alias(&d).await, (from, vec![(to.clone(), 0.25)]), "killed: the share stays until resume");
    let status = d.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("canary unfinished at stage 1 of 1 (25%)"), "{status}");

    let resumed = through(&d, &proxy, &["resume"]);
    resumed.assert_ok();
    let watching = resumed.event("canary").expect("resume watches on");
    assert!(watching["seconds_left"].as_f64().unwrap() < 5.0, "the window goes on, not again: {watching}");
    assert_eq!(ended(&resumed)["promoted"], true);
    assert_eq!(alias(&d).await, (to, vec![]), "promoted, no weights");
    assert!(d.state().get("canary").is_none());
}

#[tokio::test]
async fn a_killed_canary_is_rolled_back_first_by_a_run_without_one() {
    let d = Deployment::new("canary-then-run");
    write_config(&d);
    d.run(&["run"]).assert_ok();
    edit_handler(&d, "v2");
    let mut child = spawn(&d, None, &["run", "--canary", "50%:30s"]);
    until_watching(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let (_, to) = recorded_versions(&d);

    let run = d.run(&["run"]);
    run.assert_ok();
    let notice = run.events.iter().find(|e| e["event"] == "notice" && e["step"] == "canary");
    assert!(notice.is_some_and(|n| n["message"].as_str().unwrap().contains("rolled back first")), "{:?}", run.events);
    assert_eq!(alias(&d).await, (to, vec![]), "the run without a canary puts the new version live, no weights");
    assert!(d.state().get("canary").is_none());
}

#[tokio::test]
async fn a_canary_that_aws_could_not_run_is_refused_with_exit_2_before_anything_is_made() {
    let d = Deployment::new("canary-bad");
    write_config(&d);
    for (spec, why) in [("10", "no ':'"), ("150%:5m", "below 100%"), ("50%:5m,10%:5m", "do not rise")] {
        let refused = d.run(&["run", "--canary", spec]);
        assert_eq!(refused.code, 2, "{spec}: {}", refused.stderr);
        assert!(refused.stderr.contains(why), "{spec}: {}", refused.stderr);
    }
    assert!(!d.state_path().exists(), "nothing recorded");
    let functions = lambda().await.list_functions().send().await.unwrap();
    assert!(functions.functions().iter().all(|f| !f.function_name().unwrap_or_default().starts_with("canary-bad-")));
}
