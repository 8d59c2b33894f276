//! `[auth]`: an API key with its usage plan, or a Cognito authorizer, on every method but the preflights;
//! and back to open.

use crate::servers::{http_backend, Backend};
use crate::support::{output, sdk_config, Deployment};

fn write_config(d: &Deployment, auth: &str) {
    let file = format!("service = \"{}\"\nbackend = \"backend\"\nfrontend = \"frontend\"\n\n{auth}\n", d.service);
    std::fs::write(d.path("deployer.toml"), file).unwrap();
}

/// (authorization type, authorizer ID, API key required) of `VERB /conversations`.
async fn method_auth(d: &Deployment, verb: &str) -> (String, Option<String>, bool) {
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let api_id = output(d, "03-api-gateway", "rest_api_id");
    let resources = client.get_resources().rest_api_id(&api_id).limit(500).send().await.unwrap();
    let id = resources.items().iter().find(|r| r.path() == Some("/conversations")).unwrap().id().unwrap().to_string();
    let method = client.get_method().rest_api_id(&api_id).resource_id(id).http_method(verb).send().await.unwrap();
    (
        method.authorization_type().unwrap_or_default().to_string(),
        method.authorizer_id().map(str::to_string),
        method.api_key_required().unwrap_or(false),
    )
}

async fn assert_key_and_plan_gone(client: &aws_sdk_apigateway::Client, key_id: &str) {
    let gone = client.get_api_key().api_key(key_id).send().await.expect_err("the key is deleted");
    assert!(
        gone.as_service_error().is_some_and(|e| e.is_not_found_exception()),
        "the key {key_id} is deleted: {gone:?}"
    );
    let plans = client.get_usage_plans().send().await.unwrap();
    assert!(plans.items().iter().all(|p| p.name() != Some("auth-key-usage-plan")), "the plan is deleted");
}

#[tokio::test]
async fn an_api_key_guards_every_method_within_its_usage_plan_its_value_shown_never_recorded_then_removed() {
    let d = Deployment::new("auth-key");
    write_config(&d, "[auth]\nkind = \"api_key\"\nquota_limit = 1000\nquota_period = \"MONTH\"");
    d.run(&["run"]).assert_ok();
    assert_eq!(method_auth(&d, "GET").await, ("NONE".into(), None, true));
    assert_eq!(method_auth(&d, "OPTIONS").await, ("NONE".into(), None, false), "preflights stay open");

    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let key_id = output(&d, "07-stages", "api_key_id");
    let value =
        client.get_api_key().api_key(&key_id).include_value(true).send().await.unwrap().value().unwrap().to_string();
    let plan = client.get_usage_plan().usage_plan_id(output(&d, "07-stages", "usage_plan_id")).send().await.unwrap();
    let mut stages: Vec<String> = plan.api_stages().iter().map(|s| s.stage().unwrap().to_string()).collect();
    stages.sort();
    assert_eq!(stages, ["dev", "prod"]);
    let throttle = plan.throttle().unwrap();
    assert_eq!((throttle.rate_limit(), throttle.burst_limit()), (100.0, 200), "the stage's, by default");
    let quota = plan.quota().unwrap();
    assert_eq!((quota.limit(), quota.period().unwrap().as_str()), (1000, "MONTH"));
    let keys = client.get_usage_plan_keys().usage_plan_id(plan.id().unwrap()).send().await.unwrap();
    assert_eq!(keys.items().iter().filter_map(|k| k.id()).collect::<Vec<_>>(), [key_id.as_str()]);

    let state = std::fs::read_to_string(d.state_path()).unwrap();
    assert!(!state.contains(&value), "the key's value is not in the state file");
    let shown = d.run(&["outputs"]);
    shown.assert_ok();
    let outputs: serde_json::Value = serde_json::from_str(shown.stdout.trim()).unwrap();
    assert_eq!(outputs["API_KEY"], value.as_str(), "`deployer outputs` asks API Gateway for it");
    assert_eq!(d.run(&["run"]).changed(), 0, "a second run changes nothing");

    // 08-verify sends the key, and checks that a request without it is refused.
    let guarded = http_backend(Backend::KeyRequired);
    d.run(&["step", "08-verify", "--verify-http-url", &guarded]).assert_ok();
    let open = http_backend(Backend::Healthy);
    let failed = d.run(&["step", "08-verify", "--verify-http-url", &open]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("without x-api-key answered HTTP 200, not 403"), "{}", failed.stderr);
    // The keyed request must succeed: a 403 is retried (a new plan key takes a moment), then fails.
    let verify = |url: &str| {
        let mut command = d.command(&["step", "08-verify", "--verify-http-url", url, "--output", "json"]);
        crate::support::Outcome::from(command.env("DEPLOYER_TIME_SCALE", "0.01").output().unwrap())
    };
    verify(&http_backend(Backend::KeyLate)).assert_ok();
    let refused = verify(&http_backend(Backend::KeyRefused));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("with the API key answered HTTP 403"), "{}", refused.stderr);

    write_config(&d, "");
    d.run(&["run"]).assert_ok();
    assert_eq!(method_auth(&d, "GET").await, ("NONE".into(), None, false));
    assert_key_and_plan_gone(&client, &key_id).await;
    assert_eq!(output(&d, "07-stages", "api_key_id"), "", "recorded as removed");
    let shown: serde_json::Value = serde_json::from_str(d.run(&["outputs"]).stdout.trim()).unwrap();
    assert!(shown.get("API_KEY").is_none(), "{shown}");

    // destroy deletes the key and the plan, which would otherwise outlive the API.
    write_config(&d, "[auth]\nkind = \"api_key\"");
    d.run(&["run"]).assert_ok();
    let key_id = output(&d, "07-stages", "api_key_id");
    d.run(&["destroy", "--yes"]).assert_ok();
    assert_key_and_plan_gone(&client, &key_id).await;
}

#[tokio::test]
async fn a_cognito_authorizer_guards_every_method_and_goes_with_the_setting() {
    // Through the proxy: it plays UpdateAuthorizer's change of user pools, which moto cannot patch.
    let proxy = crate::proxy::Proxy::start(&crate::support::moto().url(), crate::proxy::Rules::default());
    let d = Deployment { endpoint: proxy.url.clone(), ..Deployment::new("auth-pool") };
    for (bad, expected) in [
        ("[auth]\nkind = \"cognito\"", "needs user_pool_arn"),
        (
            "[auth]\nkind = \"cognito\"\nuser_pool_arn = \"arn:aws:iam::123456789012:role/x\"",
            "is not a Cognito user pool's ARN",
        ),
        ("[auth]\nrate_limit = 10", "use them with kind = \"api_key\""),
        ("[auth]\nkind = \"oauth\"", "unknown variant `oauth`"),
    ] {
        write_config(&d, bad);
        let refused = d.run(&["run"]);
        assert_eq!(refused.code, 2, "{bad}: {}", refused.stderr);
        assert!(refused.stderr.contains(expected), "{bad}: {}", refused.stderr);
        assert!(!d.state_path().exists());
    }

    let pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123";
    write_config(&d, &format!("[auth]\nkind = \"cognito\"\nuser_pool_arn = \"{pool}\""));
    d.run(&["run"]).assert_ok();
    let authorizer_id = output(&d, "03-api-gateway", "authorizer_id");
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let api_id = output(&d, "03-api-gateway", "rest_api_id");
    let authorizer = client.get_authorizer().rest_api_id(&api_id).authorizer_id(&authorizer_id).send().await.unwrap();
    assert_eq!(authorizer.provider_arns(), [pool]);
    assert_eq!(authorizer.identity_source(), Some("method.request.header.Authorization"));
    assert_eq!(method_auth(&d, "POST").await, ("COGNITO_USER_POOLS".into(), Some(authorizer_id.clone()), false));
    assert_eq!(method_auth(&d, "OPTIONS").await, ("NONE".into(), None, false), "preflights stay open");
    assert_eq!(d.run(&["run"]).changed(), 0, "a second run changes nothing");

    // Another pool: the authorizer is updated in place, and only a new deployment puts it live.
    let other_pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_ZyXwVu987";
    write_config(&d, &format!("[auth]\nkind = \"cognito\"\nuser_pool_arn = \"{other_pool}\""));
    let moved = d.run(&["run"]);
    moved.assert_ok();
    let through_proxy = aws_sdk_apigateway::Client::new(&crate::strict_model::via(&proxy).await);
    let authorizer = through_proxy.get_authorizer().rest_api_id(&api_id).authorizer_id(&authorizer_id);
    assert_eq!(authorizer.send().await.unwrap().provider_arns(), [other_pool]);
    let deployed: Vec<String> = moved
        .changes()
        .into_iter()
        .filter(|(r, a, _)| r.starts_with("deployment of") && a == "created")
        .map(|c| c.0)
        .collect();
    assert_eq!(deployed.len(), 1, "the changed authorizer is deployed: {:?}", moved.changes());

    write_config(&d, "");
    d.run(&["run"]).assert_ok();
    assert_eq!(method_auth(&d, "POST").await.0, "NONE");
    let gone = client.get_authorizer().rest_api_id(&api_id).authorizer_id(&authorizer_id).send().await;
    let gone = gone.expect_err("the authorizer is deleted");
    assert!(gone.as_service_error().is_some_and(|e| e.is_not_found_exception()), "{gone:?}");
    assert_eq!(d.run(&["run"]).changed(), 0);
}

/// A live API switched to `api_key`: when 03 makes its methods require a key, the key and a usage plan on
/// the live stages exist already, so callers with the key are never locked out until 07 runs.
#[tokio::test]
async fn switching_a_live_api_to_api_key_makes_the_key_and_plan_before_any_method_requires_them() {
    let d = Deployment::new("auth-switch");
    write_config(&d, "");
    d.run(&["run"]).assert_ok();
    write_config(&d, "[auth]\nkind = \"api_key\"");
    d.run(&["step", "03-api-gateway"]).assert_ok();
    assert!(method_auth(&d, "GET").await.2, "03 made the methods require a key");
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let plans = client.get_usage_plans().send().await.unwrap();
    let plan =
        plans.items().iter().find(|p| p.name() == Some("auth-switch-usage-plan")).expect("a usage plan after 03");
    let api_id = output(&d, "03-api-gateway", "rest_api_id");
    let stages: Vec<(&str, &str)> =
        plan.api_stages().iter().map(|s| (s.api_id().unwrap_or_default(), s.stage().unwrap_or_default())).collect();
    assert!(stages.contains(&(api_id.as_str(), "prod")), "the live stage is in the plan: {stages:?}");
    let keys = client.get_usage_plan_keys().usage_plan_id(plan.id().unwrap()).send().await.unwrap();
    assert_eq!(keys.items().len(), 1, "the key is in the plan");

    d.run(&["run"]).assert_ok();
    let plans = client.get_usage_plans().send().await.unwrap();
    let ours: Vec<_> = plans.items().iter().filter(|p| p.name() == Some("auth-switch-usage-plan")).collect();
    assert_eq!(ours.len(), 1, "07 found the plan rather than making another");
    assert_eq!(ours[0].api_stages().len(), 2, "07 added the dev stage");
    let keys = client.get_api_keys().name_query("auth-switch-api-key").send().await.unwrap();
    assert_eq!(keys.items().len(), 1);
    assert_eq!(d.run(&["run"]).changed(), 0);
}
