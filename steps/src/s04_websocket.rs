//! Manual section 2.4, "WebSocket API (API Gateway v2)": step `04-websocket`.
//!
//! - WebSocket API `SERVICE-websocket-api`, route selection `$request.body.action`, the routes of
//!   [`crate::manual::WEBSOCKET_ROUTES`]; looked up like the REST
//!   API (recorded ID, then name; several of that name stop the step), its ID recorded once created.
//! - One `AWS_PROXY` integration per function (`SERVICE-websocket-connect`, `-disconnect`, `-message`),
//!   found by its integration URI; routes `$connect`, `$disconnect`, `$default`, found by route key, each
//!   targeting its integration.
//! - `lambda:AddPermission` for `apigateway.amazonaws.com`, statement `deployer-websocket-api`, scoped to
//!   this API (`arn:…:execute-api:REGION:ACCOUNT:API_ID/*`).
//! - Stage `--stage` with auto-deploy ([`crate::apigw::AutoDeployStage`], shared with `07-stages`), so API Gateway deploys every change itself (and the step needs no
//!   `CreateDeployment`, which moto lacks), default route throttling (`--throttle-rate`,
//!   `--throttle-burst`) and the stage variables of `07-stages` set at creation. An existing stage is changed only if it drifted (`UpdateStage`).
//! - The message function gets `CONNECTIONS_TABLE` and `WEBSOCKET_MANAGEMENT_ENDPOINT`
//!   (`https://ID.execute-api.REGION.amazonaws.com/STAGE`, for `PostToConnection`) in its environment.
//!
//! AWS calls: `apigatewayv2:GetApi`, `GetApis`, `CreateApi`, `UpdateApi`, `GetIntegrations`,
//! `CreateIntegration`, `UpdateIntegration`, `GetRoutes`, `CreateRoute`, `UpdateRoute`, `GetStage`,
//! `CreateStage`, `UpdateStage`; `lambda:GetPolicy`, `AddPermission`, `RemovePermission`, `GetFunction`,
//! `UpdateFunctionConfiguration`.
//!
//! Outputs: `websocket_api_id`, `stage`, `websocket_url` (`wss://ID.execute-api.REGION.amazonaws.com/STAGE`),
//! `management_endpoint`.

use anyhow::{Context as _, Result};
use async_trait::async_trait;
use aws_sdk_apigatewayv2::types::{Api, Integration, IntegrationType, ProtocolType, Route};
use aws_smithy_types::retry::RetryConfig;
use std::collections::HashMap;
use std::future::Future;

use crate::apigw::access_logs;
use crate::apigw::{
    ensure_invoke_permissions, ensure_websocket_stage, execute_api_host, lambda_integration_uri, the_one_named,
};
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, is_planned, record_if_changed, remove, Recorder, Resource, PLANNED};
use crate::lambda::FunctionEnvironment;
use crate::manual::{ids, stage_variables, INTEGRATION_TIMEOUT_MS, WEBSOCKET_ROUTES, WEBSOCKET_ROUTE_SELECTION};
use crate::outputs;
use crate::step::{Context, Step, Teardown};

pub const ID: &str = ids::WEBSOCKET;
pub const PERMISSION_ID: &str = "deployer-websocket-api";

pub struct WebSocket;

#[async_trait(?Send)]
impl Step for WebSocket {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "2.4 WebSocket API (API Gateway v2)"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["stage", "throttle_rate", "throttle_burst", "log_retention_days"])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[ids::LAMBDA]
    }

    /// The API with everything in it (resources, routes, integrations, stages, deployments).
    /// The API, then its access log groups (which a late request would otherwise make again).
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        remove(&WebSocketApi { ctx, name: ctx.name("websocket-api") }, recorder).await?;
        match ctx.get_optional(&outputs::WEBSOCKET_API_ID) {
            Some(api_id) => access_logs::delete_log_groups(ctx, recorder, api_id).await,
            None => Ok(()),
        }
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let identity = ctx.aws.identity().await?;
        let (region, partition, account) = (&ctx.settings.region, &identity.partition, &identity.account);
        let api = ensure(&WebSocketApi { ctx, name: ctx.name("websocket-api") }, recorder).await?;
        let api_id = api.id.as_str();

        ensure_routes(ctx, recorder, api_id, partition).await?;
        let source_arn = format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/*");
        let functions = WEBSOCKET_ROUTES.iter().map(|(_, f)| *f);
        ensure_invoke_permissions(ctx, recorder, functions, PERMISSION_ID, &source_arn).await?;

        let stage = &ctx.settings.stage;
        ensure(&access_logs::log_groups(ctx, api_id, "WebSocket"), recorder).await?;
        ensure_websocket_stage(ctx, recorder, api_id, stage, stage_variables(stage)).await?;

        let host = execute_api_host(api_id, region);
        let management_endpoint = format!("https://{host}/{stage}");
        let environment = FunctionEnvironment {
            ctx,
            function_name: ctx.name("websocket-message"),
            variables: HashMap::from([
                ("CONNECTIONS_TABLE".to_string(), ctx.name("websocket-connections")),
                ("WEBSOCKET_MANAGEMENT_ENDPOINT".to_string(), management_endpoint.clone()),
            ]),
        };
        ensure(&environment, recorder).await?;

        record_if_changed(recorder, outputs::STAGE_KEY, stage)?;
        record_if_changed(recorder, &outputs::WEBSOCKET_URL.key, &format!("wss://{host}/{stage}"))?;
        record_if_changed(recorder, &outputs::MANAGEMENT_ENDPOINT.key, &management_endpoint)?;
        Ok(())
    }
}

/// One `AWS_PROXY` integration per function, and each route key targeting its integration.
async fn ensure_routes(ctx: &Context<'_>, recorder: &dyn Recorder, api_id: &str, partition: &str) -> Result<()> {
    let region = &ctx.settings.region;
    let integrations = list_integrations(ctx, api_id).await?;
    let mut wanted = Vec::new();
    for (_, function) in WEBSOCKET_ROUTES {
        let (target, _) = ctx.invoke_target(function)?;
        let uri = lambda_integration_uri(region, partition, target);
        let existing = integrations.iter().find(|i| i.integration_uri() == Some(uri.as_str())).cloned();
        wanted.push(ProxyIntegration { ctx, api_id, function, uri, existing, listed: Default::default() });
    }
    let made = all(wanted.iter().map(|i| ensure(i, recorder))).await?;

    let routes = list_routes(ctx, api_id).await?;
    let wanted_routes: Vec<WebSocketRoute> = WEBSOCKET_ROUTES
        .iter()
        .zip(&made)
        .map(|((key, _), integration)| WebSocketRoute {
            ctx,
            api_id,
            key,
            target: format!("integrations/{}", integration.integration_id().unwrap_or_default()),
            existing: routes.iter().find(|r| r.route_key() == Some(*key)).cloned(),
            listed: Default::default(),
        })
        .collect();
    all(wanted_routes.iter().map(|r| ensure(r, recorder))).await?;
    Ok(())
}

/// Every page of a `next_token`-paginated v2 listing (the SDK has no paginator for these).
async fn all_pages<T, Fut>(mut page: impl FnMut(Option<String>) -> Fut) -> Result<Vec<T>>
where
    Fut: Future<Output = Result<(Vec<T>, Option<String>)>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (batch, next) = page(token).await?;
        items.extend(batch);
        match next {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}

async fn list_integrations(ctx: &Context<'_>, api_id: &str) -> Result<Vec<Integration>> {
    if is_planned(api_id) {
        return Ok(Vec::new());
    }
    all_pages(|token| async move {
        let out = ctx.aws.apigatewayv2().get_integrations().api_id(api_id).set_next_token(token).send().await;
        let out = out.aws_context(|| format!("apigatewayv2:GetIntegrations {api_id}"))?;
        Ok((out.items().to_vec(), out.next_token().map(str::to_string)))
    })
    .await
}

async fn list_routes(ctx: &Context<'_>, api_id: &str) -> Result<Vec<Route>> {
    if is_planned(api_id) {
        return Ok(Vec::new());
    }
    all_pages(|token| async move {
        let out = ctx.aws.apigatewayv2().get_routes().api_id(api_id).set_next_token(token).send().await;
        let out = out.aws_context(|| format!("apigatewayv2:GetRoutes {api_id}"))?;
        Ok((out.items().to_vec(), out.next_token().map(str::to_string)))
    })
    .await
}

struct WebSocketApi<'a> {
    ctx: &'a Context<'a>,
    name: String,
}

struct LiveApi {
    id: String,
    route_selection: Option<String>,
}

impl Resource for WebSocketApi<'_> {
    type Live = LiveApi;

    fn planned(&self) -> Option<LiveApi> {
        Some(LiveApi { id: PLANNED.into(), route_selection: None })
    }

    fn label(&self) -> String {
        format!("WebSocket API {}", self.name)
    }

    async fn delete(&self, live: LiveApi) -> Result<()> {
        let deleted = self.ctx.aws.apigatewayv2().delete_api().api_id(&live.id).send().await;
        deleted.aws_context(|| format!("apigatewayv2:DeleteApi {}", live.id))?;
        Ok(())
    }

    fn key(&self) -> Option<String> {
        Some(outputs::WEBSOCKET_API_ID.key.to_string())
    }

    async fn find(&self, recorded: Option<&str>) -> Result<Option<LiveApi>> {
        let client = self.ctx.aws.apigatewayv2();
        let is_ours = |name: Option<&str>, protocol: Option<&ProtocolType>| {
            name == Some(self.name.as_str()) && protocol == Some(&ProtocolType::Websocket)
        };
        if let Some(id) = recorded {
            let got = absent_if(client.get_api().api_id(id).send().await, |e| e.is_not_found_exception())
                .aws_context(|| format!("apigatewayv2:GetApi {id}"))?;
            if let Some(api) = got.filter(|a| is_ours(a.name(), a.protocol_type())) {
                return Ok(Some(LiveApi { id: id.to_string(), route_selection: api.route_selection_expression }));
            }
        }
        let apis = all_pages(|token| async move {
            let out = client
                .get_apis()
                .set_next_token(token)
                .send()
                .await
                .aws_context(|| "apigatewayv2:GetApis".to_string())?;
            Ok((out.items().to_vec(), out.next_token().map(str::to_string)))
        })
        .await?;
        let named: Vec<Api> = apis.into_iter().filter(|a| is_ours(a.name(), a.protocol_type())).collect();
        let ids = named.iter().filter_map(|a| a.api_id().map(str::to_string)).collect();
        let Some(id) = the_one_named("WebSocket API", &self.name, ids)? else {
            return Ok(None);
        };
        let route_selection =
            named.into_iter().find(|a| a.api_id() == Some(id.as_str())).and_then(|a| a.route_selection_expression);
        Ok(Some(LiveApi { id, route_selection }))
    }

    async fn create(&self) -> Result<LiveApi> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_api()
            .name(&self.name)
            .protocol_type(ProtocolType::Websocket)
            .route_selection_expression(WEBSOCKET_ROUTE_SELECTION)
            .description(format!("WebSocket API of {} (managed by deployer)", self.ctx.settings.service))
            // No idempotency token: a retry after a lost answer would make a second API. `ensure` looks first.
            .customize()
            .config_override(aws_sdk_apigatewayv2::Config::builder().retry_config(RetryConfig::disabled()))
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateApi {}", self.name))?;
        let id = created.api_id.context("CreateApi returned no ID")?;
        Ok(LiveApi { id, route_selection: created.route_selection_expression })
    }

    fn id(&self, live: &LiveApi) -> String {
        live.id.clone()
    }

    fn values(&self, live: &LiveApi, _field: &str) -> Option<(String, String)> {
        Some((
            live.route_selection.clone().unwrap_or_else(|| "none".to_string()),
            WEBSOCKET_ROUTE_SELECTION.to_string(),
        ))
    }

    fn differences(&self, live: &LiveApi) -> Result<Vec<&'static str>> {
        Ok(if live.route_selection.as_deref() == Some(WEBSOCKET_ROUTE_SELECTION) {
            vec![]
        } else {
            vec!["route_selection"]
        })
    }

    async fn update(&self, live: LiveApi, _fields: &[&'static str]) -> Result<LiveApi> {
        self.ctx
            .aws
            .apigatewayv2()
            .update_api()
            .api_id(&live.id)
            .route_selection_expression(WEBSOCKET_ROUTE_SELECTION)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateApi {} (route selection)", live.id))?;
        Ok(LiveApi { id: live.id, route_selection: Some(WEBSOCKET_ROUTE_SELECTION.to_string()) })
    }
}

/// The `AWS_PROXY` integration of one function, found by its integration URI.
struct ProxyIntegration<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    function: &'static str,
    uri: String,
    /// From the listing taken at the start of the step; a later look (after a failed create) lists again.
    existing: Option<Integration>,
    listed: std::cell::Cell<bool>,
}

impl Resource for ProxyIntegration<'_> {
    type Live = Integration;

    fn planned(&self) -> Option<Integration> {
        Some(Integration::builder().integration_id(PLANNED).build())
    }

    fn label(&self) -> String {
        format!("integration {}", self.ctx.name(self.function))
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Integration>> {
        if !self.listed.replace(true) {
            return Ok(self.existing.clone());
        }
        let integrations = list_integrations(self.ctx, self.api_id).await?;
        Ok(integrations.into_iter().find(|i| i.integration_uri() == Some(self.uri.as_str())))
    }

    async fn create(&self) -> Result<Integration> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_integration()
            .api_id(self.api_id)
            .integration_type(IntegrationType::AwsProxy)
            .integration_method("POST")
            .integration_uri(&self.uri)
            .timeout_in_millis(INTEGRATION_TIMEOUT_MS)
            // As for the API: a blind retry could make a second integration.
            .customize()
            .config_override(aws_sdk_apigatewayv2::Config::builder().retry_config(RetryConfig::disabled()))
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateIntegration {}", self.label()))?;
        Ok(Integration::builder()
            .set_integration_id(created.integration_id)
            .set_integration_type(created.integration_type)
            .set_integration_method(created.integration_method)
            .set_integration_uri(created.integration_uri)
            .set_timeout_in_millis(created.timeout_in_millis)
            .build())
    }

    fn id(&self, live: &Integration) -> String {
        live.integration_id().unwrap_or_default().to_string()
    }

    fn values(&self, live: &Integration, _field: &str) -> Option<(String, String)> {
        let kind = live.integration_type().map_or("none", |t| t.as_str());
        Some((format!("{kind} {}", live.integration_method().unwrap_or_default()), "AWS_PROXY POST".to_string()))
    }

    fn differences(&self, live: &Integration) -> Result<Vec<&'static str>> {
        let same =
            live.integration_type() == Some(&IntegrationType::AwsProxy) && live.integration_method() == Some("POST");
        Ok(if same { vec![] } else { vec!["integration_type"] })
    }

    async fn update(&self, live: Integration, _fields: &[&'static str]) -> Result<Integration> {
        let id = live.integration_id().unwrap_or_default();
        self.ctx
            .aws
            .apigatewayv2()
            .update_integration()
            .api_id(self.api_id)
            .integration_id(id)
            .integration_type(IntegrationType::AwsProxy)
            .integration_method("POST")
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateIntegration {}", self.label()))?;
        Ok(Integration::builder()
            .set_integration_id(live.integration_id)
            .integration_type(IntegrationType::AwsProxy)
            .integration_method("POST")
            .set_integration_uri(live.integration_uri)
            .build())
    }
}

/// A route, found by its route key, targeting its integration.
struct WebSocketRoute<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    key: &'static str,
    target: String,
    /// From the listing taken at the start of the step; a later look (after a failed create) lists again.
    existing: Option<Route>,
    listed: std::cell::Cell<bool>,
}

impl Resource for WebSocketRoute<'_> {
    type Live = Route;

    fn planned(&self) -> Option<Route> {
        Some(Route::builder().route_key(self.key).build())
    }

    fn label(&self) -> String {
        format!("route {}", self.key)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Route>> {
        if !self.listed.replace(true) {
            return Ok(self.existing.clone());
        }
        Ok(list_routes(self.ctx, self.api_id).await?.into_iter().find(|r| r.route_key() == Some(self.key)))
    }

    async fn create(&self) -> Result<Route> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_route()
            .api_id(self.api_id)
            .route_key(self.key)
            .target(&self.target)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateRoute {}", self.key))?;
        Ok(Route::builder()
            .set_route_id(created.route_id)
            .set_route_key(created.route_key)
            .set_target(created.target)
            .build())
    }

    fn id(&self, live: &Route) -> String {
        live.route_id().unwrap_or_default().to_string()
    }

    fn values(&self, live: &Route, _field: &str) -> Option<(String, String)> {
        Some((live.target().unwrap_or("none").to_string(), self.target.clone()))
    }

    fn differences(&self, live: &Route) -> Result<Vec<&'static str>> {
        Ok(if live.target() == Some(self.target.as_str()) { vec![] } else { vec!["target"] })
    }

    async fn update(&self, live: Route, _fields: &[&'static str]) -> Result<Route> {
        let id = live.route_id().unwrap_or_default();
        self.ctx
            .aws
            .apigatewayv2()
            .update_route()
            .api_id(self.api_id)
            .route_id(id)
            .target(&self.target)
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateRoute {}", self.key))?;
        Ok(Route::builder().set_route_id(live.route_id).set_route_key(live.route_key).target(&self.target).build())
    }
}
