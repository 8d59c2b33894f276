//! Steps 01-dynamodb and 02-lambda: what a fresh run creates, and that re-runs change nothing.

use crate::support::{full_inventory, inventory, sdk_config, Deployment};
use aws_sdk_dynamodb::types::{BillingMode, KeyType, TimeToLiveStatus};
use serde_json::Value;
use std::collections::BTreeMap;

async fn function_versions(service: &str) -> BTreeMap<String, (String, String)> {
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let mut found = BTreeMap::new();
    for name in full_inventory(service).functions {
        let config = lambda.get_function().function_name(&name).send().await.unwrap().configuration.unwrap();
        found.insert(name, (config.last_modified.unwrap(), config.code_sha256.unwrap()));
    }
    found
}

#[tokio::test]
async fn fresh_run_creates_four_tables_with_ttl_on_one() {
    let d = Deployment::new("fresh-tables");
    d.deploy().assert_ok();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let expected_keys = [
        ("conversations", vec![("userId", KeyType::Hash), ("conversationId", KeyType::Range)]),
        ("prompts", vec![("promptId", KeyType::Hash)]),
        ("usage", vec![("userId", KeyType::Hash), ("date", KeyType::Range)]),
        ("websocket-connections", vec![("connectionId", KeyType::Hash)]),
    ];
    let state = d.state();
    for (suffix, keys) in expected_keys {
        let name = format!("{}-{suffix}", d.service);
        let table = dynamodb.describe_table().table_name(&name).send().await.unwrap().table.unwrap();
        let live: Vec<(&str, KeyType)> =
            table.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().clone())).collect();
        assert_eq!(live, keys, "key schema of {name}");
        assert_eq!(table.billing_mode_summary().and_then(|b| b.billing_mode()), Some(&BillingMode::PayPerRequest));
        assert_eq!(state["steps"]["01-dynamodb"]["outputs"][format!("table_arn.{suffix}")], table.table_arn().unwrap());

        let ttl = dynamodb.describe_time_to_live().table_name(&name).send().await.unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        if suffix == "websocket-connections" {
            assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
            assert_eq!(ttl.attribute_name(), Some("ttl"));
        } else {
            assert_ne!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled), "no TTL on {name}");
        }
    }
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn fresh_run_creates_the_role_with_least_privilege_and_six_functions() {
    let d = Deployment::new("fresh-functions");
    d.deploy().assert_ok();
    let config = sdk_config().await;
    let state = d.state();
    let outputs = &state["steps"]["02-lambda"]["outputs"];

    let iam = aws_sdk_iam::Client::new(&config);
    let role_name = format!("{}-lambda-role", d.service);
    let role = iam.get_role().role_name(&role_name).send().await.unwrap().role.unwrap();
    assert_eq!(outputs["role_arn"], role.arn());
    let trust = urlencoding_decode(role.assume_role_policy_document().unwrap());
    assert_eq!(trust["Statement"][0]["Principal"]["Service"], "lambda.amazonaws.com");
    let policy = iam
        .get_role_policy()
        .role_name(&role_name)
        .policy_name(format!("{}-lambda-access", d.service))
        .send()
        .await
        .unwrap();
    let policy = urlencoding_decode(policy.policy_document());
    let statements = policy["Statement"].as_array().unwrap();
    let tables = statements.iter().find(|s| s["Sid"] == "ServiceTables").unwrap();
    let resources: Vec<&str> = tables["Resource"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(resources.len(), 8, "four tables and their indexes, nothing wider: {resources:?}");
    assert!(resources.iter().all(|r| r.contains(&format!(":table/{}-", d.service))));
    let logs = statements.iter().find(|s| s["Sid"] == "OwnLogGroups").unwrap();
    assert!(logs["Resource"][0].as_str().unwrap().ends_with(&format!("log-group:/aws/lambda/{}-*", d.service)));

    let lambda = aws_sdk_lambda::Client::new(&config);
    let expected = [
        ("conversation-api", "handlers.api.conversation.handler", 512),
        ("prompt-crud", "handlers.api.prompt.handler", 512),
        ("usage-handler", "handlers.api.usage.handler", 512),
        ("websocket-connect", "handlers.websocket.connect.handler", 512),
        ("websocket-disconnect", "handlers.websocket.disconnect.handler", 512),
        ("websocket-message", "handlers.websocket.message.handler", 1024),
    ];
    let mut shas = std::collections::BTreeSet::new();
    for (suffix, handler, memory) in expected {
        let name = format!("{}-{suffix}", d.service);
        let f = lambda.get_function().function_name(&name).send().await.unwrap().configuration.unwrap();
        assert_eq!(f.handler(), Some(handler));
        assert_eq!(f.runtime().map(|r| r.as_str()), Some("python3.12"));
        assert_eq!(f.timeout(), Some(29));
        assert_eq!(f.memory_size(), Some(memory));
        assert_eq!(f.role(), Some(role.arn()));
        assert!(shas.insert(f.code_sha256().unwrap().to_string()), "each function its own package: {name}");
        assert_eq!(outputs[format!("function_arn.{suffix}")], f.function_arn().unwrap());
        let env = f.environment().unwrap().variables().unwrap();
        assert_eq!(env["SERVICE_NAME"], d.service);
        assert_eq!(env["STAGE"], "prod");
        assert_eq!(env["CONNECTIONS_TABLE"], format!("{}-websocket-connections", d.service));
    }
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(document: &str) -> Value {
    serde_json::from_str(&percent_encoding::percent_decode_str(document).decode_utf8_lossy()).unwrap()
}

#[tokio::test]
async fn a_second_run_writes_nothing_and_resume_skips_every_step() {
    let d = Deployment::new("rerun");
    let first = d.deploy();
    first.assert_ok();
    assert!(
        first
            .changes()
            .iter()
            .filter(|(r, a, _)| a == "created" && (r.starts_with("table ") || r.starts_with("function ")))
            .count()
            == 10
    );
    let before = function_versions(&d.service).await;
    let state_before = std::fs::read(d.state_path()).unwrap();

    let second = d.deploy();
    second.assert_ok();
    assert_eq!(second.changed(), 0);
    assert_eq!(second.requests().1, 0, "a run re-checks every resource and writes nothing");
    let compared = second.event("run_finished").unwrap()["unchanged"].as_u64().unwrap();
    assert!(compared >= 60, "a run compares every resource with AWS: {compared}");
    assert!(second.requests().0 > 40, "and reads them back: {:?}", second.requests());
    assert!(first.requests().1 > 40, "the fresh run wrote: {:?}", first.requests());
    let state_after = std::fs::read(d.state_path()).unwrap();
    if state_after != state_before {
        eprintln!("BEFORE {}\nAFTER {}", String::from_utf8_lossy(&state_before), String::from_utf8_lossy(&state_after));
    }
    assert_eq!(state_after, state_before, "a no-op run leaves the state file as it was");
    let resumed = d.run(&["resume"]);
    assert_eq!(resumed.requests(), (1, 0), "one read (the credentials check), no write");
    let skipped: Vec<&str> =
        resumed.events.iter().filter(|e| e["event"] == "step_skipped").map(|e| e["step"].as_str().unwrap()).collect();
    let every_step: Vec<String> =
        d.run(&["steps"]).events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(skipped, every_step);
    let state_after = std::fs::read(d.state_path()).unwrap();
    if state_after != state_before {
        eprintln!("BEFORE {}\nAFTER {}", String::from_utf8_lossy(&state_before), String::from_utf8_lossy(&state_after));
    }
    assert_eq!(state_after, state_before, "a no-op run leaves the state file as it was");
    assert_eq!(function_versions(&d.service).await, before);
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn running_a_done_step_again_reads_everything_and_changes_nothing() {
    let d = Deployment::new("step-again");
    d.deploy().assert_ok();
    let before = function_versions(&d.service).await;
    for step in ["01-dynamodb", "02-lambda"] {
        let again = d.run(&["step", step]);
        again.assert_ok();
        let changes = again.changes();
        assert!(!changes.is_empty());
        assert!(changes.iter().all(|(_, action, _)| action == "unchanged"), "{changes:?}");
        assert_eq!(again.changed(), 0);
        assert_eq!(again.requests().1, 0, "{step} re-checked without writing");
    }
    assert_eq!(function_versions(&d.service).await, before);
}

#[tokio::test]
async fn a_changed_backend_file_updates_exactly_the_code_of_the_functions() {
    let d = Deployment::new("code-change");
    d.deploy().assert_ok();
    let before = function_versions(&d.service).await;
    let old_sha = d.state()["steps"]["02-lambda"]["outputs"]["code_sha256"].clone();

    let file = d.path("backend/utils/http.py");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&file, text).unwrap();
    let run = d.deploy();
    run.assert_ok();

    let mut changes = Deployment::step_changes(&run, "02-lambda");
    changes.sort();
    // websocket-message's version is 04's to publish, once its variables are there.
    assert_eq!(changes.len(), 13, "six functions, five aliases, the log groups, the role: {changes:?}");
    let elsewhere: Vec<_> = run
        .changes()
        .into_iter()
        .filter(|(_, a, _)| a != "unchanged")
        .filter(|(r, _, _)| !r.starts_with("function ") && !r.starts_with("alias "))
        .collect();
    assert!(elsewhere.is_empty(), "only code changed: {elsewhere:?}");
    assert_eq!(
        changes.iter().filter(|(r, _, _)| r.starts_with("role ")).map(|(_, a, _)| a.as_str()).collect::<Vec<_>>(),
        ["unchanged"]
    );
    for (resource, action, fields) in changes.iter().filter(|(r, _, _)| r.starts_with("function ")) {
        assert_eq!((action.as_str(), fields.clone()), ("updated", vec!["code".to_string()]), "{resource}");
    }
    assert!(Deployment::step_changes(&run, "01-dynamodb").iter().all(|(_, action, _)| action == "unchanged"));

    let new_sha = d.state()["steps"]["02-lambda"]["outputs"]["code_sha256"].clone();
    assert_ne!(new_sha, old_sha);
    for (name, (_, sha)) in function_versions(&d.service).await {
        assert_ne!(sha, before[&name].1, "{name}: utils/ is in every function's package");
    }
}

#[tokio::test]
async fn a_handler_edited_updates_the_code_of_its_function_alone() {
    let d = Deployment::new("handler-edit");
    d.deploy().assert_ok();
    let before = function_versions(&d.service).await;
    let file = d.path("backend/handlers/api/usage.py");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n# edited\n")).unwrap();
    let run = d.deploy();
    run.assert_ok();
    let changed: Vec<_> = run.changes().into_iter().filter(|(_, action, _)| action != "unchanged").collect();
    let usage = format!("{}-usage-handler", d.service);
    let expected = vec![
        (format!("function {usage}"), "updated".to_string(), vec!["code".to_string()]),
        (format!("alias {usage}:live"), "updated".to_string(), vec!["version".to_string()]),
    ];
    assert_eq!(changed, expected, "its code, and its alias on a version of it");
    let after = function_versions(&d.service).await;
    let updated: Vec<&String> = after.keys().filter(|name| after[*name].1 != before[*name].1).collect();
    assert_eq!(updated, [&format!("{}-usage-handler", d.service)]);
}

#[tokio::test]
async fn drift_made_outside_deployer_is_brought_back_field_by_field() {
    let d = Deployment::new("drift");
    d.deploy().assert_ok();
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let drifted = format!("{}-usage-handler", d.service);
    lambda.update_function_configuration().function_name(&drifted).memory_size(128).send().await.unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ttl_off = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
        .enabled(false)
        .attribute_name("ttl")
        .build()
        .unwrap();
    dynamodb
        .update_time_to_live()
        .table_name(format!("{}-websocket-connections", d.service))
        .time_to_live_specification(ttl_off)
        .send()
        .await
        .unwrap();

    let tables = d.run(&["step", "01-dynamodb"]);
    tables.assert_ok();
    let updated: Vec<_> = tables.changes().into_iter().filter(|(_, a, _)| a == "updated").collect();
    assert_eq!(
        updated,
        vec![(format!("table {}-websocket-connections", d.service), "updated".into(), vec!["ttl".into()])]
    );

    let functions = d.run(&["step", "02-lambda"]);
    functions.assert_ok();
    let updated: Vec<_> = functions.changes().into_iter().filter(|(_, a, _)| a != "unchanged").collect();
    let expected: Vec<(String, String, Vec<String>)> = vec![
        (format!("function {drifted}"), "updated".into(), vec!["memory".into()]),
        (format!("alias {drifted}:live"), "updated".into(), vec!["version".into()]),
    ];
    assert_eq!(updated, expected);
    let memory = lambda.get_function().function_name(&drifted).send().await.unwrap().configuration.unwrap().memory_size;
    assert_eq!(memory, Some(512));
}

#[tokio::test]
async fn environment_variables_added_by_others_are_kept() {
    let d = Deployment::new("env-kept");
    d.deploy().assert_ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let name = format!("{}-websocket-message", d.service);
    let live = lambda.get_function().function_name(&name).send().await.unwrap().configuration.unwrap();
    let mut variables = live.environment().unwrap().variables().unwrap().clone();
    variables.insert("EXTRA".into(), "kept".into());
    variables.insert("STAGE".into(), "drifted".into());
    let env = aws_sdk_lambda::types::Environment::builder().set_variables(Some(variables)).build();
    lambda.update_function_configuration().function_name(&name).environment(env).send().await.unwrap();

    let run = d.run(&["step", "02-lambda"]);
    run.assert_ok();
    let env = lambda.get_function().function_name(&name).send().await.unwrap().configuration.unwrap();
    let env = env.environment().unwrap().variables().unwrap();
    assert_eq!(env["STAGE"], "prod", "an owned variable is restored");
    assert_eq!(env["EXTRA"], "kept", "a variable the step does not own is left alone");
}

#[tokio::test]
async fn indexes_from_deployer_toml_are_added_and_removed_one_per_update_table() {
    use crate::proxy::{Proxy, Rules};
    let d = Deployment::new("gsi");
    let proxy = Proxy::start(&crate::support::moto().url(), Rules::default());
    let step = |d: &Deployment| {
        let output =
            d.command(&["step", "01-dynamodb", "--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output();
        crate::support::Outcome::from(output.unwrap())
    };
    std::fs::write(d.path("deployer.toml"), "service = \"gsi\"\n").unwrap();
    step(&d).assert_ok();
    let two = "service = \"gsi\"\n\
               [[tables.usage.global_secondary_indexes]]\nname = \"by-date\"\npartition_key = \"date\"\n\
               [[tables.usage.global_secondary_indexes]]\nname = \"by-plan\"\npartition_key = \"plan\"\n\
               sort_key = \"date\"\nprojection = [\"tokens\"]\n";
    std::fs::write(d.path("deployer.toml"), two).unwrap();
    let updates = || proxy.seen(|s| s.writes.get("UpdateTable").copied().unwrap_or(0));
    step(&d).assert_ok();
    assert_eq!(updates(), 2, "one index per UpdateTable, as DynamoDB allows");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let indexes = || async {
        let table = dynamodb.describe_table().table_name("gsi-usage").send().await.unwrap().table.unwrap();
        let mut names: Vec<String> =
            table.global_secondary_indexes().iter().map(|i| i.index_name().unwrap().to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(indexes().await, ["by-date", "by-plan"]);

    let again = step(&d);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "nothing to change: {:?}", again.changes());

    let one = two.split("[[tables.usage.global_secondary_indexes]]\nname = \"by-plan\"").next().unwrap();
    std::fs::write(d.path("deployer.toml"), one).unwrap();
    step(&d).assert_ok();
    assert_eq!(updates(), 3);
    assert_eq!(indexes().await, ["by-date"]);

    let bad = format!("{one}[[tables.usage.global_secondary_indexes]]\nname = \"x\"\npartition_key = \"a\"\n");
    std::fs::write(d.path("deployer.toml"), bad).unwrap();
    let refused = step(&d);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("index name 'x' must be 3 to 255"), "{}", refused.stderr);
}

/// Python itself imports each function's handler from its own package, unzipped as Lambda unzips it: the
/// files the package leaves out are files the handler does not need.
#[test]
fn python_imports_each_functions_handler_from_its_own_package_alone() {
    use deployer_steps::manual::{handler_file, FUNCTIONS};
    let cache = tempfile::tempdir().unwrap();
    let backend = crate::support::fixtures().join("backend");
    let bundle = deployer_steps::package::build(&backend, cache.path(), "python3.12", "x86_64").unwrap();
    let handlers: std::collections::BTreeMap<String, String> =
        FUNCTIONS.iter().map(|f| (f.suffix.to_string(), handler_file(f.handler))).collect();
    let all = handlers.values().map(String::as_str).collect();
    let codes = deployer_steps::function_code::cut(&bundle, &handlers, &all, cache.path()).unwrap();
    for function in FUNCTIONS {
        let code = &codes[function.suffix];
        let task = tempfile::tempdir().unwrap();
        let zip = cache.path().join(format!("{}.zip", function.suffix));
        std::fs::write(&zip, code.zip().unwrap()).unwrap();
        let (module, name) = function.handler.rsplit_once('.').unwrap();
        let check = format!(
            "import importlib, sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall('.'); sys.path.insert(0, '.'); \
             assert callable(getattr(importlib.import_module('{module}'), '{name}'))"
        );
        let ran = std::process::Command::new("python3")
            .args(["-c", &check, &zip.to_string_lossy()])
            .current_dir(task.path())
            .env("PATH", crate::support::tools_path())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        assert!(ran.status.success(), "{}: {}", function.suffix, String::from_utf8_lossy(&ran.stderr));
        let others = FUNCTIONS.iter().filter(|o| o.handler != function.handler);
        assert!(others.clone().all(|o| !task.path().join(handler_file(o.handler)).exists()), "{}", function.suffix);
        assert!(task.path().join(handler_file(function.handler)).is_file());
    }
}
