//! `provisioned_concurrency`: the instances on the function's `live` alias (a version published only when
//! the function changed, the APIs invoking the alias) (moto has no provisioned-concurrency API: the test
//! proxy answers it, as `tests/it/proxy.rs` says).

use crate::proxy::{Proxy, Rules};
use crate::support::{moto, sdk_config, Deployment, Outcome};

fn write_config(d: &Deployment, function: &str) {
    let file = format!("service = \"{}\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n\n{function}\n", d.service);
    std::fs::write(d.path("deployer.toml"), file).unwrap();
}

fn run(d: &Deployment, proxy: &Proxy) -> Outcome {
    let output = d.command(&["run", "--output", "json"]).env("AWS_ENDPOINT_URL", &proxy.url).output().unwrap();
    Outcome::from(output)
}

/// The URI of `GET /conversations`'s integration.
async fn conversations_uri(d: &Deployment) -> String {
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let api_id = d.state()["steps"]["03-api-gateway"]["outputs"]["rest_api_id"].as_str().unwrap().to_string();
    let resources = client.get_resources().rest_api_id(&api_id).limit(500).send().await.unwrap();
    let id = resources.items().iter().find(|r| r.path() == Some("/conversations")).unwrap().id().unwrap().to_string();
    let method = client.get_method().rest_api_id(&api_id).resource_id(id).http_method("GET").send().await.unwrap();
    method.method_integration().unwrap().uri().unwrap().to_string()
}

#[tokio::test]
async fn provisioned_concurrency_puts_instances_on_the_live_alias_republished_only_on_change_and_removes_them() {
    let d = Deployment::new("provisioned");
    for (bad, expected) in [
        ("[functions.conversation-api]\nprovisioned_concurrency = 0", "must be 1 or more"),
        (
            "[functions.conversation-api]\nprovisioned_concurrency = 5\nreserved_concurrency = 2",
            "above its reserved_concurrency",
        ),
        ("[functions.websocket-message]\nprovisioned_concurrency = 1", "not supported for this function yet"),
    ] {
        write_config(&d, bad);
        let refused = d.run(&["run"]);
        assert_eq!(refused.code, 2, "{bad}: {}", refused.stderr);
        assert!(refused.stderr.contains(expected), "{bad}: {}", refused.stderr);
    }

    let proxy = Proxy::start(&moto().url(), Rules::default());
    let name = "provisioned-conversation-api";
    write_config(&d, "[functions.conversation-api]\nprovisioned_concurrency = 2");
    run(&d, &proxy).assert_ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk_config().await);
    let alias = lambda.get_alias().function_name(name).name("live").send().await.unwrap();
    let alias_arn = alias.alias_arn().unwrap().to_string();
    assert_eq!(d.state()["steps"]["02-lambda"]["outputs"]["invoke_arn.conversation-api"], alias_arn.as_str());
    assert_eq!(proxy.seen(|s| s.provisioned.clone()).get(name), Some(&2));
    assert!(conversations_uri(&d).await.contains(&format!("{alias_arn}/invocations")), "the API invokes the alias");
    let policy = lambda.get_policy().function_name(name).qualifier("live").send().await.unwrap();
    assert!(policy.policy().unwrap().contains("deployer-rest-api"), "the alias may be invoked by the API");
    let versions = |lambda: aws_sdk_lambda::Client| async move {
        lambda.list_versions_by_function().function_name(name).send().await.unwrap().versions().len()
    };
    let published = versions(lambda.clone()).await;

    let again = run(&d, &proxy);
    again.assert_ok();
    assert_eq!(again.changed(), 0, "{:?}", again.changes());
    assert_eq!(versions(lambda.clone()).await, published, "nothing changed: no version published");

    write_config(&d, "[functions.conversation-api]\nprovisioned_concurrency = 2\nmemory = 256");
    run(&d, &proxy).assert_ok();
    assert_eq!(versions(lambda.clone()).await, published + 1, "a changed function: one new version");
    let moved = lambda.get_alias().function_name(name).name("live").send().await.unwrap();
    assert_ne!(moved.function_version(), alias.function_version(), "the alias follows it");

    write_config(&d, "");
    run(&d, &proxy).assert_ok();
    assert!(proxy.seen(|s| s.provisioned.is_empty()), "the instances are removed (billed by the hour)");
    let uri = conversations_uri(&d).await;
    assert!(uri.ends_with(&format!("function:{name}:live/invocations")), "every function is behind its alias: {uri}");
    assert_eq!(run(&d, &proxy).changed(), 0);
    let marker = &d.state()["steps"]["02-lambda"]["outputs"]["provisioned_concurrency.conversation-api"];
    assert_eq!(marker, "", "emptied once the instances are gone: later runs look no more");
}

/// Lambda refuses provisioned instances above the reservation, and on an alias that is still moving to a
/// new version (routing weights): a reservation that rises goes first, one that falls goes last, and the
/// instances wait for the alias to settle.
#[tokio::test]
async fn reservation_and_provisioned_instances_change_together_in_the_order_lambda_accepts() {
    let d = Deployment::new("prov-order");
    let proxy = Proxy::start(&moto().url(), Rules::default());
    let name = "prov-order-conversation-api";
    let both = |reserved: i32, provisioned: i32| {
        format!(
            "[functions.conversation-api]\nreserved_concurrency = {reserved}\nprovisioned_concurrency = {provisioned}"
        )
    };
    write_config(&d, &both(3, 2));
    run(&d, &proxy).assert_ok();

    // Both raised, with new code: the alias moves, then carries weights for a while.
    let handler = d.path("backend/handlers/api/conversation.py");
    let code = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{code}\n# changed\n")).unwrap();
    write_config(&d, &both(20, 10));
    let raised = run(&d, &proxy);
    raised.assert_ok();
    assert_eq!(proxy.seen(|s| (s.reserved.get(name).copied(), s.provisioned.get(name).copied())), (Some(20), Some(10)));

    write_config(&d, &both(5, 4));
    run(&d, &proxy).assert_ok();
    assert_eq!(proxy.seen(|s| (s.reserved.get(name).copied(), s.provisioned.get(name).copied())), (Some(5), Some(4)));
    let reads = |proxy: &Proxy| proxy.seen(|s| s.reads.get("GET /2019-09-30/*/*").copied().unwrap_or(0));
    let before = reads(&proxy);
    assert_eq!(run(&d, &proxy).changed(), 0);
    assert_eq!(reads(&proxy) - before, 1, "the reservation is read once, for its order and its check alike");
}
