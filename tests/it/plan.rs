//! `deployer plan`: read-only, in the future tense.

use crate::support::{empty_inventory, inventory, sdk_config, Deployment};

fn plan_args(d: &Deployment) -> Vec<String> {
    let mut args = d.deploy_args();
    args[0] = "plan".into();
    args
}

fn plan(d: &Deployment) -> crate::support::Outcome {
    let args = plan_args(d);
    d.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[tokio::test]
async fn plan_on_a_fresh_account_lists_what_it_would_create_and_writes_nothing() {
    let d = Deployment::new("plan-fresh");
    let planned = plan(&d);
    planned.assert_ok();
    let changes = planned.changes();
    assert!(changes.iter().all(|(_, action, _)| action == "created"), "{changes:?}");
    let resources: Vec<&str> = changes.iter().map(|(r, _, _)| r.as_str()).collect();
    for expected in [
        "table plan-fresh-conversations",
        "table plan-fresh-websocket-connections",
        "role plan-fresh-lambda-role",
        "function plan-fresh-websocket-message",
        "REST API plan-fresh-rest-api",
        "method GET /usage",
        "method OPTIONS /conversations/{id}",
        "permission deployer-rest-api on plan-fresh-prompt-crud:live",
        "stage prod throttling",
        "WebSocket API plan-fresh-websocket-api",
        "route $default",
        "WebSocket stage prod",
        "bucket plan-fresh-frontend",
        "distribution plan-fresh frontend (deployer)",
        "object index.html",
        "hosted zone plan-fresh.com",
        "custom domain api.plan-fresh.com",
        "stage dev throttling",
    ] {
        assert!(resources.contains(&expected), "{expected} missing from {resources:?}");
    }
    assert!(changes.len() >= 70, "{} resources planned", changes.len());
    for step in ["01-dynamodb", "02-lambda", "03-api-gateway", "04-websocket", "05-frontend", "06-domain", "07-stages"]
    {
        assert!(planned.events.iter().any(|e| e["event"] == "step_finished" && e["step"] == step), "{step} planned");
    }
    let verify = planned.events.iter().find(|e| e["event"] == "step_skipped" && e["step"] == "08-verify");
    assert!(verify.is_some_and(|e| e["reason"].as_str().unwrap().contains("only reads")));
    let finished = planned.event("run_finished").unwrap();
    assert_eq!(finished["planned"], true);
    assert_eq!(finished["writes"], 0);
    assert_eq!(inventory(&d.service).await, empty_inventory());
    assert!(!d.state_path().exists(), "plan wrote a state file");
}

#[tokio::test]
async fn plan_after_a_run_shows_no_change_then_names_a_field_changed_behind_its_back() {
    let d = Deployment::new("plan-after");
    d.deploy().assert_ok();
    let before = std::fs::read(d.state_path()).unwrap();

    let planned = plan(&d);
    planned.assert_ok();
    assert_eq!(planned.changed(), 0, "{:?}", planned.changes());
    assert!(planned.changes().len() > 60, "every resource is looked at: {}", planned.changes().len());

    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let function = "plan-after-usage-handler";
    lambda.update_function_configuration().function_name(function).memory_size(128).send().await.unwrap();
    let planned = plan(&d);
    planned.assert_ok();
    let changed: Vec<_> = planned.changes().into_iter().filter(|(_, action, _)| action != "unchanged").collect();
    let expected = vec![
        (format!("function {function}"), "updated".to_string(), vec!["memory".to_string()]),
        (format!("alias {function}:live"), "updated".to_string(), vec!["version".to_string()]),
    ];
    assert_eq!(changed, expected, "the function, and a version of it published for its alias");
    // The live and wanted values, as a reviewer reads them.
    let event = planned.events.iter().find(|e| e["action"] == "updated").unwrap();
    assert_eq!(event["changes"], serde_json::json!([{"name": "memory", "from": "128 MB", "to": "512 MB"}]));
    let live = lambda.get_function_configuration().function_name(function).send().await.unwrap();
    assert_eq!(live.memory_size(), Some(128), "plan changed the function");
    assert_eq!(std::fs::read(d.state_path()).unwrap(), before, "plan touched the state file");

    d.deploy().assert_ok();
    assert_eq!(plan(&d).changed(), 0);
}

#[test]
fn a_plan_in_markdown_is_a_table_for_a_pull_request_and_errors_on_github_are_annotations() {
    let d = Deployment::new("plan-md");
    d.deploy_without_domain().assert_ok();
    std::fs::write(d.path("deployer.toml"), "service = \"plan-md\"\n[functions.usage-handler]\nmemory = 256\n")
        .unwrap();
    let planned = d.command(&["plan", "--output", "markdown"]).output().unwrap();
    assert!(planned.status.success(), "{}", String::from_utf8_lossy(&planned.stderr));
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(text.starts_with("### deployer plan: 0 to create, 2 to update, 0 to delete"), "{text}");
    assert!(text.contains("| 02-lambda | alias plan-md-usage-handler:live | to update | version "), "{text}");
    assert!(
        text.contains("\n| 02-lambda | function plan-md-usage-handler | to update | memory 512 MB → 256 MB |\n"),
        "{text}"
    );

    let refused = d.command(&["run", "--architecture", "arm"]).env("GITHUB_ACTIONS", "true").output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.lines().any(|l| l.starts_with("::error title=deployer::architecture 'arm' is not")), "{said}");
    let plain = d.command(&["run", "--architecture", "arm"]).env_remove("GITHUB_ACTIONS").output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("::error"), "only on GitHub Actions");
}

/// (`make lint` runs actionlint over it: tests/actionlint.sh.)
#[test]
fn the_ci_workflow_uses_commands_and_flags_deployer_has() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci/github-actions.yml");
    let workflow = std::fs::read_to_string(&path).unwrap();
    let commands: Vec<Vec<&str>> = workflow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: deployer "))
        .map(|c| c.split_whitespace().take_while(|w| *w != ">>").collect())
        .collect();
    assert!(commands.len() >= 3, "plan, run and status: {commands:?}");
    for command in &commands {
        let help = std::process::Command::new(crate::support::BIN).args([command[0], "--help"]).output().unwrap();
        assert!(help.status.success(), "deployer {} is a command", command[0]);
        let help = String::from_utf8_lossy(&help.stdout);
        for flag in command.iter().filter(|w| w.starts_with("--")) {
            assert!(help.contains(&format!("{flag} ")), "deployer {} takes {flag}", command[0]);
        }
        if let Some(at) = command.iter().position(|w| *w == "--output") {
            assert!(help.contains(command[at + 1]), "--output {} is a choice", command[at + 1]);
        }
    }
}

/// (changed, deleted, unchanged) of a run's or a plan's `run_finished`, each resource counted once. A plan
/// says "to create" of a stage's throttling where the run creates the stage, then sets it ("updated"):
/// the kinds may differ there, not the counts.
fn counts(outcome: &crate::support::Outcome) -> (u64, u64, u64) {
    let f = outcome.event("run_finished").expect("run_finished");
    let n = |k: &str| f[k].as_u64().unwrap();
    (n("created") + n("updated") + n("deleted"), n("deleted"), n("unchanged"))
}

/// A reviewer reads a plan's counts as what the run will do: after settings that change a function and
/// both APIs' stages, the plan's counts are the run's, each resource once. An existing stage is never
/// "to create", even when the REST API's next deployment is yet to be made (an API key's methods).
#[tokio::test]
async fn a_plans_counts_are_the_next_runs_and_an_existing_stage_is_not_to_create() {
    let d = Deployment::new("plan-counts");
    d.deploy_without_domain().assert_ok();
    // moto cannot update a WebSocket stage's throttling: the proxy plays it.
    let rules = crate::proxy::Rules { play_websocket_update_stage: true, ..Default::default() };
    let proxy = crate::proxy::Proxy::start(&crate::support::moto().url(), rules);
    let through = |args: &[&str]| {
        let output = d.command(args).args(["--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
        crate::support::Outcome::from(output)
    };

    std::fs::write(d.path("deployer.toml"), "service = \"plan-counts\"\n[auth]\nkind = \"api_key\"\n").unwrap();
    let keyed = through(&["plan"]);
    keyed.assert_ok();
    assert!(
        keyed.changes().iter().any(|(r, a, _)| r.starts_with("deployment of") && a == "created"),
        "{:?}",
        keyed.changes()
    );
    let stage_created = keyed.changes().into_iter().find(|(r, a, _)| r.starts_with("stage ") && a == "created");
    assert_eq!(stage_created, None, "the stages exist: {:?}", keyed.changes());

    std::fs::write(d.path("deployer.toml"), "service = \"plan-counts\"\n[functions.usage-handler]\nmemory = 256\n")
        .unwrap();
    let planned = through(&["plan", "--throttle-rate", "50"]);
    planned.assert_ok();
    let changes = planned.changes();
    let labels: std::collections::BTreeSet<&String> = changes.iter().map(|(r, _, _)| r).collect();
    assert_eq!(labels.len(), changes.len(), "each resource once: {changes:?}");
    let ran = through(&["run", "--throttle-rate", "50"]);
    ran.assert_ok();
    assert_eq!(counts(&planned), counts(&ran), "plan: {:?}\nrun: {:?}", planned.changes(), ran.changes());
    assert!(counts(&ran).0 >= 3, "the function and both APIs' stages changed: {:?}", ran.changes());
}

/// On a new account the plan lists what the first run makes, each resource once (the account's CloudWatch
/// role too, which every stage with access logs needs): the counts are the run's.
#[tokio::test]
async fn a_fresh_plan_counts_the_resources_the_first_run_makes() {
    let account = crate::support::private_moto();
    let d = Deployment::on(&account, "plan-first");
    let planned = d.run(&["plan", "--service", &d.service]);
    planned.assert_ok();
    let role = planned.changes().into_iter().filter(|(r, _, _)| r.contains("CloudWatch Logs role")).count();
    assert_eq!(role, 1, "the account's role once, not once per stage: {:?}", planned.changes());
    let ran = d.deploy_without_domain();
    ran.assert_ok();
    assert_eq!(counts(&planned), counts(&ran), "plan: {:?}\nrun: {:?}", planned.changes(), ran.changes());
}
