//! `[functions.X] provisioned_concurrency`: instances kept initialised on the function's alias `live`
//! (see [`crate::live_alias`]), so requests meet no cold start. Removing the setting removes the
//! provisioned instances (they are billed by the hour).

use anyhow::{bail, Result};
use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum;
use std::time::Duration;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::Resource;
use crate::live_alias::ALIAS;
use crate::retry::{retry_while, Attempt, Patience};
use crate::step::Context;

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
