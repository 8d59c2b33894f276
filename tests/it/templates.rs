//! Every mapping template deployer writes, read back from the deployed REST API and run by Apache Velocity
//! 1.7 with API Gateway's objects: each parses, and the CORS preflight echoes exactly the listed origins.

use aws_sdk_apigateway::types::Method;
use std::collections::BTreeMap;

use crate::support::{output, sdk_config, Deployment};
use crate::velocity::{engine, Engine, Request};

/// (where, template) for every request and integration-response template of the API's methods.
fn templates_of(path: &str, method: &Method) -> Vec<(String, String)> {
    let verb = method.http_method().unwrap_or_default();
    let Some(integration) = method.method_integration() else { return Vec::new() };
    let mut found = Vec::new();
    for (content_type, template) in integration.request_templates().into_iter().flatten() {
        found.push((format!("{verb} {path} request {content_type}"), template.clone()));
    }
    for (status, response) in integration.integration_responses().into_iter().flatten() {
        for (content_type, template) in response.response_templates().into_iter().flatten() {
            found.push((format!("{verb} {path} response {status} {content_type}"), template.clone()));
        }
    }
    found
}

fn preflight(stage: &BTreeMap<String, String>, origin_header: Option<(&str, &str)>) -> Request {
    Request {
        headers: origin_header.map(|(k, v)| (k.to_string(), v.to_string())).into_iter().collect(),
        stage_variables: stage.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ..Request::default()
    }
}

/// The `Access-Control-Allow-Origin` the browser gets: the template's override, else the integration
/// response's mapping (`stageVariables.corsOrigin`).
fn allowed_origin(engine: &Engine, template: &str, stage: &BTreeMap<String, String>, origin: Option<&str>) -> String {
    let rendered = engine.render(template, &preflight(stage, origin.map(|o| ("Origin", o)))).unwrap();
    rendered.headers.get("Access-Control-Allow-Origin").cloned().unwrap_or_else(|| stage["corsOrigin"].clone())
}

#[tokio::test]
async fn every_mapping_template_parses_under_apache_velocity_and_the_preflight_echoes_only_listed_origins() {
    let engine = engine();
    let d = Deployment::new("vtl");
    d.deploy().assert_ok();
    let domain = format!("{}.com", d.service);
    let api_id = output(&d, "03-api-gateway", "rest_api_id");
    let client = aws_sdk_apigateway::Client::new(&sdk_config().await);
    let resources = client.get_resources().rest_api_id(&api_id).embed("methods").limit(500).send().await.unwrap();
    let mut templates = Vec::new();
    let mut preflights = Vec::new();
    for resource in resources.items() {
        let path = resource.path().unwrap_or_default();
        for (verb, method) in resource.resource_methods().into_iter().flatten() {
            for (place, template) in templates_of(path, method) {
                if verb == "OPTIONS" && place.contains("response 200") {
                    preflights.push(template.clone());
                }
                templates.push((place, template));
            }
        }
    }
    let routes = resources.items().iter().filter(|r| r.resource_methods().is_some_and(|m| m.contains_key("OPTIONS")));
    assert_eq!(preflights.len(), routes.count(), "one echo template per preflight");
    for (place, template) in &templates {
        if let Err(why) = engine.parses(template) {
            panic!("{place}: Velocity cannot run it: {why}\n{template}");
        }
    }
    // The MOCK preflight's request template picks its 200 answer.
    for (place, template) in templates.iter().filter(|(p, _)| p.starts_with("OPTIONS") && p.contains("request")) {
        let body = engine.render(template, &Request::default()).unwrap().body;
        let chosen: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(chosen["statusCode"], 200, "{place}: {body}");
    }

    for stage_name in ["prod", "dev"] {
        let stage = client.get_stage().rest_api_id(&api_id).stage_name(stage_name).send().await.unwrap();
        let variables: BTreeMap<String, String> = stage.variables().unwrap().clone().into_iter().collect();
        let listed: Vec<&str> = variables["corsOrigins"].split(',').collect();
        assert!(listed.contains(&format!("https://{domain}").as_str()), "{stage_name}: {listed:?}");
        let first = variables["corsOrigin"].clone();
        for template in &preflights {
            for origin in &listed {
                assert_eq!(&allowed_origin(engine, template, &variables, Some(origin)), origin, "{stage_name}");
                let lower = engine.render(template, &preflight(&variables, Some(("origin", origin)))).unwrap();
                assert_eq!(lower.headers["Access-Control-Allow-Origin"], *origin, "an HTTP/2 client's `origin`");
            }
            for refused in [
                format!("https://{domain}.evil.net"),
                format!("https://evil.{domain}"),
                "https://evil.net".to_string(),
                format!("https://{domain},https://evil.net"),
                "null".to_string(),
            ] {
                assert_eq!(allowed_origin(engine, template, &variables, Some(&refused)), first, "{refused} refused");
            }
            let none = engine.render(template, &preflight(&variables, None)).unwrap();
            assert!(none.headers.is_empty() && none.status.is_none(), "no Origin, no echo: {none:?}");
        }
    }
    if d.run(&["run"]).assert_ok().requests().1 != 0 {
        panic!("a re-run writes nothing");
    }
}
