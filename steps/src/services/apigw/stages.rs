//! Stages that two steps ensure: the main stage in 03/04 and the `dev` stage in 07.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{Op, PatchOperation};
use aws_sdk_apigatewayv2::types::{AccessLogSettings, RouteSettings};
use std::collections::HashMap;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{ensure, is_planned, Prefetched, Recorder, Resource};
use crate::step::Context;

use super::access_logs::{self, AccessLog};

/// The stage's throttling for every method (`*/*`) and its access logs; creates the stage on the
/// deployment if missing.
pub struct StageThrottling<'a> {
    pub ctx: &'a Context<'a>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub deployment_id: &'a str,
    pub access_log: AccessLog,
    pub prefetched: Prefetched<LiveStage>,
}

pub type LiveStage = aws_sdk_apigateway::operation::get_stage::GetStageOutput;

/// The REST stage, `None` when there is none.
pub async fn read_rest_stage(ctx: &Context<'_>, api_id: &str, stage: &str) -> Result<Option<LiveStage>> {
    let got = ctx.aws.apigateway().get_stage().rest_api_id(api_id).stage_name(stage).send().await;
    absent_if(got, |e| e.is_not_found_exception()).aws_context(|| format!("apigateway:GetStage {api_id} {stage}"))
}

/// Whether writing `wanted` to the stage (absent: to be made) is ahead, which needs the account's
/// CloudWatch role.
pub fn rest_access_log_differs(live: Option<&LiveStage>, wanted: &AccessLog) -> bool {
    let settings = live.and_then(|s| s.access_log_settings());
    settings.and_then(|a| a.destination_arn()) != Some(wanted.destination_arn.as_str())
        || settings.and_then(|a| a.format()) != Some(wanted.format)
}

impl Resource for StageThrottling<'_> {
    type Live = LiveStage;

    /// A stage of an existing API is looked at even when its next deployment is yet to be made: it exists,
    /// and only what differs of it is to update.
    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<LiveStage> {
        Some(LiveStage::builder().build())
    }

    fn label(&self) -> String {
        format!("stage {} throttling", self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveStage>> {
        match self.prefetched.take() {
            Some(found) => Ok(found),
            None => read_rest_stage(self.ctx, self.api_id, self.stage).await,
        }
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
        let mut fields = Vec::new();
        if !matches {
            fields.push("throttling");
        }
        if rest_access_log_differs(Some(live), &self.access_log) {
            fields.push("access_logs");
        }
        Ok(fields)
    }

    fn values(&self, live: &LiveStage, field: &str) -> Option<(String, String)> {
        let s = self.ctx.settings;
        let all_methods = live.method_settings().and_then(|m| m.get("*/*"));
        let shown = |rate: f64, burst: i32| format!("{rate}/s burst {burst}");
        (field == "throttling").then(|| {
            let now = all_methods
                .map_or("none".to_string(), |m| shown(m.throttling_rate_limit(), m.throttling_burst_limit()));
            (now, shown(f64::from(s.throttle_rate), s.throttle_burst as i32))
        })
    }

    async fn update(&self, _live: LiveStage, fields: &[&'static str]) -> Result<LiveStage> {
        let s = self.ctx.settings;
        let patch =
            |path: &str, value: String| PatchOperation::builder().op(Op::Replace).path(path).value(value).build();
        let mut operations = Vec::new();
        if fields.contains(&"throttling") {
            operations.push(patch("/*/*/throttling/rateLimit", s.throttle_rate.to_string()));
            operations.push(patch("/*/*/throttling/burstLimit", s.throttle_burst.to_string()));
        }
        if fields.contains(&"access_logs") {
            operations.extend(self.access_log.patch_operations());
        }
        self.ctx
            .aws
            .apigateway()
            .update_stage()
            .rest_api_id(self.api_id)
            .stage_name(self.stage)
            .set_patch_operations(Some(operations))
            .send()
            .await
            .aws_context(|| format!("apigateway:UpdateStage {} {} ({})", self.api_id, self.stage, fields.join(", ")))?;
        self.find(None).await?.context("the stage vanished while it was being updated")
    }
}

/// A stage deploying every change by itself, with default route throttling, stage variables and access
/// logs.
pub struct AutoDeployStage<'a> {
    pub ctx: &'a Context<'a>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub variables: HashMap<String, String>,
    pub access_log: AccessLog,
    pub prefetched: Prefetched<LiveWebSocketStage>,
}

#[derive(Clone)]
pub struct LiveWebSocketStage {
    auto_deploy: Option<bool>,
    rate: Option<f64>,
    burst: Option<i32>,
    variables: HashMap<String, String>,
    /// (destination ARN, format).
    access_log: Option<(String, String)>,
}

impl LiveWebSocketStage {
    fn from(
        auto_deploy: Option<bool>,
        routes: Option<&RouteSettings>,
        variables: Option<&HashMap<String, String>>,
        access_log: Option<&AccessLogSettings>,
    ) -> Self {
        LiveWebSocketStage {
            auto_deploy,
            rate: routes.and_then(|r| r.throttling_rate_limit()),
            burst: routes.and_then(|r| r.throttling_burst_limit()),
            variables: variables.cloned().unwrap_or_default(),
            access_log: access_log.map(|a| {
                (a.destination_arn().unwrap_or_default().to_string(), a.format().unwrap_or_default().to_string())
            }),
        }
    }

    /// Whether writing `wanted` to the stage (`None`: to be made) is ahead, which needs the account's
    /// CloudWatch role.
    pub fn access_log_differs(live: Option<&LiveWebSocketStage>, wanted: &AccessLog) -> bool {
        let live = live.and_then(|l| l.access_log.as_ref());
        live.is_none_or(|(arn, format)| *arn != wanted.destination_arn || format != wanted.format)
    }
}

impl AutoDeployStage<'_> {
    fn access_log_settings(&self) -> AccessLogSettings {
        AccessLogSettings::builder()
            .destination_arn(&self.access_log.destination_arn)
            .format(self.access_log.format)
            .build()
    }

    /// The stage, `None` when there is none.
    pub async fn read(&self) -> Result<Option<LiveWebSocketStage>> {
        let got = self.ctx.aws.apigatewayv2().get_stage().api_id(self.api_id).stage_name(self.stage).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigatewayv2:GetStage {} {}", self.api_id, self.stage))?;
        Ok(got.map(|s| {
            let (routes, variables) = (s.default_route_settings(), s.stage_variables());
            LiveWebSocketStage::from(s.auto_deploy(), routes, variables, s.access_log_settings())
        }))
    }

    fn throttling(&self) -> RouteSettings {
        let s = self.ctx.settings;
        RouteSettings::builder()
            .throttling_rate_limit(f64::from(s.throttle_rate))
            .throttling_burst_limit(s.throttle_burst as i32)
            .build()
    }
}

impl Resource for AutoDeployStage<'_> {
    type Live = LiveWebSocketStage;

    fn under_planned(&self) -> bool {
        is_planned(self.api_id)
    }

    fn planned(&self) -> Option<LiveWebSocketStage> {
        Some(LiveWebSocketStage {
            auto_deploy: None,
            rate: None,
            burst: None,
            variables: HashMap::new(),
            access_log: None,
        })
    }

    fn label(&self) -> String {
        format!("WebSocket stage {}", self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveWebSocketStage>> {
        match self.prefetched.take() {
            Some(found) => Ok(found),
            None => self.read().await,
        }
    }

    async fn create(&self) -> Result<LiveWebSocketStage> {
        let created = self
            .ctx
            .aws
            .apigatewayv2()
            .create_stage()
            .api_id(self.api_id)
            .stage_name(self.stage)
            .auto_deploy(true)
            .default_route_settings(self.throttling())
            .set_stage_variables(Some(self.variables.clone()))
            .access_log_settings(self.access_log_settings())
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateStage {} {}", self.api_id, self.stage))?;
        let (routes, variables) = (created.default_route_settings(), created.stage_variables());
        Ok(LiveWebSocketStage::from(created.auto_deploy(), routes, variables, created.access_log_settings()))
    }

    fn id(&self, _live: &LiveWebSocketStage) -> String {
        self.stage.to_string()
    }

    fn differences(&self, live: &LiveWebSocketStage) -> Result<Vec<&'static str>> {
        let s = self.ctx.settings;
        let mut fields = Vec::new();
        if live.auto_deploy != Some(true) {
            fields.push("auto_deploy");
        }
        if live.rate != Some(f64::from(s.throttle_rate)) || live.burst != Some(s.throttle_burst as i32) {
            fields.push("throttling");
        }
        if self.variables.iter().any(|(k, v)| live.variables.get(k) != Some(v)) {
            fields.push("variables");
        }
        if LiveWebSocketStage::access_log_differs(Some(live), &self.access_log) {
            fields.push("access_logs");
        }
        Ok(fields)
    }

    fn values(&self, live: &LiveWebSocketStage, field: &str) -> Option<(String, String)> {
        let s = self.ctx.settings;
        (field == "throttling").then(|| {
            let now = match (live.rate, live.burst) {
                (Some(rate), Some(burst)) => throttling_shown(rate, burst),
                _ => "none".to_string(),
            };
            (now, throttling_shown(f64::from(s.throttle_rate), s.throttle_burst as i32))
        })
    }

    async fn update(&self, live: LiveWebSocketStage, _fields: &[&'static str]) -> Result<LiveWebSocketStage> {
        let mut variables = live.variables;
        variables.extend(self.variables.clone());
        self.ctx
            .aws
            .apigatewayv2()
            .update_stage()
            .api_id(self.api_id)
            .stage_name(self.stage)
            .auto_deploy(true)
            .default_route_settings(self.throttling())
            .set_stage_variables(Some(variables.clone()))
            .access_log_settings(self.access_log_settings())
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateStage {} {}", self.api_id, self.stage))?;
        let s = self.ctx.settings;
        Ok(LiveWebSocketStage {
            auto_deploy: Some(true),
            rate: Some(f64::from(s.throttle_rate)),
            burst: Some(s.throttle_burst as i32),
            variables,
            access_log: Some((self.access_log.destination_arn.clone(), self.access_log.format.to_string())),
        })
    }
}

/// An auto-deploying WebSocket stage with its access logs (04's main stage, 07's dev): read once, which
/// also decides whether the account's CloudWatch role is needed first.
pub async fn ensure_websocket_stage(
    ctx: &Context<'_>,
    recorder: &dyn Recorder,
    api_id: &str,
    stage: &str,
    variables: HashMap<String, String>,
) -> Result<()> {
    let access_log = AccessLog::of(ctx, api_id, stage, access_logs::WEBSOCKET_FORMAT).await?;
    let resource = AutoDeployStage { ctx, api_id, stage, variables, access_log, prefetched: Prefetched::none() };
    let live = if is_planned(api_id) { None } else { resource.read().await? };
    let writes_logs = LiveWebSocketStage::access_log_differs(live.as_ref(), &resource.access_log);
    access_logs::ensure_logging_role(ctx, recorder, writes_logs).await?;
    resource.prefetched.set(live);
    ensure(&resource, recorder).await.map(|_| ())
}

/// A stage's throttling as a plan line shows it: "100/s burst 200".
fn throttling_shown(rate: f64, burst: i32) -> String {
    format!("{rate}/s burst {burst}")
}

/// Whether the REST API still holds `deployment` (a rollback's target).
pub async fn rest_deployment_exists(clients: &crate::Clients, api_id: &str, deployment: &str) -> Result<bool> {
    let got = clients.apigateway().get_deployment().rest_api_id(api_id).deployment_id(deployment).send().await;
    let got = absent_if(got, |e| e.is_not_found_exception())
        .aws_context(|| format!("apigateway:GetDeployment {api_id} {deployment}"))?;
    Ok(got.is_some())
}

/// Puts the REST stage on `deployment` at once (a rollback): API Gateway serves it from the next request.
pub async fn put_rest_stage_on(clients: &crate::Clients, api_id: &str, stage: &str, deployment: &str) -> Result<()> {
    let on = aws_sdk_apigateway::types::PatchOperation::builder()
        .op(aws_sdk_apigateway::types::Op::Replace)
        .path("/deploymentId")
        .value(deployment)
        .build();
    clients
        .apigateway()
        .update_stage()
        .rest_api_id(api_id)
        .stage_name(stage)
        .patch_operations(on)
        .send()
        .await
        .aws_context(|| format!("apigateway:UpdateStage {api_id} {stage} → deployment {deployment}"))?;
    Ok(())
}
