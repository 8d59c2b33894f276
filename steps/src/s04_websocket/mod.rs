//! Manual section 2.4, "WebSocket API (API Gateway v2)": step `04-websocket`.
//!
//! - WebSocket API `SERVICE-websocket-api`, route selection `$request.body.action`, the routes of the
//!   settings ([`crate::settings::Settings::websocket_routes`]: the manual's `$connect`, `$disconnect` and
//!   `$default`, and deployer.toml's `[[websocket.routes]]`); looked up like the REST
//!   API (recorded ID, then name; several of that name stop the step), its ID recorded once created.
//!   With no route at all (no WebSocket function), there is no API: one made before is deleted, and the
//!   step's outputs are empty, which tells the later steps.
//! - One `AWS_PROXY` integration per function, found by its integration URI; each route found by its
//!   route key, targeting its integration (`routes.rs`). Route keys deployer made that the settings no
//!   longer name are deleted, then the integrations of the service's functions that no route targets.
//! - `lambda:AddPermission` for `apigateway.amazonaws.com`, statement `deployer-websocket-api`, scoped to
//!   this API (`arn:…:execute-api:REGION:ACCOUNT:API_ID/*`).
//! - Stage `--stage` with auto-deploy ([`crate::apigw::AutoDeployStage`], shared with `07-stages`), so API Gateway deploys every change itself (and the step needs no
//!   `CreateDeployment`, which moto lacks), default route throttling (`--throttle-rate`,
//!   `--throttle-burst`) and the stage variables of `07-stages` set at creation. An existing stage is changed only if it drifted (`UpdateStage`).
//! - The functions that answer clients (behind `$default` and the custom route keys) get
//!   `CONNECTIONS_TABLE` and `WEBSOCKET_MANAGEMENT_ENDPOINT`
//!   (`https://ID.execute-api.REGION.amazonaws.com/STAGE`, for `PostToConnection`) in its environment,
//!   then their alias `live` on a version that holds both ([`crate::live_alias`]), which the routes
//!   invoke. Integrations and permissions are on each function's alias. That Lambda side runs beside
//!   the API's; once the stage is ensured the step's outputs are complete, and the steps that need only
//!   them (05, 06, 07) start beside what is left of it (on a first deploy the stage may answer before
//!   the aliases and permissions are in place; the run reports its URLs only after them).
//!
//! AWS calls: `apigatewayv2:GetApi`, `GetApis`, `CreateApi`, `UpdateApi`, `GetIntegrations`,
//! `CreateIntegration`, `UpdateIntegration`, `DeleteIntegration`, `GetRoutes`, `CreateRoute`, `UpdateRoute`,
//! `DeleteRoute`, `DeleteApi`, `GetStage`,
//! `CreateStage`, `UpdateStage`; `lambda:ListFunctions`, `GetPolicy` and `GetFunction` (only for a function
//! whose revision moved in a way no step recorded, see [`crate::revisions`]), `AddPermission`,
//! `RemovePermission`, `UpdateFunctionConfiguration`, `PublishVersion`, `GetFunction` on the alias (the
//! version it invokes), `CreateAlias`, `UpdateAlias`, `ListVersionsByFunction` and `DeleteFunction` of a
//! version beyond `keep_releases`.
//!
//! Outputs: `websocket_api_id`, `stage`, `websocket_url` (`wss://ID.execute-api.REGION.amazonaws.com/STAGE`),
//! `management_endpoint` (all empty without routes), `websocket_routes` (the route keys made),
//! `function_revisions` (the revisions its permissions, variables and aliases were confirmed at),
//! `invoke_arn.<suffix>` and `live_version.<suffix>` (the answerers' aliases and the versions they invoke),
//! and `canary_version.<suffix>` (an answerer's new version, when the run has a canary).

use anyhow::{Context as _, Result};
use async_trait::async_trait;
use aws_sdk_apigatewayv2::types::{Api, ProtocolType};
use aws_smithy_types::retry::RetryConfig;
use std::collections::HashMap;
use std::future::Future;

use crate::apigw::access_logs;
use crate::apigw::{ensure_invoke_permissions, ensure_websocket_stage, execute_api_host, the_one_named};
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, ensure, record_if_changed, remove, Recorder, Resource, PLANNED};
use crate::lambda::FunctionEnvironment;
use crate::live_alias::{record_version, LiveAlias};
use crate::manual::{self, ids, stage_variables, WEBSOCKET_ROUTE_SELECTION};
use crate::revisions::Revisions;
use crate::settings::table_variable;

mod routes;
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
        Some(&["stage", "throttle_rate", "throttle_burst", "log_retention_days", "functions", "tables", "websocket"])
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
        if ctx.settings.websocket_routes().is_empty() {
            return no_websocket(ctx, recorder).await;
        }
        let identity = ctx.aws.identity().await?;
        let (region, partition, account) = (&ctx.settings.region, &identity.partition, &identity.account);
        let mut functions: Vec<&str> = Vec::new();
        for (_, function) in ctx.settings.websocket_routes() {
            if !functions.contains(&function) {
                functions.push(function);
            }
        }
        let answerers = ctx.settings.websocket_answerers();
        let touched = functions.iter().chain(&answerers).map(|f| ctx.name(f));
        // The functions' revisions are looked at while the API is ensured.
        let api = WebSocketApi { ctx, name: ctx.name("websocket-api") };
        let (api, revisions) = futures::join!(ensure(&api, recorder), Revisions::look(ctx, recorder, touched));
        let (api, revisions) = (api?, &revisions?);
        let api_id = api.id.as_str();
        let stage = &ctx.settings.stage;
        let host = execute_api_host(api_id, region);
        let management_endpoint = format!("https://{host}/{stage}");
        // The answerers' variables before their versions and aliases, the aliases before their invoke
        // permissions (Lambda's quota), all beside the routes, log groups and stage (API Gateway's and
        // Logs'): the routes invoke the alias, whichever version it is on. Once the stage is ensured, the
        // outputs are complete: the steps after start beside the Lambda side.
        let source_arn = format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/*");
        let lambda_side = async {
            answerer_versions(ctx, recorder, revisions, &answerers, &management_endpoint).await?;
            ensure_invoke_permissions(ctx, recorder, revisions, functions, PERMISSION_ID, &source_arn).await
        };
        let api_side = async {
            let log_groups = access_logs::log_groups(ctx, api_id, "WebSocket");
            let (routes, log_groups) =
                futures::join!(routes::ensure_routes(ctx, recorder, api_id, partition), ensure(&log_groups, recorder));
            routes?;
            log_groups?;
            ensure_websocket_stage(ctx, recorder, api_id, stage, stage_variables(stage)).await?;
            record_if_changed(recorder, outputs::STAGE_KEY, stage)?;
            record_if_changed(recorder, &outputs::WEBSOCKET_URL.key, &format!("wss://{host}/{stage}"))?;
            record_if_changed(recorder, &outputs::MANAGEMENT_ENDPOINT.key, &management_endpoint)?;
            recorder.outputs_complete();
            anyhow::Ok(())
        };
        let (lambda_side, api_side) = futures::join!(lambda_side, api_side);
        lambda_side?;
        api_side?;
        revisions.record(ctx, recorder).await
    }
}

/// The manual's table of WebSocket connections, which the answering functions are told of.
const CONNECTIONS: &str = manual::WEBSOCKET_CONNECTIONS;

/// The functions that answer clients get the management endpoint and the connections' table, then their
/// `live` alias on a version that holds them (02 leaves theirs to this step; see [`crate::live_alias`]).
async fn answerer_versions(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    revisions: &Revisions,
    answerers: &[&str],
    management_endpoint: &str,
) -> Result<()> {
    let mut variables =
        HashMap::from([(manual::MANAGEMENT_ENDPOINT_VARIABLE.to_string(), management_endpoint.to_string())]);
    if ctx.settings.table_names().contains(&CONNECTIONS) {
        variables.insert(table_variable(CONNECTIONS), ctx.name(CONNECTIONS));
    }
    let environments: Vec<FunctionEnvironment> = answerers
        .iter()
        .map(|function| FunctionEnvironment {
            ctx,
            function_name: ctx.name(function),
            variables: variables.clone(),
            revisions,
            seen: Default::default(),
        })
        .collect();
    let keep = ctx.settings.keep_releases();
    all(environments.iter().zip(answerers).map(|(environment, function)| async move {
        let live = ensure(environment, recorder).await?;
        environment.confirm();
        let key = outputs::invoke_arn(function).key.into_owned();
        // A plan sees the function as it is: one whose variables are to change gets a new version too.
        let to_change = recorder.planning() && !environment.differences(&live)?.is_empty();
        let alias =
            LiveAlias::new(ctx, environment.function_name.clone(), key, &live, revisions).after_change(to_change);
        let version = ensure(&alias, recorder).await?;
        alias.confirm();
        record_version(recorder, function, &version)?;
        alias.prune(keep, recorder).await
    }))
    .await?;
    Ok(())
}

/// No WebSocket route in the settings: no WebSocket API (one made before goes), and empty outputs, by which
/// the later steps know there is none.
async fn no_websocket(ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
    if recorder.recorded(&outputs::WEBSOCKET_API_ID.key).is_some_and(|id| !id.is_empty()) {
        remove(&WebSocketApi { ctx, name: ctx.name("websocket-api") }, recorder).await?;
        if let Some(api_id) = ctx.get_optional(&outputs::WEBSOCKET_API_ID).filter(|id| !id.is_empty()) {
            access_logs::delete_log_groups(ctx, recorder, api_id).await?;
        }
    } else {
        recorder.notice("no function is behind a WebSocket route in the settings: 04-websocket has nothing to do");
    }
    for key in [&outputs::WEBSOCKET_API_ID.key, &outputs::WEBSOCKET_URL.key, &outputs::MANAGEMENT_ENDPOINT.key] {
        record_if_changed(recorder, key, "")?;
    }
    record_if_changed(recorder, &outputs::WEBSOCKET_ROUTES.key, "")?;
    record_if_changed(recorder, outputs::STAGE_KEY, &ctx.settings.stage)
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
