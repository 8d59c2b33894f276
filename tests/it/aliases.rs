//! Every function behind its alias `live`: the APIs invoke and are permitted on the alias, a version is
//! published only when a function changed (the WebSocket answerers' once their variables are there), and
//! versions beyond `[release] keep_releases` are deleted. Read back with the SDK, not from deployer's state.

use crate::support::{sdk_config, Deployment};

/// The manual's six functions, by name after `SERVICE-`.
fn functions() -> impl Iterator<Item = &'static str> {
    deployer_steps::manual::FUNCTIONS.iter().map(|f| f.suffix)
}

async fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config().await)
}

/// The numbered versions of a function, oldest first.
async fn versions(lambda: &aws_sdk_lambda::Client, function: &str) -> Vec<u64> {
    let listed = lambda.list_versions_by_function().function_name(function).send().await.unwrap();
    let mut numbers: Vec<u64> = listed.versions().iter().filter_map(|v| v.version()?.parse().ok()).collect();
    numbers.sort_unstable();
    numbers
}

/// The version the alias `live` invokes.
async fn live_version(lambda: &aws_sdk_lambda::Client, function: &str) -> u64 {
    let alias = lambda.get_alias().function_name(function).name("live").send().await.unwrap();
    alias.function_version().unwrap().parse().unwrap()
}

/// The integration URIs of the REST API's methods and of the WebSocket API.
async fn integration_uris(d: &Deployment) -> Vec<String> {
    let config = sdk_config().await;
    let rest = aws_sdk_apigateway::Client::new(&config);
    let rest_id = d.state()["steps"]["03-api-gateway"]["outputs"]["rest_api_id"].as_str().unwrap().to_string();
    let resources = rest.get_resources().rest_api_id(&rest_id).limit(500).embed("methods").send().await.unwrap();
    let mut uris = Vec::new();
    for resource in resources.items() {
        for method in resource.resource_methods().into_iter().flat_map(|m| m.values()) {
            let integration = method.method_integration();
            if let Some(uri) = integration.and_then(|i| i.uri()).filter(|uri| uri.contains(":lambda:")) {
                uris.push(uri.to_string());
            }
        }
    }
    let v2 = aws_sdk_apigatewayv2::Client::new(&config);
    let ws_id = d.state()["steps"]["04-websocket"]["outputs"]["websocket_api_id"].as_str().unwrap().to_string();
    let integrations = v2.get_integrations().api_id(ws_id).send().await.unwrap();
    uris.extend(integrations.items().iter().filter_map(|i| i.integration_uri().map(String::from)));
    uris
}

#[tokio::test]
async fn every_function_is_invoked_and_permitted_through_its_live_alias_on_a_version_with_its_whole_environment() {
    let d = Deployment::new("aliased");
    d.deploy().assert_ok();
    let lambda = lambda().await;
    for function in functions() {
        let name = format!("aliased-{function}");
        let version = live_version(&lambda, &name).await;
        let config = lambda.get_function_configuration().function_name(&name).qualifier(version.to_string());
        let config = config.send().await.unwrap();
        assert!(config.description().unwrap_or_default().starts_with("deployer: "), "{name}: {config:?}");
        let variables = config.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
        if function == "websocket-message" {
            assert!(variables.contains_key("WEBSOCKET_MANAGEMENT_ENDPOINT"), "published after 04's variables");
            assert_eq!(versions(&lambda, &name).await, vec![version], "no version without them");
        }
        let policy = lambda.get_policy().function_name(&name).qualifier("live").send().await.unwrap();
        let statement = if function.starts_with("websocket") { "deployer-websocket-api" } else { "deployer-rest-api" };
        assert!(policy.policy().unwrap().contains(statement), "{name}: {:?}", policy.policy());
    }
    let uris = integration_uris(&d).await;
    assert!(uris.len() >= 6, "{uris:?}");
    assert!(uris.iter().all(|uri| uri.ends_with(":live/invocations")), "every integration names the alias: {uris:?}");

    let again = d.deploy();
    again.assert_ok();
    assert_eq!(again.changed(), 0, "{:?}", again.changes());
    for function in functions() {
        assert_eq!(versions(&lambda, &format!("aliased-{function}")).await.len(), 1, "{function}: nothing published");
    }
}

#[tokio::test]
async fn a_handler_edited_publishes_one_version_moves_its_alias_and_keeps_only_the_newest_versions() {
    let d = Deployment::new("pruned");
    let file = "service = \"pruned\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n\n[release]\nkeep_releases = 2\n";
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    d.deploy().assert_ok();
    let lambda = lambda().await;
    let edited = "pruned-usage-handler";
    let handler = d.path("backend/handlers/api/usage.py");
    let original = std::fs::read_to_string(&handler).unwrap();
    let others_before = versions(&lambda, "pruned-conversation-api").await;

    for edit in 1..=3 {
        std::fs::write(&handler, format!("{original}\n# edit {edit}\n")).unwrap();
        let run = d.deploy();
        run.assert_ok();
        let now = versions(&lambda, edited).await;
        assert_eq!(live_version(&lambda, edited).await, *now.last().unwrap(), "the alias on the newest: {now:?}");
        assert_eq!(now.len(), (edit + 1).min(2), "at most keep_releases = 2 versions: {now:?}");
        let deleted: Vec<_> = run.changes().into_iter().filter(|(_, action, _)| action == "deleted").collect();
        assert_eq!(deleted.len(), usize::from(edit >= 2), "one version beyond the two deleted: {deleted:?}");
    }
    assert_eq!(versions(&lambda, "pruned-conversation-api").await, others_before, "other functions untouched");
}

#[tokio::test]
async fn keep_releases_of_zero_is_refused_before_anything_is_made() {
    let d = Deployment::new("keepnone");
    let file =
        "service = \"keepnone\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n\n[release]\nkeep_releases = 0\n";
    std::fs::write(d.path("deployer.toml"), file).unwrap();
    let refused = d.deploy();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("keep_releases"), "{}", refused.stderr);
    assert!(!d.state_path().exists(), "nothing recorded");
    let listed = lambda().await.list_functions().send().await.unwrap();
    assert!(listed.functions().iter().all(|f| !f.function_name().unwrap_or_default().starts_with("keepnone-")));
}

/// Puts a deployment back as deployer made it before aliases: no alias, every integration on
/// the function itself, and a state file without the outputs of aliases and releases.
async fn as_before_aliases(d: &Deployment) {
    let config = sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    for function in functions() {
        let name = format!("{}-{function}", d.service);
        lambda.delete_alias().function_name(&name).name("live").send().await.unwrap();
    }
    let rest = aws_sdk_apigateway::Client::new(&config);
    let rest_id = d.state()["steps"]["03-api-gateway"]["outputs"]["rest_api_id"].as_str().unwrap().to_string();
    let resources = rest.get_resources().rest_api_id(&rest_id).limit(500).embed("methods").send().await.unwrap();
    for resource in resources.items() {
        for (verb, method) in resource.resource_methods().into_iter().flatten() {
            let Some(uri) = method.method_integration().and_then(|i| i.uri()).filter(|u| u.contains(":live/")) else {
                continue;
            };
            // moto has no UpdateIntegration: the integration is put again, on the function.
            let put =
                rest.put_integration().rest_api_id(&rest_id).resource_id(resource.id().unwrap()).http_method(verb);
            put.r#type(aws_sdk_apigateway::types::IntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(uri.replace(":live/", "/"))
                .timeout_in_millis(29_000)
                .send()
                .await
                .unwrap();
        }
    }
    let mut state = d.state();
    for step in state["steps"].as_object_mut().unwrap().values_mut() {
        let outputs = step["outputs"].as_object_mut().unwrap();
        outputs.retain(|key, _| !key.starts_with("invoke_arn.") && !key.starts_with("live_version."));
        if let Some(lines) = outputs.get_mut("function_revisions") {
            let kept: Vec<&str> = lines.as_str().unwrap().lines().filter(|l| !l.contains(" alias ")).collect();
            *lines = kept.join("\n").into();
        }
    }
    state.as_object_mut().unwrap().remove("releases");
    d.write_state(&state);
}

#[tokio::test]
async fn a_deployment_made_before_aliases_moves_to_them_in_one_run_which_plan_shows_first() {
    let d = Deployment::new("pre-alias");
    d.deploy().assert_ok();
    as_before_aliases(&d).await;
    let uris = integration_uris(&d).await;
    assert!(uris.iter().any(|uri| !uri.contains(":live")), "the REST API invokes the functions: {uris:?}");

    let planned = d.run(&["plan"]);
    planned.assert_ok();
    let to_create: Vec<String> =
        planned.changes().into_iter().filter(|(_, a, _)| a == "created").map(|(r, _, _)| r).collect();
    for function in ["conversation-api", "prompt-crud", "usage-handler", "websocket-connect", "websocket-disconnect"] {
        assert!(to_create.contains(&format!("alias pre-alias-{function}:live")), "{function}: {to_create:?}");
    }

    let moved = d.deploy();
    moved.assert_ok();
    let uris = integration_uris(&d).await;
    assert!(uris.iter().all(|uri| uri.ends_with(":live/invocations")), "{uris:?}");
    let lambda = lambda().await;
    for function in functions() {
        let name = format!("pre-alias-{function}");
        assert_eq!(versions(&lambda, &name).await.last(), Some(&live_version(&lambda, &name).await), "{name}");
    }
    let again = d.deploy();
    again.assert_ok();
    assert_eq!((again.changed(), again.requests().1), (0, 0), "{:?}", again.changes());
}
