//! A function's reserved concurrency (deployer.toml `[functions.X] reserved_concurrency`): how many of the
//! account's concurrent executions are kept for it, and the most it may use. Checked only for functions
//! that have the setting or had it (recorded), so that a run without it makes no extra request.

use anyhow::{bail, Result};

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{Prefetched, Resource};
use crate::step::Context;

pub(super) struct ReservedConcurrency<'a> {
    pub ctx: &'a Context<'a>,
    pub function_name: String,
    /// The output key it is recorded under, so that removing the setting removes the reservation.
    pub key: String,
    /// `None`: no reservation (the setting was removed).
    pub wanted: Option<i32>,
    /// The reservation [`ReservedConcurrency::rises`] read, for the ensure that follows.
    pub seen: Prefetched<Option<i32>>,
}

impl ReservedConcurrency<'_> {
    /// Whether the wanted reservation allows more than the one in force (none allows the most).
    pub async fn rises(&self) -> Result<bool> {
        let cap = |n: Option<i32>| n.unwrap_or(i32::MAX);
        let live = self.read().await?;
        self.seen.set(Some(live));
        Ok(cap(self.wanted) > cap(live))
    }

    async fn read(&self) -> Result<Option<i32>> {
        let got = self.ctx.aws.lambda().get_function_concurrency().function_name(&self.function_name).send().await;
        let got = absent_if(got, |e| e.is_resource_not_found_exception())
            .aws_context(|| format!("lambda:GetFunctionConcurrency {}", self.function_name))?;
        Ok(got.and_then(|g| g.reserved_concurrent_executions()))
    }
}

impl Resource for ReservedConcurrency<'_> {
    /// The reservation in force, `None` for none.
    type Live = Option<i32>;

    fn planned(&self) -> Option<Option<i32>> {
        Some(self.wanted)
    }

    fn label(&self) -> String {
        let wanted = self.wanted.map_or("none".to_string(), |n| n.to_string());
        format!("reserved concurrency of {} ({wanted})", self.function_name)
    }

    fn key(&self) -> Option<String> {
        Some(self.key.clone())
    }

    /// A function yet to be created (in a plan) has no reservation. Read once: `rises` may have.
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Option<i32>>> {
        match self.seen.take() {
            Some(seen) => Ok(seen),
            None => Ok(Some(self.read().await?)),
        }
    }

    async fn create(&self) -> Result<Option<i32>> {
        bail!("lambda:GetFunctionConcurrency {} gave no answer to compare with", self.function_name)
    }

    /// Recorded only so that a removed setting is known to have been deployer's to remove (emptied by the
    /// step once it is removed).
    fn id(&self, _live: &Option<i32>) -> String {
        "managed".to_string()
    }

    fn differences(&self, live: &Option<i32>) -> Result<Vec<&'static str>> {
        Ok(if *live == self.wanted { vec![] } else { vec!["reserved_concurrency"] })
    }

    fn values(&self, live: &Option<i32>, _field: &str) -> Option<(String, String)> {
        let shown = |n: &Option<i32>| n.map_or("none".to_string(), |n| n.to_string());
        Some((shown(live), shown(&self.wanted)))
    }

    async fn update(&self, _live: Option<i32>, _fields: &[&'static str]) -> Result<Option<i32>> {
        let lambda = self.ctx.aws.lambda();
        let name = &self.function_name;
        match self.wanted {
            Some(n) => {
                let put = lambda.put_function_concurrency().function_name(name).reserved_concurrent_executions(n);
                put.send().await.aws_context(|| {
                    format!(
                        "lambda:PutFunctionConcurrency {name} ({n}): the account must keep 100 executions unreserved; \
                         lower reserved_concurrency or ask AWS for a higher concurrency quota"
                    )
                })?;
            }
            None => {
                let deleted = lambda.delete_function_concurrency().function_name(name).send().await;
                deleted.aws_context(|| format!("lambda:DeleteFunctionConcurrency {name}"))?;
            }
        }
        Ok(self.wanted)
    }
}
