//! The API stages' access logs: JSON lines in `/aws/api-gateway/API_ID/STAGE` (the group the manual's
//! section 6.2 tails), one per request or WebSocket event. API Gateway writes them only with the
//! account's CloudWatch Logs role, one per region for every API of the account: deployer makes one only
//! when the region has none ([`CloudWatchRole`]), and never replaces another's.

use anyhow::{Context as _, Result};
use aws_sdk_apigateway::types::{Op, PatchOperation};
use serde_json::json;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{ensure, Recorder, Resource};
use crate::log_groups::LogGroups;
use crate::manual::DEV_STAGE;
use crate::retry::{retry_while, Patience};
use crate::step::Context;

/// A REST stage's access log line: `$context.requestId` is the one variable API Gateway requires.
pub const REST_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status","responseLength":"$context.responseLength","latency":"$context.responseLatency","integrationError":"$context.integration.error"}"#;
/// A WebSocket stage's: one line per connect, message and disconnect.
pub const WEBSOCKET_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","eventType":"$context.eventType","routeKey":"$context.routeKey","connectionId":"$context.connectionId","status":"$context.status","integrationError":"$context.integrationErrorMessage"}"#;

/// The role deployer makes when a region has none: account-wide, so not named after a service.
pub const ROLE_NAME: &str = "deployer-apigateway-cloudwatch";
const PUSH_TO_LOGS_POLICY: &str = "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs";
/// IAM is eventually consistent: UpdateAccount refuses a role made seconds ago, and terraform-provider-aws
/// retries it for 2 minutes. Its quota is one UpdateAccount per 20 s, so the tries are spaced that much.
const ROLE_PROPAGATION: Patience =
    Patience { first: Duration::from_secs(20), max: Duration::from_secs(20), limit: Duration::from_secs(180) };

/// How long a role made now is given before the first UpdateAccount names it: IAM's propagation takes
/// seconds, typically fewer than this, and a refused try costs UpdateAccount's 20 s quota interval.
const NEW_ROLE_SETTLES: Duration = Duration::from_secs(8);

/// `/aws/api-gateway/API_ID/STAGE`.
pub fn group_name(api_id: &str, stage: &str) -> String {
    format!("/aws/api-gateway/{api_id}/{stage}")
}

/// Where a stage's access logs go, and in what format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    pub destination_arn: String,
    pub format: &'static str,
}

impl AccessLog {
    pub async fn of(ctx: &Context<'_>, api_id: &str, stage: &str, format: &'static str) -> Result<AccessLog> {
        let who = ctx.aws.identity().await?;
        let (partition, account, region) = (&who.partition, &who.account, &ctx.settings.region);
        let group = group_name(api_id, stage);
        Ok(AccessLog { destination_arn: format!("arn:{partition}:logs:{region}:{account}:log-group:{group}"), format })
    }

    /// The REST `UpdateStage` operations that set it.
    pub fn patch_operations(&self) -> Vec<PatchOperation> {
        let replace =
            |path: &str, value: &str| PatchOperation::builder().op(Op::Replace).path(path).value(value).build();
        vec![
            replace("/accessLogSettings/destinationArn", &self.destination_arn),
            replace("/accessLogSettings/format", self.format),
        ]
    }
}

/// The stages an API has: the main one, and `dev` made by `07-stages`.
pub fn stages_of<'c>(ctx: &'c Context<'_>) -> Vec<&'c str> {
    let main = ctx.settings.stage.as_str();
    if main == DEV_STAGE {
        vec![main]
    } else {
        vec![main, DEV_STAGE]
    }
}

/// The access log groups of an API's stages, for its step to ensure before the stages write to them.
pub fn log_groups<'a>(ctx: &'a Context<'a>, api_id: &str, kind: &str) -> LogGroups<'a> {
    let stages = stages_of(ctx);
    LogGroups {
        ctx,
        whose: format!("the {kind} stages {}", stages.join(", ")),
        prefix: format!("/aws/api-gateway/{api_id}/"),
        names: stages.iter().map(|stage| group_name(api_id, stage)).collect(),
        retention_days: ctx.settings.log_retention_days,
    }
}

/// The account's CloudWatch Logs role for API Gateway in this region. Found set, it is left as it is,
/// whoever set it; missing, deployer's own is made (or reused) and set.
pub struct CloudWatchRole<'a> {
    pub ctx: &'a Context<'a>,
}

impl CloudWatchRole<'_> {
    /// deployer's role, made if missing, with the policy attached whether it was made now or found: a
    /// run killed between CreateRole and AttachRolePolicy left one without it, which UpdateAccount would
    /// refuse for ever. Attaching an attached policy changes nothing.
    /// Returns its ARN, and whether it was made now.
    async fn role_arn(&self) -> Result<(String, bool)> {
        let iam = self.ctx.aws.iam();
        let (arn, made_now) = match self.existing_role().await? {
            Some(arn) => (arn, false),
            None => (self.create_role().await?, true),
        };
        let partition = &self.ctx.aws.identity().await?.partition;
        let policy = format!("arn:{partition}:iam::aws:{PUSH_TO_LOGS_POLICY}");
        iam.attach_role_policy()
            .role_name(ROLE_NAME)
            .policy_arn(&policy)
            .send()
            .await
            .aws_context(|| format!("iam:AttachRolePolicy {ROLE_NAME} {policy}"))?;
        Ok((arn, made_now))
    }
}

impl CloudWatchRole<'_> {
    async fn existing_role(&self) -> Result<Option<String>> {
        let got = self.ctx.aws.iam().get_role().role_name(ROLE_NAME).send().await;
        let got =
            absent_if(got, |e| e.is_no_such_entity_exception()).aws_context(|| format!("iam:GetRole {ROLE_NAME}"))?;
        Ok(got.and_then(|r| r.role().map(|r| r.arn().to_string())))
    }

    async fn create_role(&self) -> Result<String> {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        });
        let created = self
            .ctx
            .aws
            .iam()
            .create_role()
            .role_name(ROLE_NAME)
            .assume_role_policy_document(trust.to_string())
            .description("API Gateway writes the account's API logs to CloudWatch Logs (made by deployer)")
            .send()
            .await;
        let created = absent_if(created, |e| e.is_entity_already_exists_exception())
            .aws_context(|| format!("iam:CreateRole {ROLE_NAME}"))?;
        match created.and_then(|c| c.role().map(|r| r.arn().to_string())) {
            Some(arn) => Ok(arn),
            // Made at this moment by another run.
            None => self.existing_role().await?.context("iam:CreateRole said the role exists, GetRole finds none"),
        }
    }
}

impl Resource for CloudWatchRole<'_> {
    /// The role's ARN.
    type Live = String;

    fn label(&self) -> String {
        format!("API Gateway's CloudWatch Logs role in {} (the account's)", self.ctx.settings.region)
    }

    fn planned(&self) -> Option<String> {
        Some(crate::ensure::PLANNED.to_string())
    }

    /// The role the account names, if IAM still has it: a deleted one is as good as none (API Gateway
    /// then writes no logs at all).
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<String>> {
        let account =
            self.ctx.aws.apigateway().get_account().send().await.aws_context(|| "apigateway:GetAccount".to_string())?;
        let Some(arn) = account.cloudwatch_role_arn().filter(|arn| !arn.is_empty()) else { return Ok(None) };
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let got = self.ctx.aws.iam().get_role().role_name(name).send().await;
        let got = absent_if(got, |e| e.is_no_such_entity_exception()).aws_context(|| {
            format!("iam:GetRole {name} (API Gateway's CloudWatch Logs role in {})", self.ctx.settings.region)
        })?;
        Ok(got.map(|_| arn.to_string()))
    }

    async fn create(&self) -> Result<String> {
        let (arn, made_now) = self.role_arn().await?;
        if made_now {
            // A try before IAM has propagated the role is refused, and the next may come only 20 s later.
            crate::clock::sleep(NEW_ROLE_SETTLES).await;
        }
        let set = PatchOperation::builder().op(Op::Replace).path("/cloudwatchRoleArn").value(&arn).build();
        let update = || self.ctx.aws.apigateway().update_account().patch_operations(set.clone()).send();
        retry_while(ROLE_PROPAGATION, update, role_not_usable_yet)
            .await
            .aws_context(|| format!("apigateway:UpdateAccount cloudwatchRoleArn={arn} (if IAM is still propagating a new role, run `deployer resume` in a minute)"))?;
        Ok(arn)
    }

    fn id(&self, live: &String) -> String {
        live.clone()
    }
}

/// A role too new for API Gateway: "The role ARN does not have required permissions set to API Gateway",
/// or "API Gateway could not successfully write to CloudWatch Logs using the ARN specified" while its
/// policy propagates.
fn role_not_usable_yet<R>(
    err: &aws_sdk_apigateway::error::SdkError<aws_sdk_apigateway::operation::update_account::UpdateAccountError, R>,
) -> bool {
    let propagating = |m: &str| m.contains("role") || m.contains("could not successfully write to CloudWatch Logs");
    err.as_service_error().is_some_and(|e| e.is_bad_request_exception() && e.meta().message().is_some_and(propagating))
}

/// Ensures the account's CloudWatch role when a stage's access logs are about to be written (`needed`),
/// saying so when deployer made it: it serves every API of the account in the region.
pub async fn ensure_logging_role(ctx: &Context<'_>, recorder: &dyn Recorder, needed: bool) -> Result<()> {
    if !needed {
        return Ok(());
    }
    // Once per command, one step at a time (03's and 04's run at once): the next finds it set rather than
    // making it again and spending UpdateAccount's one request per 20 s.
    ctx.aws.logging_role_set.get_or_try_init(|| seen_or_made(ctx, recorder)).await.map(|_| ())
}

async fn seen_or_made(ctx: &Context<'_>, recorder: &dyn Recorder) -> Result<()> {
    let role = CloudWatchRole { ctx };
    if role.find(None).await?.is_some() {
        return Ok(());
    }
    ensure(&role, recorder).await?;
    if !recorder.planning() {
        recorder.notice(&format!(
            "API Gateway in {} had no CloudWatch Logs role, which its access logs need: deployer made \
             {ROLE_NAME} (with AmazonAPIGatewayPushToCloudWatchLogs) and set it for the account; every API in the \
             region uses it, and `deployer destroy` leaves it",
            ctx.settings.region
        ));
    }
    Ok(())
}

/// `destroy`: the access log groups of an API's stages (`/aws/api-gateway/API_ID/…`).
pub async fn delete_log_groups(ctx: &Context<'_>, recorder: &dyn Recorder, api_id: &str) -> Result<()> {
    let prefix = format!("/aws/api-gateway/{api_id}/");
    let pages = ctx.aws.logs().describe_log_groups().log_group_name_prefix(&prefix).into_paginator();
    let groups = pages.items().send().collect::<Result<Vec<_>, _>>().await;
    let groups = groups.aws_context(|| format!("logs:DescribeLogGroups {prefix}"))?;
    for name in groups.iter().filter_map(|g| g.log_group_name()) {
        let deleted = ctx.aws.logs().delete_log_group().log_group_name(name).send().await;
        let deleted = absent_if(deleted, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("logs:DeleteLogGroup {name}"))?;
        if deleted.is_some() {
            recorder.report(&format!("log group {name}"), &crate::ensure::Change::Deleted);
        }
    }
    Ok(())
}
