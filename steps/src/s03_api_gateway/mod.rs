//! Manual section 2.3, "REST API (API Gateway)": step `03-api-gateway`.
//!
//! - REST API `SERVICE-rest-api`, REGIONAL. `CreateRestApi` has no idempotency token and names are not
//!   unique, so it is looked up by the ID recorded in state, then by name (all pages); several APIs of
//!   that name stop the step with their IDs. Its ID is recorded the moment it is created.
//! - The resources and methods of the settings' routes ([`crate::settings::Settings::routes`]: the
//!   manual's, or deployer.toml's `[[routes]]`), each method an `AWS_PROXY` integration (POST, 29 s
//!   timeout, API Gateway's limit) to its function of `02-lambda`. New paths that would take 20 calls or
//!   more come in one `PutRestApi` (an OpenAPI document, merge mode; `document.rs`), then every path and
//!   method is ensured as usual; a few, or methods with an authorizer or a key, take the calls.
//! - CORS on every resource: `OPTIONS` with a MOCK integration whose 200 response carries
//!   `Access-Control-Allow-Origin/Headers/Methods` and `Vary: Origin`. The allowed origins differ by stage
//!   (the dev stage adds a local dev server) and include the CloudFront URL, known only after
//!   `05-frontend`, so they live in the stage variables `07-stages` sets, not in the deployment: the
//!   integration response's template echoes the request's `Origin` when the stage's `corsOrigins` lists
//!   it, and otherwise the header names the stage's first origin (`corsOrigin`), which the browser refuses.
//!   `cors_origins = ["*"]` answers `*`. The functions answer the actual requests' CORS headers themselves
//!   (proxy integration), from the same list (`stageVariables.corsOrigins`, or `CORS_ORIGINS`).
//! - `[auth]`: `api_key` marks every method but the preflights `apiKeyRequired` (the key and its usage
//!   plan are `07-stages`'s, since a plan names both stages); `cognito` makes the authorizer
//!   `SERVICE-cognito` for the user pool (token in `Authorization`) and puts it on every method but the
//!   preflights; removing the setting opens the methods and deletes the authorizer. A method whose
//!   authorization changes is put again (DeleteMethod, PutMethod, its integration and responses).
//! - Gateway Responses `DEFAULT_4XX` and `DEFAULT_5XX` carry `Access-Control-Allow-Origin: *`, so that a
//!   403, 429 or 502 of API Gateway's own reaches the page as itself, not as a CORS error.
//! - `lambda:AddPermission` for `apigateway.amazonaws.com` once per function, statement `deployer-rest-api`,
//!   scoped with a SourceArn to this API (`arn:…:execute-api:REGION:ACCOUNT:API_ID/*/*/*`): without it
//!   API Gateway gets "Invalid permissions on Lambda function" and clients a 502, the manual's trouble case.
//!   They take Lambda's quota, beside the rest, which takes API Gateway's; once the stage is ensured the
//!   step's outputs are complete, and the steps that need only them (05, 06, 07) start beside the
//!   permissions still to come (on a first deploy the stage may answer before they are all in place; the
//!   run reports its URLs only after them).
//! - A deployment to stage `--stage`, created only when the stage's deployment is not one of the wanted
//!   configuration (a digest of routes, integrations and CORS, kept in the deployment's description, so it
//!   is recognised whatever a kill interrupted). A re-run creates none.
//! - Stage throttling on all methods (`*/*`): `--throttle-rate` requests/s, `--throttle-burst`.
//! - A method deployer made that no route names any more, and a resource left with only such methods,
//!   deleted (`plan`: to delete first); what others made on the API is kept.
//!
//! AWS calls: `apigateway:GetRestApi`, `GetRestApis`, `CreateRestApi`, `UpdateRestApi`, `PutRestApi`, `GetResources`,
//! `CreateResource`, `GetMethod`, `PutMethod`, `UpdateMethod`, `PutIntegration`, `PutMethodResponse`,
//! `DeleteMethod`, `DeleteResource`, `DeleteMethodResponse`, `PutIntegrationResponse`, `GetAuthorizer(s)`, `CreateAuthorizer`,
//! `UpdateAuthorizer`, `DeleteAuthorizer`, `GetGatewayResponses`, `PutGatewayResponse`, `CreateDeployment`, `GetStage`, `GetDeployment`, `UpdateStage`;
//! `lambda:ListFunctions`, `GetPolicy` (only for a function whose revision moved in a way no step
//! recorded, see [`crate::revisions`]), `AddPermission`, `RemovePermission`. When a live API starts to require an API key,
//! first the key and usage plan on its live stages (`GetApiKeys`, `CreateApiKey`, `GetUsagePlans`,
//! `CreateUsagePlan`, `CreateUsagePlanKey`, recorded as `api_key_id` and `usage_plan_id`; `07-stages` then
//! finds them by name).
//!
//! Files: `api.rs` the API, `resources.rs` its paths, `methods.rs` methods, integrations and preflights,
//! `document.rs` new paths in bulk,
//! `deployment.rs` the deployment; the stage's throttling is [`crate::apigw::StageThrottling`], shared with
//! `07-stages`, and the invoke permission [`crate::apigw::InvokePermission`], shared with `04-websocket`.
//!
//! Outputs: `rest_api_id`, `root_resource_id`, `deployment_id`, `stage`, `methods` (the methods it made,
//! `VERB PATH` per line),
//! `invoke_url` (`https://ID.execute-api.REGION.amazonaws.com/STAGE`), `authorizer_id` (with `cognito`; empty
//! once removed), `function_revisions` (the revisions its invoke permissions were confirmed at).

mod api;
mod authorizer;
mod deployment;
mod document;
mod gateway_responses;
mod methods;
mod resources;
mod unrouted;

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use std::collections::BTreeSet;

use crate::apigw::access_logs::{self, ensure_logging_role, AccessLog};
use crate::apigw::usage_plan;
use crate::apigw::{
    ensure_invoke_permissions, execute_api_host, read_rest_stage, rest_access_log_differs, StageThrottling,
};
use crate::ensure::{all, ensure, is_planned, record_if_changed, remove, Prefetched, Recorder};
use crate::manual::{ids, Route};
use crate::outputs;
use crate::revisions::Revisions;
use crate::settings::AuthKind;
use crate::step::{Context, Step, Teardown};
use api::RestApi;
use authorizer::CognitoAuthorizer;
use deployment::{configuration_digest, Deployment};
use gateway_responses::GatewayResponse;
use methods::{wanted_methods, Access, MethodAuth};
use resources::{ensure_resource_tree, list_api};

pub const ID: &str = ids::API_GATEWAY;
pub const PERMISSION_ID: &str = "deployer-rest-api";

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
        Some(&[
            "stage",
            "cors_origins",
            "routes",
            "functions",
            "throttle_rate",
            "throttle_burst",
            "auth",
            "log_retention_days",
        ])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[ids::LAMBDA]
    }

    /// The API with everything in it (resources, routes, integrations, stages, deployments), then its
    /// access log groups: deleted first, a group would be made again by a request the API still served.
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        remove(&RestApi { ctx, name: ctx.name("rest-api") }, recorder).await?;
        match ctx.get_optional(&outputs::REST_API_ID) {
            Some(api_id) => access_logs::delete_log_groups(ctx, recorder, api_id).await,
            None => Ok(()),
        }
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let (region, partition) = (&ctx.settings.region, &ctx.aws.identity().await?.partition);
        let routes = ctx.settings.routes();
        let functions: BTreeSet<&str> = routes.iter().map(|r| r.function).collect();
        // The functions' revisions are looked at while the API is ensured: the permissions need both.
        let api = async {
            let api = ensure(&RestApi { ctx, name: ctx.name("rest-api") }, recorder).await?;
            let listing = list_api(ctx, &api.id).await?;
            anyhow::Ok((api, listing))
        };
        let (api, revisions) =
            futures::join!(api, Revisions::look(ctx, recorder, functions.iter().map(|f| ctx.name(f))));
        let ((api, listing), revisions) = (api?, revisions?);
        let root = match &api.root_resource_id {
            Some(root) => root.clone(),
            None => listing.ids.get("/").cloned().ok_or_else(|| anyhow!("REST API {} has no root resource", api.id))?,
        };
        record_if_changed(recorder, &outputs::ROOT_RESOURCE_ID.key, &root)?;

        // The functions' invoke permissions (Lambda's quota) beside the API's methods, deployment and stage
        // (API Gateway's): neither needs the other, only the API's ID. Once the stage is ensured, the
        // outputs are complete: the steps after start beside the permissions.
        let api_side = RestApiSide { ctx, recorder, api: &api, root: &root, routes: &routes, partition, region };
        let permissions = ensure_permissions(ctx, recorder, &revisions, &api.id, functions);
        let (permissions, api_side) = futures::join!(permissions, api_side.staged(listing));
        permissions?;
        api_side
    }
}

/// The REST API's own side of the step: its paths, methods, gateway responses, the deployment of them and
/// its stage.
struct RestApiSide<'a> {
    ctx: &'a Context<'a>,
    recorder: &'a dyn Recorder,
    api: &'a api::LiveApi,
    root: &'a str,
    routes: &'a [Route<'a>],
    partition: &'a str,
    region: &'a str,
}

impl RestApiSide<'_> {
    /// The deployment and its stage, with access logs; then the outputs the steps after read.
    async fn staged(&self, listing: resources::Listing) -> Result<()> {
        let (ctx, recorder, api) = (self.ctx, self.recorder, self.api);
        let stage = &ctx.settings.stage;
        // What the deployment's look read of the stage, for the stage's own ensure below.
        let seen = Prefetched::none();
        // Access logs: the groups before the stage (API Gateway writes only to one that exists), and the
        // account's role. A stage not made yet gets them, so its role is seen to beside the deployment,
        // since a new role must propagate before the account takes it.
        let stage_is_new = recorder.recorded(outputs::STAGE_KEY).is_none();
        let log_groups = access_logs::log_groups(ctx, &api.id, "REST");
        let (deployment_id, log_groups, role) = futures::join!(
            self.deployed(listing, &seen),
            ensure(&log_groups, recorder),
            ensure_logging_role(ctx, recorder, stage_is_new)
        );
        log_groups?;
        role?;
        let deployment_id = deployment_id?;

        // A stage made before gets the role only if it is about to get access logs: the stage read by the
        // deployment's look tells.
        let access_log = AccessLog::of(ctx, &api.id, stage, access_logs::REST_FORMAT).await?;
        let live = match seen.take() {
            Some(live) => live,
            None if is_planned(&api.id) => None,
            None => read_rest_stage(ctx, &api.id, stage).await?,
        };
        let differs = rest_access_log_differs(live.as_ref(), &access_log);
        ensure_logging_role(ctx, recorder, !stage_is_new && differs).await?;
        let prefetched = Prefetched::of(live);
        let deployment_id = &deployment_id;
        ensure(&StageThrottling { ctx, api_id: &api.id, stage, deployment_id, access_log, prefetched }, recorder)
            .await?;

        record_if_changed(recorder, outputs::STAGE_KEY, stage)?;
        let invoke_url = format!("https://{}/{stage}", execute_api_host(&api.id, self.region));
        record_if_changed(recorder, &outputs::INVOKE_URL.key, &invoke_url)?;
        recorder.outputs_complete();
        Ok(())
    }

    /// The methods as the routes want them, then the deployment of them on the stage; its ID.
    async fn deployed(
        &self,
        listing: resources::Listing,
        seen: &Prefetched<crate::apigw::LiveStage>,
    ) -> Result<String> {
        let (ctx, recorder, api, root, routes, partition) =
            (self.ctx, self.recorder, self.api, self.root, self.routes, self.partition);
        let stage = &ctx.settings.stage;
        let access =
            Access { any_origin: ctx.settings.allows_any_origin(), auth: method_auth(ctx, recorder, &api.id).await? };
        let name = ctx.name("rest-api");
        let imported =
            document::import_new_paths(ctx, recorder, &api.id, &name, routes, &listing, &access, partition).await?;
        let listing = if imported { list_api(ctx, &api.id).await? } else { listing };
        let resource_ids = ensure_resource_tree(ctx, recorder, &api.id, root, routes, &listing.ids).await?;
        key_access_before_methods_require_it(ctx, recorder, &api.id, &listing, access.auth.api_key_required).await?;
        let methods = wanted_methods(ctx, &api.id, routes, &resource_ids, &listing.methods, &access, partition)?;
        all(methods.iter().map(|m| ensure(m, recorder))).await?;
        unrouted::remove_unrouted(ctx, recorder, &api.id, &listing, &methods).await?;
        record_if_changed(recorder, &outputs::REST_METHODS.key, &unrouted::recorded_form(&methods))?;
        remove_unused_authorizer(ctx, recorder, &api.id).await?;
        let mut listed = gateway_responses::list(ctx, &api.id).await?;
        let responses = gateway_responses::KINDS.map(|kind| GatewayResponse {
            ctx,
            api_id: &api.id,
            kind,
            listed: listed.remove(kind),
        });
        all(responses.iter().map(|r| ensure(r, recorder))).await?;

        let authorizer = match ctx.settings.auth.kind {
            AuthKind::Cognito => ctx.settings.auth.user_pool_arn.as_deref().map(authorizer::described),
            _ => None,
        };
        let config = configuration_digest(&methods, &gateway_responses::described(), authorizer);
        let deployment = Deployment { ctx, api_id: &api.id, stage, config: &config, seen };
        ensure(&deployment, recorder).await
    }
}

/// What `[auth]` asks of every method: nothing, an API key (the usage plan is `07-stages`'s, once both
/// stages exist), or a Cognito token checked by the authorizer ensured here.
async fn method_auth(ctx: &Context<'_>, recorder: &dyn Recorder, api_id: &str) -> Result<MethodAuth> {
    let auth = &ctx.settings.auth;
    Ok(match auth.kind {
        AuthKind::None => MethodAuth::open(),
        AuthKind::ApiKey => MethodAuth { api_key_required: true, ..MethodAuth::open() },
        AuthKind::Cognito => {
            let pool_arn = auth.user_pool_arn.as_deref();
            let id = ensure(&CognitoAuthorizer { ctx, api_id, pool_arn }, recorder).await?.id;
            MethodAuth { authorization_type: "COGNITO_USER_POOLS", authorizer_id: Some(id), api_key_required: false }
        }
    })
}

/// A live API whose methods are about to require a key (`[auth]` switched to `api_key`): the key and the
/// usage plan on the stages that exist come first, or every caller is refused until `07-stages` makes
/// them. `07-stages` then finds them by name and adds the plan's other stage. Without `api_key`, a key
/// recorded here is forgotten (07 removes what it made).
async fn key_access_before_methods_require_it(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    listing: &resources::Listing,
    key_required: bool,
) -> Result<()> {
    if !key_required {
        if recorder.recorded(usage_plan::KEY_ID).is_some_and(|id| !id.is_empty()) {
            recorder.record(usage_plan::KEY_ID, "")?;
            recorder.record(usage_plan::PLAN_ID, "")?;
        }
        return Ok(());
    }
    let open = listing.methods.iter().any(|((_, verb), m)| verb != "OPTIONS" && m.api_key_required() != Some(true));
    if !open {
        return Ok(());
    }
    let mut live = Vec::new();
    for stage in access_logs::stages_of(ctx) {
        if read_rest_stage(ctx, api_id, stage).await?.is_some() {
            live.push(stage);
        }
    }
    if live.is_empty() {
        return Ok(());
    }
    usage_plan::ensure_key_access(ctx, recorder, api_id, &live).await
}

/// An authorizer deployer made, once `[auth]` no longer asks for it (the methods have stopped using it).
async fn remove_unused_authorizer(ctx: &Context<'_>, recorder: &dyn Recorder, api_id: &str) -> Result<()> {
    let recorded = recorder.recorded(authorizer::KEY).filter(|id| !id.is_empty());
    if ctx.settings.auth.kind == AuthKind::Cognito || recorded.is_none() {
        return Ok(());
    }
    remove(&CognitoAuthorizer { ctx, api_id, pool_arn: None }, recorder).await?;
    // Empty: removed, so later runs look for it no more.
    recorder.record(authorizer::KEY, "")
}

/// One statement per function behind the routes, letting this API invoke it.
async fn ensure_permissions(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    revisions: &Revisions,
    api_id: &str,
    functions: BTreeSet<&str>,
) -> Result<()> {
    let identity = ctx.aws.identity().await?;
    let (region, partition, account) = (&ctx.settings.region, &identity.partition, &identity.account);
    let source_arn = format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/*/*/*");
    ensure_invoke_permissions(ctx, recorder, revisions, functions, PERMISSION_ID, &source_arn).await?;
    revisions.record(ctx, recorder).await
}
