//! The runner's checkpoints: resume after a crash or a failure, and refusal of a second concurrent run.

use crate::support::{full_inventory, inventory, inventory_without_domain, moto, sdk_config, Deployment};
use serde_json::json;
use std::fs::OpenOptions;
use std::time::Duration;

#[tokio::test]
async fn a_step_left_started_with_some_ids_resumes_to_the_same_inventory() {
    let d = Deployment::new("resume-started");
    d.deploy().assert_ok();
    // As a kill in the middle of 02-lambda leaves it: step started, role recorded, one function not yet made.
    let mut state = d.state();
    let role_arn = state["steps"]["02-lambda"]["outputs"]["role_arn"].clone();
    state["steps"]["02-lambda"] =
        json!({"status": "started", "started_at": "2026-01-01T00:00:00Z", "outputs": {"role_arn": role_arn}});
    d.write_state(&state);
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    lambda.delete_function().function_name(format!("{}-prompt-crud", d.service)).send().await.unwrap();

    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    assert!(resumed.events.iter().any(|e| e["event"] == "step_skipped" && e["step"] == "01-dynamodb"));
    let created: Vec<String> =
        resumed.changes().into_iter().filter(|(_, a, _)| a == "created").map(|(r, _, _)| r).collect();
    // The recreated function lost its alias and the alias its invoke permission: 03 re-checks because 02
    // changed something.
    assert_eq!(
        created,
        vec![
            format!("function {}-prompt-crud", d.service),
            format!("alias {}-prompt-crud:live", d.service),
            format!("permission deployer-rest-api on {}-prompt-crud:live", d.service)
        ]
    );
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
    let state = d.state();
    assert_eq!(state["steps"]["02-lambda"]["status"], "done");
    let outputs = state["steps"]["02-lambda"]["outputs"].as_object().unwrap();
    // websocket-message's alias and version are 04's, once its variables are there.
    assert_eq!(outputs.len(), 20, "role, 6 functions, their names, code hash, revisions, 5 aliases: {outputs:?}");
    assert_eq!(outputs["functions"].as_str().unwrap().lines().count(), 6);
}

#[tokio::test]
async fn a_deployment_by_an_older_deployer_is_rechecked_once_and_writes_nothing() {
    let d = Deployment::new("older-deployer");
    d.deploy().assert_ok();
    // An older deployer's steps had another code digest, so every fingerprint it recorded differs.
    let mut state = d.state();
    for step in state["steps"].as_object_mut().unwrap().values_mut() {
        step["fingerprint"] = json!("fingerprint-of-an-older-deployer");
    }
    d.write_state(&state);

    let rechecked = d.run(&["resume"]);
    rechecked.assert_ok();
    let skipped = rechecked.events.iter().filter(|e| e["event"] == "step_skipped").count();
    assert_eq!(skipped, 0, "every step is re-checked once: {:?}", rechecked.events);
    assert_eq!((rechecked.changed(), rechecked.requests().1), (0, 0), "nothing changed, no AWS write");
    assert_ne!(d.state()["steps"]["02-lambda"]["fingerprint"], "fingerprint-of-an-older-deployer");

    let again = d.run(&["resume"]);
    again.assert_ok();
    let skipped = again.events.iter().filter(|e| e["event"] == "step_skipped").count();
    assert_eq!((skipped, again.requests().1), (8, 0), "then it is a plain no-op resume");
}

#[tokio::test]
async fn killed_at_any_moment_then_resumed_gives_one_of_everything() {
    // Kill points spread over a deploy that takes one to two seconds against moto: before the first
    // request, during each step, and after the end.
    let mut interrupted_mid_step = 0;
    for (i, delay_ms) in [0u64, 60, 150, 300, 450, 650, 900, 1200, 1600, 3000].into_iter().enumerate() {
        let d = Deployment::new(&format!("kill-{i}"));
        let args = d.deploy_args();
        let mut child = d
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no chance to clean up
        let _ = child.wait();
        if d.state_path().exists() {
            let state = d.state();
            let steps = state["steps"].as_object().unwrap();
            interrupted_mid_step += usize::from(steps.len() < 4 || steps.values().any(|s| s["status"] != "done"));
        }

        let resumed = if d.state_path().exists() { d.run(&["resume"]) } else { d.deploy() };
        resumed.assert_ok();
        assert_eq!(inventory(&d.service).await, full_inventory(&d.service), "killed after {delay_ms} ms");
        let state = d.state();
        for step in ["01-dynamodb", "02-lambda", "03-api-gateway", "04-websocket"] {
            assert_eq!(state["steps"][step]["status"], "done", "{step} after a kill at {delay_ms} ms");
        }
        let again = d.deploy();
        again.assert_ok();
        assert_eq!(again.changed(), 0, "a run after the resume changes nothing (kill at {delay_ms} ms)");
    }
    assert!(interrupted_mid_step >= 2, "only {interrupted_mid_step} kills landed inside a step: move the kill points");
}

#[tokio::test]
async fn the_frontend_and_stages_start_once_03_and_04_have_their_outputs_beside_their_permissions() {
    use crate::proxy::{Proxy, Rules};
    let d = Deployment::new("on-outputs");
    let proxy = Proxy::start(&moto().url(), Rules { hold_paths_ending: Some("/policy"), ..Rules::default() });
    let mut child = d
        .command(&["run", "--service", &d.service])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Every invoke permission is held: 03 and 04 cannot finish, yet 05 and 07, which need only their
    // outputs, run to the end.
    let status = |state: &serde_json::Value, step: &str| state["steps"][step]["status"].as_str().map(str::to_string);
    let beside = |state: &serde_json::Value| {
        ["05-frontend", "07-stages"].iter().all(|s| status(state, s).as_deref() == Some("done"))
            && ["03-api-gateway", "04-websocket"].iter().all(|s| status(state, s).as_deref() == Some("started"))
    };
    let mut seen_beside = false;
    for _ in 0..1800 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if d.state_path().exists() && beside(&d.state()) {
            seen_beside = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy.release();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(seen_beside, "05 and 07 finished while 03's and 04's permissions were held");
    let state = d.state();
    let steps = state["steps"].as_object().unwrap();
    assert!(steps.values().all(|s| s["status"] == "done"), "{steps:?}");
    assert_eq!(inventory(&d.service).await, inventory_without_domain(&d.service));
}

#[tokio::test]
async fn a_second_deployer_on_the_same_state_file_is_refused_at_once() {
    let d = Deployment::new("locked");
    std::fs::create_dir_all(d.path(".deployer")).unwrap();
    let lock =
        OpenOptions::new().create(true).truncate(false).write(true).open(d.path(".deployer/state.json.lock")).unwrap();
    lock.try_lock().unwrap();

    let refused = d.deploy();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("another deployer is already working on"), "{}", refused.stderr);
    assert!(!d.state_path().exists());
    assert!(inventory(&d.service).await.tables.is_empty(), "nothing was created");

    drop(lock);
    d.deploy().assert_ok();
}

#[tokio::test]
async fn a_failing_step_exits_1_records_the_error_and_resume_finishes_once_fixed() {
    let d = Deployment::new("fails");
    // A table of the service's name with another key schema cannot be fixed in place.
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = format!("{}-prompts", d.service);
    let key = aws_sdk_dynamodb::types::KeySchemaElement::builder()
        .attribute_name("wrongKey")
        .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
        .build()
        .unwrap();
    let attr = aws_sdk_dynamodb::types::AttributeDefinition::builder()
        .attribute_name("wrongKey")
        .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
        .build()
        .unwrap();
    dynamodb
        .create_table()
        .table_name(&table)
        .key_schema(key)
        .attribute_definitions(attr)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();

    let failed = d.deploy();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("different key schema"), "{}", failed.stderr);
    assert!(failed.stderr.contains("deployer resume"), "the error says what to do next: {}", failed.stderr);
    let state = d.state();
    assert_eq!(state["steps"]["01-dynamodb"]["status"], "failed");
    assert!(state["steps"]["01-dynamodb"]["error"].as_str().unwrap().contains(&table));
    // 02, which needs nothing of 01, ran beside it to the end; nothing after them started.
    assert_eq!(state["steps"]["02-lambda"]["status"], "done");
    assert!(state["steps"].get("03-api-gateway").is_none(), "later steps did not start");
    // The tables that could be made were, and are recorded.
    assert!(state["steps"]["01-dynamodb"]["outputs"]["table_arn.conversations"].is_string());

    dynamodb.delete_table().table_name(&table).send().await.unwrap();
    d.run(&["resume"]).assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn an_endpoint_given_as_a_flag_is_recorded_so_resume_needs_no_environment() {
    let d = Deployment::new("flag-endpoint");
    let url = moto().url();
    d.command(&[
        "step",
        "01-dynamodb",
        "--service",
        &d.service,
        "--domain",
        &format!("{}.com", d.service),
        "--endpoint-url",
        &url,
    ])
    .env_remove("AWS_ENDPOINT_URL")
    .status()
    .unwrap();
    assert_eq!(d.state()["settings"]["endpoint_url"], url.as_str());
    let resumed = d.command(&["resume"]).env_remove("AWS_ENDPOINT_URL").output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn status_and_steps_show_what_was_recorded() {
    let d = Deployment::new("status");
    d.deploy().assert_ok();
    let status = d.run(&["status"]);
    status.assert_ok();
    let report: serde_json::Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(report["settings"]["service"], d.service.as_str());
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps[0]["id"], "01-dynamodb");
    assert_eq!(steps[0]["status"], "done");
    assert!(steps[1]["outputs"]["function_arn.conversation-api"].as_str().unwrap().contains(":function:"));

    let text = d.command(&["status"]).args(["--output", "text"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("role_arn = arn:aws:iam::"), "{text}");

    let listed = d.run(&["steps"]);
    let ids: Vec<&str> = listed.events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(&ids[..2], ["01-dynamodb", "02-lambda"]);
}

#[tokio::test]
async fn outputs_print_the_urls_and_names_as_data_and_as_an_env_file() {
    let d = Deployment::new("outputs");
    d.deploy().assert_ok();
    let json = d.run(&["outputs"]);
    json.assert_ok();
    let values: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(values["API_BASE_URL"], format!("https://api.{}.com", d.service));
    assert_eq!(values["S3_BUCKET"], format!("{}-frontend", d.service));
    assert_eq!(values["CONVERSATIONS_TABLE"], format!("{}-conversations", d.service));
    let state = d.state();
    assert_eq!(values["REST_API_ID"], state["steps"]["03-api-gateway"]["outputs"]["rest_api_id"]);

    let env = d.command(&["outputs", "--format", "env"]).output().unwrap();
    let env = String::from_utf8_lossy(&env.stdout);
    assert!(env.lines().any(|l| l == format!("WS_URL=wss://ws.{}.com", d.service)), "{env}");
    assert!(env.lines().any(|l| l.starts_with("CLOUDFRONT_DISTRIBUTION_ID=")), "{env}");
}

#[tokio::test]
async fn ctrl_c_saves_the_state_exits_130_and_resume_completes() {
    use std::io::BufRead;
    let d = Deployment::new("sigint");
    let mut child = d.spawn_deploy_json();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["event"] == "step_started" && event["step"] == "03-api-gateway" {
            break;
        }
    }
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let state = d.state();
    let interrupted: Vec<&str> = state["steps"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["status"] == "failed" && s["error"].as_str().is_some_and(|e| e.contains("interrupted")))
        .map(|(id, _)| id.as_str())
        .collect();
    // 03 was running, with 04 beside it (unless moto let 04 finish first), and 06's head start (its
    // certificate) since the run began.
    let expected = [vec!["03-api-gateway", "04-websocket", "06-domain"], vec!["03-api-gateway", "06-domain"]];
    assert!(expected.contains(&interrupted), "the work that was running is recorded as interrupted: {interrupted:?}");

    d.run(&["resume"]).assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn a_reader_that_goes_away_does_not_stop_the_deploy() {
    use std::io::BufRead;
    let d = Deployment::new("closed-pipe");
    let mut child = d.spawn_deploy_json();
    // Like `deployer run --output json | head -1`: one line read, then both pipes closed.
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    drop(child.stderr.take());
    assert!(first.contains("step_started"), "{first}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn a_crash_between_writing_and_renaming_the_state_leaves_it_whole() {
    let d = Deployment::new("failpoint");
    d.deploy().assert_ok();
    let before = std::fs::read(d.state_path()).unwrap();
    // New code, so that the step has something to write.
    let handler = d.path("backend/handlers/api/usage.py");
    let code = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{code}\n# changed\n")).unwrap();
    let crashed = d.command(&["step", "02-lambda"]).env("DEPLOYER_FAILPOINT", "state-before-rename").output().unwrap();
    assert_eq!(crashed.status.code(), None, "the process died at the failpoint");
    assert_eq!(std::fs::read(d.state_path()).unwrap(), before, "the state file is the previous one, whole");
    let leftovers = std::fs::read_dir(d.path(".deployer"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"));
    assert_eq!(leftovers.count(), 1, "the half-done write is a separate temp file");

    d.run(&["step", "02-lambda"]).assert_ok();
    let names: Vec<String> = std::fs::read_dir(d.path(".deployer"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "the next run removes it: {names:?}");
    let backup: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path(".deployer/state.json.bak")).unwrap()).unwrap();
    assert_eq!(backup["settings"]["service"], d.service.as_str(), "the previous version is kept as a backup");
}

#[tokio::test]
async fn a_lock_file_left_by_a_dead_process_does_not_block_the_next_run() {
    let d = Deployment::new("stale-lock");
    std::fs::create_dir_all(d.path(".deployer")).unwrap();
    // What a killed deployer leaves: the file, naming a process that is gone; the OS released its lock.
    std::fs::write(d.path(".deployer/state.json.lock"), "pid 999999").unwrap();
    d.deploy().assert_ok();
}

#[tokio::test]
async fn without_credentials_nothing_starts_and_the_message_says_how_to_give_them() {
    let d = Deployment::new("no-credentials");
    let outcome = d
        .command(&d.deploy_args().iter().map(String::as_str).collect::<Vec<_>>())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert_eq!(outcome.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    assert!(stderr.contains("AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{stderr}");
    assert!(!d.state_path().exists());
}

#[tokio::test]
async fn credentials_appear_neither_in_the_state_file_nor_in_the_output() {
    let d = Deployment::new("no-secrets");
    let (key_id, secret) = ("AKIADEPLOYERTESTKEY7", "deployer-test-secret-4f1c9a7e");
    let output = d
        .command(&d.deploy_args().iter().map(String::as_str).collect::<Vec<_>>())
        .args(["--output", "json"])
        .env("AWS_ACCESS_KEY_ID", key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let everything = [output.stdout, output.stderr, std::fs::read(d.state_path()).unwrap()].concat();
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains(key_id) && !text.contains(secret));
}

#[tokio::test]
async fn text_progress_shows_changes_by_default_everything_with_v_and_little_with_q() {
    let d = Deployment::new("verbosity");
    let first = d.command(&d.deploy_args().iter().map(String::as_str).collect::<Vec<_>>()).output().unwrap();
    let first = String::from_utf8_lossy(&first.stderr);
    assert!(first.contains("(created)") && !first.contains("(unchanged)"), "{first}");

    let everything = d.command(&["step", "01-dynamodb", "-v"]).output().unwrap();
    let everything = String::from_utf8_lossy(&everything.stderr);
    assert!(everything.contains(&format!("= table {}-usage (unchanged)", d.service)), "{everything}");

    let quiet = d.command(&["step", "01-dynamodb", "-q"]).output().unwrap();
    let quiet = String::from_utf8_lossy(&quiet.stderr);
    assert_eq!(quiet.lines().count(), 1, "only the summary: {quiet}");
    assert!(quiet.starts_with("finished: 0 created"), "{quiet}");
}

#[test]
fn shell_completions_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let script = std::process::Command::new(crate::support::BIN).args(["completions", shell]).output().unwrap();
        assert!(script.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&script.stdout);
        assert!(script.contains("resume") && script.contains("outputs"), "{shell}: {script}");
    }
}
