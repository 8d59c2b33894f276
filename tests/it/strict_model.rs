//! The strict model itself, behaviour by behaviour, shown with raw SDK calls (retries off) through the
//! proxy: so a scenario that passes under strict mode passes against a model that really refuses, waits
//! and replays as AWS does.

use crate::proxy::{Latency, Proxy, Rules};
use crate::strict::{Behaviour, Strict};
use crate::support::{moto, REGION};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use std::time::{Duration, Instant};

fn strict_proxy(behaviours: &[Behaviour], scale: f64) -> Proxy {
    Proxy::start(&moto().url(), Rules { strict: Some(Strict::only(behaviours, scale)), ..Rules::default() })
}

/// An SDK configuration aimed at the proxy, with the SDK's retries off: each refusal is seen as it is.
pub async fn via(proxy: &Proxy) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&proxy.url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "tests"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

fn code<E: ProvideErrorMetadata>(err: &E) -> String {
    err.code().unwrap_or_default().to_string()
}

/// A DNS-validated certificate for `domain`; its ARN.
async fn request_certificate(acm: &aws_sdk_acm::Client, domain: &str) -> String {
    let requested = acm
        .request_certificate()
        .domain_name(domain)
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap();
    requested.certificate_arn().unwrap().to_string()
}

/// A zone for `domain` holding the certificate's validation CNAME.
async fn publish_validation_record(
    route53: &aws_sdk_route53::Client,
    domain: &str,
    record: &aws_sdk_acm::types::ResourceRecord,
) {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
    let zone = route53.create_hosted_zone().name(domain).caller_reference(format!("{domain}-ref")).send().await;
    let zone_id = zone.unwrap().hosted_zone().unwrap().id().to_string();
    let cname = ResourceRecordSet::builder()
        .name(record.name())
        .r#type(RrType::Cname)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(record.value()).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder().action(ChangeAction::Upsert).resource_record_set(cname).build().unwrap();
    let batch = ChangeBatch::builder().changes(change).build().unwrap();
    route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch).send().await.unwrap();
}

/// Sleeps until `deadline` (a moment of the model's scaled clock).
async fn until(started: Instant, seconds: f64) {
    let deadline = started + Duration::from_secs_f64(seconds);
    tokio::time::sleep(deadline.saturating_duration_since(Instant::now())).await;
}

#[tokio::test]
async fn strict_api_gateway_answers_429_past_its_quotas() {
    let proxy = strict_proxy(&[Behaviour::ApiGatewayQuotas], 1.0);
    let apigateway = aws_sdk_apigateway::Client::new(&via(&proxy).await);
    // Sent together, so that they arrive within the burst whatever moto's speed (one after another, a slow
    // moto let the bucket refill between them).
    let answers = futures::future::join_all((0..80).map(|_| apigateway.get_rest_apis().send())).await;
    let mut refused = Vec::new();
    for err in answers.into_iter().filter_map(Result::err) {
        refused.push((err.raw_response().map(|r| r.status().as_u16()), code(&err.into_service_error())));
    }
    assert!(!refused.is_empty(), "80 requests at once exceed 10/s with a burst of 40");
    assert!(refused.len() <= 40, "the burst of 40 passes: {refused:?}");
    assert!(refused.iter().all(|r| *r == (Some(429), "TooManyRequestsException".to_string())), "{refused:?}");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let api = apigateway.create_rest_api().name("strict-quota").send().await.unwrap();
    let second = apigateway.create_rest_api().name("strict-quota-2").send().await;
    assert_eq!(code(&second.unwrap_err().into_service_error()), "TooManyRequestsException", "CreateRestApi 1 per 3 s");
    apigateway.delete_rest_api().rest_api_id(api.id().unwrap()).send().await.unwrap();
}

#[tokio::test]
async fn strict_lambda_has_pending_and_in_progress_states_and_roles_take_time_to_be_assumable() {
    // Windows of seconds, not tenths: a busy 2-core CI can hold a request for a few hundred milliseconds.
    let scale = 0.5; // role 5 s, Pending 1.5 s, InProgress 1 s
    let mut strict = Strict::only(&[Behaviour::LambdaStates, Behaviour::IamPropagation], scale);
    strict.failing_functions = vec!["strict-states-failing".into()];
    let proxy = Proxy::start(&moto().url(), Rules { strict: Some(strict), ..Rules::default() });
    let config = via(&proxy).await;
    let (iam, lambda) = (aws_sdk_iam::Client::new(&config), aws_sdk_lambda::Client::new(&config));
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam.create_role().role_name("strict-states-role").assume_role_policy_document(trust).send().await;
    let role_arn = role.unwrap().role().unwrap().arn().to_string();
    let role_made = Instant::now();
    let zip = tiny_zip();
    let create = |name: &'static str| {
        lambda
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .role(&role_arn)
            .handler("app.handler")
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(Blob::new(zip.clone())).build())
            .send()
    };
    let too_soon = create("strict-states").await.unwrap_err().into_service_error();
    assert_eq!(code(&too_soon), "InvalidParameterValueException");
    assert!(too_soon.to_string().contains("cannot be assumed"), "{too_soon}");

    until(role_made, crate::strict::ROLE_PROPAGATION * scale).await;
    create("strict-states").await.unwrap();
    let created = Instant::now();
    let got = lambda.get_function().function_name("strict-states").send().await.unwrap();
    assert_eq!(got.configuration().unwrap().state().map(|s| s.as_str()), Some("Pending"));
    let busy = lambda.update_function_configuration().function_name("strict-states").memory_size(256).send().await;
    assert_eq!(code(&busy.unwrap_err().into_service_error()), "ResourceConflictException");

    until(created, 3.0 * scale).await;
    let got = lambda.get_function_configuration().function_name("strict-states").send().await.unwrap();
    assert_eq!(got.state().map(|s| s.as_str()), Some("Active"));
    lambda.update_function_configuration().function_name("strict-states").memory_size(256).send().await.unwrap();
    let updating = lambda.get_function_configuration().function_name("strict-states").send().await.unwrap();
    assert_eq!(updating.last_update_status().map(|s| s.as_str()), Some("InProgress"));
    tokio::time::sleep(Duration::from_secs_f64(2.0 * scale)).await;
    let updated = lambda.get_function_configuration().function_name("strict-states").send().await.unwrap();
    assert_eq!(updated.last_update_status().map(|s| s.as_str()), Some("Successful"));

    create("strict-states-failing").await.unwrap();
    tokio::time::sleep(Duration::from_secs_f64(3.0 * scale)).await;
    let failed = lambda.get_function().function_name("strict-states-failing").send().await.unwrap();
    let failed = failed.configuration().unwrap();
    assert_eq!(failed.state().map(|s| s.as_str()), Some("Failed"));
    assert!(failed.state_reason().is_some_and(|r| r.contains("handler")));
    for name in ["strict-states", "strict-states-failing"] {
        lambda.delete_function().function_name(name).send().await.unwrap();
    }
}

/// The smallest zip there is (an empty archive's end-of-central-directory record): moto checks only that
/// the code is a zip.
fn tiny_zip() -> Vec<u8> {
    let mut bytes = vec![0x50, 0x4b, 0x05, 0x06];
    bytes.extend_from_slice(&[0u8; 18]);
    bytes
}

#[tokio::test]
async fn strict_dynamodb_creates_tables_slowly_and_refuses_a_second_ttl_change_within_the_hour() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
    };
    let scale = 0.2; // CREATING 2 s, ENABLING 120 s, the hour 720 s
    let proxy = strict_proxy(&[Behaviour::DynamoDb], scale);
    let dynamodb = aws_sdk_dynamodb::Client::new(&via(&proxy).await);
    let table = "strict-model-table";
    dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap())
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .send()
        .await
        .unwrap();
    let created = Instant::now();
    let status = |d: aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput| {
        d.table().and_then(|t| t.table_status()).map(|s| s.as_str().to_string())
    };
    assert_eq!(status(dynamodb.describe_table().table_name(table).send().await.unwrap()).as_deref(), Some("CREATING"));
    until(created, 10.0 * scale).await;
    assert_eq!(status(dynamodb.describe_table().table_name(table).send().await.unwrap()).as_deref(), Some("ACTIVE"));

    let ttl =
        |attribute: &str| TimeToLiveSpecification::builder().enabled(true).attribute_name(attribute).build().unwrap();
    dynamodb.update_time_to_live().table_name(table).time_to_live_specification(ttl("ttl")).send().await.unwrap();
    let described = dynamodb.describe_time_to_live().table_name(table).send().await.unwrap();
    let status = described.time_to_live_description().and_then(|d| d.time_to_live_status()).map(|s| s.as_str());
    assert_eq!(status, Some("ENABLING"));
    let again = dynamodb.update_time_to_live().table_name(table).time_to_live_specification(ttl("expires")).send();
    let refused = again.await.unwrap_err().into_service_error();
    assert_eq!(code(&refused), "ValidationException");
    assert!(refused.message().is_some_and(|m| m.contains("multiple times")), "{refused:?}");
    dynamodb.delete_table().table_name(table).send().await.unwrap();
}

#[tokio::test]
async fn strict_route53_keeps_changes_pending_and_a_caller_reference_one_shot() {
    let scale = 0.05; // PENDING 2 s
    let proxy = strict_proxy(&[Behaviour::Route53], scale);
    let route53 = aws_sdk_route53::Client::new(&via(&proxy).await);
    let made =
        route53.create_hosted_zone().name("strict-zone.com").caller_reference("strict-ref").send().await.unwrap();
    let zone_id = made.hosted_zone().unwrap().id().to_string();
    let record = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name("a.strict-zone.com")
        .r#type(aws_sdk_route53::types::RrType::A)
        .ttl(60)
        .resource_records(aws_sdk_route53::types::ResourceRecord::builder().value("192.0.2.1").build().unwrap())
        .build()
        .unwrap();
    let upsert = aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Upsert)
        .resource_record_set(record.clone())
        .build()
        .unwrap();
    let batch = aws_sdk_route53::types::ChangeBatch::builder().changes(upsert).build().unwrap();
    let changed = route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch).send().await;
    let change = changed.unwrap().change_info().unwrap().clone();
    let changed_at = Instant::now();
    assert_eq!(change.status().as_str(), "PENDING");
    let got = route53.get_change().id(change.id()).send().await.unwrap();
    assert_eq!(got.change_info().unwrap().status().as_str(), "PENDING");
    until(changed_at, 40.0 * scale).await;
    let got = route53.get_change().id(change.id()).send().await.unwrap();
    assert_eq!(got.change_info().unwrap().status().as_str(), "INSYNC");

    let delete = aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Delete)
        .resource_record_set(record)
        .build()
        .unwrap();
    let batch = aws_sdk_route53::types::ChangeBatch::builder().changes(delete).build().unwrap();
    route53.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch).send().await.unwrap();
    route53.delete_hosted_zone().id(&zone_id).send().await.unwrap();
    let again = route53.create_hosted_zone().name("strict-zone.com").caller_reference("strict-ref").send().await;
    assert_eq!(code(&again.unwrap_err().into_service_error()), "HostedZoneAlreadyExists", "even for a deleted zone");
}

#[tokio::test]
async fn strict_acm_shows_records_late_validates_after_the_cnames_and_refuses_a_delete_in_use() {
    let scale = 0.03; // records 0.9 s, validation 9 s after the CNAMEs, issued 0.9 s later, in use 9 s
    let mut strict = Strict::only(&[Behaviour::Acm], scale);
    strict.records_after_request = 30.0;
    let proxy = Proxy::start(&moto().url(), Rules { strict: Some(strict), ..Rules::default() });
    let config = via(&proxy).await;
    let (acm, route53) = (aws_sdk_acm::Client::new(&config), aws_sdk_route53::Client::new(&config));
    let arn = request_certificate(&acm, "strict-acm.com").await;
    let describe =
        || async { acm.describe_certificate().certificate_arn(&arn).send().await.unwrap().certificate.unwrap() };
    let first = describe().await;
    assert!(first.domain_validation_options()[0].resource_record().is_none(), "no record right after the request");
    tokio::time::sleep(Duration::from_secs_f64(30.0 * scale)).await;
    let shown = describe().await;
    let record = shown.domain_validation_options()[0].resource_record().unwrap().clone();
    assert_eq!(shown.status().map(|s| s.as_str()), Some("PENDING_VALIDATION"), "until its CNAME exists");

    publish_validation_record(&route53, "strict-acm.com", &record).await;
    assert_eq!(describe().await.status().map(|s| s.as_str()), Some("PENDING_VALIDATION"), "ACM takes minutes");
    let noticed = Instant::now();
    let validated = loop {
        let now = describe().await;
        if now.domain_validation_options()[0].validation_status().map(|s| s.as_str()) == Some("SUCCESS") {
            break now;
        }
        // Within ACM's delay and some of a busy CI's.
        assert!(noticed.elapsed().as_secs_f64() < 400.0 * scale, "validated within ACM's delay");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(noticed.elapsed().as_secs_f64() > 290.0 * scale, "not before ACM's delay");
    assert_eq!(validated.status().map(|s| s.as_str()), Some("PENDING_VALIDATION"), "validated is not yet issued");
    until(noticed, (300.0 + crate::strict::ISSUED_AFTER_VALIDATION) * scale).await;
    assert_eq!(describe().await.status().map(|s| s.as_str()), Some("ISSUED"));

    let apigateway = aws_sdk_apigateway::Client::new(&config);
    apigateway
        .create_domain_name()
        .domain_name("api.strict-acm.com")
        .regional_certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    apigateway.delete_domain_name().domain_name("api.strict-acm.com").send().await.unwrap();
    let in_use = acm.delete_certificate().certificate_arn(&arn).send().await.unwrap_err().into_service_error();
    assert_eq!(code(&in_use), "ResourceInUseException", "right after its domain went");
    tokio::time::sleep(Duration::from_secs_f64(crate::strict::IN_USE_AFTER_RELEASE * scale)).await;
    acm.delete_certificate().certificate_arn(&arn).send().await.unwrap();
}

/// A minimal distribution configuration (an S3 origin and a default behaviour).
fn distribution_config(
    reference: &str,
    comment: &str,
    ipv6: Option<bool>,
) -> aws_sdk_cloudfront::types::DistributionConfig {
    use aws_sdk_cloudfront::types::*;
    let origin = Origin::builder()
        .id("o")
        .domain_name(format!("{comment}.s3.us-east-1.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id("o")
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .build()
        .unwrap();
    DistributionConfig::builder()
        .caller_reference(reference)
        .comment(comment)
        .enabled(true)
        .set_is_ipv6_enabled(ipv6)
        .origins(Origins::builder().quantity(1).items(origin).build().unwrap())
        .default_cache_behavior(behavior)
        .build()
        .unwrap()
}

#[tokio::test]
async fn strict_cloudfront_deploys_slowly_and_its_caller_references_are_one_shot() {
    let scale = 0.01; // InProgress 2.4 s
    let proxy = strict_proxy(&[Behaviour::CloudFront], scale);
    let cloudfront = aws_sdk_cloudfront::Client::new(&via(&proxy).await);
    let config = |reference: &str| distribution_config(reference, "strict-cf", None);
    let created = cloudfront.create_distribution().distribution_config(config("strict-cf")).send().await.unwrap();
    let made_at = Instant::now();
    let id = created.distribution().unwrap().id().to_string();
    let status = || async { cloudfront.get_distribution().id(&id).send().await.unwrap().distribution.unwrap().status };
    assert_eq!(status().await, "InProgress");
    let again = cloudfront.create_distribution().distribution_config(config("strict-cf")).send().await;
    assert_eq!(code(&again.unwrap_err().into_service_error()), "DistributionAlreadyExists");

    let batch = |reference: &str, path: &str| {
        let paths = aws_sdk_cloudfront::types::Paths::builder().quantity(1).items(path).build().unwrap();
        aws_sdk_cloudfront::types::InvalidationBatch::builder()
            .paths(paths)
            .caller_reference(reference)
            .build()
            .unwrap()
    };
    let first = cloudfront.create_invalidation().distribution_id(&id).invalidation_batch(batch("inv-1", "/a")).send();
    let first = first.await.unwrap().invalidation.unwrap().id;
    let replay = cloudfront.create_invalidation().distribution_id(&id).invalidation_batch(batch("inv-1", "/a")).send();
    assert_eq!(replay.await.unwrap().invalidation.unwrap().id, first, "the same reference returns the earlier one");
    assert_eq!(proxy.invalidations(), vec![(id.clone(), vec!["/a".to_string()])], "and invalidates nothing new");

    until(made_at, 240.0 * scale).await;
    assert_eq!(status().await, "Deployed");
}

#[tokio::test]
async fn strict_api_gateway_v2_custom_domains_report_their_alias_target() {
    let proxy = strict_proxy(&[Behaviour::ApiGatewayV2Targets], 1.0);
    let apigatewayv2 = aws_sdk_apigatewayv2::Client::new(&via(&proxy).await);
    let configuration = aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
        .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/strict")
        .endpoint_type(aws_sdk_apigatewayv2::types::EndpointType::Regional)
        .build();
    let created = apigatewayv2
        .create_domain_name()
        .domain_name("ws.strict-v2.com")
        .domain_name_configurations(configuration)
        .send()
        .await
        .unwrap();
    let reported = &created.domain_name_configurations()[0];
    assert!(reported.api_gateway_domain_name().is_some_and(|t| t.ends_with(".amazonaws.com")));
    assert_eq!(reported.hosted_zone_id(), Some("Z1UJRXOUMOOFQ8"));
    let got = apigatewayv2.get_domain_name().domain_name("ws.strict-v2.com").send().await.unwrap();
    assert!(got.domain_name_configurations()[0].api_gateway_domain_name().is_some());
    apigatewayv2.delete_domain_name().domain_name("ws.strict-v2.com").send().await.unwrap();
}

#[tokio::test]
async fn strict_lambda_route53_and_acm_answer_throttling_past_their_quotas() {
    use Behaviour::{Acm, LambdaQuotas, Route53};
    let proxy = strict_proxy(&[LambdaQuotas, Route53, Acm], 1.0);
    let config = via(&proxy).await;
    // Sent at once, so that a slow machine cannot space them under the quota.
    let lambda = aws_sdk_lambda::Client::new(&config);
    let answers = futures::future::join_all((0..25).map(|_| lambda.list_functions().send())).await;
    let codes: Vec<String> =
        answers.into_iter().filter_map(|a| a.err()).map(|e| code(&e.into_service_error())).collect();
    assert!(!codes.is_empty() && codes.iter().all(|c| c == "TooManyRequestsException"), "Lambda 15/s: {codes:?}");
    // GetFunction has a quota of its own, 100/s: as many at once pass, beside a control plane spent above.
    let answers = futures::future::join_all((0..25).map(|_| lambda.get_function().function_name("none").send())).await;
    let codes: Vec<String> =
        answers.into_iter().filter_map(|a| a.err()).map(|e| code(&e.into_service_error())).collect();
    assert!(codes.iter().all(|c| c == "ResourceNotFoundException"), "GetFunction 100/s: {codes:?}");

    let route53 = aws_sdk_route53::Client::new(&config);
    let answers = futures::future::join_all((0..10).map(|_| route53.list_hosted_zones().send())).await;
    let codes: Vec<String> =
        answers.into_iter().filter_map(|a| a.err()).map(|e| code(&e.into_service_error())).collect();
    assert!(!codes.is_empty() && codes.iter().all(|c| c == "Throttling"), "Route 53 5/s: {codes:?}");

    let acm = aws_sdk_acm::Client::new(&config);
    let (first, second) = futures::join!(acm.list_certificates().send(), acm.list_certificates().send());
    let refused = first.err().or(second.err()).expect("ListCertificates 1/s refuses one of two at once");
    let second = refused.into_service_error();
    assert_eq!(code(&second), "ThrottlingException", "ListCertificates 1/s");
}

#[tokio::test]
async fn strict_cloudfront_leaves_ipv6_off_unless_the_configuration_asks_for_it() {
    let proxy = strict_proxy(&[Behaviour::CloudFront], 0.01);
    let cloudfront = aws_sdk_cloudfront::Client::new(&via(&proxy).await);
    let config = |reference: &str, ipv6| distribution_config(reference, "strict-ipv6", ipv6);
    let ipv6 = |id: String| {
        let cloudfront = cloudfront.clone();
        async move {
            let got = cloudfront.get_distribution_config().id(id).send().await.unwrap();
            got.distribution_config().unwrap().is_ipv6_enabled()
        }
    };
    let plain = cloudfront.create_distribution().distribution_config(config("ipv6-a", None)).send().await.unwrap();
    assert_eq!(ipv6(plain.distribution().unwrap().id().to_string()).await, Some(false), "AWS's default");
    let asked = cloudfront.create_distribution().distribution_config(config("ipv6-b", Some(true))).send().await;
    assert_eq!(ipv6(asked.unwrap().distribution().unwrap().id().to_string()).await, Some(true));
}

/// The SDK's sleeps (its waiters' polling) at the model's pace.
#[derive(Debug)]
struct ScaledSleep(f64);

impl aws_smithy_async::rt::sleep::AsyncSleep for ScaledSleep {
    fn sleep(&self, duration: Duration) -> aws_smithy_async::rt::sleep::Sleep {
        aws_smithy_async::rt::sleep::Sleep::new(tokio::time::sleep(duration.mul_f64(self.0)))
    }
}

#[tokio::test]
async fn strict_acm_the_sdks_validated_waiter_returns_before_the_certificate_is_issued() {
    use aws_sdk_acm::client::Waiters;
    let scale = 0.01;
    let mut strict = Strict::only(&[Behaviour::Acm], scale);
    strict.issued_after_validation = 600.0;
    let proxy = Proxy::start(&moto().url(), Rules { strict: Some(strict), ..Rules::default() });
    let config = via(&proxy).await.into_builder().sleep_impl(ScaledSleep(scale)).build();
    let (acm, route53) = (aws_sdk_acm::Client::new(&config), aws_sdk_route53::Client::new(&config));
    let arn = request_certificate(&acm, "strict-waiter.com").await;
    tokio::time::sleep(Duration::from_secs_f64(3.0 * scale)).await;
    let shown = acm.describe_certificate().certificate_arn(&arn).send().await.unwrap().certificate.unwrap();
    let record = shown.domain_validation_options()[0].resource_record().unwrap().clone();
    publish_validation_record(&route53, "strict-waiter.com", &record).await;

    acm.wait_until_certificate_validated().certificate_arn(&arn).wait(Duration::from_secs(600)).await.unwrap();
    let after = acm.describe_certificate().certificate_arn(&arn).send().await.unwrap().certificate.unwrap();
    assert_eq!(after.status().map(|s| s.as_str()), Some("PENDING_VALIDATION"), "the waiter returned before ISSUED");
    // And a custom domain refuses it until it is issued.
    let apigateway = aws_sdk_apigateway::Client::new(&config);
    let refused = apigateway.create_domain_name().domain_name("api.strict-waiter.com").regional_certificate_arn(&arn);
    let refused = refused.send().await.unwrap_err().into_service_error();
    assert_eq!(code(&refused), "BadRequestException");
}

#[tokio::test]
async fn strict_the_benchmarks_aws_holds_each_answer_keeps_the_quotas_real_and_shrinks_the_waits() {
    // Sigma 0: every read takes the read median, every write the write median.
    let latency = Latency { sigma: 0.0, ..Latency::AWS };
    let rules = Rules { strict: Some(Strict::typical(0.2)), latency: Some(latency), ..Rules::default() };
    let proxy = Proxy::start(&moto().url(), rules);
    let config = via(&proxy).await;
    let apigateway = aws_sdk_apigateway::Client::new(&config);
    let clock = Instant::now();
    apigateway.get_rest_apis().send().await.unwrap();
    assert!(clock.elapsed() >= latency.read, "a read is held {:?}", clock.elapsed());
    let clock = Instant::now();
    let api = apigateway.create_rest_api().name("strict-bench-latency").send().await.unwrap();
    assert!(clock.elapsed() >= latency.write, "a write is held {:?}", clock.elapsed());
    // The waits are at 20 %, but CreateRestApi stays at its real 1 per 3 s.
    let second = apigateway.create_rest_api().name("strict-bench-latency-2").send().await;
    assert_eq!(code(&second.unwrap_err().into_service_error()), "TooManyRequestsException");
    apigateway.delete_rest_api().rest_api_id(api.id().unwrap()).send().await.unwrap();

    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let key = KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap();
    let id =
        AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap();
    let table = "strict-bench-latency";
    let created = dynamodb.create_table().table_name(table).key_schema(key).attribute_definitions(id);
    created.billing_mode(BillingMode::PayPerRequest).send().await.unwrap();
    let status =
        || async { dynamodb.describe_table().table_name(table).send().await.unwrap().table.unwrap().table_status };
    assert_eq!(status().await, Some(aws_sdk_dynamodb::types::TableStatus::Creating));
    tokio::time::sleep(Duration::from_millis(2100)).await; // CREATING's 10 s at 20 %
    assert_eq!(status().await, Some(aws_sdk_dynamodb::types::TableStatus::Active));
    dynamodb.delete_table().table_name(table).send().await.unwrap();
}

#[tokio::test]
async fn strict_model_refuses_a_mapping_template_velocity_cannot_parse_as_api_gateway_does() {
    crate::velocity::engine();
    let proxy = strict_proxy(&[Behaviour::MappingTemplates], 1.0);
    let client = aws_sdk_apigateway::Client::new(&via(&proxy).await);
    let api = client.create_rest_api().name("strict-vtl").send().await.unwrap();
    let api_id = api.id().unwrap();
    let root = client.get_resources().rest_api_id(api_id).send().await.unwrap().items()[0].id().unwrap().to_string();
    let put = client.put_method().rest_api_id(api_id).resource_id(&root).http_method("OPTIONS");
    put.authorization_type("NONE").send().await.unwrap();
    let integration = |template: &str| {
        client
            .put_integration()
            .rest_api_id(api_id)
            .resource_id(&root)
            .http_method("OPTIONS")
            .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
            .request_templates("application/json", template)
    };
    let literal_call = r#"#if(",a,".contains(",$input.params('x'),"))yes#end"#;
    let refused = integration(literal_call).send().await.unwrap_err();
    assert_eq!(code(refused.as_service_error().unwrap()), "BadRequestException");
    assert!(format!("{:?}", refused).contains("ParseErrorException"), "{refused:?}");
    integration(r#"{"statusCode": 200}"#).send().await.unwrap();
    let response = |template: &str| {
        client
            .put_integration_response()
            .rest_api_id(api_id)
            .resource_id(&root)
            .http_method("OPTIONS")
            .status_code("200")
            .response_templates("application/json", template)
    };
    let refused = response(literal_call).send().await.expect_err("an integration response's template is parsed too");
    assert_eq!(code(refused.as_service_error().unwrap()), "BadRequestException");
    response("#set($x = 1)").send().await.unwrap();
    assert_eq!(proxy.refusals()["BadRequestException"], 2);
}
