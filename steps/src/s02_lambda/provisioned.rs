//! `[functions.X] provisioned_concurrency`: instances kept initialised, so requests meet no cold start.
//! Lambda provisions only a version or an alias, so the function gets the alias `live` on a version
//! published only when its code or configuration changed (the version's description holds a digest of
//! both), and the APIs invoke the alias (`invoke_arn.X`). Removing
//! the setting removes the provisioned instances (they are billed by the hour) and the APIs go back to
//! the function; the alias stays, unused.

use anyhow::{bail, Context as _, Result};
use aws_sdk_lambda::types::{FunctionConfiguration, ProvisionedConcurrencyStatusEnum};

use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{is_planned, Resource, PLANNED};
use crate::package::hex;
use crate::retry::{retry_while, Attempt, Patience};
use crate::step::Context;

pub(super) const ALIAS: &str = "live";

/// The `live` alias on a version of the function as it is now.
pub(super) struct LiveAlias<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) function_name: String,
    /// The output key its ARN is recorded under, for the APIs.
    pub(super) key: String,
    /// The function as `ensure` left it: what the version must hold.
    pub(super) function: &'a FunctionConfiguration,
}

pub(super) struct LiveVersion {
    alias_arn: String,
    description: Option<String>,
}

impl LiveAlias<'_> {
    /// Names what the version holds, a digest of the code and every configuration field a version
    /// freezes: a new one is published exactly when this changes. (`LastModified` would do on AWS, but
    /// moto does not move it on updates.)
    fn description(&self) -> String {
        let f = self.function;
        let sorted = |ids: &[String]| {
            let mut ids = ids.to_vec();
            ids.sort();
            ids
        };
        let environment: BTreeMap<&String, &String> =
            f.environment().and_then(|e| e.variables()).into_iter().flatten().collect();
        let vpc = f.vpc_config().map(|v| (sorted(v.subnet_ids()), sorted(v.security_group_ids())));
        let frozen = json!({
            "code": f.code_sha256(),
            "runtime": f.runtime().map(|r| r.as_str()),
            "handler": f.handler(),
            "role": f.role(),
            "memory": f.memory_size(),
            "timeout": f.timeout(),
            "architectures": f.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "environment": environment,
            "vpc": vpc,
        });
        format!("deployer: {}", &hex(&Sha256::digest(frozen.to_string()))[..32])
    }

    async fn publish(&self) -> Result<String> {
        let lambda = self.ctx.aws.lambda();
        let published = lambda
            .publish_version()
            .function_name(&self.function_name)
            .description(self.description())
            // Lambda refuses to publish if the code changed meanwhile, rather than publish other code.
            .set_code_sha256(self.function.code_sha256().map(str::to_string))
            .send()
            .await
            .aws_context(|| format!("lambda:PublishVersion {}", self.function_name))?;
        published.version().map(str::to_string).context("PublishVersion answered without a version")
    }
}

impl Resource for LiveAlias<'_> {
    type Live = LiveVersion;

    fn label(&self) -> String {
        format!("alias {}:{ALIAS}", self.function_name)
    }

    fn key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    fn under_planned(&self) -> bool {
        self.function.function_arn().is_none_or(is_planned)
    }

    fn planned(&self) -> Option<LiveVersion> {
        Some(LiveVersion { alias_arn: PLANNED.to_string(), description: None })
    }

    async fn find(&self, _recorded: Option<&str>) -> Result<Option<LiveVersion>> {
        let lambda = self.ctx.aws.lambda();
        let alias = lambda.get_alias().function_name(&self.function_name).name(ALIAS).send().await;
        let alias = absent_if(alias, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("lambda:GetAlias {}:{ALIAS}", self.function_name))?;
        let Some(alias) = alias else { return Ok(None) };
        let version = alias.function_version().unwrap_or_default();
        let got =
            lambda.get_function_configuration().function_name(&self.function_name).qualifier(version).send().await;
        let got = got.aws_context(|| format!("lambda:GetFunctionConfiguration {}:{version}", self.function_name))?;
        Ok(Some(LiveVersion {
            alias_arn: alias.alias_arn().unwrap_or_default().to_string(),
            description: got.description().map(str::to_string),
        }))
    }

    async fn create(&self) -> Result<LiveVersion> {
        let version = self.publish().await?;
        let created = self
            .ctx
            .aws
            .lambda()
            .create_alias()
            .function_name(&self.function_name)
            .name(ALIAS)
            .function_version(&version)
            .description("what the APIs invoke (provisioned concurrency; made by deployer)")
            .send()
            .await
            .aws_context(|| format!("lambda:CreateAlias {}:{ALIAS} → {version}", self.function_name))?;
        let alias_arn = created.alias_arn().context("CreateAlias answered without an ARN")?.to_string();
        Ok(LiveVersion { alias_arn, description: Some(self.description()) })
    }

    fn id(&self, live: &LiveVersion) -> String {
        live.alias_arn.clone()
    }

    /// What the alias's version was published from (code and configuration digests).
    fn values(&self, live: &LiveVersion, _field: &str) -> Option<(String, String)> {
        Some((live.description.clone().unwrap_or_else(|| "none".to_string()), self.description()))
    }

    fn differences(&self, live: &LiveVersion) -> Result<Vec<&'static str>> {
        Ok(if live.description.as_deref() == Some(self.description().as_str()) { vec![] } else { vec!["version"] })
    }

    async fn update(&self, live: LiveVersion, _fields: &[&'static str]) -> Result<LiveVersion> {
        let version = self.publish().await?;
        let updated = self
            .ctx
            .aws
            .lambda()
            .update_alias()
            .function_name(&self.function_name)
            .name(ALIAS)
            .function_version(&version);
        updated
            .send()
            .await
            .aws_context(|| format!("lambda:UpdateAlias {}:{ALIAS} → {version}", self.function_name))?;
        Ok(LiveVersion { alias_arn: live.alias_arn, description: Some(self.description()) })
    }
}

/// The provisioned instances on the alias; `wanted: None` removes them.
pub(super) struct ProvisionedConcurrency<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) function_name: String,
    /// Recorded as managed, so that removing the setting removes the instances.
    pub(super) key: String,
    pub(super) wanted: Option<i32>,
}

/// While an alias with provisioned instances moves to a new version, Lambda shifts its traffic gradually:
/// the alias carries routing weights, and PutProvisionedConcurrencyConfig refuses it ("Alias with weights
/// can not be used with Provisioned Concurrency", terraform-provider-aws #24957). The shift takes minutes.
const WEIGHTS_CLEAR: Patience =
    Patience { first: Duration::from_secs(2), max: Duration::from_secs(15), limit: Duration::from_secs(900) };

impl ProvisionedConcurrency<'_> {
    /// Returns once the alias routes to one version only.
    async fn wait_for_one_version(&self) -> Result<()> {
        let name = &self.function_name;
        let look = || async {
            let alias = self.ctx.aws.lambda().get_alias().function_name(name).name(ALIAS).send().await;
            let alias = alias.aws_context(|| format!("lambda:GetAlias {name}:{ALIAS}")).map_err(Attempt::Stop)?;
            let weights = alias.routing_config().and_then(|r| r.additional_version_weights());
            if weights.is_some_and(|w| !w.is_empty()) {
                return Err(Attempt::Again(()));
            }
            Ok(())
        };
        match retry_while(WEIGHTS_CLEAR, look, Attempt::again).await {
            Ok(()) => Ok(()),
            Err(Attempt::Stop(failed)) => Err(failed),
            Err(Attempt::Again(())) => bail!(
                "alias {name}:{ALIAS} still routes to two versions after {} minutes (Lambda is moving it): run \
                 `deployer resume` once it has settled",
                WEIGHTS_CLEAR.limit.as_secs() / 60
            ),
        }
    }
}

impl Resource for ProvisionedConcurrency<'_> {
    /// The instances asked for, `None` for none.
    type Live = Option<i32>;

    fn label(&self) -> String {
        let wanted = self.wanted.map_or("none".to_string(), |n| n.to_string());
        format!("provisioned concurrency of {}:{ALIAS} ({wanted})", self.function_name)
    }

    fn key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    fn planned(&self) -> Option<Option<i32>> {
        Some(self.wanted)
    }

    /// A `FAILED` allocation fails the step with Lambda's reason (an account quota, most often).
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Option<i32>>> {
        let got = self
            .ctx
            .aws
            .lambda()
            .get_provisioned_concurrency_config()
            .function_name(&self.function_name)
            .qualifier(ALIAS)
            .send()
            .await;
        let got = absent_if(got, |e| {
            e.is_provisioned_concurrency_config_not_found_exception() || e.is_resource_not_found_exception()
        })
        .aws_context(|| format!("lambda:GetProvisionedConcurrencyConfig {}:{ALIAS}", self.function_name))?;
        if let Some(failed) = got.as_ref().filter(|g| g.status() == Some(&ProvisionedConcurrencyStatusEnum::Failed)) {
            if self.wanted.is_some() && failed.requested_provisioned_concurrent_executions() == self.wanted {
                bail!(
                    "Lambda could not provision {} instances of {}:{ALIAS}: {}. Lower provisioned_concurrency, or ask \
                     AWS for a higher concurrency quota, then run again",
                    self.wanted.unwrap_or_default(),
                    self.function_name,
                    failed.status_reason().unwrap_or("no reason given")
                );
            }
        }
        Ok(Some(got.and_then(|g| g.requested_provisioned_concurrent_executions())))
    }

    async fn create(&self) -> Result<Option<i32>> {
        bail!("lambda:GetProvisionedConcurrencyConfig {} gave no answer to compare with", self.function_name)
    }

    /// Recorded only so that a removed setting is known to have been deployer's to remove (emptied by the
    /// step once it is removed).
    fn id(&self, _live: &Option<i32>) -> String {
        "managed".to_string()
    }

    fn differences(&self, live: &Option<i32>) -> Result<Vec<&'static str>> {
        Ok(if *live == self.wanted { vec![] } else { vec!["provisioned_concurrency"] })
    }

    fn values(&self, live: &Option<i32>, _field: &str) -> Option<(String, String)> {
        let shown = |n: &Option<i32>| n.map_or("none".to_string(), |n| format!("{n} instances"));
        Some((shown(live), shown(&self.wanted)))
    }

    /// Lambda provisions in the background (minutes); the alias serves on demand meanwhile.
    async fn update(&self, _live: Option<i32>, _fields: &[&'static str]) -> Result<Option<i32>> {
        let (lambda, name) = (self.ctx.aws.lambda(), &self.function_name);
        match self.wanted {
            Some(n) => {
                self.wait_for_one_version().await?;
                let put = lambda.put_provisioned_concurrency_config().function_name(name).qualifier(ALIAS);
                put.provisioned_concurrent_executions(n).send().await.aws_context(|| {
                    format!(
                        "lambda:PutProvisionedConcurrencyConfig {name}:{ALIAS} ({n}): it counts against the account's \
                         concurrency, which must keep 100 executions unreserved"
                    )
                })?;
            }
            None => {
                let deleted = lambda.delete_provisioned_concurrency_config().function_name(name).qualifier(ALIAS);
                let deleted = deleted.send().await;
                absent_if(deleted, |e| e.is_resource_not_found_exception())
                    .aws_context(|| format!("lambda:DeleteProvisionedConcurrencyConfig {name}:{ALIAS}"))?;
            }
        }
        Ok(self.wanted)
    }
}
