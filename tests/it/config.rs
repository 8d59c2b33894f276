//! deployer.toml: `init` writes it, `run` reads it, flags override it, unknown keys are refused.

use crate::support::{sdk_config, Deployment};
use serde_json::json;

fn append(d: &Deployment, text: &str) {
    let path = d.path("deployer.toml");
    let before = std::fs::read_to_string(&path).unwrap();
    std::fs::write(path, format!("{before}\n{text}\n")).unwrap();
}

#[tokio::test]
async fn settings_come_from_deployer_toml_flags_override_it_and_a_function_setting_changes_only_that_function() {
    let d = Deployment::new("cfg-file");
    d.run(&["init", "--service", "cfg-file"]).assert_ok();
    let again = d.run(&["init", "--service", "cfg-file"]);
    assert_eq!(again.code, 2, "init never overwrites: {}", again.stderr);
    // init writes the manual's functions out; the test edits one of them.
    let written = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    let usage = "[functions.usage-handler]\nhandler = \"handlers.api.usage.handler\"\nmemory = 512";
    assert!(written.contains(usage), "{written}");
    let edited = written.replace(usage, &usage.replace("memory = 512", "memory = 256"));
    std::fs::write(d.path("deployer.toml"), edited).unwrap();

    d.run(&["run"]).assert_ok();
    assert_eq!(d.state()["settings"]["service"], "cfg-file");
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let memory = |name: &'static str| {
        let lambda = lambda.clone();
        async move { lambda.get_function_configuration().function_name(name).send().await.unwrap().memory_size() }
    };
    assert_eq!(memory("cfg-file-usage-handler").await, Some(256));
    assert_eq!(memory("cfg-file-prompt-crud").await, Some(512), "the manual's value where the file says nothing");

    let overridden = d.run(&["plan", "--runtime", "python3.11"]);
    overridden.assert_ok();
    let runtime_changes = overridden.changes().into_iter().filter(|(_, _, f)| f.contains(&"runtime".to_string()));
    assert_eq!(runtime_changes.count(), 6, "the flag beats the file's runtime for all six functions");

    let file = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    std::fs::write(d.path("deployer.toml"), file.replace("memory = 256", "memory = 384")).unwrap();
    let changed = d.run(&["run"]);
    changed.assert_ok();
    let changes: Vec<_> = changed.changes().into_iter().filter(|(_, a, _)| a != "unchanged").collect();
    let expected: Vec<(String, String, Vec<String>)> = vec![
        ("function cfg-file-usage-handler".into(), "updated".into(), vec!["memory".into()]),
        ("alias cfg-file-usage-handler:live".into(), "updated".into(), vec!["version".into()]),
    ];
    assert_eq!(changes, expected);
    assert_eq!(memory("cfg-file-usage-handler").await, Some(384));
}

#[test]
fn an_unknown_key_or_a_function_without_a_handler_in_deployer_toml_is_refused_with_its_name() {
    let d = Deployment::new("cfg-bad");
    std::fs::write(d.path("deployer.toml"), "service = \"cfg-bad\"\nservce = \"typo\"\n").unwrap();
    let refused = d.run(&["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("line 2") && refused.stderr.contains("servce"), "{}", refused.stderr);
    assert!(!d.state_path().exists(), "nothing recorded");

    std::fs::write(d.path("deployer.toml"), "service = \"cfg-bad\"\n[functions.no-such]\nmemory = 256\n").unwrap();
    let refused = d.run(&["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let named = "[functions.no-such] is not one of the manual's functions, so it needs its handler";
    assert!(refused.stderr.contains(named), "{}", refused.stderr);

    let missing = d.run(&["run", "--config", "elsewhere.toml"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("cannot read the config file elsewhere.toml"), "{}", missing.stderr);
}

#[test]
fn a_changed_setting_makes_resume_re_run_the_steps_that_read_it_and_skip_the_others() {
    let d = Deployment::new("cfg-resume");
    d.run(&["init", "--service", "cfg-resume"]).assert_ok();
    d.run(&["run"]).assert_ok();
    let file = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    // (Not the throttling: moto cannot update a WebSocket stage.)
    std::fs::write(d.path("deployer.toml"), file.replace("\"PriceClass_100\"", "\"PriceClass_200\"")).unwrap();

    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    let skipped: Vec<&str> =
        resumed.events.iter().filter(|e| e["event"] == "step_skipped").map(|e| e["step"].as_str().unwrap()).collect();
    // 06 depends on 05, but 05 updated its distribution in place (no resource created or deleted), which
    // leaves 06's aliases as they were: the `step 06-domain` below finds nothing to change.
    let untouched = ["01-dynamodb", "02-lambda", "03-api-gateway", "04-websocket", "06-domain", "07-stages"];
    assert_eq!(skipped, untouched, "the steps that neither read the price class nor had a resource recreated");
    let changed: Vec<(String, String, Vec<String>)> =
        resumed.changes().into_iter().filter(|(_, action, _)| action != "unchanged").collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.starts_with("distribution ") && changed[0].1 == "updated", "{changed:?}");
}

#[tokio::test]
async fn cors_origins_settings_reach_the_stages_and_the_functions_and_star_answers_any_origin() {
    let d = Deployment::new("cfg-cors");
    for (bad, expected) in [
        (vec!["--cors-origin", "https://app.example.com/path"], "is not an origin"),
        (vec!["--cors-origin", "*", "--cors-origin", "https://app.example.com"], "lists \"*\" with other origins"),
        (vec!["--dev-cors-origin", "localhost:3000"], "dev_cors_origins 'localhost:3000' is not an origin"),
    ] {
        let refused = d.run(&[&["run", "--service", "cfg-cors"], &bad[..]].concat());
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        assert!(refused.stderr.contains(expected), "{}", refused.stderr);
        assert!(!d.state_path().exists(), "nothing written");
    }

    let given = ["--cors-origin", "https://app.example.com", "--cors-origin", "https://admin.example.com"];
    d.run(&[&["run", "--service", "cfg-cors"], &given[..], &["--dev-cors-origin", "http://localhost:3000"]].concat())
        .assert_ok();
    let outputs = &d.state()["steps"]["07-stages"]["outputs"];
    assert_eq!(outputs["cors_origins"], "https://app.example.com,https://admin.example.com");
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let function = lambda.get_function_configuration().function_name("cfg-cors-conversation-api").send().await.unwrap();
    let env = function.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
    assert_eq!(env["CORS_ORIGINS"], "https://app.example.com,https://admin.example.com");
    assert_eq!(env["CORS_ORIGIN"], "https://app.example.com");
    let apigw = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let api_id = d.state()["steps"]["03-api-gateway"]["outputs"]["rest_api_id"].as_str().unwrap().to_string();
    let dev = apigw.get_stage().rest_api_id(&api_id).stage_name("dev").send().await.unwrap();
    assert_eq!(
        dev.variables().unwrap()["corsOrigins"],
        "https://app.example.com,https://admin.example.com,http://localhost:3000"
    );

    // "*": the preflight answers any origin itself, with no template.
    d.run(&["run", "--cors-origin", "*"]).assert_ok();
    assert_eq!(d.state()["steps"]["07-stages"]["outputs"]["cors_origins"], "*");
    let preflight = crate::apis::preflight_answer(&api_id, "/conversations").await;
    assert_eq!(preflight.response_parameters().unwrap()["method.response.header.Access-Control-Allow-Origin"], "'*'");
    let template = preflight.response_templates().and_then(|t| t.get("application/json")).map(String::as_str);
    assert!(template.unwrap_or_default().is_empty(), "no echo: {template:?}");
}

#[tokio::test]
async fn routes_and_table_keys_from_deployer_toml_replace_the_manuals() {
    let d = Deployment::new("cfg-routes");
    let file = r#"service = "cfg-routes"

[[routes]]
path = "/conversations"
methods = ["GET"]
function = "conversation-api"

[[routes]]
path = "/status/{id}"
methods = ["GET", "PUT"]
function = "usage-handler"

[tables.usage]
partition_key = "accountId"
sort_key = ""
"#;
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    d.run(&["run"]).assert_ok();

    let found = crate::support::inventory("cfg-routes").await;
    let mut wanted = [
        "/",
        "/conversations",
        "GET /conversations AWS_PROXY",
        "OPTIONS /conversations MOCK",
        "/status",
        "/status/{id}",
        "GET /status/{id} AWS_PROXY",
        "PUT /status/{id} AWS_PROXY",
        "OPTIONS /status/{id} MOCK",
    ]
    .map(String::from)
    .to_vec();
    wanted.sort();
    assert_eq!(found.rest_methods, wanted);
    let rest_permissions: Vec<&String> =
        found.permissions.iter().filter(|p| p.ends_with("deployer-rest-api")).collect();
    assert_eq!(
        rest_permissions,
        ["cfg-routes-conversation-api: deployer-rest-api", "cfg-routes-usage-handler: deployer-rest-api"]
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = dynamodb.describe_table().table_name("cfg-routes-usage").send().await.unwrap();
    let keys: Vec<&str> = table.table().unwrap().key_schema().iter().map(|k| k.attribute_name()).collect();
    assert_eq!(keys, ["accountId"]);

    std::fs::write(d.path("deployer.toml"), file.replace(r#"["GET", "PUT"]"#, r#"["FETCH"]"#)).unwrap();
    let refused = d.run(&["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("route /status/{id} has methods [\"FETCH\"]"), "{}", refused.stderr);
}

/// Routes that leave deployer.toml leave the API: `plan` lists their methods and resources as to delete
/// first, and the run deletes exactly those, the manual's five route families becoming the file's two.
#[tokio::test]
async fn routes_that_leave_the_file_are_planned_as_to_delete_then_deleted() {
    let d = Deployment::new("cfg-unrouted");
    std::fs::write(d.path("deployer.toml"), "service = \"cfg-unrouted\"\n").unwrap();
    d.run(&["run"]).assert_ok();
    let file = r#"service = "cfg-unrouted"

[[routes]]
path = "/conversations"
methods = ["GET"]
function = "conversation-api"

[[routes]]
path = "/prompts/{id}"
methods = ["GET"]
function = "prompt-crud"
"#;
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    let planned = d.run(&["plan"]);
    planned.assert_ok();
    let mut deleted: Vec<String> =
        planned.changes().into_iter().filter(|(_, action, _)| action == "deleted").map(|(r, _, _)| r).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            "method DELETE /prompts/{id} (no route names it)",
            "method GET /prompts (no route names it)",
            "method OPTIONS /prompts (no route names it)",
            "method POST /conversations (no route names it)",
            "method POST /prompts (no route names it)",
            "method PUT /prompts/{id} (no route names it)",
            "resource /conversations/{id} and what is under it (no route names it)",
            "resource /usage and what is under it (no route names it)",
        ]
    );
    let ran = d.run(&["run"]);
    ran.assert_ok();
    // What was planned as to delete is what the run deleted. (Not every count: moto's CreateDeployment
    // drops the stage's variables and throttling, which the run then puts back; AWS keeps them.)
    let mut deleted_by_run: Vec<String> =
        ran.changes().into_iter().filter(|(_, action, _)| action == "deleted").map(|(r, _, _)| r).collect();
    deleted_by_run.sort();
    assert_eq!(deleted_by_run, deleted);
    let found = crate::support::inventory("cfg-unrouted").await;
    let mut wanted = [
        "/",
        "/conversations",
        "GET /conversations AWS_PROXY",
        "OPTIONS /conversations MOCK",
        "/prompts",
        "/prompts/{id}",
        "GET /prompts/{id} AWS_PROXY",
        "OPTIONS /prompts/{id} MOCK",
    ]
    .map(String::from)
    .to_vec();
    wanted.sort();
    assert_eq!(found.rest_methods, wanted);
    assert_eq!(d.run(&["run"]).changed(), 0);
}

#[tokio::test]
async fn reserved_concurrency_is_set_kept_and_removed_with_the_setting() {
    // Through the proxy: it answers GetAccountSettings, which moto has not.
    let proxy = crate::proxy::Proxy::start(&crate::support::moto().url(), crate::proxy::Rules::default());
    let d = Deployment { endpoint: proxy.url.clone(), ..Deployment::new("cfg-reserved") };
    let file = "service = \"cfg-reserved\"\n[functions.usage-handler]\nreserved_concurrency = 5\n";
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    d.run(&["run"]).assert_ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let reserved = |name: &'static str| {
        let lambda = lambda.clone();
        async move {
            let got = lambda.get_function_concurrency().function_name(name).send().await.unwrap();
            got.reserved_concurrent_executions()
        }
    };
    assert_eq!(reserved("cfg-reserved-usage-handler").await, Some(5));
    assert_eq!(reserved("cfg-reserved-prompt-crud").await, None, "only the function that asks for it");

    let again = d.run(&["run"]);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "a no-op writes nothing: {:?}", again.changes());

    std::fs::write(d.path("deployer.toml"), "service = \"cfg-reserved\"\n").unwrap();
    let planned = d.run(&["plan"]);
    planned.assert_ok();
    let to_update: Vec<_> = planned.changes().into_iter().filter(|(_, a, _)| a != "unchanged").collect();
    assert_eq!(to_update.len(), 1, "{to_update:?}");
    assert!(to_update[0].0.starts_with("reserved concurrency of cfg-reserved-usage-handler (none)"), "{to_update:?}");
    d.run(&["run"]).assert_ok();
    assert_eq!(reserved("cfg-reserved-usage-handler").await, None, "the setting removed, the reservation goes");
    let marker =
        |d: &Deployment| d.state()["steps"]["02-lambda"]["outputs"]["reserved_concurrency.usage-handler"].clone();
    assert_eq!(marker(&d), "", "emptied with the reservation: later runs look no more");
    let again = d.run(&["run"]);
    assert_eq!((again.changed(), again.requests().1), (0, 0), "{:?}", again.changes());

    std::fs::write(
        d.path("deployer.toml"),
        "service = \"cfg-reserved\"\n[functions.usage-handler]\nreserved_concurrency = -1\n",
    )
    .unwrap();
    let refused = d.run(&["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("reserved_concurrency must be 0 or more"), "{}", refused.stderr);
}

#[tokio::test]
async fn arm64_functions_are_made_so_and_a_changed_architecture_goes_with_the_code_which_moto_drops() {
    use crate::proxy::{Proxy, Rules};
    let proxy =
        Proxy::start(&crate::support::moto().url(), Rules { keep_bodies_of: Some("/code"), ..Rules::default() });
    let d = Deployment::new("cfg-arch");
    let run = |d: &Deployment, args: &[&str]| {
        let output = d.command(args).args(["--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output();
        crate::support::Outcome::from(output.unwrap())
    };
    std::fs::write(d.path("deployer.toml"), "service = \"cfg-arch\"\narchitecture = \"arm64\"\n").unwrap();
    run(&d, &["run"]).assert_ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let architecture = |name: &'static str| {
        let lambda = lambda.clone();
        async move {
            let got = lambda.get_function_configuration().function_name(name).send().await.unwrap();
            got.architectures().iter().map(|a| a.as_str().to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(architecture("cfg-arch-usage-handler").await, ["arm64"]);
    assert_eq!(run(&d, &["run"]).requests().1, 0, "made as wanted: nothing to write");

    let file =
        "service = \"cfg-arch\"\narchitecture = \"arm64\"\n[functions.usage-handler]\narchitecture = \"x86_64\"\n";
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    let planned = run(&d, &["plan"]);
    planned.assert_ok();
    let changes: Vec<_> = planned.changes().into_iter().filter(|(_, a, _)| a != "unchanged").collect();
    let expected: [(String, String, Vec<String>); 2] = [
        ("function cfg-arch-usage-handler".into(), "updated".into(), vec!["architecture".into()]),
        ("alias cfg-arch-usage-handler:live".into(), "updated".into(), vec!["version".into()]),
    ];
    assert_eq!(changes, expected);
    run(&d, &["run"]).assert_ok();
    // moto keeps the first architecture whatever UpdateFunctionCode says, so the request itself is checked.
    let sent = proxy.seen(|s| s.bodies.clone());
    let update = sent.iter().find(|(path, _)| path.contains("cfg-arch-usage-handler")).expect("an UpdateFunctionCode");
    assert!(update.1.contains(r#""Architectures":["x86_64"]"#), "{}", update.1);

    std::fs::write(d.path("deployer.toml"), "service = \"cfg-arch\"\narchitecture = \"arm\"\n").unwrap();
    let refused = run(&d, &["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("architecture 'arm' is not one Lambda runs on: use x86_64 or arm64"),
        "{}",
        refused.stderr
    );
}

/// `(resource, fields)` of what a run changed.
fn changed(outcome: &crate::support::Outcome) -> Vec<(String, Vec<String>)> {
    outcome.changes().into_iter().filter(|(_, action, _)| action != "unchanged").map(|(r, _, f)| (r, f)).collect()
}

#[tokio::test]
async fn a_vpc_section_puts_every_function_in_the_vpc_with_eni_permissions_and_its_removal_takes_them_out() {
    let d = Deployment::new("cfg-vpc");
    d.run(&["init", "--service", "cfg-vpc"]).assert_ok();
    let template = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    let bad = "[vpc]\nsubnet_ids = [\"subnet-xyz\"]\nsecurity_group_ids = [\"sg-0abc12345def67890\"]";
    append(&d, bad);
    let refused = d.run(&["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("[vpc] subnet_ids has 'subnet-xyz', which is not an EC2 ID"), "{}", refused.stderr);
    assert!(!d.state_path().exists(), "nothing written");

    std::fs::write(d.path("deployer.toml"), &template).unwrap();
    d.run(&["run"]).assert_ok();
    let (subnets, groups) = (["subnet-0abc12345def67890", "subnet-0def67890abc12345"], ["sg-0abc12345def67890"]);
    append(&d, &format!("[vpc]\nsubnet_ids = {subnets:?}\nsecurity_group_ids = {groups:?}"));
    // resume re-runs what the setting affects: 02 (then the steps after it look again).
    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    let changes = changed(&resumed);
    let functions = changes.iter().filter(|(r, f)| r.starts_with("function ") && f == &["vpc"]).count();
    assert_eq!(functions, 6, "{changes:?}");
    assert!(changes.iter().any(|(r, _)| r.starts_with("role ")), "the role gains the ENI actions: {changes:?}");

    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let config = lambda.get_function_configuration().function_name("cfg-vpc-usage-handler").send().await.unwrap();
    let vpc = config.vpc_config().unwrap();
    assert_eq!(
        (vpc.subnet_ids(), vpc.security_group_ids()),
        (&subnets.map(String::from)[..], &groups.map(String::from)[..])
    );
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let policy = |iam: aws_sdk_iam::Client| async move {
        let got = iam.get_role_policy().role_name("cfg-vpc-lambda-role").policy_name("cfg-vpc-lambda-access");
        let document = got.send().await.unwrap().policy_document().to_string();
        percent_encoding::percent_decode_str(&document).decode_utf8().unwrap().into_owned()
    };
    assert!(policy(iam.clone()).await.contains("ec2:CreateNetworkInterface"));
    assert_eq!(d.run(&["run"]).changed(), 0, "a second run changes nothing");

    std::fs::write(d.path("deployer.toml"), &template).unwrap();
    let removed = d.run(&["run"]);
    removed.assert_ok();
    let config = lambda.get_function_configuration().function_name("cfg-vpc-usage-handler").send().await.unwrap();
    assert!(config.vpc_config().is_none_or(|v| v.subnet_ids().is_empty()), "{:?}", config.vpc_config());
    assert!(!policy(iam).await.contains("ec2:"), "no ENI actions without a VPC");

    // A changed global architecture: resume re-runs 02 as well.
    std::fs::write(d.path("deployer.toml"), template.replace("architecture = \"x86_64\"", "architecture = \"arm64\""))
        .unwrap();
    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    let changes = changed(&resumed);
    assert_eq!(changes.iter().filter(|(_, f)| f.contains(&"architecture".to_string())).count(), 6, "{changes:?}");
}

#[tokio::test]
async fn a_functions_secrets_give_it_their_arns_and_the_role_exactly_those_and_no_value_is_ever_read() {
    // Through the proxy, which sees every call: GetSecretValue must be none of them.
    let proxy = crate::proxy::Proxy::start(&crate::support::moto().url(), crate::proxy::Rules::default());
    let d = Deployment { endpoint: proxy.url.clone(), ..Deployment::new("cfg-secret") };
    d.run(&["init", "--service", "cfg-secret"]).assert_ok();
    let template = std::fs::read_to_string(d.path("deployer.toml")).unwrap();
    let value = "sk-never-in-state-8f3a1c9b";
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let made = secrets.create_secret().name("cfg-secret/openai").secret_string(value).send().await.unwrap();
    let arn = made.arn().unwrap().to_string();

    append(&d, "[functions.conversation-api.secrets]\nopenai = \"cfg-secret/openai\"");
    let refused = d.run(&["run"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("name it as an environment variable"), "{}", refused.stderr);

    std::fs::write(d.path("deployer.toml"), &template).unwrap();
    append(&d, "[functions.conversation-api.secrets]\nOPENAI_API_KEY = \"cfg-secret/missing\"");
    let missing = d.run(&["run"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("names the secret 'cfg-secret/missing', which does not exist"),
        "{}",
        missing.stderr
    );

    std::fs::write(d.path("deployer.toml"), &template).unwrap();
    append(&d, "[functions.conversation-api.secrets]\nOPENAI_API_KEY = \"cfg-secret/openai\"");
    let deployed = d.run(&["resume"]);
    deployed.assert_ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let env = |name: &'static str| {
        let lambda = lambda.clone();
        async move {
            let config = lambda.get_function_configuration().function_name(name).send().await.unwrap();
            config.environment().and_then(|e| e.variables()).cloned().unwrap_or_default()
        }
    };
    assert_eq!(env("cfg-secret-conversation-api").await.get("OPENAI_API_KEY_SECRET_ARN"), Some(&arn));
    assert!(!env("cfg-secret-usage-handler").await.contains_key("OPENAI_API_KEY_SECRET_ARN"), "only its function");
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let policy = |iam: aws_sdk_iam::Client| async move {
        let got = iam.get_role_policy().role_name("cfg-secret-lambda-role").policy_name("cfg-secret-lambda-access");
        let document = got.send().await.unwrap().policy_document().to_string();
        let text = percent_encoding::percent_decode_str(&document).decode_utf8().unwrap().into_owned();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let statements = policy(iam.clone()).await["Statement"].as_array().unwrap().clone();
    let read = statements.iter().find(|s| s["Sid"] == "ReadOwnSecrets").expect("a statement for the secrets");
    assert_eq!((&read["Action"], &read["Resource"]), (&json!("secretsmanager:GetSecretValue"), &json!([arn])));
    let state = std::fs::read_to_string(d.state_path()).unwrap();
    for (place, text) in [("state file", &state), ("stdout", &deployed.stdout), ("stderr", &deployed.stderr)] {
        assert!(!text.contains(value), "the secret's value is in the {place}");
    }
    let asked: Vec<String> = proxy.seen(|s| s.reads.keys().cloned().collect());
    assert!(asked.iter().any(|op| op == "DescribeSecret"), "{asked:?}");
    assert!(!asked.iter().any(|op| op == "GetSecretValue"), "no value is ever asked for: {asked:?}");
    assert_eq!(d.run(&["run"]).changed(), 0, "a second run changes nothing");

    std::fs::write(d.path("deployer.toml"), &template).unwrap();
    d.run(&["run"]).assert_ok();
    assert!(!env("cfg-secret-conversation-api").await.contains_key("OPENAI_API_KEY_SECRET_ARN"), "removed with it");
    let statements = policy(iam).await["Statement"].as_array().unwrap().clone();
    assert!(!statements.iter().any(|s| s["Sid"] == "ReadOwnSecrets"), "{statements:?}");
}

/// A secret encrypted with a customer key named by its alias: the role may decrypt with the key itself
/// (an alias in a policy's Resource grants nothing), and deployer never asks for the secret's value.
#[tokio::test]
async fn a_secret_whose_key_is_named_by_alias_grants_decrypt_on_the_key_and_its_value_is_never_asked_for() {
    let d = Deployment::new("cfg-kms");
    d.run(&["init", "--service", "cfg-kms"]).assert_ok();
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = kms.create_key().send().await.unwrap().key_metadata().unwrap().clone();
    kms.create_alias().alias_name("alias/cfg-kms-secrets").target_key_id(key.key_id()).send().await.unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let made = secrets.create_secret().name("cfg-kms/token").kms_key_id("alias/cfg-kms-secrets").secret_string("t0k3n");
    made.send().await.unwrap();
    append(&d, "[functions.usage-handler.secrets]\nTOKEN = \"cfg-kms/token\"");

    let proxy = crate::proxy::Proxy::start(&crate::support::moto().url(), crate::proxy::Rules::default());
    let run = d.command(&["run", "--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
    crate::support::Outcome::from(run).assert_ok();
    let asked: Vec<String> = proxy.seen(|s| s.reads.keys().chain(s.writes.keys()).cloned().collect());
    assert!(asked.iter().any(|op| op == "DescribeSecret"), "{asked:?}");
    assert!(!asked.iter().any(|op| op == "GetSecretValue"), "the value is never asked for: {asked:?}");

    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let got = iam.get_role_policy().role_name("cfg-kms-lambda-role").policy_name("cfg-kms-lambda-access");
    let document = got.send().await.unwrap().policy_document().to_string();
    let text = percent_encoding::percent_decode_str(&document).decode_utf8().unwrap().into_owned();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let decrypt = statements.iter().find(|s| s["Sid"] == "DecryptOwnSecrets").expect("a decrypt statement");
    assert_eq!(decrypt["Resource"], json!([key.arn().unwrap()]), "the key's own ARN, not its alias");
}

/// A new account's concurrency quota is often 10, and AWS keeps 100 unreserved: a reservation there is
/// refused before anything is written, naming the quota, and doctor says the same.
#[tokio::test]
async fn a_reservation_beyond_the_accounts_concurrency_quota_is_refused_before_anything_is_written() {
    use crate::proxy::{Proxy, Rules};
    let rules = Rules { lambda_concurrency_quota: Some(10), ..Rules::default() };
    let proxy = Proxy::start(&crate::support::moto().url(), rules);
    let d = Deployment { endpoint: proxy.url.clone(), ..Deployment::new("cfg-quota") };
    let file = "service = \"cfg-quota\"\n[functions.usage-handler]\nreserved_concurrency = 5\n";
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    let doctor = d.run(&["doctor"]);
    assert_eq!(doctor.code, 1, "{}", doctor.stdout);
    assert!(doctor.stdout.contains("Lambda concurrency quota in us-east-1 is 10"), "{}", doctor.stdout);
    for command in ["plan", "run"] {
        let refused = d.run(&[command]);
        assert_eq!(refused.code, 2, "{command}: {}", refused.stderr);
        let said = "quota in us-east-1 is 10 and AWS keeps 100 of it unreserved, so at most 0 can be reserved";
        assert!(refused.stderr.contains(said), "{command}: {}", refused.stderr);
    }
    assert_eq!(proxy.seen(|s| s.write_count()), 0, "nothing written: {:?}", proxy.seen(|s| s.writes.clone()));
    assert!(!d.state_path().exists(), "no state file");
}
