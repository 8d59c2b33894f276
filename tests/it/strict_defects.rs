//! One test per defect a real account exposes and moto hides, each under the strict proxy: each fails
//! on the deployer before the fix and passes after.

use crate::proxy::{Proxy, Rules};
use crate::strict::Strict;
use crate::strict_scenarios::{strict_inventory, strict_proxy_with, through, SCALE};
use crate::support::{inventory, new_account_moto, Deployment, REGION};

fn deploy_args(d: &Deployment, extra: &[&str]) -> Vec<String> {
    let mut args = d.deploy_args();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn args(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn strict_defect_a_certificate_validated_but_not_yet_issued_is_waited_for() {
    let d = Deployment::new("strict-issued");
    let mut strict = Strict::all(SCALE);
    strict.issued_after_validation = 600.0; // validated, then ten minutes until ISSUED (6 s here)
    let proxy = strict_proxy_with(strict);
    let run = through(&d, &proxy, &args(&deploy_args(&d, &[])));
    run.assert_ok();
    assert!(!proxy.refusals().contains_key("BadRequestException"), "{:?}", proxy.refusals());
    assert_eq!(inventory(&d.service).await, strict_inventory(&d.service));
}

#[tokio::test]
async fn strict_defect_a_certificate_found_before_its_records_show_is_waited_on_for_all_of_them() {
    let d = Deployment::new("strict-records");
    let mut strict = Strict::all(SCALE);
    strict.records_after_request = 60.0; // 0.6 s here: longer than `step 06-domain` takes to look
    let proxy = strict_proxy_with(strict);
    through(&d, &proxy, &["run", "--service", &d.service]).assert_ok();
    // As a run killed right after RequestCertificate leaves it: the certificate exists, its records not yet,
    // and the resumed run reaches 06-domain at once.
    let config = crate::strict_model::via(&proxy).await;
    let domain = format!("{}.com", d.service);
    let names: Vec<String> = ["www", "api", "ws"].iter().map(|n| format!("{n}.{domain}")).collect();
    aws_sdk_acm::Client::new(&config)
        .request_certificate()
        .domain_name(&domain)
        .set_subject_alternative_names(Some(names))
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap();

    let step = through(&d, &proxy, &["step", "06-domain", "--domain", &domain, "--cert-wait", "3600s"]);
    step.assert_ok();
    through(&d, &proxy, &args(&deploy_args(&d, &[]))).assert_ok();
    // One deployment: the domain's origins live in the stages' variables, not in the deployment.
    assert_eq!(inventory(&d.service).await, strict_inventory(&d.service));
}

#[tokio::test]
async fn strict_defect_a_function_that_ends_failed_fails_the_step_with_aws_reason() {
    let d = Deployment::new("strict-failed");
    let mut strict = Strict::all(SCALE);
    strict.failing_functions = vec![format!("{}-usage-handler", d.service)];
    let proxy = strict_proxy_with(strict);
    let run = through(&d, &proxy, &args(&deploy_args(&d, &[])));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("step 02-lambda failed"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("function {}-usage-handler is Failed", d.service)), "{}", run.stderr);
    assert!(run.stderr.contains("handler module not found"), "AWS's StateReason: {}", run.stderr);
    // Found again by a later run, it still fails the step: a Failed function is never taken as done.
    let again = through(&d, &proxy, &["resume"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.stderr.contains("is Failed"), "{}", again.stderr);
}

#[tokio::test]
async fn strict_defect_a_function_still_pending_on_resume_is_waited_for_before_its_update() {
    let d = Deployment::new("strict-pending");
    let mut strict = Strict::all(SCALE);
    strict.pending = 300.0; // 3 s here
    let proxy = strict_proxy_with(strict);
    through(&d, &proxy, &args(&deploy_args(&d, &[]))).assert_ok();
    // As a run killed right after CreateFunction leaves it: the function exists, Pending, not yet as wanted.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&proxy.url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let name = format!("{}-prompt-crud", d.service);
    let current = lambda.get_function().function_name(&name).send().await.unwrap();
    let current = current.configuration().unwrap().clone();
    lambda.delete_function().function_name(&name).send().await.unwrap();
    let zip = std::fs::read(d.path(".deployer/cache/bundle.zip")).unwrap_or_else(|_| tiny_zip());
    lambda
        .create_function()
        .function_name(&name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(current.role().unwrap())
        .handler(current.handler().unwrap())
        .memory_size(128)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_sdk_lambda::primitives::Blob::new(zip)).build(),
        )
        .send()
        .await
        .unwrap();

    let resumed = through(&d, &proxy, &args(&deploy_args(&d, &[])));
    resumed.assert_ok();
    assert!(!proxy.refusals().contains_key("ResourceConflictException"), "{:?}", proxy.refusals());
    let now = aws_sdk_lambda::Client::new(&crate::support::sdk_config().await);
    let fixed = now.get_function().function_name(&name).send().await.unwrap();
    assert_eq!(fixed.configuration().unwrap().memory_size(), Some(512));
}

/// The smallest zip there is: moto checks only that the code is a zip.
fn tiny_zip() -> Vec<u8> {
    let mut bytes = vec![0x50, 0x4b, 0x05, 0x06];
    bytes.extend_from_slice(&[0u8; 18]);
    bytes
}

/// The throttling answers the strict proxy gave, by code.
fn throttled(proxy: &crate::proxy::Proxy) -> u32 {
    let refused = proxy.refusals();
    ["TooManyRequestsException", "Throttling", "ThrottlingException"].iter().filter_map(|c| refused.get(*c)).sum()
}

#[tokio::test]
async fn strict_defect_api_gateway_quotas_at_real_time_are_paced_not_hit() {
    use crate::strict::Behaviour;
    let d = Deployment::new("strict-quotas");
    // Real time: 10 requests/s with a burst of 40 for the account, GetResources 5 per 2 s, CreateResource 5/s…
    let proxy = strict_proxy_with(Strict::only(&[Behaviour::ApiGatewayQuotas, Behaviour::LambdaQuotas], 1.0));
    let run = through(&d, &proxy, &["run", "--service", &d.service]);
    run.assert_ok();
    assert_eq!(throttled(&proxy), 0, "paced to the quotas, never refused: {:?}", proxy.refusals());
    assert_eq!(run.event("run_finished").unwrap()["throttled"], 0);
    assert!(proxy.seen(|s| s.reads.keys().filter(|op| op.contains("restapis")).count()) > 0);
}

#[tokio::test]
async fn strict_defect_throttled_requests_are_retried_and_counted() {
    // Pacing off (as against an emulator), so the proxy's quotas are hit: each 429 is retried and counted.
    // Sixty WebSocket actions, whose routes and integrations are made one call each, 16 at a time (the
    // REST paths come in one PutRestApi).
    let d = Deployment::new("strict-counted");
    let actions: String = (0..60)
        .map(|n| format!("[[websocket.routes]]\nroute_key = \"action-{n}\"\nfunction = \"websocket-message\"\n"))
        .collect();
    std::fs::write(d.path("deployer.toml"), format!("service = \"{}\"\n{actions}", d.service)).unwrap();
    let proxy = strict_proxy_with(Strict::only(&[crate::strict::Behaviour::ApiGatewayQuotas], 0.2));
    let output = d
        .command(&["run", "--output", "json", "--max-attempts", "12"])
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("DEPLOYER_TIME_SCALE", "0.2")
        .output()
        .unwrap();
    let run = crate::support::Outcome::from(output);
    run.assert_ok();
    let refused = throttled(&proxy);
    assert!(refused > 0, "without pacing, API Gateway's quotas are hit");
    assert_eq!(run.event("run_finished").unwrap()["throttled"], u64::from(refused), "each one counted");
}

#[tokio::test]
async fn strict_defect_a_request_paced_past_the_sdks_stall_grace_period_is_sent_not_failed_as_stalled() {
    use crate::strict::Behaviour;
    // Real time: api. and ws. are two CreateDomainName, 1 per 30 s, so the second waits 33 s in the pacer,
    // longer than the SDK's 20 s upload stall grace period (found by `make bench`'s simulated AWS).
    let d = Deployment::new("strict-stall");
    let proxy = strict_proxy_with(Strict::only(&[Behaviour::ApiGatewayQuotas], 1.0));
    let clock = std::time::Instant::now();
    let run = through(&d, &proxy, &args(&deploy_args(&d, &[])));
    run.assert_ok();
    assert!(clock.elapsed() >= std::time::Duration::from_secs(30), "the second domain waited its turn");
    assert_eq!(throttled(&proxy), 0, "{:?}", proxy.refusals());
    assert_eq!(proxy.seen(|s| s.writes.get("POST /domainnames").copied()), Some(1), "one create for api.");
    assert_eq!(inventory(&d.service).await.custom_domains.len(), 2, "api. and ws.");
}

/// A new account has no CloudWatch role for API Gateway: deployer makes one, and UpdateAccount refuses it
/// while IAM propagates it ("could not successfully write to CloudWatch Logs"), at most once per 20 s.
#[tokio::test]
async fn strict_defect_a_new_accounts_cloudwatch_role_is_waited_for_within_update_accounts_quota() {
    let account = new_account_moto();
    let d = Deployment::on(account, "strict-new-account");
    // A minute (0.6 s here): longer than ensure's own retries of a failed create.
    let strict = Strict { role_propagation: 60.0, ..Strict::all(SCALE) };
    let proxy = Proxy::start(&account.url(), Rules { strict: Some(strict), ..Rules::default() });
    let run = through(&d, &proxy, &["run", "--service", &d.service]);
    run.assert_ok();
    let refusals = proxy.refusals();
    assert!(refusals.get("BadRequestException").is_some_and(|n| *n >= 1), "refused while propagating: {refusals:?}");
    assert!(!refusals.contains_key("TooManyRequestsException"), "within the quotas: {refusals:?}");
    assert_eq!(proxy.seen(|s| s.writes.get("PATCH /account").copied()), Some(1), "set once it was usable");
}

/// `[vpc]` added to a deployed service: the role gains the ENI actions, and UpdateFunctionConfiguration
/// is refused ("does not have permissions to call CreateNetworkInterface") until IAM has propagated them.
#[tokio::test]
async fn strict_defect_a_vpc_added_to_deployed_functions_waits_for_the_roles_eni_permissions() {
    let d = Deployment::new("strict-vpc");
    let proxy = strict_proxy_with(Strict { role_propagation: 60.0, ..Strict::all(SCALE) });
    through(&d, &proxy, &["init", "--service", &d.service]).assert_ok();
    through(&d, &proxy, &["run"]).assert_ok();
    let file = d.path("deployer.toml");
    let before = std::fs::read_to_string(&file).unwrap();
    let vpc = "[vpc]\nsubnet_ids = [\"subnet-0abc12345def67890\"]\nsecurity_group_ids = [\"sg-0abc12345def67890\"]";
    std::fs::write(&file, format!("{before}\n{vpc}\n")).unwrap();
    let moved = through(&d, &proxy, &["run"]);
    moved.assert_ok();
    assert!(proxy.refusals().contains_key("InvalidParameterValueException"), "{:?}", proxy.refusals());
    let lambda = aws_sdk_lambda::Client::new(&crate::support::sdk_config().await);
    let name = format!("{}-usage-handler", d.service);
    let config = lambda.get_function_configuration().function_name(name).send().await.unwrap();
    assert_eq!(config.vpc_config().unwrap().subnet_ids(), ["subnet-0abc12345def67890"]);
}

/// A preflight template emptied by hand (console or aws CLI) comes back as `null`, which the SDK cannot
/// read in a map: the API is still read, and the template put back.
#[tokio::test]
async fn strict_defect_a_template_emptied_by_hand_is_read_and_put_back() {
    let d = Deployment::new("strict-nulls");
    let proxy = crate::strict_scenarios::strict_proxy();
    through(&d, &proxy, &["run", "--service", &d.service]).assert_ok();
    let api_id = d.state()["steps"]["03-api-gateway"]["outputs"]["rest_api_id"].as_str().unwrap().to_string();
    let client = aws_sdk_apigateway::Client::new(&crate::support::sdk_config().await);
    let resources = client.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let usage = resources.items().iter().find(|r| r.path() == Some("/usage")).unwrap().id().unwrap().to_string();
    let emptied = client.put_integration_response().rest_api_id(&api_id).resource_id(&usage).http_method("OPTIONS");
    // Its own answer already holds the null, which this plain SDK client cannot read: the put is done anyway.
    let _ = emptied.status_code("200").response_templates("application/json", "").send().await;
    let raw = aws_sdk_apigateway::Client::new(&crate::strict_model::via(&proxy).await);
    let unreadable = raw.get_resources().rest_api_id(&api_id).embed("methods").send().await;
    assert!(unreadable.is_err(), "the SDK alone cannot read a null template");

    let repaired = through(&d, &proxy, &["step", "03-api-gateway"]);
    repaired.assert_ok();
    let changed: Vec<String> =
        repaired.changes().into_iter().filter(|(_, a, _)| a == "updated").map(|(r, _, _)| r).collect();
    assert_eq!(changed, ["method OPTIONS /usage"], "{:?}", repaired.changes());
    assert_eq!(through(&d, &proxy, &["run"]).requests().1, 0, "then nothing to write");
}
