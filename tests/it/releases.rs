//! Releases and rollback: each run that changes what is live is a numbered release, recorded in the state
//! file and in AWS; `rollback` moves every alias and the REST stage back at once, refuses what it cannot
//! return to, and the next run is a new release. Read back with the SDK, not from deployer's state.

use serde_json::Value;

use crate::strict_scenarios::{strict_proxy, through};
use crate::support::{sdk_config, Deployment, Outcome};

async fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config().await)
}

async fn live_version(lambda: &aws_sdk_lambda::Client, function: &str) -> String {
    let alias = lambda.get_alias().function_name(function).name("live").send().await.unwrap();
    alias.function_version().unwrap().to_string()
}

/// The REST stage's deployment, read from API Gateway.
async fn stage_deployment(d: &Deployment) -> String {
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let api = d.state()["steps"]["03-api-gateway"]["outputs"]["rest_api_id"].as_str().unwrap().to_string();
    let stage = client.get_stage().rest_api_id(api).stage_name("prod").send().await.unwrap();
    stage.deployment_id().unwrap().to_string()
}

fn edit_handler(d: &Deployment, edit: &str) {
    let handler = d.path("backend/handlers/api/usage.py");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{text}\n# {edit}\n")).unwrap();
}

/// `deployer releases --output json`: (the live release, the releases newest first).
fn releases(d: &Deployment, extra: &[&str]) -> (Value, Vec<Value>) {
    let listed = d.run(&[&["releases"], extra].concat());
    listed.assert_ok();
    let answer = listed.events.first().cloned().unwrap();
    (answer["live"].clone(), answer["releases"].as_array().cloned().unwrap())
}

fn released(outcome: &Outcome) -> Option<u64> {
    outcome.event("release").map(|e| e["release"]["number"].as_u64().unwrap())
}

fn write_config(d: &Deployment, extra: &str) {
    let file = format!("service = \"{}\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n{extra}\n", d.service);
    std::fs::write(d.path("deployer.toml"), file).unwrap();
}

#[tokio::test]
async fn every_run_that_changes_what_is_live_is_a_numbered_release_that_aws_keeps_without_the_state_file() {
    let d = Deployment::new("rel-list");
    write_config(&d, "");
    let first = d.run(&["run"]);
    first.assert_ok();
    assert_eq!(released(&first), Some(1));
    let noop = d.run(&["run"]);
    noop.assert_ok();
    assert_eq!(released(&noop), None, "nothing changed: no release");

    edit_handler(&d, "v2");
    let second = d.run(&["run"]);
    second.assert_ok();
    assert_eq!(released(&second), Some(2));
    let (live, list) = releases(&d, &[]);
    assert_eq!(live, 2);
    assert_eq!(list.iter().map(|r| r["number"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 1]);
    let (newest, oldest) = (&list[0], &list[1]);
    let lambda = lambda().await;
    assert_eq!(newest["functions"]["usage-handler"], live_version(&lambda, "rel-list-usage-handler").await.as_str());
    assert_ne!(newest["functions"]["usage-handler"], oldest["functions"]["usage-handler"]);
    assert_eq!(newest["functions"]["prompt-crud"], oldest["functions"]["prompt-crud"], "one function changed");
    assert_eq!(newest["functions"].as_object().unwrap().len(), 6);
    assert!(newest["by"].as_str().unwrap().contains("arn:aws:"), "who ran it: {}", newest["by"]);
    assert_eq!(newest["rest_deployment"].as_str().unwrap(), stage_deployment(&d).await);
    assert!(newest["site"].as_str().is_some_and(|s| s.len() == 32));
    assert_eq!(newest["tables"]["conversations"], "userId/conversationId");

    // Another machine, or a lost state file: the record in AWS still names them.
    std::fs::remove_file(d.state_path()).unwrap();
    let (live, list) = releases(&d, &[]);
    assert_eq!((live, list.len()), (Value::from(2), 2));
    let text = d.command(&["releases"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().nth(1).is_some_and(|line| line.starts_with("*    2 ")), "the live one marked: {text}");
}

#[tokio::test]
async fn rollback_moves_every_alias_and_the_stage_back_then_plan_shows_the_change_and_the_next_run_is_a_new_release() {
    let d = Deployment::new("rel-back");
    write_config(&d, "");
    d.run(&["run"]).assert_ok();
    let lambda = lambda().await;
    let function = "rel-back-usage-handler";
    let (v1, deployment1) = (live_version(&lambda, function).await, stage_deployment(&d).await);

    // A new handler and a new REST deployment (CORS for any origin changes every preflight).
    edit_handler(&d, "v2");
    write_config(&d, "cors_origins = [\"*\"]");
    d.run(&["run"]).assert_ok();
    let (v2, deployment2) = (live_version(&lambda, function).await, stage_deployment(&d).await);
    assert_ne!((&v1, &deployment1), (&v2, &deployment2));

    let refused = d.run(&["rollback"]);
    assert_eq!(refused.code, 2, "off a terminal it asks for --yes: {}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(live_version(&lambda, function).await, v2, "nothing moved");

    let back = d.run(&["rollback", "--yes"]);
    back.assert_ok();
    let event = back.event("rolled_back").unwrap();
    // The CORS origins are every function's variable: all six have a new version in release 2.
    assert_eq!((event["release"].as_u64(), event["functions"].as_u64()), (Some(1), Some(6)));
    assert_eq!(live_version(&lambda, function).await, v1);
    assert_eq!(stage_deployment(&d).await, deployment1);
    assert_eq!(releases(&d, &[]).0, 1);

    let planned = d.run(&["plan"]);
    planned.assert_ok();
    let changed: Vec<_> = planned.changes().into_iter().filter(|(_, a, _)| a != "unchanged").collect();
    assert!(changed.iter().any(|(r, a, _)| r == &format!("alias {function}:live") && a == "updated"), "{changed:?}");

    let again = d.run(&["run"]);
    again.assert_ok();
    assert_eq!(released(&again), Some(3), "the project deployed again is a new release");
    assert_eq!(live_version(&lambda, function).await, v2, "its version is published already");
    assert_ne!(stage_deployment(&d).await, deployment1);
}

#[tokio::test]
async fn a_rollback_to_a_release_whose_version_was_deleted_is_refused_with_exit_2_and_moves_nothing() {
    let d = Deployment::new("rel-gone");
    write_config(&d, "[release]\nkeep_releases = 1");
    d.run(&["run"]).assert_ok();
    edit_handler(&d, "v2");
    d.run(&["run"]).assert_ok();
    let lambda = lambda().await;
    let before = (live_version(&lambda, "rel-gone-usage-handler").await, d.state());

    let refused = d.run(&["rollback", "1", "--yes"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("was deleted"), "{}", refused.stderr);
    assert!(refused.stderr.contains("keep_releases = 1"), "names the setting: {}", refused.stderr);
    assert!(refused.stderr.contains("nothing was moved"), "{}", refused.stderr);
    assert_eq!((live_version(&lambda, "rel-gone-usage-handler").await, d.state()), before);

    for (args, expected) in
        [(vec!["rollback", "9", "--yes"], "there is no release 9"), (vec!["rollback", "2", "--yes"], "is live already")]
    {
        let refused = d.run(&args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(refused.stderr.contains(expected), "{args:?}: {}", refused.stderr);
    }
}

#[tokio::test]
async fn a_rollback_to_a_release_whose_tables_had_other_keys_is_refused_as_data_is_not_rolled_back() {
    let d = Deployment::new("rel-keys");
    write_config(&d, "[tables.invoices]\npartition_key = \"invoiceId\"");
    d.run(&["run"]).assert_ok();
    // The table goes, data and all, and comes back with other keys: release 1's code expects the old ones.
    write_config(&d, "");
    d.run(&["run", "--delete-data"]).assert_ok();
    write_config(&d, "[tables.invoices]\npartition_key = \"customerId\"");
    d.run(&["run"]).assert_ok();
    let state = d.state();

    let refused = d.run(&["rollback", "1", "--yes"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("table invoices has the keys customerId"), "{}", refused.stderr);
    assert!(refused.stderr.contains("data is not rolled back"), "{}", refused.stderr);
    assert_eq!(d.state(), state, "the state file untouched");
}

#[tokio::test]
async fn strict_a_rollback_after_a_site_change_keeps_the_site_and_the_next_run_is_a_new_release() {
    let d = Deployment::new("strict-rel-site");
    write_config(&d, "");
    let proxy = strict_proxy();
    through(&d, &proxy, &["run"]).assert_ok();
    let index = d.path("frontend/dist/index.html");
    let page = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, page.replace("</body>", "<p>v2</p></body>")).unwrap();
    let changed = through(&d, &proxy, &["run"]);
    changed.assert_ok();
    assert_eq!(released(&changed), Some(2));

    let back = through(&d, &proxy, &["rollback", "--yes"]);
    back.assert_ok();
    assert_eq!(back.event("rolled_back").unwrap()["release"], 1);
    let s3 = crate::support::s3().await;
    let object = s3.get_object().bucket("strict-rel-site-frontend").key("index.html").send().await.unwrap();
    let served = String::from_utf8(object.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    assert!(served.contains("<p>v2</p>"), "the site is not rolled back (the README says why)");

    let again = through(&d, &proxy, &["run"]);
    again.assert_ok();
    assert_eq!(released(&again), Some(3), "what is live differs from release 1 again");
    assert_eq!(again.changed(), 0, "yet nothing needed a write: {:?}", again.changes());
}

#[tokio::test]
async fn a_rollback_made_on_another_machine_is_seen_by_the_next_run_which_moves_the_aliases_forward_again() {
    let d = Deployment::new("rel-elsewhere");
    write_config(&d, "");
    d.run(&["run"]).assert_ok();
    edit_handler(&d, "v2");
    d.run(&["run"]).assert_ok();
    let lambda = lambda().await;
    let function = "rel-elsewhere-usage-handler";
    let v2 = live_version(&lambda, function).await;
    // This machine's state file vouches for the aliases as release 2 left them; the other machine rolls back.
    let here = std::fs::read(d.state_path()).unwrap();
    d.run(&["rollback", "--yes"]).assert_ok();
    assert_ne!(live_version(&lambda, function).await, v2);
    std::fs::write(d.state_path(), here).unwrap();

    let run = d.run(&["run"]);
    run.assert_ok();
    let notice = run.events.iter().find(|e| e["event"] == "notice" && e["step"] == "releases");
    assert!(notice.is_some_and(|n| n["message"].as_str().unwrap().contains("made live elsewhere")), "{:?}", run.events);
    assert_eq!(live_version(&lambda, function).await, v2, "the alias moved forward again");
    assert_eq!(released(&run), Some(3));
}
