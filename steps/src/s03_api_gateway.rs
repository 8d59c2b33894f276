//! Manual section 2.3, "REST API (API Gateway)": step `03-api-gateway`.
//!
//! - REST API `SERVICE-rest-api`, REGIONAL. `CreateRestApi` has no idempotency token and names are not
//!   unique, so it is looked up by the ID recorded in state, then by name (all pages); several APIs of
//!   that name stop the step with their IDs. Its ID is recorded the moment it is created.
//! - The resources and methods of [`ROUTES`], each method an `AWS_PROXY` integration (POST, 29 s timeout,
//!   API Gateway's limit) to its function of `02-lambda`.
//! - CORS on every resource: `OPTIONS` with a MOCK integration whose 200 response carries
//!   `Access-Control-Allow-Origin/Headers/Methods`. The preflight answer is static and takes one origin:
//!   with `--domain` it is the canonical site `https://DOMAIN` (the frontend step serves `www.DOMAIN` by
//!   redirecting to it); without a domain, `*`. The functions answer the actual requests' CORS headers
//!   themselves (proxy integration), from their `CORS_ORIGIN` variable.
//! - `lambda:AddPermission` for `apigateway.amazonaws.com` once per function, statement `deployer-rest-api`,
//!   scoped with a SourceArn to this API (`arn:…:execute-api:REGION:ACCOUNT:API_ID/*/*/*`): without it
//!   API Gateway gets "Invalid permissions on Lambda function" and clients a 502, the manual's trouble case.
//! - A deployment to stage `--stage`, created only when the stage's deployment is not one of the wanted
//!   configuration (a digest of routes, integrations and CORS, kept in the deployment's description, so it
//!   is recognised whatever a kill interrupted). A re-run creates none.
//! - Stage throttling on all methods (`*/*`): `--throttle-rate` requests/s, `--throttle-burst`.
//!
//! AWS calls: `apigateway:GetRestApi`, `GetRestApis`, `CreateRestApi`, `UpdateRestApi`, `GetResources`,
//! `CreateResource`, `GetMethod`, `PutMethod`, `UpdateMethod`, `PutIntegration`, `PutMethodResponse`,
//! `DeleteMethodResponse`, `PutIntegrationResponse`, `CreateDeployment`, `GetStage`, `GetDeployment`, `UpdateStage`;
//! `lambda:GetPolicy`, `AddPermission`, `RemovePermission`.
//!
//! Outputs: `rest_api_id`, `root_resource_id`, `deployment_id`, `stage`,
//! `invoke_url` (`https://ID.execute-api.REGION.amazonaws.com/STAGE`), `cors_origin`.

use anyhow::{anyhow, Context as _, Result};
use async_trait::async_trait;
use aws_sdk_apigateway::types::{
    EndpointConfiguration, EndpointType, Integration, IntegrationType, MethodResponse, Op, PatchOperation,
};
use aws_smithy_types::retry::RetryConfig;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

use crate::apigw::{execute_api_host, lambda_integration_uri, the_one_named, InvokePermission};
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, is_planned, remove, Recorder, Resource, PLANNED};
use crate::package::hex;
use crate::s02_lambda::{self, function_arn_key};
use crate::settings::Settings;
use crate::step::{Context, Step, Teardown};

pub const ID: &str = "03-api-gateway";

/// One path of the REST API and the function behind its methods, as the manual has it.
pub struct RouteSpec {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub function: &'static str,
}

/// A route as deployed: the manual's, or deployer.toml's `[[routes]]`.
pub struct Route<'a> {
    pub path: &'a str,
    pub methods: Vec<&'a str>,
    /// The function's suffix, e.g. `conversation-api`.
    pub function: &'a str,
}

/// The routes to deploy: deployer.toml's when it has any, else the manual's.
pub fn routes(settings: &Settings) -> Vec<Route<'_>> {
    if settings.routes.is_empty() {
        return ROUTES
            .iter()
            .map(|r| Route { path: r.path, methods: r.methods.to_vec(), function: r.function })
            .collect();
    }
    let given = settings.routes.iter();
    given
        .map(|r| Route {
            path: &r.path,
            methods: r.methods.iter().map(String::as_str).collect(),
            function: &r.function,
        })
        .collect()
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { path: "/conversations", methods: &["GET", "POST"], function: "conversation-api" },
    RouteSpec { path: "/conversations/{id}", methods: &["GET", "PUT", "DELETE"], function: "conversation-api" },
    RouteSpec { path: "/prompts", methods: &["GET", "POST"], function: "prompt-crud" },
    RouteSpec { path: "/prompts/{id}", methods: &["GET", "PUT", "DELETE"], function: "prompt-crud" },
    RouteSpec { path: "/usage", methods: &["GET"], function: "usage-handler" },
];

/// API Gateway ends every integration after at most 29 s.
pub const INTEGRATION_TIMEOUT_MS: i32 = 29_000;
pub const CORS_ALLOW_HEADERS: &str = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token";
pub const PERMISSION_ID: &str = "deployer-rest-api";

/// The origin the preflight allows: `--cors-origin` when given, else the site's canonical origin, or `*`
/// without a domain. API Gateway's preflight answer is static, so it names one origin.
pub fn cors_origin(settings: &Settings) -> String {
    if let Some(origin) = &settings.cors_origin {
        return origin.clone();
    }
    settings.domain.as_deref().map_or_else(|| "*".to_string(), |d| format!("https://{d}"))
}

pub struct ApiGateway;

#[async_trait(?Send)]
impl Step for ApiGateway {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "2.3 REST API (API Gateway)"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["stage", "domain", "cors_origin", "routes", "throttle_rate", "throttle_burst"])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[s02_lambda::ID]
    }

    /// The API with everything in it (resources, routes, integrations, stages, deployments).
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        remove(&RestApi { ctx, name: ctx.name("rest-api") }, recorder).await
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let identity = ctx.aws.identity().await?;
        let (region, partition, account) = (&ctx.settings.region, &identity.partition, &identity.account);
        let api = ensure(&RestApi { ctx, name: ctx.name("rest-api") }, recorder).await?;
        let root = match &api.root_resource_id {
            Some(root) => root.clone(),
            None => existing_resources(ctx, &api.id)
                .await?
                .remove("/")
                .ok_or_else(|| anyhow!("REST API {} has no root resource", api.id))?,
        };
        record_if_changed(recorder, "root_resource_id", &root)?;

        let routes = routes(ctx.settings);
        let resource_ids = ensure_resource_tree(ctx, recorder, &api.id, &root, &routes).await?;
        let origin = cors_origin(ctx.settings);
        let mut methods = Vec::new();
        for route in &routes {
            let function_arn = ctx.output(s02_lambda::ID, &function_arn_key(route.function))?;
            let uri = lambda_integration_uri(region, partition, function_arn);
            let resource_id = &resource_ids[route.path];
            for verb in &route.methods {
                methods.push(Method {
                    ctx,
                    api_id: &api.id,
                    resource_id,
                    path: route.path,
                    verb,
                    kind: MethodKind::Proxy { uri: uri.clone() },
                });
            }
            let allow_methods = route.methods.iter().copied().chain(["OPTIONS"]).collect::<Vec<_>>().join(",");
            methods.push(Method {
                ctx,
                api_id: &api.id,
                resource_id,
                path: route.path,
                verb: "OPTIONS",
                kind: MethodKind::Cors { origin: origin.clone(), allow_methods },
            });
        }
        all(methods.iter().map(|m| ensure(m, recorder))).await?;

        let functions: BTreeSet<&str> = routes.iter().map(|r| r.function).collect();
        let source_arn = format!("arn:{partition}:execute-api:{region}:{account}:{}/*/*/*", api.id);
        let permissions: Vec<InvokePermission> = functions
            .into_iter()
            .map(|f| InvokePermission {
                ctx,
                function_name: ctx.name(f),
                statement_id: PERMISSION_ID,
                source_arn: source_arn.clone(),
            })
            .collect();
        all(permissions.iter().map(|p| ensure(p, recorder))).await?;

        let stage = &ctx.settings.stage;
        let config = configuration_digest(&methods);
        let deployment_id = ensure(&Deployment { ctx, api_id: &api.id, stage, config: &config }, recorder).await?;
        ensure(&StageThrottling { ctx, api_id: &api.id, stage, deployment_id: &deployment_id }, recorder).await?;

        record_if_changed(recorder, "stage", stage)?;
        record_if_changed(recorder, "invoke_url", &format!("https://{}/{stage}", execute_api_host(&api.id, region)))?;
        record_if_changed(recorder, "cors_origin", &origin)?;
        Ok(())
    }
}

pub(crate) fn record_if_changed(recorder: &dyn Recorder, key: &str, value: &str) -> Result<()> {
    if recorder.recorded(key).as_deref() == Some(value) {
        return Ok(());
    }
    recorder.record(key, value)
}

/// What the deployed API should be; a new deployment is made when this changes.
fn configuration_digest(methods: &[Method<'_>]) -> String {
    let described: Vec<_> = methods
        .iter()
        .map(|m| match &m.kind {
            MethodKind::Proxy { uri } => {
                json!([m.path, m.verb, "AWS_PROXY", uri, INTEGRATION_TIMEOUT_MS])
            }
            MethodKind::Cors { origin, allow_methods } => {
                json!([m.path, m.verb, "MOCK", origin, allow_methods, CORS_ALLOW_HEADERS])
            }
        })
        .collect();
    hex(&Sha256::digest(json!(described).to_string()))
}

async fn existing_resources(ctx: &Context<'_>, api_id: &str) -> Result<HashMap<String, String>> {
    if is_planned(api_id) {
        return Ok(HashMap::new());
    }
    let pages = ctx.aws.apigateway().get_resources().rest_api_id(api_id).limit(500).into_paginator().items().send();
    let resources =
        pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| format!("apigateway:GetResources {api_id}"))?;
    Ok(resources.into_iter().filter_map(|r| Some((r.path?, r.id?))).collect())
}

/// Ensures every route's path, parents before children; returns path → resource ID.
async fn ensure_resource_tree<'r>(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    root: &str,
    routes: &[Route<'r>],
) -> Result<HashMap<String, String>> {
    let existing = existing_resources(ctx, api_id).await?;
    let mut ids: HashMap<String, String> = HashMap::from([("/".to_string(), root.to_string())]);
    let depth = |path: &str| path.matches('/').count();
    // Every route's path and the paths above it (`/status/{id}` needs `/status`).
    let all_paths: BTreeSet<&str> = routes
        .iter()
        .flat_map(|r| {
            let path: &'r str = r.path;
            path.match_indices('/').skip(1).map(move |(i, _)| &path[..i]).chain([path])
        })
        .collect();
    let deepest = all_paths.iter().map(|p| depth(p)).max().unwrap_or(0);
    for level in 1..=deepest {
        let paths: BTreeSet<&str> = all_paths.iter().copied().filter(|p| depth(p) == level).collect();
        let mut wanted = Vec::new();
        for path in paths {
            let (parent, part) = path.rsplit_once('/').unwrap_or(("", path));
            let parent_id = ids
                .get(if parent.is_empty() { "/" } else { parent })
                .cloned()
                .with_context(|| format!("no parent resource for {path}"))?;
            wanted.push(PathResource {
                ctx,
                api_id,
                path,
                part,
                parent_id,
                existing: existing.get(path).cloned(),
                listed: Default::default(),
            });
        }
        let made = all(wanted.iter().map(|r| ensure(r, recorder))).await?;
        ids.extend(wanted.iter().map(|r| r.path.to_string()).zip(made));
    }
    Ok(ids)
}

struct RestApi<'a> {
    ctx: &'a Context<'a>,
    name: String,
}

struct LiveApi {
    id: String,
    root_resource_id: Option<String>,
    regional: bool,
}

fn is_regional(config: Option<&EndpointConfiguration>) -> bool {
    config.is_some_and(|c| c.types() == [EndpointType::Regional])
}

impl Resource for RestApi<'_> {
    type Live = LiveApi;

    fn planned(&self) -> Option<LiveApi> {
        Some(LiveApi { id: PLANNED.into(), root_resource_id: Some(PLANNED.into()), regional: true })
    }

    fn label(&self) -> String {
        format!("REST API {}", self.name)
    }

    async fn delete(&self, live: LiveApi) -> Result<()> {
        let deleted = self.ctx.aws.apigateway().delete_rest_api().rest_api_id(&live.id).send().await;
        deleted.aws_context(|| format!("apigateway:DeleteRestApi {}", live.id))?;
        Ok(())
    }

    fn key(&self) -> Option<String> {
        Some("rest_api_id".into())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveApi>> {
        let client = self.ctx.aws.apigateway();
        if let Some(id) = recorded {
            let got = absent_if(client.get_rest_api().rest_api_id(id).send().await, |e| e.is_not_found_exception())
                .aws_context(|| format!("apigateway:GetRestApi {id}"))?;
            if let Some(api) = got.filter(|a| a.name() == Some(self.name.as_str())) {
                return Ok(Some(LiveApi {
                    id: id.to_string(),
                    root_resource_id: api.root_resource_id().map(str::to_string),
                    regional: is_regional(api.endpoint_configuration()),
                }));
            }
        }
        let pages = client.get_rest_apis().limit(500).into_paginator().items().send();
        let apis = pages.collect::<Result<Vec<_>, _>>().await.aws_context(|| "apigateway:GetRestApis".to_string())?;
        let named: Vec<_> = apis.into_iter().filter(|a| a.name() == Some(self.name.as_str())).collect();
        let ids = named.iter().filter_map(|a| a.id().map(str::to_string)).collect();
        let Some(id) = the_one_named("REST API", &self.name, ids)? else {
            return Ok(None);
        };
        let api = named.iter().find(|a| a.id() == Some(id.as_str()));
        Ok(Some(LiveApi {
            root_resource_id: api.and_then(|a| a.root_resource_id()).map(str::to_string),
            regional: is_regional(api.and_then(|a| a.endpoint_configuration())),
            id,
        }))
    }

    async fn create(&self) -> Result<LiveApi> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_rest_api()
            .name(&self.name)
            .description(format!("REST API of {} (managed by deployer)", self.ctx.settings.service))
            .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Regional).build())
            // No idempotency token: a retry after a lost answer would make a second API. `ensure` looks first.
            .customize()
            .config_override(aws_sdk_apigateway::Config::builder().retry_config(RetryConfig::disabled()))
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateRestApi {}", self.name))?;
        Ok(LiveApi {
            id: created.id().context("CreateRestApi returned no ID")?.to_string(),
            root_resource_id: created.root_resource_id().map(str::to_string),
            regional: is_regional(created.endpoint_configuration()),
        })
    }

    fn id(&self, live: &LiveApi) -> String {
        live.id.clone()
    }

    fn differences(&self, live: &LiveApi) -> Result<Vec<&'static str>> {
        Ok(if live.regional { vec![] } else { vec!["endpoint_type"] })
    }

    async fn update(&self, mut live: LiveApi, _fields: &[&'static str]) -> Result<LiveApi> {
        let client = self.ctx.aws.apigateway();
        let api = client
            .get_rest_api()
            .rest_api_id(&live.id)
            .send()
            .await
            .aws_context(|| format!("apigateway:GetRestApi {}", live.id))?;
        let current =
            api.endpoint_configuration().and_then(|c| c.types().first()).map_or("EDGE", |t| t.as_str()).to_string();
        let patch = PatchOperation::builder()
            .op(Op::Replace)
            .path(format!("/endpointConfiguration/types/{current}"))
            .value("REGIONAL")
            .build();
        client
            .update_rest_api()
            .rest_api_id(&live.id)
            .patch_operations(patch)
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateRestApi {} (endpoint type)", live.id))?;
        live.regional = true;
        Ok(live)
    }
}

/// A path of the API, found by its path among the API's resources.
struct PathResource<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    path: &'a str,
    part: &'a str,
    parent_id: String,
    /// From the listing taken at the start of the step; a later look (after a failed create) lists again.
    existing: Option<String>,
    listed: std::cell::Cell<bool>,
}

impl Resource for PathResource<'_> {
    type Live = String;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id) || is_planned(&self.parent_id)
    }

    fn planned(&self) -> Option<String> {
        Some(PLANNED.into())
    }

    fn label(&self) -> String {
        format!("resource {}", self.path)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<String>> {
        if !self.listed.replace(true) {
            return Ok(self.existing.clone());
        }
        Ok(existing_resources(self.ctx, self.api_id).await?.remove(self.path))
    }

    async fn create(&self) -> Result<String> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_resource()
            .rest_api_id(self.api_id)
            .parent_id(&self.parent_id)
            .path_part(self.part)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateResource {}", self.path))?;
        created.id.context("CreateResource returned no ID")
    }

    fn id(&self, live: &String) -> String {
        live.clone()
    }
}

enum MethodKind {
    /// `AWS_PROXY` to a Lambda function.
    Proxy { uri: String },
    /// The CORS preflight: MOCK integration answering 200 with the CORS headers.
    Cors { origin: String, allow_methods: String },
}

struct Method<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    resource_id: &'a str,
    path: &'a str,
    verb: &'a str,
    kind: MethodKind,
}

struct LiveMethod {
    authorization: Option<String>,
    integration: Option<Integration>,
    responses: HashMap<String, MethodResponse>,
}

const ORIGIN_HEADER: &str = "method.response.header.Access-Control-Allow-Origin";
const HEADERS_HEADER: &str = "method.response.header.Access-Control-Allow-Headers";
const METHODS_HEADER: &str = "method.response.header.Access-Control-Allow-Methods";

impl Method<'_> {
    /// Integration response header values (static values are quoted).
    fn cors_values(origin: &str, allow_methods: &str) -> HashMap<String, String> {
        HashMap::from([
            (ORIGIN_HEADER.to_string(), format!("'{origin}'")),
            (HEADERS_HEADER.to_string(), format!("'{CORS_ALLOW_HEADERS}'")),
            (METHODS_HEADER.to_string(), format!("'{allow_methods}'")),
        ])
    }

    fn cors_declared() -> HashMap<String, bool> {
        [ORIGIN_HEADER, HEADERS_HEADER, METHODS_HEADER].into_iter().map(|h| (h.to_string(), false)).collect()
    }

    fn integration_matches(&self, integration: Option<&Integration>) -> bool {
        let Some(i) = integration else { return false };
        match &self.kind {
            MethodKind::Proxy { uri } => {
                i.r#type() == Some(&IntegrationType::AwsProxy)
                    && i.http_method() == Some("POST")
                    && i.uri() == Some(uri.as_str())
                    && i.timeout_in_millis() == INTEGRATION_TIMEOUT_MS
            }
            MethodKind::Cors { .. } => i.r#type() == Some(&IntegrationType::Mock),
        }
    }

    fn label_detail(&self) -> String {
        format!("{} {}", self.verb, self.path)
    }

    async fn put_integration(&self) -> Result<()> {
        let request = self
            .ctx
            .aws
            .apigateway()
            .put_integration()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb);
        let request = match &self.kind {
            MethodKind::Proxy { uri } => request
                .r#type(IntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(uri)
                .timeout_in_millis(INTEGRATION_TIMEOUT_MS),
            MethodKind::Cors { .. } => {
                request.r#type(IntegrationType::Mock).request_templates("application/json", r#"{"statusCode": 200}"#)
            }
        };
        request.send().await.aws_context(|| format!("apigateway:PutIntegration {}", self.label_detail()))?;
        Ok(())
    }

    async fn put_method_response(&self, exists: bool) -> Result<()> {
        let client = self.ctx.aws.apigateway();
        if exists {
            // A method response cannot be put over an existing one.
            client
                .delete_method_response()
                .rest_api_id(self.api_id)
                .resource_id(self.resource_id)
                .http_method(self.verb)
                .status_code("200")
                .send()
                .await
                .aws_context(|| format!("apigateway:DeleteMethodResponse {}", self.label_detail()))?;
        }
        client
            .put_method_response()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .status_code("200")
            .set_response_parameters(Some(Self::cors_declared()))
            .response_models("application/json", "Empty")
            .send()
            .await
            .aws_context(|| format!("apigateway:PutMethodResponse {}", self.label_detail()))?;
        Ok(())
    }

    async fn put_integration_response(&self, origin: &str, allow_methods: &str) -> Result<()> {
        self.ctx
            .aws
            .apigateway()
            .put_integration_response()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .status_code("200")
            .set_response_parameters(Some(Self::cors_values(origin, allow_methods)))
            // No body template: the preflight needs none, and moto stores an empty one as null, which
            // then breaks the SDK's parsing of every GetResources/GetMethod of the API.
            .send()
            .await
            .aws_context(|| format!("apigateway:PutIntegrationResponse {}", self.label_detail()))?;
        Ok(())
    }
}

impl Resource for Method<'_> {
    type Live = LiveMethod;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id) || is_planned(self.resource_id)
    }

    fn planned(&self) -> Option<LiveMethod> {
        Some(LiveMethod { authorization: None, integration: None, responses: HashMap::new() })
    }

    fn label(&self) -> String {
        format!("method {}", self.label_detail())
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveMethod>> {
        let got = self
            .ctx
            .aws
            .apigateway()
            .get_method()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .send()
            .await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetMethod {}", self.label_detail()))?;
        Ok(got.map(|m| LiveMethod {
            authorization: m.authorization_type().map(str::to_string),
            integration: m.method_integration().cloned(),
            responses: m.method_responses().cloned().unwrap_or_default(),
        }))
    }

    async fn create(&self) -> Result<LiveMethod> {
        let put = self
            .ctx
            .aws
            .apigateway()
            .put_method()
            .rest_api_id(self.api_id)
            .resource_id(self.resource_id)
            .http_method(self.verb)
            .authorization_type("NONE")
            .send()
            .await
            .aws_context(|| format!("apigateway:PutMethod {}", self.label_detail()))?;
        Ok(LiveMethod {
            authorization: put.authorization_type().map(str::to_string),
            integration: None,
            responses: HashMap::new(),
        })
    }

    fn id(&self, _live: &LiveMethod) -> String {
        self.label_detail()
    }

    fn differences(&self, live: &LiveMethod) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        if live.authorization.as_deref() != Some("NONE") {
            fields.push("authorization");
        }
        if !self.integration_matches(live.integration.as_ref()) {
            fields.push("integration");
        }
        if let MethodKind::Cors { origin, allow_methods } = &self.kind {
            let declared = live.responses.get("200").and_then(|r| r.response_parameters());
            if declared != Some(&Self::cors_declared()) {
                fields.push("method_response");
            }
            let answered = live
                .integration
                .as_ref()
                .and_then(|i| i.integration_responses())
                .and_then(|r| r.get("200"))
                .and_then(|r| r.response_parameters());
            if answered != Some(&Self::cors_values(origin, allow_methods)) {
                fields.push("integration_response");
            }
        }
        Ok(fields)
    }

    async fn update(&self, live: LiveMethod, fields: &[&'static str]) -> Result<LiveMethod> {
        if fields.contains(&"authorization") {
            let patch = PatchOperation::builder().op(Op::Replace).path("/authorizationType").value("NONE").build();
            self.ctx
                .aws
                .apigateway()
                .update_method()
                .rest_api_id(self.api_id)
                .resource_id(self.resource_id)
                .http_method(self.verb)
                .patch_operations(patch)
                .send()
                .await
                .aws_context(|| format!("apigateway:UpdateMethod {}", self.label_detail()))?;
        }
        if fields.contains(&"integration") {
            self.put_integration().await?;
        }
        if let MethodKind::Cors { origin, allow_methods } = &self.kind {
            if fields.contains(&"method_response") {
                self.put_method_response(live.responses.contains_key("200")).await?;
            }
            // A replaced integration loses its responses, so they are put again with it.
            if fields.contains(&"integration_response") || fields.contains(&"integration") {
                self.put_integration_response(origin, allow_methods).await?;
            }
        }
        // What is live now is what the step wants; read it back only if a caller ever needs more.
        self.find(None).await?.context("the method vanished while it was being updated")
    }
}

/// The deployment of the wanted configuration on the stage. Its description names the configuration's
/// digest, so it is found on the stage whatever moment a kill interrupted the step at.
struct Deployment<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    stage: &'a str,
    config: &'a str,
}

impl Deployment<'_> {
    fn description(&self) -> String {
        format!("deployer: configuration {}", &self.config[..16])
    }
}

impl Resource for Deployment<'_> {
    type Live = String;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<String> {
        Some(PLANNED.into())
    }

    fn label(&self) -> String {
        format!("deployment of {} to stage {}", self.api_id, self.stage)
    }

    fn key(&self) -> Option<String> {
        Some("deployment_id".into())
    }

    /// The stage's deployment counts only if it was made from the wanted configuration.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<String>> {
        let client = self.ctx.aws.apigateway();
        let stage = client.get_stage().rest_api_id(self.api_id).stage_name(self.stage).send().await;
        let stage = absent_if(stage, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetStage {} {}", self.api_id, self.stage))?;
        let Some(id) = stage.and_then(|s| s.deployment_id) else {
            return Ok(None);
        };
        let deployment = client.get_deployment().rest_api_id(self.api_id).deployment_id(&id).send().await;
        let deployment = absent_if(deployment, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetDeployment {} {id}", self.api_id))?;
        Ok(deployment.filter(|d| d.description() == Some(self.description().as_str())).map(|_| id))
    }

    async fn create(&self) -> Result<String> {
        let created = self
            .ctx
            .aws
            .apigateway()
            .create_deployment()
            .rest_api_id(self.api_id)
            .stage_name(self.stage)
            .description(self.description())
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateDeployment {} to stage {}", self.api_id, self.stage))?;
        created.id.context("CreateDeployment returned no ID")
    }

    fn id(&self, live: &String) -> String {
        live.clone()
    }
}

/// The stage's throttling for every method (`*/*`); creates the stage on the deployment if missing.
pub(crate) struct StageThrottling<'a> {
    pub ctx: &'a Context<'a>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub deployment_id: &'a str,
}

type LiveStage = aws_sdk_apigateway::operation::get_stage::GetStageOutput;

impl Resource for StageThrottling<'_> {
    type Live = LiveStage;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id) || is_planned(self.deployment_id)
    }

    fn planned(&self) -> Option<LiveStage> {
        Some(LiveStage::builder().build())
    }

    fn label(&self) -> String {
        format!("stage {} throttling", self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveStage>> {
        let stage = self.ctx.aws.apigateway().get_stage().rest_api_id(self.api_id).stage_name(self.stage).send().await;
        absent_if(stage, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetStage {} {}", self.api_id, self.stage))
    }

    async fn create(&self) -> Result<LiveStage> {
        self.ctx
            .aws
            .apigateway()
            .create_stage()
            .rest_api_id(self.api_id)
            .stage_name(self.stage)
            .deployment_id(self.deployment_id)
            .send()
            .await
            .aws_context(|| format!("apigateway:CreateStage {} {}", self.api_id, self.stage))?;
        self.find(None).await?.context("the stage vanished right after it was created")
    }

    fn id(&self, _live: &LiveStage) -> String {
        self.stage.to_string()
    }

    fn differences(&self, live: &LiveStage) -> Result<Vec<&'static str>> {
        let s = self.ctx.settings;
        let all_methods = live.method_settings().and_then(|m| m.get("*/*"));
        let matches = all_methods.is_some_and(|m| {
            m.throttling_rate_limit() == f64::from(s.throttle_rate)
                && m.throttling_burst_limit() == s.throttle_burst as i32
        });
        Ok(if matches { vec![] } else { vec!["throttling"] })
    }

    async fn update(&self, _live: LiveStage, _fields: &[&'static str]) -> Result<LiveStage> {
        let s = self.ctx.settings;
        let patch =
            |path: &str, value: String| PatchOperation::builder().op(Op::Replace).path(path).value(value).build();
        self.ctx
            .aws
            .apigateway()
            .update_stage()
            .rest_api_id(self.api_id)
            .stage_name(self.stage)
            .patch_operations(patch("/*/*/throttling/rateLimit", s.throttle_rate.to_string()))
            .patch_operations(patch("/*/*/throttling/burstLimit", s.throttle_burst.to_string()))
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateStage {} {} (throttling)", self.api_id, self.stage))?;
        self.find(None).await?.context("the stage vanished while it was being updated")
    }
}
