//! The WebSocket API's routes: one `AWS_PROXY` integration per function, found by its URI, and each route
//! key targeting its integration, found by its key. Route keys deployer made (recorded as
//! `websocket_routes`) that no setting names any more are deleted, and then the integrations of the
//! service's functions that no route targets.

use anyhow::{bail, Result};
use aws_sdk_apigatewayv2::types::{Integration, IntegrationType, Route};
use aws_smithy_types::retry::RetryConfig;

use super::all_pages;
use crate::apigw::lambda_integration_uri;
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, is_planned, record_if_changed, remove, Recorder, Resource, PLANNED};
use crate::manual::{INTEGRATION_TIMEOUT_MS, WEBSOCKET_ROUTES};
use crate::outputs;
use crate::step::Context;

/// One `AWS_PROXY` integration per function, each route key targeting its integration; then what no
/// setting names any more goes.
pub(super) async fn ensure_routes(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    partition: &str,
) -> Result<()> {
    let region = &ctx.settings.region;
    let wanted = ctx.settings.websocket_routes();
    let integrations = list_integrations(ctx, api_id).await?;
    let mut functions: Vec<&str> = Vec::new();
    for (_, function) in &wanted {
        if !functions.contains(function) {
            functions.push(function);
        }
    }
    let mut proxies = Vec::new();
    for function in functions {
        let (target, _) = ctx.invoke_target(function)?;
        let uri = lambda_integration_uri(region, partition, &target);
        let existing = integrations.iter().find(|i| i.integration_uri() == Some(uri.as_str())).cloned();
        proxies.push(ProxyIntegration { ctx, api_id, function, uri, existing, listed: Default::default() });
    }
    let made = all(proxies.iter().map(|i| ensure(i, recorder))).await?;
    let integration_of = |function: &str| {
        let made = proxies.iter().zip(&made).find(|(proxy, _)| proxy.function == function).map(|(_, made)| made);
        format!("integrations/{}", made.and_then(|i| i.integration_id()).unwrap_or_default())
    };

    let routes = list_routes(ctx, api_id).await?;
    let wanted_routes: Vec<WebSocketRoute> = wanted
        .iter()
        .map(|(key, function)| WebSocketRoute {
            ctx,
            api_id,
            key,
            target: integration_of(function),
            existing: routes.iter().find(|r| r.route_key() == Some(*key)).cloned(),
            listed: Default::default(),
        })
        .collect();
    all(wanted_routes.iter().map(|r| ensure(r, recorder))).await?;

    let before = routes_before(recorder);
    let retired = |key: &str| before.iter().any(|b| b == key) && !wanted.iter().any(|(k, _)| *k == key);
    for route in routes.iter().filter(|r| r.route_key().is_some_and(retired)) {
        let (key, id) = (route.route_key().unwrap_or_default(), route.route_id().unwrap_or_default());
        remove(&Retired { ctx, api_id, what: Retiring::Route(key), id }, recorder).await?;
    }
    // An integration goes once no route targets it: neither a wanted one (whose target is now among
    // `used`) nor one made by hand, which API Gateway would not let it leave.
    let used: Vec<&str> = proxies.iter().map(|p| p.uri.as_str()).collect();
    let by_hand = |key: &str| !retired(key) && !wanted.iter().any(|(w, _)| *w == key);
    let targeted: Vec<String> = routes
        .iter()
        .filter(|r| r.route_key().is_some_and(by_hand))
        .filter_map(|r| r.target().and_then(|t| t.strip_prefix("integrations/")).map(String::from))
        .collect();
    let service_functions = format!(":function:{}-", ctx.settings.service);
    for integration in &integrations {
        let uri = integration.integration_uri().unwrap_or_default();
        let id_targeted = targeted.iter().any(|t| Some(t.as_str()) == integration.integration_id());
        if uri.contains(&service_functions) && !used.contains(&uri) && !id_targeted {
            let id = integration.integration_id().unwrap_or_default();
            remove(&Retired { ctx, api_id, what: Retiring::Integration(uri), id }, recorder).await?;
        }
    }
    let keys: Vec<&str> = wanted.iter().map(|(key, _)| *key).collect();
    record_if_changed(recorder, &outputs::WEBSOCKET_ROUTES.key, &keys.join("\n"))
}

/// The route keys made before this run: as recorded, or (by state files older than that record) the
/// manual's three once the API exists.
fn routes_before(recorder: &dyn Recorder) -> Vec<String> {
    match recorder.recorded(&outputs::WEBSOCKET_ROUTES.key) {
        Some(list) => list.lines().filter(|l| !l.is_empty()).map(String::from).collect(),
        None if recorder.recorded(&outputs::WEBSOCKET_API_ID.key).is_some() => {
            WEBSOCKET_ROUTES.iter().map(|(key, _)| key.to_string()).collect()
        }
        None => Vec::new(),
    }
}

enum Retiring<'a> {
    Route(&'a str),
    /// By its URI (the function's ARN inside).
    Integration(&'a str),
}

/// A route no setting names, or an integration of one of the service's functions that no route targets.
struct Retired<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    what: Retiring<'a>,
    id: &'a str,
}

impl Resource for Retired<'_> {
    type Live = ();

    fn label(&self) -> String {
        match self.what {
            Retiring::Route(key) => format!("route {key} (no setting names it)"),
            Retiring::Integration(uri) => {
                let function = uri.split(":function:").nth(1).and_then(|rest| rest.split('/').next());
                format!("integration {} (no route targets it)", function.unwrap_or(uri))
            }
        }
    }

    /// Found in the step's listing.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<()>> {
        Ok(Some(()))
    }

    async fn create(&self) -> Result<()> {
        bail!("{} is only ever deleted", self.label())
    }

    fn id(&self, _live: &()) -> String {
        self.id.to_string()
    }

    async fn delete(&self, _live: ()) -> Result<()> {
        let client = self.ctx.aws.apigatewayv2();
        let (api_id, id) = (self.api_id, self.id);
        match self.what {
            Retiring::Route(_) => {
                let deleted = client.delete_route().api_id(api_id).route_id(id).send().await;
                absent_if(deleted, |e| e.is_not_found_exception())
                    .aws_context(|| format!("apigatewayv2:DeleteRoute {api_id} {}", self.label()))?;
            }
            Retiring::Integration(_) => {
                let deleted = client.delete_integration().api_id(api_id).integration_id(id).send().await;
                absent_if(deleted, |e| e.is_not_found_exception())
                    .aws_context(|| format!("apigatewayv2:DeleteIntegration {api_id} {}", self.label()))?;
            }
        }
        Ok(())
    }
}

pub(super) async fn list_integrations(ctx: &Context<'_>, api_id: &str) -> Result<Vec<Integration>> {
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

pub(super) async fn list_routes(ctx: &Context<'_>, api_id: &str) -> Result<Vec<Route>> {
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

/// The `AWS_PROXY` integration of one function, found by its integration URI.
struct ProxyIntegration<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    function: &'a str,
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
    key: &'a str,
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
