//! Stages that two steps ensure: the main stage in 03/04 and the `dev` stage in 07.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{Op, PatchOperation};
use aws_sdk_apigatewayv2::types::RouteSettings;
use std::collections::HashMap;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Resource};
use crate::step::Context;

/// The stage's throttling for every method (`*/*`); creates the stage on the deployment if missing.
pub struct StageThrottling<'a> {
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

/// A stage deploying every change by itself, with default route throttling and stage variables.
pub struct AutoDeployStage<'a> {
    pub ctx: &'a Context<'a>,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub variables: HashMap<String, String>,
}

pub struct LiveWebSocketStage {
    auto_deploy: Option<bool>,
    rate: Option<f64>,
    burst: Option<i32>,
    variables: HashMap<String, String>,
}

impl LiveWebSocketStage {
    fn from(
        auto_deploy: Option<bool>,
        routes: Option<&RouteSettings>,
        variables: Option<&HashMap<String, String>>,
    ) -> Self {
        LiveWebSocketStage {
            auto_deploy,
            rate: routes.and_then(|r| r.throttling_rate_limit()),
            burst: routes.and_then(|r| r.throttling_burst_limit()),
            variables: variables.cloned().unwrap_or_default(),
        }
    }
}

impl AutoDeployStage<'_> {
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
        Some(LiveWebSocketStage { auto_deploy: None, rate: None, burst: None, variables: HashMap::new() })
    }

    fn label(&self) -> String {
        format!("WebSocket stage {}", self.stage)
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveWebSocketStage>> {
        let got = self.ctx.aws.apigatewayv2().get_stage().api_id(self.api_id).stage_name(self.stage).send().await;
        let got = absent_if(got, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigatewayv2:GetStage {} {}", self.api_id, self.stage))?;
        Ok(got.map(|s| LiveWebSocketStage::from(s.auto_deploy(), s.default_route_settings(), s.stage_variables())))
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
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:CreateStage {} {}", self.api_id, self.stage))?;
        Ok(LiveWebSocketStage::from(created.auto_deploy(), created.default_route_settings(), created.stage_variables()))
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
        Ok(fields)
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
            .send()
            .await
            .aws_context(|| format!("apigatewayv2:UpdateStage {} {}", self.api_id, self.stage))?;
        let s = self.ctx.settings;
        Ok(LiveWebSocketStage {
            auto_deploy: Some(true),
            rate: Some(f64::from(s.throttle_rate)),
            burst: Some(s.throttle_burst as i32),
            variables,
        })
    }
}
