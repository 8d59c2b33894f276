//! Log groups deployer makes ahead of the services that write them, with the `log_retention_days` setting:
//! the functions' `/aws/lambda/NAME` (Lambda would make them on the first invocation, keeping events
//! forever) and the API stages' access logs `/aws/api-gateway/API_ID/STAGE` (API Gateway needs them to
//! exist). One DescribeLogGroups by their common prefix lists them, so a run that changes nothing costs
//! one request.

use anyhow::Result;
use std::collections::BTreeMap;

use crate::aws::{absent_if, AwsContext};
use crate::ensure::{all, Resource};
use crate::step::Context;

pub struct LogGroups<'a> {
    pub ctx: &'a Context<'a>,
    /// What writes them, for people: "the 6 functions".
    pub whose: String,
    /// A prefix every one of them starts with, that few other groups share.
    pub prefix: String,
    pub names: Vec<String>,
    pub retention_days: i32,
}

impl LogGroups<'_> {
    fn prefix(&self) -> String {
        self.prefix.clone()
    }
}

impl LogGroups<'_> {
    /// One group made if it does not exist, and given the retention if it has another.
    async fn ensure_group(&self, name: &str, exists: bool, retention: Option<i32>) -> Result<()> {
        let logs = self.ctx.aws.logs();
        if !exists {
            // Lambda may make it at this moment (a first invocation): then it exists, which is all we want.
            let made = logs.create_log_group().log_group_name(name).send().await;
            absent_if(made, |e| e.is_resource_already_exists_exception())
                .aws_context(|| format!("logs:CreateLogGroup {name}"))?;
        }
        if retention != Some(self.retention_days) {
            let put = logs.put_retention_policy().log_group_name(name).retention_in_days(self.retention_days);
            put.send().await.aws_context(|| format!("logs:PutRetentionPolicy {name}"))?;
        }
        Ok(())
    }
}

impl Resource for LogGroups<'_> {
    /// Log group → its retention (`None`: kept forever), for the groups named.
    type Live = BTreeMap<String, Option<i32>>;

    fn planned(&self) -> Option<Self::Live> {
        Some(self.names.iter().map(|n| (n.clone(), Some(self.retention_days))).collect())
    }

    fn label(&self) -> String {
        format!("log groups of {} ({} days)", self.whose, self.retention_days)
    }

    fn under_planned(&self) -> bool {
        crate::ensure::is_planned(&self.prefix)
    }

    /// `None` when none of them exists yet (a first deploy, or a plan of one).
    async fn find(&self, _recorded: Option<&str>) -> Result<Option<Self::Live>> {
        let pages = self.ctx.aws.logs().describe_log_groups().log_group_name_prefix(self.prefix()).into_paginator();
        let groups = pages.items().send().collect::<Result<Vec<_>, _>>().await;
        let groups = groups.aws_context(|| format!("logs:DescribeLogGroups {}", self.prefix()))?;
        let live: Self::Live = groups
            .into_iter()
            .filter_map(|g| Some((g.log_group_name?.to_string(), g.retention_in_days)))
            .filter(|(name, _)| self.names.contains(name))
            .collect();
        Ok(Some(live).filter(|l| !l.is_empty()))
    }

    async fn create(&self) -> Result<Self::Live> {
        self.update(BTreeMap::new(), &[]).await
    }

    fn id(&self, _live: &Self::Live) -> String {
        self.prefix()
    }

    fn differences(&self, live: &Self::Live) -> Result<Vec<&'static str>> {
        let kept = |name: &String| live.get(name).is_some_and(|days| *days == Some(self.retention_days));
        Ok(if self.names.iter().all(kept) { vec![] } else { vec!["retention"] })
    }

    /// The retentions the groups have now (each distinct one), and the wanted one.
    fn values(&self, live: &Self::Live, field: &str) -> Option<(String, String)> {
        let days = |d: &Option<i32>| d.map_or("never expire".to_string(), |d| format!("{d} days"));
        let now: std::collections::BTreeSet<String> =
            self.names.iter().map(|n| live.get(n).map_or("no group".to_string(), days)).collect();
        (field == "retention")
            .then(|| (now.into_iter().collect::<Vec<_>>().join(", "), days(&Some(self.retention_days))))
    }

    /// Each group at once (the client paces them to CloudWatch Logs' quotas).
    async fn update(&self, mut live: Self::Live, _fields: &[&'static str]) -> Result<Self::Live> {
        let each = self.names.iter().map(|name| {
            let retention = live.get(name).copied().flatten();
            self.ensure_group(name, live.contains_key(name), retention)
        });
        all(each).await?;
        live.extend(self.names.iter().map(|name| (name.clone(), Some(self.retention_days))));
        Ok(live)
    }
}
