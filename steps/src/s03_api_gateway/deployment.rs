//! The deployment of the wanted configuration to the main stage, made only when the configuration changed.

use anyhow::{Context as _, Result};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::apigw::{read_rest_stage, LiveStage};
use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Prefetched, Resource, PLANNED};
use crate::manual::{CORS_ALLOW_HEADERS, INTEGRATION_TIMEOUT_MS};
use crate::package::hex;
use crate::step::Context;

use super::methods::{Method, MethodKind, ECHO_ORIGIN_TEMPLATE};

/// What the deployed API should be; a new deployment is made when this changes. An authorizer's settings
/// count (API Gateway serves an updated authorizer only from the next deployment); without one the digest
/// is what it was before they did, so no deployment is made again for it.
pub(super) fn configuration_digest(
    methods: &[Method<'_>],
    gateway_responses: &[serde_json::Value],
    authorizer: Option<serde_json::Value>,
) -> String {
    let described: Vec<_> = methods
        .iter()
        .map(|m| match &m.kind {
            MethodKind::Proxy { uri, auth } => {
                let auth = json!([auth.authorization_type, auth.authorizer_id, auth.api_key_required]);
                json!([m.path, m.verb, "AWS_PROXY", uri, INTEGRATION_TIMEOUT_MS, auth])
            }
            MethodKind::Cors { any_origin, allow_methods } => {
                json!([m.path, m.verb, "MOCK", any_origin, allow_methods, CORS_ALLOW_HEADERS, ECHO_ORIGIN_TEMPLATE])
            }
        })
        .collect();
    let mut parts = vec![json!(described), json!(gateway_responses)];
    parts.extend(authorizer);
    hex(&Sha256::digest(serde_json::Value::Array(parts).to_string()))
}

/// The deployment of the wanted configuration on the stage. Its description names the configuration's
/// digest, so it is found on the stage whatever moment a kill interrupted the step at.
pub(super) struct Deployment<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) api_id: &'a str,
    pub(super) stage: &'a str,
    pub(super) config: &'a str,
    /// The stage as its look found it, for the stage's own resource; emptied when a deployment is made.
    pub(super) seen: &'a Prefetched<LiveStage>,
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
        Some(crate::outputs::DEPLOYMENT_ID.key.to_string())
    }

    /// The stage's deployment counts only if it was made from the wanted configuration.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<String>> {
        let client = self.ctx.aws.apigateway();
        let stage = read_rest_stage(self.ctx, self.api_id, self.stage).await?;
        self.seen.set(stage.clone());
        let Some(id) = stage.and_then(|s| s.deployment_id) else {
            return Ok(None);
        };
        let deployment = client.get_deployment().rest_api_id(self.api_id).deployment_id(&id).send().await;
        let deployment = absent_if(deployment, |e| e.is_not_found_exception())
            .aws_context(|| format!("apigateway:GetDeployment {} {id}", self.api_id))?;
        Ok(deployment.filter(|d| d.description() == Some(self.description().as_str())).map(|_| id))
    }

    async fn create(&self) -> Result<String> {
        self.seen.take();
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
