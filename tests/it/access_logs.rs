//! The API stages' access logs: groups with the retention setting, every stage writing JSON lines to its
//! group, the account's CloudWatch role made only where a region has none, and `deployer logs --api`.

use crate::support::{output, sdk_config, Deployment, REGION};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

/// The SDK configuration of this process's moto in another region.
async fn config_in(region: &'static str) -> aws_config::SdkConfig {
    let config = sdk_config().await;
    config.into_builder().region(aws_config::Region::new(region)).build()
}

#[tokio::test]
async fn every_stage_of_both_apis_writes_json_access_logs_to_its_group_kept_for_the_retention_setting() {
    let d = Deployment::new("access-logs");
    d.run(&["run", "--service", &d.service, "--log-retention-days", "14"]).assert_ok();
    let (rest, ws) = (output(&d, "03-api-gateway", "rest_api_id"), output(&d, "04-websocket", "websocket_api_id"));
    let config = sdk_config().await;
    let group_arn =
        |id: &str, stage: &str| format!("arn:aws:logs:{REGION}:123456789012:log-group:/aws/api-gateway/{id}/{stage}");

    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    for id in [&rest, &ws] {
        let groups = logs.describe_log_groups().log_group_name_prefix(format!("/aws/api-gateway/{id}/")).send().await;
        let groups: Vec<(String, Option<i32>)> = groups
            .unwrap()
            .log_groups()
            .iter()
            .map(|g| (g.log_group_name().unwrap().to_string(), g.retention_in_days()))
            .collect();
        let wanted = ["dev", "prod"].map(|stage| (format!("/aws/api-gateway/{id}/{stage}"), Some(14)));
        assert_eq!(groups, wanted);
    }
    let apigw = aws_sdk_apigateway::Client::new(&config);
    let apigwv2 = aws_sdk_apigatewayv2::Client::new(&config);
    for stage in ["prod", "dev"] {
        let got = apigw.get_stage().rest_api_id(&rest).stage_name(stage).send().await.unwrap();
        let settings = got.access_log_settings().unwrap();
        assert_eq!(settings.destination_arn(), Some(group_arn(&rest, stage).as_str()), "REST {stage}");
        let line: serde_json::Value = serde_json::from_str(settings.format().unwrap()).unwrap();
        assert_eq!(line["requestId"], "$context.requestId", "JSON lines: {line}");
        assert_eq!(line["status"], "$context.status");

        let got = apigwv2.get_stage().api_id(&ws).stage_name(stage).send().await.unwrap();
        let settings = got.access_log_settings().unwrap();
        assert_eq!(settings.destination_arn(), Some(group_arn(&ws, stage).as_str()), "WebSocket {stage}");
        let line: serde_json::Value = serde_json::from_str(settings.format().unwrap()).unwrap();
        assert_eq!(line["eventType"], "$context.eventType");
    }
    assert_eq!(d.run(&["run"]).changed(), 0, "a second run changes nothing");

    // `deployer logs --api` reads them: the main stage, or --stage dev.
    let stream = "access";
    for (id, stage, message) in [(&rest, "prod", r#"{"status":"200"}"#), (&rest, "dev", r#"{"status":"404"}"#)] {
        let group = format!("/aws/api-gateway/{id}/{stage}");
        logs.create_log_stream().log_group_name(&group).log_stream_name(stream).send().await.unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let event = InputLogEvent::builder().timestamp(now - 1000).message(message).build().unwrap();
        logs.put_log_events().log_group_name(&group).log_stream_name(stream).log_events(event).send().await.unwrap();
    }
    let main = d.run(&["logs", "--api"]);
    main.assert_ok();
    let lines: Vec<(&str, &str)> =
        main.events.iter().map(|e| (e["api"].as_str().unwrap(), e["message"].as_str().unwrap())).collect();
    assert_eq!(lines, [("rest-api/prod", r#"{"status":"200"}"#)]);
    let dev = d.run(&["logs", "--api", "--stage", "dev"]);
    let lines: Vec<&str> = dev.events.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(lines, [r#"{"status":"404"}"#]);
    let both = d.run(&["logs", "usage-handler", "--api"]);
    assert_eq!(both.code, 2, "a function and --api together: {}", both.stderr);

    d.run(&["destroy", "--yes"]).assert_ok();
    for id in [&rest, &ws] {
        let left = logs.describe_log_groups().log_group_name_prefix(format!("/aws/api-gateway/{id}/")).send().await;
        assert!(left.unwrap().log_groups().is_empty(), "destroy deletes the access logs of {id}");
    }
}

/// Sets the account's CloudWatch role for API Gateway in the client's region ("" for none).
async fn set_account_role(apigw: &aws_sdk_apigateway::Client, arn: &str) {
    use aws_sdk_apigateway::types::{Op, PatchOperation};
    let set = PatchOperation::builder().op(Op::Replace).path("/cloudwatchRoleArn").value(arn).build();
    apigw.update_account().patch_operations(set).send().await.unwrap();
}

/// In a region of its own, so that no other test's deploy sets the account's role meanwhile.
#[tokio::test]
async fn the_accounts_cloudwatch_role_is_made_only_where_a_region_has_none_and_anothers_is_kept() {
    let region = "eu-west-3";
    let config = config_in(region).await;
    let apigw = aws_sdk_apigateway::Client::new(&config);
    set_account_role(&apigw, "").await;

    // A run killed between CreateRole and AttachRolePolicy left deployer's role without its policy.
    let iam = aws_sdk_iam::Client::new(&config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let _ =
        iam.create_role().role_name("deployer-apigateway-cloudwatch").assume_role_policy_document(trust).send().await;

    let d = Deployment::new("logs-role");
    let first = d.run(&["run", "--service", &d.service, "--region", region]);
    first.assert_ok();
    let notices: Vec<&str> =
        first.events.iter().filter(|e| e["event"] == "notice").filter_map(|e| e["message"].as_str()).collect();
    assert!(
        notices.iter().any(|n| n.starts_with(&format!("API Gateway in {region} had no CloudWatch Logs role"))),
        "{notices:?}"
    );
    let role_arn = apigw.get_account().send().await.unwrap().cloudwatch_role_arn().unwrap_or_default().to_string();
    assert!(role_arn.ends_with(":role/deployer-apigateway-cloudwatch"), "{role_arn}");
    let attached = iam.list_attached_role_policies().role_name("deployer-apigateway-cloudwatch").send().await.unwrap();
    let names: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_name()).collect();
    assert_eq!(names, ["AmazonAPIGatewayPushToCloudWatchLogs"]);

    // Another's role is never replaced, and a service whose stages log already never asks.
    iam.create_role()
        .role_name("platform-team-apigateway-logs")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let theirs = "arn:aws:iam::123456789012:role/platform-team-apigateway-logs";
    set_account_role(&apigw, theirs).await;
    let other = Deployment::new("logs-role-2");
    let second = other.run(&["run", "--service", &other.service, "--region", region]);
    second.assert_ok();
    assert!(
        !second.stderr.contains("had no CloudWatch Logs role")
            && !second.stdout.contains("had no CloudWatch Logs role")
    );
    assert_eq!(apigw.get_account().send().await.unwrap().cloudwatch_role_arn(), Some(theirs));

    // A role the account names but IAM no longer has writes no logs: deployer sets its own.
    let gone = "arn:aws:iam::123456789012:role/deleted-apigateway-logs";
    set_account_role(&apigw, gone).await;
    let third = Deployment::new("logs-role-3");
    third.run(&["run", "--service", &third.service, "--region", region]).assert_ok();
    let now = apigw.get_account().send().await.unwrap().cloudwatch_role_arn().unwrap_or_default().to_string();
    assert!(now.ends_with(":role/deployer-apigateway-cloudwatch"), "{now}");
}
