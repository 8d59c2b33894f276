//! Steps 03-api-gateway and 04-websocket: read back with the SDK, counted after re-runs (moto accepts
//! duplicates AWS refuses), resumed after a kill, and refused when the API's name is ambiguous.

use crate::support::{full_inventory, inventory, output, sdk_config, Deployment, REGION};
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, IntegrationType};
use serde_json::json;

#[tokio::test]
async fn fresh_run_builds_the_rest_api_with_proxy_methods_cors_permissions_and_throttled_stage() {
    let d = Deployment::new("rest-fresh");
    d.deploy().assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));

    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let api_id = output(&d, "03-api-gateway", "rest_api_id");
    let api = client.get_rest_api().rest_api_id(&api_id).send().await.unwrap();
    assert_eq!(api.endpoint_configuration().unwrap().types(), [EndpointType::Regional]);
    assert_eq!(
        output(&d, "03-api-gateway", "invoke_url"),
        format!("https://{api_id}.execute-api.{REGION}.amazonaws.com/prod")
    );

    let resources = client.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let id_of =
        |path: &str| resources.items().iter().find(|r| r.path() == Some(path)).unwrap().id().unwrap().to_string();
    let get = client.get_method().rest_api_id(&api_id).resource_id(id_of("/prompts/{id}")).http_method("DELETE");
    let integration = get.send().await.unwrap().method_integration.unwrap();
    assert_eq!(integration.r#type(), Some(&IntegrationType::AwsProxy));
    assert_eq!(integration.http_method(), Some("POST"));
    assert_eq!(integration.timeout_in_millis(), 29_000);
    let function_arn = output(&d, "02-lambda", "function_arn.prompt-crud");
    assert_eq!(
        integration.uri(),
        Some(
            format!("arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}:live/invocations")
                .as_str()
        )
    );

    let options = client.get_method().rest_api_id(&api_id).resource_id(id_of("/conversations")).http_method("OPTIONS");
    let options = options.send().await.unwrap();
    let declared = options.method_responses().unwrap()["200"].response_parameters().unwrap();
    assert_eq!(declared.len(), 4, "Allow-Origin, -Methods, -Headers and Vary: {declared:?}");
    let answered =
        options.method_integration().unwrap().integration_responses().unwrap()["200"].response_parameters().unwrap();
    assert_eq!(answered["method.response.header.Access-Control-Allow-Origin"], "stageVariables.corsOrigin");
    let stage_origins = output(&d, "07-stages", "cors_origins");
    let site = format!("https://{0}.com,https://www.{0}.com,https://", d.service);
    assert!(stage_origins.starts_with(&site) && stage_origins.ends_with(".cloudfront.net"), "{stage_origins}");
    assert_eq!(answered["method.response.header.Access-Control-Allow-Methods"], "'GET,POST,OPTIONS'");
    assert!(answered["method.response.header.Access-Control-Allow-Headers"].contains("Authorization"));

    let stage = client.get_stage().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.deployment_id(), Some(output(&d, "03-api-gateway", "deployment_id").as_str()));
    let throttling = &stage.method_settings().unwrap()["*/*"];
    assert_eq!((throttling.throttling_rate_limit(), throttling.throttling_burst_limit()), (100.0, 200));

    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let policy = lambda.get_policy().function_name(format!("{}-prompt-crud", d.service)).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "apigateway.amazonaws.com");
    assert_eq!(
        statement["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:{REGION}:123456789012:{api_id}/*/*/*")
    );
}

#[tokio::test]
async fn fresh_run_builds_the_websocket_api_with_routes_auto_deploy_stage_and_management_endpoint() {
    let d = Deployment::new("ws-fresh");
    d.deploy().assert_ok();
    let config = sdk_config().await;
    let v2 = aws_sdk_apigatewayv2::Client::new(&config);
    let api_id = output(&d, "04-websocket", "websocket_api_id");
    let api = v2.get_api().api_id(&api_id).send().await.unwrap();
    assert_eq!(api.route_selection_expression(), Some("$request.body.action"));
    assert_eq!(
        output(&d, "04-websocket", "websocket_url"),
        format!("wss://{api_id}.execute-api.{REGION}.amazonaws.com/prod")
    );

    let integrations = v2.get_integrations().api_id(&api_id).send().await.unwrap();
    for integration in integrations.items() {
        assert_eq!(integration.integration_type(), Some(&aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy));
    }
    let stage = v2.get_stage().api_id(&api_id).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.auto_deploy(), Some(true));
    let throttling = stage.default_route_settings().unwrap();
    assert_eq!((throttling.throttling_rate_limit(), throttling.throttling_burst_limit()), (Some(100.0), Some(200)));

    let lambda = aws_sdk_lambda::Client::new(&config);
    let message = lambda.get_function().function_name(format!("{}-websocket-message", d.service)).send().await.unwrap();
    let env = message.configuration().unwrap().environment().unwrap().variables().unwrap();
    assert_eq!(
        env["WEBSOCKET_MANAGEMENT_ENDPOINT"],
        format!("https://{api_id}.execute-api.{REGION}.amazonaws.com/prod")
    );
    assert_eq!(env["CONNECTIONS_TABLE"], format!("{}-websocket-connections", d.service));
    let policy = lambda.get_policy().function_name(format!("{}-websocket-connect", d.service)).send().await.unwrap();
    assert!(policy.policy().unwrap().contains(&format!("{api_id}/*")));

    let status = d.command(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains(&format!("invoke_url = https://{}", output(&d, "03-api-gateway", "rest_api_id"))),
        "{status}"
    );
    assert!(status.contains(&format!("websocket_url = wss://{api_id}")), "{status}");
}

#[tokio::test]
async fn re_running_changes_nothing_and_duplicates_nothing() {
    let d = Deployment::new("apis-rerun");
    d.deploy().assert_ok();
    let rest_id = output(&d, "03-api-gateway", "rest_api_id");
    let ws_id = output(&d, "04-websocket", "websocket_api_id");

    assert_eq!(d.deploy().assert_ok().changed(), 0);
    for step in ["03-api-gateway", "03-api-gateway", "04-websocket", "04-websocket"] {
        let again = d.run(&["step", step]);
        again.assert_ok();
        assert_eq!(again.changed(), 0, "{step}: {:?}", again.changes());
        assert_eq!(again.requests().1, 0, "{step} made no write");
    }
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service), "one deployment, no duplicate anything");
    assert_eq!(output(&d, "03-api-gateway", "rest_api_id"), rest_id);
    assert_eq!(output(&d, "04-websocket", "websocket_api_id"), ws_id);
}

async fn create_rest_api(name: &str) -> String {
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let regional = EndpointConfiguration::builder().types(EndpointType::Regional).build();
    client.create_rest_api().name(name).endpoint_configuration(regional).send().await.unwrap().id.unwrap()
}

#[tokio::test]
async fn killed_after_the_rest_api_was_created_and_recorded_resumes_with_that_api() {
    let d = Deployment::new("rest-recorded");
    d.run(&["step", "01-dynamodb", "--service", &d.service, "--domain", &format!("{}.com", d.service)]).assert_ok();
    d.run(&["step", "02-lambda"]).assert_ok();
    // What a kill right after CreateRestApi (and its record) leaves: the step started, only the API's ID.
    let api_id = create_rest_api(&format!("{}-rest-api", d.service)).await;
    let mut state = d.state();
    state["steps"]["03-api-gateway"] = json!({"status": "started", "outputs": {"rest_api_id": api_id}});
    d.write_state(&state);

    d.run(&["resume"]).assert_ok();
    assert_eq!(output(&d, "03-api-gateway", "rest_api_id"), api_id);
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn killed_between_creating_the_rest_api_and_recording_it_finds_it_by_name() {
    let d = Deployment::new("rest-unrecorded");
    d.run(&["step", "01-dynamodb", "--service", &d.service, "--domain", &format!("{}.com", d.service)]).assert_ok();
    d.run(&["step", "02-lambda"]).assert_ok();
    let api_id = create_rest_api(&format!("{}-rest-api", d.service)).await;

    d.run(&["resume"]).assert_ok();
    assert_eq!(output(&d, "03-api-gateway", "rest_api_id"), api_id);
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn two_rest_apis_with_the_services_name_stop_the_step_and_change_nothing() {
    let d = Deployment::new("rest-twice");
    d.run(&["step", "01-dynamodb", "--service", &d.service, "--domain", &format!("{}.com", d.service)]).assert_ok();
    d.run(&["step", "02-lambda"]).assert_ok();
    let name = format!("{}-rest-api", d.service);
    let (first, second) = (create_rest_api(&name).await, create_rest_api(&name).await);

    let failed = d.run(&["resume"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains(&first) && failed.stderr.contains(&second), "{}", failed.stderr);
    assert!(failed.stderr.contains("Delete the extra ones"), "{}", failed.stderr);
    assert_eq!(d.state()["steps"]["03-api-gateway"]["status"], "failed");
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    for id in [first, second] {
        let resources = client.get_resources().rest_api_id(&id).send().await.unwrap();
        assert_eq!(resources.items().len(), 1, "only the root resource of {id}");
    }
    // 04, beside 03, gave the WebSocket API its permissions; 03 gave the REST API none.
    let permissions = inventory(&d.service).await.permissions;
    assert!(!permissions.iter().any(|p| p.ends_with("deployer-rest-api")), "no REST permission: {permissions:?}");
}

#[tokio::test]
async fn each_stage_carries_its_cors_origins_the_preflight_echoes_them_and_gateway_errors_carry_cors() {
    let d = Deployment::new("cors-list");
    d.run(&["run", "--service", &d.service]).assert_ok();
    // Without a domain the site is the CloudFront URL, known only after 05: the stages carry it.
    let site = format!("https://{}", output(&d, "05-frontend", "distribution_domain"));
    assert_eq!(output(&d, "07-stages", "cors_origins"), site);
    let api_id = output(&d, "03-api-gateway", "rest_api_id");
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    for (stage, origins) in [("prod", site.clone()), ("dev", format!("{site},http://localhost:5173"))] {
        let got = client.get_stage().rest_api_id(&api_id).stage_name(stage).send().await.unwrap();
        let variables = got.variables().unwrap();
        assert_eq!(variables["corsOrigins"], origins, "stage {stage}");
        assert_eq!(variables["corsOrigin"], site, "stage {stage}: a refused origin is answered with the first");
    }

    let preflight = preflight_answer(&api_id, "/conversations").await;
    let headers = preflight.response_parameters().unwrap();
    assert_eq!(headers["method.response.header.Access-Control-Allow-Origin"], "stageVariables.corsOrigin");
    assert_eq!(headers["method.response.header.Vary"], "'Origin'");
    // What its template does, Apache Velocity shows: templates.rs.
    assert!(preflight.response_templates().is_some_and(|t| t.contains_key("application/json")));

    for kind in ["DEFAULT_4XX", "DEFAULT_5XX"] {
        let response =
            client.get_gateway_response().rest_api_id(&api_id).response_type(kind.into()).send().await.unwrap();
        let headers = response.response_parameters().unwrap();
        assert_eq!(headers["gatewayresponse.header.Access-Control-Allow-Origin"], "'*'", "{kind}");
    }

    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let f = lambda.get_function().function_name(format!("{}-usage-handler", d.service)).send().await.unwrap();
    let env = f.configuration().unwrap().environment().unwrap().variables().unwrap().clone();
    assert_eq!((env["CORS_ORIGINS"].as_str(), env["CORS_ORIGIN"].as_str()), ("", "*"), "nothing known before 05");

    let again = d.run(&["run"]);
    again.assert_ok();
    assert_eq!(again.requests().1, 0, "a re-run writes nothing: {:?}", again.changes());
}

#[tokio::test]
async fn new_throttling_updates_the_rest_stage_without_a_new_deployment() {
    let d = Deployment::new("throttle");
    d.deploy().assert_ok();
    let changed = d.run(&["step", "03-api-gateway", "--throttle-rate", "50", "--throttle-burst", "80"]);
    changed.assert_ok();
    let updated: Vec<_> =
        changed.changes().into_iter().filter(|(_, a, _)| a != "unchanged").map(|(r, _, f)| (r, f)).collect();
    assert_eq!(updated, vec![("stage prod throttling".to_string(), vec!["throttling".to_string()])]);
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let stage =
        client.get_stage().rest_api_id(output(&d, "03-api-gateway", "rest_api_id")).stage_name("prod").send().await;
    let throttling = stage.unwrap().method_settings().unwrap()["*/*"].clone();
    assert_eq!((throttling.throttling_rate_limit(), throttling.throttling_burst_limit()), (50.0, 80));
    assert_eq!(inventory(&d.service).await.rest_deployments, 1);
}

/// moto answers apigatewayv2 UpdateStage with HTTP 500, so the update itself cannot succeed here: this
/// shows that the drift is detected and the call is made, and that its failure names the operation.
#[tokio::test]
async fn new_throttling_is_sent_to_the_websocket_stage_though_moto_cannot_update_stages() {
    let d = Deployment::new("ws-throttle");
    d.deploy().assert_ok();
    let failed = d.run(&["step", "04-websocket", "--throttle-rate", "50", "--max-attempts", "1"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("apigatewayv2:UpdateStage"), "{}", failed.stderr);
    assert!(failed.stderr.contains("deployer resume"), "{}", failed.stderr);
    assert_eq!(d.state()["steps"]["04-websocket"]["status"], "failed");
}

#[tokio::test]
async fn a_stage_repointed_outside_deployer_gets_a_fresh_deployment_of_the_wanted_configuration() {
    let d = Deployment::new("repointed");
    d.deploy().assert_ok();
    let api_id = output(&d, "03-api-gateway", "rest_api_id");
    let recorded = output(&d, "03-api-gateway", "deployment_id");
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    client.create_deployment().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();

    let again = d.run(&["step", "03-api-gateway"]);
    again.assert_ok();
    let created: Vec<String> =
        again.changes().into_iter().filter(|(_, a, _)| a == "created").map(|(r, _, _)| r).collect();
    assert_eq!(created, vec![format!("deployment of {api_id} to stage prod")]);
    let now = output(&d, "03-api-gateway", "deployment_id");
    assert_ne!(now, recorded);
    let stage = client.get_stage().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.deployment_id(), Some(now.as_str()));
}

/// The 200 integration response of `OPTIONS path`: what the preflight answers.
pub async fn preflight_answer(
    api_id: &str,
    path: &str,
) -> aws_sdk_apigateway::operation::get_integration_response::GetIntegrationResponseOutput {
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let resources = client.get_resources().rest_api_id(api_id).limit(500).send().await.unwrap();
    let resource = resources.items().iter().find(|r| r.path() == Some(path)).unwrap();
    let answer = client.get_integration_response().rest_api_id(api_id).resource_id(resource.id().unwrap());
    answer.http_method("OPTIONS").status_code("200").send().await.unwrap()
}
