//! `deployer destroy`: everything of the service goes, in reverse order, only with consent; a killed destroy
//! resumes; `run` afterwards builds it all again.

use crate::proxy::{Proxy, Rules};
use crate::support::{empty_inventory, full_inventory, inventory, moto, sdk_config, Deployment};
use aws_sdk_dynamodb::types::AttributeValue;

async fn log_groups(prefix: &str) -> Vec<String> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let listed = logs.describe_log_groups().log_group_name_prefix(prefix).send().await.unwrap();
    listed.log_groups().iter().filter_map(|g| g.log_group_name().map(String::from)).collect()
}

#[tokio::test]
async fn destroy_asks_for_consent_keeps_tables_with_data_then_removes_everything_and_run_rebuilds() {
    let d = Deployment::new("destroy-all");
    d.deploy().assert_ok();
    let config = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let put = dynamodb.put_item().table_name("destroy-all-conversations");
    let put =
        put.item("userId", AttributeValue::S("u-1".into())).item("conversationId", AttributeValue::S("c-1".into()));
    put.send().await.unwrap();
    // Lambda makes a function's log group on its first invocation; destroy removes it too.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    // 02-lambda made it already (with its retention); a log stream stands for the invocation.
    let group = "/aws/lambda/destroy-all-conversation-api";
    logs.create_log_stream().log_group_name(group).log_stream_name("2026/11/30/[$LATEST]a").send().await.unwrap();
    let state_before = std::fs::read(d.state_path()).unwrap();

    let unconfirmed = d.run(&["destroy"]);
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.stderr);
    assert!(unconfirmed.stderr.contains("pass --yes"), "{}", unconfirmed.stderr);
    let with_data = d.run(&["destroy", "--yes"]);
    assert_eq!(with_data.code, 2, "{}", with_data.stderr);
    assert!(with_data.stderr.contains("destroy-all-conversations") && with_data.stderr.contains("--delete-data"));
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service), "a refused destroy deleted something");
    assert_eq!(std::fs::read(d.state_path()).unwrap(), state_before, "a refused destroy touched the state file");

    d.run(&["destroy", "--yes", "--delete-data", "--delete-zone"]).assert_ok();
    assert_eq!(inventory(&d.service).await, empty_inventory());
    assert_eq!(log_groups("/aws/lambda/destroy-all-").await, Vec::<String>::new());
    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let controls = cloudfront.list_origin_access_controls().send().await.unwrap();
    let items = controls.origin_access_control_list().map(|l| l.items().to_vec()).unwrap_or_default();
    assert!(!items.iter().any(|c| c.name().starts_with("destroy-all-")), "the OAC is gone");
    assert!(
        crate::support::s3()
            .await
            .head_bucket()
            .bucket("destroy-all-frontend")
            .send()
            .await
            .is_err_and(|e| e.as_service_error().is_some_and(|e| e.is_not_found())),
        "bucket gone"
    );
    assert_eq!(d.state()["steps"], serde_json::json!({}));
    assert_eq!(d.run(&["destroy", "--yes"]).assert_ok().changed(), 0, "a second destroy finds nothing to delete");

    d.deploy().assert_ok();
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn destroy_never_deletes_a_zone_it_did_not_create_and_keeps_its_own_unless_asked() {
    let d = Deployment::new("destroy-zone");
    let route53 = aws_sdk_route53::Client::new(&sdk_config().await);
    route53.create_hosted_zone().name("destroy-zone.com").caller_reference("registrar-made").send().await.unwrap();
    d.deploy().assert_ok();

    let refused = d.run(&["destroy", "--yes", "--delete-zone"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("was not created by deployer"), "{}", refused.stderr);
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));

    let destroyed = d.run(&["destroy", "--yes"]);
    destroyed.assert_ok();
    assert!(destroyed
        .events
        .iter()
        .any(|e| e["event"] == "notice"
            && e["message"].as_str().unwrap().starts_with("kept hosted zone destroy-zone.com")));
    assert_eq!(inventory(&d.service).await, crate::support::Inventory { zones: 1, ..empty_inventory() });
}

#[tokio::test]
async fn a_destroy_killed_midway_is_continued_by_resume() {
    let d = Deployment::new("destroy-kill");
    d.deploy().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules { stall_after: Some(30), ..Rules::default() });
    let mut child = proxy.spawn_until_stalled(&d, &["destroy", "--yes", "--delete-zone"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(d.state()["destroying"].is_object(), "the state says a destroy is under way");
    assert_ne!(inventory(&d.service).await, empty_inventory(), "killed before the end");

    d.run(&["resume"]).assert_ok();
    assert_eq!(inventory(&d.service).await, empty_inventory());
    assert!(d.state().get("destroying").is_none());
}

/// The APIs go before their access log groups: a group deleted first would be made again by a request the
/// API still served.
#[tokio::test]
async fn destroy_deletes_each_api_before_its_access_log_groups() {
    let d = Deployment::new("destroy-order");
    d.deploy_without_domain().assert_ok();
    let proxy = Proxy::start(&moto().url(), Rules::default());
    let destroyed = d.command(&["destroy", "--yes", "--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output();
    crate::support::Outcome::from(destroyed.unwrap()).assert_ok();
    let order = proxy.seen(|s| s.order.clone());
    let position = |wanted: &str| order.iter().position(|op| op == wanted);
    let first_group = position("DeleteLogGroup").expect("log groups deleted");
    let mut first_api = usize::MAX;
    for api in ["DELETE /restapis/*", "DELETE /v2/*/*"] {
        let deleted = position(api).unwrap_or_else(|| panic!("{api} in {order:?}"));
        // Its groups are listed (then deleted) right after it.
        assert_eq!(order.get(deleted + 1).map(String::as_str), Some("DescribeLogGroups"), "{api}: {order:?}");
        first_api = first_api.min(deleted);
    }
    assert!(first_api < first_group, "a log group went before the APIs: {order:?}");
}
