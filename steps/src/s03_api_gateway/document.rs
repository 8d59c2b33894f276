//! New paths in bulk: the routes whose paths the API lacks, as one OpenAPI 3.0 document put with one
//! PutRestApi (merge mode, failing on warnings). Resource by resource they would cost a CreateResource
//! (5/s) and two to four method calls each against API Gateway's 10 requests/s for the whole account:
//! 2,600 calls and four minutes for 300 paths, where PutRestApi (1/s) takes one. The methods come from the
//! same definition the calls use ([`super::methods::route_methods`]), and the step then ensures every
//! path and method as usual: the listing after the import finds them, and anything the import did not set
//! as wanted is put right one call at a time. A few new paths, or methods that need an authorizer or a
//! key, take the calls: their writes are few, or their details are the calls'.

use anyhow::Result;
use aws_sdk_apigateway::primitives::Blob;
use aws_sdk_apigateway::types::PutMode;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::methods::{route_methods, Access, Method, MethodAuth, MethodKind};
use super::resources::Listing;
use crate::aws::AwsContext;
use crate::ensure::{is_planned, Change, Recorder};
use crate::manual::{Route, INTEGRATION_TIMEOUT_MS};
use crate::step::Context;

/// The calls a document must save to be worth its PutRestApi (and the listing after it).
const FEWEST_CALLS_SAVED: usize = 20;

/// A method's calls one by one: PutMethod and PutIntegration, and for a preflight its method and
/// integration responses.
fn calls_of(kind: &MethodKind) -> usize {
    match kind {
        MethodKind::Proxy { .. } => 2,
        MethodKind::Cors { .. } => 4,
    }
}

/// The header a method response declares, by its `method.response.header.NAME` parameter.
fn header_name(parameter: &str) -> &str {
    parameter.trim_start_matches("method.response.header.")
}

/// One method as OpenAPI with API Gateway's extension, as the calls would put it.
fn operation(kind: &MethodKind) -> Value {
    match kind {
        MethodKind::Proxy { uri, .. } => json!({
            "responses": { "200": { "description": "the function's answer" } },
            "x-amazon-apigateway-integration": {
                "type": "AWS_PROXY",
                "httpMethod": "POST",
                "uri": uri,
                "timeoutInMillis": INTEGRATION_TIMEOUT_MS,
                "passthroughBehavior": "when_no_match",
            },
        }),
        MethodKind::Cors { any_origin, allow_methods } => {
            let headers: Map<String, Value> = Method::cors_declared()
                .keys()
                .map(|p| (header_name(p).to_string(), json!({ "schema": { "type": "string" } })))
                .collect();
            let mut answer = json!({
                "statusCode": "200",
                "responseParameters": Method::cors_values(*any_origin, allow_methods),
            });
            if let Some(template) = Method::cors_template(*any_origin) {
                answer["responseTemplates"] = json!({ "application/json": template });
            }
            json!({
                "responses": { "200": {
                    "description": "the CORS preflight",
                    "headers": headers,
                } },
                "x-amazon-apigateway-integration": {
                    "type": "MOCK",
                    "requestTemplates": { "application/json": r#"{"statusCode": 200}"# },
                    "passthroughBehavior": "when_no_match",
                    "responses": { "default": answer },
                },
            })
        }
    }
}

/// The path's `{name}` segments, declared as OpenAPI requires of every operation under it.
fn path_parameters(path: &str) -> Vec<Value> {
    let names = path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    names.map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })).collect()
}

/// The document of `routes`' paths and methods, titled as the API is named (merge mode keeps the rest).
pub(super) fn document(title: &str, methods: &BTreeMap<&str, Vec<(&str, MethodKind)>>) -> Value {
    let paths: Map<String, Value> = methods
        .iter()
        .map(|(path, verbs)| {
            let parameters = path_parameters(path);
            let operations: Map<String, Value> = verbs
                .iter()
                .map(|(verb, kind)| {
                    let mut operation = operation(kind);
                    // Per operation, not per path: a path-level key reads as one more verb to moto.
                    if !parameters.is_empty() {
                        operation["parameters"] = json!(parameters);
                    }
                    (verb.to_ascii_lowercase(), operation)
                })
                .collect();
            (path.to_string(), Value::Object(operations))
        })
        .collect();
    json!({
        "openapi": "3.0.1",
        "info": { "title": title, "version": "deployer" },
        "paths": paths,
    })
}

/// Puts the routes whose paths the API lacks with one PutRestApi when that saves enough calls, and
/// reports each path and method as created; false when it left them to the calls.
#[allow(clippy::too_many_arguments)]
pub(super) async fn import_new_paths(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    title: &str,
    routes: &[Route<'_>],
    listing: &Listing,
    access: &Access,
    partition: &str,
) -> Result<bool> {
    if recorder.planning() || is_planned(api_id) || access.auth != MethodAuth::open() {
        return Ok(false);
    }
    let mut methods: BTreeMap<&str, Vec<(&str, MethodKind)>> = BTreeMap::new();
    for route in routes.iter().filter(|r| !listing.ids.contains_key(r.path)) {
        methods.entry(route.path).or_default().extend(route_methods(ctx, route, access, partition)?);
    }
    let saved: usize = methods.values().map(|verbs| 1 + verbs.iter().map(|(_, k)| calls_of(k)).sum::<usize>()).sum();
    if saved < FEWEST_CALLS_SAVED {
        return Ok(false);
    }
    let body = serde_json::to_vec(&document(title, &methods))?;
    let put = ctx.aws.apigateway().put_rest_api().rest_api_id(api_id).mode(PutMode::Merge).fail_on_warnings(true);
    put.body(Blob::new(body))
        .send()
        .await
        .aws_context(|| format!("apigateway:PutRestApi {api_id} ({} new paths)", methods.len()))?;
    for (path, verbs) in &methods {
        recorder.report(&format!("resource {path}"), &Change::Created);
        for (verb, _) in verbs {
            recorder.report(&format!("method {verb} {path}"), &Change::Created);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preflight_declares_its_headers_and_answers_them_as_the_calls_do() {
        let kind = MethodKind::Cors { any_origin: false, allow_methods: "GET,OPTIONS".into() };
        let preflight = operation(&kind);
        let declared = preflight["responses"]["200"]["headers"].as_object().unwrap();
        let mut names: Vec<&str> = declared.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            ["Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Vary"]
        );
        let answer = &preflight["x-amazon-apigateway-integration"]["responses"]["default"];
        assert_eq!(answer["responseParameters"], json!(Method::cors_values(false, "GET,OPTIONS")));
        assert_eq!(answer["responseTemplates"]["application/json"], Method::cors_template(false).unwrap());
        let open = operation(&MethodKind::Cors { any_origin: true, allow_methods: "GET,OPTIONS".into() });
        assert!(open["x-amazon-apigateway-integration"]["responses"]["default"].get("responseTemplates").is_none());
    }

    #[test]
    fn a_proxy_method_invokes_its_function_with_post_and_the_integration_timeout() {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn/invocations".to_string();
        let proxy = operation(&MethodKind::Proxy { uri: uri.clone(), auth: MethodAuth::open() });
        let integration = &proxy["x-amazon-apigateway-integration"];
        assert_eq!(
            (integration["type"].as_str(), integration["httpMethod"].as_str()),
            (Some("AWS_PROXY"), Some("POST"))
        );
        assert_eq!(integration["uri"], uri);
        assert_eq!(integration["timeoutInMillis"], INTEGRATION_TIMEOUT_MS);
        let methods = BTreeMap::from([("/a/{id}", vec![("GET", MethodKind::Proxy { uri, auth: MethodAuth::open() })])]);
        let document = document("svc-rest-api", &methods);
        assert_eq!(document["paths"]["/a/{id}"]["get"]["parameters"][0]["name"], "id", "{document}");
        assert_eq!(document["openapi"], "3.0.1");
    }
}
