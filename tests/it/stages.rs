//! Step 07-stages: dev and prod stages with their variables, throttling and URLs.

use crate::support::{output, sdk_config, Deployment, REGION};

#[tokio::test]
async fn dev_and_prod_stages_carry_their_environment_on_both_apis() {
    let d = Deployment::new("stages");
    d.deploy().assert_ok();
    let config = sdk_config().await;
    let rest_id = output(&d, "03-api-gateway", "rest_api_id");
    let ws_id = output(&d, "04-websocket", "websocket_api_id");

    let apigateway = aws_sdk_apigateway::Client::new(&config);
    for (stage, environment) in [("prod", "production"), ("dev", "development")] {
        let got = apigateway.get_stage().rest_api_id(&rest_id).stage_name(stage).send().await.unwrap();
        assert_eq!(got.variables().unwrap()["environment"], environment, "REST {stage}");
        assert_eq!(got.deployment_id(), Some(output(&d, "03-api-gateway", "deployment_id").as_str()), "REST {stage}");
        let throttling = &got.method_settings().unwrap()["*/*"];
        assert_eq!(
            (throttling.throttling_rate_limit(), throttling.throttling_burst_limit()),
            (100.0, 200),
            "REST {stage}"
        );
        assert_eq!(
            output(&d, "07-stages", &format!("{stage}_invoke_url")),
            format!("https://{rest_id}.execute-api.{REGION}.amazonaws.com/{stage}")
        );
    }
    let v2 = aws_sdk_apigatewayv2::Client::new(&config);
    for (stage, environment) in [("prod", "production"), ("dev", "development")] {
        let got = v2.get_stage().api_id(&ws_id).stage_name(stage).send().await.unwrap();
        assert_eq!(got.stage_variables().unwrap()["environment"], environment, "WebSocket {stage}");
        assert_eq!(got.auto_deploy(), Some(true));
        assert_eq!(
            output(&d, "07-stages", &format!("{stage}_websocket_url")),
            format!("wss://{ws_id}.execute-api.{REGION}.amazonaws.com/{stage}")
        );
    }
    assert_eq!(output(&d, "07-stages", "stages"), "prod,dev");
}

#[tokio::test]
async fn the_dev_stage_follows_each_new_deployment() {
    let d = Deployment::new("stages-follow");
    d.deploy().assert_ok();
    let rest_id = output(&d, "03-api-gateway", "rest_api_id");
    let apigateway = aws_sdk_apigateway::Client::new(&sdk_config().await);
    // Re-pointing prod outside deployer makes 03 deploy the wanted configuration again.
    apigateway.create_deployment().rest_api_id(&rest_id).stage_name("prod").send().await.unwrap();
    d.run(&["step", "03-api-gateway"]).assert_ok();
    let newest = output(&d, "03-api-gateway", "deployment_id");

    let stages = d.run(&["step", "07-stages"]);
    stages.assert_ok();
    let updated: Vec<_> =
        stages.changes().into_iter().filter(|(_, a, _)| a == "updated").map(|(r, _, f)| (r, f)).collect();
    assert!(updated.contains(&("stage dev variables".to_string(), vec!["deployment".to_string()])), "{updated:?}");
    let dev = apigateway.get_stage().rest_api_id(&rest_id).stage_name("dev").send().await.unwrap();
    assert_eq!(dev.deployment_id(), Some(newest.as_str()));
    // moto's CreateDeployment drops the stage's variables; 07 puts them back.
    let prod = apigateway.get_stage().rest_api_id(&rest_id).stage_name("prod").send().await.unwrap();
    assert_eq!(prod.variables().unwrap()["environment"], "production");
}

#[tokio::test]
async fn a_main_stage_named_dev_makes_no_second_stage() {
    let d = Deployment::new("stages-dev-only");
    let run = d.run(&["run", "--service", &d.service, "--stage", "dev"]);
    run.assert_ok();
    assert_eq!(output(&d, "07-stages", "stages"), "dev");
    assert!(run.events.iter().any(|e| e["event"] == "notice" && e["step"] == "07-stages"));
    let v2 = aws_sdk_apigatewayv2::Client::new(&sdk_config().await);
    let stages = v2.get_stages().api_id(output(&d, "04-websocket", "websocket_api_id")).send().await.unwrap();
    let names: Vec<&str> = stages.items().iter().filter_map(|s| s.stage_name()).collect();
    assert_eq!(names, ["dev"]);
}

/// The stage names of the REST and the WebSocket API.
async fn stage_names(rest_id: &str, ws_id: &str) -> (Vec<String>, Vec<String>) {
    let config = sdk_config().await;
    let rest = aws_sdk_apigateway::Client::new(&config).get_stages().rest_api_id(rest_id).send().await.unwrap();
    let ws = aws_sdk_apigatewayv2::Client::new(&config).get_stages().api_id(ws_id).send().await.unwrap();
    let mut rest: Vec<String> = rest.item().iter().filter_map(|s| s.stage_name().map(String::from)).collect();
    let mut ws: Vec<String> = ws.items().iter().filter_map(|s| s.stage_name().map(String::from)).collect();
    rest.sort();
    ws.sort();
    (rest, ws)
}

/// A changed `--stage` leaves no old stage live: plan lists the old one as to delete on both APIs, with
/// counts the run then matches, and the run deletes it.
#[tokio::test]
async fn a_changed_main_stage_deletes_the_old_one_which_plan_shows_first_with_the_runs_counts() {
    let d = Deployment::new("stage-moved");
    d.deploy_without_domain().assert_ok();
    let (rest_id, ws_id) =
        (output(&d, "03-api-gateway", "rest_api_id"), output(&d, "04-websocket", "websocket_api_id"));
    assert_eq!(
        stage_names(&rest_id, &ws_id).await,
        (vec!["dev".into(), "prod".into()], vec!["dev".into(), "prod".into()])
    );

    let planned = d.run(&["plan", "--stage", "staging"]);
    planned.assert_ok();
    let deleted: Vec<String> =
        planned.changes().into_iter().filter(|(_, action, _)| action == "deleted").map(|(r, _, _)| r).collect();
    assert_eq!(
        deleted,
        ["REST stage prod (no longer the settings' stage)", "WebSocket stage prod (no longer the settings' stage)"]
    );
    assert_eq!(stage_names(&rest_id, &ws_id).await.0, ["dev", "prod"], "plan deleted nothing");

    let ran = d.run(&["run", "--stage", "staging"]);
    ran.assert_ok();
    assert_eq!(
        stage_names(&rest_id, &ws_id).await,
        (vec!["dev".into(), "staging".into()], vec!["dev".into(), "staging".into()])
    );
    // Changed and unchanged resources (the new stage's throttling is "to create" in the plan, where the run
    // creates the stage with the deployment, then sets it).
    let counts = |o: &crate::support::Outcome| {
        let f = o.event("run_finished").unwrap().clone();
        let n = |k: &str| f[k].as_u64().unwrap();
        (n("created") + n("updated") + n("deleted"), n("deleted"), n("unchanged"))
    };
    assert_eq!(counts(&planned), counts(&ran), "plan: {:?}\nrun: {:?}", planned.changes(), ran.changes());
    assert_eq!(d.run(&["run"]).changed(), 0, "the next run has nothing left to do");
}
