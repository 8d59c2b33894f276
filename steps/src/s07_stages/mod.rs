//! Manual section 5, "Stages (dev/prod)": step `07-stages`.
//!
//! - A `dev` stage of the REST API on the current deployment (it follows each new one), and a `dev` stage of
//!   the WebSocket API (auto-deploy); both throttled like the main stage (`--throttle-rate`,
//!   `--throttle-burst`). Skipped when `--stage` is itself `dev`.
//! - Stage variable `environment` ([`crate::manual::stage_variables`]): `development` on `dev`, `production` on the main stage (manual 5.2).
//!   The WebSocket main stage gets it when `04-websocket` creates it (moto cannot update v2 stages).
//! - The REST stages' CORS origins, as stage variables `corsOrigins` (comma-separated) and `corsOrigin`
//!   (the first), which `03-api-gateway`'s preflights and the functions read: `cors_origins`, else
//!   `https://DOMAIN`, `https://www.DOMAIN` and the CloudFront URL of `05-frontend`; the dev stage adds
//!   `dev_cors_origins` (`http://localhost:5173`).
//! - `[auth] kind = "api_key"`: the API key `SERVICE-api-key`, the usage plan `SERVICE-usage-plan` on both
//!   REST stages (throttle per key: `rate_limit`/`burst_limit`, default the stage's; `quota_limit` per
//!   `quota_period`), and the key in the plan; deleted when the kind changes. The key's value is never
//!   recorded (`deployer outputs` asks for it).
//! - Lambda: one function version serves both stages. The manual's 5.3 sets `STAGE=dev` on the very
//!   functions prod uses; instead every request carries its stage (`requestContext.stage`) and its stage
//!   variables (`stageVariables.environment`), and the functions keep the main stage's `STAGE` and the table
//!   names (`02-lambda`). Versions and `dev`/`prod` aliases with `${stageVariables.alias}` integrations would
//!   add per-alias permissions and integrations for no isolation gain, since dev and prod share the tables
//!   in the manual; an isolated dev is a second deployment: `deployer run --service NAME-dev --state …`.
//!
//! The stage resources are [`crate::apigw::StageThrottling`] and [`crate::apigw::AutoDeployStage`], which
//! `03-api-gateway` and `04-websocket` ensure for the main stage.
//!
//! - A main stage the settings no longer name (the `stages` it recorded, after `--stage` changed) is deleted
//!   from both APIs, after the usage plan moved; `plan` lists it as to delete.
//!
//! AWS calls: `apigateway:GetStage`, `CreateStage`, `UpdateStage`, `DeleteStage`, `GetApiKey(s)`, `CreateApiKey`,
//! `DeleteApiKey`, `GetUsagePlan(s)`, `CreateUsagePlan`, `UpdateUsagePlan`, `DeleteUsagePlan`,
//! `GetUsagePlanKey`, `CreateUsagePlanKey`; `apigatewayv2:GetStage`, `CreateStage`,
//! `UpdateStage`, `DeleteStage`.
//!
//! Outputs: `stages` (comma-separated), `STAGE_invoke_url` and `STAGE_websocket_url` for each stage,
//! `cors_origins` (the main stage's, comma-separated), `api_key_id` and `usage_plan_id` (with `api_key`;
//! empty once removed).

use anyhow::Result;
use async_trait::async_trait;
use aws_sdk_apigateway::types::{Op, PatchOperation};
use std::collections::HashMap;

use crate::apigw::access_logs::{self, ensure_logging_role, AccessLog};
use crate::apigw::usage_plan::{self, ensure_key_access, ApiKey, UsagePlan};
use crate::apigw::{
    ensure_websocket_stage, execute_api_host, read_rest_stage, rest_access_log_differs, LiveStage, StageThrottling,
};
use crate::aws::AwsContext;
use crate::ensure::{ensure, is_planned, record_if_changed, remove, variables_shown, Prefetched, Recorder, Resource};
use crate::settings::AuthKind;

use crate::manual::{ids, stage_variables, DEV_STAGE as DEV};
use crate::outputs;
use crate::step::{Context, Step, Teardown};

mod retired;
use retired::{Api, RetiredStage};

pub const ID: &str = ids::STAGES;

pub struct Stages;

#[async_trait(?Send)]
impl Step for Stages {
    fn id(&self) -> &'static str {
        ID
    }
    fn title(&self) -> &'static str {
        "5 Stages (dev/prod)"
    }
    fn settings_used(&self) -> Option<&'static [&'static str]> {
        Some(&["stage", "domain", "cors_origins", "dev_cors_origins", "throttle_rate", "throttle_burst", "auth"])
    }
    fn requires(&self) -> &'static [&'static str] {
        &[ids::API_GATEWAY, ids::WEBSOCKET]
    }
    /// The stages it configures are made before 03 and 04 add their invoke permissions.
    fn starts_on_outputs(&self) -> bool {
        true
    }
    /// The CloudFront URL is one of the allowed origins.
    fn reads(&self) -> &'static [&'static str] {
        &[ids::FRONTEND]
    }
    fn plans_past_new(&self) -> bool {
        true
    }

    /// The API key and usage plan, which outlive the API otherwise (the stages go with it, in 03/04).
    async fn destroy(&self, ctx: &Context<'_>, _teardown: &Teardown, recorder: &dyn Recorder) -> Result<()> {
        let api_id = ctx.get_optional(&outputs::REST_API_ID).unwrap_or_default();
        remove(&UsagePlan { ctx, api_id, stages: Vec::new() }, recorder).await?;
        remove(&ApiKey { ctx }, recorder).await
    }

    async fn run(&self, ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
        let main = ctx.settings.stage.as_str();
        let rest_api_id = ctx.get(&outputs::REST_API_ID)?;
        let deployment_id = ctx.get(&outputs::DEPLOYMENT_ID)?;
        let ws_api_id = ctx.get(&outputs::WEBSOCKET_API_ID)?;
        let mut stages = vec![main];
        if main == DEV {
            recorder.notice("--stage is dev already: no second stage is made");
        } else {
            stages.push(DEV);
        }
        for stage in &stages {
            let follows = (*stage == DEV).then_some(deployment_id);
            let mut variables = stage_variables(stage);
            let origins = ctx.settings.cors_origins(stage, ctx.get_optional(&outputs::DISTRIBUTION_DOMAIN));
            variables.extend(cors_variables(&origins));
            let rest = RestSide { ctx, recorder, api_id: rest_api_id, stage, deployment_id, follows, variables };
            // dev's WebSocket stage beside its REST stage: they are two APIs.
            let websocket = async {
                if *stage == main || ws_api_id.is_empty() {
                    return Ok(());
                }
                ensure_websocket_stage(ctx, recorder, ws_api_id, stage, stage_variables(stage)).await
            };
            let (rest, websocket) = futures::join!(rest.ensure(*stage == main), websocket);
            rest?;
            websocket?;
            if *stage == main {
                record_if_changed(recorder, &outputs::CORS_ORIGINS.key, &origins.join(","))?;
            }
            let region = &ctx.settings.region;
            record_if_changed(
                recorder,
                &format!("{stage}_invoke_url"),
                &format!("https://{}/{stage}", execute_api_host(rest_api_id, region)),
            )?;
            // No WebSocket API (no route in the settings): no URL.
            let websocket_url = match ws_api_id {
                "" => String::new(),
                id => format!("wss://{}/{stage}", execute_api_host(id, region)),
            };
            record_if_changed(recorder, &format!("{stage}_websocket_url"), &websocket_url)?;
        }
        api_key_access(ctx, recorder, rest_api_id, &stages).await?;
        // Recorded once the stages it no longer names are gone, so that a kill in between deletes them next.
        let previous = recorder.recorded("stages").unwrap_or_default();
        for stage in previous.split(',').filter(|s| !s.is_empty() && !stages.contains(s)) {
            for (api, api_id) in [(Api::Rest, rest_api_id), (Api::WebSocket, ws_api_id)] {
                if !is_planned(api_id) && !api_id.is_empty() {
                    remove(&RetiredStage { ctx, api, api_id, stage }, recorder).await?;
                }
            }
        }
        record_if_changed(recorder, "stages", &stages.join(","))
    }
}

/// `[auth] kind = "api_key"`: the key, a usage plan on every stage, and the key in the plan; what deployer
/// made is removed when the kind changes (its recorded ID emptied, so later runs look no more).
async fn api_key_access(ctx: &Context<'_>, recorder: &dyn Recorder, api_id: &str, stages: &[&str]) -> Result<()> {
    if ctx.settings.auth.kind == AuthKind::ApiKey {
        return ensure_key_access(ctx, recorder, api_id, stages).await;
    }
    let made = |key: &str| recorder.recorded(key).is_some_and(|id| !id.is_empty());
    if made(usage_plan::PLAN_ID) {
        remove(&UsagePlan { ctx, api_id, stages: Vec::new() }, recorder).await?;
        recorder.record(usage_plan::PLAN_ID, "")?;
    }
    if made(usage_plan::KEY_ID) {
        remove(&ApiKey { ctx }, recorder).await?;
        recorder.record(usage_plan::KEY_ID, "")?;
    }
    Ok(())
}

/// The stage variables that carry the stage's CORS origins to the preflight (`03-api-gateway`) and the
/// functions: `corsOrigins`, all of them comma-separated, and `corsOrigin`, the first (the preflight's
/// answer to an origin not listed). None when any origin is allowed (`*` is no stage variable character).
fn cors_variables(origins: &[String]) -> Vec<(String, String)> {
    match origins.first() {
        Some(first) if first != "*" => {
            vec![("corsOrigins".to_string(), origins.join(",")), ("corsOrigin".to_string(), first.clone())]
        }
        _ => Vec::new(),
    }
}

/// A REST stage's variables and, for `dev`, the deployment it serves.
struct RestStage<'a> {
    ctx: &'a Context<'a>,
    api_id: &'a str,
    stage: &'a str,
    /// The deployment the stage should serve; `None` leaves it to `03-api-gateway`.
    follows: Option<&'a str>,
    variables: HashMap<String, String>,
    prefetched: Prefetched<LiveStage>,
}

impl Resource for RestStage<'_> {
    /// (deployment ID, variables).
    type Live = (Option<String>, HashMap<String, String>);

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<Self::Live> {
        Some((None, HashMap::new()))
    }

    fn label(&self) -> String {
        format!("stage {} variables", self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let got = match self.prefetched.take() {
            Some(found) => found,
            None => read_rest_stage(self.ctx, self.api_id, self.stage).await?,
        };
        Ok(got.map(|s| (s.deployment_id().map(str::to_string), s.variables().cloned().unwrap_or_default())))
    }

    async fn create(&self) -> Result<Self::Live> {
        anyhow::bail!("stage {} vanished while it was being configured: run `deployer resume`", self.stage)
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.stage.to_string()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        let mut fields = Vec::new();
        if self.follows.is_some_and(|id| live.0.as_deref() != Some(id)) {
            fields.push("deployment");
        }
        if self.variables.iter().any(|(k, v)| live.1.get(k) != Some(v)) {
            fields.push("variables");
        }
        Ok(fields)
    }

    /// The variables that differ, as NAME=value on each side; the deployment's IDs.
    fn values(&self, live: &Self::Live, field: &str) -> Option<(String, String)> {
        match field {
            "deployment" => Some((live.0.clone().unwrap_or_else(|| "none".into()), self.follows?.to_string())),
            "variables" => {
                let mut names: Vec<&String> =
                    self.variables.iter().filter(|(k, v)| live.1.get(*k) != Some(*v)).map(|(k, _)| k).collect();
                names.sort();
                let live_shown = variables_shown(&names, |n| live.1.get(n).cloned());
                Some((live_shown, variables_shown(&names, |n| self.variables.get(n).cloned())))
            }
            _ => None,
        }
    }

    async fn update(&self, live: Self::Live, fields: &[&'static str]) -> Result<Self::Live> {
        let replace =
            |path: String, value: &str| PatchOperation::builder().op(Op::Replace).path(path).value(value).build();
        let mut request = self.ctx.aws.apigateway().update_stage().rest_api_id(self.api_id).stage_name(self.stage);
        if let (true, Some(id)) = (fields.contains(&"deployment"), self.follows) {
            request = request.patch_operations(replace("/deploymentId".into(), id));
        }
        for (key, value) in &self.variables {
            request = request.patch_operations(replace(format!("/variables/{key}"), value));
        }
        request.send().await.aws_context(|| format!("apigateway:UpdateStage {} {}", self.api_id, self.stage))?;
        let mut variables = live.1;
        variables.extend(self.variables.clone());
        Ok((self.follows.map(str::to_string).or(live.0), variables))
    }
}

/// A stage of the REST API: its variables, and for dev (not the main stage, whose are 03's) its
/// throttling and access logs.
struct RestSide<'a> {
    ctx: &'a Context<'a>,
    recorder: &'a dyn Recorder,
    api_id: &'a str,
    stage: &'a str,
    deployment_id: &'a str,
    follows: Option<&'a str>,
    variables: HashMap<String, String>,
}

impl RestSide<'_> {
    async fn ensure(self, main: bool) -> Result<()> {
        let RestSide { ctx, recorder, api_id, stage, deployment_id, follows, variables } = self;
        // One read of the stage serves its throttling, access logs and variables.
        let live = if is_planned(api_id) { None } else { read_rest_stage(ctx, api_id, stage).await? };
        if !main {
            let access_log = AccessLog::of(ctx, api_id, stage, access_logs::REST_FORMAT).await?;
            ensure_logging_role(ctx, recorder, rest_access_log_differs(live.as_ref(), &access_log)).await?;
            let prefetched = Prefetched::of(live.clone());
            ensure(&StageThrottling { ctx, api_id, stage, deployment_id, access_log, prefetched }, recorder).await?;
        }
        // A stage made just now is read again.
        let prefetched = live.map_or_else(Prefetched::none, |live| Prefetched::of(Some(live)));
        ensure(&RestStage { ctx, api_id, stage, follows, variables, prefetched }, recorder).await.map(|_| ())
    }
}
