//! Step 06-domain: zone, certificate, custom domains and alias records, against moto.

use crate::support::{full_inventory, inventory, output, s3, sdk_config, slow_acm_moto, Deployment, SLOW_ACM_SECONDS};
use std::time::Duration;

#[tokio::test]
async fn fresh_run_puts_the_service_on_its_domain() {
    let d = Deployment::new("dom-fresh");
    let run = d.deploy();
    run.assert_ok();
    let domain = format!("{}.com", d.service);
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
    let config = sdk_config().await;

    let notices: Vec<&str> =
        run.events.iter().filter(|e| e["event"] == "notice").filter_map(|e| e["message"].as_str()).collect();
    let servers = output(&d, "06-domain", "name_servers");
    assert!(notices.iter().any(|n| n.contains(&servers.replace(',', ", "))), "{notices:?}");

    let acm = aws_sdk_acm::Client::new(&config);
    let certificate =
        acm.describe_certificate().certificate_arn(output(&d, "06-domain", "certificate_arn")).send().await.unwrap();
    let certificate = certificate.certificate.unwrap();
    let mut names = certificate.subject_alternative_names().to_vec();
    names.sort();
    let mut wanted = vec![domain.clone(), format!("www.{domain}"), format!("api.{domain}"), format!("ws.{domain}")];
    wanted.sort();
    assert_eq!(names, wanted);

    let route53 = aws_sdk_route53::Client::new(&config);
    let zone = output(&d, "06-domain", "zone_id");
    let records = route53.list_resource_record_sets().hosted_zone_id(&zone).send().await.unwrap();
    let alias_of = |name: &str, kind: &str| {
        records
            .resource_record_sets()
            .iter()
            .find(|r| r.name().trim_end_matches('.') == name && r.r#type().as_str() == kind)
            .and_then(|r| {
                r.alias_target()
                    .map(|a| (a.dns_name().trim_end_matches('.').to_string(), a.hosted_zone_id().to_string()))
            })
    };
    let cloudfront_domain = output(&d, "05-frontend", "distribution_domain");
    for name in [domain.clone(), format!("www.{domain}")] {
        for kind in ["A", "AAAA"] {
            assert_eq!(
                alias_of(&name, kind),
                Some((cloudfront_domain.clone(), "Z2FDTNDATAQYW2".to_string())),
                "{name} {kind}"
            );
        }
    }
    let apigateway = aws_sdk_apigateway::Client::new(&config);
    let api_domain = apigateway.get_domain_name().domain_name(format!("api.{domain}")).send().await.unwrap();
    assert_eq!(
        alias_of(&format!("api.{domain}"), "A").map(|a| a.0),
        api_domain.regional_domain_name().map(|t| t.trim_end_matches('.').to_string())
    );
    let mappings = apigateway.get_base_path_mappings().domain_name(format!("api.{domain}")).send().await.unwrap();
    assert_eq!(mappings.items()[0].rest_api_id(), Some(output(&d, "03-api-gateway", "rest_api_id").as_str()));
    let v2 = aws_sdk_apigatewayv2::Client::new(&config);
    let ws_mappings = v2.get_api_mappings().domain_name(format!("ws.{domain}")).send().await.unwrap();
    assert_eq!(ws_mappings.items()[0].api_id(), Some(output(&d, "04-websocket", "websocket_api_id").as_str()));

    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let distribution =
        cloudfront.get_distribution_config().id(output(&d, "05-frontend", "distribution_id")).send().await.unwrap();
    let distribution = distribution.distribution_config.unwrap();
    let mut aliases = distribution.aliases().unwrap().items().to_vec();
    aliases.sort();
    assert_eq!(aliases, [domain.clone(), format!("www.{domain}")]);
    assert_eq!(
        distribution.viewer_certificate().unwrap().acm_certificate_arn(),
        Some(output(&d, "06-domain", "certificate_arn").as_str())
    );

    let served =
        s3().await.get_object().bucket(format!("{}-frontend", d.service)).key("config.js").send().await.unwrap();
    let served = String::from_utf8(served.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    assert!(served.contains(&format!("API_BASE_URL: \"https://api.{domain}\"")), "{served}");
    assert!(served.contains(&format!("WS_URL: \"wss://ws.{domain}\"")), "{served}");
    let revisited = run.events.iter().filter(|e| e["event"] == "step_started" && e["step"] == "05-frontend").count();
    assert_eq!(revisited, 2, "05 runs again after 06 within the same run");
}

#[tokio::test]
async fn a_re_run_makes_no_zone_certificate_record_or_mapping() {
    let d = Deployment::new("dom-rerun");
    d.deploy().assert_ok();
    assert_eq!(d.deploy().assert_ok().changed(), 0);
    let again = d.run(&["step", "06-domain"]);
    again.assert_ok();
    assert_eq!(again.changed(), 0, "{:?}", again.changes());
    assert_eq!(again.requests().1, 0, "no record change or other write");
    assert_eq!(inventory(&d.service).await, full_inventory(&d.service));
}

#[tokio::test]
async fn an_existing_zone_of_the_domain_is_reused() {
    let d = Deployment::new("dom-zone");
    let route53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let made = route53
        .create_hosted_zone()
        .name(format!("{}.com", d.service))
        .caller_reference("by-hand")
        .send()
        .await
        .unwrap();
    let id = made.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
    d.deploy().assert_ok();
    assert_eq!(output(&d, "06-domain", "zone_id"), id);
    assert_eq!(inventory(&d.service).await.zones, 1);
}

#[tokio::test]
async fn a_certificate_still_pending_fails_clearly_and_resume_finishes_once_it_is_issued() {
    let mut d = Deployment::new("dom-pending");
    d.endpoint = slow_acm_moto().url();
    let mut args = d.deploy_args();
    args.extend(["--cert-wait".to_string(), "1s".to_string()]);
    let pending = d.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(pending.code, 1, "{}", pending.stderr);
    for expected in ["is not issued after waiting 1 s", "ns-", "CNAME _", "acm-validations.aws", "deployer resume"] {
        assert!(pending.stderr.contains(expected), "missing {expected:?} in: {}", pending.stderr);
    }
    assert_eq!(d.state()["steps"]["06-domain"]["status"], "failed");
    assert!(d.state()["steps"]["06-domain"]["outputs"]["certificate_arn"].is_string(), "the certificate is recorded");

    std::thread::sleep(Duration::from_secs(SLOW_ACM_SECONDS));
    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    let created: Vec<String> =
        resumed.changes().into_iter().filter(|(_, a, _)| a == "created").map(|(r, _, _)| r).collect();
    assert!(!created.iter().any(|r| r.starts_with("certificate") || r.starts_with("hosted zone")), "{created:?}");
    assert_eq!(d.state()["steps"]["06-domain"]["status"], "done");
}

#[tokio::test]
async fn a_step_run_alone_names_the_steps_that_read_what_it_changed_and_resume_updates_them() {
    let d = Deployment::new("alone");
    d.deploy_without_domain().assert_ok();
    let step = d.run(&["step", "06-domain", "--domain", "alone.com"]);
    step.assert_ok();
    let said: Vec<&str> =
        step.events.iter().filter(|e| e["event"] == "notice").filter_map(|e| e["message"].as_str()).collect();
    let stale = said.iter().find(|m| m.contains("deployer resume")).unwrap_or_else(|| panic!("{said:?}"));
    assert!(stale.starts_with("05-frontend read"), "05 serves the endpoints 06 changed, and only it: {stale}");

    let resumed = d.run(&["resume"]);
    resumed.assert_ok();
    let reran: Vec<&str> =
        resumed.events.iter().filter(|e| e["event"] == "step_started").filter_map(|e| e["step"].as_str()).collect();
    assert!(reran.contains(&"05-frontend"), "{reran:?}");
    let bucket = d.state()["steps"]["05-frontend"]["outputs"]["bucket"].as_str().unwrap().to_string();
    let config = s3().await.get_object().bucket(&bucket).key("config.js").send().await.unwrap();
    let text = String::from_utf8(config.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    assert!(text.contains("https://api.alone.com"), "{text}");
}
